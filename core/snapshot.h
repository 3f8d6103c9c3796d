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
#include "types.h"
#include "xdsd.h"

#define XDS_VERSION_LEN 32 /* hex chars of a 128-bit content hash */

typedef struct {
    const char *name; /* points into the type's arena */
    size_t name_len;
    const char *json; /* the Any: {"@type":"...",...}; a slice of the type's body */
    size_t json_len;
    uint8_t hash[16]; /* XXH3-128 of json */
} xds_sres_t;

typedef struct {
    const xds_type_t *type;
    xds_sres_t *res; /* sorted by name (bytewise), unique */
    size_t n;
    char *arena;                       /* names and JSON of all resources, owned */
    char version[XDS_VERSION_LEN + 1]; /* version of the whole set */
    char *body;                        /* full wildcard 200 body, owned */
    size_t body_len;
} xds_stype_t;

typedef struct xds_snapshot {
    atomic_uint refs;
    uint64_t generation; /* 1, 2, ... in build order (for logs, not versions) */
    double build_ms;     /* generate + serialize + hash time */
    xds_stype_t types[XDS_TYPE_COUNT];
} xds_snapshot_t;

/* Serialize and hash everything in out (sorted, duplicate-free, as
 * xds_generate leaves it) into a new snapshot with one reference.  The
 * resources in out are only read.  Never fails (OOM aborts). */
xds_snapshot_t *xds_snapshot_build(const xds_gen_out_t *out, uint64_t generation);

/* Reference counting; any thread. */
xds_snapshot_t *xds_snapshot_ref(xds_snapshot_t *s);
void xds_snapshot_unref(xds_snapshot_t *s);

/* Index of the resource named (name, len) in t, or -1.  Binary search. */
long xds_stype_find(const xds_stype_t *t, const char *name, size_t len);

/* Version of the subset idx[0..n) of t (indexes ascending, unique):
 * XXH3-128 over the type URL and the subset's resource hashes, in hex.  The
 * full set's version equals xds_stype_subset_version over all indexes. */
void xds_stype_subset_version(const xds_stype_t *t, const size_t *idx, size_t n,
                              char out[XDS_VERSION_LEN + 1]);

#endif
