"""A real, throw-away Redis server for integration tests, and a tiny client.

    srv = RedisServer(tmp_path)              # a free port, a data dir in tmp_path
    srv.start("--notify-keyspace-events", "KEA")   # extra redis-server arguments
    srv.cmd("SET", "xds:model", json.dumps(model))
    srv.kill()                               # SIGKILL, like a crash
    srv.start()                              # same port again, empty (no persistence)
    srv.stop()                               # SIGTERM and wait

redis-server runs in the foreground as a child process (`--save ''
--appendonly no --bind 127.0.0.1`, so nothing is written to disk and nothing
outside the machine can reach it); start() returns once it answers PING.
The client speaks RESP2 over a plain socket: only the standard library is
used (no redis-py on a fresh Debian).
"""

import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path


class RedisError(Exception):
    """An error reply (-ERR ...) from the server."""


def _free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RedisClient:
    """One RESP2 connection: cmd(*args) sends a command and returns its
    reply (bytes, int, list, None; status replies as str); error replies
    raise RedisError."""

    def __init__(self, port=None, unix=None, timeout=5.0):
        if unix is not None:
            self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.sock.settimeout(timeout)
            self.sock.connect(str(unix))
        else:
            self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.buf = b""

    def close(self):
        self.sock.close()

    def send(self, *args):
        out = [b"*%d\r\n" % len(args)]
        for a in args:
            if isinstance(a, str):
                a = a.encode()
            elif isinstance(a, int):
                a = str(a).encode()
            out.append(b"$%d\r\n%s\r\n" % (len(a), a))
        self.sock.sendall(b"".join(out))

    def cmd(self, *args):
        self.send(*args)
        return self.reply()

    def _line(self):
        while b"\r\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("redis closed the connection")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def _exact(self, n):
        while len(self.buf) < n + 2:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("redis closed the connection")
            self.buf += chunk
        data, self.buf = self.buf[:n], self.buf[n + 2:]
        return data

    def reply(self):
        line = self._line()
        t, rest = line[:1], line[1:]
        if t == b"+":
            return rest.decode()
        if t == b"-":
            raise RedisError(rest.decode())
        if t == b":":
            return int(rest)
        if t == b"$":
            n = int(rest)
            return None if n < 0 else self._exact(n)
        if t == b"*":
            n = int(rest)
            return None if n < 0 else [self.reply() for _ in range(n)]
        raise RedisError("unexpected RESP line %r" % line)


class RedisServer:
    """One redis-server process on 127.0.0.1:self.port (and optionally a
    Unix socket), with its working directory in base_dir."""

    def __init__(self, base_dir, name="redis", port=None):
        if shutil.which("redis-server") is None:
            raise RuntimeError("redis-server not found (apt-get install redis-server)")
        self.dir = Path(base_dir) / name
        self.dir.mkdir(parents=True, exist_ok=True)
        self.port = port or _free_port()
        self.unix = self.dir / "redis.sock"
        self.logfile = self.dir / "redis.log"
        self.proc = None
        self.password = None  # for the harness's own client, when requirepass is used
        self.user = None
        self._client = None

    def start(self, *extra, password=None, user=None, timeout=10.0):
        """Start redis-server with `extra` arguments; password/user are what
        the harness's client authenticates with (set them when the server
        needs AUTH).  Returns self once PING is answered."""
        self.password, self.user = password, user
        argv = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
                "--save", "", "--appendonly", "no", "--dir", str(self.dir),
                "--unixsocket", str(self.unix), "--unixsocketperm", "700",
                "--daemonize", "no", "--logfile", ""] + [str(a) for a in extra]
        log = open(self.logfile, "ab")
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                     cwd=str(self.dir))
        log.close()
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError("redis-server exited with %s:\n%s"
                                   % (self.proc.returncode, self.logfile.read_text(errors="replace")))
            try:
                c = self._connect()
                if c.cmd("PING") == "PONG":
                    self._client = c
                    return self
            except (OSError, ConnectionError, RedisError):
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("redis-server on port %d did not answer PING" % self.port)
            time.sleep(0.01)

    def _connect(self):
        c = RedisClient(self.port)
        if self.password is not None:
            if self.user is not None:
                c.cmd("AUTH", self.user, self.password)
            else:
                c.cmd("AUTH", self.password)
        return c

    def client(self):
        """A new connection (authenticated like the harness's own)."""
        return self._connect()

    def cmd(self, *args, db=None):
        """Run one command on the harness's connection (in database db when
        given; the connection returns to database 0 afterwards)."""
        if db is not None:
            self._client.cmd("SELECT", db)
            try:
                return self._client.cmd(*args)
            finally:
                self._client.cmd("SELECT", 0)
        return self._client.cmd(*args)

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def _close_client(self):
        if self._client is not None:
            self._client.close()
            self._client = None

    def kill(self):
        """SIGKILL: the server vanishes as in a crash."""
        self._close_client()
        if self.alive():
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self):
        """SIGTERM and wait (no data is saved: --save '')."""
        self._close_client()
        if self.alive():
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if os.path.exists(self.unix):
            try:
                os.unlink(self.unix)
            except OSError:
                pass
