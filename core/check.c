/*
 * check.c -- the data half of `xdsd -t`.  The conf half is simply loading
 * the cycle; this part starts the sources once, on an event loop of its own,
 * lets them deliver (files at once, databases when they are reachable), and
 * runs the very build a running daemon would -- merge, generators, schema
 * and reference validation -- so a CI pipeline that changes source data can
 * refuse a change before any proxy sees it.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>

#include "build.h"
#include "check.h"
#include "genout.h"
#include "log.h"

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int all_heard_from(const xds_cycle_t *c)
{
    for (size_t i = 0; i < c->nsources; i++)
        if (c->sources[i]->doc == NULL && c->sources[i]->failures == 0)
            return 0;
    return 1;
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    (void)arg;
}

size_t xds_check_data(xds_cycle_t *c, int64_t wait_ms)
{
    char err[XDS_ERRLEN];
    size_t problems = 0, checked = 0;
    struct event_base *base = event_base_new();
    struct event *tick = event_new(base, -1, EV_PERSIST, on_tick, NULL);
    struct timeval tv = {0, 20000};

    event_add(tick, &tv);
    xds_source_set_event_base(base);
    for (size_t i = 0; i < c->nsources; i++) {
        if (xds_source_start(c->sources[i], err, sizeof(err)) != XDS_OK) {
            fprintf(stderr, "xdsd: %s\n", err);
            problems++;
        }
    }
    int64_t deadline = mono_ms() + wait_ms;
    while (!all_heard_from(c) && mono_ms() < deadline)
        event_base_loop(base, EVLOOP_ONCE);

    for (size_t i = 0; i < c->nsources; i++) {
        const xds_source_t *s = c->sources[i];
        if (s->doc) {
            checked++;
        } else if (s->refused) {
            /* it answered, and what it said is not a valid model */
            fprintf(stderr, "xdsd: source \"%s\": %s\n", s->name, s->last_error);
            problems++;
        } else if (s->failures && s->last_error) {
            /* not reachable from here (a database down, a file not there
             * yet): say so, but it is not the conf's fault */
            fprintf(stderr, "xdsd: [warn] source \"%s\": %s: its data is not checked\n", s->name,
                    s->last_error);
        } else if (s->started) {
            fprintf(stderr,
                    "xdsd: [warn] source \"%s\": no answer within %lld ms: its data is not "
                    "checked\n",
                    s->name, (long long)wait_ms);
        }
    }

    xds_gen_out_t *out = xds_gen_out_new();
    if (xds_build_resources(c, out, NULL) != XDS_OK) {
        for (const char *p = out->errors.data; p && *p;) {
            const char *nl = strchr(p, '\n');
            int len = nl ? (int)(nl - p) : (int)strlen(p);
            fprintf(stderr, "xdsd: %.*s\n", len, p);
            p += len + (nl ? 1 : 0);
            problems++;
        }
    } else {
        size_t total = 0;
        for (size_t t = 0; t < XDS_TYPE_COUNT; t++)
            total += out->n[t];
        fprintf(stderr, "xdsd: data of %zu of %zu source%s: %zu resources generated%s\n", checked,
                c->nsources, c->nsources == 1 ? "" : "s", total,
                c->schema ? " and valid against the schema" : " (no schema: not validated)");
    }
    xds_gen_out_free(out);

    /* Stop the sources while their loop still exists. */
    for (size_t i = 0; i < c->nsources; i++) {
        xds_source_destroy(c->sources[i]);
        c->sources[i] = NULL;
    }
    c->nsources = 0;
    event_free(tick);
    event_base_loop(base, EVLOOP_NONBLOCK); /* see main.c: evdns cleanup */
    event_base_free(base);
    xds_source_set_event_base(NULL);
    return problems;
}
