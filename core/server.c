/*
 * server.c -- HTTP/1.1 for the discovery API, on bufferevents, one event
 * base per worker thread.
 *
 * A poll is parsed, answered and queued in one pass: the response body is
 * never built per request.  A wildcard answer is one reference to the
 * snapshot's prepared body; a resource_names answer is a short prefix plus
 * references to the resources' prepared JSON.  Each reference holds the
 * snapshot until the kernel has taken the bytes.
 *
 * Each worker owns its socket (SO_REUSEPORT), its connections and its
 * current snapshot; the main thread only ever touches a worker through two
 * events made active from outside (a new snapshot, stop), so workers take
 * no locks.  Stopping is graceful: the listener closes, idle connections
 * close, a connection in the middle of a request gets its answer with
 * "Connection: close", and the thread exits when none are left or when
 * shutdown_timeout passes.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <event2/thread.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

#include "authz.h"
#include "group.h"
#include "log.h"
#include "nodes.h"
#include "request.h"
#include "server.h"
#include "stats.h"

#define XDS_OUTPUT_HIGH (4 * 1024 * 1024) /* stop reading pipelined requests above */

/* What a reload may change without new sockets: the TLS context (new
 * certificates) and the authorization rules.  Each worker holds its own
 * references; connections already accepted keep their SSL objects. */
typedef struct {
    SSL_CTX *ssl_ctx;
    xds_authz_t *authz;
} xds_policy_t;

static void policy_from(xds_policy_t *p, const xds_discovery_conf_t *dc)
{
    p->ssl_ctx = dc->ssl_ctx;
    if (p->ssl_ctx)
        SSL_CTX_up_ref(p->ssl_ctx);
    p->authz = xds_authz_ref(dc->authz);
}

static void policy_free(xds_policy_t *p)
{
    SSL_CTX_free(p->ssl_ctx);
    xds_authz_unref(p->authz);
    p->ssl_ctx = NULL;
    p->authz = NULL;
}

typedef struct xds_worker xds_worker_t;
typedef struct xds_conn xds_conn_t;

/* The last request body of one type on a connection, parsed. */
typedef struct {
    int valid;
    size_t len;
    XXH128_hash_t hash;
    xds_request_t req;
    const xds_group_t *group; /* its node group in snapshot group_gen */
    uint64_t group_gen;
} req_cache_t;

enum conn_state { C_IDLE, C_HEADERS, C_BODY };

struct xds_conn {
    xds_worker_t *w;
    struct bufferevent *bev;
    xds_conn_t *prev, *next;
    enum conn_state state;
    int keepalive;  /* for the request being read */
    int closing;    /* close once the output drained */
    int linger;     /* the client may still be sending: drain before closing */
    int in_request; /* bytes of a request arrived, its answer is not queued yet */
    int tls;        /* the bufferevent is an OpenSSL one */
    int handshake;  /* ... whose TLS handshake is not done: read_timeout bounds it */
    char peer[64];  /* "ip:port" of the client */
    xds_peer_t who; /* its address and verified certificate, for authorization */
    req_cache_t cache[XDS_TYPE_COUNT]; /* last request of each type, parsed */
    struct event *deadline;            /* the request being read must be complete by then */
    uint64_t t0;                       /* when the request being answered began (ns) */
    int http10;

    /* the request being read */
    const xds_type_t *type;
    int chunked;
    int64_t content_length;
    int chunk_state; /* 0 size line, 1 data, 2 CRLF after data, 3 trailers */
    int64_t chunk_left;
    xds_buf_t body; /* only for chunked bodies */
};

struct xds_worker {
    int id;
    pthread_t thread;
    int thread_started;
    struct event_base *base;
    int fd;
    struct evconnlistener *listener;
    xds_discovery_conf_t conf; /* copy; the listen string is not used */
    _Atomic(xds_snapshot_t *) pending;
    xds_policy_t policy;                    /* TLS context and authorization in use */
    _Atomic(xds_policy_t *) pending_policy; /* handed over by a reload */
    xds_snapshot_t *snap;
    struct event *notify_ev;
    struct event *stop_ev;
    struct event *grace_ev;
    int stopping;
    xds_conn_t *conns;
    size_t nconns;
    time_t last_full_log;
};

typedef struct worker_set {
    xds_worker_t **w;
    size_t n;
    struct worker_set *next; /* retired sets, joined at shutdown */
} worker_set_t;

static worker_set_t *active;
static worker_set_t *retired;
static xds_snapshot_t *current; /* the main thread's reference */

/* ---------------------------------------------------------------- output */

static void unref_cleanup(const void *data, size_t len, void *arg)
{
    (void)data;
    (void)len;
    xds_snapshot_unref(arg);
}

static const char *status_text(int status)
{
    switch (status) {
    case 200:
        return "OK";
    case 304:
        return "Not Modified";
    case 400:
        return "Bad Request";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 408:
        return "Request Timeout";
    case 403:
        return "Forbidden";
    case 411:
        return "Length Required";
    case 413:
        return "Payload Too Large";
    case 431:
        return "Request Header Fields Too Large";
    case 501:
        return "Not Implemented";
    case 503:
        return "Service Unavailable";
    default:
        return "Error";
    }
}

static void write_head(xds_conn_t *c, int status, const char *ctype, size_t len, int has_body,
                       const char *extra)
{
    struct evbuffer *out = bufferevent_get_output(c->bev);
    char head[512];
    xds_stats_request(c->w->id, c->type, status, xds_now_ns() - c->t0);
    int n = snprintf(head, sizeof(head), "HTTP/1.1 %d %s\r\nServer: xdsd\r\n", status,
                     status_text(status));
    if (has_body)
        n += snprintf(head + n, sizeof(head) - (size_t)n,
                      "Content-Type: %s\r\nContent-Length: %zu\r\n", ctype, len);
    if (!c->keepalive || c->w->stopping)
        n += snprintf(head + n, sizeof(head) - (size_t)n, "Connection: close\r\n");
    else if (c->http10)
        n += snprintf(head + n, sizeof(head) - (size_t)n, "Connection: keep-alive\r\n");
    if (extra)
        n += snprintf(head + n, sizeof(head) - (size_t)n, "%s", extra);
    n += snprintf(head + n, sizeof(head) - (size_t)n, "\r\n");
    evbuffer_add(out, head, (size_t)n);
}

/* A short text answer: errors and 503. */
static void respond_text(xds_conn_t *c, int status, const char *msg, const char *extra)
{
    size_t len = strlen(msg);
    write_head(c, status, "text/plain; charset=utf-8", len + 1, 1, extra);
    struct evbuffer *out = bufferevent_get_output(c->bev);
    evbuffer_add(out, msg, len);
    evbuffer_add(out, "\n", 1);
    xds_log(XDS_LOG_DEBUG, "worker %d: %d %s", c->w->id, status, msg);
}

/* ------------------------------------------------------------- discovery */

static int str_eq(xds_str_t s, const char *lit)
{
    size_t n = strlen(lit);
    return s.n == n && memcmp(s.p, lit, n) == 0;
}

static void take_snapshot(xds_worker_t *w);

/* The proxy already holds version. */
static int holds(const xds_request_t *rq, const char *version)
{
    return rq->has_version && rq->version_info.n == XDS_VERSION_LEN &&
           memcmp(rq->version_info.p, version, XDS_VERSION_LEN) == 0;
}

/* 304 when the proxy holds version, else a 200 whose resources are the n
 * pieces (runs of resources' JSON in snap's bytes, payload bytes with the
 * commas between them), written by reference. */
static void answer(xds_conn_t *c, xds_snapshot_t *snap, const xds_request_t *rq,
                   const char *version, const xds_seg_t *pieces, size_t n, size_t payload)
{
    static const char tail[] = "],\"type_url\":\"";
    const xds_type_t *type = c->type;
    if (holds(rq, version)) {
        write_head(c, 304, NULL, 0, 0, NULL);
        xds_nodes_record(rq, type, 304, version, c->peer);
        return;
    }
    xds_nodes_record(rq, type, 200, version, c->peer);
    struct evbuffer *out = bufferevent_get_output(c->bev);
    char head[128];
    int hn = snprintf(head, sizeof(head), "{\"version_info\":\"%s\",\"resources\":[", version);
    size_t url_len = strlen(type->type_url);
    write_head(c, 200, "application/json", (size_t)hn + payload + sizeof(tail) - 1 + url_len + 2, 1,
               NULL);
    evbuffer_add(out, head, (size_t)hn);
    for (size_t i = 0; i < n; i++) {
        if (i)
            evbuffer_add(out, ",", 1);
        evbuffer_add_reference(out, pieces[i].p, pieces[i].n, unref_cleanup,
                               xds_snapshot_ref(snap));
    }
    evbuffer_add(out, tail, sizeof(tail) - 1);
    evbuffer_add(out, type->type_url, url_len);
    evbuffer_add(out, "\"}", 2);
}

static void handle_discovery(xds_conn_t *c, const char *body, size_t len)
{
    xds_worker_t *w = c->w;
    /* A request may come before the worker's notify event runs: a poll
     * answered after a publish must see it (one atomic load otherwise). */
    if (atomic_load_explicit(&w->pending, memory_order_relaxed) != NULL)
        take_snapshot(w);
    xds_snapshot_t *snap = w->snap;
    const xds_type_t *type = c->type;
    char err[XDS_ERRLEN];
    xds_request_t *rq;

    if (snap == NULL) {
        respond_text(c, 503, "no configuration yet: waiting for the first snapshot", NULL);
        return;
    }
    /* Envoy sends the same bytes poll after poll until something changes:
     * parse a body once per connection and type, then look it up by hash
     * (parsing the whole node was most of a 304's cost, see bench/). */
    req_cache_t *cache = &c->cache[type->id];
    XXH128_hash_t h = XXH3_128bits(body, len);
    if (cache->valid && cache->len == len && XXH128_isEqual(cache->hash, h)) {
        rq = &cache->req;
    } else {
        xds_request_free(&cache->req);
        cache->valid = 0;
        if (xds_request_parse(&cache->req, body, len, err, sizeof(err)) != XDS_OK) {
            xds_request_free(&cache->req);
            respond_text(c, 400, err, NULL);
            return;
        }
        cache->valid = 1;
        cache->len = len;
        cache->hash = h;
        cache->group = NULL;
        rq = &cache->req;
    }
    if (w->policy.authz || type->id == XDS_TYPE_SECRETS) {
        if (c->tls)
            xds_peer_set_certificate(&c->who, bufferevent_openssl_get_ssl(c->bev));
        if (xds_authz_check(w->policy.authz, &c->who, rq, type->id == XDS_TYPE_SECRETS, err,
                            sizeof(err)) != XDS_OK) {
            xds_log(XDS_LOG_WARN, "worker %d: %s: refused %s: %s", w->id, c->peer, type->path, err);
            respond_text(c, 403, err, NULL);
            return;
        }
    }
    if (rq->has_type_url && !str_eq(rq->type_url, type->type_url)) {
        snprintf(err, sizeof(err),
                 "type_url \"%.*s\" does not match /v3/discovery:%s (expects \"%s\")",
                 (int)(rq->type_url.n > 200 ? 200 : rq->type_url.n), rq->type_url.p, type->path,
                 type->type_url);
        respond_text(c, 400, err, NULL);
        goto done;
    }

    /* The proxy's node group: looked up once per request body and snapshot. */
    if (cache->group == NULL || cache->group_gen != snap->generation) {
        xds_node_attrs_t attrs;
        xds_request_attrs(rq, &attrs);
        cache->group = xds_snapshot_group(snap, &attrs);
        cache->group_gen = snap->generation;
    }
    const xds_group_t *g = cache->group;
    if (g->error) {
        const char *nl = strchr(g->error, '\n');
        snprintf(err, sizeof(err), "the configuration of node group %s was refused: %.*s", g->label,
                 (int)(nl ? nl - g->error : (ptrdiff_t)strlen(g->error)), g->error);
        respond_text(c, 503, err, NULL);
        goto done;
    }
    const xds_view_t *t = g->views[type->id];

    if (rq->nnames == 0) {
        if (t->body && !holds(rq, t->version)) { /* all of the type: its prepared body */
            xds_nodes_record(rq, type, 200, t->version, c->peer);
            write_head(c, 200, "application/json", t->body_len, 1, NULL);
            evbuffer_add_reference(bufferevent_get_output(c->bev), t->body, t->body_len,
                                   unref_cleanup, xds_snapshot_ref(snap));
            goto done;
        }
        answer(c, snap, rq, t->version, t->segs, t->nsegs, t->payload_len);
        goto done;
    }

    /* A named subset: exactly the named resources that exist. */
    xds_seg_t stack_seg[64];
    size_t stack_idx[64];
    int big = rq->nnames > 64;
    xds_seg_t *seg = big ? xds_malloc(rq->nnames * sizeof(xds_seg_t)) : stack_seg;
    size_t *idx = big ? xds_malloc(rq->nnames * sizeof(size_t)) : stack_idx;
    size_t n = 0, payload = 0;
    for (size_t i = 0; i < rq->nnames; i++) {
        long k = xds_view_find(t, rq->names[i].p, rq->names[i].n);
        if (k >= 0) {
            const xds_sres_t *r = t->res[k];
            seg[n] = (xds_seg_t){r->json, r->json_len};
            payload += r->json_len + (n ? 1 : 0);
            idx[n++] = (size_t)k;
        }
    }
    char version[XDS_VERSION_LEN + 1];
    xds_view_subset_version(t, idx, n, version);
    answer(c, snap, rq, version, seg, n, payload);
    if (big) {
        free(seg);
        free(idx);
    }

done:
    return;
}

/* ------------------------------------------------------------ connection */

static void conn_free(xds_conn_t *c)
{
    xds_worker_t *w = c->w;
    if (c->prev)
        c->prev->next = c->next;
    else
        w->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    w->nconns--;
    bufferevent_free(c->bev);
    xds_peer_free(&c->who);
    for (size_t t = 0; t < XDS_TYPE_COUNT; t++)
        xds_request_free(&c->cache[t].req);
    if (c->deadline)
        event_free(c->deadline);
    xds_buf_free(&c->body);
    free(c);
    if (w->stopping && w->nconns == 0)
        event_base_loopexit(w->base, NULL);
}

#define XDS_LINGER_MS    2000              /* wait this long for the client to stop */
#define XDS_LINGER_BYTES (4 * 1024 * 1024) /* and discard at most this much */

static void linger_read(struct bufferevent *bev, void *arg)
{
    xds_conn_t *c = arg;
    struct evbuffer *in = bufferevent_get_input(bev);
    size_t n = evbuffer_get_length(in);
    evbuffer_drain(in, n);
    c->content_length -= (int64_t)n; /* reused as the discard budget */
    if (c->content_length <= 0)
        conn_free(c);
}

static void linger_event(struct bufferevent *bev, short what, void *arg)
{
    (void)bev;
    (void)what;
    conn_free(arg); /* EOF, error or timeout: done either way */
}

/* The answer is out but the client may still be sending a request we did
 * not read (413, 431, ...).  Closing now would make the kernel reset the
 * connection, and a reset can destroy the answer before the client reads
 * it; so, like nginx's lingering close, half-close and discard what still
 * comes for a short while. */
static void conn_linger(xds_conn_t *c)
{
    struct timeval tv = {XDS_LINGER_MS / 1000, (XDS_LINGER_MS % 1000) * 1000};
    shutdown(bufferevent_getfd(c->bev), SHUT_WR);
    c->content_length = XDS_LINGER_BYTES;
    bufferevent_setcb(c->bev, linger_read, NULL, linger_event, c);
    bufferevent_set_timeouts(c->bev, &tv, NULL);
    bufferevent_enable(c->bev, EV_READ);
    linger_read(c->bev, c);
}

/* Stop reading; close once everything queued is written (lingering first
 * when the client may still be sending). */
static void conn_close_after_write(xds_conn_t *c, int linger)
{
    c->closing = 1;
    c->linger = linger && !c->tls; /* a TLS stream cannot be half-closed under us */
    bufferevent_disable(c->bev, EV_READ);
    if (evbuffer_get_length(bufferevent_get_output(c->bev)) == 0) {
        if (linger)
            conn_linger(c);
        else
            conn_free(c);
    }
}

static void conn_set_idle_timeout(xds_conn_t *c)
{
    int64_t ms = c->state == C_IDLE ? c->w->conf.keepalive_timeout_ms : c->w->conf.read_timeout_ms;
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
    bufferevent_set_timeouts(c->bev, &tv, NULL);
}

/* Parse the head (request line and headers) of len bytes at p.  Returns 0 to
 * go on reading the body, or an HTTP status to answer (and close). */
static int parse_head(xds_conn_t *c, char *p, size_t len, const char **why, const char **extra)
{
    char *end = p + len;
    char *eol = memchr(p, '\r', len);
    if (eol == NULL)
        return 400;
    *eol = '\0';

    /* request line: METHOD SP TARGET SP HTTP/1.x */
    char *sp1 = strchr(p, ' ');
    char *sp2 = sp1 ? strchr(sp1 + 1, ' ') : NULL;
    if (sp1 == NULL || sp2 == NULL) {
        *why = "malformed request line";
        return 400;
    }
    *sp1 = '\0';
    *sp2 = '\0';
    const char *method = p, *target = sp1 + 1, *proto = sp2 + 1;
    if (strcmp(proto, "HTTP/1.1") == 0) {
        c->http10 = 0;
        c->keepalive = 1;
    } else if (strcmp(proto, "HTTP/1.0") == 0) {
        c->http10 = 1;
        c->keepalive = 0;
    } else {
        *why = "unsupported protocol version";
        return 400;
    }

    c->chunked = 0;
    c->content_length = 0;
    int have_length = 0, expect_continue = 0;

    for (char *line = eol + 2; line < end;) {
        char *le = memchr(line, '\r', (size_t)(end - line));
        if (le == NULL)
            le = end;
        *le = '\0';
        if (line == le)
            break;
        char *colon = strchr(line, ':');
        if (colon == NULL) {
            *why = "malformed header line";
            return 400;
        }
        *colon = '\0';
        char *v = colon + 1;
        while (*v == ' ' || *v == '\t')
            v++;
        char *ve = v + strlen(v);
        while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
            *--ve = '\0';

        if (strcasecmp(line, "Content-Length") == 0) {
            int64_t cl;
            if (xds_parse_int(v, &cl) != XDS_OK || (have_length && cl != c->content_length)) {
                *why = "invalid Content-Length";
                return 400;
            }
            c->content_length = cl;
            have_length = 1;
        } else if (strcasecmp(line, "Transfer-Encoding") == 0) {
            if (strcasecmp(v, "chunked") != 0) {
                *why = "unsupported Transfer-Encoding";
                return 501;
            }
            c->chunked = 1;
        } else if (strcasecmp(line, "Connection") == 0) {
            if (strcasestr(v, "close"))
                c->keepalive = 0;
            else if (strcasestr(v, "keep-alive"))
                c->keepalive = 1;
        } else if (strcasecmp(line, "Expect") == 0) {
            if (strcasecmp(v, "100-continue") == 0)
                expect_continue = 1;
        }
        line = le + 2;
    }
    if (c->chunked && have_length) {
        *why = "both Content-Length and Transfer-Encoding";
        return 400;
    }

    static const char prefix[] = "/v3/discovery:";
    c->type = NULL;
    if (strncmp(target, prefix, sizeof(prefix) - 1) == 0) {
        const char *tp = target + sizeof(prefix) - 1;
        size_t tl = strcspn(tp, "?");
        c->type = xds_type_by_path(tp, tl);
    }
    if (c->type == NULL) {
        *why = "unknown path: xdsd serves POST /v3/discovery:<type>";
        return 404;
    }
    if (strcmp(method, "POST") != 0) {
        *why = "method not allowed: discovery requests are POST";
        *extra = "Allow: POST\r\n";
        return 405;
    }
    if (!c->chunked && !have_length) {
        *why = "Content-Length required: the body is the DiscoveryRequest";
        return 411;
    }
    if (c->content_length > c->w->conf.client_max_body_size) {
        *why = "request body is larger than client_max_body_size";
        return 413;
    }
    if (expect_continue)
        evbuffer_add(bufferevent_get_output(c->bev), "HTTP/1.1 100 Continue\r\n\r\n", 25);
    return 0;
}

/* Decode as much of a chunked body as has arrived.  Returns 1 when the body
 * is complete, 0 when more is needed, or an HTTP status on error. */
static int read_chunked(xds_conn_t *c, struct evbuffer *in)
{
    for (;;) {
        if (c->chunk_state == 1) {
            size_t avail = evbuffer_get_length(in);
            if (avail == 0)
                return 0;
            size_t take = (size_t)c->chunk_left < avail ? (size_t)c->chunk_left : avail;
            xds_buf_reserve(&c->body, take);
            evbuffer_remove(in, c->body.data + c->body.len, take);
            c->body.len += take;
            c->body.data[c->body.len] = '\0';
            c->chunk_left -= (int64_t)take;
            if (c->chunk_left > 0)
                return 0;
            c->chunk_state = 2;
            continue;
        }
        size_t len;
        char *line = evbuffer_readln(in, &len, EVBUFFER_EOL_CRLF);
        if (line == NULL)
            return evbuffer_get_length(in) > 4096 ? 400 : 0;
        if (c->chunk_state == 2) { /* the CRLF after a chunk's data */
            int ok = len == 0;
            free(line);
            if (!ok)
                return 400;
            c->chunk_state = 0;
            continue;
        }
        if (c->chunk_state == 3) { /* trailers until an empty line */
            free(line);
            if (len == 0)
                return 1;
            continue;
        }
        char *endp;
        errno = 0;
        unsigned long sz = strtoul(line, &endp, 16);
        int bad = endp == line || line[0] == '-' || line[0] == '+' ||
                  (*endp != '\0' && *endp != ';' && *endp != ' ' && *endp != '\t');
        int huge = errno == ERANGE;
        free(line);
        if (bad)
            return 400;
        if (sz == 0 && !huge) {
            c->chunk_state = 3;
            continue;
        }
        /* Compare without overflow: a size near 2^64 must not wrap around
         * (found by fuzzing). */
        if (huge || sz > (unsigned long)c->w->conf.client_max_body_size - c->body.len)
            return 413;
        c->chunk_left = (int64_t)sz;
        c->chunk_state = 1;
    }
}

static void conn_read(struct bufferevent *bev, void *arg)
{
    xds_conn_t *c = arg;
    struct evbuffer *in = bufferevent_get_input(bev);

    while (!c->closing) {
        if (c->state != C_BODY) {
            size_t avail = evbuffer_get_length(in);
            if (avail == 0)
                break;
            if (c->state == C_IDLE && !c->in_request) {
                /* First byte of a request: it has read_timeout to arrive
                 * whole, however slowly it trickles in (slowloris). */
                c->t0 = xds_now_ns();
                c->type = NULL;
                c->in_request = 1;
                int64_t ms = c->w->conf.read_timeout_ms;
                struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
                evtimer_add(c->deadline, &tv);
            }
            struct evbuffer_ptr pos = evbuffer_search(in, "\r\n\r\n", 4, NULL);
            if (pos.pos < 0) {
                if (avail > (size_t)c->w->conf.client_max_header_size) {
                    c->keepalive = 0;
                    respond_text(c, 431, "request headers are too large", NULL);
                    conn_close_after_write(c, 1);
                    return;
                }
                if (c->state == C_IDLE) {
                    c->state = C_HEADERS;
                    conn_set_idle_timeout(c);
                }
                break;
            }
            size_t hlen = (size_t)pos.pos + 4;
            char *head = (char *)evbuffer_pullup(in, (ssize_t)hlen);
            const char *why = "bad request", *extra = NULL;
            int status;
            if (hlen > (size_t)c->w->conf.client_max_header_size) {
                status = 431;
                why = "request headers are too large";
            } else {
                status = parse_head(c, head, hlen, &why, &extra);
            }
            evbuffer_drain(in, hlen);
            if (status) {
                c->keepalive = 0;
                respond_text(c, status, why, extra);
                conn_close_after_write(c, 1);
                return;
            }
            c->state = C_BODY;
            c->chunk_state = 0;
            c->body.len = 0;
            conn_set_idle_timeout(c);
        }

        /* C_BODY */
        const char *body;
        size_t blen;
        if (c->chunked) {
            int rc = read_chunked(c, in);
            if (rc == 0)
                break;
            if (rc != 1) {
                c->keepalive = 0;
                respond_text(c, rc,
                             rc == 413 ? "request body is larger than client_max_body_size"
                                       : "malformed chunked body",
                             NULL);
                conn_close_after_write(c, 1);
                return;
            }
            body = c->body.data ? c->body.data : "";
            blen = c->body.len;
            handle_discovery(c, body, blen);
        } else {
            if (evbuffer_get_length(in) < (size_t)c->content_length)
                break;
            blen = (size_t)c->content_length;
            body = blen ? (const char *)evbuffer_pullup(in, (ssize_t)blen) : "";
            handle_discovery(c, body, blen);
            evbuffer_drain(in, blen);
        }
        if (c->body.cap > 64 * 1024)
            xds_buf_free(&c->body);

        c->state = C_IDLE;
        c->in_request = 0;
        evtimer_del(c->deadline);
        conn_set_idle_timeout(c);
        if (!c->keepalive || c->w->stopping) {
            conn_close_after_write(c, 0);
            return;
        }
        if (evbuffer_get_length(bufferevent_get_output(bev)) > XDS_OUTPUT_HIGH) {
            bufferevent_disable(bev, EV_READ); /* resumed by conn_write */
            break;
        }
    }
}

static void conn_write(struct bufferevent *bev, void *arg)
{
    xds_conn_t *c = arg;
    if (c->closing) {
        if (c->linger)
            conn_linger(c);
        else
            conn_free(c);
        return;
    }
    if (c->w->stopping && c->state == C_IDLE) {
        conn_free(c);
        return;
    }
    if (!(bufferevent_get_enabled(bev) & EV_READ)) {
        bufferevent_enable(bev, EV_READ);
        conn_read(bev, c);
    }
}

static void conn_event(struct bufferevent *bev, short what, void *arg)
{
    xds_conn_t *c = arg;
    if (c->tls && (what & BEV_EVENT_ERROR)) {
        unsigned long e = bufferevent_get_openssl_error(bev);
        if (e) {
            char reason[256];
            ERR_error_string_n(e, reason, sizeof(reason));
            xds_log(XDS_LOG_INFO, "worker %d: %s: TLS: %s", c->w->id, c->peer, reason);
        }
    }
    if (what & BEV_EVENT_CONNECTED) { /* the TLS handshake is done */
        c->handshake = 0;
        evtimer_del(c->deadline);
        return;
    }
    if ((what & BEV_EVENT_TIMEOUT) && c->state != C_IDLE)
        xds_log(XDS_LOG_INFO, "worker %d: client timed out in the middle of a request", c->w->id);
    conn_free(c);
}

static void on_deadline(evutil_socket_t fd, short what, void *arg)
{
    xds_conn_t *c = arg;
    (void)fd;
    (void)what;
    if (c->closing)
        return;
    if (c->handshake) { /* nothing to answer on: just close */
        xds_log(XDS_LOG_INFO,
                "worker %d: %s: TLS handshake not complete within read_timeout, "
                "closing",
                c->w->id, c->peer);
        conn_free(c);
        return;
    }
    xds_log(XDS_LOG_INFO, "worker %d: %s: request not complete within read_timeout, closing",
            c->w->id, c->peer);
    c->keepalive = 0;
    respond_text(c, 408, "request not complete within read_timeout", NULL);
    conn_close_after_write(c, 0);
}

static void on_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int salen,
                      void *arg)
{
    xds_worker_t *w = arg;
    (void)l;

    if (w->nconns >= (size_t)w->conf.max_connections) {
        time_t now = time(NULL);
        if (now - w->last_full_log >= 10) {
            xds_log(XDS_LOG_WARN, "worker %d: max_connections (%lld) reached, refusing new ones",
                    w->id, (long long)w->conf.max_connections);
            w->last_full_log = now;
        }
        close(fd);
        return;
    }

    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    xds_conn_t *c = xds_calloc(1, sizeof(*c));
    c->w = w;
    xds_format_peer(sa, c->peer, sizeof(c->peer));
    if ((size_t)salen <= sizeof(c->who.addr))
        memcpy(&c->who.addr, sa, (size_t)salen);
    if (w->policy.ssl_ctx) {
        SSL *ssl = SSL_new(w->policy.ssl_ctx);
        c->bev = ssl ? bufferevent_openssl_socket_new(w->base, fd, ssl, BUFFEREVENT_SSL_ACCEPTING,
                                                      BEV_OPT_CLOSE_ON_FREE)
                     : NULL;
        if (c->bev == NULL && ssl)
            SSL_free(ssl);
        if (c->bev)
            bufferevent_openssl_set_allow_dirty_shutdown(c->bev, 1);
        c->tls = 1;
    } else {
        c->bev = bufferevent_socket_new(w->base, fd, BEV_OPT_CLOSE_ON_FREE);
    }
    if (c->bev == NULL) {
        close(fd);
        free(c);
        return;
    }
    c->next = w->conns;
    if (w->conns)
        w->conns->prev = c;
    w->conns = c;
    w->nconns++;
    c->state = C_IDLE;
    /* libevent writes at most 16 KiB per call by default: a 5 MB CDS answer
     * would take 300+ writev calls (bench/: CPU per large answer halved). */
    bufferevent_set_max_single_write(c->bev, 4 * 1024 * 1024);
    c->deadline = evtimer_new(w->base, on_deadline, c);
    bufferevent_setcb(c->bev, conn_read, conn_write, conn_event, c);
    conn_set_idle_timeout(c);
    if (c->tls) { /* a handshake that trickles or stalls is a slowloris too */
        int64_t ms = w->conf.read_timeout_ms;
        struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
        c->handshake = 1;
        evtimer_add(c->deadline, &tv);
    }
    bufferevent_enable(c->bev, EV_READ);
}

static void on_accept_error(struct evconnlistener *l, void *arg)
{
    xds_worker_t *w = arg;
    int e = EVUTIL_SOCKET_ERROR();
    (void)l;
    xds_log(XDS_LOG_ERR, "worker %d: accept: %s", w->id, evutil_socket_error_to_string(e));
}

/* ---------------------------------------------------------------- worker */

/* Adopt the snapshot the main thread handed over, if any. */
static void take_snapshot(xds_worker_t *w)
{
    xds_snapshot_t *s = atomic_exchange(&w->pending, NULL);
    if (s) {
        xds_snapshot_unref(w->snap);
        w->snap = s;
    }
}

static void on_notify(evutil_socket_t fd, short what, void *arg)
{
    xds_worker_t *w = arg;
    xds_policy_t *p = atomic_exchange(&w->pending_policy, NULL);
    if (p) {
        policy_free(&w->policy);
        w->policy = *p;
        free(p);
    }
    (void)fd;
    (void)what;
    take_snapshot(w);
}

static void on_grace(evutil_socket_t fd, short what, void *arg)
{
    xds_worker_t *w = arg;
    (void)fd;
    (void)what;
    if (w->nconns)
        xds_log(XDS_LOG_WARN, "worker %d: shutdown_timeout passed, closing %zu connection%s", w->id,
                w->nconns, w->nconns == 1 ? "" : "s");
    event_base_loopexit(w->base, NULL);
}

static void on_stop(evutil_socket_t fd, short what, void *arg)
{
    xds_worker_t *w = arg;
    (void)fd;
    (void)what;
    if (w->stopping)
        return;
    w->stopping = 1;
    if (w->listener) {
        evconnlistener_free(w->listener); /* closes the socket */
        w->listener = NULL;
        w->fd = -1;
    }
    /* Idle connections go now; busy ones after their answer. */
    for (xds_conn_t *c = w->conns, *next; c; c = next) {
        next = c->next;
        if (c->state == C_IDLE && !c->closing &&
            evbuffer_get_length(bufferevent_get_output(c->bev)) == 0)
            conn_free(c);
    }
    if (w->nconns == 0) {
        event_base_loopexit(w->base, NULL);
        return;
    }
    int64_t ms = w->conf.shutdown_timeout_ms;
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
    w->grace_ev = evtimer_new(w->base, on_grace, w);
    evtimer_add(w->grace_ev, &tv);
}

static void *worker_main(void *arg)
{
    xds_worker_t *w = arg;
    event_base_dispatch(w->base);
    return NULL;
}

static void worker_free(xds_worker_t *w)
{
    while (w->conns)
        conn_free(w->conns);
    if (w->listener)
        evconnlistener_free(w->listener);
    else if (w->fd >= 0)
        close(w->fd);
    if (w->grace_ev)
        event_free(w->grace_ev);
    if (w->notify_ev)
        event_free(w->notify_ev);
    if (w->stop_ev)
        event_free(w->stop_ev);
    xds_snapshot_unref(atomic_exchange(&w->pending, NULL));
    xds_snapshot_unref(w->snap);
    if (w->base)
        event_base_free(w->base);
    policy_free(&w->policy);
    xds_policy_t *p = atomic_exchange(&w->pending_policy, NULL);
    if (p) {
        policy_free(p);
        free(p);
    }
    free(w);
}

static int open_socket(const xds_discovery_conf_t *dc, char *err, size_t errlen)
{
    int fd = socket(dc->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        snprintf(err, errlen, "socket for %s: %s", dc->listen, strerror(errno));
        return -1;
    }
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) < 0) {
        snprintf(err, errlen, "SO_REUSEPORT on %s: %s", dc->listen, strerror(errno));
        close(fd);
        return -1;
    }
    if (bind(fd, (const struct sockaddr *)&dc->addr, dc->addrlen) < 0) {
        snprintf(err, errlen, "bind %s: %s", dc->listen, strerror(errno));
        close(fd);
        return -1;
    }
    if (listen(fd, 1024) < 0) {
        snprintf(err, errlen, "listen %s: %s", dc->listen, strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}

/* SO_REUSEPORT would let a second xdsd (or anything else) share the port
 * silently and take half the polls.  A plain bind of the address first
 * fails if anyone listens there, whatever their options. */
static int check_port_free(const xds_discovery_conf_t *dc, char *err, size_t errlen)
{
    int fd = socket(dc->addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        snprintf(err, errlen, "socket for %s: %s", dc->listen, strerror(errno));
        return XDS_ERROR;
    }
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    int rc = bind(fd, (const struct sockaddr *)&dc->addr, dc->addrlen);
    int e = errno;
    close(fd);
    if (rc < 0) {
        snprintf(err, errlen, "bind %s: %s%s", dc->listen, strerror(e),
                 e == EADDRINUSE ? " (is another xdsd running?)" : "");
        return XDS_ERROR;
    }
    return XDS_OK;
}

static void set_free(worker_set_t *set)
{
    for (size_t i = 0; i < set->n; i++) {
        if (set->w[i]->thread_started)
            pthread_join(set->w[i]->thread, NULL);
        worker_free(set->w[i]);
    }
    free(set->w);
    free(set);
}

static void set_stop(worker_set_t *set)
{
    for (size_t i = 0; i < set->n; i++)
        event_active(set->w[i]->stop_ev, EV_READ, 0);
}

static worker_set_t *set_start(const xds_discovery_conf_t *dc, char *err, size_t errlen)
{
    static int threads_ready;
    if (!threads_ready) {
        evthread_use_pthreads();
        threads_ready = 1;
    }

    worker_set_t *set = xds_calloc(1, sizeof(*set));
    set->w = xds_calloc((size_t)dc->workers, sizeof(xds_worker_t *));

    /* All sockets first, so a bind error leaves nothing running. */
    for (size_t i = 0; i < (size_t)dc->workers; i++) {
        xds_worker_t *w = xds_calloc(1, sizeof(*w));
        set->w[set->n++] = w;
        w->id = (int)i;
        w->conf = *dc;
        w->conf.listen = NULL; /* the cycle's strings are not the worker's */
        w->conf.ssl_certificate = w->conf.ssl_certificate_key = NULL;
        w->conf.ssl_client_certificate = NULL;
        policy_from(&w->policy, dc);
        w->conf.ssl_ctx = NULL; /* the worker's are in w->policy */
        w->conf.authz = NULL;
        atomic_init(&w->pending_policy, NULL);
        atomic_init(&w->pending, NULL);
        w->fd = open_socket(dc, err, errlen);
        if (w->fd < 0)
            goto failed;
        w->base = event_base_new();
        if (w->base == NULL) {
            snprintf(err, errlen, "event_base_new failed");
            goto failed;
        }
        w->listener = evconnlistener_new(w->base, on_accept, w, LEV_OPT_CLOSE_ON_FREE, -1, w->fd);
        if (w->listener == NULL) {
            snprintf(err, errlen, "evconnlistener_new failed");
            goto failed;
        }
        evconnlistener_set_error_cb(w->listener, on_accept_error);
        w->notify_ev = event_new(w->base, -1, 0, on_notify, w);
        w->stop_ev = event_new(w->base, -1, 0, on_stop, w);
        if (current)
            w->snap = xds_snapshot_ref(current);
    }
    for (size_t i = 0; i < set->n; i++) {
        xds_worker_t *w = set->w[i];
        int rc = pthread_create(&w->thread, NULL, worker_main, w);
        if (rc != 0) {
            snprintf(err, errlen, "pthread_create: %s", strerror(rc));
            set_stop(set);
            goto failed;
        }
        w->thread_started = 1;
    }
    xds_log(XDS_LOG_NOTICE, "discovery: listening on %s%s with %zu worker%s", dc->listen,
            dc->ssl_ctx
                ? (dc->ssl_verify_client ? " (TLS, client certificates required)" : " (TLS)")
                : "",
            set->n, set->n == 1 ? "" : "s");
    return set;

failed:
    set_free(set);
    return NULL;
}

int xds_server_start(const xds_discovery_conf_t *dc, char *err, size_t errlen)
{
    if (check_port_free(dc, err, errlen) != XDS_OK)
        return XDS_ERROR;
    active = set_start(dc, err, errlen);
    return active ? XDS_OK : XDS_ERROR;
}

int xds_server_reconfigure(const xds_discovery_conf_t *dc, char *err, size_t errlen)
{
    if (active && !xds_discovery_conf_differs(&active->w[0]->conf, dc)) {
        /* Same sockets: hand the workers the new TLS context and rules. */
        for (size_t i = 0; i < active->n; i++) {
            xds_worker_t *w = active->w[i];
            xds_policy_t *p = xds_malloc(sizeof(*p));
            policy_from(p, dc);
            p = atomic_exchange(&w->pending_policy, p);
            if (p) {
                policy_free(p);
                free(p);
            }
            event_active(w->notify_ev, EV_READ, 0);
        }
        return XDS_OK;
    }
    const xds_discovery_conf_t *cur = active ? &active->w[0]->conf : NULL;
    if ((cur == NULL || cur->addrlen != dc->addrlen ||
         memcmp(&cur->addr, &dc->addr, dc->addrlen) != 0) &&
        check_port_free(dc, err, errlen) != XDS_OK)
        return XDS_ERROR;
    worker_set_t *set = set_start(dc, err, errlen);
    if (set == NULL)
        return XDS_ERROR;
    if (active) {
        set_stop(active);
        active->next = retired;
        retired = active;
    }
    active = set;
    return XDS_OK;
}

void xds_server_publish(xds_snapshot_t *s)
{
    xds_snapshot_t *old = current;
    current = xds_snapshot_ref(s);
    xds_snapshot_unref(old);
    if (active == NULL)
        return;
    for (size_t i = 0; i < active->n; i++) {
        xds_worker_t *w = active->w[i];
        xds_snapshot_unref(atomic_exchange(&w->pending, xds_snapshot_ref(s)));
        event_active(w->notify_ev, EV_READ, 0);
    }
}

void xds_server_stop(void)
{
    if (active) {
        set_stop(active);
        active->next = retired;
        retired = active;
        active = NULL;
    }
    while (retired) {
        worker_set_t *next = retired->next;
        set_free(retired);
        retired = next;
    }
    xds_snapshot_unref(current);
    current = NULL;
}
