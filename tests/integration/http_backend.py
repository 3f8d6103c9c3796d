"""A small real HTTP server for the http source plugin's tests.

ModelServer serves one JSON model document (changeable at any time) from a
thread of the test process, the way a configuration API would: with an
ETag and a Last-Modified, answering 304 to a matching If-None-Match.  It
counts requests, records the headers of each, and can be told to misbehave:
answer a status, send garbage, send a huge body (honestly sized, or a
Content-Length it never delivers), sleep before answering, or leave the
validators out.  stop() closes the listening socket (connections are then
refused, as with a killed server); start() again listens on the same port.

Standard library only.
"""

import hashlib
import http.server
import json
import socket
import threading
import time
from email.utils import formatdate


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as real APIs do

    def log_message(self, fmt, *args):  # quiet
        pass

    def do_GET(self):
        srv = self.server.model_server
        with srv.lock:
            srv.requests.append({"path": self.path, "headers": {k.lower(): v for k, v in self.headers.items()},
                                 "time": time.monotonic()})
            body, etag, lm = srv.body, srv.etag, srv.last_modified
            mode, arg = srv.mode, srv.mode_arg
        try:
            self._answer(srv, mode, arg, body, etag, lm)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def _send(self, status, body, headers=(), length=None):
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        if status != 304:
            self.send_header("Content-Length", str(len(body) if length is None else length))
        self.end_headers()
        if status != 304 and body:
            self.wfile.write(body)
        with self.server.model_server.lock:
            self.server.model_server.answers.append(status)

    def _answer(self, srv, mode, arg, body, etag, lm):
        if mode == "slow":
            # sleep `arg` seconds (or until the server is stopped), then answer
            srv.release.wait(arg)
            mode = "ok"
        if mode == "status":
            self._send(arg, b'{"error": "backend trouble"}', [("Content-Type", "application/json")])
            return
        if mode == "garbage":
            self._send(200, arg, [("Content-Type", "application/json")])
            return
        if mode == "huge":
            # an honest Content-Length of `arg` bytes, streamed
            self.send_response(200)
            self.send_header("Content-Length", str(arg))
            self.end_headers()
            chunk = b" " * 65536
            left = arg
            while left > 0 and not srv.release.is_set():
                n = min(left, len(chunk))
                self.wfile.write(chunk[:n])
                left -= n
            with srv.lock:
                srv.answers.append(200)
            return
        if mode == "huge_chunked":
            # `arg` bytes in 64 KiB chunks, no Content-Length
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            left = arg
            while left > 0 and not srv.release.is_set():
                n = min(left, 65536)
                self.wfile.write(b"%x\r\n" % n + b" " * n + b"\r\n")
                left -= n
            self.wfile.write(b"0\r\n\r\n")
            return
        if mode == "huge_eof":
            # `arg` bytes delimited by closing the connection
            self.close_connection = True
            self.send_response(200)
            self.send_header("Connection", "close")
            self.end_headers()
            left = arg
            while left > 0 and not srv.release.is_set():
                n = min(left, 65536)
                self.wfile.write(b" " * n)
                left -= n
            return
        if mode == "raw":
            # bytes as they are, then close: a broken HTTP server
            self.close_connection = True
            self.wfile.write(arg)
            return
        if mode == "lying_length":
            # declares `arg` bytes, sends a little, then stalls
            self.send_response(200)
            self.send_header("Content-Length", str(arg))
            self.end_headers()
            self.wfile.write(b"{")
            self.wfile.flush()
            srv.release.wait(10)
            return
        validators = mode != "no_validators"
        headers = [("Content-Type", "application/json")]
        if validators:
            headers += [("ETag", etag), ("Last-Modified", lm)]
            inm = self.headers.get("If-None-Match")
            if inm is not None and inm == etag:
                self._send(304, b"", headers)
                return
        self._send(200, body, headers)


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, addr, model_server, family):
        self.address_family = family
        self.model_server = model_server
        super().__init__(addr, _Handler)

    def process_request_thread(self, request, client_address):
        with self.model_server.lock:
            self.model_server.conns.add(request)
            self.model_server.connections += 1
        try:
            super().process_request_thread(request, client_address)
        finally:
            with self.model_server.lock:
                self.model_server.conns.discard(request)

    def server_bind(self):
        if self.address_family == socket.AF_INET6:
            self.socket.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)  # dual stack
        super().server_bind()


class ModelServer:
    """serve(model) / set_mode(...) / requests / stop() / start()."""

    def __init__(self, model, host="127.0.0.1", port=0):
        self.lock = threading.Lock()
        self.requests = []  # {"path", "headers" (lower-case names), "time"}
        self.answers = []   # status codes sent
        self.mode, self.mode_arg = "ok", None
        self.release = threading.Event()
        self.conns = set()  # accepted sockets still open
        self.connections = 0  # accepted so far
        self.host = host
        self.port = port
        self._srv = None
        self._thread = None
        self.set_model(model)
        self.start()

    # -- content --

    def set_model(self, model):
        """Serve model (dict -> JSON; str/bytes as is) with a new ETag."""
        data = json.dumps(model, indent=1) if isinstance(model, (dict, list)) else model
        if isinstance(data, str):
            data = data.encode()
        with self.lock:
            self.body = data
            self.etag = '"%s"' % hashlib.sha256(data).hexdigest()[:16]
            self.last_modified = formatdate(time.time(), usegmt=True)

    def set_mode(self, mode, arg=None):
        """ok | status N | garbage BYTES | huge N | huge_chunked N | huge_eof N |
        lying_length N | raw BYTES | slow SECONDS | no_validators"""
        with self.lock:
            self.mode, self.mode_arg = mode, arg
        if mode != "slow":
            self.release.set()
            self.release = threading.Event()

    # -- observations --

    def count(self):
        with self.lock:
            return len(self.requests)

    def last_headers(self):
        with self.lock:
            return dict(self.requests[-1]["headers"]) if self.requests else {}

    def requests_since(self, n):
        with self.lock:
            return list(self.requests[n:])

    def answers_since(self, n):
        with self.lock:
            return list(self.answers[n:])

    # -- life cycle --

    @property
    def url(self):
        host = "[%s]" % self.host if ":" in self.host else self.host
        return "http://%s:%d" % (host, self.port)

    def start(self):
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        self._srv = _Server((self.host, self.port), self, family)
        self.port = self._srv.server_address[1]
        self._thread = threading.Thread(target=self._srv.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)
        self._thread.start()
        return self

    def stop(self):
        """Stop listening and cut the connections that are open."""
        if self._srv is None:
            return
        self.release.set()
        self._srv.shutdown()
        self._srv.server_close()
        with self.lock:
            conns = list(self.conns)
        for c in conns:
            try:
                c.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self._thread.join(5)
        self._srv = None
        self.release = threading.Event()


class BlackHoleDns:
    """A UDP 'nameserver' that reads queries and never answers."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.queries = 0
        self._stop = False
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        self.sock.settimeout(0.05)
        while not self._stop:
            try:
                self.sock.recvfrom(2048)
                self.queries += 1
            except socket.timeout:
                pass
            except OSError:
                return

    def stop(self):
        self._stop = True
        self._thread.join(2)
        self.sock.close()


class TinyDns(BlackHoleDns):
    """A UDP nameserver answering names that start with "nx" with NXDOMAIN,
    every other A query with 127.0.0.1 and every other query with an empty
    NOERROR answer."""

    def _run(self):
        self.sock.settimeout(0.05)
        while not self._stop:
            try:
                q, peer = self.sock.recvfrom(2048)
            except socket.timeout:
                continue
            except OSError:
                return
            self.queries += 1
            try:
                self.sock.sendto(self._answer(q), peer)
            except OSError:
                pass

    @staticmethod
    def _answer(q):
        qid, qd_end = q[:2], 12
        while q[qd_end] != 0:
            qd_end += q[qd_end] + 1
        qd_end += 1
        qtype = int.from_bytes(q[qd_end:qd_end + 2], "big")
        question = q[12:qd_end + 4]
        if q[13:15] == b"nx":
            return qid + b"\x81\x83" + b"\x00\x01\x00\x00\x00\x00\x00\x00" + question
        if qtype == 1:
            answer = (b"\xc0\x0c" + b"\x00\x01\x00\x01" + (60).to_bytes(4, "big") + b"\x00\x04" +
                      bytes([127, 0, 0, 1]))
            ancount = 1
        else:
            answer, ancount = b"", 0
        header = qid + b"\x81\x80" + b"\x00\x01" + ancount.to_bytes(2, "big") + b"\x00\x00\x00\x00"
        return header + question + answer


def model_servers(default=None):
    """The body of a fixture that yields make(model=None, **kw) -> a started
    ModelServer (serving `default` when model is None), and stops them all
    after the test."""
    servers = []

    def make(model=None, **kw):
        s = ModelServer(model if model is not None else default, **kw)
        servers.append(s)
        return s

    yield make
    for s in servers:
        s.stop()
