/*
 * genout.h -- what the generators produce: per resource type, a list of
 * (name, resource) pairs, sorted by name once every generator has run.  The
 * snapshot builder reads it; generators only see the opaque xds_gen_out_t
 * through xds_gen_add / xds_gen_error (model.h).
 *
 * Also here: a small name -> index hash table shared by the model merge and
 * the generators, so that lookups by name stay O(1) on large collections.
 */
#ifndef XDS_GENOUT_H
#define XDS_GENOUT_H

#include "model.h"

typedef struct {
    char *name;     /* owned */
    xj_t *resource; /* owned; the message without "@type" */
    char *origin;   /* owned; "services[greeter] (source catalog)" */
    int coll;       /* XDS_COLL_* of the item it exists for, or -1: none */
    size_t item;    /* that item's index in its collection */
    int gen;        /* index of the generator that made it (xds_generators) */
} xds_gen_res_t;

struct xds_gen_out {
    xds_gen_res_t *res[XDS_TYPE_COUNT]; /* after xds_generate: sorted by name, unique */
    size_t n[XDS_TYPE_COUNT], cap[XDS_TYPE_COUNT];
    char *error;       /* owned; the first error recorded, or NULL */
    xds_buf_t errors;  /* every distinct error, one a line (at most XDS_GEN_MAX_ERRORS) */
    xj_arena_t *arena; /* owned; xds_generate builds every resource tree in it */
    void *gen_cache;   /* generators' parsed model (modules/gen_util.c), kept
                          until xds_gen_out_free so node groups can reuse it */
    void (*gen_cache_free)(void *); /* frees it; NULL: borrowed, read-only */
    size_t nerrors;
    int cur_gen; /* the generator running */
    /* For validation (schema.h): the names references may resolve to, per
     * type, instead of the names in out (a node group's resources). */
    const struct xds_name_index *ref_names;
};

#define XDS_GEN_MAX_ERRORS 100

/* A new, empty collector (never NULL; OOM aborts).  Free with
 * xds_gen_out_free, which also frees every resource in it. */
xds_gen_out_t *xds_gen_out_new(void);
void xds_gen_out_free(xds_gen_out_t *out);

/* Run every generator in xds_generators order (all of them, even after
 * errors, so that every problem is reported), then sort each type's
 * resources by name (strcmp) and reject duplicates ("clusters[legacy]:
 * defined twice: by services[legacy] (source a) and by
 * resources.clusters[legacy] (source b)").  XDS_OK, or XDS_ERROR with
 * out->error set (out then holds whatever was generated so far).  Pure: no
 * I/O, may run on any thread. */
int xds_generate(const xds_model_t *m, xds_gen_out_t *out);
/* The same with only the generators whose bit is set in mask (bit g:
 * xds_generators[g]). */
int xds_generate_some(const xds_model_t *m, xds_gen_out_t *out, uint64_t mask);

/* Name -> index hash table.  Keys are borrowed (they must outlive the
 * table); nocase compares ASCII case-insensitively (for DNS names). */
typedef struct {
    const char *key;
    uint64_t hash;
    size_t val;
} xds_name_slot_t;

typedef struct xds_name_index {
    xds_name_slot_t *slots; /* owned; cap is a power of two, NULL keys are free */
    size_t cap, n;
    int nocase;
} xds_name_index_t;

/* Prepare an empty table sized for about `expected` keys. */
void xds_name_index_init(xds_name_index_t *ix, size_t expected, int nocase);
void xds_name_index_free(xds_name_index_t *ix);
/* Empty the table, keeping its memory. */
void xds_name_index_clear(xds_name_index_t *ix);
/* The value stored under key (borrowed pointer, valid until the next
 * insertion), or NULL. */
size_t *xds_name_index_find(const xds_name_index_t *ix, const char *key);
/* Store key -> val unless key is present.  Returns 1 when inserted; 0 when
 * key was already there, with its value in *existing (if not NULL) and the
 * table unchanged.  Amortized O(1). */
int xds_name_index_put(xds_name_index_t *ix, const char *key, size_t val, size_t *existing);

#endif
