"""Source plugins: broken plugins are refused with a reason, and several
sources (file + the test-only static_doc) merge, later-declared winning."""

import json
import re
import signal

import pytest

from conftest import (PLUGIN_DIR, REPO, TEST_PLUGIN_DIR, basic_model, find_values, run_xdsd,
                      service)

BAD_PLUGINS = [
    ("bad_magic", r"bad magic"),
    ("bad_abi", r"ABI major"),
    ("bad_minor", r"ABI minor"),
    ("bad_size", r"struct size"),
    ("no_entry", r"xdsd_plugin_entry|not a xdsd plugin"),
]


def doc_source(name, doc):
    """A static_doc source block publishing doc (a dict)."""
    text = json.dumps(doc)
    assert "'" not in text and "\\" not in text
    return "source %s { plugin static_doc; document '%s'; }\n" % (name, text)


def load_static_doc():
    return "load_plugin static_doc %s/static_doc.so;" % TEST_PLUGIN_DIR


def bad_plugin_conf(xdsd, name, with_source=True):
    src = xdsd.file_source(basic_model())
    if with_source:
        src += "source broken { plugin %s; }\n" % name
    return xdsd.conf(src, main="load_plugin %s %s/%s.so;" % (name, TEST_PLUGIN_DIR, name))


@pytest.mark.parametrize("name,reason", BAD_PLUGINS, ids=[b[0] for b in BAD_PLUGINS])
def test_bad_plugin_refused_at_startup(xdsd, name, reason):
    conf = xdsd.write_conf(bad_plugin_conf(xdsd, name))
    r = run_xdsd(["-p", REPO, "-c", conf])
    assert r.returncode == 1, "xdsd must refuse to start with %s: rc=%s\n%s" % (name, r.returncode, r.stderr)
    assert name in r.stderr and re.search(reason, r.stderr), r.stderr
    # the line of the load_plugin directive is named
    assert re.search(re.escape(str(conf)) + r":\d+:", r.stderr), r.stderr
    r = run_xdsd(["-p", REPO, "-t", "-c", conf])
    assert r.returncode == 1 and re.search(reason, r.stderr), r.stderr


@pytest.mark.parametrize("name,reason", BAD_PLUGINS[:2], ids=[b[0] for b in BAD_PLUGINS[:2]])
def test_bad_plugin_refused_even_when_unused(xdsd, name, reason):
    conf = xdsd.write_conf(bad_plugin_conf(xdsd, name, with_source=False))
    r = run_xdsd(["-p", REPO, "-t", "-c", conf])
    assert r.returncode == 1 and re.search(reason, r.stderr), r.stderr


def test_fail_create_refused_with_its_reason(xdsd):
    src = xdsd.file_source(basic_model()) + "source doomed { plugin fail_create; }\n"
    conf = xdsd.write_conf(xdsd.conf(src, main="load_plugin fail_create %s/fail_create.so;" % TEST_PLUGIN_DIR))
    for args in (["-c", conf], ["-t", "-c", conf]):
        r = run_xdsd(["-p", REPO] + args)
        assert r.returncode == 1, r.stderr
        assert "failed to create" in r.stderr and "doomed" in r.stderr, r.stderr
        assert "deliberate failure for tests" in r.stderr, r.stderr


def test_missing_plugin_file(xdsd):
    conf = xdsd.write_conf(xdsd.conf(xdsd.file_source(basic_model()),
                                     main="load_plugin ghost %s/ghost.so;" % TEST_PLUGIN_DIR))
    r = run_xdsd(["-p", REPO, "-c", conf])
    assert r.returncode == 1 and "ghost" in r.stderr, r.stderr


def test_bad_plugin_on_sighup_keeps_old_generation(xdsd):
    good = xdsd.conf(xdsd.file_source(basic_model()))
    xdsd.start(good)
    v = xdsd.versions(("clusters", "listeners"))
    for name in ("bad_magic", "fail_create"):
        mark = xdsd.log_size()
        xdsd.write_conf(bad_plugin_conf(xdsd, name))
        xdsd.send_signal(signal.SIGHUP)
        xdsd.wait_log(r"\[(error|crit)\].*%s" % name, after=mark)
        assert xdsd.alive()
        assert xdsd.versions(("clusters", "listeners")) == v


def test_plugin_implied_from_plugin_dir(xdsd):
    """`plugin static_doc;` without load_plugin loads plugin_dir/static_doc.so."""
    doc = {"services": [service("only", listeners=None)]}
    conf = xdsd.conf(doc_source("inline", doc)).replace(
        "plugin_dir %s;" % PLUGIN_DIR, "plugin_dir %s;" % TEST_PLUGIN_DIR)
    xdsd.start(conf)
    assert xdsd.poll("clusters").names() == ["only"]


def test_sources_merge(xdsd):
    extra = {"services": [service("inventory", 7300)],
             "listeners": [{"name": "internal", "address": "127.0.0.1", "port": 10001}]}
    xdsd.start(xdsd.conf(xdsd.file_source(basic_model()) + doc_source("extra", extra),
                         main=load_static_doc()))
    assert xdsd.poll("clusters").names() == ["catalog", "checkout", "greeter", "inventory"]
    assert xdsd.poll("listeners").names() == ["ingress", "internal"]


@pytest.mark.parametrize("file_first", [True, False], ids=["file-then-doc", "doc-then-file"])
def test_later_declared_source_wins_name_clash(xdsd, file_first):
    model = basic_model()  # greeter on 8085 in the file
    doc = {"services": [service("greeter", 9999, listeners=["ingress"])]}
    file_src = xdsd.file_source(model)
    doc_src = doc_source("override", doc)
    sources = file_src + doc_src if file_first else doc_src + file_src
    xdsd.start(xdsd.conf(sources, main=load_static_doc()))
    clusters = xdsd.poll("clusters")
    assert clusters.names() == ["catalog", "checkout", "greeter"]
    ports = set(find_values(clusters.by_name()["greeter"], "port_value"))
    assert ports == ({9999} if file_first else {8085}), ports
    log = xdsd.log()
    clash = [ln for ln in log.splitlines() if "greeter" in ln and "override" in ln and "catalog" in ln]
    assert clash, "the clash must be logged naming both sources:\n" + log


def test_refused_static_doc_is_logged_with_source(xdsd):
    bad = "source bad { plugin static_doc; document '{\"services\": [}'; }\n"
    xdsd.start(xdsd.conf(xdsd.file_source(basic_model()) + bad, main=load_static_doc()),
               wait="listening")
    xdsd.wait_log(r"\[error\].*\bbad\b")
    assert xdsd.alive()
    assert xdsd.poll("clusters").status in (200, 503)


def test_same_model_split_over_sources_gives_same_versions(xdsd_factory):
    """Where the data comes from does not change what is served."""
    whole = basic_model()
    a = xdsd_factory("one")
    a.start(a.conf(a.file_source(whole)))
    b = xdsd_factory("split")
    part1 = {"services": whole["services"][:2], "listeners": whole["listeners"]}
    part2 = {"services": whole["services"][2:]}
    b.start(b.conf(b.file_source(part1) + doc_source("rest", part2), main=load_static_doc()))
    assert a.versions() == b.versions()


def test_fail_start_refused_with_its_reason(xdsd):
    src = xdsd.file_source(basic_model()) + "source doomed { plugin fail_start; }\n"
    conf = xdsd.write_conf(xdsd.conf(src, main="load_plugin fail_start %s/fail_start.so;" % TEST_PLUGIN_DIR))
    assert run_xdsd(["-T", "-c", conf]).returncode == 0  # create() is fine: the conf is valid
    r = run_xdsd(["-c", conf, "-p", xdsd.dir], timeout=20)
    assert r.returncode == 1, r
    assert re.search(r'source "doomed": plugin "fail_start" failed to start: deliberate start failure',
                     r.stderr), r.stderr


def test_fail_start_on_reload_keeps_serving(xdsd):
    xdsd.start(xdsd.conf(xdsd.file_source(basic_model())))
    v = xdsd.poll("clusters").version
    src = xdsd.file_source(basic_model()) + "source doomed { plugin fail_start; }\n"
    xdsd.write_conf(xdsd.conf(src, main="load_plugin fail_start %s/fail_start.so;" % TEST_PLUGIN_DIR))
    xdsd.send_signal(signal.SIGHUP)
    xdsd.wait_log(r"deliberate start failure")
    r = xdsd.poll("clusters")
    assert r.status == 200 and r.version == v
