"""Generator modules (issue 6, point 4): plugins/rtds, a real generator
loaded like a source plugin, makes RTDS runtime layers from the model's
"runtime" collection, per node group; its output is checked against
Envoy's schema (by xdsd with `schema`, and by the harness on every 200)."""

import re
import signal

import pytest

from conftest import REPO, TEST_PLUGIN_DIR, envoy_node, run_xdsd, service, write_model

SCHEMA = REPO / "tests" / ".deps" / "envoy.pb"


def model():
    return {
        "services": [service("greeter", 8085, listeners=None)],
        "runtime": [
            {"name": "edge-flags", "match": {"cluster": "edge-*"},
             "layer": {"health_check.min_interval": 5, "envoy.reloadable_features.foo": False,
                       "nested": {"a": [1, "b"]}}},
            {"name": "base", "layer": {"overload.global_downstream_max_connections": 50000}},
        ],
    }


def start(xdsd, extra="", m=None):
    src = xdsd.file_source(m or model())
    conf = xdsd.conf(src, main="schema %s;\ngenerator layers { plugin rtds; type runtime; %s }"
                     % (SCHEMA, extra))
    xdsd.start(conf, timeout=30)
    return xdsd.dir / "catalog.json"


def node(cluster, node_id="n1"):
    return envoy_node(node_id, cluster=cluster)


def test_runtime_layers_per_group(xdsd):
    start(xdsd)
    edge = xdsd.poll("runtime", node=node("edge-eu"))
    core = xdsd.poll("runtime", node=node("core"))
    assert edge.status == core.status == 200  # and schema-checked by the harness
    assert sorted(edge.names()) == ["base", "edge-flags"]
    assert core.names() == ["base"]
    assert edge.by_name()["edge-flags"]["layer"]["health_check.min_interval"] == 5
    assert edge.by_name()["edge-flags"]["layer"]["nested"] == {"a": [1, "b"]}
    assert "match" not in edge.by_name()["edge-flags"]
    # RTDS is per resource: exactly the named layers
    r = xdsd.poll("runtime", node=node("core"), resource_names=["edge-flags", "base"])
    assert r.names() == ["base"]
    assert xdsd.poll("runtime", node=node("core"), version_info=core.version).status == 304


def test_node_context_and_change_isolation(xdsd):
    path = start(xdsd, "node_context on;")
    edge = xdsd.poll("runtime", node=node("edge-eu"))
    core = xdsd.poll("runtime", node=node("core"))
    assert edge.by_name()["base"]["layer"]["xdsd.node.cluster"] == "edge-eu"
    assert core.by_name()["base"]["layer"]["xdsd.node.cluster"] == "core"
    assert xdsd.poll("runtime", node=node("edge-us")).by_name()["base"]["layer"][
        "xdsd.node.cluster"] == "edge-us"
    # a change to the edge-only layer: core proxies keep their version (304)
    m = model()
    m["runtime"][0]["layer"]["health_check.min_interval"] = 7
    write_model(path, m)
    r, _ = xdsd.wait_new_version("runtime", edge.version, node=node("edge-eu"))
    assert r.by_name()["edge-flags"]["layer"]["health_check.min_interval"] == 7
    assert xdsd.poll("runtime", node=node("core"), version_info=core.version).status == 304


def test_bad_item_refuses_the_build_precisely(xdsd):
    path = start(xdsd)
    v0 = xdsd.poll("runtime", node=node("edge-eu")).version
    m = model()
    m["runtime"][1]["layer"] = [1, 2]
    write_model(path, m)
    xdsd.wait_log(r"build refused")
    xdsd.wait_log(r"runtime\[base\]: layer: expected an object of runtime keys \(source catalog\)")
    assert xdsd.poll("runtime", node=node("edge-eu")).version == v0  # the old one stays
    m["runtime"][1] = {"name": "base", "layr": {}}
    write_model(path, m)
    xdsd.wait_log(r'runtime\[base\]: unknown field "layr" \(expected name, layer, match\)')
    # a malformed item is refused by the model check, with its place
    m["runtime"][1] = {"layer": {}}
    write_model(path, m)
    xdsd.wait_log(r'runtime\[1\] \(line \d+, column \d+\): "name" is missing')


def test_reload_keeps_serving(xdsd):
    start(xdsd, "node_context on;")
    v = xdsd.poll("runtime", node=node("edge-eu")).version
    xdsd.send_signal(signal.SIGHUP)
    xdsd.wait_log(r"snapshot 2 built|reload", timeout=10)
    r = xdsd.poll("runtime", node=node("edge-eu"))
    assert r.status == 200 and r.version == v


def test_conf_errors(tmp_path):
    plugins = REPO / "objs" / "plugins"
    cases = [
        ("generator g { plugin file; type runtime; }",
         r'plugin "file" is a source plugin, not a generator module'),
        ("generator g { plugin rtds; type clusters; }", r'plugin "rtds" makes runtime, not clusters'),
        ("generator g { plugin rtds; type bogus; }", r'unknown resource type "bogus"'),
        ("generator g { plugin rtds; }", r'needs "type TYPE;"'),
        ("generator g { plugin rtds; type runtime; node_context maybe; }",
         r'directive "node_context": invalid value, expected on or off "maybe"|node_context'),
        ("generator g { plugin rtds; type runtime; colour red; }",
         r'directive "colour".*unknown directive for plugin "rtds"|colour'),
        ("generator g { plugin rtds; type runtime; }\ngenerator g { plugin rtds; type runtime; }",
         r'generator "g" is defined twice'),
    ]
    for text, want in cases:
        conf = tmp_path / "g.conf"
        conf.write_text("plugin_dir %s;\ndiscovery { listen 127.0.0.1:1; }\n%s\n"
                        "source s { plugin file; path /nonexistent.json; }\n" % (plugins, text))
        r = run_xdsd(["-T", "-c", conf])
        assert r.returncode == 1, (text, r.stderr)
        assert re.search(r"g\.conf:\d+: ", r.stderr) and re.search(want, r.stderr), (text, r.stderr)
    conf = tmp_path / "s.conf"
    conf.write_text("plugin_dir %s;\ndiscovery { listen 127.0.0.1:1; }\n"
                    "source s { plugin rtds; }\n" % plugins)
    r = run_xdsd(["-T", "-c", conf])
    assert r.returncode == 1 and 'plugin "rtds" is a generator module' in r.stderr, r.stderr


def test_runtime_collection_needs_a_generator(xdsd):
    # without a generator reading it, "runtime" is an unknown collection (strict)
    src = xdsd.file_source(model())
    xdsd.start(xdsd.conf(src), wait="listening")
    xdsd.wait_log(r'unknown collection "runtime"')


# ---- a module that fails every way (tests/plugins/gen_fail.c) ----

GEN_FAIL_MODES = [
    ("error", r"widgets\[w1\]: deliberately bad \(mode error\) \(source catalog\)"),
    ("silent", r"generator broken failed without saying why"),
    ("bad_json", r"widgets\[w1\] \(source catalog\): generator broken made runtime\[w\] of invalid JSON: "
                 r"line 1, column \d+: .*premature EOF"),
    ("not_object", r"generator broken made runtime\[w\] of invalid JSON: not an object"),
    ("no_name", r"generator broken added a resource without a name or body"),
]


def gen_fail_conf(xdsd, mode):
    src = xdsd.file_source({"services": [service("greeter", 8085, listeners=None)],
                            "widgets": [{"name": "w1"}, {"name": "w2"}]})
    return xdsd.conf(src, main="load_plugin gen_fail %s/gen_fail.so;\n"
                     "generator broken { plugin gen_fail; type runtime; mode %s; }"
                     % (TEST_PLUGIN_DIR, mode))


@pytest.mark.parametrize("mode,message", GEN_FAIL_MODES, ids=[m[0] for m in GEN_FAIL_MODES])
def test_failing_generator_refuses_the_build_with_its_reason(xdsd, mode, message):
    xdsd.start(gen_fail_conf(xdsd, mode), wait="listening")
    xdsd.wait_log(r"build refused")
    xdsd.wait_log(message)
    r = xdsd.poll("clusters")
    assert r.status == 503, r  # nothing was ever valid: nothing is served
    assert xdsd.alive()


def test_generator_failing_for_one_group_only(xdsd):
    xdsd.start(gen_fail_conf(xdsd, "group_error"))
    good = xdsd.poll("runtime", node=node("good"))
    assert good.status == 200 and sorted(good.names()) == ["w1", "w2"]
    bad = xdsd.poll("runtime", node=node("bad"))
    assert bad.status == 503 and b"no layers for cluster bad" in bad.body, bad
    xdsd.wait_log(r'node group \{"cluster":"bad"\} refused')
    assert xdsd.poll("clusters", node=node("good")).status == 200
