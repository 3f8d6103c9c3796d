"""TLS on the discovery listener: TLS 1.2+ only, the server certificate,
client certificates required with ssl_verify_client (the standard way Envoy
authenticates to its control plane), certificates reloaded on SIGHUP, and
precise conf errors.  Certificates are made by the openssl CLI per test."""

import http.client
import json
import signal
import socket
import ssl
import subprocess
import time
import warnings

import pytest

from conftest import REPO, SLOW, basic_model, discovery_request, run_xdsd, schema


def openssl(*args, cwd):
    subprocess.run(["openssl"] + list(args), cwd=cwd, check=True, capture_output=True)


@pytest.fixture
def pki(tmp_path):
    """A CA, a server certificate for 127.0.0.1 (two generations) and a client
    certificate with a SPIFFE URI SAN."""
    d = tmp_path / "pki"
    d.mkdir()
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=test-ca",
            "-keyout", "ca.key", "-out", "ca.crt", cwd=d)
    for name, san in (("server", "IP:127.0.0.1"), ("server2", "IP:127.0.0.1"),
                      ("client", "URI:spiffe://mesh/edge/proxy-1")):
        openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=%s" % name,
                "-keyout", "%s.key" % name, "-out", "%s.csr" % name, cwd=d)
        (d / ("%s.ext" % name)).write_text("subjectAltName=%s\n" % san)
        openssl("x509", "-req", "-in", "%s.csr" % name, "-CA", "ca.crt", "-CAkey", "ca.key",
                "-CAcreateserial", "-days", "2", "-extfile", "%s.ext" % name, "-out", "%s.crt" % name,
                cwd=d)
    return d


def tls_conf(xdsd, pki, extra=""):
    return xdsd.conf(xdsd.file_source(basic_model()),
                     discovery="ssl_certificate %s/server.crt; ssl_certificate_key %s/server.key; %s"
                     % (pki, pki, extra))


def client_ctx(pki, cert=True, max_version=None):
    ctx = ssl.create_default_context(cafile=str(pki / "ca.crt"))
    if cert:
        ctx.load_cert_chain(str(pki / "client.crt"), str(pki / "client.key"))
    if max_version:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # TLS 1.1 on purpose
            ctx.maximum_version = max_version
    return ctx


def tls_poll(xdsd, ctx, type_path="clusters"):
    conn = http.client.HTTPSConnection("127.0.0.1", xdsd.port, context=ctx, timeout=5 * SLOW)
    try:
        conn.request("POST", "/v3/discovery:" + type_path,
                     body=json.dumps(discovery_request(type_path)).encode(),
                     headers={"Content-Type": "application/json"})
        r = conn.getresponse()
        return r.status, r.read(), conn.sock.getpeercert()
    finally:
        conn.close()


def start_tls(xdsd, conf):
    # the harness waits with plain HTTP; here readiness is the log line
    xdsd.start(conf, wait=None)
    xdsd.wait_log(r"snapshot 1 built")


def test_tls_poll_and_tls12_minimum(xdsd, pki):
    start_tls(xdsd, tls_conf(xdsd, pki))
    status, body, cert = tls_poll(xdsd, client_ctx(pki, cert=False))
    assert status == 200
    schema().check_response(body.decode(), "type.googleapis.com/envoy.config.cluster.v3.Cluster")
    assert dict(x[0] for x in cert["subject"])["commonName"] == "server"
    with pytest.raises(ssl.SSLError):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            tls_poll(xdsd, client_ctx(pki, cert=False, max_version=ssl.TLSVersion.TLSv1_1))
    # plain HTTP on the TLS port gets no answer
    s = socket.create_connection(("127.0.0.1", xdsd.port), timeout=3 * SLOW)
    s.sendall(b"POST /v3/discovery:clusters HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}")
    try:
        data = s.recv(100)
    except ConnectionResetError:
        data = b""
    s.close()
    assert not data.startswith(b"HTTP/1.1 200"), data


def test_client_certificate_required(xdsd, pki):
    start_tls(xdsd, tls_conf(xdsd, pki, "ssl_client_certificate %s/ca.crt; ssl_verify_client on;" % pki))
    status, _, _ = tls_poll(xdsd, client_ctx(pki, cert=True))
    assert status == 200
    with pytest.raises((ssl.SSLError, ConnectionResetError, http.client.RemoteDisconnected, BrokenPipeError)):
        tls_poll(xdsd, client_ctx(pki, cert=False))
    xdsd.wait_log(r"TLS: .*(peer did not return a certificate|certificate required)")


def test_certificate_reloaded_on_sighup(xdsd, pki):
    start_tls(xdsd, tls_conf(xdsd, pki))
    assert dict(x[0] for x in tls_poll(xdsd, client_ctx(pki, cert=False))[2]["subject"])["commonName"] == "server"
    (pki / "server.crt").write_bytes((pki / "server2.crt").read_bytes())
    (pki / "server.key").write_bytes((pki / "server2.key").read_bytes())
    mark = xdsd.log_size()
    xdsd.send_signal(signal.SIGHUP)
    xdsd.wait_log(r"reload complete", after=mark)
    # the running workers take the new context (no new sockets, no lost connections)
    deadline = time.monotonic() + 3 * SLOW
    while True:
        status, _, cert = tls_poll(xdsd, client_ctx(pki, cert=False))
        cn = dict(x[0] for x in cert["subject"])["commonName"]
        if cn == "server2" or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert status == 200 and cn == "server2"
    assert "listening on" not in xdsd.log()[mark:]


def test_tls_conf_errors(xdsd, pki):
    cases = [
        ("ssl_certificate %s/server.crt;" % pki, "TLS needs both ssl_certificate and ssl_certificate_key"),
        ("ssl_certificate %s/server.crt; ssl_certificate_key %s/client.key;" % (pki, pki),
         "key values mismatch"),
        ("ssl_certificate %s/nope.crt; ssl_certificate_key %s/server.key;" % (pki, pki),
         'ssl_certificate "%s/nope.crt"' % pki),
        ("ssl_certificate %s/server.crt; ssl_certificate_key %s/server.key; ssl_verify_client on;" % (pki, pki),
         "ssl_verify_client on needs ssl_client_certificate"),
    ]
    for extra, want in cases:
        conf = xdsd.write_conf(xdsd.conf(xdsd.file_source(basic_model()), discovery=extra))
        r = run_xdsd(["-T", "-c", conf])
        assert r.returncode == 1 and want in r.stderr and 'directive "discovery"' in r.stderr, (extra, r.stderr)


def test_tls_bootstrap_example_is_valid():
    yaml = pytest.importorskip("yaml")
    doc = yaml.safe_load((REPO / "conf" / "examples" / "envoy-bootstrap-tls.yaml").read_text())
    assert schema().message_errors("envoy.config.bootstrap.v3.Bootstrap", doc) == []
    tls = doc["static_resources"]["clusters"][0]["transport_socket"]
    assert tls["typed_config"]["@type"].endswith("UpstreamTlsContext")


# ---- authorization ------------------------------------------------------------

def node_req(type_path, node_id, cluster, names=None):
    return discovery_request(type_path, resource_names=names, node={"id": node_id, "cluster": cluster})


def test_authorize_by_address(xdsd):
    xdsd.start(xdsd.conf(xdsd.file_source(basic_model()),
                         discovery="authorize address 127.0.0.0/8 { clusters edge; ids 'edge-*' 'ops'; }"),
               wait="listening")
    xdsd.wait_log(r"snapshot 1 built")
    assert xdsd.poll("clusters", node_req("clusters", "edge-1", "edge")).status == 200
    assert xdsd.poll("clusters", node_req("clusters", "ops", "edge")).status == 200
    r = xdsd.poll("clusters", node_req("clusters", "edge-1", "payments"))
    assert r.status == 403 and b'node "edge-1" (cluster "payments") is not allowed' in r.body, r
    xdsd.wait_log(r'refused clusters: node "edge-1" \(cluster "payments"\) is not allowed')
    assert xdsd.poll("clusters", node_req("clusters", "other", "edge")).status == 403


def test_authorize_address_not_matching(xdsd):
    xdsd.start(xdsd.conf(xdsd.file_source(basic_model()),
                         discovery="authorize address 10.0.0.0/8 { clusters edge; }"), wait="listening")
    xdsd.wait_log(r"snapshot 1 built")
    r = xdsd.poll("clusters", node_req("clusters", "edge-1", "edge"))
    assert r.status == 403 and b"no authorize rule matches this client" in r.body


def test_authorize_by_certificate_identity(xdsd, pki):
    extra = ("ssl_client_certificate %s/ca.crt; ssl_verify_client on; "
             "authorize identity 'spiffe://mesh/edge/*' { clusters edge; ids 'proxy-*'; }" % pki)
    start_tls(xdsd, xdsd.conf(xdsd.file_source(basic_model()), secrets_open=False,
                              discovery="ssl_certificate %s/server.crt; ssl_certificate_key %s/server.key; %s"
                              % (pki, pki, extra)))
    ctx = client_ctx(pki, cert=True)

    def poll(node_id, cluster, type_path="clusters"):
        conn = http.client.HTTPSConnection("127.0.0.1", xdsd.port, context=ctx, timeout=5 * SLOW)
        try:
            conn.request("POST", "/v3/discovery:" + type_path,
                         body=json.dumps(node_req(type_path, node_id, cluster)).encode())
            r = conn.getresponse()
            return r.status, r.read()
        finally:
            conn.close()

    assert poll("proxy-1", "edge")[0] == 200
    status, body = poll("proxy-1", "billing")
    assert status == 403 and b"not allowed" in body
    assert poll("router-9", "edge")[0] == 403
    # SDS with a verified client certificate is allowed
    assert poll("proxy-1", "edge", "secrets")[0] == 200


def test_secrets_need_a_client_certificate(xdsd, pki):
    xdsd.start(xdsd.conf(xdsd.file_source(basic_model()), secrets_open=False))
    r = xdsd.poll("secrets")
    assert r.status == 403 and b"verified client certificate" in r.body, r
    assert xdsd.poll("clusters").status == 200


def test_secrets_without_client_certificate_when_asked(xdsd):
    xdsd.start(xdsd.conf(xdsd.file_source(basic_model()), secrets_open=False,
                         discovery="secrets_without_client_certificate on;"))
    assert xdsd.poll("secrets").status == 200


def test_authorize_conf_errors(xdsd):
    for extra, want in (("authorize address 300.0.0.0/8 { }", 'invalid address range "300.0.0.0/8"'),
                        ("authorize person bob { }", 'unknown kind "person"'),
                        ("authorize address 10.0.0.0/8 { zones a; }", '"zones": expected clusters')):
        conf = xdsd.write_conf(xdsd.conf(xdsd.file_source(basic_model()), discovery=extra))
        r = run_xdsd(["-T", "-c", conf])
        assert r.returncode == 1 and want in r.stderr, (extra, r.stderr)


def test_client_certificate_from_another_ca_or_expired_is_refused(xdsd, pki):
    """A client certificate signed by a CA xdsd does not trust, or one that has
    expired, fails the handshake like no certificate at all."""
    # a rogue CA and a client certificate it signed; an expired one from the real CA
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=rogue-ca",
            "-keyout", "rogue-ca.key", "-out", "rogue-ca.crt", cwd=pki)
    for name, ca, extra in (("rogue", "rogue-ca", ["-days", "2"]),
                            ("expired", "ca", ["-not_before", "20200101000000Z",
                                               "-not_after", "20200102000000Z"])):
        openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=%s" % name,
                "-keyout", "%s.key" % name, "-out", "%s.csr" % name, cwd=pki)
        if name == "expired":  # x509 -req has no -not_before: sign with `openssl ca`-free trick
            (pki / "expired.cnf").write_text(
                "[ca]\ndefault_ca=d\n[d]\ndatabase=index.txt\nnew_certs_dir=.\nserial=serial\n"
                "default_md=sha256\npolicy=p\n[p]\ncommonName=supplied\n")
            (pki / "index.txt").write_text("")
            (pki / "serial").write_text("1000\n")
            openssl("ca", "-batch", "-config", "expired.cnf", "-cert", "ca.crt", "-keyfile", "ca.key",
                    "-in", "expired.csr", "-out", "expired.crt", "-startdate", "20200101000000Z",
                    "-enddate", "20200102000000Z", cwd=pki)
        else:
            openssl("x509", "-req", "-in", "%s.csr" % name, "-CA", "%s.crt" % ca, "-CAkey",
                    "%s.key" % ca, "-CAcreateserial", "-out", "%s.crt" % name, *extra, cwd=pki)
    start_tls(xdsd, tls_conf(xdsd, pki, "ssl_client_certificate %s/ca.crt; ssl_verify_client on;" % pki))
    assert tls_poll(xdsd, client_ctx(pki, cert=True))[0] == 200
    for name, reason in (("rogue", r"unable to get local issuer certificate|unknown ca|certificate verify failed"),
                         ("expired", r"certificate has expired|certificate verify failed")):
        ctx = ssl.create_default_context(cafile=str(pki / "ca.crt"))
        ctx.load_cert_chain(str(pki / ("%s.crt" % name)), str(pki / ("%s.key" % name)))
        with pytest.raises((ssl.SSLError, ConnectionResetError, http.client.RemoteDisconnected,
                            BrokenPipeError)):
            tls_poll(xdsd, ctx)
        xdsd.wait_log(r"TLS: .*(%s)" % reason)
    assert tls_poll(xdsd, client_ctx(pki, cert=True))[0] == 200  # still serving


def test_slow_tls_handshake_is_cut_off(xdsd, pki):
    """read_timeout also bounds a TLS client that starts a handshake and then
    trickles or stops: the connection is closed, the worker keeps serving."""
    start_tls(xdsd, tls_conf(xdsd, pki, "read_timeout 600ms;"))
    s = socket.create_connection(("127.0.0.1", xdsd.port), timeout=5 * SLOW)
    s.sendall(b"\x16\x03\x01")  # the first bytes of a ClientHello, then nothing
    t0 = time.monotonic()
    try:
        data = s.recv(100)
    except ConnectionResetError:
        data = b""
    waited = time.monotonic() - t0
    s.close()
    assert data == b"" and waited < 3.0 * SLOW, (data, waited)
    xdsd.wait_log(r"TLS handshake not complete within read_timeout, closing")
    assert tls_poll(xdsd, client_ctx(pki, cert=False))[0] == 200
