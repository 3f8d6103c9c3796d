/*
 * validate_bench.c -- how long schema and reference validation takes on a
 * large build (issue 4, point 5): Envoy waits 1 s for a REST response by
 * default, and a build is validated before it is published, so validating
 * 10,000 services' worth of resources must take far less than that.
 *
 * Builds a model of N services (default 10,000; every other one EDS, three
 * endpoints each, routes on two listeners) in memory, runs the generators
 * once, then times xds_schema_load (several loads) and
 * xds_schema_validate (R runs) and prints medians.  Exits 1 when the build
 * is not valid, so it doubles as a large "valid model passes" check.
 *
 *   objs/bench/validate_bench [-s SCHEMA.pb] [-n SERVICES] [-r RUNS]
 *
 * See bench/README.md for how to build it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "genout.h"
#include "json.h"
#include "model.h"
#include "schema.h"

static double now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, size_t n)
{
    qsort(v, n, sizeof(double), cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* The model document: n services, two listeners. */
static xj_t *big_model(int n)
{
    xj_t *doc = xj_object(), *svcs = xj_object_put(doc, "services", xj_array());
    xj_t *lis = xj_object_put(doc, "listeners", xj_array());
    char buf[64];

    for (int i = 0; i < 2; i++) {
        xj_t *l = xj_array_push(lis, xj_object());
        snprintf(buf, sizeof(buf), "listener-%d", i);
        xj_object_put(l, "name", xj_string(buf));
        xj_object_put(l, "port", xj_int(8080 + i));
    }
    for (int i = 0; i < n; i++) {
        xj_t *s = xj_array_push(svcs, xj_object()), *eps, *routes, *r;
        snprintf(buf, sizeof(buf), "service-%05d", i);
        xj_object_put(s, "name", xj_string(buf));
        strcat(buf, ".example.com");
        xj_array_push(xj_object_put(s, "domains", xj_array()), xj_string(buf));
        if (i % 2)
            xj_object_put(s, "discovery", xj_string("eds"));
        xj_object_put(s, "connect_timeout", xj_string("1.5s"));
        routes = xj_object_put(s, "routes", xj_array());
        r = xj_array_push(routes, xj_object());
        xj_object_put(r, "prefix", xj_string("/api/"));
        xj_object_put(r, "timeout", xj_string("2s"));
        r = xj_array_push(routes, xj_object());
        xj_object_put(r, "prefix", xj_string("/"));
        eps = xj_object_put(s, "endpoints", xj_array());
        for (int e = 0; e < 3; e++) {
            xj_t *ep = xj_array_push(eps, xj_object());
            snprintf(buf, sizeof(buf), "10.%d.%d.%d", i / 256 % 256, i % 256, e);
            xj_object_put(ep, "address", xj_string(buf));
            xj_object_put(ep, "port", xj_int(8000 + e));
            xj_object_put(ep, "zone", xj_string(e ? "b" : "a"));
        }
    }
    return doc;
}

static size_t count_nodes(const xj_t *v)
{
    size_t n = 1;
    if (v->type == XJ_ARRAY)
        for (size_t i = 0; i < v->u.arr.n; i++)
            n += count_nodes(v->u.arr.v[i]);
    else if (v->type == XJ_OBJECT)
        for (size_t i = 0; i < v->u.obj.n; i++)
            n += count_nodes(v->u.obj.m[i].val);
    return n;
}

int main(int argc, char **argv)
{
    const char *schema_path = "tests/.deps/envoy.pb";
    int services = 10000, runs = 20, loads = 10, rc = 0;
    char err[XDS_ERRLEN];

    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "-s") == 0)
            schema_path = argv[i + 1];
        else if (strcmp(argv[i], "-n") == 0)
            services = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "-r") == 0)
            runs = atoi(argv[i + 1]);
    }
    if (services < 1 || runs < 1 || argc % 2 == 0) {
        fprintf(stderr, "usage: %s [-s SCHEMA.pb] [-n SERVICES] [-r RUNS]\n", argv[0]);
        return 2;
    }

    double *t = calloc((size_t)(runs > loads ? runs : loads), sizeof(double));
    xds_schema_t *s = NULL;
    for (int i = 0; i < loads; i++) {
        double t0 = now_ms();
        xds_schema_t *tmp = xds_schema_load(schema_path, err, sizeof(err));
        t[i] = now_ms() - t0;
        if (tmp == NULL) {
            fprintf(stderr, "validate_bench: %s\n", err);
            free(t);
            return 2;
        }
        xds_schema_free(s);
        s = tmp;
    }
    printf("schema %s: %zu message types, load median %.2f ms (%d loads)\n", schema_path,
           xds_schema_message_count(s), median(t, (size_t)loads), loads);

    xj_t *doc = big_model(services);
    const xj_t *docs[] = {doc};
    const char *sources[] = {"bench"};
    xds_model_t m;
    memset(&m, 0, sizeof(m));
    m.opts.xds_cluster = "xds_cluster";
    m.opts.refresh_delay_ms = 1000;
    xds_model_build(&m, docs, sources, 1);
    xds_gen_out_t *out = xds_gen_out_new();
    double t0 = now_ms();
    if (xds_generate(&m, out) != XDS_OK) {
        fprintf(stderr, "validate_bench: generate: %s\n", out->error);
        return 2;
    }
    double gen = now_ms() - t0;
    size_t nres = 0, nodes = 0;
    for (size_t ty = 0; ty < XDS_TYPE_COUNT; ty++) {
        nres += out->n[ty];
        for (size_t i = 0; i < out->n[ty]; i++)
            nodes += count_nodes(out->res[ty][i].resource);
    }
    printf("%d services: %zu resources (%zu clusters, %zu endpoints, %zu listeners, %zu route "
           "configurations), %zu JSON values; generate %.1f ms\n",
           services, nres, out->n[XDS_TYPE_CLUSTERS], out->n[XDS_TYPE_ENDPOINTS],
           out->n[XDS_TYPE_LISTENERS], out->n[XDS_TYPE_ROUTES], nodes, gen);

    for (int i = 0; i < runs; i++) {
        xds_buf_t errors = {0};
        t0 = now_ms();
        size_t problems = xds_schema_validate(s, out, &errors, 100);
        t[i] = now_ms() - t0;
        if (problems != 0) {
            fprintf(stderr, "validate_bench: %zu problems:\n%s", problems, errors.data);
            rc = 1;
        }
        xds_buf_free(&errors);
        if (rc)
            break;
    }
    if (rc == 0) {
        double med = median(t, (size_t)runs);
        printf("validate: median %.1f ms, min %.1f ms, max %.1f ms (%d runs), %.0f ns per JSON "
               "value\n",
               med, t[0], t[runs - 1], runs, med * 1e6 / (double)nodes);
    }
    xds_gen_out_free(out);
    xds_model_free(&m);
    xj_free(doc);
    xds_schema_free(s);
    free(t);
    return rc;
}
