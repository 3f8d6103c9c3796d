/*
 * request.h -- parse the parts of an Envoy DiscoveryRequest (proto3 JSON)
 * that xdsd needs, and nothing else: version_info, type_url,
 * resource_names, the node's id, cluster, locality, user agent and the
 * scalar leaves of its metadata.  Unknown fields are skipped, as
 * newer Envoys add fields.
 */
#ifndef XDS_REQUEST_H
#define XDS_REQUEST_H

#include "xdsd.h"

typedef struct {
    const char *p; /* not NUL-terminated; points into the request's arena */
    size_t n;
} xds_str_t;

typedef struct {
    xds_str_t key, val;
} xds_kv_t;

typedef struct {
    int has_version; /* version_info present (absent on a first poll) */
    xds_str_t version_info;
    int has_type_url;
    xds_str_t type_url;
    xds_str_t *names; /* resource_names, sorted bytewise and de-duplicated */
    size_t nnames;

    /* From node (empty when absent), for the admin API. */
    xds_str_t node_id;
    xds_str_t node_cluster;
    xds_str_t region, zone, sub_zone; /* node.locality */
    xds_str_t user_agent_name;        /* "envoy" */
    xds_str_t user_agent_version;     /* node.user_agent_version, else the
                                         "MAJOR.MINOR.PATCH" of
                                         node.user_agent_build_version.version */
    xds_kv_t *meta;                   /* node.metadata's scalar leaves ("team", "a.b" for nested
                                         structs; numbers as written, true/false), sorted by key */
    size_t nmeta;

    /* private */
    xds_buf_t arena;
    size_t *offs;
    size_t noffs, capoffs;
    size_t *moffs; /* 4 per metadata leaf: key offset, length, value offset, length */
    size_t nmoffs, capmoffs;
} xds_request_t;

/* Parse body into r (zeroed by the caller).  Returns XDS_OK, or XDS_ERROR
 * with err = a one-line reason ("malformed JSON at line 1, column 9: ...",
 * "resource_names must be an array of strings").  Call xds_request_free in
 * both cases.  Does not block. */
int xds_request_parse(xds_request_t *r, const char *body, size_t len, char *err, size_t errlen);
void xds_request_free(xds_request_t *r);

#endif
