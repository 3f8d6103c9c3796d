/*
 * bad_magic.c -- test-only plugin: its entry has the wrong magic number.
 *
 * Integration tests point the daemon at it to prove that the plugin loader
 * refuses, and names, a plugin whose entry does not start with
 * XDSD_PLUGIN_MAGIC (here the bytes are "XDSX").  Apart from that one defect
 * it is a complete, valid minimal plugin (no directives, create/start/destroy
 * that do nothing), so the refusal can only come from the defect under test.
 */
#include <stddef.h>

#include "xdsd_plugin.h"

static int noop_create(const xdsd_host_api_t *api, xdsd_source_t *src, const void *conf,
                       void **state, char *err, size_t errlen)
{
    (void)api;
    (void)src;
    (void)conf;
    (void)err;
    (void)errlen;
    *state = NULL;
    return XDSD_OK;
}

static int noop_start(void *state, char *err, size_t errlen)
{
    (void)state;
    (void)err;
    (void)errlen;
    return XDSD_OK;
}

static void noop_destroy(void *state)
{
    (void)state;
}

static const xdsd_directive_t no_directives[] = {
    {NULL, 0, 0, 0},
};

XDSD_PLUGIN_EXPORT const xdsd_plugin_t xdsd_plugin_entry = {
    .magic = 0x58445358u,
    .abi_major = XDSD_PLUGIN_ABI_MAJOR,
    .abi_minor = XDSD_PLUGIN_ABI_MINOR,
    .size = sizeof(xdsd_plugin_t),
    .name = "bad_magic",
    .version = "test",
    .directives = no_directives,
    .conf_size = 0,
    .create = noop_create,
    .start = noop_start,
    .destroy = noop_destroy,
};
