-- Web Vitals reported by the dashboard's pages (LCP, CLS, INP, FCP, TTFB): the page as its
-- route template, the metric, its value and the UTC day. No user, address or raw URL: nothing
-- personal. Kept `retention_logs_days` like the request log (the retention job deletes in
-- batches by `at`).
CREATE TABLE web_vitals (
    id      uuid PRIMARY KEY,
    at      timestamptz NOT NULL,
    day     text NOT NULL,
    page    text NOT NULL,
    metric  text NOT NULL,
    metric_value double precision NOT NULL,
    CONSTRAINT web_vitals_metric_check CHECK (metric IN ('LCP', 'CLS', 'INP', 'FCP', 'TTFB'))
);
CREATE INDEX web_vitals_at_idx ON web_vitals (at);
CREATE INDEX web_vitals_day_idx ON web_vitals (day, page, metric, metric_value);

GRANT SELECT, INSERT, UPDATE, DELETE ON web_vitals TO jarvis_app;

-- Operations data, never tenant data: written in the `ops` context, read by platform staff,
-- deleted by the retention sweep (UPDATE is granted like on every table; no policy allows it).
ALTER TABLE web_vitals ENABLE ROW LEVEL SECURITY;
ALTER TABLE web_vitals FORCE ROW LEVEL SECURITY;
CREATE POLICY web_vitals_write ON web_vitals FOR INSERT
    WITH CHECK (jarvis_scope() = 'ops');
CREATE POLICY web_vitals_read ON web_vitals FOR SELECT
    USING (jarvis_scope() IN ('platform', 'purge'));
CREATE POLICY web_vitals_purge ON web_vitals FOR DELETE
    USING (jarvis_scope() = 'purge');
