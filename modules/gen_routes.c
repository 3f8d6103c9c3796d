/*
 * gen_routes.c -- one RouteConfiguration per listener, named after it (the
 * listener's HTTP connection manager asks for it over RDS).  It holds one
 * virtual host per service on that listener, sorted by service name: a
 * service is on the listeners it names in "listeners", or on every listener
 * when it names none.  A service on a listener must have "domains"; Envoy
 * refuses a route configuration in which a domain appears twice, so that is
 * reported here, naming both services.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "genout.h"
#include "gen_util.h"

typedef struct {
    size_t *svc; /* indexes into the sorted services */
    size_t n, cap;
} vh_list_t;

static void vh_push(vh_list_t *l, size_t s)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 8;
        l->svc = xds_realloc(l->svc, l->cap * sizeof(size_t));
    }
    l->svc[l->n++] = s;
}

static int cmp_service(const void *a, const void *b)
{
    const gen_service_t *x = a, *y = b;
    return strcmp(x->name, y->name);
}

static xj_t *route_of(const gen_service_t *svc, const gen_route_t *r)
{
    xj_t *route = xj_object(), *match, *action;

    match = xj_object_add(route, "match", xj_object());
    if (r->match == GEN_MATCH_PREFIX)
        xj_object_add(match, "prefix", xj_string(r->value));
    else if (r->match == GEN_MATCH_PATH)
        xj_object_add(match, "path", xj_string(r->value));
    else
        xj_object_add(xj_object_add(match, "safe_regex", xj_object()), "regex",
                      xj_string(r->value));
    action = xj_object_add(route, "route", xj_object());
    xj_object_add(action, "cluster", xj_string(svc->name));
    if (r->timeout[0])
        xj_object_add(action, "timeout", xj_string(r->timeout));
    if (r->prefix_rewrite)
        xj_object_add(action, "prefix_rewrite", xj_string(r->prefix_rewrite));
    return route;
}

static xj_t *virtual_host_of(const gen_service_t *svc)
{
    xj_t *vh = xj_object(), *routes;

    xj_object_add(vh, "name", xj_string(svc->name));
    xj_object_add(vh, "domains", xj_clone(svc->domains));
    routes = xj_object_add(vh, "routes", xj_array());
    for (size_t i = 0; i < svc->nroutes; i++)
        xj_array_push(routes, route_of(svc, &svc->routes[i]));
    return vh;
}

/* Put each service on its listeners' lists (svcs sorted, so lists are). */
static int place_services(const xds_model_t *m, xds_gen_out_t *out, const gen_service_t *svcs,
                          size_t ns, const xds_name_index_t *lix, vh_list_t *lists)
{
    size_t nl = m->listeners.n;

    for (size_t s = 0; s < ns; s++) {
        const gen_service_t *svc = &svcs[s];
        const xj_t *names = svc->listeners;
        gen_ctx_t c;
        char q[96];

        gen_ctx_item(&c, out, "services", svc->item);
        if (names == NULL) {
            for (size_t l = 0; l < nl; l++)
                vh_push(&lists[l], s);
        } else {
            for (size_t i = 0; i < names->u.arr.n; i++) {
                const char *name = names->u.arr.v[i]->u.str.s;
                size_t *l = xds_name_index_find(lix, name);
                size_t mark = gen_path_index(&c, "listeners", i);

                gen_describe(names->u.arr.v[i], q, sizeof(q));
                if (l == NULL && m->node != NULL) {
                    gen_path_restore(&c, mark); /* a node group without that listener */
                    continue;
                }
                if (l == NULL)
                    return gen_fail(&c, NULL, "no listener named %s", q);
                if (lists[*l].n > 0 && lists[*l].svc[lists[*l].n - 1] == s)
                    return gen_fail(&c, NULL, "listener %s is named twice", q);
                vh_push(&lists[*l], s);
                gen_path_restore(&c, mark);
            }
        }
        if (svc->domains == NULL && (names ? names->u.arr.n > 0 : nl > 0))
            return gen_fail(&c, NULL, "\"domains\" is required when the service is on a listener");
    }
    return XDS_OK;
}

/* One listener's route configuration; checks that domains are unique. */
static int route_config_of(const xds_model_item_t *lis, xds_gen_out_t *out,
                           const gen_service_t *svcs, const vh_list_t *list, xds_name_index_t *dix,
                           xj_t **rcp)
{
    xj_t *rc = xj_object(), *vhs;
    char q[96];

    *rcp = NULL;
    xj_object_add(rc, "name", xj_string(lis->name));
    vhs = xj_object_add(rc, "virtual_hosts", xj_array());
    xds_name_index_clear(dix);
    for (size_t i = 0; i < list->n; i++) {
        const gen_service_t *svc = &svcs[list->svc[i]];
        const xj_t *d = svc->domains;

        for (size_t k = 0; k < d->u.arr.n; k++) {
            size_t other;
            if (xds_name_index_put(dix, d->u.arr.v[k]->u.str.s, list->svc[i], &other))
                continue;
            gen_ctx_t c;
            gen_ctx_item(&c, out, "services", svc->item);
            gen_path_index(&c, "domains", k);
            gen_describe(d->u.arr.v[k], q, sizeof(q));
            if (other == list->svc[i])
                gen_fail(&c, NULL, "domain %s is listed twice", q);
            else
                gen_fail(&c, NULL,
                         "domain %s is also used by services[%s] (source %s) on listener \"%s\"", q,
                         svcs[other].name, svcs[other].item->source, lis->name);
            xj_free(rc);
            return XDS_ERROR;
        }
        xj_array_push(vhs, virtual_host_of(svc));
    }
    *rcp = rc;
    return XDS_OK;
}

static int generate_routes(const xds_model_t *m, xds_gen_out_t *out)
{
    size_t ns = m->services.n, nl = m->listeners.n, parsed = 0;
    gen_service_t *svcs = xds_calloc(ns ? ns : 1, sizeof(gen_service_t));
    vh_list_t *lists = xds_calloc(nl ? nl : 1, sizeof(vh_list_t));
    xds_name_index_t lix, dix;
    char origin[XDS_ERRLEN];
    int rc = XDS_ERROR;

    xds_name_index_init(&lix, nl, 0);
    xds_name_index_init(&dix, 64, 1);
    for (size_t l = 0; l < nl; l++) {
        gen_listener_t lis;
        if (gen_listener_parse(out, &m->listeners.items[l], &lis) != XDS_OK)
            goto failed;
        xds_name_index_put(&lix, lis.name, l, NULL);
    }
    /* Shallow copies of the build's parsed services (sorted below); the
     * build owns what they point to. */
    for (; parsed < ns; parsed++) {
        const gen_service_t *svc = gen_service_get(out, m, parsed);
        if (svc == NULL)
            goto failed;
        svcs[parsed] = *svc;
    }
    qsort(svcs, ns, sizeof(gen_service_t), cmp_service);
    if (place_services(m, out, svcs, ns, &lix, lists) != XDS_OK)
        goto failed;

    for (size_t l = 0; l < nl; l++) {
        const xds_model_item_t *it = &m->listeners.items[l];
        xj_t *cfg;
        if (route_config_of(it, out, svcs, &lists[l], &dix, &cfg) != XDS_OK)
            goto failed;
        snprintf(origin, sizeof(origin), "listeners[%s] (source %s)", it->name, it->source);
        if (xds_gen_add(out, XDS_TYPE_ROUTES, it->name, cfg, it, origin) != XDS_OK)
            goto failed;
    }
    rc = XDS_OK;

failed:
    for (size_t l = 0; l < nl; l++)
        free(lists[l].svc);
    free(lists);
    free(svcs);
    xds_name_index_free(&lix);
    xds_name_index_free(&dix);
    return rc;
}

/* The routes generator, listed in core/modules.c. */
/* A route configuration carries the virtual hosts of the services on its
 * listener: a group that does not match them all needs its own. */
static int routes_scope(const xds_model_t *m)
{
    (void)m;
    return XDS_GEN_PER_SET;
}

const xds_generator_t xds_gen_routes = {"routes", generate_routes, routes_scope, NULL};
