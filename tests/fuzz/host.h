/*
 * host.h -- the daemon's own source machinery for the fuzz targets: a
 * source instance made by core/source.c (xds_source_create) for a do-nothing
 * plugin, so that a target gets the host API table xdsd really hands to
 * plugins -- publish() with its size limit, xj_parse and model check,
 * failed(), unchanged() -- and can feed a real plugin's output through it.
 */
#ifndef XDS_FUZZ_HOST_H
#define XDS_FUZZ_HOST_H

#include "snapshot.h"
#include "source.h"

/* Parse conf (one `source NAME { plugin fuzz; ... }` block, e.g. with
 * max_document_size) and create the source with strictness `strict`.
 * *api receives the host API table (static in the daemon, never freed).
 * Returns the source, or NULL with err set when the conf is refused.
 * Logging follows fuzz_log_init(). */
xds_source_t *fuzz_source_new(const char *conf, int strict, const xdsd_host_api_t **api, char *err,
                              size_t errlen);
void fuzz_source_free(xds_source_t *s);

/* A snapshot of a small built-in model (two services, one of them EDS, and
 * a listener): clusters, endpoints, listeners and routes to look names up
 * in.  Aborts if the model does not build.  One reference, the caller's. */
xds_snapshot_t *fuzz_snapshot_new(void);

/* Logging off (millions of inputs), or at debug level when XDSD_FUZZ_LOG is
 * set in the environment (to see what an input does). */
void fuzz_log_init(void);

#endif
