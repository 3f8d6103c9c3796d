"""Harness for xdsd's integration tests: start the real daemon per test.

Like nginx-tests (lib/Test/Nginx.pm): each test writes its conf from a string
into its own tmp_path, runs objs/xdsd with the repository as prefix on free
loopback ports, waits until the discovery port answers, and on teardown sends
SIGTERM, requires exit code 0 and fails on any alert/emerg or sanitizer line
in the error log.  Every 200 body a test receives from a discovery path is
checked against Envoy's schema (tests/schema/envoy_schema.py) on the spot.

Environment:
    XDS_VALGRIND=1   run xdsd under valgrind (definite leaks and memory errors
                     fail the test with exit code 99); timeouts grow.
    XDSD=PATH        binary to test (default objs/xdsd).

Only the standard library and Debian's python3-protobuf are used; run with
/usr/bin/python3 -m pytest -q tests/integration.
"""

import http.client
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "schema"))
sys.path.insert(0, str(REPO / "tests"))
import envoy_schema  # noqa: E402
from envoy_node import envoy_node  # noqa: E402,F401  (tests import it from here)

XDSD = Path(os.environ.get("XDSD", REPO / "objs" / "xdsd"))
PLUGIN_DIR = REPO / "objs" / "plugins"
TEST_PLUGIN_DIR = REPO / "objs" / "tests" / "plugins"

VALGRIND = os.environ.get("XDS_VALGRIND", "") not in ("", "0")
SLOW = 10.0 if VALGRIND else 1.0  # timeout multiplier
VALGRIND_CMD = ["valgrind", "-q", "--error-exitcode=99", "--leak-check=full",
                "--errors-for-leak-kinds=definite", "--trace-children=no"]

TYPE_URLS = dict(envoy_schema.TYPES)
DISCOVERY_PATHS = tuple(TYPE_URLS)
VERSION_RE = re.compile(r"^[0-9a-f]{32}$")

# A log line with any of these fails the test that produced it.
BAD_LOG = re.compile(r"\[alert\]|\[emerg\]|AddressSanitizer|runtime error:|LeakSanitizer")


def free_port():
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(cond, timeout, what, interval=0.02):
    """Call cond() until it returns a true value (returned) or timeout
    seconds pass (AssertionError naming `what`)."""
    deadline = time.monotonic() + timeout
    last_exc = None
    while True:
        try:
            v = cond()
            if v:
                return v
        except (OSError, http.client.HTTPException) as e:
            last_exc = e
        if time.monotonic() >= deadline:
            raise AssertionError("timed out after %.1fs waiting for %s%s"
                                 % (timeout, what, " (last error: %s)" % last_exc if last_exc else ""))
        time.sleep(interval)


# ---- what Envoy sends --------------------------------------------------------

def discovery_request(type_path, version_info=None, resource_names=None, node=None,
                      type_url=None, **extra):
    """A DiscoveryRequest dict as Envoy sends it over REST: the whole node,
    type_url, sorted resource_names (absent for wildcard), version_info
    (absent on a first poll).  extra adds fields (e.g. ones newer Envoys
    send)."""
    req = {"node": node if node is not None else envoy_node()}
    if version_info is not None:
        req["version_info"] = version_info
    if resource_names is not None:
        req["resource_names"] = sorted(resource_names)
    req["type_url"] = type_url if type_url is not None else TYPE_URLS[type_path]
    req.update(extra)
    return req


# ---- responses ---------------------------------------------------------------

class Response:
    def __init__(self, status, headers, body, path):
        self.status = status
        self.headers = {k.lower(): v for k, v in headers}
        self.body = body
        self.path = path
        self._doc = None

    def json(self):
        if self._doc is None:
            self._doc = json.loads(self.body)
        return self._doc

    @property
    def version(self):
        return self.json()["version_info"]

    @property
    def resources(self):
        return self.json().get("resources", [])

    def names(self):
        """Names of the resources, in response order."""
        return [resource_name(r) for r in self.resources]

    def by_name(self):
        return {resource_name(r): r for r in self.resources}

    def __repr__(self):
        b = self.body[:300].decode("utf-8", "replace")
        return "<Response %s %s %r>" % (self.status, self.path, b)


def resource_name(r):
    if r.get("@type", "").endswith(".ClusterLoadAssignment"):
        return r.get("cluster_name", r.get("clusterName"))
    return r.get("name")


def find_values(obj, key):
    """Every value stored under `key` anywhere inside obj (dicts and lists)."""
    out = []
    if isinstance(obj, dict):
        for k, v in obj.items():
            if k == key:
                out.append(v)
            out.extend(find_values(v, key))
    elif isinstance(obj, list):
        for v in obj:
            out.extend(find_values(v, key))
    return out


_schema = None


def schema():
    global _schema
    if _schema is None:
        _schema = envoy_schema.load()
    return _schema


def check_discovery_body(type_path, body):
    """Fail unless body is a DiscoveryResponse Envoy would accept for
    type_path.  Returns the decoded document."""
    errors = schema().response_errors(body, TYPE_URLS.get(type_path))
    if errors:
        raise AssertionError("/v3/discovery:%s: Envoy would reject this 200 body:\n  %s\nbody: %s"
                             % (type_path, "\n  ".join(errors), body[:2000]))
    return json.loads(body)


# ---- the daemon ----------------------------------------------------------------

class Xdsd:
    """One xdsd process with its own directory, conf, log and port."""

    def __init__(self, base_dir, name="xdsd"):
        self.dir = Path(base_dir) / name
        self.dir.mkdir(parents=True, exist_ok=True)
        self.name = name
        self.port = free_port()
        self.conf_path = self.dir / "xdsd.conf"
        self.log_path = self.dir / "error.log"
        self.pid_path = self.dir / "xdsd.pid"
        self.prefix = REPO  # -p: relative paths in the conf resolve against it
        self.proc = None
        self._log = None
        self.stopped_rc = None

    # -- conf --

    def subst(self, text):
        """Replace {port} {dir} {repo} {plugins} {test_plugins} {pid} in text
        (str.format_map with only these names; other braces stay)."""
        names = {"port": str(self.port), "dir": str(self.dir), "repo": str(REPO),
                 "plugins": str(PLUGIN_DIR), "test_plugins": str(TEST_PLUGIN_DIR),
                 "pid": str(self.pid_path)}
        return re.sub(r"\{(port|dir|repo|plugins|test_plugins|pid)\}", lambda m: names[m.group(1)], text)

    def conf(self, sources, main="", discovery="", envoy="xds_cluster xds_cluster; refresh_delay 1s;",
             level="info", secrets_open=True):
        """A complete conf: pid and log in self.dir, plugin_dir objs/plugins,
        discovery on 127.0.0.1:self.port with 2 workers, plus `sources`
        (source blocks) and the extra main/discovery/envoy directives.
        secrets_open: serve SDS without client certificates (xdsd's default
        refuses; the tests of that pass False), so generic tests can poll
        every type over plain HTTP."""
        if secrets_open:
            discovery = "secrets_without_client_certificate on; " + discovery
        return self.subst(
            "pid {pid};\n"
            "error_log stderr %s;\n"
            "plugin_dir {plugins};\n"
            "%s\n"
            "envoy { %s }\n"
            "discovery {\n"
            "    listen 127.0.0.1:{port};\n"
            "    workers 2;\n"
            "    %s\n"
            "}\n"
            "%s\n" % (level, main, envoy, discovery, sources))

    def write_conf(self, text):
        self.conf_path.write_text(self.subst(text))
        return self.conf_path

    def file_source(self, model, name="catalog", filename=None, extra=""):
        """Write model (dict or str) to a file in self.dir and return a
        `source NAME { plugin file; path ...; }` block for it."""
        path = self.dir / (filename or (name + ".json"))
        write_model(path, model)
        return "source %s { plugin file; path %s; %s }\n" % (name, path, extra)

    # -- process --

    def command(self):
        cmd = [str(XDSD), "-p", str(self.prefix), "-c", str(self.conf_path)]
        return VALGRIND_CMD + cmd if VALGRIND else cmd

    def start(self, conf_text=None, env=None, wait="snapshot", timeout=10.0):
        """Write conf_text (when given) and start xdsd.  wait: "snapshot"
        (until a poll is answered with something other than 503),
        "listening" (until the port answers at all) or None."""
        if not XDSD.exists():
            pytest.skip("%s not built" % XDSD)
        if conf_text is not None:
            self.write_conf(conf_text)
        e = dict(os.environ)
        e.update(env or {})
        self._log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(self.command(), stdin=subprocess.DEVNULL, stdout=self._log,
                                     stderr=self._log, env=e, cwd=str(self.dir))
        if wait:
            self.wait_listening(timeout)
        if wait == "snapshot":
            self.wait_snapshot(timeout)
        return self

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def _check_alive(self):
        if self.proc is not None and self.proc.poll() is not None:
            raise AssertionError("xdsd exited with %s while we waited; log:\n%s"
                                 % (self.proc.returncode, self.log()))
        return False

    def wait_listening(self, timeout=10.0):
        def answers():
            self._check_alive()
            with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                return True
        wait_for(answers, timeout * SLOW, "xdsd to listen on 127.0.0.1:%d" % self.port, 0.02)

    def wait_snapshot(self, timeout=10.0, type_path="clusters"):
        # a small body: a test may set client_max_body_size below Envoy's ~8k
        body = json.dumps(discovery_request(type_path, node={"id": "harness", "cluster": "harness"}))

        def ready():
            self._check_alive()
            r = self.request("POST", "/v3/discovery:" + type_path, body.encode())
            if r.status not in (200, 503):
                raise AssertionError("waiting for the first snapshot: unexpected %r" % r)
            return r.status == 200
        wait_for(ready, timeout * SLOW, "xdsd's first snapshot")

    def send_signal(self, sig):
        self.proc.send_signal(sig)

    def stop(self, sig=signal.SIGTERM, timeout=15.0):
        """Send sig (SIGTERM) and wait for the exit; returns the exit code."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout * SLOW)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise AssertionError("xdsd did not exit within %.0fs of %s; log:\n%s"
                                     % (timeout * SLOW, signal.Signals(sig).name, self.log()))
        self.stopped_rc = self.proc.returncode
        if self._log:
            self._log.close()
            self._log = None
        return self.stopped_rc

    def log(self):
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def bad_log_lines(self):
        return [ln for ln in self.log().splitlines() if BAD_LOG.search(ln)]

    def wait_log(self, pattern, timeout=5.0, after=0):
        """Wait until the log (from byte offset `after`) matches regex
        pattern; returns the match."""
        rx = re.compile(pattern)

        def found():
            self._check_alive()
            return rx.search(self.log()[after:])
        return wait_for(found, timeout * SLOW, "log line matching %r" % pattern, 0.02)

    def log_size(self):
        return len(self.log())

    # -- HTTP --

    def request(self, method, path, body=None, headers=None, timeout=5.0):
        """One HTTP request on a new connection; a Response."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout * SLOW)
        try:
            h = {"Host": "xds_cluster"}
            if body is not None:
                h["Content-Type"] = "application/json"
            h.update(headers or {})
            conn.request(method, path, body=body, headers=h)
            r = conn.getresponse()
            return Response(r.status, r.getheaders(), r.read(), path)
        finally:
            conn.close()

    def poll(self, type_path, body=None, headers=None, validate=True, **req):
        """POST /v3/discovery:<type_path>.  body: a dict (sent as JSON), raw
        bytes/str, or None for discovery_request(type_path, **req).  Every
        200 is checked against Envoy's schema (validate=False to skip).
        Returns a Response."""
        if body is None:
            body = discovery_request(type_path, **req)
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
        elif isinstance(body, str):
            body = body.encode()
        r = self.request("POST", "/v3/discovery:" + type_path, body, headers)
        if validate and r.status == 200 and type_path in TYPE_URLS:
            check_discovery_body(type_path, r.body)
        return r

    def wait_new_version(self, type_path, old_version, timeout=5.0, **req):
        """Poll (every 10 ms) until type_path is served with a version other
        than old_version.  Returns (Response, seconds waited)."""
        t0 = time.monotonic()
        deadline = t0 + timeout * SLOW
        while True:
            self._check_alive()
            r = self.poll(type_path, **req)
            if r.status == 200 and r.version != old_version:
                return r, time.monotonic() - t0
            if time.monotonic() >= deadline:
                raise AssertionError("%s still at version %s after %.1fs; log:\n%s"
                                     % (type_path, old_version, timeout * SLOW, self.log()[-3000:]))
            time.sleep(0.01)

    def versions(self, types=DISCOVERY_PATHS):
        """{type: version_info} of a wildcard poll of each type."""
        out = {}
        for t in types:
            r = self.poll(t)
            assert r.status == 200, r
            out[t] = r.version
        return out


def write_model(path, model):
    """Write a model (dict -> pretty JSON, str/bytes as is) atomically
    enough for a test: write in place (the file plugin debounces)."""
    path = Path(path)
    data = json.dumps(model, indent=2) if isinstance(model, (dict, list)) else model
    if isinstance(data, str):
        data = data.encode()
    path.write_bytes(data)


def replace_file(path, model):
    """Write to a temporary name and rename over path, as editors do."""
    path = Path(path)
    tmp = path.with_name("." + path.name + ".tmp")
    write_model(tmp, model)
    os.replace(tmp, path)


def run_xdsd(args, timeout=20.0, valgrind=None, env=None):
    """Run xdsd to completion (-t, -V, or a start that must fail):
    CompletedProcess with text stdout/stderr."""
    if not XDSD.exists():
        pytest.skip("%s not built" % XDSD)
    cmd = [str(XDSD)] + [str(a) for a in args]
    if valgrind if valgrind is not None else VALGRIND:
        cmd = VALGRIND_CMD + cmd
    e = dict(os.environ)
    e.update(env or {})
    return subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, timeout=timeout * SLOW, text=True, env=e)


# ---- models --------------------------------------------------------------------

def service(name, port=8080, discovery="static", listeners=("ingress",), endpoints=None,
            domains=None, routes=None, **extra):
    s = {"name": name,
         "domains": list(domains) if domains is not None else ["%s.example.com" % name],
         "endpoints": endpoints if endpoints is not None else
         [{"address": "10.0.0.%d" % (1 + i), "port": port, "weight": 1, "zone": "eu-west-1%s" % "abc"[i],
           "region": "eu-west-1", "health": "HEALTHY"} for i in range(2)],
         "routes": routes if routes is not None else [{"prefix": "/", "timeout": "5s"}],
         "connect_timeout": "1s", "lb_policy": "ROUND_ROBIN", "discovery": discovery}
    if listeners is not None:
        s["listeners"] = list(listeners)
    s.update(extra)
    return s


def basic_model():
    """Three services (static, eds, eds) behind one listener."""
    return {
        "services": [
            service("greeter", 8085),
            service("catalog", 9001, discovery="eds",
                    routes=[{"prefix": "/api/", "timeout": "2s", "prefix_rewrite": "/"},
                            {"prefix": "/", "timeout": "2s"}]),
            service("checkout", 9101, discovery="eds",
                    routes=[{"path": "/checkout", "timeout": "10s"},
                            {"regex": "^/orders/[0-9]+$", "timeout": "3s"}]),
        ],
        "listeners": [{"name": "ingress", "address": "0.0.0.0", "port": 10000}],
    }


# ---- timings shown at the end of the run ----

TIMINGS = []


def record_timing(what, seconds):
    """Remember a measured delay; printed in pytest's terminal summary."""
    TIMINGS.append((what, seconds))
    print("%s: %.3fs" % (what, seconds))


def pytest_terminal_summary(terminalreporter):
    if TIMINGS:
        terminalreporter.section("xdsd timings")
        for what, sec in TIMINGS:
            terminalreporter.write_line("%-60s %7.3fs" % (what, sec))


# ---- fixtures --------------------------------------------------------------------

@pytest.fixture(scope="session", autouse=True)
def _schema_ready():
    """Build tests/.deps/envoy.pb once (no-op when cached)."""
    schema()


@pytest.fixture
def xdsd_factory(tmp_path, request):
    """make(name="xdsd") -> a new Xdsd in tmp_path/name (not started).
    On teardown every started instance gets SIGTERM and must exit 0 with a
    clean log."""
    made = []

    def make(name="xdsd"):
        x = Xdsd(tmp_path, name)
        made.append(x)
        return x

    yield make

    problems = []
    for x in made:
        if x.proc is None:
            continue
        try:
            rc = x.stop()
        except AssertionError as e:
            problems.append("%s: %s" % (x.name, e))
            continue
        if rc != 0:
            problems.append("%s: exit code %s after SIGTERM (%s)"
                            % (x.name, rc, "valgrind found errors" if VALGRIND and rc == 99 else "expected 0"))
        bad = x.bad_log_lines()
        if bad:
            problems.append("%s: error log has alert/emerg/sanitizer lines:\n    %s"
                            % (x.name, "\n    ".join(bad[:20])))
        if problems:
            problems.append("%s: log:\n%s" % (x.name, x.log()[-6000:]))
    if problems:
        pytest.fail("\n".join(problems), pytrace=False)


@pytest.fixture
def xdsd(xdsd_factory):
    """An Xdsd (not started): call .start(conf) in the test."""
    return xdsd_factory()
