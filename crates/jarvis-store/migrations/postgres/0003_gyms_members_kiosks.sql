-- Gyms, members and kiosks (issue 5): approval reasons, kiosk pairing and heartbeat, class
-- schedules, visits, member facts and CSV import jobs. Same tables, columns and constraint
-- names as the SQLite schema; every tenant table is behind the row-level security wall.

ALTER TABLE gyms ADD COLUMN status_reason text;

ALTER TABLE kiosks ADD COLUMN uptime_secs bigint;
ALTER TABLE kiosks ADD COLUMN mic_status text CONSTRAINT kiosks_mic_status_check
    CHECK (mic_status IN ('ok', 'denied', 'missing', 'error'));
ALTER TABLE kiosks ADD COLUMN network_quality text CONSTRAINT kiosks_network_quality_check
    CHECK (network_quality IN ('good', 'fair', 'poor', 'offline'));
ALTER TABLE kiosks ADD COLUMN paired_at timestamptz;
ALTER TABLE kiosks ADD COLUMN revoked_at timestamptz;
-- Only the SHA-256 of the outstanding pairing code is kept; it is cleared when used.
ALTER TABLE kiosks ADD COLUMN pairing_code_hash text;
ALTER TABLE kiosks ADD COLUMN pairing_expires_at timestamptz;
CREATE UNIQUE INDEX kiosks_pairing_code_hash_key ON kiosks (pairing_code_hash);

CREATE TABLE class_schedules (
    id               uuid PRIMARY KEY,
    gym_id           uuid NOT NULL,
    franchise_id     uuid NOT NULL,
    name             text NOT NULL,
    coach            text,
    room             text,
    weekday          text CONSTRAINT class_schedules_weekday_check
                     CHECK (weekday IN ('mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun')),
    date             date,
    start_time       text NOT NULL,
    duration_minutes integer NOT NULL,
    capacity         integer NOT NULL,
    recurring        boolean NOT NULL,
    created_at       timestamptz NOT NULL,
    updated_at       timestamptz NOT NULL,
    CONSTRAINT class_schedules_gym_fkey FOREIGN KEY (gym_id, franchise_id)
        REFERENCES gyms (id, franchise_id) ON DELETE CASCADE,
    CONSTRAINT class_schedules_when_check CHECK (
        (recurring AND weekday IS NOT NULL AND date IS NULL)
        OR (NOT recurring AND weekday IS NULL AND date IS NOT NULL))
);
CREATE INDEX class_schedules_gym_idx ON class_schedules (gym_id, weekday, start_time);

-- A visit outlives the member it names: erasure sets member_id to NULL so counts stay.
CREATE TABLE member_visits (
    id           uuid PRIMARY KEY,
    gym_id       uuid NOT NULL,
    franchise_id uuid NOT NULL,
    member_id    uuid REFERENCES members (id) ON DELETE SET NULL,
    kiosk_id     uuid REFERENCES kiosks (id) ON DELETE SET NULL,
    at           timestamptz NOT NULL,
    CONSTRAINT member_visits_gym_fkey FOREIGN KEY (gym_id, franchise_id)
        REFERENCES gyms (id, franchise_id) ON DELETE CASCADE
);
CREATE INDEX member_visits_member_idx ON member_visits (member_id, at);
CREATE INDEX member_visits_gym_idx ON member_visits (gym_id, at);

CREATE TABLE member_facts (
    id           uuid PRIMARY KEY,
    gym_id       uuid NOT NULL,
    franchise_id uuid NOT NULL,
    member_id    uuid NOT NULL REFERENCES members (id) ON DELETE CASCADE,
    note         text NOT NULL,
    source       text NOT NULL CONSTRAINT member_facts_source_check
                 CHECK (source IN ('staff', 'assistant', 'import')),
    created_at   timestamptz NOT NULL,
    CONSTRAINT member_facts_gym_fkey FOREIGN KEY (gym_id, franchise_id)
        REFERENCES gyms (id, franchise_id) ON DELETE CASCADE
);
CREATE INDEX member_facts_member_idx ON member_facts (member_id, created_at);

CREATE TABLE member_imports (
    id             uuid PRIMARY KEY,
    gym_id         uuid NOT NULL,
    franchise_id   uuid NOT NULL,
    status         text NOT NULL CONSTRAINT member_imports_status_check
                   CHECK (status IN ('queued', 'running', 'succeeded', 'failed')),
    dry_run        boolean NOT NULL,
    skip_bad_rows  boolean NOT NULL,
    total_rows     bigint NOT NULL DEFAULT 0,
    processed_rows bigint NOT NULL DEFAULT 0,
    report         jsonb,
    created_at     timestamptz NOT NULL,
    updated_at     timestamptz NOT NULL,
    finished_at    timestamptz,
    CONSTRAINT member_imports_gym_fkey FOREIGN KEY (gym_id, franchise_id)
        REFERENCES gyms (id, franchise_id) ON DELETE CASCADE
);
CREATE INDEX member_imports_gym_idx ON member_imports (gym_id, created_at);

GRANT SELECT, INSERT, UPDATE, DELETE ON class_schedules, member_visits, member_facts, member_imports TO jarvis_app;

ALTER TABLE class_schedules ENABLE ROW LEVEL SECURITY;
ALTER TABLE class_schedules FORCE ROW LEVEL SECURITY;
CREATE POLICY class_schedules_tenant ON class_schedules
    USING (jarvis_row_visible(franchise_id, gym_id))
    WITH CHECK (jarvis_row_visible(franchise_id, gym_id));

ALTER TABLE member_visits ENABLE ROW LEVEL SECURITY;
ALTER TABLE member_visits FORCE ROW LEVEL SECURITY;
CREATE POLICY member_visits_tenant ON member_visits
    USING (jarvis_row_visible(franchise_id, gym_id))
    WITH CHECK (jarvis_row_visible(franchise_id, gym_id));

ALTER TABLE member_facts ENABLE ROW LEVEL SECURITY;
ALTER TABLE member_facts FORCE ROW LEVEL SECURITY;
CREATE POLICY member_facts_tenant ON member_facts
    USING (jarvis_row_visible(franchise_id, gym_id))
    WITH CHECK (jarvis_row_visible(franchise_id, gym_id));

ALTER TABLE member_imports ENABLE ROW LEVEL SECURITY;
ALTER TABLE member_imports FORCE ROW LEVEL SECURITY;
CREATE POLICY member_imports_tenant ON member_imports
    USING (jarvis_row_visible(franchise_id, gym_id))
    WITH CHECK (jarvis_row_visible(franchise_id, gym_id));
