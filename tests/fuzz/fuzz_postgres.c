/*
 * fuzz_postgres.c -- libFuzzer target for the postgres source plugin's
 * data decoding: how a query result becomes a model document
 * (plugins/postgres/postgres.c handle_query_result: the one-column
 * document shape, and the `collection` shape with build_collection,
 * put_array for PostgreSQL array literals, put_scalar, buf_json_string,
 * is_json_number) and its hand-over to the host (deliver, with the
 * unchanged/refused memory), through the daemon's real publish().
 *
 * The plugin's decoders are static, so the plugin source is compiled into
 * this file.  Results are made without a server, with libpq's own
 * PQmakeEmptyPGresult / PQsetResultAttrs / PQsetvalue: exactly the
 * PGresult a text-format query returns.  Not reached: the connection, LISTEN
 * and the query life cycle (they need a server; tests/integration covers
 * them against a real PostgreSQL).
 *
 * Input (text, like COPY's): the first line is the plugin conf, "document"
 * or "collection NAME"; then one or more results separated by FUZZ_SEP.
 * A result is a header line of tab-separated columns "name:type" (type: a
 * name such as int4, jsonb, _text, or a numeric OID), then one line per
 * row of tab-separated values; \N is NULL, \\ \t \n \r escape.  A header
 * line "!empty", "!command" or "!error" makes a result of that status.
 * A value or name holding a NUL byte makes the input invalid (a text-format
 * result cannot hold one).
 *
 * Checked beyond "no crash": in the collection shape, a result without
 * json/jsonb columns, with distinct column names and ASCII data always
 * gives a document that parses as JSON.
 */
#include "../../plugins/postgres/postgres.c"

#include "fuzz.h"
#include "host.h"
#include "json.h"

#define MAX_COLS 32
#define MAX_ROWS 256

static const struct {
    const char *name;
    Oid oid;
} type_names[] = {
    {"bool", OID_BOOL},
    {"int2", OID_INT2},
    {"int4", OID_INT4},
    {"int8", OID_INT8},
    {"oid", OID_OID},
    {"float4", OID_FLOAT4},
    {"float8", OID_FLOAT8},
    {"numeric", OID_NUMERIC},
    {"json", OID_JSON},
    {"jsonb", OID_JSONB},
    {"text", 25},
    {"varchar", 1043},
    {"_bool", OID_A_BOOL},
    {"_int2", OID_A_INT2},
    {"_int4", OID_A_INT4},
    {"_int8", OID_A_INT8},
    {"_oid", OID_A_OID},
    {"_float4", OID_A_FLOAT4},
    {"_float8", OID_A_FLOAT8},
    {"_numeric", OID_A_NUMER},
    {"_json", OID_A_JSON},
    {"_jsonb", OID_A_JSONB},
    {"_text", OID_A_TEXT},
    {"_varchar", OID_A_VCHAR},
    {"_bpchar", OID_A_BPCHAR},
    {"_name", OID_A_NAME},
    {"_inet", OID_A_INET},
    {"_cidr", OID_A_CIDR},
    {"_uuid", OID_A_UUID},
};

/* Unescape the field [p, end) into out (NUL-terminated).  Returns its
 * length, -1 for \N (NULL), -2 when the field holds a NUL byte. */
static long unescape(const char *p, const char *end, char *out)
{
    size_t n = 0;
    if (end - p == 2 && p[0] == '\\' && p[1] == 'N')
        return -1;
    for (; p < end; p++) {
        char c = *p;
        if (c == '\0')
            return -2;
        if (c == '\\' && p + 1 < end) {
            p++;
            c = *p == 't' ? '\t' : *p == 'n' ? '\n' : *p == 'r' ? '\r' : *p;
            if (c == '\0')
                return -2;
        }
        out[n++] = c;
    }
    out[n] = '\0';
    return (long)n;
}

static Oid type_oid(const char *s)
{
    for (size_t i = 0; i < sizeof(type_names) / sizeof(type_names[0]); i++)
        if (strcmp(type_names[i].name, s) == 0)
            return type_names[i].oid;
    return (Oid)strtoul(s, NULL, 10);
}

/* Build the PGresult described by [p, end).  *plain is set when the
 * result qualifies for the "must parse" check.  NULL: invalid input. */
static PGresult *make_result(const char *p, const char *end, int *plain)
{
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    const char *hend = nl ? nl : end;
    char *buf = malloc((size_t)(end - p) + 1);
    PGresAttDesc cols[MAX_COLS];
    char *names[MAX_COLS];
    int ncols = 0;
    PGresult *res = NULL;

    *plain = 1;
    if (buf == NULL)
        return NULL;
    if (hend - p >= 1 && p[0] == '!') {
        ExecStatusType st = PGRES_TUPLES_OK;
        if (hend - p == 6 && memcmp(p, "!empty", 6) == 0)
            st = PGRES_EMPTY_QUERY;
        else if (hend - p == 8 && memcmp(p, "!command", 8) == 0)
            st = PGRES_COMMAND_OK;
        else
            st = PGRES_FATAL_ERROR;
        free(buf);
        return PQmakeEmptyPGresult(NULL, st);
    }
    /* Header: name:type, tab-separated. */
    for (const char *f = p; ncols < MAX_COLS;) {
        const char *tab = memchr(f, '\t', (size_t)(hend - f));
        const char *fend = tab ? tab : hend;
        const char *colon = NULL;
        for (const char *q = fend; q > f; q--)
            if (q[-1] == ':') {
                colon = q - 1;
                break;
            }
        long n = unescape(f, colon ? colon : fend, buf);
        if (n < 0)
            goto invalid;
        char type[16] = "text";
        if (colon != NULL) {
            size_t tl = (size_t)(fend - colon - 1);
            if (tl >= sizeof(type))
                tl = sizeof(type) - 1;
            memcpy(type, colon + 1, tl);
            type[tl] = '\0';
        }
        for (long k = 0; k < n; k++)
            if ((unsigned char)buf[k] >= 0x80)
                *plain = 0;
        names[ncols] = strdup(buf);
        if (names[ncols] == NULL)
            goto invalid;
        memset(&cols[ncols], 0, sizeof(cols[ncols]));
        cols[ncols].name = names[ncols];
        cols[ncols].typid = type_oid(type);
        cols[ncols].typlen = -1;
        cols[ncols].atttypmod = -1;
        int is_array;
        if (kind_of(cols[ncols].typid, &is_array) == KIND_JSON)
            *plain = 0;
        for (int k = 0; k < ncols; k++)
            if (strcmp(names[k], names[ncols]) == 0)
                *plain = 0;
        ncols++;
        if (tab == NULL)
            break;
        f = tab + 1;
    }
    res = PQmakeEmptyPGresult(NULL, PGRES_TUPLES_OK);
    if (res == NULL || PQsetResultAttrs(res, ncols, cols) == 0)
        goto invalid;
    /* Rows. */
    int row = 0;
    for (const char *r = nl ? nl + 1 : end; r < end && row < MAX_ROWS; row++) {
        const char *rnl = memchr(r, '\n', (size_t)(end - r));
        const char *rend = rnl ? rnl : end;
        const char *f = r; /* NULL once the row has no more fields: NULL values */
        for (int c = 0; c < ncols; c++) {
            const char *tab = f ? memchr(f, '\t', (size_t)(rend - f)) : NULL;
            long n = f ? unescape(f, tab ? tab : rend, buf) : -1;
            if (n == -2)
                goto invalid;
            for (long k = 0; k < n; k++)
                if ((unsigned char)buf[k] >= 0x80)
                    *plain = 0;
            if (PQsetvalue(res, row, c, n >= 0 ? buf : NULL, n >= 0 ? (int)n : -1) == 0)
                goto invalid;
            f = tab ? tab + 1 : NULL;
        }
        r = rnl ? rnl + 1 : end;
    }
    for (int c = 0; c < ncols; c++)
        free(names[c]);
    free(buf);
    return res;

invalid:
    for (int c = 0; c < ncols; c++)
        free(names[c]);
    free(buf);
    PQclear(res);
    return NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data, *end = text + size;
    const xdsd_host_api_t *api;
    char err[XDS_ERRLEN];
    pg_conf_t conf;
    void *state = NULL;

    if (size > 128 * 1024)
        return 0;
    const char *nl = memchr(text, '\n', size);
    if (nl == NULL)
        return 0;
    memset(&conf, 0, sizeof(conf));
    conf.dsn = "host=/nonexistent dbname=inventory";
    conf.query = "SELECT doc FROM xds_model";
    if ((size_t)(nl - text) > 11 && memcmp(text, "collection ", 11) == 0)
        conf.collection = strndup(text + 11, (size_t)(nl - text) - 11);
    xds_source_t *s =
        fuzz_source_new("source inventory { plugin fuzz; }", 0, &api, err, sizeof(err));
    if (s == NULL)
        abort();
    if (pg_create(api, (xdsd_source_t *)s, &conf, &state, err, sizeof(err)) != XDSD_OK) {
        fuzz_source_free(s);
        free(conf.collection);
        return 0;
    }
    pg_state_t *st = state;
    int ascii_collection = 1;
    for (const char *c = conf.collection; c != NULL && *c; c++)
        if ((unsigned char)*c >= 0x80)
            ascii_collection = 0;

    const uint8_t *p = (const uint8_t *)nl + 1, *part;
    size_t len;
    for (int i = 0; i < 4 && fuzz_next_part(&p, (const uint8_t *)end, &part, &len); i++) {
        int plain;
        PGresult *res = make_result((const char *)part, (const char *)part + len, &plain);
        if (res == NULL)
            break;
        if (handle_query_result(st, res) == XDSD_OK && st->coll_outer != NULL && plain &&
            ascii_collection && st->doc.data != NULL) {
            xj_t *doc = xj_parse(st->doc.data, st->doc.len, 64, err, sizeof(err));
            if (doc == NULL) {
                fprintf(stderr, "fuzz_postgres: the plugin built malformed JSON: %s\n%.*s\n", err,
                        (int)st->doc.len, st->doc.data);
                abort();
            }
            xj_free(doc);
        }
        PQclear(res);
    }
    pg_destroy(st);
    fuzz_source_free(s);
    free(conf.collection);
    return 0;
}
