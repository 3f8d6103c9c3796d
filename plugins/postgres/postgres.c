/*
 * postgres.c -- the `postgres` source plugin: run a configured query against
 * PostgreSQL and publish its result as the source's model document; re-run
 * it when the database says something changed (LISTEN/NOTIFY) and on an
 * interval as a safety net.
 *
 *     source inventory {
 *         plugin          postgres;
 *         dsn             "host=/run/postgresql dbname=inventory";  # required
 *         query           "SELECT doc FROM xds_model";               # required
 *         notify          xds_changed;      # LISTEN channel (optional)
 *         collection      services;         # rows -> items (optional)
 *         interval        30s;              # safety-net re-query
 *         max_backoff     30s;              # reconnect / retry backoff cap
 *         connect_timeout 5s;
 *         query_timeout   30s;
 *     }
 *
 * Two shapes of result.  Without `collection` the query must return exactly
 * one row with one column holding the whole JSON document (a json/jsonb or
 * text column; conf/examples/postgres-schema.sql builds one with
 * jsonb_build_object/jsonb_agg).  With `collection NAME` every row becomes
 * one item of that collection ({"NAME": [row, row, ...]}; a dotted name such
 * as resources.clusters nests), each column a field named after the column:
 * NULL leaves the field out, bool becomes true/false, integer and numeric
 * types become numbers, json/jsonb is inlined as it is, one-dimensional
 * arrays of those types become JSON arrays, and everything else a string.
 *
 * Everything runs on the host's event loop with libpq's asynchronous API:
 * PQconnectStartParams + PQconnectPoll driven by read/write readiness of
 * PQsocket (the socket can change while libpq tries several addresses, so
 * each wait is a fresh one-shot event), then PQsetnonblocking, PQsendQuery +
 * PQflush, and PQconsumeInput / PQisBusy / PQgetResult / PQnotifies when the
 * socket is readable.  libpq's own connect_timeout only works for blocking
 * connects, so connect_timeout is our timer; query_timeout likewise bounds
 * a command in flight, which is also what notices a silently dead peer.
 * Limitation: libpq resolves a host NAME with a blocking getaddrinfo() inside
 * PQconnectPoll; Unix socket paths, IP addresses and hostaddr= do not block
 * (start() logs a notice when the dsn names a host by name).
 *
 * Ordering is what makes NOTIFY reliable: after (re)connecting the plugin
 * first runs LISTEN and only then the query, so any commit after the query's
 * snapshot is announced to us, and changes made while we were disconnected
 * are picked up by that first query.  A NOTIFY (or a burst of them) while no
 * query is running starts one at once; one that arrives while a query is in
 * flight sets `requery`, so exactly one more query follows it.  The interval
 * timer is re-armed after every query.
 *
 * Failures: a failed connect, a lost connection or a timeout calls
 * api->failed() with a one-line reason that names the server by host, port,
 * dbname and user only (never the password), tears the connection down and
 * reconnects after an exponential backoff with full jitter (100 ms doubling
 * up to max_backoff); a query error ("postgres query: ERROR: ...") or a
 * result of the wrong shape is reported the same way and retried on the
 * same connection after the backoff (at most interval).  The backoff resets
 * after a successful query.  The host keeps the last good document through
 * all of it.
 *
 * A result is published only when it differs from what the core holds (a
 * 64-bit hash plus the length are kept, not the bytes); an identical result
 * is reported with api->unchanged() (ABI 1.1).  After any failure the next
 * good result is published even when it equals the last accepted one, so
 * the core learns that the source recovered.  A refused document is
 * remembered by hash so the same bytes are not offered again on every tick.
 *
 * All state lives in the per-instance struct: several `source` blocks can use
 * this plugin at the same time.
 */
#include <arpa/inet.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <libpq-fe.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

#include "xdsd_plugin.h"

#define PG_PLUGIN_VERSION "1.0.0"

#define DEFAULT_INTERVAL_MS        30000
#define DEFAULT_MAX_BACKOFF_MS     30000
#define DEFAULT_CONNECT_TIMEOUT_MS 5000
#define DEFAULT_QUERY_TIMEOUT_MS   30000
#define BACKOFF_BASE_MS            100
#define REASON_LEN                 1024
#define MAX_ARRAY_DEPTH            6

/* Type OIDs from PostgreSQL's catalog (pg_type.dat); stable across versions. */
#define OID_BOOL     16
#define OID_INT8     20
#define OID_INT2     21
#define OID_INT4     23
#define OID_OID      26
#define OID_JSON     114
#define OID_FLOAT4   700
#define OID_FLOAT8   701
#define OID_NUMERIC  1700
#define OID_JSONB    3802
#define OID_A_BOOL   1000
#define OID_A_INT2   1005
#define OID_A_INT4   1007
#define OID_A_INT8   1016
#define OID_A_OID    1028
#define OID_A_FLOAT4 1021
#define OID_A_FLOAT8 1022
#define OID_A_NUMER  1231
#define OID_A_JSON   199
#define OID_A_JSONB  3807
#define OID_A_TEXT   1009
#define OID_A_VCHAR  1015
#define OID_A_BPCHAR 1014
#define OID_A_NAME   1003
#define OID_A_INET   1041
#define OID_A_CIDR   651
#define OID_A_UUID   2951

/* Filled by the host from the directive table below. */
typedef struct {
    char *dsn;               /* borrowed from the host; required */
    char *query;             /* required */
    char *collection;        /* optional: rows become items of it */
    char *notify;            /* optional: LISTEN channel */
    int64_t interval;        /* ms; 0 = not set */
    int64_t max_backoff;     /* ms; 0 = not set */
    int64_t connect_timeout; /* ms; 0 = not set */
    int64_t query_timeout;   /* ms; 0 = not set */
} pg_conf_t;

typedef enum { PG_DISCONNECTED, PG_CONNECTING, PG_CONNECTED } pg_conn_state_t;
typedef enum { PG_CMD_NONE, PG_CMD_LISTEN, PG_CMD_QUERY } pg_cmd_t;

/* How a column value (or array element) becomes JSON. */
typedef enum { KIND_STRING, KIND_NUMBER, KIND_BOOL, KIND_JSON } pg_kind_t;

/* A growable byte buffer; oom sticks once an allocation failed. */
typedef struct {
    char *data;
    size_t len, cap;
    int oom;
} pg_buf_t;

typedef struct {
    const xdsd_host_api_t *api; /* borrowed */
    xdsd_source_t *src;         /* borrowed */
    const pg_conf_t *conf;      /* borrowed, lives as long as the instance */
    struct event_base *base;    /* borrowed */
    int64_t interval_ms, max_backoff_ms, connect_timeout_ms, query_timeout_ms;
    char *target;     /* owned: "postgres host=... port=... dbname=... user=..." */
    char *coll_outer; /* owned: collection, or its part before the dot */
    char *coll_inner; /* owned: the part after the dot, or NULL */
    int can_unchanged;

    PGconn *conn; /* owned */
    pg_conn_state_t state;
    pg_cmd_t cmd;     /* command in flight */
    PGresult *result; /* owned: result kept for the command in flight */
    int requery;      /* a change notice arrived after the query in flight was sent */
    int ever_connected;

    struct event *ev_io;        /* connecting: one-shot wait; connected: persistent read */
    struct event *ev_write;     /* connected: unflushed output */
    struct event *ev_reconnect; /* backoff before the next connect */
    struct event *ev_deadline;  /* connect_timeout or query_timeout */
    struct event *ev_refresh;   /* next interval (or retry) query */
    unsigned attempt;           /* consecutive failures, for the backoff */
    uint64_t rng;

    pg_buf_t doc;     /* collection shape: the document being built */
    pg_buf_t scratch; /* an unescaped array element */

    int have_published; /* the core holds a document of ours */
    uint64_t pub_hash;
    size_t pub_len;
    int have_refused; /* the last publish was refused (and what it was) */
    uint64_t ref_hash;
    size_t ref_len;
    int core_failing; /* the core's last news from us was a failure */
} pg_state_t;

static int pg_create(const xdsd_host_api_t *api, xdsd_source_t *src, const void *conf, void **state,
                     char *err, size_t errlen);
static int pg_start(void *state, char *err, size_t errlen);
static void pg_destroy(void *state);

static const xdsd_directive_t pg_directives[] = {
    {"dsn", XDSD_ARG_STRING, offsetof(pg_conf_t, dsn), XDSD_DIRECTIVE_REQUIRED},
    {"query", XDSD_ARG_STRING, offsetof(pg_conf_t, query), XDSD_DIRECTIVE_REQUIRED},
    {"collection", XDSD_ARG_STRING, offsetof(pg_conf_t, collection), 0},
    {"notify", XDSD_ARG_STRING, offsetof(pg_conf_t, notify), 0},
    {"interval", XDSD_ARG_DURATION, offsetof(pg_conf_t, interval), 0},
    {"max_backoff", XDSD_ARG_DURATION, offsetof(pg_conf_t, max_backoff), 0},
    {"connect_timeout", XDSD_ARG_DURATION, offsetof(pg_conf_t, connect_timeout), 0},
    {"query_timeout", XDSD_ARG_DURATION, offsetof(pg_conf_t, query_timeout), 0},
    {NULL, 0, 0, 0},
};

XDSD_PLUGIN_EXPORT const xdsd_plugin_t xdsd_plugin_entry = {
    .magic = XDSD_PLUGIN_MAGIC,
    .abi_major = XDSD_PLUGIN_ABI_MAJOR,
    .abi_minor = XDSD_PLUGIN_ABI_MINOR,
    .size = sizeof(xdsd_plugin_t),
    .name = "postgres",
    .version = PG_PLUGIN_VERSION,
    .directives = pg_directives,
    .conf_size = sizeof(pg_conf_t),
    .create = pg_create,
    .start = pg_start,
    .destroy = pg_destroy,
};

static void start_connect(pg_state_t *st);
static void start_query(pg_state_t *st);

/* ---- small helpers -------------------------------------------------------- */

/* Content hash for "did it change": XXH3-64 (xxhash's header, inlined). */
static uint64_t content_hash(const char *p, size_t len)
{
    return XXH3_64bits(p, len);
}

static struct timeval ms_to_tv(int64_t ms)
{
    struct timeval tv;
    tv.tv_sec = (time_t)(ms / 1000);
    tv.tv_usec = (suseconds_t)((ms % 1000) * 1000);
    return tv;
}

static uint64_t rng_next(pg_state_t *st)
{
    /* xorshift64*: plenty for jitter. */
    st->rng ^= st->rng >> 12;
    st->rng ^= st->rng << 25;
    st->rng ^= st->rng >> 27;
    return st->rng * 0x2545F4914F6CDD1Dull;
}

/* The next backoff delay: uniform in [0, min(max_backoff, 100ms * 2^n)]
 * ("full jitter"), n counting consecutive failures. */
static int64_t backoff_ms(pg_state_t *st)
{
    unsigned n = st->attempt < 24 ? st->attempt : 24;
    int64_t cap = (int64_t)BACKOFF_BASE_MS << n;

    if (cap > st->max_backoff_ms)
        cap = st->max_backoff_ms;
    st->attempt++;
    return (int64_t)(rng_next(st) % (uint64_t)(cap + 1));
}

/* Copy the first line of a libpq message into out, with runs of blanks
 * collapsed ("ERROR:  x" -> "ERROR: x") and no trailing newline. */
static void first_line(const char *msg, char *out, size_t outlen)
{
    size_t n = 0;
    int blank = 0;

    if (outlen == 0)
        return;
    for (; msg != NULL && *msg != '\0' && *msg != '\n' && n + 1 < outlen; msg++) {
        if (*msg == ' ' || *msg == '\t' || *msg == '\r') {
            blank = n > 0;
            continue;
        }
        if (blank && n + 2 < outlen)
            out[n++] = ' ';
        blank = 0;
        out[n++] = *msg;
    }
    out[n] = '\0';
    if (n == 0)
        snprintf(out, outlen, "(no message from libpq)");
}

/* Report a failed refresh to the core (which logs state changes once). */
static void report_failure(pg_state_t *st, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void report_failure(pg_state_t *st, const char *fmt, ...)
{
    char reason[REASON_LEN];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(reason, sizeof(reason), fmt, ap);
    va_end(ap);
    st->core_failing = 1;
    st->have_refused = 0;
    st->api->failed(st->src, reason);
}

/* ---- JSON output ---------------------------------------------------------- */

static void buf_reserve(pg_buf_t *b, size_t more)
{
    size_t ncap;
    char *nd;

    if (b->oom || b->len + more <= b->cap)
        return;
    ncap = b->cap ? b->cap : 4096;
    while (ncap < b->len + more)
        ncap *= 2;
    nd = realloc(b->data, ncap);
    if (nd == NULL) {
        b->oom = 1;
        return;
    }
    b->data = nd;
    b->cap = ncap;
}

static void buf_put(pg_buf_t *b, const char *s, size_t n)
{
    buf_reserve(b, n);
    if (b->oom)
        return;
    memcpy(b->data + b->len, s, n);
    b->len += n;
}

static void buf_putc(pg_buf_t *b, char c)
{
    buf_put(b, &c, 1);
}

static void buf_puts(pg_buf_t *b, const char *s)
{
    buf_put(b, s, strlen(s));
}

static void buf_free(pg_buf_t *b)
{
    free(b->data);
    memset(b, 0, sizeof(*b));
}

/* Append s (n bytes of UTF-8) as a JSON string. */
static void buf_json_string(pg_buf_t *b, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    size_t run = 0;

    buf_putc(b, '"');
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        char esc[7];
        size_t elen = 2;

        if (c >= 0x20 && c != '"' && c != '\\') {
            run++;
            continue;
        }
        buf_put(b, s + i - run, run);
        run = 0;
        esc[0] = '\\';
        switch (c) {
        case '"':
        case '\\':
            esc[1] = (char)c;
            break;
        case '\n':
            esc[1] = 'n';
            break;
        case '\r':
            esc[1] = 'r';
            break;
        case '\t':
            esc[1] = 't';
            break;
        default:
            memcpy(esc + 1, "u00", 3);
            esc[4] = hex[c >> 4];
            esc[5] = hex[c & 15];
            elen = 6;
        }
        buf_put(b, esc, elen);
    }
    buf_put(b, s + n - run, run);
    buf_putc(b, '"');
}

/* Is s (n bytes) a number in JSON's grammar?  PostgreSQL's NaN and Infinity
 * are not. */
static int is_json_number(const char *s, size_t n)
{
    size_t i = 0;

    if (i < n && s[i] == '-')
        i++;
    if (i >= n || s[i] < '0' || s[i] > '9')
        return 0;
    if (s[i] == '0')
        i++;
    else
        while (i < n && s[i] >= '0' && s[i] <= '9')
            i++;
    if (i < n && s[i] == '.') {
        if (++i >= n || s[i] < '0' || s[i] > '9')
            return 0;
        while (i < n && s[i] >= '0' && s[i] <= '9')
            i++;
    }
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i < n && (s[i] == '+' || s[i] == '-'))
            i++;
        if (i >= n || s[i] < '0' || s[i] > '9')
            return 0;
        while (i < n && s[i] >= '0' && s[i] <= '9')
            i++;
    }
    return i == n;
}

/* Append one scalar value of the given kind. */
static void put_scalar(pg_buf_t *b, const char *s, size_t n, pg_kind_t kind)
{
    switch (kind) {
    case KIND_NUMBER:
        if (is_json_number(s, n)) {
            buf_put(b, s, n);
            return;
        }
        break;
    case KIND_BOOL:
        if (n == 1 && (s[0] == 't' || s[0] == 'f')) {
            buf_puts(b, s[0] == 't' ? "true" : "false");
            return;
        }
        break;
    case KIND_JSON:
        buf_put(b, s, n);
        return;
    case KIND_STRING:
        break;
    }
    buf_json_string(b, s, n);
}

/* Append the PostgreSQL array literal at *pp ("{a,\"b c\",NULL}", possibly
 * nested) as a JSON array, advancing *pp past it.  Returns -1 on anything
 * unexpected (the caller then falls back to a string). */
static int put_array(pg_state_t *st, pg_buf_t *b, const char **pp, pg_kind_t kind, int depth)
{
    const char *p = *pp;

    if (*p != '{' || depth > MAX_ARRAY_DEPTH)
        return -1;
    p++;
    buf_putc(b, '[');
    if (*p == '}') {
        p++;
        goto done;
    }
    for (int first = 1;; first = 0) {
        if (!first)
            buf_putc(b, ',');
        if (*p == '{') {
            if (put_array(st, b, &p, kind, depth + 1) != 0)
                return -1;
        } else if (*p == '"') {
            st->scratch.len = 0;
            for (p++; *p != '"'; p++) {
                if (*p == '\\')
                    p++;
                if (*p == '\0')
                    return -1;
                buf_putc(&st->scratch, *p);
            }
            p++;
            if (st->scratch.oom)
                return -1;
            put_scalar(b, st->scratch.data ? st->scratch.data : "", st->scratch.len, kind);
        } else {
            const char *start = p;
            while (*p != '\0' && *p != ',' && *p != '}' && *p != '{' && *p != '"')
                p++;
            if (p == start)
                return -1;
            if (p - start == 4 && strncasecmp(start, "NULL", 4) == 0)
                buf_puts(b, "null");
            else
                put_scalar(b, start, (size_t)(p - start), kind);
        }
        if (*p == ',') {
            p++;
            continue;
        }
        if (*p == '}') {
            p++;
            break;
        }
        return -1;
    }
done:
    buf_putc(b, ']');
    *pp = p;
    return 0;
}

/* Kind of a column type; *is_array set for the array types we decode. */
static pg_kind_t kind_of(Oid type, int *is_array)
{
    *is_array = 1;
    switch (type) {
    case OID_A_BOOL:
        return KIND_BOOL;
    case OID_A_INT2:
    case OID_A_INT4:
    case OID_A_INT8:
    case OID_A_OID:
    case OID_A_FLOAT4:
    case OID_A_FLOAT8:
    case OID_A_NUMER:
        return KIND_NUMBER;
    case OID_A_JSON:
    case OID_A_JSONB:
        return KIND_JSON;
    case OID_A_TEXT:
    case OID_A_VCHAR:
    case OID_A_BPCHAR:
    case OID_A_NAME:
    case OID_A_INET:
    case OID_A_CIDR:
    case OID_A_UUID:
        return KIND_STRING;
    default:
        break;
    }
    *is_array = 0;
    switch (type) {
    case OID_BOOL:
        return KIND_BOOL;
    case OID_INT2:
    case OID_INT4:
    case OID_INT8:
    case OID_OID:
    case OID_FLOAT4:
    case OID_FLOAT8:
    case OID_NUMERIC:
        return KIND_NUMBER;
    case OID_JSON:
    case OID_JSONB:
        return KIND_JSON;
    default:
        return KIND_STRING;
    }
}

/* Build {"coll": [ {col: value, ...}, ... ]} from the rows of res into
 * st->doc.  Returns XDSD_ERROR only when memory ran out. */
static int build_collection(pg_state_t *st, const PGresult *res)
{
    pg_buf_t *b = &st->doc;
    int nrows = PQntuples(res), ncols = PQnfields(res);

    b->len = 0;
    b->oom = 0;
    buf_putc(b, '{');
    buf_json_string(b, st->coll_outer, strlen(st->coll_outer));
    buf_putc(b, ':');
    if (st->coll_inner != NULL) {
        buf_putc(b, '{');
        buf_json_string(b, st->coll_inner, strlen(st->coll_inner));
        buf_putc(b, ':');
    }
    buf_putc(b, '[');
    for (int r = 0; r < nrows; r++) {
        int fields = 0;

        buf_puts(b, r ? ",{" : "{");
        for (int c = 0; c < ncols; c++) {
            const char *name = PQfname(res, c), *val;
            size_t len, mark;
            int is_array;
            pg_kind_t kind;

            if (PQgetisnull(res, r, c))
                continue;
            val = PQgetvalue(res, r, c);
            len = (size_t)PQgetlength(res, r, c);
            kind = kind_of(PQftype(res, c), &is_array);
            if (fields++)
                buf_putc(b, ',');
            buf_json_string(b, name, strlen(name));
            buf_putc(b, ':');
            mark = b->len;
            if (is_array) {
                const char *p = val;
                if (put_array(st, b, &p, kind, 0) == 0 && *p == '\0')
                    continue;
                if (b->oom)
                    break;
                b->len = mark; /* "[1:2]={..}" and other surprises: a string */
                buf_json_string(b, val, len);
            } else {
                put_scalar(b, val, len, kind);
            }
        }
        buf_putc(b, '}');
    }
    buf_putc(b, ']');
    if (st->coll_inner != NULL)
        buf_putc(b, '}');
    buf_putc(b, '}');
    return b->oom ? XDSD_ERROR : XDSD_OK;
}

/* ---- handing results to the core ------------------------------------------ */

/* Publish json unless the core already holds exactly these bytes. */
static void deliver(pg_state_t *st, const char *json, size_t len)
{
    uint64_t h = content_hash(json, len);

    if (!st->core_failing && st->have_published && h == st->pub_hash && len == st->pub_len) {
        if (st->can_unchanged)
            st->api->unchanged(st->src);
        return;
    }
    if (st->core_failing && st->have_refused && h == st->ref_hash && len == st->ref_len)
        return; /* the core has said why already; nothing new */

    if (st->api->publish(st->src, json, len, st->target) == XDSD_OK) {
        st->have_published = 1;
        st->pub_hash = h;
        st->pub_len = len;
        st->have_refused = 0;
        st->core_failing = 0;
    } else {
        /* The core has logged why.  Remember the refused bytes only, so a
         * tick does not repeat the error but any change is offered again. */
        st->have_refused = 1;
        st->ref_hash = h;
        st->ref_len = len;
        st->core_failing = 1;
    }
}

/* Turn the final result of the query into a document and deliver it.
 * Returns XDSD_OK when the query itself worked (even when the core then
 * refused the document: that is the data's fault, retrying will not help). */
static int handle_query_result(pg_state_t *st, const PGresult *res)
{
    ExecStatusType status = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
    int nrows, ncols;

    if (status == PGRES_EMPTY_QUERY) {
        report_failure(st, "postgres query: the query is empty");
        return XDSD_ERROR;
    }
    if (status == PGRES_COMMAND_OK) {
        report_failure(st,
                       "postgres query: the last statement returned no result set (not a SELECT?)");
        return XDSD_ERROR;
    }
    if (status != PGRES_TUPLES_OK) {
        const char *sev = res ? PQresultErrorField(res, PG_DIAG_SEVERITY) : NULL;
        const char *msg = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
        char line[REASON_LEN];

        if (msg != NULL) {
            first_line(msg, line, sizeof(line));
            report_failure(st, "postgres query: %s: %s", sev ? sev : "ERROR", line);
        } else {
            first_line(res ? PQresultErrorMessage(res) : PQerrorMessage(st->conn), line,
                       sizeof(line));
            report_failure(st, "postgres query: %s", line);
        }
        return XDSD_ERROR;
    }

    if (st->coll_outer != NULL) {
        if (build_collection(st, res) != XDSD_OK) {
            report_failure(st, "postgres query: out of memory building the document");
            return XDSD_ERROR;
        }
        deliver(st, st->doc.data, st->doc.len);
        if (st->doc.cap > (1u << 20)) /* do not sit on a large buffer between queries */
            buf_free(&st->doc);
        return XDSD_OK;
    }

    nrows = PQntuples(res);
    ncols = PQnfields(res);
    if (nrows != 1 || ncols != 1) {
        report_failure(st,
                       "postgres query: returned %d row%s with %d column%s; expected one row with "
                       "one column holding the model document (or set `collection`)",
                       nrows, nrows == 1 ? "" : "s", ncols, ncols == 1 ? "" : "s");
        return XDSD_ERROR;
    }
    if (PQgetisnull(res, 0, 0)) {
        report_failure(st,
                       "postgres query: returned NULL instead of a model document (column "
                       "\"%s\")",
                       PQfname(res, 0));
        return XDSD_ERROR;
    }
    deliver(st, PQgetvalue(res, 0, 0), (size_t)PQgetlength(res, 0, 0));
    return XDSD_OK;
}

/* ---- the connection --------------------------------------------------------- */

/* Drop the connection and everything tied to it; safe to call twice. */
static void disconnect(pg_state_t *st)
{
    if (st->ev_io != NULL)
        event_free(st->ev_io);
    if (st->ev_write != NULL)
        event_free(st->ev_write);
    st->ev_io = st->ev_write = NULL;
    if (st->ev_deadline != NULL)
        evtimer_del(st->ev_deadline);
    if (st->ev_refresh != NULL)
        evtimer_del(st->ev_refresh);
    PQclear(st->result);
    st->result = NULL;
    if (st->conn != NULL)
        PQfinish(st->conn);
    st->conn = NULL;
    st->state = PG_DISCONNECTED;
    st->cmd = PG_CMD_NONE;
    st->requery = 0;
}

static void schedule_reconnect(pg_state_t *st)
{
    int64_t ms = backoff_ms(st);
    struct timeval tv = ms_to_tv(ms);

    st->api->log(st->src, XDSD_LOG_DEBUG, "reconnecting in %" PRId64 " ms", ms);
    evtimer_add(st->ev_reconnect, &tv);
}

/* The connection failed or broke: report why (what + libpq's message),
 * drop it and try again after the backoff. */
static void connection_failed(pg_state_t *st, const char *what)
{
    char line[REASON_LEN];

    first_line(st->conn ? PQerrorMessage(st->conn) : NULL, line, sizeof(line));
    report_failure(st, "%s: %s%s", st->target, what, line);
    disconnect(st);
    schedule_reconnect(st);
}

/* Ask the core-side loop to flush our output; PQflush returns 1 while some
 * of it is still queued (the socket buffer is full). */
static int flush_output(pg_state_t *st)
{
    int rc = PQflush(st->conn);

    if (rc < 0) {
        connection_failed(st, "connection lost: ");
        return XDSD_ERROR;
    }
    if (rc > 0)
        event_add(st->ev_write, NULL);
    return XDSD_OK;
}

/* Send one command; its results arrive through on_readable. */
static void send_command(pg_state_t *st, pg_cmd_t cmd, const char *sql)
{
    struct timeval tv = ms_to_tv(st->query_timeout_ms);

    if (!PQsendQuery(st->conn, sql)) {
        connection_failed(st, "cannot send the query: ");
        return;
    }
    st->cmd = cmd;
    evtimer_add(st->ev_deadline, &tv);
    flush_output(st);
}

/* Run the configured query now (any earlier change notice is covered by it). */
static void start_query(pg_state_t *st)
{
    evtimer_del(st->ev_refresh);
    st->requery = 0;
    send_command(st, PG_CMD_QUERY, st->conf->query);
}

/* A NOTIFY or the interval timer: query now, or right after the one in flight. */
static void refresh(pg_state_t *st)
{
    if (st->state != PG_CONNECTED)
        return;
    if (st->cmd != PG_CMD_NONE) {
        st->requery = 1;
        return;
    }
    start_query(st);
}

static void start_listen(pg_state_t *st)
{
    const char *chan = st->conf->notify;
    char *ident = PQescapeIdentifier(st->conn, chan, strlen(chan));
    char *sql;

    if (ident == NULL) {
        connection_failed(st, "cannot quote the notify channel: ");
        return;
    }
    sql = malloc(strlen(ident) + sizeof("LISTEN "));
    if (sql == NULL) {
        PQfreemem(ident);
        report_failure(st, "%s: out of memory", st->target);
        disconnect(st);
        schedule_reconnect(st);
        return;
    }
    strcpy(sql, "LISTEN ");
    strcat(sql, ident);
    PQfreemem(ident);
    send_command(st, PG_CMD_LISTEN, sql);
    free(sql);
}

/* All results of the command in flight are in: act on them. */
static void command_done(pg_state_t *st)
{
    pg_cmd_t cmd = st->cmd;
    PGresult *res = st->result;
    struct timeval tv;

    st->cmd = PG_CMD_NONE;
    st->result = NULL;
    evtimer_del(st->ev_deadline);

    if (cmd == PG_CMD_LISTEN) {
        if (res == NULL || PQresultStatus(res) != PGRES_COMMAND_OK) {
            char line[REASON_LEN];
            first_line(res ? PQresultErrorMessage(res) : PQerrorMessage(st->conn), line,
                       sizeof(line));
            st->api->log(st->src, XDSD_LOG_WARN,
                         "LISTEN %s failed (%s); changes are seen every %" PRId64 " ms only",
                         st->conf->notify, line, st->interval_ms);
        }
        PQclear(res);
        start_query(st);
        return;
    }

    if (handle_query_result(st, res) == XDSD_OK) {
        st->attempt = 0;
        tv = ms_to_tv(st->interval_ms);
    } else {
        int64_t ms = backoff_ms(st);
        tv = ms_to_tv(ms < st->interval_ms ? ms : st->interval_ms);
    }
    PQclear(res);
    if (st->requery) {
        start_query(st);
        return;
    }
    evtimer_add(st->ev_refresh, &tv);
}

/* Keep what matters of one result of the command in flight: the first
 * error, else the last result. */
static void keep_result(pg_state_t *st, PGresult *res)
{
    if (st->result != NULL && PQresultStatus(st->result) == PGRES_FATAL_ERROR) {
        PQclear(res);
        return;
    }
    PQclear(st->result);
    st->result = res;
}

/* Pull every finished result; returns XDSD_ERROR if the connection went. */
static int collect_results(pg_state_t *st)
{
    while (st->state == PG_CONNECTED && st->cmd != PG_CMD_NONE && !PQisBusy(st->conn)) {
        PGresult *res = PQgetResult(st->conn);
        ExecStatusType s;

        if (res == NULL) {
            command_done(st);
            continue;
        }
        s = PQresultStatus(res);
        if (s == PGRES_COPY_IN || s == PGRES_COPY_OUT || s == PGRES_COPY_BOTH) {
            PQclear(res);
            report_failure(st, "postgres query: COPY is not supported; use a SELECT");
            disconnect(st);
            schedule_reconnect(st);
            return XDSD_ERROR;
        }
        keep_result(st, res);
    }
    return st->state == PG_CONNECTED ? XDSD_OK : XDSD_ERROR;
}

static void on_readable(evutil_socket_t fd, short what, void *arg)
{
    pg_state_t *st = arg;
    PGnotify *n;
    int notified = 0;

    (void)fd;
    (void)what;
    if (!PQconsumeInput(st->conn)) {
        connection_failed(st, "connection lost: ");
        return;
    }
    if (collect_results(st) != XDSD_OK)
        return;
    while ((n = PQnotifies(st->conn)) != NULL) {
        notified++;
        PQfreemem(n);
    }
    if (notified) {
        st->api->log(st->src, XDSD_LOG_DEBUG, "%d notification%s on %s", notified,
                     notified == 1 ? "" : "s", st->conf->notify ? st->conf->notify : "?");
        refresh(st);
    }
    /* libpq may have noticed a broken connection without a read error. */
    if (st->state == PG_CONNECTED && PQstatus(st->conn) == CONNECTION_BAD)
        connection_failed(st, "connection lost: ");
}

static void on_writable(evutil_socket_t fd, short what, void *arg)
{
    pg_state_t *st = arg;

    (void)fd;
    (void)what;
    flush_output(st);
}

/* PQconnectPoll said PGRES_POLLING_OK. */
static void on_connected(pg_state_t *st)
{
    int fd = PQsocket(st->conn);

    event_free(st->ev_io);
    st->ev_io = NULL;
    evtimer_del(st->ev_deadline);
    if (PQsetnonblocking(st->conn, 1) != 0) {
        connection_failed(st, "cannot make the connection non-blocking: ");
        return;
    }
    st->ev_io = event_new(st->base, fd, EV_READ | EV_PERSIST, on_readable, st);
    st->ev_write = event_new(st->base, fd, EV_WRITE, on_writable, st);
    if (st->ev_io == NULL || st->ev_write == NULL || event_add(st->ev_io, NULL) != 0) {
        report_failure(st, "%s: cannot register the connection's socket", st->target);
        disconnect(st);
        schedule_reconnect(st);
        return;
    }
    st->state = PG_CONNECTED;
    st->api->log(st->src, XDSD_LOG_INFO, "%s to %s (server %d)%s%s",
                 st->ever_connected ? "reconnected" : "connected", st->target,
                 PQserverVersion(st->conn), st->conf->notify ? ", listening on " : "",
                 st->conf->notify ? st->conf->notify : "");
    st->ever_connected = 1;
    if (st->conf->notify != NULL)
        start_listen(st);
    else
        start_query(st);
}

static void on_connect_io(evutil_socket_t fd, short what, void *arg);

/* Wait (once) until the socket is ready for `what`, then poll again. */
static void wait_connect_io(pg_state_t *st, short what)
{
    int fd = PQsocket(st->conn);

    if (st->ev_io != NULL)
        event_free(st->ev_io);
    st->ev_io = NULL;
    if (fd < 0) {
        connection_failed(st, "");
        return;
    }
    st->ev_io = event_new(st->base, fd, what, on_connect_io, st);
    if (st->ev_io == NULL || event_add(st->ev_io, NULL) != 0) {
        report_failure(st, "%s: cannot register the connection's socket", st->target);
        disconnect(st);
        schedule_reconnect(st);
    }
}

/* One step of PQconnectPoll's state machine. */
static void continue_connect(pg_state_t *st)
{
    switch (PQconnectPoll(st->conn)) {
    case PGRES_POLLING_READING:
        wait_connect_io(st, EV_READ);
        break;
    case PGRES_POLLING_WRITING:
    case PGRES_POLLING_ACTIVE:
        wait_connect_io(st, EV_WRITE);
        break;
    case PGRES_POLLING_OK:
        on_connected(st);
        break;
    case PGRES_POLLING_FAILED:
    default:
        connection_failed(st, "");
        break;
    }
}

static void on_connect_io(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    continue_connect(arg);
}

/* Server messages outside a result (NOTICE, WARNING, a FATAL on shutdown):
 * log them instead of letting libpq print to stderr. */
static void on_notice(void *arg, const char *message)
{
    pg_state_t *st = arg;
    char line[REASON_LEN];

    first_line(message, line, sizeof(line));
    st->api->log(st->src, XDSD_LOG_NOTICE, "postgres says: %s", line);
}

/* Begin a non-blocking connect (client_encoding forced to UTF8, so text is
 * valid JSON string material). */
static void start_connect(pg_state_t *st)
{
    static const char *const keywords[] = {"dbname", "client_encoding", "fallback_application_name",
                                           NULL};
    const char *values[] = {st->conf->dsn, "UTF8", "xdsd", NULL};
    struct timeval tv = ms_to_tv(st->connect_timeout_ms);

    st->conn = PQconnectStartParams(keywords, values, 1);
    if (st->conn == NULL) {
        report_failure(st, "%s: out of memory", st->target);
        schedule_reconnect(st);
        return;
    }
    if (PQstatus(st->conn) == CONNECTION_BAD) {
        connection_failed(st, "");
        return;
    }
    PQsetNoticeProcessor(st->conn, on_notice, st);
    st->state = PG_CONNECTING;
    evtimer_add(st->ev_deadline, &tv);
    /* As documented: act as if PQconnectPoll had said POLLING_WRITING. */
    wait_connect_io(st, EV_WRITE);
}

static void on_reconnect(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    start_connect(arg);
}

/* connect_timeout while connecting, query_timeout while a command runs. */
static void on_deadline(evutil_socket_t fd, short what, void *arg)
{
    pg_state_t *st = arg;

    (void)fd;
    (void)what;
    if (st->state == PG_CONNECTING)
        report_failure(st, "%s: no connection after %" PRId64 " ms (connect_timeout)", st->target,
                       st->connect_timeout_ms);
    else if (st->cmd != PG_CMD_NONE)
        report_failure(st, "%s: no answer to the %s after %" PRId64 " ms (query_timeout)",
                       st->target, st->cmd == PG_CMD_LISTEN ? "LISTEN" : "query",
                       st->query_timeout_ms);
    else
        return;
    disconnect(st);
    schedule_reconnect(st);
}

static void on_refresh(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    refresh(arg);
}

/* ---- plugin entry points ---------------------------------------------------- */

/* "postgres host=... port=... dbname=... user=..." from the parsed dsn:
 * only those keys, so a password never reaches a log line. */
static char *describe_target(const PQconninfoOption *opts)
{
    static const char *const keys[] = {"host", "hostaddr", "port", "dbname", "user", NULL};
    pg_buf_t b = {0};

    buf_puts(&b, "postgres");
    for (int k = 0; keys[k] != NULL; k++) {
        for (const PQconninfoOption *o = opts; o->keyword != NULL; o++) {
            if (strcmp(o->keyword, keys[k]) != 0 || o->val == NULL || o->val[0] == '\0')
                continue;
            buf_putc(&b, ' ');
            buf_puts(&b, keys[k]);
            buf_putc(&b, '=');
            buf_puts(&b, o->val);
        }
    }
    buf_putc(&b, '\0');
    if (b.oom) {
        buf_free(&b);
        return NULL;
    }
    return b.data;
}

/* Does the dsn name a host that libpq would resolve with getaddrinfo()? */
static const char *host_needing_dns(const PQconninfoOption *opts, char *out, size_t outlen)
{
    const char *hosts = NULL;

    for (const PQconninfoOption *o = opts; o->keyword != NULL; o++) {
        if (strcmp(o->keyword, "hostaddr") == 0 && o->val != NULL && o->val[0] != '\0')
            return NULL; /* libpq connects to hostaddr without a lookup */
        if (strcmp(o->keyword, "host") == 0)
            hosts = o->val;
    }
    while (hosts != NULL && *hosts != '\0') {
        size_t n = strcspn(hosts, ",");
        unsigned char addr[16];

        if (n > 0 && n < outlen) {
            memcpy(out, hosts, n);
            out[n] = '\0';
            if (out[0] != '/' && out[0] != '@' && inet_pton(AF_INET, out, addr) != 1 &&
                inet_pton(AF_INET6, out, addr) != 1)
                return out;
        }
        hosts += n;
        if (*hosts == ',')
            hosts++;
    }
    return NULL;
}

/* Does the connection string hold a secret that libpq might echo back in a
 * parse error? */
static int dsn_has_secret(const char *dsn)
{
    return strstr(dsn, "password") != NULL || (strstr(dsn, "://") != NULL && strchr(dsn, '@'));
}

/* Validate the conf and allocate the state; no network I/O. */
static int pg_create(const xdsd_host_api_t *api, xdsd_source_t *src, const void *conf, void **state,
                     char *err, size_t errlen)
{
    const pg_conf_t *cf = conf;
    PQconninfoOption *opts = NULL;
    char *perr = NULL;
    pg_state_t *st = NULL;
    const char *dot;

    if (api == NULL || api->size < offsetof(xdsd_host_api_t, unchanged)) {
        snprintf(err, errlen, "host api table too small for this plugin");
        return XDSD_ERROR;
    }
    if (cf->dsn == NULL || cf->dsn[0] == '\0') {
        snprintf(err, errlen, "\"dsn\" is required");
        return XDSD_ERROR;
    }
    if (cf->query == NULL || cf->query[0] == '\0') {
        snprintf(err, errlen, "\"query\" is required");
        return XDSD_ERROR;
    }
    if (cf->notify != NULL && cf->notify[0] == '\0') {
        snprintf(err, errlen, "notify: the channel name must not be empty");
        return XDSD_ERROR;
    }
    if (cf->collection != NULL) {
        dot = strchr(cf->collection, '.');
        if (cf->collection[0] == '\0' || dot == cf->collection ||
            (dot != NULL && (dot[1] == '\0' || strchr(dot + 1, '.') != NULL))) {
            snprintf(err, errlen,
                     "collection: expected a name such as services or resources.clusters, got "
                     "\"%s\"",
                     cf->collection);
            return XDSD_ERROR;
        }
    }
    if (cf->interval < 0 || cf->max_backoff < 0 || cf->connect_timeout < 0 ||
        cf->query_timeout < 0) {
        snprintf(err, errlen, "durations must be greater than 0");
        return XDSD_ERROR;
    }

    opts = PQconninfoParse(cf->dsn, &perr);
    if (opts == NULL) {
        if (perr != NULL && !dsn_has_secret(cf->dsn)) {
            char line[REASON_LEN];
            first_line(perr, line, sizeof(line));
            snprintf(err, errlen, "dsn: not a libpq connection string: %s", line);
        } else {
            snprintf(err, errlen, "dsn: not a libpq connection string%s",
                     perr != NULL ? " (details withheld: it holds a password)"
                                  : " (out of memory)");
        }
        PQfreemem(perr);
        return XDSD_ERROR;
    }

    st = calloc(1, sizeof(*st));
    if (st == NULL)
        goto nomem;
    st->api = api;
    st->src = src;
    st->conf = cf;
    st->can_unchanged =
        api->abi_minor >= 1 && api->size >= sizeof(xdsd_host_api_t) && api->unchanged != NULL;
    st->interval_ms = cf->interval > 0 ? cf->interval : DEFAULT_INTERVAL_MS;
    st->max_backoff_ms = cf->max_backoff > 0 ? cf->max_backoff : DEFAULT_MAX_BACKOFF_MS;
    st->connect_timeout_ms =
        cf->connect_timeout > 0 ? cf->connect_timeout : DEFAULT_CONNECT_TIMEOUT_MS;
    st->query_timeout_ms = cf->query_timeout > 0 ? cf->query_timeout : DEFAULT_QUERY_TIMEOUT_MS;
    st->target = describe_target(opts);
    if (st->target == NULL)
        goto nomem;
    if (cf->collection != NULL) {
        dot = strchr(cf->collection, '.');
        st->coll_outer =
            dot ? strndup(cf->collection, (size_t)(dot - cf->collection)) : strdup(cf->collection);
        if (st->coll_outer == NULL || (dot != NULL && (st->coll_inner = strdup(dot + 1)) == NULL))
            goto nomem;
    }
    PQconninfoFree(opts);
    *state = st;
    return XDSD_OK;

nomem:
    PQconninfoFree(opts);
    if (st != NULL) {
        free(st->target);
        free(st->coll_outer);
        free(st);
    }
    snprintf(err, errlen, "out of memory");
    return XDSD_ERROR;
}

/* Create the timers and begin connecting; the first result is published
 * from the event loop later.  A server that is down is not an error here:
 * it is reported with api->failed() and retried. */
static int pg_start(void *state, char *err, size_t errlen)
{
    pg_state_t *st = state;
    PQconninfoOption *opts;
    char host[256];
    const char *named;

    st->base = st->api->event_base(st->src);
    st->rng = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32) ^ (uint64_t)(uintptr_t)st;
    if (st->rng == 0)
        st->rng = 0x9E3779B97F4A7C15ull;
    st->ev_reconnect = evtimer_new(st->base, on_reconnect, st);
    st->ev_deadline = evtimer_new(st->base, on_deadline, st);
    st->ev_refresh = evtimer_new(st->base, on_refresh, st);
    if (st->ev_reconnect == NULL || st->ev_deadline == NULL || st->ev_refresh == NULL) {
        snprintf(err, errlen, "cannot create timers");
        return XDSD_ERROR;
    }

    opts = PQconninfoParse(st->conf->dsn, NULL);
    if (opts != NULL) {
        named = host_needing_dns(opts, host, sizeof(host));
        if (named != NULL)
            st->api->log(st->src, XDSD_LOG_NOTICE,
                         "host \"%s\" is a name: libpq resolves it with a blocking lookup on "
                         "each connect; use an IP address, a socket directory or hostaddr= to "
                         "avoid stalls",
                         named);
        PQconninfoFree(opts);
    }
    start_connect(st);
    return XDSD_OK;
}

/* Close the connection, free the events and the state. */
static void pg_destroy(void *state)
{
    pg_state_t *st = state;

    if (st == NULL)
        return;
    disconnect(st);
    if (st->ev_reconnect != NULL)
        event_free(st->ev_reconnect);
    if (st->ev_deadline != NULL)
        event_free(st->ev_deadline);
    if (st->ev_refresh != NULL)
        event_free(st->ev_refresh);
    buf_free(&st->doc);
    buf_free(&st->scratch);
    free(st->target);
    free(st->coll_outer);
    free(st->coll_inner);
    free(st);
}
