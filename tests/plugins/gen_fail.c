/*
 * gen_fail.c -- test-only generator module that misbehaves on purpose.
 *
 * `mode` picks how: "error" reports bad data for every item through
 * api->error(); "silent" returns XDSD_ERROR without a reason; "bad_json"
 * adds a resource that is not JSON; "not_object" adds a JSON array;
 * "no_name" adds a resource without a name; "group_error" works on the
 * whole model but fails for node groups whose cluster is "bad" (so a
 * build succeeds and only that group is refused).  It reads the "widgets"
 * collection and makes runtime layers.
 */
#include <stdlib.h>
#include <string.h>

#include "xdsd_generator.h"

typedef struct {
    char *mode;
} conf_t;

static const xdsd_directive_t directives[] = {
    {"mode", XDSD_ARG_STRING, offsetof(conf_t, mode), XDSD_DIRECTIVE_REQUIRED},
    {NULL, 0, 0, 0},
};

static int gf_create(const void *conf, void **state, char *err, size_t errlen)
{
    (void)err;
    (void)errlen;
    *state = (void *)conf; /* the host keeps the conf for the instance's life */
    return XDSD_OK;
}

static int gf_scope(void *state)
{
    (void)state;
    return XDSD_GEN_PER_NODE;
}

static int gf_generate(void *state, const xdsd_gen_api_t *api, xdsd_gen_call_t *call)
{
    const char *mode = ((conf_t *)state)->mode;
    size_t n = api->items(call);
    if (strcmp(mode, "silent") == 0)
        return XDSD_ERROR;
    if (strcmp(mode, "error") == 0) {
        for (size_t i = 0; i < n; i++)
            api->error(call, i, "deliberately bad (mode error)");
        return n ? XDSD_ERROR : XDSD_OK;
    }
    if (strcmp(mode, "bad_json") == 0)
        return api->add(call, 0, "w", "{\"name\":", 8);
    if (strcmp(mode, "not_object") == 0)
        return api->add(call, 0, "w", "[1]", 3);
    if (strcmp(mode, "no_name") == 0)
        return api->add(call, 0, "", "{}", 2);
    if (strcmp(mode, "group_error") == 0) {
        size_t len;
        const char *cluster = api->node(call, "cluster", &len);
        if (cluster && len == 3 && memcmp(cluster, "bad", 3) == 0)
            return api->error(call, (size_t)-1, "no layers for cluster bad");
        for (size_t i = 0; i < n; i++) {
            const char *name = api->item_name(call, i);
            char json[256];
            size_t nl = strlen(name) < 200 ? strlen(name) : 200;
            memcpy(json, "{\"name\":\"", 9);
            memcpy(json + 9, name, nl);
            memcpy(json + 9 + nl, "\",\"layer\":{}}", 13);
            if (api->add(call, i, name, json, 9 + nl + 13) != XDSD_OK)
                return XDSD_ERROR;
        }
        return XDSD_OK;
    }
    return api->error(call, (size_t)-1, "unknown mode \"%s\"", mode);
}

static void gf_destroy(void *state)
{
    (void)state;
}

XDSD_PLUGIN_EXPORT const xdsd_generator_t xdsd_generator_entry = {
    .magic = XDSD_GENERATOR_MAGIC,
    .abi_major = XDSD_GENERATOR_ABI_MAJOR,
    .abi_minor = XDSD_GENERATOR_ABI_MINOR,
    .size = sizeof(xdsd_generator_t),
    .name = "gen_fail",
    .version = "test",
    .type = "runtime",
    .collection = "widgets",
    .directives = directives,
    .conf_size = sizeof(conf_t),
    .create = gf_create,
    .scope = gf_scope,
    .generate = gf_generate,
    .destroy = gf_destroy,
};
