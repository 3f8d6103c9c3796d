/*
 * static_doc.c -- test-only plugin that publishes a JSON document written
 * straight into the conf.
 *
 *     source extra { plugin static_doc; document '{"services": []}'; }
 *
 * Integration tests use it to build configurations with several sources
 * (merge order, name clashes, a source whose document the core refuses)
 * without writing files.  It publishes once, synchronously in start(), and
 * never again; whether the core accepted the document is the core's business
 * (it logs a refusal).  It needs nothing from the event loop.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xdsd_plugin.h"

typedef struct {
    char *document; /* borrowed from the host; required */
} static_doc_conf_t;

typedef struct {
    const xdsd_host_api_t *api;    /* borrowed */
    xdsd_source_t *src;            /* borrowed */
    const static_doc_conf_t *conf; /* borrowed; lives as long as the instance */
} static_doc_t;

static int static_doc_create(const xdsd_host_api_t *api, xdsd_source_t *src, const void *conf,
                             void **state, char *err, size_t errlen)
{
    const static_doc_conf_t *cf = conf;
    static_doc_t *sd;

    if (cf->document == NULL) {
        snprintf(err, errlen, "\"document\" is required");
        return XDSD_ERROR;
    }
    sd = calloc(1, sizeof(*sd));
    if (sd == NULL) {
        snprintf(err, errlen, "out of memory");
        return XDSD_ERROR;
    }
    sd->api = api;
    sd->src = src;
    sd->conf = cf;
    *state = sd;
    return XDSD_OK;
}

/* Publish the document; a refusal is logged by the core, not an error here. */
static int static_doc_start(void *state, char *err, size_t errlen)
{
    static_doc_t *sd = state;

    (void)err;
    (void)errlen;
    sd->api->publish(sd->src, sd->conf->document, strlen(sd->conf->document), "static_doc");
    return XDSD_OK;
}

static void static_doc_destroy(void *state)
{
    free(state);
}

static const xdsd_directive_t static_doc_directives[] = {
    {"document", XDSD_ARG_STRING, offsetof(static_doc_conf_t, document), XDSD_DIRECTIVE_REQUIRED},
    {NULL, 0, 0, 0},
};

XDSD_PLUGIN_EXPORT const xdsd_plugin_t xdsd_plugin_entry = {
    .magic = XDSD_PLUGIN_MAGIC,
    .abi_major = XDSD_PLUGIN_ABI_MAJOR,
    .abi_minor = XDSD_PLUGIN_ABI_MINOR,
    .size = sizeof(xdsd_plugin_t),
    .name = "static_doc",
    .version = "test",
    .directives = static_doc_directives,
    .conf_size = sizeof(static_doc_conf_t),
    .create = static_doc_create,
    .start = static_doc_start,
    .destroy = static_doc_destroy,
};
