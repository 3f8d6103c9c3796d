"""The postgres source plugin against a real PostgreSQL server.

One server per module (pg_backend.PgServer: initdb + postgres as `nobody`
on a Unix socket in a temp dir); every test gets its own database loaded
from conf/examples/postgres-schema.sql, so NOTIFY channels and data never
cross tests.  Covered: both result shapes (one JSON document; rows as
collection items with typed columns), NOTIFY latency from COMMIT to the new
version on the discovery API, coalescing of a NOTIFY burst, a crashed
server (last good model kept, failure logged once, changes made while
disconnected picked up after the reconnect, LISTEN again), query errors and
bad data (last good kept), connect and query timeouts, and two xdsd
processes on the same database answering identical versions.
"""

import re
import socket
import statistics
import time

import pytest

from conftest import PLUGIN_DIR, REPO, SLOW, record_timing, run_xdsd, wait_for
import pg_backend

SCHEMA = REPO / "conf" / "examples" / "postgres-schema.sql"
CLUSTER_TYPES = ("clusters", "endpoints", "listeners", "routes")

pytestmark = pytest.mark.skipif(not (PLUGIN_DIR / "postgres.so").exists(),
                                reason="postgres plugin not built (configure --without-postgres?)")


pg = pytest.fixture(scope="module", name="pg")(pg_backend.module_server)


@pytest.fixture
def db(pg, request):
    """A fresh database with the example schema, named after the test."""
    if not pg.running():
        pg.start()
    name = re.sub(r"[^a-z0-9_]", "_", request.node.name.lower())[:60]
    return pg.create_database(name, schema=SCHEMA)


def pg_source(pg, db, name="inventory", query="SELECT doc FROM xds_model", notify="xds_changed",
              extra="", dsn=None):
    return ('source %s {\n    plugin postgres;\n    dsn "%s";\n    query "%s";\n    %s\n    %s\n}\n'
            % (name, dsn or pg.dsn(db), query, "notify %s;" % notify if notify else "", extra))


def names(xdsd, type_path, **req):
    r = xdsd.poll(type_path, **req)
    assert r.status == 200, r
    return sorted(r.names())


def error_lines(xdsd, source="inventory"):
    return [ln for ln in xdsd.log().splitlines()
            if "[error]" in ln and 'source "%s"' % source in ln]


# ---- conf check, no server needed ------------------------------------------------

def test_example_conf_checks_without_server():
    r = run_xdsd(["-p", REPO, "-t", "-c", REPO / "conf" / "examples" / "postgres.conf"])
    assert r.returncode == 0, r.stderr


def test_bad_dsn_is_refused_without_echoing_a_password(xdsd):
    xdsd.write_conf(xdsd.conf('source inventory { plugin postgres; dsn "host=/tmp bogus_option=1"; '
                              'query "SELECT 1"; }'))
    r = run_xdsd(["-p", REPO, "-t", "-c", xdsd.conf_path])
    assert r.returncode == 1
    assert 'invalid connection option "bogus_option"' in r.stderr, r.stderr

    xdsd.write_conf(xdsd.conf('source inventory { plugin postgres; dsn "password=s3cret-pw x y"; '
                              'query "SELECT 1"; }'))
    r = run_xdsd(["-p", REPO, "-t", "-c", xdsd.conf_path])
    assert r.returncode == 1
    assert "not a libpq connection string" in r.stderr and "s3cret" not in r.stderr, r.stderr

    xdsd.write_conf(xdsd.conf('source inventory { plugin postgres; dsn "dbname=x"; query "SELECT 1"; '
                              'collection "resources."; }'))
    r = run_xdsd(["-p", REPO, "-t", "-c", xdsd.conf_path])
    assert r.returncode == 1 and "collection" in r.stderr, r.stderr


# ---- the two shapes --------------------------------------------------------------

def test_single_shape_serves_the_example_schema(pg, db, xdsd):
    xdsd.start(xdsd.conf(pg_source(pg, db)))
    assert names(xdsd, "clusters") == ["catalog", "greeter"]
    assert names(xdsd, "listeners") == ["ingress"]
    r = xdsd.poll("endpoints", resource_names=["catalog"])
    assert r.status == 200 and r.names() == ["catalog"], r
    assert "10.0.1.5" in r.body.decode()
    greeter = xdsd.poll("clusters").by_name()["greeter"]
    assert {"10.0.0.5", "10.0.0.6"} <= set(re.findall(r"10\.0\.0\.\d+", str(greeter)))
    xdsd.wait_log(r'connected to postgres host=\S+ port=\d+ dbname=%s user=postgres' % db)


def test_collection_shape_maps_rows_and_typed_columns(pg, db, xdsd):
    pg.psql("""
        CREATE TABLE svc_rows (name text, domains text[], discovery text, connect_timeout text,
                               lb_policy text, endpoints jsonb, routes jsonb);
        INSERT INTO svc_rows VALUES
          ('api', '{api.example.com,"api two.example.com"}', 'eds', '2s', NULL,
           '[{"address": "10.1.0.1", "port": 7001, "zone": "z1"}]', NULL),
          ('web', '{web.example.com}', 'static', NULL, 'LEAST_REQUEST',
           '[{"address": "10.1.0.2", "port": 7002}]', '[{"prefix": "/w/", "timeout": "3s"}]');
        CREATE TABLE raw_clusters (name text, type text, connect_timeout text,
                                   respect_dns_ttl boolean, per_connection_buffer_limit_bytes int8,
                                   load_assignment json, alt_stat_name text);
        INSERT INTO raw_clusters VALUES ('legacy', 'STATIC', '0.25s', true, 32768,
          '{"cluster_name": "legacy", "endpoints": [{"lb_endpoints": [{"endpoint": {"address":
            {"socket_address": {"address": "10.9.9.9", "port_value": 9}}}}]}]}', NULL);
    """, db)
    srcs = (pg_source(pg, db, "rows", "SELECT * FROM svc_rows ORDER BY name", notify=None,
                      extra="collection services;")
            + pg_source(pg, db, "lsn", "SELECT name, address, port FROM listeners", notify=None,
                        extra="collection listeners;")
            + pg_source(pg, db, "raw", "SELECT * FROM raw_clusters", notify=None,
                        extra="collection resources.clusters;"))
    xdsd.start(xdsd.conf(srcs))
    clusters = xdsd.poll("clusters").by_name()
    assert sorted(clusters) == ["api", "legacy", "web"]
    assert clusters["api"]["connect_timeout"] == "2s"
    assert clusters["web"]["lb_policy"] == "LEAST_REQUEST"
    # bool -> true, int8 -> number, json inlined, NULL left out
    assert clusters["legacy"]["respect_dns_ttl"] is True
    assert clusters["legacy"]["per_connection_buffer_limit_bytes"] == 32768
    assert "alt_stat_name" not in clusters["legacy"]
    assert "10.9.9.9" in str(clusters["legacy"]["load_assignment"])
    # a jsonb column inlined: api's endpoints over EDS
    r = xdsd.poll("endpoints", resource_names=["api"])
    assert r.status == 200 and "10.1.0.1" in r.body.decode(), r
    assert "10.1.0.2" in str(clusters["web"])
    # text[] -> array (an element with a blank was quoted by PostgreSQL)
    routes = xdsd.poll("routes", resource_names=["ingress"])
    assert routes.status == 200, routes
    body = routes.body.decode()
    assert "api two.example.com" in body and "web.example.com" in body and '"/w/"' in body


# ---- change notification --------------------------------------------------------

def test_notify_reaches_discovery_within_100ms_of_commit(pg, db, xdsd):
    xdsd.start(xdsd.conf(pg_source(pg, db)))
    version = xdsd.poll("clusters").version
    samples = []
    for i in range(9):
        pg.psql("UPDATE endpoints SET weight = %d WHERE address = '10.0.0.5'" % (i + 2), db)
        # psql has returned: the COMMIT is done
        r, waited = xdsd.wait_new_version("clusters", version, timeout=5)
        assert re.search(r'"load_balancing_weight": ?%d\b' % (i + 2), r.body.decode()), r
        samples.append(waited)
        version = r.version
    median, worst = statistics.median(samples), max(samples)
    record_timing("postgres: COMMIT -> new version (median of %d)" % len(samples), median)
    record_timing("postgres: COMMIT -> new version (worst of %d)" % len(samples), worst)
    assert median < 0.1 * SLOW, samples


def test_interval_without_notify_publishes_only_changes(pg, db, xdsd):
    pg.psql("CREATE SEQUENCE q_count", db)
    query = "SELECT doc FROM xds_model, nextval('q_count')"
    xdsd.start(xdsd.conf(pg_source(pg, db, query=query, notify=None, extra="interval 100ms;")))
    version = xdsd.poll("clusters").version
    wait_for(lambda: int(pg.psql("SELECT last_value FROM q_count", db)) >= 4, 3 * SLOW,
             "a few interval queries")
    # identical results are reported as unchanged, not published again
    assert len(re.findall(r'source "inventory": accepted', xdsd.log())) == 1, xdsd.log()
    pg.psql("UPDATE endpoints SET weight = 9 WHERE address = '10.0.0.5'", db)
    r, waited = xdsd.wait_new_version("clusters", version, timeout=2)
    record_timing("postgres: change seen by a 100ms interval (no notify)", waited)
    assert len(re.findall(r'source "inventory": accepted', xdsd.log())) == 2


def test_notify_burst_runs_few_queries(pg, db, xdsd):
    pg.psql("CREATE SEQUENCE q_count", db)
    # a query that counts its runs and takes 50 ms, so a burst lands on one in flight
    query = "SELECT doc FROM xds_model, nextval('q_count'), pg_sleep(0.05)"
    xdsd.start(xdsd.conf(pg_source(pg, db, query=query)))
    before = int(pg.psql("SELECT last_value FROM q_count", db))
    burst = "".join("UPDATE endpoints SET weight = %d WHERE address = '10.0.0.5';\n" % w
                    for w in range(2, 32))  # 30 transactions, 30 notifications
    pg.psql(burst, db)

    def settled():
        r = xdsd.poll("clusters")
        return r.status == 200 and re.search(r'"load_balancing_weight": ?31\b', r.body.decode())
    wait_for(settled, 5 * SLOW, "the last update of the burst to be served")
    time.sleep(0.2)  # let a pending re-query finish
    runs = int(pg.psql("SELECT last_value FROM q_count", db)) - before
    assert 1 <= runs <= 5, "%d queries for a burst of 30 notifications" % runs


# ---- failures ----------------------------------------------------------------------

def test_server_crash_keeps_model_and_catches_up_after_reconnect(pg, db, xdsd):
    dsn = pg.dsn(db, password="s3cret-do-not-log")
    xdsd.start(xdsd.conf(pg_source(pg, db, dsn=dsn, extra="interval 30s; max_backoff 300ms;")))
    before = xdsd.versions(CLUSTER_TYPES)
    port = pg.port
    try:
        pg.stop("kill")
        xdsd.wait_log(r'\[error\] source "inventory": postgres host=\S+ port=%d dbname=%s user=postgres: '
                      r'connection lost' % (port, db))
        # retries go on (backoff capped at 300 ms); the model stays, the log stays quiet
        deadline = time.monotonic() + 1.2
        while time.monotonic() < deadline:
            assert xdsd.versions(CLUSTER_TYPES) == before
            time.sleep(0.1)
        errors = error_lines(xdsd)
        assert 1 <= len(errors) <= 2, errors   # "connection lost", then "connection refused"

        # change the data while xdsd cannot reach the server: run it on another socket
        pg.start(port=port + 1)
        pg.psql("UPDATE endpoints SET port = 8086 WHERE service = 'greeter'", db)
        pg.stop("fast")
    finally:
        if not pg.running():
            pg.start(port=port)
    t0 = time.monotonic()
    r, _ = xdsd.wait_new_version("clusters", before["clusters"], timeout=5)
    record_timing("postgres: server back -> changed model served", time.monotonic() - t0)
    assert "8086" in r.body.decode()
    xdsd.wait_log(r'source "inventory": recovered')
    xdsd.wait_log(r'reconnected to postgres')

    # LISTEN again after the reconnect: a change is seen at once (interval is 30s)
    version = r.version
    pg.psql("UPDATE endpoints SET port = 8087 WHERE service = 'greeter'", db)
    r, waited = xdsd.wait_new_version("clusters", version, timeout=2)
    assert "8087" in r.body.decode() and waited < 1.0
    assert "s3cret" not in xdsd.log()


def test_query_error_keeps_last_good_and_is_retried(pg, db, xdsd):
    xdsd.start(xdsd.conf(pg_source(pg, db, extra="max_backoff 300ms;")))
    before = xdsd.versions(CLUSTER_TYPES)
    pg.psql("ALTER VIEW xds_model RENAME TO xds_model_off; NOTIFY xds_changed;", db)
    xdsd.wait_log(r'\[error\] source "inventory": postgres query: ERROR: relation "xds_model" does '
                  r'not exist \(still serving its last good document\)')
    assert xdsd.versions(CLUSTER_TYPES) == before
    # no NOTIFY this time: the retry (backoff, at most 300 ms) finds it back
    pg.psql("ALTER VIEW xds_model_off RENAME TO xds_model", db)
    xdsd.wait_log(r'source "inventory": recovered', timeout=3)
    assert xdsd.versions(CLUSTER_TYPES) == before
    assert len(error_lines(xdsd)) == 1


def test_bad_data_keeps_last_good(pg, db, xdsd):
    xdsd.start(xdsd.conf(pg_source(pg, db)))
    before = xdsd.versions(CLUSTER_TYPES)
    pg.psql("""UPDATE services SET routes = '[{"prefix": "/", "timeot": "5s"}]' WHERE name = 'greeter'""", db)
    xdsd.wait_log(r'unknown field "timeot"')
    assert xdsd.versions(CLUSTER_TYPES) == before
    pg.psql("""UPDATE services SET routes = '[{"prefix": "/", "timeout": "7s"}]' WHERE name = 'greeter'""", db)
    r, _ = xdsd.wait_new_version("routes", before["routes"], resource_names=["ingress"])
    assert '"7s"' in r.body.decode()


def test_single_shape_wrong_results_keep_last_good(pg, db, xdsd):
    pg.psql("""
        CREATE TABLE docs (id int PRIMARY KEY, doc text);
        INSERT INTO docs VALUES (1, '{"listeners": [{"name": "one", "port": 10001}]}');
        CREATE TRIGGER docs_changed AFTER INSERT OR UPDATE OR DELETE ON docs
            FOR EACH STATEMENT EXECUTE FUNCTION xds_notify_changed();
    """, db)
    xdsd.start(xdsd.conf(pg_source(pg, db, query="SELECT doc FROM docs ORDER BY id")))
    before = xdsd.versions(["listeners"])
    assert names(xdsd, "listeners") == ["one"]

    pg.psql("""UPDATE docs SET doc = '{"listeners": [' WHERE id = 1""", db)
    xdsd.wait_log(r'source "inventory": postgres host=\S+.*(line|column)')
    pg.psql("""UPDATE docs SET doc = NULL WHERE id = 1""", db)
    xdsd.wait_log(r'postgres query: returned NULL instead of a model document \(column "doc"\)')
    pg.psql("""INSERT INTO docs VALUES (2, '{}')""", db)
    xdsd.wait_log(r'postgres query: returned 2 rows with 1 column; expected one row')
    assert xdsd.versions(["listeners"]) == before

    pg.psql("""DELETE FROM docs WHERE id = 2;
               UPDATE docs SET doc = '{"listeners": [{"name": "two", "port": 10002}]}' WHERE id = 1""", db)
    xdsd.wait_new_version("listeners", before["listeners"])
    assert names(xdsd, "listeners") == ["two"]


def test_query_timeout_reconnects(pg, db, xdsd):
    pg.psql("CREATE TABLE slow (on_ boolean); INSERT INTO slow VALUES (false);", db)
    query = "SELECT doc FROM xds_model, slow, pg_sleep(CASE WHEN slow.on_ THEN 2 ELSE 0 END)"
    xdsd.start(xdsd.conf(pg_source(pg, db, query=query, extra="query_timeout 300ms; max_backoff 200ms;")))
    before = xdsd.versions(CLUSTER_TYPES)
    pg.psql("UPDATE slow SET on_ = true; NOTIFY xds_changed;", db)
    xdsd.wait_log(r'no answer to the query after 300 ms \(query_timeout\)', timeout=3)
    assert xdsd.versions(CLUSTER_TYPES) == before
    pg.psql("UPDATE slow SET on_ = false", db)
    xdsd.wait_log(r'source "inventory": recovered', timeout=5)


def test_connect_timeout_on_a_server_that_never_answers(xdsd, tmp_path):
    # a Unix socket that accepts and then says nothing: libpq waits for the
    # server's reply forever unless our own connect_timeout fires
    sockdir = tmp_path / "mute"
    sockdir.mkdir()
    mute = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    mute.bind(str(sockdir / ".s.PGSQL.5999"))
    mute.listen(16)
    try:
        src = ('source inventory { plugin postgres; dsn "host=%s port=5999 dbname=x user=u"; '
               'query "SELECT 1"; connect_timeout 200ms; max_backoff 200ms; }' % sockdir)
        xdsd.start(xdsd.conf(src), wait="listening")
        t0 = time.monotonic()
        xdsd.wait_log(r'postgres host=%s port=5999 dbname=x user=u: no connection after 200 ms '
                      r'\(connect_timeout\)' % re.escape(str(sockdir)), timeout=3)
        # the event loop is not blocked meanwhile: discovery answers (503: no data yet)
        assert xdsd.poll("clusters").status == 503
        assert time.monotonic() - t0 < 2.0
    finally:
        mute.close()


# ---- replicas ------------------------------------------------------------------------

def test_two_processes_on_one_database_agree_on_versions(pg, db, xdsd_factory):
    a, b = xdsd_factory("a"), xdsd_factory("b")
    a.start(a.conf(pg_source(pg, db)))
    b.start(b.conf(pg_source(pg, db)))
    va = a.versions()
    assert va == b.versions()
    pg.psql("INSERT INTO listeners (name, port) VALUES ('egress', 10001);"
            "UPDATE services SET listeners = '{ingress,egress}';", db)
    a.wait_new_version("listeners", va["listeners"])
    b.wait_new_version("listeners", va["listeners"])
    wait_for(lambda: a.versions() == b.versions(), 2 * SLOW, "both replicas to serve the same versions")
    assert a.versions()["listeners"] != va["listeners"]
