/*
 * genout.c -- the collector generators write into, and the driver that runs
 * them.  xds_gen_add only appends (amortized O(1)); when every generator has
 * run, each type's list is sorted by name with a stable merge sort, which
 * both gives the snapshot its deterministic order (it binary-searches names)
 * and puts duplicates next to each other, so "defined twice" errors cost
 * nothing extra and always name the two origins in generation order.
 *
 * The name index at the bottom is a plain open-addressing hash table (FNV-1a,
 * linear probing, load factor <= 1/2) used by the model merge and the
 * generators to keep name lookups O(1) on 10,000-item collections.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cgen.h"
#include "genout.h"

/* Create an empty collector. */
xds_gen_out_t *xds_gen_out_new(void)
{
    xds_gen_out_t *out = xds_calloc(1, sizeof(xds_gen_out_t));
    out->arena = xj_arena_new();
    return out;
}

/* Free the collector with every resource, name and origin it holds. */
void xds_gen_out_free(xds_gen_out_t *out)
{
    if (out == NULL)
        return;
    for (size_t t = 0; t < XDS_TYPE_COUNT; t++) {
        for (size_t i = 0; i < out->n[t]; i++) {
            free(out->res[t][i].name);
            xj_free(out->res[t][i].resource);
            free(out->res[t][i].origin);
        }
        free(out->res[t]);
    }
    free(out->error);
    xds_buf_free(&out->errors);
    if (out->gen_cache_free)
        out->gen_cache_free(out->gen_cache);
    xj_arena_free(out->arena); /* the generated trees, all at once */
    free(out);
}

/* Append one resource (see model.h).  Duplicates are not looked for here:
 * xds_generate finds them after sorting.  XDS_ERROR only for a bad type or
 * a missing name, which are bugs in a generator. */
int xds_gen_add(xds_gen_out_t *out, xds_type_id_t type, const char *name, xj_t *resource,
                const xds_model_item_t *from, const char *origin)
{
    if ((unsigned)type >= XDS_TYPE_COUNT || name == NULL || resource == NULL) {
        xj_free(resource);
        return xds_gen_error(out, "%s: generator added a resource without a %s",
                             origin ? origin : "?", name == NULL ? "name" : "type or body");
    }
    if (out->n[type] == out->cap[type]) {
        out->cap[type] = out->cap[type] ? out->cap[type] * 2 : 16;
        out->res[type] = xds_realloc(out->res[type], out->cap[type] * sizeof(xds_gen_res_t));
    }
    xds_gen_res_t *r = &out->res[type][out->n[type]++];
    r->name = xds_strdup(name);
    r->resource = resource;
    r->origin = xds_strdup(origin ? origin : "?");
    r->coll = from ? from->coll : -1;
    r->item = from ? from->index : 0;
    r->gen = out->cur_gen;
    return XDS_OK;
}

/* Record an error of the build: the first one in out->error, every
 * distinct one in out->errors (generators that parse the same service
 * report its mistakes once).  Returns XDS_ERROR. */
int xds_gen_error(xds_gen_out_t *out, const char *fmt, ...)
{
    va_list ap;
    int len;

    va_start(ap, fmt);
    len = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (len < 0)
        len = 0;
    char *msg = xds_malloc((size_t)len + 1);
    va_start(ap, fmt);
    vsnprintf(msg, (size_t)len + 1, fmt, ap);
    va_end(ap);

    if (out->error == NULL)
        out->error = xds_strdup(msg);
    int seen = 0;
    for (const char *p = out->errors.data; p && *p && !seen;) {
        const char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p) : strlen(p);
        seen = n == (size_t)len && memcmp(p, msg, n) == 0;
        p += n + (nl ? 1 : 0);
    }
    if (!seen && out->nerrors < XDS_GEN_MAX_ERRORS) {
        xds_buf_append(&out->errors, msg, (size_t)len);
        xds_buf_append(&out->errors, "\n", 1);
        out->nerrors++;
    }
    free(msg);
    return XDS_ERROR;
}

/* Stable merge sort by name: equal names keep generation order. */
static void sort_by_name(xds_gen_res_t *a, xds_gen_res_t *tmp, size_t n)
{
    if (n < 2)
        return;
    if (n <= 8) { /* insertion sort for short runs */
        for (size_t i = 1; i < n; i++) {
            xds_gen_res_t x = a[i];
            size_t j = i;
            while (j > 0 && strcmp(a[j - 1].name, x.name) > 0) {
                a[j] = a[j - 1];
                j--;
            }
            a[j] = x;
        }
        return;
    }
    size_t h = n / 2;
    sort_by_name(a, tmp, h);
    sort_by_name(a + h, tmp, n - h);
    if (strcmp(a[h - 1].name, a[h].name) <= 0)
        return; /* already in order (the common case for generated lists) */
    memcpy(tmp, a, h * sizeof(*a));
    size_t i = 0, j = h, k = 0;
    while (i < h && j < n)
        a[k++] = strcmp(a[j].name, tmp[i].name) < 0 ? a[j++] : tmp[i++];
    while (i < h)
        a[k++] = tmp[i++];
}

static int sort_and_check(xds_gen_out_t *out, xds_type_id_t t)
{
    size_t n = out->n[t];
    if (n < 2)
        return XDS_OK;
    xds_gen_res_t *tmp = xds_malloc((n / 2 + 1) * sizeof(xds_gen_res_t));
    sort_by_name(out->res[t], tmp, n);
    free(tmp);
    int rc = XDS_OK;
    for (size_t i = 1; i < n; i++) {
        const xds_gen_res_t *a = &out->res[t][i - 1], *b = &out->res[t][i];
        if (strcmp(a->name, b->name) == 0)
            rc = xds_gen_error(out, "%s[%s]: defined twice: by %s and by %s", xds_types[t].path,
                               a->name, a->origin, b->origin);
    }
    return rc;
}

/* Run the generators, sort, and check for duplicates (see genout.h). */
int xds_generate(const xds_model_t *m, xds_gen_out_t *out)
{
    return xds_generate_some(m, out, ~(uint64_t)0);
}

/* Run the generators of mask, sort, and check for duplicates. */
int xds_generate_some(const xds_model_t *m, xds_gen_out_t *out, uint64_t mask)
{
    int rc = XDS_OK;
    xj_arena_t *prev = xj_arena_use(out->arena);
    /* The built-in generators, then the generator modules (cgen.c). */
    for (size_t g = 0; g < xds_ngenerators + m->opts.ncustom && g < 64; g++) {
        size_t before = out->nerrors;
        if (!(mask & ((uint64_t)1 << g)))
            continue;
        out->cur_gen = (int)g;
        int builtin = g < xds_ngenerators;
        if ((builtin ? xds_generators[g]->generate(m, out) : xds_cgen_generate(m, out)) != XDS_OK) {
            if (out->nerrors == before && out->error == NULL)
                xds_gen_error(out, "generator %s failed",
                              builtin ? xds_generators[g]->name
                                      : m->opts.custom[g - xds_ngenerators]->name);
            rc = XDS_ERROR;
        }
    }
    xj_arena_use(prev);
    for (size_t t = 0; t < XDS_TYPE_COUNT; t++)
        if (sort_and_check(out, (xds_type_id_t)t) != XDS_OK)
            rc = XDS_ERROR;
    return out->error ? XDS_ERROR : rc;
}

/* ---- name index ---------------------------------------------------------- */

static uint64_t name_hash(const char *s, int nocase)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (nocase && c >= 'A' && c <= 'Z')
            c = (unsigned char)(c - 'A' + 'a');
        h = (h ^ c) * 1099511628211ULL;
    }
    return h ^ (h >> 29);
}

static unsigned char ascii_lower(unsigned char c)
{
    return c >= 'A' && c <= 'Z' ? (unsigned char)(c - 'A' + 'a') : c;
}

static int name_eq(const char *a, const char *b, int nocase)
{
    if (!nocase)
        return strcmp(a, b) == 0;
    for (; *a && *b; a++, b++)
        if (ascii_lower((unsigned char)*a) != ascii_lower((unsigned char)*b))
            return 0;
    return *a == *b;
}

/* Prepare an empty table for about `expected` keys. */
void xds_name_index_init(xds_name_index_t *ix, size_t expected, int nocase)
{
    size_t cap = 16;
    while (cap < expected * 2)
        cap *= 2;
    ix->slots = xds_calloc(cap, sizeof(xds_name_slot_t));
    ix->cap = cap;
    ix->n = 0;
    ix->nocase = nocase;
}

/* Free the table's memory (not the keys, which are borrowed). */
void xds_name_index_free(xds_name_index_t *ix)
{
    free(ix->slots);
    ix->slots = NULL;
    ix->cap = ix->n = 0;
}

/* Forget every key, keeping the allocation. */
void xds_name_index_clear(xds_name_index_t *ix)
{
    if (ix->n)
        memset(ix->slots, 0, ix->cap * sizeof(xds_name_slot_t));
    ix->n = 0;
}

static xds_name_slot_t *name_slot(const xds_name_index_t *ix, const char *key, uint64_t h)
{
    size_t mask = ix->cap - 1;
    for (size_t i = (size_t)h & mask;; i = (i + 1) & mask) {
        xds_name_slot_t *s = &ix->slots[i];
        if (s->key == NULL || (s->hash == h && name_eq(s->key, key, ix->nocase)))
            return s;
    }
}

/* The value stored under key, or NULL. */
size_t *xds_name_index_find(const xds_name_index_t *ix, const char *key)
{
    if (ix->cap == 0)
        return NULL;
    xds_name_slot_t *s = name_slot(ix, key, name_hash(key, ix->nocase));
    return s->key ? &s->val : NULL;
}

/* Insert key -> val unless present (see genout.h). */
int xds_name_index_put(xds_name_index_t *ix, const char *key, size_t val, size_t *existing)
{
    if (ix->cap == 0)
        xds_name_index_init(ix, 8, ix->nocase);
    uint64_t h = name_hash(key, ix->nocase);
    xds_name_slot_t *s = name_slot(ix, key, h);
    if (s->key != NULL) {
        if (existing)
            *existing = s->val;
        return 0;
    }
    if ((ix->n + 1) * 2 > ix->cap) {
        xds_name_slot_t *old = ix->slots;
        size_t oldcap = ix->cap;
        ix->cap *= 2;
        ix->slots = xds_calloc(ix->cap, sizeof(xds_name_slot_t));
        for (size_t i = 0; i < oldcap; i++)
            if (old[i].key)
                *name_slot(ix, old[i].key, old[i].hash) = old[i];
        free(old);
        s = name_slot(ix, key, h);
    }
    s->key = key;
    s->hash = h;
    s->val = val;
    ix->n++;
    return 1;
}
