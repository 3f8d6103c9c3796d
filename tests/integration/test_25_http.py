"""HTTP robustness of the discovery listener: the ways a request can arrive
(pipelined, a byte at a time, HTTP/1.0, chunked) and hostile bodies, which
must get a 4xx and never hurt the daemon; and a large snapshot served within
Envoy's default 1 s request_timeout."""

import json
import socket
import time

from conftest import SLOW, basic_model, check_discovery_body, discovery_request, record_timing, service


def raw(port, data, wait=1.0, reset_ok=False):
    """Send raw bytes, return everything read until the peer closes or
    `wait` seconds pass without data (with reset_ok, a reset ends the
    data with b"<reset>")."""
    s = socket.create_connection(("127.0.0.1", port), timeout=5 * SLOW)
    try:
        s.sendall(data)
        s.settimeout(wait * SLOW)
        out = b""
        try:
            while True:
                c = s.recv(65536)
                if not c:
                    break
                out += c
        except socket.timeout:
            pass
        except ConnectionResetError:
            if not reset_ok:
                raise
            out += b"<reset>"
        return out
    finally:
        s.close()


def post(body, path=b"/v3/discovery:clusters", version=b"HTTP/1.1", extra=b""):
    return (b"POST %s %s\r\nHost: xds_cluster\r\nContent-Type: application/json\r\n%s"
            b"Content-Length: %d\r\n\r\n%s" % (path, version, extra, len(body), body))


def small_body(type_path="clusters", **kw):
    return json.dumps(discovery_request(type_path, node={"id": "n1", "cluster": "edge"}, **kw)).encode()


def test_pipelined_requests(xdsd):
    xdsd.start(xdsd.conf(xdsd.file_source(basic_model())))
    out = raw(xdsd.port, post(small_body()) * 3)
    assert out.count(b"HTTP/1.1 200 ") == 3, out[:300]


def test_request_a_byte_at_a_time(xdsd):
    xdsd.start(xdsd.conf(xdsd.file_source(basic_model())))
    req = post(small_body())
    s = socket.create_connection(("127.0.0.1", xdsd.port), timeout=5 * SLOW)
    try:
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for i in range(len(req)):
            s.send(req[i:i + 1])
        assert s.recv(100).startswith(b"HTTP/1.1 200 ")
    finally:
        s.close()


def test_http10_and_connection_close(xdsd):
    xdsd.start(xdsd.conf(xdsd.file_source(basic_model())))
    out = raw(xdsd.port, post(small_body(), version=b"HTTP/1.0"))
    assert out.split(b" ", 2)[1] == b"200", out[:200]
    head, _, body = out.partition(b"\r\n\r\n")
    check_discovery_body("clusters", body)
    out = raw(xdsd.port, post(small_body(), extra=b"Connection: close\r\n"))
    assert out.startswith(b"HTTP/1.1 200 ")


def test_expect_100_continue(xdsd):
    """curl sends Expect: 100-continue for larger bodies."""
    xdsd.start(xdsd.conf(xdsd.file_source(basic_model())))
    body = small_body()
    s = socket.create_connection(("127.0.0.1", xdsd.port), timeout=5 * SLOW)
    try:
        s.sendall(b"POST /v3/discovery:clusters HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n"
                  b"Content-Length: %d\r\n\r\n" % len(body))
        first = s.recv(100)
        assert first.startswith(b"HTTP/1.1 100"), first
        s.sendall(body)
        data = b""
        while b"HTTP/1.1 200" not in data:
            c = s.recv(65536)
            assert c, data
            data += c
    finally:
        s.close()


def test_hostile_bodies_get_400_and_do_no_harm(xdsd):
    xdsd.start(xdsd.conf(xdsd.file_source(basic_model())))
    bodies = [
        b"[" * 100000,                          # nesting bomb
        b'{"node":' * 50000,
        b'{"version_info":"\xff\xfe"}',          # invalid UTF-8
        b'{"resource_names":[1,2]}',
        b'{"resource_names":"catalog"}',
        b'{"type_url":42}',
        b"\x00\x01\x02",
        b'{"version_info":"x"} trailing',
        b"",
    ]
    for b in bodies:
        r = xdsd.poll("clusters", b)
        assert r.status == 400, (b[:40], r)
    r = xdsd.request("POST", "/v3/discovery:clusters", b"", {"Content-Length": "0"})
    assert r.status == 400
    assert xdsd.poll("clusters").status == 200


def test_405_has_allow_header(xdsd):
    xdsd.start(xdsd.conf(xdsd.file_source(basic_model())))
    r = xdsd.request("GET", "/v3/discovery:clusters")
    assert r.status == 405 and r.headers.get("allow", "").upper() == "POST", r.headers


def test_huge_header_refused(xdsd):
    xdsd.start(xdsd.conf(xdsd.file_source(basic_model())))
    # The daemon answers after 16 KiB of header with the rest still coming:
    # its lingering close must let the 431 reach the client, not a reset.
    for _ in range(3):
        out = raw(xdsd.port, b"POST /v3/discovery:clusters HTTP/1.1\r\nHost: x\r\nX-Big: " +
                  b"a" * 100000 + b"\r\nContent-Length: 2\r\n\r\n{}")
        assert out.startswith(b"HTTP/1.1 431 "), out[:100]
    assert xdsd.poll("clusters").status == 200


def test_413_reaches_a_client_still_sending(xdsd):
    """A 2 MiB body over the 1 MiB default: the 413 is sent before the body
    is read, and must arrive intact while the client is still sending."""
    xdsd.start(xdsd.conf(xdsd.file_source(basic_model())))
    body = b'{"node":{"id":"n","metadata":{"pad":"' + b"x" * (2 << 20) + b'"}}}'
    for _ in range(3):
        out = raw(xdsd.port, post(body))
        assert out.startswith(b"HTTP/1.1 413 "), out[:100]
        assert b"client_max_body_size" in out
    assert xdsd.poll("clusters").status == 200


def test_411_without_content_length(xdsd):
    xdsd.start(xdsd.conf(xdsd.file_source(basic_model())))
    out = raw(xdsd.port, b"POST /v3/discovery:clusters HTTP/1.1\r\nHost: x\r\n\r\n")
    assert out.startswith(b"HTTP/1.1 411 "), out[:100]
    assert b"Content-Length required" in out


def test_large_snapshot_is_fast(xdsd):
    """2000 services (EDS, 3 endpoints each): a full CDS answer and a 2000-name
    EDS answer each well within Envoy's 1 s request_timeout."""
    n = 2000
    model = {"services": [service("svc-%04d" % i, 8000 + i % 1000, discovery="eds",
                                  endpoints=[{"address": "10.%d.%d.%d" % (i // 250, i % 250, k + 1),
                                              "port": 8080, "zone": "eu-west-1%s" % "abc"[k]}
                                             for k in range(3)])
                          for i in range(n)],
             "listeners": [{"name": "ingress", "address": "0.0.0.0", "port": 10000}]}
    xdsd.start(xdsd.conf(xdsd.file_source(model)), timeout=30)
    names = ["svc-%04d" % i for i in range(n)]
    worst = 0.0
    for type_path, req in (("clusters", {}), ("listeners", {}),
                           ("routes", {"resource_names": ["ingress"]}),
                           ("endpoints", {"resource_names": names})):
        t0 = time.monotonic()
        r = xdsd.poll(type_path, validate=False, **req)
        elapsed = time.monotonic() - t0
        worst = max(worst, elapsed)
        assert r.status == 200, r
        if type_path in ("clusters", "endpoints"):
            assert len(r.resources) == n
        check_discovery_body(type_path, r.body)
    record_timing("slowest poll with %d services" % n, worst)
    assert worst < 1.0 * SLOW


def test_client_max_header_size(xdsd):
    xdsd.start(xdsd.conf(xdsd.file_source(basic_model()), discovery="client_max_header_size 2k;"))
    ok = raw(xdsd.port, post(small_body(), extra=b"X-Pad: " + b"a" * 1000 + b"\r\n"))
    assert ok.startswith(b"HTTP/1.1 200 "), ok[:100]
    out = raw(xdsd.port, post(small_body(), extra=b"X-Pad: " + b"a" * 3000 + b"\r\n"))
    assert out.startswith(b"HTTP/1.1 431 "), out[:100]


def test_max_connections_per_worker(xdsd):
    xdsd.start(xdsd.conf(xdsd.file_source(basic_model()), discovery="max_connections 2;")
               .replace("workers 2;", "workers 1;"))
    held = [socket.create_connection(("127.0.0.1", xdsd.port), timeout=5 * SLOW) for _ in range(2)]
    try:
        time.sleep(0.2 * SLOW)
        extra = socket.create_connection(("127.0.0.1", xdsd.port), timeout=5 * SLOW)
        extra.settimeout(2 * SLOW)
        try:
            extra.sendall(post(small_body()))
            got = extra.recv(100)
        except (ConnectionResetError, BrokenPipeError):
            got = b""
        extra.close()
        assert got == b"", got  # closed without an answer
        xdsd.wait_log(r"max_connections \(2\) reached")
        held[0].sendall(post(small_body()))  # the held ones still work
        assert held[0].recv(100).startswith(b"HTTP/1.1 200 ")
    finally:
        for s in held:
            s.close()
    time.sleep(0.2 * SLOW)
    assert xdsd.poll("clusters").status == 200  # room again


def test_slowloris_is_cut_off(xdsd):
    """A request trickling in a byte at a time never idles long enough for an
    inactivity timeout; read_timeout bounds the whole request."""
    xdsd.start(xdsd.conf(xdsd.file_source(basic_model()), discovery="read_timeout 600ms;"))
    s = socket.create_connection(("127.0.0.1", xdsd.port), timeout=5 * SLOW)
    t0 = time.monotonic()
    data = post(small_body())
    got = b""
    try:
        for b in data:
            s.sendall(bytes([b]))
            time.sleep(0.1)
            s.setblocking(False)
            try:
                got += s.recv(1000)
            except BlockingIOError:
                pass
            s.setblocking(True)
            if got or time.monotonic() - t0 > 5 * SLOW:
                break
    except (BrokenPipeError, ConnectionResetError):
        pass
    s.settimeout(2 * SLOW)
    try:
        got += s.recv(1000)
    except (socket.timeout, ConnectionResetError):
        pass
    s.close()
    assert got.startswith(b"HTTP/1.1 408 "), got[:100]
    assert time.monotonic() - t0 < 3 * SLOW
    xdsd.wait_log(r"request not complete within read_timeout")


def test_chunk_size_near_2_64_is_refused(xdsd):
    """A chunk size that would wrap around when added to the body length
    (found by fuzzing) gets 413, and the daemon is fine."""
    xdsd.start(xdsd.conf(xdsd.file_source(basic_model())))
    for size in (b"ffffffffffffffff", b"fffffffffffffffff0", b"7fffffffffffffff"):
        out = raw(xdsd.port, b"POST /v3/discovery:clusters HTTP/1.1\r\nHost: x\r\n"
                  b"Transfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n" + size + b"\r\n" + b"x" * 100)
        assert out.startswith(b"HTTP/1.1 413 "), (size, out[:100])
    assert xdsd.poll("clusters").status == 200


def test_idle_keepalive_connection_is_closed(xdsd):
    """keepalive_timeout: a connection that stays idle after its last answer
    is closed by xdsd; one that keeps polling within it stays open."""
    xdsd.start(xdsd.conf(xdsd.file_source(basic_model()), discovery="keepalive_timeout 500ms;"))
    req = post(small_body())
    with socket.create_connection(("127.0.0.1", xdsd.port), timeout=5 * SLOW) as s:
        for _ in range(3):  # polls 250 ms apart: each resets the idle timer
            s.sendall(req)
            resp = b""
            while b"\r\n\r\n" not in resp:
                resp += s.recv(65536)
            head, _, rest = resp.partition(b"\r\n\r\n")
            assert head.startswith(b"HTTP/1.1 200"), head
            length = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
            while len(rest) < length:
                rest += s.recv(65536)
            time.sleep(0.25)
        t0 = time.monotonic()
        s.settimeout(5 * SLOW)
        data = b""
        while True:  # then idle: the server closes it
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
        idle = time.monotonic() - t0
    assert data == b"", data
    assert 0.2 < idle < 3.0 * SLOW, idle
    record_timing("idle keep-alive connection closed after (keepalive_timeout 500ms)", idle)
