-- Tenancy core: franchises → gyms → (members, kiosks); users hold role memberships; audit log.
-- Conventions shared with the PostgreSQL schema: UUIDv7 ids (TEXT here), UTC timestamps,
-- JSON as TEXT, identical table/column/constraint names.

CREATE TABLE franchises (
    id          TEXT PRIMARY KEY NOT NULL,
    name        TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    archived_at TEXT,
    CONSTRAINT franchises_name_key UNIQUE (name)
);

CREATE TABLE gyms (
    id           TEXT PRIMARY KEY NOT NULL,
    franchise_id TEXT NOT NULL REFERENCES franchises (id) ON DELETE RESTRICT,
    name         TEXT NOT NULL,
    address      TEXT,
    timezone     TEXT NOT NULL,
    locale       TEXT NOT NULL CONSTRAINT gyms_locale_check CHECK (locale IN ('fr', 'en')),
    status       TEXT NOT NULL CONSTRAINT gyms_status_check
                 CHECK (status IN ('pending', 'active', 'rejected', 'suspended', 'archived')),
    settings     TEXT NOT NULL DEFAULT '{}',
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL,
    CONSTRAINT gyms_franchise_name_key UNIQUE (franchise_id, name),
    CONSTRAINT gyms_id_franchise_key UNIQUE (id, franchise_id)
);

CREATE TABLE users (
    id            TEXT PRIMARY KEY NOT NULL,
    email         TEXT NOT NULL,
    display_name  TEXT NOT NULL,
    locale        TEXT NOT NULL CONSTRAINT users_locale_check CHECK (locale IN ('fr', 'en')),
    password_hash TEXT,
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL,
    disabled_at   TEXT,
    CONSTRAINT users_email_key UNIQUE (email)
);

CREATE TABLE memberships (
    id           TEXT PRIMARY KEY NOT NULL,
    user_id      TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role         TEXT NOT NULL CONSTRAINT memberships_role_check
                 CHECK (role IN ('super_admin', 'franchise_owner', 'gym_manager', 'gym_staff')),
    franchise_id TEXT REFERENCES franchises (id) ON DELETE CASCADE,
    gym_id       TEXT,
    created_at   TEXT NOT NULL,
    CONSTRAINT memberships_gym_fkey FOREIGN KEY (gym_id, franchise_id)
        REFERENCES gyms (id, franchise_id) ON DELETE CASCADE,
    CONSTRAINT memberships_shape_check CHECK (
        (role = 'super_admin' AND franchise_id IS NULL AND gym_id IS NULL)
        OR (role = 'franchise_owner' AND franchise_id IS NOT NULL AND gym_id IS NULL)
        OR (role IN ('gym_manager', 'gym_staff') AND franchise_id IS NOT NULL AND gym_id IS NOT NULL))
);
CREATE UNIQUE INDEX memberships_user_scope_key
    ON memberships (user_id, role, COALESCE(franchise_id, ''), COALESCE(gym_id, ''));
CREATE INDEX memberships_franchise_idx ON memberships (franchise_id, gym_id);

CREATE TABLE members (
    id                  TEXT PRIMARY KEY NOT NULL,
    gym_id              TEXT NOT NULL,
    franchise_id        TEXT NOT NULL,
    badge_id            TEXT NOT NULL,
    first_name          TEXT NOT NULL,
    last_name           TEXT NOT NULL,
    email               TEXT,
    phone               TEXT,
    birth_date          TEXT,
    preferred_language  TEXT NOT NULL CONSTRAINT members_language_check CHECK (preferred_language IN ('fr', 'en')),
    membership_type     TEXT NOT NULL,
    membership_status   TEXT NOT NULL CONSTRAINT members_status_check
                        CHECK (membership_status IN ('active', 'frozen', 'expired', 'cancelled')),
    membership_end_date TEXT,
    goals               TEXT NOT NULL DEFAULT '[]',
    limitations         TEXT,
    consent_voice       BOOLEAN NOT NULL DEFAULT FALSE,
    consent_transcripts BOOLEAN NOT NULL DEFAULT FALSE,
    visit_count         INTEGER NOT NULL DEFAULT 0,
    last_visit_at       TEXT,
    created_at          TEXT NOT NULL,
    updated_at          TEXT NOT NULL,
    CONSTRAINT members_gym_fkey FOREIGN KEY (gym_id, franchise_id)
        REFERENCES gyms (id, franchise_id) ON DELETE CASCADE,
    CONSTRAINT members_gym_badge_key UNIQUE (gym_id, badge_id)
);
CREATE INDEX members_gym_name_idx ON members (gym_id, last_name, first_name);
CREATE INDEX members_franchise_idx ON members (franchise_id);

CREATE TABLE kiosks (
    id                TEXT PRIMARY KEY NOT NULL,
    gym_id            TEXT NOT NULL,
    franchise_id      TEXT NOT NULL,
    name              TEXT NOT NULL,
    status            TEXT NOT NULL CONSTRAINT kiosks_status_check CHECK (status IN ('unpaired', 'paired', 'revoked')),
    device_token_hash TEXT,
    last_seen_at      TEXT,
    app_version       TEXT,
    created_at        TEXT NOT NULL,
    updated_at        TEXT NOT NULL,
    CONSTRAINT kiosks_gym_fkey FOREIGN KEY (gym_id, franchise_id)
        REFERENCES gyms (id, franchise_id) ON DELETE CASCADE,
    CONSTRAINT kiosks_gym_name_key UNIQUE (gym_id, name),
    CONSTRAINT kiosks_device_token_hash_key UNIQUE (device_token_hash)
);

CREATE TABLE audit_log (
    id            TEXT PRIMARY KEY NOT NULL,
    at            TEXT NOT NULL,
    actor_kind    TEXT NOT NULL,
    actor_user_id TEXT,
    franchise_id  TEXT,
    gym_id        TEXT,
    action        TEXT NOT NULL,
    target_type   TEXT NOT NULL,
    target_id     TEXT,
    ip            TEXT,
    user_agent    TEXT,
    details       TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_log_franchise_at_idx ON audit_log (franchise_id, at);
CREATE INDEX audit_log_at_idx ON audit_log (at);
