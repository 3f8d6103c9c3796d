"""Bad data at every source boundary (issue 9, point 6): each of the four
sources (file, http, postgres, redis) is fed a truncated document, one over
its `max_document_size`, binary garbage, Latin-1 bytes where UTF-8 belongs,
and JSON nested 100 deep.  Each time the document must be refused with one
precise error line (the source, where the document came from, the reason,
and line/column for JSON errors -- the real text of core/source.c and
core/json.c), the last good document must keep being served byte for byte
while the source re-reads the garbage (and the error is not logged again),
putting the previous document back must count as a recovery that changes no
version, and a new good document must be served.  Plus the boundaries that
only some sources have: Redis keys of the wrong type (GET / HGETALL answer
WRONGTYPE) and bad values in a hash, PostgreSQL results of the wrong shape
(no row, two columns, a number, double-encoded JSON, a bytea column).

Real servers only: a ModelServer thread (http_backend), a PostgreSQL
cluster per module (pg_backend), a redis-server per test (redis_backend).
"""

import hashlib
import json
import re
import shutil

import pytest

from conftest import PLUGIN_DIR, SLOW, basic_model, replace_file, service, wait_for
import pg_backend
from http_backend import model_servers
from redis_backend import RedisServer

LIMIT = 8192  # max_document_size 8k; every good document here is well under it

NEEDS_PG = pytest.mark.skipif(not (PLUGIN_DIR / "postgres.so").exists(),
                              reason="postgres plugin not built (configure --without-postgres?)")
NEEDS_REDIS_SERVER = pytest.mark.skipif(not shutil.which("redis-server"), reason="redis-server not installed")
NEEDS_REDIS_PLUGIN = pytest.mark.skipif(not (PLUGIN_DIR / "redis.so").exists(),
                                        reason="redis plugin not built (configure --without-redis?)")


# ---- documents ---------------------------------------------------------------------

def grown(model, name="added", port=7100):
    m = json.loads(json.dumps(model))
    m["services"].append(service(name, port))
    return m


def pretty(model, **kw):
    return json.dumps(model, indent=2, **kw).encode()


GOOD = pretty(basic_model())
NEWER = pretty(grown(basic_model()))


def position(data, off):
    """"line L, column C" of byte offset off, counted as core/json.c's
    xj_position does (columns in UTF-8 characters, from 1)."""
    line, col = 1, 1
    for b in data[:off]:
        if b == 0x0A:
            line, col = line + 1, 1
        elif b & 0xC0 != 0x80:
            col += 1
    return "line %d, column %d" % (line, col)


def nth_opener(data, n):
    """Offset of the n-th (1-based) '[' or '{' of data (no strings contain
    brackets in the documents used here)."""
    seen = 0
    for i, b in enumerate(data):
        if b in b"[{":
            seen += 1
            if seen == n:
                return i
    raise ValueError("fewer than %d openers" % n)


def too_deep_reason(data):
    # xj_parse is called with XDS_MODEL_MAX_DEPTH 64: the 65th open bracket fails
    return "%s: nesting deeper than 64" % position(data, nth_opener(data, 65))


def truncated_case():
    data = NEWER[:len(NEWER) // 2]
    return data, "%s: parse error: premature EOF" % position(data, len(data))


def oversize_case():
    # valid JSON, a valid model even: only its size is wrong
    data = pretty({"services": [service("s%02d" % i, 8000 + i, listeners=None) for i in range(30)]})
    assert len(data) > LIMIT
    return data, "document is %d bytes, over max_document_size %d" % (len(data), LIMIT)


def binary_case():
    return (b"\xff\xfe\x00\x01\x02\x03garbage\x80\x81\xc0\x00",
            "line 1, column 1: lexical error: invalid char in json text.")


def latin1_case():
    # a document saved as Latin-1: the e-acute is the single byte 0xE9
    data = json.dumps(grown(basic_model(), "caf\xe9"), indent=2, ensure_ascii=False).encode("latin-1")
    return data, "%s: lexical error: invalid bytes in UTF8 string." % position(data, data.index(b"\xe9"))


def deep_case():
    data = b'{"services": ' + b"[" * 100 + b"]" * 100 + b"}"
    return data, too_deep_reason(data)


CASES = {
    "truncated": truncated_case,
    "oversize": oversize_case,
    "binary": binary_case,
    "latin1": latin1_case,
    "deep": deep_case,
}
RAW_CASES = ("binary", "latin1")  # not UTF-8: PostgreSQL can store them only in a SQL_ASCII database


def pg_bad_sequence(data):
    """The first invalid UTF-8 sequence of data as PostgreSQL's "invalid byte
    sequence" error shows it: as many bytes as the lead byte announces
    (pg_utf_mblen), in hex."""
    try:
        data.decode("utf-8")
        raise ValueError("valid UTF-8")
    except UnicodeDecodeError as e:
        i = e.start
    c = data[i]
    n = 1 if c < 0x80 else 2 if c & 0xE0 == 0xC0 else 3 if c & 0xF0 == 0xE0 else 4 if c & 0xF8 == 0xF0 else 1
    return " ".join("0x%02x" % b for b in data[i:i + n])


# ---- log lines ---------------------------------------------------------------------

def refusal(name, what):
    """The whole error line of a source that fails while it still has a
    document (core/source.c set_failing)."""
    return (r'(?m)^\S+ \[error\] source "%s": %s \(still serving its last good document\)$'
            % (re.escape(name), what))


def recovered(name):
    return r'source "%s": recovered after \d+ failures?' % re.escape(name)


# ---- backends ----------------------------------------------------------------------

pg = pytest.fixture(scope="module", name="pg")(pg_backend.module_server)


@pytest.fixture
def http_server():
    yield from model_servers()


@pytest.fixture
def redis_server(tmp_path):
    srv = RedisServer(tmp_path)
    srv.start("--notify-keyspace-events", "KEA")
    yield srv
    srv.stop()


# ---- one driver per source: start with a document, replace it, count reads ----------
#
# Each driver asks for its backend first and for xdsd_factory second, so that
# xdsd is stopped before the server it reads from goes away.

class FileSource:
    name = "catalog"

    def __init__(self, request, raw=False):
        self.xdsd = request.getfixturevalue("xdsd_factory")()
        self.path = self.xdsd.dir / "catalog.json"
        self.origin = re.escape(str(self.path))

    def start(self, data):
        replace_file(self.path, data)
        self.xdsd.start(self.xdsd.conf("source catalog { plugin file; path %s; max_document_size 8k; }"
                                       % self.path))

    def put(self, data):
        replace_file(self.path, data)  # renamed over: never read half-written

    def reads(self):
        return None  # the file plugin reads only when the file changes


class HttpSource:
    name = "api"

    def __init__(self, request, raw=False):
        self.make = request.getfixturevalue("http_server")
        self.xdsd = request.getfixturevalue("xdsd_factory")()

    def start(self, data):
        self.srv = self.make(data)
        url = self.srv.url + "/model.json"
        self.origin = re.escape("GET " + url)
        self.xdsd.start(self.xdsd.conf("source api { plugin http; url %s; interval 200ms; max_backoff 1s; "
                                       "max_document_size 8k; }" % url))

    def put(self, data):
        self.srv.set_model(data)  # a new ETag with it

    def reads(self):
        return self.srv.count()


# A counter of the queries run: the InitPlan runs once per query, even when
# the view returns no row.
PG_QUERY = "SELECT x.* FROM xds_doc x WHERE (SELECT nextval('reads')) > 0"
PG_VIEW = "CREATE VIEW xds_doc AS SELECT doc FROM docs ORDER BY id"


class PgSource:
    name = "inventory"

    def __init__(self, request, raw=False):
        self.pg = request.getfixturevalue("pg")
        if not self.pg.running():
            self.pg.start()
        self.db = "garbage_" + hashlib.sha1(request.node.nodeid.encode()).hexdigest()[:16]
        # text in a UTF8 database cannot hold invalid UTF-8; a SQL_ASCII one
        # stores any byte but NUL (what it then sends to a UTF8 client is
        # checked by the server: see test_bad_document_is_refused_...)
        self.encoding = "SQL_ASCII" if raw else "UTF8"
        self.xdsd = request.getfixturevalue("xdsd_factory")()

    def literal(self, data):
        return "convert_from(decode('%s', 'hex'), '%s')" % (data.hex(), self.encoding)

    def start(self, data):
        pg = self.pg
        pg.psql('DROP DATABASE IF EXISTS "%s" WITH (FORCE);\n'
                "CREATE DATABASE \"%s\" ENCODING '%s' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0;"
                % (self.db, self.db, self.encoding))
        pg.psql("""
            CREATE SEQUENCE reads;
            CREATE TABLE docs (id int PRIMARY KEY, doc text);
            CREATE FUNCTION docs_notify() RETURNS trigger LANGUAGE plpgsql
                AS $$BEGIN PERFORM pg_notify('xds_changed', ''); RETURN NULL; END$$;
            CREATE TRIGGER docs_changed AFTER INSERT OR UPDATE OR DELETE ON docs
                FOR EACH STATEMENT EXECUTE FUNCTION docs_notify();
            %s;
            INSERT INTO docs VALUES (1, %s);
        """ % (PG_VIEW, self.literal(data)), self.db)
        self.origin = r"postgres host=%s port=%d dbname=%s user=postgres" % (
            re.escape(str(pg.sockdir)), pg.port, self.db)
        self.xdsd.start(self.xdsd.conf(
            'source inventory { plugin postgres; dsn "%s"; query "%s"; notify xds_changed; '
            "interval 200ms; max_backoff 300ms; max_document_size 8k; }" % (pg.dsn(self.db), PG_QUERY)))

    def put(self, data):
        self.sql("UPDATE docs SET doc = %s WHERE id = 1" % self.literal(data))  # the trigger NOTIFYs

    def sql(self, text):
        return self.pg.psql(text, self.db)

    def reads(self):
        return int(self.sql("SELECT last_value FROM reads"))


class RedisKeySource:
    name = "inventory"

    def __init__(self, request, raw=False):
        self.redis = request.getfixturevalue("redis_server")
        self.xdsd = request.getfixturevalue("xdsd_factory")()
        self.where = r"redis 127\.0\.0\.1:%d db 0" % self.redis.port
        self.origin = self.where + " key xds:model"

    def start(self, data):
        self.redis.cmd("SET", "xds:model", data)
        self.xdsd.start(self.xdsd.conf(
            "source inventory { plugin redis; address 127.0.0.1:%d; key xds:model; keyspace_events on; "
            "interval 200ms; max_backoff 300ms; max_document_size 8k; }" % self.redis.port))

    def put(self, data):
        self.redis.cmd("SET", "xds:model", data)  # keyspace event -> GET

    def reads(self):
        return redis_calls(self.redis, "get")


def redis_calls(redis, command):
    """How many times the server has run command (INFO commandstats)."""
    stats = redis.cmd("INFO", "commandstats").decode()
    m = re.search(r"^cmdstat_%s:calls=(\d+)" % command, stats, re.M)
    return int(m.group(1)) if m else 0


SOURCES = {"file": FileSource, "http": HttpSource, "postgres": PgSource, "redis": RedisKeySource}
SOURCE_PARAMS = [pytest.param("file"), pytest.param("http"), pytest.param("postgres", marks=NEEDS_PG),
                 pytest.param("redis", marks=[NEEDS_REDIS_SERVER, NEEDS_REDIS_PLUGIN])]


# ---- the common checks -------------------------------------------------------------

def refused_and_kept(src, what, before, body):
    """Wait for the one error line `what` (a regex after 'source "NAME": '),
    let the source read the bad data again twice (when it re-reads at all),
    and check that nothing changed and nothing was logged again."""
    x = src.xdsd
    pattern = refusal(src.name, what)
    try:
        x.wait_log(pattern)
    except AssertionError as e:
        raise AssertionError("%s\nlog:\n%s" % (e, x.log()[-3000:])) from None
    n = src.reads()
    if n is not None:
        wait_for(lambda: src.reads() >= n + 2, 5 * SLOW, "two more reads of the bad data")
    assert x.versions() == before
    assert x.poll("clusters").body == body, "the clusters served changed"
    lines = re.findall(pattern, x.log())
    assert len(lines) == 1, "the failure must be logged once, not on every retry: %r" % lines
    return re.search(pattern, x.log()).group(0)


def recovers(src, before, restore, newer):
    """restore() brings back the document that was being served: the source
    is healthy again and no version moves.  Then newer() changes it: a new
    version, with the "added" service."""
    x = src.xdsd
    mark = x.log_size()
    restore()
    x.wait_log(recovered(src.name), after=mark)
    assert x.versions() == before
    newer()
    r, _ = x.wait_new_version("clusters", before["clusters"])
    assert "added" in r.names()


# ---- every source, every kind of bad document ---------------------------------------

@pytest.mark.parametrize("kind", SOURCE_PARAMS)
@pytest.mark.parametrize("case", list(CASES))
def test_bad_document_is_refused_and_nothing_is_lost(request, kind, case):
    data, reason = CASES[case]()
    if kind == "postgres":
        data = data.replace(b"\x00", b"")  # no text type holds NUL; the reason stays the same
    src = SOURCES[kind](request, raw=case in RAW_CASES)
    src.start(GOOD)
    x = src.xdsd
    before = x.versions()
    body = x.poll("clusters").body
    src.put(data)
    what = "%s: %s" % (src.origin, re.escape(reason))
    if kind == "postgres" and case in RAW_CASES:
        # The plugin forces client_encoding UTF8, so the server itself checks
        # the text before sending it: the bytes never reach xdsd, the query
        # fails with PostgreSQL's error naming the first bad sequence.
        what = re.escape('postgres query: ERROR: invalid byte sequence for encoding "UTF8": '
                         + pg_bad_sequence(data))
    refused_and_kept(src, what, before, body)
    recovers(src, before, lambda: src.put(GOOD), lambda: src.put(NEWER))


# ---- redis: keys of the wrong type, bad values in a hash --------------------------------

def svc(name, port=8080):
    """A service item with no listener reference (for the hash shape)."""
    return service(name, port, listeners=None)


HASH_ITEMS = {"greeter": svc("greeter", 8085), "catalog": svc("catalog", 9001)}


class Probe:
    """What refused_and_kept() and recovers() need of a source."""

    def __init__(self, name, xdsd, reads):
        self.name, self.xdsd, self.reads = name, xdsd, reads


def hset_args(fields):
    return [v for kv in sorted(fields.items()) for v in kv]


@pytest.mark.parametrize("shape", ["key", "hash"])
@NEEDS_REDIS_SERVER
@NEEDS_REDIS_PLUGIN
def test_redis_wrong_type_keeps_last_good(request, shape):
    """The key the source reads is replaced (atomically, with RENAME) by one
    of another type: Redis answers WRONGTYPE, the error names the command
    and the key."""
    redis = request.getfixturevalue("redis_server")
    x = request.getfixturevalue("xdsd_factory")()
    where = r"redis 127\.0\.0\.1:%d db 0" % redis.port
    fields = {k: json.dumps(v) for k, v in HASH_ITEMS.items()}
    if shape == "key":
        key, command, conf = "xds:model", "GET", "key xds:model;"
        redis.cmd("SET", key, GOOD)
    else:
        key, command, conf = "xds:services", "HGETALL", "hash xds:services; collection services;"
        redis.cmd("HSET", key, *hset_args(fields))
    x.start(x.conf("source inventory { plugin redis; address 127.0.0.1:%d; %s keyspace_events on; "
                   "interval 200ms; max_backoff 300ms; }" % (redis.port, conf)))
    src = Probe("inventory", x, lambda: redis_calls(redis, command.lower()))
    before = x.versions()
    body = x.poll("clusters").body
    if shape == "key":
        redis.cmd("HSET", "tmp", "services", "[]")  # a hash where a string belongs
    else:
        redis.cmd("SET", "tmp", fields["greeter"])  # a string where a hash belongs
    redis.cmd("RENAME", "tmp", key)
    refused_and_kept(src, "%s: %s %s: WRONGTYPE Operation against a key holding the wrong kind of value"
                     % (where, command, re.escape(key)), before, body)

    def restore():
        if shape == "key":
            redis.cmd("SET", key, GOOD)
        else:
            redis.cmd("HSET", "tmp", *hset_args(fields))
            redis.cmd("RENAME", "tmp", key)

    def newer():
        if shape == "key":
            redis.cmd("SET", key, NEWER)
        else:
            redis.cmd("HSET", key, "added", json.dumps(svc("added", 7100)))
    recovers(src, before, restore, newer)


def hash_document(fields):
    """The document the redis plugin builds from a hash (plugins/redis/redis.c
    finish_collection): the values in field order, as they are, in
    {"services":[...]}."""
    return b'{"services":[' + b",".join(v for _, v in sorted(fields.items())) + b"]}"


def deep_value(levels):
    """One JSON object value nested `levels` deep in all."""
    n = levels - 1
    return b'{"name": "bad", "x": ' + b"[" * n + b"]" * n + b"}"


def by_plugin(where, origin, doc):
    """The redis plugin's own check refuses the value, naming the field."""
    return "%s: hash xds:services field bad: the value is not one JSON object" % where


def too_deep(where, origin, doc):
    """The plugin's check says the value is nested too deep (not that it is
    not one object)."""
    return "%s: hash xds:services field bad: the value is nested deeper than 64 levels" % where


def by_core(reason):
    """The value passes the plugin; the core refuses the built document with
    reason(doc) -- its positions count in that document, not in the value."""
    return lambda where, origin, doc: "%s: %s" % (origin, re.escape(reason(doc)))


def bad_utf8_reason(doc):
    return "%s: lexical error: invalid bytes in UTF8 string." % position(doc, doc.index(b"\xe9"))


HASH_CASES = {
    # field "bad" -> (value, reason(where, origin, built document) as a regex)
    "truncated": (json.dumps(svc("bad"))[:40].encode(), by_plugin),
    "binary": (b"\xff\xfe\x00\x01\x02garbage\x80", by_plugin),
    "latin1": (json.dumps(svc("caf\xe9"), ensure_ascii=False).encode("latin-1"), by_core(bad_utf8_reason)),
    # 64 levels pass the plugin's lexical check; in {"services":[...]} they are 66
    "deep64": (deep_value(64), by_core(too_deep_reason)),
    "deep100": (deep_value(100), too_deep),
}


@pytest.mark.parametrize("case", list(HASH_CASES) + ["oversize"])
@NEEDS_REDIS_SERVER
@NEEDS_REDIS_PLUGIN
def test_redis_hash_bad_value_keeps_last_good(request, case):
    """The hash shape pastes the field values into one document: a value that
    is not one JSON object is refused by the plugin naming the field; one that
    is lexically an object but bad inside is refused by the core."""
    redis = request.getfixturevalue("redis_server")
    x = request.getfixturevalue("xdsd_factory")()
    where = r"redis 127\.0\.0\.1:%d db 0" % redis.port
    origin = where + " hash xds:services"
    fields = {k: json.dumps(v).encode() for k, v in HASH_ITEMS.items()}
    redis.cmd("HSET", "xds:services", *hset_args(fields))
    x.start(x.conf("source inventory { plugin redis; address 127.0.0.1:%d; hash xds:services; "
                   "collection services; keyspace_events on; interval 200ms; max_backoff 300ms; "
                   "max_document_size 8k; }" % redis.port))
    src = Probe("inventory", x, lambda: redis_calls(redis, "hgetall"))
    before = x.versions()
    body = x.poll("clusters").body
    if case == "oversize":
        bad = {"bad%02d" % i: json.dumps(svc("bad%02d" % i, 8000 + i)).encode() for i in range(25)}
        doc = hash_document(dict(fields, **bad))
        assert len(doc) > LIMIT
        what = "%s: %s" % (origin, re.escape("document is %d bytes, over max_document_size %d"
                                             % (len(doc), LIMIT)))
    else:
        value, reason = HASH_CASES[case]
        bad = {"bad": value}
        what = reason(where, origin, hash_document(dict(fields, **bad)))
    redis.cmd("HSET", "xds:services", *hset_args(bad))  # one command, one event
    line = refused_and_kept(src, what, before, body)
    recovers(src, before, lambda: redis.cmd("HDEL", "xds:services", *bad),
             lambda: redis.cmd("HSET", "xds:services", "added", json.dumps(svc("added", 7100))))



# ---- postgres: results of the wrong shape -------------------------------------------------

def pg_view(select):
    return "BEGIN; DROP VIEW xds_doc; CREATE VIEW xds_doc AS %s; COMMIT; NOTIFY xds_changed;" % select


EXPECTED_ONE = "expected one row with one column holding the model document (or set `collection`)"

PG_SHAPES = {
    # change (SQL), the reason (regex; PG_ORIGIN stands for the server), the SQL that undoes it
    "no-row": ("DELETE FROM docs",
               re.escape("postgres query: returned 0 rows with 1 column; " + EXPECTED_ONE),
               "INSERT INTO docs VALUES (1, convert_from(decode('%s', 'hex'), 'UTF8'))" % GOOD.hex()),
    "two-columns": ("CREATE OR REPLACE VIEW xds_doc AS SELECT doc, id FROM docs ORDER BY id; "
                    "NOTIFY xds_changed;",
                    re.escape("postgres query: returned 1 row with 2 columns; " + EXPECTED_ONE),
                    pg_view("SELECT doc FROM docs ORDER BY id")),
    "number": (pg_view("SELECT 42 AS doc"),
               "PG_ORIGIN: " + re.escape("the document must be a JSON object, got number"),
               pg_view("SELECT doc FROM docs ORDER BY id")),
    "double-encoded": (pg_view("SELECT to_jsonb(doc) AS doc FROM docs ORDER BY id"),
                       "PG_ORIGIN: " + re.escape("the document must be a JSON object, got string"),
                       pg_view("SELECT doc FROM docs ORDER BY id")),
    # bytea comes out in its text form, \x7b0a...: not JSON from the first byte.
    # (The plugin does not look at column types; the line does not say bytea.)
    "bytea": (pg_view("SELECT convert_to(doc, 'UTF8') AS doc FROM docs ORDER BY id"),
              "PG_ORIGIN: " + re.escape("line 1, column 1: lexical error: invalid char in json text."),
              pg_view("SELECT doc FROM docs ORDER BY id")),
}


@pytest.mark.parametrize("shape", list(PG_SHAPES))
@NEEDS_PG
def test_postgres_wrong_shape_keeps_last_good(request, shape):
    """Shape 1 wants exactly one row with one column holding a JSON object;
    anything else is refused, naming what came back."""
    change, what, undo = PG_SHAPES[shape]
    src = PgSource(request)
    src.start(GOOD)
    x = src.xdsd
    before = x.versions()
    body = x.poll("clusters").body
    src.sql(change)
    refused_and_kept(src, what.replace("PG_ORIGIN", src.origin), before, body)
    recovers(src, before, lambda: src.sql(undo), lambda: src.put(NEWER))
