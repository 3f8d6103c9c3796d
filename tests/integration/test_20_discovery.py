"""The REST discovery contract (DESIGN.md): 200/304, per-resource
subscriptions, error statuses, content-hash versions.  Every 200 body is
checked against Envoy's schema by Xdsd.poll."""

import http.client
import json
import socket
import time

import pytest

from conftest import (DISCOVERY_PATHS, TYPE_URLS, VERSION_RE, basic_model, discovery_request,
                      find_values, service, write_model)


@pytest.fixture
def basic(xdsd):
    """xdsd serving basic_model() from a file source."""
    xdsd.start(xdsd.conf(xdsd.file_source(basic_model())))
    return xdsd


def test_first_poll_every_type_is_200(basic):
    for t in DISCOVERY_PATHS:
        r = basic.poll(t)
        assert r.status == 200, r
        assert r.headers.get("content-type", "").startswith("application/json"), r.headers
        doc = r.json()
        assert doc["type_url"] == TYPE_URLS[t]
        assert VERSION_RE.match(doc["version_info"]), doc["version_info"]
        assert isinstance(doc.get("resources", []), list)


def test_generated_resources(basic):
    clusters = basic.poll("clusters")
    assert clusters.names() == ["catalog", "checkout", "greeter"]
    by = clusters.by_name()
    assert by["greeter"]["type"] == "STATIC"
    ports = find_values(by["greeter"]["load_assignment"], "port_value")
    assert sorted(ports) == [8085, 8085], by["greeter"]
    assert by["catalog"]["type"] == "EDS"
    api = find_values(by["catalog"], "api_config_source")[0]
    assert api["api_type"] == "REST" and api["cluster_names"] == ["xds_cluster"], api
    assert api.get("transport_api_version") == "V3", api
    assert "load_assignment" not in by["catalog"]

    listeners = basic.poll("listeners")
    assert listeners.names() == ["ingress"]
    lis = listeners.resources[0]
    assert lis["address"]["socket_address"]["port_value"] == 10000
    assert find_values(lis, "route_config_name") == ["ingress"], "HCM must fetch routes by RDS"
    filters = [f.get("name") for f in find_values(lis, "http_filters")[0]]
    assert filters[-1] == "envoy.filters.http.router", filters

    routes = basic.poll("routes", resource_names=["ingress"])
    assert routes.names() == ["ingress"]
    # one virtual host per service, found by its domains
    vhosts = {tuple(v["domains"]): v for v in routes.resources[0]["virtual_hosts"]}
    assert set(vhosts) == {("greeter.example.com",), ("catalog.example.com",),
                           ("checkout.example.com",)}, vhosts.keys()
    cat = vhosts[("catalog.example.com",)]["routes"]
    assert cat[0]["match"].get("prefix") == "/api/" and cat[0]["route"]["prefix_rewrite"] == "/"
    assert cat[0]["route"]["cluster"] == "catalog" and cat[0]["route"]["timeout"] == "2s"
    chk = vhosts[("checkout.example.com",)]["routes"]
    assert chk[0]["match"].get("path") == "/checkout" and chk[0]["route"]["timeout"] == "10s"
    assert find_values(chk[1]["match"], "regex") == ["^/orders/[0-9]+$"], chk[1]

    eds = basic.poll("endpoints", resource_names=["catalog", "checkout"])
    assert eds.names() == ["catalog", "checkout"]
    la = eds.by_name()["catalog"]
    assert sorted(find_values(la, "port_value")) == [9001, 9001]
    zones = sorted(find_values(la, "zone"))
    assert zones == ["eu-west-1a", "eu-west-1b"], la


def test_same_version_is_304_and_empty(basic):
    for t in ("clusters", "listeners"):
        v = basic.poll(t).version
        r = basic.poll(t, version_info=v)
        assert r.status == 304, r
        assert r.body == b""
        # an older or foreign version gets the full answer again
        r = basic.poll(t, version_info="0" * 32)
        assert r.status == 200 and r.version == v
    for t, names in (("endpoints", ["catalog"]), ("routes", ["ingress"])):
        v = basic.poll(t, resource_names=names).version
        assert basic.poll(t, resource_names=names, version_info=v).status == 304


def test_versions_are_content_hashes(basic):
    vs = basic.versions()
    for t, v in vs.items():
        assert VERSION_RE.match(v), (t, v)
    assert basic.versions() == vs, "polling again changes nothing"


def test_resources_sorted_by_name(xdsd):
    names = ["zeta", "alpha", "mid", "Beta", "alpha-2"]
    model = {"services": [service(n, listeners=None) for n in names]}
    xdsd.start(xdsd.conf(xdsd.file_source(model)))
    got = xdsd.poll("clusters").names()
    assert got == sorted(names), got


def test_eds_resource_names_filtering(basic):
    r = basic.poll("endpoints", resource_names=["checkout"])
    assert r.names() == ["checkout"]
    r = basic.poll("endpoints", resource_names=["checkout", "catalog", "nosuch"])
    assert r.names() == ["catalog", "checkout"], "exactly the named resources that exist"
    r = basic.poll("endpoints", resource_names=["nosuch"])
    assert r.status == 200 and r.resources == [], r
    # greeter is a static cluster: it has no ClusterLoadAssignment to serve
    r = basic.poll("endpoints", resource_names=["greeter"])
    assert r.status == 200 and r.names() in ([], ["greeter"]), r


def test_rds_resource_names_filtering(xdsd):
    model = basic_model()
    model["listeners"].append({"name": "internal", "address": "127.0.0.1", "port": 10001})
    model["services"].append(service("admin", 7000, listeners=["internal"]))
    xdsd.start(xdsd.conf(xdsd.file_source(model)))
    assert xdsd.poll("listeners").names() == ["ingress", "internal"]
    r = xdsd.poll("routes", resource_names=["internal"])
    assert r.names() == ["internal"]
    vhosts = [v["domains"] for v in r.resources[0]["virtual_hosts"]]
    assert vhosts == [["admin.example.com"]], vhosts
    r = xdsd.poll("routes", resource_names=["ingress", "internal", "other"])
    assert r.names() == ["ingress", "internal"]
    v_both = r.version
    v_one = xdsd.poll("routes", resource_names=["internal"]).version
    assert v_one != v_both, "a subset has the version of its own content"


def test_wildcard_with_resource_names_for_cds(basic):
    r = basic.poll("clusters", resource_names=["greeter"])
    assert r.names() == ["greeter"]


def test_empty_types_are_200_with_no_resources(basic):
    for t in ("secrets", "runtime", "scoped-routes", "extension_configs"):
        r = basic.poll(t)
        assert r.status == 200, r
        assert r.resources == []
        v = r.version
        assert VERSION_RE.match(v)
        assert basic.poll(t, version_info=v).status == 304


def test_raw_resources_pass_through(xdsd):
    model = basic_model()
    model["resources"] = {
        "clusters": [{"name": "legacy", "type": "STATIC", "connect_timeout": "0.25s",
                      "load_assignment": {"cluster_name": "legacy", "endpoints": [{"lb_endpoints": [
                          {"endpoint": {"address": {"socket_address": {
                              "address": "10.1.0.1", "port_value": 8443}}}}]}]}}],
        "runtime": [{"name": "rtds", "layer": {"health_check.min_interval": 5000}}],
        "secrets": [{"name": "ca", "validation_context": {"trusted_ca": {"filename": "/etc/ssl/ca.pem"}}}],
    }
    xdsd.start(xdsd.conf(xdsd.file_source(model)))
    assert xdsd.poll("clusters").names() == ["catalog", "checkout", "greeter", "legacy"]
    assert xdsd.poll("runtime").names() == ["rtds"]
    assert xdsd.poll("secrets", resource_names=["ca"]).names() == ["ca"]


def test_unknown_request_fields_are_ignored(basic):
    body = discovery_request("clusters", response_nonce="7", error_detail={"code": 3, "message": "x"},
                             some_future_field={"a": [1, 2]})
    r = basic.poll("clusters", body)
    assert r.status == 200, r


def test_400_malformed_json(basic):
    for body in (b"{not json", b'{"node": {"id": "x"}', b"[1,2]", b'{"version_info": 5}',
                 b'{"resource_names": "catalog"}'):
        r = basic.poll("clusters", body)
        assert r.status == 400, (body, r)
        text = r.body.decode()
        assert text.strip() and "\n" not in text.strip(), "one-line reason: %r" % text


def test_400_type_url_mismatch(basic):
    r = basic.poll("clusters", discovery_request("clusters", type_url=TYPE_URLS["listeners"]))
    assert r.status == 400, r
    assert b"type_url" in r.body, r


def test_404_unknown_path(basic):
    r = basic.poll("bogus", discovery_request("clusters"))
    assert r.status == 404, r
    for path in ("/", "/v3/discovery", "/v2/discovery:clusters", "/v3/discovery:clusters/x"):
        r = basic.request("POST", path, json.dumps(discovery_request("clusters")).encode())
        assert r.status == 404, (path, r)


def test_405_other_methods(basic):
    for method in ("GET", "PUT", "DELETE"):
        body = json.dumps(discovery_request("clusters")).encode() if method == "PUT" else None
        r = basic.request(method, "/v3/discovery:clusters", body)
        assert r.status == 405, (method, r)


def test_413_body_over_limit(xdsd):
    xdsd.start(xdsd.conf(xdsd.file_source(basic_model()), discovery="client_max_body_size 4k;"))
    small = discovery_request("clusters", node={"id": "n", "cluster": "edge"})
    assert xdsd.poll("clusters", small).status == 200
    big = discovery_request("clusters", node={"id": "n", "cluster": "edge",
                                              "metadata": {"pad": "x" * 8192}})
    r = xdsd.poll("clusters", big)
    assert r.status == 413, r


def test_503_before_first_snapshot(xdsd):
    model_path = xdsd.dir / "later.json"
    xdsd.start(xdsd.conf("source catalog { plugin file; path %s; poll_interval 200ms; }" % model_path),
               wait="listening")
    r = xdsd.poll("clusters")
    assert r.status == 503, r
    write_model(model_path, basic_model())
    xdsd.wait_snapshot(5)
    assert xdsd.poll("clusters").status == 200


def test_keepalive_several_polls_one_connection(basic):
    conn = http.client.HTTPConnection("127.0.0.1", basic.port, timeout=5)
    try:
        version = None
        for i in range(5):
            req = discovery_request("clusters", version_info=version)
            conn.request("POST", "/v3/discovery:clusters", json.dumps(req),
                         {"Content-Type": "application/json", "Host": "xds_cluster"})
            r = conn.getresponse()
            body = r.read()
            if i == 0:
                assert r.status == 200
                version = json.loads(body)["version_info"]
            else:
                assert r.status == 304 and body == b""
    finally:
        conn.close()


def test_chunked_request_body(basic):
    body = json.dumps(discovery_request("clusters")).encode()
    s = socket.create_connection(("127.0.0.1", basic.port), timeout=5)
    try:
        mid = len(body) // 2
        chunks = b"%x\r\n%s\r\n%x\r\n%s\r\n0\r\n\r\n" % (mid, body[:mid], len(body) - mid, body[mid:])
        s.sendall(b"POST /v3/discovery:clusters HTTP/1.1\r\nHost: xds_cluster\r\n"
                  b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n" + chunks)
        data = b""
        while b"\r\n\r\n" not in data:
            data += s.recv(65536)
        assert data.startswith(b"HTTP/1.1 200"), data[:200]
    finally:
        s.close()


def test_many_clients_at_once(basic):
    """Polls from several threads (workers 2) all get the same answer."""
    import threading
    want = basic.poll("listeners").version
    got, errs = [], []

    def client():
        try:
            for _ in range(20):
                r = basic.poll("listeners", validate=False)
                got.append((r.status, r.version if r.status == 200 else None))
        except Exception as e:  # noqa: BLE001
            errs.append(e)
    threads = [threading.Thread(target=client) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errs, errs
    assert len(got) == 160 and set(got) == {(200, want)}


def test_two_processes_same_data_same_versions(xdsd_factory):
    a, b = xdsd_factory("a"), xdsd_factory("b")
    for x in (a, b):
        x.start(x.conf(x.file_source(basic_model())))
    va, vb = a.versions(), b.versions()
    assert va == vb, "replicas must agree: %s vs %s" % (va, vb)
    for names in (["catalog"], ["catalog", "checkout"]):
        assert a.poll("endpoints", resource_names=names).version == \
            b.poll("endpoints", resource_names=names).version
    # a restart serves the same versions too
    a.stop()
    a2 = xdsd_factory("a2")
    a2.start(a2.conf(a2.file_source(basic_model())))
    assert a2.versions() == va


def test_unchanged_subset_keeps_its_version(xdsd):
    model = basic_model()
    src = xdsd.file_source(model)
    xdsd.start(xdsd.conf(src, main="", discovery=""))
    path = xdsd.dir / "catalog.json"
    before = xdsd.versions()
    eds_catalog = xdsd.poll("endpoints", resource_names=["catalog"]).version
    eds_checkout = xdsd.poll("endpoints", resource_names=["checkout"]).version
    rds = xdsd.poll("routes", resource_names=["ingress"]).version

    # change only checkout's endpoints (an EDS service): clusters, listeners,
    # routes and catalog's endpoints stay as they were
    model["services"][2]["endpoints"][0]["port"] = 9199
    write_model(path, model)
    deadline = time.monotonic() + 10
    while xdsd.poll("endpoints", resource_names=["checkout"]).version == eds_checkout:
        assert time.monotonic() < deadline, "the change was never served"
        time.sleep(0.05)
    after = xdsd.versions()
    assert after["clusters"] == before["clusters"]
    assert after["listeners"] == before["listeners"]
    assert after["endpoints"] != before["endpoints"]
    assert xdsd.poll("endpoints", resource_names=["catalog"]).version == eds_catalog
    assert xdsd.poll("routes", resource_names=["ingress"]).version == rds
    # and a proxy holding catalog's endpoints gets a 304
    assert xdsd.poll("endpoints", resource_names=["catalog"], version_info=eds_catalog).status == 304


def test_model_error_keeps_serving_previous_snapshot(xdsd):
    model = basic_model()
    xdsd.start(xdsd.conf(xdsd.file_source(model, extra="poll_interval 200ms;")))
    v = xdsd.versions(("clusters", "listeners"))
    mark = xdsd.log_size()
    bad = basic_model()
    bad["services"][0]["endpoints"][0]["port"] = 70000
    write_model(xdsd.dir / "catalog.json", bad)
    xdsd.wait_log(r"\[error\].*port", after=mark)
    assert xdsd.versions(("clusters", "listeners")) == v
    # unknown fields in the model are errors too (strict is the default)
    bad = basic_model()
    bad["services"][0]["colour"] = "blue"
    mark = xdsd.log_size()
    write_model(xdsd.dir / "catalog.json", bad)
    xdsd.wait_log(r"\[error\].*colour", after=mark)
    assert xdsd.versions(("clusters", "listeners")) == v


def test_node_groups_do_not_break_plain_polls(basic):
    """Different node ids/clusters polling the same data get the same
    answer when no item has a match block."""
    from conftest import envoy_node
    v1 = basic.poll("clusters", node=envoy_node("a", "edge")).version
    v2 = basic.poll("clusters", node=envoy_node("b", "mesh")).version
    assert v1 == v2
