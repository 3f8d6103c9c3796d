/*
 * rtds.c -- a generator module: Envoy runtime layers (RTDS) from the
 * model's "runtime" collection.
 *
 *   "runtime": [
 *     { "name": "edge-flags",
 *       "layer": { "envoy.reloadable_features.http2_use_oghttp2": false,
 *                  "health_check.min_interval": 5 },
 *       "match": { "cluster": "edge-*" } } ]
 *
 * Each item becomes an envoy.service.runtime.v3.Runtime named after it,
 * served on POST /v3/discovery:runtime to proxies whose bootstrap has an
 * RTDS layer (layered_runtime.layers[].rtds_layer) of that name.  With
 * `node_context on;` every layer also gets the node group's attributes as
 * "xdsd.node.<attribute>" string keys (e.g. "xdsd.node.cluster"), so
 * runtime guards can test which group a proxy is in; the module then
 * depends on the node and is run for every node group.
 *
 * It is also the example of how to write a generator module: see
 * plugins/include/xdsd_generator.h and the README.  It links against
 * nothing (the host hands each item over as compact JSON text, which this
 * file scans by hand).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xdsd_generator.h"

typedef struct {
    int node_context; /* `node_context on|off;` */
} rtds_conf_t;

static const xdsd_directive_t directives[] = {
    {"node_context", XDSD_ARG_FLAG, offsetof(rtds_conf_t, node_context), 0},
    {NULL, 0, 0, 0},
};

/* A growing output buffer; out of memory is fatal, as in the host. */
typedef struct {
    char *p;
    size_t len, cap;
} buf_t;

static void put(buf_t *b, const char *s, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 256;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *p = realloc(b->p, cap);
        if (p == NULL)
            abort();
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void put_json_string(buf_t *b, const char *s, size_t n)
{
    put(b, "\"", 1);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        char esc[8];
        if (c == '"' || c == '\\') {
            esc[0] = '\\';
            esc[1] = (char)c;
            put(b, esc, 2);
        } else if (c < 0x20) {
            snprintf(esc, sizeof(esc), "\\u%04x", c);
            put(b, esc, 6);
        } else {
            put(b, (const char *)&s[i], 1);
        }
    }
    put(b, "\"", 1);
}

/* ---- scanning the host's compact JSON ----------------------------------- */

/* The end of the value starting at p (the text is valid JSON: the host
 * wrote it). */
static const char *skip_value(const char *p, const char *end)
{
    if (p >= end)
        return end;
    if (*p == '"') {
        for (p++; p < end && *p != '"'; p++)
            if (*p == '\\')
                p++;
        return p < end ? p + 1 : end;
    }
    if (*p == '{' || *p == '[') {
        int depth = 0;
        for (; p < end; p++) {
            if (*p == '"') {
                p = skip_value(p, end) - 1;
            } else if (*p == '{' || *p == '[') {
                depth++;
            } else if (*p == '}' || *p == ']') {
                if (--depth == 0)
                    return p + 1;
            }
        }
        return end;
    }
    while (p < end && *p != ',' && *p != '}' && *p != ']')
        p++;
    return p;
}

/* ---- the module ----------------------------------------------------------- */

static int rtds_create(const void *conf, void **state, char *err, size_t errlen)
{
    (void)err;
    (void)errlen;
    rtds_conf_t *c = malloc(sizeof(*c));
    if (c == NULL)
        return XDSD_ERROR;
    *c = *(const rtds_conf_t *)conf;
    *state = c;
    return XDSD_OK;
}

static int rtds_scope(void *state)
{
    return ((rtds_conf_t *)state)->node_context ? XDSD_GEN_PER_NODE : XDSD_GEN_PER_SET;
}

static int rtds_generate(void *state, const xdsd_gen_api_t *api, xdsd_gen_call_t *call)
{
    const rtds_conf_t *conf = state;
    int rc = XDSD_OK;
    buf_t out = {0};

    for (size_t i = 0; i < api->items(call); i++) {
        size_t len;
        const char *p = api->item(call, i, &len), *end = p + len, *layer = NULL, *layer_end = NULL;

        /* {"name":...,"layer":{...},"match":{...}}: members in any order */
        for (p++; p < end && *p == '"';) {
            const char *key = p + 1, *kend = skip_value(p, end) - 1;
            size_t klen = (size_t)(kend - key);
            const char *v = kend + 2, *vend = skip_value(v, end);
            if (klen == 5 && memcmp(key, "layer", 5) == 0) {
                layer = v;
                layer_end = vend;
            } else if (!(klen == 4 && memcmp(key, "name", 4) == 0) &&
                       !(klen == 5 && memcmp(key, "match", 5) == 0)) {
                rc = api->error(call, i, "unknown field \"%.*s\" (expected name, layer, match)",
                                (int)klen, key);
            }
            p = vend < end && *vend == ',' ? vend + 1 : vend;
        }
        if (layer == NULL) {
            rc = api->error(call, i, "layer: is missing (an object of runtime keys)");
            continue;
        }
        if (*layer != '{') {
            rc = api->error(call, i, "layer: expected an object of runtime keys");
            continue;
        }

        const char *name = api->item_name(call, i);
        out.len = 0;
        put(&out, "{\"name\":", 8);
        put_json_string(&out, name, strlen(name));
        put(&out, ",\"layer\":{", 10);
        int first = 1;
        for (size_t k = 0; conf->node_context && k < api->node_keys(call); k++) {
            const char *key = api->node_key(call, k);
            size_t vlen;
            const char *val = api->node(call, key, &vlen);
            if (val == NULL)
                continue;
            char full[256];
            int n = snprintf(full, sizeof(full), "xdsd.node.%s", key);
            if (!first)
                put(&out, ",", 1);
            first = 0;
            put_json_string(&out, full, (size_t)n < sizeof(full) ? (size_t)n : sizeof(full) - 1);
            put(&out, ":", 1);
            put_json_string(&out, val, vlen);
        }
        if (layer_end - layer > 2) { /* the item's own keys, after ours */
            if (!first)
                put(&out, ",", 1);
            put(&out, layer + 1, (size_t)(layer_end - layer - 1));
        } else {
            put(&out, "}", 1);
        }
        put(&out, "}", 1);
        if (api->add(call, i, name, out.p, out.len) != XDSD_OK)
            rc = XDSD_ERROR;
    }
    free(out.p);
    return rc;
}

static void rtds_destroy(void *state)
{
    free(state);
}

XDSD_PLUGIN_EXPORT const xdsd_generator_t xdsd_generator_entry = {
    XDSD_GENERATOR_MAGIC,
    XDSD_GENERATOR_ABI_MAJOR,
    XDSD_GENERATOR_ABI_MINOR,
    sizeof(xdsd_generator_t),
    "rtds",
    "1.0.0",
    "runtime",
    "runtime",
    directives,
    sizeof(rtds_conf_t),
    rtds_create,
    rtds_scope,
    rtds_generate,
    rtds_destroy,
};
