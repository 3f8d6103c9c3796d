/*
 * schema_load.c -- read a protobuf FileDescriptorSet (what `protoc
 * --include_imports --descriptor_set_out` writes, see tools/build-schema)
 * into the schema the validator walks (schema_int.h).
 *
 * A small protobuf wire-format decoder of our own reads exactly what is
 * needed from descriptor.proto: FileDescriptorProto (package, syntax,
 * messages, enums), DescriptorProto (fields, nested types, enums, oneofs,
 * options.map_entry and (validate.disabled)), FieldDescriptorProto (name,
 * number, label, type, type_name, oneof_index, json_name, proto3_optional,
 * options' (validate.rules)), OneofDescriptorProto ((validate.required)) and
 * EnumDescriptorProto.  Everything else is skipped, as protobuf itself skips
 * unknown fields.  PGV's FieldRules are decoded here once into xs_rules_t, and
 * type names are resolved into pointers, so validation never looks anything
 * up by name except "@type" URLs and JSON keys.
 *
 * All memory comes from one arena freed with the schema: loading Envoy's
 * ~350 API files makes tens of thousands of small objects.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "schema_int.h"

/* PGV's extension number on FieldOptions, OneofOptions and MessageOptions. */
#define PGV_EXT 1071

/* ---- arena ---------------------------------------------------------------- */

struct xs_chunk {
    xs_chunk_t *next;
    size_t used, cap;
    _Alignas(16) unsigned char data[];
};

#define XS_CHUNK_SIZE (256 * 1024)

static void *arena_alloc(xds_schema_t *s, size_t n)
{
    xs_chunk_t *c = s->arena;
    void *p;

    n = (n + 15) & ~(size_t)15;
    if (n > XS_CHUNK_SIZE / 4) { /* a big block gets its own chunk, behind the current one */
        xs_chunk_t *big = xds_malloc(sizeof(xs_chunk_t) + n);
        big->used = big->cap = n;
        if (c == NULL) {
            big->next = NULL;
            s->arena = big;
        } else {
            big->next = c->next;
            c->next = big;
        }
        memset(big->data, 0, n);
        return big->data;
    }
    if (c == NULL || c->cap - c->used < n) {
        c = xds_malloc(sizeof(xs_chunk_t) + XS_CHUNK_SIZE);
        c->used = 0;
        c->cap = XS_CHUNK_SIZE;
        c->next = s->arena;
        s->arena = c;
    }
    p = c->data + c->used;
    c->used += n;
    memset(p, 0, n);
    return p;
}

static char *arena_strndup(xds_schema_t *s, const void *p, size_t n)
{
    char *d = arena_alloc(s, n + 1);
    memcpy(d, p, n);
    d[n] = '\0';
    return d;
}

/* Append one element of size `size` to an arena array (copying: the lists
 * here are a handful of items long). */
static void *arena_push(xds_schema_t *s, void **arr, size_t *n, size_t size)
{
    unsigned char *na = arena_alloc(s, size * (*n + 1));
    if (*n)
        memcpy(na, *arr, size * *n);
    *arr = na;
    return na + size * (*n)++;
}

/* ---- wire format ---------------------------------------------------------- */

typedef struct {
    const uint8_t *p, *end;
} pb_t;

typedef struct {
    uint32_t field, wt;
    uint64_t v;          /* varint, fixed32, fixed64 */
    const uint8_t *data; /* length-delimited */
    size_t len;
} pb_field_t;

static int pb_varint(pb_t *r, uint64_t *out)
{
    uint64_t v = 0;
    for (unsigned shift = 0; shift < 64; shift += 7) {
        if (r->p >= r->end)
            return XDS_ERROR;
        uint8_t b = *r->p++;
        v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *out = v;
            return XDS_OK;
        }
    }
    return XDS_ERROR;
}

/* The next field of r into f: 1, 0 at the end, XDS_ERROR when malformed
 * (groups, which descriptor.proto does not use, count as malformed). */
static int pb_next(pb_t *r, pb_field_t *f)
{
    uint64_t key, len;
    if (r->p >= r->end)
        return 0;
    if (pb_varint(r, &key) != XDS_OK || (key >> 3) == 0 || (key >> 3) > UINT32_MAX)
        return XDS_ERROR;
    f->field = (uint32_t)(key >> 3);
    f->wt = (uint32_t)(key & 7);
    f->data = NULL;
    f->len = 0;
    f->v = 0;
    switch (f->wt) {
    case 0:
        return pb_varint(r, &f->v) == XDS_OK ? 1 : XDS_ERROR;
    case 1:
        if (r->end - r->p < 8)
            return XDS_ERROR;
        for (int i = 7; i >= 0; i--)
            f->v = (f->v << 8) | r->p[i];
        r->p += 8;
        return 1;
    case 5:
        if (r->end - r->p < 4)
            return XDS_ERROR;
        for (int i = 3; i >= 0; i--)
            f->v = (f->v << 8) | r->p[i];
        r->p += 4;
        return 1;
    case 2:
        if (pb_varint(r, &len) != XDS_OK || len > (uint64_t)(r->end - r->p))
            return XDS_ERROR;
        f->data = r->p;
        f->len = (size_t)len;
        r->p += len;
        return 1;
    default:
        return XDS_ERROR;
    }
}

static pb_t pb_sub(const pb_field_t *f)
{
    pb_t r = {f->data, f->data + f->len};
    return r;
}

/* ---- loader state ---------------------------------------------------------- */

typedef struct {
    xds_schema_t *s;
    char *err;
    size_t errlen;
    const char *path;
    int failed;
} loader_t;

static int malformed(loader_t *L, const char *what)
{
    if (!L->failed)
        snprintf(L->err, L->errlen, "%s: not a valid FileDescriptorSet (%s)", L->path, what);
    L->failed = 1;
    return XDS_ERROR;
}

/* Iterate the fields of r: `for (PB_EACH(...))` with rc checked after. */
#define PB_LOOP(r, f, rc) while (((rc) = pb_next(&(r), &(f))) == 1)

static char *join_name(xds_schema_t *s, const char *prefix, const uint8_t *name, size_t n)
{
    size_t pl = prefix ? strlen(prefix) : 0;
    char *d = arena_alloc(s, pl + n + 2);
    if (pl) {
        memcpy(d, prefix, pl);
        d[pl++] = '.';
    }
    memcpy(d + pl, name, n);
    d[pl + n] = '\0';
    return d;
}

/* ---- PGV rules ------------------------------------------------------------- */

static xs_rules_t *decode_rules(loader_t *L, pb_t r);

/* One raw wire value of a numeric rule as a number of the rule's domain. */
static xs_num_t rule_number(xs_rule_kind_t k, uint64_t v)
{
    xs_num_t n;
    switch (k) {
    case XS_R_FLOAT: {
        uint32_t bits = (uint32_t)v;
        float fl;
        memcpy(&fl, &bits, sizeof(fl));
        n.d = fl;
        break;
    }
    case XS_R_DOUBLE:
        memcpy(&n.d, &v, sizeof(n.d));
        break;
    case XS_R_INT32:
    case XS_R_SFIXED32:
    case XS_R_ENUM:
        n.i = (int32_t)(uint32_t)v;
        break;
    case XS_R_SINT32:
    case XS_R_SINT64:
        n.i = (int64_t)((v >> 1) ^ (~(v & 1) + 1));
        break;
    case XS_R_UINT32:
    case XS_R_FIXED32:
        n.u = (uint32_t)v;
        break;
    case XS_R_UINT64:
    case XS_R_FIXED64:
        n.u = v;
        break;
    default: /* int64, sfixed64 */
        n.i = (int64_t)v;
        break;
    }
    return n;
}

static void push_num(loader_t *L, xs_num_t **arr, size_t *n, xs_rule_kind_t k, uint64_t v)
{
    *(xs_num_t *)arena_push(L->s, (void **)arr, n, sizeof(xs_num_t)) = rule_number(k, v);
}

/* A repeated numeric rule field, packed or not. */
static int push_nums(loader_t *L, xs_num_t **arr, size_t *n, xs_rule_kind_t k, const pb_field_t *f)
{
    if (f->wt != 2) {
        push_num(L, arr, n, k, f->v);
        return XDS_OK;
    }
    pb_t r = pb_sub(f);
    while (r.p < r.end) {
        uint64_t v = 0;
        if (k == XS_R_FLOAT || k == XS_R_FIXED32 || k == XS_R_SFIXED32 || k == XS_R_DOUBLE ||
            k == XS_R_FIXED64 || k == XS_R_SFIXED64) {
            size_t w = (k == XS_R_DOUBLE || k == XS_R_FIXED64 || k == XS_R_SFIXED64) ? 8 : 4;
            if ((size_t)(r.end - r.p) < w)
                return malformed(L, "truncated packed rule values");
            for (size_t i = w; i-- > 0;)
                v = (v << 8) | r.p[i];
            r.p += w;
        } else if (pb_varint(&r, &v) != XDS_OK) {
            return malformed(L, "truncated packed rule values");
        }
        push_num(L, arr, n, k, v);
    }
    return XDS_OK;
}

static int decode_numeric(loader_t *L, xs_rules_t *ru, pb_t r)
{
    pb_field_t f;
    int rc;
    PB_LOOP(r, f, rc)
    {
        if (f.field >= 1 && f.field <= 5 && f.wt != 2) {
            static const uint32_t bit[] = {0,          XS_HAS_CONST, XS_HAS_LT,
                                           XS_HAS_LTE, XS_HAS_GT,    XS_HAS_GTE};
            xs_num_t *dst[] = {NULL, &ru->n_const, &ru->n_lt, &ru->n_lte, &ru->n_gt, &ru->n_gte};
            *dst[f.field] = rule_number(ru->kind, f.v);
            ru->has |= bit[f.field];
        } else if (f.field == 6) {
            if (push_nums(L, &ru->n_in, &ru->n_in_len, ru->kind, &f) != XDS_OK)
                return XDS_ERROR;
        } else if (f.field == 7) {
            if (push_nums(L, &ru->n_not_in, &ru->n_not_in_len, ru->kind, &f) != XDS_OK)
                return XDS_ERROR;
        } else if (f.field == 8 && f.wt == 0) {
            ru->ignore_empty = f.v != 0;
        }
    }
    return rc < 0 ? malformed(L, "numeric rules") : XDS_OK;
}

static int decode_enum_rules(loader_t *L, xs_rules_t *ru, pb_t r)
{
    pb_field_t f;
    int rc;
    PB_LOOP(r, f, rc)
    {
        if (f.field == 1 && f.wt == 0) {
            ru->n_const = rule_number(XS_R_ENUM, f.v);
            ru->has |= XS_HAS_CONST;
        } else if (f.field == 2 && f.wt == 0) {
            ru->defined_only = f.v != 0;
        } else if (f.field == 3 || f.field == 4) {
            xs_num_t **arr = f.field == 3 ? &ru->n_in : &ru->n_not_in;
            size_t *n = f.field == 3 ? &ru->n_in_len : &ru->n_not_in_len;
            if (push_nums(L, arr, n, XS_R_ENUM, &f) != XDS_OK)
                return XDS_ERROR;
        }
    }
    return rc < 0 ? malformed(L, "enum rules") : XDS_OK;
}

static xs_str_t arena_str(loader_t *L, const pb_field_t *f)
{
    xs_str_t s = {arena_strndup(L->s, f->data, f->len), f->len};
    return s;
}

static void push_str(loader_t *L, xs_str_t **arr, size_t *n, const pb_field_t *f)
{
    *(xs_str_t *)arena_push(L->s, (void **)arr, n, sizeof(xs_str_t)) = arena_str(L, f);
}

static int decode_string_rules(loader_t *L, xs_rules_t *ru, pb_t r)
{
    pb_field_t f;
    int rc;
    PB_LOOP(r, f, rc)
    {
        if (f.wt == 2) {
            switch (f.field) {
            case 1:
                ru->s_const = arena_str(L, &f), ru->has |= XS_HAS_CONST;
                break;
            case 6:
                ru->pattern = arena_str(L, &f), ru->has |= XS_HAS_PATTERN;
                ru->pattern_ok = (uint8_t)xs_regex_supported(ru->pattern.s);
                break;
            case 7:
                ru->prefix = arena_str(L, &f), ru->has |= XS_HAS_PREFIX;
                break;
            case 8:
                ru->suffix = arena_str(L, &f), ru->has |= XS_HAS_SUFFIX;
                break;
            case 9:
                ru->contains = arena_str(L, &f), ru->has |= XS_HAS_CONTAINS;
                break;
            case 23:
                ru->not_contains = arena_str(L, &f), ru->has |= XS_HAS_NOT_CONTAINS;
                break;
            case 10:
                push_str(L, &ru->s_in, &ru->s_in_len, &f);
                break;
            case 11:
                push_str(L, &ru->s_not_in, &ru->s_not_in_len, &f);
                break;
            }
            continue;
        }
        if (f.wt != 0)
            continue;
        switch (f.field) {
        case 19:
            ru->len = f.v, ru->has |= XS_HAS_LEN;
            break;
        case 2:
            ru->min_len = f.v, ru->has |= XS_HAS_MIN_LEN;
            break;
        case 3:
            ru->max_len = f.v, ru->has |= XS_HAS_MAX_LEN;
            break;
        case 20:
            ru->len_bytes = f.v, ru->has |= XS_HAS_LEN_BYTES;
            break;
        case 4:
            ru->min_bytes = f.v, ru->has |= XS_HAS_MIN_BYTES;
            break;
        case 5:
            ru->max_bytes = f.v, ru->has |= XS_HAS_MAX_BYTES;
            break;
        case 12:
        case 13:
        case 14:
        case 15:
        case 16:
        case 17:
        case 18:
        case 21:
        case 22:
            ru->well_known = f.v ? (xs_well_known_t)f.field : XS_WK_NONE;
            break;
        case 24:
            ru->well_known = f.v == 1   ? XS_WK_HEADER_NAME
                             : f.v == 2 ? XS_WK_HEADER_VALUE
                                        : XS_WK_NONE;
            break;
        case 25:
            ru->strict = f.v != 0;
            break;
        case 26:
            ru->ignore_empty = f.v != 0;
            break;
        }
    }
    return rc < 0 ? malformed(L, "string rules") : XDS_OK;
}

static int decode_bytes_rules(loader_t *L, xs_rules_t *ru, pb_t r)
{
    pb_field_t f;
    int rc;
    PB_LOOP(r, f, rc)
    {
        if (f.wt == 0 && f.field == 13)
            ru->len = f.v, ru->has |= XS_HAS_LEN;
        else if (f.wt == 0 && f.field == 2)
            ru->min_len = f.v, ru->has |= XS_HAS_MIN_LEN;
        else if (f.wt == 0 && f.field == 3)
            ru->max_len = f.v, ru->has |= XS_HAS_MAX_LEN;
        else if (f.wt == 0 && f.field == 14)
            ru->ignore_empty = f.v != 0;
    }
    return rc < 0 ? malformed(L, "bytes rules") : XDS_OK;
}

static int decode_duration(loader_t *L, const pb_field_t *outer, xs_duration_t *d)
{
    pb_t r = pb_sub(outer);
    pb_field_t f;
    int rc;
    d->seconds = 0;
    d->nanos = 0;
    PB_LOOP(r, f, rc)
    {
        if (f.field == 1 && f.wt == 0)
            d->seconds = (int64_t)f.v;
        else if (f.field == 2 && f.wt == 0)
            d->nanos = (int32_t)(uint32_t)f.v;
    }
    return rc < 0 ? malformed(L, "duration in rules") : XDS_OK;
}

/* DurationRules and TimestampRules share field numbers 1..6 (required,
 * const, lt, lte, gt, gte); DurationRules adds in (7) and not_in (8). */
static int decode_time_rules(loader_t *L, xs_rules_t *ru, pb_t r)
{
    pb_field_t f;
    int rc;
    PB_LOOP(r, f, rc)
    {
        if (f.field == 1 && f.wt == 0) {
            ru->required = f.v != 0;
        } else if (f.field >= 2 && f.field <= 6 && f.wt == 2) {
            static const uint32_t bit[] = {0,          0,         XS_HAS_CONST, XS_HAS_LT,
                                           XS_HAS_LTE, XS_HAS_GT, XS_HAS_GTE};
            xs_duration_t *dst[] = {NULL,       NULL,      &ru->d_const, &ru->d_lt,
                                    &ru->d_lte, &ru->d_gt, &ru->d_gte};
            if (decode_duration(L, &f, dst[f.field]) != XDS_OK)
                return XDS_ERROR;
            ru->has |= bit[f.field];
        } else if ((f.field == 7 || f.field == 8) && f.wt == 2 && ru->kind == XS_R_DURATION) {
            xs_duration_t **arr = f.field == 7 ? &ru->d_in : &ru->d_not_in;
            size_t *n = f.field == 7 ? &ru->d_in_len : &ru->d_not_in_len;
            xs_duration_t *d = arena_push(L->s, (void **)arr, n, sizeof(xs_duration_t));
            if (decode_duration(L, &f, d) != XDS_OK)
                return XDS_ERROR;
        }
    }
    return rc < 0 ? malformed(L, "duration rules") : XDS_OK;
}

/* RepeatedRules (min_items 1, max_items 2, unique 3, items 4, ignore_empty
 * 5) and MapRules (min_pairs 1, max_pairs 2, no_sparse 3, keys 4, values
 * 5, ignore_empty 6). */
static int decode_container_rules(loader_t *L, xs_rules_t *ru, pb_t r)
{
    pb_field_t f;
    int rc, map = ru->kind == XS_R_MAP;
    PB_LOOP(r, f, rc)
    {
        if (f.field == 1 && f.wt == 0) {
            ru->min_len = f.v, ru->has |= XS_HAS_MIN;
        } else if (f.field == 2 && f.wt == 0) {
            ru->max_len = f.v, ru->has |= XS_HAS_MAX;
        } else if (f.field == 3 && f.wt == 0 && !map) {
            ru->unique = f.v != 0;
        } else if ((f.field == 4 || (f.field == 5 && map)) && f.wt == 2) {
            xs_rules_t *sub = decode_rules(L, pb_sub(&f));
            if (sub == NULL)
                return XDS_ERROR;
            if (!map)
                ru->items = sub;
            else if (f.field == 4)
                ru->keys = sub;
            else
                ru->vals = sub;
        } else if (f.field == (map ? 6u : 5u) && f.wt == 0) {
            ru->ignore_empty = f.v != 0;
        }
    }
    return rc < 0 ? malformed(L, "repeated rules") : XDS_OK;
}

static int decode_any_rules(loader_t *L, xs_rules_t *ru, pb_t r)
{
    pb_field_t f;
    int rc;
    PB_LOOP(r, f, rc)
    {
        if (f.field == 1 && f.wt == 0)
            ru->required = f.v != 0;
        else if (f.field == 2 && f.wt == 2)
            push_str(L, &ru->s_in, &ru->s_in_len, &f);
        else if (f.field == 3 && f.wt == 2)
            push_str(L, &ru->s_not_in, &ru->s_not_in_len, &f);
    }
    return rc < 0 ? malformed(L, "any rules") : XDS_OK;
}

/* One validate.FieldRules message; NULL after malformed(). */
static xs_rules_t *decode_rules(loader_t *L, pb_t r)
{
    xs_rules_t *ru = arena_alloc(L->s, sizeof(*ru));
    pb_field_t f;
    int rc, ok = XDS_OK;

    ru->strict = 1;
    PB_LOOP(r, f, rc)
    {
        if (f.wt != 2)
            continue;
        pb_t sub = pb_sub(&f);
        if (f.field == 17) { /* MessageRules */
            pb_field_t g;
            int rc2;
            PB_LOOP(sub, g, rc2)
            {
                if (g.field == 1 && g.wt == 0)
                    ru->msg_skip = g.v != 0;
                else if (g.field == 2 && g.wt == 0)
                    ru->msg_required = g.v != 0;
            }
            if (rc2 < 0)
                return malformed(L, "message rules"), NULL;
            continue;
        }
        if (f.field < 1 || f.field > 22)
            continue;
        ru->kind = (xs_rule_kind_t)f.field;
        switch (ru->kind) {
        case XS_R_BOOL: {
            pb_field_t g;
            int rc2;
            PB_LOOP(sub, g, rc2)
            {
                if (g.field == 1 && g.wt == 0)
                    ru->bool_const = g.v != 0, ru->has |= XS_HAS_CONST;
            }
            ok = rc2 < 0 ? malformed(L, "bool rules") : XDS_OK;
            break;
        }
        case XS_R_STRING:
            ok = decode_string_rules(L, ru, sub);
            break;
        case XS_R_BYTES:
            ok = decode_bytes_rules(L, ru, sub);
            break;
        case XS_R_ENUM:
            ok = decode_enum_rules(L, ru, sub);
            break;
        case XS_R_REPEATED:
        case XS_R_MAP:
            ok = decode_container_rules(L, ru, sub);
            break;
        case XS_R_ANY:
            ok = decode_any_rules(L, ru, sub);
            break;
        case XS_R_DURATION:
        case XS_R_TIMESTAMP:
            ok = decode_time_rules(L, ru, sub);
            break;
        default:
            if (ru->kind == 17) /* not a type: MessageRules, handled above */
                break;
            ok = decode_numeric(L, ru, sub);
            break;
        }
        if (ok != XDS_OK)
            return NULL;
    }
    if (rc < 0)
        return malformed(L, "field rules"), NULL;
    return ru;
}

/* The (validate.*) extension (field 1071) in an options message: its
 * payload for FieldOptions (a FieldRules) or its boolean for the others. */
static int find_pgv_ext(loader_t *L, const pb_field_t *opts, pb_field_t *ext)
{
    pb_t r = pb_sub(opts);
    pb_field_t f;
    int rc, found = 0;
    PB_LOOP(r, f, rc)
    {
        if (f.field == PGV_EXT) {
            *ext = f;
            found = 1;
        }
    }
    if (rc < 0)
        return malformed(L, "options");
    return found;
}

/* ---- descriptors ------------------------------------------------------------ */

static int add_enum(loader_t *L, pb_t r, const char *prefix)
{
    xds_schema_t *s = L->s;
    xs_enum_t *e = arena_alloc(s, sizeof(*e));
    pb_field_t f;
    int rc;
    PB_LOOP(r, f, rc)
    {
        if (f.field == 1 && f.wt == 2) {
            e->full_name = join_name(s, prefix, f.data, f.len);
        } else if (f.field == 2 && f.wt == 2) {
            xs_enum_value_t *v =
                arena_push(s, (void **)&e->values, &e->nvalues, sizeof(xs_enum_value_t));
            pb_t vr = pb_sub(&f);
            pb_field_t g;
            int rc2;
            PB_LOOP(vr, g, rc2)
            {
                if (g.field == 1 && g.wt == 2)
                    v->name = arena_strndup(s, g.data, g.len), v->name_len = g.len;
                else if (g.field == 2 && g.wt == 0)
                    v->number = (int32_t)(uint32_t)g.v;
            }
            if (rc2 < 0 || v->name == NULL)
                return malformed(L, "enum value");
        }
    }
    if (rc < 0 || e->full_name == NULL)
        return malformed(L, "enum");
    e->null_value = strcmp(e->full_name, "google.protobuf.NullValue") == 0;
    if (s->nenums == s->enums_cap) {
        s->enums_cap = s->enums_cap ? 2 * s->enums_cap : 256;
        s->enums = xds_realloc(s->enums, s->enums_cap * sizeof(*s->enums));
    }
    if (xds_name_index_put(&s->enum_index, e->full_name, s->nenums, NULL))
        s->enums[s->nenums++] = e;
    return XDS_OK;
}

static int decode_field(loader_t *L, xs_field_t *fd, pb_t r, int proto3)
{
    pb_field_t f;
    int rc;
    fd->oneof = -1;
    PB_LOOP(r, f, rc)
    {
        switch (f.field) {
        case 1:
            if (f.wt == 2)
                fd->name = arena_strndup(L->s, f.data, f.len), fd->name_len = f.len;
            break;
        case 3:
            fd->number = (uint32_t)f.v;
            break;
        case 4:
            fd->label = (uint8_t)f.v;
            break;
        case 5:
            fd->type = (uint8_t)f.v;
            break;
        case 6:
            if (f.wt == 2)
                fd->type_name = arena_strndup(L->s, f.data, f.len);
            break;
        case 9:
            fd->oneof = (int32_t)f.v;
            break;
        case 10:
            if (f.wt == 2)
                fd->json_name = arena_strndup(L->s, f.data, f.len), fd->json_len = f.len;
            break;
        case 17:
            fd->proto3_optional = f.v != 0;
            break;
        case 8:
            if (f.wt == 2) {
                pb_field_t ext;
                int found = find_pgv_ext(L, &f, &ext);
                if (found < 0)
                    return XDS_ERROR;
                if (found && ext.wt == 2 && (fd->rules = decode_rules(L, pb_sub(&ext))) == NULL)
                    return XDS_ERROR;
            }
            break;
        }
    }
    if (rc < 0 || fd->name == NULL || fd->type == 0)
        return malformed(L, "field");
    if (fd->json_name == NULL) { /* protoc's ToJsonName: drop '_', upcase the next letter */
        char *j = arena_alloc(L->s, fd->name_len + 1);
        size_t n = 0;
        int up = 0;
        for (const char *p = fd->name; *p; p++) {
            if (*p == '_') {
                up = 1;
                continue;
            }
            j[n++] = up && *p >= 'a' && *p <= 'z' ? (char)(*p - 'a' + 'A') : *p;
            up = 0;
        }
        fd->json_name = j;
        fd->json_len = n;
    }
    fd->has_presence =
        fd->label != XS_LABEL_REPEATED &&
        (fd->type == XS_T_MESSAGE || fd->oneof >= 0 || fd->proto3_optional || !proto3);
    return XDS_OK;
}

static int add_message(loader_t *L, pb_t r, const char *prefix, int proto3)
{
    xds_schema_t *s = L->s;
    xs_msg_t *m = arena_alloc(s, sizeof(*m));
    pb_t scan = r;
    pb_field_t f;
    int rc;
    size_t nfields = 0, noneofs = 0;

    /* First pass: the name (nested types need it) and the counts. */
    PB_LOOP(scan, f, rc)
    {
        if (f.field == 1 && f.wt == 2)
            m->full_name = join_name(s, prefix, f.data, f.len);
        else if (f.field == 2)
            nfields++;
        else if (f.field == 8)
            noneofs++;
    }
    if (rc < 0 || m->full_name == NULL)
        return malformed(L, "message");
    m->fields = arena_alloc(s, sizeof(xs_field_t) * (nfields ? nfields : 1));
    m->oneofs = arena_alloc(s, sizeof(xs_oneof_t) * (noneofs ? noneofs : 1));

    PB_LOOP(r, f, rc)
    {
        if (f.wt != 2)
            continue;
        pb_t sub = pb_sub(&f);
        if (f.field == 2) {
            if (decode_field(L, &m->fields[m->nfields++], sub, proto3) != XDS_OK)
                return XDS_ERROR;
        } else if (f.field == 3) {
            if (add_message(L, sub, m->full_name, proto3) != XDS_OK)
                return XDS_ERROR;
        } else if (f.field == 4) {
            if (add_enum(L, sub, m->full_name) != XDS_OK)
                return XDS_ERROR;
        } else if (f.field == 8) {
            xs_oneof_t *o = &m->oneofs[m->noneofs++];
            pb_field_t g;
            int rc2;
            PB_LOOP(sub, g, rc2)
            {
                if (g.field == 1 && g.wt == 2) {
                    o->name = arena_strndup(s, g.data, g.len);
                } else if (g.field == 2 && g.wt == 2) {
                    pb_field_t ext;
                    int found = find_pgv_ext(L, &g, &ext);
                    if (found < 0)
                        return XDS_ERROR;
                    if (found && ext.wt == 0 && ext.v)
                        o->required = 1, m->has_required_oneof = 1;
                }
            }
            if (rc2 < 0 || o->name == NULL)
                return malformed(L, "oneof");
        } else if (f.field == 7) { /* MessageOptions: map_entry 7, (validate.disabled) */
            pb_field_t g;
            int rc2;
            PB_LOOP(sub, g, rc2)
            {
                if (g.field == 7 && g.wt == 0)
                    m->map_entry = g.v != 0;
                else if (g.field == PGV_EXT && g.wt == 0)
                    m->disabled = g.v != 0;
            }
            if (rc2 < 0)
                return malformed(L, "message options");
        }
    }
    if (rc < 0)
        return malformed(L, "message");
    for (size_t i = 0; i < m->nfields; i++)
        if (m->fields[i].oneof >= (int32_t)m->noneofs)
            return malformed(L, "oneof_index out of range");

    if (s->nmsgs == s->msgs_cap) {
        s->msgs_cap = s->msgs_cap ? 2 * s->msgs_cap : 1024;
        s->msgs = xds_realloc(s->msgs, s->msgs_cap * sizeof(*s->msgs));
    }
    if (xds_name_index_put(&s->msg_index, m->full_name, s->nmsgs, NULL))
        s->msgs[s->nmsgs++] = m;
    return XDS_OK;
}

static int add_file(loader_t *L, pb_t r)
{
    pb_t scan = r;
    pb_field_t f;
    int rc, proto3 = 0;
    const char *package = NULL;

    /* syntax (12) comes after the messages in protoc's output: scan first. */
    PB_LOOP(scan, f, rc)
    {
        if (f.field == 2 && f.wt == 2)
            package = arena_strndup(L->s, f.data, f.len);
        else if (f.field == 12 && f.wt == 2)
            proto3 = f.len == 6 && memcmp(f.data, "proto3", 6) == 0;
    }
    if (rc < 0)
        return malformed(L, "file");
    if (package != NULL && package[0] == '\0')
        package = NULL;
    PB_LOOP(r, f, rc)
    {
        if (f.field == 4 && f.wt == 2) {
            if (add_message(L, pb_sub(&f), package, proto3) != XDS_OK)
                return XDS_ERROR;
        } else if (f.field == 5 && f.wt == 2) {
            if (add_enum(L, pb_sub(&f), package) != XDS_OK)
                return XDS_ERROR;
        }
    }
    return rc < 0 ? malformed(L, "file") : XDS_OK;
}

/* ---- after loading: resolution and indexes ----------------------------------- */

/* Hash of a JSON key for the per-message field table: its length and its
 * first and last (up to) 8 bytes, which tell Envoy's field names apart well
 * enough for a table at most 1/4 full, at a fraction of a byte-wise hash. */
static uint64_t key_hash(const char *k, size_t n)
{
    uint64_t a = 0, b = 0;
    if (n >= 8) {
        memcpy(&a, k, 8);
        memcpy(&b, k + n - 8, 8);
    } else {
        memcpy(&a, k, n);
    }
    uint64_t h = (a ^ (b * 0x9e3779b97f4a7c15ULL) ^ n) * 0xff51afd7ed558ccdULL;
    return h ^ (h >> 32);
}

static void slot_put(xs_msg_t *m, const char *key, size_t klen, size_t idx)
{
    for (size_t i = (size_t)key_hash(key, klen) & m->slot_mask;; i = (i + 1) & m->slot_mask) {
        if (m->slots[i] == 0) {
            m->slots[i] = (uint16_t)(idx + 1);
            return;
        }
        const xs_field_t *f = &m->fields[m->slots[i] - 1];
        if ((f->name_len == klen && memcmp(f->name, key, klen) == 0) ||
            (f->json_len == klen && memcmp(f->json_name, key, klen) == 0))
            return; /* name == json_name, or a clash: the first field keeps it */
    }
}

/* The field named key (proto name or json_name), or NULL. */
const xs_field_t *xs_field_find(const xs_msg_t *m, const char *key, size_t klen)
{
    if (m->slots == NULL)
        return NULL;
    for (size_t i = (size_t)key_hash(key, klen) & m->slot_mask;; i = (i + 1) & m->slot_mask) {
        if (m->slots[i] == 0)
            return NULL;
        const xs_field_t *f = &m->fields[m->slots[i] - 1];
        if ((f->name_len == klen && memcmp(f->name, key, klen) == 0) ||
            (f->json_len == klen && memcmp(f->json_name, key, klen) == 0))
            return f;
    }
}

/* The message named full_name (NUL-terminated, no leading dot), or NULL. */
const xs_msg_t *xs_msg_find(const xds_schema_t *s, const char *full_name)
{
    size_t *i = xds_name_index_find(&s->msg_index, full_name);
    return i ? s->msgs[*i] : NULL;
}

static xs_wkt_t wkt_of(const char *name)
{
    static const struct {
        const char *name;
        xs_wkt_t wkt;
    } table[] = {
        {"google.protobuf.Any", XS_WKT_ANY},
        {"google.protobuf.Duration", XS_WKT_DURATION},
        {"google.protobuf.Timestamp", XS_WKT_TIMESTAMP},
        {"google.protobuf.Struct", XS_WKT_STRUCT},
        {"google.protobuf.Value", XS_WKT_VALUE},
        {"google.protobuf.ListValue", XS_WKT_LIST_VALUE},
        {"google.protobuf.FieldMask", XS_WKT_FIELD_MASK},
        {"google.protobuf.DoubleValue", XS_WKT_WRAPPER},
        {"google.protobuf.FloatValue", XS_WKT_WRAPPER},
        {"google.protobuf.Int64Value", XS_WKT_WRAPPER},
        {"google.protobuf.UInt64Value", XS_WKT_WRAPPER},
        {"google.protobuf.Int32Value", XS_WKT_WRAPPER},
        {"google.protobuf.UInt32Value", XS_WKT_WRAPPER},
        {"google.protobuf.BoolValue", XS_WKT_WRAPPER},
        {"google.protobuf.StringValue", XS_WKT_WRAPPER},
        {"google.protobuf.BytesValue", XS_WKT_WRAPPER},
    };
    if (strncmp(name, "google.protobuf.", 16) != 0)
        return XS_WKT_NONE;
    for (size_t i = 0; i < xds_nelems(table); i++)
        if (strcmp(name, table[i].name) == 0)
            return table[i].wkt;
    return XS_WKT_NONE;
}

static int is_scalar_rule(xs_rule_kind_t k)
{
    return k != XS_R_NONE && k != XS_R_REPEATED && k != XS_R_MAP && k != XS_R_ANY &&
           k != XS_R_DURATION && k != XS_R_TIMESTAMP;
}

/* Does field f's rule set say anything when f is absent from its object?
 * (PGV checks a oneof member only when it is the one set.) */
static int rules_apply_when_absent(const xs_field_t *f)
{
    const xs_rules_t *ru = f->rules;
    if (ru == NULL || f->oneof >= 0)
        return 0;
    if (f->label == XS_LABEL_REPEATED)
        return (ru->kind == XS_R_REPEATED || ru->kind == XS_R_MAP) && (ru->has & XS_HAS_MIN) &&
               ru->min_len > 0 && !ru->ignore_empty;
    if (f->type == XS_T_MESSAGE)
        return ru->msg_required ||
               ((ru->kind == XS_R_DURATION || ru->kind == XS_R_TIMESTAMP || ru->kind == XS_R_ANY) &&
                ru->required);
    return !f->has_presence && is_scalar_rule(ru->kind);
}

static int resolve(loader_t *L)
{
    xds_schema_t *s = L->s;
    for (size_t mi = 0; mi < s->nmsgs; mi++) {
        xs_msg_t *m = s->msgs[mi];
        m->wkt = wkt_of(m->full_name);
        for (size_t i = 0; i < m->nfields; i++) {
            xs_field_t *f = &m->fields[i];
            if (f->type == XS_T_GROUP) {
                snprintf(L->err, L->errlen, "%s: %s.%s: groups are not supported", L->path,
                         m->full_name, f->name);
                return XDS_ERROR;
            }
            if (f->type != XS_T_MESSAGE && f->type != XS_T_ENUM)
                continue;
            const char *tn = f->type_name ? f->type_name : "";
            if (*tn == '.')
                tn++;
            size_t *idx = NULL;
            if (f->type == XS_T_MESSAGE && (idx = xds_name_index_find(&s->msg_index, tn)))
                f->msg = s->msgs[*idx];
            else if (f->type == XS_T_ENUM && (idx = xds_name_index_find(&s->enum_index, tn)))
                f->en = s->enums[*idx];
            if (idx == NULL) {
                snprintf(L->err, L->errlen,
                         "%s: %s.%s: type %s is not in the set (built without "
                         "--include_imports?)",
                         L->path, m->full_name, f->name, tn);
                return XDS_ERROR;
            }
        }
        /* A proto3 optional field sits alone in a synthetic oneof. */
        for (size_t i = 0; i < m->nfields; i++)
            if (m->fields[i].proto3_optional && m->fields[i].oneof >= 0)
                m->oneofs[m->fields[i].oneof].synthetic = 1;
        size_t cap = 4;
        while (cap < m->nfields * 4)
            cap *= 2;
        if (m->nfields > 0) {
            if (m->nfields >= UINT16_MAX)
                return malformed(L, "message with too many fields");
            m->slots = arena_alloc(s, cap * sizeof(uint16_t));
            m->slot_mask = cap - 1;
            for (size_t i = 0; i < m->nfields; i++) {
                slot_put(m, m->fields[i].name, m->fields[i].name_len, i);
                slot_put(m, m->fields[i].json_name, m->fields[i].json_len, i);
            }
        }
        for (size_t i = 0; i < m->nfields; i++)
            if (rules_apply_when_absent(&m->fields[i]))
                *(size_t *)arena_push(s, (void **)&m->absent, &m->nabsent, sizeof(size_t)) = i;
    }
    return XDS_OK;
}

/* Load a FileDescriptorSet (see schema.h). */
xds_schema_t *xds_schema_load(const char *path, char *err, size_t errlen)
{
    size_t len;
    char *data = xds_read_file(path, &len, err, errlen);
    if (data == NULL)
        return NULL;

    xds_schema_t *s = xds_calloc(1, sizeof(*s));
    atomic_init(&s->refs, 1);
    loader_t L = {s, err, errlen, path, 0};
    pb_t r = {(const uint8_t *)data, (const uint8_t *)data + len};
    pb_field_t f;
    int rc, files = 0;

    xds_name_index_init(&s->msg_index, 4096, 0);
    xds_name_index_init(&s->enum_index, 1024, 0);
    PB_LOOP(r, f, rc)
    {
        if (f.field != 1 || f.wt != 2)
            continue;
        files++;
        if (add_file(&L, pb_sub(&f)) != XDS_OK)
            goto failed;
    }
    if (rc < 0) {
        malformed(&L, "truncated or corrupt");
        goto failed;
    }
    if (files == 0 || s->nmsgs == 0) {
        snprintf(err, errlen, "%s: no message types (not a FileDescriptorSet?)", path);
        goto failed;
    }
    if (resolve(&L) != XDS_OK)
        goto failed;
    xs_refs_tag(s);
    free(data);
    return s;

failed:
    free(data);
    xds_schema_free(s);
    return NULL;
}

/* Free s and everything it holds. */
xds_schema_t *xds_schema_ref(xds_schema_t *s)
{
    if (s)
        atomic_fetch_add_explicit(&s->refs, 1, memory_order_relaxed);
    return s;
}

void xds_schema_free(xds_schema_t *s)
{
    if (s == NULL || atomic_fetch_sub_explicit(&s->refs, 1, memory_order_acq_rel) != 1)
        return;
    for (xs_chunk_t *c = s->arena, *next; c != NULL; c = next) {
        next = c->next;
        free(c);
    }
    free(s->msgs);
    free(s->enums);
    xds_name_index_free(&s->msg_index);
    xds_name_index_free(&s->enum_index);
    free(s);
}

/* How many message types s knows. */
size_t xds_schema_message_count(const xds_schema_t *s)
{
    return s->nmsgs;
}
