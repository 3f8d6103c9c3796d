/*
 * fuzz_server.c -- libFuzzer target for the HTTP/1.1 layer of the discovery
 * listener (core/server.c): what an unauthenticated client's bytes meet
 * before the DiscoveryRequest parser -- the request head (parse_head:
 * request line, headers, Content-Length, Transfer-Encoding, Connection,
 * Expect), the chunked body decoder (read_chunked), pipelining and
 * keep-alive, the header and body size limits, and the answers queued for
 * each request (handle_discovery with the snapshot, 200/304/4xx).
 *
 * The handlers are static, so core/server.c is compiled into this file (and
 * the target is linked without its objs/.../core/server.o).  A connection
 * is set up as on_accept() would for a plain-TCP client, on a socket
 * bufferevent without a socket; the input's bytes are put into its input
 * buffer and conn_read() runs, as when the socket is readable.  What it
 * queues is taken away as the kernel would and conn_write() runs, so
 * closing and lingering happen too.  Not reached: TLS (the certificates of
 * issue 9 need a handshake), the worker threads, accept and the timers'
 * callbacks.  XDSD_FUZZ_LOG=1 prints the answers.
 *
 * Input: up to eight segments separated by FUZZ_SEP, each delivered as one
 * read (so a request can be split anywhere, e.g. inside a chunk-size line).
 * Limits are small (client_max_body_size 4k, client_max_header_size 1k) so
 * that they are reached.  Checked beyond "no crash": a body being read is
 * never larger than client_max_body_size.
 */
#include "../../core/server.c"

#include "fuzz.h"
#include "host.h"

#define MAX_BODY   4096
#define MAX_HEADER 1024

static xds_worker_t worker;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_log_init();
    worker.base = event_base_new();
    worker.conf.client_max_body_size = MAX_BODY;
    worker.conf.client_max_header_size = MAX_HEADER;
    worker.conf.max_connections = 16;
    worker.conf.keepalive_timeout_ms = 75000;
    worker.conf.read_timeout_ms = 30000;
    worker.conf.shutdown_timeout_ms = 10000;
    worker.snap = fuzz_snapshot_new();
    return 0;
}

/* A connection as on_accept() makes it, on a bufferevent instead of a
 * socket. */
static xds_conn_t *connection(struct bufferevent *bev)
{
    xds_worker_t *w = &worker;
    struct sockaddr_in sin;
    xds_conn_t *c = xds_calloc(1, sizeof(*c));

    memset(&sin, 0, sizeof(sin));
    sin.sin_family = AF_INET;
    sin.sin_port = htons(40000);
    sin.sin_addr.s_addr = htonl(0xC0000201); /* 192.0.2.1 */
    c->w = w;
    xds_format_peer((struct sockaddr *)&sin, c->peer, sizeof(c->peer));
    memcpy(&c->who.addr, &sin, sizeof(sin));
    c->bev = bev;
    c->next = w->conns;
    if (w->conns)
        w->conns->prev = c;
    w->conns = c;
    w->nconns++;
    c->state = C_IDLE;
    c->deadline = evtimer_new(w->base, on_deadline, c);
    bufferevent_setcb(c->bev, conn_read, conn_write, conn_event, c);
    conn_set_idle_timeout(c);
    bufferevent_enable(c->bev, EV_READ);
    return c;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *p = data, *part;
    size_t len;

    if (size > 256 * 1024)
        return 0;
    /* A socket bufferevent without a socket: nothing is read or written
     * behind our back. */
    struct bufferevent *bev = bufferevent_socket_new(worker.base, -1, 0);
    if (bev == NULL)
        abort();
    xds_conn_t *c = connection(bev);

    for (int i = 0; i < 8 && fuzz_next_part(&p, data + size, &part, &len); i++) {
        if (worker.conns == NULL || c->closing)
            break; /* freed, or only draining: nothing more is read */
        /* As the bufferevent does when it reads (its input's end is frozen
         * for everyone else). */
        struct evbuffer *in = bufferevent_get_input(c->bev);
        evbuffer_unfreeze(in, 0);
        if (evbuffer_add(in, part, len) != 0)
            abort();
        evbuffer_freeze(in, 0);
        conn_read(c->bev, c);
        if (worker.conns != NULL && c->body.len > MAX_BODY) {
            fprintf(stderr, "fuzz_server: reading a %zu-byte body, client_max_body_size %d\n",
                    c->body.len, MAX_BODY);
            abort();
        }
        /* The kernel takes what was queued; then the write callback. */
        if (worker.conns == NULL)
            break;
        struct evbuffer *out = bufferevent_get_output(c->bev);
        if (getenv("XDSD_FUZZ_LOG") != NULL) /* what was answered, for debugging */
            fprintf(stderr, "fuzz_server: segment %d: answered %.*s\n", i,
                    (int)evbuffer_get_length(out), (const char *)evbuffer_pullup(out, -1));
        evbuffer_unfreeze(out, 1);
        if (evbuffer_drain(out, evbuffer_get_length(out)) != 0)
            abort();
        evbuffer_freeze(out, 1);
        if (worker.conns != NULL)
            conn_write(c->bev, c);
    }
    if (worker.conns != NULL)
        conn_free(worker.conns);
    /* libevent frees a bufferevent from the loop (finalizers): one pass. */
    event_base_loop(worker.base, EVLOOP_NONBLOCK);
    xds_nodes_free();
    return 0;
}
