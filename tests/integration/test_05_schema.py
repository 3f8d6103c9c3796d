"""The schema checker itself (tests/schema/envoy_schema.py) and the bundled
examples that do not need the daemon: if the checker accepted everything,
every other test here would prove nothing."""

import copy
import json
import subprocess

import pytest

from conftest import REPO, check_discovery_body, discovery_request, schema

CLUSTER_URL = "type.googleapis.com/envoy.config.cluster.v3.Cluster"
SCHEMA_CLI = REPO / "tests" / "schema" / "envoy_schema.py"


def cluster(**over):
    c = {
        "@type": CLUSTER_URL,
        "name": "greeter",
        "type": "STATIC",
        "connect_timeout": "1s",
        "lb_policy": "ROUND_ROBIN",
        "load_assignment": {
            "cluster_name": "greeter",
            "endpoints": [{"locality": {"region": "eu-west-1", "zone": "eu-west-1a"},
                           "lb_endpoints": [{"endpoint": {"address": {"socket_address": {
                               "address": "10.0.0.5", "port_value": 8085}}},
                               "health_status": "HEALTHY", "load_balancing_weight": 1}]}],
        },
    }
    c.update(over)
    return c


def response(resources, type_url=CLUSTER_URL, version="0123456789abcdef0123456789abcdef"):
    return json.dumps({"version_info": version, "resources": resources, "type_url": type_url})


def errors(body, type_url=None):
    return schema().response_errors(body, type_url)


LISTENER = {
    "@type": "type.googleapis.com/envoy.config.listener.v3.Listener",
    "name": "ingress",
    "address": {"socket_address": {"address": "0.0.0.0", "port_value": 10000}},
    "filter_chains": [{"filters": [{
        "name": "envoy.filters.network.http_connection_manager",
        "typed_config": {
            "@type": "type.googleapis.com/envoy.extensions.filters.network."
                     "http_connection_manager.v3.HttpConnectionManager",
            "stat_prefix": "ingress",
            "rds": {"route_config_name": "ingress", "config_source": {
                "resource_api_version": "V3",
                "api_config_source": {"api_type": "REST", "transport_api_version": "V3",
                                      "cluster_names": ["xds_cluster"], "refresh_delay": "1s"}}},
            "http_filters": [{"name": "envoy.filters.http.router", "typed_config": {
                "@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"}}],
        }}]}],
}

ROUTES = {
    "@type": "type.googleapis.com/envoy.config.route.v3.RouteConfiguration",
    "name": "ingress",
    "virtual_hosts": [{"name": "greeter", "domains": ["greeter.example.com"],
                       "routes": [{"match": {"prefix": "/"},
                                   "route": {"cluster": "greeter", "timeout": "5s"}},
                                  {"match": {"safe_regex": {"regex": "^/orders/[0-9]+$"}},
                                   "route": {"cluster": "greeter", "timeout": "3s",
                                             "prefix_rewrite": "/"}}]}],
}


def test_valid_responses_pass():
    assert errors(response([cluster()])) == []
    assert errors(response([LISTENER], LISTENER["@type"])) == []
    assert errors(response([ROUTES], ROUTES["@type"])) == []
    # no resources is a valid answer, and every type xdsd serves is known
    for url in schema_types():
        assert errors(response([], url)) == [], url


def schema_types():
    from envoy_schema import TYPES
    return TYPES.values()


def test_rejects_unknown_field_in_cluster():
    e = errors(response([cluster(bogus_field=1)]))
    assert e and "bogus_field" in e[0], e


def test_rejects_bad_enum_name_and_undefined_number():
    e = errors(response([cluster(lb_policy="ROUND_ROBBIN")]))
    assert e and "ROUND_ROBBIN" in e[0], e
    e = errors(response([cluster(type=42)]))  # numbers parse; PGV defined_only refuses
    assert e and "lb_policy" not in e[0] and ".type" in e[0] and "42" in e[0], e


def test_rejects_missing_required_field():
    r = copy.deepcopy(ROUTES)
    del r["virtual_hosts"][0]["routes"][0]["match"]  # (validate.rules).message.required
    e = errors(response([r], r["@type"]))
    assert any("routes[0].match: value is required" in x for x in e), e
    r = copy.deepcopy(ROUTES)
    del r["virtual_hosts"][0]["routes"][0]["route"]  # oneof action (validate.required)
    e = errors(response([r], r["@type"]))
    assert any("oneof action" in x for x in e), e


def test_rejects_unknown_type_url():
    c = cluster()
    c["@type"] = "type.googleapis.com/envoy.config.cluster.v3.NoSuchCluster"
    e = errors(response([c], c["@type"]))
    assert e and "NoSuchCluster" in " ".join(e), e
    # and a nested typed_config naming nothing
    listener = copy.deepcopy(LISTENER)
    hcm = listener["filter_chains"][0]["filters"][0]["typed_config"]
    hcm["http_filters"][0]["typed_config"]["@type"] = "type.googleapis.com/envoy.NoSuchFilter"
    e = errors(response([listener], listener["@type"]))
    assert e and "NoSuchFilter" in e[0], e


def test_rejects_port_70000():
    c = cluster()
    c["load_assignment"]["endpoints"][0]["lb_endpoints"][0]["endpoint"]["address"][
        "socket_address"]["port_value"] = 70000
    e = errors(response([c]))
    assert e == ["resources[0]{Cluster 'greeter'}.load_assignment.endpoints[0].lb_endpoints[0]"
                 ".endpoint.address.socket_address.port_value: value must be <= 65535, got 70000"], e


def test_rejects_resource_type_differing_from_type_url():
    e = errors(response([LISTENER], CLUSTER_URL))
    assert any("differs from the response's type_url" in x for x in e), e


def test_rejects_contract_violations():
    assert errors(response([cluster()], version="")), "empty version_info must fail"
    assert errors(json.dumps({"version_info": "v", "resources": [cluster()]})), "no type_url"
    assert errors("{not json"), "not JSON"
    e = schema().response_errors(response([cluster()]), LISTENER["@type"])
    assert e and "expected" in e[0], e


def test_pgv_rules_json_format_misses():
    # string min_len
    e = errors(response([cluster(name="")]))
    assert any(".name: length must be at least 1" in x for x in e), e
    # Duration gt 0
    e = errors(response([cluster(connect_timeout="0s")]))
    assert any("connect_timeout: duration must be > 0s" in x for x in e), e
    # repeated min_items (VirtualHost.domains)
    r = copy.deepcopy(ROUTES)
    r["virtual_hosts"][0]["domains"] = []
    e = errors(response([r], r["@type"]))
    assert any("domains: needs at least 1 items" in x for x in e), e
    # rules inside an Any (HttpConnectionManager.stat_prefix min_len)
    listener = copy.deepcopy(LISTENER)
    listener["filter_chains"][0]["filters"][0]["typed_config"]["stat_prefix"] = ""
    e = errors(response([listener], listener["@type"]))
    assert any("stat_prefix: length must be at least 1" in x for x in e), e


def test_check_discovery_body_raises_with_details():
    with pytest.raises(AssertionError, match="port_value"):
        c = cluster()
        c["load_assignment"]["endpoints"][0]["lb_endpoints"][0]["endpoint"]["address"][
            "socket_address"]["port_value"] = 70000
        check_discovery_body("clusters", response([c]))


def test_cli_exit_codes(tmp_path):
    good = tmp_path / "good.json"
    good.write_text(response([cluster()]))
    r = subprocess.run(["/usr/bin/python3", str(SCHEMA_CLI), str(good)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    bad = response([cluster(bogus_field=True)])
    r = subprocess.run(["/usr/bin/python3", str(SCHEMA_CLI), "-"], input=bad, capture_output=True, text=True)
    assert r.returncode == 1 and "bogus_field" in r.stderr, r


def test_request_builder_is_a_valid_discovery_request():
    """What the harness sends must itself be what Envoy sends."""
    for t in ("clusters", "endpoints"):
        req = discovery_request(t, version_info="0" * 32, resource_names=["b", "a"])
        assert req["resource_names"] == ["a", "b"]
        assert len(req["node"]["extensions"]) >= 24
        assert schema().message_errors("envoy.service.discovery.v3.DiscoveryRequest", req) == []


def test_bootstrap_example_is_valid():
    yaml = pytest.importorskip("yaml")
    doc = yaml.safe_load((REPO / "conf" / "examples" / "envoy-bootstrap.yaml").read_text())
    assert schema().message_errors("envoy.config.bootstrap.v3.Bootstrap", doc) == []
    api = doc["dynamic_resources"]["cds_config"]["api_config_source"]
    assert api["api_type"] == "REST" and api["cluster_names"] == ["xds_cluster"]
    assert doc["static_resources"]["clusters"][0]["name"] == "xds_cluster"


SERVICE_KEYS = {"name", "domains", "endpoints", "routes", "connect_timeout", "lb_policy",
                "discovery", "listeners", "match"}
ENDPOINT_KEYS = {"address", "port", "weight", "zone", "region", "health"}
ROUTE_KEYS = {"prefix", "path", "regex", "timeout", "prefix_rewrite"}


def test_services_example_uses_only_model_v1_fields():
    doc = json.loads((REPO / "conf" / "examples" / "services.json").read_text())
    assert set(doc) <= {"services", "listeners", "resources"}
    kinds = set()
    domains = []
    for s in doc["services"]:
        assert set(s) <= SERVICE_KEYS, s["name"]
        kinds.add(s.get("discovery", "static"))
        domains += s["domains"]
        for e in s["endpoints"]:
            assert set(e) <= ENDPOINT_KEYS and 1 <= e["port"] <= 65535
        for r in s["routes"]:
            assert set(r) <= ROUTE_KEYS and len(set(r) & {"prefix", "path", "regex"}) == 1
    assert {"static", "eds"} <= kinds
    assert len(domains) == len(set(domains)), "Envoy refuses a domain in two virtual hosts"
    assert {"name": "ingress", "address": "0.0.0.0", "port": 10000} in doc["listeners"]
