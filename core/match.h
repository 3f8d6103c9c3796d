/*
 * match.h -- which proxies a model item is for.
 *
 * A proxy is known by the attributes of its DiscoveryRequest's node: id,
 * cluster, locality.region / locality.zone / locality.sub_zone and the
 * scalar leaves of its metadata, named "metadata.<key>" (nested structs as
 * "metadata.a.b").  An item's "match" object holds rules on those
 * attributes: each key names one, each value is a string or an array of
 * strings, exact or glob (fnmatch: * ? [...]).  Every key must hold; a list
 * holds when any of its patterns does; an attribute the node does not have
 * (or sends empty) matches nothing.
 *
 * Node groups.  Proxies that agree on every attribute in a generation's key
 * set (the conf's node_group keys, every key a match rule names, and the
 * locality when locality_priority is on) receive exactly the same
 * configuration, so they share one group.  The context of a group is the
 * values of those keys: match rules and generators only ever see that.
 */
#ifndef XDS_MATCH_H
#define XDS_MATCH_H

#include "json.h"
#include "request.h"

/* ---- node attributes ---------------------------------------------------- */

typedef struct {
    xds_str_t id, cluster, region, zone, sub_zone;
    const xds_kv_t *meta; /* sorted by key (bytewise), unique */
    size_t nmeta;
} xds_node_attrs_t;

/* The node attributes of a parsed request (pointers into r). */
void xds_request_attrs(const xds_request_t *r, xds_node_attrs_t *a);

/* The value of attribute `key` ("cluster", "metadata.team", ...): 1 with
 * *val set when the node has it non-empty, else 0. */
int xds_attr_get(const xds_node_attrs_t *a, const char *key, xds_str_t *val);

/* A copy of a in one allocation (free with free()). */
xds_node_attrs_t *xds_attrs_dup(const xds_node_attrs_t *a);
/* 1 when a and b hold the same attributes. */
int xds_attrs_equal(const xds_node_attrs_t *a, const xds_node_attrs_t *b);

/* 1 when key is an attribute name match rules and node_group may use:
 * id, cluster, locality.region, locality.zone, locality.sub_zone,
 * metadata.<non-empty>. */
int xds_attr_name_valid(const char *key, size_t len);

/* ---- a group's context -------------------------------------------------- */

/* The values of a generation's key set for one group.  keys are sorted and
 * unique; vals[i].n == 0 means the node does not have keys[i]. */
typedef struct {
    size_t n;
    const char *const *keys;
    const xds_str_t *vals;
} xds_node_ctx_t;

/* The value of key in ctx, or NULL when ctx has no such key or the node
 * does not have it. */
const xds_str_t *xds_ctx_get(const xds_node_ctx_t *ctx, const char *key);

/* ---- match rules -------------------------------------------------------- */

typedef struct {
    char *key; /* "cluster", "metadata.team" */
    char **pat;
    size_t npat;
} xds_match_rule_t;

typedef struct xds_match {
    xds_match_rule_t *rule;
    size_t n;
} xds_match_t;

/* Check a "match" value: an object of known attribute names, each a
 * non-empty string or a non-empty array of them.  XDS_OK, or XDS_ERROR with
 * err = "match.cluster: expected ...".  Pure. */
int xds_match_check(const xj_t *v, char *err, size_t errlen);
/* Compile a "match" value that xds_match_check accepted (the model checks
 * every document when its source publishes it); NULL for none. */
xds_match_t *xds_match_compile(const xj_t *v);
void xds_match_free(xds_match_t *m);

/* 1 when every rule of m holds in ctx (m NULL: always).  A key missing
 * from ctx never holds. */
int xds_match_eval(const xds_match_t *m, const xds_node_ctx_t *ctx);

/* 1 when s (n bytes) matches pattern p: exact unless p holds * ? or [. */
int xds_pattern_match(const char *p, const char *s, size_t n);

#endif
