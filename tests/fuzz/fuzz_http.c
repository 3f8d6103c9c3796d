/*
 * fuzz_http.c -- libFuzzer target for the http source plugin's handling of
 * what a server sends back (plugins/http/http.c): the status (2xx, 304
 * against the validators it holds, other codes with a sanitized reason
 * phrase), the ETag / Last-Modified validators it keeps and sends back in
 * later requests (keep_validator: never a header-injecting value), the body
 * compared with what the host holds and handed to the daemon's real
 * publish(); also the URL of its conf (parse_url).
 *
 * The plugin's handlers are static, so the plugin source is compiled into
 * this file.  A response is parsed from the input by libevent's own HTTP
 * parser, evhttp_parse_firstline_ and evhttp_parse_headers_ (exported by
 * libevent_extra 2.1 though declared only in its private http-internal.h,
 * hence the prototypes below); a response it refuses goes through the
 * plugin's transport-error path.  What follows the headers is the body as
 * is.  Not reached: connecting, DNS, timeouts, libevent's chunked and
 * Content-Length body reader (tests/integration covers them against a real
 * HTTP server).
 *
 * Input: the first line is the source's url (when it starts with "http"),
 * then up to four raw responses ("HTTP/1.1 200 OK\r\nETag: ...\r\n\r\n
 * {...}") separated by FUZZ_SEP, answered to consecutive polls.
 */
#include "../../plugins/http/http.c"

#include <event2/http_struct.h>

#include "fuzz.h"
#include "host.h"

/* From libevent 2.1's http-internal.h. */
enum message_read_status {
    ALL_DATA_READ = 1,
    MORE_DATA_EXPECTED = 0,
    DATA_CORRUPTED = -1,
    REQUEST_CANCELED = -2,
    DATA_TOO_LONG = -3
};
enum message_read_status evhttp_parse_firstline_(struct evhttp_request *, struct evbuffer *);
enum message_read_status evhttp_parse_headers_(struct evhttp_request *, struct evbuffer *);

static void check_validator(const char *v)
{
    if (v != NULL && (!is_field_value(v) || strlen(v) == 0 || strlen(v) > MAX_VALIDATOR_LEN)) {
        fprintf(stderr, "fuzz_http: kept a validator that must not be sent back: \"%s\"\n", v);
        abort();
    }
}

/* One poll answered with the response in [p, p+len). */
static void answer(http_state_t *st, const uint8_t *p, size_t len)
{
    struct evhttp_request *req = evhttp_request_new(NULL, NULL);
    struct evbuffer *in = evbuffer_new();
    if (req == NULL || in == NULL)
        abort();
    req->kind = EVHTTP_RESPONSE;
    evbuffer_add(in, p, len);

    /* What start_request resets. */
    clock_gettime(CLOCK_MONOTONIC, &st->req_started);
    st->got_headers = 0;
    st->status = 0;
    st->req_error = 0;
    st->req_errno = 0;
    st->req = req;

    enum message_read_status rs = evhttp_parse_firstline_(req, in);
    if (rs == ALL_DATA_READ)
        rs = evhttp_parse_headers_(req, in);
    if (rs != ALL_DATA_READ) {
        /* What libevent's connection does with a response it cannot read. */
        on_request_error(rs == DATA_TOO_LONG        ? EVREQ_HTTP_DATA_TOO_LONG
                         : rs == MORE_DATA_EXPECTED ? EVREQ_HTTP_EOF
                                                    : EVREQ_HTTP_INVALID_HEADER,
                         st);
        on_response(NULL, st);
    } else {
        on_headers(req, st);
        evbuffer_add_buffer(evhttp_request_get_input_buffer(req), in);
        on_response(req, st);
    }
    check_validator(st->etag);
    check_validator(st->last_modified);
    evbuffer_free(in);
    evhttp_request_free(req);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const xdsd_host_api_t *api;
    char err[XDS_ERRLEN], url[512];
    http_conf_t conf;
    void *state = NULL;

    if (size > 128 * 1024)
        return 0;
    const uint8_t *nl = memchr(data, '\n', size);
    if (nl == NULL)
        return 0;
    size_t ulen = (size_t)(nl - data);
    if (ulen >= 4 && ulen < sizeof(url) && memcmp(data, "http", 4) == 0 &&
        memchr(data, '\0', ulen) == NULL) {
        memcpy(url, data, ulen);
        url[ulen] = '\0';
    } else {
        snprintf(url, sizeof(url), "http://127.0.0.1:8080/xds/model.json");
    }
    memset(&conf, 0, sizeof(conf));
    conf.url = url;

    xds_source_t *s =
        fuzz_source_new("source inventory { plugin fuzz; }", 0, &api, err, sizeof(err));
    if (s == NULL)
        abort();
    if (http_create(api, (xdsd_source_t *)s, &conf, &state, err, sizeof(err)) != XDSD_OK) {
        fuzz_source_free(s);
        return 0;
    }
    http_state_t *st = state;
    struct event_base *base = event_base_new();
    st->base = base;
    st->ev_poll = evtimer_new(base, on_poll, st);
    st->ev_deadline = evtimer_new(base, on_deadline, st);

    const uint8_t *p = nl + 1, *part;
    size_t len;
    for (int i = 0; i < 4 && fuzz_next_part(&p, data + size, &part, &len); i++)
        answer(st, part, len);

    http_destroy(st);
    event_base_free(base);
    fuzz_source_free(s);
    return 0;
}
