/*
 * gen_listeners.c -- one Envoy Listener per model listener: a single filter
 * chain with the HTTP connection manager, which fetches its routes over RDS
 * (the route configuration named after the listener, made by gen_routes.c)
 * from the xDS cluster and ends its filter chain with the router.
 *
 * Two listeners on the same address and port would make Envoy refuse the
 * whole update, so that is reported here, naming both.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "genout.h"
#include "gen_util.h"

#define HCM_TYPE                                                                                   \
    "type.googleapis.com/"                                                                         \
    "envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager"
#define ROUTER_TYPE "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"

static xj_t *listener_of(const xds_model_t *m, const gen_listener_t *l)
{
    xj_t *lis = xj_object(), *sa, *hcm, *rds, *filter, *router;

    xj_object_add(lis, "name", xj_string(l->name));
    sa = xj_object_add(xj_object_add(lis, "address", xj_object()), "socket_address", xj_object());
    xj_object_add(sa, "address", xj_string(l->address));
    xj_object_add(sa, "port_value", xj_int(l->port));

    filter = xj_object();
    xj_object_add(filter, "name", xj_string("envoy.filters.network.http_connection_manager"));
    hcm = xj_object_add(filter, "typed_config", xj_object());
    xj_object_add(hcm, "@type", xj_string(HCM_TYPE));
    xj_object_add(hcm, "stat_prefix", xj_string(l->name));
    rds = xj_object_add(hcm, "rds", xj_object());
    xj_object_add(rds, "route_config_name", xj_string(l->name));
    xj_object_add(rds, "config_source", gen_rest_config_source(m));
    router = xj_array_push(xj_object_add(hcm, "http_filters", xj_array()), xj_object());
    xj_object_add(router, "name", xj_string("envoy.filters.http.router"));
    xj_object_add(xj_object_add(router, "typed_config", xj_object()), "@type",
                  xj_string(ROUTER_TYPE));

    xj_t *chain = xj_array_push(xj_object_add(lis, "filter_chains", xj_array()), xj_object());
    xj_array_push(xj_object_add(chain, "filters", xj_array()), filter);
    return lis;
}

static int generate_listeners(const xds_model_t *m, xds_gen_out_t *out)
{
    size_t n = m->listeners.n;
    gen_listener_t *ls = xds_calloc(n ? n : 1, sizeof(gen_listener_t));
    char **addrs = xds_calloc(n ? n : 1, sizeof(char *));
    xds_name_index_t ix;
    char origin[XDS_ERRLEN];
    int rc = XDS_OK;

    xds_name_index_init(&ix, n, 1);
    for (size_t i = 0; i < n && rc == XDS_OK; i++) {
        const xds_model_item_t *it = &m->listeners.items[i];
        xds_buf_t b = {0};
        size_t first;

        if (gen_listener_parse(out, it, &ls[i]) != XDS_OK) {
            rc = XDS_ERROR;
            break;
        }
        if (strchr(ls[i].address, ':'))
            xds_buf_printf(&b, "[%s]:%lld", ls[i].address, (long long)ls[i].port);
        else
            xds_buf_printf(&b, "%s:%lld", ls[i].address, (long long)ls[i].port);
        addrs[i] = xds_buf_detach(&b, NULL);
        if (!xds_name_index_put(&ix, addrs[i], i, &first)) {
            rc = xds_gen_error(out,
                               "listeners[%s]: address %s is already used by listeners[%s] "
                               "(source %s) (source %s)",
                               it->name, addrs[i], ls[first].name, ls[first].item->source,
                               it->source);
            break;
        }
        snprintf(origin, sizeof(origin), "listeners[%s] (source %s)", it->name, it->source);
        rc = xds_gen_add(out, XDS_TYPE_LISTENERS, ls[i].name, listener_of(m, &ls[i]), it, origin);
    }
    xds_name_index_free(&ix);
    for (size_t i = 0; i < n; i++)
        free(addrs[i]);
    free(addrs);
    free(ls);
    return rc;
}

/* The listeners generator, listed in core/modules.c. */
const xds_generator_t xds_gen_listeners = {"listeners", generate_listeners, NULL, NULL};
