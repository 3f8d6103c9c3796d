"""bench/discovery/model.py -- what the discovery benchmark feeds xdsd and
what it sends: a model document with N services, and Envoy DiscoveryRequests
with the full node block Envoy 1.31 sends on every REST poll.

The model is meant to look like a real catalog rather than a minimal one:
every service has two domains, three endpoints in two zones, two routes, a
1s or 500ms connect timeout and one of ten listeners; half of the services
use EDS.  The node block is the one tests/integration/conftest.py uses
(45 extensions, about 6 KB as JSON), copied here so the benchmark does not
depend on the test harness.

Run as a script it writes a model:  model.py SERVICES [CHANGE] > model.json
(CHANGE > 0 alters service 0's connect timeout, which changes the CDS
version: the fleet simulator uses it to measure propagation).
"""

import json
import sys

LISTENERS = 10

_EXTENSIONS = [
    ("envoy.filters.http.router", "envoy.filters.http", "envoy.extensions.filters.http.router.v3.Router"),
    ("envoy.filters.http.cors", "envoy.filters.http", "envoy.extensions.filters.http.cors.v3.Cors"),
    ("envoy.filters.http.fault", "envoy.filters.http", "envoy.extensions.filters.http.fault.v3.HTTPFault"),
    ("envoy.filters.http.grpc_web", "envoy.filters.http", "envoy.extensions.filters.http.grpc_web.v3.GrpcWeb"),
    ("envoy.filters.http.health_check", "envoy.filters.http",
     "envoy.extensions.filters.http.health_check.v3.HealthCheck"),
    ("envoy.filters.http.jwt_authn", "envoy.filters.http",
     "envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication"),
    ("envoy.filters.http.local_ratelimit", "envoy.filters.http",
     "envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit"),
    ("envoy.filters.http.lua", "envoy.filters.http", "envoy.extensions.filters.http.lua.v3.Lua"),
    ("envoy.filters.http.rbac", "envoy.filters.http", "envoy.extensions.filters.http.rbac.v3.RBAC"),
    ("envoy.filters.http.ext_authz", "envoy.filters.http", "envoy.extensions.filters.http.ext_authz.v3.ExtAuthz"),
    ("envoy.filters.http.compressor", "envoy.filters.http",
     "envoy.extensions.filters.http.compressor.v3.Compressor"),
    ("envoy.filters.network.http_connection_manager", "envoy.filters.network",
     "envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager"),
    ("envoy.filters.network.tcp_proxy", "envoy.filters.network",
     "envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy"),
    ("envoy.filters.network.rbac", "envoy.filters.network", "envoy.extensions.filters.network.rbac.v3.RBAC"),
    ("envoy.filters.network.redis_proxy", "envoy.filters.network",
     "envoy.extensions.filters.network.redis_proxy.v3.RedisProxy"),
    ("envoy.filters.network.connection_limit", "envoy.filters.network",
     "envoy.extensions.filters.network.connection_limit.v3.ConnectionLimit"),
    ("envoy.filters.listener.tls_inspector", "envoy.filters.listener",
     "envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector"),
    ("envoy.filters.listener.http_inspector", "envoy.filters.listener",
     "envoy.extensions.filters.listener.http_inspector.v3.HttpInspector"),
    ("envoy.filters.listener.original_dst", "envoy.filters.listener",
     "envoy.extensions.filters.listener.original_dst.v3.OriginalDst"),
    ("envoy.filters.listener.proxy_protocol", "envoy.filters.listener",
     "envoy.extensions.filters.listener.proxy_protocol.v3.ProxyProtocol"),
    ("envoy.access_loggers.file", "envoy.access_loggers", "envoy.extensions.access_loggers.file.v3.FileAccessLog"),
    ("envoy.access_loggers.stdout", "envoy.access_loggers",
     "envoy.extensions.access_loggers.stream.v3.StdoutAccessLog"),
    ("envoy.access_loggers.stderr", "envoy.access_loggers",
     "envoy.extensions.access_loggers.stream.v3.StderrAccessLog"),
    ("envoy.access_loggers.http_grpc", "envoy.access_loggers",
     "envoy.extensions.access_loggers.grpc.v3.HttpGrpcAccessLogConfig"),
    ("envoy.transport_sockets.tls", "envoy.transport_sockets.upstream",
     "envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext"),
    ("envoy.transport_sockets.raw_buffer", "envoy.transport_sockets.upstream",
     "envoy.extensions.transport_sockets.raw_buffer.v3.RawBuffer"),
    ("envoy.transport_sockets.tls", "envoy.transport_sockets.downstream",
     "envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext"),
    ("envoy.transport_sockets.raw_buffer", "envoy.transport_sockets.downstream",
     "envoy.extensions.transport_sockets.raw_buffer.v3.RawBuffer"),
    ("envoy.clusters.dynamic_forward_proxy", "envoy.clusters",
     "envoy.extensions.clusters.dynamic_forward_proxy.v3.ClusterConfig"),
    ("envoy.clusters.aggregate", "envoy.clusters", "envoy.extensions.clusters.aggregate.v3.ClusterConfig"),
    ("envoy.load_balancing_policies.round_robin", "envoy.load_balancing_policies",
     "envoy.extensions.load_balancing_policies.round_robin.v3.RoundRobin"),
    ("envoy.load_balancing_policies.least_request", "envoy.load_balancing_policies",
     "envoy.extensions.load_balancing_policies.least_request.v3.LeastRequest"),
    ("envoy.load_balancing_policies.ring_hash", "envoy.load_balancing_policies",
     "envoy.extensions.load_balancing_policies.ring_hash.v3.RingHash"),
    ("envoy.load_balancing_policies.maglev", "envoy.load_balancing_policies",
     "envoy.extensions.load_balancing_policies.maglev.v3.Maglev"),
    ("envoy.health_checkers.redis", "envoy.health_checkers", "envoy.extensions.health_checkers.redis.v3.Redis"),
    ("envoy.health_checkers.thrift", "envoy.health_checkers", "envoy.extensions.health_checkers.thrift.v3.Thrift"),
    ("envoy.retry_host_predicates.previous_hosts", "envoy.retry_host_predicates",
     "envoy.extensions.retry.host.previous_hosts.v3.PreviousHostsPredicate"),
    ("envoy.retry_priorities.previous_priorities", "envoy.retry_priorities",
     "envoy.extensions.retry.priority.previous_priorities.v3.PreviousPrioritiesConfig"),
    ("envoy.tracers.opentelemetry", "envoy.tracers", "envoy.config.trace.v3.OpenTelemetryConfig"),
    ("envoy.tracers.zipkin", "envoy.tracers", "envoy.config.trace.v3.ZipkinConfig"),
    ("envoy.upstreams.http.http_protocol_options", "envoy.upstream_options",
     "envoy.extensions.upstreams.http.v3.HttpProtocolOptions"),
    ("envoy.regex_engines.google_re2", "envoy.regex_engines", "envoy.extensions.regex_engines.v3.GoogleRE2"),
    ("envoy.request_id.uuid", "envoy.request_id", "envoy.extensions.request_id.uuid.v3.UuidRequestIdConfig"),
    ("envoy.watchdog.profile_action", "envoy.guarddog_actions",
     "envoy.extensions.watchdog.profile_action.v3.ProfileActionConfig"),
    ("envoy.stat_sinks.statsd", "envoy.stats_sinks", "envoy.config.metrics.v3.StatsdSink"),
]

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


def envoy_node(node_id="envoy-bench-1", cluster="edge"):
    """The node block Envoy 1.31 sends on every REST poll."""
    return {
        "id": node_id,
        "cluster": cluster,
        "metadata": {"team": "payments", "istio": {"version": "none"}},
        "locality": {"region": "eu-west-1", "zone": "eu-west-1a", "sub_zone": "rack-7"},
        "user_agent_name": "envoy",
        "user_agent_build_version": {
            "version": {"major_number": 1, "minor_number": 31, "patch": 2},
            "metadata": {"revision.sha": "8e4c3f5b9f0e4cbbd0a1b2c3d4e5f60718293a4b",
                         "revision.status": "Clean", "build.type": "RELEASE",
                         "ssl.version": "BoringSSL"},
        },
        "extensions": [{"name": n, "category": c, "type_urls": [t]} for n, c, t in _EXTENSIONS],
        "client_features": [
            "envoy.config.require-any-fields-contain-struct",
            "envoy.lb.does_not_support_overprovisioning",
            "envoy.lrs.supports_send_all_clusters",
            "xds.config.supports-resource-ttl",
        ],
    }


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
