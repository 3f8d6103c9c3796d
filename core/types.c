/*
 * types.c -- the table of resource types xdsd serves.  One row per type: the
 * REST discovery path ("POST /v3/discovery:<path>", also the key under the
 * model's "resources" object), the v3 type URL put into "@type" and
 * DiscoveryResponse.type_url, and the field that names a resource of the
 * type (what EDS/RDS/SDS subscriptions ask for in resource_names).
 */
#include <string.h>

#include "types.h"

#define TYPE_URL(t) "type.googleapis.com/" t

const xds_type_t xds_types[XDS_TYPE_COUNT] = {
    {XDS_TYPE_CLUSTERS, "clusters", TYPE_URL("envoy.config.cluster.v3.Cluster"), "name"},
    {XDS_TYPE_ENDPOINTS, "endpoints", TYPE_URL("envoy.config.endpoint.v3.ClusterLoadAssignment"),
     "cluster_name"},
    {XDS_TYPE_LISTENERS, "listeners", TYPE_URL("envoy.config.listener.v3.Listener"), "name"},
    {XDS_TYPE_ROUTES, "routes", TYPE_URL("envoy.config.route.v3.RouteConfiguration"), "name"},
    {XDS_TYPE_SCOPED_ROUTES, "scoped-routes",
     TYPE_URL("envoy.config.route.v3.ScopedRouteConfiguration"), "name"},
    {XDS_TYPE_SECRETS, "secrets", TYPE_URL("envoy.extensions.transport_sockets.tls.v3.Secret"),
     "name"},
    {XDS_TYPE_RUNTIME, "runtime", TYPE_URL("envoy.service.runtime.v3.Runtime"), "name"},
    {XDS_TYPE_EXTENSION_CONFIGS, "extension_configs",
     TYPE_URL("envoy.config.core.v3.TypedExtensionConfig"), "name"},
};

/* The row whose path is exactly the n bytes at p, or NULL.  A linear scan:
 * eight rows, called once per request or per model key. */
const xds_type_t *xds_type_by_path(const char *p, size_t n)
{
    if (p == NULL)
        return NULL;
    for (size_t i = 0; i < XDS_TYPE_COUNT; i++) {
        const char *path = xds_types[i].path;
        if (strlen(path) == n && memcmp(path, p, n) == 0)
            return &xds_types[i];
    }
    return NULL;
}
