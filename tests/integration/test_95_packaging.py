"""Packaging: the Debian packages, the systemd unit, the man pages and the
out-of-tree plugin story, tested on the machine itself (issue 8).

The module builds the packages once (packaging/build-deb, as `make deb`),
checks them with lintian, installs them with dpkg, and then runs the daemon
from the installed files exactly as the installed unit would: systemd is not
PID 1 in CI, so the test reads ExecStartPre=, ExecStart=, ExecReload=, User=,
UMask= and RuntimeDirectory= from /lib/systemd/system/xdsd.service and runs
those commands itself, as the unit's user (setpriv), with NOTIFY_SOCKET
pointing at an abstract datagram socket the test owns.  It checks every
sd_notify message (READY=1 and STATUS= after the first snapshot,
RELOADING=1 ... READY=1 around a reload, also a failed one, STOPPING=1 on
SIGTERM) and that they come from the main pid, as NotifyAccess=main wants.
It builds the example plugin from /usr/share/xdsd/plugin-example against the
installed xdsd-dev only, loads it through conf.d and a reload, and at the
end purges the packages and checks nothing is left.

Ports: the installed conf listens on 127.0.0.1:8050 (discovery) and
127.0.0.1:9901 (admin).  Conf directives may not repeat, so conf.d cannot
override them; when either port is taken on this machine, the test edits the
two `listen` lines of the installed /etc/xdsd/xdsd.conf (as an operator
would) to free ports.  The purge removes the edited file with the others.

The packaging tests need root (dpkg -i, a system user) and are skipped
otherwise; the man page checks run for everyone.  The test refuses to touch
an xdsd installation it did not make (a marker file says which one is its
own, so a crashed run's leftovers are purged by the next run).
"""

import http.client
import json
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import time
import uuid
from pathlib import Path

import pytest

from conftest import REPO, basic_model, check_discovery_body, discovery_request, record_timing

PACKAGES = ["xdsd", "xdsd-plugin-postgres", "xdsd-plugin-redis", "xdsd-dev"]
UNIT = Path("/lib/systemd/system/xdsd.service")
CONF = Path("/etc/xdsd/xdsd.conf")
CONF_D = Path("/etc/xdsd/conf.d")
PLUGIN_DIR = Path("/usr/lib/xdsd/plugins")
MARKER = Path("/var/tmp/xdsd-packaging-test.installed")
STATUS_RE = re.compile(r"^serving \d+ clusters, \d+ listeners; \d+/\d+ sources ok; generation \d+$")

is_root = os.geteuid() == 0
needs_root = pytest.mark.skipif(not is_root, reason="packaging tests install .deb packages: run as root")


def run(cmd, timeout=300, check=True, **kw):
    """Run cmd (a list), capturing output; fail with the output on error."""
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                       timeout=timeout, **kw)
    if check and p.returncode != 0:
        raise AssertionError("%s exited %d:\n%s" % (" ".join(map(str, cmd)), p.returncode,
                                                    p.stdout[-6000:]))
    return p


def installed(pkg):
    p = run(["dpkg-query", "-W", "-f=${Status}", pkg], check=False)
    return p.returncode == 0 and p.stdout.strip() == "install ok installed"


def present(pkg):
    """Installed, or removed with its conffiles still there."""
    p = run(["dpkg-query", "-W", "-f=${Status}", pkg], check=False)
    return p.returncode == 0 and p.stdout.split()[-1:] not in (["not-installed"], [])


def purge():
    run(["dpkg", "-P"] + PACKAGES)


# ---- man pages (no root needed) ------------------------------------------------

def readme_directives():
    """Every directive named in the first column of README's directive tables."""
    names = set()
    in_table = False
    for line in (REPO / "README.md").read_text().splitlines():
        if line.startswith("| directive |"):
            in_table = True
            continue
        if not line.startswith("|"):
            in_table = False
            continue
        m = re.match(r"^\| `([a-z_]+)[ ;`]", line)
        if in_table and m:
            names.add(m.group(1))
    return names


def test_man_pages_document_every_readme_directive():
    names = readme_directives()
    assert {"pid", "listen", "workers", "allow", "required", "stale_after", "path", "dsn"} <= names
    page = (REPO / "man" / "xdsd.conf.5").read_text()
    missing = [n for n in sorted(names)
               if not re.search(r'^\.B[IR]?\s+"?%s\b' % re.escape(n), page, re.M)]
    assert not missing, "directives in README.md but not in man/xdsd.conf.5: %s" % missing


@pytest.mark.parametrize("page", ["xdsd.8", "xdsd.conf.5"])
def test_man_page_renders_without_warnings(page):
    if shutil.which("groff") is None:
        pytest.skip("groff not installed")
    p = run(["groff", "-man", "-ww", "-z", str(REPO / "man" / page)])
    assert p.stdout == "", p.stdout


def test_unit_security_exposure():
    """systemd-analyze rates the unit (offline: no running systemd needed)."""
    p = run(["systemd-analyze", "security", "--offline=true", "--no-pager",
             str(REPO / "packaging" / "systemd" / "xdsd.service")], check=False)
    m = re.search(r"Overall exposure level for xdsd.service: ([0-9.]+) (\S+)", p.stdout)
    assert m, p.stdout[-3000:]
    print("systemd-analyze security: %s %s" % (m.group(1), m.group(2)))
    assert float(m.group(1)) <= 2.0, p.stdout


@pytest.mark.parametrize("where", ["abstract", "path"])
def test_sd_notify_protocol(xdsd, tmp_path, where):
    """The build under test (objs/xdsd, also the sanitizer build) speaks
    sd_notify on an abstract or a path socket: READY=1 after the first
    snapshot, RELOADING=1 / READY=1 around reloads (a failed one says why),
    STOPPING=1 on SIGTERM -- every message from the main pid."""
    notify = Notifications(tmp_path / "notify.sock" if where == "path" else None)
    try:
        conf = xdsd.conf(xdsd.file_source(basic_model()))
        xdsd.start(conf, env={"NOTIFY_SOCKET": notify.name})
        pid = xdsd.proc.pid
        ready = notify.expect("READY=1", "STATUS=", pid=pid, log=xdsd.log)
        assert ready["STATUS"] == "serving 3 clusters, 1 listeners; 1/1 sources ok; generation 1"

        xdsd.send_signal(signal.SIGHUP)
        notify.expect("RELOADING=1", "MONOTONIC_USEC=", "STATUS=reloading the configuration",
                      pid=pid, log=xdsd.log)
        done = notify.expect("READY=1", pid=pid, log=xdsd.log)
        assert done["STATUS"] == "reloaded; serving 3 clusters, 1 listeners; 1/1 sources ok; " \
                                 "generation 1", done
        built = notify.expect("STATUS=", pid=pid, log=xdsd.log)
        assert "READY" not in built and built["STATUS"].endswith("; generation 2"), built

        xdsd.write_conf(conf + "source broken { plugin no_such_plugin; }\n")
        xdsd.send_signal(signal.SIGHUP)
        notify.expect("RELOADING=1", pid=pid, log=xdsd.log)
        failed = notify.expect("READY=1", pid=pid, log=xdsd.log)
        assert failed["STATUS"].startswith("reload failed, running configuration kept: "), failed
        assert "no_such_plugin" in failed["STATUS"] and failed["STATUS"].endswith(
            "; serving 3 clusters, 1 listeners; 1/1 sources ok; generation 2"), failed
        assert xdsd.poll("clusters").status == 200

        assert xdsd.stop() == 0
        assert notify.expect("STOPPING=1", pid=pid, log=xdsd.log)["STATUS"] == "stopping: SIGTERM"
    finally:
        notify.close()


def test_sd_notify_bad_socket_name_is_ignored(xdsd):
    xdsd.start(xdsd.conf(xdsd.file_source(basic_model())), env={"NOTIFY_SOCKET": "relative/x"})
    xdsd.wait_log(r'\[warn\] NOTIFY_SOCKET "relative/x" is not a socket path or @abstract name')


# ---- packages ------------------------------------------------------------------

@pytest.fixture(scope="module")
def debs(tmp_path_factory):
    """The .deb files built from this tree: {package: path}."""
    if not is_root:
        pytest.skip("packaging tests install .deb packages: run as root")
    out = tmp_path_factory.mktemp("debs")
    t0 = time.monotonic()
    run([str(REPO / "packaging" / "build-deb"), str(out)], timeout=900)
    record_timing("packages built (dpkg-buildpackage -b)", time.monotonic() - t0)
    found = {}
    for pkg in PACKAGES:
        files = sorted(out.glob("%s_*.deb" % pkg))
        assert len(files) == 1, "no (or several) %s_*.deb in %s" % (pkg, sorted(out.iterdir()))
        found[pkg] = files[0]
    found["changes"] = next(out.glob("*.changes"))
    return found


@needs_root
def test_lintian_reports_no_errors(debs):
    p = run(["lintian", "--pedantic", "--display-info", str(debs["changes"])], check=False)
    tags = [l for l in p.stdout.splitlines() if re.match(r"^[EWIPX]: ", l)]
    print("lintian:\n  " + "\n  ".join(tags or ["(nothing)"]))
    errors = [l for l in tags if l.startswith("E: ")]
    assert not errors, "lintian errors:\n" + "\n".join(errors)
    assert p.returncode in (0, 1) and "internal error" not in p.stdout.lower(), p.stdout


@pytest.fixture(scope="module")
def system(debs):
    """The packages installed on this machine; purged at the end if a test
    has not done so."""
    if any(present(p) for p in PACKAGES):
        if not MARKER.exists():
            pytest.skip("xdsd packages are installed on this machine and were not installed "
                        "by this test: not touching them")
        purge()  # a crashed run's leftovers
    MARKER.write_text("installed by tests/integration/test_95_packaging.py\n")
    t0 = time.monotonic()
    p = run(["dpkg", "-i"] + [str(debs[p]) for p in PACKAGES], check=False)
    if p.returncode != 0:
        print(p.stdout)
        run(["apt-get", "install", "-f", "-y", "-q"],
            env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"))
    record_timing("packages installed (dpkg -i)", time.monotonic() - t0)
    assert all(installed(p) for p in PACKAGES), run(["dpkg", "-l"] + PACKAGES, check=False).stdout
    if Path("/run/systemd/system").exists():
        # systemd is running: the postinst started the service; this test
        # runs the unit's commands itself.
        run(["systemctl", "stop", "xdsd.service"], check=False)
    yield
    if any(present(p) for p in PACKAGES):
        purge()
    MARKER.unlink(missing_ok=True)


@needs_root
def test_installed_layout(system):
    for f in ["/usr/sbin/xdsd", "/usr/lib/xdsd/plugins/file.so", "/usr/lib/xdsd/plugins/http.so",
              "/usr/lib/xdsd/plugins/postgres.so", "/usr/lib/xdsd/plugins/redis.so",
              "/usr/include/xdsd/xdsd_plugin.h", "/usr/share/pkgconfig/xdsd-plugin.pc",
              "/usr/share/man/man8/xdsd.8.gz", "/usr/share/man/man5/xdsd.conf.5.gz",
              "/etc/xdsd/xdsd.conf", "/etc/xdsd/services.json", "/etc/xdsd/conf.d",
              "/usr/share/xdsd/examples/envoy-bootstrap.yaml", "/usr/share/xdsd/envoy.pb",
              "/usr/share/xdsd/plugin-example/hello.c", str(UNIT),
              "/etc/systemd/system/multi-user.target.wants/xdsd.service"]:
        assert os.path.lexists(f), f + " is missing"
    # The installed conf: installed paths, conf.d included last.
    conf = CONF.read_text()
    assert "plugin_dir  /usr/lib/xdsd/plugins;" in conf and "pid         /run/xdsd/xdsd.pid;" in conf
    assert "\nschema      /usr/share/xdsd/envoy.pb;" in conf
    assert [l for l in conf.splitlines() if l.strip() and not l.startswith("#")][-1] == \
        "include conf.d/*.conf;"
    conffiles = run(["dpkg-query", "-W", "-f=${Conffiles}", "xdsd"]).stdout
    assert "/etc/xdsd/xdsd.conf" in conffiles and "/etc/xdsd/services.json" in conffiles
    # The dedicated user: a system account without a login.
    pw = run(["getent", "passwd", "xdsd"]).stdout.strip().split(":")
    assert int(pw[2]) < 1000 and pw[6] in ("/usr/sbin/nologin", "/bin/false"), pw
    assert "xdsd version 0.1.0" in run(["/usr/sbin/xdsd", "-V"]).stdout
    assert "configure: prefix=/usr conf=/etc/xdsd/xdsd.conf" in run(["/usr/sbin/xdsd", "-V"]).stdout
    assert run(["man", "-w", "xdsd.conf"]).stdout.strip().endswith("xdsd.conf.5.gz")


@needs_root
def test_installed_schema_refuses_what_envoy_would(system, tmp_path):
    """`xdsd -t` with the installed schema: a raw cluster Envoy would reject
    is a problem; the installed conf and its catalog are fine."""
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"resources": {"clusters": [
        {"name": "bad", "type": "STATIC", "connect_timeout": "soon"}]}}))
    conf = tmp_path / "check.conf"
    conf.write_text("schema /usr/share/xdsd/envoy.pb;\n"
                    "discovery { listen 127.0.0.1:1; }\n"
                    "source bad { plugin file; path %s; }\n" % bad)
    p = run(["/usr/sbin/xdsd", "-t", "-c", str(conf)], check=False)
    assert p.returncode == 1 and "connect_timeout" in p.stdout and "test failed" in p.stdout, \
        p.stdout
    p = run(["/usr/sbin/xdsd", "-t", "-c", str(CONF)])
    assert "test is successful" in p.stdout, p.stdout


@needs_root
def test_installed_unit_verifies(system):
    p = run(["systemd-analyze", "verify", str(UNIT)], check=False)
    assert p.returncode == 0 and p.stdout.strip() == "", p.stdout


# ---- running the unit's commands -------------------------------------------------

def unit_service_settings():
    """[Service] settings of the installed unit: {key: [values]}."""
    out, section = {}, None
    for line in UNIT.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            section = line
            continue
        if section == "[Service]":
            k, _, v = line.partition("=")
            out.setdefault(k, []).append(v)
    return out


class Notifications:
    """The NOTIFY_SOCKET end: an abstract datagram socket that receives the
    daemon's messages with the sender's credentials."""

    def __init__(self, path=None):
        """An abstract socket (NOTIFY_SOCKET=@name), or one at path."""
        self.name = str(path) if path else "@xdsd-test-%d-%s" % (os.getpid(), uuid.uuid4().hex[:8])
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
        self.sock.bind("\0" + self.name[1:] if self.name.startswith("@") else self.name)
        self.seen = []

    def next(self, timeout=10.0):
        """The next message as (dict of VAR=value, sender pid, sender uid)."""
        self.sock.settimeout(timeout)
        data, anc, _, _ = self.sock.recvmsg(4096, socket.CMSG_SPACE(12))
        pid = uid = None
        for level, kind, cdata in anc:
            if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS:
                pid, uid, _ = struct.unpack("iII", cdata[:12])
        fields = dict(l.split("=", 1) for l in data.decode().split("\n") if l)
        self.seen.append(fields)
        return fields, pid, uid

    def expect(self, *want, pid, uid=None, timeout=10.0, log=lambda: ""):
        """The next message must come from pid (and uid) and match every item
        of want ("VAR=value", or "VAR=" / "VAR" for any value); returns its
        {VAR: value}.  log() is shown when it does not."""
        fields, from_pid, from_uid = self.next(timeout)
        assert from_pid == pid, "notification from pid %s, not the main pid %d: %s" % (
            from_pid, pid, fields)
        assert uid is None or from_uid == uid, fields
        for w in want:
            k, _, v = w.partition("=")
            ok = fields.get(k) == v if v else k in fields
            assert ok, "expected %s in %s (log:\n%s)" % (w, fields, log())
        return fields

    def close(self):
        self.sock.close()


class Service:
    """xdsd run from the installed files the way the installed unit runs it."""

    def __init__(self, log_path):
        self.unit = unit_service_settings()
        self.user = self.unit["User"][0]
        self.group = self.unit["Group"][0]
        self.uid = int(run(["id", "-u", self.user]).stdout)
        self.umask = int(self.unit["UMask"][0], 8)
        self.log_path = log_path
        self.proc = None
        self.notify = Notifications()
        self.rundir = Path("/run") / self.unit["RuntimeDirectory"][0]

    def as_user(self, cmdline):
        """The unit's command line run as User=/Group= with NoNewPrivileges."""
        return ["setpriv", "--reuid", self.user, "--regid", self.group, "--init-groups",
                "--no-new-privs", "--"] + cmdline.split()

    def env(self):
        return {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8",
                "NOTIFY_SOCKET": self.notify.name}

    def exec_line(self, key, i=0):
        return self.unit[key][i].replace("$MAINPID", str(self.proc.pid) if self.proc else "")

    def start(self):
        # RuntimeDirectory=: created for the service, owned by its user.
        self.rundir.mkdir(mode=0o755, exist_ok=True)
        shutil.chown(self.rundir, self.user, self.group)
        for line in self.unit["ExecStartPre"]:
            run(self.as_user(line), env=self.env(), umask=self.umask)
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen(self.as_user(self.exec_line("ExecStart")), env=self.env(),
                                     umask=self.umask, stdout=self.log, stderr=subprocess.STDOUT)
        self.t0 = time.monotonic()

    def reload(self):
        """ExecReload=, in order, stopping at the first failure like systemd."""
        for i in range(len(self.unit["ExecReload"])):
            p = run(self.as_user(self.exec_line("ExecReload", i)), env=self.env(),
                    umask=self.umask, check=False)
            if p.returncode != 0:
                return p
        return None

    def expect(self, *want, timeout=10.0):
        return self.notify.expect(*want, pid=self.proc.pid, uid=self.uid, timeout=timeout,
                                  log=self.read_log)

    def read_log(self):
        return Path(self.log_path).read_text()

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.notify.close()
        if hasattr(self, "log"):
            self.log.close()
        shutil.rmtree(self.rundir, ignore_errors=True)


def port_free(port):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def listen_ports():
    """(discovery, admin) ports of the installed conf; moved to free ports
    when 8050 or 9901 is taken on this machine (see the module docstring)."""
    if port_free(8050) and port_free(9901):
        return 8050, 9901
    d, a = free_port(), free_port()
    conf = CONF.read_text()
    conf = conf.replace("listen   127.0.0.1:8050;", "listen   127.0.0.1:%d;" % d)
    conf = conf.replace("listen  127.0.0.1:9901;", "listen  127.0.0.1:%d;" % a)
    assert ":%d;" % d in conf and ":%d;" % a in conf, "cannot find the listen lines"
    CONF.write_text(conf)
    print("8050 or 9901 is taken here: the installed conf now listens on %d and %d" % (d, a))
    return d, a


def poll_clusters(port):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        conn.request("POST", "/v3/discovery:clusters", json.dumps(discovery_request("clusters")),
                     {"Content-Type": "application/json", "Host": "xds_cluster"})
        r = conn.getresponse()
        body = r.read()
    finally:
        conn.close()
    assert r.status == 200, (r.status, body)
    doc = check_discovery_body("clusters", body)
    return sorted(res["name"] for res in doc["resources"])


def http_get(port, path):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        conn.request("GET", path)
        r = conn.getresponse()
        return r.status, r.read()
    finally:
        conn.close()


HELLO_CONF = """\
# written by tests/integration/test_95_packaging.py
source hello {
    plugin    hello;
    service   hello-oot;
    domain    hello.test;
    endpoint  127.0.0.1:9999;
    interval  1s;
}
"""


@needs_root
def test_service_start_poll_reload_stop(system, tmp_path):
    """The unit's commands from the installed files: READY=1 after the first
    snapshot, polls answered, a reload that adds the out-of-tree example
    plugin (built against the installed xdsd-dev only), a failed reload that
    keeps serving, and a clean stop."""
    discovery, admin = listen_ports()
    hello_conf = CONF_D / "50-test-hello.conf"
    broken_conf = CONF_D / "60-test-broken.conf"
    hello_so = PLUGIN_DIR / "hello.so"
    svc = Service(tmp_path / "xdsd.log")
    try:
        # -- start: ExecStartPre (xdsd -t), ExecStart; READY=1 with a STATUS=
        svc.start()
        ready = svc.expect("READY=1", "STATUS=")
        record_timing("installed xdsd: start to READY=1", time.monotonic() - svc.t0)
        assert STATUS_RE.match(ready["STATUS"]), ready
        assert ready["STATUS"].startswith("serving 4 clusters, 1 listeners; 1/1 sources ok;"), ready
        names = poll_clusters(discovery)
        assert "greeter" in names and "hello-oot" not in names, names
        assert http_get(admin, "/ready")[0] == 200
        pid_file = svc.rundir / "xdsd.pid"
        assert pid_file.read_text().strip() == str(svc.proc.pid)
        assert pid_file.stat().st_uid == svc.uid and (pid_file.stat().st_mode & 0o077) == 0

        # -- the example plugin, built out of tree against xdsd-dev only
        src = tmp_path / "plugin-example"
        shutil.copytree("/usr/share/xdsd/plugin-example", src)
        assert run(["pkg-config", "--cflags", "xdsd-plugin"]).stdout.strip() == \
            "-I/usr/include/xdsd"
        assert run(["pkg-config", "--variable=plugindir", "xdsd-plugin"]).stdout.strip() == \
            str(PLUGIN_DIR)
        env = {k: v for k, v in os.environ.items() if k not in ("CFLAGS", "CPATH", "C_INCLUDE_PATH")}
        run(["make", "-C", str(src), "CFLAGS=-O2 -Werror"], env=env)
        run(["make", "-C", str(src), "install"], env=env)
        assert hello_so.exists()
        hello_conf.write_text(HELLO_CONF)

        # -- reload: ExecReload (xdsd -t, then kill -HUP $MAINPID)
        t0 = time.monotonic()
        assert svc.reload() is None
        reloading = svc.expect("RELOADING=1", "MONOTONIC_USEC", "STATUS=")
        assert int(reloading["MONOTONIC_USEC"]) > 0
        done = svc.expect("READY=1", "STATUS=")
        assert done["STATUS"].startswith("reloaded; "), done
        status = svc.expect("STATUS=")  # the new generation's first snapshot
        record_timing("installed xdsd: reload to new snapshot", time.monotonic() - t0)
        assert "READY=1" not in status and STATUS_RE.match(status["STATUS"]), status
        assert status["STATUS"].startswith("serving 5 clusters, 1 listeners; 2/2 sources ok;"), \
            status
        assert "hello-oot" in poll_clusters(discovery)

        # -- a conf that does not load: ExecReload stops at `xdsd -t`; a bare
        # SIGHUP gets RELOADING=1, then READY=1 with a STATUS= that says why
        broken_conf.write_text("source broken { plugin no_such_plugin; }\n")
        p = svc.reload()
        assert p is not None and "no_such_plugin" in p.stdout and "test failed" in p.stdout, p
        svc.proc.send_signal(signal.SIGHUP)
        svc.expect("RELOADING=1")
        failed = svc.expect("READY=1", "STATUS=")
        assert failed["STATUS"].startswith("reload failed, running configuration kept: "), failed
        assert "no_such_plugin" in failed["STATUS"] and "\n" not in failed["STATUS"], failed
        assert "hello-oot" in poll_clusters(discovery)
        broken_conf.unlink()

        # -- stop: SIGTERM (systemd's default KillSignal)
        svc.proc.send_signal(signal.SIGTERM)
        stopping = svc.expect("STOPPING=1")
        assert stopping.get("STATUS") == "stopping: SIGTERM", stopping
        assert svc.proc.wait(timeout=15) == 0, svc.read_log()
        assert not pid_file.exists()
        log = svc.read_log()
        assert not re.search(r"\[(alert|emerg)\]", log), log
        assert 'source "hello"' in log, log
    finally:
        svc.stop()
        for f in (hello_conf, broken_conf, hello_so):
            f.unlink(missing_ok=True)


@needs_root
def test_purge_leaves_nothing(system):
    # What the test itself added (the example plugin, conf.d files) is gone
    # by now; everything else belongs to the packages.
    t0 = time.monotonic()
    purge()
    record_timing("packages purged (dpkg -P)", time.monotonic() - t0)
    assert not any(present(p) for p in PACKAGES)
    for f in ["/usr/sbin/xdsd", "/usr/lib/xdsd", "/etc/xdsd", "/usr/include/xdsd",
              "/usr/share/xdsd", "/usr/share/pkgconfig/xdsd-plugin.pc", str(UNIT),
              "/etc/systemd/system/multi-user.target.wants/xdsd.service",
              "/usr/share/man/man8/xdsd.8.gz", "/usr/share/man/man5/xdsd.conf.5.gz"]:
        assert not os.path.lexists(f), f + " is still there after dpkg -P"
