/*
 * fail_create.c -- test-only plugin whose create() always fails.
 *
 * A well-formed plugin in every other respect: integration tests use it to
 * prove that the host reports a failing create() with the plugin's own
 * reason ("deliberate failure for tests") and the source's name, refuses the
 * conf (`xdsd -t` fails, a SIGHUP keeps the old generation), and never
 * calls start() for an instance that was never created (if it did, start()
 * fails loudly).  destroy() is harmless either way.
 */
#include <stddef.h>
#include <stdio.h>

#include "xdsd_plugin.h"

static int fail_create(const xdsd_host_api_t *api, xdsd_source_t *src, const void *conf,
                       void **state, char *err, size_t errlen)
{
    (void)api;
    (void)src;
    (void)conf;
    *state = NULL;
    snprintf(err, errlen, "deliberate failure for tests");
    return XDSD_ERROR;
}

/* Never reached: create() always fails. */
static int fail_start(void *state, char *err, size_t errlen)
{
    (void)state;
    snprintf(err, errlen, "start() called after a failed create()");
    return XDSD_ERROR;
}

static void fail_destroy(void *state)
{
    (void)state;
}

static const xdsd_directive_t no_directives[] = {
    {NULL, 0, 0, 0},
};

XDSD_PLUGIN_EXPORT const xdsd_plugin_t xdsd_plugin_entry = {
    .magic = XDSD_PLUGIN_MAGIC,
    .abi_major = XDSD_PLUGIN_ABI_MAJOR,
    .abi_minor = XDSD_PLUGIN_ABI_MINOR,
    .size = sizeof(xdsd_plugin_t),
    .name = "fail_create",
    .version = "test",
    .directives = no_directives,
    .conf_size = 0,
    .create = fail_create,
    .start = fail_start,
    .destroy = fail_destroy,
};
