"""The admin API, driven by real polls from several simulated proxies: one
current, one behind, one that stops polling and one that keeps sending an
old version (REST's only sign of a rejected update), plus the sources,
snapshot, validation, metrics endpoints and the HTML status page rendered in
headless Chromium."""

import http.client
import json
import os
import re
import shutil
import struct
import subprocess
import tempfile
import time
import zlib

import pytest

from conftest import SLOW, basic_model, discovery_request, envoy_node, free_port, run_xdsd, service, write_model


def admin_get(port, path, headers=None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5 * SLOW)
    try:
        conn.request("GET", path, headers=headers or {})
        r = conn.getresponse()
        body = r.read()
        return r.status, dict((k.lower(), v) for k, v in r.getheaders()), body
    finally:
        conn.close()


def admin_json(port, path, status=200, headers=None):
    code, hdrs, body = admin_get(port, path, headers)
    assert code == status, (path, code, body[:300])
    assert hdrs["content-type"].startswith("application/json"), hdrs
    return json.loads(body)


def start_with_admin(xdsd, model=None, admin_extra="", envoy="xds_cluster xds_cluster; refresh_delay 300ms;",
                     sources=None, wait="snapshot"):
    xdsd.admin_port = free_port()
    main = "admin { listen 127.0.0.1:%d; %s }" % (xdsd.admin_port, admin_extra)
    if sources is None:
        sources = xdsd.file_source(model or basic_model())
    xdsd.start(xdsd.conf(sources, main=main, envoy=envoy), wait=wait)
    return xdsd.admin_port


def poll_as(xdsd, node_id, type_path="clusters", version=None, names=None, cluster="edge", zone="eu-west-1a"):
    req = discovery_request(type_path, version_info=version, resource_names=names,
                            node=envoy_node(node_id, cluster=cluster, zone=zone))
    return xdsd.poll(type_path, req)


def test_fleet_states(xdsd):
    model = basic_model()
    port = start_with_admin(xdsd, model)

    # Everyone takes version 1 (and the EDS subset for one proxy).
    v1 = {}
    for n in ("current", "behind", "gone", "nacker"):
        r = poll_as(xdsd, n)
        assert r.status == 200
        v1[n] = r.version
        assert poll_as(xdsd, n, version=r.version).status == 304
    eds = poll_as(xdsd, "current", "endpoints", names=["checkout"])
    assert eds.status == 200
    assert poll_as(xdsd, "current", "endpoints", version=eds.version, names=["checkout"]).status == 304

    # "gone" stops polling: stale after 3x the poll interval (>= refresh_delay 300ms).
    time.sleep(1.2 * SLOW)

    # The model changes: version 2.
    model["services"][0]["connect_timeout"] = "3s"
    write_model(xdsd.dir / "catalog.json", model)
    r2, _ = xdsd.wait_new_version("clusters", v1["current"])
    v2 = r2.version

    # current: takes v2 and confirms it.
    assert poll_as(xdsd, "current", version=v1["current"]).version == v2
    assert poll_as(xdsd, "current", version=v2).status == 304
    assert poll_as(xdsd, "current", "endpoints", version=eds.version, names=["checkout"]).status == 304
    # behind: is sent v2 but has not polled since.
    assert poll_as(xdsd, "behind", version=v1["behind"]).version == v2
    # nacker: is sent v2 and keeps polling with v1.
    for _ in range(2):
        assert poll_as(xdsd, "nacker", version=v1["nacker"]).version == v2

    doc = admin_json(port, "/nodes")
    nodes = doc["nodes"]
    mine = {"current", "behind", "gone", "nacker"}
    assert mine <= set(nodes)  # (the harness's own polls are proxies too)
    assert doc["count"] == len(nodes)
    assert nodes["current"]["state"] == "current", nodes["current"]
    assert nodes["behind"]["state"] == "behind", nodes["behind"]
    assert nodes["gone"]["state"] == "stale", nodes["gone"]
    assert nodes["nacker"]["state"] == "suspected_nack", nodes["nacker"]
    for state in ("current", "behind", "stale", "suspected_nack"):
        assert doc["states"][state] == sum(1 for n in nodes.values() if n["state"] == state)

    cur = nodes["current"]
    assert cur["cluster"] == "edge" and cur["locality"]["zone"] == "eu-west-1a"
    assert cur["user_agent"] == "envoy" and re.match(r"^\d+\.\d+\.\d+$", cur["envoy_version"]), cur
    assert re.match(r"^127\.0\.0\.1:\d+$", cur["address"])
    c = cur["types"]["clusters"]
    assert c["version"] == v2 and c["current_version"] == v2 and c["state"] == "current"
    assert cur["types"]["endpoints"]["resource_names"] == 1
    assert cur["types"]["endpoints"]["version"] == eds.version
    b = nodes["behind"]["types"]["clusters"]
    assert b["version"] == v1["behind"] and b["current_version"] == v2 and b["last_sent_version"] == v2
    assert nodes["nacker"]["types"]["clusters"]["version"] == v1["nacker"]

    # Filters.
    assert "gone" in admin_json(port, "/nodes?state=stale")["nodes"]
    assert "nacker" in admin_json(port, "/nodes?state=suspected_nack")["nodes"]
    assert "current" not in admin_json(port, "/nodes?state=suspected_nack")["nodes"]
    assert mine <= set(admin_json(port, "/nodes?cluster=edge")["nodes"])
    assert admin_json(port, "/nodes?cluster=other")["nodes"] == {}
    assert admin_json(port, "/nodes?state=bogus", status=400)["error"]

    # The nacker recovers by accepting v2.
    assert poll_as(xdsd, "nacker", version=v2).status == 304
    assert admin_json(port, "/nodes")["nodes"]["nacker"]["state"] == "current"


def test_forget_nodes(xdsd):
    port = start_with_admin(xdsd, admin_extra="forget_nodes_after 1s;")
    poll_as(xdsd, "short-lived")
    assert "short-lived" in admin_json(port, "/nodes")["nodes"]
    deadline = time.monotonic() + 10 * SLOW
    while "short-lived" in admin_json(port, "/nodes")["nodes"]:
        assert time.monotonic() < deadline, "node never forgotten"
        time.sleep(0.2)


def test_healthz_and_ready(xdsd):
    later = xdsd.dir / "later.json"
    sources = "source late { plugin file; path %s; poll_interval 100ms; }\n" % later
    port = start_with_admin(xdsd, sources=sources, wait="listening")
    assert admin_json(port, "/healthz")["status"] == "alive"
    r = admin_json(port, "/ready", status=503)
    assert r["ready"] is False and 'source "late"' in r["reason"], r
    write_model(later, basic_model())
    xdsd.wait_snapshot(5)
    assert admin_json(port, "/ready") == {"ready": True}


def test_sources_and_validation(xdsd):
    model = basic_model()
    port = start_with_admin(xdsd, model)
    src = admin_json(port, "/sources")["sources"]
    assert [s["name"] for s in src] == ["catalog"]
    s = src[0]
    assert s["plugin"] == "file" and s["state"] == "ok" and s["consecutive_failures"] == 0
    assert s["last_success"] and s["data_age_s"] >= 0 and s["last_error"] is None
    assert admin_json(port, "/validation") == {
        "builds": 1, "refusals": 0, "last_refusal": None,
        # no match rules: every proxy gets the same, no groups are built
        "node_groups": {"keys": "", "built": 0, "refused": 0, "refusals": []}}

    # A model the generators refuse: the build is refused and shown.
    v0 = xdsd.poll("clusters").version
    bad = json.loads(json.dumps(model))
    bad["services"][0]["endpoints"][0]["prot"] = 1
    write_model(xdsd.dir / "catalog.json", bad)
    xdsd.wait_log(r"build refused")
    val = admin_json(port, "/validation")
    assert val["refusals"] == 1 and 'unknown field "prot"' in val["last_refusal"]["error"], val
    assert xdsd.poll("clusters").version == v0

    # Malformed JSON: the source fails (and keeps its last good document).
    (xdsd.dir / "catalog.json").write_text('{"services": [')
    deadline = time.monotonic() + 5 * SLOW
    while admin_json(port, "/sources")["sources"][0]["state"] != "failing":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    s = admin_json(port, "/sources")["sources"][0]
    assert s["consecutive_failures"] >= 1 and "catalog.json" in s["last_error"], s
    assert s["has_data"] is True

    # Fixed: a good build clears the refusal.
    write_model(xdsd.dir / "catalog.json", model)
    deadline = time.monotonic() + 5 * SLOW
    while admin_json(port, "/validation")["last_refusal"] is not None:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert admin_json(port, "/sources")["sources"][0]["state"] == "ok"


def test_snapshot_is_what_is_served(xdsd):
    port = start_with_admin(xdsd)
    snap = admin_json(port, "/snapshot")
    assert snap["generation"] == 1
    for t in ("clusters", "listeners", "routes", "endpoints"):
        served = xdsd.poll(t).json()
        assert snap["types"][t]["version"] == served["version_info"]
        assert snap["types"][t]["response"] == served
    one = admin_json(port, "/snapshot/clusters?node_cluster=edge")
    # no match rules: one group, {} (its context has no keys), for every proxy
    assert list(one["types"]) == ["clusters"] and one["node_group"] == {}
    assert one["types"]["clusters"]["response"] == xdsd.poll("clusters").json()
    assert admin_json(port, "/snapshot/bogus", status=404)["error"]


def parse_metrics(text):
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = re.match(r'^([a-z_]+)(\{[^}]*\})? ([0-9.e+-]+)$', line)
        assert m, "bad exposition line: %r" % line
        out[m.group(1) + (m.group(2) or "")] = float(m.group(3))
    return out


def test_metrics(xdsd):
    port = start_with_admin(xdsd)
    code, hdrs, body = admin_get(port, "/metrics")
    before = parse_metrics(body.decode())
    r = poll_as(xdsd, "m1")
    poll_as(xdsd, "m1", version=r.version)
    poll_as(xdsd, "m1", version=r.version)
    xdsd.request("POST", "/v3/discovery:nope", b"{}")
    code, hdrs, body = admin_get(port, "/metrics")
    assert code == 200 and hdrs["content-type"].startswith("text/plain; version=0.0.4")
    m = parse_metrics(body.decode())

    def delta(k):
        return m.get(k, 0) - before.get(k, 0)
    assert delta('xdsd_discovery_requests_total{type="clusters",code="200"}') == 1
    assert delta('xdsd_discovery_requests_total{type="clusters",code="304"}') == 2
    assert delta('xdsd_discovery_requests_total{type="unknown",code="4xx"}') == 1
    assert m['xdsd_discovery_request_duration_seconds_bucket{le="+Inf"}'] == m["xdsd_discovery_request_duration_seconds_count"]
    assert delta("xdsd_discovery_request_duration_seconds_count") >= 4
    assert m["xdsd_snapshot_builds_total"] == 1 and m["xdsd_snapshot_refusals_total"] == 0
    assert m['xdsd_source_up{source="catalog"}'] == 1
    assert m['xdsd_source_refreshes_total{source="catalog"}'] >= 1
    assert m['xdsd_nodes{state="current"}'] >= 1
    assert m['xdsd_resources{type="clusters"}'] == len(xdsd.poll("clusters").resources)
    assert m['xdsd_version_info{type="clusters",version="%s"}' % r.version] == 1


def test_access_control(xdsd, tmp_path):
    # A non-loopback listener without allow or token is refused.
    conf = xdsd.write_conf(xdsd.conf(xdsd.file_source(basic_model()), main="admin { listen 0.0.0.0:%d; }" % free_port()))
    r = run_xdsd(["-t", "-c", conf])
    assert r.returncode == 1 and "is not a loopback address" in r.stderr, r.stderr

    token = tmp_path / "token"
    token.write_text("s3cret-token\n")
    port = start_with_admin(xdsd, admin_extra="token_file %s;" % token)
    assert admin_get(port, "/nodes")[0] == 401
    assert admin_get(port, "/nodes", {"Authorization": "Bearer wrong"})[0] == 401
    assert admin_get(port, "/nodes", {"Authorization": "Bearer s3cret-token"})[0] == 200
    assert admin_get(port, "/healthz")[0] == 200  # probes need no token
    assert "s3cret" not in xdsd.log()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    conn.request("POST", "/nodes", body=b"x")
    assert conn.getresponse().status == 405
    conn.close()


def test_allow_list(xdsd):
    port = start_with_admin(xdsd, admin_extra="allow 10.0.0.0/8;")
    code, _, body = admin_get(port, "/nodes")
    assert code == 403 and b"allow" in body
    xdsd.wait_log(r"admin: refused 127\.0\.0\.1:\d+: not in allow")


def png_pixels(path):
    """(width, height, raw scanline bytes) of a PNG, with the stdlib only."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, w, h = 8, b"", 0, 0
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        chunk = data[pos + 8:pos + 8 + n]
        if kind == b"IHDR":
            w, h = struct.unpack(">II", chunk[:8])
        elif kind == b"IDAT":
            idat += chunk
        pos += 12 + n
    return w, h, zlib.decompress(idat)


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--hide-scrollbars"]


@pytest.mark.skipif(CHROMIUM is None, reason="chromium not installed (tools/install-deps --tests)")
def test_status_page_renders_in_chromium(xdsd, tmp_path):
    port = start_with_admin(xdsd)
    for n in ("edge-proxy-1", "edge-proxy-2"):
        poll_as(xdsd, n)
    code, hdrs, body = admin_get(port, "/")
    assert code == 200 and hdrs["content-type"].startswith("text/html")
    url = "http://127.0.0.1:%d/" % port
    profile = tempfile.mkdtemp(dir=tmp_path)
    dom = subprocess.run([CHROMIUM] + CHROMIUM_FLAGS + ["--user-data-dir=" + profile, "--dump-dom", url],
                         capture_output=True, text=True, timeout=60)
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert "edge-proxy-1" in dom.stdout and "edge-proxy-2" in dom.stdout, dom.stdout[:2000]
    assert 'id="nodes"' in dom.stdout and 'id="sources"' in dom.stdout
    shot = tmp_path / "status.png"
    profile = tempfile.mkdtemp(dir=tmp_path)
    r = subprocess.run([CHROMIUM] + CHROMIUM_FLAGS + ["--user-data-dir=" + profile,
                        "--window-size=1000,700", "--screenshot=%s" % shot, url],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and shot.exists(), r.stderr[-2000:]
    w, h, raw = png_pixels(shot)
    assert (w, h) == (1000, 700)
    # Rendered, not blank: the tables' coloured cells and text give many distinct bytes.
    assert len(set(raw[::7])) > 20, "screenshot looks blank"
    if os.environ.get("XDS_KEEP_SCREENSHOT"):
        shutil.copy(shot, os.environ["XDS_KEEP_SCREENSHOT"])


def test_nodes_is_valid_json_whatever_proxies_send(xdsd):
    """Node ids with NULs, ill-formed UTF-8 that yajl lets through, and a long
    version cut in the middle of a character (found by fuzzing): /nodes stays
    strict UTF-8 JSON with one entry per distinct id."""
    port = start_with_admin(xdsd)
    bodies = [b'{"node":{"id":"a\\u0000x"}}', b'{"node":{"id":"a\\u0000y"}}', b'{"node":{"id":"a\\\\x00x"}}',
              b'{"node":{"id":"\xc0\xaf-overlong"}}',
              b'{"node":{"id":"n1"},"version_info":"' + b"a" * 127 + "é".encode() + b'"}']
    for b in bodies:
        r = xdsd.poll("clusters", b, validate=False)
        assert r.status in (200, 400), r
    code, hdrs, raw = admin_get(port, "/nodes")
    assert code == 200
    doc = json.loads(raw.decode("utf-8", errors="strict"))
    ids = set(doc["nodes"])
    assert {"a\\x00x", "a\\x00y", "a\\\\x00x"} <= ids, ids
    held = doc["nodes"]["n1"]["types"]["clusters"]["version"]
    assert held == "a" * 127, held  # cut before the split character
    # backslashes are doubled for display: the whole version must survive
    # that (it lost its last byte, mid-character, until the fuzzer saw it)
    r = xdsd.poll("clusters", b'{"node":{"id":"n2"},"version_info":"a\\\\b\\\\c' + "é".encode() + b'"}',
                  validate=False)
    assert r.status == 200, r
    code, hdrs, raw = admin_get(port, "/nodes")
    doc = json.loads(raw.decode("utf-8", errors="strict"))
    assert doc["nodes"]["n2"]["types"]["clusters"]["version"] == "a\\\\b\\\\cé"
