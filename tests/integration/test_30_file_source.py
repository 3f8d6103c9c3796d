"""The file source: changes are served quickly (inotify, and the mtime poll
fallback), broken files never replace the last good document, and the error
log says where a file is broken."""

import json
import os
import re
import time

import pytest

from conftest import SLOW, basic_model, find_values, record_timing, replace_file, service, write_model

MAX_DELAY = 2.0  # seconds from a file change to the new version being served


def grown(model, name="added"):
    """model plus one more service (so the file's size changes too)."""
    m = json.loads(json.dumps(model))
    m["services"].append(service(name, 7100))
    return m


def start_file(xdsd, model, extra="", env=None, main=""):
    src = xdsd.file_source(model, extra=extra)
    xdsd.start(xdsd.conf(src, main=main), env=env)
    return xdsd.dir / "catalog.json"


def test_edit_served_with_inotify(xdsd):
    path = start_file(xdsd, basic_model(), extra="poll_interval 60s;")  # only inotify can see it
    v0 = xdsd.poll("clusters").version
    model = grown(basic_model())
    t0 = time.monotonic()
    write_model(path, model)
    r, _ = xdsd.wait_new_version("clusters", v0, timeout=MAX_DELAY * 2)
    elapsed = time.monotonic() - t0
    record_timing("file edit -> new version (inotify)", elapsed)
    assert "added" in r.names()
    assert elapsed < MAX_DELAY * SLOW, "took %.3fs" % elapsed


def test_edit_served_with_polling_fallback(xdsd):
    path = start_file(xdsd, basic_model(), extra="poll_interval 200ms;",
                      env={"XDSD_FILE_NO_INOTIFY": "1"})
    v0 = xdsd.poll("clusters").version
    times = []
    model = basic_model()
    for i in range(3):
        model = grown(model, "added%d" % i)
        t0 = time.monotonic()
        write_model(path, model)
        r, _ = xdsd.wait_new_version("clusters", v0, timeout=MAX_DELAY * 2)
        times.append(time.monotonic() - t0)
        v0 = r.version
        assert "added%d" % i in r.names()
    record_timing("file edit -> new version (XDSD_FILE_NO_INOTIFY, 200ms poll), worst of 3", max(times))
    assert max(times) < MAX_DELAY * SLOW, times
    assert re.search(r"XDSD_FILE_NO_INOTIFY|polling", xdsd.log()), "the fallback should be logged"


def test_same_size_same_second_edit_is_seen_by_polling(xdsd):
    """A rewrite that keeps the size must still be noticed (mtime in ns)."""
    model = basic_model()
    path = start_file(xdsd, model, extra="poll_interval 200ms;", env={"XDSD_FILE_NO_INOTIFY": "1"})
    v0 = xdsd.poll("clusters").version
    model["services"][0]["endpoints"][0]["port"] = 8086  # 8085 -> 8086: same length
    write_model(path, model)
    r, elapsed = xdsd.wait_new_version("clusters", v0, timeout=MAX_DELAY * 2)
    assert 8086 in find_values(r.json(), "port_value")


def test_rename_over_is_seen(xdsd):
    path = start_file(xdsd, basic_model(), extra="poll_interval 60s;")
    v0 = xdsd.poll("clusters").version
    t0 = time.monotonic()
    replace_file(path, grown(basic_model()))
    r, _ = xdsd.wait_new_version("clusters", v0, timeout=MAX_DELAY * 2)
    record_timing("rename over the file -> new version (inotify)", time.monotonic() - t0)
    assert "added" in r.names()
    # and the watch survives the rename: a second change is seen as well
    v1 = r.version
    replace_file(path, grown(grown(basic_model()), "again"))
    r, _ = xdsd.wait_new_version("clusters", v1, timeout=MAX_DELAY * 2)
    assert "again" in r.names()


def test_symlink_swap_like_a_configmap(xdsd):
    """Kubernetes mounts ConfigMaps as catalog.json -> ..data/catalog.json with
    ..data -> ..2024_v1, and swaps ..data atomically."""
    d = xdsd.dir / "cm"
    (d / "v1").mkdir(parents=True)
    (d / "v2").mkdir()
    write_model(d / "v1" / "catalog.json", basic_model())
    write_model(d / "v2" / "catalog.json", grown(basic_model()))
    os.symlink("v1", d / "..data")
    os.symlink("..data/catalog.json", d / "catalog.json")
    xdsd.start(xdsd.conf("source catalog { plugin file; path %s; poll_interval 60s; }" % (d / "catalog.json")))
    v0 = xdsd.poll("clusters").version
    os.symlink("v2", d / "..data_tmp")
    os.replace(d / "..data_tmp", d / "..data")
    r, elapsed = xdsd.wait_new_version("clusters", v0, timeout=MAX_DELAY * 2)
    record_timing("ConfigMap-style symlink swap -> new version", elapsed)
    assert "added" in r.names()


def test_burst_of_writes_ends_on_the_last(xdsd):
    path = start_file(xdsd, basic_model())
    model = basic_model()
    for i in range(10):
        model = grown(model, "burst%d" % i)
        write_model(path, model)
        time.sleep(0.005)

    def final():
        return "burst9" in xdsd.poll("clusters").names()
    deadline = time.monotonic() + 5 * SLOW
    while not final():
        assert time.monotonic() < deadline
        time.sleep(0.02)
    assert len(xdsd.poll("clusters").names()) == 13


def _find_position(log, path):
    """(line, column) of the first error naming path with a position, in
    either "PATH:L:C" or "PATH: line L, column C" form."""
    p = re.escape(str(path))
    m = re.search(p + r"(?::(\d+):(\d+)|:? (?:at )?line (\d+),? col(?:umn)? (\d+))", log)
    if not m:
        return None
    g = [x for x in m.groups() if x is not None]
    return int(g[0]), int(g[1])


def test_malformed_file_keeps_old_version_and_logs_position(xdsd):
    model = basic_model()
    path = start_file(xdsd, model)
    v0 = xdsd.versions(("clusters", "listeners"))
    text = json.dumps(grown(model), indent=2)
    lines = text.splitlines()
    bad_line = next(i for i, ln in enumerate(lines) if '"port": 9001' in ln)
    lines[bad_line] = lines[bad_line].replace('"port": 9001', '"port": 9001,', 1)  # ",," -> error
    expect_col = lines[bad_line].index(",,") + 2  # 1-based column of the second comma
    mark = xdsd.log_size()
    write_model(path, "\n".join(lines) + "\n")
    xdsd.wait_log(re.escape(str(path)), after=mark)
    time.sleep(0.3 * SLOW)  # give a (wrong) rebuild time to happen
    log = xdsd.log()[mark:]
    pos = _find_position(log, path)
    assert pos, "the error must name %s with line and column:\n%s" % (path, log)
    assert pos[0] == bad_line + 1, "line: got %d, want %d\n%s" % (pos[0], bad_line + 1, log)
    assert expect_col - 2 <= pos[1] <= expect_col + 2, "column: got %d, want ~%d\n%s" % (
        pos[1], expect_col, log)
    assert re.search(r"\[(error|crit|warn)\]", log), log
    # still serving the old version: a proxy that has it gets a 304
    for t, v in v0.items():
        assert xdsd.poll(t, version_info=v).status == 304, t
    # fixing the file serves the new content
    write_model(path, grown(model))
    r, _ = xdsd.wait_new_version("clusters", v0["clusters"])
    assert "added" in r.names()


def test_truncated_and_empty_file_keep_old_version(xdsd):
    model = basic_model()
    path = start_file(xdsd, model)
    v0 = xdsd.poll("clusters").version
    full = json.dumps(grown(model), indent=2)
    for content in (full[: len(full) // 2], "", "null", "[]"):
        mark = xdsd.log_size()
        write_model(path, content)
        xdsd.wait_log(r"\[(error|crit|warn)\]", after=mark)
        assert xdsd.poll("clusters", version_info=v0).status == 304, repr(content[:20])


def test_deleted_file_keeps_old_version(xdsd):
    path = start_file(xdsd, basic_model(), extra="poll_interval 200ms;")
    v0 = xdsd.poll("clusters").version
    mark = xdsd.log_size()
    path.unlink()
    xdsd.wait_log(re.escape(str(path)), after=mark)
    assert xdsd.poll("clusters", version_info=v0).status == 304
    write_model(path, grown(basic_model()))
    r, _ = xdsd.wait_new_version("clusters", v0)
    assert "added" in r.names()


def test_strict_refuses_unknown_collection(xdsd):
    path = start_file(xdsd, basic_model())
    v0 = xdsd.poll("clusters").version
    m = grown(basic_model())
    m["gateways"] = [{"name": "g"}]
    mark = xdsd.log_size()
    write_model(path, m)
    xdsd.wait_log(r"gateways", after=mark)
    assert xdsd.poll("clusters", version_info=v0).status == 304


def test_strict_off_ignores_unknown_collection_with_warning(xdsd):
    path = start_file(xdsd, basic_model(), main="strict off;")
    v0 = xdsd.poll("clusters").version
    m = grown(basic_model())
    m["gateways"] = [{"name": "g"}]
    mark = xdsd.log_size()
    write_model(path, m)
    r, _ = xdsd.wait_new_version("clusters", v0)
    assert "added" in r.names()
    assert re.search(r"\[warn\].*gateways", xdsd.log()[mark:]), xdsd.log()[mark:]


def test_max_size(xdsd):
    small = {"services": [service("one", listeners=None)]}
    path = start_file(xdsd, small, extra="max_size 2k;")
    v0 = xdsd.poll("clusters").version
    big = {"services": [service("s%03d" % i, listeners=None) for i in range(40)]}
    mark = xdsd.log_size()
    write_model(path, big)
    xdsd.wait_log(r"max_size", after=mark)
    assert xdsd.poll("clusters", version_info=v0).status == 304


def test_relative_path_resolves_against_prefix(xdsd):
    (xdsd.dir / "models").mkdir()
    write_model(xdsd.dir / "models" / "catalog.json", basic_model())
    xdsd.prefix = xdsd.dir
    xdsd.start(xdsd.conf("source catalog { plugin file; path models/catalog.json; }"))
    assert xdsd.poll("clusters").names() == ["catalog", "checkout", "greeter"]


@pytest.mark.parametrize("inotify", [True, False], ids=["inotify", "poll"])
def test_file_created_after_start(xdsd, inotify):
    path = xdsd.dir / "late.json"
    env = {} if inotify else {"XDSD_FILE_NO_INOTIFY": "1"}
    xdsd.start(xdsd.conf("source catalog { plugin file; path %s; poll_interval 200ms; }" % path),
               env=env, wait="listening")
    assert xdsd.poll("clusters").status == 503
    t0 = time.monotonic()
    replace_file(path, basic_model())
    xdsd.wait_snapshot(MAX_DELAY)
    record_timing("file created after start -> first snapshot (%s)" % ("inotify" if inotify else "poll"),
                  time.monotonic() - t0)
    assert xdsd.poll("clusters").status == 200
