/*
 * gen_util.h -- what the generator modules share: a path-tracking context
 * for error messages, field readers that check a model value and report
 * "services[greeter].endpoints[0].port: expected an integer in 1..65535,
 * got \"abc\" (source catalog)" through xds_gen_error, duration parsing, and
 * the parsed form of a service and a listener (version 1 model), so that
 * every generator reads them the same way.
 */
#ifndef XDS_GEN_UTIL_H
#define XDS_GEN_UTIL_H

#include "model.h"

#define GEN_DURATION_LEN 32 /* "315576000000.000000001s" fits */

/* Where in the model we are, for messages.  The path is kept as segments
 * and only formatted when an error is reported, so the happy path costs
 * no formatting. */
typedef struct {
    const char *field; /* member name, or NULL for a bare index */
    size_t index;
    int has_index;
} gen_path_seg_t;

#define GEN_PATH_MAX 8

typedef struct {
    xds_gen_out_t *out;
    const char *collection; /* "services", "resources.clusters" */
    const char *name;       /* the item's name */
    const char *source;     /* borrowed */
    gen_path_seg_t seg[GEN_PATH_MAX];
    size_t depth; /* may exceed GEN_PATH_MAX; deeper segments are not shown */
} gen_ctx_t;

/* Start at item it of collection ("services", "resources.clusters"). */
void gen_ctx_item(gen_ctx_t *c, xds_gen_out_t *out, const char *collection,
                  const xds_model_item_t *it);
/* Append ".field" (gen_path_field) or ".field[i]" (gen_path_index; field
 * NULL gives "[i]") to the path; both return a mark for gen_path_restore.
 * field must stay valid while it is on the path. */
size_t gen_path_field(gen_ctx_t *c, const char *field);
size_t gen_path_index(gen_ctx_t *c, const char *field, size_t i);
void gen_path_restore(gen_ctx_t *c, size_t mark);
/* The item as an origin for xds_gen_add: "services[greeter] (source
 * catalog)".  Returns buf. */
const char *gen_origin(const gen_ctx_t *c, char *buf, size_t len);
/* The same for item it of collection (no formatting: once per resource). */
const char *gen_item_origin(const char *collection, const xds_model_item_t *it, char *buf,
                            size_t len);

/* Record "<path>[.field]: <message> (source S)" and return XDS_ERROR.
 * field may be NULL. */
int gen_fail(gen_ctx_t *c, const char *field, const char *fmt, ...) XDS_PRINTF(3, 4);

/* v for a "got ..." in a message: "abc" quoted, numbers as written, true,
 * null, an array, an object.  Returns buf. */
const char *gen_describe(const xj_t *v, char *buf, size_t len);

/* Field readers.  Each reads obj's member key, returns XDS_OK or records an
 * error naming the field and returns XDS_ERROR.  Strings are borrowed from
 * the model. */

/* A required non-empty string. */
int gen_string(gen_ctx_t *c, const xj_t *obj, const char *key, const char **out);
/* An optional non-empty string; def (may be NULL) when absent. */
int gen_opt_string(gen_ctx_t *c, const xj_t *obj, const char *key, const char *def,
                   const char **out);
/* An integer in min..max.  When absent: an error if required, else *given
 * = 0 and *out is left alone. */
int gen_int(gen_ctx_t *c, const xj_t *obj, const char *key, int required, int64_t min, int64_t max,
            int64_t *out, int *given);
/* An optional array of non-empty strings with at least min_items elements;
 * *out = NULL when absent. */
int gen_string_array(gen_ctx_t *c, const xj_t *obj, const char *key, size_t min_items,
                     const xj_t **out);
/* An optional string that must be one of allowed (NULL-terminated); def
 * (may be NULL) when absent. */
int gen_enum(gen_ctx_t *c, const xj_t *obj, const char *key, const char *const *allowed,
             const char *def, const char **out);
/* An optional duration ("250ms", "1.5s", "1m30s") converted to proto3 JSON
 * form ("0.250s", "90s") into out.  When absent: def (a duration string,
 * e.g. "5s") is used, or with def NULL *given = 0 and out is left alone. */
int gen_duration(gen_ctx_t *c, const xj_t *obj, const char *key, const char *def,
                 char out[GEN_DURATION_LEN], int *given);
/* Every key of obj must be in known (NULL-terminated): "unknown field
 * \"prot\"", or "\"match\" is not supported yet". */
int gen_check_keys(gen_ctx_t *c, const xj_t *obj, const char *const *known);

/* Parse a duration: one or more <number><unit> with units ns us ms s m h
 * (or "0").  Returns XDS_OK with *ns set, or XDS_ERROR with *why set to a
 * short phrase ("must not be negative"). */
int gen_parse_duration(const char *s, int64_t *ns, const char **why);
/* Nanoseconds as a proto3 JSON Duration: "5s", "0.250s", "1.000001s". */
void gen_format_duration(int64_t ns, char out[GEN_DURATION_LEN]);

/* 1 when s is an IPv4 or IPv6 literal. */
int gen_is_ip(const char *s);
/* 1 when s is a syntactically valid DNS name. */
int gen_is_hostname(const char *s);

/* ---- the version 1 model, parsed --------------------------------------- */

typedef enum { GEN_DISCOVERY_STATIC, GEN_DISCOVERY_DNS, GEN_DISCOVERY_EDS } gen_discovery_t;
typedef enum { GEN_MATCH_PREFIX, GEN_MATCH_PATH, GEN_MATCH_REGEX } gen_match_t;

typedef struct {
    const char *address; /* IP literal or (dns) hostname */
    int64_t port;
    int64_t weight;                     /* 0: not given */
    const char *zone, *region, *health; /* NULL: not given */
} gen_endpoint_t;

typedef struct {
    gen_match_t match;
    const char *value;              /* the prefix, path or regex */
    char timeout[GEN_DURATION_LEN]; /* "" when not given */
    const char *prefix_rewrite;     /* NULL when not given */
} gen_route_t;

typedef struct {
    const xds_model_item_t *item;
    const char *name;
    const xj_t *domains;       /* array of non-empty strings, or NULL */
    const xj_t *listeners;     /* array of listener names, or NULL: every listener */
    gen_endpoint_t *endpoints; /* owned array */
    size_t nendpoints;
    gen_route_t *routes; /* owned array; one prefix "/" route by default */
    size_t nroutes;
    char connect_timeout[GEN_DURATION_LEN];
    const char *lb_policy; /* NULL when not given */
    gen_discovery_t discovery;
} gen_service_t;

typedef struct {
    const xds_model_item_t *item;
    const char *name;
    const char *address;
    int64_t port;
} gen_listener_t;

/* Check and parse service it.  XDS_OK, or XDS_ERROR with the error recorded
 * on out; svc must be freed with gen_service_free either way. */
int gen_service_parse(xds_gen_out_t *out, const xds_model_item_t *it, gen_service_t *svc);
void gen_service_free(gen_service_t *svc);

/* Service i of m, parsed once per build and shared by the generators (the
 * first one to ask reports the service's mistakes).  NULL when the service
 * is invalid.  The result belongs to the build: never free it.  In a node
 * group's build (out->gen_cache borrowed from the whole model's build) it
 * only reads what that build parsed, so groups may build on any thread. */
const gen_service_t *gen_service_get(xds_gen_out_t *out, const xds_model_t *m, size_t i);
/* Check and parse listener it (nothing to free). */
int gen_listener_parse(xds_gen_out_t *out, const xds_model_item_t *it, gen_listener_t *l);

/* Shared output pieces (new trees, owned by the caller). */

/* The ConfigSource for REST polling of the xDS cluster:
 * {"resource_api_version":"V3","api_config_source":{"api_type":"REST",...}} */
xj_t *gen_rest_config_source(const xds_model_t *m);
/* ClusterLoadAssignment.endpoints of svc: one LocalityLbEndpoints per
 * (region, zone), localities sorted, endpoints in model order.  With
 * own_zone (may be NULL), when some endpoints are in that zone, those come
 * first at priority 0 and every other locality at priority 1: the proxy
 * prefers its own zone and fails over to the rest. */
xj_t *gen_locality_endpoints(const gen_service_t *svc, const xds_str_t *own_zone);

#endif
