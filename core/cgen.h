/*
 * cgen.h -- generator modules (plugins/include/xdsd_generator.h) as
 * generators of the build: one instance per `generator NAME { plugin P;
 * type T; ... }` block.
 *
 * An instance is reference-counted: the cycle holds one, and so does every
 * snapshot whose node groups may still run it, so a reload never unloads a
 * module a worker is about to call.
 */
#ifndef XDS_CGEN_H
#define XDS_CGEN_H

#include <stdatomic.h>

#include "genout.h"
#include "model.h"
#include "plugin.h"

typedef struct xds_cgen {
    atomic_uint refs;
    char *name;       /* the generator block's name, owned */
    xds_plugin_t *pl; /* a reference */
    void *conf;       /* parsed from the block by the plugin's directive table */
    void *state;      /* the module's */
    const xds_type_t *type;
    const char *collection; /* the module's (inside pl) */
    int coll;               /* its collection in the model: XDS_COLL_EXTRA + k */
    int scope;              /* XDS_GEN_PER_SET or XDS_GEN_PER_NODE */
} xds_cgen_t;

/* An instance of module pl for `generator NAME { ... }` (block).  type_path
 * is the block's `type`; coll the model collection index assigned to the
 * module's collection.  NULL with err = "FILE:LINE: ..." on error. */
struct xds_cnode;
xds_cgen_t *xds_cgen_create(xds_plugin_t *pl, const struct xds_cnode *block, const char *prefix,
                            int coll, char *err, size_t errlen);
xds_cgen_t *xds_cgen_ref(xds_cgen_t *g);
void xds_cgen_unref(xds_cgen_t *g);

/* Run model->opts.custom[out->cur_gen - xds_ngenerators] (genout.c calls it
 * for generator indexes past the built-in ones).  Pure, any thread. */
int xds_cgen_generate(const xds_model_t *m, xds_gen_out_t *out);

#endif
