/*
 * build.h -- the aggregator: turns the sources' latest good documents into
 * a model, runs the generators, builds a snapshot and hands it to the
 * discovery workers.  Main thread only.
 */
#ifndef XDS_BUILD_H
#define XDS_BUILD_H

#include "cycle.h"

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

#endif
