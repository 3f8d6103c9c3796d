/*
 * request.c -- a streaming DiscoveryRequest parser (its own JSON scanner,
 * below, feeding parser callbacks).  It
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

#include "json.h"
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

/* ---- the scanner -------------------------------------------------------------
 *
 * A strict JSON (RFC 8259) recursive-descent scanner that feeds the
 * callbacks above, in place of yajl: one pass over the body, strings handed
 * over in place unless they hold escapes, and the bulk of a request -- the
 * node's extensions, metadata and build details, skipped -- scanned eight
 * bytes at a time.  It validates everything it passes over (UTF-8 included:
 * no overlong forms, surrogates or code points past U+10FFFF; \u escapes
 * decoded, surrogate pairs joined, a lone surrogate refused), so a body is
 * refused or accepted whole, and says where: "malformed JSON at line 3,
 * column 9: ...".  Nesting is limited to MAX_DEPTH levels. */

#define MAX_DEPTH 512

typedef struct {
    const unsigned char *p, *end;
    pstate_t *ps;
    xds_buf_t tmp;           /* a string with escapes, decoded */
    const char *why;         /* a syntax error (NULL: see ps->error) */
    const unsigned char *at; /* where */
} lex_t;

static int lex_fail(lex_t *lx, const char *why)
{
    if (lx->why == NULL && lx->ps->error == NULL) {
        lx->why = why;
        lx->at = lx->p;
    }
    return 0;
}

static void skip_ws(lex_t *lx)
{
    while (lx->p < lx->end && (*lx->p == ' ' || *lx->p == '\n' || *lx->p == '\r' || *lx->p == '\t'))
        lx->p++;
}

/* Length of the well-formed UTF-8 sequence at p (lead byte >= 0x80), or 0. */
static size_t utf8_len(const unsigned char *p, const unsigned char *end)
{
    unsigned char c = p[0];
    size_t n = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 0;
    if (n == 0 || c > 0xf4 || (c & 0xfe) == 0xc0 || (size_t)(end - p) < n)
        return 0;
    for (size_t i = 1; i < n; i++)
        if ((p[i] & 0xc0) != 0x80)
            return 0;
    if (n == 3 && ((c == 0xe0 && p[1] < 0xa0) || (c == 0xed && p[1] >= 0xa0)))
        return 0; /* overlong, or a surrogate */
    if (n == 4 && ((c == 0xf0 && p[1] < 0x90) || (c == 0xf4 && p[1] >= 0x90)))
        return 0; /* overlong, or past U+10FFFF */
    return n;
}

static int hex4(const unsigned char *p, unsigned *v)
{
    *v = 0;
    for (int i = 0; i < 4; i++) {
        unsigned char c = p[i];
        unsigned d = c >= '0' && c <= '9'   ? (unsigned)(c - '0')
                     : c >= 'a' && c <= 'f' ? (unsigned)(c - 'a' + 10)
                     : c >= 'A' && c <= 'F' ? (unsigned)(c - 'A' + 10)
                                            : 16;
        if (d == 16)
            return 0;
        *v = *v << 4 | d;
    }
    return 1;
}

static void put_utf8(xds_buf_t *b, unsigned cp)
{
    unsigned char u[4];
    size_t n;
    if (cp < 0x80) {
        u[0] = (unsigned char)cp;
        n = 1;
    } else if (cp < 0x800) {
        u[0] = (unsigned char)(0xc0 | cp >> 6);
        u[1] = (unsigned char)(0x80 | (cp & 0x3f));
        n = 2;
    } else if (cp < 0x10000) {
        u[0] = (unsigned char)(0xe0 | cp >> 12);
        u[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
        u[2] = (unsigned char)(0x80 | (cp & 0x3f));
        n = 3;
    } else {
        u[0] = (unsigned char)(0xf0 | cp >> 18);
        u[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3f));
        u[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
        u[3] = (unsigned char)(0x80 | (cp & 0x3f));
        n = 4;
    }
    xds_buf_append(b, u, n);
}

/* The string at lx->p (on its opening quote): *s, *n get its bytes, in the
 * body when it has no escapes, else decoded into lx->tmp. */
static int lex_string(lex_t *lx, const unsigned char **s, size_t *n)
{
    const unsigned char *p = ++lx->p, *end = lx->end, *run = p;
    int decoded = 0;

    lx->tmp.len = 0;
    for (;;) {
        p = xj_plain_end(p, end, 1); /* up to a quote, escape or UTF-8 */
        if (p >= end) {
            lx->p = p;
            return lex_fail(lx, "unterminated string");
        }
        unsigned char c = *p;
        if (c == '"')
            break;
        if (c < 0x20) {
            lx->p = p;
            return lex_fail(lx, "control character in string");
        }
        if (c >= 0x80) {
            size_t k = utf8_len(p, end);
            if (k == 0) {
                lx->p = p;
                return lex_fail(lx, "invalid UTF-8 in string");
            }
            p += k;
            continue;
        }
        if (c != '\\') {
            p++;
            continue;
        }
        /* an escape: decode the string from here on */
        decoded = 1;
        xds_buf_append(&lx->tmp, run, (size_t)(p - run));
        if (end - p < 2) {
            lx->p = p;
            return lex_fail(lx, "unterminated string");
        }
        static const char simple[] = "\"\\/bfnrt", plain[] = "\"\\/\b\f\n\r\t";
        const char *k = p[1] ? strchr(simple, p[1]) : NULL;
        if (k) {
            xds_buf_append(&lx->tmp, &plain[k - simple], 1);
            p += 2;
        } else if (p[1] == 'u') {
            unsigned cp, lo;
            if (end - p < 6 || !hex4(p + 2, &cp)) {
                lx->p = p;
                return lex_fail(lx, "invalid \\u escape");
            }
            p += 6;
            if (cp >= 0xd800 && cp < 0xdc00) { /* a high surrogate: its pair must follow */
                if (end - p < 6 || p[0] != '\\' || p[1] != 'u' || !hex4(p + 2, &lo) ||
                    lo < 0xdc00 || lo > 0xdfff) {
                    lx->p = p;
                    return lex_fail(lx, "unpaired surrogate in \\u escape");
                }
                cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
                p += 6;
            } else if (cp >= 0xdc00 && cp < 0xe000) {
                lx->p = p - 6;
                return lex_fail(lx, "unpaired surrogate in \\u escape");
            }
            put_utf8(&lx->tmp, cp);
        } else {
            lx->p = p;
            return lex_fail(lx, "invalid escape in string");
        }
        run = p;
    }
    if (decoded) {
        xds_buf_append(&lx->tmp, run, (size_t)(p - run));
        *s = (const unsigned char *)lx->tmp.data;
        *n = lx->tmp.len;
    } else {
        *s = lx->p;
        *n = (size_t)(p - lx->p);
    }
    lx->p = p + 1;
    return 1;
}

/* Move *p past one or more digits; without one, fail there. */
static int digits(lex_t *lx, const unsigned char **p)
{
    const unsigned char *q = *p;
    if (q >= lx->end || *q < '0' || *q > '9') {
        lx->p = q;
        return lex_fail(lx, "invalid number");
    }
    while (q < lx->end && *q >= '0' && *q <= '9')
        q++;
    *p = q;
    return 1;
}

/* Check the number at lx->p and move past it. */
static int lex_number_scan(lex_t *lx)
{
    const unsigned char *p = lx->p, *end = lx->end;
    if (p < end && *p == '-')
        p++;
    if (p < end && *p == '0')
        p++;
    else if (!digits(lx, &p))
        return 0;
    if (p < end && *p == '.') {
        p++;
        if (!digits(lx, &p))
            return 0;
    }
    if (p < end && (*p == 'e' || *p == 'E')) {
        p++;
        if (p < end && (*p == '+' || *p == '-'))
            p++;
        if (!digits(lx, &p))
            return 0;
    }
    lx->p = p;
    return 1;
}

static int lex_literal(lex_t *lx, const char *word, size_t n)
{
    if ((size_t)(lx->end - lx->p) < n || memcmp(lx->p, word, n) != 0)
        return lex_fail(lx, "unexpected character");
    lx->p += n;
    return 1;
}

/* The value at lx->p.  quiet: nothing in it is used (an unknown field, the
 * node's extensions), so it is only checked, without the callbacks; a
 * value is also quiet when the parser's state says so. */
static int lex_value(lex_t *lx, int depth, int quiet)
{
    const unsigned char *s, *start;
    size_t n;
    pstate_t *ps = lx->ps;

    if (!quiet)
        quiet = ps->pending == F_SKIP && ps->depth > 0 && cur_ctx(ps) != X_NAMES;
    skip_ws(lx);
    if (lx->p >= lx->end)
        return lex_fail(lx, "premature end of input");
    if (depth > MAX_DEPTH)
        return lex_fail(lx, "nesting too deep");
    unsigned char open = *lx->p;
    switch (open) {
    case '{':
    case '[':
        break;
    case '"':
        return lex_string(lx, &s, &n) && (quiet || cb_string(ps, s, n));
    case 't':
        return lex_literal(lx, "true", 4) && (quiet || cb_bool(ps, 1));
    case 'f':
        return lex_literal(lx, "false", 5) && (quiet || cb_bool(ps, 0));
    case 'n':
        return lex_literal(lx, "null", 4) && (quiet || cb_null(ps));
    default:
        if (open != '-' && (open < '0' || open > '9'))
            return lex_fail(lx, "unexpected character");
        start = lx->p;
        return lex_number_scan(lx) &&
               (quiet || cb_number(ps, (const char *)start, (size_t)(lx->p - start)));
    }

    /* An object or an array. */
    unsigned char close = open == '{' ? '}' : ']';
    lx->p++;
    if (!quiet && !(open == '{' ? cb_start_map(ps) : cb_start_array(ps)))
        return 0;
    skip_ws(lx);
    if (lx->p < lx->end && *lx->p == close) {
        lx->p++;
        return quiet || cb_end(ps);
    }
    for (;;) {
        if (open == '{') {
            skip_ws(lx);
            if (lx->p >= lx->end)
                return lex_fail(lx, "premature end of input");
            if (*lx->p != '"')
                return lex_fail(lx, "expected a member name");
            if (!lex_string(lx, &s, &n) || !(quiet || cb_map_key(ps, s, n)))
                return 0;
            skip_ws(lx);
            if (lx->p >= lx->end || *lx->p != ':')
                return lex_fail(lx, lx->p >= lx->end ? "premature end of input" : "expected ':'");
            lx->p++;
        }
        if (!lex_value(lx, depth + 1, quiet))
            return 0;
        skip_ws(lx);
        if (lx->p >= lx->end)
            return lex_fail(lx, "premature end of input");
        if (*lx->p == ',') {
            lx->p++;
            continue;
        }
        if (*lx->p != close)
            return lex_fail(lx, close == '}' ? "expected ',' or '}'" : "expected ',' or ']'");
        lx->p++;
        return quiet || cb_end(ps);
    }
}

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

    lex_t lx = {
        (const unsigned char *)body, (const unsigned char *)body + len, &ps, {0}, NULL, NULL};
    int ok = lex_value(&lx, 1, 0);
    if (ok) {
        skip_ws(&lx);
        if (lx.p < lx.end)
            ok = lex_fail(&lx, "trailing garbage after the request");
    }
    xds_buf_free(&lx.tmp);
    xds_buf_free(&ps.mpath);
    if (!ok) {
        if (ps.error) {
            snprintf(err, errlen, "%s", ps.error);
        } else {
            size_t line, col;
            line_col(body, (size_t)(lx.at - (const unsigned char *)body), &line, &col);
            snprintf(err, errlen, "malformed JSON at line %zu, column %zu: %s", line, col, lx.why);
        }
        return XDS_ERROR;
    }

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
