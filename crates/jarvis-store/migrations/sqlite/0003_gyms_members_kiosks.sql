-- Gyms, members and kiosks (issue 5): approval reasons, kiosk pairing and heartbeat, class
-- schedules, visits, member facts and CSV import jobs. Same tables, columns and constraint
-- names as the PostgreSQL schema.

ALTER TABLE gyms ADD COLUMN status_reason TEXT;

ALTER TABLE kiosks ADD COLUMN uptime_secs INTEGER;
ALTER TABLE kiosks ADD COLUMN mic_status TEXT CONSTRAINT kiosks_mic_status_check
    CHECK (mic_status IN ('ok', 'denied', 'missing', 'error'));
ALTER TABLE kiosks ADD COLUMN network_quality TEXT CONSTRAINT kiosks_network_quality_check
    CHECK (network_quality IN ('good', 'fair', 'poor', 'offline'));
ALTER TABLE kiosks ADD COLUMN paired_at TEXT;
ALTER TABLE kiosks ADD COLUMN revoked_at TEXT;
-- Only the SHA-256 of the outstanding pairing code is kept; it is cleared when used.
ALTER TABLE kiosks ADD COLUMN pairing_code_hash TEXT;
ALTER TABLE kiosks ADD COLUMN pairing_expires_at TEXT;
CREATE UNIQUE INDEX kiosks_pairing_code_hash_key ON kiosks (pairing_code_hash);

CREATE TABLE class_schedules (
    id               TEXT PRIMARY KEY NOT NULL,
    gym_id           TEXT NOT NULL,
    franchise_id     TEXT NOT NULL,
    name             TEXT NOT NULL,
    coach            TEXT,
    room             TEXT,
    weekday          TEXT CONSTRAINT class_schedules_weekday_check
                     CHECK (weekday IN ('mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun')),
    date             TEXT,
    start_time       TEXT NOT NULL,
    duration_minutes INTEGER NOT NULL,
    capacity         INTEGER NOT NULL,
    recurring        BOOLEAN NOT NULL,
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL,
    CONSTRAINT class_schedules_gym_fkey FOREIGN KEY (gym_id, franchise_id)
        REFERENCES gyms (id, franchise_id) ON DELETE CASCADE,
    CONSTRAINT class_schedules_when_check CHECK (
        (recurring AND weekday IS NOT NULL AND date IS NULL)
        OR (NOT recurring AND weekday IS NULL AND date IS NOT NULL))
);
CREATE INDEX class_schedules_gym_idx ON class_schedules (gym_id, weekday, start_time);

-- A visit outlives the member it names: erasure sets member_id to NULL so counts stay.
CREATE TABLE member_visits (
    id           TEXT PRIMARY KEY NOT NULL,
    gym_id       TEXT NOT NULL,
    franchise_id TEXT NOT NULL,
    member_id    TEXT REFERENCES members (id) ON DELETE SET NULL,
    kiosk_id     TEXT REFERENCES kiosks (id) ON DELETE SET NULL,
    at           TEXT NOT NULL,
    CONSTRAINT member_visits_gym_fkey FOREIGN KEY (gym_id, franchise_id)
        REFERENCES gyms (id, franchise_id) ON DELETE CASCADE
);
CREATE INDEX member_visits_member_idx ON member_visits (member_id, at);
CREATE INDEX member_visits_gym_idx ON member_visits (gym_id, at);

CREATE TABLE member_facts (
    id           TEXT PRIMARY KEY NOT NULL,
    gym_id       TEXT NOT NULL,
    franchise_id TEXT NOT NULL,
    member_id    TEXT NOT NULL REFERENCES members (id) ON DELETE CASCADE,
    note         TEXT NOT NULL,
    source       TEXT NOT NULL CONSTRAINT member_facts_source_check
                 CHECK (source IN ('staff', 'assistant', 'import')),
    created_at   TEXT NOT NULL,
    CONSTRAINT member_facts_gym_fkey FOREIGN KEY (gym_id, franchise_id)
        REFERENCES gyms (id, franchise_id) ON DELETE CASCADE
);
CREATE INDEX member_facts_member_idx ON member_facts (member_id, created_at);

CREATE TABLE member_imports (
    id             TEXT PRIMARY KEY NOT NULL,
    gym_id         TEXT NOT NULL,
    franchise_id   TEXT NOT NULL,
    status         TEXT NOT NULL CONSTRAINT member_imports_status_check
                   CHECK (status IN ('queued', 'running', 'succeeded', 'failed')),
    dry_run        BOOLEAN NOT NULL,
    skip_bad_rows  BOOLEAN NOT NULL,
    total_rows     INTEGER NOT NULL DEFAULT 0,
    processed_rows INTEGER NOT NULL DEFAULT 0,
    report         TEXT,
    created_at     TEXT NOT NULL,
    updated_at     TEXT NOT NULL,
    finished_at    TEXT,
    CONSTRAINT member_imports_gym_fkey FOREIGN KEY (gym_id, franchise_id)
        REFERENCES gyms (id, franchise_id) ON DELETE CASCADE
);
CREATE INDEX member_imports_gym_idx ON member_imports (gym_id, created_at);
