/*
 * bad_magic.c -- test-only plugin: its entry starts with the wrong magic ("XDSX"), as any shared
 * object that is not a xdsd plugin would. Otherwise valid (minimal.h), so the loader's refusal can
 * only come from this defect.
 */
#include "minimal.h"

MINIMAL_PLUGIN(XDSD_PLUGIN_EXPORT, 0x58445358u, XDSD_PLUGIN_ABI_MAJOR, XDSD_PLUGIN_ABI_MINOR,
               sizeof(xdsd_plugin_t), "bad_magic", noop_create);
