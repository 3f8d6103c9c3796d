/*
 * redis.c -- the `redis` source plugin: read the model from Redis and
 * re-read it when Redis says it changed.
 *
 *     source inventory {
 *         plugin          redis;
 *         address         127.0.0.1:6379;     # or: socket /run/redis/redis.sock;
 *         key             xds:model;          # a string holding the whole document
 *         # hash xds:services; collection services;   # or: one item per field
 *         # pattern xds:svc:*; collection services;   # or: one item per key
 *         channel         xds:changed;        # SUBSCRIBE: any message triggers a re-read
 *         keyspace_events on;                 # and/or keyspace notifications
 *         interval        30s;                # re-read anyway every 30 s
 *     }
 *
 * Three shapes.  `key`: GET a string that holds a complete model document.
 * `hash` + `collection`: HGETALL a hash whose every field value is one JSON
 * item of that collection.  `pattern` + `collection`: SCAN the keys matching
 * a glob (never KEYS: it blocks the server) and MGET their values, each one
 * JSON item.  The collection shapes produce {"<collection>":[v1,v2,...]}
 * with the items sorted by field / key name, so that the same data always
 * gives the same bytes and the same Envoy versions on every replica.  Values
 * are concatenated as text, not parsed: the host parses the document and
 * refuses it whole when a value is not JSON.  Each value is only checked
 * lexically to be ONE balanced JSON object, so that a value cannot close the
 * array and smuggle in other collections.
 *
 * Everything runs on the host's event loop through hiredis's async API and
 * its libevent adapter (hiredis 0.14, Debian 12): one connection for
 * commands and, when `channel` or `keyspace_events` is set, a second one in
 * subscribed mode.  A session is up when both are connected, authenticated
 * (AUTH [user] password), the command connection has SELECTed the database
 * and every subscription is confirmed; only then is the model read, so no
 * change between the read and the subscription can be missed.  Notifications
 * restart nothing: the first one arms a short debounce timer, and those that
 * arrive during a read ask for exactly one more read afterwards, so a burst
 * costs one or two reads.  Identical results are reported with
 * api->unchanged().  Keyspace notifications need notify-keyspace-events on
 * the server (e.g. KEA); the plugin never changes the server's configuration
 * (it may be shared, and an ACL user should not need CONFIG SET), it only
 * runs CONFIG GET once per session and warns when the setting is missing.
 *
 * Failures.  Anything that breaks the session (connect error, connect or
 * read timeout, lost connection, AUTH/SELECT/SUBSCRIBE refused) is reported
 * with api->failed() and closes both connections; a new session is tried
 * after an exponential backoff with full jitter (100 ms doubling up to
 * max_backoff), reset by the next successful read.  A failed read that leaves
 * the connection usable (missing key, WRONGTYPE, LOADING, a value that is not
 * one JSON object) keeps the session and retries on the same backoff, and on
 * any notification or interval tick.  The host keeps serving the last good
 * document meanwhile.  Reasons name the server, the database and the key;
 * the password never appears in them nor in the log.
 *
 * hiredis's rules for freeing an async context are subtle (a context may not
 * be freed from its connect callback; a failed connect or a lost connection
 * is freed by hiredis itself right after our callback; freeing runs every
 * pending callback with a NULL reply).  So the plugin never frees a context
 * from inside a hiredis callback: a failure moves the session to CLOSING and
 * a zero-delay timer frees what is left from the event loop.  Every callback
 * ignores NULL replies and anything that arrives while the session is not in
 * the phase it expects.
 *
 * Limitation: hiredis resolves host names synchronously, so `address` must be
 * a numeric IPv4 or [IPv6] address (or use `socket`).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <hiredis/hiredis.h>
#include <hiredis/async.h>
#include <hiredis/adapters/libevent.h>

#include "xdsd_plugin.h"

#define REDIS_PLUGIN_VERSION "1.0.0"

#define DEFAULT_INTERVAL_MS        30000
#define DEFAULT_MAX_BACKOFF_MS     30000
#define DEFAULT_CONNECT_TIMEOUT_MS 5000
#define DEFAULT_READ_TIMEOUT_MS    10000
#define INITIAL_BACKOFF_MS         100
#define DEBOUNCE_MS                10 /* notifications in a burst -> one read */
#define SCAN_COUNT                 "1000"
#define MGET_BATCH                 1000
#define MAX_JSON_DEPTH             64 /* the host refuses deeper documents anyway */
#define PASSWORD_MAX               4096
#define REASON_LEN                 512

/* Filled by the host from the directive table below (zeroed first). */
typedef struct {
    char *address; /* "HOST:PORT", numeric host */
    char *socket;  /* Unix socket path */
    char *key;     /* shape 1 */
    char *hash;    /* shape 2 */
    char *pattern; /* shape 3 */
    char *collection;
    char **channel; /* NULL-terminated, repeatable */
    int keyspace_events;
    int allow_empty;
    int64_t interval;        /* ms; 0 = default */
    int64_t max_backoff;     /* ms; 0 = default */
    int64_t connect_timeout; /* ms; 0 = default */
    int64_t read_timeout;    /* ms; 0 = default */
    char *user;
    char *password;
    char *password_file;
    int64_t database;
} redis_conf_t;

typedef enum { SHAPE_KEY, SHAPE_HASH, SHAPE_PATTERN } shape_t;

/* DOWN: no connection (a retry may be pending).  CONNECTING: connecting and
 * handshaking.  UP: reads allowed.  CLOSING: a failure was reported and the
 * teardown timer will free the connections. */
typedef enum { SESSION_DOWN, SESSION_CONNECTING, SESSION_UP, SESSION_CLOSING } session_phase_t;

/* What the host last heard from us. */
typedef enum { REPORT_NONE, REPORT_ACCEPTED, REPORT_REFUSED, REPORT_FAILED } report_t;

/* Handshake steps of one connection, in order; steps that do not apply to a
 * connection are skipped. */
enum { STEP_AUTH, STEP_SELECT, STEP_CHECK_NOTIFY, STEP_SUBSCRIBE, STEP_READY };

/* One item of a collection shape: a hash field or a key, and its value. */
typedef struct {
    char *name; /* owned */
    size_t name_len;
    char *value; /* owned; NULL: not fetched, or not a string */
    size_t value_len;
} item_t;

typedef struct redis_state redis_state_t;

/* One async connection. */
typedef struct {
    redis_state_t *st;
    const char *role;      /* "command" or "subscriber", for messages */
    redisAsyncContext *ac; /* owned; NULL when closed (hiredis may free it) */
    int step;              /* STEP_* of the handshake */
    int subs_pending;      /* subscriber: confirmations still expected */
    int ready;
} redis_link_t;

typedef struct {
    char *p;
    size_t len, cap;
} buf_t;

struct redis_state {
    const xdsd_host_api_t *api; /* borrowed */
    xdsd_source_t *src;         /* borrowed */
    const redis_conf_t *cf;     /* borrowed */
    struct event_base *base;    /* borrowed, set by start() */

    shape_t shape;
    const char *object; /* borrowed from the conf: the key, hash or pattern */
    char *host;         /* owned; NULL with a Unix socket */
    int port;
    int database;
    int64_t interval_ms, max_backoff_ms, connect_timeout_ms, read_timeout_ms;
    char *where;            /* owned: "redis 127.0.0.1:6379 db 0" */
    char *origin;           /* owned: where + " key xds:model", for publish() */
    char *keyspace_channel; /* owned; NULL without keyspace_events */
    char *password;         /* owned, wiped on free; NULL without AUTH */
    int need_subscriber;

    struct event *ev_retry;           /* reconnect, or retry a failed read */
    struct event *ev_connect_timeout; /* a session must be up within this */
    struct event *ev_read_timeout;    /* a read must complete within this */
    struct event *ev_interval;        /* periodic re-read */
    struct event *ev_debounce;        /* notification -> read */
    struct event *ev_teardown;        /* frees the connections after a failure */

    redis_link_t cmd, sub;
    session_phase_t phase;
    int destroying;
    unsigned attempt; /* failures since the last good read, for the backoff */
    uint64_t rng;

    int reading;
    int reread_pending;
    const char *read_command; /* for timeout messages */
    item_t *items;            /* owned, collection shapes */
    size_t nitems, cap_items;
    size_t mget_next;

    report_t last_report;
    char *accepted; /* owned: the bytes the host holds */
    size_t accepted_len;
    char *refused; /* owned: the last bytes the host refused */
    size_t refused_len;
    int notify_warned;
};

static int redis_create(const xdsd_host_api_t *api, xdsd_source_t *src, const void *conf,
                        void **state, char *err, size_t errlen);
static int redis_start(void *state, char *err, size_t errlen);
static void redis_destroy(void *state);

static const xdsd_directive_t redis_directives[] = {
    {"address", XDSD_ARG_STRING, offsetof(redis_conf_t, address), 0},
    {"socket", XDSD_ARG_PATH, offsetof(redis_conf_t, socket), 0},
    {"key", XDSD_ARG_STRING, offsetof(redis_conf_t, key), 0},
    {"hash", XDSD_ARG_STRING, offsetof(redis_conf_t, hash), 0},
    {"pattern", XDSD_ARG_STRING, offsetof(redis_conf_t, pattern), 0},
    {"collection", XDSD_ARG_STRING, offsetof(redis_conf_t, collection), 0},
    {"channel", XDSD_ARG_STRING_LIST, offsetof(redis_conf_t, channel), 0},
    {"keyspace_events", XDSD_ARG_FLAG, offsetof(redis_conf_t, keyspace_events), 0},
    {"allow_empty", XDSD_ARG_FLAG, offsetof(redis_conf_t, allow_empty), 0},
    {"interval", XDSD_ARG_DURATION, offsetof(redis_conf_t, interval), 0},
    {"max_backoff", XDSD_ARG_DURATION, offsetof(redis_conf_t, max_backoff), 0},
    {"connect_timeout", XDSD_ARG_DURATION, offsetof(redis_conf_t, connect_timeout), 0},
    {"read_timeout", XDSD_ARG_DURATION, offsetof(redis_conf_t, read_timeout), 0},
    {"user", XDSD_ARG_STRING, offsetof(redis_conf_t, user), 0},
    {"password", XDSD_ARG_STRING, offsetof(redis_conf_t, password), 0},
    {"password_file", XDSD_ARG_PATH, offsetof(redis_conf_t, password_file), 0},
    {"database", XDSD_ARG_INT, offsetof(redis_conf_t, database), 0},
    {NULL, 0, 0, 0},
};

XDSD_PLUGIN_EXPORT const xdsd_plugin_t xdsd_plugin_entry = {
    .magic = XDSD_PLUGIN_MAGIC,
    .abi_major = XDSD_PLUGIN_ABI_MAJOR,
    .abi_minor = XDSD_PLUGIN_ABI_MINOR,
    .size = sizeof(xdsd_plugin_t),
    .name = "redis",
    .version = REDIS_PLUGIN_VERSION,
    .directives = redis_directives,
    .conf_size = sizeof(redis_conf_t),
    .create = redis_create,
    .start = redis_start,
    .destroy = redis_destroy,
};

static void session_fail(redis_state_t *st, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void read_start(redis_state_t *st);

/* ---- small helpers ------------------------------------------------------- */

static struct timeval ms_to_tv(int64_t ms)
{
    struct timeval tv;
    tv.tv_sec = (time_t)(ms / 1000);
    tv.tv_usec = (suseconds_t)((ms % 1000) * 1000);
    return tv;
}

static uint64_t rng_next(redis_state_t *st)
{
    /* xorshift64*: only for backoff jitter. */
    st->rng ^= st->rng >> 12;
    st->rng ^= st->rng << 25;
    st->rng ^= st->rng >> 27;
    return st->rng * 0x2545F4914F6CDD1Dull;
}

static void wipe_free(char *s)
{
    if (s != NULL) {
        explicit_bzero(s, strlen(s));
        free(s);
    }
}

static char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *xasprintf(const char *fmt, ...)
{
    va_list ap;
    char *s = NULL;
    int n;

    va_start(ap, fmt);
    n = vasprintf(&s, fmt, ap);
    va_end(ap);
    return n < 0 ? NULL : s;
}

/* A key or field name fit for a log line: printable ASCII, at most 80
 * bytes, others replaced by '?'.  Writes into out (outlen > 4). */
static const char *printable(const char *p, size_t len, char *out, size_t outlen)
{
    size_t i, n = 0;

    for (i = 0; i < len && n + 4 < outlen; i++)
        out[n++] = (p[i] >= 0x20 && p[i] < 0x7f) ? p[i] : '?';
    if (i < len) {
        out[n++] = '.';
        out[n++] = '.';
        out[n++] = '.';
    }
    out[n] = '\0';
    return out;
}

static int buf_append(buf_t *b, const char *p, size_t len)
{
    if (b->len + len + 1 > b->cap) {
        size_t ncap = b->cap ? b->cap : 4096;
        char *np;
        while (ncap < b->len + len + 1)
            ncap *= 2;
        np = realloc(b->p, ncap);
        if (np == NULL)
            return -1;
        b->p = np;
        b->cap = ncap;
    }
    memcpy(b->p + b->len, p, len);
    b->len += len;
    b->p[b->len] = '\0';
    return 0;
}

/* Is [p, p+len) one JSON object, possibly surrounded by white space, with
 * its brackets balanced and properly nested outside strings and its strings
 * closed?  A lexical check only (the host parses the document); it makes
 * sure that a value pasted into an array stays one element of it. */
static const char *const NOT_ONE_OBJECT = "the value is not one JSON object";

/* NULL when the value is one JSON object, else what is wrong with it. */
static const char *one_object_problem(const char *p, size_t len)
{
    char stack[MAX_JSON_DEPTH];
    size_t i = 0, depth = 0;
    int in_string = 0;

    while (i < len && (p[i] == ' ' || p[i] == '\t' || p[i] == '\n' || p[i] == '\r'))
        i++;
    if (i == len || p[i] != '{')
        return NOT_ONE_OBJECT;
    for (; i < len; i++) {
        char c = p[i];
        if (in_string) {
            if (c == '\\')
                i++; /* skip the escaped character */
            else if (c == '"')
                in_string = 0;
            continue;
        }
        if (c == '"') {
            in_string = 1;
        } else if (c == '{' || c == '[') {
            if (depth == MAX_JSON_DEPTH)
                return "the value is nested deeper than 64 levels";
            stack[depth++] = c == '{' ? '}' : ']';
        } else if (c == '}' || c == ']') {
            if (depth == 0 || stack[depth - 1] != c)
                return NOT_ONE_OBJECT;
            if (--depth == 0)
                break;
        }
    }
    if (i >= len || depth != 0)
        return NOT_ONE_OBJECT;
    for (i++; i < len; i++)
        if (!(p[i] == ' ' || p[i] == '\t' || p[i] == '\n' || p[i] == '\r'))
            return NOT_ONE_OBJECT;
    return NULL;
}

/* Read a password file: the first line, without its line end.  Blocking but
 * local and small.  Returns a malloc'd string or NULL with reason set. */
static char *read_password_file(const char *path, char *reason, size_t rlen)
{
    char buf[PASSWORD_MAX + 2];
    size_t len = 0;
    char *nl, *out;
    int fd;

    fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
    if (fd < 0) {
        snprintf(reason, rlen, "password_file %s: %s", path, strerror(errno));
        return NULL;
    }
    while (len < sizeof(buf) - 1) {
        ssize_t n = read(fd, buf + len, sizeof(buf) - 1 - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            snprintf(reason, rlen, "password_file %s: %s", path, strerror(errno));
            close(fd);
            explicit_bzero(buf, sizeof(buf));
            return NULL;
        }
        if (n == 0)
            break;
        len += (size_t)n;
    }
    close(fd);
    buf[len] = '\0';
    nl = strpbrk(buf, "\r\n");
    if (nl != NULL)
        *nl = '\0';
    if (strlen(buf) > PASSWORD_MAX || buf[0] == '\0') {
        snprintf(reason, rlen, "password_file %s: %s", path,
                 buf[0] != '\0' ? "first line longer than 4096 bytes" : "empty first line");
        explicit_bzero(buf, sizeof(buf));
        return NULL;
    }
    out = strdup(buf);
    explicit_bzero(buf, sizeof(buf));
    if (out == NULL)
        snprintf(reason, rlen, "password_file %s: %s", path, strerror(ENOMEM));
    return out;
}

/* ---- what the host hears ---------------------------------------------------- */

/* Report a failure; the password, should a server ever echo it, is masked. */
static void report_failure(redis_state_t *st, const char *reason)
{
    char clean[2 * REASON_LEN];
    const char *p = reason, *hit;
    size_t plen = st->password != NULL ? strlen(st->password) : 0, n = 0;

    while (plen > 0 && (hit = strstr(p, st->password)) != NULL) {
        n += (size_t)snprintf(clean + n, sizeof(clean) - n, "%.*s***", (int)(hit - p), p);
        if (n >= sizeof(clean))
            break;
        p = hit + plen;
    }
    if (n < sizeof(clean))
        snprintf(clean + n, sizeof(clean) - n, "%s", p);
    st->last_report = REPORT_FAILED;
    st->api->failed(st->src, clean);
}

static void report_unchanged(redis_state_t *st)
{
    const xdsd_host_api_t *api = st->api;

    if (api->abi_minor >= 1 &&
        api->size >= offsetof(xdsd_host_api_t, unchanged) + sizeof(api->unchanged) &&
        api->unchanged != NULL) {
        st->api->unchanged(st->src);
        st->last_report = REPORT_ACCEPTED;
    } else if (st->last_report != REPORT_ACCEPTED) {
        /* An ABI 1.0 host learns of the recovery only through a publish. */
        if (st->api->publish(st->src, st->accepted, st->accepted_len, st->origin) == XDSD_OK)
            st->last_report = REPORT_ACCEPTED;
    }
}

static int keep_copy(char **dst, size_t *dst_len, const char *p, size_t len)
{
    char *c = malloc(len + 1);
    if (c == NULL)
        return -1;
    memcpy(c, p, len);
    c[len] = '\0';
    free(*dst);
    *dst = c;
    *dst_len = len;
    return 0;
}

/* Hand a complete document to the host unless it holds these bytes already
 * (then: unchanged) or refused exactly these bytes last time. */
static void deliver(redis_state_t *st, const char *doc, size_t len)
{
    if (st->accepted != NULL && len == st->accepted_len && memcmp(doc, st->accepted, len) == 0) {
        report_unchanged(st);
        return;
    }
    if (st->last_report == REPORT_REFUSED && st->refused != NULL && len == st->refused_len &&
        memcmp(doc, st->refused, len) == 0) {
        st->api->log(st->src, XDSD_LOG_DEBUG, "%s: still the refused document", st->origin);
        return;
    }
    if (st->api->publish(st->src, doc, len, st->origin) == XDSD_OK) {
        if (keep_copy(&st->accepted, &st->accepted_len, doc, len) != 0) {
            free(st->accepted);
            st->accepted = NULL; /* compare nothing: publish again next time */
        }
        free(st->refused);
        st->refused = NULL;
        st->last_report = REPORT_ACCEPTED;
    } else {
        /* The host has logged why; it keeps the last good document. */
        if (keep_copy(&st->refused, &st->refused_len, doc, len) != 0) {
            free(st->refused);
            st->refused = NULL;
        }
        st->last_report = REPORT_REFUSED;
    }
}

/* ---- backoff ---------------------------------------------------------------- */

/* Arm ev_retry after an exponential backoff with full jitter: a uniform
 * delay in [0, min(max_backoff, 100 ms * 2^attempt)]. */
static void schedule_retry(redis_state_t *st)
{
    int64_t ceiling = INITIAL_BACKOFF_MS;
    unsigned i;
    struct timeval tv;

    for (i = 0; i < st->attempt && ceiling < st->max_backoff_ms; i++)
        ceiling *= 2;
    if (ceiling > st->max_backoff_ms)
        ceiling = st->max_backoff_ms;
    if (st->attempt < 64)
        st->attempt++;
    tv = ms_to_tv((int64_t)(rng_next(st) % (uint64_t)(ceiling + 1)));
    evtimer_add(st->ev_retry, &tv);
}

/* ---- session -------------------------------------------------------------- */

static void link_close(redis_link_t *l)
{
    redisAsyncContext *ac = l->ac;

    l->ac = NULL;
    l->ready = 0;
    l->step = STEP_AUTH;
    l->subs_pending = 0;
    if (ac != NULL)
        redisAsyncFree(ac); /* runs pending callbacks (NULL) and on_disconnect */
}

static void items_clear(redis_state_t *st)
{
    for (size_t i = 0; i < st->nitems; i++) {
        free(st->items[i].name);
        free(st->items[i].value);
    }
    st->nitems = 0;
}

/* The session is broken: tell the host why and close everything from the
 * event loop (never from inside a hiredis callback).  Idempotent: only the
 * first failure of a session is reported. */
static void session_fail(redis_state_t *st, const char *fmt, ...)
{
    char detail[REASON_LEN], reason[2 * REASON_LEN];
    struct timeval zero = {0, 0};
    va_list ap;

    if (st->destroying || st->phase == SESSION_DOWN || st->phase == SESSION_CLOSING)
        return;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof(detail), fmt, ap);
    va_end(ap);
    snprintf(reason, sizeof(reason), "%s: %s", st->where, detail);
    report_failure(st, reason);
    st->phase = SESSION_CLOSING;
    evtimer_del(st->ev_connect_timeout);
    evtimer_del(st->ev_read_timeout);
    evtimer_del(st->ev_debounce);
    evtimer_add(st->ev_teardown, &zero);
}

static void on_teardown(evutil_socket_t fd, short what, void *arg)
{
    redis_state_t *st = arg;

    (void)fd;
    (void)what;
    link_close(&st->cmd);
    link_close(&st->sub);
    st->reading = 0;
    st->reread_pending = 0;
    items_clear(st);
    st->phase = SESSION_DOWN;
    schedule_retry(st);
}

static void session_maybe_up(redis_state_t *st)
{
    if (st->phase != SESSION_CONNECTING || !st->cmd.ready ||
        (st->need_subscriber && !st->sub.ready))
        return;
    st->phase = SESSION_UP;
    evtimer_del(st->ev_connect_timeout);
    st->api->log(st->src, XDSD_LOG_INFO, "connected to %s%s", st->where,
                 st->need_subscriber ? ", subscribed" : "");
    read_start(st);
}

static void on_handshake_reply(redisAsyncContext *ac, void *r, void *privdata);
static void on_subscription(redisAsyncContext *ac, void *r, void *privdata);

static int subscribe_one(redis_link_t *l, const char *command, const char *channel)
{
    const char *argv[2] = {command, channel};
    size_t argvlen[2] = {strlen(command), strlen(channel)};

    if (redisAsyncCommandArgv(l->ac, on_subscription, l, 2, argv, argvlen) != REDIS_OK)
        return -1;
    l->subs_pending++;
    return 0;
}

/* Send the next handshake command of the link, or mark it ready. */
static void link_advance(redis_link_t *l)
{
    redis_state_t *st = l->st;
    const redis_conf_t *cf = st->cf;
    int is_cmd = l == &st->cmd;
    int rc = REDIS_OK;

    for (;;) {
        switch (l->step) {
        case STEP_AUTH:
            if (st->password == NULL)
                break;
            if (cf->user != NULL) {
                const char *argv[3] = {"AUTH", cf->user, st->password};
                size_t argvlen[3] = {4, strlen(cf->user), strlen(st->password)};
                rc = redisAsyncCommandArgv(l->ac, on_handshake_reply, l, 3, argv, argvlen);
            } else {
                const char *argv[2] = {"AUTH", st->password};
                size_t argvlen[2] = {4, strlen(st->password)};
                rc = redisAsyncCommandArgv(l->ac, on_handshake_reply, l, 2, argv, argvlen);
            }
            goto sent;
        case STEP_SELECT:
            if (!is_cmd || st->database == 0)
                break;
            rc = redisAsyncCommand(l->ac, on_handshake_reply, l, "SELECT %d", st->database);
            goto sent;
        case STEP_CHECK_NOTIFY:
            if (!is_cmd || st->keyspace_channel == NULL)
                break;
            rc = redisAsyncCommand(l->ac, on_handshake_reply, l,
                                   "CONFIG GET notify-keyspace-events");
            goto sent;
        case STEP_SUBSCRIBE:
            if (is_cmd)
                break;
            for (char **c = cf->channel; c != NULL && *c != NULL; c++)
                if (subscribe_one(l, "SUBSCRIBE", *c) != 0)
                    rc = REDIS_ERR;
            if (st->keyspace_channel != NULL &&
                subscribe_one(l, st->shape == SHAPE_PATTERN ? "PSUBSCRIBE" : "SUBSCRIBE",
                              st->keyspace_channel) != 0)
                rc = REDIS_ERR;
            goto sent;
        default:
            l->ready = 1;
            session_maybe_up(st);
            return;
        }
        l->step++;
    }

sent:
    if (rc != REDIS_OK)
        session_fail(st, "%s connection: cannot send a command", l->role);
}

/* Which keyspace notification classes the shape needs besides K. */
static void check_notify_config(redis_state_t *st, const redisReply *reply)
{
    const char *need = st->shape == SHAPE_HASH ? "h" : "$";
    const char *flags;
    int ok;

    if (reply->type == REDIS_REPLY_ERROR) {
        if (!st->notify_warned)
            st->api->log(st->src, XDSD_LOG_NOTICE,
                         "cannot check notify-keyspace-events (%s); keyspace_events needs the "
                         "server to publish K%sg events (e.g. notify-keyspace-events KEA)",
                         reply->str, need);
        st->notify_warned = 1;
        return;
    }
    if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 2 ||
        reply->element[1]->type != REDIS_REPLY_STRING)
        return;
    flags = reply->element[1]->str;
    ok = strchr(flags, 'K') != NULL &&
         (strchr(flags, 'A') != NULL || (strchr(flags, need[0]) && strchr(flags, 'g')));
    if (!ok && !st->notify_warned) {
        st->api->log(st->src, XDSD_LOG_WARN,
                     "keyspace_events on, but the server's notify-keyspace-events is \"%s\": "
                     "changes to %s are seen only every %" PRId64
                     " ms (set notify-keyspace-events to KEA, or at least K%sg)",
                     flags, st->object, st->interval_ms, need);
        st->notify_warned = 1;
    } else if (ok) {
        st->notify_warned = 0;
    }
}

static void on_handshake_reply(redisAsyncContext *ac, void *r, void *privdata)
{
    redis_link_t *l = privdata;
    redis_state_t *st = l->st;
    const redisReply *reply = r;

    (void)ac;
    if (reply == NULL || st->destroying || st->phase != SESSION_CONNECTING)
        return;
    switch (l->step) {
    case STEP_AUTH:
        if (reply->type == REDIS_REPLY_ERROR) {
            session_fail(st, "AUTH%s%s failed: %s", st->cf->user ? " as user " : "",
                         st->cf->user ? st->cf->user : "", reply->str);
            return;
        }
        break;
    case STEP_SELECT:
        if (reply->type == REDIS_REPLY_ERROR) {
            session_fail(st, "SELECT %d failed: %s", st->database, reply->str);
            return;
        }
        break;
    case STEP_CHECK_NOTIFY:
        check_notify_config(st, reply);
        break;
    default:
        return;
    }
    l->step++;
    link_advance(l);
}

/* Subscription confirmations during the handshake, messages afterwards. */
static void on_subscription(redisAsyncContext *ac, void *r, void *privdata)
{
    redis_link_t *l = privdata;
    redis_state_t *st = l->st;
    const redisReply *reply = r;
    const char *kind;

    (void)ac;
    if (reply == NULL || st->destroying)
        return;
    if (reply->type == REDIS_REPLY_ERROR) {
        session_fail(st, "subscribe failed: %s", reply->str);
        return;
    }
    if (reply->type != REDIS_REPLY_ARRAY || reply->elements < 3 ||
        reply->element[0]->type != REDIS_REPLY_STRING)
        return;
    kind = reply->element[0]->str;
    if (strcasecmp(kind, "subscribe") == 0 || strcasecmp(kind, "psubscribe") == 0) {
        if (st->phase == SESSION_CONNECTING && l->subs_pending > 0 && --l->subs_pending == 0) {
            l->step = STEP_READY;
            link_advance(l);
        }
    } else if (strcasecmp(kind, "message") == 0 || strcasecmp(kind, "pmessage") == 0) {
        if (st->phase != SESSION_UP)
            return;
        if (st->reading) {
            st->reread_pending = 1; /* the read in flight may predate the change */
        } else if (!evtimer_pending(st->ev_debounce, NULL)) {
            struct timeval tv = ms_to_tv(DEBOUNCE_MS);
            evtimer_add(st->ev_debounce, &tv);
        }
    }
}

static void on_connect(const redisAsyncContext *ac, int status)
{
    redis_link_t *l = ac->data;
    redis_state_t *st = l->st;

    if (status != REDIS_OK) {
        l->ac = NULL; /* hiredis frees it when we return */
        if (!st->destroying)
            session_fail(st, "%s connection: cannot connect: %s", l->role,
                         ac->c.errstr[0] ? ac->c.errstr : "unknown error");
        return;
    }
    if (st->destroying || st->phase != SESSION_CONNECTING)
        return; /* the teardown timer frees it */
    if (st->host != NULL)
        redisEnableKeepAlive(&l->ac->c); /* notice a peer that vanished */
    l->step = STEP_AUTH;
    link_advance(l);
}

static void on_disconnect(const redisAsyncContext *ac, int status)
{
    redis_link_t *l = ac->data;
    redis_state_t *st = l->st;

    l->ac = NULL; /* hiredis frees it when we return */
    l->ready = 0;
    if (st->destroying)
        return;
    session_fail(st, "%s connection lost: %s", l->role,
                 status == REDIS_OK || ac->c.errstr[0] == '\0' ? "closed" : ac->c.errstr);
}

static int link_open(redis_link_t *l)
{
    redis_state_t *st = l->st;
    redisAsyncContext *ac;

    if (st->host != NULL)
        ac = redisAsyncConnect(st->host, st->port);
    else
        ac = redisAsyncConnectUnix(st->cf->socket);
    if (ac == NULL) {
        session_fail(st, "%s connection: %s", l->role, strerror(ENOMEM));
        return -1;
    }
    if (ac->err) {
        session_fail(st, "%s connection: cannot connect: %s", l->role, ac->c.errstr);
        redisAsyncFree(ac);
        return -1;
    }
    ac->data = l;
    if (redisLibeventAttach(ac, st->base) != REDIS_OK) {
        session_fail(st, "%s connection: cannot attach to the event loop", l->role);
        redisAsyncFree(ac);
        return -1;
    }
    l->ac = ac;
    l->step = STEP_AUTH;
    l->ready = 0;
    l->subs_pending = 0;
    redisAsyncSetConnectCallback(ac, on_connect);
    redisAsyncSetDisconnectCallback(ac, on_disconnect);
    return 0;
}

/* Start a new session: (re)load the password, open the connections, arm the
 * connect timeout.  Never blocks: connect() is non-blocking and the host is
 * numeric. */
static void session_connect(redis_state_t *st)
{
    struct timeval tv = ms_to_tv(st->connect_timeout_ms);

    st->phase = SESSION_CONNECTING;
    evtimer_add(st->ev_connect_timeout, &tv);
    if (st->cf->password_file != NULL) {
        char reason[REASON_LEN];
        char *pw = read_password_file(st->cf->password_file, reason, sizeof(reason));
        if (pw == NULL) {
            session_fail(st, "%s", reason);
            return;
        }
        wipe_free(st->password);
        st->password = pw;
    }
    if (link_open(&st->cmd) != 0)
        return;
    if (st->need_subscriber)
        link_open(&st->sub);
}

static void on_connect_timeout(evutil_socket_t fd, short what, void *arg)
{
    redis_state_t *st = arg;

    (void)fd;
    (void)what;
    if (st->phase == SESSION_CONNECTING)
        session_fail(st, "no session within %" PRId64 " ms (connect_timeout)",
                     st->connect_timeout_ms);
}

/* ---- reading ---------------------------------------------------------------- */

static void read_done(redis_state_t *st)
{
    st->reading = 0;
    evtimer_del(st->ev_read_timeout);
    items_clear(st);
    if (st->reread_pending) {
        st->reread_pending = 0;
        read_start(st);
    }
}

static void read_failed(redis_state_t *st, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void read_failed(redis_state_t *st, const char *fmt, ...)
{
    char detail[REASON_LEN], reason[2 * REASON_LEN];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(detail, sizeof(detail), fmt, ap);
    va_end(ap);
    snprintf(reason, sizeof(reason), "%s: %s", st->where, detail);
    report_failure(st, reason);
    if (!st->reread_pending)
        schedule_retry(st);
    read_done(st);
}

static void read_succeeded(redis_state_t *st, const char *doc, size_t len)
{
    st->attempt = 0;
    evtimer_del(st->ev_retry);
    deliver(st, doc, len);
    read_done(st);
}

static int item_cmp(const void *a, const void *b)
{
    const item_t *x = a, *y = b;
    size_t n = x->name_len < y->name_len ? x->name_len : y->name_len;
    int c = memcmp(x->name, y->name, n);
    if (c != 0)
        return c;
    return x->name_len < y->name_len ? -1 : x->name_len > y->name_len;
}

static int item_add(redis_state_t *st, const char *name, size_t name_len, const char *value,
                    size_t value_len)
{
    item_t *it;

    if (st->nitems == st->cap_items) {
        size_t ncap = st->cap_items ? st->cap_items * 2 : 64;
        item_t *n = realloc(st->items, ncap * sizeof(*n));
        if (n == NULL)
            return -1;
        st->items = n;
        st->cap_items = ncap;
    }
    it = &st->items[st->nitems];
    memset(it, 0, sizeof(*it));
    it->name = malloc(name_len + 1);
    if (it->name == NULL)
        return -1;
    memcpy(it->name, name, name_len);
    it->name[name_len] = '\0';
    it->name_len = name_len;
    if (value != NULL) {
        it->value = malloc(value_len + 1);
        if (it->value == NULL) {
            free(it->name);
            return -1;
        }
        memcpy(it->value, value, value_len);
        it->value[value_len] = '\0';
        it->value_len = value_len;
    }
    st->nitems++;
    return 0;
}

/* Build {"<collection>":[...]} from the sorted items and deliver it. */
static void finish_collection(redis_state_t *st)
{
    const char *kind = st->shape == SHAPE_HASH ? "field" : "key";
    buf_t b = {NULL, 0, 0};
    size_t n = 0;
    char name[96];

    if (buf_append(&b, "{\"", 2) != 0 ||
        buf_append(&b, st->cf->collection, strlen(st->cf->collection)) != 0 ||
        buf_append(&b, "\":[", 3) != 0)
        goto nomem;
    for (size_t i = 0; i < st->nitems; i++) {
        const item_t *it = &st->items[i];
        if (it->value == NULL)
            continue; /* a key that vanished or holds no string */
        const char *problem = one_object_problem(it->value, it->value_len);
        if (problem != NULL) {
            printable(it->name, it->name_len, name, sizeof(name));
            if (st->shape == SHAPE_HASH)
                read_failed(st, "hash %s field %s: %s", st->object, name, problem);
            else
                read_failed(st, "key %s (matching %s): %s", name, st->object, problem);
            free(b.p);
            return;
        }
        if ((n > 0 && buf_append(&b, ",", 1) != 0) || buf_append(&b, it->value, it->value_len) != 0)
            goto nomem;
        n++;
    }
    if (buf_append(&b, "]}", 2) != 0)
        goto nomem;
    if (n == 0 && !st->cf->allow_empty) {
        if (st->shape == SHAPE_HASH)
            read_failed(st, "hash %s is empty or does not exist (allow_empty is off)", st->object);
        else
            read_failed(st, "no string key matches %s (allow_empty is off)", st->object);
        free(b.p);
        return;
    }
    st->api->log(st->src, XDSD_LOG_DEBUG, "read %zu %s%s from %s", n, kind, n == 1 ? "" : "s",
                 st->origin);
    read_succeeded(st, b.p, b.len);
    free(b.p);
    return;

nomem:
    free(b.p);
    read_failed(st, "%s", strerror(ENOMEM));
}

/* Guard shared by the read callbacks: is this reply for the read in
 * progress of a live session? */
static int read_reply_wanted(redis_state_t *st, const redisReply *reply)
{
    return reply != NULL && !st->destroying && st->phase == SESSION_UP && st->reading;
}

static void on_get(redisAsyncContext *ac, void *r, void *privdata)
{
    redis_state_t *st = privdata;
    const redisReply *reply = r;

    (void)ac;
    if (!read_reply_wanted(st, reply))
        return;
    if (reply->type == REDIS_REPLY_STRING)
        read_succeeded(st, reply->str, reply->len);
    else if (reply->type == REDIS_REPLY_NIL)
        read_failed(st, "key %s does not exist", st->object);
    else if (reply->type == REDIS_REPLY_ERROR)
        read_failed(st, "GET %s: %s", st->object, reply->str);
    else
        read_failed(st, "GET %s: unexpected reply type %d", st->object, reply->type);
}

static void on_hgetall(redisAsyncContext *ac, void *r, void *privdata)
{
    redis_state_t *st = privdata;
    const redisReply *reply = r;

    (void)ac;
    if (!read_reply_wanted(st, reply))
        return;
    if (reply->type == REDIS_REPLY_ERROR) {
        read_failed(st, "HGETALL %s: %s", st->object, reply->str);
        return;
    }
    if (reply->type != REDIS_REPLY_ARRAY || reply->elements % 2 != 0) {
        read_failed(st, "HGETALL %s: unexpected reply type %d", st->object, reply->type);
        return;
    }
    for (size_t i = 0; i < reply->elements; i += 2) {
        const redisReply *f = reply->element[i], *v = reply->element[i + 1];
        if (f->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING)
            continue;
        if (item_add(st, f->str, f->len, v->str, v->len) != 0) {
            read_failed(st, "%s", strerror(ENOMEM));
            return;
        }
    }
    if (st->nitems > 1)
        qsort(st->items, st->nitems, sizeof(*st->items), item_cmp);
    finish_collection(st);
}

static void on_scan(redisAsyncContext *ac, void *r, void *privdata);
static void on_mget(redisAsyncContext *ac, void *r, void *privdata);

static void send_scan(redis_state_t *st, const char *cursor)
{
    const char *argv[6] = {"SCAN", cursor, "MATCH", st->object, "COUNT", SCAN_COUNT};
    size_t argvlen[6];

    for (int i = 0; i < 6; i++)
        argvlen[i] = strlen(argv[i]);
    st->read_command = "SCAN";
    if (redisAsyncCommandArgv(st->cmd.ac, on_scan, st, 6, argv, argvlen) != REDIS_OK)
        session_fail(st, "command connection: cannot send SCAN");
}

static void send_mget(redis_state_t *st)
{
    size_t n = st->nitems - st->mget_next;
    const char **argv;
    size_t *argvlen;
    int rc;

    if (n > MGET_BATCH)
        n = MGET_BATCH;
    argv = malloc((n + 1) * sizeof(*argv));
    argvlen = malloc((n + 1) * sizeof(*argvlen));
    if (argv == NULL || argvlen == NULL) {
        free(argv);
        free(argvlen);
        read_failed(st, "%s", strerror(ENOMEM));
        return;
    }
    argv[0] = "MGET";
    argvlen[0] = 4;
    for (size_t i = 0; i < n; i++) {
        argv[i + 1] = st->items[st->mget_next + i].name;
        argvlen[i + 1] = st->items[st->mget_next + i].name_len;
    }
    st->read_command = "MGET";
    rc = redisAsyncCommandArgv(st->cmd.ac, on_mget, st, (int)n + 1, argv, argvlen);
    free(argv);
    free(argvlen);
    if (rc != REDIS_OK)
        session_fail(st, "command connection: cannot send MGET");
}

static void on_scan(redisAsyncContext *ac, void *r, void *privdata)
{
    redis_state_t *st = privdata;
    const redisReply *reply = r, *cursor, *keys;
    size_t out = 0;

    (void)ac;
    if (!read_reply_wanted(st, reply))
        return;
    if (reply->type == REDIS_REPLY_ERROR) {
        read_failed(st, "SCAN MATCH %s: %s", st->object, reply->str);
        return;
    }
    if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 2 ||
        reply->element[0]->type != REDIS_REPLY_STRING ||
        reply->element[1]->type != REDIS_REPLY_ARRAY) {
        read_failed(st, "SCAN MATCH %s: unexpected reply", st->object);
        return;
    }
    cursor = reply->element[0];
    keys = reply->element[1];
    for (size_t i = 0; i < keys->elements; i++) {
        const redisReply *k = keys->element[i];
        if (k->type == REDIS_REPLY_STRING && item_add(st, k->str, k->len, NULL, 0) != 0) {
            read_failed(st, "%s", strerror(ENOMEM));
            return;
        }
    }
    if (strcmp(cursor->str, "0") != 0) {
        send_scan(st, cursor->str);
        return;
    }
    /* SCAN may return a key more than once: sort and drop duplicates. */
    if (st->nitems > 1)
        qsort(st->items, st->nitems, sizeof(*st->items), item_cmp);
    for (size_t i = 0; i < st->nitems; i++) {
        if (out > 0 && item_cmp(&st->items[out - 1], &st->items[i]) == 0) {
            free(st->items[i].name);
            continue;
        }
        st->items[out++] = st->items[i];
    }
    st->nitems = out;
    st->mget_next = 0;
    if (st->nitems == 0)
        finish_collection(st);
    else
        send_mget(st);
}

static void on_mget(redisAsyncContext *ac, void *r, void *privdata)
{
    redis_state_t *st = privdata;
    const redisReply *reply = r;

    (void)ac;
    if (!read_reply_wanted(st, reply))
        return;
    if (reply->type == REDIS_REPLY_ERROR) {
        read_failed(st, "MGET (keys matching %s): %s", st->object, reply->str);
        return;
    }
    if (reply->type != REDIS_REPLY_ARRAY || st->mget_next + reply->elements > st->nitems) {
        read_failed(st, "MGET (keys matching %s): unexpected reply", st->object);
        return;
    }
    for (size_t i = 0; i < reply->elements; i++) {
        const redisReply *v = reply->element[i];
        item_t *it = &st->items[st->mget_next + i];
        if (v->type != REDIS_REPLY_STRING)
            continue; /* deleted since SCAN, or not a string */
        it->value = malloc(v->len + 1);
        if (it->value == NULL) {
            read_failed(st, "%s", strerror(ENOMEM));
            return;
        }
        memcpy(it->value, v->str, v->len);
        it->value[v->len] = '\0';
        it->value_len = v->len;
    }
    st->mget_next += reply->elements;
    if (st->mget_next < st->nitems)
        send_mget(st);
    else
        finish_collection(st);
}

/* Begin a read of the model on the command connection, or remember that
 * one is wanted when a read is already in flight. */
static void read_start(redis_state_t *st)
{
    struct timeval tv = ms_to_tv(st->read_timeout_ms);
    int rc;

    if (st->phase != SESSION_UP)
        return;
    if (st->reading) {
        st->reread_pending = 1;
        return;
    }
    evtimer_del(st->ev_debounce); /* this read sees whatever it announced */
    evtimer_del(st->ev_retry);    /* while up, a pending retry is a read retry */
    st->reading = 1;
    st->reread_pending = 0;
    items_clear(st);
    evtimer_add(st->ev_read_timeout, &tv);
    switch (st->shape) {
    case SHAPE_KEY:
        st->read_command = "GET";
        rc = redisAsyncCommand(st->cmd.ac, on_get, st, "GET %s", st->object);
        break;
    case SHAPE_HASH:
        st->read_command = "HGETALL";
        rc = redisAsyncCommand(st->cmd.ac, on_hgetall, st, "HGETALL %s", st->object);
        break;
    default:
        send_scan(st, "0");
        return;
    }
    if (rc != REDIS_OK)
        session_fail(st, "command connection: cannot send %s", st->read_command);
}

static void on_read_timeout(evutil_socket_t fd, short what, void *arg)
{
    redis_state_t *st = arg;

    (void)fd;
    (void)what;
    if (st->phase == SESSION_UP && st->reading)
        session_fail(st, "no reply to %s within %" PRId64 " ms (read_timeout)", st->read_command,
                     st->read_timeout_ms);
}

static void on_retry(evutil_socket_t fd, short what, void *arg)
{
    redis_state_t *st = arg;

    (void)fd;
    (void)what;
    if (st->phase == SESSION_DOWN)
        session_connect(st);
    else if (st->phase == SESSION_UP)
        read_start(st);
}

static void on_interval(evutil_socket_t fd, short what, void *arg)
{
    redis_state_t *st = arg;

    (void)fd;
    (void)what;
    if (!st->reading)   /* a read in flight is fresh enough */
        read_start(st); /* only when the session is up; reconnects have ev_retry */
}

static void on_debounce(evutil_socket_t fd, short what, void *arg)
{
    redis_state_t *st = arg;

    (void)fd;
    (void)what;
    read_start(st);
}

/* ---- life cycle ------------------------------------------------------------- */

/* Parse "A.B.C.D:PORT" or "[v6]:PORT" into a malloc'd host and a port.
 * Host names are refused: hiredis would resolve them synchronously. */
static int parse_address(const char *addr, char **host, int *port, char *err, size_t errlen)
{
    const char *colon, *hstart, *hend;
    unsigned char bin[16];
    char *h, *end;
    long p;

    if (addr[0] == '[') {
        hstart = addr + 1;
        hend = strchr(addr, ']');
        if (hend == NULL || hend[1] != ':') {
            snprintf(err, errlen, "address \"%s\": expected [IPv6]:PORT", addr);
            return -1;
        }
        colon = hend + 1;
    } else {
        hstart = addr;
        colon = strrchr(addr, ':');
        if (colon == NULL) {
            snprintf(err, errlen, "address \"%s\": expected HOST:PORT", addr);
            return -1;
        }
        hend = colon;
    }
    errno = 0;
    p = strtol(colon + 1, &end, 10);
    if (colon[1] == '\0' || *end != '\0' || errno != 0 || p < 1 || p > 65535) {
        snprintf(err, errlen, "address \"%s\": invalid port", addr);
        return -1;
    }
    h = strndup(hstart, (size_t)(hend - hstart));
    if (h == NULL) {
        snprintf(err, errlen, "%s", strerror(ENOMEM));
        return -1;
    }
    if (inet_pton(addr[0] == '[' ? AF_INET6 : AF_INET, h, bin) != 1) {
        snprintf(err, errlen,
                 "address \"%s\": \"%s\" is not a numeric IP address (hiredis would resolve a "
                 "name synchronously and block the event loop; use an IP address or socket)",
                 addr, h);
        free(h);
        return -1;
    }
    *host = h;
    *port = (int)p;
    return 0;
}

static int collection_name_ok(const char *s)
{
    if (s == NULL || *s == '\0')
        return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              *s == '_' || *s == '-' || *s == '.'))
            return 0;
    return 1;
}

static void state_free(redis_state_t *st)
{
    if (st == NULL)
        return;
    free(st->host);
    free(st->where);
    free(st->origin);
    free(st->keyspace_channel);
    wipe_free(st->password);
    items_clear(st);
    free(st->items);
    free(st->accepted);
    free(st->refused);
    free(st);
}

/* Validate the conf and allocate the state; no network I/O (a password_file
 * is read, to report a missing one at `xdsd -t`). */
static int redis_create(const xdsd_host_api_t *api, xdsd_source_t *src, const void *conf,
                        void **state, char *err, size_t errlen)
{
    const redis_conf_t *cf = conf;
    redis_state_t *st = NULL;
    int shapes = (cf->key != NULL) + (cf->hash != NULL) + (cf->pattern != NULL);
    const char *kind;
    struct timespec now;

    if (api == NULL || api->size < offsetof(xdsd_host_api_t, unchanged)) {
        snprintf(err, errlen, "host api table too small for this plugin");
        return XDSD_ERROR;
    }
    if ((cf->address != NULL) == (cf->socket != NULL)) {
        snprintf(err, errlen, "exactly one of \"address\" and \"socket\" is required");
        return XDSD_ERROR;
    }
    if (shapes != 1) {
        snprintf(err, errlen, "exactly one of \"key\", \"hash\" and \"pattern\" is required");
        return XDSD_ERROR;
    }
    if ((cf->key && !cf->key[0]) || (cf->hash && !cf->hash[0]) ||
        (cf->pattern && !cf->pattern[0])) {
        snprintf(err, errlen, "the key, hash or pattern must not be empty");
        return XDSD_ERROR;
    }
    if (cf->key != NULL && cf->collection != NULL) {
        snprintf(err, errlen, "\"collection\" goes with \"hash\" or \"pattern\", not \"key\"");
        return XDSD_ERROR;
    }
    if (cf->key == NULL && !collection_name_ok(cf->collection)) {
        snprintf(err, errlen,
                 "\"%s\" needs \"collection NAME;\" (letters, digits, _ - .), e.g. "
                 "collection services;",
                 cf->hash ? "hash" : "pattern");
        return XDSD_ERROR;
    }
    if (cf->key != NULL && cf->allow_empty) {
        snprintf(err, errlen, "\"allow_empty\" applies to \"hash\" and \"pattern\" only");
        return XDSD_ERROR;
    }
    if (cf->password != NULL && cf->password_file != NULL) {
        snprintf(err, errlen, "\"password\" and \"password_file\" exclude each other");
        return XDSD_ERROR;
    }
    if (cf->password != NULL && cf->password[0] == '\0') {
        snprintf(err, errlen, "\"password\" must not be empty");
        return XDSD_ERROR;
    }
    if (cf->user != NULL && cf->password == NULL && cf->password_file == NULL) {
        snprintf(err, errlen, "\"user\" needs \"password\" or \"password_file\"");
        return XDSD_ERROR;
    }
    if (cf->database < 0 || cf->database > INT_MAX) {
        snprintf(err, errlen, "database must be 0 or more");
        return XDSD_ERROR;
    }
    if (cf->interval < 0 || cf->max_backoff < 0 || cf->connect_timeout < 0 ||
        cf->read_timeout < 0) {
        snprintf(err, errlen, "durations must be greater than 0");
        return XDSD_ERROR;
    }
    for (char **c = cf->channel; c != NULL && *c != NULL; c++) {
        if ((*c)[0] == '\0') {
            snprintf(err, errlen, "\"channel\" must not be empty");
            return XDSD_ERROR;
        }
    }

    st = calloc(1, sizeof(*st));
    if (st == NULL)
        goto nomem;
    st->api = api;
    st->src = src;
    st->cf = cf;
    st->phase = SESSION_DOWN;
    st->database = (int)cf->database;
    st->interval_ms = cf->interval > 0 ? cf->interval : DEFAULT_INTERVAL_MS;
    st->max_backoff_ms = cf->max_backoff > 0 ? cf->max_backoff : DEFAULT_MAX_BACKOFF_MS;
    st->connect_timeout_ms =
        cf->connect_timeout > 0 ? cf->connect_timeout : DEFAULT_CONNECT_TIMEOUT_MS;
    st->read_timeout_ms = cf->read_timeout > 0 ? cf->read_timeout : DEFAULT_READ_TIMEOUT_MS;
    if (st->max_backoff_ms < INITIAL_BACKOFF_MS)
        st->max_backoff_ms = INITIAL_BACKOFF_MS;
    st->cmd.st = st->sub.st = st;
    st->cmd.role = "command";
    st->sub.role = "subscriber";
    clock_gettime(CLOCK_MONOTONIC, &now);
    st->rng = ((uint64_t)now.tv_nsec << 20) ^ (uint64_t)now.tv_sec ^ (uint64_t)getpid() ^
              (uint64_t)(uintptr_t)st;
    if (st->rng == 0)
        st->rng = 0x9E3779B97F4A7C15ull;

    if (cf->key != NULL) {
        st->shape = SHAPE_KEY;
        st->object = cf->key;
        kind = "key";
    } else if (cf->hash != NULL) {
        st->shape = SHAPE_HASH;
        st->object = cf->hash;
        kind = "hash";
    } else {
        st->shape = SHAPE_PATTERN;
        st->object = cf->pattern;
        kind = "keys matching";
    }

    if (cf->address != NULL) {
        if (parse_address(cf->address, &st->host, &st->port, err, errlen) != 0) {
            state_free(st);
            return XDSD_ERROR;
        }
        st->where = xasprintf("redis %s db %d", cf->address, st->database);
    } else {
        st->where = xasprintf("redis unix:%s db %d", cf->socket, st->database);
    }
    if (st->where == NULL)
        goto nomem;
    st->origin = xasprintf("%s %s %s", st->where, kind, st->object);
    if (st->origin == NULL)
        goto nomem;
    if (cf->keyspace_events) {
        st->keyspace_channel = xasprintf("__keyspace@%d__:%s", st->database, st->object);
        if (st->keyspace_channel == NULL)
            goto nomem;
    }
    st->need_subscriber = cf->keyspace_events || (cf->channel != NULL && cf->channel[0] != NULL);

    if (cf->password != NULL) {
        st->password = strdup(cf->password);
        if (st->password == NULL)
            goto nomem;
    } else if (cf->password_file != NULL) {
        st->password = read_password_file(cf->password_file, err, errlen);
        if (st->password == NULL) {
            state_free(st);
            return XDSD_ERROR;
        }
    }

    *state = st;
    return XDSD_OK;

nomem:
    state_free(st);
    snprintf(err, errlen, "%s", strerror(ENOMEM));
    return XDSD_ERROR;
}

static void free_events(redis_state_t *st)
{
    struct event **evs[] = {&st->ev_retry,    &st->ev_connect_timeout, &st->ev_read_timeout,
                            &st->ev_interval, &st->ev_debounce,        &st->ev_teardown};

    for (size_t i = 0; i < sizeof(evs) / sizeof(evs[0]); i++) {
        if (*evs[i] != NULL)
            event_free(*evs[i]);
        *evs[i] = NULL;
    }
}

/* Create the timers and start the first session.  Connection problems are
 * reported with api->failed() and retried, not returned as errors. */
static int redis_start(void *state, char *err, size_t errlen)
{
    redis_state_t *st = state;
    struct timeval tv;

    st->base = st->api->event_base(st->src);
    st->ev_retry = evtimer_new(st->base, on_retry, st);
    st->ev_connect_timeout = evtimer_new(st->base, on_connect_timeout, st);
    st->ev_read_timeout = evtimer_new(st->base, on_read_timeout, st);
    st->ev_interval = event_new(st->base, -1, EV_PERSIST, on_interval, st);
    st->ev_debounce = evtimer_new(st->base, on_debounce, st);
    st->ev_teardown = evtimer_new(st->base, on_teardown, st);
    if (st->ev_retry == NULL || st->ev_connect_timeout == NULL || st->ev_read_timeout == NULL ||
        st->ev_interval == NULL || st->ev_debounce == NULL || st->ev_teardown == NULL)
        goto failed;
    tv = ms_to_tv(st->interval_ms);
    if (event_add(st->ev_interval, &tv) != 0)
        goto failed;
    session_connect(st);
    return XDSD_OK;

failed:
    snprintf(err, errlen, "cannot set up events for %s", st->where);
    free_events(st);
    return XDSD_ERROR;
}

/* Free the timers first (nothing fires any more), then the connections:
 * hiredis runs their pending callbacks with NULL replies and their
 * disconnect callbacks, which see `destroying` and only forget the context. */
static void redis_destroy(void *state)
{
    redis_state_t *st = state;

    if (st == NULL)
        return;
    st->destroying = 1;
    free_events(st);
    link_close(&st->cmd);
    link_close(&st->sub);
    state_free(st);
}
