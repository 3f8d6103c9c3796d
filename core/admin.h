/*
 * admin.h -- the admin API: a separate HTTP listener on the main thread
 * (loopback by default) answering /healthz, /ready, /nodes, /sources,
 * /snapshot, /validation, /metrics and a status page at /.
 */
#ifndef XDS_ADMIN_H
#define XDS_ADMIN_H

#include "cycle.h"

struct event_base;

/* Start (or, when the listen address changed, restart) the admin listener
 * for cycle c; with no admin block, stop it.  The cycle is borrowed until
 * the next call.  XDS_ERROR with err set (the old listener stays). */
int xds_admin_configure(struct event_base *base, xds_cycle_t *c, char *err, size_t errlen);
void xds_admin_stop(void);

#endif
