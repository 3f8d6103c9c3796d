/*
 * no_entry.c -- test-only plugin: it exports no xdsd_plugin_entry symbol: the classic mistake of
 * forgetting XDSD_PLUGIN_EXPORT under -fvisibility=hidden.
 * Otherwise valid (minimal.h), so the loader's refusal can only come from
 * this defect.
 */
#include "minimal.h"

MINIMAL_PLUGIN(__attribute__((visibility("hidden"))), XDSD_PLUGIN_MAGIC, XDSD_PLUGIN_ABI_MAJOR,
               XDSD_PLUGIN_ABI_MINOR, sizeof(xdsd_plugin_t), "no_entry", noop_create);
