"""Signals: SIGHUP reloads the conf (a broken one changes nothing),
SIGTERM/SIGINT finish in-flight requests and exit 0.  The teardown of every
test already sends SIGTERM and requires exit code 0."""

import json
import re
import signal
import socket
import time

from conftest import SLOW, basic_model, discovery_request, service, write_model


def test_pid_file(xdsd):
    xdsd.start(xdsd.conf(xdsd.file_source(basic_model())))
    # (under valgrind too: valgrind runs the program in its own process)
    assert int(xdsd.pid_path.read_text().strip()) == xdsd.proc.pid


def test_sigterm_exits_0(xdsd):
    xdsd.start(xdsd.conf(xdsd.file_source(basic_model())))
    assert xdsd.poll("clusters").status == 200
    assert xdsd.stop(signal.SIGTERM) == 0
    assert xdsd.bad_log_lines() == []


def test_sigint_exits_0(xdsd):
    xdsd.start(xdsd.conf(xdsd.file_source(basic_model())))
    assert xdsd.stop(signal.SIGINT) == 0


def test_sigterm_finishes_in_flight_request(xdsd):
    """A request whose body is still arriving when SIGTERM comes is answered."""
    xdsd.start(xdsd.conf(xdsd.file_source(basic_model())))
    body = json.dumps(discovery_request("clusters")).encode()
    s = socket.create_connection(("127.0.0.1", xdsd.port), timeout=10 * SLOW)
    try:
        s.sendall(b"POST /v3/discovery:clusters HTTP/1.1\r\nHost: xds_cluster\r\n"
                  b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(body)
                  + body[:100])
        time.sleep(0.2 * SLOW)
        xdsd.send_signal(signal.SIGTERM)
        time.sleep(0.2 * SLOW)
        s.sendall(body[100:])
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
            if b"\r\n\r\n" in data:
                head, _, rest = data.partition(b"\r\n\r\n")
                m = re.search(rb"(?i)content-length:\s*(\d+)", head)
                if m and len(rest) >= int(m.group(1)):
                    break
        assert data.startswith(b"HTTP/1.1 200"), data[:200]
    finally:
        s.close()
    xdsd.proc.wait(15 * SLOW)
    assert xdsd.proc.returncode == 0


def test_sighup_good_conf_is_applied(xdsd):
    src = xdsd.file_source(basic_model())
    xdsd.start(xdsd.conf(src))
    v0 = xdsd.poll("clusters").version
    # add a second source with one more service
    extra = xdsd.file_source({"services": [service("reloaded", 7200, listeners=None)]}, name="extra")
    xdsd.write_conf(xdsd.conf(src + extra))
    mark = xdsd.log_size()
    xdsd.send_signal(signal.SIGHUP)
    r, elapsed = xdsd.wait_new_version("clusters", v0)
    assert "reloaded" in r.names()
    assert xdsd.alive()
    assert "[error]" not in xdsd.log()[mark:], xdsd.log()[mark:]


def test_sighup_broken_conf_keeps_old_generation(xdsd):
    src = xdsd.file_source(basic_model())
    good = xdsd.conf(src)
    xdsd.start(good)
    versions = xdsd.versions()
    for broken in (good.replace("workers 2;", "workers many;"),
                   good + "\nunknown_directive 1;\n",
                   good + "\nsource broken { plugin nosuch; }\n",
                   good.replace("plugin file;", "plugin file; path_typo /x;")):
        mark = xdsd.log_size()
        xdsd.write_conf(broken)
        xdsd.send_signal(signal.SIGHUP)
        m = xdsd.wait_log(r"\[(error|crit)\][^\n]*" + re.escape(str(xdsd.conf_path)) + r":\d+", after=mark)
        assert m, xdsd.log()[mark:]
        assert xdsd.alive()
        assert xdsd.versions() == versions
    # the model file is still watched by the old generation's source
    write_model(xdsd.dir / "catalog.json", {"services": [service("after", listeners=None)],
                                            "listeners": []})
    r, _ = xdsd.wait_new_version("clusters", versions["clusters"])
    assert r.names() == ["after"]
    # and a good conf afterwards is taken
    xdsd.write_conf(good)
    xdsd.send_signal(signal.SIGHUP)
    time.sleep(0.3 * SLOW)
    assert xdsd.alive() and xdsd.poll("clusters").status == 200


def test_sighup_unchanged_conf_keeps_versions(xdsd):
    xdsd.start(xdsd.conf(xdsd.file_source(basic_model())))
    v = xdsd.versions()
    for _ in range(3):
        xdsd.send_signal(signal.SIGHUP)
        time.sleep(0.2 * SLOW)
    assert xdsd.alive()
    assert xdsd.versions() == v, "a reload with the same data must not look like a change"


def test_sighup_can_move_the_listener(xdsd):
    from conftest import free_port
    src = xdsd.file_source(basic_model())
    xdsd.start(xdsd.conf(src))
    old_port = xdsd.port
    new_port = free_port()
    xdsd.write_conf(xdsd.conf(src).replace("127.0.0.1:%d" % old_port, "127.0.0.1:%d" % new_port))
    xdsd.send_signal(signal.SIGHUP)
    xdsd.port = new_port
    xdsd.wait_listening(5)
    assert xdsd.poll("clusters").status == 200


def test_many_sighups_while_polling(xdsd):
    xdsd.start(xdsd.conf(xdsd.file_source(basic_model())))
    v = xdsd.poll("listeners").version
    for _ in range(20):
        xdsd.send_signal(signal.SIGHUP)
        r = xdsd.poll("listeners")
        assert r.status == 200 and r.version == v, r
    assert xdsd.alive()
