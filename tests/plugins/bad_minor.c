/*
 * bad_minor.c -- test-only plugin: it needs ABI minor one above the host's: built against a newer
 * xdsd_plugin.h than this xdsd speaks.
 * Otherwise valid (minimal.h), so the loader's refusal can only come from
 * this defect.
 */
#include "minimal.h"

MINIMAL_PLUGIN(XDSD_PLUGIN_EXPORT, XDSD_PLUGIN_MAGIC, XDSD_PLUGIN_ABI_MAJOR,
               XDSD_PLUGIN_ABI_MINOR + 1, sizeof(xdsd_plugin_t), "bad_minor", noop_create);
