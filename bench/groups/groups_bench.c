/*
 * groups_bench.c -- what node groups cost (issue 6, point 5): 1,000 node
 * groups over 1,000 services, the build time of each group and the memory
 * they take, and proof that groups which see the same services do not
 * multiply memory.
 *
 * Everything runs in this process, against the daemon's own objects, with
 * no network and no sources: the model is generated as JSON text and parsed
 * with xj_parse, handed to a hand-made cycle with one source, and built the
 * way run_build() in core/build.c builds it (xds_build_resources,
 * xds_snapshot_build, xds_world_attach).  Then, for each of N proxies with
 * distinct node attributes, xds_snapshot_group() is timed twice: the first
 * call builds the group, the second finds it cached.
 *
 * Scenarios (S services, service i in class i % 5; class 0 is 20 %):
 *
 *   distinct     class 0: no match; classes 1-2: "team-<t>-*" (50 teams);
 *                classes 3-4: "team-*-<s>" (20 shards).  Proxy g has
 *                cluster team-<g % 50>-<g / 50>: every group (of the first
 *                1,000) sees its own set (the shared 20 % plus its team's and
 *                its shard's).
 *   overlap      class 0: no match; others "team-<t>-*" (50 teams).  Groups
 *                of the same team (20 each) see the same services.
 *   same-all     every service "team-*": every group sees everything.
 *   same-subset  class 0: "ops-*", others "team-*": every group sees the
 *                same 80 %, so each generates the same route configuration
 *                again (interned: one copy).
 *   zones        overlap with locality_priority on; proxy g is in zone
 *                z<g % 3>: every group generates its zone-aware EDS
 *                assignments.
 *
 * Proxies have distinct clusters (team-<g % 50>-<g / 50>) in every
 * scenario, so N proxies make N groups.  Every other service is EDS; each
 * has 2 or 3 endpoints in zones z0..z2 and one domain, and all share the
 * listener "ingress".  With -s every scenario runs twice, without and with
 * schema validation.  Each figure is the median of RUNS runs (each a fresh
 * model and snapshot).  Each group's clusters are checked against the match
 * rules (xds_pattern_match) outside the timing, so a wrong group fails the
 * benchmark.
 *
 *   objs/bench/groups_bench [-n GROUPS] [-S SERVICES] [-r RUNS] [-s SCHEMA.pb]
 *                           [-x SCENARIO]
 *
 * Build: `make objs/bench/groups_bench` (Makefile.in); see bench/README.md.
 */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "build.h"
#include "cycle.h"
#include "genout.h"
#include "group.h"
#include "json.h"
#include "log.h"
#include "match.h"
#include "model.h"
#include "schema.h"
#include "snapshot.h"

#define MODEL_MAX_DEPTH 64 /* as XDS_MODEL_MAX_DEPTH in core/source.c */
#define MAX_RUNS        99
#define NTEAMS          50
#define NSHARDS         20
#define NZONES          3

enum { DISTINCT, OVERLAP, SAME_ALL, SAME_SUBSET, ZONES, NSCEN };
static const char *const scen_name[NSCEN] = {"distinct", "overlap", "same-all", "same-subset",
                                             "zones"};

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* Resident set size of this process, in MB. */
static double rss_mb(void)
{
    long pages = 0, resident = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (f == NULL)
        return 0;
    if (fscanf(f, "%ld %ld", &pages, &resident) != 2)
        resident = 0;
    fclose(f);
    return (double)resident * (double)sysconf(_SC_PAGESIZE) / (1024.0 * 1024.0);
}

/* Bytes malloc has handed out and not had back, in MB. */
static double heap_mb(void)
{
    struct mallinfo2 mi = mallinfo2();
    return (double)(mi.uordblks + mi.hblkhd) / (1024.0 * 1024.0);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The q-quantile of v[0..n) (sorts v): the smallest value with at least
 * q * n values at or below it. */
static double quantile(double *v, size_t n, double q)
{
    qsort(v, n, sizeof(double), cmp_double);
    size_t k = (size_t)(q * (double)n + 0.999999);
    return v[k ? k - 1 : 0];
}

static double median(double *v, size_t n)
{
    qsort(v, n, sizeof(double), cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* ---- the model --------------------------------------------------------------- */

/* The "match" pattern of service i in scenario sc, or "" for none. */
static void service_pattern(int sc, int i, char *p, size_t len)
{
    int cls = i % 5, u = i / 5;
    p[0] = 0;
    switch (sc) {
    case DISTINCT:
        if (cls == 1 || cls == 2)
            snprintf(p, len, "team-%d-*", (2 * u + cls - 1) % NTEAMS);
        else if (cls == 3 || cls == 4)
            snprintf(p, len, "team-*-%d", (2 * u + cls - 3) % NSHARDS);
        break;
    case OVERLAP:
    case ZONES:
        if (cls)
            snprintf(p, len, "team-%d-*", (4 * u + cls - 1) % NTEAMS);
        break;
    case SAME_ALL:
        snprintf(p, len, "team-*");
        break;
    case SAME_SUBSET:
        snprintf(p, len, "%s", cls ? "team-*" : "ops-*");
        break;
    }
}

/* The model document's text: nsvc services, one listener. */
static char *model_text(int sc, int nsvc, size_t *len)
{
    xds_buf_t b = {0};
    char pat[64];

    xds_buf_appends(&b, "{\"listeners\":[{\"name\":\"ingress\",\"port\":8080}],\"services\":[");
    for (int i = 0; i < nsvc; i++) {
        xds_buf_printf(&b,
                       "%s{\"name\":\"svc-%04d\",\"domains\":[\"svc-%04d.example.com\"],"
                       "\"listeners\":[\"ingress\"],\"connect_timeout\":\"1s\",",
                       i ? "," : "", i, i);
        if (i % 2)
            xds_buf_appends(&b, "\"discovery\":\"eds\",");
        service_pattern(sc, i, pat, sizeof(pat));
        if (pat[0])
            xds_buf_printf(&b, "\"match\":{\"cluster\":\"%s\"},", pat);
        xds_buf_appends(&b, "\"endpoints\":[");
        for (int e = 0; e < 2 + i % 2; e++)
            xds_buf_printf(&b,
                           "%s{\"address\":\"10.%d.%d.%d\",\"port\":%d,\"zone\":\"z%d\","
                           "\"region\":\"r1\"}",
                           e ? "," : "", i / 256 % 256, i % 256, e + 1, 8000 + e, (i + e) % NZONES);
        xds_buf_appends(&b, "]}");
    }
    xds_buf_appends(&b, "]}");
    return xds_buf_detach(&b, len);
}

/* ---- one run --------------------------------------------------------------------- */

typedef struct {
    double snap_ms;              /* the whole build: xds_build_resources .. attach */
    double med, p90, max, total; /* first xds_snapshot_group per proxy, ms */
    double cached_us;            /* second call, mean per proxy */
    double rss_mb, heap_mb;      /* growth while the groups were built */
    double snap_rss_mb;          /* RSS growth of the whole build */
    size_t views, resources;     /* xds_snapshot_group_stats */
    double res_mb;               /* their JSON */
    double svc_per_group;        /* mean services a group receives */
    size_t distinct_sets;        /* distinct cluster views among the groups */
} result_t;

typedef struct {
    char id[32], cluster[32], zone[8];
} proxy_t;

static int cmp_ptr(const void *a, const void *b)
{
    const void *x = *(const void *const *)a, *y = *(const void *const *)b;
    return (x > y) - (x < y);
}

static void run_once(int sc, int nsvc, int ngroups, xds_schema_t *schema, result_t *r)
{
    char err[XDS_ERRLEN], pat[64];
    size_t len;

    /* The model, as a source would publish it. */
    char *text = model_text(sc, nsvc, &len);
    xj_t *root = xj_parse(text, len, MODEL_MAX_DEPTH, err, sizeof(err));
    free(text);
    if (root == NULL || xds_model_check_document(root, 1, err, sizeof(err)) != XDS_OK) {
        fprintf(stderr, "groups_bench: %s: bad model: %s\n", scen_name[sc], err);
        exit(1);
    }
    char **pats = xds_calloc((size_t)nsvc, sizeof(char *));
    for (int i = 0; i < nsvc; i++) {
        service_pattern(sc, i, pat, sizeof(pat));
        pats[i] = xds_strdup(pat);
    }

    /* A cycle with one source, holding what xds_world_new reads. */
    xds_cycle_t *c = xds_calloc(1, sizeof(*c));
    xds_source_t *src = xds_calloc(1, sizeof(*src));
    char *node_group[] = {"cluster"}; /* the conf's default */
    src->name = xds_strdup("bench");
    src->docref = xds_doc_new(root);
    src->doc = root;
    src->required = 1;
    c->sources = &src;
    c->nsources = 1;
    c->xds_cluster = xds_strdup("xds_cluster");
    c->refresh_delay_ms = 1000;
    c->locality_priority = sc == ZONES;
    c->node_group = node_group;
    c->nnode_group = 1;
    c->schema = schema;
    c->schema_path = schema ? "schema" : NULL;

    /* The build, as run_build does it. */
    malloc_trim(0);
    double rss0 = rss_mb(), t0 = now_ms();
    xds_gen_out_t *out = xds_gen_out_new();
    xds_world_t *world = NULL;
    if (xds_build_resources(c, out, &world) != XDS_OK) {
        fprintf(stderr, "groups_bench: %s: build refused:\n%s\n", scen_name[sc],
                out->errors.data ? out->errors.data : "?");
        exit(1);
    }
    xds_snapshot_t *snap = xds_snapshot_build(out, 1);
    xds_world_attach(world, snap, out);
    xds_gen_out_free(out);
    r->snap_ms = now_ms() - t0;
    if (snap->world == NULL) {
        fprintf(stderr, "groups_bench: %s: the snapshot has no node groups\n", scen_name[sc]);
        exit(1);
    }

    /* The proxies. */
    proxy_t *px = xds_calloc((size_t)ngroups, sizeof(*px));
    xds_node_attrs_t *attrs = xds_calloc((size_t)ngroups, sizeof(*attrs));
    for (int g = 0; g < ngroups; g++) {
        snprintf(px[g].id, sizeof(px[g].id), "node-%d", g);
        /* team-<team>-<shard>: past 1,000 proxies the shards run out */
        snprintf(px[g].cluster, sizeof(px[g].cluster), "team-%d-%d", g % NTEAMS, g / NTEAMS);
        snprintf(px[g].zone, sizeof(px[g].zone), "z%d", g % NZONES);
        attrs[g].id = (xds_str_t){px[g].id, strlen(px[g].id)};
        attrs[g].cluster = (xds_str_t){px[g].cluster, strlen(px[g].cluster)};
        attrs[g].region = (xds_str_t){"r1", 2};
        attrs[g].zone = (xds_str_t){px[g].zone, strlen(px[g].zone)};
    }

    /* First poll of each proxy: builds its group. */
    double *ms = xds_calloc((size_t)ngroups, sizeof(double));
    const xds_group_t **grp = xds_calloc((size_t)ngroups, sizeof(*grp));
    malloc_trim(0);
    double rss1 = rss_mb(), heap1 = heap_mb();
    r->total = 0;
    for (int g = 0; g < ngroups; g++) {
        double s = now_ms();
        grp[g] = xds_snapshot_group(snap, &attrs[g]);
        ms[g] = now_ms() - s;
        r->total += ms[g];
    }
    r->rss_mb = rss_mb() - rss1;
    r->heap_mb = heap_mb() - heap1;
    r->snap_rss_mb = rss1 - rss0;

    /* Second poll: cached. */
    double s = now_ms();
    for (int g = 0; g < ngroups; g++)
        if (xds_snapshot_group(snap, &attrs[g]) != grp[g]) {
            fprintf(stderr, "groups_bench: %s: proxy %d got another group\n", scen_name[sc], g);
            exit(1);
        }
    r->cached_us = (now_ms() - s) * 1e3 / ngroups;

    /* Each group has exactly the services its cluster matches. */
    const void **seen = xds_calloc((size_t)ngroups, sizeof(void *));
    size_t nsvc_total = 0;
    for (int g = 0; g < ngroups; g++) {
        const xds_view_t *v = grp[g]->views[XDS_TYPE_CLUSTERS];
        if (grp[g]->error || v == NULL) {
            fprintf(stderr, "groups_bench: %s: group %s failed: %s\n", scen_name[sc], grp[g]->label,
                    grp[g]->error ? grp[g]->error : "no view");
            exit(1);
        }
        size_t want = 0;
        for (int i = 0; i < nsvc; i++) {
            int in = pats[i][0] == 0 ||
                     xds_pattern_match(pats[i], attrs[g].cluster.p, attrs[g].cluster.n);
            char name[32];
            snprintf(name, sizeof(name), "svc-%04d", i);
            long k = xds_view_find(v, name, 8);
            if (in != (k >= 0)) {
                fprintf(stderr, "groups_bench: %s: group %s %s %s\n", scen_name[sc], grp[g]->label,
                        in ? "lacks" : "has", name);
                exit(1);
            }
            want += (size_t)in;
        }
        if (want != v->n) {
            fprintf(stderr, "groups_bench: %s: group %s has %zu clusters, not %zu\n", scen_name[sc],
                    grp[g]->label, v->n, want);
            exit(1);
        }
        nsvc_total += v->n;
        seen[g] = v;
    }
    qsort(seen, (size_t)ngroups, sizeof(void *), cmp_ptr);
    r->distinct_sets = 0;
    for (int g = 0; g < ngroups; g++)
        r->distinct_sets += g == 0 || seen[g] != seen[g - 1];
    r->svc_per_group = (double)nsvc_total / ngroups;

    xds_group_stats_t st;
    xds_snapshot_group_stats(snap, &st);
    if (st.groups != (size_t)ngroups || st.failed) {
        fprintf(stderr, "groups_bench: %s: %zu groups built (%zu failed), expected %d\n",
                scen_name[sc], st.groups, st.failed, ngroups);
        exit(1);
    }
    r->views = st.views;
    r->resources = st.resources;
    r->res_mb = (double)st.bytes / (1024.0 * 1024.0);
    r->max = quantile(ms, (size_t)ngroups, 1.0);
    r->p90 = quantile(ms, (size_t)ngroups, 0.9);
    r->med = median(ms, (size_t)ngroups);

    /* Everything goes: the snapshot frees its world (and its reference to
     * the document); the source drops its own. */
    xds_snapshot_unref(snap);
    xds_doc_unref(src->docref);
    free(src->name);
    free(src);
    free(c->xds_cluster);
    free(c);
    for (int i = 0; i < nsvc; i++)
        free(pats[i]);
    free(pats);
    free(seen);
    free(grp);
    free(ms);
    free(attrs);
    free(px);
}

/* Each field of out: the median of the runs' values. */
static void median_of(result_t *runs, int n, result_t *out)
{
    double v[MAX_RUNS];
#define MED(f)                                                                                     \
    do {                                                                                           \
        for (int i = 0; i < n; i++)                                                                \
            v[i] = (double)runs[i].f;                                                              \
        out->f = median(v, (size_t)n);                                                             \
    } while (0)
    MED(snap_ms);
    MED(med);
    MED(p90);
    MED(max);
    MED(total);
    MED(cached_us);
    MED(rss_mb);
    MED(heap_mb);
    MED(snap_rss_mb);
    MED(res_mb);
    MED(svc_per_group);
#undef MED
    out->views = runs[0].views; /* the same in every run */
    out->resources = runs[0].resources;
    out->distinct_sets = runs[0].distinct_sets;
}

int main(int argc, char **argv)
{
    int ngroups = 1000, nsvc = 1000, runs = 3, opt, only = -1;
    const char *schema_path = NULL;
    char err[XDS_ERRLEN];

    while ((opt = getopt(argc, argv, "n:S:r:s:x:")) != -1) {
        switch (opt) {
        case 'n':
            ngroups = atoi(optarg);
            break;
        case 'S':
            nsvc = atoi(optarg);
            break;
        case 'r':
            runs = atoi(optarg);
            break;
        case 's':
            schema_path = optarg;
            break;
        case 'x':
            for (int i = 0; i < NSCEN; i++)
                if (strcmp(optarg, scen_name[i]) == 0)
                    only = i;
            if (only < 0) {
                fprintf(stderr, "groups_bench: unknown scenario %s\n", optarg);
                return 2;
            }
            break;
        default:
            goto usage;
        }
    }
    if (optind != argc || ngroups < 1 || nsvc < 5 || nsvc > 9999 || runs < 1 || runs > MAX_RUNS)
        goto usage;
    xds_log_level = XDS_LOG_WARN;

    xds_schema_t *schema = NULL;
    if (schema_path) {
        schema = xds_schema_load(schema_path, err, sizeof(err));
        if (schema == NULL) {
            fprintf(stderr, "groups_bench: %s\n", err);
            return 2;
        }
    }

    printf("node groups: %d proxies (distinct node attributes), %d services, median of %d "
           "run%s\n",
           ngroups, nsvc, runs, runs == 1 ? "" : "s");
    printf("  build: the whole snapshot; group ms: first poll of a proxy (builds its "
           "group); cached: second poll\n");
    printf("  RSS/heap: growth while the groups were built; sets: distinct service sets; "
           "views/res: interned by the groups\n\n");
    printf("%-11s %-6s %6s %5s %7s %8s | %7s %7s %7s %8s | %6s | %7s %7s | %5s %5s %7s\n",
           "scenario", "schema", "groups", "sets", "svc/grp", "build ms", "median", "p90", "max",
           "total", "cached", "RSS", "heap", "views", "res", "res");
    printf("%-11s %-6s %6s %5s %7s %8s | %7s %7s %7s %8s | %6s | %7s %7s | %5s %5s %7s\n", "", "",
           "", "", "", "", "ms", "ms", "ms", "ms", "us", "MB", "MB", "", "", "MB");

    result_t *rs = xds_calloc((size_t)runs, sizeof(*rs));
    for (int sc = 0; sc < NSCEN; sc++) {
        if (only >= 0 && sc != only)
            continue;
        for (int v = 0; v < (schema ? 2 : 1); v++) {
            result_t m;
            for (int i = 0; i < runs; i++)
                run_once(sc, nsvc, ngroups, v ? schema : NULL, &rs[i]);
            median_of(rs, runs, &m);
            printf("%-11s %-6s %6d %5zu %7.1f %8.1f | %7.3f %7.3f %7.3f %8.1f | %6.2f | %7.1f "
                   "%7.1f | %5zu %5zu %7.2f\n",
                   scen_name[sc], v ? "yes" : "no", ngroups, m.distinct_sets, m.svc_per_group,
                   m.snap_ms, m.med, m.p90, m.max, m.total, m.cached_us, m.rss_mb, m.heap_mb,
                   m.views, m.resources, m.res_mb);
            fflush(stdout);
        }
    }
    free(rs);
    xds_schema_free(schema);
    return 0;

usage:
    fprintf(stderr,
            "usage: groups_bench [-n GROUPS] [-S SERVICES (5..9999)] [-r RUNS] [-s SCHEMA.pb] "
            "[-x distinct|overlap|same-all|same-subset|zones]\n");
    return 2;
}
