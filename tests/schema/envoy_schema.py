#!/usr/bin/python3
"""envoy_schema -- check xdsd's discovery responses the way Envoy would.

Envoy parses a REST DiscoveryResponse with its proto3 JSON parser, resolves
the "@type" of every Any (the resources and every typed_config inside them)
and then runs the protoc-gen-validate (PGV) rules compiled into it; one bad
resource rejects the whole response.  This module does the same in Python:

  1. google.protobuf.json_format.Parse(..., ignore_unknown_fields=False,
     descriptor_pool=<Envoy's v3 API>) -- unknown fields, wrong JSON types,
     unknown enum names and "@type"s that name no known message fail here;
  2. the response's own contract: version_info non-empty, type_url present,
     every resource's "@type" equal to the response's type_url;
  3. a walk over the parsed message that applies the PGV rules json_format
     does not: (validate.rules).message.required, oneofs marked
     (validate.required), string/bytes lengths, patterns, prefixes and
     well-known formats, numeric ranges (port_value <= 65535), enum
     defined_only, repeated/map sizes and per-item rules, Any in/not_in,
     Duration ranges -- descending into every Any it can unpack.

The descriptors come from tests/.deps/envoy.pb, built by tests/schema/build.sh
(which this module runs when the file is missing).  Only the Python protobuf
runtime (Debian's python3-protobuf) and the standard library are needed.

Library:
    schema = envoy_schema.load()
    schema.check_response(text)          # raises SchemaError
    errors = schema.response_errors(text)  # [] when valid
    schema.check_message("envoy.config.bootstrap.v3.Bootstrap", obj_or_text)

CLI:
    tests/schema/envoy_schema.py FILE|-            # a DiscoveryResponse
    tests/schema/envoy_schema.py --message envoy.config.bootstrap.v3.Bootstrap FILE
    exit 0 when valid, 1 with one line per problem on stderr, 2 on usage or
    setup errors.  A FILE ending in .yaml/.yml is read with PyYAML if present.
"""

import ipaddress
import json
import os
import re
import subprocess
import sys
import uuid as _uuid

from google.protobuf import descriptor as _descriptor
from google.protobuf import descriptor_pb2, descriptor_pool, json_format, message_factory

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
DEFAULT_DESCRIPTOR_SET = os.path.join(REPO, "tests", ".deps", "envoy.pb")
BUILD_SCRIPT = os.path.join(HERE, "build.sh")

# The types xdsd serves: REST path -> type URL, and the field naming a resource.
TYPES = {
    "clusters": "type.googleapis.com/envoy.config.cluster.v3.Cluster",
    "endpoints": "type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment",
    "listeners": "type.googleapis.com/envoy.config.listener.v3.Listener",
    "routes": "type.googleapis.com/envoy.config.route.v3.RouteConfiguration",
    "scoped-routes": "type.googleapis.com/envoy.config.route.v3.ScopedRouteConfiguration",
    "secrets": "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret",
    "runtime": "type.googleapis.com/envoy.service.runtime.v3.Runtime",
    "extension_configs": "type.googleapis.com/envoy.config.core.v3.TypedExtensionConfig",
}
NAME_FIELD = {"envoy.config.endpoint.v3.ClusterLoadAssignment": "cluster_name"}

_WRAPPERS = {
    "google.protobuf.DoubleValue", "google.protobuf.FloatValue", "google.protobuf.Int64Value",
    "google.protobuf.UInt64Value", "google.protobuf.Int32Value", "google.protobuf.UInt32Value",
    "google.protobuf.BoolValue", "google.protobuf.StringValue", "google.protobuf.BytesValue",
}

# PGV's well_known_regex patterns (validate.proto KnownRegex).
_HEADER_NAME_STRICT = re.compile(r"^:?[0-9a-zA-Z!#$%&'*+\-.^_|~`]+$")
_HEADER_VALUE_STRICT = re.compile("^[^\u0000-\u0008\u000A-\u001F\u007F]*$")
_HEADER_LOOSE = re.compile("^[^\u0000\u000A\u000D]*$")
_HOSTNAME_LABEL = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$")


class SchemaError(Exception):
    """A body Envoy would reject.  .errors holds one line per problem."""

    def __init__(self, errors):
        self.errors = list(errors)
        super().__init__("; ".join(self.errors) if self.errors else "invalid")


def _message_class(desc):
    if hasattr(message_factory, "GetMessageClass"):  # protobuf >= 4
        return message_factory.GetMessageClass(desc)
    return message_factory.MessageFactory(desc.file.pool).GetPrototype(desc)


def _fmt_duration(d):
    return "%ss" % (d.seconds + d.nanos / 1e9) if d.nanos else "%ds" % d.seconds


def _dur_ns(d):
    return d.seconds * 1000000000 + d.nanos


class Schema:
    """Envoy's v3 API loaded from a FileDescriptorSet, with PGV rules."""

    def __init__(self, path=DEFAULT_DESCRIPTOR_SET):
        with open(path, "rb") as f:
            fds = descriptor_pb2.FileDescriptorSet.FromString(f.read())
        self.pool = descriptor_pool.DescriptorPool()
        for fp in fds.file:  # --include_imports: dependencies come first
            self.pool.AddSerializedFile(fp.SerializeToString())
        self._classes = {}
        # PGV's options, read through the extensions validate.proto declares
        # (validate.rules on fields, validate.disabled on messages,
        # validate.required on oneofs).  The descriptors' own options are
        # descriptor_pb2 messages of the default pool, which does not know
        # these extensions, so they are re-parsed as this pool's *Options.
        ext = self.pool.FindExtensionByName
        self._ext_rules = ext("validate.rules")
        self._ext_disabled = ext("validate.disabled")
        self._ext_required = ext("validate.required")
        self._field_options = self.message_class("google.protobuf.FieldOptions")
        self._message_options = self.message_class("google.protobuf.MessageOptions")
        self._oneof_options = self.message_class("google.protobuf.OneofOptions")
        self.field_rules = {}       # (message full name, field name) -> validate.FieldRules
        self.disabled = set()       # messages with option (validate.disabled) = true
        self.required_oneofs = set()  # (message full name, oneof name)
        for fp in fds.file:
            fd = self.pool.FindFileByName(fp.name)
            for md in fd.message_types_by_name.values():
                self._index(md)

    def _options(self, desc, cls):
        """desc's options as an instance of cls (this pool's *Options), or
        None when it has none."""
        if not desc.has_options:
            return None
        raw = desc.GetOptions().SerializeToString()
        return cls.FromString(raw) if raw else None

    def _index(self, md):
        full = md.full_name
        opts = self._options(md, self._message_options)
        if opts is not None and opts.HasExtension(self._ext_disabled) and \
                opts.Extensions[self._ext_disabled]:
            self.disabled.add(full)
        for f in md.fields:
            opts = self._options(f, self._field_options)
            if opts is not None and opts.HasExtension(self._ext_rules):
                self.field_rules[(full, f.name)] = opts.Extensions[self._ext_rules]
        for o in md.oneofs:
            opts = self._options(o, self._oneof_options)
            if opts is not None and opts.HasExtension(self._ext_required) and \
                    opts.Extensions[self._ext_required]:
                self.required_oneofs.add((full, o.name))
        for nested in md.nested_types:
            self._index(nested)

    def message_class(self, full_name):
        cls = self._classes.get(full_name)
        if cls is None:
            cls = _message_class(self.pool.FindMessageTypeByName(full_name))
            self._classes[full_name] = cls
        return cls

    def find_type(self, type_url):
        """Descriptor for a type URL, or None."""
        try:
            return self.pool.FindMessageTypeByName(type_url.rsplit("/", 1)[-1])
        except KeyError:
            return None

    # ---- entry points -------------------------------------------------------

    def response_errors(self, text, expect_type_url=None):
        """Problems Envoy would have with DiscoveryResponse `text` (str or
        bytes), one string each; [] when it is valid.  expect_type_url, when
        given, is what the response's type_url must be."""
        if isinstance(text, (bytes, bytearray)):
            try:
                text = bytes(text).decode("utf-8")
            except UnicodeDecodeError as e:
                return ["body is not UTF-8: %s" % e]
        try:
            doc = json.loads(text)
        except ValueError as e:
            return ["body is not JSON: %s" % e]
        if not isinstance(doc, dict):
            return ["body is not a JSON object"]
        errors = []
        type_url = doc.get("type_url", doc.get("typeUrl"))
        version = doc.get("version_info", doc.get("versionInfo"))
        if not isinstance(type_url, str) or not type_url:
            errors.append("type_url: missing or empty")
        elif self.find_type(type_url) is None:
            errors.append("type_url: %r names no known message type" % type_url)
        if expect_type_url is not None and type_url != expect_type_url:
            errors.append("type_url: %r, expected %r" % (type_url, expect_type_url))
        if not isinstance(version, str) or not version:
            errors.append("version_info: missing or empty (Envoy needs a version on a 200)")
        resources = doc.get("resources")
        if resources is None:  # absent or null: proto3 JSON's empty list
            resources = []
        if not isinstance(resources, list):
            errors.append("resources: not a list")
            resources = []
        for i, r in enumerate(resources):
            if not isinstance(r, dict):
                errors.append("resources[%d]: not an object" % i)
            elif "@type" not in r:
                errors.append("resources[%d]: no \"@type\"" % i)
            elif isinstance(type_url, str) and r["@type"] != type_url:
                errors.append("resources[%d]: \"@type\" %r differs from the response's type_url %r"
                              % (i, r["@type"], type_url))
        resp = self.message_class("envoy.service.discovery.v3.DiscoveryResponse")()
        try:
            json_format.Parse(text, resp, ignore_unknown_fields=False, descriptor_pool=self.pool)
        except json_format.ParseError as e:
            errors.append("json_format: %s" % _one_line(e))
            return errors
        for i, any_msg in enumerate(resp.resources):
            self._check_any(any_msg, "resources[%d]" % i, errors, label_name=True)
        return errors

    def check_response(self, text, expect_type_url=None):
        """Raise SchemaError unless `text` is a valid DiscoveryResponse.
        Returns the parsed JSON document."""
        errors = self.response_errors(text, expect_type_url)
        if errors:
            raise SchemaError(errors)
        return json.loads(text)

    def message_errors(self, full_name, obj):
        """Problems with `obj` (a JSON text, or a dict/list already decoded)
        as message `full_name`; [] when valid."""
        text = obj if isinstance(obj, (str, bytes)) else json.dumps(obj)
        msg = self.message_class(full_name)()
        try:
            json_format.Parse(text, msg, ignore_unknown_fields=False, descriptor_pool=self.pool)
        except json_format.ParseError as e:
            return ["json_format: %s" % _one_line(e)]
        errors = []
        self.check_rules(msg, full_name.rsplit(".", 1)[-1], errors)
        return errors

    def check_message(self, full_name, obj):
        errors = self.message_errors(full_name, obj)
        if errors:
            raise SchemaError(errors)

    # ---- PGV walk -----------------------------------------------------------

    def _check_any(self, any_msg, path, errors, label_name=False):
        desc = self.find_type(any_msg.type_url)
        if desc is None:
            errors.append("%s: \"@type\" %r names no known message type" % (path, any_msg.type_url))
            return
        inner = self.message_class(desc.full_name)()
        try:
            inner.ParseFromString(any_msg.value)
        except Exception as e:  # noqa: BLE001 -- any decode failure is a finding
            errors.append("%s: cannot decode %s: %s" % (path, desc.full_name, e))
            return
        if label_name:
            field = NAME_FIELD.get(desc.full_name, "name")
            name = getattr(inner, field, None) if field in desc.fields_by_name else None
            path = "%s{%s %r}" % (path, desc.name, name) if name is not None else \
                "%s{%s}" % (path, desc.name)
        else:
            path = "%s{@type %s}" % (path, desc.full_name)
        self.check_rules(inner, path, errors)

    def check_rules(self, msg, path, errors):
        """Append to errors every PGV rule `msg` (a parsed message) breaks,
        descending into sub-messages and Any values."""
        desc = msg.DESCRIPTOR
        full = desc.full_name
        if full == "google.protobuf.Any":
            if msg.type_url:
                self._check_any(msg, path, errors)
            return
        if full in self.disabled:
            return
        for oneof in desc.oneofs:
            if (full, oneof.name) in self.required_oneofs and msg.WhichOneof(oneof.name) is None:
                errors.append("%s: one of %s is required (oneof %s)"
                              % (path, ", ".join(f.name for f in oneof.fields), oneof.name))
        for field in desc.fields:
            rules = self.field_rules.get((full, field.name))
            fpath = "%s.%s" % (path, field.name)
            if field.label == _descriptor.FieldDescriptor.LABEL_REPEATED:
                self._check_repeated(msg, field, rules, fpath, errors)
                continue
            is_msg = field.type == _descriptor.FieldDescriptor.TYPE_MESSAGE
            has_presence = is_msg or field.containing_oneof is not None or \
                getattr(field, "has_presence", False)
            present = msg.HasField(field.name) if has_presence else True
            if not present:
                # PGV checks a oneof member only when it is the one set.
                if rules is not None and field.containing_oneof is None:
                    self._check_absent(field, rules, fpath, errors)
                continue
            self._check_value(field, getattr(msg, field.name), rules, fpath, errors)

    def _check_absent(self, field, rules, path, errors):
        kind = rules.WhichOneof("type")
        if rules.HasField("message") and rules.message.required:
            errors.append("%s: value is required" % path)
        elif kind == "duration" and rules.duration.required:
            errors.append("%s: value is required" % path)
        elif kind == "timestamp" and rules.timestamp.required:
            errors.append("%s: value is required" % path)
        elif kind == "any" and rules.any.required:
            errors.append("%s: value is required" % path)

    def _check_value(self, field, value, rules, path, errors, recurse=True):
        """One value of `field` (a repeated field's item, or a singular value)."""
        kind = rules.WhichOneof("type") if rules is not None else None
        skip = rules is not None and rules.HasField("message") and rules.message.skip
        if field.type == _descriptor.FieldDescriptor.TYPE_MESSAGE:
            tname = field.message_type.full_name
            if tname in _WRAPPERS and kind not in (None, "message"):
                self._check_scalar(kind, getattr(rules, kind), value.value, path, errors,
                                   field=field.message_type.fields_by_name["value"])
                return
            if kind == "duration":
                self._check_duration(rules.duration, value, path, errors)
            elif kind == "any":
                self._check_any_rules(rules.any, value, path, errors)
            if recurse and not skip:
                self.check_rules(value, path, errors)
            return
        if kind is not None:
            self._check_scalar(kind, getattr(rules, kind), value, path, errors, field=field)

    def _check_repeated(self, msg, field, rules, path, errors):
        values = getattr(msg, field.name)
        kind = rules.WhichOneof("type") if rules is not None else None
        is_map = field.message_type is not None and field.message_type.GetOptions().map_entry
        if is_map:
            key_f = field.message_type.fields_by_name["key"]
            val_f = field.message_type.fields_by_name["value"]
            items = list(values.items())
            r = rules.map if kind == "map" else None
            if r is not None and not (_opt(r, "ignore_empty") and not items):
                if r.HasField("min_pairs") and len(items) < r.min_pairs:
                    errors.append("%s: needs at least %d pairs, has %d" % (path, r.min_pairs, len(items)))
                if r.HasField("max_pairs") and len(items) > r.max_pairs:
                    errors.append("%s: allows at most %d pairs, has %d" % (path, r.max_pairs, len(items)))
            for k, v in sorted(items, key=lambda kv: str(kv[0])):
                kp = "%s[%r]" % (path, k)
                if r is not None and r.HasField("keys"):
                    self._check_value(key_f, k, r.keys, kp + "(key)", errors)
                vr = r.values if r is not None and r.HasField("values") else None
                if val_f.type == _descriptor.FieldDescriptor.TYPE_MESSAGE or vr is not None:
                    self._check_value(val_f, v, vr, kp, errors)
            return
        r = rules.repeated if kind == "repeated" else None
        n = len(values)
        item_rules = None
        if r is not None and not (_opt(r, "ignore_empty") and n == 0):
            if r.HasField("min_items") and n < r.min_items:
                errors.append("%s: needs at least %d items, has %d" % (path, r.min_items, n))
            if r.HasField("max_items") and n > r.max_items:
                errors.append("%s: allows at most %d items, has %d" % (path, r.max_items, n))
            if r.unique:
                seen = set()
                for i, v in enumerate(values):
                    key = v.SerializeToString(deterministic=True) if \
                        field.type == _descriptor.FieldDescriptor.TYPE_MESSAGE else v
                    if key in seen:
                        errors.append("%s[%d]: items must be unique" % (path, i))
                    seen.add(key)
            if r.HasField("items"):
                item_rules = r.items
        if item_rules is None and field.type != _descriptor.FieldDescriptor.TYPE_MESSAGE:
            return
        for i, v in enumerate(values):
            self._check_value(field, v, item_rules, "%s[%d]" % (path, i), errors)

    def _check_scalar(self, kind, r, value, path, errors, field=None):
        if kind in ("string",):
            self._check_string(r, value, path, errors)
        elif kind == "bytes":
            self._check_bytes(r, value, path, errors)
        elif kind == "bool":
            if r.HasField("const") and value != r.const:
                errors.append("%s: must be %s" % (path, str(r.const).lower()))
        elif kind == "enum":
            self._check_enum(r, value, path, errors, field)
        elif kind in ("float", "double", "int32", "int64", "uint32", "uint64", "sint32",
                      "sint64", "fixed32", "fixed64", "sfixed32", "sfixed64"):
            self._check_number(r, value, path, errors)

    def _check_number(self, r, x, path, errors):
        if _opt(r, "ignore_empty") and not x:
            return
        if r.HasField("const") and x != r.const:
            errors.append("%s: must equal %s, got %s" % (path, r.const, x))
        lo = ("gt", r.gt) if r.HasField("gt") else ("gte", r.gte) if r.HasField("gte") else None
        hi = ("lt", r.lt) if r.HasField("lt") else ("lte", r.lte) if r.HasField("lte") else None

        def above(b):
            return x > b[1] if b[0] == "gt" else x >= b[1]

        def below(b):
            return x < b[1] if b[0] == "lt" else x <= b[1]

        word = {"gt": ">", "gte": ">=", "lt": "<", "lte": "<="}
        if lo and hi and hi[1] < lo[1]:  # PGV: an inverted range means "outside"
            if not (above(lo) or below(hi)):
                errors.append("%s: value must be %s %s or %s %s, got %s"
                              % (path, word[lo[0]], lo[1], word[hi[0]], hi[1], x))
        else:
            if lo and not above(lo):
                errors.append("%s: value must be %s %s, got %s" % (path, word[lo[0]], lo[1], x))
            if hi and not below(hi):
                errors.append("%s: value must be %s %s, got %s" % (path, word[hi[0]], hi[1], x))
        if len(getattr(r, "in")) and x not in list(getattr(r, "in")):
            errors.append("%s: value must be in %s, got %s" % (path, list(getattr(r, "in")), x))
        if len(r.not_in) and x in list(r.not_in):
            errors.append("%s: value must not be in %s, got %s" % (path, list(r.not_in), x))

    def _check_enum(self, r, value, path, errors, field):
        if r.HasField("const") and value != r.const:
            errors.append("%s: must equal enum value %d, got %d" % (path, r.const, value))
        if r.defined_only and field is not None and field.enum_type is not None and \
                value not in field.enum_type.values_by_number:
            errors.append("%s: %d is not a defined value of enum %s"
                          % (path, value, field.enum_type.full_name))
        if len(getattr(r, "in")) and value not in list(getattr(r, "in")):
            errors.append("%s: value must be in %s, got %d" % (path, list(getattr(r, "in")), value))
        if len(r.not_in) and value in list(r.not_in):
            errors.append("%s: value must not be in %s, got %d" % (path, list(r.not_in), value))

    def _check_string(self, r, s, path, errors):
        if _opt(r, "ignore_empty") and s == "":
            return
        n = len(s)
        nb = len(s.encode("utf-8"))
        show = s if len(s) <= 60 else s[:57] + "..."

        def bad(what):
            errors.append("%s: %s, got %r" % (path, what, show))

        if r.HasField("const") and s != r.const:
            bad("must equal %r" % r.const)
        if r.HasField("len") and n != r.len:
            bad("length must be %d characters" % r.len)
        if r.HasField("min_len") and n < r.min_len:
            bad("length must be at least %d characters" % r.min_len)
        if r.HasField("max_len") and n > r.max_len:
            bad("length must be at most %d characters" % r.max_len)
        if r.HasField("len_bytes") and nb != r.len_bytes:
            bad("length must be %d bytes" % r.len_bytes)
        if r.HasField("min_bytes") and nb < r.min_bytes:
            bad("length must be at least %d bytes" % r.min_bytes)
        if r.HasField("max_bytes") and nb > r.max_bytes:
            bad("length must be at most %d bytes" % r.max_bytes)
        if r.HasField("pattern"):
            try:
                if not re.search(r.pattern, s):
                    bad("must match the pattern %r" % r.pattern)
            except re.error:
                pass  # RE2 syntax Python cannot compile: not checked
        if r.HasField("prefix") and not s.startswith(r.prefix):
            bad("must start with %r" % r.prefix)
        if r.HasField("suffix") and not s.endswith(r.suffix):
            bad("must end with %r" % r.suffix)
        if r.HasField("contains") and r.contains not in s:
            bad("must contain %r" % r.contains)
        if r.HasField("not_contains") and r.not_contains in s:
            bad("must not contain %r" % r.not_contains)
        if len(getattr(r, "in")) and s not in list(getattr(r, "in")):
            bad("must be one of %s" % list(getattr(r, "in")))
        if len(r.not_in) and s in list(r.not_in):
            bad("must not be one of %s" % list(r.not_in))
        wk = r.WhichOneof("well_known")
        if wk is None or not getattr(r, wk):
            return
        if wk == "well_known_regex":
            strict = r.strict if r.HasField("strict") else True
            if r.well_known_regex == 1:  # HTTP_HEADER_NAME
                rx = _HEADER_NAME_STRICT if strict else _HEADER_LOOSE
                if not rx.match(s):
                    bad("must be a valid HTTP header name")
            elif r.well_known_regex == 2:  # HTTP_HEADER_VALUE
                rx = _HEADER_VALUE_STRICT if strict else _HEADER_LOOSE
                if not rx.match(s):
                    bad("must be a valid HTTP header value")
        elif wk in ("ip", "ipv4", "ipv6"):
            try:
                a = ipaddress.ip_address(s)
                if (wk == "ipv4" and a.version != 4) or (wk == "ipv6" and a.version != 6):
                    raise ValueError
            except ValueError:
                bad("must be a valid %s address" % {"ip": "IP", "ipv4": "IPv4", "ipv6": "IPv6"}[wk])
        elif wk in ("hostname", "address"):
            ok = _is_hostname(s)
            if wk == "address" and not ok:
                try:
                    ipaddress.ip_address(s)
                    ok = True
                except ValueError:
                    pass
            if not ok:
                bad("must be a valid %s" % wk)
        elif wk == "uuid":
            try:
                _uuid.UUID(s)
            except ValueError:
                bad("must be a valid UUID")
        elif wk in ("uri",) and not re.match(r"^[A-Za-z][A-Za-z0-9+.\-]*:", s):
            bad("must be an absolute URI")
        elif wk == "email" and not re.match(r"^[^@\s]+@[^@\s]+$", s):
            bad("must be a valid email address")

    def _check_bytes(self, r, b, path, errors):
        if _opt(r, "ignore_empty") and not b:
            return
        n = len(b)
        if r.HasField("len") and n != r.len:
            errors.append("%s: length must be %d bytes, got %d" % (path, r.len, n))
        if r.HasField("min_len") and n < r.min_len:
            errors.append("%s: length must be at least %d bytes, got %d" % (path, r.min_len, n))
        if r.HasField("max_len") and n > r.max_len:
            errors.append("%s: length must be at most %d bytes, got %d" % (path, r.max_len, n))
        if r.HasField("const") and b != r.const:
            errors.append("%s: must equal the constant" % path)

    def _check_duration(self, r, d, path, errors):
        x = _dur_ns(d)
        word = {"gt": ">", "gte": ">=", "lt": "<", "lte": "<="}
        lo = ("gt", r.gt) if r.HasField("gt") else ("gte", r.gte) if r.HasField("gte") else None
        hi = ("lt", r.lt) if r.HasField("lt") else ("lte", r.lte) if r.HasField("lte") else None

        def above(b):
            return x > _dur_ns(b[1]) if b[0] == "gt" else x >= _dur_ns(b[1])

        def below(b):
            return x < _dur_ns(b[1]) if b[0] == "lt" else x <= _dur_ns(b[1])

        if r.HasField("const") and x != _dur_ns(r.const):
            errors.append("%s: duration must equal %s, got %s" % (path, _fmt_duration(r.const), _fmt_duration(d)))
        if lo and hi and _dur_ns(hi[1]) < _dur_ns(lo[1]):
            if not (above(lo) or below(hi)):
                errors.append("%s: duration must be %s %s or %s %s, got %s"
                              % (path, word[lo[0]], _fmt_duration(lo[1]), word[hi[0]],
                                 _fmt_duration(hi[1]), _fmt_duration(d)))
        else:
            if lo and not above(lo):
                errors.append("%s: duration must be %s %s, got %s"
                              % (path, word[lo[0]], _fmt_duration(lo[1]), _fmt_duration(d)))
            if hi and not below(hi):
                errors.append("%s: duration must be %s %s, got %s"
                              % (path, word[hi[0]], _fmt_duration(hi[1]), _fmt_duration(d)))
        if len(getattr(r, "in")) and x not in [_dur_ns(v) for v in getattr(r, "in")]:
            errors.append("%s: duration not in the allowed set, got %s" % (path, _fmt_duration(d)))
        if len(r.not_in) and x in [_dur_ns(v) for v in r.not_in]:
            errors.append("%s: duration in the forbidden set, got %s" % (path, _fmt_duration(d)))

    def _check_any_rules(self, r, a, path, errors):
        if len(getattr(r, "in")) and a.type_url not in list(getattr(r, "in")):
            errors.append("%s: \"@type\" must be one of %s, got %r" % (path, list(getattr(r, "in")), a.type_url))
        if len(r.not_in) and a.type_url in list(r.not_in):
            errors.append("%s: \"@type\" %r is not allowed here" % (path, a.type_url))


def _one_line(exc):
    """json_format's message without the list of available fields it
    appends for unknown fields."""
    return str(exc).split("\n")[0].rstrip()


def _opt(rules, name):
    """Value of an optional rule field that older validate.protos may lack."""
    return name in rules.DESCRIPTOR.fields_by_name and getattr(rules, name)


def _is_hostname(s):
    s = s[:-1] if s.endswith(".") else s
    if not s or len(s) > 253:
        return False
    return all(_HOSTNAME_LABEL.match(label) for label in s.split("."))


_loaded = {}


def ensure_built(path=DEFAULT_DESCRIPTOR_SET):
    """Run tests/schema/build.sh when the default descriptor set is missing
    or stale (the script itself decides; it is quick when up to date)."""
    if path == DEFAULT_DESCRIPTOR_SET:
        r = subprocess.run(["sh", BUILD_SCRIPT], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        if r.returncode != 0:
            raise RuntimeError("tests/schema/build.sh failed:\n" + r.stdout.decode(errors="replace"))
    if not os.path.exists(path):
        raise RuntimeError("%s missing (run tests/schema/build.sh)" % path)


def load(path=DEFAULT_DESCRIPTOR_SET, build=True):
    """The Schema for `path`, loaded once per process.  Builds the default
    descriptor set first when build is true."""
    if path not in _loaded:
        if build:
            ensure_built(path)
        _loaded[path] = Schema(path)
    return _loaded[path]


def _read_input(name):
    if name == "-":
        data = sys.stdin.buffer.read()
    else:
        with open(name, "rb") as f:
            data = f.read()
    if name.endswith((".yaml", ".yml")):
        try:
            import yaml  # optional: only for YAML inputs (Envoy bootstraps)
        except ImportError:
            raise SystemExit("envoy_schema: %s: reading YAML needs python3-yaml" % name)
        return json.dumps(yaml.safe_load(data.decode("utf-8")))
    return data


def main(argv=None):
    import argparse

    ap = argparse.ArgumentParser(
        prog="envoy_schema.py",
        description="Validate a DiscoveryResponse JSON body (or another Envoy message) "
                    "strictly against Envoy's v3 schema and PGV rules.")
    ap.add_argument("file", help="JSON file, or - for standard input")
    ap.add_argument("--message", metavar="FULL_NAME",
                    help="validate as this message instead of a DiscoveryResponse "
                         "(e.g. envoy.config.bootstrap.v3.Bootstrap)")
    ap.add_argument("--type-url", help="require this type_url in the response")
    ap.add_argument("--descriptor-set", default=DEFAULT_DESCRIPTOR_SET,
                    help="FileDescriptorSet to use (default: tests/.deps/envoy.pb, built if missing)")
    args = ap.parse_args(argv)
    try:
        schema = load(args.descriptor_set)
        data = _read_input(args.file)
    except (OSError, RuntimeError) as e:
        print("envoy_schema: %s" % e, file=sys.stderr)
        return 2
    if args.message:
        try:
            schema.pool.FindMessageTypeByName(args.message)
        except KeyError:
            print("envoy_schema: unknown message type %s" % args.message, file=sys.stderr)
            return 2
        errors = schema.message_errors(args.message, data)
    else:
        errors = schema.response_errors(data, args.type_url)
    label = "-" if args.file == "-" else args.file
    if errors:
        for e in errors:
            print("%s: %s" % (label, e), file=sys.stderr)
        return 1
    print("%s: ok" % label)
    return 0


if __name__ == "__main__":
    sys.exit(main())
