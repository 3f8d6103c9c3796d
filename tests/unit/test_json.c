/*
 * test_json.c -- unit tests for core/json.c: parsing (positions, errors,
 * duplicate keys, depth, UTF-8), the compact serializer, tree editing and the
 * typed readers.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "json.h"

#define DEPTH 64

static xj_t *parse_ok(const char *text)
{
    char err[XDS_ERRLEN];
    xj_t *v = xj_parse(text, strlen(text), DEPTH, err, sizeof(err));
    if (v == NULL)
        fail_msg("parse of %s failed: %s", text, err);
    return v;
}

/* Parse text expecting failure, and compare the error message. */
static void parse_fails(const char *text, size_t len, unsigned depth, const char *want)
{
    char err[XDS_ERRLEN];
    xj_t *v = xj_parse(text, len, depth, err, sizeof(err));
    if (v != NULL) {
        xj_free(v);
        fail_msg("parse of %s succeeded, expected: %s", text, want);
    }
    assert_string_equal(err, want);
}

static char *serialize(const xj_t *v)
{
    xds_buf_t b = {0};
    xj_serialize(v, &b);
    return xds_buf_detach(&b, NULL);
}

/* Parse text and check that it serializes to want. */
static void round_trip(const char *text, const char *want)
{
    xj_t *v = parse_ok(text);
    char *s = serialize(v);
    assert_string_equal(s, want);
    free(s);
    xj_free(v);
}

static void test_round_trip(void **state)
{
    (void)state;
    const char *same[] = {
        "null",
        "true",
        "false",
        "0",
        "-12.50e+3",
        "\"\"",
        "[]",
        "{}",
        "[1,[2,[3,{}]],{\"a\":[]}]",
        "{\"z\":1,\"a\":2,\"m\":{\"y\":null,\"b\":false}}",
        "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"",
        "\"a/b\"",
    };
    for (size_t i = 0; i < xds_nelems(same); i++)
        round_trip(same[i], same[i]);

    round_trip(" {\n\t\"a\" : [ 1 , 2 ] ,\r\n \"b\" : { } }\n ", "{\"a\":[1,2],\"b\":{}}");
    round_trip("\"\\/\\u0041\\u00e9\\ud83d\\ude00\"", "\"/A\xc3\xa9\xf0\x9f\x98\x80\"");
}

static void test_numbers_exact(void **state)
{
    (void)state;
    const char *nums[] = {"1.50", "-0", "1E+2", "1e-7", "12345678901234567890123", "0.10"};
    for (size_t i = 0; i < xds_nelems(nums); i++) {
        xj_t *v = parse_ok(nums[i]);
        assert_int_equal(v->type, XJ_NUMBER);
        assert_string_equal(v->u.num.text, nums[i]);
        assert_int_equal(v->u.num.len, strlen(nums[i]));
        xj_free(v);
    }
    xj_t *v = parse_ok("[1.0, 2]");
    char *s = serialize(v);
    assert_string_equal(s, "[1.0,2]");
    free(s);
    xj_free(v);
}

static void test_strings_escapes(void **state)
{
    (void)state;
    /* \u0000 gives an embedded NUL: len counts it */
    xj_t *v = parse_ok("\"a\\u0000b\"");
    assert_int_equal(v->type, XJ_STRING);
    assert_int_equal(v->u.str.len, 3);
    assert_memory_equal(v->u.str.s, "a\0b", 3);
    char *s = serialize(v);
    assert_string_equal(s, "\"a\\u0000b\"");
    free(s);
    xj_free(v);

    round_trip("\"\\\"\\\\\\n\\r\\t\\b\\f\\u0001\\u001f x\"",
               "\"\\\"\\\\\\n\\r\\t\\b\\f\\u0001\\u001f x\"");

    xds_buf_t b = {0};
    xj_write_string(&b, "q\"/\\\x7f\x1b\xc3\xa9", 8);
    assert_string_equal(b.data, "\"q\\\"/\\\\\x7f\\u001b\xc3\xa9\"");
    xds_buf_free(&b);

    xj_write_string(&b, "", 0);
    assert_string_equal(b.data, "\"\"");
    xds_buf_free(&b);

    /* keys are escaped too */
    xj_t *o = xj_object();
    xj_object_put(o, "a\nb", xj_string("tab\there"));
    s = serialize(o);
    assert_string_equal(s, "{\"a\\nb\":\"tab\\there\"}");
    free(s);
    xj_free(o);
}

/* The serializer scans 8 bytes at a time for bytes to escape: every byte
 * value at every offset of strings around that width must come out as a
 * byte-at-a-time escaper writes it. */
static void reference_escape(const unsigned char *s, size_t n, xds_buf_t *b)
{
    xds_buf_append(b, "\"", 1);
    for (size_t i = 0; i < n; i++) {
        char esc[8];
        switch (s[i]) {
        case '"':
            xds_buf_appends(b, "\\\"");
            break;
        case '\\':
            xds_buf_appends(b, "\\\\");
            break;
        case '\n':
            xds_buf_appends(b, "\\n");
            break;
        case '\r':
            xds_buf_appends(b, "\\r");
            break;
        case '\t':
            xds_buf_appends(b, "\\t");
            break;
        case '\b':
            xds_buf_appends(b, "\\b");
            break;
        case '\f':
            xds_buf_appends(b, "\\f");
            break;
        default:
            if (s[i] < 0x20) {
                snprintf(esc, sizeof(esc), "\\u%04x", s[i]);
                xds_buf_appends(b, esc);
            } else {
                xds_buf_append(b, &s[i], 1);
            }
        }
    }
    xds_buf_append(b, "\"", 1);
}

static void test_string_escape_every_byte_everywhere(void **state)
{
    (void)state;
    unsigned char s[24];
    for (size_t len = 1; len <= sizeof(s); len++) {
        for (size_t at = 0; at < len; at++) {
            for (unsigned c = 0; c < 256; c++) {
                memset(s, 'a', sizeof(s));
                s[at] = (unsigned char)c;
                if (len > 3 && at + 2 < len)
                    s[len - 1] = 0xe9; /* a high byte elsewhere too */
                xds_buf_t got = {0}, want = {0};
                xj_write_string(&got, (const char *)s, len);
                reference_escape(s, len, &want);
                if (got.len != want.len || memcmp(got.data, want.data, got.len) != 0)
                    fail_msg("len %zu, byte 0x%02x at %zu: got %s, want %s", len, c, at, got.data,
                             want.data);
                xds_buf_free(&got);
                xds_buf_free(&want);
            }
        }
    }
}

static void test_positions(void **state)
{
    (void)state;
    const char *text = "{\n"
                       "  \"a\": 1,\n"
                       "  \"b\" :\t[true, \"x\",\n"
                       "     {\"c\": null}],\n"
                       "  \"\xc3\xa9\xc3\xa9\": \"v\"\n"
                       "}";
    xj_t *v = parse_ok(text);
    assert_int_equal(v->line, 1);
    assert_int_equal(v->col, 1);
    xj_t *a = xj_get(v, "a");
    assert_int_equal(a->line, 2);
    assert_int_equal(a->col, 8);
    xj_t *b = xj_get(v, "b");
    assert_int_equal(b->line, 3);
    assert_int_equal(b->col, 9);
    assert_int_equal(b->u.arr.v[0]->line, 3);
    assert_int_equal(b->u.arr.v[0]->col, 10);
    assert_int_equal(b->u.arr.v[1]->col, 16);
    xj_t *c = b->u.arr.v[2];
    assert_int_equal(c->line, 4);
    assert_int_equal(c->col, 6);
    assert_int_equal(xj_get(c, "c")->col, 12);
    /* columns count characters, not bytes */
    xj_t *e = xj_get(v, "\xc3\xa9\xc3\xa9");
    assert_int_equal(e->line, 5);
    assert_int_equal(e->col, 9);
    xj_free(v);

    /* a top-level number is only reported when the parse completes */
    v = parse_ok("\n\n   42");
    assert_int_equal(v->line, 3);
    assert_int_equal(v->col, 4);
    xj_free(v);

    /* built values have no position */
    v = xj_int(1);
    assert_int_equal(v->line, 0);
    assert_int_equal(v->col, 0);
    xj_free(v);
}

static void test_errors(void **state)
{
    (void)state;
#define FAILS(text, want) parse_fails((text), strlen(text), DEPTH, (want))
    FAILS("{\n  \"a\": 1,\n  \"b\": @\n}",
          "line 3, column 8: lexical error: invalid char in json text.");
    FAILS("{\n  \"a\": 1,\n  \"b\": tru\n}",
          "line 3, column 8: lexical error: invalid string in json text.");
    FAILS("{\n  \"a\": 1\n  \"b\": 2\n}",
          "line 3, column 3: parse error: after key and value, inside map, I expect ',' or '}'");
    FAILS("[1,\n 2,\n ]",
          "line 3, column 2: parse error: unallowed token at this point in JSON text");
    FAILS("[1,,2]", "line 1, column 4: parse error: unallowed token at this point in JSON text");
    FAILS("{\"a\",1}", "line 1, column 5: parse error: object key and value must be separated by "
                       "a colon (':')");
    FAILS("[1 2]", "line 1, column 4: parse error: after array element, I expect ',' or ']'");
    FAILS("[01]", "line 1, column 3: parse error: after array element, I expect ',' or ']'");
    FAILS("{\"a\":1,}", "line 1, column 8: parse error: invalid object key (must be a string)");
    FAILS("[-x]",
          "line 1, column 2: lexical error: malformed number, a digit is required after the "
          "minus sign.");
    FAILS("[\n\"ab\\q\"]", "line 2, column 5: lexical error: inside a string, '\\' occurs before a "
                           "character which it may not.");
    FAILS("[\"ab\x01\"]", "line 1, column 5: lexical error: invalid character inside string.");
    FAILS("[\"ab\\u12g4\"]", "line 1, column 9: lexical error: invalid (non-hex) character occurs "
                             "after '\\u' inside string.");
    FAILS("[1, 2", "line 1, column 6: parse error: premature EOF");
    FAILS("{\"a\":\n", "line 2, column 1: parse error: premature EOF");
    FAILS("[1.", "line 1, column 2: lexical error: malformed number, a digit is required after the "
                 "decimal point.");
    FAILS("]", "line 1, column 1: parse error: unallowed token at this point in JSON text");
    /* trailing garbage and multiple values */
    FAILS("{\"a\":1}\n x", "line 2, column 2: parse error: trailing garbage");
    FAILS("{\"a\":1} {}", "line 1, column 9: parse error: trailing garbage");
    /* an unterminated string after the document (yajl takes it for an
     * incomplete token; found by fuzz_request's differential check) */
    FAILS("{\"a\":1}\",1]", "line 1, column 8: parse error: trailing garbage");
    FAILS("{\"a\":1} \"", "line 1, column 9: parse error: trailing garbage");
    FAILS("1 2", "line 1, column 3: parse error: trailing garbage");
    /* comments are not JSON */
    FAILS("[1, /* c */ 2]",
          "line 1, column 5: lexical error: probable comment found in input text, comments are "
          "not enabled.");
    FAILS("// c\n1", "line 1, column 1: lexical error: probable comment found in input text, "
                     "comments are not enabled.");
    /* empty */
    FAILS("", "line 1, column 1: empty document");
    FAILS(" \n\t", "line 2, column 2: empty document");
#undef FAILS
    /* not NUL-terminated: only len bytes are read */
    xj_t *v = xj_parse("[1]]]", 3, DEPTH, (char[64]){0}, 64);
    assert_non_null(v);
    xj_free(v);
    /* an embedded NUL is garbage */
    parse_fails("[1]\0", 4, DEPTH, "line 1, column 4: parse error: trailing garbage");
    /* a small error buffer truncates safely */
    char small[12];
    assert_null(xj_parse("[1,]", 4, DEPTH, small, sizeof(small)));
    assert_string_equal(small, "line 1, col");
}

static void test_utf8(void **state)
{
    (void)state;
    round_trip("\"\xe2\x82\xac\xf4\x8f\xbf\xbf\"", "\"\xe2\x82\xac\xf4\x8f\xbf\xbf\"");
    parse_fails("[\"ab\xff\"]", 7, DEPTH,
                "line 1, column 5: lexical error: invalid bytes in UTF8 string.");
    parse_fails("[\"ab\xc3(\"]", 8, DEPTH,
                "line 1, column 5: lexical error: invalid bytes in UTF8 string.");
    /* yajl lets these through; we do not */
    parse_fails("[1, \"\xc0\x80\"]", 9, DEPTH, "line 1, column 5: invalid UTF-8 in string");
    parse_fails("\"\xed\xa0\x80\"", 5, DEPTH, "line 1, column 1: invalid UTF-8 in string");
    parse_fails("\"\xf4\x90\x80\x80\"", 6, DEPTH, "line 1, column 1: invalid UTF-8 in string");
    parse_fails("{\"\xe0\x80\x80\": 1}", 10, DEPTH, "line 1, column 2: invalid UTF-8 in string");
    /* a lone low surrogate escape decodes to a surrogate */
    const char *t = "[\"\\udc00\"]";
    parse_fails(t, strlen(t), DEPTH, "line 1, column 2: invalid UTF-8 in string");
}

static void test_duplicate_keys(void **state)
{
    (void)state;
    const char *t = "{\"a\": 1,\n \"b\": {\"a\": 2},\n \"a\": 3}";
    parse_fails(t, strlen(t), DEPTH, "line 3, column 2: duplicate key \"a\"");
    t = "{\"q\\\"\": 1, \"q\\u0022\": 2}";
    parse_fails(t, strlen(t), DEPTH, "line 1, column 12: duplicate key \"q\\\"\"");
    /* same name in different objects is fine */
    xj_t *v = parse_ok("[{\"a\":1},{\"a\":2}]");
    xj_free(v);

    /* a big object goes through the hash set */
    xds_buf_t b = {0};
    xds_buf_appends(&b, "{");
    for (int i = 0; i < 5000; i++)
        xds_buf_printf(&b, "%s\"k%d\":%d", i ? "," : "", i, i);
    size_t open_len = b.len;
    xds_buf_appends(&b, "}");
    v = parse_ok(b.data);
    assert_int_equal(v->u.obj.n, 5000);
    assert_string_equal(xj_get(v, "k4999")->u.num.text, "4999");
    xj_free(v);
    b.len = open_len;
    xds_buf_appends(&b, ",\n\"k1234\":0}");
    char err[XDS_ERRLEN];
    assert_null(xj_parse(b.data, b.len, DEPTH, err, sizeof(err)));
    assert_string_equal(err, "line 2, column 1: duplicate key \"k1234\"");
    xds_buf_free(&b);

    /* duplicates among the first few members, then past the threshold */
    for (int n = 2; n < 20; n++) {
        xds_buf_appends(&b, "{");
        for (int i = 0; i < n; i++)
            xds_buf_printf(&b, "\"k%d\":1,", i);
        xds_buf_printf(&b, "\"k%d\":1}", n / 2);
        assert_null(xj_parse(b.data, b.len, DEPTH, err, sizeof(err)));
        assert_non_null(strstr(err, "duplicate key"));
        xds_buf_free(&b);
    }
}

static void test_depth(void **state)
{
    (void)state;
    char err[XDS_ERRLEN];
    xj_t *v = xj_parse("[[{\"a\":1}]]", 11, 3, err, sizeof(err));
    assert_non_null(v);
    xj_free(v);
    parse_fails("[[{\"a\":[]}]]", 12, 3, "line 1, column 8: nesting deeper than 3");
    parse_fails("\n [1]", 5, 0, "line 2, column 2: nesting deeper than 0");
    v = xj_parse("7", 1, 0, err, sizeof(err));
    assert_non_null(v);
    xj_free(v);

    /* deep but allowed */
    xds_buf_t b = {0};
    for (int i = 0; i < 1000; i++)
        xds_buf_appends(&b, "[");
    for (int i = 0; i < 1000; i++)
        xds_buf_appends(&b, "]");
    v = xj_parse(b.data, b.len, 1000, err, sizeof(err));
    assert_non_null(v);
    xj_free(v);
    assert_null(xj_parse(b.data, b.len, 999, err, sizeof(err)));
    assert_string_equal(err, "line 1, column 1000: nesting deeper than 999");
    xds_buf_free(&b);
}

static void test_serialize_any(void **state)
{
    (void)state;
    xj_t *v = parse_ok("{\"name\":\"c1\",\"@type\":\"old\",\"x\":[1]}");
    xds_buf_t b = {0};
    xj_serialize_any(v, "type.googleapis.com/envoy.config.cluster.v3.Cluster", &b);
    assert_string_equal(b.data,
                        "{\"@type\":\"type.googleapis.com/envoy.config.cluster.v3.Cluster\","
                        "\"name\":\"c1\",\"x\":[1]}");
    xds_buf_free(&b);
    xj_free(v);

    v = xj_object();
    xj_serialize_any(v, "t", &b);
    assert_string_equal(b.data, "{\"@type\":\"t\"}");
    xds_buf_free(&b);
    xj_object_put(v, "@type", xj_string("t"));
    xj_serialize_any(v, "t", &b);
    assert_string_equal(b.data, "{\"@type\":\"t\"}");
    xds_buf_free(&b);
    xj_free(v);
}

static void test_build_and_edit(void **state)
{
    (void)state;
    xj_t *o = xj_object();
    xj_object_put(o, "a", xj_int(1));
    xj_object_put(o, "b", xj_bool(1));
    xj_t *arr = xj_object_put(o, "c", xj_array());
    xj_array_push(arr, xj_null());
    xj_array_push(arr, xj_stringn("xyz", 2));
    xj_array_push(arr, xj_number_text("1e3", 3));
    xj_object_put(o, "d", xj_bool(0));
    char *s = serialize(o);
    assert_string_equal(s, "{\"a\":1,\"b\":true,\"c\":[null,\"xy\",1e3],\"d\":false}");
    free(s);

    /* replace in place keeps the position */
    xj_object_put(o, "b", xj_string("new"));
    s = serialize(o);
    assert_string_equal(s, "{\"a\":1,\"b\":\"new\",\"c\":[null,\"xy\",1e3],\"d\":false}");
    free(s);
    assert_string_equal(xj_str(xj_get(o, "b")), "new");
    assert_null(xj_get(o, "zz"));
    assert_null(xj_get(arr, "a"));
    assert_null(xj_get(NULL, "a"));

    /* take */
    xj_t *c = xj_take(o, "c");
    assert_ptr_equal(c, arr);
    assert_null(xj_take(o, "c"));
    s = serialize(o);
    assert_string_equal(s, "{\"a\":1,\"b\":\"new\",\"d\":false}");
    free(s);
    xj_free(c);
    xj_free(xj_take(o, "d"));
    xj_free(xj_take(o, "a"));
    s = serialize(o);
    assert_string_equal(s, "{\"b\":\"new\"}");
    free(s);
    assert_null(xj_take(xj_get(o, "b"), "x"));
    xj_free(o);

    /* many members and elements grow geometrically */
    o = xj_object();
    xj_t *a = xj_object_put(o, "list", xj_array());
    for (int i = 0; i < 20000; i++)
        xj_array_push(a, xj_int(i));
    assert_int_equal(a->u.arr.n, 20000);
    assert_true(a->u.arr.cap < 40000);
    xj_free(o);
}

static void test_clone(void **state)
{
    (void)state;
    const char *t = "{\"a\":[1,2.5,\"s\\u0000t\",{\"b\":null,\"c\":true}],\"d\":{},\"e\":false}";
    xj_t *v = parse_ok(t);
    xj_t *c = xj_clone(v);
    char *s1 = serialize(v), *s2 = serialize(c);
    assert_string_equal(s1, s2);
    assert_string_equal(s1, t);
    free(s1);
    free(s2);
    assert_int_equal(xj_get(c, "d")->col, xj_get(v, "d")->col);
    /* independent */
    xj_object_put(xj_get(c, "d"), "x", xj_int(1));
    xj_free(v);
    s2 = serialize(c);
    assert_string_equal(s2, "{\"a\":[1,2.5,\"s\\u0000t\",{\"b\":null,\"c\":true}],\"d\":{\"x\":1},"
                            "\"e\":false}");
    free(s2);
    xj_free(c);
    assert_null(xj_clone(NULL));
}

static void check_int64(const char *text, int ok, int64_t want)
{
    xj_t *v = xj_number_text(text, strlen(text));
    int64_t got = 12345;
    int rc = xj_int64(v, &got);
    xj_free(v);
    if (ok) {
        assert_int_equal(rc, XDS_OK);
        assert_true(got == want);
    } else {
        assert_int_equal(rc, XDS_ERROR);
    }
}

static void test_int64(void **state)
{
    (void)state;
    check_int64("0", 1, 0);
    check_int64("-0", 1, 0);
    check_int64("42", 1, 42);
    check_int64("-17", 1, -17);
    check_int64("9223372036854775807", 1, INT64_MAX);
    check_int64("-9223372036854775808", 1, INT64_MIN);
    check_int64("9223372036854775808", 0, 0);
    check_int64("-9223372036854775809", 0, 0);
    check_int64("99999999999999999999", 0, 0);
    check_int64("1.0", 0, 0);
    check_int64("1e3", 0, 0);
    check_int64("1E3", 0, 0);
    check_int64("-", 0, 0);

    int64_t out;
    xj_t *s = xj_string("5");
    assert_int_equal(xj_int64(s, &out), XDS_ERROR);
    assert_int_equal(xj_int64(NULL, &out), XDS_ERROR);
    double d;
    assert_int_equal(xj_number(s, &d), XDS_ERROR);
    xj_free(s);

    xj_t *v = xj_int(INT64_MIN);
    assert_string_equal(v->u.num.text, "-9223372036854775808");
    assert_int_equal(xj_int64(v, &out), XDS_OK);
    assert_true(out == INT64_MIN);
    xj_free(v);

    v = parse_ok("-2.5e3");
    assert_int_equal(xj_number(v, &d), XDS_OK);
    assert_true(d == -2500.0);
    xj_free(v);
}

static void check_double(double d, const char *want)
{
    xj_t *v = xj_double(d);
    char *s = serialize(v);
    assert_string_equal(s, want);
    free(s);
    xj_free(v);
}

static void test_double(void **state)
{
    (void)state;
    check_double(5.0, "5");
    check_double(0.0, "0");
    check_double(-1.5, "-1.5");
    check_double(0.1, "0.1");
    check_double(0.1 + 0.2, "0.30000000000000004");
    check_double(1.0 / 3.0, "0.3333333333333333");
    check_double(1e21, "1e+21");
    check_double(123456789012.0, "123456789012");
    check_double(2.5e-8, "2.5e-08");
    check_double(NAN, "null");
    check_double(INFINITY, "null");
    check_double(-INFINITY, "null");
    /* every output reads back to the same double */
    double vals[] = {3.141592653589793, 1e-300, 1.7976931348623157e308, 4.9e-324, 100.25};
    for (size_t i = 0; i < xds_nelems(vals); i++) {
        xj_t *v = xj_double(vals[i]);
        double back;
        assert_int_equal(xj_number(v, &back), XDS_OK);
        assert_true(back == vals[i]);
        xj_free(v);
    }
}

static void test_misc(void **state)
{
    (void)state;
    assert_string_equal(xj_type_name(XJ_NULL), "null");
    assert_string_equal(xj_type_name(XJ_BOOL), "boolean");
    assert_string_equal(xj_type_name(XJ_NUMBER), "number");
    assert_string_equal(xj_type_name(XJ_STRING), "string");
    assert_string_equal(xj_type_name(XJ_ARRAY), "array");
    assert_string_equal(xj_type_name(XJ_OBJECT), "object");
    xj_t *v = xj_int(3);
    assert_null(xj_str(v));
    assert_null(xj_str(NULL));
    xj_free(v);
    xj_free(NULL);
    xds_buf_t b = {0};
    xj_serialize(NULL, &b);
    assert_string_equal(b.data, "null");
    xds_buf_free(&b);
}

/* A model-sized document: many services, each an object; parse and write
 * back must agree byte for byte. */
static void test_large_document(void **state)
{
    (void)state;
    xds_buf_t b = {0};
    xds_buf_appends(&b, "{\"services\":[");
    for (int i = 0; i < 10000; i++)
        xds_buf_printf(&b,
                       "%s{\"name\":\"svc-%d\",\"domains\":[\"svc-%d.example.com\"],"
                       "\"endpoints\":[{\"address\":\"10.0.%d.%d\",\"port\":%d,\"weight\":1}],"
                       "\"connect_timeout\":\"1s\"}",
                       i ? "," : "", i, i, i / 256, i % 256, 8000 + i % 1000);
    xds_buf_appends(&b, "]}");
    char err[XDS_ERRLEN];
    xj_t *v = xj_parse(b.data, b.len, DEPTH, err, sizeof(err));
    assert_non_null(v);
    xj_t *svcs = xj_get(v, "services");
    assert_int_equal(svcs->u.arr.n, 10000);
    char *s = serialize(v);
    assert_string_equal(s, b.data);
    free(s);
    xj_free(v);
    xds_buf_free(&b);
}

/* Values built under an arena live and die with it; heap values are untouched. */
static void test_arena(void **state)
{
    (void)state;
    xj_t *heap = xj_object();
    xj_object_put(heap, "k", xj_string("heap"));

    xj_arena_t *a = xj_arena_new();
    assert_null(xj_arena_use(a));
    xj_t *arr = xj_array();
    for (int i = 0; i < 1000; i++) { /* grows its vector inside the arena */
        xj_t *o = xj_array_push(arr, xj_object());
        xj_object_put(o, "i", xj_int(i));
        xj_object_put(o, "copy", xj_clone(heap));
    }
    xj_t *big = xj_stringn("x", 1); /* larger than a chunk goes to its own chunk */
    char *blob = calloc(1, 200000);
    memset(blob, 'y', 199999);
    xj_array_push(arr, xj_string(blob));
    free(blob);
    assert_ptr_equal(xj_arena_use(NULL), a);
    assert_true(arr->arena && arr->u.arr.v[5]->arena && !heap->arena);
    xj_free(xj_take(arr->u.arr.v[3], "copy")); /* no-ops on arena values */
    xj_free(big);
    xds_buf_t b = {0};
    xj_serialize(arr->u.arr.v[999], &b);
    assert_string_equal(b.data, "{\"i\":999,\"copy\":{\"k\":\"heap\"}}");
    assert_int_equal(arr->u.arr.v[1000]->u.str.len, 199999);
    xds_buf_free(&b);
    xj_arena_free(a); /* everything above, at once (valgrind checks) */
    xj_free(heap);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_arena),
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_numbers_exact),
        cmocka_unit_test(test_strings_escapes),
        cmocka_unit_test(test_positions),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_utf8),
        cmocka_unit_test(test_duplicate_keys),
        cmocka_unit_test(test_depth),
        cmocka_unit_test(test_serialize_any),
        cmocka_unit_test(test_build_and_edit),
        cmocka_unit_test(test_clone),
        cmocka_unit_test(test_int64),
        cmocka_unit_test(test_double),
        cmocka_unit_test(test_misc),
        cmocka_unit_test(test_large_document),
        cmocka_unit_test(test_string_escape_every_byte_everywhere),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
