/*
 * fail_create.c -- test-only plugin whose create() always fails.
 *
 * A well-formed plugin in every other respect (minimal.h): integration tests
 * use it to prove that the host reports a failing create() with the plugin's
 * own reason ("deliberate failure for tests") and the source's name, refuses
 * the conf (`xdsd -t` fails, a SIGHUP keeps the old generation), and never
 * starts an instance that was never created.
 */
#include <stdio.h>

#include "minimal.h"

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

MINIMAL_PLUGIN(XDSD_PLUGIN_EXPORT, XDSD_PLUGIN_MAGIC, XDSD_PLUGIN_ABI_MAJOR, XDSD_PLUGIN_ABI_MINOR,
               sizeof(xdsd_plugin_t), "fail_create", fail_create);
