/*
 * gen_util.c -- helpers shared by the generator modules.
 *
 * Every model value a generator reads goes through a reader here, so that
 * every mistake in a model document is reported the same way: the JSON path
 * of the offending value (items by name, array elements by index), what was
 * expected, what was found, and the source that published it.  Typos must be
 * errors, so every object is also checked for unknown keys.
 *
 * Services and listeners are parsed into plain structs once per generator;
 * the same parse runs in the clusters, endpoints and routes generators, so
 * the first one to run reports the error and the others never disagree.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gen_util.h"
#include "genout.h"

static const char *const enum_health[] = {"UNKNOWN", "HEALTHY",  "UNHEALTHY", "DRAINING",
                                          "TIMEOUT", "DEGRADED", NULL};
static const char *const enum_lb_policy[] = {"ROUND_ROBIN", "LEAST_REQUEST", "RING_HASH",
                                             "RANDOM",      "MAGLEV",        NULL};
static const char *const enum_discovery[] = {"static", "dns", "eds", NULL};

/* ---- path and errors --------------------------------------------------- */

/* Point c at item it of a collection. */
void gen_ctx_item(gen_ctx_t *c, xds_gen_out_t *out, const char *collection,
                  const xds_model_item_t *it)
{
    c->out = out;
    c->collection = collection;
    c->name = it->name ? it->name : "?";
    c->source = it->source ? it->source : "?";
    c->depth = 0;
}

static size_t path_push(gen_ctx_t *c, const char *field, size_t i, int has_index)
{
    size_t mark = c->depth;
    if (c->depth < GEN_PATH_MAX)
        c->seg[c->depth] = (gen_path_seg_t){field, i, has_index};
    c->depth++;
    return mark;
}

/* Descend into a member. */
size_t gen_path_field(gen_ctx_t *c, const char *field)
{
    return path_push(c, field, 0, 0);
}

/* Descend into element i of array member field. */
size_t gen_path_index(gen_ctx_t *c, const char *field, size_t i)
{
    return path_push(c, field, i, 1);
}

/* Go back to where a gen_path_* call left the path. */
void gen_path_restore(gen_ctx_t *c, size_t mark)
{
    c->depth = mark;
}

/* "services[greeter] (source catalog)". */
const char *gen_item_origin(const char *collection, const xds_model_item_t *it, char *buf,
                            size_t len)
{
    const char *parts[5] = {collection, "[", it->name, "] (source ", it->source};
    size_t at = 0;
    for (size_t i = 0; i < 5 && len > 1; i++) {
        size_t n = strlen(parts[i]);
        if (n > len - 1 - at)
            n = len - 1 - at;
        memcpy(buf + at, parts[i], n);
        at += n;
    }
    if (at + 1 < len)
        buf[at++] = ')';
    buf[at < len ? at : len - 1] = '\0';
    return buf;
}

const char *gen_origin(const gen_ctx_t *c, char *buf, size_t len)
{
    snprintf(buf, len, "%s[%s] (source %s)", c->collection, c->name, c->source);
    return buf;
}

/* Record "<path>[.field]: <message> (source S)". */
int gen_fail(gen_ctx_t *c, const char *field, const char *fmt, ...)
{
    char msg[XDS_ERRLEN];
    xds_buf_t path = {0};
    va_list ap;
    int rc;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    xds_buf_printf(&path, "%s[%s]", c->collection, c->name);
    for (size_t i = 0; i < c->depth && i < GEN_PATH_MAX; i++) {
        const gen_path_seg_t *s = &c->seg[i];
        if (s->field)
            xds_buf_printf(&path, ".%s", s->field);
        if (s->has_index)
            xds_buf_printf(&path, "[%zu]", s->index);
    }
    if (field)
        xds_buf_printf(&path, ".%s", field);
    rc = xds_gen_error(c->out, "%s: %s (source %s)", path.data, msg, c->source);
    xds_buf_free(&path);
    return rc;
}

/* Describe v for "got ..." (see gen_util.h). */
const char *gen_describe(const xj_t *v, char *buf, size_t len)
{
    switch (v->type) {
    case XJ_STRING:
        return xj_quote(v->u.str.s, v->u.str.len, buf, len);
    case XJ_NUMBER:
        snprintf(buf, len, "%.*s", (int)(v->u.num.len > 64 ? 64 : v->u.num.len), v->u.num.text);
        return buf;
    case XJ_BOOL:
        snprintf(buf, len, "%s", v->u.boolean ? "true" : "false");
        return buf;
    case XJ_NULL:
        snprintf(buf, len, "null");
        return buf;
    case XJ_ARRAY:
        snprintf(buf, len, "an array");
        return buf;
    case XJ_OBJECT:
    default:
        snprintf(buf, len, "an object");
        return buf;
    }
}

static int is_good_string(const xj_t *v)
{
    return v->type == XJ_STRING && v->u.str.len > 0 && strlen(v->u.str.s) == v->u.str.len;
}

/* ---- field readers ------------------------------------------------------ */

/* A required non-empty string. */
int gen_string(gen_ctx_t *c, const xj_t *obj, const char *key, const char **out)
{
    const xj_t *v = xj_get(obj, key);
    if (v == NULL)
        return gen_fail(c, NULL, "\"%s\" is missing", key);
    return gen_opt_string(c, obj, key, NULL, out);
}

/* An optional non-empty string. */
int gen_opt_string(gen_ctx_t *c, const xj_t *obj, const char *key, const char *def,
                   const char **out)
{
    const xj_t *v = xj_get(obj, key);
    char got[96];

    if (v == NULL) {
        *out = def;
        return XDS_OK;
    }
    if (!is_good_string(v))
        return gen_fail(c, key, "expected a non-empty string, got %s",
                        gen_describe(v, got, sizeof(got)));
    *out = v->u.str.s;
    return XDS_OK;
}

/* An integer in min..max. */
int gen_int(gen_ctx_t *c, const xj_t *obj, const char *key, int required, int64_t min, int64_t max,
            int64_t *out, int *given)
{
    const xj_t *v = xj_get(obj, key);
    int64_t i;
    char got[96];

    if (given)
        *given = v != NULL;
    if (v == NULL)
        return required ? gen_fail(c, NULL, "\"%s\" is missing", key) : XDS_OK;
    if (xj_int64(v, &i) != XDS_OK || i < min || i > max)
        return gen_fail(c, key, "expected an integer in %lld..%lld, got %s", (long long)min,
                        (long long)max, gen_describe(v, got, sizeof(got)));
    *out = i;
    return XDS_OK;
}

/* An optional array of non-empty strings. */
int gen_string_array(gen_ctx_t *c, const xj_t *obj, const char *key, size_t min_items,
                     const xj_t **out)
{
    const xj_t *v = xj_get(obj, key);
    char got[96];

    *out = NULL;
    if (v == NULL)
        return XDS_OK;
    if (v->type != XJ_ARRAY)
        return gen_fail(c, key, "expected an array of strings, got %s",
                        gen_describe(v, got, sizeof(got)));
    if (v->u.arr.n < min_items)
        return gen_fail(c, key, "must not be empty");
    for (size_t i = 0; i < v->u.arr.n; i++) {
        if (!is_good_string(v->u.arr.v[i])) {
            size_t mark = gen_path_index(c, key, i);
            gen_fail(c, NULL, "expected a non-empty string, got %s",
                     gen_describe(v->u.arr.v[i], got, sizeof(got)));
            gen_path_restore(c, mark);
            return XDS_ERROR;
        }
    }
    *out = v;
    return XDS_OK;
}

/* An optional enum value. */
int gen_enum(gen_ctx_t *c, const xj_t *obj, const char *key, const char *const *allowed,
             const char *def, const char **out)
{
    const xj_t *v = xj_get(obj, key);
    char got[96];
    xds_buf_t list = {0};

    if (v == NULL) {
        *out = def;
        return XDS_OK;
    }
    if (v->type == XJ_STRING) {
        for (size_t i = 0; allowed[i]; i++) {
            if (strcmp(v->u.str.s, allowed[i]) == 0 && strlen(allowed[i]) == v->u.str.len) {
                *out = allowed[i];
                return XDS_OK;
            }
        }
    }
    for (size_t i = 0; allowed[i]; i++)
        xds_buf_printf(&list, "%s%s", i ? ", " : "", allowed[i]);
    gen_fail(c, key, "expected one of %s, got %s", list.data, gen_describe(v, got, sizeof(got)));
    xds_buf_free(&list);
    return XDS_ERROR;
}

/* An optional duration, converted to proto3 JSON form. */
int gen_duration(gen_ctx_t *c, const xj_t *obj, const char *key, const char *def,
                 char out[GEN_DURATION_LEN], int *given)
{
    const xj_t *v = xj_get(obj, key);
    const char *why = NULL, *s;
    int64_t ns;
    char got[96];

    if (given)
        *given = v != NULL || def != NULL;
    if (v == NULL && def == NULL)
        return XDS_OK;
    if (v != NULL && v->type != XJ_STRING)
        return gen_fail(c, key, "expected a duration such as \"250ms\" or \"5s\", got %s",
                        gen_describe(v, got, sizeof(got)));
    s = v ? v->u.str.s : def;
    if ((v && strlen(s) != v->u.str.len) || gen_parse_duration(s, &ns, &why) != XDS_OK) {
        if (why == NULL)
            why = "expected a duration such as \"250ms\" or \"5s\"";
        return gen_fail(c, key, "%s, got %s", why, v ? gen_describe(v, got, sizeof(got)) : s);
    }
    gen_format_duration(ns, out);
    return XDS_OK;
}

/* No key of obj outside known. */
int gen_check_keys(gen_ctx_t *c, const xj_t *obj, const char *const *known)
{
    char q[96];

    for (size_t i = 0; i < obj->u.obj.n; i++) {
        const xj_member_t *m = &obj->u.obj.m[i];
        size_t k;
        for (k = 0; known[k]; k++)
            if (strlen(known[k]) == m->klen && memcmp(known[k], m->key, m->klen) == 0)
                break;
        if (known[k])
            continue;
        return gen_fail(c, NULL, "unknown field %s", xj_quote(m->key, m->klen, q, sizeof(q)));
    }
    return XDS_OK;
}

/* ---- durations ---------------------------------------------------------- */

#define NS_PER_S   1000000000LL
#define MAX_DUR_NS INT64_MAX /* ~292 years; Duration allows more, nobody needs it */

static const struct {
    const char *name;
    int exp; /* unit = mult * 10^exp ns */
    int64_t mult;
} units[] = {
    {"ns", 0, 1}, {"us", 3, 1}, {"\xc2\xb5s", 3, 1}, {"ms", 6, 1},
    {"s", 9, 1},  {"m", 9, 60}, {"h", 9, 3600},
};

static const int64_t pow10_table[] = {1,         10,         100,         1000,
                                      10000,     100000,     1000000,     10000000,
                                      100000000, 1000000000, 10000000000, 100000000000};

/* Parse a Go-style duration (see gen_util.h). */
int gen_parse_duration(const char *s, int64_t *ns, const char **why)
{
    int64_t total = 0;

    *why = NULL;
    if (s[0] == '-') {
        *why = "must not be negative";
        return XDS_ERROR;
    }
    if (strcmp(s, "0") == 0) {
        *ns = 0;
        return XDS_OK;
    }
    if (*s == '\0')
        return XDS_ERROR;
    while (*s) {
        int64_t ip = 0, fp = 0, unit_ns;
        int nint = 0, nfrac = 0;
        size_t u;

        for (; *s >= '0' && *s <= '9'; s++, nint++) {
            if (ip > (INT64_MAX - 9) / 10) {
                *why = "is out of range";
                return XDS_ERROR;
            }
            ip = ip * 10 + (*s - '0');
        }
        if (*s == '.') {
            for (s++; *s >= '0' && *s <= '9'; s++, nfrac++) {
                if (nfrac == 9) {
                    *why = "has more than 9 fractional digits";
                    return XDS_ERROR;
                }
                fp = fp * 10 + (*s - '0');
            }
            if (nfrac == 0)
                return XDS_ERROR;
        }
        if (nint == 0 && nfrac == 0)
            return XDS_ERROR;
        for (u = 0; u < xds_nelems(units); u++) {
            size_t len = strlen(units[u].name);
            /* "m" must not take the "m" of "ms" */
            if (strncmp(s, units[u].name, len) == 0 && !(len == 1 && s[0] == 'm' && s[1] == 's'))
                break;
        }
        if (u == xds_nelems(units)) {
            *why = "needs a unit (ns, us, ms, s, m, h), e.g. \"250ms\" or \"5s\"";
            if (*s != '\0')
                *why = NULL;
            return XDS_ERROR;
        }
        s += strlen(units[u].name);

        unit_ns = units[u].mult * pow10_table[units[u].exp];
        if (ip > MAX_DUR_NS / unit_ns) {
            *why = "is out of range";
            return XDS_ERROR;
        }
        int64_t part = ip * unit_ns, frac = 0;
        if (nfrac > 0) {
            /* fp / 10^nfrac units, exactly: fp < 10^nfrac <= 10^9 */
            int e = units[u].exp;
            if (e >= nfrac) {
                frac = fp * pow10_table[e - nfrac] * units[u].mult;
            } else {
                int64_t x = fp * units[u].mult;
                if (x % pow10_table[nfrac - e] != 0) {
                    *why = "is finer than a nanosecond";
                    return XDS_ERROR;
                }
                frac = x / pow10_table[nfrac - e];
            }
        }
        if (part > MAX_DUR_NS - frac || total > MAX_DUR_NS - part - frac) {
            *why = "is out of range";
            return XDS_ERROR;
        }
        total += part + frac;
    }
    *ns = total;
    return XDS_OK;
}

/* Format as proto3 JSON Duration: 0, 3, 6 or 9 fractional digits. */
void gen_format_duration(int64_t ns, char out[GEN_DURATION_LEN])
{
    long long sec = (long long)(ns / NS_PER_S);
    long nanos = (long)(ns % NS_PER_S);

    if (nanos == 0)
        snprintf(out, GEN_DURATION_LEN, "%llds", sec);
    else if (nanos % 1000000 == 0)
        snprintf(out, GEN_DURATION_LEN, "%lld.%03lds", sec, nanos / 1000000);
    else if (nanos % 1000 == 0)
        snprintf(out, GEN_DURATION_LEN, "%lld.%06lds", sec, nanos / 1000);
    else
        snprintf(out, GEN_DURATION_LEN, "%lld.%09lds", sec, nanos);
}

/* ---- addresses ---------------------------------------------------------- */

/* IPv4 or IPv6 literal. */
int gen_is_ip(const char *s)
{
    unsigned char buf[16];
    return inet_pton(AF_INET, s, buf) == 1 || inet_pton(AF_INET6, s, buf) == 1;
}

/* RFC 1123 host name: labels of letters, digits and '-' (not at either
 * end), 1..63 bytes each, 253 bytes in all; '_' allowed for SRV-style
 * names; a trailing dot allowed. */
int gen_is_hostname(const char *s)
{
    size_t len = strlen(s), label = 0;

    if (len == 0 || len > 254 || (len == 254 && s[253] != '.'))
        return 0;
    for (size_t i = 0; i < len; i++) {
        char ch = s[i];
        if (ch == '.') {
            if (label == 0 || s[i - 1] == '-')
                return 0;
            label = 0;
            continue;
        }
        int ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
                 ch == '_' || (ch == '-' && label > 0);
        if (!ok || ++label > 63)
            return 0;
    }
    return s[len - 1] != '-';
}

/* ---- services and listeners --------------------------------------------- */

static const char *const service_keys[] = {
    "name",      "domains",   "endpoints", "routes", "connect_timeout",
    "lb_policy", "discovery", "listeners", "match",  NULL};
static const char *const endpoint_keys[] = {"address", "port",   "weight", "zone",
                                            "region",  "health", NULL};
static const char *const route_keys[] = {"prefix",  "path",           "regex",
                                         "timeout", "prefix_rewrite", NULL};
static const char *const listener_keys[] = {"name", "address", "port", "match", NULL};

static int parse_endpoint(gen_ctx_t *c, const xj_t *e, gen_discovery_t disc, gen_endpoint_t *ep)
{
    char got[96];
    int given;

    if (e->type != XJ_OBJECT)
        return gen_fail(c, NULL, "expected an object, got %s", gen_describe(e, got, sizeof(got)));
    if (gen_check_keys(c, e, endpoint_keys) != XDS_OK ||
        gen_string(c, e, "address", &ep->address) != XDS_OK)
        return XDS_ERROR;
    if (!gen_is_ip(ep->address)) {
        xj_quote(ep->address, strlen(ep->address), got, sizeof(got));
        if (!gen_is_hostname(ep->address))
            return gen_fail(c, "address", "expected an IP address or a host name, got %s", got);
        if (disc != GEN_DISCOVERY_DNS)
            return gen_fail(c, "address",
                            "%s is not an IP address; use \"discovery\": \"dns\" for host names",
                            got);
    }
    if (gen_int(c, e, "port", 1, 1, 65535, &ep->port, NULL) != XDS_OK ||
        gen_int(c, e, "weight", 0, 1, 4294967295LL, &ep->weight, &given) != XDS_OK ||
        gen_opt_string(c, e, "zone", NULL, &ep->zone) != XDS_OK ||
        gen_opt_string(c, e, "region", NULL, &ep->region) != XDS_OK ||
        gen_enum(c, e, "health", enum_health, NULL, &ep->health) != XDS_OK)
        return XDS_ERROR;
    if (!given)
        ep->weight = 0;
    return XDS_OK;
}

static int parse_route(gen_ctx_t *c, const xj_t *r, gen_route_t *rt)
{
    static const char *const kinds[] = {"prefix", "path", "regex"};
    char got[96];
    int n = 0, given;

    if (r->type != XJ_OBJECT)
        return gen_fail(c, NULL, "expected an object, got %s", gen_describe(r, got, sizeof(got)));
    if (gen_check_keys(c, r, route_keys) != XDS_OK)
        return XDS_ERROR;
    for (int k = 0; k < 3; k++) {
        if (xj_get(r, kinds[k]) == NULL)
            continue;
        if (n++ > 0)
            return gen_fail(c, NULL, "only one of \"prefix\", \"path\" or \"regex\" may be given");
        if (gen_string(c, r, kinds[k], &rt->value) != XDS_OK)
            return XDS_ERROR;
        rt->match = (gen_match_t)k;
    }
    if (n == 0)
        return gen_fail(c, NULL, "one of \"prefix\", \"path\" or \"regex\" is required");
    if (rt->match != GEN_MATCH_REGEX && rt->value[0] != '/')
        return gen_fail(c, kinds[rt->match], "must start with \"/\", got %s",
                        xj_quote(rt->value, strlen(rt->value), got, sizeof(got)));
    if (gen_duration(c, r, "timeout", NULL, rt->timeout, &given) != XDS_OK ||
        gen_opt_string(c, r, "prefix_rewrite", NULL, &rt->prefix_rewrite) != XDS_OK)
        return XDS_ERROR;
    if (!given)
        rt->timeout[0] = '\0';
    return XDS_OK;
}

/* Check and parse one service (see gen_util.h). */
int gen_service_parse(xds_gen_out_t *out, const xds_model_item_t *it, gen_service_t *svc)
{
    gen_ctx_t c;
    const xj_t *s = it->item, *arr;
    const char *disc;
    char got[96];
    size_t mark;

    memset(svc, 0, sizeof(*svc));
    svc->item = it;
    svc->name = it->name;
    gen_ctx_item(&c, out, "services", it);
    if (gen_check_keys(&c, s, service_keys) != XDS_OK ||
        gen_string_array(&c, s, "domains", 1, &svc->domains) != XDS_OK ||
        gen_string_array(&c, s, "listeners", 0, &svc->listeners) != XDS_OK ||
        gen_duration(&c, s, "connect_timeout", "5s", svc->connect_timeout, NULL) != XDS_OK ||
        gen_enum(&c, s, "lb_policy", enum_lb_policy, NULL, &svc->lb_policy) != XDS_OK ||
        gen_enum(&c, s, "discovery", enum_discovery, "static", &disc) != XDS_OK)
        return XDS_ERROR;
    svc->discovery = strcmp(disc, "dns") == 0   ? GEN_DISCOVERY_DNS
                     : strcmp(disc, "eds") == 0 ? GEN_DISCOVERY_EDS
                                                : GEN_DISCOVERY_STATIC;

    arr = xj_get(s, "endpoints");
    if (arr != NULL && arr->type != XJ_ARRAY)
        return gen_fail(&c, "endpoints", "expected an array, got %s",
                        gen_describe(arr, got, sizeof(got)));
    if (arr != NULL && arr->u.arr.n > 0) {
        svc->endpoints = xds_calloc(arr->u.arr.n, sizeof(gen_endpoint_t));
        for (size_t i = 0; i < arr->u.arr.n; i++, svc->nendpoints++) {
            mark = gen_path_index(&c, "endpoints", i);
            if (parse_endpoint(&c, arr->u.arr.v[i], svc->discovery, &svc->endpoints[i]) != XDS_OK)
                return XDS_ERROR;
            gen_path_restore(&c, mark);
        }
    }

    arr = xj_get(s, "routes");
    if (arr != NULL && arr->type != XJ_ARRAY)
        return gen_fail(&c, "routes", "expected an array, got %s",
                        gen_describe(arr, got, sizeof(got)));
    /* A virtual host without routes answers 404 to everything: surely a
     * mistake, so say so instead of serving it. */
    if (arr != NULL && arr->u.arr.n == 0)
        return gen_fail(&c, "routes",
                        "must not be empty (leave it out for one route with prefix \"/\")");
    if (arr == NULL) {
        svc->routes = xds_calloc(1, sizeof(gen_route_t));
        svc->routes[0].match = GEN_MATCH_PREFIX;
        svc->routes[0].value = "/";
        svc->nroutes = 1;
    } else if (arr->u.arr.n > 0) {
        svc->routes = xds_calloc(arr->u.arr.n, sizeof(gen_route_t));
        for (size_t i = 0; i < arr->u.arr.n; i++, svc->nroutes++) {
            mark = gen_path_index(&c, "routes", i);
            if (parse_route(&c, arr->u.arr.v[i], &svc->routes[i]) != XDS_OK)
                return XDS_ERROR;
            gen_path_restore(&c, mark);
        }
    }
    return XDS_OK;
}

typedef struct {
    const xds_model_t *m; /* only compared: it may be gone when the cache is freed */
    size_t n;
    gen_service_t *svc;
    signed char *state; /* 0 not parsed yet, 1 valid, -1 invalid */
} svc_cache_t;

static void svc_cache_free(void *p)
{
    svc_cache_t *c = p;
    for (size_t i = 0; c && i < c->n; i++)
        if (c->state[i])
            gen_service_free(&c->svc[i]);
    if (c) {
        free(c->svc);
        free(c->state);
        free(c);
    }
}

const gen_service_t *gen_service_get(xds_gen_out_t *out, const xds_model_t *m, size_t i)
{
    svc_cache_t *c = out->gen_cache;
    if (out->gen_cache_free == NULL && c != NULL) {
        /* A node group's build: the whole model's services, parsed (and all
         * valid) by its build; i is a place in the group's filtered model. */
        size_t k = m->services.items[i].index;
        return k < c->n && c->state[k] == 1 ? &c->svc[k] : NULL;
    }
    if (c == NULL || c->m != m) {
        if (out->gen_cache_free)
            out->gen_cache_free(out->gen_cache);
        size_t n = m->services.n ? m->services.n : 1;
        c = xds_calloc(1, sizeof(*c));
        c->m = m;
        c->n = m->services.n;
        c->svc = xds_calloc(n, sizeof(gen_service_t));
        c->state = xds_calloc(n, 1);
        out->gen_cache = c;
        out->gen_cache_free = svc_cache_free;
    }
    if (c->state[i] == 0)
        c->state[i] = gen_service_parse(out, &m->services.items[i], &c->svc[i]) == XDS_OK ? 1 : -1;
    return c->state[i] == 1 ? &c->svc[i] : NULL;
}

/* Free what gen_service_parse allocated. */
void gen_service_free(gen_service_t *svc)
{
    free(svc->endpoints);
    free(svc->routes);
    svc->endpoints = NULL;
    svc->routes = NULL;
    svc->nendpoints = svc->nroutes = 0;
}

/* Check and parse one listener. */
int gen_listener_parse(xds_gen_out_t *out, const xds_model_item_t *it, gen_listener_t *l)
{
    gen_ctx_t c;
    char got[96];

    memset(l, 0, sizeof(*l));
    l->item = it;
    l->name = it->name;
    gen_ctx_item(&c, out, "listeners", it);
    if (gen_check_keys(&c, it->item, listener_keys) != XDS_OK ||
        gen_opt_string(&c, it->item, "address", "0.0.0.0", &l->address) != XDS_OK)
        return XDS_ERROR;
    if (!gen_is_ip(l->address))
        return gen_fail(&c, "address", "expected an IP address, got %s",
                        xj_quote(l->address, strlen(l->address), got, sizeof(got)));
    return gen_int(&c, it->item, "port", 1, 1, 65535, &l->port, NULL);
}

/* ---- shared output pieces ------------------------------------------------ */

/* REST ConfigSource pointing at the xDS cluster. */
xj_t *gen_rest_config_source(const xds_model_t *m)
{
    const char *cluster = m->opts.xds_cluster ? m->opts.xds_cluster : "xds_cluster";
    int64_t ms = m->opts.refresh_delay_ms > 0 ? m->opts.refresh_delay_ms : 1000;
    char delay[GEN_DURATION_LEN];
    xj_t *cs = xj_object(), *api;

    if (ms > INT64_MAX / 1000000)
        ms = INT64_MAX / 1000000;
    gen_format_duration(ms * 1000000, delay);
    xj_object_add(cs, "resource_api_version", xj_string("V3"));
    api = xj_object_add(cs, "api_config_source", xj_object());
    xj_object_add(api, "api_type", xj_string("REST"));
    xj_object_add(api, "transport_api_version", xj_string("V3"));
    xj_array_push(xj_object_add(api, "cluster_names", xj_array()), xj_string(cluster));
    xj_object_add(api, "refresh_delay", xj_string(delay));
    return cs;
}

typedef struct {
    const gen_endpoint_t *ep;
    size_t index;
    int priority;
} ep_ref_t;

static int cmp_opt(const char *a, const char *b)
{
    if (a == NULL || b == NULL)
        return (a != NULL) - (b != NULL); /* absent sorts first */
    return strcmp(a, b);
}

static int cmp_locality(const ep_ref_t *a, const ep_ref_t *b)
{
    if (a->priority != b->priority)
        return a->priority - b->priority;
    int c = cmp_opt(a->ep->region, b->ep->region);
    return c ? c : cmp_opt(a->ep->zone, b->ep->zone);
}

static int cmp_ep_ref(const void *pa, const void *pb)
{
    const ep_ref_t *a = pa, *b = pb;
    int c = cmp_locality(a, b);
    if (c)
        return c;
    return (a->index > b->index) - (a->index < b->index);
}

static xj_t *lb_endpoint(const gen_endpoint_t *ep)
{
    xj_t *lbe = xj_object();
    xj_t *sa = xj_object();

    xj_object_add(sa, "address", xj_string(ep->address));
    xj_object_add(sa, "port_value", xj_int(ep->port));
    xj_object_add(
        xj_object_add(xj_object_add(lbe, "endpoint", xj_object()), "address", xj_object()),
        "socket_address", sa);
    if (ep->health)
        xj_object_add(lbe, "health_status", xj_string(ep->health));
    if (ep->weight)
        xj_object_add(lbe, "load_balancing_weight", xj_int(ep->weight));
    return lbe;
}

/* Endpoints grouped by locality (see gen_util.h). */
static int in_zone(const gen_endpoint_t *ep, const xds_str_t *zone)
{
    return ep->zone && strlen(ep->zone) == zone->n && memcmp(ep->zone, zone->p, zone->n) == 0;
}

xj_t *gen_locality_endpoints(const gen_service_t *svc, const xds_str_t *own_zone)
{
    xj_t *arr = xj_array(), *lbes = NULL;
    ep_ref_t *refs;
    int split = 0;

    if (svc->nendpoints == 0)
        return arr;
    for (size_t i = 0; own_zone && i < svc->nendpoints && !split; i++)
        split = in_zone(&svc->endpoints[i], own_zone);
    refs = xds_malloc(svc->nendpoints * sizeof(ep_ref_t));
    for (size_t i = 0; i < svc->nendpoints; i++)
        refs[i] =
            (ep_ref_t){&svc->endpoints[i], i, split && !in_zone(&svc->endpoints[i], own_zone)};
    qsort(refs, svc->nendpoints, sizeof(ep_ref_t), cmp_ep_ref);
    for (size_t i = 0; i < svc->nendpoints; i++) {
        const gen_endpoint_t *ep = refs[i].ep;
        if (i == 0 || cmp_locality(&refs[i - 1], &refs[i]) != 0) {
            xj_t *group = xj_array_push(arr, xj_object());
            if (ep->region || ep->zone) {
                xj_t *loc = xj_object_add(group, "locality", xj_object());
                if (ep->region)
                    xj_object_add(loc, "region", xj_string(ep->region));
                if (ep->zone)
                    xj_object_add(loc, "zone", xj_string(ep->zone));
            }
            lbes = xj_object_add(group, "lb_endpoints", xj_array());
            if (split)
                xj_object_add(group, "priority", xj_int(refs[i].priority));
        }
        xj_array_push(lbes, lb_endpoint(ep));
    }
    free(refs);
    return arr;
}
