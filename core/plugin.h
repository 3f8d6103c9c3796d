/*
 * plugin.h -- loading plugins (.so) and checking their ABI: source plugins
 * (xdsd_plugin.h) and generator modules (xdsd_generator.h).
 */
#ifndef XDS_PLUGIN_H
#define XDS_PLUGIN_H

#include "xdsd.h"

#include <stdatomic.h>

#include "xdsd_generator.h"

typedef struct {
    char *name;                /* owned */
    char *path;                /* owned */
    void *dl;                  /* dlopen handle */
    const xdsd_plugin_t *p;    /* a source plugin's entry struct, inside dl, or NULL */
    const xdsd_generator_t *g; /* a generator module's, or NULL */
    atomic_uint refs;          /* the cycle's, and every generator instance's */
} xds_plugin_t;

/* dlopen path (RTLD_NOW | RTLD_LOCAL) and check that it is a xdsd source
 * plugin or generator module of a compatible ABI named `name`.  Returns the
 * plugin, or NULL with err = a sentence saying which check failed and why,
 * e.g. "plugin \"x\" (/p/x.so): built for plugin ABI 99.0, this xdsd speaks
 * 1.0".  Blocking (reads the file): main thread, conf load time only. */
xds_plugin_t *xds_plugin_load(const char *name, const char *path, char *err, size_t errlen);
/* Reference counting: the .so is closed with the last reference. */
xds_plugin_t *xds_plugin_ref(xds_plugin_t *pl);
void xds_plugin_unload(xds_plugin_t *pl);

/* Parse the directives of a source or generator block (all but the host's
 * own) into a zeroed conf struct of the plugin's conf_size, using its
 * directive table.
 * prefix resolves relative XDSD_ARG_PATH values.  Returns the struct (free
 * with xds_plugin_conf_free) or NULL with err = "FILE:LINE: directive ...". */
struct xds_cnode;
void *xds_plugin_conf_parse(const xds_plugin_t *pl, const struct xds_cnode *block,
                            const char *prefix, char *err, size_t errlen);
void xds_plugin_conf_free(const xds_plugin_t *pl, void *conf);

/* 1 when name is a directive the host handles in every source block
 * (plugin, required, stale_after); plugins may not declare those. */
int xds_source_directive(const char *name);
/* The same for generator blocks (plugin, type). */
int xds_generator_directive(const char *name);

/* Resolve path against prefix when relative; returns a new string. */
char *xds_path_resolve(const char *prefix, const char *path);

#endif
