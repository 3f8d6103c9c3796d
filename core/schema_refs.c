/*
 * schema_refs.c -- the cross-reference checks of a build (issue 4, point 2):
 * what Envoy needs to find among the resources of one snapshot so that a
 * listener actually serves traffic.
 *
 *   - names are unique per type (xds_generate already guarantees it for
 *     what it collects; re-checked here, it is the index built anyway);
 *   - every HttpConnectionManager that uses RDS (rds.route_config_name)
 *     names an existing route configuration;
 *   - every cluster named by a route (RouteAction.cluster, weighted_clusters)
 *     or by a tcp_proxy (cluster, weighted_clusters) exists;
 *   - every EDS cluster has a ClusterLoadAssignment named by its
 *     eds_cluster_config.service_name, or by its own name.
 *
 * The fields that name resources are tagged in the schema at load time
 * (xs_field_t.ref), and schema.c calls xs_refs_check when it meets one, so
 * references are checked during the schema walk, wherever the message
 * occurs: a listener's filter_chains[].filters[].typed_config (an Any
 * resolved by "@type"), an HCM's inline route_config, a route
 * configuration, whatever nests them.  A name is found in O(1) in a hash
 * index of the build's names per type.
 */
#include <string.h>

#include "json.h"
#include "schema_int.h"

static const struct {
    const char *message, *field;
    int ref;
} ref_fields[] = {
    {"envoy.config.route.v3.RouteAction", "cluster", XS_REF_CLUSTER},
    {"envoy.config.route.v3.WeightedCluster.ClusterWeight", "name", XS_REF_CLUSTER},
    {"envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy", "cluster", XS_REF_CLUSTER},
    {"envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy.WeightedCluster.ClusterWeight", "name",
     XS_REF_CLUSTER},
    {"envoy.extensions.filters.network.http_connection_manager.v3.Rds", "route_config_name",
     XS_REF_ROUTE},
};

/* Tag the reference fields (those of the table the schema has). */
void xs_refs_tag(xds_schema_t *s)
{
    for (size_t i = 0; i < xds_nelems(ref_fields); i++) {
        xs_msg_t *m = (xs_msg_t *)xs_msg_find(s, ref_fields[i].message);
        if (m == NULL)
            continue;
        for (size_t f = 0; f < m->nfields; f++)
            if (m->fields[f].type == XS_T_STRING &&
                strcmp(m->fields[f].name, ref_fields[i].field) == 0)
                m->fields[f].ref = (uint8_t)ref_fields[i].ref;
    }
}

/* Index out's names per type; a name seen twice is a problem of the second
 * resource. */
void xs_refs_index(xs_ctx_t *c, const xds_gen_out_t *out, xds_name_index_t *names)
{
    for (size_t t = 0; t < XDS_TYPE_COUNT; t++) {
        xds_name_index_init(&names[t], out->n[t], 0);
        c->label = xds_types[t].path;
        c->depth = 0;
        for (size_t i = 0; i < out->n[t]; i++) {
            const xds_gen_res_t *r = &out->res[t][i];
            size_t first;
            if (!xds_name_index_put(&names[t], r->name, i, &first)) {
                c->name = r->name;
                c->origin = r->origin;
                xs_problem(c, "defined twice (first by %s)", out->res[t][first].origin);
            }
        }
    }
}

/* Is there a resource of type t named s (len bytes, NUL-terminated)? */
static int exists(xs_ctx_t *c, xds_type_id_t t, const char *s, size_t len)
{
    const char *last = c->last_found[t];
    if (last != NULL && strncmp(last, s, len + 1) == 0)
        return 1;
    if (strlen(s) != len) /* an embedded NUL: no resource has that name */
        return 0;
    size_t *i = xds_name_index_find(&c->names[t], s);
    if (i == NULL)
        return 0;
    c->last_found[t] = s; /* borrowed from the JSON being walked: only compared */
    return 1;
}

/* A reference field's value must name a resource of the build. */
void xs_refs_check(xs_ctx_t *c, const xs_field_t *f, const char *s, size_t len)
{
    char q[96];
    xds_type_id_t t = f->ref == XS_REF_ROUTE ? XDS_TYPE_ROUTES : XDS_TYPE_CLUSTERS;
    if (exists(c, t, s, len))
        return;
    xs_problem(c, "%s %s does not exist", t == XDS_TYPE_ROUTES ? "route configuration" : "cluster",
               xj_quote(s, len, q, sizeof(q)));
}

/* Member by proto name or by json_name. */
static const xj_t *member(const xj_t *obj, const char *name, const char *json, const char **used)
{
    const xj_t *v = xj_get(obj, name);
    *used = name;
    if (v == NULL) {
        v = xj_get(obj, json);
        *used = json;
    }
    return v;
}

/* An EDS cluster ("type": "EDS", or its number 3) needs endpoints[service
 * name, or the cluster's name].  Shapes are not checked here: the schema
 * walk has reported them. */
void xs_refs_eds(xs_ctx_t *c, const xj_t *cl, const char *name)
{
    const xj_t *type = xj_get(cl, "type"), *eds, *svc = NULL;
    const char *k1 = NULL, *k2 = NULL;
    int64_t n;
    char q[96];

    if (type == NULL || !((type->type == XJ_STRING && strcmp(type->u.str.s, "EDS") == 0) ||
                          (type->type == XJ_NUMBER && xj_int64(type, &n) == XDS_OK && n == 3)))
        return;
    eds = member(cl, "eds_cluster_config", "edsClusterConfig", &k1);
    if (eds != NULL && eds->type == XJ_OBJECT)
        svc = member(eds, "service_name", "serviceName", &k2);
    if (svc != NULL && (svc->type != XJ_STRING || svc->u.str.len == 0))
        svc = NULL;

    const char *want = svc != NULL ? svc->u.str.s : name;
    size_t len = strlen(want);
    if (svc != NULL ? len == svc->u.str.len && exists(c, XDS_TYPE_ENDPOINTS, want, len)
                    : exists(c, XDS_TYPE_ENDPOINTS, want, len))
        return;
    size_t m1 = 0, m2 = 0;
    if (svc != NULL) {
        m1 = xs_push_key(c, k1, strlen(k1));
        m2 = xs_push_key(c, k2, strlen(k2));
    }
    xs_problem(c, "EDS cluster has no ClusterLoadAssignment named %s",
               xj_quote(want, len, q, sizeof(q)));
    if (svc != NULL) {
        xs_pop(c, m2);
        xs_pop(c, m1);
    }
}
