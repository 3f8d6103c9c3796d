"""A real, throw-away PostgreSQL server for integration tests.

PostgreSQL refuses to run as root, and CI runs as root: when we are root,
initdb and postgres run as the unprivileged user `nobody` (subprocess's
user=/group=, which is what runuser does, minus a wrapper process that would
sit between us and the postmaster's signals), in a temporary directory that
nobody owns (made with tempfile.mkdtemp and
chmod 755, since pytest's own tmp dirs under /tmp/pytest-of-root are 0700).
The server listens on a Unix socket only (listen_addresses=''), in a socket
directory inside that temporary directory; fsync is off, so initdb and
every commit are fast (synchronous_commit stays on: a killed server must
not lose what a test committed).

    srv = PgServer()           # finds /usr/lib/postgresql/*/bin
    srv.start()                # initdb (once) + postgres; waits until ready
    db = srv.create_database("t1", schema="conf/examples/postgres-schema.sql")
    srv.psql("UPDATE ...", db)   # runs psql, raises on any SQL error
    srv.stop("immediate")      # SIGQUIT: like a crash, no checkpoint
    srv.start(port=other)      # same data directory, another socket name
    srv.destroy()              # stop and remove everything

Only the standard library is used.
"""

import glob
import os
import pwd
import re
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

RUN_AS = "nobody"


def find_bindir():
    """The newest /usr/lib/postgresql/*/bin with initdb and postgres, or None."""
    def version(d):
        m = re.search(r"/postgresql/(\d+)(?:\.(\d+))?/bin$", d)
        return (int(m.group(1)), int(m.group(2) or 0)) if m else (0, 0)
    dirs = [d for d in glob.glob("/usr/lib/postgresql/*/bin")
            if os.path.exists(os.path.join(d, "initdb")) and os.path.exists(os.path.join(d, "postgres"))]
    return max(dirs, key=version) if dirs else None


class PgError(AssertionError):
    pass


class PgServer:
    """One PostgreSQL cluster in a temporary directory, reachable on a Unix
    socket in self.sockdir at self.port, superuser `postgres`, trust auth."""

    def __init__(self, port=5432):
        self.bindir = find_bindir()
        if self.bindir is None:
            raise RuntimeError("PostgreSQL server binaries not found in /usr/lib/postgresql/*/bin "
                               "(apt-get install postgresql)")
        self.dir = Path(tempfile.mkdtemp(prefix="xdsd-pg-"))
        os.chmod(self.dir, 0o755)
        self.datadir = self.dir / "data"
        self.sockdir = self.dir / "sock"
        self.logfile = self.dir / "postgres.log"
        self.port = port
        self.proc = None
        self.as_root = os.geteuid() == 0
        self.sockdir.mkdir(mode=0o755)
        if self.as_root:
            pw = pwd.getpwnam(RUN_AS)
            os.chown(self.dir, pw.pw_uid, pw.pw_gid)
            os.chown(self.sockdir, pw.pw_uid, pw.pw_gid)

    # -- helpers --

    def _bin(self, name):
        return os.path.join(self.bindir, name)

    def _as_server_user(self):
        """subprocess keyword arguments that run a command as the
        unprivileged user when we are root."""
        if not self.as_root:
            return {}
        pw = pwd.getpwnam(RUN_AS)
        return {"user": pw.pw_uid, "group": pw.pw_gid, "extra_groups": [],
                "env": dict(os.environ, HOME=str(self.dir), USER=RUN_AS, LOGNAME=RUN_AS)}

    def dsn(self, dbname="postgres", **extra):
        """A libpq conninfo string for dbname on this server."""
        parts = ["host=%s" % self.sockdir, "port=%d" % self.port, "dbname=%s" % dbname,
                 "user=postgres"]
        parts += ["%s=%s" % kv for kv in extra.items()]
        return " ".join(parts)

    # -- life cycle --

    def initdb(self):
        if (self.datadir / "PG_VERSION").exists():
            return
        r = subprocess.run([self._bin("initdb"), "-D", str(self.datadir), "-A", "trust",
                            "-U", "postgres", "-E", "UTF8", "--locale=C", "--no-sync"],
                           stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           text=True, timeout=120, cwd=str(self.dir), **self._as_server_user())
        if r.returncode != 0:
            raise RuntimeError("initdb failed:\n" + r.stdout)

    def start(self, port=None, timeout=30.0):
        """Start postgres (initdb first when needed) and wait until it
        accepts connections.  port: listen on another socket name."""
        if port is not None:
            self.port = port
        self.initdb()
        log = open(self.logfile, "ab")
        try:
            cmd = [self._bin("postgres"), "-D", str(self.datadir),
                   "-k", str(self.sockdir), "-p", str(self.port),
                   "-c", "listen_addresses=", "-c", "fsync=off",
                   "-c", "full_page_writes=off",
                   "-c", "max_connections=40", "-c", "shared_buffers=16MB",
                   "-c", "log_min_messages=warning"]
            self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                         cwd=str(self.dir), start_new_session=True,
                                         **self._as_server_user())
        finally:
            log.close()
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError("postgres exited with %s:\n%s" % (self.proc.returncode, self.log()[-3000:]))
            r = subprocess.run([self._bin("pg_isready"), "-q", "-h", str(self.sockdir), "-p", str(self.port),
                                "-U", "postgres", "-d", "postgres"], stdin=subprocess.DEVNULL)
            if r.returncode == 0:
                return self
            if time.monotonic() > deadline:
                raise RuntimeError("postgres not ready after %.0fs:\n%s" % (timeout, self.log()[-3000:]))
            time.sleep(0.02)

    def stop(self, mode="fast", timeout=30.0):
        """Stop the server: "fast" (SIGINT: clean), "immediate" (SIGQUIT:
        like a crash) or "kill" (SIGKILL to the whole process group)."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            if mode == "kill":
                # the postmaster leads its own process group: kill the backends too
                os.killpg(self.proc.pid, signal.SIGKILL)
            else:
                self.proc.send_signal(signal.SIGQUIT if mode == "immediate" else signal.SIGINT)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.proc = None

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def destroy(self):
        try:
            self.stop("immediate")
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)

    def log(self):
        try:
            return self.logfile.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    # -- SQL --

    def psql(self, sql=None, dbname="postgres", file=None, port=None, timeout=30.0):
        """Run sql (a string: one statement or several, each in its own
        transaction unless wrapped in BEGIN/COMMIT) or a file through psql;
        raises PgError on any error; returns stdout (unaligned, tuples only)."""
        cmd = [self._bin("psql"), "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1",
               "-h", str(self.sockdir), "-p", str(port or self.port), "-U", "postgres", "-d", dbname]
        if file is not None:
            cmd += ["-f", str(file)]
            stdin = None
        else:
            stdin = sql
        r = subprocess.run(cmd, input=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           text=True, timeout=timeout)
        if r.returncode != 0:
            raise PgError("psql failed (%s): %s\nSQL: %s" % (r.returncode, r.stderr.strip(),
                                                             sql if sql is not None else file))
        return r.stdout

    def create_database(self, name, schema=None):
        """A fresh database (dropped first if it exists), optionally loaded
        from a SQL file.  Returns its name."""
        self.psql('DROP DATABASE IF EXISTS "%s" WITH (FORCE);\nCREATE DATABASE "%s";' % (name, name))
        if schema is not None:
            self.psql(dbname=name, file=schema)
        return name


def module_server():
    """A PgServer for a whole test module, destroyed after it: the body of
    the modules' `pg` fixture (pg = pytest.fixture(scope="module")(...))."""
    import pytest
    if find_bindir() is None:
        pytest.skip("PostgreSQL server binaries not installed")
    srv = PgServer()
    try:
        srv.start()
        yield srv
    finally:
        srv.destroy()
