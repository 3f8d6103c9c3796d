/*
 * build.h -- the aggregator: turns the sources' latest good documents into
 * a model, runs the generators, builds a snapshot and hands it to the
 * discovery workers.  Main thread only.
 */
#ifndef XDS_BUILD_H
#define XDS_BUILD_H

#include <time.h>

#include "cycle.h"
#include "snapshot.h"

struct event_base;

/* Set up the deferred build event on the main loop. */
void xds_build_init(struct event_base *base);
void xds_build_shutdown(void);

/* The generation whose sources feed the model (borrowed). */
void xds_build_set_cycle(xds_cycle_t *c);

/* Ask for a rebuild.  Any number of calls in one loop pass cause one build,
 * run after the pass's other events. */
void xds_build_schedule(void);

/* 1 once a snapshot has been published. */
int xds_build_have_snapshot(void);

typedef struct {
    uint64_t builds;      /* snapshots built */
    uint64_t refusals;    /* builds refused (generator or validation errors) */
    double last_build_ms; /* generate + serialize + hash of the last snapshot */
    time_t last_build_at; /* wall clock of the last snapshot, 0 = none */
    uint64_t generation;  /* of the snapshot being served */
    const char *error;    /* why the last build was refused; NULL after a good one */
    time_t error_at;
} xds_build_stats_t;

/* Counters and the last refusal, for the admin API (main thread). */
const xds_build_stats_t *xds_build_stats(void);

/* Merge the documents of c's sources, run the generators and, when c has a
 * schema, validate the result against Envoy's schema and its references.
 * XDS_OK, or XDS_ERROR with every problem (up to XDS_GEN_MAX_ERRORS) in
 * out->errors, one a line: schema problems as "ORIGIN -> WHERE: WHAT",
 * e.g. "services[greeter] (source catalog) -> clusters[greeter].
 * connect_timeout: invalid duration \"abc\"".  No I/O. */
struct xds_gen_out;
struct xds_world;
/* With worldp, *worldp gets the world the build generated from (group.h)
 * on success, for xds_world_attach. */
int xds_build_resources(const xds_cycle_t *c, struct xds_gen_out *out, struct xds_world **worldp);

/* The snapshot being served, with a new reference (or NULL). */
xds_snapshot_t *xds_build_current(void);

#endif
