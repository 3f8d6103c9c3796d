/*
 * fuzz_request.c -- libFuzzer target for the DiscoveryRequest parser
 * (core/request.c, xds_request_parse), the first thing that touches every
 * byte a proxy -- or anyone who can reach the discovery port -- sends.
 *
 * The input is up to four request bodies separated by FUZZ_SEP.  For each
 * one that parses, the target does what the discovery handler does with it
 * (core/server.c): look the requested names up in a snapshot built once
 * from a small model, compute the subset's version, record the poll in the
 * proxy registry (core/nodes.c) twice -- once as a 200, once as the
 * follow-up poll holding what it was sent.  Then it renders the registry
 * as the admin API's /nodes JSON, which must parse again.  It also checks
 * what the parser promises: resource_names sorted and unique, an error
 * message on every failure.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "host.h"
#include "json.h"
#include "nodes.h"
#include "request.h"
#include "snapshot.h"

static xds_snapshot_t *snapshot;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_log_init();
    snapshot = fuzz_snapshot_new();
    return 0;
}

static int str_cmp(const xds_str_t *a, const xds_str_t *b)
{
    size_t m = a->n < b->n ? a->n : b->n;
    int c = m ? memcmp(a->p, b->p, m) : 0;
    return c ? c : (a->n > b->n) - (a->n < b->n);
}

/* The type the request names, else clusters (the server takes it from the
 * URL and refuses a type_url that disagrees; both paths are covered). */
static const xds_type_t *request_type(const xds_request_t *r)
{
    for (size_t t = 0; r->has_type_url && t < XDS_TYPE_COUNT; t++)
        if (strlen(xds_types[t].type_url) == r->type_url.n &&
            memcmp(xds_types[t].type_url, r->type_url.p, r->type_url.n) == 0)
            return &xds_types[t];
    return &xds_types[XDS_TYPE_CLUSTERS];
}

/* The request scanner (core/request.c, hand-written) must agree with the
 * model's JSON parser (core/json.c, yajl plus UTF-8 and duplicate-key
 * checks) on what is JSON: whatever xj_parse accepts must not be refused as
 * malformed, and what the scanner accepts must parse, unless xj_parse
 * refused it for a duplicate key (allowed in requests). */
static void check_agrees_with_xj(const char *body, size_t len, int ok, const char *err)
{
    char xerr[XDS_ERRLEN];
    xj_t *v = xj_parse(body, len, 500, xerr, sizeof(xerr));
    int malformed = !ok && strncmp(err, "malformed JSON", 14) == 0;
    /* yajl also takes \v and \f for whitespace (RFC 8259, and the scanner,
     * do not) and turns a lone surrogate escape into '?' (the scanner
     * refuses it, as Envoy's own JSON parser does) */
    int yajl_lax = memchr(body, '\v', len) != NULL || memchr(body, '\f', len) != NULL ||
                   strstr(err, "unpaired surrogate") != NULL;
    if (v != NULL && malformed && !yajl_lax) {
        fprintf(stderr, "fuzz_request: xj_parse accepts what the scanner calls %s\n", err);
        abort();
    }
    if (v == NULL && !malformed && (ok || strstr(err, "must be") == NULL) &&
        strstr(xerr, "duplicate key") == NULL && strstr(xerr, "nesting deeper") == NULL) {
        fprintf(stderr, "fuzz_request: the scanner accepts what xj_parse refuses: %s\n", xerr);
        abort();
    }
    xj_free(v);
}

/* Parse one body and, when it parses, serve and record it like the
 * discovery handler. */
static void one_request(const char *body, size_t len)
{
    xds_request_t r;
    char err[XDS_ERRLEN];

    memset(&r, 0, sizeof(r));
    err[0] = '\0';
    int ok = xds_request_parse(&r, body, len, err, sizeof(err)) == XDS_OK;
    if (len > 0)
        check_agrees_with_xj(body, len, ok, err);
    if (!ok) {
        if (err[0] == '\0') {
            fprintf(stderr, "fuzz_request: refused without a reason\n");
            abort();
        }
        xds_request_free(&r);
        return;
    }
    for (size_t i = 1; i < r.nnames; i++) {
        if (str_cmp(&r.names[i - 1], &r.names[i]) >= 0) {
            fprintf(stderr, "fuzz_request: resource_names not sorted and unique at %zu\n", i);
            abort();
        }
    }

    /* What core/server.c does with a parsed request. */
    const xds_type_t *type = request_type(&r);
    const xds_view_t *t = &snapshot->all_views[type->id];
    size_t *idx = malloc((r.nnames ? r.nnames : 1) * sizeof(size_t)), n = 0;
    if (idx == NULL)
        abort();
    for (size_t i = 0; i < r.nnames; i++) {
        long k = xds_view_find(t, r.names[i].p, r.names[i].n);
        if (k >= 0)
            idx[n++] = (size_t)k;
    }
    char version[XDS_VERSION_LEN + 1];
    if (r.nnames)
        xds_view_subset_version(t, idx, n, version);
    else
        memcpy(version, t->version, sizeof(version));
    free(idx);
    xds_nodes_record(&r, type, 200, version, "192.0.2.1:40000");
    xds_nodes_record(&r, type, 304, version, "192.0.2.1:40000");
    xds_request_free(&r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *p = data, *part;
    size_t len;
    char err[XDS_ERRLEN];

    for (int i = 0; i < 4 && fuzz_next_part(&p, data + size, &part, &len); i++) {
        /* An exact-size copy, so that a read past the body is caught. */
        char *body = malloc(len ? len : 1);
        if (body == NULL)
            abort();
        memcpy(body, part, len);
        one_request(body, len);
        free(body);
    }

    /* The admin API's /nodes over every proxy recorded. */
    size_t counts[XDS_NODE_STATE_COUNT];
    xj_t *nodes = xds_nodes_json(snapshot, NULL, NULL, counts);
    xds_buf_t body = {0};
    xj_serialize(nodes, &body);
    xj_free(nodes);
    /* The /nodes body must be JSON xdsd itself can read back (unless told
     * to look away: XDSD_FUZZ_LAX keeps fuzzing past a reported problem). */
    xj_t *back = xj_parse(body.data, body.len, 64, err, sizeof(err));
    if (back == NULL && getenv("XDSD_FUZZ_LAX") == NULL) {
        fprintf(stderr, "fuzz_request: /nodes output does not parse: %s\n", err);
        abort();
    }
    xj_free(back);
    xds_buf_free(&body);
    xds_nodes_free();
    return 0;
}
