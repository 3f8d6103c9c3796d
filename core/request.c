/*
 * request.c -- a streaming DiscoveryRequest parser on yajl's event API.  It
 * copies only the strings xdsd uses into a small arena and skips the rest
 * (Envoy sends its whole node with dozens of extensions on every poll), so a
 * poll costs one pass over the body and no tree.
 *
 * The parser keeps, per nesting level, what the enclosing container is
 * (the request, its node, the node's locality, ...); a key is only looked
 * up in the few containers we care about, everything else is skipped.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yajl/yajl_parse.h>

#include "request.h"

/* What the value after the last key is. */
enum field {
    F_SKIP = 0,
    F_VERSION,
    F_TYPE_URL,
    F_NAMES,
    F_NODE,
    F_NODE_ID,
    F_NODE_CLUSTER,
    F_LOCALITY,
    F_REGION,
    F_ZONE,
    F_SUB_ZONE,
    F_UA_NAME,
    F_UA_VERSION,
    F_UA_BUILD,
    F_UA_BUILD_VERSION,
    F_MAJOR,
    F_MINOR,
    F_PATCH,
    F_METADATA,
    F_META_LEAF,
    F_COUNT
};

/* What a container is. */
enum ctx { X_OTHER = 0, X_REQUEST, X_NAMES, X_NODE, X_LOCALITY, X_BUILD, X_BUILD_VERSION, X_META };

#define MAX_TRACKED_DEPTH 8

typedef struct {
    xds_request_t *r;
    int depth;                       /* 0 outside the top-level object */
    enum ctx ctx[MAX_TRACKED_DEPTH]; /* ctx[d]: container at depth d (1-based) */
    enum field pending;              /* meaning of the value after the last key */
    size_t off[F_COUNT], len[F_COUNT];
    unsigned char set[F_COUNT];
    const char *error;               /* type error found by a callback */
    xds_buf_t mpath;                 /* metadata path of the pending leaf: "a.b" */
    size_t mplen[MAX_TRACKED_DEPTH]; /* mpath's length at each X_META depth */
} pstate_t;

static enum ctx cur_ctx(const pstate_t *ps)
{
    return ps->depth > 0 && ps->depth < MAX_TRACKED_DEPTH ? ps->ctx[ps->depth] : X_OTHER;
}

static void store(pstate_t *ps, enum field f, const void *s, size_t n)
{
    ps->off[f] = ps->r->arena.len;
    ps->len[f] = n;
    ps->set[f] = 1;
    xds_buf_append(&ps->r->arena, s, n);
}

enum kind { K_NULL, K_STRING, K_SCALAR, K_MAP, K_ARRAY };

/* One scalar leaf of node.metadata: its path and value into the arena. */
static void meta_leaf(pstate_t *ps, const void *v, size_t n)
{
    xds_request_t *r = ps->r;
    if (r->nmoffs == r->capmoffs) {
        r->capmoffs = r->capmoffs ? r->capmoffs * 2 : 8;
        r->moffs = xds_realloc(r->moffs, r->capmoffs * 4 * sizeof(size_t));
    }
    size_t *o = &r->moffs[4 * r->nmoffs++];
    o[0] = r->arena.len;
    o[1] = ps->mpath.len;
    xds_buf_append(&r->arena, ps->mpath.data, ps->mpath.len);
    o[2] = r->arena.len;
    o[3] = n;
    xds_buf_append(&r->arena, v, n);
}

/* Type checks for a value starting at the current position.  Returns 0 (stop
 * parsing) with ps->error set when a field we use has the wrong JSON type;
 * null is proto3 JSON's "default" and always allowed. */
static int on_value_start(pstate_t *ps, enum kind k)
{
    enum ctx c = cur_ctx(ps);
    if (ps->depth == 0) {
        if (k != K_MAP)
            ps->error = "the request must be a JSON object";
    } else if (c == X_NAMES) {
        if (k != K_STRING)
            ps->error = "resource_names must be an array of strings";
    } else if (c == X_REQUEST && k != K_NULL) {
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

static int cb_null(void *ctx)
{
    pstate_t *ps = ctx;
    if (!on_value_start(ps, K_NULL))
        return 0;
    ps->pending = F_SKIP;
    return 1;
}

static int cb_bool(void *ctx, int b)
{
    pstate_t *ps = ctx;
    if (!on_value_start(ps, K_SCALAR))
        return 0;
    if (ps->pending == F_META_LEAF)
        meta_leaf(ps, b ? "true" : "false", b ? 4 : 5);
    ps->pending = F_SKIP;
    return 1;
}

static int cb_number(void *ctx, const char *s, size_t n)
{
    pstate_t *ps = ctx;
    if (!on_value_start(ps, K_SCALAR))
        return 0;
    if (ps->pending == F_MAJOR || ps->pending == F_MINOR || ps->pending == F_PATCH)
        store(ps, ps->pending, s, n);
    else if (ps->pending == F_META_LEAF)
        meta_leaf(ps, s, n);
    ps->pending = F_SKIP;
    return 1;
}

static int cb_string(void *ctx, const unsigned char *s, size_t n)
{
    pstate_t *ps = ctx;
    xds_request_t *r = ps->r;

    if (!on_value_start(ps, K_STRING))
        return 0;
    if (cur_ctx(ps) == X_NAMES) {
        if (r->noffs == r->capoffs) {
            r->capoffs = r->capoffs ? r->capoffs * 2 : 16;
            r->offs = xds_realloc(r->offs, r->capoffs * 2 * sizeof(size_t));
        }
        r->offs[2 * r->noffs] = r->arena.len;
        r->offs[2 * r->noffs + 1] = n;
        xds_buf_append(&r->arena, s, n);
        r->noffs++;
        return 1;
    }
    switch (ps->pending) {
    case F_VERSION:
    case F_TYPE_URL:
    case F_NODE_ID:
    case F_NODE_CLUSTER:
    case F_REGION:
    case F_ZONE:
    case F_SUB_ZONE:
    case F_UA_NAME:
    case F_UA_VERSION:
        store(ps, ps->pending, s, n);
        break;
    case F_META_LEAF:
        meta_leaf(ps, s, n);
        break;
    default:
        break;
    }
    ps->pending = F_SKIP;
    return 1;
}

static int cb_map_key(void *ctx, const unsigned char *k, size_t n)
{
    pstate_t *ps = ctx;
#define KEY_IS(lit) (n == sizeof(lit) - 1 && memcmp(k, lit, n) == 0)
    enum field f = F_SKIP;
    switch (cur_ctx(ps)) {
    case X_REQUEST:
        f = KEY_IS("version_info")     ? F_VERSION
            : KEY_IS("type_url")       ? F_TYPE_URL
            : KEY_IS("resource_names") ? F_NAMES
            : KEY_IS("node")           ? F_NODE
                                       : F_SKIP;
        break;
    case X_NODE:
        f = KEY_IS("id")                         ? F_NODE_ID
            : KEY_IS("cluster")                  ? F_NODE_CLUSTER
            : KEY_IS("locality")                 ? F_LOCALITY
            : KEY_IS("user_agent_name")          ? F_UA_NAME
            : KEY_IS("user_agent_version")       ? F_UA_VERSION
            : KEY_IS("user_agent_build_version") ? F_UA_BUILD
            : KEY_IS("metadata")                 ? F_METADATA
                                                 : F_SKIP;
        break;
    case X_META:
        ps->mpath.len = ps->mplen[ps->depth];
        if (ps->mpath.len)
            xds_buf_append(&ps->mpath, ".", 1);
        xds_buf_append(&ps->mpath, k, n);
        f = F_META_LEAF;
        break;
    case X_LOCALITY:
        f = KEY_IS("region")     ? F_REGION
            : KEY_IS("zone")     ? F_ZONE
            : KEY_IS("sub_zone") ? F_SUB_ZONE
                                 : F_SKIP;
        break;
    case X_BUILD:
        f = KEY_IS("version") ? F_UA_BUILD_VERSION : F_SKIP;
        break;
    case X_BUILD_VERSION:
        f = KEY_IS("major_number")   ? F_MAJOR
            : KEY_IS("minor_number") ? F_MINOR
            : KEY_IS("patch")        ? F_PATCH
                                     : F_SKIP;
        break;
    default:
        break;
    }
#undef KEY_IS
    ps->pending = f;
    return 1;
}

static void push(pstate_t *ps, enum ctx c)
{
    ps->depth++;
    if (ps->depth < MAX_TRACKED_DEPTH) {
        ps->ctx[ps->depth] = c;
        if (c == X_META) /* the path so far: "" for metadata itself */
            ps->mplen[ps->depth] = ps->pending == F_METADATA ? 0 : ps->mpath.len;
    }
    ps->pending = F_SKIP;
}

static int cb_start_map(void *ctx)
{
    pstate_t *ps = ctx;
    if (!on_value_start(ps, K_MAP))
        return 0;
    enum ctx c = ps->depth == 0                      ? X_REQUEST
                 : ps->pending == F_NODE             ? X_NODE
                 : ps->pending == F_LOCALITY         ? X_LOCALITY
                 : ps->pending == F_UA_BUILD         ? X_BUILD
                 : ps->pending == F_UA_BUILD_VERSION ? X_BUILD_VERSION
                 : ps->pending == F_METADATA         ? X_META
                 : ps->pending == F_META_LEAF        ? X_META
                                                     : X_OTHER;
    push(ps, c);
    return 1;
}

static int cb_start_array(void *ctx)
{
    pstate_t *ps = ctx;
    if (!on_value_start(ps, K_ARRAY))
        return 0;
    push(ps, cur_ctx(ps) == X_REQUEST && ps->pending == F_NAMES ? X_NAMES : X_OTHER);
    return 1;
}

static int cb_end(void *ctx)
{
    pstate_t *ps = ctx;
    ps->depth--;
    ps->pending = F_SKIP;
    return 1;
}

static const yajl_callbacks callbacks = {
    .yajl_null = cb_null,
    .yajl_boolean = cb_bool,
    .yajl_number = cb_number,
    .yajl_string = cb_string,
    .yajl_start_map = cb_start_map,
    .yajl_map_key = cb_map_key,
    .yajl_end_map = cb_end,
    .yajl_start_array = cb_start_array,
    .yajl_end_array = cb_end,
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
        xds_buf_free(&ps.mpath);
        return XDS_ERROR;
    }
    yajl_free(h);
    xds_buf_free(&ps.mpath);

    /* The arena has stopped growing: turn offsets into pointers. */
    if (ps.set[F_MAJOR] && !ps.set[F_UA_VERSION]) {
        /* "1.28.0" from {"major_number":1,"minor_number":28} (patch absent). */
        xds_buf_t v = {0};
        enum field parts[] = {F_MAJOR, F_MINOR, F_PATCH};
        for (size_t i = 0; i < 3; i++) {
            if (i)
                xds_buf_append(&v, ".", 1);
            if (ps.set[parts[i]])
                xds_buf_append(&v, r->arena.data + ps.off[parts[i]], ps.len[parts[i]]);
            else
                xds_buf_append(&v, "0", 1);
        }
        store(&ps, F_UA_VERSION, v.data, v.len);
        xds_buf_free(&v);
    }
    const char *a = r->arena.data;
#define FIELD(f) (ps.set[f] ? (xds_str_t){a + ps.off[f], ps.len[f]} : (xds_str_t){"", 0})
    r->has_version = ps.set[F_VERSION];
    r->version_info = FIELD(F_VERSION);
    r->has_type_url = ps.set[F_TYPE_URL];
    r->type_url = FIELD(F_TYPE_URL);
    r->node_id = FIELD(F_NODE_ID);
    r->node_cluster = FIELD(F_NODE_CLUSTER);
    r->region = FIELD(F_REGION);
    r->zone = FIELD(F_ZONE);
    r->sub_zone = FIELD(F_SUB_ZONE);
    r->user_agent_name = FIELD(F_UA_NAME);
    r->user_agent_version = FIELD(F_UA_VERSION);
#undef FIELD
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
    if (r->nmoffs) {
        r->meta = xds_malloc(r->nmoffs * sizeof(xds_kv_t));
        for (size_t i = 0; i < r->nmoffs; i++) {
            const size_t *o = &r->moffs[4 * i];
            r->meta[i] = (xds_kv_t){{a + o[0], o[1]}, {a + o[2], o[3]}};
        }
        qsort(r->meta, r->nmoffs, sizeof(xds_kv_t), cmp_str); /* by key: key comes first */
        size_t n = 1; /* a key given twice (invalid proto3 JSON): keep one */
        for (size_t i = 1; i < r->nmoffs; i++)
            if (cmp_str(&r->meta[i].key, &r->meta[n - 1].key) != 0)
                r->meta[n++] = r->meta[i];
        r->nmeta = n;
    }
    return XDS_OK;
}

void xds_request_free(xds_request_t *r)
{
    xds_buf_free(&r->arena);
    free(r->offs);
    free(r->names);
    free(r->moffs);
    free(r->meta);
    memset(r, 0, sizeof(*r));
}
