/*
 * types.h -- the resource types xdsd serves, with their REST path, v3 type
 * URL and the field that names a resource of the type.
 */
#ifndef XDS_TYPES_H
#define XDS_TYPES_H

#include <stddef.h>

typedef enum {
    XDS_TYPE_CLUSTERS = 0,
    XDS_TYPE_ENDPOINTS,
    XDS_TYPE_LISTENERS,
    XDS_TYPE_ROUTES,
    XDS_TYPE_SCOPED_ROUTES,
    XDS_TYPE_SECRETS,
    XDS_TYPE_RUNTIME,
    XDS_TYPE_EXTENSION_CONFIGS,
    XDS_TYPE_COUNT
} xds_type_id_t;

typedef struct {
    xds_type_id_t id;
    const char *path;       /* "clusters": POST /v3/discovery:<path>, model key resources.<path> */
    const char *type_url;   /* "type.googleapis.com/envoy.config.cluster.v3.Cluster" */
    const char *name_field; /* "name", or "cluster_name" for ClusterLoadAssignment */
} xds_type_t;

extern const xds_type_t xds_types[XDS_TYPE_COUNT];

/* Type whose path is the n bytes at p, or NULL. */
const xds_type_t *xds_type_by_path(const char *p, size_t n);

#endif
