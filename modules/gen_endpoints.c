/*
 * gen_endpoints.c -- one ClusterLoadAssignment per service that uses EDS
 * ("discovery": "eds").  Static and DNS services carry their endpoints in
 * the cluster itself (gen_clusters.c), so they produce nothing here.
 * Endpoints are grouped into localities by (region, zone) exactly as for
 * inline load assignments.
 */
#include <stdio.h>

#include "gen_util.h"

static int generate_endpoints(const xds_model_t *m, xds_gen_out_t *out)
{
    char origin[XDS_ERRLEN];
    int failed = 0;

    for (size_t i = 0; i < m->services.n; i++) {
        const xds_model_item_t *it = &m->services.items[i];
        const gen_service_t *svc = gen_service_get(out, m, i);
        int rc = svc ? XDS_OK : XDS_ERROR;

        if (svc && svc->discovery == GEN_DISCOVERY_EDS) {
            xj_t *cla = xj_object();
            xj_object_put(cla, "cluster_name", xj_string(svc->name));
            xj_object_put(cla, "endpoints", gen_locality_endpoints(svc));
            snprintf(origin, sizeof(origin), "services[%s] (source %s)", it->name, it->source);
            rc = xds_gen_add(out, XDS_TYPE_ENDPOINTS, svc->name, cla, origin);
        }
        if (rc != XDS_OK)
            failed = 1; /* go on: report every service's mistakes */
    }
    return failed ? XDS_ERROR : XDS_OK;
}

/* The endpoints generator, listed in core/modules.c. */
const xds_generator_t xds_gen_endpoints = {"endpoints", generate_endpoints};
