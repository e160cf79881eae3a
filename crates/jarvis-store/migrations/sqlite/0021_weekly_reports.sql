-- Weekly gym reports (issue 14, item 5): the HTML lives in the object store under
-- `object_key`; one row per gym and ISO week (`2026-W23`), so a rerun finds the week done.
-- Same table, columns and constraint names as the PostgreSQL migration.
CREATE TABLE reports (
    id           TEXT PRIMARY KEY NOT NULL,
    franchise_id TEXT NOT NULL,
    gym_id       TEXT NOT NULL,
    week         TEXT NOT NULL,
    starts_at    TEXT NOT NULL,
    object_key   TEXT NOT NULL,
    size_bytes   INTEGER NOT NULL,
    created_at   TEXT NOT NULL,
    CONSTRAINT reports_gym_fkey FOREIGN KEY (gym_id, franchise_id)
        REFERENCES gyms (id, franchise_id) ON DELETE CASCADE,
    CONSTRAINT reports_gym_week_key UNIQUE (gym_id, week)
);
