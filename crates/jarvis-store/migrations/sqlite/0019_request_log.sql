-- The request log: one row per answered HTTP request (method, route template, status, latency,
-- the gym the path named), written in batches by each instance; no path, query string, address
-- or user: nothing personal. Kept `retention_logs_days` (the retention job deletes in batches).
CREATE TABLE request_log (
    id           TEXT PRIMARY KEY,
    at           TEXT NOT NULL,
    instance_id  TEXT NOT NULL,
    method       TEXT NOT NULL,
    route        TEXT NOT NULL,
    status       INTEGER NOT NULL,
    latency_us   INTEGER NOT NULL,
    gym_id       TEXT
);
CREATE INDEX request_log_at_idx ON request_log (at);
CREATE INDEX request_log_gym_at_idx ON request_log (gym_id, at);
-- Retention deletes the oldest auth events and audit rows by time.
CREATE INDEX IF NOT EXISTS audit_log_at_idx ON audit_log (at);
