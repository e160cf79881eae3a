-- Weekly gym reports (issue 14, item 5): the HTML lives in the object store under
-- `object_key`; one row per gym and ISO week (`2026-W23`), so a rerun finds the week done.
CREATE TABLE reports (
    id           uuid PRIMARY KEY,
    franchise_id uuid NOT NULL,
    gym_id       uuid NOT NULL,
    week         text NOT NULL,
    starts_at    timestamptz NOT NULL,
    object_key   text NOT NULL,
    size_bytes   bigint NOT NULL,
    created_at   timestamptz NOT NULL,
    CONSTRAINT reports_gym_fkey FOREIGN KEY (gym_id, franchise_id)
        REFERENCES gyms (id, franchise_id) ON DELETE CASCADE,
    CONSTRAINT reports_gym_week_key UNIQUE (gym_id, week)
);

GRANT SELECT, INSERT, UPDATE, DELETE ON reports TO jarvis_app;

ALTER TABLE reports ENABLE ROW LEVEL SECURITY;
ALTER TABLE reports FORCE ROW LEVEL SECURITY;
CREATE POLICY reports_tenant ON reports
    USING (jarvis_row_visible(franchise_id, gym_id))
    WITH CHECK (jarvis_row_visible(franchise_id, gym_id));
