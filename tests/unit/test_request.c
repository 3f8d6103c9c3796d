/*
 * test_request.c -- the DiscoveryRequest parser: what real Envoy sends, the
 * fields xdsd uses, unknown fields ignored, and precise errors.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "match.h"
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

/* node.metadata's scalar leaves, nested structs as dotted paths; match
 * rules evaluated on a group context made from them. */
static void test_metadata_and_match(void **state)
{
    (void)state;
    const char *body =
        "{\"node\":{\"id\":\"n1\",\"cluster\":\"edge-eu\",\"metadata\":{\"team\":\"pay\","
        "\"canary\":true,\"weight\":12.5,\"skip\":null,\"list\":[\"a\",{\"b\":1}],"
        "\"istio\":{\"version\":\"1.22\",\"deep\":{\"er\":\"x\"}}},\"locality\":"
        "{\"zone\":\"z1\"}}}";
    xds_request_t r;
    char err[XDS_ERRLEN];
    assert_int_equal(parse(&r, body, err), XDS_OK);
    xds_node_attrs_t a;
    xds_request_attrs(&r, &a);
    assert_int_equal(a.nmeta, 5); /* canary, istio.deep.er, istio.version, team, weight */
    xds_str_t v;
    assert_true(xds_attr_get(&a, "metadata.team", &v) && str_is(v, "pay"));
    assert_true(xds_attr_get(&a, "metadata.canary", &v) && str_is(v, "true"));
    assert_true(xds_attr_get(&a, "metadata.weight", &v) && str_is(v, "12.5"));
    assert_true(xds_attr_get(&a, "metadata.istio.version", &v) && str_is(v, "1.22"));
    assert_true(xds_attr_get(&a, "metadata.istio.deep.er", &v) && str_is(v, "x"));
    assert_false(xds_attr_get(&a, "metadata.skip", &v));
    assert_false(xds_attr_get(&a, "metadata.list", &v));
    assert_false(xds_attr_get(&a, "metadata.istio", &v));
    assert_true(xds_attr_get(&a, "locality.zone", &v) && str_is(v, "z1"));
    assert_false(xds_attr_get(&a, "locality.region", &v));

    /* copies compare equal and survive the request */
    xds_node_attrs_t *d = xds_attrs_dup(&a);
    assert_true(xds_attrs_equal(d, &a));
    xds_request_free(&r);
    assert_true(xds_attr_get(d, "metadata.istio.version", &v) && str_is(v, "1.22"));

    const char *keys[] = {"cluster", "id", "metadata.team"};
    xds_str_t vals[3];
    for (size_t i = 0; i < 3; i++)
        if (!xds_attr_get(d, keys[i], &vals[i]))
            vals[i] = (xds_str_t){"", 0};
    xds_node_ctx_t ctx = {3, keys, vals};
    static const struct {
        const char *match;
        int want;
    } cases[] = {
        {"{\"cluster\":\"edge-eu\"}", 1},
        {"{\"cluster\":\"edge-*\"}", 1},
        {"{\"cluster\":\"edge-?\"}", 0},
        {"{\"cluster\":[\"cdn\",\"edge-[a-z][a-z]\"]}", 1},
        {"{\"cluster\":\"edge\"}", 0},
        {"{\"cluster\":\"edge-*\",\"metadata.team\":\"pay\"}", 1},
        {"{\"cluster\":\"edge-*\",\"metadata.team\":\"ops\"}", 0},
        {"{\"id\":\"*\"}", 1},
        {"{\"locality.zone\":\"*\"}", 0}, /* not in the context: never holds */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        xj_t *j = xj_parse(cases[i].match, strlen(cases[i].match), 8, err, sizeof(err));
        assert_non_null(j);
        xds_match_t *m = xds_match_compile(j);
        assert_non_null(m);
        if (xds_match_eval(m, &ctx) != cases[i].want)
            fail_msg("%s: expected %d", cases[i].match, cases[i].want);
        xds_match_free(m);
        xj_free(j);
    }
    assert_true(xds_match_eval(NULL, &ctx));
    assert_false(xds_pattern_match("a*", "ab\0c", 4)); /* a NUL never matches a glob */
    assert_true(xds_pattern_match("ab", "ab", 2));
    free(d);
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
        cmocka_unit_test(test_metadata_and_match),
        cmocka_unit_test(test_user_agent_version_string_wins),
        cmocka_unit_test(test_nulls_are_defaults),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
