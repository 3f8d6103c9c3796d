"""`xdsd -t`, `-V` and the conf language: good confs pass, bad ones fail
with exit 1 and "FILE:LINE: ..." naming the directive and the problem."""

import re
import textwrap

import pytest

from conftest import PLUGIN_DIR, REPO, run_xdsd


def line_of(text, needle):
    """1-based line number of the first line of text containing needle."""
    for i, ln in enumerate(text.splitlines(), 1):
        if needle in ln:
            return i
    raise ValueError(needle)


def check(path, prefix=REPO):
    return run_xdsd(["-p", prefix, "-t", "-c", path])


def good_conf(tmp_path, body_extra="", sources=None):
    model = tmp_path / "model.json"
    model.write_text('{"services": [], "listeners": []}')
    src = sources if sources is not None else "source catalog { plugin file; path %s; }" % model
    return textwrap.dedent("""\
        # a test conf
        pid %s/xdsd.pid;
        error_log stderr info;
        plugin_dir %s;
        strict on;
        envoy { xds_cluster xds_cluster; refresh_delay 1s; }
        discovery {
            listen 127.0.0.1:18050;
            workers auto;
            client_max_body_size 1m;
            keepalive_timeout 75s;
            shutdown_timeout 10s;
        }
        %s
        %s
        """) % (tmp_path, PLUGIN_DIR, src, body_extra)


def test_bundled_confs_pass():
    confs = sorted(REPO.glob("conf/*.conf")) + sorted(REPO.glob("conf/examples/*.conf"))
    assert REPO / "conf" / "xdsd.conf" in confs
    for c in confs:
        r = check(c.relative_to(REPO))  # relative: resolved against the -p prefix
        assert r.returncode == 0, "%s: %s" % (c, r.stderr)


def test_minimal_conf_passes(tmp_path):
    conf = tmp_path / "x.conf"
    conf.write_text(good_conf(tmp_path))
    r = check(conf)
    assert r.returncode == 0, r.stderr


def test_comments_quotes_and_units(tmp_path):
    model = tmp_path / "my model.json"
    model.write_text("{}")
    conf = tmp_path / "x.conf"
    conf.write_text(good_conf(tmp_path, sources=(
        "source 'catalog' {   # a comment after a block opener\n"
        "    plugin file;\n"
        "    path \"%s\";  # quoted path with a blank\n"
        "    poll_interval 250ms;\n"
        "    max_size 64k;\n"
        "}\n" % model)))
    r = check(conf)
    assert r.returncode == 0, r.stderr


def test_include_glob(tmp_path):
    d = tmp_path / "conf.d"
    d.mkdir()
    model = tmp_path / "m.json"
    model.write_text("{}")
    (d / "10-catalog.conf").write_text("source catalog { plugin file; path %s; }\n" % model)
    (d / "20-extra.conf").write_text("source extra { plugin file; path %s; }\n" % model)
    conf = tmp_path / "x.conf"
    conf.write_text(good_conf(tmp_path, sources="include %s/*.conf;\ninclude %s/nothing-*.conf;" % (d, d)))
    r = check(conf)
    assert r.returncode == 0, r.stderr


BAD = [
    # (id, text appended to a good conf, expected phrase; the error is on the
    # last line that contains the phrase)
    ("unknown_directive", "bogus_directive on;", "bogus_directive"),
    ("unknown_plugin", "source s2 {\n    plugin nosuch_plugin;\n}", "nosuch_plugin"),
    ("plugin_directive_unknown",
     "source s2 {\n    plugin file;\n    path /tmp/x.json;\n    colour red;\n}", "colour"),
    ("plugin_bad_duration",
     "source s2 {\n    plugin file;\n    path /tmp/x.json;\n    poll_interval fast;\n}", "fast"),
    ("plugin_bad_size",
     "source s2 {\n    plugin file;\n    path /tmp/x.json;\n    max_size lots;\n}", "lots"),
    ("duplicate_source", "source catalog {\n    plugin file;\n    path /tmp/x.json;\n}", "catalog"),
    ("source_without_block", "source s3;", "source"),
]


def last_line_of(text, needle):
    return max(i for i, ln in enumerate(text.splitlines(), 1) if needle in ln)


@pytest.mark.parametrize("name,extra,phrase", BAD, ids=[b[0] for b in BAD])
def test_bad_conf_names_file_line(tmp_path, name, extra, phrase):
    text = good_conf(tmp_path, body_extra=extra)
    conf = tmp_path / "x.conf"
    conf.write_text(text)
    want_line = last_line_of(text, phrase)
    r = check(conf)
    assert r.returncode == 1, "%s should fail -t:\n%s" % (name, text)
    assert "%s:%d:" % (conf, want_line) in r.stderr, \
        "want %s:%d: in the message, got:\n%s" % (conf, want_line, r.stderr)
    assert phrase in r.stderr, r.stderr


REPLACE = [
    # (id, directive in the good conf, its bad replacement, phrase in the message)
    ("bad_duration", "refresh_delay 1s;", "refresh_delay 5x;", "5x"),
    ("bad_listen", "listen 127.0.0.1:18050;", "listen 127.0.0.1:99999;", "99999"),
    ("bad_workers", "workers auto;", "workers lots;", "lots"),
    ("bad_body_size", "client_max_body_size 1m;", "client_max_body_size huge;", "huge"),
    ("bad_level", "error_log stderr info;", "error_log stderr loud;", "loud"),
    ("bad_strict", "strict on;", "strict maybe;", "maybe"),
    ("too_many_args", "strict on;", "strict on off;", "strict"),
    ("unknown_in_discovery", "keepalive_timeout 75s;", "keepalive_timeout 75s; frobnicate 1;",
     "frobnicate"),
    ("unknown_in_envoy", "xds_cluster xds_cluster;", "xds_cluster xds_cluster; colour blue;",
     "colour"),
    ("missing_semicolon", "workers auto;", "workers auto", None),
]


@pytest.mark.parametrize("name,old,new,phrase", REPLACE, ids=[r[0] for r in REPLACE])
def test_bad_value_names_file_line(tmp_path, name, old, new, phrase):
    good = good_conf(tmp_path)
    assert old in good
    text = good.replace(old, new)
    conf = tmp_path / "x.conf"
    conf.write_text(text)
    r = check(conf)
    assert r.returncode == 1, text
    m = re.search(re.escape(str(conf)) + r":(\d+):", r.stderr)
    assert m, "no %s:LINE: in %r" % (conf, r.stderr)
    if phrase is not None:  # a parser may notice a missing ';' a line later
        assert int(m.group(1)) == line_of(text, new.rstrip(";").split(";")[0]), r.stderr
        assert phrase in r.stderr, r.stderr


def test_unbalanced_brace(tmp_path):
    text = good_conf(tmp_path) + "discovery {\n"
    conf = tmp_path / "x.conf"
    conf.write_text(text)
    r = check(conf)
    assert r.returncode == 1
    assert re.search(re.escape(str(conf)) + r":\d+:", r.stderr), r.stderr


def test_missing_discovery_and_source(tmp_path):
    text = good_conf(tmp_path)
    conf = tmp_path / "x.conf"
    conf.write_text(re.sub(r"discovery \{.*?\}\n", "", text, flags=re.S))
    r = check(conf)
    assert r.returncode == 1 and str(conf) in r.stderr and "discovery" in r.stderr, r.stderr
    conf.write_text(good_conf(tmp_path, sources=""))
    r = check(conf)
    assert r.returncode == 1 and str(conf) in r.stderr and "source" in r.stderr, r.stderr


def test_file_source_needs_path(tmp_path):
    text = good_conf(tmp_path, sources="source catalog {\n    plugin file;\n}")
    conf = tmp_path / "x.conf"
    conf.write_text(text)
    r = check(conf)
    assert r.returncode == 1 and "path" in r.stderr, r.stderr
    assert "%s:%d:" % (conf, line_of(text, "source catalog")) in r.stderr, r.stderr


def test_error_in_included_file_names_that_file(tmp_path):
    inc = tmp_path / "extra.conf"
    inc.write_text("# included\n\nbogus_in_include 1;\n")
    conf = tmp_path / "x.conf"
    conf.write_text(good_conf(tmp_path, body_extra="include %s;" % inc))
    r = check(conf)
    assert r.returncode == 1
    assert "%s:3:" % inc in r.stderr and "bogus_in_include" in r.stderr, r.stderr


def test_missing_conf_file(tmp_path):
    r = check(tmp_path / "nope.conf")
    assert r.returncode == 1 and "nope.conf" in r.stderr, r.stderr


def test_version_flag():
    r = run_xdsd(["-V"])
    out = r.stdout + r.stderr
    assert r.returncode == 0, out
    assert re.search(r"xdsd\S*\s+(version\s+)?v?\d+\.\d+\.\d+", out), out
    assert "cc=" in out or "gcc" in out or "clang" in out, "build options missing: %r" % out


def test_unknown_option():
    r = run_xdsd(["-Z"])
    assert r.returncode != 0 and "usage" in (r.stdout + r.stderr).lower()
