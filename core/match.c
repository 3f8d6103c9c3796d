/*
 * match.c -- node attributes, group contexts and match rules (match.h).
 */
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "match.h"

static int str_is(xds_str_t s, const char *lit)
{
    size_t n = strlen(lit);
    return s.n == n && memcmp(s.p, lit, n) == 0;
}

static int kv_cmp_key(const xds_str_t *a, const char *k, size_t n)
{
    size_t m = a->n < n ? a->n : n;
    int c = memcmp(a->p, k, m);
    return c ? c : (a->n > n) - (a->n < n);
}

int xds_attr_name_valid(const char *key, size_t len)
{
    static const char *const fixed[] = {"id", "cluster", "locality.region", "locality.zone",
                                        "locality.sub_zone"};
    for (size_t i = 0; i < xds_nelems(fixed); i++)
        if (strlen(fixed[i]) == len && memcmp(fixed[i], key, len) == 0)
            return 1;
    return len > 9 && memcmp(key, "metadata.", 9) == 0 && memchr(key, '\0', len) == NULL;
}

int xds_attr_get(const xds_node_attrs_t *a, const char *key, xds_str_t *val)
{
    xds_str_t v = {"", 0};
    xds_str_t k = {key, strlen(key)};

    if (str_is(k, "id"))
        v = a->id;
    else if (str_is(k, "cluster"))
        v = a->cluster;
    else if (str_is(k, "locality.region"))
        v = a->region;
    else if (str_is(k, "locality.zone"))
        v = a->zone;
    else if (str_is(k, "locality.sub_zone"))
        v = a->sub_zone;
    else if (k.n > 9 && memcmp(key, "metadata.", 9) == 0) {
        size_t lo = 0, hi = a->nmeta;
        while (lo < hi) { /* binary search: meta is sorted by key */
            size_t mid = lo + (hi - lo) / 2;
            int c = kv_cmp_key(&a->meta[mid].key, key + 9, k.n - 9);
            if (c == 0) {
                v = a->meta[mid].val;
                break;
            }
            if (c < 0)
                lo = mid + 1;
            else
                hi = mid;
        }
    }
    if (v.n == 0)
        return 0;
    *val = v;
    return 1;
}

void xds_request_attrs(const xds_request_t *r, xds_node_attrs_t *a)
{
    a->id = r->node_id;
    a->cluster = r->node_cluster;
    a->region = r->region;
    a->zone = r->zone;
    a->sub_zone = r->sub_zone;
    a->meta = r->meta;
    a->nmeta = r->nmeta;
}

static void put(char **p, xds_str_t *dst, xds_str_t src)
{
    memcpy(*p, src.p, src.n);
    dst->p = *p;
    dst->n = src.n;
    *p += src.n;
}

xds_node_attrs_t *xds_attrs_dup(const xds_node_attrs_t *a)
{
    size_t bytes = a->id.n + a->cluster.n + a->region.n + a->zone.n + a->sub_zone.n;
    for (size_t i = 0; i < a->nmeta; i++)
        bytes += a->meta[i].key.n + a->meta[i].val.n;
    xds_node_attrs_t *d =
        xds_malloc(sizeof(*d) + a->nmeta * sizeof(xds_kv_t) + (bytes ? bytes : 1));
    xds_kv_t *meta = (xds_kv_t *)(d + 1);
    char *p = (char *)(meta + a->nmeta);
    put(&p, &d->id, a->id);
    put(&p, &d->cluster, a->cluster);
    put(&p, &d->region, a->region);
    put(&p, &d->zone, a->zone);
    put(&p, &d->sub_zone, a->sub_zone);
    for (size_t i = 0; i < a->nmeta; i++) {
        put(&p, &meta[i].key, a->meta[i].key);
        put(&p, &meta[i].val, a->meta[i].val);
    }
    d->meta = meta;
    d->nmeta = a->nmeta;
    return d;
}

static int str_eq(xds_str_t a, xds_str_t b)
{
    return a.n == b.n && (a.n == 0 || memcmp(a.p, b.p, a.n) == 0);
}

int xds_attrs_equal(const xds_node_attrs_t *a, const xds_node_attrs_t *b)
{
    if (!str_eq(a->id, b->id) || !str_eq(a->cluster, b->cluster) || !str_eq(a->region, b->region) ||
        !str_eq(a->zone, b->zone) || !str_eq(a->sub_zone, b->sub_zone) || a->nmeta != b->nmeta)
        return 0;
    for (size_t i = 0; i < a->nmeta; i++)
        if (!str_eq(a->meta[i].key, b->meta[i].key) || !str_eq(a->meta[i].val, b->meta[i].val))
            return 0;
    return 1;
}

const xds_str_t *xds_ctx_get(const xds_node_ctx_t *ctx, const char *key)
{
    if (ctx == NULL)
        return NULL;
    size_t lo = 0, hi = ctx->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(ctx->keys[mid], key);
        if (c == 0)
            return ctx->vals[mid].n ? &ctx->vals[mid] : NULL;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

/* ---- rules ---------------------------------------------------------------- */

static int good_pattern(const xj_t *v)
{
    return v->type == XJ_STRING && v->u.str.len > 0 && strlen(v->u.str.s) == v->u.str.len;
}

int xds_match_check(const xj_t *v, char *err, size_t errlen)
{
    char q[96];

    if (v->type != XJ_OBJECT) {
        snprintf(err, errlen, "match: expected an object of node attributes, got %s",
                 xj_type_name(v->type));
        return XDS_ERROR;
    }
    if (v->u.obj.n == 0) {
        snprintf(err, errlen,
                 "match: must name at least one node attribute (leave \"match\" out "
                 "to send the item to every proxy)");
        return XDS_ERROR;
    }
    for (size_t i = 0; i < v->u.obj.n; i++) {
        const xj_member_t *m = &v->u.obj.m[i];
        xj_quote(m->key, m->klen, q, sizeof(q));
        if (!xds_attr_name_valid(m->key, m->klen)) {
            snprintf(err, errlen,
                     "match: unknown node attribute %s (expected id, cluster, locality.region, "
                     "locality.zone, locality.sub_zone or metadata.<key>)",
                     q);
            return XDS_ERROR;
        }
        const xj_t *val = m->val;
        if (val->type == XJ_ARRAY) {
            if (val->u.arr.n == 0) {
                snprintf(err, errlen, "match.%s: an empty list matches no proxy", m->key);
                return XDS_ERROR;
            }
            for (size_t j = 0; j < val->u.arr.n; j++)
                if (!good_pattern(val->u.arr.v[j])) {
                    snprintf(err, errlen, "match.%s[%zu]: expected a non-empty string, got %s",
                             m->key, j, xj_type_name(val->u.arr.v[j]->type));
                    return XDS_ERROR;
                }
        } else if (!good_pattern(val)) {
            snprintf(err, errlen,
                     "match.%s: expected a non-empty string or an array of them, got %s", m->key,
                     val->type == XJ_STRING ? "an empty string" : xj_type_name(val->type));
            return XDS_ERROR;
        }
    }
    return XDS_OK;
}

xds_match_t *xds_match_compile(const xj_t *v)
{
    if (v == NULL || v->type != XJ_OBJECT) /* else checked when it was published */
        return NULL;
    xds_match_t *m = xds_calloc(1, sizeof(*m));
    m->n = v->u.obj.n;
    m->rule = xds_calloc(m->n, sizeof(xds_match_rule_t));
    for (size_t i = 0; i < m->n; i++) {
        const xj_member_t *mb = &v->u.obj.m[i];
        xds_match_rule_t *r = &m->rule[i];
        r->key = xds_strndup(mb->key, mb->klen);
        if (mb->val->type == XJ_ARRAY) {
            r->npat = mb->val->u.arr.n;
            r->pat = xds_calloc(r->npat, sizeof(char *));
            for (size_t j = 0; j < r->npat; j++)
                r->pat[j] = xds_strdup(mb->val->u.arr.v[j]->u.str.s);
        } else {
            r->npat = 1;
            r->pat = xds_calloc(1, sizeof(char *));
            r->pat[0] = xds_strdup(mb->val->u.str.s);
        }
    }
    return m;
}

void xds_match_free(xds_match_t *m)
{
    if (m == NULL)
        return;
    for (size_t i = 0; i < m->n; i++) {
        for (size_t j = 0; j < m->rule[i].npat; j++)
            free(m->rule[i].pat[j]);
        free(m->rule[i].pat);
        free(m->rule[i].key);
    }
    free(m->rule);
    free(m);
}

int xds_pattern_match(const char *p, const char *s, size_t n)
{
    if (strpbrk(p, "*?[") == NULL)
        return strlen(p) == n && memcmp(p, s, n) == 0;
    if (memchr(s, '\0', n) != NULL)
        return 0; /* fnmatch cannot see past a NUL */
    char buf[256], *z = n < sizeof(buf) ? buf : xds_malloc(n + 1);
    memcpy(z, s, n);
    z[n] = '\0';
    int ok = fnmatch(p, z, 0) == 0;
    if (z != buf)
        free(z);
    return ok;
}

int xds_match_eval(const xds_match_t *m, const xds_node_ctx_t *ctx)
{
    if (m == NULL)
        return 1;
    for (size_t i = 0; i < m->n; i++) {
        const xds_match_rule_t *r = &m->rule[i];
        const xds_str_t *v = xds_ctx_get(ctx, r->key);
        int ok = 0;
        for (size_t j = 0; v && j < r->npat && !ok; j++)
            ok = xds_pattern_match(r->pat[j], v->p, v->n);
        if (!ok)
            return 0;
    }
    return 1;
}
