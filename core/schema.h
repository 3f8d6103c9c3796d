/*
 * schema.h -- validation of generated resources against Envoy's API schema
 * (issue 4): every resource is checked against its message type the way
 * Envoy's proto3 JSON parser and its protoc-gen-validate (PGV) rules would,
 * and the resources are checked against each other (listener -> route
 * configuration -> cluster -> ClusterLoadAssignment), before a snapshot is
 * published.  Envoy's REST protocol has no NACK, so whatever Envoy would
 * reject must never be served.
 *
 * The schema is a protobuf FileDescriptorSet (`protoc --include_imports
 * --descriptor_set_out`, made by tools/build-schema), read by a small wire
 * decoder of our own (core/schema_load.c); no libprotobuf is needed.
 *
 * Problem lines.  Each problem is one line:
 *
 *     WHERE: WHAT (ORIGIN)
 *
 *   WHERE   the resource and the JSON path inside it, as type path, name in
 *           brackets, then members and array indexes:
 *           clusters[greeter].load_assignment.endpoints[0].lb_endpoints[1]
 *           (map keys are shown as ["key"]; problems with a whole resource
 *           have no path after the name)
 *   WHAT    the problem: invalid duration "abc", unknown field "foo" in
 *           envoy.config.cluster.v3.Cluster, value must be <= 65535, got
 *           70000, cluster "x" does not exist, ...
 *   ORIGIN  xds_gen_res_t.origin of the resource, e.g. "services[greeter]
 *           (source catalog)"; the last parenthesized part of the line.
 *
 * e.g. clusters[greeter].connect_timeout: invalid duration "abc" (services[greeter] (source
 * catalog)) Callers that want to arrange the parts differently (the "services[greeter] ->
 * clusters[greeter]...") use xds_schema_validate_cb.
 */
#ifndef XDS_SCHEMA_H
#define XDS_SCHEMA_H

#include "genout.h"

typedef struct xds_schema xds_schema_t;

/* Load the FileDescriptorSet at path: every message and enum of every file,
 * type references resolved, PGV options ((validate.rules) on fields,
 * (validate.required) on oneofs, (validate.disabled) on messages) decoded.
 * Returns the schema (free with xds_schema_free) or NULL with err set to
 * "PATH: reason".  Blocking (reads the file): call at conf load time. */
xds_schema_t *xds_schema_load(const char *path, char *err, size_t errlen);
/* Another reference (s may be NULL); xds_schema_free drops one and frees
 * the schema with the last.  Any thread. */
xds_schema_t *xds_schema_ref(xds_schema_t *s);
void xds_schema_free(xds_schema_t *s);

/* Number of message types in s (for logs: "schema PATH: N message types"). */
size_t xds_schema_message_count(const xds_schema_t *s);

/* Receives one problem: where and what as described above (borrowed, valid
 * during the call); origin is the resource's origin or NULL. */
typedef void (*xds_schema_report_t)(void *arg, const char *where, const char *what,
                                    const char *origin);

/* Check every resource of out (each type's resources against the message of
 * xds_types[t].type_url), then the references between them: RDS route
 * configuration names of listeners, clusters named by routes and tcp_proxy,
 * a ClusterLoadAssignment for every EDS cluster, names unique per type.
 * Appends one "WHERE: WHAT (ORIGIN)\n" line per problem to errors, stopping
 * after max problems (0: no limit).  Returns the number of problems reported
 * (0: valid).  Problems come in a stable order: per type in xds_types order,
 * per resource in out's order, then the reference problems.
 * Pure: no I/O, no globals; any number of threads may validate with one
 * schema at once. */
size_t xds_schema_validate(const xds_schema_t *s, const xds_gen_out_t *out, xds_buf_t *errors,
                           size_t max);

/* The same, handing each problem to report(arg, ...) instead. */
size_t xds_schema_validate_cb(const xds_schema_t *s, const xds_gen_out_t *out, size_t max,
                              xds_schema_report_t report, void *arg);

/* The same, recording each problem on `into` as a build error
 * (xds_gen_error): "ORIGIN -> WHERE: WHAT", or "WHERE: WHAT" without an
 * origin -- the form the build log and /validation show.  `into` may be
 * `out` itself. */
size_t xds_schema_validate_into(const xds_schema_t *s, const xds_gen_out_t *out, size_t max,
                                xds_gen_out_t *into);

/* Check one JSON value as message `message` (full name, e.g.
 * "envoy.config.bootstrap.v3.Bootstrap"; a type URL is accepted too), with
 * WHERE starting at label.  No reference checks.  Appends "WHERE: WHAT\n"
 * lines to errors (at most max, 0: no limit); returns the number of
 * problems, counting an unknown message name as one.  Pure, thread-safe
 * like xds_schema_validate. */
size_t xds_schema_check(const xds_schema_t *s, const char *message, const xj_t *value,
                        const char *label, xds_buf_t *errors, size_t max);

#endif
