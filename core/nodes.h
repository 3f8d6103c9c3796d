/*
 * nodes.h -- what xdsd knows about every proxy that polls it: who it is
 * (from its DiscoveryRequest's node), and per resource type the version it
 * holds, what it was last sent, when it last polled and how often it
 * polls.  From that the admin API derives each proxy's state:
 *
 *   current         it holds the version current for what it asks
 *   behind          it holds an older version (it was sent the new one, or
 *                   the snapshot changed after its last poll)
 *   stale           no poll for 3x its usual interval
 *   suspected_nack  it was sent a newer version and polled again still
 *                   holding another -- REST's only sign of a rejection
 *
 * Workers record polls (any thread; sharded locks, held for a few hundred
 * nanoseconds); the admin API reads on the main thread.
 */
#ifndef XDS_NODES_H
#define XDS_NODES_H

#include <sys/socket.h>

#include "json.h"
#include "match.h"
#include "request.h"
#include "snapshot.h"

typedef enum {
    XDS_NODE_CURRENT = 0,
    XDS_NODE_BEHIND,
    XDS_NODE_SUSPECTED_NACK,
    XDS_NODE_STALE,
    XDS_NODE_STATE_COUNT
} xds_node_state_t;

extern const char *const xds_node_state_names[XDS_NODE_STATE_COUNT];

/* The poll interval assumed for a proxy until its own is measured
 * (Envoy's refresh_delay d; polls come every [d, 2d)). */
void xds_nodes_set_default_interval(int64_t ms);

/* Record a poll of `type` answered with `status` (200 or 304) and version
 * `served` (the version answered or confirmed).  peer is "ip:port".  Any
 * thread; does not block beyond a short lock. */
void xds_nodes_record(const xds_request_t *r, const xds_type_t *type, int status,
                      const char *served, const char *peer);

/* Forget proxies not seen for forget_after_ms.  Returns how many. */
size_t xds_nodes_expire(int64_t forget_after_ms);

/* Every proxy as a JSON object keyed by node id, computed against `snap`
 * (the snapshot being served; may be NULL).  cluster / state filter when
 * not NULL.  counts[state] (may be NULL) gets the number of proxies per
 * overall state, over all proxies (filters ignored). */
xj_t *xds_nodes_json(xds_snapshot_t *snap, const char *cluster, const char *state,
                     size_t counts[XDS_NODE_STATE_COUNT]);

/* Free everything (at exit). */
void xds_nodes_free(void);

#endif
