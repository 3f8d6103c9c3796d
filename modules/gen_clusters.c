/*
 * gen_clusters.c -- one Envoy Cluster per service.
 *
 * A "static" service (the default) carries its endpoints inline in the
 * cluster's load_assignment (type STATIC, so addresses must be IP
 * literals); "dns" does the same with type STRICT_DNS, so Envoy resolves
 * host names itself; "eds" makes an EDS cluster whose endpoints come from
 * the ClusterLoadAssignment that gen_endpoints.c produces, fetched over
 * REST from the xDS cluster.  This generator runs first, so it is the one
 * that reports a service's mistakes.
 */
#include <stdio.h>

#include "gen_util.h"

static xj_t *cluster_of(const xds_model_t *m, const gen_service_t *svc)
{
    static const char *const types[] = {"STATIC", "STRICT_DNS", "EDS"};
    xj_t *cl = xj_object();

    xj_object_add(cl, "name", xj_string(svc->name));
    xj_object_add(cl, "type", xj_string(types[svc->discovery]));
    xj_object_add(cl, "connect_timeout", xj_string(svc->connect_timeout));
    if (svc->lb_policy)
        xj_object_add(cl, "lb_policy", xj_string(svc->lb_policy));
    if (svc->discovery == GEN_DISCOVERY_EDS) {
        xj_t *eds = xj_object_add(cl, "eds_cluster_config", xj_object());
        xj_object_add(eds, "eds_config", gen_rest_config_source(m));
    } else {
        xj_t *la = xj_object_add(cl, "load_assignment", xj_object());
        xj_object_add(la, "cluster_name", xj_string(svc->name));
        xj_object_add(la, "endpoints", gen_locality_endpoints(svc, NULL));
    }
    return cl;
}

static int generate_clusters(const xds_model_t *m, xds_gen_out_t *out)
{
    char origin[XDS_ERRLEN];
    int failed = 0;

    for (size_t i = 0; i < m->services.n; i++) {
        const xds_model_item_t *it = &m->services.items[i];
        const gen_service_t *svc = gen_service_get(out, m, i);
        int rc = svc ? XDS_OK : XDS_ERROR;

        if (svc) {
            gen_item_origin("services", it, origin, sizeof(origin));
            rc = xds_gen_add(out, XDS_TYPE_CLUSTERS, svc->name, cluster_of(m, svc), it, origin);
        }
        if (rc != XDS_OK)
            failed = 1; /* go on: report every service's mistakes */
    }
    return failed ? XDS_ERROR : XDS_OK;
}

/* The clusters generator, listed in core/modules.c. */
const xds_generator_t xds_gen_clusters = {"clusters", generate_clusters, NULL, NULL};
