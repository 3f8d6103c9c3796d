/*
 * nodes.c -- the proxy registry behind /nodes (see nodes.h for the states).
 *
 * A hash table of proxies keyed by node id, split into shards with a mutex
 * each, so two workers recording polls of different proxies never wait on
 * each other.  A named (EDS/RDS) subscription keeps the names it asked for,
 * so the admin API can compute the version that is current for exactly that
 * subset at the time it is asked, not just at the time of the last poll.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

#include "group.h"
#include "nodes.h"

#define NSHARDS  16
#define HELD_MAX 128 /* a version_info longer than this is cut (it is not ours) */

const char *const xds_node_state_names[XDS_NODE_STATE_COUNT] = {"current", "behind",
                                                                "suspected_nack", "stale"};

typedef struct {
    int seen;
    char held[HELD_MAX + 1];        /* version_info of its last poll ("" = none) */
    char sent[XDS_VERSION_LEN + 1]; /* version of our last 200 */
    int awaiting;                   /* sent with a 200, not yet held */
    int nack;                       /* polled again holding another version */
    int64_t last_poll_ms;           /* monotonic */
    time_t last_poll_wall;
    double avg_gap_ms; /* its usual poll interval, 0 = unknown */
    uint64_t polls;
    char **names; /* the subset it subscribes to, NULL = all */
    size_t nnames;
} node_type_t;

typedef struct node {
    struct node *next;
    uint64_t hash;
    char *raw_id; /* the id exactly as sent (may hold NULs), for lookups */
    size_t raw_id_len;
    char *id, *cluster, *region, *zone, *sub_zone, *ua_name, *ua_version;
    xds_node_attrs_t *attrs; /* what decides its node group */
    char peer[64];
    int64_t last_seen_ms;
    time_t first_seen_wall;
    node_type_t *t[XDS_TYPE_COUNT]; /* allocated when the type is first polled */
} node_t;

typedef struct {
    pthread_mutex_t lock;
    node_t **buckets;
    size_t nbuckets, n;
} shard_t;

static shard_t shards[NSHARDS] = {
#define S                                                                                          \
    {                                                                                              \
        PTHREAD_MUTEX_INITIALIZER, NULL, 0, 0                                                      \
    }
    S, S, S, S, S, S, S, S, S,
    S, S, S, S, S, S, S
#undef S
};
static _Atomic int64_t default_interval_ms = 1000;

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void xds_nodes_set_default_interval(int64_t ms)
{
    default_interval_ms = ms > 0 ? ms : 1000;
}

/* Length of the longest prefix of p (at most n bytes) that is well-formed
 * UTF-8 cut at a character boundary. */
static size_t utf8_valid_prefix(const unsigned char *p, size_t n)
{
    size_t i = 0;
    while (i < n) {
        unsigned char c = p[i];
        size_t len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
        if (len == 0 || i + len > n)
            return i;
        for (size_t k = 1; k < len; k++)
            if ((p[i + k] & 0xc0) != 0x80)
                return i;
        uint32_t cp = len == 1   ? c
                      : len == 2 ? (uint32_t)(c & 0x1f) << 6 | (p[i + 1] & 0x3f)
                      : len == 3 ? (uint32_t)(c & 0x0f) << 12 | (uint32_t)(p[i + 1] & 0x3f) << 6 |
                                       (p[i + 2] & 0x3f)
                                 : (uint32_t)(c & 0x07) << 18 | (uint32_t)(p[i + 1] & 0x3f) << 12 |
                                       (uint32_t)(p[i + 2] & 0x3f) << 6 | (p[i + 3] & 0x3f);
        static const uint32_t min_cp[5] = {0, 0, 0x80, 0x800, 0x10000};
        if (cp < min_cp[len] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return i; /* overlong, out of range or a surrogate */
        i += len;
    }
    return n;
}

/* A copy of what a proxy sent, safe to show and still telling different
 * strings apart: bytes that are not well-formed UTF-8 (yajl lets some
 * through) and NULs become "\\xHH", a backslash becomes two, so /nodes is
 * always valid JSON with one key per proxy (found by fuzzing). */
static char *dup_str(xds_str_t s)
{
    static const char hex[] = "0123456789abcdef";
    char *d = xds_malloc(4 * s.n + 1), *o = d;
    const unsigned char *p = (const unsigned char *)s.p;
    size_t i = 0;
    while (i < s.n) {
        size_t ok = utf8_valid_prefix(p + i, s.n - i);
        for (size_t k = 0; k < ok; k++, i++) {
            if (p[i] == 0) {
                memcpy(o, "\\x00", 4);
                o += 4;
            } else {
                if (p[i] == '\\')
                    *o++ = '\\';
                *o++ = (char)p[i];
            }
        }
        if (i < s.n) {
            *o++ = '\\';
            *o++ = 'x';
            *o++ = hex[p[i] >> 4];
            *o++ = hex[p[i] & 15];
            i++;
        }
    }
    *o = '\0';
    return d;
}

/* Replace *field with s when it differs (nodes rarely change identity); a
 * request without the field keeps what an earlier one said. */
static void update_str(char **field, xds_str_t s)
{
    if (s.n == 0 || (*field && strlen(*field) == s.n && memcmp(*field, s.p, s.n) == 0))
        return;
    free(*field);
    *field = dup_str(s);
}

static void node_free(node_t *n)
{
    for (size_t t = 0; t < XDS_TYPE_COUNT; t++) {
        if (n->t[t] == NULL)
            continue;
        for (size_t i = 0; i < n->t[t]->nnames; i++)
            free(n->t[t]->names[i]);
        free(n->t[t]->names);
        free(n->t[t]);
    }
    free(n->raw_id);
    free(n->id);
    free(n->cluster);
    free(n->region);
    free(n->zone);
    free(n->sub_zone);
    free(n->ua_name);
    free(n->ua_version);
    free(n->attrs);
    free(n);
}

/* A node's bucket in its shard: from the bits above those that chose the
 * shard (h % NSHARDS), or every node of a shard would share 1/NSHARDS of
 * its buckets (bench/: chains 16 times too long with 100,000 proxies). */
static size_t bucket_of(uint64_t h, size_t nbuckets)
{
    return (size_t)(h / NSHARDS) & (nbuckets - 1);
}

static void shard_grow(shard_t *sh)
{
    size_t nb = sh->nbuckets ? sh->nbuckets * 2 : 64;
    node_t **b = xds_calloc(nb, sizeof(node_t *));
    for (size_t i = 0; i < sh->nbuckets; i++) {
        for (node_t *n = sh->buckets[i], *next; n; n = next) {
            next = n->next;
            n->next = b[bucket_of(n->hash, nb)];
            b[bucket_of(n->hash, nb)] = n;
        }
    }
    free(sh->buckets);
    sh->buckets = b;
    sh->nbuckets = nb;
}

/* Same subset as last time?  (Envoy re-sends the same names on every poll.) */
static int same_names(const node_type_t *e, const xds_request_t *r)
{
    if (e->nnames != r->nnames || (e->names == NULL) != (r->nnames == 0))
        return 0;
    for (size_t i = 0; i < r->nnames; i++)
        if (strlen(e->names[i]) != r->names[i].n ||
            memcmp(e->names[i], r->names[i].p, r->names[i].n) != 0)
            return 0;
    return 1;
}

static void record_type(node_type_t *e, const xds_request_t *r, int status, const char *served,
                        int64_t now)
{
    /* Ours are 32 hex digits; anything else is kept for display, sanitized
     * (which may make it longer: a backslash is doubled, a bad byte becomes
     * \xNN), then cut at a character boundary. */
    size_t vn = r->version_info.n > 4 * HELD_MAX ? 4 * HELD_MAX : r->version_info.n;
    char *safe = dup_str((xds_str_t){r->version_info.p, vn});
    size_t hn = strlen(safe);
    if (hn > HELD_MAX)
        hn = utf8_valid_prefix((const unsigned char *)safe, HELD_MAX);
    char held[HELD_MAX + 1];
    memcpy(held, safe, hn);
    held[hn] = '\0';
    free(safe);

    if (e->seen) {
        double gap = (double)(now - e->last_poll_ms);
        e->avg_gap_ms = e->avg_gap_ms > 0 ? 0.7 * e->avg_gap_ms + 0.3 * gap : gap;
    }
    if (e->awaiting) {
        /* We sent it `sent`; an accepting Envoy polls holding exactly that. */
        if (strcmp(held, e->sent) == 0) {
            e->awaiting = 0;
            e->nack = 0;
        } else {
            e->nack = 1;
        }
    }
    if (status == 200) {
        snprintf(e->sent, sizeof(e->sent), "%s", served);
        e->awaiting = 1;
    } else {
        snprintf(e->sent, sizeof(e->sent), "%s", served);
        e->awaiting = 0;
        e->nack = 0;
    }
    memcpy(e->held, held, hn + 1);
    e->seen = 1;
    e->polls++;
    e->last_poll_ms = now;
    e->last_poll_wall = time(NULL);

    if (!same_names(e, r)) {
        for (size_t i = 0; i < e->nnames; i++)
            free(e->names[i]);
        free(e->names);
        e->names = NULL;
        e->nnames = r->nnames;
        if (r->nnames) {
            e->names = xds_malloc(r->nnames * sizeof(char *));
            for (size_t i = 0; i < r->nnames; i++)
                e->names[i] = dup_str(r->names[i]);
        }
    }
}

void xds_nodes_record(const xds_request_t *r, const xds_type_t *type, int status,
                      const char *served, const char *peer)
{
    uint64_t h = XXH3_64bits(r->node_id.p, r->node_id.n);
    shard_t *sh = &shards[h % NSHARDS];
    int64_t now = now_ms();

    pthread_mutex_lock(&sh->lock);
    if (sh->n >= sh->nbuckets)
        shard_grow(sh);
    node_t **slot = &sh->buckets[bucket_of(h, sh->nbuckets)], *n;
    for (n = *slot; n; n = n->next)
        if (n->hash == h && n->raw_id_len == r->node_id.n &&
            memcmp(n->raw_id, r->node_id.p, r->node_id.n) == 0)
            break;
    if (n == NULL) {
        n = xds_calloc(1, sizeof(*n));
        n->hash = h;
        n->raw_id = xds_strndup(r->node_id.p, r->node_id.n);
        n->raw_id_len = r->node_id.n;
        n->id = dup_str(r->node_id);
        n->first_seen_wall = time(NULL);
        n->next = *slot;
        *slot = n;
        sh->n++;
    }
    update_str(&n->cluster, r->node_cluster);
    update_str(&n->region, r->region);
    update_str(&n->zone, r->zone);
    update_str(&n->sub_zone, r->sub_zone);
    update_str(&n->ua_name, r->user_agent_name);
    update_str(&n->ua_version, r->user_agent_version);
    xds_node_attrs_t a;
    xds_request_attrs(r, &a);
    if (n->attrs == NULL || !xds_attrs_equal(n->attrs, &a)) {
        free(n->attrs);
        n->attrs = xds_attrs_dup(&a);
    }
    snprintf(n->peer, sizeof(n->peer), "%s", peer);
    n->last_seen_ms = now;
    if (n->t[type->id] == NULL)
        n->t[type->id] = xds_calloc(1, sizeof(node_type_t));
    record_type(n->t[type->id], r, status, served, now);
    pthread_mutex_unlock(&sh->lock);
}

size_t xds_nodes_expire(int64_t forget_after_ms)
{
    int64_t now = now_ms();
    size_t gone = 0;
    for (size_t s = 0; s < NSHARDS; s++) {
        shard_t *sh = &shards[s];
        pthread_mutex_lock(&sh->lock);
        for (size_t b = 0; b < sh->nbuckets; b++) {
            for (node_t **pp = &sh->buckets[b]; *pp;) {
                node_t *n = *pp;
                if (now - n->last_seen_ms > forget_after_ms) {
                    *pp = n->next;
                    node_free(n);
                    sh->n--;
                    gone++;
                } else {
                    pp = &n->next;
                }
            }
        }
        pthread_mutex_unlock(&sh->lock);
    }
    return gone;
}

/* The version current now for what e, of node n, subscribes to ("" when
 * its node group's configuration was refused). */
static void current_version(xds_snapshot_t *snap, xds_type_id_t t, const node_t *node,
                            const node_type_t *e, char out[XDS_VERSION_LEN + 1])
{
    const xds_group_t *g = xds_snapshot_group(snap, node->attrs);
    const xds_view_t *st = g->views[t];
    if (st == NULL) {
        out[0] = '\0';
        return;
    }
    if (e->nnames == 0) {
        memcpy(out, st->version, XDS_VERSION_LEN + 1);
        return;
    }
    size_t *idx = xds_malloc(e->nnames * sizeof(size_t)), n = 0;
    for (size_t i = 0; i < e->nnames; i++) {
        long k = xds_view_find(st, e->names[i], strlen(e->names[i]));
        if (k >= 0)
            idx[n++] = (size_t)k;
    }
    xds_view_subset_version(st, idx, n, out);
    free(idx);
}

static xds_node_state_t type_state(xds_snapshot_t *snap, xds_type_id_t t, const node_t *node,
                                   const node_type_t *e, int64_t now, char cur[])
{
    double interval = e->avg_gap_ms > 0 ? e->avg_gap_ms : 2.0 * (double)default_interval_ms;
    cur[0] = '\0';
    if (snap)
        current_version(snap, t, node, e, cur);
    if ((double)(now - e->last_poll_ms) > 3.0 * interval)
        return XDS_NODE_STALE;
    if (e->nack)
        return XDS_NODE_SUSPECTED_NACK;
    if (snap && strcmp(e->held, cur) != 0)
        return XDS_NODE_BEHIND;
    return XDS_NODE_CURRENT;
}

static xj_t *str_or_null(const char *s)
{
    return s && s[0] ? xj_string(s) : xj_null();
}

static xj_t *iso_time(time_t t)
{
    char buf[32];
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
    return xj_string(buf);
}

xj_t *xds_nodes_json(xds_snapshot_t *snap, const char *cluster, const char *state,
                     size_t counts[XDS_NODE_STATE_COUNT])
{
    xj_t *out = xj_object();
    int64_t now = now_ms();
    if (counts)
        memset(counts, 0, sizeof(size_t) * XDS_NODE_STATE_COUNT);

    for (size_t s = 0; s < NSHARDS; s++) {
        shard_t *sh = &shards[s];
        pthread_mutex_lock(&sh->lock);
        for (size_t b = 0; b < sh->nbuckets; b++) {
            for (node_t *n = sh->buckets[b]; n; n = n->next) {
                xj_t *types = xj_object();
                xds_node_state_t worst = XDS_NODE_CURRENT;
                for (size_t t = 0; t < XDS_TYPE_COUNT; t++) {
                    const node_type_t *e = n->t[t];
                    if (e == NULL || !e->seen)
                        continue;
                    char cur[XDS_VERSION_LEN + 1];
                    xds_node_state_t st = type_state(snap, (xds_type_id_t)t, n, e, now, cur);
                    if (st > worst)
                        worst = st;
                    xj_t *o = xj_object();
                    xj_object_put(o, "state", xj_string(xds_node_state_names[st]));
                    xj_object_put(o, "version", str_or_null(e->held));
                    xj_object_put(o, "current_version", str_or_null(cur));
                    xj_object_put(o, "last_sent_version", str_or_null(e->sent));
                    xj_object_put(o, "last_poll", iso_time(e->last_poll_wall));
                    xj_object_put(o, "last_poll_age_ms", xj_int(now - e->last_poll_ms));
                    xj_object_put(o, "poll_interval_ms", xj_int((int64_t)e->avg_gap_ms));
                    xj_object_put(o, "polls", xj_int((int64_t)e->polls));
                    if (e->nnames)
                        xj_object_put(o, "resource_names", xj_int((int64_t)e->nnames));
                    xj_object_put(types, xds_types[t].path, o);
                }
                if (counts)
                    counts[worst]++;
                if ((cluster && strcmp(cluster, n->cluster ? n->cluster : "") != 0) ||
                    (state && strcmp(state, xds_node_state_names[worst]) != 0)) {
                    xj_free(types);
                    continue;
                }
                xj_t *o = xj_object();
                xj_object_put(o, "state", xj_string(xds_node_state_names[worst]));
                xj_object_put(o, "cluster", str_or_null(n->cluster));
                xj_t *loc = xj_object_put(o, "locality", xj_object());
                xj_object_put(loc, "region", str_or_null(n->region));
                xj_object_put(loc, "zone", str_or_null(n->zone));
                xj_object_put(loc, "sub_zone", str_or_null(n->sub_zone));
                xj_object_put(o, "user_agent", str_or_null(n->ua_name));
                xj_object_put(o, "envoy_version", str_or_null(n->ua_version));
                xj_object_put(o, "address", str_or_null(n->peer));
                xj_object_put(o, "first_seen", iso_time(n->first_seen_wall));
                xj_object_put(o, "last_seen_age_ms", xj_int(now - n->last_seen_ms));
                xj_object_put(o, "types", types);
                xj_object_add(out, n->id, o);
            }
        }
        pthread_mutex_unlock(&sh->lock);
    }
    return out;
}

void xds_nodes_free(void)
{
    xds_nodes_expire(-1);
    for (size_t s = 0; s < NSHARDS; s++) {
        free(shards[s].buckets);
        shards[s].buckets = NULL;
        shards[s].nbuckets = shards[s].n = 0;
    }
}
