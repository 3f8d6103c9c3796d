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


def test_required_off_source_does_not_block_the_first_snapshot(xdsd):
    later = xdsd.dir / "later.json"
    sources = (xdsd.file_source({"services": [service("a", listeners=None)]}) +
               "source extra { plugin file; path %s; poll_interval 100ms; required off; }\n" % later)
    xdsd.start(xdsd.conf(sources))
    assert xdsd.poll("clusters").names() == ["a"]
    v0 = xdsd.poll("clusters").version
    later.write_text(json.dumps({"services": [service("b", listeners=None)]}))
    r, _ = xdsd.wait_new_version("clusters", v0, timeout=5 * SLOW)
    assert r.names() == ["a", "b"]


def test_required_source_blocks_the_first_snapshot(xdsd):
    later = xdsd.dir / "later.json"
    sources = (xdsd.file_source({"services": [service("a", listeners=None)]}) +
               "source extra { plugin file; path %s; poll_interval 100ms; }\n" % later)
    xdsd.start(xdsd.conf(sources), wait="listening")
    xdsd.wait_log(r'waiting for the first document of source "extra"')
    assert xdsd.poll("clusters").status == 503


def test_stale_after_flags_a_source_and_its_recovery(xdsd):
    model = {"services": [service("a", listeners=None)]}
    xdsd.start(xdsd.conf(xdsd.file_source(model, extra="poll_interval 100ms; stale_after 400ms;")))
    v0 = xdsd.poll("clusters").version
    time.sleep(0.8 * SLOW)  # the file is polled and unchanged: still fresh
    assert "data is stale" not in xdsd.log()
    path = xdsd.dir / "catalog.json"
    path.unlink()
    xdsd.wait_log(r'source "catalog": .*catalog.json: No such file or directory')
    xdsd.wait_log(r'source "catalog": data is stale: no successful refresh for \d+ s')
    assert xdsd.poll("clusters").version == v0  # fail-static
    path.write_text(json.dumps(model))
    xdsd.wait_log(r'source "catalog": data is fresh again')
    assert xdsd.poll("clusters").version == v0


def test_host_directives_are_checked(xdsd):
    conf = xdsd.write_conf(xdsd.conf(xdsd.file_source({"services": []}, extra="required maybe;")))
    r = run_xdsd(["-t", "-c", conf])
    assert r.returncode == 1
    assert re.search(r':\d+: directive "required": invalid value "maybe"', r.stderr), r.stderr


def test_max_document_size(xdsd):
    model = {"services": [service("a", listeners=None)]}
    xdsd.start(xdsd.conf(xdsd.file_source(model, extra="poll_interval 100ms; max_document_size 2k;")))
    v0 = xdsd.poll("clusters").version
    big = {"services": [service("svc-%03d" % i, listeners=None) for i in range(40)]}
    (xdsd.dir / "catalog.json").write_text(json.dumps(big))
    xdsd.wait_log(r'source "catalog": .*catalog.json: document is \d+ bytes, over max_document_size 2048')
    assert xdsd.poll("clusters").version == v0


def test_a_source_failing_every_way_harms_nothing(xdsd):
    """A plugin that publishes garbage of every kind (invalid, binary,
    truncated, 100,000 levels deep, 3 MiB, wrong shape) or reports a new
    failure every 10 ms: the good source keeps being served at the same
    version, the daemon stays responsive, and the log is not flooded."""
    model = {"services": [service("a", listeners=None)]}
    sources = (xdsd.file_source(model) +
               "source bad { plugin always_fail; required off; max_document_size 1m; }\n")
    xdsd.start(xdsd.conf(sources, main="load_plugin always_fail %s/always_fail.so;" % TEST_PLUGIN_DIR))
    v0 = xdsd.poll("clusters").version
    time.sleep(1.0 * SLOW)
    for _ in range(20):
        r = xdsd.poll("clusters")
        assert r.status == 200 and r.version == v0 and r.names() == ["a"]
    bad_lines = [l for l in xdsd.log().splitlines() if 'source "bad"' in l]
    assert 1 <= len(bad_lines) <= 6, bad_lines  # ~100 failures, a handful of lines
    assert "failing in a new way on every try" in bad_lines[-1]
    assert "snapshot 2" not in xdsd.log()  # nothing it sent was ever built
