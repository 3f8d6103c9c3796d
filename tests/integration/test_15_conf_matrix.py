"""Every directive given a wrong value: `xdsd -T` refuses the conf, exit 1,
with the file, the line and the directive in the message (and a running
xdsd's SIGHUP would keep the old generation, see test_40_signals)."""

import re

import pytest

from conftest import basic_model, run_xdsd

# (where, text, what the message must name)
CASES = [
    ("main", "pid;", "pid"),
    ("main", "error_log stderr loud;", "error_log"),
    ("main", "log_level chatty;", "log_level"),
    ("main", "plugin_dir a b;", "plugin_dir"),
    ("main", "strict maybe;", "strict"),
    ("main", "schema /nonexistent/envoy.pb;", "schema"),
    ("main", "include /nonexistent/x.conf;", "include"),
    ("main", "load_plugin no_such_plugin;", "no_such_plugin"),
    ("main", "bogus_directive 1;", "bogus_directive"),
    ("envoy", "refresh_delay soon;", "refresh_delay"),
    ("envoy", "xds_cluster;", "xds_cluster"),
    ("envoy", "node_group zone;", "node_group"),
    ("envoy", "node_group;", "node_group"),
    ("envoy", "locality_priority sometimes;", "locality_priority"),
    ("discovery", "workers 0;", "workers"),
    ("discovery", "workers many;", "workers"),
    ("discovery", "client_max_body_size huge;", "client_max_body_size"),
    ("discovery", "client_max_header_size 10;", "client_max_header_size"),
    ("discovery", "max_connections none;", "max_connections"),
    ("discovery", "keepalive_timeout forever;", "keepalive_timeout"),
    ("discovery", "read_timeout -1s;", "read_timeout"),
    ("discovery", "shutdown_timeout 5x;", "shutdown_timeout"),
    ("discovery", "ssl_certificate /nonexistent.crt; ssl_certificate_key /nonexistent.key;", "ssl_certificate"),
    ("discovery", "ssl_verify_client perhaps;", "ssl_verify_client"),
    ("discovery", "authorize address 10.0.0.0/33 { }", "authorize"),
    ("discovery", "secrets_without_client_certificate yes;", "secrets_without_client_certificate"),
    ("admin", "listen nowhere;", "listen"),
    ("admin", "allow 10.0.0.0/99;", "allow"),
    ("admin", "token_file /nonexistent/token;", "token_file"),
    ("admin", "forget_nodes_after later;", "forget_nodes_after"),
    ("source", "required sometimes;", "required"),
    ("source", "stale_after 1x;", "stale_after"),
    ("source", "max_document_size big;", "max_document_size"),
    ("source", "poll_interval often;", "poll_interval"),
    ("source", "max_size large;", "max_size"),
    ("source", "unknown_thing 1;", "unknown_thing"),
    ("generator", "node_context maybe;", "node_context"),
    ("generator", "type;", "type"),
    ("generator", "colour red;", "colour"),
]


@pytest.mark.parametrize("where,text,name", CASES, ids=["%s:%s" % (c[0], c[2]) for c in CASES])
def test_wrong_value_is_refused_with_file_line_and_directive(xdsd, where, text, name):
    # A conf of its own, holding each directive at most once, so that the
    # wrong value itself is what is refused (not a duplicate directive).
    model_src = xdsd.file_source(basic_model(), extra=text if where == "source" else "")
    main = "plugin_dir {plugins};" if not text.startswith("plugin_dir") else ""
    if where == "main":
        main += "\n" + text
    if where == "admin":
        main += "\nadmin { %s %s }" % ("" if text.startswith("listen") else "listen 127.0.0.1:19999;", text)
    if where == "generator":
        main += "\ngenerator layers { plugin rtds; type runtime; %s }" % text
    envoy = text if where == "envoy" else ""
    discovery = "listen 127.0.0.1:{port}; " + (text if where == "discovery" else "")
    conf = xdsd.write_conf("%s\nenvoy { %s }\ndiscovery { %s }\n%s" % (main, envoy, discovery, model_src))
    r = run_xdsd(["-T", "-c", conf])
    assert r.returncode == 1, r.stderr
    assert re.search(r"xdsd\.conf:\d+: ", r.stderr), r.stderr
    assert name in r.stderr, r.stderr
    assert "is duplicate" not in r.stderr, r.stderr  # the value is refused, not the repetition
