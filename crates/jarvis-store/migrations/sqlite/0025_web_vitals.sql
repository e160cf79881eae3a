-- Web Vitals reported by the dashboard's pages (LCP, CLS, INP, FCP, TTFB): the page as its
-- route template, the metric, its value and the UTC day. No user, address or raw URL: nothing
-- personal. Kept `retention_logs_days` like the request log (the retention job deletes in
-- batches by `at`).
CREATE TABLE web_vitals (
    id      TEXT PRIMARY KEY,
    at      TEXT NOT NULL,
    day     TEXT NOT NULL,
    page    TEXT NOT NULL,
    metric  TEXT NOT NULL,
    metric_value REAL NOT NULL,
    CONSTRAINT web_vitals_metric_check CHECK (metric IN ('LCP', 'CLS', 'INP', 'FCP', 'TTFB'))
);
CREATE INDEX web_vitals_at_idx ON web_vitals (at);
CREATE INDEX web_vitals_day_idx ON web_vitals (day, page, metric, metric_value);
