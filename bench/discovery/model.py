"""bench/discovery/model.py -- what the discovery benchmark feeds xdsd and
what it sends: a model document with N services, and Envoy DiscoveryRequests
with the full node block Envoy 1.31 sends on every REST poll.

The model is meant to look like a real catalog rather than a minimal one:
every service has two domains, three endpoints in two zones, two routes, a
1s or 500ms connect timeout and one of ten listeners; half of the services
use EDS.  The node block is tests/envoy_node.py's, the one the integration
tests send (45 extensions, about 6 KB as JSON).

Run as a script it writes a model:  model.py SERVICES [CHANGE] > model.json
(CHANGE > 0 alters service 0's connect timeout, which changes the CDS
version: the fleet simulator uses it to measure propagation).
"""

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tests"))
from envoy_node import envoy_node  # noqa: E402  (the node block the tests send too)

LISTENERS = 10

TYPE_URLS = {
    "clusters": "type.googleapis.com/envoy.config.cluster.v3.Cluster",
    "listeners": "type.googleapis.com/envoy.config.listener.v3.Listener",
    "routes": "type.googleapis.com/envoy.config.route.v3.RouteConfiguration",
    "endpoints": "type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment",
}


def service_name(i):
    return "svc-%05d" % i


def listener_name(i):
    return "ingress-%d" % i


def eds_service(i):
    """Even-numbered services use EDS."""
    return i % 2 == 0


def model(nservices, change=0):
    """The model document (a dict) with nservices services on LISTENERS
    listeners.  change > 0 gives service 0 another connect_timeout."""
    services = []
    for i in range(nservices):
        name = service_name(i)
        base = (10 << 24) | (i * 3)
        eps = []
        for k in range(3):
            a = base + k
            eps.append({"address": "%d.%d.%d.%d" % (a >> 24, (a >> 16) & 255, (a >> 8) & 255, a & 255),
                        "port": 8080 + k, "weight": 1 + k % 2,
                        "zone": "eu-west-1%s" % "ab"[k % 2], "region": "eu-west-1",
                        "health": "HEALTHY"})
        timeout = "1s" if i % 3 else "500ms"
        if i == 0 and change:
            timeout = "%dms" % (1000 + change)
        services.append({
            "name": name,
            "domains": ["%s.example.com" % name, "%s.svc.cluster.local" % name],
            "endpoints": eps,
            "routes": [{"prefix": "/api/%s/" % name, "timeout": "2s", "prefix_rewrite": "/"},
                       {"prefix": "/", "timeout": "15s"}],
            "connect_timeout": timeout,
            "lb_policy": "LEAST_REQUEST" if i % 4 == 1 else "ROUND_ROBIN",
            "discovery": "eds" if eds_service(i) else "static",
            "listeners": [listener_name(i % LISTENERS)],
        })
    listeners = [{"name": listener_name(i), "address": "0.0.0.0", "port": 10000 + i}
                 for i in range(LISTENERS)]
    return {"services": services, "listeners": listeners}


def discovery_request(type_path, version_info=None, resource_names=None, node_id="envoy-bench-1"):
    """A DiscoveryRequest as Envoy sends it over REST, as compact JSON bytes
    (node first, as Envoy's proto3 JSON printer orders the fields)."""
    req = {}
    if version_info is not None:
        req["version_info"] = version_info
    req["node"] = envoy_node(node_id)
    if resource_names is not None:
        req["resource_names"] = sorted(resource_names)
    req["type_url"] = TYPE_URLS[type_path]
    return json.dumps(req, separators=(",", ":")).encode()


if __name__ == "__main__":
    if len(sys.argv) not in (2, 3):
        sys.exit("usage: model.py SERVICES [CHANGE] > model.json")
    json.dump(model(int(sys.argv[1]), int(sys.argv[2]) if len(sys.argv) == 3 else 0), sys.stdout)
