/*
 * build_bench.c -- how long xdsd takes to build a snapshot from a model:
 * the same steps, in the same order, as run_build() in core/build.c (merge
 * the sources' documents into a model, run every generator, serialize and
 * hash every resource and write each type's full response body), linked
 * against the daemon's own objects so nothing is skipped or simplified.
 *
 * Parsing the model document is timed separately: in the daemon it happens
 * when a source publishes (core/source.c), before the build, and it is not
 * repeated when another source changes.
 *
 *   build_bench MODEL.json [RUNS]
 *
 * Runs the build RUNS times (default 11) after one untimed warm-up run and
 * prints, per step, the median and the range, then one line of JSON.  The
 * model for 10,000 services comes from bench/discovery/model.py.  Build:
 * bench/build/Makefile.
 */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "genout.h"
#include "json.h"
#include "log.h"
#include "model.h"
#include "snapshot.h"

#define MAX_RUNS        1000
#define MODEL_MAX_DEPTH 64 /* as XDS_MODEL_MAX_DEPTH in core/source.c */

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* VmRSS or VmHWM of this process, in MB. */
static double status_mb(const char *field)
{
    char line[256];
    size_t n = strlen(field);
    double kb = 0;
    FILE *f = fopen("/proc/self/status", "r");
    if (f == NULL)
        return 0;
    while (fgets(line, sizeof(line), f))
        if (strncmp(line, field, n) == 0 && line[n] == ':')
            kb = strtod(line + n + 1, NULL);
    fclose(f);
    return kb / 1024;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Median, min and max of v[0..n) (sorts v). */
static void summarize(double *v, size_t n, double *med, double *min, double *max)
{
    qsort(v, n, sizeof(double), cmp_double);
    *med = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
    *min = v[0];
    *max = v[n - 1];
}

/* One build as core/build.c does it; the step times are added to t[0..3)
 * (merge, generate, serialize + hash).  Returns the snapshot. */
static xds_snapshot_t *build_once(const xj_t *doc, double t[3])
{
    const xj_t *docs[1] = {doc};
    const char *names[1] = {"bench"};
    xds_model_t model = {0};
    model.opts.xds_cluster = "xds_cluster";
    model.opts.refresh_delay_ms = 1000;

    double t0 = now_ms();
    xds_model_build(&model, docs, names, 1);
    double t1 = now_ms();
    xds_gen_out_t *out = xds_gen_out_new();
    if (xds_generate(&model, out) != XDS_OK) {
        fprintf(stderr, "build_bench: the generators refused the model: %s\n",
                out->error ? out->error : "?");
        exit(1);
    }
    double t2 = now_ms();
    xds_snapshot_t *snap = xds_snapshot_build(out, 1);
    double t3 = now_ms();
    t[0] = t1 - t0;
    t[1] = t2 - t1;
    t[2] = t3 - t2;
    xds_gen_out_free(out); /* done in the build too, after the swap */
    xds_model_free(&model);
    return snap;
}

int main(int argc, char **argv)
{
    if (argc < 2 || argc > 3) {
        fprintf(stderr, "usage: build_bench MODEL.json [RUNS]\n");
        return 2;
    }
    long runs = argc == 3 ? strtol(argv[2], NULL, 10) : 11;
    if (runs < 1 || runs > MAX_RUNS) {
        fprintf(stderr, "build_bench: RUNS must be 1..%d\n", MAX_RUNS);
        return 2;
    }
    xds_log_level = XDS_LOG_WARN;

    char err[XDS_ERRLEN];
    size_t len;
    char *text = xds_read_file(argv[1], &len, err, sizeof(err));
    if (text == NULL) {
        fprintf(stderr, "build_bench: %s\n", err);
        return 1;
    }

    double rss_text = status_mb("VmRSS");

    /* Parse + check, as a source publish does (timed, not part of the build). */
    static double parse[MAX_RUNS], merge[MAX_RUNS], gen[MAX_RUNS], ser[MAX_RUNS], total[MAX_RUNS];
    xj_t *doc = NULL;
    double rss_doc = 0;
    for (long i = 0; i < runs; i++) {
        double t0 = now_ms();
        xj_t *d = xj_parse(text, len, MODEL_MAX_DEPTH, err, sizeof(err));
        if (d == NULL) {
            fprintf(stderr, "build_bench: %s: %s\n", argv[1], err);
            return 1;
        }
        if (xds_model_check_document(d, 1, err, sizeof(err)) != XDS_OK) {
            fprintf(stderr, "build_bench: %s: %s\n", argv[1], err);
            return 1;
        }
        parse[i] = now_ms() - t0;
        if (i == 0)
            rss_doc = status_mb("VmRSS"); /* the text and one tree */
        if (doc)
            xj_free(doc);
        doc = d;
    }

    double t[3];
    xds_snapshot_t *first = build_once(doc, t); /* warm-up; its memory is measured */
    double rss_built = status_mb("VmRSS"), hwm_built = status_mb("VmHWM");
    malloc_trim(0);
    double rss_trimmed = status_mb("VmRSS");
    xds_snapshot_unref(first);
    xds_snapshot_t *snap = NULL;
    for (long i = 0; i < runs; i++) {
        xds_snapshot_t *s = build_once(doc, t);
        merge[i] = t[0];
        gen[i] = t[1];
        ser[i] = t[2];
        total[i] = t[0] + t[1] + t[2];
        xds_snapshot_unref(snap);
        snap = s;
    }

    size_t body_bytes = 0, nres = 0;
    printf("model %s: %zu bytes; snapshot:", argv[1], len);
    for (size_t k = 0; k < XDS_TYPE_COUNT; k++) {
        if (snap->types[k].n)
            printf(" %s=%zu (%zu KB)", xds_types[k].path, snap->types[k].n,
                   snap->types[k].body_len / 1024);
        body_bytes += snap->types[k].body_len;
        nres += snap->types[k].n;
    }
    printf("\n");

    struct {
        const char *name;
        double *v;
        double med, min, max;
    } steps[] = {{"parse+check (at publish)", parse, 0, 0, 0},
                 {"merge", merge, 0, 0, 0},
                 {"generate", gen, 0, 0, 0},
                 {"serialize+hash", ser, 0, 0, 0},
                 {"build total", total, 0, 0, 0}};
    size_t nsteps = sizeof(steps) / sizeof(steps[0]);
    printf("%-26s %10s %10s %10s   (%ld runs)\n", "step", "median ms", "min ms", "max ms", runs);
    for (size_t i = 0; i < nsteps; i++) {
        summarize(steps[i].v, (size_t)runs, &steps[i].med, &steps[i].min, &steps[i].max);
        printf("%-26s %10.2f %10.2f %10.2f\n", steps[i].name, steps[i].med, steps[i].min,
               steps[i].max);
    }
    printf("memory: %.1f MB with the model text read; %.1f MB with its parsed tree (%.1f MB); "
           "%.1f MB after the first build (peak %.1f MB), %.1f MB after malloc_trim(0)\n",
           rss_text, rss_doc, rss_doc - rss_text, rss_built, hwm_built, rss_trimmed);
    printf("BUILDRESULT {\"runs\":%ld,\"resources\":%zu,\"body_bytes\":%zu,\"parse_ms\":%.2f,"
           "\"merge_ms\":%.2f,\"generate_ms\":%.2f,\"serialize_ms\":%.2f,\"build_ms\":%.2f,"
           "\"build_min_ms\":%.2f,\"build_max_ms\":%.2f,\"rss_doc_mb\":%.1f,"
           "\"rss_built_mb\":%.1f,\"hwm_built_mb\":%.1f,\"rss_trimmed_mb\":%.1f}\n",
           runs, nres, body_bytes, steps[0].med, steps[1].med, steps[2].med, steps[3].med,
           steps[4].med, steps[4].min, steps[4].max, rss_doc, rss_built, hwm_built, rss_trimmed);

    xds_snapshot_unref(snap);
    xj_free(doc);
    free(text);
    return 0;
}
