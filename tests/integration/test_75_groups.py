"""Node matching and node groups (issue 6): each proxy receives the items
whose "match" rules hold for its node, groups share what is equal, and a
change that only concerns one group leaves every other group's version (and
its 304s) alone."""

import json
import re

from conftest import REPO, envoy_node, find_values, free_port, run_xdsd, service, write_model
from test_90_admin import admin_json, start_with_admin


def node(node_id, cluster, zone="eu-west-1a", region="eu-west-1", **meta):
    n = envoy_node(node_id, cluster=cluster, region=region, zone=zone)
    n["metadata"].update(meta)
    return n


def grouped_model():
    """Common items, edge-only items, a canary service by metadata."""
    return {
        "services": [
            service("greeter", 8085, listeners=("ingress", "public")),
            service("admin-ui", 8090, listeners=("ingress",), match={"cluster": "internal"}),
            service("shop", 8095, listeners=("public",), discovery="eds",
                    match={"cluster": ["edge-*", "cdn"]}),
            service("shop-canary", 8096, listeners=("public",),
                    match={"cluster": "edge-*", "metadata.track": "canary"}),
        ],
        "listeners": [
            {"name": "ingress", "address": "0.0.0.0", "port": 10000},
            {"name": "public", "address": "0.0.0.0", "port": 10443, "match": {"cluster": "edge-*"}},
        ],
        "resources": {
            "clusters": [{"name": "legacy", "type": "STATIC", "connect_timeout": "1s",
                          "match": {"id": "special-*"}}],
        },
    }


def start(xdsd, model, envoy_extra=""):
    src = xdsd.file_source(model)
    xdsd.start(xdsd.conf(src, envoy="xds_cluster xds_cluster; refresh_delay 1s; " + envoy_extra))
    return xdsd.dir / "catalog.json"


def vhosts(xdsd, n, listener):
    r = xdsd.poll("routes", node=n, resource_names=[listener])
    assert r.status == 200, r
    if not r.resources:
        return None
    return sorted(vh["name"] for vh in r.resources[0]["virtual_hosts"])


def test_two_clusters_receive_different_configuration(xdsd):
    start(xdsd, grouped_model())
    edge, internal = node("e1", "edge-eu"), node("i1", "internal")

    ce, ci = xdsd.poll("clusters", node=edge), xdsd.poll("clusters", node=internal)
    assert ce.status == ci.status == 200
    assert sorted(ce.names()) == ["greeter", "shop"]
    assert sorted(ci.names()) == ["admin-ui", "greeter"]
    assert ce.version != ci.version

    le, li = xdsd.poll("listeners", node=edge), xdsd.poll("listeners", node=internal)
    assert sorted(le.names()) == ["ingress", "public"]
    assert li.names() == ["ingress"]

    # A route configuration only carries virtual hosts of services the proxy gets.
    assert vhosts(xdsd, edge, "ingress") == ["greeter"]
    assert vhosts(xdsd, internal, "ingress") == ["admin-ui", "greeter"]
    assert vhosts(xdsd, edge, "public") == ["greeter", "shop"]
    assert vhosts(xdsd, internal, "public") is None  # not its listener: not sent

    # EDS for a service it does not get: exactly nothing.
    assert xdsd.poll("endpoints", node=internal, resource_names=["shop"]).resources == []
    assert [r["cluster_name"] for r in
            xdsd.poll("endpoints", node=edge, resource_names=["shop"]).resources] == ["shop"]

    # A proxy without a cluster gets only what is for everyone.
    assert xdsd.poll("clusters", node=node("x", "")).names() == ["greeter"]

    # Each proxy's own version is a 304 for it, and not for the other.
    assert xdsd.poll("clusters", node=edge, version_info=ce.version).status == 304
    assert xdsd.poll("clusters", node=internal, version_info=ce.version).status == 200


def test_globs_lists_ids_and_metadata(xdsd):
    start(xdsd, grouped_model())
    assert sorted(xdsd.poll("clusters", node=node("c1", "cdn")).names()) == ["greeter", "shop"]
    assert "shop" not in xdsd.poll("clusters", node=node("c2", "edgeless")).names()
    canary = node("e2", "edge-us", track="canary")
    assert sorted(xdsd.poll("clusters", node=canary).names()) == ["greeter", "shop", "shop-canary"]
    assert vhosts(xdsd, canary, "public") == ["greeter", "shop", "shop-canary"]
    # every key must hold: canary metadata outside edge-* gets nothing extra
    assert "shop-canary" not in xdsd.poll("clusters", node=node("i2", "internal", track="canary")).names()
    # id globs on raw resources; "match" itself never reaches Envoy
    special = xdsd.poll("clusters", node=node("special-7", "internal"))
    assert "legacy" in special.names()
    assert find_values(special.json, "match") == []
    # nested metadata: metadata.istio.version
    n = node("m1", "internal")
    n["metadata"]["istio"] = {"version": "1.22"}
    v0 = xdsd.poll("clusters", node=n).version
    model = grouped_model()
    model["services"].append(service("meshed", 8097, match={"metadata.istio.version": "1.*"}))
    write_model(xdsd.dir / "catalog.json", model)
    r, _ = xdsd.wait_new_version("clusters", v0, node=n)
    assert "meshed" in r.names()
    assert "meshed" not in xdsd.poll("clusters", node=node("m2", "internal")).names()


def test_same_content_same_version_across_groups(xdsd):
    start(xdsd, grouped_model())
    a = xdsd.poll("clusters", node=node("a", "edge-eu"))
    b = xdsd.poll("clusters", node=node("b", "edge-us"))
    assert a.body == b.body and a.version == b.version  # two groups, one content


def test_change_for_one_group_keeps_the_other_at_304(xdsd):
    path = start(xdsd, grouped_model())
    edge, internal = node("e1", "edge-eu"), node("i1", "internal")
    versions = {}
    for t in ("clusters", "listeners", "routes", "endpoints"):
        names = {"routes": ["ingress"], "endpoints": ["shop"]}.get(t)
        versions[t] = xdsd.poll(t, node=internal, resource_names=names).version
    ve = xdsd.poll("clusters", node=edge).version

    model = grouped_model()
    model["services"][2]["connect_timeout"] = "3s"     # shop: edge and cdn only
    model["services"][2]["endpoints"][0]["port"] = 9999
    write_model(path, model)
    r, _ = xdsd.wait_new_version("clusters", ve, node=edge)
    assert r.by_name()["shop"]["connect_timeout"] == "3s"

    for t in ("clusters", "listeners", "routes", "endpoints"):
        names = {"routes": ["ingress"], "endpoints": ["shop"]}.get(t)
        got = xdsd.poll(t, node=internal, resource_names=names, version_info=versions[t])
        assert got.status == 304, (t, got)


def test_locality_priority_follows_the_proxy_zone(xdsd):
    model = {"services": [service("shop", 8095, discovery="eds", listeners=None, endpoints=[
        {"address": "10.0.1.1", "port": 80, "zone": "z-a", "region": "r"},
        {"address": "10.0.1.2", "port": 80, "zone": "z-b", "region": "r"},
        {"address": "10.0.1.3", "port": 80, "zone": "z-c", "region": "r"},
    ])]}
    start(xdsd, model, "locality_priority on;")

    def priorities(zone):
        r = xdsd.poll("endpoints", node=node("p-" + zone, "edge", zone=zone), resource_names=["shop"])
        assert r.status == 200, r
        return {loc["locality"]["zone"]: loc.get("priority", 0) for loc in r.resources[0]["endpoints"]}, r

    pa, ra = priorities("z-a")
    assert pa == {"z-a": 0, "z-b": 1, "z-c": 1}
    pb, rb = priorities("z-b")
    assert pb == {"z-a": 1, "z-b": 0, "z-c": 1}
    assert ra.version != rb.version
    # a zone without endpoints of its own: everything at priority 0
    assert priorities("z-x")[0] == {"z-a": 0, "z-b": 0, "z-c": 0}
    # the same proxy moving zones gets the other assignment
    n = node("mover", "edge", zone="z-a")
    v = xdsd.poll("endpoints", node=n, resource_names=["shop"]).version
    n["locality"]["zone"] = "z-c"
    r = xdsd.poll("endpoints", node=n, resource_names=["shop"], version_info=v)
    assert r.status == 200 and r.version != v
    assert {l["locality"]["zone"]: l.get("priority", 0) for l in r.resources[0]["endpoints"]}["z-c"] == 0
    # and the clusters (not per zone) are shared: one version for all zones
    assert xdsd.poll("clusters", node=node("q1", "edge", zone="z-a")).version == \
        xdsd.poll("clusters", node=node("q2", "edge", zone="z-b")).version


def test_group_that_cannot_be_served_gets_503_others_unaffected(xdsd):
    model = grouped_model()
    # a raw route configuration naming "shop", which internal proxies do not get
    model["resources"]["routes"] = [{
        "name": "raw-rc", "virtual_hosts": [{"name": "v", "domains": ["raw.example.com"],
                                             "routes": [{"match": {"prefix": "/"},
                                                         "route": {"cluster": "shop"}}]}]}]
    # with the schema: a group's resources are validated, references included
    port = xdsd.admin_port = free_port()
    xdsd.start(xdsd.conf(xdsd.file_source(model), main="schema %s; admin { listen 127.0.0.1:%d; }"
                         % (REPO / "tests" / ".deps" / "envoy.pb", port)), wait="listening")
    xdsd.wait_log(r"snapshot 1 built", timeout=30)
    assert xdsd.poll("routes", node=node("e1", "edge-eu"), resource_names=["raw-rc"]).status == 200
    r = xdsd.poll("clusters", node=node("i1", "internal"))
    assert r.status == 503, r
    assert b'route.cluster: cluster "shop" does not exist' in r.body, r.body
    xdsd.wait_log(r'node group \{"cluster":"internal","id":"i1"\} refused \(1 problem\)')
    assert xdsd.poll("clusters", node=node("e2", "edge-eu")).status == 200
    v = admin_json(port, "/validation")["node_groups"]
    assert v["refused"] == 1 and v["refusals"][0]["node_group"] == {"cluster": "internal", "id": "i1"}
    assert "does not exist" in v["refusals"][0]["error"]


def test_snapshot_for_a_node_on_the_admin_api(xdsd):
    port = start_with_admin(xdsd, grouped_model())
    s = admin_json(port, "/snapshot/clusters?cluster=edge-eu")
    assert s["node_group"] == {"cluster": "edge-eu"}
    names = [r["name"] for r in s["types"]["clusters"]["response"]["resources"]]
    assert sorted(names) == ["greeter", "shop"]
    assert s["types"]["clusters"]["version"] == xdsd.poll("clusters", node=node("e", "edge-eu")).version
    s = admin_json(port, "/snapshot/clusters?cluster=edge-eu&metadata.track=canary")
    assert "shop-canary" in [r["name"] for r in s["types"]["clusters"]["response"]["resources"]]
    v = admin_json(port, "/validation")
    assert v["node_groups"]["keys"] == "cluster, id, metadata.track"
    assert v["node_groups"]["built"] >= 2 and v["node_groups"]["refused"] == 0
    from test_90_admin import admin_get
    m = admin_get(port, "/metrics")[2].decode()
    assert re.search(r"^xdsd_node_groups [1-9]", m, re.M), m


def test_bad_match_refuses_the_document_precisely(xdsd):
    path = start(xdsd, grouped_model())
    v0 = xdsd.poll("clusters", node=node("e1", "edge-eu")).version
    model = grouped_model()
    model["services"][1]["match"] = {"clustr": "internal"}
    write_model(path, model)
    xdsd.wait_log(r'services\[1\] \(line \d+, column \d+\): match: unknown node attribute "clustr"')
    assert xdsd.poll("clusters", node=node("e1", "edge-eu")).version == v0  # nothing lost


def test_node_group_directive_checked(tmp_path):
    conf = tmp_path / "x.conf"
    conf.write_text("discovery { listen 127.0.0.1:1; }\nenvoy {\n node_group cluster zone;\n}\n")
    r = run_xdsd(["-T", "-c", conf])
    assert r.returncode == 1
    assert re.search(r'x\.conf:3: .*node_group.*unknown node attribute "zone"', r.stderr), r.stderr


def test_nodes_state_follows_each_group(xdsd):
    port = start_with_admin(xdsd, grouped_model(), envoy="xds_cluster xds_cluster; refresh_delay 10s;")
    edge, internal = node("e1", "edge-eu"), node("i1", "internal")
    ve = xdsd.poll("clusters", node=edge).version
    vi = xdsd.poll("clusters", node=internal).version
    xdsd.poll("clusters", node=edge, version_info=ve)
    xdsd.poll("clusters", node=internal, version_info=vi)
    nodes = admin_json(port, "/nodes")["nodes"]
    assert nodes["e1"]["types"]["clusters"]["current_version"] == ve
    assert nodes["i1"]["types"]["clusters"]["current_version"] == vi
    for n in ("e1", "i1"):  # "stale" too on a slow machine: 3 tiny poll intervals
        assert nodes[n]["types"]["clusters"]["state"] in ("current", "stale"), nodes[n]

    model = grouped_model()
    model["services"][2]["connect_timeout"] = "4s"  # shop: edge only
    write_model(xdsd.dir / "catalog.json", model)
    xdsd.wait_log(r"snapshot 2 built")
    nodes = admin_json(port, "/nodes")["nodes"]
    # (states also depend on poll timing: "stale" after 3 intervals; the
    # versions are what groups decide)
    assert nodes["e1"]["types"]["clusters"]["current_version"] != ve
    assert nodes["e1"]["types"]["clusters"]["state"] in ("behind", "stale")
    assert nodes["i1"]["types"]["clusters"]["current_version"] == vi  # its group did not change
    assert nodes["i1"]["types"]["clusters"]["state"] in ("current", "stale")


def test_groups_with_the_same_items_share_everything(xdsd):
    """A second group that matches the same items adds a group record and
    nothing else: no new views, no new resources (and one build of its
    route configurations: the first group's result is reused)."""
    from test_90_admin import admin_get, parse_metrics
    port = start_with_admin(xdsd, grouped_model())

    def counts():
        m = parse_metrics(admin_get(port, "/metrics")[2].decode())
        return m["xdsd_node_groups"], m["xdsd_node_group_views"], m["xdsd_node_group_resources"]

    for t in ("clusters", "listeners", "routes"):
        names = ["ingress", "public"] if t == "routes" else None
        xdsd.poll(t, node=node("e1", "edge-eu"), resource_names=names)
    g1, v1, r1 = counts()
    for t in ("clusters", "listeners", "routes"):
        names = ["ingress", "public"] if t == "routes" else None
        xdsd.poll(t, node=node("e2", "edge-us"), resource_names=names)  # same items, other group
    g2, v2, r2 = counts()
    assert g2 == g1 + 1 and (v2, r2) == (v1, r1), ((g1, v1, r1), (g2, v2, r2))
    assert r1 >= 1  # edge proxies lack services: their route configurations were generated
