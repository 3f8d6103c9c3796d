/*
 * gen_endpoints.c -- one ClusterLoadAssignment per service that uses EDS
 * ("discovery": "eds").  Static and DNS services carry their endpoints in
 * the cluster itself (gen_clusters.c), so they produce nothing here.
 * Endpoints are grouped into localities by (region, zone) exactly as for
 * inline load assignments.  With locality_priority on, a node group's
 * assignments put the endpoints in its proxies' zone (locality.zone) at
 * priority 0 and the others at priority 1, so each zone prefers its own
 * backends and fails over to the rest.
 */
#include <stdio.h>

#include "gen_util.h"

static int generate_endpoints(const xds_model_t *m, xds_gen_out_t *out)
{
    char origin[XDS_ERRLEN];
    int failed = 0;
    const xds_str_t *zone =
        m->opts.locality_priority ? xds_ctx_get(m->node, "locality.zone") : NULL;

    for (size_t i = 0; i < m->services.n; i++) {
        const xds_model_item_t *it = &m->services.items[i];
        const gen_service_t *svc = gen_service_get(out, m, i);
        int rc = svc ? XDS_OK : XDS_ERROR;

        if (svc && svc->discovery == GEN_DISCOVERY_EDS) {
            xj_t *cla = xj_object();
            xj_object_add(cla, "cluster_name", xj_string(svc->name));
            xj_object_add(cla, "endpoints", gen_locality_endpoints(svc, zone));
            gen_item_origin("services", it, origin, sizeof(origin));
            rc = xds_gen_add(out, XDS_TYPE_ENDPOINTS, svc->name, cla, it, origin);
        }
        if (rc != XDS_OK)
            failed = 1; /* go on: report every service's mistakes */
    }
    return failed ? XDS_ERROR : XDS_OK;
}

/* The endpoints generator, listed in core/modules.c. */
/* With locality_priority, an assignment depends on the proxy's zone. */
static int endpoints_scope(const xds_model_t *m)
{
    return m->opts.locality_priority ? XDS_GEN_PER_NODE : XDS_GEN_PER_ITEM;
}

static const char *const endpoints_reads[] = {"locality.zone", NULL};

const xds_generator_t xds_gen_endpoints = {"endpoints", generate_endpoints, endpoints_scope,
                                           endpoints_reads};
