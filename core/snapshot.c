/*
 * snapshot.c -- turn a build's generated resources into an immutable
 * snapshot: every resource serialized once (as a protobuf Any with its
 * "@type"), hashed once, and the full response body of each type written
 * once.  Requests then only copy pointers into it.
 *
 * Versions are content hashes, so two xdsd processes on the same data, or a
 * restart, give the same version, and a subset that did not change keeps its
 * version when other resources of the type change.  The hash of a subset is
 * XXH3-128 over the type URL followed by the 16-byte hashes of its resources
 * in name order: cheap enough to compute per request for EDS/RDS subsets.
 */
#include <stdlib.h>
#include <string.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

#include "group.h"
#include "json.h"
#include "snapshot.h"

static void hash_hex(XXH128_hash_t h, char out[XDS_VERSION_LEN + 1])
{
    static const char hex[] = "0123456789abcdef";
    XXH128_canonical_t c;
    XXH128_canonicalFromHash(&c, h);
    for (size_t i = 0; i < 16; i++) {
        out[2 * i] = hex[c.digest[i] >> 4];
        out[2 * i + 1] = hex[c.digest[i] & 0xf];
    }
    out[XDS_VERSION_LEN] = '\0';
}

static int name_cmp(const char *a, size_t an, const char *b, size_t bn)
{
    size_t m = an < bn ? an : bn;
    int c = memcmp(a, b, m);
    return c ? c : (an > bn) - (an < bn);
}

/* The wildcard response of v, as server.c writes it (see snapshot.h). */
void xds_view_body(const xds_view_t *v, xds_buf_t *b)
{
    if (v->body) {
        xds_buf_append(b, v->body, v->body_len);
        return;
    }
    xds_buf_printf(b, "{\"version_info\":\"%s\",\"resources\":[", v->version);
    for (size_t i = 0; i < v->nsegs; i++) {
        if (i)
            xds_buf_append(b, ",", 1);
        xds_buf_append(b, v->segs[i].p, v->segs[i].n);
    }
    xds_buf_printf(b, "],\"type_url\":\"%s\"}", v->type->type_url);
}

long xds_view_find(const xds_view_t *v, const char *name, size_t len)
{
    size_t lo = 0, hi = v->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = name_cmp(v->res[mid]->name, v->res[mid]->name_len, name, len);
        if (c == 0)
            return (long)mid;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -1;
}

void xds_view_subset_version(const xds_view_t *v, const size_t *idx, size_t n,
                             char out[XDS_VERSION_LEN + 1])
{
    XXH3_state_t st;
    XXH3_128bits_reset(&st);
    XXH3_128bits_update(&st, v->type->type_url, strlen(v->type->type_url) + 1);
    for (size_t i = 0; i < n; i++)
        XXH3_128bits_update(&st, v->res[idx ? idx[i] : i]->hash, 16);
    hash_hex(XXH3_128bits_digest(&st), out);
}

/* Serialize the resources straight into the type's full response body,
 * whose version (a hash of the resources) is filled in afterwards: its
 * place in the prefix has a fixed width.  Each resource's JSON is a slice
 * of that body, so a snapshot holds every resource once. */
static size_t build_type(xds_stype_t *t, const xds_type_t *type, const xds_gen_res_t *in, size_t n)
{
    static const char head[] = "{\"version_info\":\"";
    xds_buf_t names = {0}, body = {0};
    size_t *name_off = xds_malloc(sizeof(size_t) * (n ? n : 1));
    size_t *json_off = xds_malloc(sizeof(size_t) * (n ? n : 1));

    t->type = type;
    t->n = n;
    t->res = xds_calloc(n ? n : 1, sizeof(xds_sres_t));

    xds_buf_appends(&body, head);
    size_t version_at = body.len;
    xds_buf_printf(&body, "%*s\",\"resources\":[", XDS_VERSION_LEN, "");
    for (size_t i = 0; i < n; i++) {
        name_off[i] = names.len;
        t->res[i].name_len = strlen(in[i].name);
        xds_buf_append(&names, in[i].name, t->res[i].name_len + 1);
        if (i)
            xds_buf_append(&body, ",", 1);
        json_off[i] = body.len;
        xj_serialize_any(in[i].resource, type->type_url, &body);
        t->res[i].json_len = body.len - json_off[i];
    }
    xds_buf_appends(&body, "],\"type_url\":\"");
    xds_buf_appends(&body, type->type_url);
    xds_buf_appends(&body, "\"}");
    t->arena = xds_buf_detach(&names, NULL);
    t->body = xds_buf_detach(&body, &t->body_len);

    /* Pointers only once the buffers stopped moving. */
    for (size_t i = 0; i < n; i++) {
        xds_sres_t *r = &t->res[i];
        r->name = t->arena + name_off[i];
        r->json = t->body + json_off[i];
        XXH128_canonical_t c;
        XXH128_canonicalFromHash(&c, XXH3_128bits(r->json, r->json_len));
        memcpy(r->hash, c.digest, 16);
        r->coll = in[i].coll;
        r->item = in[i].item;
        r->gen = in[i].gen;
    }
    free(name_off);
    free(json_off);
    return version_at; /* the caller writes the version there */
}

xds_snapshot_t *xds_snapshot_build(const xds_gen_out_t *out, uint64_t generation)
{
    xds_snapshot_t *s = xds_calloc(1, sizeof(*s));
    atomic_init(&s->refs, 1);
    s->generation = generation;
    for (size_t t = 0; t < XDS_TYPE_COUNT; t++) {
        xds_stype_t *st = &s->types[t];
        xds_view_t *v = &s->all_views[t];
        size_t version_at = build_type(st, &xds_types[t], out->res[t], out->n[t]);
        v->type = st->type;
        v->n = st->n;
        v->res = xds_malloc((st->n ? st->n : 1) * sizeof(xds_sres_t *));
        for (size_t i = 0; i < st->n; i++)
            v->res[i] = &st->res[i];
        xds_view_subset_version(v, NULL, v->n, v->version);
        memcpy(st->body + version_at, v->version, XDS_VERSION_LEN);
        v->body = st->body;
        v->body_len = st->body_len;
        s->all.views[t] = v;
    }
    s->all.label = xds_strdup("{}");
    return s;
}

xds_snapshot_t *xds_snapshot_ref(xds_snapshot_t *s)
{
    atomic_fetch_add_explicit(&s->refs, 1, memory_order_relaxed);
    return s;
}

void xds_snapshot_unref(xds_snapshot_t *s)
{
    if (s == NULL)
        return;
    if (atomic_fetch_sub_explicit(&s->refs, 1, memory_order_acq_rel) != 1)
        return;
    xds_world_free(s->world);
    free(s->all.label);
    for (size_t t = 0; t < XDS_TYPE_COUNT; t++) {
        free(s->all_views[t].res);
        free(s->types[t].res);
        free(s->types[t].arena);
        free(s->types[t].body);
    }
    free(s);
}
