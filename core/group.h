/*
 * group.h -- node groups: the part of a snapshot that gives each proxy the
 * configuration meant for it (issue 6).
 *
 * A build generates every resource once from the whole model (validating
 * all of it) into the snapshot.  When the model has "match" rules or a
 * generator whose output depends on the proxy (locality_priority, custom
 * generators), the snapshot also gets a world: the merged model (holding
 * its source documents), the parsed services, and a table of node groups.
 *
 * A group is keyed by the values of the generation's key set (match.h) and
 * built on the first poll that needs it, on whatever thread takes that
 * poll: items whose match rules fail are left out, the resources that only
 * depend on their own item are taken from the whole model's (no copy, no
 * re-serialization), and only what depends on the set of items or on the
 * node (route configurations of a group that lost services, zone-aware
 * endpoint assignments, custom generators) is generated again -- and then
 * interned by content hash, so every group that generates the same resource
 * shares one copy.  Views (a type's resource list and version) are interned
 * by version too: groups that see the same services share them.  A group's
 * new resources are validated against the schema, with references resolved
 * among the group's own resources.
 */
#ifndef XDS_GROUP_H
#define XDS_GROUP_H

#include "cycle.h"
#include "genout.h"
#include "match.h"
#include "snapshot.h"

typedef struct xds_world xds_world_t;

/* A world for c's current source documents (one reference each), merged
 * into a model, with the key set from c's node_group and the model's match
 * rules.  Main thread. */
xds_world_t *xds_world_new(const xds_cycle_t *c);
/* Its merged model (the whole build generates from it). */
xds_model_t *xds_world_model(xds_world_t *w);
/* After the whole build succeeded and snap was made from out: hand w to
 * snap (taking out's parsed services) when proxies may get different
 * configurations, else free it. */
void xds_world_attach(xds_world_t *w, xds_snapshot_t *snap, xds_gen_out_t *out);
void xds_world_free(xds_world_t *w);

/* The group of a proxy with attributes a: built on first use (any thread,
 * concurrent callers are safe), then cached for the snapshot's life.  Never
 * NULL; a group whose build failed has error set.  Valid while the caller
 * holds snap. */
const xds_group_t *xds_snapshot_group(xds_snapshot_t *snap, const xds_node_attrs_t *a);

typedef struct {
    int enabled;      /* the snapshot has node groups */
    size_t keys;      /* size of the key set */
    size_t groups;    /* built so far */
    size_t failed;    /* of which failed */
    size_t views;     /* distinct views (type, version) */
    size_t resources; /* resources generated for groups, distinct */
    size_t bytes;     /* their JSON */
    double build_ms_total, build_ms_max;
} xds_group_stats_t;

void xds_snapshot_group_stats(xds_snapshot_t *snap, xds_group_stats_t *st);
/* The key set, comma separated ("cluster, metadata.team"), or "" without
 * groups.  Owned by snap. */
const char *xds_snapshot_group_keys(const xds_snapshot_t *snap);
/* Call fn for every group built so far (under the world's lock: fn must
 * not build groups). */
void xds_snapshot_each_group(xds_snapshot_t *snap, void (*fn)(void *, const xds_group_t *),
                             void *arg);

#endif
