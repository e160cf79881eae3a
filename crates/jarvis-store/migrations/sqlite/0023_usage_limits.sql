-- Usage limits (issue 14, item 7).
--
-- API requests per month, counted when the request log is written (one row per gym and month;
-- the nil id stands for requests that named no gym): the request log itself is kept only
-- `retention_logs_days`, too short for a monthly count.
CREATE TABLE request_counts (
    gym_id   TEXT NOT NULL,
    period   TEXT NOT NULL,
    requests INTEGER NOT NULL DEFAULT 0,
    CONSTRAINT request_counts_pkey PRIMARY KEY (gym_id, period)
);

-- The latest measure of each metric per tenant ('platform', or the franchise id), replaced by
-- every run of `usage.check`.
CREATE TABLE usage_snapshots (
    scope_key    TEXT NOT NULL,
    franchise_id TEXT REFERENCES franchises (id) ON DELETE CASCADE,
    metric       TEXT NOT NULL CONSTRAINT usage_snapshots_metric_check
                 CHECK (metric IN ('rows', 'db_bytes', 'api_requests', 'storage_bytes',
                                   'voice_minutes', 'ai_cost_micros')),
    period       TEXT NOT NULL,
    value        INTEGER NOT NULL,
    limit_value  INTEGER NOT NULL,
    taken_at     TEXT NOT NULL,
    CONSTRAINT usage_snapshots_pkey PRIMARY KEY (scope_key, metric)
);

-- Each alert fires once per tenant, metric, month and threshold, across instances: the unique
-- key decides which concurrent insert wins.
CREATE TABLE usage_alerts (
    id                TEXT PRIMARY KEY NOT NULL,
    scope_key         TEXT NOT NULL,
    franchise_id      TEXT REFERENCES franchises (id) ON DELETE CASCADE,
    metric            TEXT NOT NULL CONSTRAINT usage_alerts_metric_check
                      CHECK (metric IN ('rows', 'db_bytes', 'api_requests', 'storage_bytes',
                                        'voice_minutes', 'ai_cost_micros')),
    period            TEXT NOT NULL,
    threshold_percent INTEGER NOT NULL CONSTRAINT usage_alerts_threshold_check
                      CHECK (threshold_percent IN (80, 100)),
    value             INTEGER NOT NULL,
    limit_value       INTEGER NOT NULL,
    created_at        TEXT NOT NULL,
    CONSTRAINT usage_alerts_once_key UNIQUE (scope_key, metric, period, threshold_percent)
);
CREATE INDEX usage_alerts_franchise_idx ON usage_alerts (franchise_id, created_at);
