/*
 * http.c -- the `http` source plugin: poll a URL for a JSON model document.
 *
 *     source inventory {
 *         plugin            http;
 *         url               http://10.0.0.7:8080/xds/model.json;   # required
 *         interval          10s;      # default 10s
 *         timeout           5s;       # default 5s, for the whole request
 *         max_size          64m;      # default 64m
 *         header            "X-Tenant: edge";                      # repeatable
 *         bearer_token_file /run/secrets/inventory-token;
 *         max_backoff       30s;      # default 30s
 *     }
 *
 * Why it looks the way it does: a configuration API is polled by every
 * replica of xdsd, so a poll that finds nothing new must be cheap for both
 * sides.  The plugin remembers the ETag and Last-Modified of the last 200
 * whose body the core ACCEPTED and sends them back as If-None-Match and
 * If-Modified-Since; a 304 is reported with api->unchanged().  A 200 whose
 * body is byte-for-byte what the core already holds (a server without
 * validators) is reported the same way instead of being published again.
 * Validators of a refused body are never remembered: the server must not be
 * able to make us believe that a broken document is "not modified".
 *
 * Everything runs on the host's event loop with libevent's HTTP client:
 * one evhttp_connection per source (kept alive when the server allows it),
 * at most one request in flight, a host name resolved asynchronously with
 * evdns (numeric IPv4/IPv6 hosts skip the resolver).  The timeout bounds
 * the WHOLE request -- connect, headers and body -- with a timer of our own,
 * so a server that trickles one byte a second cannot hold the source
 * forever; when it fires the connection is freed, which cancels the request
 * without running its callbacks.  evhttp's own per-operation timeout is set
 * a second longer so that ours is the one that reports.  max_size is
 * enforced by evhttp while it reads (evhttp_connection_set_max_body_size):
 * a Content-Length over the limit fails before the body is read, and a
 * chunked or read-until-close body fails as soon as it crosses the limit.
 *
 * A failed refresh (connection error, timeout, non-2xx status, oversize
 * body, a body the core refuses) is reported with api->failed() and the
 * core keeps serving the last good document.  The next attempt comes after
 * an exponential backoff with full jitter (100 ms doubling, capped by
 * max_backoff and by interval: a failing source is retried sooner than
 * interval, never later); after a success polling returns to interval,
 * measured from the start of one request to the start of the next.  After
 * a failure the next request opens a fresh connection.
 *
 * Secrets: the bearer token is read from bearer_token_file before every
 * request (so a rotated token is picked up without a reload), sent as
 * `Authorization: Bearer ...`, wiped from our memory after use, and never
 * written to a log line or an error message; neither are the values of
 * `header` directives.  A URL with user:password@ is refused for the same
 * reason: the URL appears in every log line of the source.
 *
 * Limitations: plain http only (no TLS); redirects are not followed (a 3xx
 * other than 304 is a failure); a host name is connected to at the first
 * address the resolver returns (no fallback to the next one).
 *
 * Environment: XDSD_HTTP_RESOLV_CONF=PATH makes the resolver read PATH
 * instead of /etc/resolv.conf (the integration tests point it at a DNS
 * server of their own).
 *
 * All state lives in the per-instance struct: several `source` blocks can
 * use this plugin at the same time.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdarg.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/dns.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/util.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

#include "xdsd_plugin.h"

#define HTTP_PLUGIN_VERSION "1.0.0"

#define DEFAULT_INTERVAL_MS    10000
#define DEFAULT_TIMEOUT_MS     5000
#define DEFAULT_MAX_BACKOFF_MS 30000
#define DEFAULT_MAX_SIZE       ((int64_t)64 * 1024 * 1024)
#define BACKOFF_BASE_MS        100
#define BACKOFF_MIN_MS         10
#define MAX_HEADERS_SIZE       65536 /* all response header lines together */
#define MAX_TOKEN_SIZE         16384
#define MAX_VALIDATOR_LEN      1024 /* longer ETag / Last-Modified are not kept */
#define REASON_LEN             512

/* Filled by the host from the directive table below. */
typedef struct {
    char *url;               /* borrowed from the host; required */
    int64_t interval;        /* ms; 0 = not set */
    int64_t timeout;         /* ms; 0 = not set */
    int64_t max_size;        /* bytes; 0 = not set */
    char **headers;          /* NULL-terminated, or NULL when none */
    char *bearer_token_file; /* NULL when not set */
    int64_t max_backoff;     /* ms; 0 = not set */
} http_conf_t;

/* One `header "Name: value";` directive, split. */
typedef struct {
    char *name;  /* owned */
    char *value; /* owned; may be a secret: never logged */
} http_header_t;

typedef struct {
    const xdsd_host_api_t *api; /* borrowed */
    xdsd_source_t *src;         /* borrowed */
    const char *url;            /* borrowed from the conf */
    const char *token_file;     /* borrowed from the conf; NULL when not set */
    char *origin;               /* owned: "GET <url>", for publish and reasons */
    char *host;                 /* owned: host to connect to, IPv6 without brackets */
    char *host_header;          /* owned: value of the Host header */
    char *target;               /* owned: path and query sent in the request line */
    int port;
    int numeric_host; /* host is an IPv4/IPv6 literal: no resolver needed */

    int64_t interval_ms;
    int64_t timeout_ms;
    int64_t max_size;
    int64_t max_backoff_ms;
    http_header_t *headers; /* owned array of nheaders */
    size_t nheaders;
    int user_sets_host; /* a `header` directive names Host */

    struct event_base *base;        /* borrowed from the host */
    struct evdns_base *dns;         /* owned; NULL for a numeric host */
    struct evhttp_connection *conn; /* owned; NULL until the first request */
    struct evhttp_request *req;     /* in flight (owned by libevent), or NULL */
    struct event *ev_poll;          /* owned: next request */
    struct event *ev_deadline;      /* owned: timeout of the request in flight */
    struct timespec req_started;    /* CLOCK_MONOTONIC */
    int drop_conn;                  /* open a fresh connection for the next request */

    /* What libevent told us about the request in flight. */
    int got_headers;
    int status;
    int req_error; /* enum evhttp_request_error + 1; 0 when error_cb did not run */
    int req_errno;

    /* Validators and content hash of the last document the core accepted. */
    char *etag;          /* owned, or NULL */
    char *last_modified; /* owned, or NULL */
    int have_accepted;
    uint64_t acc_hash;
    size_t acc_len;
    int core_failing; /* the core's last news from us was a failure */

    unsigned failures; /* consecutive failures, for the backoff */
    uint64_t rng;
} http_state_t;

static int http_create(const xdsd_host_api_t *api, xdsd_source_t *src, const void *conf,
                       void **state, char *err, size_t errlen);
static int http_start(void *state, char *err, size_t errlen);
static void http_destroy(void *state);

static const xdsd_directive_t http_directives[] = {
    {"url", XDSD_ARG_STRING, offsetof(http_conf_t, url), XDSD_DIRECTIVE_REQUIRED},
    {"interval", XDSD_ARG_DURATION, offsetof(http_conf_t, interval), 0},
    {"timeout", XDSD_ARG_DURATION, offsetof(http_conf_t, timeout), 0},
    {"max_size", XDSD_ARG_SIZE, offsetof(http_conf_t, max_size), 0},
    {"header", XDSD_ARG_STRING_LIST, offsetof(http_conf_t, headers), 0},
    {"bearer_token_file", XDSD_ARG_PATH, offsetof(http_conf_t, bearer_token_file), 0},
    {"max_backoff", XDSD_ARG_DURATION, offsetof(http_conf_t, max_backoff), 0},
    {NULL, 0, 0, 0},
};

XDSD_PLUGIN_EXPORT const xdsd_plugin_t xdsd_plugin_entry = {
    .magic = XDSD_PLUGIN_MAGIC,
    .abi_major = XDSD_PLUGIN_ABI_MAJOR,
    .abi_minor = XDSD_PLUGIN_ABI_MINOR,
    .size = sizeof(xdsd_plugin_t),
    .name = "http",
    .version = HTTP_PLUGIN_VERSION,
    .directives = http_directives,
    .conf_size = sizeof(http_conf_t),
    .create = http_create,
    .start = http_start,
    .destroy = http_destroy,
};

/* ---- small helpers ------------------------------------------------------ */

/* Content hash for "did it change": XXH3-64 (xxhash's header, inlined). */
static uint64_t content_hash(const char *p, size_t len)
{
    return XXH3_64bits(p, len);
}

/* xorshift64*: jitter only, not for secrets. */
static uint64_t next_random(http_state_t *st)
{
    st->rng ^= st->rng >> 12;
    st->rng ^= st->rng << 25;
    st->rng ^= st->rng >> 27;
    return st->rng * 0x2545F4914F6CDD1Dull;
}

static struct timeval ms_to_tv(int64_t ms)
{
    struct timeval tv;
    tv.tv_sec = (time_t)(ms / 1000);
    tv.tv_usec = (suseconds_t)((ms % 1000) * 1000);
    return tv;
}

static int64_t monotonic_ms_since(const struct timespec *t0)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (int64_t)(now.tv_sec - t0->tv_sec) * 1000 + (now.tv_nsec - t0->tv_nsec) / 1000000;
}

/* "5s" for whole seconds, "1500ms" otherwise. */
static const char *format_duration(int64_t ms, char *buf, size_t len)
{
    if (ms % 1000 == 0)
        snprintf(buf, len, "%" PRId64 "s", ms / 1000);
    else
        snprintf(buf, len, "%" PRId64 "ms", ms);
    return buf;
}

/* Overwrite memory that held a secret; not optimized away. */
static void wipe(void *p, size_t len)
{
    if (p != NULL)
        explicit_bzero(p, len);
}

static void free_secret_string(char *s)
{
    if (s != NULL) {
        wipe(s, strlen(s));
        free(s);
    }
}

/* RFC 9110 token characters (header names). */
static int is_token_char(int c)
{
    return c > 0x20 && c < 0x7f && strchr("\"(),/:;<=>?@[\\]{}", c) == NULL;
}

/* Printable ASCII and HTAB: what may go into a header value we send. */
static int is_field_value(const char *s)
{
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if ((c < 0x20 && c != '\t') || c == 0x7f)
            return 0;
    }
    return 1;
}

/* Copy at most len-1 bytes of s into buf for a log line, replacing control
 * characters (a status reason phrase comes from the server). */
static const char *sanitized(const char *s, char *buf, size_t len)
{
    size_t i = 0;

    if (s == NULL)
        s = "";
    for (; *s && i + 1 < len; s++)
        buf[i++] = ((unsigned char)*s < 0x20 || (unsigned char)*s == 0x7f) ? '?' : *s;
    buf[i] = '\0';
    return buf;
}

/* ---- outcome of a refresh ---------------------------------------------- */

/* Arm the poll timer to fire in delay_ms. */
static void schedule_poll(http_state_t *st, int64_t delay_ms)
{
    struct timeval tv = ms_to_tv(delay_ms > 0 ? delay_ms : 0);
    evtimer_add(st->ev_poll, &tv);
}

/* A refresh succeeded: back to the regular interval, counted from the
 * start of the request that just finished. */
static void refresh_succeeded(http_state_t *st)
{
    st->failures = 0;
    schedule_poll(st, st->interval_ms - monotonic_ms_since(&st->req_started));
}

/* Backoff delay after the n-th consecutive failure: uniform in
 * [BACKOFF_MIN_MS, min(100 ms * 2^(n-1), max_backoff, interval)]. */
static int64_t backoff_ms(http_state_t *st)
{
    int64_t ceiling = BACKOFF_BASE_MS;
    unsigned i;

    for (i = 1; i < st->failures && ceiling < st->max_backoff_ms; i++)
        ceiling *= 2;
    if (ceiling > st->max_backoff_ms)
        ceiling = st->max_backoff_ms;
    if (ceiling > st->interval_ms)
        ceiling = st->interval_ms;
    if (ceiling <= BACKOFF_MIN_MS)
        return ceiling;
    return BACKOFF_MIN_MS + (int64_t)(next_random(st) % (uint64_t)(ceiling - BACKOFF_MIN_MS + 1));
}

/* A refresh failed (reason already reported, or the core refused the
 * body): retry with backoff, on a fresh connection. */
static void refresh_failed(http_state_t *st)
{
    st->failures++;
    st->core_failing = 1;
    st->drop_conn = 1;
    schedule_poll(st, backoff_ms(st));
}

/* Report a failure "GET <url>: <what>" to the core and schedule the retry. */
static void fail(http_state_t *st, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void fail(http_state_t *st, const char *fmt, ...)
{
    char what[REASON_LEN], reason[REASON_LEN + 256];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    snprintf(reason, sizeof(reason), "%s: %s", st->origin, what);
    st->api->failed(st->src, reason);
    refresh_failed(st);
}

static void report_unchanged(http_state_t *st)
{
    if (st->api->abi_minor >= 1 && st->api->unchanged != NULL)
        st->api->unchanged(st->src);
    st->core_failing = 0;
}

/* Replace *slot with a copy of value (NULL, empty or implausibly long
 * values clear it). */
static void keep_validator(char **slot, const char *value)
{
    free(*slot);
    *slot = NULL;
    if (value != NULL && value[0] != '\0' && strlen(value) <= MAX_VALIDATOR_LEN &&
        is_field_value(value))
        *slot = strdup(value); /* NULL on ENOMEM: only costs a full response */
}

/* ---- the request --------------------------------------------------------- */

/* Free the connection (and with it any request in flight, whose callbacks
 * do not run).  Never call from inside an evhttp callback. */
static void drop_connection(http_state_t *st)
{
    if (st->conn != NULL)
        evhttp_connection_free(st->conn);
    st->conn = NULL;
    st->req = NULL;
    st->drop_conn = 0;
}

/* Why the request without a response failed, from what libevent left us:
 * the resolver's error, the error_cb code, or errno. */
static void describe_transport_error(http_state_t *st, char *buf, size_t len)
{
    char dur[32];
    int dns_err = 0;
    int e = st->req_errno;

    if (st->conn != NULL) {
        struct bufferevent *bev = evhttp_connection_get_bufferevent(st->conn);
        if (bev != NULL)
            dns_err = bufferevent_socket_get_dns_error(bev);
    }
    if (dns_err != 0) {
        snprintf(buf, len, "cannot resolve %s: %s", st->host, evutil_gai_strerror(dns_err));
        return;
    }
    switch (st->req_error - 1) {
    case EVREQ_HTTP_TIMEOUT:
        snprintf(buf, len, "timed out after %s", format_duration(st->timeout_ms, dur, sizeof(dur)));
        return;
    case EVREQ_HTTP_DATA_TOO_LONG:
        if (st->got_headers)
            snprintf(buf, len, "body over max_size %" PRId64 " bytes", st->max_size);
        else
            snprintf(buf, len, "response headers over %d bytes", MAX_HEADERS_SIZE);
        return;
    case EVREQ_HTTP_INVALID_HEADER:
        snprintf(buf, len, "malformed HTTP response%s", st->got_headers ? " body" : " header");
        return;
    case EVREQ_HTTP_EOF:
        if (e == ECONNRESET || e == EPIPE || e == ECONNREFUSED || e == EHOSTUNREACH ||
            e == ENETUNREACH || e == ETIMEDOUT || e == ECONNABORTED)
            snprintf(buf, len, "%s:%d: %s%s", st->host, st->port,
                     st->got_headers ? "while reading the body: " : "", strerror(e));
        else
            snprintf(buf, len, "connection closed by %s:%d before the response was complete",
                     st->host, st->port);
        return;
    case EVREQ_HTTP_BUFFER_ERROR:
        snprintf(buf, len, "I/O error: %s", e ? strerror(e) : "unknown");
        return;
    default:
        break;
    }
    /* No error_cb: evhttp gave up connecting.  Its clean-up path has
     * usually overwritten errno with the result of shutdown(); the only
     * connect failure it reports this way is a refused connection. */
    if (e != 0 && e != ENOTCONN && e != EINPROGRESS && e != EAGAIN && e != EBADF)
        snprintf(buf, len, "cannot connect to %s:%d: %s", st->host, st->port, strerror(e));
    else
        snprintf(buf, len, "cannot connect to %s:%d: %s", st->host, st->port,
                 strerror(ECONNREFUSED));
}

/* The request is over: stop its deadline. */
static void request_done(http_state_t *st)
{
    st->req = NULL;
    evtimer_del(st->ev_deadline);
}

/* A 200: publish the body unless the core already holds these bytes. */
static void handle_ok(http_state_t *st, struct evhttp_request *req)
{
    struct evbuffer *body = evhttp_request_get_input_buffer(req);
    struct evkeyvalq *headers = evhttp_request_get_input_headers(req);
    size_t len = body != NULL ? evbuffer_get_length(body) : 0;
    const char *data = "";
    uint64_t h;

    if (len > 0) {
        data = (const char *)evbuffer_pullup(body, -1);
        if (data == NULL) {
            fail(st, "%s", strerror(ENOMEM));
            return;
        }
    }
    h = content_hash(data, len);
    if (!st->core_failing && st->have_accepted && h == st->acc_hash && len == st->acc_len) {
        st->api->log(st->src, XDSD_LOG_DEBUG, "%s: %d, body unchanged (%zu bytes)", st->origin,
                     st->status, len);
        keep_validator(&st->etag, evhttp_find_header(headers, "ETag"));
        keep_validator(&st->last_modified, evhttp_find_header(headers, "Last-Modified"));
        report_unchanged(st);
        refresh_succeeded(st);
        return;
    }
    if (st->api->publish(st->src, data, len, st->origin) != XDSD_OK) {
        /* The core has logged why; its validators are not remembered, so
         * the server is asked again for the full document. */
        refresh_failed(st);
        return;
    }
    st->have_accepted = 1;
    st->acc_hash = h;
    st->acc_len = len;
    st->core_failing = 0;
    keep_validator(&st->etag, evhttp_find_header(headers, "ETag"));
    keep_validator(&st->last_modified, evhttp_find_header(headers, "Last-Modified"));
    refresh_succeeded(st);
}

/* evhttp: the response is complete (req != NULL with a status), or the
 * request failed (req == NULL after error_cb; or req with status 0 when the
 * connection could not be made).  May run synchronously inside
 * evhttp_make_request().  libevent frees req after we return. */
static void on_response(struct evhttp_request *req, void *arg)
{
    http_state_t *st = arg;
    char reason[REASON_LEN], line[128];
    int saved_errno = errno;
    int code;

    if (st->req == NULL)
        return; /* not ours any more (cannot happen: freed requests stay silent) */
    request_done(st);
    if (st->req_errno == 0)
        st->req_errno = saved_errno;

    code = req != NULL ? evhttp_request_get_response_code(req) : 0;
    if (code == 0) {
        describe_transport_error(st, reason, sizeof(reason));
        fail(st, "%s", reason);
        return;
    }
    st->status = code;
    if (code == 304) {
        if (!st->have_accepted || (st->etag == NULL && st->last_modified == NULL)) {
            fail(st, "HTTP 304 Not Modified to a request that was not conditional");
            return;
        }
        st->api->log(st->src, XDSD_LOG_DEBUG, "%s: 304 Not Modified", st->origin);
        report_unchanged(st);
        refresh_succeeded(st);
        return;
    }
    if (code < 200 || code > 299) {
        fail(st, "HTTP %d %s", code,
             sanitized(evhttp_request_get_response_code_line(req), line, sizeof(line)));
        return;
    }
    handle_ok(st, req);
}

/* evhttp: the status line and headers have arrived. */
static int on_headers(struct evhttp_request *req, void *arg)
{
    http_state_t *st = arg;

    st->got_headers = 1;
    st->status = evhttp_request_get_response_code(req);
    return 0;
}

/* evhttp: the request failed with `error`; on_response(NULL) follows. */
static void on_request_error(enum evhttp_request_error error, void *arg)
{
    http_state_t *st = arg;

    st->req_errno = errno;
    st->req_error = (int)error + 1;
}

/* Our timeout for the whole request. */
static void on_deadline(evutil_socket_t fd, short what, void *arg)
{
    http_state_t *st = arg;
    struct bufferevent *bev;
    char dur[32];
    int resolving = 0;

    (void)fd;
    (void)what;
    if (st->req == NULL)
        return;
    /* Without a socket yet, a named host is still being looked up. */
    if (!st->numeric_host && st->conn != NULL) {
        bev = evhttp_connection_get_bufferevent(st->conn);
        resolving = bev != NULL && bufferevent_getfd(bev) < 0;
    }
    drop_connection(st); /* cancels the request; its callbacks do not run */
    fail(st, "timed out after %s%s%s%s", format_duration(st->timeout_ms, dur, sizeof(dur)),
         resolving ? " (resolving " : "", resolving ? st->host : "", resolving ? ")" : "");
}

/* Read bearer_token_file into a malloc'd "Bearer <token>" (*out, owned by
 * the caller, to be freed with free_secret_string).  Small, local file:
 * plain blocking reads.  The reason never contains the file's contents. */
static int read_bearer(http_state_t *st, char **out, char *reason, size_t rlen)
{
    char buf[MAX_TOKEN_SIZE + 1];
    struct stat sb;
    size_t len = 0, start = 0, i;
    int fd;

    fd = open(st->token_file, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
    if (fd < 0) {
        snprintf(reason, rlen, "bearer_token_file %s: %s", st->token_file, strerror(errno));
        return XDSD_ERROR;
    }
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        snprintf(reason, rlen, "bearer_token_file %s: not a regular file", st->token_file);
        close(fd);
        return XDSD_ERROR;
    }
    for (;;) {
        ssize_t n = read(fd, buf + len, sizeof(buf) - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            snprintf(reason, rlen, "bearer_token_file %s: %s", st->token_file, strerror(errno));
            close(fd);
            wipe(buf, sizeof(buf));
            return XDSD_ERROR;
        }
        if (n == 0 || len + (size_t)n == sizeof(buf)) {
            len += (size_t)n;
            break;
        }
        len += (size_t)n;
    }
    close(fd);
    if (len == sizeof(buf)) {
        snprintf(reason, rlen, "bearer_token_file %s: over %d bytes", st->token_file,
                 MAX_TOKEN_SIZE);
        goto failed;
    }
    /* Trim surrounding white space (the usual trailing newline). */
    while (start < len && isspace((unsigned char)buf[start]))
        start++;
    while (len > start && isspace((unsigned char)buf[len - 1]))
        len--;
    if (len == start) {
        snprintf(reason, rlen, "bearer_token_file %s: empty", st->token_file);
        goto failed;
    }
    for (i = start; i < len; i++) {
        unsigned char c = (unsigned char)buf[i];
        if (c < 0x21 || c == 0x7f) {
            snprintf(reason, rlen,
                     "bearer_token_file %s: the token contains white space or control "
                     "characters",
                     st->token_file);
            goto failed;
        }
    }
    *out = malloc(sizeof("Bearer ") + (len - start));
    if (*out == NULL) {
        snprintf(reason, rlen, "bearer_token_file %s: %s", st->token_file, strerror(ENOMEM));
        goto failed;
    }
    memcpy(*out, "Bearer ", 7);
    memcpy(*out + 7, buf + start, len - start);
    (*out)[7 + len - start] = '\0';
    wipe(buf, sizeof(buf));
    return XDSD_OK;

failed:
    wipe(buf, sizeof(buf));
    return XDSD_ERROR;
}

/* Create the connection when there is none; XDSD_ERROR on ENOMEM. */
static int ensure_connection(http_state_t *st)
{
    struct timeval tv;

    if (st->conn != NULL && st->drop_conn)
        drop_connection(st);
    if (st->conn != NULL)
        return XDSD_OK;
    st->conn = evhttp_connection_base_new(st->base, st->dns, st->host, (unsigned short)st->port);
    if (st->conn == NULL)
        return XDSD_ERROR;
    /* evhttp's per-operation timeout: a second after ours, so that ours
     * (for the whole request) is the one that fires. */
    tv = ms_to_tv(st->timeout_ms + 1000);
    evhttp_connection_set_timeout_tv(st->conn, &tv);
    evhttp_connection_set_retries(st->conn, 0);
    evhttp_connection_set_max_body_size(st->conn, (ev_ssize_t)st->max_size);
    evhttp_connection_set_max_headers_size(st->conn, MAX_HEADERS_SIZE);
    return XDSD_OK;
}

/* Add the request headers: ours, the operator's, the token, validators. */
static int add_request_headers(http_state_t *st, struct evhttp_request *req, const char *bearer)
{
    struct evkeyvalq *out = evhttp_request_get_output_headers(req);
    size_t i;
    int rc = 0;

    if (!st->user_sets_host)
        rc |= evhttp_add_header(out, "Host", st->host_header);
    rc |= evhttp_add_header(out, "User-Agent", "xdsd-http/" HTTP_PLUGIN_VERSION);
    rc |= evhttp_add_header(out, "Accept", "application/json");
    for (i = 0; i < st->nheaders; i++)
        rc |= evhttp_add_header(out, st->headers[i].name, st->headers[i].value);
    if (bearer != NULL)
        rc |= evhttp_add_header(out, "Authorization", bearer);
    if (st->have_accepted && st->etag != NULL)
        rc |= evhttp_add_header(out, "If-None-Match", st->etag);
    if (st->have_accepted && st->last_modified != NULL)
        rc |= evhttp_add_header(out, "If-Modified-Since", st->last_modified);
    return rc == 0 ? XDSD_OK : XDSD_ERROR;
}

/* Send the next GET.  Every failure is reported and rescheduled here or in
 * the callbacks. */
static void start_request(http_state_t *st)
{
    struct evhttp_request *req = NULL;
    struct timeval tv = ms_to_tv(st->timeout_ms);
    char reason[REASON_LEN];
    char *bearer = NULL;
    int rc;

    if (st->req != NULL)
        return; /* one request in flight per source */
    clock_gettime(CLOCK_MONOTONIC, &st->req_started);

    if (st->token_file != NULL && read_bearer(st, &bearer, reason, sizeof(reason)) != XDSD_OK) {
        fail(st, "%s", reason);
        return;
    }
    if (ensure_connection(st) != XDSD_OK)
        goto nomem;
    req = evhttp_request_new(on_response, st);
    if (req == NULL)
        goto nomem;
    evhttp_request_set_error_cb(req, on_request_error);
    evhttp_request_set_header_cb(req, on_headers);
    if (add_request_headers(st, req, bearer) != XDSD_OK)
        goto nomem;
    free_secret_string(bearer);
    bearer = NULL;

    st->got_headers = 0;
    st->status = 0;
    st->req_error = 0;
    st->req_errno = 0;
    st->req = req;
    evtimer_add(st->ev_deadline, &tv);
    /* on_response may run before this returns (a refused connection). */
    rc = evhttp_make_request(st->conn, req, EVHTTP_REQ_GET, st->target);
    if (rc != 0 && st->req == req) {
        /* libevent could not even set up the socket; req is not queued
         * (libevent 2.1 neither runs nor frees it in this path: a small
         * leak on a path that needs a bind failure to happen). */
        request_done(st);
        st->drop_conn = 1;
        fail(st, "cannot start the request: %s", strerror(errno));
    }
    return;

nomem:
    if (req != NULL)
        evhttp_request_free(req);
    free_secret_string(bearer);
    fail(st, "%s", strerror(ENOMEM));
}

static void on_poll(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    start_request(arg);
}

/* ---- conf ------------------------------------------------------------------ */

/* Split the URL into host, port, Host header and request target.  Writes a
 * one-line reason into err on failure. */
static int parse_url(http_state_t *st, const char *url, char *err, size_t errlen)
{
    struct evhttp_uri *uri = evhttp_uri_parse_with_flags(url, 0);
    const char *scheme, *host, *path, *query;
    unsigned char addr[16];
    size_t hlen;
    int port;

    if (uri == NULL || strstr(url, "://") == NULL) {
        if (strstr(url, "://") == NULL)
            snprintf(err, errlen, "url \"%s\" must start with http://", url);
        else
            snprintf(err, errlen, "url \"%s\" is not a valid URL", url);
        if (uri != NULL)
            evhttp_uri_free(uri);
        return XDSD_ERROR;
    }
    scheme = evhttp_uri_get_scheme(uri);
    if (scheme == NULL || strcasecmp(scheme, "http") != 0) {
        if (scheme != NULL && strcasecmp(scheme, "https") == 0)
            snprintf(err, errlen, "url \"%s\": https is not supported yet, only http://", url);
        else
            snprintf(err, errlen, "url \"%s\" must start with http://", url);
        goto failed;
    }
    if (evhttp_uri_get_userinfo(uri) != NULL) {
        snprintf(err, errlen,
                 "url: credentials in the URL are not supported (the URL is logged); use "
                 "bearer_token_file or header");
        goto failed;
    }
    host = evhttp_uri_get_host(uri);
    if (host == NULL || host[0] == '\0') {
        snprintf(err, errlen, "url \"%s\" has no host", url);
        goto failed;
    }
    port = evhttp_uri_get_port(uri);
    if (port == 0) {
        snprintf(err, errlen, "url \"%s\": port 0", url);
        goto failed;
    }
    if (port < 0)
        port = 80;
    hlen = strlen(host);
    if (host[0] == '[' && hlen > 2 && host[hlen - 1] == ']')
        st->host = strndup(host + 1, hlen - 2);
    else
        st->host = strdup(host);
    path = evhttp_uri_get_path(uri);
    query = evhttp_uri_get_query(uri);
    if (path == NULL || path[0] == '\0')
        path = "/";
    st->target = malloc(strlen(path) + (query ? strlen(query) + 1 : 0) + 1);
    st->host_header = malloc(hlen + 8);
    if (st->host == NULL || st->target == NULL || st->host_header == NULL) {
        snprintf(err, errlen, "%s", strerror(ENOMEM));
        goto failed;
    }
    sprintf(st->target, "%s%s%s", path, query ? "?" : "", query ? query : "");
    if (port == 80)
        sprintf(st->host_header, "%s", host);
    else
        sprintf(st->host_header, "%s:%d", host, port);
    st->port = port;
    st->numeric_host =
        inet_pton(AF_INET, st->host, addr) == 1 || inet_pton(AF_INET6, st->host, addr) == 1;
    evhttp_uri_free(uri);
    return XDSD_OK;

failed:
    evhttp_uri_free(uri);
    return XDSD_ERROR;
}

/* Names we manage ourselves or that would break the message framing. */
static const char *const reserved_headers[] = {"Content-Length", "Transfer-Encoding",
                                               "If-None-Match", "If-Modified-Since", NULL};

/* Split the `header "Name: value"` directives.  Error messages name the
 * header but never show its value. */
static int parse_headers(http_state_t *st, char **list, char *err, size_t errlen)
{
    size_t n = 0, i, j;

    while (list != NULL && list[n] != NULL)
        n++;
    if (n == 0)
        return XDSD_OK;
    st->headers = calloc(n, sizeof(*st->headers));
    if (st->headers == NULL) {
        snprintf(err, errlen, "%s", strerror(ENOMEM));
        return XDSD_ERROR;
    }
    for (i = 0; i < n; i++) {
        const char *s = list[i], *colon = strchr(s, ':'), *v, *end;
        size_t nlen;

        if (colon == NULL || colon == s) {
            snprintf(err, errlen, "header #%zu: expected \"Name: value\"", i + 1);
            return XDSD_ERROR;
        }
        nlen = (size_t)(colon - s);
        for (j = 0; j < nlen; j++) {
            if (!is_token_char((unsigned char)s[j])) {
                snprintf(err, errlen,
                         "header #%zu: the name before ':' must be a token (no blanks)", i + 1);
                return XDSD_ERROR;
            }
        }
        v = colon + 1;
        while (*v == ' ' || *v == '\t')
            v++;
        end = v + strlen(v);
        while (end > v && (end[-1] == ' ' || end[-1] == '\t'))
            end--;
        st->headers[i].name = strndup(s, nlen);
        st->headers[i].value = strndup(v, (size_t)(end - v));
        st->nheaders = i + 1;
        if (st->headers[i].name == NULL || st->headers[i].value == NULL) {
            snprintf(err, errlen, "%s", strerror(ENOMEM));
            return XDSD_ERROR;
        }
        if (!is_field_value(st->headers[i].value)) {
            snprintf(err, errlen, "header %s: the value contains control characters",
                     st->headers[i].name);
            return XDSD_ERROR;
        }
        for (j = 0; reserved_headers[j] != NULL; j++) {
            if (strcasecmp(st->headers[i].name, reserved_headers[j]) == 0) {
                snprintf(err, errlen, "header %s is set by the plugin itself", reserved_headers[j]);
                return XDSD_ERROR;
            }
        }
        if (strcasecmp(st->headers[i].name, "Authorization") == 0 && st->token_file != NULL) {
            snprintf(err, errlen,
                     "header Authorization and bearer_token_file both set the "
                     "Authorization header; use one");
            return XDSD_ERROR;
        }
        if (strcasecmp(st->headers[i].name, "Host") == 0)
            st->user_sets_host = 1;
    }
    return XDSD_OK;
}

static void free_state(http_state_t *st)
{
    size_t i;

    if (st == NULL)
        return;
    for (i = 0; i < st->nheaders; i++) {
        free(st->headers[i].name);
        free_secret_string(st->headers[i].value);
    }
    free(st->headers);
    free(st->origin);
    free(st->host);
    free(st->host_header);
    free(st->target);
    free(st->etag);
    free(st->last_modified);
    free(st);
}

/* Validate the conf and allocate the state.  No network I/O, no file
 * access (the token file is read before each request). */
static int http_create(const xdsd_host_api_t *api, xdsd_source_t *src, const void *conf,
                       void **state, char *err, size_t errlen)
{
    const http_conf_t *cf = conf;
    http_state_t *st = NULL;
    struct timespec now;

    if (api == NULL || api->size < offsetof(xdsd_host_api_t, unchanged)) {
        snprintf(err, errlen, "host api table too small for this plugin");
        return XDSD_ERROR;
    }
    if (cf->url == NULL || cf->url[0] == '\0') {
        snprintf(err, errlen, "\"url\" is required");
        return XDSD_ERROR;
    }
    if (cf->interval < 0 || cf->timeout < 0 || cf->max_backoff < 0 || cf->max_size < 0) {
        snprintf(err, errlen, "interval, timeout, max_backoff and max_size must be positive");
        return XDSD_ERROR;
    }
    if (cf->bearer_token_file != NULL && cf->bearer_token_file[0] == '\0') {
        snprintf(err, errlen, "bearer_token_file is empty");
        return XDSD_ERROR;
    }

    st = calloc(1, sizeof(*st));
    if (st == NULL) {
        snprintf(err, errlen, "%s", strerror(ENOMEM));
        return XDSD_ERROR;
    }
    st->api = api;
    st->src = src;
    st->url = cf->url;
    st->token_file = cf->bearer_token_file;
    st->interval_ms = cf->interval > 0 ? cf->interval : DEFAULT_INTERVAL_MS;
    st->timeout_ms = cf->timeout > 0 ? cf->timeout : DEFAULT_TIMEOUT_MS;
    st->max_backoff_ms = cf->max_backoff > 0 ? cf->max_backoff : DEFAULT_MAX_BACKOFF_MS;
    st->max_size = cf->max_size > 0 ? cf->max_size : DEFAULT_MAX_SIZE;
    if ((uint64_t)st->max_size >= SIZE_MAX / 2)
        st->max_size = (int64_t)(SIZE_MAX / 2 - 1);

    if (parse_url(st, cf->url, err, errlen) != XDSD_OK)
        goto failed;
    if (parse_headers(st, cf->headers, err, errlen) != XDSD_OK)
        goto failed;
    st->origin = malloc(strlen(cf->url) + 5);
    if (st->origin == NULL) {
        snprintf(err, errlen, "%s", strerror(ENOMEM));
        goto failed;
    }
    sprintf(st->origin, "GET %s", cf->url);

    clock_gettime(CLOCK_REALTIME, &now);
    st->rng = ((uint64_t)now.tv_nsec << 20) ^ (uint64_t)now.tv_sec ^ (uint64_t)getpid() ^
              (uint64_t)(uintptr_t)st;
    if (st->rng == 0)
        st->rng = 0x9E3779B97F4A7C15ull;

    *state = st;
    return XDSD_OK;

failed:
    free_state(st);
    return XDSD_ERROR;
}

/* The resolver for a host name; NULL (and err set) on failure. */
static struct evdns_base *make_resolver(http_state_t *st, char *err, size_t errlen)
{
    const char *resolv = getenv("XDSD_HTTP_RESOLV_CONF");
    struct evdns_base *dns;
    int r;

    if (resolv == NULL || resolv[0] == '\0') {
        dns = evdns_base_new(st->base,
                             EVDNS_BASE_INITIALIZE_NAMESERVERS | EVDNS_BASE_DISABLE_WHEN_INACTIVE);
        if (dns == NULL)
            snprintf(err, errlen, "cannot set up a resolver for %s from /etc/resolv.conf",
                     st->host);
        return dns;
    }
    dns = evdns_base_new(st->base, EVDNS_BASE_DISABLE_WHEN_INACTIVE);
    if (dns == NULL) {
        snprintf(err, errlen, "cannot set up a resolver for %s", st->host);
        return NULL;
    }
    r = evdns_base_resolv_conf_parse(dns, DNS_OPTIONS_ALL, resolv);
    if (r != 0 && r != 6) { /* 6: no nameserver listed, 127.0.0.1 is used */
        snprintf(err, errlen, "cannot set up a resolver from %s (XDSD_HTTP_RESOLV_CONF): error %d",
                 resolv, r);
        evdns_base_free(dns, 0);
        return NULL;
    }
    return dns;
}

/* Set up the timers (and the resolver for a host name) and send the first
 * request.  The source has no data until it answers. */
static int http_start(void *state, char *err, size_t errlen)
{
    http_state_t *st = state;

    st->base = st->api->event_base(st->src);
    if (!st->numeric_host) {
        st->dns = make_resolver(st, err, errlen);
        if (st->dns == NULL)
            return XDSD_ERROR;
    }
    st->ev_poll = evtimer_new(st->base, on_poll, st);
    st->ev_deadline = evtimer_new(st->base, on_deadline, st);
    if (st->ev_poll == NULL || st->ev_deadline == NULL) {
        snprintf(err, errlen, "cannot set up events for %s", st->url);
        goto failed;
    }
    st->api->log(st->src, XDSD_LOG_INFO, "polling %s every %" PRId64 " ms", st->origin,
                 st->interval_ms);
    start_request(st);
    return XDSD_OK;

failed:
    if (st->ev_poll != NULL)
        event_free(st->ev_poll);
    if (st->ev_deadline != NULL)
        event_free(st->ev_deadline);
    st->ev_poll = st->ev_deadline = NULL;
    if (st->dns != NULL)
        evdns_base_free(st->dns, 0);
    st->dns = NULL;
    return XDSD_ERROR;
}

/* Cancel the request in flight (its callbacks do not run), free the
 * connection, the timers, the resolver and the state.
 *
 * A host-name lookup still in flight is failed with DNS_ERR_SHUTDOWN
 * (evdns_base_free(.., 1)): libevent finishes it -- and frees the
 * connection's bufferevent, which the lookup holds a reference to -- in
 * deferred callbacks of its own, on the next pass of the event loop (none
 * of them is plugin code, so the plugin may be unloaded meanwhile).  After
 * a reload the loop runs on and all is freed; at exit that memory is only
 * freed if the host runs the loop once more after destroying its sources. */
static void http_destroy(void *state)
{
    http_state_t *st = state;

    if (st == NULL)
        return;
    drop_connection(st);
    if (st->ev_poll != NULL)
        event_free(st->ev_poll);
    if (st->ev_deadline != NULL)
        event_free(st->ev_deadline);
    if (st->dns != NULL)
        evdns_base_free(st->dns, 1);
    free_state(st);
}
