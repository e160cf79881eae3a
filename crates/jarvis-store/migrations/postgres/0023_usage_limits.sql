-- Usage limits (issue 14, item 7).
--
-- API requests per month, counted when the request log is written (one row per gym and month;
-- the nil id stands for requests that named no gym): the request log itself is kept only
-- `retention_logs_days`, too short for a monthly count.
CREATE TABLE request_counts (
    gym_id   uuid NOT NULL,
    period   text NOT NULL,
    requests bigint NOT NULL DEFAULT 0,
    CONSTRAINT request_counts_pkey PRIMARY KEY (gym_id, period)
);

-- The latest measure of each metric per tenant ('platform', or the franchise id), replaced by
-- every run of `usage.check`.
CREATE TABLE usage_snapshots (
    scope_key    text NOT NULL,
    franchise_id uuid REFERENCES franchises (id) ON DELETE CASCADE,
    metric       text NOT NULL CONSTRAINT usage_snapshots_metric_check
                 CHECK (metric IN ('rows', 'db_bytes', 'api_requests', 'storage_bytes',
                                   'voice_minutes', 'ai_cost_micros')),
    period       text NOT NULL,
    value        bigint NOT NULL,
    limit_value  bigint NOT NULL,
    taken_at     timestamptz NOT NULL,
    CONSTRAINT usage_snapshots_pkey PRIMARY KEY (scope_key, metric)
);

-- Each alert fires once per tenant, metric, month and threshold, across instances: the unique
-- key decides which concurrent insert wins.
CREATE TABLE usage_alerts (
    id                uuid PRIMARY KEY,
    scope_key         text NOT NULL,
    franchise_id      uuid REFERENCES franchises (id) ON DELETE CASCADE,
    metric            text NOT NULL CONSTRAINT usage_alerts_metric_check
                      CHECK (metric IN ('rows', 'db_bytes', 'api_requests', 'storage_bytes',
                                        'voice_minutes', 'ai_cost_micros')),
    period            text NOT NULL,
    threshold_percent integer NOT NULL CONSTRAINT usage_alerts_threshold_check
                      CHECK (threshold_percent IN (80, 100)),
    value             bigint NOT NULL,
    limit_value       bigint NOT NULL,
    created_at        timestamptz NOT NULL,
    CONSTRAINT usage_alerts_once_key UNIQUE (scope_key, metric, period, threshold_percent)
);
CREATE INDEX usage_alerts_franchise_idx ON usage_alerts (franchise_id, created_at);

GRANT SELECT, INSERT, UPDATE, DELETE ON request_counts, usage_snapshots, usage_alerts TO jarvis_app;

-- Request counts: operations data like the request log (written in `ops`, read by the
-- platform).
ALTER TABLE request_counts ENABLE ROW LEVEL SECURITY;
ALTER TABLE request_counts FORCE ROW LEVEL SECURITY;
CREATE POLICY request_counts_read ON request_counts FOR SELECT
    USING (jarvis_scope() IN ('platform', 'ops'));
CREATE POLICY request_counts_insert ON request_counts FOR INSERT
    WITH CHECK (jarvis_scope() = 'ops');
CREATE POLICY request_counts_update ON request_counts FOR UPDATE
    USING (jarvis_scope() = 'ops') WITH CHECK (jarvis_scope() = 'ops');

-- Snapshots and alerts: measured and fired in the platform scope (the `usage.check` job); a
-- franchise (and its gyms, like the `franchises` row itself) reads its own rows, the
-- platform's rows (no franchise) only the platform.
ALTER TABLE usage_snapshots ENABLE ROW LEVEL SECURITY;
ALTER TABLE usage_snapshots FORCE ROW LEVEL SECURITY;
CREATE POLICY usage_snapshots_read ON usage_snapshots FOR SELECT
    USING (jarvis_scope() = 'platform'
           OR (jarvis_scope() IN ('franchise', 'gym') AND franchise_id = jarvis_franchise()));
CREATE POLICY usage_snapshots_insert ON usage_snapshots FOR INSERT
    WITH CHECK (jarvis_scope() = 'platform');
CREATE POLICY usage_snapshots_update ON usage_snapshots FOR UPDATE
    USING (jarvis_scope() = 'platform') WITH CHECK (jarvis_scope() = 'platform');

ALTER TABLE usage_alerts ENABLE ROW LEVEL SECURITY;
ALTER TABLE usage_alerts FORCE ROW LEVEL SECURITY;
CREATE POLICY usage_alerts_read ON usage_alerts FOR SELECT
    USING (jarvis_scope() = 'platform'
           OR (jarvis_scope() IN ('franchise', 'gym') AND franchise_id = jarvis_franchise()));
CREATE POLICY usage_alerts_fire ON usage_alerts FOR INSERT
    WITH CHECK (jarvis_scope() = 'platform');
