/*
 * schema_text.c -- the textual formats the schema validator checks: proto3
 * JSON's Duration, Timestamp and bytes (base64) forms, and the string rules
 * of protoc-gen-validate (hostname, IP, UUID, email, URI, HTTP header
 * name/value, and regular expression patterns).
 *
 * Patterns: PGV patterns are RE2 syntax.  Envoy's API uses only a few simple
 * ones ("^[0-9a-zA-Z_\-\.~:]+$", "^[^?#]+[^?#/]$"), so instead of linking a
 * regex library this file matches a small subset (literals, '.', classes,
 * \d \w \s, * + ?, anchors) with a backtracking matcher, byte by byte.  A
 * pattern outside the subset is reported unsupported at load time and then
 * not checked, which is what the Python checker does with RE2-only syntax.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "schema_int.h"

/* ---- regular expressions (subset) ------------------------------------------ */

/* Length of the atom at p (a char, '.', an escape or a class), 0 when p is
 * not a supported atom. */
static size_t atom_len(const char *p)
{
    if (*p == '\0' || strchr("()|{}*+?", *p))
        return 0;
    if (*p == '\\')
        return p[1] && !strchr("bBAzpPQE0123456789", p[1]) ? 2 : 0;
    if (*p != '[')
        return 1;
    const char *q = p + 1;
    if (*q == '^')
        q++;
    if (*q == ']')
        q++;
    while (*q && *q != ']') {
        if (*q == '\\') {
            if (!q[1])
                return 0;
            q += 2;
        } else if (*q == '[' && q[1] == ':') {
            return 0; /* [:alpha:] */
        } else {
            q++;
        }
    }
    return *q == ']' ? (size_t)(q - p + 1) : 0;
}

static int class_escape(char e, unsigned char c, int *matched)
{
    switch (e) {
    case 'd':
    case 'D':
        *matched = c >= '0' && c <= '9';
        break;
    case 'w':
    case 'W':
        *matched =
            (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
        break;
    case 's':
    case 'S':
        *matched = c == ' ' || (c >= '\t' && c <= '\r');
        break;
    default:
        return 0;
    }
    if (e >= 'A' && e <= 'Z')
        *matched = !*matched;
    return 1;
}

static unsigned char escaped_char(char e)
{
    switch (e) {
    case 'n':
        return '\n';
    case 't':
        return '\t';
    case 'r':
        return '\r';
    case 'f':
        return '\f';
    case 'v':
        return '\v';
    default:
        return (unsigned char)e;
    }
}

static int atom_matches(const char *a, size_t alen, unsigned char c)
{
    int m;
    if (alen == 1)
        return *a == '.' ? c != '\n' : (unsigned char)*a == c;
    if (*a == '\\')
        return class_escape(a[1], c, &m) ? m : escaped_char(a[1]) == c;
    /* a class */
    const char *q = a + 1, *end = a + alen - 1;
    int neg = 0, hit = 0;
    if (*q == '^')
        neg = 1, q++;
    while (q < end) {
        unsigned char lo;
        if (*q == '\\') {
            if (class_escape(q[1], c, &m)) {
                hit |= m;
                q += 2;
                continue;
            }
            lo = escaped_char(q[1]);
            q += 2;
        } else {
            lo = (unsigned char)*q++;
        }
        if (q + 1 < end && *q == '-') { /* a range lo-hi */
            unsigned char hi;
            q++;
            if (*q == '\\')
                hi = escaped_char(q[1]), q += 2;
            else
                hi = (unsigned char)*q++;
            hit |= c >= lo && c <= hi;
        } else {
            hit |= c == lo;
        }
    }
    return neg ? !hit : hit;
}

/* Supported subset check (see schema_int.h). */
int xs_regex_supported(const char *pattern)
{
    const char *p = pattern;
    if (*p == '^')
        p++;
    while (*p) {
        if (*p == '$' && p[1] == '\0')
            return 1;
        size_t n = atom_len(p);
        if (n == 0 || *p == '^' || *p == '$')
            return 0;
        p += n;
        if (*p == '*' || *p == '+' || *p == '?') {
            p++;
            if (*p == '?' || *p == '+' || *p == '*')
                return 0; /* lazy / possessive */
        }
    }
    return 1;
}

static int match_here(const char *re, const char *s, const char *end);

/* atom repeated min..inf times (greedy), then the rest. */
static int match_star(const char *a, size_t alen, size_t min, const char *rest, const char *s,
                      const char *end)
{
    const char *t = s;
    while (t < end && atom_matches(a, alen, (unsigned char)*t))
        t++;
    for (;;) {
        if ((size_t)(t - s) >= min && match_here(rest, t, end))
            return 1;
        if (t == s)
            return 0;
        t--;
    }
}

static int match_here(const char *re, const char *s, const char *end)
{
    for (;;) {
        if (*re == '\0')
            return 1;
        if (re[0] == '$' && re[1] == '\0')
            return s == end;
        size_t n = atom_len(re);
        char q = re[n];
        if (q == '*' || q == '+')
            return match_star(re, n, q == '+', re + n + 1, s, end);
        if (q == '?') {
            if (s < end && atom_matches(re, n, (unsigned char)*s) &&
                match_here(re + n + 1, s + 1, end))
                return 1;
            re += n + 1;
            continue;
        }
        if (s >= end || !atom_matches(re, n, (unsigned char)*s))
            return 0;
        re += n;
        s++;
    }
}

/* Search pattern in s (see schema_int.h). */
int xs_regex_search(const char *pattern, const char *s, size_t len)
{
    const char *end = s + len;
    if (*pattern == '^')
        return match_here(pattern + 1, s, end);
    for (const char *t = s;; t++) {
        if (match_here(pattern, t, end))
            return 1;
        if (t == end)
            return 0;
    }
}

/* ---- Duration and Timestamp ----------------------------------------------------- */

#define MAX_DURATION_SECONDS 315576000000LL

/* Digits at s[*i..]: up to maxd of them into *v; returns how many. */
static size_t digits(const char *s, size_t len, size_t *i, size_t maxd, int64_t *v)
{
    size_t n = 0;
    *v = 0;
    while (*i < len && s[*i] >= '0' && s[*i] <= '9' && n < maxd) {
        *v = *v * 10 + (s[*i] - '0');
        (*i)++;
        n++;
    }
    return n;
}

/* Fraction ".d{1,9}" at s[*i..] (if any) as nanoseconds; XDS_ERROR when the
 * dot has no digits or more than 9. */
static int fraction(const char *s, size_t len, size_t *i, int32_t *nanos)
{
    int64_t v;
    *nanos = 0;
    if (*i >= len || s[*i] != '.')
        return XDS_OK;
    (*i)++;
    size_t n = digits(s, len, i, 9, &v);
    if (n == 0 || (*i < len && s[*i] >= '0' && s[*i] <= '9'))
        return XDS_ERROR;
    for (; n < 9; n++)
        v *= 10;
    *nanos = (int32_t)v;
    return XDS_OK;
}

/* "[-]S[.F]s" with 1..9 fraction digits, |S| <= 315576000000. */
int xs_parse_duration(const char *s, size_t len, xs_duration_t *out)
{
    size_t i = 0;
    int neg = 0;
    int64_t sec;
    int32_t nanos;

    if (i < len && s[i] == '-')
        neg = 1, i++;
    size_t n = digits(s, len, &i, 13, &sec);
    if (n == 0)
        return XDS_ERROR;
    if (i < len && s[i] >= '0' && s[i] <= '9')
        return XDS_AGAIN; /* more than 13 digits */
    if (fraction(s, len, &i, &nanos) != XDS_OK || i + 1 != len || s[i] != 's')
        return XDS_ERROR;
    if (sec > MAX_DURATION_SECONDS)
        return XDS_AGAIN;
    out->seconds = neg ? -sec : sec;
    out->nanos = neg ? -nanos : nanos;
    return XDS_OK;
}

static int64_t days_from_civil(int64_t y, int64_t m, int64_t d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static int fixed(const char *s, size_t len, size_t *i, size_t n, int64_t *v)
{
    return digits(s, len, i, n, v) == n ? XDS_OK : XDS_ERROR;
}

static int expect(const char *s, size_t len, size_t *i, char c)
{
    if (*i < len && s[*i] == c) {
        (*i)++;
        return XDS_OK;
    }
    return XDS_ERROR;
}

/* YYYY-MM-DDTHH:MM:SS[.F](Z|+HH:MM|-HH:MM), years 1..9999. */
int xs_parse_timestamp(const char *s, size_t len, xs_duration_t *out)
{
    static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    size_t i = 0;
    int64_t y, mo, d, h, mi, sec, oh = 0, om = 0;
    int32_t nanos;
    int sign = 0;

    if (fixed(s, len, &i, 4, &y) || expect(s, len, &i, '-') || fixed(s, len, &i, 2, &mo) ||
        expect(s, len, &i, '-') || fixed(s, len, &i, 2, &d) || expect(s, len, &i, 'T') ||
        fixed(s, len, &i, 2, &h) || expect(s, len, &i, ':') || fixed(s, len, &i, 2, &mi) ||
        expect(s, len, &i, ':') || fixed(s, len, &i, 2, &sec) || fraction(s, len, &i, &nanos))
        return XDS_ERROR;
    if (i < len && s[i] == 'Z') {
        i++;
    } else if (i < len && (s[i] == '+' || s[i] == '-')) {
        sign = s[i++] == '-' ? -1 : 1;
        if (fixed(s, len, &i, 2, &oh) || expect(s, len, &i, ':') || fixed(s, len, &i, 2, &om) ||
            oh > 23 || om > 59)
            return XDS_ERROR;
    } else {
        return XDS_ERROR;
    }
    if (i != len || y < 1 || mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 || sec > 59)
        return XDS_ERROR;
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (d > mdays[mo - 1] + (mo == 2 && leap))
        return XDS_ERROR;
    out->seconds =
        days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec - sign * (oh * 3600 + om * 60);
    out->nanos = nanos;
    return XDS_OK;
}

/* Order of two normalized durations (nanos share the sign of seconds). */
int xs_duration_cmp(xs_duration_t a, xs_duration_t b)
{
    if (a.seconds != b.seconds)
        return a.seconds < b.seconds ? -1 : 1;
    return (a.nanos > b.nanos) - (a.nanos < b.nanos);
}

/* Shortest decimal seconds: "3s", "0.5s", "-1.000000001s". */
const char *xs_format_duration(xs_duration_t d, char *buf, size_t len)
{
    int neg = d.seconds < 0 || d.nanos < 0;
    unsigned long long sec = (unsigned long long)(d.seconds < 0 ? -d.seconds : d.seconds);
    long nanos = d.nanos < 0 ? -(long)d.nanos : d.nanos;
    if (nanos == 0) {
        snprintf(buf, len, "%s%llus", neg ? "-" : "", sec);
        return buf;
    }
    char frac[16];
    snprintf(frac, sizeof(frac), "%09ld", nanos);
    for (size_t n = strlen(frac); n > 1 && frac[n - 1] == '0'; n--)
        frac[n - 1] = '\0';
    snprintf(buf, len, "%s%llu.%ss", neg ? "-" : "", sec, frac);
    return buf;
}

/* ---- bytes and strings -------------------------------------------------------- */

/* Standard or URL-safe alphabet; "=" padding optional, but complete when present. */
int xs_base64_len(const char *s, size_t len, size_t *out)
{
    size_t n = len, pad = 0;
    while (n > 0 && s[n - 1] == '=' && pad < 2)
        n--, pad++;
    if (pad && len % 4)
        return XDS_ERROR;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '+' || c == '/' || c == '-' || c == '_'))
            return XDS_ERROR;
    }
    if (n % 4 == 1)
        return XDS_ERROR;
    *out = n / 4 * 3 + (n % 4 ? n % 4 - 1 : 0);
    return XDS_OK;
}

/* Code points = bytes that are not continuation bytes. */
size_t xs_utf8_chars(const char *s, size_t len)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++)
        n += ((unsigned char)s[i] & 0xc0) != 0x80;
    return n;
}

static int is_alnum(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* PGV hostname: labels of 1..63 letters, digits and '-', not starting or
 * ending with '-'; at most 253 characters; one trailing dot allowed. */
int xs_is_hostname(const char *s, size_t len)
{
    if (len > 0 && s[len - 1] == '.')
        len--;
    if (len == 0 || len > 253)
        return 0;
    size_t label = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i == len || s[i] == '.') {
            if (label == 0 || label > 63 || s[i - 1] == '-')
                return 0;
            label = 0;
            continue;
        }
        unsigned char c = (unsigned char)s[i];
        if (!is_alnum(c) && !(c == '-' && label > 0))
            return 0;
        label++;
    }
    return 1;
}

/* inet_pton's reading of IPv4 / IPv6 text. */
int xs_is_ip(const char *s, size_t len, int version)
{
    char buf[64];
    unsigned char addr[16];
    if (len == 0 || len >= sizeof(buf) || memchr(s, '\0', len))
        return 0;
    memcpy(buf, s, len);
    buf[len] = '\0';
    if (version != 6 && inet_pton(AF_INET, buf, addr) == 1)
        return 1;
    return version != 4 && inet_pton(AF_INET6, buf, addr) == 1;
}

/* 8-4-4-4-12 hex digits, as PGV checks. */
int xs_is_uuid(const char *s, size_t len)
{
    if (len != 36)
        return 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (c != '-')
                return 0;
        } else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'))) {
            return 0;
        }
    }
    return 1;
}

static int is_space(unsigned char c)
{
    return c == ' ' || (c >= '\t' && c <= '\r');
}

/* Loose, like the Python checker: one "@", something on each side, no blanks. */
int xs_is_email(const char *s, size_t len)
{
    size_t at = len;
    for (size_t i = 0; i < len; i++) {
        if (is_space((unsigned char)s[i]))
            return 0;
        if (s[i] == '@') {
            if (at != len)
                return 0;
            at = i;
        }
    }
    return at > 0 && at + 1 < len;
}

/* An absolute URI: a scheme ([A-Za-z][A-Za-z0-9+.-]*) and ":". */
int xs_is_uri(const char *s, size_t len)
{
    if (len == 0 || !((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z')))
        return 0;
    for (size_t i = 1; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == ':')
            return 1;
        if (!is_alnum(c) && c != '+' && c != '.' && c != '-')
            return 0;
    }
    return 0;
}

/* Strict: RFC 7230 token, with an optional leading ':' (pseudo-headers).
 * Loose: anything but NUL, CR and LF. */
int xs_is_header_name(const char *s, size_t len, int strict)
{
    if (!strict) {
        for (size_t i = 0; i < len; i++)
            if (s[i] == '\0' || s[i] == '\r' || s[i] == '\n')
                return 0;
        return 1;
    }
    size_t i = len > 0 && s[0] == ':' ? 1 : 0;
    if (i == len)
        return 0;
    for (; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == 0 || (!is_alnum(c) && !strchr("!#$%&'*+-.^_|~`", c)))
            return 0;
    }
    return 1;
}

/* Strict: no control characters but horizontal tab.  Loose: no NUL, CR, LF. */
int xs_is_header_value(const char *s, size_t len, int strict)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (strict ? ((c < 0x20 && c != '\t') || c == 0x7f) : (c == 0 || c == '\r' || c == '\n'))
            return 0;
    }
    return 1;
}
