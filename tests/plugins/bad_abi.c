/*
 * bad_abi.c -- test-only plugin: its entry claims ABI major version 99, so the loader must refuse
 * it (majors must be equal). Otherwise valid (minimal.h), so the loader's refusal can only come
 * from this defect.
 */
#include "minimal.h"

MINIMAL_PLUGIN(XDSD_PLUGIN_EXPORT, XDSD_PLUGIN_MAGIC, 99, XDSD_PLUGIN_ABI_MINOR,
               sizeof(xdsd_plugin_t), "bad_abi", noop_create);
