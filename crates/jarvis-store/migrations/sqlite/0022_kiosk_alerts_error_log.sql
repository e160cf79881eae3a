-- Kiosk outages: one row per time a paired kiosk went silent past `kiosk_offline_after`, closed
-- when it is heard again (or revoked). At most one open outage per kiosk (the partial unique
-- index): of several instances running the health job at once, one opens it and only that one
-- queues the "kiosk offline" e-mails. `*_alerted_at` say when the e-mails were queued.
CREATE TABLE kiosk_outages (
    id                 TEXT PRIMARY KEY,
    franchise_id       TEXT NOT NULL,
    gym_id             TEXT NOT NULL,
    kiosk_id           TEXT NOT NULL REFERENCES kiosks (id) ON DELETE CASCADE,
    started_at         TEXT NOT NULL,
    ended_at           TEXT,
    offline_alerted_at TEXT,
    online_alerted_at  TEXT,
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
    id            TEXT PRIMARY KEY,
    fingerprint   TEXT NOT NULL CONSTRAINT error_log_fingerprint_key UNIQUE,
    kind          TEXT NOT NULL,
    source        TEXT NOT NULL,
    level         TEXT NOT NULL CONSTRAINT error_log_level_check
                  CHECK (level IN ('warning', 'error', 'critical')),
    message       TEXT NOT NULL,
    count         INTEGER NOT NULL,
    first_seen_at TEXT NOT NULL,
    last_seen_at  TEXT NOT NULL,
    alerted_at    TEXT
);
CREATE INDEX error_log_last_seen_idx ON error_log (last_seen_at);
CREATE INDEX error_log_level_idx ON error_log (level, last_seen_at);
