/*
 * hello.c -- an example xdsd source plugin, built out of tree: it includes
 * only the installed <xdsd_plugin.h> (found with `pkg-config xdsd-plugin`)
 * and links against nothing of xdsd.  Copy this folder to start your own.
 *
 *     load_plugin hello;       # optional: `plugin hello;` loads it too
 *     source hello {
 *         plugin    hello;
 *         service   hello;                 # the service (Envoy cluster) name
 *         domain    hello.example.com;     # repeatable; default: the name
 *         endpoint  10.0.0.5:8080;         # repeatable, at least one
 *         endpoint  [2001:db8::5]:8080;
 *         interval  30s;                   # optional heartbeat, see below
 *     }
 *
 * It publishes one model document with one service built from these
 * directives.  What it shows:
 *   - the directive table: the host parses and checks the block and fills
 *     hello_conf_t (strings stay the host's);
 *   - create() validates everything it can without I/O, so `xdsd -t`
 *     reports a bad endpoint with file and line;
 *   - start() publishes synchronously (allowed) and registers a timer on
 *     the host's event loop -- never a thread, never a blocking call;
 *   - ABI 1.1: with `interval`, each tick reports a refresh that found
 *     nothing new with api->unchanged(), after checking the host is 1.1+,
 *     so `stale_after` works for this source;
 *   - destroy() frees everything: xdsd calls it on every reload.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <xdsd_plugin.h>

typedef struct {
    char *service;    /* required */
    char **domains;   /* NULL-terminated list, or NULL: the service name */
    char **endpoints; /* NULL-terminated "ADDR:PORT" list; required */
    int64_t interval; /* heartbeat in ms; 0 = none */
} hello_conf_t;

typedef struct {
    const xdsd_host_api_t *api; /* borrowed */
    xdsd_source_t *src;         /* borrowed */
    int64_t interval;
    char *doc; /* the model document, built once in create() */
    size_t len;
    struct event *timer;
} hello_t;

/* A growable string, enough for building one JSON document. */
typedef struct {
    char *s;
    size_t len, cap;
    int oom;
} str_t;

static void str_add(str_t *b, const char *p, size_t n)
{
    if (b->oom)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 256;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *s = realloc(b->s, cap);
        if (s == NULL) {
            b->oom = 1;
            return;
        }
        b->s = s;
        b->cap = cap;
    }
    memcpy(b->s + b->len, p, n);
    b->len += n;
    b->s[b->len] = '\0';
}

static void str_adds(str_t *b, const char *p)
{
    str_add(b, p, strlen(p));
}

/* s as a JSON string, quotes included. */
static void str_add_json(str_t *b, const char *s)
{
    str_adds(b, "\"");
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        char esc[8];
        if (c == '"' || c == '\\') {
            esc[0] = '\\';
            esc[1] = (char)c;
            str_add(b, esc, 2);
        } else if (c < 0x20) {
            snprintf(esc, sizeof(esc), "\\u%04x", c);
            str_adds(b, esc);
        } else {
            str_add(b, s, 1);
        }
    }
    str_adds(b, "\"");
}

/* Split "10.0.0.5:8080" or "[2001:db8::5]:8080" into a numeric address
 * (written into addr) and a port.  Names are refused: the service is
 * `static`, so Envoy needs IP addresses. */
static int parse_endpoint(const char *ep, char *addr, size_t addrlen, long *port, char *err,
                          size_t errlen)
{
    const char *colon = strrchr(ep, ':');
    const char *host = ep;
    size_t hostlen = colon ? (size_t)(colon - ep) : 0;
    if (colon && ep[0] == '[' && colon > ep && colon[-1] == ']') {
        host = ep + 1;
        hostlen -= 2;
    }
    if (colon == NULL || hostlen == 0 || hostlen >= addrlen) {
        snprintf(err, errlen, "endpoint \"%s\": expected ADDRESS:PORT", ep);
        return XDSD_ERROR;
    }
    memcpy(addr, host, hostlen);
    addr[hostlen] = '\0';
    unsigned char bin[16];
    if (inet_pton(AF_INET, addr, bin) != 1 && inet_pton(AF_INET6, addr, bin) != 1) {
        snprintf(err, errlen, "endpoint \"%s\": \"%s\" is not an IP address", ep, addr);
        return XDSD_ERROR;
    }
    char *end;
    errno = 0;
    *port = strtol(colon + 1, &end, 10);
    if (errno || end == colon + 1 || *end != '\0' || *port < 1 || *port > 65535) {
        snprintf(err, errlen, "endpoint \"%s\": invalid port", ep);
        return XDSD_ERROR;
    }
    return XDSD_OK;
}

/* {"services":[{"name":..,"domains":[..],"endpoints":[{"address":..,"port":..}]}]} */
static int build_document(const hello_conf_t *cf, str_t *b, char *err, size_t errlen)
{
    str_adds(b, "{\"services\":[{\"name\":");
    str_add_json(b, cf->service);
    str_adds(b, ",\"domains\":[");
    if (cf->domains == NULL) {
        str_add_json(b, cf->service);
    } else {
        for (size_t i = 0; cf->domains[i]; i++) {
            if (i)
                str_adds(b, ",");
            str_add_json(b, cf->domains[i]);
        }
    }
    str_adds(b, "],\"endpoints\":[");
    for (size_t i = 0; cf->endpoints[i]; i++) {
        char addr[64], num[32];
        long port;
        if (parse_endpoint(cf->endpoints[i], addr, sizeof(addr), &port, err, errlen) != XDSD_OK)
            return XDSD_ERROR;
        str_adds(b, i ? ",{\"address\":" : "{\"address\":");
        str_add_json(b, addr);
        snprintf(num, sizeof(num), ",\"port\":%ld}", port);
        str_adds(b, num);
    }
    str_adds(b, "]}]}");
    if (b->oom) {
        snprintf(err, errlen, "out of memory");
        return XDSD_ERROR;
    }
    return XDSD_OK;
}

static int hello_create(const xdsd_host_api_t *api, xdsd_source_t *src, const void *conf,
                        void **state, char *err, size_t errlen)
{
    const hello_conf_t *cf = conf;
    str_t doc = {0};
    hello_t *h = NULL;

    if (cf->service[0] == '\0') {
        snprintf(err, errlen, "\"service\" must not be empty");
        goto failed;
    }
    if (cf->interval < 0) {
        snprintf(err, errlen, "\"interval\" must not be negative");
        goto failed;
    }
    if (build_document(cf, &doc, err, errlen) != XDSD_OK)
        goto failed;
    h = calloc(1, sizeof(*h));
    if (h == NULL) {
        snprintf(err, errlen, "out of memory");
        goto failed;
    }
    h->api = api;
    h->src = src;
    h->interval = cf->interval;
    h->doc = doc.s;
    h->len = doc.len;
    *state = h;
    return XDSD_OK;

failed:
    free(doc.s);
    return XDSD_ERROR;
}

/* The heartbeat: nothing here ever changes, so each tick is a successful
 * refresh with nothing new. */
static void hello_tick(evutil_socket_t fd, short what, void *arg)
{
    hello_t *h = arg;
    (void)fd;
    (void)what;
    if (h->api->abi_minor >= 1)
        h->api->unchanged(h->src);
}

static int hello_start(void *state, char *err, size_t errlen)
{
    hello_t *h = state;

    if (h->interval > 0) {
        struct timeval tv = {(time_t)(h->interval / 1000),
                             (suseconds_t)(h->interval % 1000) * 1000};
        h->timer = event_new(h->api->event_base(h->src), -1, EV_PERSIST, hello_tick, h);
        if (h->timer == NULL || event_add(h->timer, &tv) != 0) {
            snprintf(err, errlen, "cannot add the interval timer");
            return XDSD_ERROR;
        }
    }
    /* A refusal is logged by the host; there is nothing to retry here. */
    if (h->api->publish(h->src, h->doc, h->len, "hello") != XDSD_OK)
        h->api->log(h->src, XDSD_LOG_WARN, "the host refused the document");
    return XDSD_OK;
}

static void hello_destroy(void *state)
{
    hello_t *h = state;
    if (h->timer)
        event_free(h->timer);
    free(h->doc);
    free(h);
}

static const xdsd_directive_t hello_directives[] = {
    {"service", XDSD_ARG_STRING, offsetof(hello_conf_t, service), XDSD_DIRECTIVE_REQUIRED},
    {"domain", XDSD_ARG_STRING_LIST, offsetof(hello_conf_t, domains), 0},
    {"endpoint", XDSD_ARG_STRING_LIST, offsetof(hello_conf_t, endpoints), XDSD_DIRECTIVE_REQUIRED},
    {"interval", XDSD_ARG_DURATION, offsetof(hello_conf_t, interval), 0},
    {NULL, 0, 0, 0},
};

XDSD_PLUGIN_EXPORT const xdsd_plugin_t xdsd_plugin_entry = {
    .magic = XDSD_PLUGIN_MAGIC,
    .abi_major = XDSD_PLUGIN_ABI_MAJOR,
    .abi_minor = XDSD_PLUGIN_ABI_MINOR,
    .size = sizeof(xdsd_plugin_t),
    .name = "hello",
    .version = "1.0",
    .directives = hello_directives,
    .conf_size = sizeof(hello_conf_t),
    .create = hello_create,
    .start = hello_start,
    .destroy = hello_destroy,
};
