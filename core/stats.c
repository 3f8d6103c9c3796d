/*
 * stats.c -- per-worker request counters and the latency histogram behind
 * /metrics (see stats.h).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <time.h>

#include "stats.h"

const char *const xds_code_names[XDS_CODE_COUNT] = {"200", "304", "4xx", "5xx"};

const double xds_latency_bounds[XDS_LATENCY_BUCKETS - 1] = {
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0};

xds_worker_stats_t xds_worker_stats[XDS_STATS_SLOTS];

uint64_t xds_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void xds_stats_request(int slot, const xds_type_t *type, int status, uint64_t ns)
{
    xds_worker_stats_t *w = &xds_worker_stats[slot % XDS_STATS_SLOTS];
    int code = status == 200   ? XDS_CODE_200
               : status == 304 ? XDS_CODE_304
               : status < 500  ? XDS_CODE_4XX
                               : XDS_CODE_5XX;
    atomic_fetch_add_explicit(&w->requests[type ? type->id : XDS_TYPE_COUNT][code], 1,
                              memory_order_relaxed);
    double s = (double)ns / 1e9;
    size_t b = 0;
    while (b < XDS_LATENCY_BUCKETS - 1 && s > xds_latency_bounds[b])
        b++;
    atomic_fetch_add_explicit(&w->latency[b], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&w->latency_sum_ns, ns, memory_order_relaxed);
}

void xds_format_peer(const struct sockaddr *sa, char *buf, size_t len)
{
    char ip[INET6_ADDRSTRLEN] = "?";
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
        inet_ntop(AF_INET, &in->sin_addr, ip, sizeof(ip));
        snprintf(buf, len, "%s:%u", ip, ntohs(in->sin_port));
    } else if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
        inet_ntop(AF_INET6, &in6->sin6_addr, ip, sizeof(ip));
        snprintf(buf, len, "[%s]:%u", ip, ntohs(in6->sin6_port));
    } else {
        snprintf(buf, len, "unix");
    }
}
