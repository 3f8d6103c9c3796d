/*
 * schema.c -- check JSON values against message types of a loaded schema
 * the way Envoy would: its proto3 JSON parser first (unknown fields, JSON
 * types per field kind, enum names, Any resolved by "@type" and checked
 * recursively, the well-known types' special forms, oneofs with two
 * members set), then the protoc-gen-validate rules compiled into it
 * ((validate.rules) of fields, (validate.required) oneofs, skipped under
 * (validate.disabled) and message.skip).  xds_schema_validate adds the
 * cross-reference checks of schema_refs.c: the fields that name other
 * resources are tagged in the schema, so they are checked during the same
 * walk.
 *
 * One walk does both: rules are applied as each value is converted, and the
 * fields whose rules matter when they are absent (required messages,
 * min_items, scalar rules against the default value) come precomputed per
 * message from the loader, so a valid resource costs one hash lookup per
 * JSON member and no allocation.
 *
 * Semantics follow Python's json_format plus the PGV walk of
 * tests/schema/envoy_schema.py (test_schema.c compares verdicts).  Where
 * json_format is laxer than Envoy's C++ parser -- it takes true for an enum,
 * [] or "" for a message, base64 with stray characters -- this file rejects
 * like Envoy.
 */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "schema_int.h"

/* ---- paths and problems ------------------------------------------------------ */

/* Path segments (see schema_int.h); key is borrowed until the pop. */
size_t xs_push_key(xs_ctx_t *c, const char *key, size_t klen)
{
    size_t mark = c->depth;
    if (mark >= XS_MAX_DEPTH) {
        xs_problem(c, "nested deeper than %d levels", XS_MAX_DEPTH);
        return XS_MAX_DEPTH + 1;
    }
    c->seg[mark].kind = XS_SEG_KEY;
    c->seg[mark].key = key;
    c->seg[mark].klen = klen;
    c->depth++;
    return mark;
}

/* A map key: shown as ["key"]. */
size_t xs_push_map_key(xs_ctx_t *c, const char *key, size_t klen)
{
    size_t mark = xs_push_key(c, key, klen);
    if (!xs_too_deep(mark))
        c->seg[mark].kind = XS_SEG_MAP_KEY;
    return mark;
}

/* An array index: shown as [i]. */
size_t xs_push_index(xs_ctx_t *c, size_t index)
{
    size_t mark = c->depth;
    if (mark >= XS_MAX_DEPTH) {
        xs_problem(c, "nested deeper than %d levels", XS_MAX_DEPTH);
        return XS_MAX_DEPTH + 1;
    }
    c->seg[mark].kind = XS_SEG_INDEX;
    c->seg[mark].index = index;
    c->depth++;
    return mark;
}

/* Back to the depth a push returned. */
void xs_pop(xs_ctx_t *c, size_t mark)
{
    if (!xs_too_deep(mark))
        c->depth = mark;
}

/* Format WHERE from the label, name and path, WHAT from fmt (cut at 1 KB),
 * and hand both to the reporter; counts the problem. */
void xs_problem(xs_ctx_t *c, const char *fmt, ...)
{
    char what[1024], q[96];
    xds_buf_t where = {0};
    va_list ap;

    if (c->problems >= c->max)
        return;
    c->problems++;
    xds_buf_appends(&where, c->label);
    if (c->name != NULL)
        xds_buf_printf(&where, "[%s]", c->name);
    for (size_t i = 0; i < c->depth; i++) {
        const xs_seg_t *g = &c->seg[i];
        if (g->kind == XS_SEG_INDEX) {
            xds_buf_printf(&where, "[%zu]", g->index);
        } else if (g->kind == XS_SEG_MAP_KEY) {
            xds_buf_printf(&where, "[%s]", xj_quote(g->key, g->klen, q, sizeof(q)));
        } else {
            xds_buf_append(&where, ".", 1);
            xds_buf_append(&where, g->key, g->klen);
        }
    }
    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    c->report(c->arg, where.data, what, c->origin);
    xds_buf_free(&where);
}

static int full(const xs_ctx_t *c)
{
    return c->problems >= c->max;
}

/* A JSON value for a message: strings quoted (and cut), numbers and
 * literals as written, containers by kind. */
static const char *describe(const xj_t *v, char *buf, size_t len)
{
    switch (v->type) {
    case XJ_STRING:
        return xj_quote(v->u.str.s, v->u.str.len, buf, len);
    case XJ_NUMBER:
        snprintf(buf, len, "%.*s", (int)(v->u.num.len > 40 ? 40 : v->u.num.len), v->u.num.text);
        return buf;
    case XJ_BOOL:
        return v->u.boolean ? "true" : "false";
    case XJ_NULL:
        return "null";
    case XJ_ARRAY:
        return "an array";
    default:
        return "an object";
    }
}

static const char *type_name(uint8_t t)
{
    static const char *const names[] = {"?",        "double",   "float",   "int64",  "uint64",
                                        "int32",    "fixed64",  "fixed32", "bool",   "string",
                                        "group",    "message",  "bytes",   "uint32", "enum",
                                        "sfixed32", "sfixed64", "sint32",  "sint64"};
    return t < xds_nelems(names) ? names[t] : "?";
}

/* ---- numbers --------------------------------------------------------------------- */

/* 'i' signed, 'u' unsigned or 'd' floating point: how a field type or rule
 * kind compares. */
static int type_domain(uint8_t t)
{
    switch (t) {
    case XS_T_DOUBLE:
    case XS_T_FLOAT:
        return 'd';
    case XS_T_UINT64:
    case XS_T_UINT32:
    case XS_T_FIXED64:
    case XS_T_FIXED32:
        return 'u';
    default:
        return 'i';
    }
}

static int rule_domain(xs_rule_kind_t k)
{
    switch (k) {
    case XS_R_FLOAT:
    case XS_R_DOUBLE:
        return 'd';
    case XS_R_UINT32:
    case XS_R_UINT64:
    case XS_R_FIXED32:
    case XS_R_FIXED64:
        return 'u';
    default:
        return 'i';
    }
}

static int num_cmp(int dom, xs_num_t a, xs_num_t b)
{
    if (dom == 'i')
        return (a.i > b.i) - (a.i < b.i);
    if (dom == 'u')
        return (a.u > b.u) - (a.u < b.u);
    return (a.d > b.d) - (a.d < b.d);
}

static const char *num_text(int dom, xs_num_t x, char *buf, size_t len)
{
    if (dom == 'i')
        snprintf(buf, len, "%lld", (long long)x.i);
    else if (dom == 'u')
        snprintf(buf, len, "%llu", (unsigned long long)x.u);
    else
        snprintf(buf, len, "%.15g", x.d);
    return buf;
}

static const char *num_list(int dom, const xs_num_t *v, size_t n, char *buf, size_t len)
{
    size_t used = 0;
    char one[48];
    buf[0] = '\0';
    used += (size_t)snprintf(buf, len, "[");
    for (size_t i = 0; i < n && used < len; i++)
        used += (size_t)snprintf(buf + used, len - used, "%s%s", i ? ", " : "",
                                 num_text(dom, v[i], one, sizeof(one)));
    if (used < len)
        snprintf(buf + used, len - used, "]");
    return buf;
}

static const char *const cmp_word[] = {"gt", ">", "gte", ">=", "lt", "<", "lte", "<="};

/* Numeric rules (const, gt/gte/lt/lte with PGV's "outside" reading of an
 * inverted range, in, not_in) against x, a value of the rule's domain. */
static void num_rules(xs_ctx_t *c, const xs_rules_t *r, xs_num_t x)
{
    int dom = rule_domain(r->kind);
    char a[48], b[48], vt[48], list[256];
    xs_num_t zero = {0};

    if (r->ignore_empty && num_cmp(dom, x, zero) == 0)
        return;
#define v num_text(dom, x, vt, sizeof(vt)) /* only when reporting */
    if ((r->has & XS_HAS_CONST) && num_cmp(dom, x, r->n_const) != 0)
        xs_problem(c, "must equal %s, got %s", num_text(dom, r->n_const, a, sizeof(a)), v);

    int has_lo = (r->has & (XS_HAS_GT | XS_HAS_GTE)) != 0;
    int has_hi = (r->has & (XS_HAS_LT | XS_HAS_LTE)) != 0;
    int lo_strict = (r->has & XS_HAS_GT) != 0, hi_strict = (r->has & XS_HAS_LT) != 0;
    xs_num_t lo = lo_strict ? r->n_gt : r->n_gte, hi = hi_strict ? r->n_lt : r->n_lte;
    int above = has_lo && (lo_strict ? num_cmp(dom, x, lo) > 0 : num_cmp(dom, x, lo) >= 0);
    int below = has_hi && (hi_strict ? num_cmp(dom, x, hi) < 0 : num_cmp(dom, x, hi) <= 0);
    const char *lw = cmp_word[lo_strict ? 1 : 3], *hw = cmp_word[hi_strict ? 5 : 7];

    if (has_lo && has_hi && num_cmp(dom, hi, lo) < 0) {
        if (!above && !below)
            xs_problem(c, "value must be %s %s or %s %s, got %s", lw,
                       num_text(dom, lo, a, sizeof(a)), hw, num_text(dom, hi, b, sizeof(b)), v);
    } else {
        if (has_lo && !above)
            xs_problem(c, "value must be %s %s, got %s", lw, num_text(dom, lo, a, sizeof(a)), v);
        if (has_hi && !below)
            xs_problem(c, "value must be %s %s, got %s", hw, num_text(dom, hi, b, sizeof(b)), v);
    }
    if (r->n_in_len) {
        size_t i = 0;
        while (i < r->n_in_len && num_cmp(dom, x, r->n_in[i]) != 0)
            i++;
        if (i == r->n_in_len)
            xs_problem(c, "value must be in %s, got %s",
                       num_list(dom, r->n_in, r->n_in_len, list, sizeof(list)), v);
    }
    for (size_t i = 0; i < r->n_not_in_len; i++)
        if (num_cmp(dom, x, r->n_not_in[i]) == 0)
            xs_problem(c, "value must not be in %s, got %s",
                       num_list(dom, r->n_not_in, r->n_not_in_len, list, sizeof(list)), v);
#undef v
}

/* Convert a number of one domain into another for a rule of a different
 * kind than its field (wrappers); 0 when it does not fit. */
static int num_convert(int from, xs_num_t x, int to, xs_num_t *out)
{
    if (from == to) {
        *out = x;
        return 1;
    }
    if (to == 'd') {
        out->d = from == 'i' ? (double)x.i : (double)x.u;
        return 1;
    }
    if (from == 'd')
        return 0;
    if (to == 'i') {
        if (x.u > (uint64_t)INT64_MAX)
            return 0;
        out->i = (int64_t)x.u;
        return 1;
    }
    if (x.i < 0)
        return 0;
    out->u = (uint64_t)x.i;
    return 1;
}

/* Decimal integer text ("-12", no sign '+', no spaces) into sign and
 * magnitude; 0 when it is not one or overflows uint64. */
static int parse_decimal(const char *s, size_t len, int *neg, uint64_t *mag)
{
    size_t i = 0;
    *neg = 0;
    *mag = 0;
    if (i < len && s[i] == '-')
        *neg = 1, i++;
    if (i == len)
        return 0;
    for (; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return 0;
        unsigned d = (unsigned)(s[i] - '0');
        if (*mag > (UINT64_MAX - d) / 10)
            return 0;
        *mag = *mag * 10 + d;
    }
    return 1;
}

/* An integer field's JSON value: a number without fraction (1e3 and 5.0
 * count, as in protobuf's parsers) or a string of decimal digits.  Checks
 * the type's range.  XDS_OK with *out in the type's domain. */
static int check_int(xs_ctx_t *c, uint8_t type, const xj_t *v, xs_num_t *out)
{
    char d[96];
    int neg = 0, dom = type_domain(type);
    uint64_t mag = 0;
    int is32 = type == XS_T_INT32 || type == XS_T_UINT32 || type == XS_T_SINT32 ||
               type == XS_T_FIXED32 || type == XS_T_SFIXED32;
    int exact = 0;

    if (v->type == XJ_STRING) {
        exact = parse_decimal(v->u.str.s, v->u.str.len, &neg, &mag);
        if (!exact) {
            xs_problem(c, "expected an integer (%s), got %s", type_name(type),
                       describe(v, d, sizeof(d)));
            return XDS_ERROR;
        }
    } else if (v->type == XJ_NUMBER) {
        exact = parse_decimal(v->u.num.text, v->u.num.len, &neg, &mag);
        if (!exact) {
            /* 2^64: beyond it (and for inf) only the range error is left */
            double x = strtod(v->u.num.text, NULL), ax = x < 0 ? -x : x;
            if (ax < 9007199254740992.0 && x != (double)(int64_t)x) {
                xs_problem(c, "expected an integer (%s), got %s", type_name(type),
                           describe(v, d, sizeof(d)));
                return XDS_ERROR;
            }
            if (!(ax < 18446744073709551616.0))
                goto range;
            neg = x < 0;
            mag = (uint64_t)ax;
        }
    } else {
        xs_problem(c, "expected an integer (%s), got %s", type_name(type),
                   describe(v, d, sizeof(d)));
        return XDS_ERROR;
    }
    if (dom == 'u') {
        if ((neg && mag != 0) || (is32 && mag > UINT32_MAX))
            goto range;
        out->u = mag;
    } else {
        uint64_t lim = is32 ? (uint64_t)INT32_MAX : (uint64_t)INT64_MAX;
        if (mag > lim + (uint64_t)neg)
            goto range;
        out->i = neg ? (int64_t)(0 - mag) : (int64_t)mag;
    }
    return XDS_OK;
range:
    xs_problem(c, "value %s out of range for %s", describe(v, d, sizeof(d)), type_name(type));
    return XDS_ERROR;
}

/* A float/double field: a JSON number, or a string "NaN", "Infinity",
 * "-Infinity" or holding a number. */
static int check_double(xs_ctx_t *c, uint8_t type, const xj_t *v, double *out)
{
    char d[96];
    if (v->type == XJ_NUMBER) {
        *out = strtod(v->u.num.text, NULL);
    } else if (v->type == XJ_STRING) {
        const char *s = v->u.str.s;
        char *end;
        if (strcmp(s, "NaN") == 0) {
            *out = NAN;
            return XDS_OK;
        }
        if (strcmp(s, "Infinity") == 0 || strcmp(s, "-Infinity") == 0) {
            *out = s[0] == '-' ? -INFINITY : INFINITY;
            return XDS_OK;
        }
        *out = strtod(s, &end);
        if (v->u.str.len == 0 || *end != '\0' || !(s[0] == '-' || (s[0] >= '0' && s[0] <= '9'))) {
            xs_problem(c, "expected a number (%s), got %s", type_name(type),
                       describe(v, d, sizeof(d)));
            return XDS_ERROR;
        }
    } else {
        xs_problem(c, "expected a number (%s), got %s", type_name(type), describe(v, d, sizeof(d)));
        return XDS_ERROR;
    }
    if (isinf(*out) || (type == XS_T_FLOAT && (*out > FLT_MAX || *out < -FLT_MAX))) {
        xs_problem(c, "value %s out of range for %s", describe(v, d, sizeof(d)), type_name(type));
        return XDS_ERROR;
    }
    return XDS_OK;
}

/* ---- strings, bytes, enums, bools ------------------------------------------------ */

static const char *str_list(const xs_str_t *v, size_t n, char *buf, size_t len)
{
    size_t used = (size_t)snprintf(buf, len, "[");
    char q[96];
    for (size_t i = 0; i < n && used < len; i++)
        used += (size_t)snprintf(buf + used, len - used, "%s%s", i ? ", " : "",
                                 xj_quote(v[i].s, v[i].len, q, sizeof(q)));
    if (used < len)
        snprintf(buf + used, len - used, "]");
    return buf;
}

static int has_sub(const char *s, size_t len, const xs_str_t *sub)
{
    if (sub->len == 0)
        return 1;
    for (size_t i = 0; i + sub->len <= len; i++)
        if (memcmp(s + i, sub->s, sub->len) == 0)
            return 1;
    return 0;
}

static void string_rules(xs_ctx_t *c, const xs_rules_t *r, const char *s, size_t len)
{
    char vq[96], a[96], list[512];
    size_t chars;
    int ok = 1;
    const char *what = NULL;

    if (r->ignore_empty && len == 0)
        return;
#define v xj_quote(s, len, vq, sizeof(vq)) /* only when reporting: it allocates */
    chars = (r->has & (XS_HAS_LEN | XS_HAS_MIN_LEN | XS_HAS_MAX_LEN)) ? xs_utf8_chars(s, len) : 0;
    if ((r->has & XS_HAS_CONST) && (len != r->s_const.len || memcmp(s, r->s_const.s, len) != 0))
        xs_problem(c, "must equal %s, got %s", xj_quote(r->s_const.s, r->s_const.len, a, sizeof(a)),
                   v);
    if ((r->has & XS_HAS_LEN) && chars != r->len)
        xs_problem(c, "length must be %llu characters, got %s", (unsigned long long)r->len, v);
    if ((r->has & XS_HAS_MIN_LEN) && chars < r->min_len)
        xs_problem(c, "length must be at least %llu characters, got %s",
                   (unsigned long long)r->min_len, v);
    if ((r->has & XS_HAS_MAX_LEN) && chars > r->max_len)
        xs_problem(c, "length must be at most %llu characters, got %s",
                   (unsigned long long)r->max_len, v);
    if ((r->has & XS_HAS_LEN_BYTES) && len != r->len_bytes)
        xs_problem(c, "length must be %llu bytes, got %s", (unsigned long long)r->len_bytes, v);
    if ((r->has & XS_HAS_MIN_BYTES) && len < r->min_bytes)
        xs_problem(c, "length must be at least %llu bytes, got %s",
                   (unsigned long long)r->min_bytes, v);
    if ((r->has & XS_HAS_MAX_BYTES) && len > r->max_bytes)
        xs_problem(c, "length must be at most %llu bytes, got %s", (unsigned long long)r->max_bytes,
                   v);
    if ((r->has & XS_HAS_PATTERN) && r->pattern_ok && !xs_regex_search(r->pattern.s, s, len))
        xs_problem(c, "must match the pattern %s, got %s",
                   xj_quote(r->pattern.s, r->pattern.len, a, sizeof(a)), v);
    if ((r->has & XS_HAS_PREFIX) &&
        (len < r->prefix.len || memcmp(s, r->prefix.s, r->prefix.len) != 0))
        xs_problem(c, "must start with %s, got %s",
                   xj_quote(r->prefix.s, r->prefix.len, a, sizeof(a)), v);
    if ((r->has & XS_HAS_SUFFIX) &&
        (len < r->suffix.len || memcmp(s + len - r->suffix.len, r->suffix.s, r->suffix.len) != 0))
        xs_problem(c, "must end with %s, got %s",
                   xj_quote(r->suffix.s, r->suffix.len, a, sizeof(a)), v);
    if ((r->has & XS_HAS_CONTAINS) && !has_sub(s, len, &r->contains))
        xs_problem(c, "must contain %s, got %s",
                   xj_quote(r->contains.s, r->contains.len, a, sizeof(a)), v);
    if ((r->has & XS_HAS_NOT_CONTAINS) && has_sub(s, len, &r->not_contains))
        xs_problem(c, "must not contain %s, got %s",
                   xj_quote(r->not_contains.s, r->not_contains.len, a, sizeof(a)), v);
    if (r->s_in_len) {
        size_t i = 0;
        while (i < r->s_in_len && !(r->s_in[i].len == len && memcmp(r->s_in[i].s, s, len) == 0))
            i++;
        if (i == r->s_in_len)
            xs_problem(c, "must be one of %s, got %s",
                       str_list(r->s_in, r->s_in_len, list, sizeof(list)), v);
    }
    for (size_t i = 0; i < r->s_not_in_len; i++)
        if (r->s_not_in[i].len == len && memcmp(r->s_not_in[i].s, s, len) == 0)
            xs_problem(c, "must not be one of %s, got %s",
                       str_list(r->s_not_in, r->s_not_in_len, list, sizeof(list)), v);
    switch (r->well_known) {
    case XS_WK_NONE:
    case XS_WK_URI_REF:
        return;
    case XS_WK_HEADER_NAME:
        ok = xs_is_header_name(s, len, r->strict), what = "a valid HTTP header name";
        break;
    case XS_WK_HEADER_VALUE:
        ok = xs_is_header_value(s, len, r->strict), what = "a valid HTTP header value";
        break;
    case XS_WK_IP:
        ok = xs_is_ip(s, len, 0), what = "a valid IP address";
        break;
    case XS_WK_IPV4:
        ok = xs_is_ip(s, len, 4), what = "a valid IPv4 address";
        break;
    case XS_WK_IPV6:
        ok = xs_is_ip(s, len, 6), what = "a valid IPv6 address";
        break;
    case XS_WK_HOSTNAME:
        ok = xs_is_hostname(s, len), what = "a valid hostname";
        break;
    case XS_WK_ADDRESS:
        ok = xs_is_hostname(s, len) || xs_is_ip(s, len, 0), what = "a valid address";
        break;
    case XS_WK_UUID:
        ok = xs_is_uuid(s, len), what = "a valid UUID";
        break;
    case XS_WK_URI:
        ok = xs_is_uri(s, len), what = "an absolute URI";
        break;
    case XS_WK_EMAIL:
        ok = xs_is_email(s, len), what = "a valid email address";
        break;
    }
    if (!ok)
        xs_problem(c, "must be %s, got %s", what, v);
#undef v
}

static void bytes_rules(xs_ctx_t *c, const xs_rules_t *r, size_t n)
{
    if (r->ignore_empty && n == 0)
        return;
    if ((r->has & XS_HAS_LEN) && n != r->len)
        xs_problem(c, "length must be %llu bytes, got %zu", (unsigned long long)r->len, n);
    if ((r->has & XS_HAS_MIN_LEN) && n < r->min_len)
        xs_problem(c, "length must be at least %llu bytes, got %zu", (unsigned long long)r->min_len,
                   n);
    if ((r->has & XS_HAS_MAX_LEN) && n > r->max_len)
        xs_problem(c, "length must be at most %llu bytes, got %zu", (unsigned long long)r->max_len,
                   n);
}

static int enum_defined(const xs_enum_t *e, int32_t n)
{
    for (size_t i = 0; i < e->nvalues; i++)
        if (e->values[i].number == n)
            return 1;
    return 0;
}

static void enum_rules(xs_ctx_t *c, const xs_rules_t *r, const xs_enum_t *e, int32_t n)
{
    char list[256];
    xs_num_t x = {.i = n};
    if ((r->has & XS_HAS_CONST) && n != r->n_const.i)
        xs_problem(c, "must equal enum value %lld, got %d", (long long)r->n_const.i, (int)n);
    if (r->defined_only && e != NULL && !enum_defined(e, n))
        xs_problem(c, "%d is not a defined value of enum %s", (int)n, e->full_name);
    if (r->n_in_len) {
        size_t i = 0;
        while (i < r->n_in_len && r->n_in[i].i != x.i)
            i++;
        if (i == r->n_in_len)
            xs_problem(c, "value must be in %s, got %d",
                       num_list('i', r->n_in, r->n_in_len, list, sizeof(list)), (int)n);
    }
    for (size_t i = 0; i < r->n_not_in_len; i++)
        if (r->n_not_in[i].i == x.i)
            xs_problem(c, "value must not be in %s, got %d",
                       num_list('i', r->n_not_in, r->n_not_in_len, list, sizeof(list)), (int)n);
}

/* An enum's JSON value: a value name, or an integer (proto3 enums are open:
 * an undefined number is accepted by the parser; defined_only catches it). */
static int check_enum(xs_ctx_t *c, const xs_enum_t *e, const xj_t *v, int32_t *out)
{
    char d[96];
    if (v->type == XJ_NULL && e->null_value) { /* google.protobuf.NullValue */
        *out = 0;
        return XDS_OK;
    }
    if (v->type == XJ_STRING) {
        for (size_t i = 0; i < e->nvalues; i++)
            if (e->values[i].name_len == v->u.str.len &&
                memcmp(e->values[i].name, v->u.str.s, v->u.str.len) == 0) {
                *out = e->values[i].number;
                return XDS_OK;
            }
        xs_problem(c, "unknown value %s of enum %s", describe(v, d, sizeof(d)), e->full_name);
        return XDS_ERROR;
    }
    if (v->type == XJ_NUMBER) {
        xs_num_t n;
        if (check_int(c, XS_T_INT32, v, &n) != XDS_OK)
            return XDS_ERROR;
        *out = (int32_t)n.i;
        return XDS_OK;
    }
    xs_problem(c, "expected a value name of enum %s, got %s", e->full_name,
               describe(v, d, sizeof(d)));
    return XDS_ERROR;
}

/* A non-message, non-repeated value of type f->type, with rules r (NULL:
 * none).  For the default value of an absent field, v is NULL. */
static void check_scalar(xs_ctx_t *c, const xs_field_t *f, const xj_t *v, const xs_rules_t *r)
{
    char d[96];
    xs_num_t n = {0}, rn;
    int dom = type_domain(f->type);

    switch (f->type) {
    case XS_T_BOOL:
        if (v != NULL && v->type != XJ_BOOL) {
            xs_problem(c, "expected true or false, got %s", describe(v, d, sizeof(d)));
            return;
        }
        if (r != NULL && r->kind == XS_R_BOOL && (r->has & XS_HAS_CONST) &&
            (v != NULL && v->u.boolean) != r->bool_const)
            xs_problem(c, "must be %s", r->bool_const ? "true" : "false");
        return;
    case XS_T_STRING:
        if (v != NULL && v->type != XJ_STRING) {
            xs_problem(c, "expected a string, got %s", describe(v, d, sizeof(d)));
            return;
        }
        if (r != NULL && r->kind == XS_R_STRING)
            string_rules(c, r, v ? v->u.str.s : "", v ? v->u.str.len : 0);
        if (f->ref && v != NULL && c->names != NULL)
            xs_refs_check(c, f, v->u.str.s, v->u.str.len);
        return;
    case XS_T_BYTES: {
        size_t blen = 0;
        if (v != NULL && v->type != XJ_STRING) {
            xs_problem(c, "expected a base64 string, got %s", describe(v, d, sizeof(d)));
            return;
        }
        if (v != NULL && xs_base64_len(v->u.str.s, v->u.str.len, &blen) != XDS_OK) {
            xs_problem(c, "invalid base64 %s", describe(v, d, sizeof(d)));
            return;
        }
        if (r != NULL && r->kind == XS_R_BYTES)
            bytes_rules(c, r, blen);
        return;
    }
    case XS_T_ENUM: {
        int32_t e = 0;
        if (v != NULL && check_enum(c, f->en, v, &e) != XDS_OK)
            return;
        if (r != NULL && r->kind == XS_R_ENUM)
            enum_rules(c, r, f->en, e);
        return;
    }
    case XS_T_DOUBLE:
    case XS_T_FLOAT:
        if (v != NULL && check_double(c, f->type, v, &n.d) != XDS_OK)
            return;
        break;
    default:
        if (v != NULL && check_int(c, f->type, v, &n) != XDS_OK)
            return;
        break;
    }
    if (r != NULL && r->kind >= XS_R_FLOAT && r->kind <= XS_R_SFIXED64 &&
        num_convert(dom, n, rule_domain(r->kind), &rn))
        num_rules(c, r, rn);
}

/* ---- durations and other well-known types ------------------------------------------ */

static int check_duration(xs_ctx_t *c, const xj_t *v, xs_duration_t *out)
{
    char d[96];
    int rc;
    if (v->type != XJ_STRING) {
        xs_problem(c, "expected a duration string like \"1.5s\", got %s",
                   describe(v, d, sizeof(d)));
        return XDS_ERROR;
    }
    rc = xs_parse_duration(v->u.str.s, v->u.str.len, out);
    if (rc == XDS_AGAIN)
        xs_problem(c, "duration %s out of range (at most 315576000000s either way)",
                   describe(v, d, sizeof(d)));
    else if (rc != XDS_OK)
        xs_problem(c, "invalid duration %s", describe(v, d, sizeof(d)));
    return rc == XDS_OK ? XDS_OK : XDS_ERROR;
}

static int check_timestamp(xs_ctx_t *c, const xj_t *v, xs_duration_t *out)
{
    char d[96];
    if (v->type != XJ_STRING || xs_parse_timestamp(v->u.str.s, v->u.str.len, out) != XDS_OK) {
        xs_problem(c, "invalid timestamp %s (RFC 3339 expected)", describe(v, d, sizeof(d)));
        return XDS_ERROR;
    }
    return XDS_OK;
}

/* Duration / timestamp rules (they share the bounds; in / not_in only
 * exist for durations). */
static void time_rules(xs_ctx_t *c, const xs_rules_t *r, xs_duration_t x)
{
    char a[40], b[40], v[40];
    const char *kind = r->kind == XS_R_DURATION ? "duration" : "timestamp";
    int lo_strict = (r->has & XS_HAS_GT) != 0, hi_strict = (r->has & XS_HAS_LT) != 0;
    int has_lo = (r->has & (XS_HAS_GT | XS_HAS_GTE)) != 0;
    int has_hi = (r->has & (XS_HAS_LT | XS_HAS_LTE)) != 0;
    xs_duration_t lo = lo_strict ? r->d_gt : r->d_gte, hi = hi_strict ? r->d_lt : r->d_lte;
    int above = has_lo && (lo_strict ? xs_duration_cmp(x, lo) > 0 : xs_duration_cmp(x, lo) >= 0);
    int below = has_hi && (hi_strict ? xs_duration_cmp(x, hi) < 0 : xs_duration_cmp(x, hi) <= 0);
    const char *lw = cmp_word[lo_strict ? 1 : 3], *hw = cmp_word[hi_strict ? 5 : 7];

    xs_format_duration(x, v, sizeof(v));
    if ((r->has & XS_HAS_CONST) && xs_duration_cmp(x, r->d_const) != 0)
        xs_problem(c, "%s must equal %s, got %s", kind,
                   xs_format_duration(r->d_const, a, sizeof(a)), v);
    if (has_lo && has_hi && xs_duration_cmp(hi, lo) < 0) {
        if (!above && !below)
            xs_problem(c, "%s must be %s %s or %s %s, got %s", kind, lw,
                       xs_format_duration(lo, a, sizeof(a)), hw,
                       xs_format_duration(hi, b, sizeof(b)), v);
    } else {
        if (has_lo && !above)
            xs_problem(c, "%s must be %s %s, got %s", kind, lw,
                       xs_format_duration(lo, a, sizeof(a)), v);
        if (has_hi && !below)
            xs_problem(c, "%s must be %s %s, got %s", kind, hw,
                       xs_format_duration(hi, b, sizeof(b)), v);
    }
    if (r->d_in_len) {
        size_t i = 0;
        while (i < r->d_in_len && xs_duration_cmp(x, r->d_in[i]) != 0)
            i++;
        if (i == r->d_in_len)
            xs_problem(c, "duration not in the allowed set, got %s", v);
    }
    for (size_t i = 0; i < r->d_not_in_len; i++)
        if (xs_duration_cmp(x, r->d_not_in[i]) == 0)
            xs_problem(c, "duration in the forbidden set, got %s", v);
}

static void check_value_json(xs_ctx_t *c, const xj_t *v, int depth)
{
    /* google.protobuf.Value: any JSON; only the nesting depth is bounded. */
    if (depth > XS_MAX_DEPTH) {
        xs_problem(c, "nested deeper than %d levels", XS_MAX_DEPTH);
        return;
    }
    if (v->type == XJ_ARRAY)
        for (size_t i = 0; i < v->u.arr.n; i++)
            check_value_json(c, v->u.arr.v[i], depth + 1);
    else if (v->type == XJ_OBJECT)
        for (size_t i = 0; i < v->u.obj.n; i++)
            check_value_json(c, v->u.obj.m[i].val, depth + 1);
}

/* ---- messages -------------------------------------------------------------------- */

static void check_message(xs_ctx_t *c, const xs_msg_t *m, const xj_t *v, xs_duration_t *dur,
                          int *dur_ok);
static void check_object(xs_ctx_t *c, const xs_msg_t *m, const xj_t *obj, int in_any);

static const xs_field_t *field_by_number(const xs_msg_t *m, uint32_t number)
{
    for (size_t i = 0; i < m->nfields; i++)
        if (m->fields[i].number == number)
            return &m->fields[i];
    return NULL;
}

static int is_null_ok(const xs_field_t *f)
{
    return (f->type == XS_T_MESSAGE && f->msg->wkt == XS_WKT_VALUE) ||
           (f->type == XS_T_ENUM && f->en->null_value);
}

/* Any: {"@type": "type.googleapis.com/<full name>", fields...}, or for a
 * type with a special JSON form {"@type": ..., "value": <that form>}.  An
 * empty object is an empty Any.  Like Python's json_format (and unlike
 * Envoy's own resolver, which wants the type.googleapis.com/ prefix), any
 * prefix before the last '/' is accepted. */
static void check_any(xs_ctx_t *c, const xj_t *v, const char **type_url)
{
    char d[96];
    const xj_t *at;
    const char *slash;
    const xs_msg_t *t;

    *type_url = NULL;
    if (v->type != XJ_OBJECT) {
        xs_problem(c, "expected an object (google.protobuf.Any), got %s",
                   describe(v, d, sizeof(d)));
        return;
    }
    if (v->u.obj.n == 0)
        return;
    at = xj_get(v, "@type");
    if (at == NULL) {
        xs_problem(c, "\"@type\" is missing");
        return;
    }
    if (at->type != XJ_STRING) {
        xs_problem(c, "\"@type\" must be a string, got %s", describe(at, d, sizeof(d)));
        return;
    }
    *type_url = at->u.str.s;
    slash = strrchr(at->u.str.s, '/');
    t = xs_msg_find(c->s, slash ? slash + 1 : at->u.str.s);
    if (t == NULL) {
        xs_problem(c, "\"@type\" %s names no known message type", describe(at, d, sizeof(d)));
        return;
    }
    if (t->wkt == XS_WKT_NONE) {
        check_object(c, t, v, 1);
        return;
    }
    /* A well-known type inside an Any: its JSON form is under "value". */
    for (size_t i = 0; i < v->u.obj.n; i++) {
        const xj_member_t *mb = &v->u.obj.m[i];
        if (strcmp(mb->key, "@type") != 0 && strcmp(mb->key, "value") != 0) {
            xs_problem(c, "unknown field %s in an Any holding %s",
                       xj_quote(mb->key, mb->klen, d, sizeof(d)), t->full_name);
            return;
        }
    }
    const xj_t *val = xj_get(v, "value");
    if (val == NULL) {
        xs_problem(c, "\"value\" is missing (an Any holding %s)", t->full_name);
        return;
    }
    size_t mark = xs_push_key(c, "value", 5);
    if (xs_too_deep(mark))
        return;
    check_message(c, t, val, NULL, NULL);
    xs_pop(c, mark);
}

/* Value v for message m, in m's JSON form.  For a Duration, *dur and
 * *dur_ok (when not NULL) receive the parsed value for the rules. */
static void check_message(xs_ctx_t *c, const xs_msg_t *m, const xj_t *v, xs_duration_t *dur,
                          int *dur_ok)
{
    char d[96];
    xs_duration_t tmp;
    const char *url;

    switch (m->wkt) {
    case XS_WKT_ANY:
        check_any(c, v, &url);
        return;
    case XS_WKT_DURATION:
        if (check_duration(c, v, dur ? dur : &tmp) == XDS_OK && dur_ok)
            *dur_ok = 1;
        return;
    case XS_WKT_TIMESTAMP:
        if (check_timestamp(c, v, dur ? dur : &tmp) == XDS_OK && dur_ok)
            *dur_ok = 1;
        return;
    case XS_WKT_STRUCT:
        if (v->type != XJ_OBJECT)
            xs_problem(c, "expected an object (google.protobuf.Struct), got %s",
                       describe(v, d, sizeof(d)));
        else
            check_value_json(c, v, (int)c->depth);
        return;
    case XS_WKT_LIST_VALUE:
        if (v->type != XJ_ARRAY)
            xs_problem(c, "expected an array (google.protobuf.ListValue), got %s",
                       describe(v, d, sizeof(d)));
        else
            check_value_json(c, v, (int)c->depth);
        return;
    case XS_WKT_VALUE:
        check_value_json(c, v, (int)c->depth);
        return;
    case XS_WKT_FIELD_MASK:
        if (v->type != XJ_STRING)
            xs_problem(c, "expected a string (google.protobuf.FieldMask), got %s",
                       describe(v, d, sizeof(d)));
        return;
    case XS_WKT_WRAPPER: {
        const xs_field_t *f = field_by_number(m, 1);
        if (f != NULL)
            check_scalar(c, f, v, NULL);
        return;
    }
    case XS_WKT_NONE:
        check_object(c, m, v, 0);
        return;
    }
}

/* One value of field f (an item, when f is repeated) with rules r. */
static void check_single(xs_ctx_t *c, const xs_field_t *f, const xj_t *v, const xs_rules_t *r)
{
    if (f->type != XS_T_MESSAGE) {
        check_scalar(c, f, v, r);
        return;
    }
    const xs_msg_t *m = f->msg;
    if (r != NULL && m->wkt == XS_WKT_WRAPPER && r->kind != XS_R_NONE) {
        const xs_field_t *inner = field_by_number(m, 1);
        if (inner != NULL)
            check_scalar(c, inner, v, r);
        return;
    }
    int saved = c->rules_off, dur_ok = 0;
    xs_duration_t dur = {0, 0};
    const char *url = NULL;
    if (r != NULL && r->msg_skip)
        c->rules_off = 1;
    if (m->wkt == XS_WKT_ANY)
        check_any(c, v, &url);
    else
        check_message(c, m, v, &dur, &dur_ok);
    c->rules_off = saved;
    if (r == NULL)
        return;
    if ((r->kind == XS_R_DURATION || r->kind == XS_R_TIMESTAMP) && dur_ok)
        time_rules(c, r, dur);
    if (r->kind == XS_R_ANY && url != NULL) {
        char q[96], list[512];
        size_t n = strlen(url);
        if (r->s_in_len) {
            size_t i = 0;
            while (i < r->s_in_len && !(r->s_in[i].len == n && memcmp(r->s_in[i].s, url, n) == 0))
                i++;
            if (i == r->s_in_len)
                xs_problem(c, "\"@type\" must be one of %s, got %s",
                           str_list(r->s_in, r->s_in_len, list, sizeof(list)),
                           xj_quote(url, n, q, sizeof(q)));
        }
        for (size_t i = 0; i < r->s_not_in_len; i++)
            if (r->s_not_in[i].len == n && memcmp(r->s_not_in[i].s, url, n) == 0)
                xs_problem(c, "\"@type\" %s is not allowed here", xj_quote(url, n, q, sizeof(q)));
    }
}

static int same_scalar(const xj_t *a, const xj_t *b)
{
    if (a->type != b->type)
        return 0;
    if (a->type == XJ_STRING)
        return a->u.str.len == b->u.str.len && memcmp(a->u.str.s, b->u.str.s, a->u.str.len) == 0;
    if (a->type == XJ_NUMBER)
        return a->u.num.len == b->u.num.len &&
               memcmp(a->u.num.text, b->u.num.text, a->u.num.len) == 0;
    if (a->type == XJ_BOOL)
        return a->u.boolean == b->u.boolean;
    return 0;
}

static void check_list(xs_ctx_t *c, const xs_field_t *f, const xj_t *v, const xs_rules_t *r)
{
    char d[96];
    const xs_rules_t *items = NULL;

    if (v->type != XJ_ARRAY) {
        xs_problem(c, "expected an array, got %s", describe(v, d, sizeof(d)));
        return;
    }
    size_t n = v->u.arr.n;
    if (r != NULL && r->kind == XS_R_REPEATED && !(r->ignore_empty && n == 0)) {
        if ((r->has & XS_HAS_MIN) && n < r->min_len)
            xs_problem(c, "needs at least %llu items, has %zu", (unsigned long long)r->min_len, n);
        if ((r->has & XS_HAS_MAX) && n > r->max_len)
            xs_problem(c, "allows at most %llu items, has %zu", (unsigned long long)r->max_len, n);
        items = r->items;
        if (r->unique && f->type != XS_T_MESSAGE && n <= 4096) /* scalars only: see README */
            for (size_t i = 1; i < n; i++)
                for (size_t j = 0; j < i; j++)
                    if (same_scalar(v->u.arr.v[i], v->u.arr.v[j])) {
                        size_t mark = xs_push_index(c, i);
                        xs_problem(c, "items must be unique");
                        xs_pop(c, mark);
                        break;
                    }
    }
    for (size_t i = 0; i < n && !full(c); i++) {
        const xj_t *item = v->u.arr.v[i];
        size_t mark = xs_push_index(c, i);
        if (xs_too_deep(mark))
            return;
        if (item->type == XJ_NULL && !is_null_ok(f))
            xs_problem(c, "null is not allowed in a repeated field");
        else
            check_single(c, f, item, items);
        xs_pop(c, mark);
    }
}

/* A map key (always a JSON string) as the key field's type. */
static void check_map_key(xs_ctx_t *c, const xs_field_t *kf, const xj_member_t *mb,
                          const xs_rules_t *r)
{
    xj_t key;
    memset(&key, 0, sizeof(key));
    if (kf->type == XS_T_BOOL) {
        if (strcmp(mb->key, "true") != 0 && strcmp(mb->key, "false") != 0) {
            char q[96];
            xs_problem(c, "invalid map key %s (expected true or false)",
                       xj_quote(mb->key, mb->klen, q, sizeof(q)));
            return;
        }
        key.type = XJ_BOOL;
        key.u.boolean = mb->key[0] == 't';
    } else {
        key.type = XJ_STRING;
        key.u.str.s = mb->key;
        key.u.str.len = mb->klen;
    }
    check_scalar(c, kf, &key, r);
}

static void check_map(xs_ctx_t *c, const xs_field_t *f, const xj_t *v, const xs_rules_t *r)
{
    char d[96];
    const xs_field_t *kf = field_by_number(f->msg, 1), *vf = field_by_number(f->msg, 2);

    if (v->type != XJ_OBJECT) {
        xs_problem(c, "expected an object (map), got %s", describe(v, d, sizeof(d)));
        return;
    }
    if (kf == NULL || vf == NULL)
        return;
    size_t n = v->u.obj.n;
    if (r != NULL && r->kind != XS_R_MAP)
        r = NULL;
    if (r != NULL && !(r->ignore_empty && n == 0)) {
        if ((r->has & XS_HAS_MIN) && n < r->min_len)
            xs_problem(c, "needs at least %llu pairs, has %zu", (unsigned long long)r->min_len, n);
        if ((r->has & XS_HAS_MAX) && n > r->max_len)
            xs_problem(c, "allows at most %llu pairs, has %zu", (unsigned long long)r->max_len, n);
    }
    for (size_t i = 0; i < n && !full(c); i++) {
        const xj_member_t *mb = &v->u.obj.m[i];
        size_t mark = xs_push_map_key(c, mb->key, mb->klen);
        if (xs_too_deep(mark))
            return;
        if (kf->type != XS_T_STRING || (r != NULL && r->keys != NULL))
            check_map_key(c, kf, mb, r ? r->keys : NULL);
        if (mb->val->type == XJ_NULL && !is_null_ok(vf))
            xs_problem(c, "null is not allowed as a map value");
        else
            check_single(c, vf, mb->val, r ? r->vals : NULL);
        xs_pop(c, mark);
    }
}

/* A field absent from its object (or null): the rules that still apply. */
static void check_absent(xs_ctx_t *c, const xs_field_t *f)
{
    const xs_rules_t *r = f->rules;
    size_t mark = xs_push_key(c, f->name, f->name_len);
    if (xs_too_deep(mark))
        return;
    if (f->label == XS_LABEL_REPEATED)
        xs_problem(c, "needs at least %llu %s, has 0", (unsigned long long)r->min_len,
                   r->kind == XS_R_MAP ? "pairs" : "items");
    else if (f->type == XS_T_MESSAGE)
        xs_problem(c, "value is required");
    else
        check_scalar(c, f, NULL, r);
    xs_pop(c, mark);
}

#define SEEN_WORDS 8 /* fields tracked on the stack: 512 */

/* A regular message's JSON object: each member is a field (by proto name
 * or json_name), at most one member per oneof, then the rules of absent
 * fields and required oneofs.  in_any: skip the "@type" member. */
static void check_object(xs_ctx_t *c, const xs_msg_t *m, const xj_t *obj, int in_any)
{
    char d[96];
    uint64_t seen_stack[SEEN_WORDS], *seen = seen_stack;
    int16_t oneof_stack[32], *oneof_set = oneof_stack;
    int saved = c->rules_off;

    if (obj->type != XJ_OBJECT) {
        xs_problem(c, "expected an object (%s), got %s", m->full_name, describe(obj, d, sizeof(d)));
        return;
    }
    size_t words = (m->nfields + 63) / 64;
    if (words > SEEN_WORDS)
        seen = xds_calloc(words, sizeof(uint64_t));
    else
        memset(seen, 0, words * sizeof(uint64_t));
    if (m->noneofs > xds_nelems(oneof_stack))
        oneof_set = xds_malloc(m->noneofs * sizeof(int16_t));
    for (size_t o = 0; o < m->noneofs; o++)
        oneof_set[o] = -1;
    if (m->disabled)
        c->rules_off = 1;

    for (size_t i = 0; i < obj->u.obj.n && !full(c); i++) {
        const xj_member_t *mb = &obj->u.obj.m[i];
        if (in_any && mb->klen == 5 && memcmp(mb->key, "@type", 5) == 0)
            continue;
        const xs_field_t *f = xs_field_find(m, mb->key, mb->klen);
        if (f == NULL) {
            xs_problem(c, "unknown field %s in %s", xj_quote(mb->key, mb->klen, d, sizeof(d)),
                       m->full_name);
            continue;
        }
        size_t idx = (size_t)(f - m->fields);
        if (seen[idx / 64] & (1ULL << (idx % 64))) {
            xs_problem(c, "field %s given twice (as %s and %s)", f->name, f->name, f->json_name);
            continue;
        }
        if (mb->val->type == XJ_NULL && !is_null_ok(f))
            continue; /* null: the field's default, i.e. absent */
        seen[idx / 64] |= 1ULL << (idx % 64);
        if (f->oneof >= 0 && !m->oneofs[f->oneof].synthetic) {
            int16_t *set = &oneof_set[f->oneof];
            if (*set >= 0) {
                xs_problem(c,
                           "\"%s\" and \"%s\" are both set, but only one member of oneof %s may be",
                           m->fields[*set].name, f->name, m->oneofs[f->oneof].name);
                continue;
            }
            *set = (int16_t)idx;
        }
        size_t mark = xs_push_key(c, mb->key, mb->klen);
        if (xs_too_deep(mark))
            break;
        const xs_rules_t *r = c->rules_off ? NULL : f->rules;
        if (f->label != XS_LABEL_REPEATED)
            check_single(c, f, mb->val, r);
        else if (f->type == XS_T_MESSAGE && f->msg->map_entry)
            check_map(c, f, mb->val, r);
        else
            check_list(c, f, mb->val, r);
        xs_pop(c, mark);
    }

    if (!c->rules_off) {
        for (size_t k = 0; k < m->nabsent && !full(c); k++) {
            size_t idx = m->absent[k];
            if (!(seen[idx / 64] & (1ULL << (idx % 64))))
                check_absent(c, &m->fields[idx]);
        }
        for (size_t o = 0; m->has_required_oneof && o < m->noneofs; o++) {
            if (!m->oneofs[o].required || oneof_set[o] >= 0)
                continue;
            xds_buf_t names = {0};
            for (size_t i = 0; i < m->nfields; i++)
                if (m->fields[i].oneof == (int32_t)o)
                    xds_buf_printf(&names, "%s%s", names.len ? ", " : "", m->fields[i].name);
            xs_problem(c, "one of %s is required (oneof %s)", names.data ? names.data : "",
                       m->oneofs[o].name);
            xds_buf_free(&names);
        }
    }
    c->rules_off = saved;
    if (seen != seen_stack)
        free(seen);
    if (oneof_set != oneof_stack)
        free(oneof_set);
}

/* ---- entry points ---------------------------------------------------------------- */

static const xs_msg_t *message_for_url(const xds_schema_t *s, const char *url)
{
    const char *slash = strrchr(url, '/');
    return xs_msg_find(s, slash ? slash + 1 : url);
}

static void report_to_buf(void *arg, const char *where, const char *what, const char *origin)
{
    xds_buf_t *b = arg;
    if (origin != NULL)
        xds_buf_printf(b, "%s: %s (%s)\n", where, what, origin);
    else
        xds_buf_printf(b, "%s: %s\n", where, what);
}

/* Validate out's resources and their references (see schema.h). */
size_t xds_schema_validate_cb(const xds_schema_t *s, const xds_gen_out_t *out, size_t max,
                              xds_schema_report_t report, void *arg)
{
    xs_ctx_t *c = xds_calloc(1, sizeof(*c)); /* the path is too big for some thread stacks */
    xds_name_index_t names[XDS_TYPE_COUNT];
    size_t n;

    c->s = s;
    c->report = report;
    c->arg = arg;
    c->max = max ? max : SIZE_MAX;
    if (out->ref_names) { /* a node group: references resolve among its resources */
        c->names = out->ref_names;
    } else {
        xs_refs_index(c, out, names);
        c->names = names;
    }
    for (size_t t = 0; t < XDS_TYPE_COUNT && !full(c); t++) {
        if (out->n[t] == 0)
            continue;
        const xs_msg_t *m = message_for_url(s, xds_types[t].type_url);
        c->label = xds_types[t].path;
        c->name = NULL;
        c->origin = NULL;
        c->depth = 0;
        if (m == NULL) {
            xs_problem(c, "the schema has no message type %s", xds_types[t].type_url);
            continue;
        }
        for (size_t i = 0; i < out->n[t] && !full(c); i++) {
            const xds_gen_res_t *r = &out->res[t][i];
            c->name = r->name;
            c->origin = r->origin;
            c->depth = 0;
            c->rules_off = 0;
            check_object(c, m, r->resource, 1);
            if (t == XDS_TYPE_CLUSTERS && r->resource->type == XJ_OBJECT)
                xs_refs_eds(c, r->resource, r->name);
        }
    }
    for (size_t t = 0; t < XDS_TYPE_COUNT && out->ref_names == NULL; t++)
        xds_name_index_free(&names[t]);
    n = c->problems;
    free(c);
    return n;
}

static void report_to_gen(void *arg, const char *where, const char *what, const char *origin)
{
    xds_gen_out_t *into = arg;
    if (origin)
        xds_gen_error(into, "%s -> %s: %s", origin, where, what);
    else
        xds_gen_error(into, "%s: %s", where, what);
}

/* Validate, each problem a build error of into (see schema.h). */
size_t xds_schema_validate_into(const xds_schema_t *s, const xds_gen_out_t *out, size_t max,
                                xds_gen_out_t *into)
{
    return xds_schema_validate_cb(s, out, max, report_to_gen, into);
}

/* Validate, one "WHERE: WHAT (ORIGIN)" line per problem into errors. */
size_t xds_schema_validate(const xds_schema_t *s, const xds_gen_out_t *out, xds_buf_t *errors,
                           size_t max)
{
    return xds_schema_validate_cb(s, out, max, report_to_buf, errors);
}

/* Check one value as one message type (see schema.h). */
size_t xds_schema_check(const xds_schema_t *s, const char *message, const xj_t *value,
                        const char *label, xds_buf_t *errors, size_t max)
{
    xs_ctx_t *c = xds_calloc(1, sizeof(*c));
    const xs_msg_t *m = message_for_url(s, message);
    size_t n;

    c->s = s;
    c->report = report_to_buf;
    c->arg = errors;
    c->max = max ? max : SIZE_MAX;
    c->label = label;
    if (m == NULL)
        xs_problem(c, "the schema has no message type %s", message);
    else
        check_message(c, m, value, NULL, NULL);
    n = c->problems;
    free(c);
    return n;
}
