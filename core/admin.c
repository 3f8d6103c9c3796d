/*
 * admin.c -- the admin API, on libevent's evhttp on the main thread: the
 * same thread that owns the sources, the aggregator and the current
 * snapshot reference, so every answer reads them without locks (only the
 * proxy registry, written by the workers, takes its shard locks).
 *
 * Everything is JSON except /metrics (Prometheus text exposition) and /
 * (an HTML status page that refreshes itself).  Access: loopback by
 * default; a non-loopback listener needs `allow` ranges or a bearer token
 * (cycle.c refuses it otherwise).  /healthz and /ready stay open to the
 * allowed addresses without the token, for probes.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <sys/queue.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "admin.h"
#include "build.h"
#include "group.h"
#include "log.h"
#include "nodes.h"
#include "stats.h"

static struct evhttp *http;
static struct evhttp_bound_socket *bound;
static struct event *expire_ev;
static xds_cycle_t *cycle; /* borrowed */
static xds_admin_conf_t *conf;
static char *bound_listen;
static struct sockaddr_storage bound_addr;
static socklen_t bound_addrlen;
static time_t started_at;

/* ------------------------------------------------------------ helpers */

static void reply(struct evhttp_request *req, int code, const char *ctype, const char *body,
                  size_t len)
{
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    evhttp_add_header(h, "Content-Type", ctype);
    evhttp_add_header(h, "Cache-Control", "no-store");
    struct evbuffer *b = evbuffer_new();
    evbuffer_add(b, body, len);
    evhttp_send_reply(req, code,
                      code == 200   ? "OK"
                      : code == 503 ? "Service Unavailable"
                                    : "Error",
                      b);
    evbuffer_free(b);
}

static void reply_json(struct evhttp_request *req, int code, xj_t *v)
{
    xds_buf_t b = {0};
    xj_serialize(v, &b);
    xds_buf_append(&b, "\n", 1);
    reply(req, code, "application/json", b.data, b.len);
    xds_buf_free(&b);
    xj_free(v);
}

static void reply_error(struct evhttp_request *req, int code, const char *msg)
{
    xj_t *o = xj_object();
    xj_object_put(o, "error", xj_string(msg));
    reply_json(req, code, o);
}

static xj_t *iso_time(time_t t)
{
    if (t == 0)
        return xj_null();
    char buf[32];
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
    return xj_string(buf);
}

static const char *source_state(const xds_source_t *s)
{
    if (s->doc == NULL && !s->failing)
        return "waiting";
    if (s->failing)
        return "failing";
    if (s->stale)
        return "stale";
    return "ok";
}

/* ready, or not with the reason in why. */
static int is_ready(char *why, size_t len)
{
    if (!xds_build_have_snapshot()) {
        xds_buf_t waiting = {0};
        for (size_t i = 0; i < cycle->nsources; i++)
            if (cycle->sources[i]->required && cycle->sources[i]->doc == NULL)
                xds_buf_printf(&waiting, "%s\"%s\"", waiting.len ? ", " : "",
                               cycle->sources[i]->name);
        if (waiting.len)
            snprintf(why, len, "no snapshot yet: waiting for source%s %s",
                     strchr(waiting.data, ',') ? "s" : "", waiting.data);
        else
            snprintf(why, len, "no snapshot yet: %s",
                     xds_build_stats()->error ? "the build was refused (see /validation)"
                                              : "building");
        xds_buf_free(&waiting);
        return 0;
    }
    for (size_t i = 0; i < cycle->nsources; i++) {
        const xds_source_t *s = cycle->sources[i];
        if (!s->required)
            continue;
        if (s->doc == NULL) {
            snprintf(why, len, "required source \"%s\" has no data yet", s->name);
            return 0;
        }
        if (s->stale) {
            snprintf(why, len, "required source \"%s\" is stale: %s", s->name,
                     s->last_error ? s->last_error : "no successful refresh");
            return 0;
        }
    }
    return 1;
}

/* ------------------------------------------------------------ handlers */

static void h_healthz(struct evhttp_request *req)
{
    xj_t *o = xj_object();
    xj_object_put(o, "status", xj_string("alive"));
    xj_object_put(o, "version", xj_string(XDSD_VERSION));
    xj_object_put(o, "pid", xj_int((int64_t)getpid()));
    xj_object_put(o, "uptime_s", xj_int((int64_t)(time(NULL) - started_at)));
    reply_json(req, 200, o);
}

static void h_ready(struct evhttp_request *req)
{
    char why[XDS_ERRLEN];
    int ok = is_ready(why, sizeof(why));
    xj_t *o = xj_object();
    xj_object_put(o, "ready", xj_bool(ok));
    if (!ok)
        xj_object_put(o, "reason", xj_string(why));
    reply_json(req, ok ? 200 : 503, o);
}

static xj_t *sources_json(void)
{
    xj_t *arr = xj_array();
    time_t now = time(NULL);
    for (size_t i = 0; i < cycle->nsources; i++) {
        const xds_source_t *s = cycle->sources[i];
        xj_t *o = xj_array_push(arr, xj_object());
        xj_object_put(o, "name", xj_string(s->name));
        xj_object_put(o, "plugin", xj_string(s->plugin->name));
        xj_object_put(o, "state", xj_string(source_state(s)));
        xj_object_put(o, "required", xj_bool(s->required));
        xj_object_put(o, "has_data", xj_bool(s->doc != NULL));
        xj_object_put(o, "last_success", iso_time(s->last_ok));
        xj_object_put(o, "data_age_s",
                      s->last_ok ? xj_int((int64_t)(now - s->last_ok)) : xj_null());
        xj_object_put(o, "last_error", s->last_error ? xj_string(s->last_error) : xj_null());
        xj_object_put(o, "last_error_at", iso_time(s->last_error_at));
        xj_object_put(o, "consecutive_failures", xj_int(s->failures));
        xj_object_put(o, "updates", xj_int((int64_t)s->updates));
        xj_object_put(o, "refreshes_total", xj_int((int64_t)s->refreshes_total));
        xj_object_put(o, "failures_total", xj_int((int64_t)s->failures_total));
        xj_object_put(o, "stale_after_ms",
                      s->stale_after_ms ? xj_int(s->stale_after_ms) : xj_null());
    }
    return arr;
}

static void h_sources(struct evhttp_request *req)
{
    xj_t *o = xj_object();
    xj_object_put(o, "sources", sources_json());
    reply_json(req, 200, o);
}

static void h_nodes(struct evhttp_request *req, const struct evkeyvalq *q)
{
    const char *state = evhttp_find_header(q, "state");
    if (state) {
        size_t k;
        for (k = 0; k < XDS_NODE_STATE_COUNT; k++)
            if (strcmp(state, xds_node_state_names[k]) == 0)
                break;
        if (k == XDS_NODE_STATE_COUNT) {
            reply_error(req, 400, "state must be current, behind, stale or suspected_nack");
            return;
        }
    }
    xds_snapshot_t *snap = xds_build_current();
    size_t counts[XDS_NODE_STATE_COUNT];
    xj_t *nodes = xds_nodes_json(snap, evhttp_find_header(q, "cluster"), state, counts);
    xds_snapshot_unref(snap);
    xj_t *o = xj_object();
    xj_object_put(o, "count", xj_int((int64_t)nodes->u.obj.n));
    xj_t *c = xj_object_put(o, "states", xj_object());
    for (size_t k = 0; k < XDS_NODE_STATE_COUNT; k++)
        xj_object_put(c, xds_node_state_names[k], xj_int((int64_t)counts[k]));
    xj_object_put(o, "nodes", nodes);
    reply_json(req, 200, o);
}

static void add_refused_group(void *arg, const xds_group_t *g)
{
    if (g->error == NULL)
        return;
    xj_t *o = xj_array_push(arg, xj_object());
    xj_t *label = xj_parse(g->label, strlen(g->label), 8, NULL, 0);
    xj_object_put(o, "node_group", label ? label : xj_string(g->label));
    xj_object_put(o, "error", xj_string(g->error));
}

static void h_validation(struct evhttp_request *req)
{
    const xds_build_stats_t *st = xds_build_stats();
    xj_t *o = xj_object();
    xj_object_put(o, "builds", xj_int((int64_t)st->builds));
    xj_object_put(o, "refusals", xj_int((int64_t)st->refusals));
    if (st->error) {
        xj_t *r = xj_object_put(o, "last_refusal", xj_object());
        xj_object_put(r, "error", xj_string(st->error));
        xj_object_put(r, "at", iso_time(st->error_at));
    } else {
        xj_object_put(o, "last_refusal", xj_null());
    }
    xds_snapshot_t *snap = xds_build_current();
    xds_group_stats_t gs;
    xds_snapshot_group_stats(snap, &gs);
    xj_t *g = xj_object_put(o, "node_groups", xj_object());
    xj_object_put(g, "keys", xj_string(xds_snapshot_group_keys(snap)));
    xj_object_put(g, "built", xj_int((int64_t)gs.groups));
    xj_object_put(g, "refused", xj_int((int64_t)gs.failed));
    xds_snapshot_each_group(snap, add_refused_group, xj_object_put(g, "refusals", xj_array()));
    xds_snapshot_unref(snap);
    reply_json(req, 200, o);
}

/* The node a /snapshot query describes: id, cluster (or node_cluster),
 * region, zone, sub_zone, metadata.<key>.  0 when it names none. */
static int query_node(const struct evkeyvalq *q, xds_node_attrs_t *a, xds_kv_t *meta,
                      size_t maxmeta)
{
    static const struct {
        const char *name;
        size_t off;
    } fields[] = {
        {"id", offsetof(xds_node_attrs_t, id)},
        {"cluster", offsetof(xds_node_attrs_t, cluster)},
        {"node_cluster", offsetof(xds_node_attrs_t, cluster)},
        {"region", offsetof(xds_node_attrs_t, region)},
        {"zone", offsetof(xds_node_attrs_t, zone)},
        {"sub_zone", offsetof(xds_node_attrs_t, sub_zone)},
    };
    int any = 0;
    memset(a, 0, sizeof(*a));
    a->meta = meta;
    for (const struct evkeyval *kv = TAILQ_FIRST(q); kv; kv = TAILQ_NEXT(kv, next)) {
        for (size_t i = 0; i < xds_nelems(fields); i++)
            if (strcmp(kv->key, fields[i].name) == 0) {
                *(xds_str_t *)((char *)a + fields[i].off) =
                    (xds_str_t){kv->value, strlen(kv->value)};
                any = 1;
            }
        if (strncmp(kv->key, "metadata.", 9) == 0 && kv->key[9] && a->nmeta < maxmeta) {
            size_t i = a->nmeta++; /* insertion sort: meta must be sorted by key */
            xds_kv_t e = {{kv->key + 9, strlen(kv->key + 9)}, {kv->value, strlen(kv->value)}};
            while (i > 0 && strcmp(meta[i - 1].key.p, e.key.p) > 0) {
                meta[i] = meta[i - 1];
                i--;
            }
            meta[i] = e;
            any = 1;
        }
    }
    return any;
}

/* /snapshot and /snapshot/<type>: written straight from the snapshot's
 * prepared bytes (exactly what a wildcard poll gets), wrapped with the
 * generation and versions. */
static void h_snapshot(struct evhttp_request *req, const char *type_path, const struct evkeyvalq *q)
{
    const xds_type_t *only = NULL;
    if (type_path) {
        only = xds_type_by_path(type_path, strlen(type_path));
        if (only == NULL) {
            reply_error(req, 404, "unknown resource type");
            return;
        }
    }
    xds_snapshot_t *snap = xds_build_current();
    if (snap == NULL) {
        reply_error(req, 503, "no snapshot yet");
        return;
    }
    /* With node attributes in the query: what a proxy with them gets. */
    xds_node_attrs_t attrs;
    xds_kv_t meta[32];
    const xds_group_t *g = &snap->all;
    int for_node = query_node(q, &attrs, meta, xds_nelems(meta));
    if (for_node)
        g = xds_snapshot_group(snap, &attrs);
    xds_buf_t b = {0};
    xds_buf_printf(&b, "{\"generation\":%llu,\"build_ms\":%.3f,",
                   (unsigned long long)snap->generation, snap->build_ms);
    if (for_node) {
        xds_buf_printf(&b, "\"node_group\":%s,", g->label);
        if (g->error) {
            xds_buf_appends(&b, "\"error\":");
            xj_write_string(&b, g->error, strlen(g->error));
            xds_buf_appends(&b, "}\n");
            reply(req, 503, "application/json", b.data, b.len);
            goto done;
        }
    }
    xds_buf_appends(&b, "\"types\":{");
    int first = 1;
    for (size_t t = 0; t < XDS_TYPE_COUNT; t++) {
        const xds_view_t *v = g->views[t];
        if (only ? only->id != t : v->n == 0)
            continue;
        xds_buf_printf(&b,
                       "%s\"%s\":{\"version\":\"%s\",\"count\":%zu,\"response\":", first ? "" : ",",
                       v->type->path, v->version, v->n);
        xds_view_body(v, &b);
        xds_buf_append(&b, "}", 1);
        first = 0;
    }
    xds_buf_appends(&b, "}}\n");
    reply(req, 200, "application/json", b.data, b.len);
done:
    xds_buf_free(&b);
    xds_snapshot_unref(snap);
}

static void metric_help(xds_buf_t *b, const char *name, const char *type, const char *help)
{
    xds_buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* A metric without labels: its help, its type and its one value. */
static void metric1(xds_buf_t *b, const char *name, const char *type, const char *help,
                    const char *fmt, ...) XDS_PRINTF(5, 6);
static void metric1(xds_buf_t *b, const char *name, const char *type, const char *help,
                    const char *fmt, ...)
{
    char value[64];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(value, sizeof(value), fmt, ap);
    va_end(ap);
    metric_help(b, name, type, help);
    xds_buf_printf(b, "%s %s\n", name, value);
}

static void h_metrics(struct evhttp_request *req)
{
    xds_buf_t b = {0};

    metric_help(&b, "xdsd_discovery_requests_total", "counter",
                "Discovery requests answered, by resource type and status class.");
    for (size_t t = 0; t <= XDS_TYPE_COUNT; t++) {
        for (size_t k = 0; k < XDS_CODE_COUNT; k++) {
            uint64_t sum = 0;
            for (size_t w = 0; w < XDS_STATS_SLOTS; w++)
                sum +=
                    atomic_load_explicit(&xds_worker_stats[w].requests[t][k], memory_order_relaxed);
            if (sum == 0 && (t == XDS_TYPE_COUNT || (k != XDS_CODE_200 && k != XDS_CODE_304)))
                continue;
            xds_buf_printf(&b, "xdsd_discovery_requests_total{type=\"%s\",code=\"%s\"} %llu\n",
                           t < XDS_TYPE_COUNT ? xds_types[t].path : "unknown", xds_code_names[k],
                           (unsigned long long)sum);
        }
    }

    metric_help(&b, "xdsd_discovery_request_duration_seconds", "histogram",
                "Time from a request's first byte to its answer being queued.");
    uint64_t cum = 0, sum_ns = 0;
    for (size_t w = 0; w < XDS_STATS_SLOTS; w++)
        sum_ns += atomic_load_explicit(&xds_worker_stats[w].latency_sum_ns, memory_order_relaxed);
    for (size_t k = 0; k < XDS_LATENCY_BUCKETS; k++) {
        for (size_t w = 0; w < XDS_STATS_SLOTS; w++)
            cum += atomic_load_explicit(&xds_worker_stats[w].latency[k], memory_order_relaxed);
        if (k < XDS_LATENCY_BUCKETS - 1)
            xds_buf_printf(&b, "xdsd_discovery_request_duration_seconds_bucket{le=\"%g\"} %llu\n",
                           xds_latency_bounds[k], (unsigned long long)cum);
        else
            xds_buf_printf(&b, "xdsd_discovery_request_duration_seconds_bucket{le=\"+Inf\"} %llu\n",
                           (unsigned long long)cum);
    }
    xds_buf_printf(&b, "xdsd_discovery_request_duration_seconds_sum %.9f\n", (double)sum_ns / 1e9);
    xds_buf_printf(&b, "xdsd_discovery_request_duration_seconds_count %llu\n",
                   (unsigned long long)cum);

    const xds_build_stats_t *st = xds_build_stats();
    metric1(&b, "xdsd_snapshot_builds_total", "counter", "Snapshots built and published.", "%llu",
            (unsigned long long)st->builds);
    metric1(&b, "xdsd_snapshot_refusals_total", "counter",
            "Builds refused because the model or the generated resources were invalid.", "%llu",
            (unsigned long long)st->refusals);
    metric1(&b, "xdsd_snapshot_build_duration_seconds", "gauge",
            "Generate + serialize + hash time of the snapshot being served.", "%.6f",
            st->last_build_ms / 1e3);
    metric1(&b, "xdsd_snapshot_generation", "gauge", "Generation of the snapshot being served.",
            "%llu", (unsigned long long)st->generation);

    metric_help(&b, "xdsd_source_refreshes_total", "counter", "Successful refreshes per source.");
    for (size_t i = 0; i < cycle->nsources; i++)
        xds_buf_printf(&b, "xdsd_source_refreshes_total{source=\"%s\"} %llu\n",
                       cycle->sources[i]->name,
                       (unsigned long long)cycle->sources[i]->refreshes_total);
    metric_help(&b, "xdsd_source_failures_total", "counter", "Failed refreshes per source.");
    for (size_t i = 0; i < cycle->nsources; i++)
        xds_buf_printf(&b, "xdsd_source_failures_total{source=\"%s\"} %llu\n",
                       cycle->sources[i]->name,
                       (unsigned long long)cycle->sources[i]->failures_total);
    metric_help(&b, "xdsd_source_up", "gauge",
                "1 when the source's last refresh succeeded and its data is not stale.");
    for (size_t i = 0; i < cycle->nsources; i++)
        xds_buf_printf(&b, "xdsd_source_up{source=\"%s\"} %d\n", cycle->sources[i]->name,
                       strcmp(source_state(cycle->sources[i]), "ok") == 0);
    metric_help(&b, "xdsd_source_data_age_seconds", "gauge",
                "Seconds since the source's last successful refresh.");
    time_t now = time(NULL);
    for (size_t i = 0; i < cycle->nsources; i++)
        if (cycle->sources[i]->last_ok)
            xds_buf_printf(&b, "xdsd_source_data_age_seconds{source=\"%s\"} %lld\n",
                           cycle->sources[i]->name, (long long)(now - cycle->sources[i]->last_ok));

    xds_snapshot_t *snap = xds_build_current();
    size_t counts[XDS_NODE_STATE_COUNT];
    xj_free(xds_nodes_json(snap, NULL, NULL, counts));
    metric_help(&b, "xdsd_nodes", "gauge", "Proxies seen, by state.");
    for (size_t k = 0; k < XDS_NODE_STATE_COUNT; k++)
        xds_buf_printf(&b, "xdsd_nodes{state=\"%s\"} %zu\n", xds_node_state_names[k], counts[k]);
    if (snap) {
        metric_help(&b, "xdsd_resources", "gauge", "Resources served, by type.");
        for (size_t t = 0; t < XDS_TYPE_COUNT; t++)
            xds_buf_printf(&b, "xdsd_resources{type=\"%s\"} %zu\n", xds_types[t].path,
                           snap->types[t].n);
        metric_help(&b, "xdsd_version_info", "gauge",
                    "The version served for each type (a wildcard request), as a label.");
        for (size_t t = 0; t < XDS_TYPE_COUNT; t++)
            xds_buf_printf(&b, "xdsd_version_info{type=\"%s\",version=\"%s\"} 1\n",
                           xds_types[t].path, snap->all_views[t].version);
        xds_group_stats_t gs;
        xds_snapshot_group_stats(snap, &gs);
        metric1(&b, "xdsd_node_groups", "gauge",
                "Node groups built for the snapshot being served (0: every proxy gets the same "
                "configuration).",
                "%zu", gs.groups);
        metric1(&b, "xdsd_node_groups_refused", "gauge",
                "Node groups whose configuration failed validation (their proxies get 503).", "%zu",
                gs.failed);
        metric1(&b, "xdsd_node_group_build_seconds_total", "counter",
                "Time spent building the node groups of the snapshot being served.", "%.6f",
                gs.build_ms_total / 1e3);
        metric1(&b, "xdsd_node_group_build_seconds_max", "gauge",
                "The slowest node group build of the snapshot being served.", "%.6f",
                gs.build_ms_max / 1e3);
        metric1(&b, "xdsd_node_group_resources", "gauge",
                "Resources generated for node groups (each stored once, however many groups "
                "share it).",
                "%zu", gs.resources);
        metric1(&b, "xdsd_node_group_views", "gauge",
                "Distinct per-type resource sets served to node groups.", "%zu", gs.views);
        xds_snapshot_unref(snap);
    }
    reply(req, 200, "text/plain; version=0.0.4; charset=utf-8", b.data, b.len);
    xds_buf_free(&b);
}

static void html_escape(xds_buf_t *b, const char *s)
{
    for (; s && *s; s++) {
        switch (*s) {
        case '<':
            xds_buf_appends(b, "&lt;");
            break;
        case '>':
            xds_buf_appends(b, "&gt;");
            break;
        case '&':
            xds_buf_appends(b, "&amp;");
            break;
        case '"':
            xds_buf_appends(b, "&quot;");
            break;
        default:
            xds_buf_append(b, s, 1);
        }
    }
}

static void html_cell(xds_buf_t *b, const char *s, const char *cls)
{
    xds_buf_printf(b, "<td%s%s%s>", cls ? " class=\"" : "", cls ? cls : "", cls ? "\"" : "");
    html_escape(b, s);
    xds_buf_appends(b, "</td>");
}

/* The status page: the same data as /nodes, /sources and /snapshot, as a
 * server-rendered table that reloads itself every 2 seconds. */
static void h_index(struct evhttp_request *req)
{
    xds_buf_t b = {0};
    char why[XDS_ERRLEN], tmp[64];
    int ready = is_ready(why, sizeof(why));
    xds_snapshot_t *snap = xds_build_current();

    xds_buf_appends(&b,
                    "<!DOCTYPE html><html><head><meta charset=\"utf-8\">"
                    "<meta http-equiv=\"refresh\" content=\"2\"><title>xdsd</title><style>"
                    "body{font:14px system-ui,sans-serif;margin:24px;color:#222}"
                    "h1{font-size:20px}h2{font-size:16px;margin-top:24px}"
                    "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:4px 8px;"
                    "text-align:left}th{background:#f0f0f0}code{font-size:12px}"
                    ".current,.ok{background:#d7f5d7}.behind,.waiting{background:#fff3c4}"
                    ".stale,.failing{background:#ffd6d6}.suspected_nack{background:#f5c2f5}"
                    "</style></head><body><h1>xdsd ");
    xds_buf_appends(&b, XDSD_VERSION);
    xds_buf_printf(&b, " &mdash; <span class=\"%s\">%s</span></h1>", ready ? "ok" : "failing",
                   ready ? "ready" : "not ready");
    if (!ready) {
        xds_buf_appends(&b, "<p>");
        html_escape(&b, why);
        xds_buf_appends(&b, "</p>");
    }

    xds_buf_appends(&b, "<h2>Versions</h2><table id=\"versions\"><tr><th>type</th><th>resources"
                        "</th><th>version</th></tr>");
    for (size_t t = 0; snap && t < XDS_TYPE_COUNT; t++) {
        if (snap->types[t].n == 0)
            continue;
        snprintf(tmp, sizeof(tmp), "%zu", snap->types[t].n);
        xds_buf_appends(&b, "<tr>");
        html_cell(&b, xds_types[t].path, NULL);
        html_cell(&b, tmp, NULL);
        html_cell(&b, snap->all_views[t].version, NULL);
        xds_buf_appends(&b, "</tr>");
    }
    xds_buf_appends(&b, "</table>");

    xj_t *nodes = xds_nodes_json(snap, NULL, NULL, NULL);
    xds_buf_printf(&b,
                   "<h2>Proxies (%zu)</h2><table id=\"nodes\"><tr><th>node</th><th>cluster"
                   "</th><th>zone</th><th>envoy</th><th>state</th><th>types</th></tr>",
                   nodes->u.obj.n);
    for (size_t i = 0; i < nodes->u.obj.n; i++) {
        const xj_t *n = nodes->u.obj.m[i].val;
        const char *state = xj_str(xj_get(n, "state"));
        xds_buf_appends(&b, "<tr>");
        html_cell(&b, nodes->u.obj.m[i].key, NULL);
        html_cell(&b, xj_str(xj_get(n, "cluster")), NULL);
        html_cell(&b, xj_str(xj_get(xj_get(n, "locality"), "zone")), NULL);
        html_cell(&b, xj_str(xj_get(n, "envoy_version")), NULL);
        html_cell(&b, state, state);
        xds_buf_appends(&b, "<td>");
        const xj_t *types = xj_get(n, "types");
        for (size_t k = 0; types && k < types->u.obj.n; k++) {
            const xj_t *e = types->u.obj.m[k].val;
            const char *st = xj_str(xj_get(e, "state"));
            const char *v = xj_str(xj_get(e, "version"));
            xds_buf_printf(&b, "<span class=\"%s\">", st);
            html_escape(&b, types->u.obj.m[k].key);
            xds_buf_appends(&b, " <code>");
            snprintf(tmp, sizeof(tmp), "%.8s", v ? v : "-");
            html_escape(&b, tmp);
            xds_buf_appends(&b, "</code></span> ");
        }
        xds_buf_appends(&b, "</td></tr>");
    }
    xds_buf_appends(&b, "</table>");
    xj_free(nodes);

    xds_buf_appends(&b, "<h2>Sources</h2><table id=\"sources\"><tr><th>source</th><th>plugin</th>"
                        "<th>state</th><th>last success</th><th>last error</th></tr>");
    for (size_t i = 0; i < cycle->nsources; i++) {
        const xds_source_t *s = cycle->sources[i];
        struct tm tm;
        tmp[0] = '\0';
        if (s->last_ok) {
            gmtime_r(&s->last_ok, &tm);
            strftime(tmp, sizeof(tmp), "%Y-%m-%d %H:%M:%SZ", &tm);
        }
        xds_buf_appends(&b, "<tr>");
        html_cell(&b, s->name, NULL);
        html_cell(&b, s->plugin->name, NULL);
        html_cell(&b, source_state(s), source_state(s));
        html_cell(&b, tmp, NULL);
        html_cell(&b, s->last_error ? s->last_error : "", NULL);
        xds_buf_appends(&b, "</tr>");
    }
    xds_buf_appends(&b, "</table>");
    const xds_build_stats_t *st = xds_build_stats();
    if (st->error) {
        xds_buf_appends(&b, "<h2>Last refused build</h2><pre>");
        html_escape(&b, st->error);
        xds_buf_appends(&b, "</pre>");
    }
    xds_buf_appends(&b, "</body></html>\n");
    xds_snapshot_unref(snap);
    reply(req, 200, "text/html; charset=utf-8", b.data, b.len);
    xds_buf_free(&b);
}

/* ------------------------------------------------------------ dispatch */

static int allowed(struct evhttp_request *req, int need_token)
{
    struct evhttp_connection *conn = evhttp_request_get_connection(req);
    const struct sockaddr *sa = conn ? evhttp_connection_get_addr(conn) : NULL;
    if (conf->nallow) {
        int ok = 0;
        for (size_t i = 0; sa && i < conf->nallow && !ok; i++)
            ok = xds_cidr_match(&conf->allow[i], sa);
        if (!ok) {
            char peer[64] = "?";
            if (sa)
                xds_format_peer(sa, peer, sizeof(peer));
            xds_log(XDS_LOG_WARN, "admin: refused %s: not in allow", peer);
            reply_error(req, 403, "forbidden: your address is not in the admin allow list");
            return 0;
        }
    }
    if (need_token && conf->token) {
        const char *auth =
            evhttp_find_header(evhttp_request_get_input_headers(req), "Authorization");
        size_t tl = strlen(conf->token);
        int ok = auth && strncmp(auth, "Bearer ", 7) == 0 && strlen(auth + 7) == tl;
        unsigned char diff = 0;
        for (size_t i = 0; ok && i < tl; i++)
            diff |= (unsigned char)(auth[7 + i] ^ conf->token[i]); /* constant time */
        if (!ok || diff) {
            evhttp_add_header(evhttp_request_get_output_headers(req), "WWW-Authenticate",
                              "Bearer realm=\"xdsd\"");
            reply_error(req, 401, "unauthorized: send Authorization: Bearer <token>");
            return 0;
        }
    }
    return 1;
}

static void on_request(struct evhttp_request *req, void *arg)
{
    (void)arg;
    if (evhttp_request_get_command(req) != EVHTTP_REQ_GET &&
        evhttp_request_get_command(req) != EVHTTP_REQ_HEAD) {
        evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", "GET, HEAD");
        reply_error(req, 405, "method not allowed: the admin API is read-only (GET)");
        return;
    }
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
    const char *path = evhttp_uri_get_path(uri);
    const char *query = evhttp_uri_get_query(uri);
    struct evkeyvalq q;
    TAILQ_INIT(&q);
    if (query && evhttp_parse_query_str(query, &q) != 0) {
        reply_error(req, 400, "malformed query string");
        return;
    }
    if (path == NULL)
        path = "/";
    int probe = strcmp(path, "/healthz") == 0 || strcmp(path, "/ready") == 0;
    if (!allowed(req, !probe))
        goto done;

    if (strcmp(path, "/healthz") == 0)
        h_healthz(req);
    else if (strcmp(path, "/ready") == 0)
        h_ready(req);
    else if (strcmp(path, "/nodes") == 0)
        h_nodes(req, &q);
    else if (strcmp(path, "/sources") == 0)
        h_sources(req);
    else if (strcmp(path, "/snapshot") == 0)
        h_snapshot(req, NULL, &q);
    else if (strncmp(path, "/snapshot/", 10) == 0)
        h_snapshot(req, path + 10, &q);
    else if (strcmp(path, "/validation") == 0)
        h_validation(req);
    else if (strcmp(path, "/metrics") == 0)
        h_metrics(req);
    else if (strcmp(path, "/") == 0)
        h_index(req);
    else
        reply_error(req, 404,
                    "not found: /healthz /ready /nodes /sources /snapshot[/<type>] "
                    "/validation /metrics /");
done:
    evhttp_clear_headers(&q);
}

static void on_expire(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    (void)arg;
    size_t gone = xds_nodes_expire(conf ? conf->forget_nodes_after_ms : 600000);
    if (gone)
        xds_log(XDS_LOG_INFO, "admin: forgot %zu prox%s not seen for %lld s", gone,
                gone == 1 ? "y" : "ies", (long long)(conf->forget_nodes_after_ms / 1000));
}

void xds_admin_stop(void)
{
    if (expire_ev)
        event_free(expire_ev);
    expire_ev = NULL;
    if (http)
        evhttp_free(http);
    http = NULL;
    bound = NULL;
    free(bound_listen);
    bound_listen = NULL;
    cycle = NULL;
    conf = NULL;
}

int xds_admin_configure(struct event_base *base, xds_cycle_t *c, char *err, size_t errlen)
{
    xds_nodes_set_default_interval(c->refresh_delay_ms);
    if (started_at == 0)
        started_at = time(NULL);
    if (!c->admin.enabled) {
        if (http)
            xds_log(XDS_LOG_NOTICE, "admin: listener closed");
        xds_admin_stop();
        cycle = c;
        return XDS_OK;
    }
    if (http && bound_addrlen == c->admin.addrlen &&
        memcmp(&bound_addr, &c->admin.addr, bound_addrlen) == 0) {
        cycle = c;
        conf = &c->admin;
        return XDS_OK;
    }

    struct evhttp *h = evhttp_new(base);
    evhttp_set_allowed_methods(h, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD | EVHTTP_REQ_POST |
                                      EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE);
    evhttp_set_max_headers_size(h, 16384);
    evhttp_set_max_body_size(h, 4096);
    evhttp_set_timeout(h, 30);
    evhttp_set_gencb(h, on_request, NULL);

    int fd = socket(c->admin.addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
        bind(fd, (const struct sockaddr *)&c->admin.addr, c->admin.addrlen) < 0 ||
        listen(fd, 128) < 0) {
        snprintf(err, errlen, "admin: bind %s: %s", c->admin.listen, strerror(errno));
        if (fd >= 0)
            close(fd);
        evhttp_free(h);
        return XDS_ERROR;
    }
    struct evhttp_bound_socket *bs = evhttp_accept_socket_with_handle(h, fd);
    if (bs == NULL) {
        snprintf(err, errlen, "admin: cannot accept on %s", c->admin.listen);
        close(fd);
        evhttp_free(h);
        return XDS_ERROR;
    }
    xds_admin_stop();
    http = h;
    bound = bs;
    bound_listen = xds_strdup(c->admin.listen);
    bound_addr = c->admin.addr;
    bound_addrlen = c->admin.addrlen;
    cycle = c;
    conf = &c->admin;
    expire_ev = event_new(base, -1, EV_PERSIST, on_expire, NULL);
    struct timeval tv = {5, 0};
    event_add(expire_ev, &tv);
    xds_log(XDS_LOG_NOTICE, "admin: listening on %s", bound_listen);
    return XDS_OK;
}
