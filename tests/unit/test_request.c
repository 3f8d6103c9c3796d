/*
 * test_request.c -- the DiscoveryRequest parser: what real Envoy sends, the
 * fields xdsd uses, unknown fields ignored, and precise errors.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "request.h"

static int str_is(xds_str_t s, const char *lit)
{
    return s.n == strlen(lit) && memcmp(s.p, lit, s.n) == 0;
}

static int parse(xds_request_t *r, const char *body, char *err)
{
    memset(r, 0, sizeof(*r));
    return xds_request_parse(r, body, strlen(body), err, XDS_ERRLEN);
}

static void test_envoy_first_poll(void **state)
{
    (void)state;
    /* As Envoy sends it: whole node with extensions, no version_info. */
    const char *body =
        "{\"node\":{\"id\":\"edge-1\",\"cluster\":\"edge\",\"locality\":{\"zone\":\"a\"},"
        "\"user_agent_name\":\"envoy\",\"user_agent_build_version\":{\"version\":"
        "{\"major_number\":1,\"minor_number\":28}},\"extensions\":[{\"name\":\"envoy.filters.http."
        "router\",\"category\":\"envoy.filters.http\",\"type_urls\":[\"x\"]},{\"name\":\"b\"}],"
        "\"client_features\":[\"envoy.lb.does_not_support_overprovisioning\"],"
        "\"metadata\":{\"id\":\"not-the-node-id\",\"cluster\":[1,2]}},"
        "\"type_url\":\"type.googleapis.com/envoy.config.cluster.v3.Cluster\","
        "\"some_future_field\":{\"version_info\":\"nested\"}}";
    xds_request_t r;
    char err[XDS_ERRLEN];
    assert_int_equal(parse(&r, body, err), XDS_OK);
    assert_false(r.has_version);
    assert_true(r.has_type_url);
    assert_true(str_is(r.type_url, "type.googleapis.com/envoy.config.cluster.v3.Cluster"));
    assert_true(str_is(r.node_id, "edge-1"));
    assert_true(str_is(r.node_cluster, "edge"));
    assert_true(str_is(r.zone, "a"));
    assert_true(str_is(r.region, ""));
    assert_true(str_is(r.user_agent_name, "envoy"));
    assert_true(str_is(r.user_agent_version, "1.28.0"));
    assert_int_equal(r.nnames, 0);
    xds_request_free(&r);
}

static void test_names_sorted_unique(void **state)
{
    (void)state;
    xds_request_t r;
    char err[XDS_ERRLEN];
    assert_int_equal(parse(&r,
                           "{\"version_info\":\"abc\",\"resource_names\":[\"b\",\"a\",\"b\","
                           "\"c\\u0041\"],\"response_nonce\":\"1\"}",
                           err),
                     XDS_OK);
    assert_true(r.has_version);
    assert_true(str_is(r.version_info, "abc"));
    assert_int_equal(r.nnames, 3);
    assert_true(str_is(r.names[0], "a"));
    assert_true(str_is(r.names[1], "b"));
    assert_true(str_is(r.names[2], "cA"));
    xds_request_free(&r);
}

static void test_user_agent_version_string_wins(void **state)
{
    (void)state;
    xds_request_t r;
    char err[XDS_ERRLEN];
    assert_int_equal(parse(&r,
                           "{\"node\":{\"user_agent_build_version\":{\"version\":{\"major_number\":"
                           "1,\"minor_number\":2,\"patch\":3}},\"user_agent_version\":\"v9\","
                           "\"locality\":{\"region\":\"r\",\"zone\":\"z\",\"sub_zone\":\"s\","
                           "\"zone_x\":{\"zone\":\"no\"}}},\"zone\":\"not-node\"}",
                           err),
                     XDS_OK);
    assert_true(str_is(r.user_agent_version, "v9"));
    assert_true(str_is(r.region, "r"));
    assert_true(str_is(r.zone, "z"));
    assert_true(str_is(r.sub_zone, "s"));
    assert_int_equal(r.node_id.n, 0);
    xds_request_free(&r);
}

static void test_nulls_are_defaults(void **state)
{
    (void)state;
    xds_request_t r;
    char err[XDS_ERRLEN];
    assert_int_equal(
        parse(&r, "{\"version_info\":null,\"resource_names\":null,\"node\":null}", err), XDS_OK);
    assert_false(r.has_version);
    assert_int_equal(r.nnames, 0);
    xds_request_free(&r);
}

static void expect_error(const char *body, const char *msg)
{
    xds_request_t r;
    char err[XDS_ERRLEN];
    assert_int_equal(parse(&r, body, err), XDS_ERROR);
    if (strstr(err, msg) == NULL)
        fail_msg("for %s: got \"%s\", want \"%s\"", body, err, msg);
    xds_request_free(&r);
}

static void test_errors(void **state)
{
    (void)state;
    expect_error("", "empty request body");
    expect_error("[]", "must be a JSON object");
    expect_error("\"x\"", "must be a JSON object");
    expect_error("{\"version_info\":1}", "version_info must be a string");
    expect_error("{\"type_url\":{}}", "type_url must be a string");
    expect_error("{\"resource_names\":\"a\"}", "resource_names must be an array of strings");
    expect_error("{\"resource_names\":[1]}", "resource_names must be an array of strings");
    expect_error("{\"resource_names\":[[\"a\"]]}", "resource_names must be an array of strings");
    expect_error("{\"node\":[]}", "node must be an object");
    expect_error("{\"a\":1,\n\"b\":}", "malformed JSON at line 2, column");
    expect_error("{\"a\":1} {}", "malformed JSON");
    expect_error("{\"a\":1", "malformed JSON");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_envoy_first_poll),
        cmocka_unit_test(test_names_sorted_unique),
        cmocka_unit_test(test_user_agent_version_string_wins),
        cmocka_unit_test(test_nulls_are_defaults),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
