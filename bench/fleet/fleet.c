/*
 * fleet.c -- a fleet of simulated Envoy proxies polling a REST xDS server,
 * to find how many proxies one xdsd holds and how fast a change reaches all
 * of them.
 *
 * Each of the N proxies polls CDS, LDS, RDS (one named route configuration)
 * and EDS (one named cluster) the way Envoy's REST subscriptions do: after
 * each answer (or failure) the next poll of that type is due after a delay
 * drawn uniformly from [d, 2d), and every request carries the version_info
 * of the last 200 the proxy accepted for that type, so a server that has
 * nothing new answers 304.  A proxy uses one keep-alive HTTP/1.1 connection
 * (Envoy's connection pool to the xDS cluster); a poll that falls due while
 * another is in flight waits for it.  The first poll of each type is spread
 * uniformly over [0, d) so the fleet does not start in lockstep.
 *
 * Everything runs in one process on one libevent loop with non-blocking
 * sockets.  Latency is measured from writing a request to reading the last
 * byte of its answer; only requests sent inside the measurement window
 * count.  After the window, if --change-src/--change-dst are given, the
 * source file is renamed over the model file the server watches, and the
 * tool waits until every proxy holds a CDS version different from the one
 * it held at that moment: the time of the last one is the propagation time.
 *
 * Request bodies come from template files (one per type, written by
 * bench/discovery/run) with three placeholders: @VERSION@ (replaced by
 * `"version_info":"V",` or nothing before the first accepted version), @ID@
 * (the node id, "fleet-<i>") and @NAME@ (the resource name for RDS/EDS).
 *
 * Prints one line of JSON with the results.  Build: see Makefile.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

enum { T_CDS, T_LDS, T_RDS, T_EDS, NTYPES };

static const char *const type_names[NTYPES] = {"cds", "lds", "rds", "eds"};
static const char *const type_paths[NTYPES] = {"/v3/discovery:clusters", "/v3/discovery:listeners",
                                               "/v3/discovery:routes", "/v3/discovery:endpoints"};

#define VERSION_MAX 64

/* A request template split at its placeholders. */
enum { P_NONE, P_VERSION, P_ID, P_NAME };
typedef struct {
    char *text;     /* owned */
    size_t off[16]; /* literal segments: text + off[i], len[i] */
    size_t len[16];
    int after[16]; /* placeholder following segment i (P_NONE: last) */
    int nseg;
} tmpl_t;

typedef struct proxy proxy_t;

typedef struct {
    proxy_t *p;
    int type;
    struct event *timer;
    int due;                       /* its poll is waiting for the connection */
    char version[VERSION_MAX + 1]; /* last accepted ("" = none yet) */
} sub_t;

struct proxy {
    int id;
    struct bufferevent *bev; /* NULL when not connected */
    int inflight;            /* type of the request in flight, or -1 */
    uint64_t sent_ns;
    int have_head, status;
    size_t clen;
    const char *rds_name, *eds_name;
    sub_t sub[NTYPES];
    char cds_at_change[VERSION_MAX + 1];
    int updated; /* holds a new CDS version since the change */
};

/* ------------------------------------------------------------- settings */

static const char *host = "127.0.0.1";
static int port = 8050;
static int nproxies = 100;
static double delay_ms = 1000;
static double warmup_s = 3, duration_s = 10, change_wait_s = 0;
static const char *tmpl_dir;
static const char *names_file;
static const char *change_src, *change_dst;

/* ---------------------------------------------------------------- state */

static struct event_base *base;
static struct sockaddr_in addr;
static tmpl_t tmpls[NTYPES];
static proxy_t *proxies;
static char **rds_names, **eds_names;
static size_t nrds, neds;
static uint64_t t_start, t_window_start, t_window_end, t_change;
static int phase; /* 0 warmup, 1 measuring, 2 after the change, 3 done */

static uint64_t *samples; /* latencies (ns) of requests sent in the window */
static size_t nsamples, capsamples;
static uint64_t *change_samples; /* latencies after the change */
static size_t nchange, capchange;
static uint64_t n_ok[NTYPES], n_notmod[NTYPES], n_other, n_errors, n_connects;
static uint64_t bytes_in;
/* The counters above, as they were at the end of the measurement window. */
static uint64_t w_ok[NTYPES], w_notmod[NTYPES], w_other, w_errors, w_bytes_in;
static size_t nupdated;
static uint64_t t_last_update, *update_times;
static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static double rand01(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (double)(rng >> 11) / 9007199254740992.0;
}

static void die(const char *what)
{
    fprintf(stderr, "fleet: %s\n", what);
    exit(1);
}

static void push_sample(uint64_t **v, size_t *n, size_t *cap, uint64_t x)
{
    if (*n == *cap) {
        *cap = *cap ? *cap * 2 : 65536;
        *v = realloc(*v, *cap * sizeof(uint64_t));
        if (*v == NULL)
            die("out of memory");
    }
    (*v)[(*n)++] = x;
}

/* ------------------------------------------------------------ templates */

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    char *buf = NULL;
    size_t n = 0, cap = 0;
    for (;;) {
        if (cap - n < 65536) {
            cap = cap ? cap * 2 : 65536;
            buf = realloc(buf, cap + 1);
            if (buf == NULL)
                die("out of memory");
        }
        size_t r = fread(buf + n, 1, cap - n, f);
        n += r;
        if (r == 0)
            break;
    }
    fclose(f);
    buf[n] = '\0';
    *len = n;
    return buf;
}

static void load_template(tmpl_t *t, const char *path)
{
    static const struct {
        const char *mark;
        int kind;
    } marks[] = {{"@VERSION@", P_VERSION}, {"@ID@", P_ID}, {"@NAME@", P_NAME}};
    size_t len;
    t->text = read_file(path, &len);
    if (t->text == NULL) {
        fprintf(stderr, "fleet: %s: %s\n", path, strerror(errno));
        exit(1);
    }
    while (len && (t->text[len - 1] == '\n' || t->text[len - 1] == '\r'))
        t->text[--len] = '\0';
    size_t at = 0;
    t->nseg = 0;
    for (;;) {
        const char *best = NULL;
        int kind = P_NONE;
        size_t mlen = 0;
        for (size_t i = 0; i < sizeof(marks) / sizeof(marks[0]); i++) {
            const char *m = strstr(t->text + at, marks[i].mark);
            if (m && (best == NULL || m < best)) {
                best = m;
                kind = marks[i].kind;
                mlen = strlen(marks[i].mark);
            }
        }
        if (t->nseg == 16)
            die("too many placeholders in a template");
        t->off[t->nseg] = at;
        if (best == NULL) {
            t->len[t->nseg] = len - at;
            t->after[t->nseg++] = P_NONE;
            return;
        }
        t->len[t->nseg] = (size_t)(best - (t->text + at));
        t->after[t->nseg++] = kind;
        at = (size_t)(best - t->text) + mlen;
    }
}

static char **load_names(const char *path, const char *kind, size_t *n)
{
    size_t len;
    char *text = read_file(path, &len);
    char **v = NULL;
    *n = 0;
    if (text == NULL) {
        fprintf(stderr, "fleet: %s: %s\n", path, strerror(errno));
        exit(1);
    }
    size_t klen = strlen(kind);
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        if (strncmp(line, kind, klen) == 0 && line[klen] == ' ') {
            v = realloc(v, (*n + 1) * sizeof(char *));
            v[(*n)++] = strdup(line + klen + 1);
        }
    }
    free(text);
    if (*n == 0) {
        fprintf(stderr, "fleet: %s: no \"%s NAME\" lines\n", path, kind);
        exit(1);
    }
    return v;
}

/* -------------------------------------------------------------- polling */

static void schedule(sub_t *s, double min_ms, double span_ms)
{
    double ms = min_ms + rand01() * span_ms;
    struct timeval tv = {(time_t)(ms / 1000),
                         (suseconds_t)((ms - (double)(time_t)(ms / 1000) * 1000) * 1000)};
    evtimer_add(s->timer, &tv);
}

static void conn_read(struct bufferevent *bev, void *arg);
static void conn_event(struct bufferevent *bev, short what, void *arg);

static int connect_proxy(proxy_t *p)
{
    p->bev = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
    if (p->bev == NULL)
        return -1;
    bufferevent_setcb(p->bev, conn_read, NULL, conn_event, p);
    bufferevent_enable(p->bev, EV_READ);
    if (bufferevent_socket_connect(p->bev, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
        bufferevent_free(p->bev);
        p->bev = NULL;
        return -1;
    }
    int one = 1;
    setsockopt(bufferevent_getfd(p->bev), IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    p->have_head = 0;
    n_connects++;
    return 0;
}

static void send_poll(proxy_t *p, int type)
{
    sub_t *s = &p->sub[type];
    const tmpl_t *t = &tmpls[type];
    char vbuf[VERSION_MAX + 32], idbuf[32];
    const char *name = type == T_RDS ? p->rds_name : type == T_EDS ? p->eds_name : "";
    size_t vlen = 0, idlen, nlen = strlen(name), blen = 0;

    if (s->version[0])
        vlen = (size_t)snprintf(vbuf, sizeof(vbuf), "\"version_info\":\"%s\",", s->version);
    idlen = (size_t)snprintf(idbuf, sizeof(idbuf), "fleet-%d", p->id);
    for (int i = 0; i < t->nseg; i++) {
        blen += t->len[i];
        blen += t->after[i] == P_VERSION ? vlen
                : t->after[i] == P_ID    ? idlen
                : t->after[i] == P_NAME  ? nlen
                                         : 0;
    }
    if (p->bev == NULL && connect_proxy(p) < 0) {
        n_errors++;
        schedule(s, delay_ms, delay_ms);
        return;
    }
    struct evbuffer *out = bufferevent_get_output(p->bev);
    evbuffer_add_printf(out,
                        "POST %s HTTP/1.1\r\nHost: xds\r\nContent-Type: application/json\r\n"
                        "Content-Length: %zu\r\n\r\n",
                        type_paths[type], blen);
    for (int i = 0; i < t->nseg; i++) {
        evbuffer_add(out, t->text + t->off[i], t->len[i]);
        if (t->after[i] == P_VERSION)
            evbuffer_add(out, vbuf, vlen);
        else if (t->after[i] == P_ID)
            evbuffer_add(out, idbuf, idlen);
        else if (t->after[i] == P_NAME)
            evbuffer_add(out, name, nlen);
    }
    p->inflight = type;
    p->sent_ns = now_ns();
    s->due = 0;
}

/* Send the next poll that is waiting for the connection, if any. */
static void send_next_due(proxy_t *p)
{
    for (int i = 0; i < NTYPES; i++) {
        int type = (p->id + i) % NTYPES;
        if (p->sub[type].due) {
            send_poll(p, type);
            return;
        }
    }
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
    sub_t *s = arg;
    (void)fd;
    (void)what;
    if (phase == 3)
        return;
    s->due = 1;
    if (s->p->inflight < 0)
        send_poll(s->p, s->type);
}

static void request_done(proxy_t *p, int ok)
{
    uint64_t now = now_ns();
    int type = p->inflight;
    uint64_t lat = now - p->sent_ns;
    p->inflight = -1;
    if (!ok) {
        n_errors++;
    } else if (phase == 1 && p->sent_ns >= t_window_start && now <= t_window_end) {
        push_sample(&samples, &nsamples, &capsamples, lat);
    } else if (phase == 2 && p->sent_ns >= t_change) {
        push_sample(&change_samples, &nchange, &capchange, lat);
    }
    if (ok && type == T_CDS && phase == 2 && !p->updated && p->sub[T_CDS].version[0] &&
        strcmp(p->sub[T_CDS].version, p->cds_at_change) != 0) {
        p->updated = 1;
        update_times[nupdated++] = now - t_change;
        t_last_update = now;
        if (nupdated == (size_t)nproxies) {
            phase = 3;
            event_base_loopexit(base, NULL);
        }
    }
    schedule(&p->sub[type], delay_ms, delay_ms);
    send_next_due(p);
}

/* The version_info of a 200 body: xdsd writes it first, but look anywhere
 * in the first bytes. */
static void take_version(sub_t *s, struct evbuffer *in, size_t clen)
{
    char head[256];
    size_t n = clen < sizeof(head) - 1 ? clen : sizeof(head) - 1;
    evbuffer_copyout(in, head, n);
    head[n] = '\0';
    const char *v = strstr(head, "\"version_info\":\"");
    if (v == NULL)
        return;
    v += sizeof("\"version_info\":\"") - 1;
    const char *e = strchr(v, '"');
    if (e == NULL || (size_t)(e - v) > VERSION_MAX)
        return;
    memcpy(s->version, v, (size_t)(e - v));
    s->version[e - v] = '\0';
}

static void conn_read(struct bufferevent *bev, void *arg)
{
    proxy_t *p = arg;
    struct evbuffer *in = bufferevent_get_input(bev);

    for (;;) {
        if (!p->have_head) {
            struct evbuffer_ptr pos = evbuffer_search(in, "\r\n\r\n", 4, NULL);
            if (pos.pos < 0)
                return;
            size_t hlen = (size_t)pos.pos + 4;
            char *h = (char *)evbuffer_pullup(in, (ssize_t)hlen);
            char save = h[hlen - 1];
            h[hlen - 1] = '\0';
            p->status = 0;
            p->clen = 0;
            if (strncmp(h, "HTTP/1.", 7) == 0 && hlen > 12)
                p->status = atoi(h + 9);
            for (char *l = strstr(h, "\r\n"); l; l = strstr(l + 2, "\r\n"))
                if (strncasecmp(l + 2, "Content-Length:", 15) == 0)
                    p->clen = (size_t)strtoull(l + 17, NULL, 10);
            h[hlen - 1] = save;
            evbuffer_drain(in, hlen);
            p->have_head = 1;
        }
        if (evbuffer_get_length(in) < p->clen)
            return;
        if (p->inflight < 0) { /* an answer we did not ask for */
            n_other++;
            bufferevent_free(p->bev);
            p->bev = NULL;
            return;
        }
        int type = p->inflight;
        bytes_in += p->clen;
        if (p->status == 200) {
            n_ok[type]++;
            take_version(&p->sub[type], in, p->clen);
        } else if (p->status == 304) {
            n_notmod[type]++;
        } else {
            n_other++;
        }
        evbuffer_drain(in, p->clen);
        p->have_head = 0;
        request_done(p, p->status == 200 || p->status == 304);
        if (p->bev == NULL || evbuffer_get_length(in) == 0)
            return;
    }
}

static void conn_event(struct bufferevent *bev, short what, void *arg)
{
    proxy_t *p = arg;
    (void)bev;
    if (what & BEV_EVENT_CONNECTED)
        return;
    bufferevent_free(p->bev);
    p->bev = NULL;
    if (p->inflight >= 0)
        request_done(p, 0); /* reconnects on the next poll */
}

/* ---------------------------------------------------------------- phases */

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

static double pct_ms(uint64_t *v, size_t n, double pct)
{
    if (n == 0)
        return -1;
    size_t i = (size_t)(pct / 100.0 * (double)(n - 1) + 0.5);
    return (double)v[i] / 1e6;
}

static void on_phase(evutil_socket_t fd, short what, void *arg);
static struct event *phase_ev;

static void arm_phase(double seconds)
{
    struct timeval tv = {(time_t)seconds, (suseconds_t)((seconds - (double)(time_t)seconds) * 1e6)};
    evtimer_add(phase_ev, &tv);
}

static void on_phase(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    (void)arg;
    uint64_t now = now_ns();
    if (phase == 0) {
        phase = 1;
        t_window_start = now;
        t_window_end = now + (uint64_t)(duration_s * 1e9);
        memset(n_ok, 0, sizeof(n_ok));
        memset(n_notmod, 0, sizeof(n_notmod));
        n_other = n_errors = bytes_in = 0;
        arm_phase(duration_s);
    } else if (phase == 1) {
        t_window_end = now;
        memcpy(w_ok, n_ok, sizeof(w_ok));
        memcpy(w_notmod, n_notmod, sizeof(w_notmod));
        w_other = n_other;
        w_errors = n_errors;
        w_bytes_in = bytes_in;
        if (change_src == NULL || change_dst == NULL) {
            phase = 3;
            event_base_loopexit(base, NULL);
            return;
        }
        for (int i = 0; i < nproxies; i++)
            memcpy(proxies[i].cds_at_change, proxies[i].sub[T_CDS].version, VERSION_MAX + 1);
        t_change = now_ns();
        if (rename(change_src, change_dst) != 0) {
            fprintf(stderr, "fleet: rename %s -> %s: %s\n", change_src, change_dst,
                    strerror(errno));
            exit(1);
        }
        phase = 2;
        arm_phase(change_wait_s > 0 ? change_wait_s : 2 * delay_ms / 1000 + 10);
    } else {
        phase = 3;
        event_base_loopexit(base, NULL);
    }
}

static void usage(void)
{
    fprintf(stderr,
            "usage: fleet -t TEMPLATE_DIR -f NAMES_FILE [-H HOST] [-p PORT] [-n PROXIES]\n"
            "             [-d DELAY_MS] [-w WARMUP_S] [-D DURATION_S]\n"
            "             [--change-src FILE --change-dst MODEL [--change-wait S]]\n"
            "TEMPLATE_DIR holds cds.json lds.json rds.json eds.json; NAMES_FILE has\n"
            "lines \"rds NAME\" and \"eds NAME\" (proxy i asks for the (i mod count)th).\n");
    exit(2);
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {{"change-src", required_argument, NULL, 1},
                                             {"change-dst", required_argument, NULL, 2},
                                             {"change-wait", required_argument, NULL, 3},
                                             {NULL, 0, NULL, 0}};
    int opt;
    while ((opt = getopt_long(argc, argv, "H:p:n:d:w:D:t:f:", longopts, NULL)) != -1) {
        switch (opt) {
        case 'H':
            host = optarg;
            break;
        case 'p':
            port = atoi(optarg);
            break;
        case 'n':
            nproxies = atoi(optarg);
            break;
        case 'd':
            delay_ms = atof(optarg);
            break;
        case 'w':
            warmup_s = atof(optarg);
            break;
        case 'D':
            duration_s = atof(optarg);
            break;
        case 't':
            tmpl_dir = optarg;
            break;
        case 'f':
            names_file = optarg;
            break;
        case 1:
            change_src = optarg;
            break;
        case 2:
            change_dst = optarg;
            break;
        case 3:
            change_wait_s = atof(optarg);
            break;
        default:
            usage();
        }
    }
    if (tmpl_dir == NULL || names_file == NULL || nproxies < 1 || delay_ms <= 0)
        usage();

    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < (rlim_t)nproxies + 64) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
        getrlimit(RLIMIT_NOFILE, &rl);
        if (rl.rlim_cur < (rlim_t)nproxies + 64) {
            fprintf(stderr, "fleet: %d proxies need %d descriptors; the limit is %llu\n", nproxies,
                    nproxies + 64, (unsigned long long)rl.rlim_cur);
            return 1;
        }
    }
    for (int i = 0; i < NTYPES; i++) {
        char path[4096];
        snprintf(path, sizeof(path), "%s/%s.json", tmpl_dir, type_names[i]);
        load_template(&tmpls[i], path);
    }
    rds_names = load_names(names_file, "rds", &nrds);
    eds_names = load_names(names_file, "eds", &neds);

    memset(&addr, 0, sizeof(addr));
    addr.sin_family = AF_INET;
    addr.sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, host, &addr.sin_addr) != 1)
        die("-H must be a numeric IPv4 address");

    rng ^= (uint64_t)getpid() << 32 ^ now_ns();
    base = event_base_new();
    if (base == NULL)
        die("event_base_new failed");
    proxies = calloc((size_t)nproxies, sizeof(proxy_t));
    update_times = calloc((size_t)nproxies, sizeof(uint64_t));
    if (proxies == NULL || update_times == NULL)
        die("out of memory");
    for (int i = 0; i < nproxies; i++) {
        proxy_t *p = &proxies[i];
        p->id = i;
        p->inflight = -1;
        p->rds_name = rds_names[(size_t)i % nrds];
        p->eds_name = eds_names[(size_t)i % neds];
        for (int t = 0; t < NTYPES; t++) {
            p->sub[t].p = p;
            p->sub[t].type = t;
            p->sub[t].timer = evtimer_new(base, on_timer, &p->sub[t]);
            schedule(&p->sub[t], 0, delay_ms); /* first polls spread over [0, d) */
        }
    }
    phase_ev = evtimer_new(base, on_phase, NULL);
    t_start = now_ns();
    arm_phase(warmup_s);
    event_base_dispatch(base);

    qsort(samples, nsamples, sizeof(uint64_t), cmp_u64);
    qsort(change_samples, nchange, sizeof(uint64_t), cmp_u64);
    qsort(update_times, nupdated, sizeof(uint64_t), cmp_u64);
    double window = (double)(t_window_end - t_window_start) / 1e9;
    uint64_t total = w_other;
    for (int t = 0; t < NTYPES; t++)
        total += w_ok[t] + w_notmod[t];
    size_t conns = 0;
    for (int i = 0; i < nproxies; i++)
        conns += proxies[i].bev != NULL;
    printf("{\"proxies\":%d,\"delay_ms\":%.0f,\"window_s\":%.2f,\"responses\":%llu,"
           "\"rps\":%.1f,\"expected_rps\":%.1f,\"samples\":%zu,\"p50_ms\":%.3f,\"p90_ms\":%.3f,"
           "\"p99_ms\":%.3f,\"max_ms\":%.3f,\"errors\":%llu,\"other_status\":%llu,"
           "\"connects\":%llu,\"open_conns\":%zu,\"mb_in\":%.1f",
           nproxies, delay_ms, window, (unsigned long long)total,
           window > 0 ? (double)total / window : 0,
           (double)nproxies * NTYPES / (1.5 * delay_ms / 1000), nsamples,
           pct_ms(samples, nsamples, 50), pct_ms(samples, nsamples, 90),
           pct_ms(samples, nsamples, 99), pct_ms(samples, nsamples, 100),
           (unsigned long long)w_errors, (unsigned long long)w_other,
           (unsigned long long)n_connects, conns, (double)w_bytes_in / 1e6);
    for (int t = 0; t < NTYPES; t++)
        printf(",\"%s_200\":%llu,\"%s_304\":%llu", type_names[t], (unsigned long long)w_ok[t],
               type_names[t], (unsigned long long)w_notmod[t]);
    if (change_src && change_dst)
        printf(",\"updated\":%zu,\"propagation_last_ms\":%.1f,\"propagation_p50_ms\":%.1f,"
               "\"change_p99_ms\":%.3f",
               nupdated, nupdated ? (double)(t_last_update - t_change) / 1e6 : -1.0,
               pct_ms(update_times, nupdated, 50), pct_ms(change_samples, nchange, 99));
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    double cpu_s = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
                   (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
    printf(",\"fleet_cpu_pct\":%.1f}\n", cpu_s / ((double)(now_ns() - t_start) / 1e9) * 100);

    for (int i = 0; i < nproxies; i++) {
        if (proxies[i].bev)
            bufferevent_free(proxies[i].bev);
        for (int t = 0; t < NTYPES; t++)
            event_free(proxies[i].sub[t].timer);
    }
    event_free(phase_ev);
    event_base_free(base);
    return 0;
}
