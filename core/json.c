/*
 * json.c -- the JSON value tree: a parser built on yajl's event API and our
 * own compact serializer.
 *
 * The parser feeds the whole text to yajl in one call and builds the tree
 * from the callbacks.  Every value records the line and column (1-based;
 * columns count UTF-8 characters) where it began: after each callback we
 * remember where yajl stopped (yajl_get_bytes_consumed), the next value
 * starts at the first byte after that which is not whitespace or the ',' /
 * ':' separator, and a cursor converts offsets to line/column by scanning
 * forward from the last converted offset only, so parsing stays O(n).
 * Duplicate keys are found with a small hash set per open object once it has
 * more than a handful of members, so huge objects do not go quadratic.
 *
 * Strings are checked for strict UTF-8 after decoding (yajl's own check lets
 * overlong forms and surrogates through); Envoy would reject them later.
 *
 * The serializer writes members in insertion order with no whitespace, so a
 * tree always gives the same bytes: snapshot versions are hashes of them.
 */
#include <assert.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yajl/yajl_parse.h>

#include "json.h"

/* Objects below this many members are checked for duplicates by a scan. */
#define XJ_DUPSET_MIN 8

/* ---------------------------------------------------------------------- */
/* Values                                                                  */

/* ---- arenas: bump allocation in large chunks ---- */

typedef struct xj_chunk {
    struct xj_chunk *next;
    size_t used, cap;
    _Alignas(16) char data[];
} xj_chunk_t;

struct xj_arena {
    xj_chunk_t *head;
};

static _Thread_local xj_arena_t *cur_arena;

xj_arena_t *xj_arena_new(void)
{
    return xds_calloc(1, sizeof(xj_arena_t));
}

void xj_arena_free(xj_arena_t *a)
{
    if (a == NULL)
        return;
    for (xj_chunk_t *c = a->head, *next; c; c = next) {
        next = c->next;
        free(c);
    }
    free(a);
}

xj_arena_t *xj_arena_use(xj_arena_t *a)
{
    xj_arena_t *prev = cur_arena;
    cur_arena = a;
    return prev;
}

static void *arena_alloc(xj_arena_t *a, size_t n)
{
    n = (n + 15) & ~(size_t)15;
    xj_chunk_t *c = a->head;
    if (c == NULL || c->cap - c->used < n) {
        size_t cap = n > 60 * 1024 ? n : 64 * 1024 - sizeof(xj_chunk_t);
        c = xds_malloc(sizeof(xj_chunk_t) + cap);
        c->used = 0;
        c->cap = cap;
        c->next = a->head;
        a->head = c;
    }
    void *p = c->data + c->used;
    c->used += n;
    return p;
}

/* Memory for a new value's parts: from this thread's arena, if any. */
static void *xj_mem(size_t n)
{
    return cur_arena ? arena_alloc(cur_arena, n) : xds_malloc(n);
}

static char *xj_dup(const char *s, size_t n)
{
    char *d = xj_mem(n + 1);
    memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

/* Grow the item vector of container owner from old_n to new_n bytes. */
static void *xj_grow(const xj_t *owner, void *old, size_t old_n, size_t new_n)
{
    if (!owner->arena)
        return xds_realloc(old, new_n);
    if (cur_arena == NULL) {
        fprintf(stderr, "xdsd: BUG: an arena JSON value grows outside its arena\n");
        abort();
    }
    void *p = arena_alloc(cur_arena, new_n);
    if (old_n)
        memcpy(p, old, old_n);
    return p;
}

static xj_t *xj_new(xj_type_t type)
{
    xj_t *v;
    if (cur_arena) {
        v = arena_alloc(cur_arena, sizeof(*v));
        memset(v, 0, sizeof(*v));
        v->arena = 1;
    } else {
        v = xds_calloc(1, sizeof(*v));
    }
    v->type = type;
    return v;
}

void xj_free(xj_t *v)
{
    if (v == NULL || v->arena)
        return;
    switch (v->type) {
    case XJ_NUMBER:
        free(v->u.num.text);
        break;
    case XJ_STRING:
        free(v->u.str.s);
        break;
    case XJ_ARRAY:
        for (size_t i = 0; i < v->u.arr.n; i++)
            xj_free(v->u.arr.v[i]);
        free(v->u.arr.v);
        break;
    case XJ_OBJECT:
        for (size_t i = 0; i < v->u.obj.n; i++) {
            free(v->u.obj.m[i].key);
            xj_free(v->u.obj.m[i].val);
        }
        free(v->u.obj.m);
        break;
    case XJ_NULL:
    case XJ_BOOL:
        break;
    }
    free(v);
}

xj_t *xj_clone(const xj_t *v)
{
    if (v == NULL)
        return NULL;
    xj_t *c = xj_new(v->type);
    c->line = v->line;
    c->col = v->col;
    switch (v->type) {
    case XJ_BOOL:
        c->u.boolean = v->u.boolean;
        break;
    case XJ_NUMBER:
        c->u.num.text = xj_dup(v->u.num.text, v->u.num.len);
        c->u.num.len = v->u.num.len;
        break;
    case XJ_STRING:
        c->u.str.s = xj_dup(v->u.str.s, v->u.str.len);
        c->u.str.len = v->u.str.len;
        break;
    case XJ_ARRAY:
        c->u.arr.cap = c->u.arr.n = v->u.arr.n;
        c->u.arr.v = xj_mem(v->u.arr.n * sizeof(xj_t *));
        for (size_t i = 0; i < v->u.arr.n; i++)
            c->u.arr.v[i] = xj_clone(v->u.arr.v[i]);
        break;
    case XJ_OBJECT:
        c->u.obj.cap = c->u.obj.n = v->u.obj.n;
        c->u.obj.m = xj_mem(v->u.obj.n * sizeof(xj_member_t));
        for (size_t i = 0; i < v->u.obj.n; i++) {
            const xj_member_t *m = &v->u.obj.m[i];
            c->u.obj.m[i].key = xj_dup(m->key, m->klen);
            c->u.obj.m[i].klen = m->klen;
            c->u.obj.m[i].val = xj_clone(m->val);
        }
        break;
    case XJ_NULL:
        break;
    }
    return c;
}

xj_t *xj_null(void)
{
    return xj_new(XJ_NULL);
}

xj_t *xj_bool(int b)
{
    xj_t *v = xj_new(XJ_BOOL);
    v->u.boolean = b != 0;
    return v;
}

xj_t *xj_number_text(const char *t, size_t n)
{
    xj_t *v = xj_new(XJ_NUMBER);
    v->u.num.text = xj_dup(t, n);
    v->u.num.len = n;
    return v;
}

xj_t *xj_int(int64_t i)
{
    char buf[24], *p = buf + sizeof(buf);
    uint64_t u = i < 0 ? 0 - (uint64_t)i : (uint64_t)i; /* no overflow on INT64_MIN */
    do {
        *--p = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (i < 0)
        *--p = '-';
    return xj_number_text(p, (size_t)(buf + sizeof(buf) - p));
}

xj_t *xj_double(double d)
{
    if (!isfinite(d))
        return xj_null();
    char buf[40];
    int n = 0;
    for (int prec = 15; prec <= 17; prec++) {
        n = snprintf(buf, sizeof(buf), "%.*g", prec, d);
        if (strtod(buf, NULL) == d)
            break;
    }
    return xj_number_text(buf, (size_t)n);
}

xj_t *xj_stringn(const char *s, size_t n)
{
    xj_t *v = xj_new(XJ_STRING);
    v->u.str.s = xj_dup(s, n);
    v->u.str.len = n;
    return v;
}

xj_t *xj_string(const char *s)
{
    return xj_stringn(s, strlen(s));
}

xj_t *xj_object(void)
{
    return xj_new(XJ_OBJECT);
}

xj_t *xj_array(void)
{
    return xj_new(XJ_ARRAY);
}

/* Append a member that takes ownership of key; returns it. */
static xj_member_t *xj_object_append(xj_t *obj, char *key, size_t klen, xj_t *val)
{
    if (obj->u.obj.n == obj->u.obj.cap) {
        size_t cap = obj->u.obj.cap ? obj->u.obj.cap * 2 : 4;
        obj->u.obj.m = xj_grow(obj, obj->u.obj.m, obj->u.obj.cap * sizeof(xj_member_t),
                               cap * sizeof(xj_member_t));
        obj->u.obj.cap = cap;
    }
    xj_member_t *m = &obj->u.obj.m[obj->u.obj.n++];
    m->key = key;
    m->klen = klen;
    m->val = val;
    return m;
}

static xj_member_t *xj_find(const xj_t *obj, const char *key, size_t *index)
{
    if (obj == NULL || obj->type != XJ_OBJECT)
        return NULL;
    size_t klen = strlen(key);
    for (size_t i = 0; i < obj->u.obj.n; i++) {
        xj_member_t *m = &obj->u.obj.m[i];
        if (m->klen == klen && memcmp(m->key, key, klen) == 0) {
            if (index)
                *index = i;
            return m;
        }
    }
    return NULL;
}

xj_t *xj_object_put(xj_t *obj, const char *key, xj_t *val)
{
    assert(obj != NULL && obj->type == XJ_OBJECT);
    xj_member_t *m = xj_find(obj, key, NULL);
    if (m != NULL) {
        xj_free(m->val);
        m->val = val;
        return val;
    }
    xj_object_append(obj, xj_dup(key, strlen(key)), strlen(key), val);
    return val;
}

xj_t *xj_object_add(xj_t *obj, const char *key, xj_t *val)
{
    assert(obj != NULL && obj->type == XJ_OBJECT);
    xj_object_append(obj, xj_dup(key, strlen(key)), strlen(key), val);
    return val;
}

xj_t *xj_array_push(xj_t *arr, xj_t *val)
{
    assert(arr != NULL && arr->type == XJ_ARRAY);
    if (arr->u.arr.n == arr->u.arr.cap) {
        size_t cap = arr->u.arr.cap ? arr->u.arr.cap * 2 : 4;
        arr->u.arr.v =
            xj_grow(arr, arr->u.arr.v, arr->u.arr.cap * sizeof(xj_t *), cap * sizeof(xj_t *));
        arr->u.arr.cap = cap;
    }
    arr->u.arr.v[arr->u.arr.n++] = val;
    return val;
}

xj_t *xj_get(const xj_t *obj, const char *key)
{
    xj_member_t *m = xj_find(obj, key, NULL);
    return m ? m->val : NULL;
}

xj_t *xj_take(xj_t *obj, const char *key)
{
    size_t i;
    xj_member_t *m = xj_find(obj, key, &i);
    if (m == NULL)
        return NULL;
    xj_t *val = m->val;
    if (!obj->arena)
        free(m->key);
    memmove(&obj->u.obj.m[i], &obj->u.obj.m[i + 1], (obj->u.obj.n - i - 1) * sizeof(xj_member_t));
    obj->u.obj.n--;
    return val;
}

const char *xj_str(const xj_t *v)
{
    return v != NULL && v->type == XJ_STRING ? v->u.str.s : NULL;
}

int xj_int64(const xj_t *v, int64_t *out)
{
    if (v == NULL || v->type != XJ_NUMBER)
        return XDS_ERROR;
    const char *p = v->u.num.text, *end = p + v->u.num.len;
    int neg = 0;
    if (p < end && *p == '-') {
        neg = 1;
        p++;
    }
    if (p == end)
        return XDS_ERROR;
    uint64_t limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    uint64_t acc = 0;
    for (; p < end; p++) {
        if (*p < '0' || *p > '9')
            return XDS_ERROR;
        unsigned d = (unsigned)(*p - '0');
        if (acc > (limit - d) / 10)
            return XDS_ERROR;
        acc = acc * 10 + d;
    }
    /* -(INT64_MAX + 1) without signed overflow */
    *out = neg ? (acc == 0 ? 0 : -(int64_t)(acc - 1) - 1) : (int64_t)acc;
    return XDS_OK;
}

int xj_number(const xj_t *v, double *out)
{
    if (v == NULL || v->type != XJ_NUMBER)
        return XDS_ERROR;
    *out = strtod(v->u.num.text, NULL);
    return XDS_OK;
}

const char *xj_type_name(xj_type_t t)
{
    switch (t) {
    case XJ_NULL:
        return "null";
    case XJ_BOOL:
        return "boolean";
    case XJ_NUMBER:
        return "number";
    case XJ_STRING:
        return "string";
    case XJ_ARRAY:
        return "array";
    case XJ_OBJECT:
        return "object";
    }
    return "unknown";
}

/* ---------------------------------------------------------------------- */
/* Serialization                                                           */

/* Appends for the serializer: the capacity check inline, no NUL after
 * every piece (the public functions terminate once at the end). */
static inline void put(xds_buf_t *b, const void *p, size_t n)
{
    if (b->len + n + 1 > b->cap)
        xds_buf_reserve(b, n);
    memcpy(b->data + b->len, p, n);
    b->len += n;
}

static inline void put1(xds_buf_t *b, char c)
{
    if (b->len + 2 > b->cap)
        xds_buf_reserve(b, 1);
    b->data[b->len++] = c;
}

static void write_string(xds_buf_t *out, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *p = (const unsigned char *)s, *end = p + n;

    put1(out, '"');
    while (p < end) {
        const unsigned char *run = p;
        p = xj_plain_end(p, end, 0);
        if (p > run)
            put(out, run, (size_t)(p - run));
        if (p == end)
            break;
        char esc[6] = {'\\', 0, 0, 0, 0, 0};
        size_t elen = 2;
        switch (*p) {
        case '"':
            esc[1] = '"';
            break;
        case '\\':
            esc[1] = '\\';
            break;
        case '\n':
            esc[1] = 'n';
            break;
        case '\r':
            esc[1] = 'r';
            break;
        case '\t':
            esc[1] = 't';
            break;
        case '\b':
            esc[1] = 'b';
            break;
        case '\f':
            esc[1] = 'f';
            break;
        default:
            esc[1] = 'u';
            esc[2] = '0';
            esc[3] = '0';
            esc[4] = hex[*p >> 4];
            esc[5] = hex[*p & 0xf];
            elen = 6;
            break;
        }
        put(out, esc, elen);
        p++;
    }
    put1(out, '"');
}

static void terminate(xds_buf_t *out)
{
    if (out->len + 1 > out->cap)
        xds_buf_reserve(out, 0);
    out->data[out->len] = '\0';
}

void xj_write_string(xds_buf_t *out, const char *s, size_t n)
{
    write_string(out, s, n);
    terminate(out);
}

static void serialize(const xj_t *v, xds_buf_t *out);

static void write_members(const xj_t *obj, xds_buf_t *out, int comma, const char *skip_key,
                          size_t skip_len)
{
    for (size_t i = 0; i < obj->u.obj.n; i++) {
        const xj_member_t *m = &obj->u.obj.m[i];
        if (skip_key != NULL && m->klen == skip_len && memcmp(m->key, skip_key, skip_len) == 0)
            continue;
        if (comma)
            put1(out, ',');
        comma = 1;
        write_string(out, m->key, m->klen);
        put1(out, ':');
        serialize(m->val, out);
    }
}

static void serialize(const xj_t *v, xds_buf_t *out)
{
    if (v == NULL) {
        put(out, "null", 4);
        return;
    }
    switch (v->type) {
    case XJ_NULL:
        put(out, "null", 4);
        break;
    case XJ_BOOL:
        if (v->u.boolean)
            put(out, "true", 4);
        else
            put(out, "false", 5);
        break;
    case XJ_NUMBER:
        put(out, v->u.num.text, v->u.num.len);
        break;
    case XJ_STRING:
        write_string(out, v->u.str.s, v->u.str.len);
        break;
    case XJ_ARRAY:
        put1(out, '[');
        for (size_t i = 0; i < v->u.arr.n; i++) {
            if (i)
                put1(out, ',');
            serialize(v->u.arr.v[i], out);
        }
        put1(out, ']');
        break;
    case XJ_OBJECT:
        put1(out, '{');
        write_members(v, out, 0, NULL, 0);
        put1(out, '}');
        break;
    }
}

void xj_serialize(const xj_t *v, xds_buf_t *out)
{
    serialize(v, out);
    terminate(out);
}

void xj_serialize_any(const xj_t *obj, const char *type_url, xds_buf_t *out)
{
    put(out, "{\"@type\":", 9);
    write_string(out, type_url, strlen(type_url));
    if (obj != NULL && obj->type == XJ_OBJECT)
        write_members(obj, out, 1, "@type", 5);
    put1(out, '}');
    terminate(out);
}

/* ---------------------------------------------------------------------- */
/* Parsing                                                                 */

/* What the last callback was: decides which separator may follow it. */
typedef enum { XJ_EV_NONE = 0, XJ_EV_OPEN, XJ_EV_KEY, XJ_EV_VALUE } xj_event_t;

/* One open array or object.  dupset is an open-addressing set of member
 * indexes + 1 (0 = empty slot), built once an object grows past
 * XJ_DUPSET_MIN members. */
typedef struct {
    xj_t *v;
    uint32_t *dupset;
    size_t dupcap;
} xj_frame_t;

typedef struct {
    const unsigned char *text;
    size_t len;
    yajl_handle h;
    unsigned max_depth;

    xj_t *root;
    xj_frame_t *stack;
    size_t depth, stack_cap;

    size_t last_end; /* offset where the previous callback's token ended */
    xj_event_t last; /* kind of the previous callback */
    int finishing;   /* inside yajl_complete_parse: offsets are not ours */
    size_t cur_off;  /* line/column cursor: cur_line/cur_col is at cur_off */
    uint32_t cur_line;
    uint32_t cur_col;

    char *err; /* set by a callback that cancels the parse */
    size_t errlen;
} xj_parser_t;

static int xj_is_ws(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static size_t xj_skip_ws(const xj_parser_t *p, size_t off)
{
    while (off < p->len && xj_is_ws(p->text[off]))
        off++;
    return off;
}

/* Offset of the token that follows the previous callback's token: skip
 * whitespace and the one separator that is expected there. */
static size_t xj_next_token(const xj_parser_t *p)
{
    size_t off = xj_skip_ws(p, p->last_end);
    if (off < p->len) {
        unsigned char c = p->text[off];
        if ((p->last == XJ_EV_KEY && c == ':') ||
            (p->last == XJ_EV_VALUE && p->depth > 0 && c == ','))
            off = xj_skip_ws(p, off + 1);
    }
    return off;
}

/* Move the cursor to off (forward only, except after an error) and return
 * the line and column there. */
static void xj_position(xj_parser_t *p, size_t off, uint32_t *line, uint32_t *col)
{
    if (off > p->len)
        off = p->len;
    if (off < p->cur_off) {
        p->cur_off = 0;
        p->cur_line = p->cur_col = 1;
    }
    const unsigned char *s = p->text;
    for (size_t i = p->cur_off; i < off; i++) {
        if (s[i] == '\n') {
            p->cur_line++;
            p->cur_col = 1;
        } else if ((s[i] & 0xC0) != 0x80) {
            p->cur_col++;
        }
    }
    p->cur_off = off;
    *line = p->cur_line;
    *col = p->cur_col;
}

/* Note where the token of the current callback ended. */
static void xj_token_done(xj_parser_t *p, xj_event_t ev)
{
    p->last_end = p->finishing ? p->len : yajl_get_bytes_consumed(p->h);
    p->last = ev;
}

static int xj_fail(xj_parser_t *p, size_t off, const char *fmt, ...) XDS_PRINTF(3, 4);

static int xj_fail(xj_parser_t *p, size_t off, const char *fmt, ...)
{
    uint32_t line, col;
    xj_position(p, off, &line, &col);
    int n = snprintf(p->err, p->errlen, "line %" PRIu32 ", column %" PRIu32 ": ", line, col);
    if (n >= 0 && (size_t)n < p->errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(p->err + n, p->errlen - (size_t)n, fmt, ap);
        va_end(ap);
    }
    return 0; /* cancels the parse */
}

/* Strict UTF-8 (RFC 3629): no overlong forms, no surrogates, <= U+10FFFF.
 * Returns the offset of the first invalid sequence, or n. */
static size_t xj_utf8_check(const unsigned char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        unsigned char c = s[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t need;
        unsigned char lo = 0x80, hi = 0xBF;
        if (c >= 0xC2 && c <= 0xDF) {
            need = 1;
        } else if (c >= 0xE0 && c <= 0xEF) {
            need = 2;
            if (c == 0xE0)
                lo = 0xA0;
            else if (c == 0xED)
                hi = 0x9F;
        } else if (c >= 0xF0 && c <= 0xF4) {
            need = 3;
            if (c == 0xF0)
                lo = 0x90;
            else if (c == 0xF4)
                hi = 0x8F;
        } else {
            return i;
        }
        if (n - i <= need || s[i + 1] < lo || s[i + 1] > hi)
            return i;
        for (size_t k = 2; k <= need; k++)
            if ((s[i + k] & 0xC0) != 0x80)
                return i;
        i += need + 1;
    }
    return n;
}

static int xj_utf8_valid(const unsigned char *s, size_t n)
{
    return xj_utf8_check(s, n) == n;
}

static uint64_t xj_hash(const char *s, size_t n)
{
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 1099511628211ULL;
    }
    return h;
}

/* Insert member index i of f->v into f->dupset (which has room). */
static void xj_dupset_insert(xj_frame_t *f, size_t i)
{
    const xj_member_t *m = &f->v->u.obj.m[i];
    size_t mask = f->dupcap - 1;
    size_t slot = (size_t)xj_hash(m->key, m->klen) & mask;
    while (f->dupset[slot] != 0)
        slot = (slot + 1) & mask;
    f->dupset[slot] = (uint32_t)(i + 1);
}

static void xj_dupset_grow(xj_frame_t *f)
{
    free(f->dupset);
    f->dupcap = f->dupcap ? f->dupcap * 2 : 32;
    f->dupset = xds_calloc(f->dupcap, sizeof(uint32_t));
    for (size_t i = 0; i < f->v->u.obj.n; i++)
        xj_dupset_insert(f, i);
}

/* 1 when the open object of f already has key. */
static int xj_frame_has_key(xj_frame_t *f, const char *key, size_t klen)
{
    const xj_t *obj = f->v;
    if (obj->u.obj.n < XJ_DUPSET_MIN) {
        for (size_t i = 0; i < obj->u.obj.n; i++)
            if (obj->u.obj.m[i].klen == klen && memcmp(obj->u.obj.m[i].key, key, klen) == 0)
                return 1;
        return 0;
    }
    /* keep the load factor under 1/2; rebuilding also covers the first use */
    if (f->dupcap < 2 * (obj->u.obj.n + 1))
        xj_dupset_grow(f);
    size_t mask = f->dupcap - 1;
    size_t slot = (size_t)xj_hash(key, klen) & mask;
    for (; f->dupset[slot] != 0; slot = (slot + 1) & mask) {
        const xj_member_t *m = &obj->u.obj.m[f->dupset[slot] - 1];
        if (m->klen == klen && memcmp(m->key, key, klen) == 0)
            return 1;
    }
    return 0;
}

/* Attach a new value where the parse is: the root, the end of the open
 * array, or the pending member of the open object. */
static void xj_attach(xj_parser_t *p, xj_t *v, size_t start)
{
    xj_position(p, start, &v->line, &v->col);
    if (p->depth == 0) {
        p->root = v;
        return;
    }
    xj_t *parent = p->stack[p->depth - 1].v;
    if (parent->type == XJ_ARRAY)
        xj_array_push(parent, v);
    else
        parent->u.obj.m[parent->u.obj.n - 1].val = v;
}

static int xj_on_scalar(xj_parser_t *p, xj_t *v)
{
    xj_attach(p, v, xj_next_token(p));
    xj_token_done(p, XJ_EV_VALUE);
    return 1;
}

static int xj_cb_null(void *ctx)
{
    return xj_on_scalar(ctx, xj_null());
}

static int xj_cb_boolean(void *ctx, int b)
{
    return xj_on_scalar(ctx, xj_bool(b));
}

static int xj_cb_number(void *ctx, const char *s, size_t n)
{
    return xj_on_scalar(ctx, xj_number_text(s, n));
}

static int xj_cb_string(void *ctx, const unsigned char *s, size_t n)
{
    xj_parser_t *p = ctx;
    if (!xj_utf8_valid(s, n))
        return xj_fail(p, xj_next_token(p), "invalid UTF-8 in string");
    return xj_on_scalar(p, xj_stringn((const char *)s, n));
}

static int xj_cb_open(xj_parser_t *p, xj_t *v)
{
    size_t start = xj_next_token(p);
    if (p->depth >= p->max_depth) {
        xj_free(v);
        return xj_fail(p, start, "nesting deeper than %u", p->max_depth);
    }
    xj_attach(p, v, start);
    if (p->depth == p->stack_cap) {
        p->stack_cap = p->stack_cap ? p->stack_cap * 2 : 16;
        p->stack = xds_realloc(p->stack, p->stack_cap * sizeof(xj_frame_t));
    }
    p->stack[p->depth++] = (xj_frame_t){.v = v};
    xj_token_done(p, XJ_EV_OPEN);
    return 1;
}

static int xj_cb_start_map(void *ctx)
{
    return xj_cb_open(ctx, xj_object());
}

static int xj_cb_start_array(void *ctx)
{
    return xj_cb_open(ctx, xj_array());
}

static int xj_cb_close(void *ctx)
{
    xj_parser_t *p = ctx;
    xj_frame_t *f = &p->stack[--p->depth];
    free(f->dupset);
    xj_token_done(p, XJ_EV_VALUE);
    return 1;
}

static int xj_cb_map_key(void *ctx, const unsigned char *s, size_t n)
{
    xj_parser_t *p = ctx;
    xj_frame_t *f = &p->stack[p->depth - 1];
    const char *key = (const char *)s;
    size_t start = xj_next_token(p);

    if (!xj_utf8_valid(s, n))
        return xj_fail(p, start, "invalid UTF-8 in string");
    if (xj_frame_has_key(f, key, n)) {
        /* quote the key the way it would be written back */
        xds_buf_t q = {0};
        xj_write_string(&q, key, n > 200 ? 200 : n);
        xj_fail(p, start, "duplicate key %s", q.data);
        xds_buf_free(&q);
        return 0;
    }
    xj_object_append(f->v, xj_dup(key, n), n, NULL);
    if (f->dupset != NULL) /* xj_frame_has_key left room for it */
        xj_dupset_insert(f, f->v->u.obj.n - 1);
    xj_token_done(p, XJ_EV_KEY);
    return 1;
}

static const yajl_callbacks xj_callbacks = {
    .yajl_null = xj_cb_null,
    .yajl_boolean = xj_cb_boolean,
    .yajl_number = xj_cb_number,
    .yajl_string = xj_cb_string,
    .yajl_start_map = xj_cb_start_map,
    .yajl_map_key = xj_cb_map_key,
    .yajl_end_map = xj_cb_close,
    .yajl_start_array = xj_cb_start_array,
    .yajl_end_array = xj_cb_close,
};

/* Where yajl's error is.  yajl's own offset (where its lexer stopped) is
 * sometimes after, sometimes inside the offending token, so we point at the
 * start of the token that follows the last good one (the end of the text
 * for a premature end).  Inside a string, a
 * lexical error is placed at the bad byte (yajl's offset), or for bad UTF-8
 * at the start of the first invalid sequence. */
static size_t xj_error_offset(xj_parser_t *p, const char *msg)
{
    if (p->finishing && strstr(msg, "premature EOF") != NULL)
        return p->len;
    size_t tok = xj_next_token(p);
    if (p->finishing || strncmp(msg, "lexical error", 13) != 0 || tok >= p->len ||
        p->text[tok] != '"')
        return tok;
    size_t off = yajl_get_bytes_consumed(p->h);
    if (off < tok || off > p->len)
        return tok;
    if (strstr(msg, "UTF8") != NULL)
        off = tok + xj_utf8_check(p->text + tok, off - tok);
    return off;
}

/* Format yajl's short message with our position. */
static void xj_yajl_error(xj_parser_t *p)
{
    unsigned char *e = yajl_get_error(p->h, 0, p->text, p->len);
    const char *msg = e ? (const char *)e : "parse error";
    size_t mlen = strlen(msg);
    while (mlen > 0 && (msg[mlen - 1] == '\n' || msg[mlen - 1] == ' '))
        mlen--;
    uint32_t line, col;
    xj_position(p, xj_error_offset(p, msg), &line, &col);
    snprintf(p->err, p->errlen, "line %" PRIu32 ", column %" PRIu32 ": %.*s", line, col, (int)mlen,
             msg);
    if (e)
        yajl_free_error(p->h, e);
}

xj_t *xj_parse(const char *text, size_t len, unsigned max_depth, char *err, size_t errlen)
{
    xj_parser_t p = {
        .text = (const unsigned char *)text,
        .len = len,
        .max_depth = max_depth,
        .cur_line = 1,
        .cur_col = 1,
        .err = err,
        .errlen = errlen,
    };
    if (errlen > 0)
        err[0] = '\0';

    if (xj_skip_ws(&p, 0) == len) {
        xj_fail(&p, len, "empty document");
        return NULL;
    }

    p.h = yajl_alloc(&xj_callbacks, NULL, &p);
    if (p.h == NULL) {
        snprintf(err, errlen, "line 1, column 1: out of memory");
        return NULL;
    }
    yajl_config(p.h, yajl_allow_comments, 0);
    yajl_config(p.h, yajl_dont_validate_strings, 0);
    yajl_config(p.h, yajl_allow_trailing_garbage, 0);
    yajl_config(p.h, yajl_allow_multiple_values, 0);
    yajl_config(p.h, yajl_allow_partial_values, 0);

    yajl_status st = yajl_parse(p.h, p.text, len);
    if (st == yajl_status_ok) {
        p.finishing = 1;
        st = yajl_complete_parse(p.h);
    }
    if (st == yajl_status_error)
        xj_yajl_error(&p);
    /* yajl_status_client_canceled: the callback wrote err */
    if (st != yajl_status_ok)
        goto failed;
    /* yajl lets an unterminated string after the document pass as an
     * incomplete token ({"a":1}"): only whitespace may follow the root. */
    if (xj_skip_ws(&p, p.last_end) < len) {
        xj_fail(&p, xj_skip_ws(&p, p.last_end), "parse error: trailing garbage");
        goto failed;
    }

    yajl_free(p.h);
    free(p.stack);
    return p.root;

failed:
    yajl_free(p.h);
    for (size_t i = 0; i < p.depth; i++)
        free(p.stack[i].dupset);
    free(p.stack);
    xj_free(p.root);
    return NULL;
}

const char *xj_quote(const char *s, size_t n, char *buf, size_t len)
{
    xds_buf_t b = {0};
    int cut = n > 64;
    xj_write_string(&b, s, cut ? 64 : n);
    snprintf(buf, len, "%s%s", b.data ? b.data : "\"\"", cut ? "..." : "");
    xds_buf_free(&b);
    return buf;
}
