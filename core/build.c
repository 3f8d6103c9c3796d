/*
 * build.c -- the aggregator.  Sources call xds_build_schedule() whenever
 * their document changes; the build runs from one low-priority event, so a
 * burst of changes in the same loop pass (several files rewritten at once,
 * a reload) costs one build.
 *
 * A build merges the last good document of every source, in declaration
 * order, runs the generators and, only if all of that succeeded, swaps in
 * the new snapshot.  A refused build is logged once per distinct error and
 * the previous snapshot keeps being served.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>

#include "build.h"
#include "genout.h"
#include "group.h"
#include "log.h"
#include "model.h"
#include "sdnotify.h"
#include "schema.h"
#include "server.h"
#include "snapshot.h"

static struct event *build_ev;
static xds_build_stats_t stats;
static xds_snapshot_t *current;
static xds_cycle_t *cycle;
static uint64_t generation;
static char *last_error;
static int have_snapshot;
static char *waiting_for; /* last "waiting for sources" line logged */

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* msg: one problem per line.  Logged once per distinct set of problems. */
static void build_failed(const char *msg)
{
    if (last_error == NULL || strcmp(last_error, msg) != 0) {
        size_t n = 0;
        for (const char *p = msg; *p; p++)
            n += *p == '\n';
        xds_log(XDS_LOG_ERR, "build refused (%zu problem%s), still serving %s:", n ? n : 1,
                n == 1 ? "" : "s",
                have_snapshot ? "the previous snapshot" : "nothing (no snapshot yet)");
        for (const char *p = msg; *p;) {
            const char *nl = strchr(p, '\n');
            int len = nl ? (int)(nl - p) : (int)strlen(p);
            xds_log(XDS_LOG_ERR, "  %.*s", len, p);
            p += len + (nl ? 1 : 0);
        }
    }
    free(last_error);
    last_error = xds_strdup(msg);
    stats.refusals++;
    stats.error = last_error;
    stats.error_at = time(NULL);
}

int xds_build_resources(const xds_cycle_t *c, xds_gen_out_t *out, xds_world_t **worldp)
{
    xds_world_t *world = xds_world_new(c); /* the merged model, and what groups need */
    int rc = xds_generate(xds_world_model(world), out);
    if (rc == XDS_OK && c->schema) {
        double t0 = now_ms();
        size_t n = xds_schema_validate_into(c->schema, out, XDS_GEN_MAX_ERRORS, out);
        xds_log(XDS_LOG_DEBUG, "validated against %s in %.1f ms: %zu problem%s", c->schema_path,
                now_ms() - t0, n, n == 1 ? "" : "s");
        if (n)
            rc = XDS_ERROR;
    }
    if (rc != XDS_OK && out->errors.len == 0)
        xds_gen_error(out, "generator failed");
    if (rc == XDS_OK && worldp)
        *worldp = world;
    else
        xds_world_free(world);
    return rc;
}

static void run_build(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    (void)arg;
    if (cycle == NULL)
        return;

    /* Every required source must have delivered once before the first
     * model; the others contribute nothing until they do. */
    xds_buf_t missing = {0};
    for (size_t i = 0; i < cycle->nsources; i++) {
        if (cycle->sources[i]->doc == NULL && cycle->sources[i]->required)
            xds_buf_printf(&missing, "%s\"%s\"", missing.len ? ", " : "", cycle->sources[i]->name);
    }
    if (missing.len) {
        if (waiting_for == NULL || strcmp(waiting_for, missing.data) != 0)
            xds_log(XDS_LOG_NOTICE, "waiting for the first document of source%s %s",
                    strchr(missing.data, ',') ? "s" : "", missing.data);
        free(waiting_for);
        waiting_for = xds_buf_detach(&missing, NULL);
        return;
    }
    xds_buf_free(&missing);

    double t0 = now_ms();
    xds_gen_out_t *out = xds_gen_out_new();
    xds_world_t *world = NULL;
    if (xds_build_resources(cycle, out, &world) != XDS_OK) {
        build_failed(out->errors.data);
        goto done;
    }
    xds_snapshot_t *snap = xds_snapshot_build(out, ++generation);
    xds_world_attach(world, snap, out); /* node groups, if proxies may differ */
    snap->build_ms = now_ms() - t0;
    xds_server_publish(snap);
    xds_snapshot_unref(current);
    current = xds_snapshot_ref(snap);
    have_snapshot = 1;
    free(last_error);
    last_error = NULL;
    stats.error = NULL;
    stats.builds++;
    stats.last_build_ms = snap->build_ms;
    stats.last_build_at = time(NULL);
    stats.generation = snap->generation;

    xds_buf_t summary = {0};
    for (size_t t = 0; t < XDS_TYPE_COUNT; t++)
        if (snap->types[t].n)
            xds_buf_printf(&summary, " %s=%zu@%.8s", xds_types[t].path, snap->types[t].n,
                           snap->all_views[t].version);
    if (snap->world)
        xds_buf_printf(&summary, "; node groups by %s", xds_snapshot_group_keys(snap));
    xds_log(XDS_LOG_NOTICE, "snapshot %llu built in %.1f ms:%s", (unsigned long long)generation,
            snap->build_ms, summary.len ? summary.data : " (empty)");
    xds_buf_free(&summary);
    xds_sdnotify_published(cycle, snap); /* READY=1 the first time */
    xds_snapshot_unref(snap);

done:
    xds_gen_out_free(out);
}

void xds_build_init(struct event_base *base)
{
    build_ev = event_new(base, -1, 0, run_build, NULL);
    event_priority_set(build_ev, 2); /* lowest of 3: after the pass's I/O events */
}

void xds_build_shutdown(void)
{
    if (build_ev)
        event_free(build_ev);
    build_ev = NULL;
    free(last_error);
    last_error = NULL;
    free(waiting_for);
    waiting_for = NULL;
    xds_snapshot_unref(current);
    current = NULL;
    memset(&stats, 0, sizeof(stats));
}

const xds_build_stats_t *xds_build_stats(void)
{
    return &stats;
}

xds_snapshot_t *xds_build_current(void)
{
    return current ? xds_snapshot_ref(current) : NULL;
}

void xds_build_set_cycle(xds_cycle_t *c)
{
    cycle = c;
}

void xds_build_schedule(void)
{
    if (build_ev)
        event_active(build_ev, EV_READ, 0);
}

int xds_build_have_snapshot(void)
{
    return have_snapshot;
}
