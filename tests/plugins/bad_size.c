/*
 * bad_size.c -- test-only plugin: its entry declares a struct size that ends before the destroy
 * pointer, too short to hold every field the host reads.
 * Otherwise valid (minimal.h), so the loader's refusal can only come from
 * this defect.
 */
#include "minimal.h"

MINIMAL_PLUGIN(XDSD_PLUGIN_EXPORT, XDSD_PLUGIN_MAGIC, XDSD_PLUGIN_ABI_MAJOR, XDSD_PLUGIN_ABI_MINOR,
               offsetof(xdsd_plugin_t, destroy), "bad_size", noop_create);
