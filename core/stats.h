/*
 * stats.h -- counters for /metrics.  Each discovery worker owns one slot
 * (its id), so counting a request is an uncontended relaxed atomic add on
 * a cache line no other thread writes; the admin API sums the slots.
 */
#ifndef XDS_STATS_H
#define XDS_STATS_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "types.h"

#define XDS_STATS_SLOTS 256 /* = the maximum of `workers` */

enum { XDS_CODE_200 = 0, XDS_CODE_304, XDS_CODE_4XX, XDS_CODE_5XX, XDS_CODE_COUNT };
extern const char *const xds_code_names[XDS_CODE_COUNT];

#define XDS_LATENCY_BUCKETS 13                                   /* the last one is +Inf */
extern const double xds_latency_bounds[XDS_LATENCY_BUCKETS - 1]; /* seconds */

typedef struct {
    _Atomic uint64_t requests[XDS_TYPE_COUNT + 1][XDS_CODE_COUNT]; /* [COUNT] = unknown path */
    _Atomic uint64_t latency[XDS_LATENCY_BUCKETS];                 /* not cumulative */
    _Atomic uint64_t latency_sum_ns;
} __attribute__((aligned(64))) xds_worker_stats_t;

extern xds_worker_stats_t xds_worker_stats[XDS_STATS_SLOTS];

/* Count one answered request of worker `slot`: type (NULL = unknown path),
 * HTTP status, and the time from its first byte to the answer being queued. */
void xds_stats_request(int slot, const xds_type_t *type, int status, uint64_t ns);

struct sockaddr;
/* "1.2.3.4:5678" or "[::1]:5678" into buf. */
void xds_format_peer(const struct sockaddr *sa, char *buf, size_t len);

/* Monotonic nanoseconds. */
uint64_t xds_now_ns(void);

#endif
