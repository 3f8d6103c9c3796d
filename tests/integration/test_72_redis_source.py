"""The redis source plugin against a real redis-server started per test:
the three shapes (key, hash, pattern), change notifications (pub/sub and
keyspace events) and the interval, AUTH (password and ACL user), the
database index, fail-static behaviour when the server dies or a value is
broken, and reconnection to a restarted server."""

import json
import signal
import socket
import statistics
import time

import pytest

from conftest import SLOW, basic_model, record_timing, run_xdsd, service, wait_for
from redis_backend import RedisServer

pytestmark = pytest.mark.skipif(not (__import__("shutil").which("redis-server")),
                                reason="redis-server not installed")


@pytest.fixture
def redis_factory(tmp_path):
    """make(*redis_server_args) -> a started RedisServer; all are stopped at
    teardown.  Tests ask for it before xdsd, so that xdsd is stopped first,
    with its connections still open."""
    made = []

    def make(*extra, name="redis", **kw):
        srv = RedisServer(tmp_path, name=name)
        made.append(srv)
        return srv.start(*extra, **kw)

    yield make
    for srv in made:
        srv.stop()


@pytest.fixture
def redis(redis_factory):
    return redis_factory("--notify-keyspace-events", "KEA")


def source(redis, body, name="inventory", fast=True):
    """A `source NAME { plugin redis; address ...; BODY }` block; fast adds a
    small max_backoff so reconnect tests stay short."""
    return ("source %s {\n    plugin redis;\n    address 127.0.0.1:%d;\n    %s\n%s}\n"
            % (name, redis.port, body, "    max_backoff 300ms;\n" if fast else ""))


def svc(name, port=8080):
    """A service item with no listener reference (the collection shapes are
    tested without a listeners collection)."""
    return service(name, port, listeners=None)


def grown(model, name="added"):
    m = json.loads(json.dumps(model))
    m["services"].append(service(name, 7100))
    return m


def cluster_names(xdsd, **kw):
    r = xdsd.poll("clusters", **kw)
    assert r.status == 200, r
    return sorted(r.names())


# ---- the three shapes --------------------------------------------------------


def test_key_shape_delivers_model(redis, xdsd):
    redis.cmd("SET", "xds:model", json.dumps(basic_model()))
    xdsd.start(xdsd.conf(source(redis, "key xds:model;")))
    assert cluster_names(xdsd) == ["catalog", "checkout", "greeter"]
    assert xdsd.poll("listeners").names() == ["ingress"]
    xdsd.wait_log(r"connected to redis 127\.0\.0\.1:\d+ db 0")


def test_hash_shape_delivers_services_and_follows_keyspace_events(redis, xdsd):
    for n, p in (("greeter", 8085), ("catalog", 9001)):
        redis.cmd("HSET", "xds:services", n, json.dumps(svc(n, p)))
    xdsd.start(xdsd.conf(source(redis, "hash xds:services; collection services; "
                                       "keyspace_events on; interval 60s;")))
    r = xdsd.poll("clusters")
    assert sorted(r.names()) == ["catalog", "greeter"]
    v0 = r.version
    times = []
    for i in range(5):
        t0 = time.monotonic()
        redis.cmd("HSET", "xds:services", "extra%d" % i, json.dumps(svc("extra%d" % i, 7000 + i)))
        r, _ = xdsd.wait_new_version("clusters", v0, timeout=2)
        times.append(time.monotonic() - t0)
        v0 = r.version
        assert "extra%d" % i in r.names()
    record_timing("redis HSET -> new version (keyspace events), median of 5", statistics.median(times))
    record_timing("redis HSET -> new version (keyspace events), worst of 5", max(times))
    assert max(times) < 1.0 * SLOW, times
    redis.cmd("HDEL", "xds:services", "greeter")
    r, _ = xdsd.wait_new_version("clusters", v0, timeout=2)
    assert "greeter" not in r.names()
    assert "set notify-keyspace-events" not in xdsd.log()  # the server has KEA


def test_hash_versions_do_not_depend_on_field_order(redis_factory, xdsd_factory):
    """Two servers holding the same items inserted in different orders give
    the same document, hence the same versions."""
    names = ["s%02d" % i for i in range(20)]
    versions = []
    for k, order in enumerate((names, list(reversed(names)))):
        srv = redis_factory(name="redis%d" % k)
        for n in order:
            srv.cmd("HSET", "h", n, json.dumps(svc(n)))
        x = xdsd_factory("x%d" % k)
        x.start(x.conf(source(srv, "hash h; collection services;")))
        versions.append(x.poll("clusters").version)
    assert versions[0] == versions[1]


def test_pattern_shape_scans_and_batches(redis, xdsd):
    """1100 matching keys among 1500 others: several SCAN pages and two MGET
    batches; a non-string key that matches is skipped."""
    args = []
    for i in range(1100):
        args += ["xds:svc:%04d" % i, json.dumps(svc("svc%04d" % i, 8000 + i % 50))]
    for i in range(1500):
        args += ["other:%d" % i, "x"]
    redis.cmd("MSET", *args)
    redis.cmd("HSET", "xds:svc:zz-a-hash", "f", "v")
    xdsd.start(xdsd.conf(source(redis, "pattern xds:svc:*; collection services; "
                                       "keyspace_events on; interval 60s;")))
    r = xdsd.poll("clusters", validate=False)
    assert r.status == 200
    names = r.names()
    assert len(names) == 1100 and "svc0000" in names and "svc1099" in names
    v0 = r.version
    t0 = time.monotonic()
    redis.cmd("DEL", "xds:svc:0005")
    r, _ = xdsd.wait_new_version("clusters", v0, timeout=3, validate=False)
    record_timing("redis DEL of one of 1100 keys -> new version (pattern, keyspace events)",
                  time.monotonic() - t0)
    assert len(r.names()) == 1099 and "svc0005" not in r.names()


# ---- notifications -------------------------------------------------------------


def test_publish_on_channel_is_seen_quickly(redis, xdsd):
    model = basic_model()
    redis.cmd("SET", "xds:model", json.dumps(model))
    xdsd.start(xdsd.conf(source(redis, "key xds:model; channel xds:changed; interval 60s;")))
    v0 = xdsd.poll("clusters").version
    times = []
    for i in range(7):
        model = grown(model, "pub%d" % i)
        t0 = time.monotonic()
        redis.cmd("SET", "xds:model", json.dumps(model))
        redis.cmd("PUBLISH", "xds:changed", "x")
        r, _ = xdsd.wait_new_version("clusters", v0, timeout=2)
        times.append(time.monotonic() - t0)
        v0 = r.version
        assert "pub%d" % i in r.names()
    record_timing("redis SET+PUBLISH -> new version, median of 7", statistics.median(times))
    record_timing("redis SET+PUBLISH -> new version, worst of 7", max(times))
    assert statistics.median(times) < 0.5 * SLOW, times


def test_burst_of_notifications_costs_few_reads(redis, xdsd):
    model = basic_model()
    redis.cmd("SET", "xds:model", json.dumps(model))
    xdsd.start(xdsd.conf(source(redis, "key xds:model; channel xds:changed; interval 60s;")))
    v0 = xdsd.poll("clusters").version
    redis.cmd("CONFIG", "RESETSTAT")
    c = redis.client()
    for i in range(50):  # pipelined: the 50 messages arrive together
        c.send("PUBLISH", "xds:changed", str(i))
    model = grown(model, "after-burst")
    c.send("SET", "xds:model", json.dumps(model))
    c.send("PUBLISH", "xds:changed", "last")
    for _ in range(52):
        c.reply()
    c.close()
    r, _ = xdsd.wait_new_version("clusters", v0, timeout=2)
    assert "after-burst" in r.names()
    time.sleep(0.1)
    stats = redis.cmd("INFO", "commandstats").decode()
    gets = [ln for ln in stats.splitlines() if ln.startswith("cmdstat_get:")]
    calls = int(gets[0].split("calls=")[1].split(",")[0]) if gets else 0
    assert 1 <= calls <= 3, stats


def test_interval_picks_up_change_without_notification(redis, xdsd):
    redis.cmd("SET", "xds:model", json.dumps(basic_model()))
    xdsd.start(xdsd.conf(source(redis, "key xds:model; interval 300ms;")))
    v0 = xdsd.poll("clusters").version
    t0 = time.monotonic()
    redis.cmd("SET", "xds:model", json.dumps(grown(basic_model())))
    r, _ = xdsd.wait_new_version("clusters", v0, timeout=3)
    record_timing("redis SET (no notification) -> new version, interval 300ms", time.monotonic() - t0)
    assert "added" in r.names()
    # nothing changes: the version stays, and the host hears "unchanged"
    time.sleep(0.4)
    assert xdsd.poll("clusters").version == r.version


# ---- authentication, database ----------------------------------------------------


def test_wrong_password_is_reported_without_the_password(redis_factory, xdsd):
    srv = redis_factory("--requirepass", "right-secret-123", password="right-secret-123")
    srv.cmd("SET", "xds:model", json.dumps(basic_model()))
    xdsd.start(xdsd.conf(source(srv, "key xds:model; password wrong-secret-456; "
                                     "channel xds:changed;")), wait="listening")
    xdsd.wait_log(r"AUTH failed: (WRONGPASS|ERR invalid password)")
    assert xdsd.poll("clusters").status == 503
    log = xdsd.log()
    assert "wrong-secret-456" not in log and "right-secret-123" not in log


def test_acl_user_with_password_file(redis_factory, xdsd, tmp_path):
    srv = redis_factory("--user", "default", "off",
                        "--user", "xds", "on", ">pw-for-xds", "~xds:*", "&xds:*", "+@read",
                        "+@pubsub", "+select", "+ping",
                        "--user", "admin", "on", ">admin-pw", "~*", "&*", "+@all",
                        password="admin-pw", user="admin")
    srv.cmd("SET", "xds:model", json.dumps(basic_model()))
    pwfile = tmp_path / "redis.pw"
    pwfile.write_text("pw-for-xds\n")
    xdsd.start(xdsd.conf(source(srv, "key xds:model; user xds; password_file %s; "
                                     "channel xds:changed;" % pwfile)))
    v0 = xdsd.poll("clusters").version
    srv.cmd("SET", "xds:model", json.dumps(grown(basic_model())))
    srv.cmd("PUBLISH", "xds:changed", "1")
    r, _ = xdsd.wait_new_version("clusters", v0, timeout=2)
    assert "added" in r.names()
    assert "pw-for-xds" not in xdsd.log()


def test_database_index_is_respected(redis, xdsd):
    redis.cmd("SET", "xds:model", json.dumps(basic_model()))  # db 0: must not be read
    other = {"services": [service("only-in-db3", 9999)], "listeners": basic_model()["listeners"]}
    redis.cmd("SET", "xds:model", json.dumps(other), db=3)
    xdsd.start(xdsd.conf(source(redis, "key xds:model; database 3; keyspace_events on; "
                                       "interval 60s;")))
    r = xdsd.poll("clusters")
    assert r.names() == ["only-in-db3"]
    redis.cmd("SET", "xds:model", json.dumps(grown(basic_model())))  # db 0: no effect
    other = grown(other, "db3-added")
    redis.cmd("SET", "xds:model", json.dumps(other), db=3)
    r2, _ = xdsd.wait_new_version("clusters", r.version, timeout=2)
    assert sorted(r2.names()) == ["db3-added", "only-in-db3"]
    xdsd.wait_log(r"redis 127\.0\.0\.1:\d+ db 3")


def test_unix_socket(redis, xdsd):
    redis.cmd("SET", "xds:model", json.dumps(basic_model()))
    xdsd.start(xdsd.conf("source inventory { plugin redis; socket %s; key xds:model; }"
                         % redis.unix))
    assert cluster_names(xdsd) == ["catalog", "checkout", "greeter"]


# ---- failures --------------------------------------------------------------------


def test_server_killed_keeps_serving_then_restart_is_picked_up(redis_factory, xdsd):
    srv = redis_factory("--notify-keyspace-events", "KEA")
    srv.cmd("SET", "xds:model", json.dumps(basic_model()))
    xdsd.start(xdsd.conf(source(srv, "key xds:model; keyspace_events on; interval 60s;")))
    v0 = xdsd.poll("clusters").version
    srv.kill()
    t0 = time.monotonic()
    xdsd.wait_log(r"connection lost|cannot connect")
    record_timing("redis killed -> failure logged", time.monotonic() - t0)
    for _ in range(5):  # failures while it stays down do not change anything
        r = xdsd.poll("clusters")
        assert r.status == 200 and r.version == v0
        time.sleep(0.1)
    xdsd.wait_log(r"Connection refused")
    # restart on the same port: empty (no persistence), then the loader fills it
    srv.start("--notify-keyspace-events", "KEA")
    t0 = time.monotonic()
    srv.cmd("SET", "xds:model", json.dumps(grown(basic_model(), "after-restart")))
    r, _ = xdsd.wait_new_version("clusters", v0, timeout=3)
    record_timing("redis restarted (max_backoff 300ms) -> new data served", time.monotonic() - t0)
    assert "after-restart" in r.names()
    xdsd.wait_log(r"recovered after")
    # and the subscription was renewed: a change is seen without the interval
    srv.cmd("SET", "xds:model", json.dumps(grown(basic_model(), "after-resubscribe")))
    r, _ = xdsd.wait_new_version("clusters", r.version, timeout=2)
    assert "after-resubscribe" in r.names()


def test_restarted_empty_server_does_not_empty_the_fleet(redis_factory, xdsd):
    srv = redis_factory()
    srv.cmd("HSET", "xds:services", "greeter", json.dumps(svc("greeter")))
    xdsd.start(xdsd.conf(source(srv, "hash xds:services; collection services; interval 200ms;")))
    v0 = xdsd.poll("clusters").version
    srv.kill()
    srv.start()  # empty: the hash does not exist
    xdsd.wait_log(r"hash xds:services is empty or does not exist")
    assert xdsd.poll("clusters").version == v0


def test_bad_json_keeps_last_good(redis, xdsd):
    redis.cmd("SET", "xds:model", json.dumps(basic_model()))
    xdsd.start(xdsd.conf(source(redis, "key xds:model; keyspace_events on; interval 60s;")))
    v0 = xdsd.poll("clusters").version
    size = xdsd.log_size()
    redis.cmd("SET", "xds:model", '{"services": [ {"name": "half-writ')
    xdsd.wait_log(r"xds:model", after=size)
    xdsd.wait_log(r"\[(error|err)\].*redis 127\.0\.0\.1:\d+ db 0 key xds:model", after=size)
    r = xdsd.poll("clusters")
    assert r.status == 200 and r.version == v0
    redis.cmd("SET", "xds:model", json.dumps(grown(basic_model())))
    r, _ = xdsd.wait_new_version("clusters", v0, timeout=2)
    assert "added" in r.names()


def test_hash_value_that_is_not_one_object_is_refused(redis, xdsd):
    redis.cmd("HSET", "h", "a", json.dumps(svc("a")))
    xdsd.start(xdsd.conf(source(redis, "hash h; collection services; keyspace_events on;")))
    v0 = xdsd.poll("clusters").version
    # would close the array and smuggle in a listener if pasted blindly
    redis.cmd("HSET", "h", "b", '{"name":"b"}],"listeners":[{"name":"evil","port":1}')
    xdsd.wait_log(r"hash h field b: the value is not one JSON object")
    assert xdsd.poll("clusters").version == v0
    assert xdsd.poll("listeners").names() == []
    redis.cmd("HSET", "h", "b", json.dumps(svc("b")))
    r, _ = xdsd.wait_new_version("clusters", v0, timeout=2)
    assert sorted(r.names()) == ["a", "b"]


def test_missing_key_then_created(redis, xdsd):
    xdsd.start(xdsd.conf(source(redis, "key xds:model; channel xds:changed; interval 60s;")),
               wait="listening")
    xdsd.wait_log(r"key xds:model does not exist")
    assert xdsd.poll("clusters").status == 503
    redis.cmd("SET", "xds:model", json.dumps(basic_model()))
    redis.cmd("PUBLISH", "xds:changed", "1")
    xdsd.wait_snapshot(timeout=3)
    assert cluster_names(xdsd) == ["catalog", "checkout", "greeter"]


def test_unreachable_server_with_required_off(xdsd, tmp_path):
    """A server that is not there: the other source serves, the failure is
    logged, xdsd exits cleanly."""
    dead = RedisServer(tmp_path, name="dead")  # never started: its port refuses
    fsrc = xdsd.file_source(basic_model())
    xdsd.start(xdsd.conf(fsrc + source(dead, "key k; required off;")))
    assert cluster_names(xdsd) == ["catalog", "checkout", "greeter"]
    xdsd.wait_log(r"source \"inventory\": redis 127\.0\.0\.1:%d db 0: command connection: "
                  r"cannot connect: Connection refused" % dead.port)


def test_keyspace_events_without_server_support_are_warned(redis_factory, xdsd):
    srv = redis_factory()  # notify-keyspace-events is "" by default
    srv.cmd("SET", "xds:model", json.dumps(basic_model()))
    xdsd.start(xdsd.conf(source(srv, "key xds:model; keyspace_events on; interval 200ms;")))
    xdsd.wait_log(r"\[warn\].*notify-keyspace-events is \"\".*set notify-keyspace-events to KEA")
    v0 = xdsd.poll("clusters").version  # the interval still works
    srv.cmd("SET", "xds:model", json.dumps(grown(basic_model())))
    xdsd.wait_new_version("clusters", v0, timeout=2)


def test_allow_empty_publishes_an_empty_collection(redis, xdsd):
    fsrc = xdsd.file_source(basic_model())
    xdsd.start(xdsd.conf(fsrc + source(redis, "pattern 'nothing:*'; collection services; "
                                              "allow_empty on;")))
    assert cluster_names(xdsd) == ["catalog", "checkout", "greeter"]
    assert "[error]" not in xdsd.log()


def test_silent_server_times_out(xdsd_factory, tmp_path):
    """A peer that accepts TCP connections but never answers: the handshake
    hits connect_timeout, a read hits read_timeout; xdsd stays responsive
    and stops cleanly in the middle of it."""
    lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    lsock.bind(("127.0.0.1", 0))
    lsock.listen(64)  # the kernel completes the handshakes; nobody reads
    port = lsock.getsockname()[1]
    try:
        fake = type("Fake", (), {"port": port})
        a = xdsd_factory("a")
        a.start(a.conf(a.file_source(basic_model()) +
                       source(fake, "key k; password s3cr3t-77; connect_timeout 300ms; required off;")))
        a.wait_log(r"no session within 300 ms \(connect_timeout\)")
        b = xdsd_factory("b")
        b.start(b.conf(b.file_source(basic_model()) +
                       source(fake, "key k; read_timeout 300ms; required off;")))
        b.wait_log(r"no reply to GET within 300 ms \(read_timeout\)")
        assert a.poll("clusters").status == 200 and b.poll("clusters").status == 200
        assert "s3cr3t-77" not in a.log()
    finally:
        lsock.close()


def test_sighup_reload_reconnects_and_keeps_versions(redis, xdsd):
    redis.cmd("SET", "xds:model", json.dumps(basic_model()))
    xdsd.start(xdsd.conf(source(redis, "key xds:model; channel xds:changed; keyspace_events on;")))
    v0 = xdsd.versions()
    mark = xdsd.log_size()
    xdsd.send_signal(signal.SIGHUP)
    wait_for(lambda: xdsd.log()[mark:].count("connected to redis") >= 1, 3 * SLOW,
             "the new generation's redis session")
    assert xdsd.versions() == v0
    redis.cmd("SET", "xds:model", json.dumps(grown(basic_model())))
    r, _ = xdsd.wait_new_version("clusters", v0["clusters"], timeout=2)
    assert "added" in r.names()


# ---- configuration ---------------------------------------------------------------


def conf_check(xdsd, body):
    xdsd.write_conf(xdsd.conf("source inventory { plugin redis; %s }" % body))
    return run_xdsd(["-p", str(xdsd.prefix), "-t", "-c", str(xdsd.conf_path)])


@pytest.mark.parametrize("body, message", [
    ("address redis.example.com:6379; key k;", "is not a numeric IP address"),
    ("address 127.0.0.1; key k;", "expected HOST:PORT"),
    ("address 127.0.0.1:0; key k;", "invalid port"),
    ("key k;", "exactly one of \"address\" and \"socket\""),
    ("address 127.0.0.1:6379; key k; hash h; collection services;", "exactly one of \"key\""),
    ("address 127.0.0.1:6379; hash h;", "needs \"collection NAME;\""),
    ("address 127.0.0.1:6379; pattern 'a\"b'; collection 'bad\"name';", "needs \"collection NAME;\""),
    ("address 127.0.0.1:6379; key k; user u;", "\"user\" needs \"password\""),
    ("address 127.0.0.1:6379; key k; password_file /nonexistent/pw;", "password_file /nonexistent/pw"),
    ("address 127.0.0.1:6379; key k; database -1;", "\"database\""),
])
def test_conf_errors(xdsd, body, message):
    p = conf_check(xdsd, body)
    assert p.returncode == 1, p
    assert message in p.stderr + p.stdout


def test_conf_ok_without_server(xdsd):
    """-t must not connect: nothing listens on this port."""
    p = conf_check(xdsd, "address [::1]:1; pattern 'svc:*'; collection services; "
                         "channel a; channel b; keyspace_events on; password x;")
    assert p.returncode == 0, p.stderr
