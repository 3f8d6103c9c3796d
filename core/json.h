/*
 * json.h -- the JSON value tree used for model documents and generated
 * resources.  Parsing goes through yajl's event API (so errors carry line and
 * column); serialization is our own compact writer that keeps object members
 * in insertion order, so the same tree always gives the same bytes (versions
 * are hashes of those bytes).
 *
 * Ownership: a tree owns all its children and strings.  xj_object_put and
 * xj_array_push take ownership of the value they are given.
 */
#ifndef XDS_JSON_H
#define XDS_JSON_H

#include <string.h>

#include "xdsd.h"

typedef enum { XJ_NULL = 0, XJ_BOOL, XJ_NUMBER, XJ_STRING, XJ_ARRAY, XJ_OBJECT } xj_type_t;

typedef struct xj xj_t;
typedef struct xj_member xj_member_t;

struct xj_member {
    char *key; /* NUL-terminated, owned */
    size_t klen;
    xj_t *val; /* owned */
};

struct xj {
    xj_type_t type;
    uint32_t line; /* 1-based position where the value began in the parsed */
    uint32_t col;  /* text; 0 for values built in code */
    uint8_t arena; /* allocated from an xj_arena_t: freed with it, not by xj_free */
    union {
        int boolean;
        struct {
            char *text; /* the number exactly as written ("1", "-2.5e3"), owned */
            size_t len;
        } num;
        struct {
            char *s; /* NUL-terminated (may contain \0 escapes: use len), owned */
            size_t len;
        } str;
        struct {
            xj_t **v;
            size_t n, cap;
        } arr;
        struct {
            xj_member_t *m;
            size_t n, cap;
        } obj;
    } u;
};

/* Arenas.  Building a snapshot creates hundreds of thousands of small
 * values that all die together; with an arena in use on a thread, the
 * constructors (and xj_clone) on that thread take their memory from it, and
 * xj_arena_free releases everything at once (xj_free on such values does
 * nothing).  A value from an arena must not hold heap values and vice
 * versa: set the arena around the whole construction of a tree. */
typedef struct xj_arena xj_arena_t;
xj_arena_t *xj_arena_new(void);
void xj_arena_free(xj_arena_t *a);
/* Make a the arena of this thread (NULL: the heap); returns the previous. */
xj_arena_t *xj_arena_use(xj_arena_t *a);

/* Parse text (need not be NUL-terminated).  Returns the tree or NULL with
 * err set to "line L, column C: reason".  Rejects: invalid JSON or UTF-8,
 * trailing garbage, nesting deeper than max_depth, duplicate keys in an
 * object.  Does not block. */
xj_t *xj_parse(const char *text, size_t len, unsigned max_depth, char *err, size_t errlen);

void xj_free(xj_t *v);
xj_t *xj_clone(const xj_t *v);

/* Constructors; never return NULL (OOM aborts). */
xj_t *xj_null(void);
xj_t *xj_bool(int b);
xj_t *xj_int(int64_t i);
xj_t *xj_double(double d);                     /* shortest text that round-trips */
xj_t *xj_number_text(const char *t, size_t n); /* caller guarantees valid JSON number */
xj_t *xj_string(const char *s);
xj_t *xj_stringn(const char *s, size_t n);
xj_t *xj_object(void);
xj_t *xj_array(void);

/* Set key to val (ownership of val passes); replaces an existing member of
 * the same key in place.  Returns val, for chaining. */
xj_t *xj_object_put(xj_t *obj, const char *key, xj_t *val);
/* Append key: val without looking for an existing key (the caller knows it
 * is new: O(1) where xj_object_put is O(members)).  Returns val. */
xj_t *xj_object_add(xj_t *obj, const char *key, xj_t *val);
/* Append val (ownership passes).  Returns val. */
xj_t *xj_array_push(xj_t *arr, xj_t *val);

/* Borrowed member, or NULL when obj is not an object or has no such key. */
xj_t *xj_get(const xj_t *obj, const char *key);
/* Remove the member and return its value (ownership to the caller), or NULL. */
xj_t *xj_take(xj_t *obj, const char *key);

/* Typed reads.  xj_str returns NULL unless v is a string. */
const char *xj_str(const xj_t *v);
/* XDS_OK when v is a number without fraction/exponent that fits int64. */
int xj_int64(const xj_t *v, int64_t *out);
/* XDS_OK when v is a number. */
int xj_number(const xj_t *v, double *out);
const char *xj_type_name(xj_type_t t); /* "null", "boolean", "number", ... */

/* Compact serialization, appended to out. */
void xj_serialize(const xj_t *v, xds_buf_t *out);
/* Serialize object obj as a protobuf Any: {"@type":"<type_url>",<obj's members>}.
 * An "@type" member already in obj is skipped. */
void xj_serialize_any(const xj_t *obj, const char *type_url, xds_buf_t *out);
/* The first byte at or after p (before end) that a JSON string cannot hold
 * as it is: a quote, a backslash, a control character, and with high a
 * byte >= 0x80 too; end when there is none.  Eight bytes at a time (SWAR:
 * such a byte sets its lane's high bit; lanes below the first one are
 * exact, so on little-endian machines its place is the lowest set bit),
 * then a byte at a time.  For the serializer and the request scanner. */
static inline const unsigned char *xj_plain_end(const unsigned char *p, const unsigned char *end,
                                                int high)
{
    const uint64_t ones = 0x0101010101010101ULL, highs = 0x8080808080808080ULL;
    const uint64_t keep_high = high ? ~(uint64_t)0 : 0;
    while (end - p >= 8) {
        uint64_t v, q, b, m;
        memcpy(&v, p, 8);
        q = v ^ (ones * '"');
        b = v ^ (ones * '\\');
        m = ((((v - ones * 0x20) | (q - ones) | (b - ones)) & ~v) | (v & keep_high)) & highs;
        if (m == 0) {
            p += 8;
            continue;
        }
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
        p += (unsigned)__builtin_ctzll(m) >> 3;
#endif
        break;
    }
    while (p < end && *p >= 0x20 && *p != '"' && *p != '\\' && !(high && *p >= 0x80))
        p++;
    return p;
}

/* s (n bytes) as a JSON string literal for an error message, cut after 64
 * bytes with "..." appended; written into buf, which is returned. */
const char *xj_quote(const char *s, size_t n, char *buf, size_t len);
/* Append s as a JSON string literal (with quotes) to out. */
void xj_write_string(xds_buf_t *out, const char *s, size_t n);

#endif
