/*
 * model.h -- the merged model the generators read, and the interface of a
 * generator module.
 *
 * The aggregator merges the latest good document of every source into an
 * xds_model_t.  Items are borrowed from the sources' documents: a model is
 * only valid during the build that received it (on the main thread).
 */
#ifndef XDS_MODEL_H
#define XDS_MODEL_H

#include <stdatomic.h>

#include "json.h"
#include "match.h"
#include "types.h"

typedef struct {
    const xj_t *item;         /* one element of a collection (an object) */
    const char *source;       /* name of the source block it came from */
    const char *name;         /* its "name" (or name_field for raw resources) */
    const xds_match_t *match; /* its "match" rules, or NULL: every proxy */
    size_t index;             /* its place in its collection of the merged model */
    int coll;                 /* its collection: XDS_COLL_* */
} xds_model_item_t;

/* The collections of the model, for xds_model_item_t.coll. */
enum { XDS_COLL_SERVICES = 0, XDS_COLL_LISTENERS = 1, XDS_COLL_RESOURCES = 2 /* + type id */ };
#define XDS_COLL_EXTRA (XDS_COLL_RESOURCES + XDS_TYPE_COUNT) /* + k: generator modules' */
#define XDS_MAX_EXTRA  8
#define XDS_NCOLL      (XDS_COLL_EXTRA + XDS_MAX_EXTRA)

typedef struct {
    xds_model_item_t *items; /* in merge order: sources in declaration order, */
    size_t n;                /* then document order; a later clash replaces  */
} xds_collection_t;

/* Settings from the conf that generated resources refer to. */
typedef struct {
    const char *xds_cluster;        /* bootstrap cluster that serves xDS ("xds_cluster") */
    int64_t refresh_delay_ms;       /* REST poll interval put into config sources */
    int locality_priority;          /* EDS: the proxy's own zone at priority 0 */
    struct xds_cgen *const *custom; /* generator modules (cgen.h), run after the built-in */
    size_t ncustom;
} xds_gen_options_t;

typedef struct xds_model {
    xds_gen_options_t opts;
    xds_collection_t services;
    xds_collection_t listeners;
    xds_collection_t resources[XDS_TYPE_COUNT]; /* raw pass-through, resources.<path> */
    /* Collections that generator modules read ("runtime"), named by the
     * caller before xds_model_build; merged like services. */
    const char *const *extra_names;
    size_t nextra;
    xds_collection_t extra[XDS_MAX_EXTRA];
    /* The node group being generated for: NULL for the whole model (every
     * item, no proxy in particular), else the group's context, and the
     * collections hold only the items that match it. */
    const xds_node_ctx_t *node;
} xds_model_t;

/* A source's document, shared by the source and every snapshot built from
 * it (node groups are built from the model long after the build), freed
 * with the last reference.  Any thread. */
typedef struct xds_doc {
    atomic_uint refs;
    xj_t *root; /* owned */
} xds_doc_t;

xds_doc_t *xds_doc_new(xj_t *root); /* takes root; one reference */
xds_doc_t *xds_doc_ref(xds_doc_t *d);
void xds_doc_unref(xds_doc_t *d); /* d may be NULL */

/* Check one source's document before it is accepted: the top level is an
 * object of known collections (services, listeners: arrays of objects with
 * a string "name"; resources: object of type paths -> arrays of objects with
 * the type's name field).  Unknown collections are an error when strict,
 * else logged as a warning.  XDS_OK or XDS_ERROR with err =
 * "services[3]: \"name\" is missing" style messages.  Pure, no I/O. */
int xds_model_check_document(const xj_t *doc, int strict, char *err, size_t errlen);
/* The same, also accepting the nextra collections named in extra (arrays of
 * objects with a unique "name", like services). */
int xds_model_check_document_ex(const xj_t *doc, int strict, const char *const *extra,
                                size_t nextra, char *err, size_t errlen);

/* Merge n checked documents (docs[i] from source sources[i], in declaration
 * order; a NULL doc is skipped) into m (zeroed by the caller, opts already
 * set).  A later item with the same name replaces the earlier one in place
 * and the clash is logged at notice level, naming both sources.  Items are
 * borrowed from docs.  Returns XDS_OK. */
int xds_model_build(xds_model_t *m, const xj_t *const *docs, const char *const *sources, size_t n);
/* Free the arrays and match rules of m (not the documents). */
void xds_model_free(xds_model_t *m);

/* Where generators put what they make.  Opaque; owned by the build. */
typedef struct xds_gen_out xds_gen_out_t;

/* Add one resource of type `type` named `name` (copied).  `resource` is the
 * message object without "@type"; ownership passes (also on error).  `from`
 * is the model item the resource exists for (a proxy that does not match
 * it does not get the resource), or NULL for none in particular.  `origin`
 * (borrowed) says where it came from for error messages, e.g.
 * "services[greeter] (source catalog)".  Appends in O(1); two resources of
 * one type and name are reported by xds_generate (genout.h).  Returns XDS_OK. */
int xds_gen_add(xds_gen_out_t *out, xds_type_id_t type, const char *name, xj_t *resource,
                const xds_model_item_t *from, const char *origin);

/* Record the build's error (the first one recorded wins) and return
 * XDS_ERROR.  Message shape: "services[greeter].endpoints[0].port: expected
 * an integer in 1..65535, got \"abc\" (source catalog)". */
int xds_gen_error(xds_gen_out_t *out, const char *fmt, ...) XDS_PRINTF(2, 3);

/* What a generator's output depends on, which decides what a node group
 * must generate again rather than take from the whole model's output. */
enum {
    XDS_GEN_PER_ITEM = 0, /* each resource on its `from` item alone: a group
                             takes those of the items that match it */
    XDS_GEN_PER_SET = 1,  /* on which items are in the model: generated
                             again for a group that does not match them all */
    XDS_GEN_PER_NODE = 2  /* on the group's context (model->node) too:
                             generated again for every group */
};

/* A generator module (modules/gen_*.c).  generate() reads the model and adds
 * resources; on invalid model data it calls xds_gen_error and returns
 * XDS_ERROR.  scope() (NULL: XDS_GEN_PER_ITEM) says what its output depends
 * on under m's options; with XDS_GEN_PER_NODE, node_attrs names the node
 * attributes it reads (NULL: any), so groups that agree on those (and
 * match the same items) can share its output.  Pure: no I/O, no globals,
 * may run on any thread. */
typedef struct {
    const char *name; /* "clusters", "endpoints", "listeners", "routes", "raw" */
    int (*generate)(const xds_model_t *model, xds_gen_out_t *out);
    int (*scope)(const xds_model_t *model);
    const char *const *node_attrs;
} xds_generator_t;

/* The compiled-in generators, in the order they run (core/modules.c). */
extern const xds_generator_t *const xds_generators[];
extern const size_t xds_ngenerators;

#endif
