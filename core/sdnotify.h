/*
 * sdnotify.h -- tell the service manager how xdsd is doing (systemd's
 * sd_notify protocol, spoken directly: no libsystemd).  Every call is a
 * no-op when xdsd was not started with NOTIFY_SOCKET set.  Main thread only.
 */
#ifndef XDS_SDNOTIFY_H
#define XDS_SDNOTIFY_H

#include "cycle.h"
#include "snapshot.h"

/* Take the address from NOTIFY_SOCKET ("/path" or "@abstract") and remove
 * the variable from the environment, so plugins and anything they start do
 * not inherit it.  A malformed address is logged and ignored. */
void xds_sdnotify_init(void);
void xds_sdnotify_close(void);

/* A snapshot was just published: READY=1 the first time, and STATUS= with
 * the one-line summary ("serving 4 clusters, 1 listeners; 2/2 sources ok;
 * generation 3") every time. */
void xds_sdnotify_published(const xds_cycle_t *c, const xds_snapshot_t *snap);

/* SIGHUP: RELOADING=1 (with MONOTONIC_USEC=) before the reload, READY=1 and
 * STATUS= after it, saying why when it failed (error non-NULL).  Both are
 * STATUS= only while the first snapshot is still missing: xdsd is not ready
 * yet, so it cannot be reloading. */
void xds_sdnotify_reloading(void);
void xds_sdnotify_reloaded(const xds_cycle_t *c, const char *error);

/* SIGTERM/SIGINT: STOPPING=1 and STATUS= naming the signal. */
void xds_sdnotify_stopping(const char *why);

#endif
