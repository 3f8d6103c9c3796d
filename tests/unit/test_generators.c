/*
 * test_generators.c -- the generator modules and the collector: the exact
 * output of every generator for a small model (the same text was checked
 * against Envoy's v3 schema with tests/schema/envoy_schema.py), defaults,
 * every kind of model error message, duplicates across generators,
 * determinism, duration conversion, and a timing print for 10,000 services.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "gen_util.h"
#include "genout.h"
#include "json.h"
#include "log.h"
#include "model.h"

/* ---- running the generators on model text -------------------------------- */

/* Parse, check (strict), merge and generate.  Returns the collector (free
 * with xds_gen_out_free); *rc gets xds_generate's result. */
static xds_gen_out_t *run_sources(const char *const *texts, const char *const *sources, size_t n,
                                  int *rc)
{
    xj_t *docs[8];
    char err[XDS_ERRLEN];
    xds_model_t m;
    xds_gen_out_t *out = xds_gen_out_new();

    assert_true(n <= 8);
    for (size_t i = 0; i < n; i++) {
        docs[i] = xj_parse(texts[i], strlen(texts[i]), 64, err, sizeof(err));
        if (docs[i] == NULL)
            fail_msg("parse: %s", err);
        if (xds_model_check_document(docs[i], 1, err, sizeof(err)) != XDS_OK)
            fail_msg("check: %s", err);
    }
    memset(&m, 0, sizeof(m));
    m.opts.xds_cluster = "xds_cluster";
    m.opts.refresh_delay_ms = 1000;
    assert_int_equal(xds_model_build(&m, (const xj_t *const *)docs, sources, n), XDS_OK);
    *rc = xds_generate(&m, out);
    assert_true(*rc == XDS_OK ? out->error == NULL : out->error != NULL);
    xds_model_free(&m);
    for (size_t i = 0; i < n; i++)
        xj_free(docs[i]); /* the output must not borrow from the documents */
    return out;
}

static xds_gen_out_t *run(const char *text, int *rc)
{
    const char *sources[] = {"catalog"};
    return run_sources(&text, sources, 1, rc);
}

/* The resources of one type as "[r1,r2]" (malloc'd). */
static char *dump(const xds_gen_out_t *out, xds_type_id_t t)
{
    xds_buf_t b = {0};
    xds_buf_appends(&b, "[");
    for (size_t i = 0; i < out->n[t]; i++) {
        if (i)
            xds_buf_appends(&b, ",");
        xj_serialize(out->res[t][i].resource, &b);
    }
    xds_buf_appends(&b, "]");
    return xds_buf_detach(&b, NULL);
}

static void assert_type(const xds_gen_out_t *out, xds_type_id_t t, const char *expect)
{
    char *got = dump(out, t);
    assert_string_equal(got, expect);
    free(got);
}

/* The error a model gives. */
static void assert_model_error(const char *text, const char *expect)
{
    int rc;
    xds_gen_out_t *out = run(text, &rc);
    if (rc != XDS_ERROR)
        fail_msg("no error for %s (expected %s)", text, expect);
    assert_string_equal(out->error, expect);
    xds_gen_out_free(out);
}

/* ---- the small model ------------------------------------------------------ */

static const char small_model[] =
    "{\"services\": ["
    " {\"name\": \"greeter\", \"domains\": [\"greeter.example.com\", \"*.greeter.example.com\"],"
    "  \"endpoints\": ["
    "   {\"address\": \"10.0.0.5\", \"port\": 8085, \"zone\": \"b\", \"region\": \"eu\", "
    "\"weight\": 3},"
    "   {\"address\": \"10.0.0.6\", \"port\": 8085, \"health\": \"HEALTHY\"},"
    "   {\"address\": \"10.0.0.7\", \"port\": 8086, \"zone\": \"a\", \"region\": \"eu\"},"
    "   {\"address\": \"10.0.0.8\", \"port\": 8087, \"zone\": \"b\", \"region\": \"eu\"}],"
    "  \"routes\": [{\"prefix\": \"/api\", \"timeout\": \"250ms\", \"prefix_rewrite\": \"/\"},"
    "             {\"path\": \"/health\"}, {\"regex\": \"^/v[0-9]+/.*\"}],"
    "  \"connect_timeout\": \"1.5s\", \"lb_policy\": \"LEAST_REQUEST\"},"
    " {\"name\": \"api\", \"discovery\": \"eds\", \"domains\": [\"api.example.com\"],"
    "  \"listeners\": [\"ingress\"],"
    "  \"endpoints\": [{\"address\": \"::1\", \"port\": 9000, \"zone\": \"z\"}]},"
    " {\"name\": \"dnssvc\", \"discovery\": \"dns\", \"listeners\": [],"
    "  \"endpoints\": [{\"address\": \"backend.internal\", \"port\": 80}]}],"
    " \"listeners\": [{\"name\": \"ingress\", \"port\": 8080},"
    "                {\"name\": \"admin\", \"address\": \"127.0.0.1\", \"port\": 8081}],"
    " \"resources\": {"
    "  \"clusters\": [{\"@type\": \"type.googleapis.com/envoy.config.cluster.v3.Cluster\","
    "                \"name\": \"legacy\", \"type\": \"LOGICAL_DNS\", \"connect_timeout\": "
    "\"2s\"}],"
    "  \"secrets\": [{\"name\": \"tls\", \"generic_secret\": {\"secret\": {\"inline_string\": "
    "\"x\"}}}]}}";

#define REST_SOURCE                                                                                \
    "{\"resource_api_version\":\"V3\",\"api_config_source\":{\"api_type\":\"REST\","               \
    "\"transport_api_version\":\"V3\",\"cluster_names\":[\"xds_cluster\"],"                        \
    "\"refresh_delay\":\"1s\"}}"

#define LISTENER(name, addr, port)                                                                 \
    "{\"name\":\"" name "\",\"address\":{\"socket_address\":{\"address\":\"" addr                  \
    "\",\"port_value\":" port "}},\"filter_chains\":[{\"filters\":[{\"name\":"                     \
    "\"envoy.filters.network.http_connection_manager\",\"typed_config\":{\"@type\":"               \
    "\"type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3."           \
    "HttpConnectionManager\",\"stat_prefix\":\"" name "\",\"rds\":{\"route_config_name\":\"" name  \
    "\",\"config_source\":" REST_SOURCE "},\"http_filters\":[{\"name\":"                           \
    "\"envoy.filters.http.router\",\"typed_config\":{\"@type\":"                                   \
    "\"type.googleapis.com/envoy.extensions.filters.http.router.v3.Router\"}}]}}]}]}"

#define GREETER_VHOST                                                                              \
    "{\"name\":\"greeter\",\"domains\":[\"greeter.example.com\",\"*.greeter.example.com\"],"       \
    "\"routes\":[{\"match\":{\"prefix\":\"/api\"},\"route\":{\"cluster\":\"greeter\","             \
    "\"timeout\":\"0.250s\",\"prefix_rewrite\":\"/\"}},{\"match\":{\"path\":\"/health\"},"         \
    "\"route\":{\"cluster\":\"greeter\"}},{\"match\":{\"safe_regex\":{\"regex\":"                  \
    "\"^/v[0-9]+/.*\"}},\"route\":{\"cluster\":\"greeter\"}}]}"

#define SOCKET(addr, port)                                                                         \
    "{\"endpoint\":{\"address\":{\"socket_address\":{\"address\":\"" addr                          \
    "\",\"port_value\":" port "}}}"

static void test_small_model_output(void **state)
{
    (void)state;
    int rc;
    xds_gen_out_t *out = run(small_model, &rc);

    assert_int_equal(rc, XDS_OK);
    /* clang-format off */
    assert_type(out, XDS_TYPE_CLUSTERS,
        "[{\"name\":\"api\",\"type\":\"EDS\",\"connect_timeout\":\"5s\","
         "\"eds_cluster_config\":{\"eds_config\":" REST_SOURCE "}},"
        "{\"name\":\"dnssvc\",\"type\":\"STRICT_DNS\",\"connect_timeout\":\"5s\","
         "\"load_assignment\":{\"cluster_name\":\"dnssvc\",\"endpoints\":["
          "{\"lb_endpoints\":[" SOCKET("backend.internal", "80") "}]}]}},"
        "{\"name\":\"greeter\",\"type\":\"STATIC\",\"connect_timeout\":\"1.500s\","
         "\"lb_policy\":\"LEAST_REQUEST\",\"load_assignment\":{\"cluster_name\":\"greeter\","
         "\"endpoints\":["
          "{\"lb_endpoints\":[" SOCKET("10.0.0.6", "8085") ",\"health_status\":\"HEALTHY\"}]},"
          "{\"locality\":{\"region\":\"eu\",\"zone\":\"a\"},"
           "\"lb_endpoints\":[" SOCKET("10.0.0.7", "8086") "}]},"
          "{\"locality\":{\"region\":\"eu\",\"zone\":\"b\"},"
           "\"lb_endpoints\":[" SOCKET("10.0.0.5", "8085") ",\"load_balancing_weight\":3},"
                                SOCKET("10.0.0.8", "8087") "}]}]}},"
        "{\"name\":\"legacy\",\"type\":\"LOGICAL_DNS\",\"connect_timeout\":\"2s\"}]");
    assert_type(out, XDS_TYPE_ENDPOINTS,
                "[{\"cluster_name\":\"api\",\"endpoints\":[{\"locality\":{\"zone\":\"z\"},"
                "\"lb_endpoints\":[" SOCKET("::1", "9000") "}]}]}]");
    assert_type(out, XDS_TYPE_LISTENERS,
                "[" LISTENER("admin", "127.0.0.1", "8081") "," LISTENER("ingress", "0.0.0.0",
                                                                        "8080") "]");
    assert_type(out, XDS_TYPE_ROUTES,
                "[{\"name\":\"admin\",\"virtual_hosts\":[" GREETER_VHOST "]},"
                "{\"name\":\"ingress\",\"virtual_hosts\":["
                "{\"name\":\"api\",\"domains\":[\"api.example.com\"],\"routes\":[{\"match\":"
                "{\"prefix\":\"/\"},\"route\":{\"cluster\":\"api\"}}]}," GREETER_VHOST "]}]");
    assert_type(out, XDS_TYPE_SECRETS,
                "[{\"name\":\"tls\",\"generic_secret\":{\"secret\":{\"inline_string\":\"x\"}}}]");
    /* clang-format on */
    assert_type(out, XDS_TYPE_SCOPED_ROUTES, "[]");

    /* names and origins, in name order */
    assert_string_equal(out->res[XDS_TYPE_CLUSTERS][3].name, "legacy");
    assert_string_equal(out->res[XDS_TYPE_CLUSTERS][3].origin,
                        "resources.clusters[legacy] (source catalog)");
    assert_string_equal(out->res[XDS_TYPE_CLUSTERS][2].origin,
                        "services[greeter] (source catalog)");
    assert_string_equal(out->res[XDS_TYPE_ROUTES][1].origin, "listeners[ingress] (source catalog)");
    xds_gen_out_free(out);
}

/* ---- defaults ------------------------------------------------------------- */

static void test_defaults(void **state)
{
    (void)state;
    int rc;
    xds_gen_out_t *out =
        run("{\"services\": [{\"name\": \"a\", \"domains\": [\"a\"]}, {\"name\": \"b\","
            " \"endpoints\": [{\"address\": \"10.1.1.1\", \"port\": 80}], \"listeners\": []}],"
            " \"listeners\": [{\"name\": \"in\", \"port\": 80}]}",
            &rc);

    assert_int_equal(rc, XDS_OK);
    /* static, 5s, no lb_policy, no locality; no endpoints -> empty list */
    assert_type(out, XDS_TYPE_CLUSTERS,
                "[{\"name\":\"a\",\"type\":\"STATIC\",\"connect_timeout\":\"5s\","
                "\"load_assignment\":{\"cluster_name\":\"a\",\"endpoints\":[]}},"
                "{\"name\":\"b\",\"type\":\"STATIC\",\"connect_timeout\":\"5s\","
                "\"load_assignment\":{\"cluster_name\":\"b\",\"endpoints\":[{\"lb_endpoints\":"
                "[" SOCKET("10.1.1.1", "80") "}]}]}}]");
    assert_type(out, XDS_TYPE_ENDPOINTS, "[]");
    /* address 0.0.0.0 */
    assert_type(out, XDS_TYPE_LISTENERS, "[" LISTENER("in", "0.0.0.0", "80") "]");
    /* on every listener when "listeners" is absent; one prefix "/" route */
    assert_type(out, XDS_TYPE_ROUTES,
                "[{\"name\":\"in\",\"virtual_hosts\":[{\"name\":\"a\",\"domains\":[\"a\"],"
                "\"routes\":[{\"match\":{\"prefix\":\"/\"},\"route\":{\"cluster\":\"a\"}}]}]}]");
    xds_gen_out_free(out);

    /* no listeners at all: no domains needed, no routes; empty model is fine */
    out = run("{\"services\": [{\"name\": \"a\"}]}", &rc);
    assert_int_equal(rc, XDS_OK);
    assert_int_equal(out->n[XDS_TYPE_CLUSTERS], 1);
    assert_int_equal(out->n[XDS_TYPE_ROUTES], 0);
    xds_gen_out_free(out);

    /* an explicit empty route list would be a virtual host that 404s everything */
    out = run("{\"services\": [{\"name\": \"a\", \"routes\": []}]}", &rc);
    assert_int_equal(rc, XDS_ERROR);
    assert_string_equal(out->error, "services[a].routes: must not be empty (leave it out for one "
                                    "route with prefix \"/\") (source catalog)");
    xds_gen_out_free(out);
    out = run("{}", &rc);
    assert_int_equal(rc, XDS_OK);
    for (size_t t = 0; t < XDS_TYPE_COUNT; t++)
        assert_int_equal(out->n[t], 0);
    xds_gen_out_free(out);
}

/* Every problem is reported, each once, not just the first. */
static void test_every_error_once(void **state)
{
    (void)state;
    int rc;
    xds_gen_out_t *out = run("{\"services\": [{\"name\": \"a\", \"discovery\": \"eds\", "
                             "\"endpoints\": [{\"address\": \"10.0.0.1\", \"port\": 0}]},"
                             "{\"name\": \"b\", \"bogus\": 1}, {\"name\": \"c\"}],"
                             "\"resources\": {\"clusters\": [{\"name\": \"c\"}]}}",
                             &rc);
    assert_int_equal(rc, XDS_ERROR);
    assert_int_equal(out->nerrors, 3);
    assert_string_equal(out->errors.data,
                        "services[a].endpoints[0].port: expected an integer in 1..65535, got 0 "
                        "(source catalog)\n"
                        "services[b]: unknown field \"bogus\" (source catalog)\n"
                        "clusters[c]: defined twice: by services[c] (source catalog) and by "
                        "resources.clusters[c] (source catalog)\n");
    assert_string_equal(out->error, "services[a].endpoints[0].port: expected an integer in "
                                    "1..65535, got 0 (source catalog)");
    xds_gen_out_free(out);
}

static void test_options(void **state)
{
    (void)state;
    xds_model_t m;
    xds_gen_out_t *out = xds_gen_out_new();
    const char *text = "{\"services\":[{\"name\":\"e\",\"discovery\":\"eds\"}]}";
    char err[XDS_ERRLEN];
    xj_t *doc = xj_parse(text, strlen(text), 8, err, sizeof(err));
    const xj_t *docs[] = {doc};
    const char *sources[] = {"s"};

    assert_non_null(doc);
    memset(&m, 0, sizeof(m));
    m.opts.xds_cluster = "control-plane";
    m.opts.refresh_delay_ms = 2500;
    xds_model_build(&m, docs, sources, 1);
    assert_int_equal(xds_generate(&m, out), XDS_OK);
    char *got = dump(out, XDS_TYPE_CLUSTERS);
    assert_non_null(
        strstr(got, "\"cluster_names\":[\"control-plane\"],\"refresh_delay\":\"2.500s\""));
    free(got);
    xds_gen_out_free(out);
    xds_model_free(&m);
    xj_free(doc);
}

/* ---- errors --------------------------------------------------------------- */

#define SVC(body) "{\"services\": [{\"name\": \"greeter\", " body "}]}"
#define EP(body)  SVC("\"endpoints\": [{\"address\": \"10.0.0.1\", \"port\": 80}, " body "]")

static void test_service_errors(void **state)
{
    (void)state;
    static const struct {
        const char *model, *error;
    } cases[] = {
        {SVC("\"endpoints\": [{\"address\": \"10.0.0.1\", \"port\": \"abc\"}]"),
         "services[greeter].endpoints[0].port: expected an integer in 1..65535, got \"abc\" "
         "(source catalog)"},
        {EP("{\"address\": \"10.0.0.1\", \"port\": 0}"),
         "services[greeter].endpoints[1].port: expected an integer in 1..65535, got 0 (source "
         "catalog)"},
        {EP("{\"address\": \"10.0.0.1\", \"port\": 65536}"),
         "services[greeter].endpoints[1].port: expected an integer in 1..65535, got 65536 (source "
         "catalog)"},
        {EP("{\"address\": \"10.0.0.1\", \"port\": 80.5}"),
         "services[greeter].endpoints[1].port: expected an integer in 1..65535, got 80.5 (source "
         "catalog)"},
        {EP("{\"address\": \"10.0.0.1\"}"),
         "services[greeter].endpoints[1]: \"port\" is missing (source catalog)"},
        {EP("{\"port\": 80}"),
         "services[greeter].endpoints[1]: \"address\" is missing (source catalog)"},
        {EP("{\"address\": \"\", \"port\": 80}"),
         "services[greeter].endpoints[1].address: expected a non-empty string, got \"\" (source "
         "catalog)"},
        {EP("{\"address\": \"10.0.0.1\", \"prot\": 80}"),
         "services[greeter].endpoints[1]: unknown field \"prot\" (source catalog)"},
        {EP("7"), "services[greeter].endpoints[1]: expected an object, got 7 (source catalog)"},
        {EP("{\"address\": \"backend.local\", \"port\": 80}"),
         "services[greeter].endpoints[1].address: \"backend.local\" is not an IP address; use "
         "\"discovery\": \"dns\" for host names (source catalog)"},
        {SVC("\"discovery\": \"eds\", \"endpoints\": [{\"address\": \"b.local\", \"port\": 1}]"),
         "services[greeter].endpoints[0].address: \"b.local\" is not an IP address; use "
         "\"discovery\": \"dns\" for host names (source catalog)"},
        {SVC("\"discovery\": \"dns\", \"endpoints\": [{\"address\": \"foo bar\", \"port\": 1}]"),
         "services[greeter].endpoints[0].address: expected an IP address or a host name, got "
         "\"foo bar\" (source catalog)"},
        {EP("{\"address\": \"10.0.0.1\", \"port\": 80, \"weight\": 0}"),
         "services[greeter].endpoints[1].weight: expected an integer in 1..4294967295, got 0 "
         "(source catalog)"},
        {EP("{\"address\": \"10.0.0.1\", \"port\": 80, \"weight\": 4294967296}"),
         "services[greeter].endpoints[1].weight: expected an integer in 1..4294967295, got "
         "4294967296 (source catalog)"},
        {EP("{\"address\": \"10.0.0.1\", \"port\": 80, \"health\": \"OK\"}"),
         "services[greeter].endpoints[1].health: expected one of UNKNOWN, HEALTHY, UNHEALTHY, "
         "DRAINING, TIMEOUT, DEGRADED, got \"OK\" (source catalog)"},
        {EP("{\"address\": \"10.0.0.1\", \"port\": 80, \"zone\": 3}"),
         "services[greeter].endpoints[1].zone: expected a non-empty string, got 3 (source "
         "catalog)"},
        {SVC("\"endpoints\": {}"),
         "services[greeter].endpoints: expected an array, got an object (source catalog)"},
        {SVC("\"domain\": [\"x\"]"),
         "services[greeter]: unknown field \"domain\" (source catalog)"},
        {SVC("\"lb_policy\": \"round_robin\""),
         "services[greeter].lb_policy: expected one of ROUND_ROBIN, LEAST_REQUEST, RING_HASH, "
         "RANDOM, MAGLEV, got \"round_robin\" (source catalog)"},
        {SVC("\"discovery\": \"DNS\""),
         "services[greeter].discovery: expected one of static, dns, eds, got \"DNS\" (source "
         "catalog)"},
        {SVC("\"connect_timeout\": \"5 seconds\""),
         "services[greeter].connect_timeout: expected a duration such as \"250ms\" or \"5s\", got "
         "\"5 seconds\" (source catalog)"},
        {SVC("\"connect_timeout\": 5"),
         "services[greeter].connect_timeout: expected a duration such as \"250ms\" or \"5s\", got "
         "5 (source catalog)"},
        {SVC("\"connect_timeout\": \"5\""),
         "services[greeter].connect_timeout: needs a unit (ns, us, ms, s, m, h), e.g. \"250ms\" "
         "or \"5s\", got \"5\" (source catalog)"},
        {SVC("\"connect_timeout\": \"-1s\""),
         "services[greeter].connect_timeout: must not be negative, got \"-1s\" (source catalog)"},
        {SVC("\"domains\": \"a.example.com\""),
         "services[greeter].domains: expected an array of strings, got \"a.example.com\" (source "
         "catalog)"},
        {SVC("\"domains\": []"), "services[greeter].domains: must not be empty (source catalog)"},
        {SVC("\"domains\": [\"a\", \"\"]"),
         "services[greeter].domains[1]: expected a non-empty string, got \"\" (source catalog)"},
        {SVC("\"routes\": {}"),
         "services[greeter].routes: expected an array, got an object (source catalog)"},
        {SVC("\"routes\": [{\"prefix\": \"/\"}, {\"prefix\": \"/a\", \"path\": \"/b\"}]"),
         "services[greeter].routes[1]: only one of \"prefix\", \"path\" or \"regex\" may be given "
         "(source catalog)"},
        {SVC("\"routes\": [{\"timeout\": \"1s\"}]"),
         "services[greeter].routes[0]: one of \"prefix\", \"path\" or \"regex\" is required "
         "(source catalog)"},
        {SVC("\"routes\": [{\"prefix\": \"api\"}]"),
         "services[greeter].routes[0].prefix: must start with \"/\", got \"api\" (source "
         "catalog)"},
        {SVC("\"routes\": [{\"regex\": \"\"}]"),
         "services[greeter].routes[0].regex: expected a non-empty string, got \"\" (source "
         "catalog)"},
        {SVC("\"routes\": [{\"path\": \"/\", \"timeout\": \"1.5.s\"}]"),
         "services[greeter].routes[0].timeout: expected a duration such as \"250ms\" or \"5s\", "
         "got \"1.5.s\" (source catalog)"},
        {SVC("\"routes\": [{\"path\": \"/\", \"retries\": 3}]"),
         "services[greeter].routes[0]: unknown field \"retries\" (source catalog)"},
        {SVC("\"listeners\": \"ingress\""),
         "services[greeter].listeners: expected an array of strings, got \"ingress\" (source "
         "catalog)"},
        /* a wrong type in every field (issue 9) */
        {EP("{\"address\": \"10.0.0.1\", \"port\": 80, \"region\": 3}"),
         "services[greeter].endpoints[1].region: expected a non-empty string, got 3 (source "
         "catalog)"},
        {EP("{\"address\": 10, \"port\": 80}"),
         "services[greeter].endpoints[1].address: expected a non-empty string, got 10 (source "
         "catalog)"},
        {SVC("\"routes\": [{\"path\": 5}]"),
         "services[greeter].routes[0].path: expected a non-empty string, got 5 (source catalog)"},
        {SVC("\"routes\": [{\"prefix\": \"/\", \"prefix_rewrite\": false}]"),
         "services[greeter].routes[0].prefix_rewrite: expected a non-empty string, got false "
         "(source catalog)"},
        {SVC("\"routes\": [\"/\"]"),
         "services[greeter].routes[0]: expected an object, got \"/\" (source catalog)"},
        {SVC("\"domains\": [\"a\", 5]"),
         "services[greeter].domains[1]: expected a non-empty string, got 5 (source catalog)"},
        {SVC("\"listeners\": [null]"),
         "services[greeter].listeners[0]: expected a non-empty string, got null (source "
         "catalog)"},
        {SVC("\"lb_policy\": 1"),
         "services[greeter].lb_policy: expected one of ROUND_ROBIN, LEAST_REQUEST, RING_HASH, "
         "RANDOM, MAGLEV, got 1 (source catalog)"},
        {SVC("\"discovery\": [\"eds\"]"),
         "services[greeter].discovery: expected one of static, dns, eds, got an array (source "
         "catalog)"},
        {SVC("\"endpoints\": [{\"address\": \"10.0.0.1\", \"port\": 80, \"health\": true}]"),
         "services[greeter].endpoints[0].health: expected one of UNKNOWN, HEALTHY, UNHEALTHY, "
         "DRAINING, TIMEOUT, DEGRADED, got true (source catalog)"},
    };
    for (size_t i = 0; i < xds_nelems(cases); i++)
        assert_model_error(cases[i].model, cases[i].error);
}

#define LIS "\"listeners\": [{\"name\": \"ingress\", \"port\": 8080}]"

static void test_listener_and_route_errors(void **state)
{
    (void)state;
    static const struct {
        const char *model, *error;
    } cases[] = {
        {"{\"listeners\": [{\"name\": \"ingress\"}]}",
         "listeners[ingress]: \"port\" is missing (source catalog)"},
        {"{\"listeners\": [{\"name\": \"ingress\", \"port\": 8080, \"address\": \"localhost\"}]}",
         "listeners[ingress].address: expected an IP address, got \"localhost\" (source catalog)"},
        {"{\"listeners\": [{\"name\": \"ingress\", \"port\": 8080, \"protocol\": \"http\"}]}",
         "listeners[ingress]: unknown field \"protocol\" (source catalog)"},
        {"{\"listeners\": [{\"name\": \"ingress\", \"port\": \"8080\"}]}",
         "listeners[ingress].port: expected an integer in 1..65535, got \"8080\" (source "
         "catalog)"},
        {"{\"listeners\": [{\"name\": \"ingress\", \"port\": 70000}]}",
         "listeners[ingress].port: expected an integer in 1..65535, got 70000 (source catalog)"},
        {"{\"listeners\": [{\"name\": \"ingress\", \"port\": 80, \"address\": 10}]}",
         "listeners[ingress].address: expected a non-empty string, got 10 (source catalog)"},
        {"{\"listeners\": [{\"name\": \"a\", \"port\": 80}, {\"name\": \"b\", \"port\": 80, "
         "\"address\": \"0.0.0.0\"}]}",
         "listeners[b]: address 0.0.0.0:80 is already used by listeners[a] (source catalog) "
         "(source catalog)"},
        {"{\"services\": [{\"name\": \"greeter\"}], " LIS "}",
         "services[greeter]: \"domains\" is required when the service is on a listener (source "
         "catalog)"},
        {"{\"services\": [{\"name\": \"greeter\", \"domains\": [\"g\"], \"listeners\": "
         "[\"ingress\", \"ingres\"]}], " LIS "}",
         "services[greeter].listeners[1]: no listener named \"ingres\" (source catalog)"},
        {"{\"services\": [{\"name\": \"greeter\", \"domains\": [\"g\"], \"listeners\": "
         "[\"ingress\", \"ingress\"]}], " LIS "}",
         "services[greeter].listeners[1]: listener \"ingress\" is named twice (source catalog)"},
        {"{\"services\": [{\"name\": \"a\", \"domains\": [\"x.example.com\"]},"
         " {\"name\": \"b\", \"domains\": [\"y\", \"X.Example.com\"]}], " LIS "}",
         "services[b].domains[1]: domain \"X.Example.com\" is also used by services[a] (source "
         "catalog) on listener \"ingress\" (source catalog)"},
        {"{\"services\": [{\"name\": \"a\", \"domains\": [\"x\", \"y\", \"x\"]}], " LIS "}",
         "services[a].domains[2]: domain \"x\" is listed twice (source catalog)"},
        {"{\"resources\": {\"clusters\": [{\"name\": \"legacy\", \"@type\": "
         "\"type.googleapis.com/envoy.config.listener.v3.Listener\"}]}}",
         "resources.clusters[legacy].\"@type\": expected "
         "\"type.googleapis.com/envoy.config.cluster.v3.Cluster\", got "
         "\"type.googleapis.com/envoy.config.listener.v3.Listener\" (source catalog)"},
    };
    for (size_t i = 0; i < xds_nelems(cases); i++)
        assert_model_error(cases[i].model, cases[i].error);

    /* the same domain on different listeners is fine */
    int rc;
    xds_gen_out_t *out =
        run("{\"services\": [{\"name\": \"a\", \"domains\": [\"x\"], \"listeners\": [\"l1\"]},"
            " {\"name\": \"b\", \"domains\": [\"x\"], \"listeners\": [\"l2\"]}],"
            " \"listeners\": [{\"name\": \"l1\", \"port\": 1}, {\"name\": \"l2\", \"port\": 2}]}",
            &rc);
    assert_int_equal(rc, XDS_OK);
    assert_int_equal(out->n[XDS_TYPE_ROUTES], 2);
    xds_gen_out_free(out);
}

static void test_duplicates_across_generators(void **state)
{
    (void)state;
    const char *texts[] = {
        "{\"services\": [{\"name\": \"legacy\"}, {\"name\": \"e\", \"discovery\": \"eds\"}]}",
        "{\"resources\": {\"clusters\": [{\"name\": \"legacy\"}]}}",
        "{\"resources\": {\"endpoints\": [{\"cluster_name\": \"e\"}]}}",
        ("{\"listeners\": [{\"name\": \"in\", \"port\": 1}],"
         " \"resources\": {\"routes\": [{\"name\": \"in\"}]}}"),
    };
    const char *sources[] = {"a", "b", "c", "d"};
    int rc;
    xds_gen_out_t *out;

    out = run_sources(texts, sources, 2, &rc);
    assert_int_equal(rc, XDS_ERROR);
    assert_string_equal(out->error, "clusters[legacy]: defined twice: by services[legacy] (source "
                                    "a) and by resources.clusters[legacy] (source b)");
    xds_gen_out_free(out);

    const char *t2[] = {texts[0], texts[2]}, *s2[] = {"a", "c"};
    out = run_sources(t2, s2, 2, &rc);
    assert_int_equal(rc, XDS_ERROR);
    assert_string_equal(out->error, "endpoints[e]: defined twice: by services[e] (source a) and by "
                                    "resources.endpoints[e] (source c)");
    xds_gen_out_free(out);

    out = run_sources(&texts[3], &sources[3], 1, &rc);
    assert_int_equal(rc, XDS_ERROR);
    assert_string_equal(out->error, "routes[in]: defined twice: by listeners[in] (source d) and by "
                                    "resources.routes[in] (source d)");
    xds_gen_out_free(out);
}

static void test_collector(void **state)
{
    (void)state;
    xds_gen_out_t *out = xds_gen_out_new();
    const char *names[] = {"m", "c", "x", "a", "b", "k", "z", "d", "e", "y", "f", "c"};

    for (size_t i = 0; i < xds_nelems(names); i++) {
        char origin[32];
        snprintf(origin, sizeof(origin), "item %zu", i);
        assert_int_equal(xds_gen_add(out, XDS_TYPE_SECRETS, names[i], xj_object(), NULL, origin),
                         XDS_OK);
    }
    assert_int_equal(xds_gen_add(out, XDS_TYPE_COUNT, "bad", xj_object(), NULL, "test"), XDS_ERROR);
    assert_string_equal(out->error, "test: generator added a resource without a type or body");
    free(out->error);
    out->error = NULL;
    assert_int_equal(xds_gen_error(out, "first %d", 1), XDS_ERROR);
    assert_int_equal(xds_gen_error(out, "second"), XDS_ERROR);
    assert_string_equal(out->error, "first 1");
    xds_gen_out_free(out);
}

/* ---- determinism and durations --------------------------------------------- */

static char *dump_all(const char *model)
{
    int rc;
    xds_gen_out_t *out = run(model, &rc);
    xds_buf_t b = {0};

    assert_int_equal(rc, XDS_OK);
    for (size_t t = 0; t < XDS_TYPE_COUNT; t++) {
        char *s = dump(out, (xds_type_id_t)t);
        xds_buf_printf(&b, "%s=%s\n", xds_types[t].path, s);
        free(s);
    }
    xds_gen_out_free(out);
    return xds_buf_detach(&b, NULL);
}

static void test_determinism(void **state)
{
    (void)state;
    char *a = dump_all(small_model), *b = dump_all(small_model);
    assert_string_equal(a, b);
    free(a);
    free(b);
}

static void test_durations(void **state)
{
    (void)state;
    static const struct {
        const char *in, *out;
    } good[] = {
        {"250ms", "0.250s"},
        {"5s", "5s"},
        {"1m", "60s"},
        {"1h", "3600s"},
        {"1.5s", "1.500s"},
        {"1m30s", "90s"},
        {"0", "0s"},
        {"0s", "0s"},
        {"100us", "0.000100s"},
        {"1ns", "0.000000001s"},
        {"0.5ms", "0.000500s"},
        {"1.5h", "5400s"},
        {"0.250s", "0.250s"},
        {".5s", "0.500s"},
        {"1.000000001s", "1.000000001s"},
        {"2h45m", "9900s"},
        {"0.1us", "0.000000100s"},
        {"\xc2\xb5s", NULL},
    };
    static const char *const bad[] = {"",
                                      "-1s",
                                      "5",
                                      "s",
                                      "1.s",
                                      ".s",
                                      "1x",
                                      "1e3s",
                                      " 5s",
                                      "5s ",
                                      "+5s",
                                      "0.5ns",
                                      "1.0000000001s",
                                      "99999999999999999999s",
                                      "3000000h",
                                      "5S"};
    char buf[GEN_DURATION_LEN];
    const char *why;
    int64_t ns;

    for (size_t i = 0; i < xds_nelems(good); i++) {
        if (good[i].out == NULL) {
            assert_int_equal(gen_parse_duration(good[i].in, &ns, &why), XDS_ERROR);
            continue;
        }
        if (gen_parse_duration(good[i].in, &ns, &why) != XDS_OK)
            fail_msg("duration \"%s\" refused", good[i].in);
        gen_format_duration(ns, buf);
        assert_string_equal(buf, good[i].out);
    }
    for (size_t i = 0; i < xds_nelems(bad); i++)
        if (gen_parse_duration(bad[i], &ns, &why) == XDS_OK)
            fail_msg("duration \"%s\" accepted", bad[i]);
    assert_int_equal(gen_parse_duration("2\xc2\xb5s", &ns, &why), XDS_OK);
    assert_int_equal(ns, 2000);
}

static void test_hostnames(void **state)
{
    (void)state;
    assert_true(gen_is_hostname("backend.internal"));
    assert_true(gen_is_hostname("a-b.c_d.example.com."));
    assert_false(gen_is_hostname("-a.example.com"));
    assert_false(gen_is_hostname("a-.example.com"));
    assert_false(gen_is_hostname("a..b"));
    assert_false(gen_is_hostname("foo bar"));
    assert_true(gen_is_ip("::ffff:10.0.0.1"));
    assert_false(gen_is_ip("10.0.0.256"));
}

/* ---- scale ---------------------------------------------------------------- */

static void test_timing_10000_services(void **state)
{
    (void)state;
    enum { N = 10000 };
    xj_t *doc = xj_object(), *svcs = xj_object_put(doc, "services", xj_array());
    xj_t *lis = xj_object_put(doc, "listeners", xj_array());
    const xj_t *docs[] = {doc};
    const char *sources[] = {"big"};
    struct timespec t0, t1, t2;
    xds_model_t m;
    char buf[64];

    for (int i = 0; i < 2; i++) {
        xj_t *l = xj_array_push(lis, xj_object());
        snprintf(buf, sizeof(buf), "listener-%d", i);
        xj_object_put(l, "name", xj_string(buf));
        xj_object_put(l, "port", xj_int(8080 + i));
    }
    for (int i = 0; i < N; i++) {
        xj_t *s = xj_array_push(svcs, xj_object()), *eps, *ep;
        snprintf(buf, sizeof(buf), "service-%05d", (i * 7919) % N); /* not in name order */
        xj_object_put(s, "name", xj_string(buf));
        strcat(buf, ".example.com");
        xj_array_push(xj_object_put(s, "domains", xj_array()), xj_string(buf));
        if (i % 2)
            xj_object_put(s, "discovery", xj_string("eds"));
        eps = xj_object_put(s, "endpoints", xj_array());
        for (int e = 0; e < 3; e++) {
            ep = xj_array_push(eps, xj_object());
            snprintf(buf, sizeof(buf), "10.%d.%d.%d", i / 256 % 256, i % 256, e);
            xj_object_put(ep, "address", xj_string(buf));
            xj_object_put(ep, "port", xj_int(8000 + e));
            xj_object_put(ep, "zone", xj_string(e ? "b" : "a"));
        }
    }
    memset(&m, 0, sizeof(m));
    m.opts.xds_cluster = "xds_cluster";
    m.opts.refresh_delay_ms = 1000;
    xds_gen_out_t *out = xds_gen_out_new();
    clock_gettime(CLOCK_MONOTONIC, &t0);
    xds_model_build(&m, docs, sources, 1);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    assert_int_equal(xds_generate(&m, out), XDS_OK);
    clock_gettime(CLOCK_MONOTONIC, &t2);
    assert_int_equal(out->n[XDS_TYPE_CLUSTERS], N);
    assert_int_equal(out->n[XDS_TYPE_ENDPOINTS], N / 2);
    assert_int_equal(out->n[XDS_TYPE_ROUTES], 2);
    assert_string_equal(out->res[XDS_TYPE_CLUSTERS][0].name, "service-00000");
    print_message("10,000 services, 2 listeners: merge %.1f ms, generate %.1f ms\n",
                  (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6,
                  (double)(t2.tv_sec - t1.tv_sec) * 1e3 + (double)(t2.tv_nsec - t1.tv_nsec) / 1e6);
    xds_gen_out_free(out);
    xds_model_free(&m);
    xj_free(doc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_small_model_output),
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_every_error_once),
        cmocka_unit_test(test_options),
        cmocka_unit_test(test_service_errors),
        cmocka_unit_test(test_listener_and_route_errors),
        cmocka_unit_test(test_duplicates_across_generators),
        cmocka_unit_test(test_collector),
        cmocka_unit_test(test_determinism),
        cmocka_unit_test(test_durations),
        cmocka_unit_test(test_hostnames),
        cmocka_unit_test(test_timing_10000_services),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
