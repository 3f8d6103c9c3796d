"""The http source: polls a real HTTP server (tests/integration/http_backend.py,
in a thread of the test), sees changes within about one interval, speaks
conditional GET (304 keeps the version), sends the bearer token without ever
logging it, and keeps the last good document through every kind of failure
(5xx, garbage, oversize, timeout, a dead server) until the server is good
again."""

import json
import re
import signal
import time

import pytest

from conftest import REPO, SLOW, basic_model, record_timing, run_xdsd, service, wait_for
from http_backend import BlackHoleDns, TinyDns, model_servers

INTERVAL = 0.2  # the interval the tests configure, in seconds


def grown(model, name="added", port=7100):
    m = json.loads(json.dumps(model))
    m["services"].append(service(name, port))
    return m


@pytest.fixture
def backend():
    yield from model_servers(basic_model())


@pytest.fixture
def xdsd(backend, xdsd_factory):
    """As conftest's, but set up after `backend` so that xdsd is stopped
    before the servers are (no reconnect attempts at teardown)."""
    return xdsd_factory()


def http_source(url, name="api", extra=""):
    return "source %s { plugin http; url %s; interval 200ms; max_backoff 1s; %s }\n" % (name, url, extra)


def start_http(xdsd, srv, extra="", path="/model.json", level="info", env=None, wait="snapshot"):
    xdsd.start(xdsd.conf(http_source(srv.url + path, extra=extra), level=level), env=env, wait=wait)


def log_lines(xdsd, pattern):
    return [ln for ln in xdsd.log().splitlines() if re.search(pattern, ln)]


# ---- the happy path ------------------------------------------------------------

def test_delivers_the_model(xdsd, backend):
    srv = backend()
    start_http(xdsd, srv, path="/v1/model?env=prod")
    r = xdsd.poll("clusters")
    assert r.status == 200
    assert set(r.names()) == {"greeter", "catalog", "checkout"}
    h = srv.requests_since(0)[0]
    assert h["path"] == "/v1/model?env=prod"
    assert h["headers"]["host"] == "127.0.0.1:%d" % srv.port
    assert h["headers"]["user-agent"].startswith("xdsd-http/")
    assert "if-none-match" not in h["headers"]
    assert re.search(r'source "api": accepted GET http://127\.0\.0\.1:\d+/v1/model\?env=prod', xdsd.log())


def test_change_is_seen_within_the_interval(xdsd, backend):
    srv = backend()
    start_http(xdsd, srv)
    v0 = xdsd.poll("clusters").version
    times = []
    model = basic_model()
    for i in range(3):
        model = grown(model, "added%d" % i, 7100 + i)
        t0 = time.monotonic()
        srv.set_model(model)
        r, _ = xdsd.wait_new_version("clusters", v0, timeout=3)
        times.append(time.monotonic() - t0)
        assert "added%d" % i in r.names()
        v0 = r.version
    record_timing("http: server change -> new version (interval 200ms), worst of 3", max(times))
    assert max(times) < (INTERVAL + 0.5) * SLOW, times


def test_conditional_get_answered_304_keeps_the_version(xdsd, backend):
    srv = backend()
    start_http(xdsd, srv)
    v0 = xdsd.poll("clusters").version
    n0 = srv.count()
    wait_for(lambda: srv.count() >= n0 + 3, 3 * SLOW, "three more polls")
    for req in srv.requests_since(n0):
        assert req["headers"].get("if-none-match") == srv.etag, req
        assert req["headers"].get("if-modified-since") == srv.last_modified, req
    assert 304 in srv.answers_since(n0)
    assert xdsd.poll("clusters").version == v0
    assert xdsd.poll("clusters", version_info=v0).status == 304
    assert len(log_lines(xdsd, r"accepted GET")) == 1, "a 304 must not republish"
    # the interval holds: ~5 polls a second, not a busy loop
    reqs = srv.requests_since(n0)
    gaps = [b["time"] - a["time"] for a, b in zip(reqs, reqs[1:])]
    assert min(gaps) > INTERVAL * 0.7, gaps


def test_server_without_validators_same_body_is_not_republished(xdsd, backend):
    srv = backend()
    srv.set_mode("no_validators")
    start_http(xdsd, srv)
    n0 = srv.count()
    wait_for(lambda: srv.count() >= n0 + 3, 3 * SLOW, "three more polls")
    assert "if-none-match" not in srv.last_headers()
    assert len(log_lines(xdsd, r"accepted GET")) == 1
    v0 = xdsd.poll("clusters").version
    srv.set_model(grown(basic_model()))
    r, _ = xdsd.wait_new_version("clusters", v0, timeout=3)
    assert "added" in r.names()


# ---- headers and secrets ------------------------------------------------------

def test_bearer_token_and_headers_are_sent_and_never_logged(xdsd, backend):
    secret = "s3cr3t-t0ken-" + "x" * 20
    secret2 = "r0tated-t0ken-" + "y" * 20
    header_secret = "hdr-secret-value-42"
    srv = backend()
    token = xdsd.dir / "token"
    token.write_text(secret + "\n")
    start_http(xdsd, srv, level="debug",
               extra='bearer_token_file %s; header "X-Tenant: edge"; header "X-Api-Key:  %s";'
                     % (token, header_secret))
    h = srv.last_headers()
    assert h["authorization"] == "Bearer " + secret
    assert h["x-tenant"] == "edge"
    assert h["x-api-key"] == header_secret
    # rotation is picked up on the next poll, without a reload
    token.write_text(secret2)
    wait_for(lambda: srv.last_headers().get("authorization") == "Bearer " + secret2, 3 * SLOW,
             "the rotated token")
    # a token file that disappears is a failure that names the file, not the token
    token.unlink()
    xdsd.wait_log(r"bearer_token_file %s: No such file or directory" % re.escape(str(token)))
    n = srv.count()
    time.sleep(2 * INTERVAL)
    assert srv.count() == n, "no request without the token"
    token.write_text(secret)
    wait_for(lambda: srv.last_headers().get("authorization") == "Bearer " + secret, 3 * SLOW,
             "the token again")
    xdsd.stop()
    log = xdsd.log()
    for s in (secret, secret2, header_secret, "s3cr3t", "r0tated"):
        assert s not in log, "a secret reached the log"


def test_conf_errors(xdsd):
    cases = [
        ("url https://127.0.0.1/x;", r"https is not supported"),
        ("url ftp://127.0.0.1/x;", r"must start with http://"),
        ("url http://user:pw@127.0.0.1/x;", r"credentials in the URL"),
        ("url 127.0.0.1:80/x;", r"must start with http://"),
        ("url http:///x;", r"has no host"),
        ("url http://127.0.0.1/x; header \"X-Key s3cr3tvalue\";", r"header #1: expected \"Name: value\""),
        ("url http://127.0.0.1/x; header \"Bad Name: v\";", r"must be a token"),
        ("url http://127.0.0.1/x; header \"Content-Length: 5\";", r"set by the plugin itself"),
        ("url http://127.0.0.1/x; header \"Authorization: Basic s3cr3tvalue\"; bearer_token_file /nonexistent;",
         r"use one"),
        ("interval 1s;", r"url.*required"),
    ]
    for body, want in cases:
        conf = xdsd.write_conf(xdsd.conf("source api { plugin http; %s }" % body))
        p = run_xdsd(["-p", REPO, "-t", "-c", conf])
        out = p.stdout + p.stderr
        assert p.returncode == 1, (body, out)
        assert re.search(want, out), (body, want, out)
        assert "s3cr3tvalue" not in out, out


def test_example_conf_passes_check():
    p = run_xdsd(["-p", REPO, "-t", "-c", REPO / "conf" / "examples" / "http.conf"])
    assert p.returncode == 0, p.stdout + p.stderr


# ---- failures keep the last good document --------------------------------------

FAILURES = {
    # mode, arg, extra directives, expected log line
    "http-500": ("status", 500, "", r"GET http://\S+: HTTP 500 Internal Server Error"),
    "http-404": ("status", 404, "", r"GET http://\S+: HTTP 404 Not Found"),
    "garbage": ("garbage", b'{"services": [ {"name": ', "", r"GET http://\S+: .*line \d+"),
    "wrong-shape": ("garbage", b'{"services": 5}', "", r"GET http://\S+: .*services"),
    "oversize": ("huge", 3 * 1024 * 1024, "max_size 1m;", r"GET http://\S+: body over max_size 1048576 bytes"),
    "oversize-early": ("lying_length", 10 ** 9, "max_size 1m; timeout 5s;",
                       r"GET http://\S+: body over max_size 1048576 bytes"),
    "oversize-chunked": ("huge_chunked", 3 * 1024 * 1024, "max_size 1m;",
                         r"GET http://\S+: body over max_size 1048576 bytes"),
    "oversize-until-close": ("huge_eof", 3 * 1024 * 1024, "max_size 1m;",
                             r"GET http://\S+: body over max_size 1048576 bytes"),
    "not-http": ("raw", b"HELLO THERE\r\n\r\n", "", r"GET http://\S+: malformed HTTP response header"),
    "closed-early": ("raw", b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{", "",
                     r"GET http://\S+: connection closed by 127\.0\.0\.1:\d+ before the response was complete"),
    "timeout": ("slow", 3.0, "timeout 300ms;", r"GET http://\S+: timed out after 300ms"),
}


@pytest.mark.parametrize("case", list(FAILURES))
def test_failure_keeps_last_good_version(xdsd, backend, case):
    mode, arg, extra, want = FAILURES[case]
    srv = backend()
    start_http(xdsd, srv, extra=extra)
    v0 = xdsd.poll("clusters").version
    srv.set_model(grown(basic_model()))  # the change is hidden behind the failure
    t0 = time.monotonic()
    srv.set_mode(mode, arg)
    xdsd.wait_log(want, timeout=5)
    record_timing("http: %s detected" % case, time.monotonic() - t0)
    assert re.search(r"still serving its last good document", xdsd.log())
    n = srv.count()
    wait_for(lambda: srv.count() >= n + 2, 5 * SLOW, "two retries")
    assert xdsd.poll("clusters").version == v0
    # the failure is logged once, not on every retry
    assert len(log_lines(xdsd, want)) == 1, log_lines(xdsd, want)
    srv.set_mode("ok")
    t0 = time.monotonic()
    r, _ = xdsd.wait_new_version("clusters", v0, timeout=5)
    record_timing("http: recovery after %s" % case, time.monotonic() - t0)
    assert "added" in r.names()
    xdsd.wait_log(r'source "api": recovered after \d+ failure')


def test_refused_document_validators_are_not_kept(xdsd, backend):
    """After a refused body, the next request must not send its ETag: the
    server would answer 304 and we would never get a good document."""
    srv = backend()
    start_http(xdsd, srv)
    good_etag = srv.etag
    srv.set_model('{"services": [ {"name": ')
    xdsd.wait_log(r"GET http://\S+: .*line \d+")
    n = srv.count()
    wait_for(lambda: srv.count() >= n + 2, 3 * SLOW, "more polls")
    for req in srv.requests_since(n):
        assert req["headers"].get("if-none-match") == good_etag


def test_server_killed_then_back_with_new_data(xdsd, backend):
    srv = backend()
    start_http(xdsd, srv)
    v0 = xdsd.poll("clusters").version
    srv.stop()
    xdsd.wait_log(r"GET http://\S+: (cannot connect to 127\.0\.0\.1:\d+: Connection refused|"
                  r"connection closed by)")
    xdsd.wait_log(r"cannot connect to 127\.0\.0\.1:\d+: Connection refused")
    time.sleep(2 * INTERVAL)  # several retries
    assert xdsd.poll("clusters").version == v0
    srv.set_model(grown(basic_model()))
    t0 = time.monotonic()
    srv.start()
    r, _ = xdsd.wait_new_version("clusters", v0, timeout=5)
    record_timing("http: server back -> new version (max_backoff 1s)", time.monotonic() - t0)
    assert "added" in r.names()
    assert time.monotonic() - t0 < 1.5 * SLOW


def test_slow_server_does_not_block_xdsd(xdsd, backend):
    """While the http source waits on a server that does not answer, another
    source's change is served at once, and SIGTERM is prompt and clean."""
    srv = backend()
    srv.set_mode("slow", 30)
    catalog = xdsd.file_source({"services": [service("filesvc", 7200, listeners=None)]}, name="catalog")
    xdsd.start(xdsd.conf(catalog + http_source(srv.url + "/m", extra="timeout 20s; required off;")))
    wait_for(lambda: srv.count() >= 1, 3 * SLOW, "the request to hang")
    v0 = xdsd.poll("clusters").version
    t0 = time.monotonic()
    (xdsd.dir / "catalog.json").write_text(json.dumps({"services": [service("filesvc2", 7201, listeners=None)]}))
    r, _ = xdsd.wait_new_version("clusters", v0, timeout=3)
    record_timing("http: file change served while an http request hangs", time.monotonic() - t0)
    assert "filesvc2" in r.names()
    t0 = time.monotonic()
    assert xdsd.stop() == 0
    assert time.monotonic() - t0 < 3 * SLOW


def test_sighup_with_request_in_flight(xdsd, backend):
    srv = backend()
    start_http(xdsd, srv, extra="timeout 20s;")
    v0 = xdsd.poll("clusters").version
    srv.set_mode("slow", 30)
    n = srv.count()
    wait_for(lambda: srv.count() > n, 3 * SLOW, "a hanging request")
    size = xdsd.log_size()
    xdsd.send_signal(signal.SIGHUP)
    xdsd.wait_log(r"reload|generation", after=size)
    srv.set_mode("ok")
    assert xdsd.poll("clusters").version == v0


# ---- start-up --------------------------------------------------------------------

def test_required_off_source_down_at_start_does_not_block(xdsd, backend):
    srv = backend(grown(basic_model(), "fromhttp", 7300))
    srv.stop()
    catalog = xdsd.file_source(basic_model(), name="catalog")
    t0 = time.monotonic()
    xdsd.start(xdsd.conf(catalog + http_source(srv.url + "/m", extra="required off;")))
    record_timing("http: first snapshot with a required-off http source down", time.monotonic() - t0)
    r = xdsd.poll("clusters")
    assert "fromhttp" not in r.names()
    xdsd.wait_log(r"cannot connect to 127\.0\.0\.1:\d+: Connection refused")
    srv.start()
    r, _ = xdsd.wait_new_version("clusters", r.version, timeout=5)
    assert "fromhttp" in r.names()


def test_required_source_down_blocks_first_snapshot(xdsd, backend):
    srv = backend()
    srv.stop()
    xdsd.start(xdsd.conf(http_source(srv.url + "/m")), wait="listening")
    xdsd.wait_log(r"Connection refused")
    assert xdsd.poll("clusters").status == 503
    srv.start()
    xdsd.wait_snapshot(5)


# ---- names and addresses ---------------------------------------------------------

def test_ipv6_literal(xdsd, backend):
    srv = backend(host="::1")
    start_http(xdsd, srv)
    assert xdsd.poll("clusters").status == 200
    assert srv.last_headers()["host"] == "[::1]:%d" % srv.port


def test_host_name_resolved_with_evdns(xdsd, backend):
    dns = TinyDns()
    try:
        resolv = xdsd.dir / "resolv.conf"
        resolv.write_text("nameserver 127.0.0.1:%d\n" % dns.port)
        srv = backend()
        xdsd.start(xdsd.conf(http_source("http://config.xdsd-test.invalid:%d/m" % srv.port)),
                   env={"XDSD_HTTP_RESOLV_CONF": str(resolv)})
        assert dns.queries >= 1
        assert srv.last_headers()["host"] == "config.xdsd-test.invalid:%d" % srv.port
        n = srv.count()
        wait_for(lambda: srv.count() >= n + 2, 3 * SLOW, "more polls")
        assert srv.connections == 1, "the keep-alive connection is reused, no new lookups"
        assert xdsd.stop() == 0  # before the nameserver goes: no lookup in flight
    finally:
        dns.stop()


def test_unknown_name_is_reported(xdsd):
    dns = TinyDns()
    try:
        resolv = xdsd.dir / "resolv.conf"
        resolv.write_text("nameserver 127.0.0.1:%d\n" % dns.port)
        xdsd.start(xdsd.conf(http_source("http://nxhost.xdsd-test.invalid:8080/m", extra="required off;")),
                   env={"XDSD_HTTP_RESOLV_CONF": str(resolv)}, wait="listening")
        xdsd.wait_log(r"GET http://nxhost\S+: cannot resolve nxhost\.xdsd-test\.invalid: ")
        assert xdsd.stop() == 0
    finally:
        dns.stop()


def test_unresolvable_name_times_out_and_reload_during_lookup_is_clean(xdsd, backend):
    """A nameserver that never answers: the request times out naming the
    lookup; a reload while lookups are in flight frees them (the sanitizer
    and valgrind runs check that), and the new generation works."""
    dns = BlackHoleDns()
    try:
        resolv = xdsd.dir / "resolv.conf"
        resolv.write_text("nameserver 127.0.0.1:%d\noptions timeout:5 attempts:1\n" % dns.port)
        xdsd.start(xdsd.conf(http_source("http://nowhere.xdsd-test.invalid:8080/m",
                                         extra="timeout 300ms; required off;")),
                   env={"XDSD_HTTP_RESOLV_CONF": str(resolv)})
        xdsd.wait_log(r"GET http://nowhere\S+: timed out after 300ms \(resolving nowhere\.xdsd-test\.invalid\)")
        wait_for(lambda: dns.queries >= 4, 3 * SLOW, "more lookups")
        srv = backend()
        xdsd.write_conf(xdsd.conf(http_source(srv.url + "/m")))
        size = xdsd.log_size()
        xdsd.send_signal(signal.SIGHUP)
        xdsd.wait_log(r'source "api": accepted GET', after=size)
        assert xdsd.poll("clusters").status == 200
    finally:
        assert xdsd.stop() == 0
        dns.stop()


def test_shutdown_during_lookup_is_clean(xdsd):
    dns = BlackHoleDns()
    try:
        resolv = xdsd.dir / "resolv.conf"
        resolv.write_text("nameserver 127.0.0.1:%d\n" % dns.port)
        xdsd.start(xdsd.conf(http_source("http://nowhere.xdsd-test.invalid:8080/m", extra="required off;")),
                   env={"XDSD_HTTP_RESOLV_CONF": str(resolv)})
        wait_for(lambda: dns.queries >= 1, 3 * SLOW, "a lookup in flight")
        assert xdsd.stop() == 0
        assert not xdsd.bad_log_lines()
    finally:
        dns.stop()
