/*
 * test_schema.c -- core/schema*.c: loading a FileDescriptorSet (Envoy's v3
 * API as tests/schema/build.sh builds it into tests/.deps/envoy.pb) and
 * validating resources against it.  For every rule, a resource that breaks
 * it and the exact problem line; the example model (conf/examples/
 * services.json) and a 1,000-service model pass with zero problems; the
 * reference checks; and the verdicts of a few dozen resources compared with
 * the strict Python checker (tests/schema/envoy_schema.py, python3-protobuf),
 * run once through popen.
 *
 * The tests that need the schema are skipped, with a message, when
 * tests/.deps/envoy.pb is missing (run tests/schema/build.sh).
 */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "genout.h"
#include "json.h"
#include "model.h"
#include "schema.h"

#define SCHEMA_PATH "tests/.deps/envoy.pb"
#define ORIGIN      "services[x] (source catalog)"

static xds_schema_t *schema;

static int load_schema(void **state)
{
    char err[XDS_ERRLEN];
    (void)state;
    if (access(SCHEMA_PATH, R_OK) != 0) {
        print_message("%s missing: schema tests skipped (run tests/schema/build.sh)\n",
                      SCHEMA_PATH);
        return 0;
    }
    schema = xds_schema_load(SCHEMA_PATH, err, sizeof(err));
    if (schema == NULL) {
        print_message("%s\n", err);
        return -1;
    }
    return 0;
}

static int free_schema(void **state)
{
    (void)state;
    xds_schema_free(schema);
    schema = NULL;
    return 0;
}

#define NEED_SCHEMA()                                                                              \
    do {                                                                                           \
        if (schema == NULL)                                                                        \
            skip();                                                                                \
    } while (0)

static xj_t *parse(const char *text)
{
    char err[XDS_ERRLEN];
    xj_t *v = xj_parse(text, strlen(text), 100, err, sizeof(err));
    if (v == NULL)
        fail_msg("parse of %s: %s", text, err);
    return v;
}

/* ---- helpers ------------------------------------------------------------------- */

typedef struct {
    xds_type_id_t type;
    const char *name;
    const char *json;
} res_t;

/* Validate the resources (in the order given) and return the problem
 * lines (malloc'd, "" when none). */
static char *validate(const res_t *res, size_t n, size_t max, size_t *count)
{
    xds_gen_out_t *out = xds_gen_out_new();
    xds_buf_t errors = {0};
    for (size_t i = 0; i < n; i++)
        xds_gen_add(out, res[i].type, res[i].name, parse(res[i].json), NULL, ORIGIN);
    size_t c = xds_schema_validate(schema, out, &errors, max);
    if (count)
        *count = c;
    xds_gen_out_free(out);
    if (errors.data == NULL)
        return xds_strdup("");
    assert_true((c == 0) == (errors.len == 0));
    return xds_buf_detach(&errors, NULL);
}

static void expect(const res_t *res, size_t n, const char *want)
{
    char *got = validate(res, n, 100, NULL);
    if (strcmp(got, want) != 0)
        fail_msg("\ngot:  %s\nwant: %s", got, want);
    free(got);
}

/* One cluster named x. */
static void cluster(const char *json, const char *want)
{
    res_t r = {XDS_TYPE_CLUSTERS, "x", json};
    expect(&r, 1, want);
}

/* One value checked as a message (xds_schema_check, label "v"). */
static void message(const char *type, const char *json, const char *want)
{
    xds_buf_t errors = {0};
    xj_t *v = parse(json);
    size_t n = xds_schema_check(schema, type, v, "v", &errors, 100);
    xj_free(v);
    if (strcmp(errors.data ? errors.data : "", want) != 0)
        fail_msg("\ngot:  %s\nwant: %s", errors.data ? errors.data : "", want);
    assert_true((n == 0) == (want[0] == '\0'));
    xds_buf_free(&errors);
}

#define L(where, what) where ": " what " (" ORIGIN ")\n"

/* ---- loading -------------------------------------------------------------------- */

static void test_load_errors(void **state)
{
    char err[XDS_ERRLEN], path[] = "/tmp/xdsd-test-schema-XXXXXX";
    (void)state;

    assert_null(xds_schema_load("/nonexistent/envoy.pb", err, sizeof(err)));
    assert_string_equal(err, "/nonexistent/envoy.pb: No such file or directory");

    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "\x0a\x05\x0a\x03", 4), 4); /* file 1: 5 bytes promised, 2 given */
    close(fd);
    assert_null(xds_schema_load(path, err, sizeof(err)));
    char want[256];
    snprintf(want, sizeof(want), "%s: not a valid FileDescriptorSet (truncated or corrupt)", path);
    assert_string_equal(err, want);

    fd = open(path, O_WRONLY | O_TRUNC);
    assert_true(fd >= 0);
    close(fd);
    assert_null(xds_schema_load(path, err, sizeof(err)));
    snprintf(want, sizeof(want), "%s: no message types (not a FileDescriptorSet?)", path);
    assert_string_equal(err, want);

    /* A field whose type is not in the set (built without --include_imports):
     * file { message_type { name "M" field { name "f" number 1 type
     * TYPE_MESSAGE type_name ".x.Missing" } } } */
    static const unsigned char missing[] = {
        0x0a, 0x1a,                              /* file */
        0x22, 0x18,                              /* message_type */
        0x0a, 0x01, 'M',                         /* name */
        0x12, 0x13,                              /* field */
        0x0a, 0x01, 'f', 0x18, 0x01, 0x28, 0x0b, /* name, number, type */
        0x32, 0x0a, '.', 'x',  '.',  'M',  'i',  's', 's', 'i', 'n', 'g'};
    fd = open(path, O_WRONLY | O_TRUNC);
    assert_int_equal(write(fd, missing, sizeof(missing)), (int)sizeof(missing));
    close(fd);
    assert_null(xds_schema_load(path, err, sizeof(err)));
    snprintf(want, sizeof(want),
             "%s: M.f: type x.Missing is not in the set (built without --include_imports?)", path);
    assert_string_equal(err, want);
    unlink(path);
}

static void test_load(void **state)
{
    (void)state;
    NEED_SCHEMA();
    assert_true(xds_schema_message_count(schema) > 400);
    message("envoy.config.cluster.v3.Nope", "{}",
            "v: the schema has no message type envoy.config.cluster.v3.Nope\n");
    /* a type URL works as well as a name */
    message("type.googleapis.com/envoy.config.cluster.v3.Cluster", "{\"name\": \"a\"}", "");
}

/* ---- proto3 JSON ------------------------------------------------------------------ */

static void test_fields_and_types(void **state)
{
    (void)state;
    NEED_SCHEMA();
    cluster("{\"name\": \"x\", \"connect_timeout\": \"1s\"}", "");
    /* proto names and json names, both accepted; not both */
    cluster("{\"name\": \"x\", \"connectTimeout\": \"0.25s\", \"lbPolicy\": \"RING_HASH\"}", "");
    cluster("{\"name\": \"x\", \"connect_timeout\": \"1s\", \"connectTimeout\": \"2s\"}",
            L("clusters[x]", "field connect_timeout given twice (as connect_timeout and "
                             "connectTimeout)"));
    cluster("{\"name\": \"x\", \"foo\": 1}",
            L("clusters[x]", "unknown field \"foo\" in envoy.config.cluster.v3.Cluster"));
    cluster("{\"name\": 5}", L("clusters[x].name", "expected a string, got 5"));
    cluster("{\"name\": \"x\", \"respect_dns_ttl\": \"yes\"}",
            L("clusters[x].respect_dns_ttl", "expected true or false, got \"yes\""));
    /* integers: numbers without fraction or decimal strings; ranges */
    cluster("{\"name\": \"x\", \"per_connection_buffer_limit_bytes\": \"1024\"}", "");
    cluster("{\"name\": \"x\", \"per_connection_buffer_limit_bytes\": 1e3}", "");
    cluster("{\"name\": \"x\", \"per_connection_buffer_limit_bytes\": 1.5}",
            L("clusters[x].per_connection_buffer_limit_bytes",
              "expected an integer (uint32), got 1.5"));
    cluster("{\"name\": \"x\", \"per_connection_buffer_limit_bytes\": \"12x\"}",
            L("clusters[x].per_connection_buffer_limit_bytes",
              "expected an integer (uint32), got \"12x\""));
    cluster("{\"name\": \"x\", \"per_connection_buffer_limit_bytes\": 5000000000}",
            L("clusters[x].per_connection_buffer_limit_bytes",
              "value 5000000000 out of range for uint32"));
    cluster("{\"name\": \"x\", \"per_connection_buffer_limit_bytes\": -1}",
            L("clusters[x].per_connection_buffer_limit_bytes", "value -1 out of range for uint32"));
    /* null is the default: absent */
    cluster("{\"name\": \"x\", \"per_connection_buffer_limit_bytes\": null}", "");
    /* enums: names, or numbers */
    cluster("{\"name\": \"x\", \"lb_policy\": \"FOO\"}",
            L("clusters[x].lb_policy",
              "unknown value \"FOO\" of enum envoy.config.cluster.v3.Cluster.LbPolicy"));
    cluster("{\"name\": \"x\", \"lb_policy\": 1}", "");
    cluster("{\"name\": \"x\", \"lb_policy\": true}",
            L("clusters[x].lb_policy", "expected a value name of enum "
                                       "envoy.config.cluster.v3.Cluster.LbPolicy, got true"));
    /* repeated, maps, objects */
    cluster("{\"name\": \"x\", \"load_assignment\": {\"cluster_name\": \"x\", \"endpoints\": {}}}",
            L("clusters[x].load_assignment.endpoints", "expected an array, got an object"));
    cluster("{\"name\": \"x\", \"load_assignment\": {\"cluster_name\": \"x\", \"endpoints\": "
            "[{\"lb_endpoints\": [null]}]}}",
            L("clusters[x].load_assignment.endpoints[0].lb_endpoints[0]",
              "null is not allowed in a repeated field"));
    cluster("{\"name\": \"x\", \"load_assignment\": \"x\"}",
            L("clusters[x].load_assignment",
              "expected an object (envoy.config.endpoint.v3.ClusterLoadAssignment), got \"x\""));
    cluster("{\"name\": \"x\", \"metadata\": {\"filter_metadata\": []}}",
            L("clusters[x].metadata.filter_metadata", "expected an object (map), got an array"));
    /* oneofs */
    cluster("{\"name\": \"x\", \"type\": \"STATIC\", \"cluster_type\": {\"name\": \"c\"}}",
            L("clusters[x]", "\"type\" and \"cluster_type\" are both set, but only one member of "
                             "oneof cluster_discovery_type may be"));
    cluster("{\"name\": \"x\", \"type\": null, \"cluster_type\": {\"name\": \"c\", "
            "\"typed_config\": {\"@type\": "
            "\"type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions\", "
            "\"explicit_http_config\": {\"http_protocol_options\": {}}}}}",
            "");
    /* bytes are base64 (standard or URL-safe alphabet) */
    res_t secret = {XDS_TYPE_SECRETS, "s",
                    "{\"name\": \"s\", \"generic_secret\": {\"secret\": {\"inline_bytes\": "
                    "\"aGVsbG8=\"}}}"};
    expect(&secret, 1, "");
    secret.json =
        "{\"name\": \"s\", \"generic_secret\": {\"secret\": {\"inline_bytes\": \"a!b\"}}}";
    expect(&secret, 1,
           L("secrets[s].generic_secret.secret.inline_bytes", "invalid base64 \"a!b\""));
}

static void test_well_known_types(void **state)
{
    (void)state;
    NEED_SCHEMA();
    /* Duration: the example line */
    cluster("{\"name\": \"x\", \"connect_timeout\": \"abc\"}",
            "clusters[x].connect_timeout: invalid duration \"abc\" (services[x] (source "
            "catalog))\n");
    cluster("{\"name\": \"x\", \"connect_timeout\": \"1.5\"}",
            L("clusters[x].connect_timeout", "invalid duration \"1.5\""));
    cluster("{\"name\": \"x\", \"connect_timeout\": \"1.0000000001s\"}",
            L("clusters[x].connect_timeout", "invalid duration \"1.0000000001s\""));
    cluster("{\"name\": \"x\", \"connect_timeout\": 5}",
            L("clusters[x].connect_timeout", "expected a duration string like \"1.5s\", got 5"));
    cluster("{\"name\": \"x\", \"connect_timeout\": \"315576000001s\"}",
            L("clusters[x].connect_timeout",
              "duration \"315576000001s\" out of range (at most 315576000000s either way)"));
    cluster("{\"name\": \"x\", \"connect_timeout\": \"0.000000001s\"}", "");
    message("google.protobuf.Duration", "\"-315576000000.999999999s\"", "");
    message("google.protobuf.Duration", "\"-.5s\"", "v: invalid duration \"-.5s\"\n");
    /* Timestamp */
    message("google.protobuf.Timestamp", "\"1972-01-01T10:00:20.021Z\"", "");
    message("google.protobuf.Timestamp", "\"2024-02-29T23:59:59+01:00\"", "");
    message("google.protobuf.Timestamp", "\"2023-02-29T00:00:00Z\"",
            "v: invalid timestamp \"2023-02-29T00:00:00Z\" (RFC 3339 expected)\n");
    message("google.protobuf.Timestamp", "\"2023-01-01 00:00:00Z\"",
            "v: invalid timestamp \"2023-01-01 00:00:00Z\" (RFC 3339 expected)\n");
    /* wrappers: the bare value */
    cluster("{\"name\": \"x\", \"per_connection_buffer_limit_bytes\": {\"value\": 5}}",
            L("clusters[x].per_connection_buffer_limit_bytes",
              "expected an integer (uint32), got an object"));
    message("google.protobuf.BoolValue", "true", "");
    message("google.protobuf.StringValue", "1", "v: expected a string, got 1\n");
    message("google.protobuf.DoubleValue", "\"NaN\"", "");
    message("google.protobuf.FloatValue", "1e39", "v: value 1e39 out of range for float\n");
    /* Struct / Value / ListValue / Empty */
    cluster("{\"name\": \"x\", \"metadata\": {\"filter_metadata\": {\"envoy.lb\": "
            "{\"k\": [1, \"x\", null, {\"y\": true}]}}}}",
            "");
    cluster("{\"name\": \"x\", \"metadata\": {\"filter_metadata\": {\"envoy.lb\": 1}}}",
            L("clusters[x].metadata.filter_metadata[\"envoy.lb\"]",
              "expected an object (google.protobuf.Struct), got 1"));
    message("google.protobuf.Value", "null", "");
    message("google.protobuf.ListValue", "{}",
            "v: expected an array (google.protobuf.ListValue), got an object\n");
    message("google.protobuf.Empty", "{}", "");
    message("google.protobuf.Empty", "{\"a\": 1}",
            "v: unknown field \"a\" in google.protobuf.Empty\n");
}

static void test_any(void **state)
{
    (void)state;
    NEED_SCHEMA();
    static const char hpo[] =
        "\"type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions\"";
    char json[1024];

    snprintf(json, sizeof(json),
             "{\"name\": \"x\", \"typed_extension_protocol_options\": {\"h\": {\"@type\": %s, "
             "\"explicit_http_config\": {\"http2_protocol_options\": {}}}}}",
             hpo);
    cluster(json, "");
    snprintf(json, sizeof(json),
             "{\"name\": \"x\", \"typed_extension_protocol_options\": {\"h\": {\"@type\": %s, "
             "\"explicit_http_config\": {\"http2_protocol_options\": {\"bogus\": 1}}}}}",
             hpo);
    cluster(json, L("clusters[x].typed_extension_protocol_options[\"h\"].explicit_http_config."
                    "http2_protocol_options",
                    "unknown field \"bogus\" in envoy.config.core.v3.Http2ProtocolOptions"));
    cluster("{\"name\": \"x\", \"typed_extension_protocol_options\": {\"h\": {\"a\": 1}}}",
            L("clusters[x].typed_extension_protocol_options[\"h\"]", "\"@type\" is missing"));
    cluster("{\"name\": \"x\", \"typed_extension_protocol_options\": {\"h\": {\"@type\": 5}}}",
            L("clusters[x].typed_extension_protocol_options[\"h\"]",
              "\"@type\" must be a string, got 5"));
    cluster("{\"name\": \"x\", \"typed_extension_protocol_options\": {\"h\": "
            "{\"@type\": \"type.googleapis.com/envoy.Nope\"}}}",
            L("clusters[x].typed_extension_protocol_options[\"h\"]",
              "\"@type\" \"type.googleapis.com/envoy.Nope\" names no known message type"));
    /* an empty Any is allowed by the parser */
    cluster("{\"name\": \"x\", \"typed_extension_protocol_options\": {\"h\": {}}}", "");
    /* a well-known type in an Any: {"@type", "value"} */
    res_t ext = {XDS_TYPE_EXTENSION_CONFIGS, "e",
                 "{\"name\": \"e\", \"typed_config\": {\"@type\": "
                 "\"type.googleapis.com/google.protobuf.Duration\", \"value\": \"1s\"}}"};
    expect(&ext, 1, "");
    ext.json = "{\"name\": \"e\", \"typed_config\": {\"@type\": "
               "\"type.googleapis.com/google.protobuf.Duration\", \"value\": \"x\"}}";
    expect(&ext, 1, L("extension_configs[e].typed_config.value", "invalid duration \"x\""));
    ext.json = "{\"name\": \"e\", \"typed_config\": {\"@type\": "
               "\"type.googleapis.com/google.protobuf.Duration\"}}";
    expect(&ext, 1,
           L("extension_configs[e].typed_config",
             "\"value\" is missing (an Any holding google.protobuf.Duration)"));
    /* (validate.rules).any.required */
    ext.json = "{\"name\": \"e\"}";
    expect(&ext, 1, L("extension_configs[e].typed_config", "value is required"));
}

/* ---- PGV rules --------------------------------------------------------------------- */

static void test_pgv_rules(void **state)
{
    (void)state;
    NEED_SCHEMA();
    /* message.required, and a (validate.required) oneof */
    cluster("{\"name\": \"x\", \"health_checks\": [{\"timeout\": \"1s\", \"interval\": \"5s\", "
            "\"unhealthy_threshold\": 1, \"healthy_threshold\": 1}]}",
            L("clusters[x].health_checks[0]",
              "one of http_health_check, tcp_health_check, grpc_health_check, "
              "custom_health_check is required (oneof health_checker)"));
    cluster("{\"name\": \"x\", \"health_checks\": [{\"interval\": \"5s\", \"unhealthy_threshold\": "
            "1, \"healthy_threshold\": 1, \"tcp_health_check\": {}}]}",
            L("clusters[x].health_checks[0].timeout", "value is required"));
    /* duration gt */
    cluster("{\"name\": \"x\", \"connect_timeout\": \"0s\"}",
            L("clusters[x].connect_timeout", "duration must be > 0s, got 0s"));
    cluster("{\"name\": \"x\", \"dns_refresh_rate\": \"0.0005s\"}",
            L("clusters[x].dns_refresh_rate", "duration must be > 0.001s, got 0.0005s"));
    /* string min_len, also on an absent field (its default "") */
    res_t cla = {XDS_TYPE_ENDPOINTS, "x", "{\"cluster_name\": \"\"}"};
    expect(&cla, 1,
           L("endpoints[x].cluster_name", "length must be at least 1 characters, got \"\""));
    cla.json = "{}";
    expect(&cla, 1,
           L("endpoints[x].cluster_name", "length must be at least 1 characters, got \"\""));
    /* numeric ranges: uint32, double */
    cluster("{\"name\": \"x\", \"load_assignment\": {\"cluster_name\": \"x\", \"endpoints\": "
            "[{\"lb_endpoints\": [{\"endpoint\": {\"address\": {\"socket_address\": "
            "{\"address\": \"10.0.0.1\", \"port_value\": 70000}}}}]}]}}",
            L("clusters[x].load_assignment.endpoints[0].lb_endpoints[0].endpoint.address."
              "socket_address.port_value",
              "value must be <= 65535, got 70000"));
    cluster("{\"name\": \"x\", \"common_lb_config\": {\"healthy_panic_threshold\": {\"value\": "
            "150}}}",
            L("clusters[x].common_lb_config.healthy_panic_threshold.value",
              "value must be <= 100, got 150"));
    cluster("{\"name\": \"x\", \"common_lb_config\": {\"healthy_panic_threshold\": {\"value\": "
            "\"50\"}}}",
            "");
    cluster("{\"name\": \"x\", \"maglev_lb_config\": {\"table_size\": \"5000012\"}}",
            L("clusters[x].maglev_lb_config.table_size", "value must be <= 5000011, got 5000012"));
    /* enum defined_only */
    cluster("{\"name\": \"x\", \"lb_policy\": 99}",
            L("clusters[x].lb_policy",
              "99 is not a defined value of enum envoy.config.cluster.v3.Cluster.LbPolicy"));
    /* map key rules */
    cluster("{\"name\": \"x\", \"metadata\": {\"filter_metadata\": {\"\": {}}}}",
            L("clusters[x].metadata.filter_metadata[\"\"]",
              "length must be at least 1 characters, got \"\""));
    /* repeated min_items (also absent) and item rules (header values, loose) */
    res_t rc = {XDS_TYPE_ROUTES, "r", "{\"name\": \"r\", \"virtual_hosts\": [{\"name\": \"v\"}]}"};
    expect(&rc, 1, L("routes[r].virtual_hosts[0].domains", "needs at least 1 items, has 0"));
    rc.json = "{\"name\": \"r\", \"virtual_hosts\": [{\"name\": \"v\", \"domains\": [\"a\\nb\"]}]}";
    expect(&rc, 1,
           L("routes[r].virtual_hosts[0].domains[0]",
             "must be a valid HTTP header value, got \"a\\nb\""));
    rc.json = "{\"name\": \"r\", \"virtual_hosts\": [{\"name\": \"v\", \"domains\": [\"*\"], "
              "\"routes\": [{\"match\": {\"prefix\": \"/\"}, \"route\": {\"weighted_clusters\": "
              "{\"clusters\": []}}}]}]}";
    expect(&rc, 1,
           L("routes[r].virtual_hosts[0].routes[0].route.weighted_clusters.clusters",
             "needs at least 1 items, has 0"));
    /* pattern */
    rc.json = "{\"name\": \"r\", \"virtual_hosts\": [{\"name\": \"v\", \"domains\": [\"*\"], "
              "\"routes\": [{\"match\": {\"path_separated_prefix\": \"/a/\"}, \"route\": "
              "{\"cluster\": \"x\"}}]}]}";
    res_t with_cluster[] = {rc, {XDS_TYPE_CLUSTERS, "x", "{\"name\": \"x\"}"}};
    expect(with_cluster, 2,
           L("routes[r].virtual_hosts[0].routes[0].match.path_separated_prefix",
             "must match the pattern \"^[^?#]+[^?#/]$\", got \"/a/\""));
    with_cluster[0].json = "{\"name\": \"r\", \"virtual_hosts\": [{\"name\": \"v\", \"domains\": "
                           "[\"*\"], \"routes\": [{\"match\": {\"path_separated_prefix\": \"/a\"}, "
                           "\"route\": {\"cluster\": \"x\"}}]}]}";
    expect(with_cluster, 2, "");
    /* header names (loose: strict false) */
    message("envoy.config.core.v3.HeaderValue", "{\"key\": \"bad\\rheader\"}",
            "v.key: must be a valid HTTP header name, got \"bad\\rheader\"\n");
    message("envoy.config.core.v3.HeaderValue", "{\"key\": \":path\"}", "");
    /* bool const */
    message("envoy.config.listener.v3.ListenerFilterChainMatchPredicate", "{\"any_match\": false}",
            "v.any_match: must be true\n");
    /* bytes length */
    message("envoy.config.core.v3.HeaderValue", "{\"key\": \"k\", \"raw_value\": \"AAAA\"}", "");
    /* HCM inside a listener: stat_prefix min_len, in an Any */
    res_t l[] = {{XDS_TYPE_LISTENERS, "l",
                  "{\"name\": \"l\", \"address\": {\"socket_address\": {\"address\": \"0.0.0.0\", "
                  "\"port_value\": 80}}, \"filter_chains\": [{\"filters\": [{\"name\": \"hcm\", "
                  "\"typed_config\": {\"@type\": \"type.googleapis.com/envoy.extensions.filters."
                  "network.http_connection_manager.v3.HttpConnectionManager\", \"route_config\": "
                  "{}}}]}]}"}};
    expect(l, 1,
           L("listeners[l].filter_chains[0].filters[0].typed_config.stat_prefix",
             "length must be at least 1 characters, got \"\""));
}

/* ---- references ---------------------------------------------------------------------- */

#define HCM_RDS(route)                                                                             \
    "{\"name\": \"l\", \"address\": {\"socket_address\": {\"address\": \"0.0.0.0\", "              \
    "\"port_value\": 80}}, \"filter_chains\": [{\"filters\": [{\"name\": \"hcm\", "                \
    "\"typed_config\": {\"@type\": \"type.googleapis.com/envoy.extensions.filters.network."        \
    "http_connection_manager.v3.HttpConnectionManager\", \"stat_prefix\": \"l\", \"rds\": "        \
    "{\"route_config_name\": \"" route "\", \"config_source\": {\"ads\": {}}}, "                   \
    "\"http_filters\": [{\"name\": \"router\", \"typed_config\": {\"@type\": "                     \
    "\"type.googleapis.com/envoy.extensions.filters.http.router.v3.Router\"}}]}}]}]}"

#define ROUTE_TO(cluster)                                                                          \
    "{\"name\": \"r\", \"virtual_hosts\": [{\"name\": \"v\", \"domains\": [\"*\"], \"routes\": "   \
    "[{\"match\": {\"prefix\": \"/\"}, \"route\": {\"cluster\": \"" cluster "\"}}, {\"match\": "   \
    "{\"prefix\": \"/w\"}, \"route\": {\"weighted_clusters\": {\"clusters\": [{\"name\": \"c\", "  \
    "\"weight\": 1}, {\"name\": \"" cluster "\", \"weight\": 1}]}}}]}]}"

#define TCP_PROXY(cluster)                                                                         \
    "{\"name\": \"t\", \"address\": {\"socket_address\": {\"address\": \"0.0.0.0\", "              \
    "\"port_value\": 81}}, \"filter_chains\": [{\"filters\": [{\"name\": \"tcp\", "                \
    "\"typed_config\": {\"@type\": \"type.googleapis.com/envoy.extensions.filters.network."        \
    "tcp_proxy.v3.TcpProxy\", \"stat_prefix\": \"t\", \"cluster\": \"" cluster "\"}}]}]}"

static void test_references(void **state)
{
    (void)state;
    NEED_SCHEMA();
    res_t ok[] = {
        {XDS_TYPE_LISTENERS, "l", HCM_RDS("r")},
        {XDS_TYPE_LISTENERS, "t", TCP_PROXY("c")},
        {XDS_TYPE_ROUTES, "r", ROUTE_TO("c")},
        {XDS_TYPE_CLUSTERS, "c",
         "{\"name\": \"c\", \"type\": \"EDS\", \"eds_cluster_config\": "
         "{\"eds_config\": {\"ads\": {}}}}"},
        {XDS_TYPE_ENDPOINTS, "c", "{\"cluster_name\": \"c\"}"},
    };
    expect(ok, xds_nelems(ok), "");

    res_t bad[] = {
        {XDS_TYPE_LISTENERS, "l", HCM_RDS("nope")},
        {XDS_TYPE_LISTENERS, "t", TCP_PROXY("gone")},
        {XDS_TYPE_ROUTES, "r", ROUTE_TO("missing")},
        {XDS_TYPE_CLUSTERS, "c",
         "{\"name\": \"c\", \"type\": \"EDS\", \"eds_cluster_config\": "
         "{\"eds_config\": {\"ads\": {}}}}"},
        {XDS_TYPE_CLUSTERS, "d",
         "{\"name\": \"d\", \"type\": 3, \"eds_cluster_config\": "
         "{\"service_name\": \"svc\", \"eds_config\": {\"ads\": {}}}}"},
        {XDS_TYPE_ENDPOINTS, "d", "{\"cluster_name\": \"d\"}"},
        {XDS_TYPE_ENDPOINTS, "d", "{\"cluster_name\": \"d\"}"},
    };
    expect(bad, xds_nelems(bad),
           L("endpoints[d]", "defined twice (first by " ORIGIN ")")
               L("clusters[c]", "EDS cluster has no ClusterLoadAssignment named \"c\"") L(
                   "clusters[d].eds_cluster_config.service_name",
                   "EDS cluster has no ClusterLoadAssignment named \"svc\"")
                   L("listeners[l].filter_chains[0].filters[0].typed_config.rds.route_config_name",
                     "route configuration \"nope\" does not exist")
                       L("listeners[t].filter_chains[0].filters[0].typed_config.cluster",
                         "cluster \"gone\" does not exist")
                           L("routes[r].virtual_hosts[0].routes[0].route.cluster",
                             "cluster \"missing\" does not exist")
                               L("routes[r].virtual_hosts[0].routes[1].route.weighted_clusters."
                                 "clusters[1].name",
                                 "cluster \"missing\" does not exist"));

    /* at most max problems */
    size_t n;
    char *got = validate(bad, xds_nelems(bad), 2, &n);
    assert_int_equal(n, 2);
    assert_string_equal(got, L("endpoints[d]", "defined twice (first by " ORIGIN ")")
                                 L("clusters[c]", "EDS cluster has no ClusterLoadAssignment "
                                                  "named \"c\""));
    free(got);
}

/* ---- whole builds ------------------------------------------------------------------------ */

static xds_gen_out_t *generate(const char *text, xds_model_t *m, xj_t **doc)
{
    char err[XDS_ERRLEN];
    const char *sources[] = {"catalog"};
    xds_gen_out_t *out = xds_gen_out_new();
    *doc = xj_parse(text, strlen(text), 64, err, sizeof(err));
    if (*doc == NULL)
        fail_msg("%s", err);
    memset(m, 0, sizeof(*m));
    m->opts.xds_cluster = "xds_cluster";
    m->opts.refresh_delay_ms = 1000;
    xds_model_build(m, (const xj_t *const *)doc, sources, 1);
    assert_int_equal(xds_generate(m, out), XDS_OK);
    return out;
}

static void test_example_model(void **state)
{
    char err[XDS_ERRLEN];
    size_t len;
    xds_model_t m;
    xj_t *doc;
    xds_buf_t errors = {0};
    (void)state;
    NEED_SCHEMA();

    char *text = xds_read_file("conf/examples/services.json", &len, err, sizeof(err));
    if (text == NULL)
        fail_msg("%s", err);
    xds_gen_out_t *out = generate(text, &m, &doc);
    assert_true(out->n[XDS_TYPE_CLUSTERS] > 0 && out->n[XDS_TYPE_LISTENERS] > 0);
    assert_int_equal(xds_schema_validate(schema, out, &errors, 100), 0);
    assert_null(errors.data);

    /* a duration the generators pass through, broken after generation */
    xj_arena_t *prev = xj_arena_use(out->arena); /* the tree lives in the build's arena */
    xj_object_put(out->res[XDS_TYPE_CLUSTERS][0].resource, "connect_timeout", xj_string("abc"));
    xj_arena_use(prev);
    assert_int_equal(xds_schema_validate(schema, out, &errors, 100), 1);
    assert_string_equal(errors.data, "clusters[assets].connect_timeout: invalid duration \"abc\" "
                                     "(services[assets] (source catalog))\n");
    xds_buf_free(&errors);
    xds_gen_out_free(out);
    xds_model_free(&m);
    xj_free(doc);
    free(text);
}

static void test_large_model(void **state)
{
    enum { N = 1000 };
    xds_buf_t text = {0}, errors = {0};
    xds_model_t m;
    xj_t *doc;
    (void)state;
    NEED_SCHEMA();

    xds_buf_appends(&text, "{\"listeners\": [{\"name\": \"a\", \"port\": 80}, {\"name\": \"b\", "
                           "\"port\": 81}], \"services\": [");
    for (int i = 0; i < N; i++)
        xds_buf_printf(
            &text,
            "%s{\"name\": \"s%d\", \"domains\": [\"s%d.example.com\"], \"discovery\": "
            "\"%s\", \"connect_timeout\": \"0.%03ds\", \"routes\": [{\"prefix\": "
            "\"/\", \"timeout\": \"2s\"}], \"endpoints\": [{\"address\": \"10.0.%d.%d\", "
            "\"port\": %d, \"zone\": \"z\"}]}",
            i ? "," : "", i, i, i % 2 ? "eds" : "static", i % 1000 + 1, i / 256 % 256, i % 256,
            1000 + i);
    xds_buf_appends(&text, "]}");
    xds_gen_out_t *out = generate(text.data, &m, &doc);
    assert_int_equal(out->n[XDS_TYPE_CLUSTERS], N);
    assert_int_equal(xds_schema_validate(schema, out, &errors, 100), 0);
    assert_null(errors.data);
    xds_gen_out_free(out);
    xds_model_free(&m);
    xj_free(doc);
    xds_buf_free(&text);
}

/* ---- parity with the Python checker ------------------------------------------------------ */

typedef struct {
    const char *message; /* short name, under "envoy.config." */
    const char *json;
    int valid; /* the verdict both must give */
} parity_t;

#define CL  "cluster.v3.Cluster"
#define CLA "endpoint.v3.ClusterLoadAssignment"
#define RC  "route.v3.RouteConfiguration"
#define LIS "listener.v3.Listener"

static const parity_t parity[] = {
    {CL, "{\"name\": \"a\", \"connect_timeout\": \"1s\"}", 1},
    {CL, "{\"name\": \"a\", \"connectTimeout\": \"0.5s\", \"lbPolicy\": \"RING_HASH\"}", 1},
    {CL, "{\"name\": \"a\", \"per_connection_buffer_limit_bytes\": \"1024\"}", 1},
    {CL, "{\"name\": \"a\", \"per_connection_buffer_limit_bytes\": null}", 1},
    {CL, "{\"name\": \"a\", \"lb_policy\": 1}", 1},
    {CL,
     "{\"name\": \"a\", \"metadata\": {\"filter_metadata\": {\"e\": {\"k\": [1, \"x\", null, "
     "{\"y\": true}]}}}}",
     1},
    {CL, "{\"name\": \"a\", \"typed_extension_protocol_options\": {\"h\": {}}}", 1},
    {CL,
     "{\"name\": \"a\", \"common_lb_config\": {\"healthy_panic_threshold\": {\"value\": "
     "\"50\"}}}",
     1},
    {CL,
     "{\"name\": \"a\", \"load_assignment\": {\"cluster_name\": \"a\", \"endpoints\": "
     "[{\"lb_endpoints\": [{\"endpoint\": {\"address\": {\"socket_address\": {\"address\": "
     "\"10.0.0.1\", \"port_value\": 1e3}}}}]}]}}",
     1},
    {CL,
     "{\"name\": \"a\", \"type\": null, \"lb_policy\": \"LEAST_REQUEST\", "
     "\"least_request_lb_config\": {\"choice_count\": 2}}",
     1},
    {CL,
     "{\"name\": \"a\", \"health_checks\": [{\"timeout\": \"1s\", \"interval\": \"5s\", "
     "\"unhealthy_threshold\": 1, \"healthy_threshold\": 1, \"http_health_check\": "
     "{\"path\": \"/h\"}}]}",
     1},
    {CLA,
     "{\"cluster_name\": \"c\", \"endpoints\": [{\"locality\": {\"zone\": \"a\"}, "
     "\"lb_endpoints\": [{\"endpoint\": {\"address\": {\"socket_address\": {\"address\": "
     "\"::1\", \"port_value\": 80}}}, \"health_status\": \"HEALTHY\", "
     "\"load_balancing_weight\": 2}]}]}",
     1},
    {RC,
     "{\"name\": \"r\", \"virtual_hosts\": [{\"name\": \"v\", \"domains\": [\"*\"], "
     "\"routes\": [{\"match\": {\"safe_regex\": {\"regex\": \"^/a\"}}, \"route\": "
     "{\"cluster\": \"c\", \"timeout\": \"0s\"}}]}]}",
     1},
    {LIS,
     "{\"name\": \"l\", \"address\": {\"socket_address\": {\"address\": \"0.0.0.0\", "
     "\"port_value\": 80}}, \"filter_chains\": [{\"filters\": [{\"name\": \"h\", "
     "\"typed_config\": {\"@type\": \"type.googleapis.com/envoy.extensions.filters.network."
     "http_connection_manager.v3.HttpConnectionManager\", \"stat_prefix\": \"l\", \"rds\": "
     "{\"route_config_name\": \"l\", \"config_source\": {\"ads\": {}}}, \"http_filters\": "
     "[{\"name\": \"r\", \"typed_config\": {\"@type\": \"type.googleapis.com/envoy."
     "extensions.filters.http.router.v3.Router\"}}]}}]}]}",
     1},
    {"core.v3.TypedExtensionConfig",
     "{\"name\": \"e\", \"typed_config\": {\"@type\": "
     "\"type.googleapis.com/google.protobuf.Duration\", "
     "\"value\": \"1s\"}}",
     1},
    /* invalid */
    {CL, "{\"name\": \"a\", \"foo\": 1}", 0},
    {CL, "{\"name\": \"a\", \"connect_timeout\": \"abc\"}", 0},
    {CL, "{\"name\": \"a\", \"connect_timeout\": \"1.5\"}", 0},
    {CL, "{\"name\": \"a\", \"connect_timeout\": 5}", 0},
    {CL, "{\"name\": \"a\", \"connect_timeout\": \"0s\"}", 0},
    {CL, "{\"name\": \"a\", \"connect_timeout\": \"315576000001s\"}", 0},
    {CL, "{\"name\": \"a\", \"dns_refresh_rate\": \"0.0005s\"}", 0},
    {CL, "{\"name\": \"a\", \"lb_policy\": \"FOO\"}", 0},
    {CL, "{\"name\": \"a\", \"lb_policy\": 99}", 0},
    {CL, "{\"name\": 5}", 0},
    {CL, "{\"name\": \"a\", \"respect_dns_ttl\": \"yes\"}", 0},
    {CL, "{\"name\": \"a\", \"type\": \"STATIC\", \"cluster_type\": {\"name\": \"x\"}}", 0},
    {CL, "{\"name\": \"a\", \"per_connection_buffer_limit_bytes\": 5000000000}", 0},
    {CL, "{\"name\": \"a\", \"per_connection_buffer_limit_bytes\": 1.5}", 0},
    {CL, "{\"name\": \"a\", \"per_connection_buffer_limit_bytes\": \"12x\"}", 0},
    {CL, "{\"name\": \"a\", \"health_checks\": [{\"timeout\": \"1s\"}]}", 0},
    {CL,
     "{\"name\": \"a\", \"typed_extension_protocol_options\": {\"h\": {\"@type\": "
     "\"type.googleapis.com/envoy.Nope\"}}}",
     0},
    {CL, "{\"name\": \"a\", \"typed_extension_protocol_options\": {\"h\": {\"a\": 1}}}", 0},
    {CL,
     "{\"name\": \"a\", \"common_lb_config\": {\"healthy_panic_threshold\": {\"value\": "
     "150}}}",
     0},
    {CL, "{\"name\": \"a\", \"load_assignment\": {\"cluster_name\": \"a\", \"endpoints\": {}}}", 0},
    {CL,
     "{\"name\": \"a\", \"load_assignment\": {\"cluster_name\": \"a\", \"endpoints\": "
     "[{\"lb_endpoints\": [null]}]}}",
     0},
    {CL,
     "{\"name\": \"a\", \"load_assignment\": {\"cluster_name\": \"a\", \"endpoints\": "
     "[{\"lb_endpoints\": [{\"endpoint\": {\"address\": {\"socket_address\": {\"address\": "
     "\"10.0.0.1\", \"port_value\": 70000}}}}]}]}}",
     0},
    {CL, "{\"name\": \"a\", \"metadata\": {\"filter_metadata\": \"x\"}}", 0},
    {CL, "{\"name\": \"a\", \"metadata\": {\"filter_metadata\": {\"\": {}}}}", 0},
    {CLA, "{\"cluster_name\": \"\"}", 0},
    {CLA, "{}", 0},
    {RC, "{\"name\": \"r\", \"virtual_hosts\": [{\"name\": \"v\"}]}", 0},
    {RC, "{\"name\": \"r\", \"virtual_hosts\": [{\"name\": \"v\", \"domains\": [\"a\\nb\"]}]}", 0},
    {RC,
     "{\"name\": \"r\", \"virtual_hosts\": [{\"name\": \"v\", \"domains\": [\"*\"], "
     "\"routes\": [{\"match\": {\"path_separated_prefix\": \"/a/\"}, \"route\": {\"cluster\": "
     "\"c\"}}]}]}",
     0},
    {LIS,
     "{\"name\": \"l\", \"filter_chains\": [{\"filters\": [{\"name\": \"h\", "
     "\"typed_config\": {\"@type\": \"type.googleapis.com/envoy.extensions.filters.network."
     "http_connection_manager.v3.HttpConnectionManager\", \"route_config\": {}}}]}]}",
     0},
    {"core.v3.TypedExtensionConfig", "{\"name\": \"e\"}", 0},
    {"core.v3.TypedExtensionConfig",
     "{\"name\": \"e\", \"typed_config\": {\"@type\": "
     "\"type.googleapis.com/google.protobuf.Duration\", "
     "\"value\": \"x\"}}",
     0},
};

static const char parity_script[] =
    "import json, sys\n"
    "sys.path.insert(0, 'tests/schema')\n"
    "import envoy_schema\n"
    "s = envoy_schema.load(build=False)\n"
    "for line in open(sys.argv[1]):\n"
    "    case = json.loads(line)\n"
    "    print('ok' if not s.message_errors(case['m'], case['j']) else 'bad')\n";

static void test_python_parity(void **state)
{
    char cases[] = "/tmp/xdsd-test-parity-XXXXXX", cmd[256];
    (void)state;
    NEED_SCHEMA();
    if (access("/usr/bin/python3", X_OK) != 0 ||
        system("/usr/bin/python3 -c 'import google.protobuf' 2>/dev/null") != 0) {
        print_message("python3-protobuf missing: parity test skipped\n");
        skip();
    }

    int fd = mkstemp(cases);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "w");
    for (size_t i = 0; i < xds_nelems(parity); i++) {
        xds_buf_t line = {0};
        char full[128];
        snprintf(full, sizeof(full), "envoy.config.%s", parity[i].message);
        xds_buf_appends(&line, "{\"m\": ");
        xj_write_string(&line, full, strlen(full));
        xds_buf_appends(&line, ", \"j\": ");
        xj_write_string(&line, parity[i].json, strlen(parity[i].json));
        fprintf(f, "%s}\n", line.data);
        xds_buf_free(&line);
    }
    fclose(f);

    snprintf(cmd, sizeof(cmd), "/usr/bin/python3 -c \"$XDS_PARITY_SCRIPT\" %s", cases);
    setenv("XDS_PARITY_SCRIPT", parity_script, 1);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    size_t agree = 0;
    for (size_t i = 0; i < xds_nelems(parity); i++) {
        char verdict[16], full[128];
        xds_buf_t errors = {0};
        if (fgets(verdict, sizeof(verdict), p) == NULL)
            fail_msg("the Python checker stopped after %zu cases", i);
        int py_valid = strcmp(verdict, "ok\n") == 0;
        snprintf(full, sizeof(full), "envoy.config.%s", parity[i].message);
        xj_t *v = parse(parity[i].json);
        int c_valid = xds_schema_check(schema, full, v, "v", &errors, 10) == 0;
        xj_free(v);
        if (c_valid != py_valid || c_valid != parity[i].valid)
            fail_msg("case %zu (%s %s): C says %s, Python says %s, expected %s\n%s", i, full,
                     parity[i].json, c_valid ? "valid" : "invalid", py_valid ? "valid" : "invalid",
                     parity[i].valid ? "valid" : "invalid", errors.data ? errors.data : "");
        xds_buf_free(&errors);
        agree++;
    }
    assert_int_equal(pclose(p), 0);
    unlink(cases);
    print_message("C and Python agree on %zu resources\n", agree);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_load_errors),
        cmocka_unit_test(test_load),
        cmocka_unit_test(test_fields_and_types),
        cmocka_unit_test(test_well_known_types),
        cmocka_unit_test(test_any),
        cmocka_unit_test(test_pgv_rules),
        cmocka_unit_test(test_references),
        cmocka_unit_test(test_example_model),
        cmocka_unit_test(test_large_model),
        cmocka_unit_test(test_python_parity),
    };
    return cmocka_run_group_tests(tests, load_schema, free_schema);
}
