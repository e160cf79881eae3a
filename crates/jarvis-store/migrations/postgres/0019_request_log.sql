-- The request log: one row per answered HTTP request (method, route template, status, latency,
-- the gym the path named), written in batches by each instance; no path, query string, address
-- or user: nothing personal. Kept `retention_logs_days` (the retention job deletes in batches).
CREATE TABLE request_log (
    id           uuid PRIMARY KEY,
    at           timestamptz NOT NULL,
    instance_id  uuid NOT NULL,
    method       text NOT NULL,
    route        text NOT NULL,
    status       integer NOT NULL,
    latency_us   bigint NOT NULL,
    gym_id       uuid
);
CREATE INDEX request_log_at_idx ON request_log (at);
CREATE INDEX request_log_gym_at_idx ON request_log (gym_id, at);
CREATE INDEX IF NOT EXISTS audit_log_at_idx ON audit_log (at);

-- UPDATE is granted like on every table; no policy allows it, so no row can change.
GRANT SELECT, INSERT, UPDATE, DELETE ON request_log TO jarvis_app;
GRANT DELETE ON auth_events, audit_log TO jarvis_app;

-- Operations data, never tenant data: written in the `ops` context, read by platform staff,
-- deleted by the retention sweep.
ALTER TABLE request_log ENABLE ROW LEVEL SECURITY;
ALTER TABLE request_log FORCE ROW LEVEL SECURITY;
CREATE POLICY request_log_write ON request_log FOR INSERT
    WITH CHECK (jarvis_scope() = 'ops');
CREATE POLICY request_log_read ON request_log FOR SELECT
    USING (jarvis_scope() IN ('platform', 'purge'));
CREATE POLICY request_log_purge ON request_log FOR DELETE
    USING (jarvis_scope() = 'purge');

-- The retention sweep may read and delete old auth events and audit rows (nothing else may
-- delete them: they stay append-only for every other context).
CREATE POLICY auth_events_purge_read ON auth_events FOR SELECT
    USING (jarvis_scope() = 'purge');
CREATE POLICY auth_events_purge ON auth_events FOR DELETE
    USING (jarvis_scope() = 'purge');
CREATE POLICY audit_log_purge_read ON audit_log FOR SELECT
    USING (jarvis_scope() = 'purge');
CREATE POLICY audit_log_purge ON audit_log FOR DELETE
    USING (jarvis_scope() = 'purge');
