"""Issue 4 end to end: with `schema PATH;` the daemon refuses every build
that Envoy would reject -- schema rules and references -- names the source,
the model item and the JSON path, keeps serving the previous snapshot, shows
the refusal on /validation, and clears it with the next good build.
`xdsd -t` prints every problem of the data and exits 1.  The daemon's
verdicts are compared with Python's strict protobuf parser on the same
resources."""

import copy
import json

import pytest

from conftest import REPO, basic_model, free_port, run_xdsd, schema, service, write_model

SCHEMA = REPO / "tests" / ".deps" / "envoy.pb"

SA = {"socket_address": {"address": "0.0.0.0", "port_value": 1}}
HCM = "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager"
TCP = "type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy"
ROUTER = {"name": "envoy.filters.http.router",
          "typed_config": {"@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"}}


def listener(name, typed_config, filt="f"):
    return {"name": name, "address": SA,
            "filter_chains": [{"filters": [{"name": filt, "typed_config": typed_config}]}]}


def vhost_routes(routes, domains=("a.example",), name="v"):
    return {"name": "r", "virtual_hosts": [{"name": name, "domains": list(domains), "routes": routes}]}


# name: (raw resources added to a valid model, expected message, checkable by Python's parser)
CASES = {
    "unknown field": ({"clusters": [{"name": "x", "connect_timeout": "1s", "bogus": 1}]},
                      'clusters[x]: unknown field "bogus" in envoy.config.cluster.v3.Cluster', True),
    "wrong JSON type": ({"clusters": [{"name": "x", "connect_timeout": "1s",
                                       "per_connection_buffer_limit_bytes": "lots"}]},
                        'clusters[x].per_connection_buffer_limit_bytes: expected an integer (uint32), got "lots"', True),
    "bad enum name": ({"clusters": [{"name": "x", "connect_timeout": "1s", "lb_policy": "FASTEST"}]},
                      'clusters[x].lb_policy: unknown value "FASTEST" of enum envoy.config.cluster.v3.Cluster.LbPolicy', True),
    "bad duration": ({"clusters": [{"name": "x", "connect_timeout": "abc"}]},
                     'clusters[x].connect_timeout: invalid duration "abc"', True),
    "Any of an unknown type": ({"listeners": [listener("l", {"@type": "type.googleapis.com/no.such.Type"})]},
                               'typed_config: "@type" "type.googleapis.com/no.such.Type" names no known message type', True),
    "inside a typed_config": ({"listeners": [listener("l", {"@type": TCP, "stat_prefix": "t", "cluster": "greeter",
                                                            "idle_timeout": "soon"})]},
                              'listeners[l].filter_chains[0].filters[0].typed_config.idle_timeout: invalid duration "soon"', True),
    "wrapper": ({"clusters": [{"name": "x", "connect_timeout": "1s", "per_connection_buffer_limit_bytes": {"value": 5}}]},
                "clusters[x].per_connection_buffer_limit_bytes: expected an integer (uint32), got an object", True),
    "two members of a oneof": ({"clusters": [{"name": "x", "connect_timeout": "1s", "type": "STATIC",
                                              "cluster_type": {"name": "y"}}]},
                               '"type" and "cluster_type" are both set, but only one member of oneof cluster_discovery_type may be', True),
    "required message": ({"routes": [vhost_routes([{"route": {"cluster": "greeter"}}])]},
                         "routes[r].virtual_hosts[0].routes[0].match:", True),
    "string min_len": ({"routes": [vhost_routes([], name="")]},
                       'routes[r].virtual_hosts[0].name: length must be at least 1 characters, got ""', True),
    "repeated min_items": ({"routes": [vhost_routes([], domains=())]},
                           "routes[r].virtual_hosts[0].domains: needs at least 1 items, has 0", True),
    "numeric range": ({"listeners": [{"name": "l", "address": {"socket_address": {"address": "0.0.0.0",
                                                                                 "port_value": 70000}}}]},
                      "listeners[l].address.socket_address.port_value: value must be <= 65535, got 70000", True),
    "duration gt": ({"clusters": [{"name": "x", "connect_timeout": "0s"}]},
                    "clusters[x].connect_timeout: duration must be > 0s, got 0s", True),
    "enum defined_only": ({"clusters": [{"name": "x", "connect_timeout": "1s", "lb_policy": 99}]},
                          "clusters[x].lb_policy: 99 is not a defined value of enum envoy.config.cluster.v3.Cluster.LbPolicy", True),
    "required oneof": ({"routes": [vhost_routes([{"match": {"prefix": "/"}}])]},
                       "routes[r].virtual_hosts[0].routes[0]: one of route, redirect, direct_response", True),
    "RDS route config missing": ({"listeners": [listener("l", {"@type": HCM, "stat_prefix": "s",
                                                               "rds": {"route_config_name": "nope", "config_source": {"ads": {}}},
                                                               "http_filters": [ROUTER]})]},
                                 'typed_config.rds.route_config_name: route configuration "nope" does not exist', False),
    "route cluster missing": ({"routes": [vhost_routes([{"match": {"prefix": "/"}, "route": {"cluster": "ghost"}}])]},
                              'routes[r].virtual_hosts[0].routes[0].route.cluster: cluster "ghost" does not exist', False),
    "weighted cluster missing": ({"routes": [vhost_routes([{"match": {"prefix": "/"}, "route": {"weighted_clusters": {
        "clusters": [{"name": "greeter", "weight": 1}, {"name": "ghost2", "weight": 1}]}}}])]},
        'route.weighted_clusters.clusters[1].name: cluster "ghost2" does not exist', False),
    "tcp_proxy cluster missing": ({"listeners": [listener("l", {"@type": TCP, "stat_prefix": "t", "cluster": "ghost3"})]},
                                  'typed_config.cluster: cluster "ghost3" does not exist', False),
    "EDS cluster without endpoints": ({"clusters": [{"name": "lonely", "type": "EDS", "connect_timeout": "1s",
                                                     "eds_cluster_config": {"eds_config": {"ads": {}}}}]},
                                      'clusters[lonely]: EDS cluster has no ClusterLoadAssignment named "lonely"', False),
}

TYPE_OF = {"clusters": "envoy.config.cluster.v3.Cluster", "listeners": "envoy.config.listener.v3.Listener",
           "routes": "envoy.config.route.v3.RouteConfiguration"}


@pytest.fixture
def validating(xdsd):
    model = basic_model()
    xdsd.admin_port = free_port()
    xdsd.start(xdsd.conf(xdsd.file_source(model, extra="poll_interval 100ms;"),
                         main="schema %s; admin { listen 127.0.0.1:%d; }" % (SCHEMA, xdsd.admin_port)))
    xdsd.model = model
    return xdsd


@pytest.mark.parametrize("case", list(CASES))
def test_refused_with_the_path_and_old_version_kept(validating, case):
    xdsd = validating
    raw, expect, _ = CASES[case]
    before = xdsd.versions(("clusters", "listeners", "routes", "endpoints"))
    bad = copy.deepcopy(xdsd.model)
    bad["resources"] = raw
    mark = xdsd.log_size()
    write_model(xdsd.dir / "catalog.json", bad)
    kind = next(iter(raw))
    name = raw[kind][0]["name"]
    line = xdsd.wait_log(r"build refused", after=mark)
    log = xdsd.log()[mark:]
    want = "resources.%s[%s] (source catalog) -> " % (kind, name)
    assert want in log and expect in log, log
    # nothing changed for the proxies
    assert xdsd.versions(("clusters", "listeners", "routes", "endpoints")) == before
    import http.client
    conn = http.client.HTTPConnection("127.0.0.1", xdsd.admin_port, timeout=5)
    conn.request("GET", "/validation")
    val = json.loads(conn.getresponse().read())
    conn.close()
    assert val["refusals"] >= 1 and expect in val["last_refusal"]["error"], val
    # a good build clears it
    write_model(xdsd.dir / "catalog.json", xdsd.model)
    xdsd.wait_log(r"snapshot 2 built", after=mark)
    conn = http.client.HTTPConnection("127.0.0.1", xdsd.admin_port, timeout=5)
    conn.request("GET", "/validation")
    assert json.loads(conn.getresponse().read())["last_refusal"] is None
    conn.close()


@pytest.mark.parametrize("case", [c for c in CASES if CASES[c][2]])
def test_python_strict_parser_agrees(case):
    """The same resource is rejected by python3-protobuf's strict JSON parse
    plus the validate rules (tests/schema/envoy_schema.py)."""
    raw, _, _ = CASES[case]
    kind = next(iter(raw))
    errors = schema().message_errors(TYPE_OF[kind], raw[kind][0])
    assert errors, "python accepted %s: %s" % (case, raw[kind][0])


def test_large_valid_model_passes(xdsd):
    model = {"services": [service("svc-%04d" % i, 8000 + i % 1000, discovery="eds" if i % 2 else "static")
                          for i in range(2000)],
             "listeners": [{"name": "ingress", "address": "0.0.0.0", "port": 10000}]}
    xdsd.start(xdsd.conf(xdsd.file_source(model), main="schema %s;" % SCHEMA), timeout=30)
    assert len(xdsd.poll("clusters").resources) == 2000
    assert "build refused" not in xdsd.log()


def test_check_prints_every_problem(xdsd):
    bad = basic_model()
    bad["services"][0]["endpoints"][0]["prot"] = 1  # a model error
    bad["resources"] = {"clusters": [{"name": "x", "connect_timeout": "abc"},
                                     {"name": "y", "connect_timeout": "1s", "bogus": 1}]}
    conf = xdsd.write_conf(xdsd.conf(xdsd.file_source(bad), main="schema %s;" % SCHEMA))
    r = run_xdsd(["-t", "-c", conf])
    assert r.returncode == 1, r.stderr
    assert 'unknown field "prot"' in r.stderr
    # model errors stop the build before validation; fix it and both schema problems show
    bad["services"][0]["endpoints"][0].pop("prot")
    write_model(xdsd.dir / "catalog.json", bad)
    r = run_xdsd(["-t", "-c", conf])
    assert r.returncode == 1
    assert 'clusters[x].connect_timeout: invalid duration "abc"' in r.stderr, r.stderr
    assert 'clusters[y]: unknown field "bogus"' in r.stderr, r.stderr
    assert "test failed: 2 problems" in r.stderr, r.stderr
    # valid data passes; -T never looks at it
    bad.pop("resources")
    write_model(xdsd.dir / "catalog.json", bad)
    r = run_xdsd(["-t", "-c", conf])
    assert r.returncode == 0 and "valid against the schema" in r.stderr, r.stderr
    (xdsd.dir / "catalog.json").write_text("{oops")
    r = run_xdsd(["-t", "-c", conf])
    assert r.returncode == 1 and "catalog.json: line 1, column 2" in r.stderr, r.stderr
    assert run_xdsd(["-T", "-c", conf]).returncode == 0
