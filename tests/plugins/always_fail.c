/*
 * always_fail.c -- test-only plugin that never delivers anything good.
 *
 * Every 10 ms it does one bad thing in turn: publishes invalid JSON, binary
 * bytes, a truncated document, JSON nested 100,000 levels deep, a document
 * over any sane max_document_size, a document of the wrong shape, or calls
 * failed() with a new reason.  Integration tests run it beside a good
 * source to prove the host survives it, keeps serving, and does not flood
 * the log.  Timers come from the host's libevent (resolved at load time).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "minimal.h"

typedef struct {
    const xdsd_host_api_t *api;
    xdsd_source_t *src;
    struct event *tick;
    unsigned n;
} af_t;

static void af_tick(evutil_socket_t fd, short what, void *arg)
{
    af_t *af = arg;
    (void)fd;
    (void)what;
    static const char bad_json[] = "{\"services\": [ {\"name\": ";
    static const char binary[] = "\x00\x01\xff\xfe{}";
    static const char truncated[] = "{\"services\": [{\"name\": \"a\"}, {\"na";
    static const char shape[] = "{\"services\": {\"name\": \"not-a-list\"}}";
    char reason[64];
    switch (af->n++ % 7) {
    case 0:
        af->api->publish(af->src, bad_json, sizeof(bad_json) - 1, "always_fail");
        break;
    case 1:
        af->api->publish(af->src, binary, sizeof(binary) - 1, "always_fail");
        break;
    case 2:
        af->api->publish(af->src, truncated, sizeof(truncated) - 1, "always_fail");
        break;
    case 3: {
        size_t depth = 100000;
        char *deep = malloc(2 * depth);
        memset(deep, '[', depth);
        memset(deep + depth, ']', depth);
        af->api->publish(af->src, deep, 2 * depth, "always_fail");
        free(deep);
        break;
    }
    case 4: {
        size_t size = 3 * 1024 * 1024;
        char *big = malloc(size);
        memset(big, ' ', size);
        big[0] = '{';
        big[size - 1] = '}';
        af->api->publish(af->src, big, size, "always_fail");
        free(big);
        break;
    }
    case 5:
        af->api->publish(af->src, shape, sizeof(shape) - 1, "always_fail");
        break;
    default:
        snprintf(reason, sizeof(reason), "backend exploded (attempt %u)", af->n);
        af->api->failed(af->src, reason);
    }
    struct timeval tv = {0, 10000};
    evtimer_add(af->tick, &tv);
}

static int af_create(const xdsd_host_api_t *api, xdsd_source_t *src, const void *conf, void **state,
                     char *err, size_t errlen)
{
    (void)conf;
    (void)err;
    (void)errlen;
    af_t *af = calloc(1, sizeof(*af));
    af->api = api;
    af->src = src;
    *state = af;
    return XDSD_OK;
}

static int af_start(void *state, char *err, size_t errlen)
{
    af_t *af = state;
    (void)err;
    (void)errlen;
    af->tick = evtimer_new(af->api->event_base(af->src), af_tick, af);
    af_tick(-1, 0, af);
    return XDSD_OK;
}

static void af_destroy(void *state)
{
    af_t *af = state;
    if (af->tick)
        event_free(af->tick);
    free(af);
}

XDSD_PLUGIN_EXPORT const xdsd_plugin_t xdsd_plugin_entry = {
    .magic = XDSD_PLUGIN_MAGIC,
    .abi_major = XDSD_PLUGIN_ABI_MAJOR,
    .abi_minor = XDSD_PLUGIN_ABI_MINOR,
    .size = sizeof(xdsd_plugin_t),
    .name = "always_fail",
    .version = "test",
    .directives = no_directives,
    .conf_size = 0,
    .create = af_create,
    .start = af_start,
    .destroy = af_destroy,
};
