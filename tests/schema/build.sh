#!/bin/sh
# tests/schema/build.sh -- build tests/.deps/envoy.pb, a FileDescriptorSet of
# Envoy's v3 API (discovery, every resource type xdsd serves, and the
# extensions its generators use), for tests/schema/envoy_schema.py.
#
# The .proto trees come from the npm package @grpc/grpc-js-xds, which vendors
# envoy-api, xds (udpa), googleapis and protoc-gen-validate under deps/; the
# well-known types come from Debian's libprotobuf-dev (/usr/include).  The
# package's validate.proto lacks StringRules.ignore_empty (field 26 in PGV's
# real validate.proto), which Envoy's protos use, so the copy is patched.
#
# Idempotent and cached under tests/.deps/ (gitignored): a second run with the
# same pinned version and the same script does nothing.  --force rebuilds.
# Needs: npm, protoc (protobuf-compiler), libprotobuf-dev.  POSIX sh.

set -eu

GRPC_JS_XDS_VERSION=1.14.1

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
deps=$repo/tests/.deps
out=$deps/envoy.pb
stamp=$deps/envoy.pb.stamp
wkt=/usr/include

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

want="grpc-js-xds=$GRPC_JS_XDS_VERSION script=$(cksum <"$here/build.sh" | cut -d' ' -f1)"
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

for tool in npm protoc; do
    command -v $tool >/dev/null 2>&1 ||
        { echo "tests/schema/build.sh: $tool not found (run tools/install-deps --tests)" >&2; exit 1; }
done
[ -f $wkt/google/protobuf/any.proto ] ||
    { echo "tests/schema/build.sh: $wkt/google/protobuf/*.proto missing (apt-get install libprotobuf-dev)" >&2; exit 1; }

pkg=$deps/npm/node_modules/@grpc/grpc-js-xds
have=
[ -f "$pkg/package.json" ] &&
    have=$(sed -n 's/^ *"version": *"\([^"]*\)".*/\1/p' "$pkg/package.json" | head -n 1)
if [ "$have" != "$GRPC_JS_XDS_VERSION" ]; then
    echo "tests/schema/build.sh: npm install @grpc/grpc-js-xds@$GRPC_JS_XDS_VERSION"
    rm -rf "$deps/npm"
    mkdir -p "$deps/npm"
    (cd "$deps/npm" && npm install --prefix "$deps/npm" --no-audit --no-fund --ignore-scripts \
        --no-save --no-package-lock --legacy-peer-deps --loglevel=error \
        "@grpc/grpc-js-xds@$GRPC_JS_XDS_VERSION" >/dev/null)
fi
[ -d "$pkg/deps" ] || { echo "tests/schema/build.sh: $pkg/deps missing after npm install" >&2; exit 1; }

# Fresh copy of the .proto trees (only .proto files), then the patch.
tmp=$deps/proto.tmp
rm -rf "$tmp"
mkdir -p "$tmp"
(cd "$pkg/deps" && find . -name '*.proto' ! -path '*/java/*' ! -path '*/tests/*' -print) |
    while IFS= read -r f; do
        mkdir -p "$tmp/$(dirname "$f")"
        cp "$pkg/deps/$f" "$tmp/$f"
    done

validate=$tmp/protoc-gen-validate/validate/validate.proto
[ -f "$validate" ] || { echo "tests/schema/build.sh: no validate.proto in the package" >&2; exit 1; }
if ! awk '/^message StringRules/,/^}/' "$validate" | grep -q 'ignore_empty'; then
    awk '
        /^message StringRules[ {]/ { in_rules = 1 }
        in_rules && /^}/ {
            print "  // Added by tests/schema/build.sh (field 26 in PGV'"'"'s validate.proto)."
            print "  optional bool ignore_empty = 26;"
            in_rules = 0
        }
        { print }
    ' "$validate" >"$validate.new"
    mv "$validate.new" "$validate"
fi

rm -rf "$deps/proto"
mv "$tmp" "$deps/proto"

set --
for root in envoy-api xds googleapis protoc-gen-validate; do
    [ -d "$deps/proto/$root" ] || { echo "tests/schema/build.sh: deps/$root missing in the package" >&2; exit 1; }
    set -- "$@" -I "$deps/proto/$root"
done
set -- "$@" -I "$wkt"

files=
for p in $PROTOS; do
    [ -f "$deps/proto/envoy-api/$p" ] ||
        { echo "tests/schema/build.sh: $p not in @grpc/grpc-js-xds@$GRPC_JS_XDS_VERSION" >&2; exit 1; }
    files="$files $p"
done

# shellcheck disable=SC2086 # $files is a list of paths without blanks
protoc "$@" --include_imports --descriptor_set_out="$out.tmp" $files
mv "$out.tmp" "$out"
echo "$want" >"$stamp"
echo "tests/schema/build.sh: wrote $out ($(wc -c <"$out") bytes)"
