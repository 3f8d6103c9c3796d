/*
 * schema_int.h -- the in-memory form of a loaded schema, shared by the
 * loader (schema_load.c, which builds it from a FileDescriptorSet) and the
 * validator (schema.c, which only reads it).  Not for other units: they see
 * the opaque xds_schema_t of schema.h.
 *
 * Everything lives in one arena owned by the schema and is immutable after
 * xds_schema_load returns, which is what makes concurrent validation safe.
 */
#ifndef XDS_SCHEMA_INT_H
#define XDS_SCHEMA_INT_H

#include <stdatomic.h>

#include "schema.h"

/* FieldDescriptorProto.Type values. */
enum {
    XS_T_DOUBLE = 1,
    XS_T_FLOAT = 2,
    XS_T_INT64 = 3,
    XS_T_UINT64 = 4,
    XS_T_INT32 = 5,
    XS_T_FIXED64 = 6,
    XS_T_FIXED32 = 7,
    XS_T_BOOL = 8,
    XS_T_STRING = 9,
    XS_T_GROUP = 10,
    XS_T_MESSAGE = 11,
    XS_T_BYTES = 12,
    XS_T_UINT32 = 13,
    XS_T_ENUM = 14,
    XS_T_SFIXED32 = 15,
    XS_T_SFIXED64 = 16,
    XS_T_SINT32 = 17,
    XS_T_SINT64 = 18
};

#define XS_LABEL_REPEATED 3

/* Messages whose JSON form is not an object of fields. */
typedef enum {
    XS_WKT_NONE = 0,
    XS_WKT_ANY,
    XS_WKT_DURATION,
    XS_WKT_TIMESTAMP,
    XS_WKT_STRUCT,
    XS_WKT_VALUE,
    XS_WKT_LIST_VALUE,
    XS_WKT_FIELD_MASK,
    XS_WKT_WRAPPER /* DoubleValue ... BytesValue: the bare value of field "value" */
} xs_wkt_t;

/* Which member of FieldRules' "type" oneof a rule set holds (its field
 * number in validate.proto). */
typedef enum {
    XS_R_NONE = 0,
    XS_R_FLOAT = 1,
    XS_R_DOUBLE = 2,
    XS_R_INT32 = 3,
    XS_R_INT64 = 4,
    XS_R_UINT32 = 5,
    XS_R_UINT64 = 6,
    XS_R_SINT32 = 7,
    XS_R_SINT64 = 8,
    XS_R_FIXED32 = 9,
    XS_R_FIXED64 = 10,
    XS_R_SFIXED32 = 11,
    XS_R_SFIXED64 = 12,
    XS_R_BOOL = 13,
    XS_R_STRING = 14,
    XS_R_BYTES = 15,
    XS_R_ENUM = 16,
    XS_R_REPEATED = 18,
    XS_R_MAP = 19,
    XS_R_ANY = 20,
    XS_R_DURATION = 21,
    XS_R_TIMESTAMP = 22
} xs_rule_kind_t;

/* Presence bits of the optional rule values (numeric, string, duration). */
enum {
    XS_HAS_CONST = 1u << 0,
    XS_HAS_LT = 1u << 1,
    XS_HAS_LTE = 1u << 2,
    XS_HAS_GT = 1u << 3,
    XS_HAS_GTE = 1u << 4,
    XS_HAS_LEN = 1u << 5,
    XS_HAS_MIN_LEN = 1u << 6,
    XS_HAS_MAX_LEN = 1u << 7,
    XS_HAS_LEN_BYTES = 1u << 8,
    XS_HAS_MIN_BYTES = 1u << 9,
    XS_HAS_MAX_BYTES = 1u << 10,
    XS_HAS_PREFIX = 1u << 11,
    XS_HAS_SUFFIX = 1u << 12,
    XS_HAS_CONTAINS = 1u << 13,
    XS_HAS_NOT_CONTAINS = 1u << 14,
    XS_HAS_PATTERN = 1u << 15,
    XS_HAS_MIN = 1u << 16, /* min_items / min_pairs */
    XS_HAS_MAX = 1u << 17  /* max_items / max_pairs */
};

/* A number in the domain of its rule kind: signed kinds use i, unsigned
 * kinds u, float/double d. */
typedef union {
    int64_t i;
    uint64_t u;
    double d;
} xs_num_t;

typedef struct {
    int64_t seconds;
    int32_t nanos;
} xs_duration_t;

/* String well-known formats (StringRules.well_known). */
typedef enum {
    XS_WK_NONE = 0,
    XS_WK_EMAIL = 12,
    XS_WK_HOSTNAME = 13,
    XS_WK_IP = 14,
    XS_WK_IPV4 = 15,
    XS_WK_IPV6 = 16,
    XS_WK_URI = 17,
    XS_WK_URI_REF = 18,
    XS_WK_ADDRESS = 21,
    XS_WK_UUID = 22,
    XS_WK_HEADER_NAME = 100, /* well_known_regex HTTP_HEADER_NAME */
    XS_WK_HEADER_VALUE = 101 /* well_known_regex HTTP_HEADER_VALUE */
} xs_well_known_t;

typedef struct {
    const char *s; /* NUL-terminated, in the arena */
    size_t len;
} xs_str_t;

typedef struct xs_rules xs_rules_t;

/* One FieldRules, decoded. */
struct xs_rules {
    xs_rule_kind_t kind;
    uint8_t msg_required, msg_skip; /* MessageRules */
    uint8_t required;               /* duration/timestamp/any .required */
    uint8_t ignore_empty;
    uint8_t defined_only; /* enum */
    uint8_t unique;       /* repeated */
    uint8_t strict;       /* string well_known_regex, default 1 */
    uint8_t pattern_ok;   /* pattern is in the subset schema.c can match */
    uint8_t bool_const;
    uint32_t has; /* XS_HAS_* */
    xs_num_t n_const, n_lt, n_lte, n_gt, n_gte;
    xs_num_t *n_in, *n_not_in;
    size_t n_in_len, n_not_in_len;
    uint64_t len, min_len, max_len, len_bytes, min_bytes, max_bytes; /* also min/max items */
    xs_str_t s_const, prefix, suffix, contains, not_contains, pattern;
    xs_str_t *s_in, *s_not_in; /* also AnyRules in / not_in */
    size_t s_in_len, s_not_in_len;
    xs_well_known_t well_known;
    xs_duration_t d_const, d_lt, d_lte, d_gt, d_gte; /* duration and timestamp */
    xs_duration_t *d_in, *d_not_in;
    size_t d_in_len, d_not_in_len;
    const xs_rules_t *items;       /* repeated.items */
    const xs_rules_t *keys, *vals; /* map.keys, map.values */
};

typedef struct xs_msg xs_msg_t;
typedef struct xs_enum xs_enum_t;

typedef struct {
    const char *name; /* proto name */
    const char *json_name;
    size_t name_len, json_len;
    uint32_t number;
    uint8_t type, label;
    uint8_t has_presence; /* message, oneof member, proto2 optional, proto3 optional */
    uint8_t proto3_optional;
    int32_t oneof;         /* index into the message's oneofs, or -1 */
    const char *type_name; /* ".pkg.Msg" for messages and enums, else NULL */
    const xs_msg_t *msg;   /* resolved type_name */
    const xs_enum_t *en;
    const xs_rules_t *rules; /* (validate.rules), or NULL */
    uint8_t ref;             /* XS_REF_*: the string names another resource */
} xs_field_t;

/* Fields whose value names a resource of the same build (schema_refs.c). */
enum { XS_REF_NONE = 0, XS_REF_CLUSTER, XS_REF_ROUTE };

typedef struct {
    const char *name;
    uint8_t required;  /* (validate.required) */
    uint8_t synthetic; /* proto3 optional's one-member oneof */
} xs_oneof_t;

struct xs_msg {
    const char *full_name; /* "envoy.config.cluster.v3.Cluster" */
    xs_field_t *fields;
    size_t nfields;
    xs_oneof_t *oneofs;
    size_t noneofs;
    uint16_t *slots; /* field lookup: field index + 1 by name and json_name */
    size_t slot_mask;
    size_t *absent; /* indexes of fields whose rules apply when absent */
    size_t nabsent;
    uint8_t map_entry, disabled, has_required_oneof;
    xs_wkt_t wkt;
};

typedef struct {
    const char *name;
    size_t name_len;
    int32_t number;
} xs_enum_value_t;

struct xs_enum {
    const char *full_name;
    xs_enum_value_t *values;
    size_t nvalues;
    uint8_t null_value; /* google.protobuf.NullValue: JSON null */
};

typedef struct xs_chunk xs_chunk_t;

struct xds_schema {
    atomic_uint refs; /* the cycle's, and every generation's that validates with it */
    xs_chunk_t *arena;
    xs_msg_t **msgs;
    size_t nmsgs, msgs_cap;
    xs_enum_t **enums;
    size_t nenums, enums_cap;
    xds_name_index_t msg_index;  /* full name -> index into msgs */
    xds_name_index_t enum_index; /* full name -> index into enums */
};

/* The field of m named key (proto name or json_name), or NULL. */
const xs_field_t *xs_field_find(const xs_msg_t *m, const char *key, size_t klen);
/* The message with this full name (NUL-terminated, no leading dot), or NULL. */
const xs_msg_t *xs_msg_find(const xds_schema_t *s, const char *full_name);

/* ---- validation context, shared by schema.c and schema_refs.c ---- */

#define XS_MAX_DEPTH 100 /* protobuf's default recursion limit */

typedef enum { XS_SEG_KEY, XS_SEG_INDEX, XS_SEG_MAP_KEY } xs_seg_kind_t;

typedef struct {
    xs_seg_kind_t kind;
    const char *key; /* XS_SEG_KEY, XS_SEG_MAP_KEY */
    size_t klen;
    size_t index; /* XS_SEG_INDEX */
} xs_seg_t;

/* One validation run.  The JSON path is kept as segments and only turned
 * into text when a problem is reported, so valid input costs no
 * formatting. */
typedef struct {
    const xds_schema_t *s;
    xds_schema_report_t report;
    void *arg;
    size_t problems, max;
    const char *label;  /* "clusters" */
    const char *name;   /* resource name, shown as label[name]; NULL: label alone */
    const char *origin; /* borrowed, or NULL */
    xs_seg_t seg[XS_MAX_DEPTH];
    size_t depth;
    int rules_off; /* inside a (validate.disabled) message or message.skip */
    /* Reference checks (xds_schema_validate only; NULL for xds_schema_check):
     * the names of the build's resources per type, and the last name found,
     * since routes next to each other tend to name the same cluster. */
    const xds_name_index_t *names;
    const char *last_found[XDS_TYPE_COUNT];
} xs_ctx_t;

/* Report a problem at the current path (ignored once max is reached). */
void xs_problem(xs_ctx_t *c, const char *fmt, ...) XDS_PRINTF(2, 3);
/* Push a path segment; return the depth to give xs_pop.  When the path is
 * full they return XS_MAX_DEPTH + 1 after reporting it once: callers must
 * not descend then (xs_too_deep). */
size_t xs_push_key(xs_ctx_t *c, const char *key, size_t klen);
size_t xs_push_index(xs_ctx_t *c, size_t index);
size_t xs_push_map_key(xs_ctx_t *c, const char *key, size_t klen);
#define xs_too_deep(mark) ((mark) > XS_MAX_DEPTH)
void xs_pop(xs_ctx_t *c, size_t mark);

/* schema_refs.c: the cross-reference checks of xds_schema_validate. */
/* Tag the fields that name other resources (xs_field_t.ref); at load time. */
void xs_refs_tag(xds_schema_t *s);
/* Index out's names per type into names[XDS_TYPE_COUNT] (free each with
 * xds_name_index_free), reporting names defined twice. */
void xs_refs_index(xs_ctx_t *c, const xds_gen_out_t *out, xds_name_index_t *names);
/* The string value of field f (f->ref set) must name an existing resource. */
void xs_refs_check(xs_ctx_t *c, const xs_field_t *f, const char *s, size_t len);
/* An EDS cluster (a Cluster resource's JSON) needs a ClusterLoadAssignment. */
void xs_refs_eds(xs_ctx_t *c, const xj_t *cluster, const char *name);

/* ---- schema_text.c: the string formats of proto3 JSON and PGV ---- */

/* Whether pattern is in the RE2 subset xs_regex_search handles: literals,
 * '.', classes [...] with ranges and escapes, \d \w \s (and upper case),
 * the quantifiers * + ?, and ^ / $ at the ends.  Others are not checked. */
int xs_regex_supported(const char *pattern);
/* 1 when pattern (supported) matches somewhere in the len bytes at s. */
int xs_regex_search(const char *pattern, const char *s, size_t len);

/* Duration JSON ("-1.5s"): XDS_OK, XDS_ERROR (syntax) or XDS_AGAIN (out of
 * the +-315576000000 s range). */
int xs_parse_duration(const char *s, size_t len, xs_duration_t *out);
/* RFC 3339 timestamp ("1972-01-01T10:00:20.021Z") as seconds and nanos
 * since the epoch: XDS_OK or XDS_ERROR. */
int xs_parse_timestamp(const char *s, size_t len, xs_duration_t *out);
/* Compare two durations: <0, 0, >0. */
int xs_duration_cmp(xs_duration_t a, xs_duration_t b);
/* "1.5s", "-0.001s", "3s" into buf (32 bytes is enough). */
const char *xs_format_duration(xs_duration_t d, char *buf, size_t len);

/* Decoded length of base64 text (standard or URL-safe alphabet, padding
 * optional): XDS_OK or XDS_ERROR. */
int xs_base64_len(const char *s, size_t len, size_t *out);
/* Number of code points of valid UTF-8. */
size_t xs_utf8_chars(const char *s, size_t len);

int xs_is_hostname(const char *s, size_t len);
int xs_is_ip(const char *s, size_t len, int version); /* version 0: either */
int xs_is_uuid(const char *s, size_t len);
int xs_is_email(const char *s, size_t len);
int xs_is_uri(const char *s, size_t len);
int xs_is_header_name(const char *s, size_t len, int strict);
int xs_is_header_value(const char *s, size_t len, int strict);

#endif
