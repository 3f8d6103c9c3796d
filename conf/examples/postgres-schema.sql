-- postgres-schema.sql -- a ready-made catalog for xdsd's postgres source.
--
-- Load it into an empty database:
--
--     createdb inventory
--     psql -d inventory -v ON_ERROR_STOP=1 -f conf/examples/postgres-schema.sql
--
-- and use conf/examples/postgres.conf, whose query is
--
--     SELECT doc FROM xds_model
--
-- Three tables hold the model (README "The model"): services, their
-- endpoints, and listeners.  The view xds_model turns them into ONE row with
-- ONE jsonb column, the whole model document.  A statement-level trigger on
-- each table sends NOTIFY xds_changed when a transaction changes it, so xdsd
-- re-reads the model right after the COMMIT (PostgreSQL delivers
-- notifications at commit time, and folds identical ones within a
-- transaction into one).
--
-- NULL columns are left out of the document, so the model's defaults apply
-- (routes: one prefix "/" route; listeners: every listener; connect_timeout
-- 5s; ...).  Grant the role xdsd connects as SELECT on xds_model and on the
-- three tables (the view is evaluated with the view owner's rights, but
-- keeping them readable helps debugging):
--
--     CREATE ROLE xdsd LOGIN;
--     GRANT SELECT ON services, endpoints, listeners, xds_model TO xdsd;

BEGIN;

CREATE TABLE services (
    name            text PRIMARY KEY CHECK (name <> ''),
    domains         text[] NOT NULL DEFAULT '{}',
    discovery       text NOT NULL DEFAULT 'static'
                    CHECK (discovery IN ('static', 'dns', 'eds')),
    lb_policy       text CHECK (lb_policy IN ('ROUND_ROBIN', 'LEAST_REQUEST', 'RING_HASH',
                                              'RANDOM', 'MAGLEV')),
    connect_timeout text,           -- '250ms', '1s'; NULL: 5s
    listeners       text[],         -- NULL: on every listener
    routes          jsonb           -- [{"prefix": "/", "timeout": "5s"}, ...]; NULL: prefix "/"
                    CHECK (routes IS NULL OR jsonb_typeof(routes) = 'array')
);

CREATE TABLE endpoints (
    service text NOT NULL REFERENCES services (name) ON UPDATE CASCADE ON DELETE CASCADE,
    address text NOT NULL,          -- an IP address (or a host name with discovery 'dns')
    port    integer NOT NULL CHECK (port BETWEEN 1 AND 65535),
    weight  integer CHECK (weight >= 1),
    zone    text,
    region  text,
    health  text CHECK (health IN ('UNKNOWN', 'HEALTHY', 'UNHEALTHY', 'DRAINING',
                                   'TIMEOUT', 'DEGRADED')),
    PRIMARY KEY (service, address, port)
);

CREATE TABLE listeners (
    name    text PRIMARY KEY CHECK (name <> ''),
    address text NOT NULL DEFAULT '0.0.0.0',
    port    integer NOT NULL CHECK (port BETWEEN 1 AND 65535)
);

-- The whole model as one jsonb document.  Items are sorted by name so the
-- document (and so every xdsd replica's view of it) is the same for the
-- same rows.
CREATE VIEW xds_model AS
SELECT jsonb_build_object(
    'services', COALESCE((
        SELECT jsonb_agg(jsonb_strip_nulls(jsonb_build_object(
                   'name',            s.name,
                   'domains',         to_jsonb(s.domains),
                   'discovery',       s.discovery,
                   'lb_policy',       s.lb_policy,
                   'connect_timeout', s.connect_timeout,
                   'listeners',       to_jsonb(s.listeners),
                   'routes',          s.routes,
                   'endpoints',       COALESCE((
                       SELECT jsonb_agg(jsonb_strip_nulls(jsonb_build_object(
                                  'address', e.address,
                                  'port',    e.port,
                                  'weight',  e.weight,
                                  'zone',    e.zone,
                                  'region',  e.region,
                                  'health',  e.health))
                              ORDER BY e.address, e.port)
                       FROM endpoints e
                       WHERE e.service = s.name), '[]'::jsonb)))
               ORDER BY s.name)
        FROM services s), '[]'::jsonb),
    'listeners', COALESCE((
        SELECT jsonb_agg(jsonb_build_object(
                   'name',    l.name,
                   'address', l.address,
                   'port',    l.port)
               ORDER BY l.name)
        FROM listeners l), '[]'::jsonb)
) AS doc;

-- One notification per changing statement; the payload names the table
-- (xdsd re-reads everything anyway).
CREATE FUNCTION xds_notify_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('xds_changed', TG_TABLE_NAME);
    RETURN NULL;
END
$$;

CREATE TRIGGER services_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON services
    FOR EACH STATEMENT EXECUTE FUNCTION xds_notify_changed();
CREATE TRIGGER endpoints_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON endpoints
    FOR EACH STATEMENT EXECUTE FUNCTION xds_notify_changed();
CREATE TRIGGER listeners_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON listeners
    FOR EACH STATEMENT EXECUTE FUNCTION xds_notify_changed();

-- A small example catalog; delete it or keep it as a starting point.
INSERT INTO listeners (name, address, port) VALUES ('ingress', '0.0.0.0', 10000);

INSERT INTO services (name, domains, discovery, connect_timeout, routes) VALUES
    ('greeter', '{greeter.example.com}', 'static', '1s', NULL),
    ('catalog', '{catalog.example.com}', 'eds', '1s',
     '[{"prefix": "/api/", "timeout": "2s", "prefix_rewrite": "/"},
       {"prefix": "/", "timeout": "2s"}]');

INSERT INTO endpoints (service, address, port, weight, zone, region, health) VALUES
    ('greeter', '10.0.0.5', 8085, 1, 'eu-west-1a', 'eu-west-1', 'HEALTHY'),
    ('greeter', '10.0.0.6', 8085, 1, 'eu-west-1b', 'eu-west-1', 'HEALTHY'),
    ('catalog', '10.0.1.5', 9001, 1, 'eu-west-1a', 'eu-west-1', 'HEALTHY');

COMMIT;
