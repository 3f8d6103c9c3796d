#!/bin/sh
# tests/schema/build.sh -- build tests/.deps/envoy.pb, a FileDescriptorSet of
# Envoy's v3 API (discovery, every resource type xdsd serves, and the
# extensions its generators use), for tests/schema/envoy_schema.py.
#
# The work is done by tools/build-schema (shared with the daemon's build,
# which compiles every Envoy v3 file instead of this list); the npm package
# and the patched .proto copy stay under tests/.deps/ (npm/, proto/).
#
# Idempotent and cached under tests/.deps/ (gitignored): a second run with the
# same pinned version and the same script does nothing.  --force rebuilds.
# Needs: npm, protoc (protobuf-compiler), libprotobuf-dev.  POSIX sh.

set -eu

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
deps=$repo/tests/.deps
out=$deps/envoy.pb
stamp=$deps/envoy.pb.stamp
shared=$repo/tools/build-schema
GRPC_JS_XDS_VERSION=$(sed -n 's/^GRPC_JS_XDS_VERSION=//p' "$shared")

# Roots of the resources xdsd serves, plus the extensions it puts in them.
PROTOS="
envoy/service/discovery/v3/discovery.proto
envoy/config/cluster/v3/cluster.proto
envoy/config/endpoint/v3/endpoint.proto
envoy/config/listener/v3/listener.proto
envoy/config/route/v3/route.proto
envoy/config/route/v3/scoped_route.proto
envoy/extensions/transport_sockets/tls/v3/secret.proto
envoy/service/runtime/v3/rtds.proto
envoy/config/core/v3/extension.proto
envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager.proto
envoy/extensions/filters/http/router/v3/router.proto
envoy/extensions/filters/network/tcp_proxy/v3/tcp_proxy.proto
envoy/extensions/transport_sockets/tls/v3/tls.proto
envoy/extensions/upstreams/http/v3/http_protocol_options.proto
envoy/extensions/access_loggers/file/v3/file.proto
envoy/extensions/access_loggers/stream/v3/stream.proto
envoy/config/bootstrap/v3/bootstrap.proto
"

force=no
[ "${1:-}" = --force ] && force=yes

want="grpc-js-xds=$GRPC_JS_XDS_VERSION script=$(cat "$here/build.sh" "$shared" | cksum | cut -d' ' -f1)"
if [ $force = no ] && [ -s "$out" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
    exit 0
fi

mkdir -p "$deps"

# Serialize concurrent builds (two test runs in one tree) when flock exists.
if [ -z "${XDS_SCHEMA_LOCKED:-}" ] && command -v flock >/dev/null 2>&1; then
    XDS_SCHEMA_LOCKED=1 exec flock "$deps/.schema.lock" "$0" "$@"
fi
# Someone else may have finished while we waited for the lock.
if [ $force = no ] && [ -s "$out" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
    exit 0
fi

# shellcheck disable=SC2086 # $PROTOS is a list of paths without blanks
"$shared" --cache "$deps" "$out" $PROTOS
echo "$want" >"$stamp"
