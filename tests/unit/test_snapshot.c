/*
 * test_snapshot.c -- snapshot building and content-hash versions: stable
 * across builds, per-subset, never empty, and the prepared body exact.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "genout.h"
#include "json.h"
#include "snapshot.h"

/* Clusters a, b, c (in name order) with the given connect_timeout for b. */
static xds_snapshot_t *build(const char *b_timeout)
{
    xds_gen_out_t *out = xds_gen_out_new();
    const char *names[] = {"a", "b", "c"};
    for (size_t i = 0; i < 3; i++) {
        xj_t *c = xj_object();
        xj_object_put(c, "name", xj_string(names[i]));
        xj_object_put(c, "connect_timeout", xj_string(i == 1 ? b_timeout : "1s"));
        assert_int_equal(xds_gen_add(out, XDS_TYPE_CLUSTERS, names[i], c, NULL, "test"), XDS_OK);
    }
    xds_snapshot_t *s = xds_snapshot_build(out, 1);
    xds_gen_out_free(out);
    return s;
}

static int is_hex_version(const char *v)
{
    if (strlen(v) != XDS_VERSION_LEN)
        return 0;
    for (const char *p = v; *p; p++)
        if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
            return 0;
    return 1;
}

static void test_body_and_find(void **state)
{
    (void)state;
    xds_snapshot_t *s = build("2s");
    const xds_stype_t *t = &s->types[XDS_TYPE_CLUSTERS];
    const xds_view_t *v = &s->all_views[XDS_TYPE_CLUSTERS];
    assert_int_equal(t->n, 3);
    assert_true(is_hex_version(v->version));
    char expect[1024];
    snprintf(expect, sizeof(expect),
             "{\"version_info\":\"%s\",\"resources\":["
             "{\"@type\":\"type.googleapis.com/envoy.config.cluster.v3.Cluster\",\"name\":\"a\","
             "\"connect_timeout\":\"1s\"},"
             "{\"@type\":\"type.googleapis.com/envoy.config.cluster.v3.Cluster\",\"name\":\"b\","
             "\"connect_timeout\":\"2s\"},"
             "{\"@type\":\"type.googleapis.com/envoy.config.cluster.v3.Cluster\",\"name\":\"c\","
             "\"connect_timeout\":\"1s\"}],"
             "\"type_url\":\"type.googleapis.com/envoy.config.cluster.v3.Cluster\"}",
             v->version);
    assert_string_equal(t->body, expect);
    assert_int_equal(t->body_len, strlen(expect));
    assert_int_equal(xds_view_find(v, "a", 1), 0);
    assert_int_equal(xds_view_find(v, "c", 1), 2);
    assert_int_equal(xds_view_find(v, "bb", 2), -1);
    assert_int_equal(xds_view_find(v, "", 0), -1);
    xds_snapshot_unref(s);
}

static void test_versions(void **state)
{
    (void)state;
    xds_snapshot_t *s1 = build("2s"), *s2 = build("2s"), *s3 = build("3s");
    const xds_view_t *t1 = &s1->all_views[XDS_TYPE_CLUSTERS],
                     *t2 = &s2->all_views[XDS_TYPE_CLUSTERS],
                     *t3 = &s3->all_views[XDS_TYPE_CLUSTERS];

    /* Same content, same version; different content, different version. */
    assert_string_equal(t1->version, t2->version);
    assert_string_not_equal(t1->version, t3->version);

    /* The full set's version equals the subset version over every index. */
    size_t all[] = {0, 1, 2};
    char v[XDS_VERSION_LEN + 1], w[XDS_VERSION_LEN + 1];
    xds_view_subset_version(t1, all, 3, v);
    assert_string_equal(v, t1->version);

    /* An unchanged subset keeps its version when another resource changes. */
    size_t ac[] = {0, 2};
    xds_view_subset_version(t1, ac, 2, v);
    xds_view_subset_version(t3, ac, 2, w);
    assert_string_equal(v, w);
    size_t b[] = {1};
    xds_view_subset_version(t1, b, 1, v);
    xds_view_subset_version(t3, b, 1, w);
    assert_string_not_equal(v, w);

    /* Empty sets have a version too, distinct per type. */
    const char *ve = s1->all_views[XDS_TYPE_ENDPOINTS].version;
    const char *vl = s1->all_views[XDS_TYPE_LISTENERS].version;
    assert_true(is_hex_version(ve));
    assert_string_not_equal(ve, vl);
    assert_string_equal(s1->types[XDS_TYPE_ENDPOINTS].body + strlen(ve) + 17,
                        "\",\"resources\":[],\"type_url\":\"type.googleapis.com/"
                        "envoy.config.endpoint.v3.ClusterLoadAssignment\"}");

    xds_snapshot_unref(xds_snapshot_ref(s1));
    xds_snapshot_unref(s1);
    xds_snapshot_unref(s2);
    xds_snapshot_unref(s3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_body_and_find),
        cmocka_unit_test(test_versions),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
