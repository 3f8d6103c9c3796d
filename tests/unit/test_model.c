/*
 * test_model.c -- checking source documents (every kind of error, with its
 * JSON path and position) and merging them into the model: declaration
 * order, clash replacement in place with a notice naming both sources, and
 * a linear-time merge of large collections.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "genout.h"
#include "json.h"
#include "log.h"
#include "model.h"

static xj_t *parse(const char *text)
{
    char err[XDS_ERRLEN];
    xj_t *v = xj_parse(text, strlen(text), 64, err, sizeof(err));
    if (v == NULL)
        fail_msg("parse: %s", err);
    return v;
}

/* Check text; return the error ("" when accepted) in a static buffer. */
static const char *check(const char *text, int strict)
{
    static char err[XDS_ERRLEN];
    xj_t *doc = parse(text);
    err[0] = '\0';
    int rc = xds_model_check_document(doc, strict, err, sizeof(err));
    assert_int_equal(rc, err[0] ? XDS_ERROR : XDS_OK);
    xj_free(doc);
    return err;
}

/* ---- capturing log lines ------------------------------------------------ */

static int saved_stderr = -1;
static FILE *capture_file;

static void capture_start(void)
{
    fflush(stderr);
    capture_file = tmpfile();
    assert_non_null(capture_file);
    saved_stderr = dup(2);
    dup2(fileno(capture_file), 2);
}

/* Everything logged since capture_start (malloc'd). */
static char *capture_end(void)
{
    long n;
    char *s;

    dup2(saved_stderr, 2);
    close(saved_stderr);
    n = ftell(capture_file);
    s = calloc(1, (size_t)n + 1);
    rewind(capture_file);
    assert_int_equal(fread(s, 1, (size_t)n, capture_file), (size_t)n);
    fclose(capture_file);
    return s;
}

/* ---- document check ----------------------------------------------------- */

static void test_check_accepts_good_document(void **state)
{
    (void)state;
    assert_string_equal(check("{}", 1), "");
    assert_string_equal(check("{\"services\":[{\"name\":\"a\",\"whatever\":1},{\"name\":\"b\"}],"
                              "\"listeners\":[{\"name\":\"a\"}],"
                              "\"resources\":{\"clusters\":[{\"name\":\"a\"}],"
                              "\"endpoints\":[{\"cluster_name\":\"a\"}],"
                              "\"scoped-routes\":[],\"extension_configs\":[]}}",
                              1),
                        "");
}

static void test_check_errors(void **state)
{
    (void)state;
    static const struct {
        const char *doc, *err;
    } cases[] = {
        {"[]", "the document must be a JSON object, got array"},
        {"{\n  \"servics\": []\n}", "unknown collection \"servics\" (line 2, column 14)"},
        {"{\"services\": {}}", "services (line 1, column 14): expected an array, got object"},
        {"{\"services\": [\"a\"]}",
         "services[0] (line 1, column 15): expected an object, got string"},
        {"{\"services\": [{\"name\": \"a\"},\n    {\"port\": 1}]}",
         "services[1] (line 2, column 5): \"name\" is missing"},
        {"{\"services\": [{\"name\": \"\"}]}",
         "services[0] (line 1, column 15): \"name\" must be a non-empty string"},
        {"{\"listeners\": [{\"name\": 7}]}",
         "listeners[0] (line 1, column 16): \"name\" must be a non-empty string"},
        {"{\"services\": [{\"name\": \"a\\u0000b\"}]}",
         "services[0] (line 1, column 15): \"name\" must not contain a NUL character"},
        {"{\"services\": [{\"name\": \"a\"}, {\"name\": \"b\"}, {\"name\": \"a\"}]}",
         "services[2] (line 1, column 45): duplicate name \"a\" (first used by services[0])"},
        {"{\"resources\": []}", "resources (line 1, column 15): expected an object, got array"},
        {"{\"resources\": {\"cluster\": []}}",
         "unknown resource type \"cluster\" in resources (line 1, column 27)"},
        {"{\"resources\": {\"endpoints\": [{\"name\": \"a\"}]}}",
         "resources.endpoints[0] (line 1, column 30): \"cluster_name\" is missing"},
        {"{\"resources\": {\"clusters\": [{\"name\": \"x\"}, {\"name\": \"x\"}]}}",
         "resources.clusters[1] (line 1, column 44): duplicate name \"x\" (first used by "
         "resources.clusters[0])"},
        /* match rules (core/match.c) */
        {"{\"services\": [{\"name\": \"a\", \"match\": []}]}",
         "services[0] (line 1, column 38): match: expected an object of node attributes, got "
         "array"},
        {"{\"services\": [{\"name\": \"a\", \"match\": {}}]}",
         "services[0] (line 1, column 38): match: must name at least one node attribute (leave "
         "\"match\" out to send the item to every proxy)"},
        {"{\"listeners\": [{\"name\": \"a\", \"match\": {\"clustr\": \"x\"}}]}",
         "listeners[0] (line 1, column 39): match: unknown node attribute \"clustr\" (expected "
         "id, cluster, locality.region, locality.zone, locality.sub_zone or metadata.<key>)"},
        {"{\"services\": [{\"name\": \"a\", \"match\": {\"metadata.\": \"x\"}}]}",
         "services[0] (line 1, column 38): match: unknown node attribute \"metadata.\" "
         "(expected id, cluster, locality.region, locality.zone, locality.sub_zone or "
         "metadata.<key>)"},
        {"{\"services\": [{\"name\": \"a\", \"match\": {\"cluster\": 5}}]}",
         "services[0] (line 1, column 38): match.cluster: expected a non-empty string or an "
         "array of them, got number"},
        {"{\"services\": [{\"name\": \"a\", \"match\": {\"cluster\": \"\"}}]}",
         "services[0] (line 1, column 38): match.cluster: expected a non-empty string or an "
         "array of them, got an empty string"},
        {"{\"services\": [{\"name\": \"a\", \"match\": {\"id\": []}}]}",
         "services[0] (line 1, column 38): match.id: an empty list matches no proxy"},
        {"{\"services\": [{\"name\": \"a\", \"match\": {\"id\": [\"x\", null]}}]}",
         "services[0] (line 1, column 38): match.id[1]: expected a non-empty string, got null"},
        {"{\"resources\": {\"clusters\": [{\"name\": \"x\", \"match\": "
         "{\"locality.zone\": [\"a\", 1]}}]}}",
         "resources.clusters[0] (line 1, column 52): match.locality.zone[1]: expected a "
         "non-empty string, got number"},
    };
    for (size_t i = 0; i < xds_nelems(cases); i++)
        assert_string_equal(check(cases[i].doc, 1), cases[i].err);
}

static void test_check_not_strict_warns(void **state)
{
    (void)state;
    capture_start();
    const char *err = check("{\n  \"servics\": [],\n  \"resources\": {\"cluster\": []}}", 0);
    char *log = capture_end();
    assert_string_equal(err, "");
    assert_non_null(
        strstr(log, "[warn] unknown collection \"servics\" (line 2, column 14) ignored"));
    assert_non_null(
        strstr(log, "[warn] unknown resource type \"cluster\" in resources (line 3, column 28) "
                    "ignored"));
    free(log);
    /* the shape of known collections is checked either way */
    assert_string_equal(check("{\"services\": 1}", 0),
                        "services (line 1, column 14): expected an array, got number");
}

/* ---- merge --------------------------------------------------------------- */

static void test_merge_order_and_replacement(void **state)
{
    (void)state;
    xj_t *a = parse("{\"services\":[{\"name\":\"x\",\"v\":1},{\"name\":\"y\"}],"
                    "\"listeners\":[{\"name\":\"in\"}],"
                    "\"resources\":{\"clusters\":[{\"name\":\"raw\",\"v\":1}]}}");
    xj_t *b = parse("{\"services\":[{\"name\":\"z\"},{\"name\":\"x\",\"v\":2}],"
                    "\"resources\":{\"clusters\":[{\"name\":\"raw\",\"v\":2}],"
                    "\"endpoints\":[{\"cluster_name\":\"e\"}]}}");
    const xj_t *docs[] = {a, NULL, b};
    const char *sources[] = {"a", "broken", "b"};
    xds_model_t m;
    int64_t v;

    memset(&m, 0, sizeof(m));
    capture_start();
    assert_int_equal(xds_model_build(&m, docs, sources, 3), XDS_OK);
    char *log = capture_end();

    assert_int_equal(m.services.n, 3);
    assert_string_equal(m.services.items[0].name, "x");
    assert_string_equal(m.services.items[0].source, "b");
    assert_int_equal(xj_int64(xj_get(m.services.items[0].item, "v"), &v), XDS_OK);
    assert_int_equal(v, 2);
    assert_string_equal(m.services.items[1].name, "y");
    assert_string_equal(m.services.items[1].source, "a");
    assert_string_equal(m.services.items[2].name, "z");
    assert_string_equal(m.services.items[2].source, "b");

    assert_int_equal(m.listeners.n, 1);
    assert_int_equal(m.resources[XDS_TYPE_CLUSTERS].n, 1);
    assert_string_equal(m.resources[XDS_TYPE_CLUSTERS].items[0].source, "b");
    assert_int_equal(m.resources[XDS_TYPE_ENDPOINTS].n, 1);
    assert_string_equal(m.resources[XDS_TYPE_ENDPOINTS].items[0].name, "e");
    assert_int_equal(m.resources[XDS_TYPE_ROUTES].n, 0);

    assert_non_null(
        strstr(log, "[notice] services[x]: source \"b\" replaces the item from source \"a\""));
    assert_non_null(strstr(
        log, "[notice] resources.clusters[raw]: source \"b\" replaces the item from source \"a\""));
    free(log);

    xds_model_free(&m);
    xj_free(a);
    xj_free(b);
}

static void test_merge_large_is_linear(void **state)
{
    (void)state;
    enum { N = 10000 };
    xj_t *docs[2];
    const char *sources[] = {"one", "two"};
    xds_model_t m;
    struct timespec t0, t1;

    for (int d = 0; d < 2; d++) {
        xj_t *arr = xj_array();
        for (int i = 0; i < N; i++) {
            char name[32];
            snprintf(name, sizeof(name), "svc-%d", d * N / 2 + i); /* half overlap */
            xj_object_put(xj_array_push(arr, xj_object()), "name", xj_string(name));
        }
        docs[d] = xj_object();
        xj_object_put(docs[d], "services", arr);
    }
    memset(&m, 0, sizeof(m));
    int saved = xds_log_level;
    xds_log_level = XDS_LOG_WARN; /* 5,000 clash notices */
    clock_gettime(CLOCK_MONOTONIC, &t0);
    assert_int_equal(xds_model_build(&m, (const xj_t *const *)docs, sources, 2), XDS_OK);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    xds_log_level = saved;
    assert_int_equal(m.services.n, N + N / 2);
    assert_string_equal(m.services.items[N / 2].source, "two");
    assert_string_equal(m.services.items[N].name, "svc-10000");
    print_message("merge of 2 x %d services: %.2f ms\n", N,
                  (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6);
    xds_model_free(&m);
    xj_free(docs[0]);
    xj_free(docs[1]);
}

/* ---- name index ---------------------------------------------------------- */

static void test_name_index(void **state)
{
    (void)state;
    xds_name_index_t ix;
    char keys[1000][16];
    size_t prev;

    xds_name_index_init(&ix, 0, 1);
    for (size_t i = 0; i < 1000; i++) {
        snprintf(keys[i], sizeof(keys[i]), "Key-%zu", i);
        assert_int_equal(xds_name_index_put(&ix, keys[i], i, NULL), 1);
    }
    assert_int_equal(xds_name_index_put(&ix, "key-7", 99, &prev), 0); /* nocase */
    assert_int_equal(prev, 7);
    assert_int_equal(*xds_name_index_find(&ix, "KEY-999"), 999);
    assert_null(xds_name_index_find(&ix, "Key-1000"));
    xds_name_index_clear(&ix);
    assert_null(xds_name_index_find(&ix, "Key-1"));
    xds_name_index_free(&ix);
}

/* ---- types ---------------------------------------------------------------- */

static void test_types(void **state)
{
    (void)state;
    for (size_t i = 0; i < XDS_TYPE_COUNT; i++) {
        const xds_type_t *t = xds_type_by_path(xds_types[i].path, strlen(xds_types[i].path));
        assert_ptr_equal(t, &xds_types[i]);
        assert_int_equal(t->id, i);
        assert_int_equal(strncmp(t->type_url, "type.googleapis.com/envoy.", 26), 0);
    }
    assert_string_equal(xds_type_by_path("endpoints", 9)->name_field, "cluster_name");
    assert_string_equal(xds_type_by_path("scoped-routes", 13)->type_url,
                        "type.googleapis.com/envoy.config.route.v3.ScopedRouteConfiguration");
    assert_null(xds_type_by_path("cluster", 7));
    assert_null(xds_type_by_path("clustersx", 9));
    assert_null(xds_type_by_path("clusters", 7));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_check_accepts_good_document),
        cmocka_unit_test(test_check_errors),
        cmocka_unit_test(test_check_not_strict_warns),
        cmocka_unit_test(test_merge_order_and_replacement),
        cmocka_unit_test(test_merge_large_is_linear),
        cmocka_unit_test(test_name_index),
        cmocka_unit_test(test_types),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
