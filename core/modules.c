/*
 * modules.c -- the compiled-in generator modules and the order they run in.
 * Like nginx's objs/ngx_modules.c, this is the one place that knows them
 * all: adding a generator means a gen_*.c in modules/ and a line here.
 * Order matters only for which error a broken model reports first (the
 * clusters generator checks every service) and for the origin order in
 * "defined twice" messages; the output is sorted by name afterwards.
 */
#include "model.h"

extern const xds_generator_t xds_gen_clusters;
extern const xds_generator_t xds_gen_endpoints;
extern const xds_generator_t xds_gen_listeners;
extern const xds_generator_t xds_gen_routes;
extern const xds_generator_t xds_gen_raw;

/* The generators in the order xds_generate runs them. */
const xds_generator_t *const xds_generators[] = {
    &xds_gen_clusters, &xds_gen_endpoints, &xds_gen_listeners, &xds_gen_routes, &xds_gen_raw,
};

const size_t xds_ngenerators = xds_nelems(xds_generators);
