/*
 * group.c -- node groups, built lazily per snapshot (see group.h).
 *
 * Locking.  A world's tables (groups, interned resources, interned views)
 * are behind one mutex, held only to look up or insert: a group is built
 * outside it, so a worker building a 1,000-service group never stalls the
 * other workers' polls.  Two workers that build the same group at once both
 * finish; the second to insert throws its copy away (its interned
 * resources are the table's already).  Everything a group points to lives
 * until the snapshot is freed.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

#include "cgen.h"
#include "group.h"
#include "json.h"
#include "log.h"
#include "schema.h"

/* ---- a table keyed by bytes (the key lives in the value) ----------------- */

typedef struct {
    const void *key;
    size_t len;
    uint64_t h;
    void *val;
} slot_t;

typedef struct {
    slot_t *s;
    size_t cap, n;
} table_t;

static slot_t *tab_slot(const table_t *t, const void *k, size_t len, uint64_t h)
{
    for (size_t i = h & (t->cap - 1);; i = (i + 1) & (t->cap - 1)) {
        slot_t *s = &t->s[i];
        if (s->key == NULL || (s->h == h && s->len == len && memcmp(s->key, k, len) == 0))
            return s;
    }
}

static void *tab_find(const table_t *t, const void *k, size_t len, uint64_t h)
{
    if (t->cap == 0)
        return NULL;
    slot_t *s = tab_slot(t, k, len, h);
    return s->key ? s->val : NULL;
}

static void tab_put(table_t *t, const void *k, size_t len, uint64_t h, void *val)
{
    if ((t->n + 1) * 2 > t->cap) {
        table_t bigger = {xds_calloc(t->cap ? t->cap * 2 : 64, sizeof(slot_t)),
                          t->cap ? t->cap * 2 : 64, t->n};
        for (size_t i = 0; i < t->cap; i++)
            if (t->s[i].key)
                *tab_slot(&bigger, t->s[i].key, t->s[i].len, t->s[i].h) = t->s[i];
        free(t->s);
        *t = bigger;
    }
    *tab_slot(t, k, len, h) = (slot_t){k, len, h, val};
    t->n++;
}

/* ---- the world ------------------------------------------------------------ */

/* What every group that matches the same items gets (without per-node
 * generators): keyed by a hash of which items those are. */
typedef struct {
    uint8_t key[16];
    const xds_view_t *views[XDS_TYPE_COUNT];
    char *error;
} setres_t;

/* An interned view: its key is the type id byte followed by the version. */
typedef struct {
    xds_view_t v;
    char key[1 + XDS_VERSION_LEN];
} iview_t;

struct xds_world {
    xds_doc_t **docs; /* one reference per source document */
    char **names;     /* the sources' names (the model's items point at them) */
    size_t ndocs;
    char *xds_cluster;
    xds_cgen_t **cgens; /* references: the modules stay loaded while groups may run them */
    size_t ncgens;
    const char *extra[XDS_MAX_EXTRA]; /* their collections' names (inside the modules) */
    xds_model_t model;
    void *svc_cache; /* the whole build's parsed services (gen_util.c) */
    void (*svc_cache_free)(void *);
    xds_schema_t *schema;

    char **keys; /* the key set, sorted */
    size_t nkeys;
    char *keys_text;
    uint64_t regen_set, regen_node; /* generators to run again, by scope */
    unsigned char *node_read;       /* per key: a per-node generator reads it */
    int raw_gen;                    /* index of the raw pass-through generator */
    int any_match;
    xds_snapshot_t *snap; /* the snapshot this world belongs to */

    pthread_mutex_t lock;
    table_t groups, res, views, sets;
    xds_group_stats_t stats;
};

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static xds_collection_t *coll_of(xds_model_t *m, int c)
{
    return c == XDS_COLL_SERVICES    ? &m->services
           : c == XDS_COLL_LISTENERS ? &m->listeners
           : c < XDS_COLL_EXTRA      ? &m->resources[c - XDS_COLL_RESOURCES]
                                     : &m->extra[c - XDS_COLL_EXTRA];
}

static int cmp_key(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void add_key(xds_world_t *w, const char *k, size_t *cap)
{
    for (size_t i = 0; i < w->nkeys; i++)
        if (strcmp(w->keys[i], k) == 0)
            return;
    if (w->nkeys == *cap) {
        *cap = *cap ? *cap * 2 : 8;
        w->keys = xds_realloc(w->keys, *cap * sizeof(char *));
    }
    w->keys[w->nkeys++] = xds_strdup(k);
}

xds_world_t *xds_world_new(const xds_cycle_t *c)
{
    xds_world_t *w = xds_calloc(1, sizeof(*w));
    size_t n = c->nsources ? c->nsources : 1, cap = 0;
    const xj_t **roots = xds_calloc(n, sizeof(*roots));

    pthread_mutex_init(&w->lock, NULL);
    w->docs = xds_calloc(n, sizeof(*w->docs));
    w->names = xds_calloc(n, sizeof(*w->names));
    w->ndocs = c->nsources;
    for (size_t i = 0; i < c->nsources; i++) {
        w->names[i] = xds_strdup(c->sources[i]->name);
        if (c->sources[i]->docref) {
            w->docs[i] = xds_doc_ref(c->sources[i]->docref);
            roots[i] = w->docs[i]->root; /* NULL: skipped by the merge */
        }
    }
    w->xds_cluster = xds_strdup(c->xds_cluster ? c->xds_cluster : "xds_cluster");
    w->model.opts.xds_cluster = w->xds_cluster;
    w->model.opts.refresh_delay_ms = c->refresh_delay_ms;
    w->model.opts.locality_priority = c->locality_priority;
    w->ncgens = c->ncgens;
    w->cgens = xds_calloc(c->ncgens ? c->ncgens : 1, sizeof(*w->cgens));
    for (size_t i = 0; i < c->ncgens; i++)
        w->cgens[i] = xds_cgen_ref(c->cgens[i]);
    w->model.opts.custom = (struct xds_cgen *const *)w->cgens;
    w->model.opts.ncustom = w->ncgens;
    for (size_t k = 0; k < c->ncollections && k < XDS_MAX_EXTRA; k++)
        w->extra[k] = c->collections[k];
    w->model.extra_names = w->extra;
    w->model.nextra = c->ncollections;
    xds_model_build(&w->model, roots, (const char *const *)w->names, c->nsources);
    free(roots);
    w->schema = xds_schema_ref(c->schema);

    /* The key set: node_group, every attribute a rule names, the zone. */
    for (size_t i = 0; i < c->nnode_group; i++)
        add_key(w, c->node_group[i], &cap);
    if (c->locality_priority)
        add_key(w, "locality.zone", &cap);
    for (int k = 0; k < XDS_NCOLL; k++) {
        const xds_collection_t *col = coll_of(&w->model, k);
        for (size_t i = 0; i < col->n; i++) {
            const xds_match_t *m = col->items[i].match;
            for (size_t r = 0; m && r < m->n; r++)
                add_key(w, m->rule[r].key, &cap);
            w->any_match |= m != NULL;
        }
    }
    qsort(w->keys, w->nkeys, sizeof(char *), cmp_key);
    xds_buf_t b = {0};
    for (size_t i = 0; i < w->nkeys; i++)
        xds_buf_printf(&b, "%s%s", i ? ", " : "", w->keys[i]);
    w->keys_text = b.data ? xds_buf_detach(&b, NULL) : xds_strdup("");

    w->raw_gen = -1;
    for (size_t g = 0; g < xds_ngenerators; g++) {
        const xds_generator_t *gen = xds_generators[g];
        int scope = gen->scope ? gen->scope(&w->model) : XDS_GEN_PER_ITEM;
        if (scope == XDS_GEN_PER_SET)
            w->regen_set |= (uint64_t)1 << g;
        else if (scope == XDS_GEN_PER_NODE)
            w->regen_node |= (uint64_t)1 << g;
        if (strcmp(gen->name, "raw") == 0)
            w->raw_gen = (int)g;
    }
    for (size_t k = 0; k < w->ncgens; k++) /* generator modules come after (genout.c) */
        if (w->cgens[k]->scope == XDS_GEN_PER_NODE)
            w->regen_node |= (uint64_t)1 << (xds_ngenerators + k);
        else
            w->regen_set |= (uint64_t)1 << (xds_ngenerators + k);

    /* The attributes per-node generators read: groups that match the same
     * items and agree on those share one result. */
    w->node_read = xds_calloc(w->nkeys ? w->nkeys : 1, 1);
    for (size_t g = 0; g < xds_ngenerators + w->ncgens; g++) {
        if (!((w->regen_node >> g) & 1))
            continue;
        const char *const *reads = g < xds_ngenerators ? xds_generators[g]->node_attrs : NULL;
        for (size_t i = 0; i < w->nkeys; i++) {
            int hit = reads == NULL;
            for (size_t r = 0; reads && reads[r] && !hit; r++)
                hit = strcmp(reads[r], w->keys[i]) == 0;
            w->node_read[i] |= (unsigned char)hit;
        }
    }
    return w;
}

xds_model_t *xds_world_model(xds_world_t *w)
{
    return &w->model;
}

static void group_free(xds_group_t *g)
{
    if (g == NULL)
        return;
    free(g->label);
    free(g->error);
    free(g->key);
    free(g->vals);
    free(g);
}

void xds_world_attach(xds_world_t *w, xds_snapshot_t *snap, xds_gen_out_t *out)
{
    if (!w->any_match && w->regen_node == 0) {
        xds_world_free(w); /* every proxy gets the same: snap->all */
        return;
    }
    w->svc_cache = out->gen_cache;
    w->svc_cache_free = out->gen_cache_free;
    out->gen_cache = NULL;
    out->gen_cache_free = NULL;
    w->snap = snap;
    snap->world = w;
    w->stats.enabled = 1;
    w->stats.keys = w->nkeys;
    for (size_t t = 0; t < XDS_TYPE_COUNT; t++) { /* so equal views find them */
        iview_t *iv = xds_calloc(1, sizeof(*iv));
        iv->v = snap->all_views[t];
        iv->v.res = NULL; /* borrowed marker: the snapshot owns the real one */
        iv->key[0] = (char)t;
        memcpy(iv->key + 1, snap->all_views[t].version, XDS_VERSION_LEN);
        tab_put(&w->views, iv->key, sizeof(iv->key), XXH3_64bits(iv->key, sizeof(iv->key)), iv);
        /* A group that generates a resource the whole build has (a route
         * configuration that lost no service, an assignment for a proxy
         * without a zone) shares the snapshot's. */
        for (size_t i = 0; i < snap->types[t].n; i++) {
            const xds_sres_t *r = &snap->types[t].res[i];
            tab_put(&w->res, r->hash, 16, XXH3_64bits(r->hash, 16), (void *)r);
        }
    }
}

/* 1 when r is one of the snapshot's own resources (not the world's). */
static int in_snapshot(const xds_snapshot_t *s, const xds_sres_t *r)
{
    for (size_t t = 0; t < XDS_TYPE_COUNT; t++)
        if (r >= s->types[t].res && r < s->types[t].res + s->types[t].n)
            return 1;
    return 0;
}

void xds_world_free(xds_world_t *w)
{
    if (w == NULL)
        return;
    for (size_t i = 0; i < w->groups.cap; i++)
        if (w->groups.s[i].key)
            group_free(w->groups.s[i].val);
    for (size_t i = 0; i < w->res.cap; i++)
        if (w->res.s[i].key && !(w->snap && in_snapshot(w->snap, w->res.s[i].val)))
            free(w->res.s[i].val);
    for (size_t i = 0; i < w->views.cap; i++) {
        iview_t *iv = w->views.s[i].val;
        if (iv == NULL)
            continue;
        free((void *)iv->v.res);
        free(iv->v.segs);
        free(iv);
    }
    for (size_t i = 0; i < w->sets.cap; i++) {
        setres_t *sr = w->sets.s[i].val;
        if (sr) {
            free(sr->error);
            free(sr);
        }
    }
    free(w->sets.s);
    free(w->groups.s);
    free(w->res.s);
    free(w->views.s);
    if (w->svc_cache_free)
        w->svc_cache_free(w->svc_cache);
    xds_model_free(&w->model);
    for (size_t i = 0; i < w->ndocs; i++) {
        xds_doc_unref(w->docs[i]);
        free(w->names[i]);
    }
    free(w->docs);
    free(w->names);
    free(w->xds_cluster);
    for (size_t i = 0; i < w->ncgens; i++)
        xds_cgen_unref(w->cgens[i]);
    free(w->cgens);
    xds_schema_free(w->schema);
    for (size_t i = 0; i < w->nkeys; i++)
        free(w->keys[i]);
    free(w->keys);
    free(w->keys_text);
    free(w->node_read);
    pthread_mutex_destroy(&w->lock);
    free(w);
}

/* ---- building a group ------------------------------------------------------ */

/* The group's key: for each key of the set, a 4-byte length and the value. */
static void make_key(const xds_world_t *w, const xds_node_attrs_t *a, xds_buf_t *k)
{
    for (size_t i = 0; i < w->nkeys; i++) {
        xds_str_t v = {"", 0};
        xds_attr_get(a, w->keys[i], &v);
        uint32_t n = v.n > UINT32_MAX ? UINT32_MAX : (uint32_t)v.n;
        xds_buf_append(k, &n, sizeof(n));
        xds_buf_append(k, v.p, n);
    }
}

/* An interned copy of a resource made for a group: one allocation. */
static const xds_sres_t *intern_res(xds_world_t *w, const xds_gen_res_t *in, const xds_type_t *type)
{
    xds_buf_t b = {0};
    xj_serialize_any(in->resource, type->type_url, &b);
    XXH128_canonical_t c;
    XXH128_canonicalFromHash(&c, XXH3_128bits(b.data, b.len));

    size_t nl = strlen(in->name);
    xds_sres_t *r = xds_malloc(sizeof(*r) + nl + 1 + b.len);
    char *p = (char *)(r + 1);
    memcpy(p, in->name, nl + 1);
    memcpy(p + nl + 1, b.data, b.len);
    r->name = p;
    r->name_len = nl;
    r->json = p + nl + 1;
    r->json_len = b.len;
    memcpy(r->hash, c.digest, 16);
    r->coll = in->coll;
    r->item = in->item;
    r->gen = in->gen;
    xds_buf_free(&b);

    uint64_t h = XXH3_64bits(r->hash, 16);
    pthread_mutex_lock(&w->lock);
    const xds_sres_t *have = tab_find(&w->res, r->hash, 16, h);
    if (have == NULL) {
        tab_put(&w->res, r->hash, 16, h, r);
        w->stats.resources++;
        w->stats.bytes += r->json_len;
        have = r;
        r = NULL;
    }
    pthread_mutex_unlock(&w->lock);
    free(r); /* the same resource was interned before: share it */
    return have;
}

/* The view of res[0..n) (sorted, owned: taken), interned by version. */
static const xds_view_t *intern_view(xds_world_t *w, const xds_type_t *type, const xds_sres_t **res,
                                     size_t n)
{
    const xds_stype_t *base = &w->snap->types[type->id];
    iview_t *iv = xds_calloc(1, sizeof(*iv));
    xds_view_t *v = &iv->v;

    v->type = type;
    v->res = res;
    v->n = n;
    xds_view_subset_version(v, NULL, n, v->version);
    iv->key[0] = (char)type->id;
    memcpy(iv->key + 1, v->version, XDS_VERSION_LEN);
    uint64_t h = XXH3_64bits(iv->key, sizeof(iv->key));

    pthread_mutex_lock(&w->lock);
    iview_t *have = tab_find(&w->views, iv->key, sizeof(iv->key), h);
    pthread_mutex_unlock(&w->lock);
    if (have) {
        free(res);
        free(iv);
        return have->v.res ? &have->v : &w->snap->all_views[type->id];
    }

    /* Runs of resources that lie next to each other in the type's body are
     * written with one reference each. */
    v->segs = xds_malloc((n ? n : 1) * sizeof(xds_seg_t));
    for (size_t i = 0; i < n; i++) {
        const xds_sres_t *r = res[i], *prev = i ? res[i - 1] : NULL;
        int in_body = r->json >= base->body && r->json < base->body + base->body_len;
        if (prev && in_body && prev->json + prev->json_len + 1 == r->json) {
            v->segs[v->nsegs - 1].n += r->json_len + 1;
        } else {
            v->segs[v->nsegs++] = (xds_seg_t){r->json, r->json_len};
        }
        v->payload_len += r->json_len + (i ? 1 : 0);
    }
    v->segs = xds_realloc(v->segs, (v->nsegs ? v->nsegs : 1) * sizeof(xds_seg_t));

    pthread_mutex_lock(&w->lock);
    have = tab_find(&w->views, iv->key, sizeof(iv->key), h);
    if (have == NULL) {
        tab_put(&w->views, iv->key, sizeof(iv->key), h, iv);
        w->stats.views++;
    }
    pthread_mutex_unlock(&w->lock);
    if (have) { /* interned meanwhile by another thread */
        free(v->segs);
        free(res);
        free(iv);
        return have->v.res ? &have->v : &w->snap->all_views[type->id];
    }
    return v;
}

static void group_label(const xds_world_t *w, xds_group_t *g)
{
    xds_buf_t b = {0};
    int first = 1;
    xds_buf_append(&b, "{", 1);
    for (size_t i = 0; i < w->nkeys; i++) {
        if (g->vals[i].n == 0)
            continue;
        if (!first)
            xds_buf_append(&b, ",", 1);
        first = 0;
        xj_write_string(&b, w->keys[i], strlen(w->keys[i]));
        xds_buf_append(&b, ":", 1);
        xj_write_string(&b, g->vals[i].p, g->vals[i].n);
    }
    xds_buf_append(&b, "}", 1);
    g->label = xds_buf_detach(&b, NULL);
}

static int cmp_res_name(const void *a, const void *b)
{
    const xds_sres_t *x = *(const xds_sres_t *const *)a, *y = *(const xds_sres_t *const *)b;
    size_t m = x->name_len < y->name_len ? x->name_len : y->name_len;
    int c = memcmp(x->name, y->name, m);
    return c ? c : (x->name_len > y->name_len) - (x->name_len < y->name_len);
}

/* Keep g's result for the groups that match the same items. */
static void remember_set(xds_world_t *w, const uint8_t skey[16], uint64_t sh, const xds_group_t *g)
{
    setres_t *sr = xds_calloc(1, sizeof(*sr));
    memcpy(sr->key, skey, 16);
    memcpy(sr->views, g->views, sizeof(sr->views));
    sr->error = g->error ? xds_strdup(g->error) : NULL;
    pthread_mutex_lock(&w->lock);
    if (tab_find(&w->sets, sr->key, 16, sh) == NULL) {
        tab_put(&w->sets, sr->key, 16, sh, sr);
        sr = NULL;
    }
    pthread_mutex_unlock(&w->lock);
    if (sr) { /* remembered meanwhile by another thread */
        free(sr->error);
        free(sr);
    }
}

/* Build the group of key (see the top of the file). */
static xds_group_t *group_build(xds_world_t *w, const char *key, size_t klen)
{
    double t0 = now_ms();
    xds_snapshot_t *snap = w->snap;
    xds_group_t *g = xds_calloc(1, sizeof(*g));
    xds_model_t fm = {0};
    unsigned char *incl[XDS_NCOLL];
    size_t dropped = 0;

    g->key = xds_malloc(klen ? klen : 1);
    memcpy(g->key, key, klen);
    g->key_len = klen;
    g->vals = xds_calloc(w->nkeys ? w->nkeys : 1, sizeof(xds_str_t));
    for (size_t i = 0, off = 0; i < w->nkeys; i++) {
        uint32_t n;
        memcpy(&n, g->key + off, sizeof(n));
        g->vals[i] = (xds_str_t){g->key + off + sizeof(n), n};
        off += sizeof(n) + n;
    }
    group_label(w, g);
    xds_node_ctx_t ctx = {w->nkeys, (const char *const *)w->keys, g->vals};

    /* The items this group gets. */
    fm.opts = w->model.opts;
    fm.node = &ctx;
    fm.extra_names = w->model.extra_names;
    fm.nextra = w->model.nextra;
    for (int c = 0; c < XDS_NCOLL; c++) {
        xds_collection_t *all = coll_of(&w->model, c), *mine = coll_of(&fm, c);
        incl[c] = xds_malloc(all->n ? all->n : 1);
        mine->items = xds_malloc((all->n ? all->n : 1) * sizeof(xds_model_item_t));
        for (size_t i = 0; i < all->n; i++) {
            incl[c][i] = (unsigned char)xds_match_eval(all->items[i].match, &ctx);
            if (incl[c][i])
                mine->items[mine->n++] = all->items[i];
            else
                dropped++;
        }
    }

    /* A group's configuration depends only on which items it matches and
     * on the attributes per-node generators read: groups that agree on
     * those share the first one's result, generated and serialized once. */
    uint8_t skey[16];
    uint64_t sh;
    {
        XXH3_state_t st;
        XXH128_canonical_t digest;
        XXH3_128bits_reset(&st);
        for (int c = 0; c < XDS_NCOLL; c++) {
            size_t n = coll_of(&w->model, c)->n;
            XXH3_128bits_update(&st, &n, sizeof(n));
            XXH3_128bits_update(&st, incl[c], n);
        }
        for (size_t i = 0; i < w->nkeys; i++) {
            size_t n = w->node_read[i] ? g->vals[i].n : 0;
            XXH3_128bits_update(&st, &n, sizeof(n));
            XXH3_128bits_update(&st, g->vals[i].p, n);
        }
        XXH128_canonicalFromHash(&digest, XXH3_128bits_digest(&st));
        memcpy(skey, digest.digest, 16);
        sh = XXH3_64bits(skey, 16);
        pthread_mutex_lock(&w->lock);
        const setres_t *sr = tab_find(&w->sets, skey, 16, sh);
        if (sr) {
            memcpy(g->views, sr->views, sizeof(g->views));
            g->error = sr->error ? xds_strdup(sr->error) : NULL;
        }
        pthread_mutex_unlock(&w->lock);
        if (sr) {
            for (int c = 0; c < XDS_NCOLL; c++) {
                free(incl[c]);
                free(coll_of(&fm, c)->items);
            }
            g->build_ms = now_ms() - t0;
            return g;
        }
    }

    uint64_t mask = w->regen_node | (dropped ? w->regen_set : 0);
    if (mask == 0 && dropped == 0) { /* it gets everything: the snapshot's own views */
        for (size_t t = 0; t < XDS_TYPE_COUNT; t++)
            g->views[t] = &snap->all_views[t];
        for (int c = 0; c < XDS_NCOLL; c++) {
            free(incl[c]);
            free(coll_of(&fm, c)->items);
        }
        g->build_ms = now_ms() - t0;
        return g;
    }
    xds_gen_out_t *out = xds_gen_out_new();
    xds_name_index_t names[XDS_TYPE_COUNT];
    memset(names, 0, sizeof(names));
    out->gen_cache = w->svc_cache; /* borrowed: gen_cache_free stays NULL */
    if (mask && xds_generate_some(&fm, out, mask) != XDS_OK)
        goto failed;

    /* Per type: the whole build's resources this group keeps, then the ones
     * generated for it. */
    const xds_sres_t **lists[XDS_TYPE_COUNT];
    size_t nlist[XDS_TYPE_COUNT];
    for (size_t t = 0; t < XDS_TYPE_COUNT; t++) {
        const xds_stype_t *st = &snap->types[t];
        lists[t] = xds_malloc((st->n + out->n[t] + 1) * sizeof(xds_sres_t *));
        nlist[t] = 0;
        for (size_t i = 0; i < st->n; i++) {
            const xds_sres_t *r = &st->res[i];
            if ((mask >> r->gen) & 1)
                continue;
            if (r->coll >= 0 && !incl[r->coll][r->item])
                continue;
            lists[t][nlist[t]++] = r;
        }
        xds_name_index_init(&names[t], nlist[t] + out->n[t], 0);
        for (size_t i = 0; i < nlist[t]; i++)
            xds_name_index_put(&names[t], lists[t][i]->name, i, NULL);
        for (size_t i = 0; i < out->n[t]; i++) {
            const xds_gen_res_t *r = &out->res[t][i];
            if (!xds_name_index_put(&names[t], r->name, i, NULL))
                xds_gen_error(out, "%s[%s]: defined twice: by %s and by the whole model",
                              xds_types[t].path, r->name, r->origin);
        }
    }

    /* Validate what is new, and the raw resources it kept when items were
     * left out (a raw route may name a cluster this group does not get). */
    if (out->error == NULL && w->schema && (mask || dropped)) {
        xds_gen_out_t *kept = xds_gen_out_new();
        char origin[XDS_ERRLEN], err[XDS_ERRLEN];
        for (size_t t = 0; dropped && t < XDS_TYPE_COUNT; t++) {
            for (size_t i = 0; i < nlist[t]; i++) {
                const xds_sres_t *r = lists[t][i];
                if (r->gen != w->raw_gen)
                    continue;
                xj_t *v = xj_parse(r->json, r->json_len, 200, err, sizeof(err));
                if (v == NULL)
                    continue; /* we wrote it: cannot happen */
                xj_free(xj_take(v, "@type"));
                snprintf(origin, sizeof(origin), "resources.%s[%s]", xds_types[t].path, r->name);
                xds_gen_add(kept, (xds_type_id_t)t, r->name, v, NULL, origin);
            }
        }
        out->ref_names = names;
        kept->ref_names = names;
        xds_schema_validate_into(w->schema, out, 20, out);
        xds_schema_validate_into(w->schema, kept, 20, out);
        xds_gen_out_free(kept);
    }
    if (out->error)
        goto failed_lists;

    for (size_t t = 0; t < XDS_TYPE_COUNT; t++) {
        const xds_stype_t *st = &snap->types[t];
        if (out->n[t] == 0 && nlist[t] == st->n) { /* all of the type */
            g->views[t] = &snap->all_views[t];
            free(lists[t]);
            continue;
        }
        for (size_t i = 0; i < out->n[t]; i++)
            lists[t][nlist[t]++] = intern_res(w, &out->res[t][i], &xds_types[t]);
        if (out->n[t])
            qsort(lists[t], nlist[t], sizeof(xds_sres_t *), cmp_res_name);
        /* sized for the whole type so far: keep only what the view holds */
        lists[t] = xds_realloc(lists[t], (nlist[t] ? nlist[t] : 1) * sizeof(xds_sres_t *));
        g->views[t] = intern_view(w, &xds_types[t], lists[t], nlist[t]);
    }
    goto done;

failed_lists:
    for (size_t t = 0; t < XDS_TYPE_COUNT; t++)
        free(lists[t]);
failed:
    g->error = xds_strdup(out->errors.data ? out->errors.data : "generator failed");
    memset(g->views, 0, sizeof(g->views));
done:
    remember_set(w, skey, sh, g);
    for (size_t t = 0; t < XDS_TYPE_COUNT; t++)
        xds_name_index_free(&names[t]);
    xds_gen_out_free(out);
    for (int c = 0; c < XDS_NCOLL; c++) {
        free(incl[c]);
        free(coll_of(&fm, c)->items);
    }
    g->build_ms = now_ms() - t0;
    return g;
}

const xds_group_t *xds_snapshot_group(xds_snapshot_t *snap, const xds_node_attrs_t *a)
{
    xds_world_t *w = snap->world;
    if (w == NULL)
        return &snap->all;

    xds_buf_t k = {0};
    make_key(w, a, &k);
    uint64_t h = XXH3_64bits(k.data, k.len);

    pthread_mutex_lock(&w->lock);
    xds_group_t *g = tab_find(&w->groups, k.data ? k.data : "", k.len, h);
    pthread_mutex_unlock(&w->lock);
    if (g) {
        xds_buf_free(&k);
        return g;
    }

    g = group_build(w, k.data ? k.data : "", k.len);
    xds_buf_free(&k);
    pthread_mutex_lock(&w->lock);
    xds_group_t *have = tab_find(&w->groups, g->key, g->key_len, h);
    if (have == NULL) {
        tab_put(&w->groups, g->key, g->key_len, h, g);
        w->stats.groups++;
        w->stats.failed += g->error != NULL;
        w->stats.build_ms_total += g->build_ms;
        if (g->build_ms > w->stats.build_ms_max)
            w->stats.build_ms_max = g->build_ms;
    }
    pthread_mutex_unlock(&w->lock);
    if (have) {
        group_free(g);
        return have;
    }
    if (g->error) {
        size_t n = 0;
        for (const char *p = g->error; *p; p++)
            n += *p == '\n';
        xds_log(XDS_LOG_ERR,
                "snapshot %llu: node group %s refused (%zu problem%s), its proxies "
                "get 503 and keep their configuration:",
                (unsigned long long)snap->generation, g->label, n ? n : 1, n == 1 ? "" : "s");
        for (const char *p = g->error; *p;) {
            const char *nl = strchr(p, '\n');
            int len = nl ? (int)(nl - p) : (int)strlen(p);
            xds_log(XDS_LOG_ERR, "  %.*s", len, p);
            p += len + (nl ? 1 : 0);
        }
    } else {
        xds_log(XDS_LOG_DEBUG, "snapshot %llu: node group %s built in %.2f ms",
                (unsigned long long)snap->generation, g->label, g->build_ms);
    }
    return g;
}

void xds_snapshot_group_stats(xds_snapshot_t *snap, xds_group_stats_t *st)
{
    memset(st, 0, sizeof(*st));
    if (snap == NULL || snap->world == NULL)
        return;
    pthread_mutex_lock(&snap->world->lock);
    *st = snap->world->stats;
    pthread_mutex_unlock(&snap->world->lock);
}

const char *xds_snapshot_group_keys(const xds_snapshot_t *snap)
{
    return snap && snap->world ? snap->world->keys_text : "";
}

void xds_snapshot_each_group(xds_snapshot_t *snap, void (*fn)(void *, const xds_group_t *),
                             void *arg)
{
    xds_world_t *w = snap ? snap->world : NULL;
    if (w == NULL)
        return;
    pthread_mutex_lock(&w->lock);
    for (size_t i = 0; i < w->groups.cap; i++)
        if (w->groups.s[i].key)
            fn(arg, w->groups.s[i].val);
    pthread_mutex_unlock(&w->lock);
}
