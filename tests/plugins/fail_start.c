/*
 * fail_start.c -- test-only plugin whose start() always fails.
 *
 * create() succeeds (so `xdsd -T` accepts the conf); start() refuses with
 * "deliberate start failure".  Integration tests prove that xdsd does not
 * start with it, says which source and why, and that a SIGHUP to a conf
 * using it keeps the running generation.
 */
#include <stdio.h>

#include "minimal.h"

static int fail_start(void *state, char *err, size_t errlen)
{
    (void)state;
    snprintf(err, errlen, "deliberate start failure");
    return XDSD_ERROR;
}

XDSD_PLUGIN_EXPORT const xdsd_plugin_t xdsd_plugin_entry = {
    .magic = XDSD_PLUGIN_MAGIC,
    .abi_major = XDSD_PLUGIN_ABI_MAJOR,
    .abi_minor = XDSD_PLUGIN_ABI_MINOR,
    .size = sizeof(xdsd_plugin_t),
    .name = "fail_start",
    .version = "test",
    .directives = no_directives,
    .conf_size = 0,
    .create = noop_create,
    .start = fail_start,
    .destroy = noop_destroy,
};
