/*
 * request.c -- a streaming DiscoveryRequest parser on yajl's event API.  It
 * copies only the strings xdsd uses into a small arena and skips the rest
 * (Envoy sends its whole node with dozens of extensions on every poll), so a
 * poll costs one pass over the body and no tree.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yajl/yajl_parse.h>

#include "request.h"

/* What the next value at the current position means to us. */
enum field {
    F_SKIP = 0,
    F_VERSION,
    F_TYPE_URL,
    F_NAMES,
    F_NODE,
    F_NODE_ID,
    F_NODE_CLUSTER,
};

typedef struct {
    xds_request_t *r;
    int depth;          /* 0 outside the top-level object */
    enum field pending; /* meaning of the value after the last key */
    int in_names;       /* inside resource_names (depth 2) */
    int in_node;        /* inside node (depth 2) */
    size_t ver_off, type_off, id_off, id_len, cl_off, cl_len;
    const char *error; /* type error found by a callback */
} pstate_t;

static size_t arena_add(xds_request_t *r, const unsigned char *s, size_t n)
{
    size_t off = r->arena.len;
    xds_buf_append(&r->arena, s, n);
    return off;
}

enum kind { K_NULL, K_STRING, K_SCALAR, K_MAP, K_ARRAY };

/* Type checks for a value starting at the current position.  Returns 0 (stop
 * parsing) with ps->error set when a field we use has the wrong JSON type;
 * null is proto3 JSON's "default" and always allowed. */
static int on_value_start(pstate_t *ps, enum kind k)
{
    if (ps->depth == 0) {
        if (k != K_MAP)
            ps->error = "the request must be a JSON object";
    } else if (ps->in_names && ps->depth == 2) {
        if (k != K_STRING)
            ps->error = "resource_names must be an array of strings";
    } else if (ps->depth == 1 && k != K_NULL) {
        switch (ps->pending) {
        case F_VERSION:
            if (k != K_STRING)
                ps->error = "version_info must be a string";
            break;
        case F_TYPE_URL:
            if (k != K_STRING)
                ps->error = "type_url must be a string";
            break;
        case F_NAMES:
            if (k != K_ARRAY)
                ps->error = "resource_names must be an array of strings";
            break;
        case F_NODE:
            if (k != K_MAP)
                ps->error = "node must be an object";
            break;
        default:
            break;
        }
    }
    return ps->error == NULL;
}

static void value_done(pstate_t *ps)
{
    if (ps->depth == 1 || (ps->in_node && ps->depth == 2))
        ps->pending = F_SKIP;
}

static int cb_null(void *ctx)
{
    pstate_t *ps = ctx;
    if (!on_value_start(ps, K_NULL))
        return 0;
    value_done(ps);
    return 1;
}

static int cb_scalar(void *ctx)
{
    pstate_t *ps = ctx;
    if (!on_value_start(ps, K_SCALAR))
        return 0;
    value_done(ps);
    return 1;
}

static int cb_bool(void *ctx, int b)
{
    (void)b;
    return cb_scalar(ctx);
}

static int cb_number(void *ctx, const char *s, size_t n)
{
    (void)s;
    (void)n;
    return cb_scalar(ctx);
}

static int cb_string(void *ctx, const unsigned char *s, size_t n)
{
    pstate_t *ps = ctx;
    xds_request_t *r = ps->r;

    if (!on_value_start(ps, K_STRING))
        return 0;
    if (ps->in_names && ps->depth == 2) {
        if (r->noffs == r->capoffs) {
            r->capoffs = r->capoffs ? r->capoffs * 2 : 16;
            r->offs = xds_realloc(r->offs, r->capoffs * 2 * sizeof(size_t));
        }
        r->offs[2 * r->noffs] = arena_add(r, s, n);
        r->offs[2 * r->noffs + 1] = n;
        r->noffs++;
        return 1;
    }
    if (ps->depth == 1) {
        if (ps->pending == F_VERSION) {
            ps->ver_off = arena_add(r, s, n);
            r->version_info.n = n;
            r->has_version = 1;
        } else if (ps->pending == F_TYPE_URL) {
            ps->type_off = arena_add(r, s, n);
            r->type_url.n = n;
            r->has_type_url = 1;
        }
    } else if (ps->in_node && ps->depth == 2) {
        if (ps->pending == F_NODE_ID) {
            ps->id_off = arena_add(r, s, n);
            ps->id_len = n;
        } else if (ps->pending == F_NODE_CLUSTER) {
            ps->cl_off = arena_add(r, s, n);
            ps->cl_len = n;
        }
    }
    value_done(ps);
    return 1;
}

static int cb_map_key(void *ctx, const unsigned char *k, size_t n)
{
    pstate_t *ps = ctx;
#define KEY_IS(lit) (n == sizeof(lit) - 1 && memcmp(k, lit, n) == 0)
    if (ps->depth == 1) {
        if (KEY_IS("version_info"))
            ps->pending = F_VERSION;
        else if (KEY_IS("type_url"))
            ps->pending = F_TYPE_URL;
        else if (KEY_IS("resource_names"))
            ps->pending = F_NAMES;
        else if (KEY_IS("node"))
            ps->pending = F_NODE;
        else
            ps->pending = F_SKIP;
    } else if (ps->in_node && ps->depth == 2) {
        if (KEY_IS("id"))
            ps->pending = F_NODE_ID;
        else if (KEY_IS("cluster"))
            ps->pending = F_NODE_CLUSTER;
        else
            ps->pending = F_SKIP;
    }
#undef KEY_IS
    return 1;
}

static int cb_start_map(void *ctx)
{
    pstate_t *ps = ctx;
    if (!on_value_start(ps, K_MAP))
        return 0;
    if (ps->depth == 1 && ps->pending == F_NODE)
        ps->in_node = 1;
    else if (ps->depth == 0)
        ps->pending = F_SKIP;
    ps->depth++;
    return 1;
}

static int cb_end_map(void *ctx)
{
    pstate_t *ps = ctx;
    ps->depth--;
    if (ps->depth == 1 && ps->in_node)
        ps->in_node = 0;
    value_done(ps);
    return 1;
}

static int cb_start_array(void *ctx)
{
    pstate_t *ps = ctx;
    if (!on_value_start(ps, K_ARRAY))
        return 0;
    if (ps->depth == 1 && ps->pending == F_NAMES)
        ps->in_names = 1;
    ps->depth++;
    return 1;
}

static int cb_end_array(void *ctx)
{
    pstate_t *ps = ctx;
    ps->depth--;
    if (ps->depth == 1)
        ps->in_names = 0;
    value_done(ps);
    return 1;
}

static const yajl_callbacks callbacks = {
    cb_null,      cb_bool,    NULL,       NULL,           cb_number,    cb_string,
    cb_start_map, cb_map_key, cb_end_map, cb_start_array, cb_end_array,
};

static int cmp_str(const void *a, const void *b)
{
    const xds_str_t *x = a, *y = b;
    size_t m = x->n < y->n ? x->n : y->n;
    int c = memcmp(x->p, y->p, m);
    return c ? c : (x->n > y->n) - (x->n < y->n);
}

static void line_col(const char *body, size_t off, size_t *line, size_t *col)
{
    *line = 1;
    *col = 1;
    for (size_t i = 0; i < off; i++) {
        if (body[i] == '\n') {
            (*line)++;
            *col = 1;
        } else {
            (*col)++;
        }
    }
}

int xds_request_parse(xds_request_t *r, const char *body, size_t len, char *err, size_t errlen)
{
    pstate_t ps = {0};
    ps.r = r;

    if (len == 0) {
        snprintf(err, errlen, "empty request body");
        return XDS_ERROR;
    }

    yajl_handle h = yajl_alloc(&callbacks, NULL, &ps);
    yajl_status st = yajl_parse(h, (const unsigned char *)body, len);
    if (st == yajl_status_ok)
        st = yajl_complete_parse(h);
    if (st != yajl_status_ok) {
        if (ps.error) {
            snprintf(err, errlen, "%s", ps.error);
        } else {
            size_t line, col;
            unsigned char *msg = yajl_get_error(h, 0, NULL, 0);
            line_col(body, yajl_get_bytes_consumed(h), &line, &col);
            snprintf(err, errlen, "malformed JSON at line %zu, column %zu: %s", line, col,
                     (const char *)msg);
            yajl_free_error(h, msg);
        }
        yajl_free(h);
        return XDS_ERROR;
    }
    yajl_free(h);

    /* The arena has stopped growing: turn offsets into pointers. */
    const char *a = r->arena.data;
    if (r->has_version)
        r->version_info.p = a + ps.ver_off;
    if (r->has_type_url)
        r->type_url.p = a + ps.type_off;
    if (ps.id_len)
        r->node_id = (xds_str_t){a + ps.id_off, ps.id_len};
    if (ps.cl_len)
        r->node_cluster = (xds_str_t){a + ps.cl_off, ps.cl_len};
    if (r->noffs) {
        r->names = xds_malloc(r->noffs * sizeof(xds_str_t));
        for (size_t i = 0; i < r->noffs; i++)
            r->names[i] = (xds_str_t){a + r->offs[2 * i], r->offs[2 * i + 1]};
        qsort(r->names, r->noffs, sizeof(xds_str_t), cmp_str);
        size_t n = 1;
        for (size_t i = 1; i < r->noffs; i++)
            if (cmp_str(&r->names[i], &r->names[n - 1]) != 0)
                r->names[n++] = r->names[i];
        r->nnames = n;
    }
    return XDS_OK;
}

void xds_request_free(xds_request_t *r)
{
    xds_buf_free(&r->arena);
    free(r->offs);
    free(r->names);
    memset(r, 0, sizeof(*r));
}
