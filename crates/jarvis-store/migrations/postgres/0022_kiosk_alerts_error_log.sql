-- Kiosk outages: one row per time a paired kiosk went silent past `kiosk_offline_after`, closed
-- when it is heard again (or revoked). At most one open outage per kiosk (the partial unique
-- index): of several instances running the health job at once, one opens it and only that one
-- queues the "kiosk offline" e-mails. `*_alerted_at` say when the e-mails were queued.
CREATE TABLE kiosk_outages (
    id                 uuid PRIMARY KEY,
    franchise_id       uuid NOT NULL,
    gym_id             uuid NOT NULL,
    kiosk_id           uuid NOT NULL REFERENCES kiosks (id) ON DELETE CASCADE,
    started_at         timestamptz NOT NULL,
    ended_at           timestamptz,
    offline_alerted_at timestamptz,
    online_alerted_at  timestamptz,
    CONSTRAINT kiosk_outages_gym_fkey FOREIGN KEY (gym_id, franchise_id)
        REFERENCES gyms (id, franchise_id) ON DELETE CASCADE
);
CREATE UNIQUE INDEX kiosk_outages_open_key ON kiosk_outages (kiosk_id) WHERE ended_at IS NULL;
CREATE INDEX kiosk_outages_gym_idx ON kiosk_outages (gym_id, started_at);

-- The built-in error log: one row per fingerprint (kind + route template or job kind +
-- normalized message), counted; the sample message has personal data redacted. Operations
-- data, no tenant. `alerted_at`: when the super admins were last e-mailed about it (critical
-- errors, at most once per `error_alert_window_mins`). Kept `retention_logs_days` after it was
-- last seen.
CREATE TABLE error_log (
    id            uuid PRIMARY KEY,
    fingerprint   text NOT NULL CONSTRAINT error_log_fingerprint_key UNIQUE,
    kind          text NOT NULL,
    source        text NOT NULL,
    level         text NOT NULL CONSTRAINT error_log_level_check
                  CHECK (level IN ('warning', 'error', 'critical')),
    message       text NOT NULL,
    count         bigint NOT NULL,
    first_seen_at timestamptz NOT NULL,
    last_seen_at  timestamptz NOT NULL,
    alerted_at    timestamptz
);
CREATE INDEX error_log_last_seen_idx ON error_log (last_seen_at);
CREATE INDEX error_log_level_idx ON error_log (level, last_seen_at);

GRANT SELECT, INSERT, UPDATE, DELETE ON kiosk_outages, error_log TO jarvis_app;

-- Tenant data: a gym's staff read their kiosks' outages; the health job writes in the platform
-- scope.
ALTER TABLE kiosk_outages ENABLE ROW LEVEL SECURITY;
ALTER TABLE kiosk_outages FORCE ROW LEVEL SECURITY;
CREATE POLICY kiosk_outages_tenant ON kiosk_outages
    USING (jarvis_row_visible(franchise_id, gym_id))
    WITH CHECK (jarvis_row_visible(franchise_id, gym_id));

-- Operations data, never tenant data: recorded (upserted, alert claims) in the `ops` context,
-- read by platform staff, deleted by the retention sweep.
ALTER TABLE error_log ENABLE ROW LEVEL SECURITY;
ALTER TABLE error_log FORCE ROW LEVEL SECURITY;
CREATE POLICY error_log_ops ON error_log
    USING (jarvis_scope() = 'ops')
    WITH CHECK (jarvis_scope() = 'ops');
CREATE POLICY error_log_read ON error_log FOR SELECT
    USING (jarvis_scope() IN ('platform', 'purge'));
CREATE POLICY error_log_purge ON error_log FOR DELETE
    USING (jarvis_scope() = 'purge');
