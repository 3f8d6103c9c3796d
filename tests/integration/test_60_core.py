"""Core behaviour seen from outside: one build per loop pass however many
sources changed in it, and a port that is already taken is refused instead of
being shared through SO_REUSEPORT."""

import json
import re
import signal
import time

from conftest import SLOW, TEST_PLUGIN_DIR, run_xdsd, service


def doc_source(name, doc):
    text = json.dumps(doc)
    return "source %s { plugin static_doc; document '%s'; }\n" % (name, text)


def snapshot_lines(log):
    return re.findall(r"snapshot (\d+) built", log)


def test_several_publishes_in_one_pass_build_once(xdsd):
    """Three sources publish while they start, all in the same loop pass:
    exactly one snapshot is built, at start and again on SIGHUP."""
    sources = "".join(doc_source("s%d" % i, {"services": [service("svc%d" % i, listeners=None)]})
                      for i in range(3))
    xdsd.start(xdsd.conf(sources, main="load_plugin static_doc %s/static_doc.so;" % TEST_PLUGIN_DIR))
    assert xdsd.poll("clusters").names() == ["svc0", "svc1", "svc2"]
    time.sleep(0.3 * SLOW)
    assert snapshot_lines(xdsd.log()) == ["1"], xdsd.log()

    mark = xdsd.log_size()
    xdsd.send_signal(signal.SIGHUP)
    xdsd.wait_log(r"reload complete", after=mark)
    xdsd.wait_log(r"snapshot 2 built", after=mark)
    time.sleep(0.3 * SLOW)
    assert snapshot_lines(xdsd.log()) == ["1", "2"], xdsd.log()


def test_port_in_use_is_refused(xdsd, xdsd_factory):
    xdsd.start(xdsd.conf(xdsd.file_source({"services": [service("a", listeners=None)]})))
    other = xdsd_factory("second")
    conf = other.write_conf(other.conf(other.file_source({"services": []})).replace(
        "127.0.0.1:%d" % other.port, "127.0.0.1:%d" % xdsd.port))
    r = run_xdsd(["-c", conf])
    assert r.returncode == 1, r
    assert "bind 127.0.0.1:%d: Address already in use" % xdsd.port in r.stderr, r.stderr
    assert xdsd.poll("clusters").names() == ["a"]
