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
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "genout.h"
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

    xds_model_t m;
    memset(&m, 0, sizeof(m));
    m.opts.xds_cluster = "xds_cluster";
    m.opts.refresh_delay_ms = 1000;
    xds_model_build(&m, (const xj_t *const *)docs, names, n);

    xds_gen_out_t *out = xds_gen_out_new();
    if (xds_generate(&m, out) != XDS_OK) {
        if (out->error == NULL || out->errors.len == 0)
            fail("xds_generate failed without an error", NULL);
    } else {
        xds_snapshot_t *snap = xds_snapshot_build(out, 1);
        for (size_t t = 0; t < XDS_TYPE_COUNT; t++) {
            const xds_stype_t *st = &snap->types[t];
            for (size_t i = 0; i < st->n; i++)
                if (xds_stype_find(st, st->res[i].name, st->res[i].name_len) != (long)i)
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
    xds_model_free(&m);
    xj_free(docs[0]);
    xj_free(docs[1]);
    return 0;
}
