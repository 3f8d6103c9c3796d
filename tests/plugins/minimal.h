/*
 * minimal.h -- the smallest valid plugin, for the test-only plugins that
 * each break exactly one rule of the ABI.  MINIMAL_PLUGIN() defines the
 * entry struct with the fields a test wants wrong; everything else (no
 * directives, create/start/destroy that succeed and do nothing) is valid,
 * so a refusal can only come from the defect under test.
 */
#ifndef XDSD_TEST_MINIMAL_H
#define XDSD_TEST_MINIMAL_H

#include <stddef.h>

#include "xdsd_plugin.h"

__attribute__((unused)) static int noop_create(const xdsd_host_api_t *api, xdsd_source_t *src,
                                               const void *conf, void **state, char *err,
                                               size_t errlen)
{
    (void)api;
    (void)src;
    (void)conf;
    (void)err;
    (void)errlen;
    *state = NULL;
    return XDSD_OK;
}

__attribute__((unused)) static int noop_start(void *state, char *err, size_t errlen)
{
    (void)state;
    (void)err;
    (void)errlen;
    return XDSD_OK;
}

__attribute__((unused)) static void noop_destroy(void *state)
{
    (void)state;
}

static const xdsd_directive_t no_directives[] = {
    {NULL, 0, 0, 0},
};

#define MINIMAL_PLUGIN(VISIBILITY, MAGIC, MAJOR, MINOR, SIZE, NAME, CREATE)                        \
    VISIBILITY const xdsd_plugin_t xdsd_plugin_entry = {                                           \
        .magic = (MAGIC),                                                                          \
        .abi_major = (MAJOR),                                                                      \
        .abi_minor = (MINOR),                                                                      \
        .size = (SIZE),                                                                            \
        .name = (NAME),                                                                            \
        .version = "test",                                                                         \
        .directives = no_directives,                                                               \
        .conf_size = 0,                                                                            \
        .create = (CREATE),                                                                        \
        .start = noop_start,                                                                       \
        .destroy = noop_destroy,                                                                   \
    }

#endif
