/*
 * server.h -- the discovery listener: N worker threads, each with its own
 * event base and its own SO_REUSEPORT socket, answering Envoy's REST polls
 * from the snapshot the main thread last handed them.
 */
#ifndef XDS_SERVER_H
#define XDS_SERVER_H

#include "cycle.h"
#include "snapshot.h"

/* Bind the sockets and start the workers for dc.  XDS_ERROR with err set
 * (e.g. "bind 127.0.0.1:8050: Address already in use").  Main thread. */
int xds_server_start(const xds_discovery_conf_t *dc, char *err, size_t errlen);

/* Apply a reloaded discovery conf: when it differs, start a new set of
 * workers on new sockets and let the old set finish its in-flight requests
 * and exit.  On error the old set keeps serving. */
int xds_server_reconfigure(const xds_discovery_conf_t *dc, char *err, size_t errlen);

/* Hand every worker a reference to s (the caller keeps its own). */
void xds_server_publish(xds_snapshot_t *s);

/* Stop accepting, let in-flight requests finish (up to shutdown_timeout),
 * join every worker thread and free everything.  Blocks. */
void xds_server_stop(void);

#endif
