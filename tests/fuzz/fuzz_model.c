/*
 * fuzz_model.c -- libFuzzer target for the model path every source's data
 * takes: the JSON parser (core/json.c xj_parse), the document check done at
 * publish time (core/model.c xds_model_check_document), the aggregator that
 * merges the sources' documents (xds_model_build), every generator
 * (modules/gen_*.c through core/genout.c xds_generate) and the snapshot
 * that serializes and hashes the result (core/snapshot.c).
 *
 * Input: one or two model documents separated by FUZZ_SEP, published as
 * sources "a" and "b" in that order (so merging, clashes and "defined
 * twice" across sources are reached).  Besides "no crash", the target
 * checks what these functions promise: a refusal always has a reason; what
 * xj_serialize writes parses again to the same bytes (and xj_clone's copy
 * serializes identically); a strict check never accepts what the lenient
 * one refuses; a failed build always says why; every resource of a snapshot
 * is found again by name.
 *
 * The build goes the daemon's way (core/build.c xds_build_resources, then
 * core/group.c), so a model with "match" rules gets node groups: a few
 * proxies (clusters "edge-1", "internal", none; zones "a", "b"; metadata
 * team) are served from their groups, whose views must be sorted, hold
 * only resources whose wildcard body parses, and carry the version of
 * their content.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "build.h"
#include "cycle.h"
#include "fuzz.h"
#include "genout.h"
#include "group.h"
#include "json.h"
#include "host.h"
#include "model.h"
#include "snapshot.h"

#define MODEL_MAX_DEPTH 64 /* what core/source.c allows a published document */

static void fail(const char *what, const char *detail)
{
    fprintf(stderr, "fuzz_model: %s%s%s\n", what, detail ? ": " : "", detail ? detail : "");
    abort();
}

/* Serialize v, parse that back, serialize again: the bytes must agree. */
static void check_roundtrip(const xj_t *v)
{
    char err[XDS_ERRLEN];
    xds_buf_t a = {0}, b = {0}, c = {0};

    xj_serialize(v, &a);
    xj_t *back = xj_parse(a.data, a.len, MODEL_MAX_DEPTH + 1, err, sizeof(err));
    if (back == NULL)
        fail("xj_serialize wrote what xj_parse refuses", err);
    xj_serialize(back, &b);
    if (a.len != b.len || memcmp(a.data, b.data, a.len) != 0)
        fail("serialize(parse(serialize(x))) != serialize(x)", NULL);
    xj_t *copy = xj_clone(v);
    xj_serialize(copy, &c);
    if (a.len != c.len || memcmp(a.data, c.data, a.len) != 0)
        fail("serialize(clone(x)) != serialize(x)", NULL);
    xj_free(copy);
    xj_free(back);
    xds_buf_free(&a);
    xds_buf_free(&b);
    xds_buf_free(&c);
}

/* The wildcard body of view v (as server.c writes it) must parse, hold
 * v->n resources, and v's version must be that of its content. */
static void check_view(const xds_view_t *v)
{
    char err[XDS_ERRLEN], version[XDS_VERSION_LEN + 1];
    xds_buf_t b = {0};
    for (size_t i = 1; i < v->n; i++) {
        const xds_sres_t *x = v->res[i - 1], *y = v->res[i];
        size_t m = x->name_len < y->name_len ? x->name_len : y->name_len;
        int c = memcmp(x->name, y->name, m);
        if (c > 0 || (c == 0 && x->name_len >= y->name_len))
            fail("a view's resources are not sorted and unique", y->name);
    }
    xds_view_body(v, &b);
    xj_t *body = xj_parse(b.data, b.len, 256, err, sizeof(err));
    if (body == NULL)
        fail("a group's DiscoveryResponse body does not parse", err);
    const xj_t *res = xj_get(body, "resources");
    if (res == NULL || res->type != XJ_ARRAY || res->u.arr.n != v->n)
        fail("a group's body does not hold its view's resources", v->type->path);
    xds_view_subset_version(v, NULL, v->n, version);
    if (strcmp(version, v->version) != 0)
        fail("a view's version is not the hash of its content", v->type->path);
    xj_free(body);
    xds_buf_free(&b);
}

static void check_groups(xds_snapshot_t *snap)
{
    static const struct {
        const char *cluster, *zone, *team;
    } nodes[] = {
        {"edge-1", "a", "payments"}, {"internal", "b", ""}, {"", "", ""}, {"edge-1", "b", ""}};
    for (size_t k = 0; k < xds_nelems(nodes); k++) {
        xds_kv_t meta = {{"team", 4}, {nodes[k].team, strlen(nodes[k].team)}};
        xds_node_attrs_t a = {{"n", 1},
                              {nodes[k].cluster, strlen(nodes[k].cluster)},
                              {"", 0},
                              {nodes[k].zone, strlen(nodes[k].zone)},
                              {"", 0},
                              &meta,
                              nodes[k].team[0] ? 1 : 0};
        const xds_group_t *g = xds_snapshot_group(snap, &a);
        if (g != xds_snapshot_group(snap, &a))
            fail("the same node got another group", g->label);
        if (g->error)
            continue; /* e.g. a raw route naming a cluster the group lacks */
        for (size_t t = 0; t < XDS_TYPE_COUNT; t++)
            check_view(g->views[t]);
    }
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_log_init();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const names[2] = {"a", "b"};
    const uint8_t *p = data, *part;
    xj_t *docs[2] = {NULL, NULL};
    size_t len, n = 0;
    char err[XDS_ERRLEN];

    if (size > 256 * 1024)
        return 0;
    while (n < 2 && fuzz_next_part(&p, data + size, &part, &len)) {
        err[0] = '\0';
        xj_t *doc = xj_parse((const char *)part, len, MODEL_MAX_DEPTH, err, sizeof(err));
        if (doc == NULL) {
            if (err[0] == '\0')
                fail("xj_parse refused without a reason", NULL);
            n++;
            continue;
        }
        check_roundtrip(doc);
        err[0] = '\0';
        int lenient = xds_model_check_document(doc, 0, err, sizeof(err));
        if (lenient != XDS_OK && err[0] == '\0')
            fail("xds_model_check_document refused without a reason", NULL);
        int strict = xds_model_check_document(doc, 1, err, sizeof(err));
        if (strict == XDS_OK && lenient != XDS_OK)
            fail("strict check accepted what the lenient one refused", NULL);
        if (lenient == XDS_OK)
            docs[n] = doc;
        else
            xj_free(doc);
        n++;
    }

    /* A cycle as the daemon's, with the documents as two sources' data. */
    static char *node_group[] = {"cluster"};
    xds_source_t src[2], *srcs[2] = {&src[0], &src[1]};
    xds_cycle_t c;
    memset(&c, 0, sizeof(c));
    memset(src, 0, sizeof(src));
    c.sources = srcs;
    c.nsources = n;
    c.xds_cluster = "xds_cluster";
    c.refresh_delay_ms = 1000;
    c.node_group = node_group;
    c.nnode_group = 1;
    c.locality_priority = (int)(size & 1);
    for (size_t i = 0; i < n; i++) {
        src[i].name = (char *)names[i];
        src[i].doc = docs[i];
        src[i].docref = docs[i] ? xds_doc_new(docs[i]) : NULL;
    }

    xds_gen_out_t *out = xds_gen_out_new();
    xds_world_t *world = NULL;
    if (xds_build_resources(&c, out, &world) != XDS_OK) {
        if (out->error == NULL || out->errors.len == 0)
            fail("xds_generate failed without an error", NULL);
    } else {
        xds_snapshot_t *snap = xds_snapshot_build(out, 1);
        xds_world_attach(world, snap, out);
        check_groups(snap);
        for (size_t t = 0; t < XDS_TYPE_COUNT; t++) {
            const xds_stype_t *st = &snap->types[t];
            for (size_t i = 0; i < st->n; i++)
                if (xds_view_find(&snap->all_views[t], st->res[i].name, st->res[i].name_len) !=
                    (long)i)
                    fail("a snapshot resource is not found by its name", st->res[i].name);
            if (st->n) {
                xj_t *body = xj_parse(st->body, st->body_len, 256, err, sizeof(err));
                if (body == NULL)
                    fail("a snapshot's DiscoveryResponse body does not parse", err);
                xj_free(body);
            }
        }
        xds_snapshot_unref(snap);
    }
    xds_gen_out_free(out);
    for (size_t i = 0; i < n; i++)
        xds_doc_unref(src[i].docref); /* frees docs[i] */
    return 0;
}
