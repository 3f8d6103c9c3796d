/*
 * snapshot.h -- the immutable, reference-counted result of one build: per
 * resource type the resources sorted by name, each serialized once as an Any,
 * its content hash, and the full (wildcard) DiscoveryResponse body.
 *
 * Workers hold a reference while they use a snapshot (also while response
 * bytes that point into it are queued on a socket); the main thread builds a
 * new one and hands each worker its own reference.  Nothing in a snapshot
 * changes after xds_snapshot_build returns, so readers need no locks.
 */
#ifndef XDS_SNAPSHOT_H
#define XDS_SNAPSHOT_H

#include <stdatomic.h>

#include "genout.h"
#include "request.h"
#include "types.h"
#include "xdsd.h"

#define XDS_VERSION_LEN 32 /* hex chars of a 128-bit content hash */

typedef struct {
    const char *name; /* points into the type's arena */
    size_t name_len;
    const char *json; /* the Any: {"@type":"...",...}; a slice of the type's body */
    size_t json_len;
    uint8_t hash[16]; /* XXH3-128 of json */
    int coll;         /* the model item it exists for (xds_gen_res_t.coll, .item) */
    size_t item;
    int gen; /* the generator that made it */
} xds_sres_t;

typedef struct {
    const xds_type_t *type;
    xds_sres_t *res; /* sorted by name (bytewise), unique */
    size_t n;
    char *arena; /* names of all resources, owned */
    char *body;  /* full wildcard 200 body (its version: all_views[].version), owned */
    size_t body_len;
} xds_stype_t;

/* What one node group receives of one type: resources sorted by name, the
 * version of the whole set and the pieces of its wildcard body.  Views are
 * shared: every group that receives the same resources has the same view. */
typedef struct {
    const char *p;
    size_t n;
} xds_seg_t;

typedef struct xds_view {
    const xds_type_t *type;
    const xds_sres_t **res; /* sorted by name, unique */
    size_t n;
    char version[XDS_VERSION_LEN + 1];
    /* The wildcard 200 body: the type's whole prepared body when the view
     * is all of the type (body != NULL), else "{\"version_info\":\"V\",
     * \"resources\":[" + segs joined by "," + "],\"type_url\":...}": each
     * seg is a run of resources that lie next to each other in some body. */
    const char *body;
    size_t body_len;
    xds_seg_t *segs;
    size_t nsegs;
    size_t payload_len; /* bytes of the segs and the commas between them */
} xds_view_t;

/* A node group: the proxies that receive the same configuration (match.h). */
typedef struct xds_group {
    const xds_view_t *views[XDS_TYPE_COUNT];
    char *label; /* {"cluster":"edge"}: the group's context as JSON ("{}" for all) */
    char *error; /* why its configuration could not be built, or NULL */
    double build_ms;
    char *key; /* the context's values, length-prefixed (group.c) */
    size_t key_len;
    xds_str_t *vals; /* the context's values, pointing into key */
} xds_group_t;

typedef struct xds_snapshot {
    atomic_uint refs;
    uint64_t generation; /* 1, 2, ... in build order (for logs, not versions) */
    double build_ms;     /* generate + serialize + hash time */
    xds_stype_t types[XDS_TYPE_COUNT];
    xds_group_t all; /* every resource: what every proxy gets without groups */
    xds_view_t all_views[XDS_TYPE_COUNT];
    struct xds_world *world; /* node groups (group.c), or NULL: every proxy gets `all` */
} xds_snapshot_t;

/* Serialize and hash everything in out (sorted, duplicate-free, as
 * xds_generate leaves it) into a new snapshot with one reference.  The
 * resources in out are only read.  Never fails (OOM aborts). */
xds_snapshot_t *xds_snapshot_build(const xds_gen_out_t *out, uint64_t generation);

/* Reference counting; any thread. */
xds_snapshot_t *xds_snapshot_ref(xds_snapshot_t *s);
void xds_snapshot_unref(xds_snapshot_t *s);

/* Index of the resource named (name, len) in v, or -1.  Binary search. */
long xds_view_find(const xds_view_t *v, const char *name, size_t len);
/* Version of the subset idx[0..n) of v (indexes ascending, unique; idx NULL:
 * all): XXH3-128 over the type URL and the subset's resource hashes, in
 * hex.  The whole view's version is the subset of all its resources. */
void xds_view_subset_version(const xds_view_t *v, const size_t *idx, size_t n,
                             char out[XDS_VERSION_LEN + 1]);
/* Append v's wildcard 200 body (what a poll gets) to b. */
void xds_view_body(const xds_view_t *v, xds_buf_t *b);

#endif
