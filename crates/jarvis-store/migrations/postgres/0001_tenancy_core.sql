-- Tenancy core: franchises → gyms → (members, kiosks); users hold role memberships; audit log.
-- Same tables, columns and constraint names as the SQLite schema (a test checks it).
--
-- Row-level security is the second wall behind the application's own tenant filters:
-- the app runs every transaction as the non-owner role `jarvis_app` with the tenant scope
-- in transaction-local settings (jarvis.scope, jarvis.franchise_id, jarvis.gym_id,
-- jarvis.user_id). An unset scope sees nothing.

DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'jarvis_app') THEN
        CREATE ROLE jarvis_app NOLOGIN NOSUPERUSER NOBYPASSRLS;
    END IF;
END
$$;
GRANT jarvis_app TO CURRENT_USER;
GRANT USAGE ON SCHEMA public TO jarvis_app;

CREATE FUNCTION jarvis_scope() RETURNS text LANGUAGE sql STABLE AS
$$ SELECT coalesce(current_setting('jarvis.scope', true), '') $$;
CREATE FUNCTION jarvis_franchise() RETURNS uuid LANGUAGE sql STABLE AS
$$ SELECT nullif(current_setting('jarvis.franchise_id', true), '')::uuid $$;
CREATE FUNCTION jarvis_gym() RETURNS uuid LANGUAGE sql STABLE AS
$$ SELECT nullif(current_setting('jarvis.gym_id', true), '')::uuid $$;
CREATE FUNCTION jarvis_user() RETURNS uuid LANGUAGE sql STABLE AS
$$ SELECT nullif(current_setting('jarvis.user_id', true), '')::uuid $$;
-- Whether the current scope may see a row owned by franchise f / gym g.
CREATE FUNCTION jarvis_row_visible(f uuid, g uuid) RETURNS boolean LANGUAGE sql STABLE AS
$$ SELECT CASE jarvis_scope()
       WHEN 'platform' THEN true
       WHEN 'franchise' THEN f IS NOT NULL AND f = jarvis_franchise()
       WHEN 'gym' THEN g IS NOT NULL AND g = jarvis_gym() AND f = jarvis_franchise()
       ELSE false
   END $$;

CREATE TABLE franchises (
    id          uuid PRIMARY KEY,
    name        text NOT NULL,
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL,
    archived_at timestamptz,
    CONSTRAINT franchises_name_key UNIQUE (name)
);

CREATE TABLE gyms (
    id           uuid PRIMARY KEY,
    franchise_id uuid NOT NULL REFERENCES franchises (id) ON DELETE RESTRICT,
    name         text NOT NULL,
    address      text,
    timezone     text NOT NULL,
    locale       text NOT NULL CONSTRAINT gyms_locale_check CHECK (locale IN ('fr', 'en')),
    status       text NOT NULL CONSTRAINT gyms_status_check
                 CHECK (status IN ('pending', 'active', 'rejected', 'suspended', 'archived')),
    settings     jsonb NOT NULL DEFAULT '{}',
    created_at   timestamptz NOT NULL,
    updated_at   timestamptz NOT NULL,
    CONSTRAINT gyms_franchise_name_key UNIQUE (franchise_id, name),
    CONSTRAINT gyms_id_franchise_key UNIQUE (id, franchise_id)
);

CREATE TABLE users (
    id            uuid PRIMARY KEY,
    email         text NOT NULL,
    display_name  text NOT NULL,
    locale        text NOT NULL CONSTRAINT users_locale_check CHECK (locale IN ('fr', 'en')),
    password_hash text,
    created_at    timestamptz NOT NULL,
    updated_at    timestamptz NOT NULL,
    disabled_at   timestamptz,
    CONSTRAINT users_email_key UNIQUE (email)
);

CREATE TABLE memberships (
    id           uuid PRIMARY KEY,
    user_id      uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role         text NOT NULL CONSTRAINT memberships_role_check
                 CHECK (role IN ('super_admin', 'franchise_owner', 'gym_manager', 'gym_staff')),
    franchise_id uuid REFERENCES franchises (id) ON DELETE CASCADE,
    gym_id       uuid,
    created_at   timestamptz NOT NULL,
    CONSTRAINT memberships_gym_fkey FOREIGN KEY (gym_id, franchise_id)
        REFERENCES gyms (id, franchise_id) ON DELETE CASCADE,
    CONSTRAINT memberships_shape_check CHECK (
        (role = 'super_admin' AND franchise_id IS NULL AND gym_id IS NULL)
        OR (role = 'franchise_owner' AND franchise_id IS NOT NULL AND gym_id IS NULL)
        OR (role IN ('gym_manager', 'gym_staff') AND franchise_id IS NOT NULL AND gym_id IS NOT NULL))
);
CREATE UNIQUE INDEX memberships_user_scope_key
    ON memberships (user_id, role, COALESCE(franchise_id::text, ''), COALESCE(gym_id::text, ''));
CREATE INDEX memberships_franchise_idx ON memberships (franchise_id, gym_id);

CREATE TABLE members (
    id                  uuid PRIMARY KEY,
    gym_id              uuid NOT NULL,
    franchise_id        uuid NOT NULL,
    badge_id            text NOT NULL,
    first_name          text NOT NULL,
    last_name           text NOT NULL,
    email               text,
    phone               text,
    birth_date          date,
    preferred_language  text NOT NULL CONSTRAINT members_language_check CHECK (preferred_language IN ('fr', 'en')),
    membership_type     text NOT NULL,
    membership_status   text NOT NULL CONSTRAINT members_status_check
                        CHECK (membership_status IN ('active', 'frozen', 'expired', 'cancelled')),
    membership_end_date date,
    goals               jsonb NOT NULL DEFAULT '[]',
    limitations         text,
    consent_voice       boolean NOT NULL DEFAULT false,
    consent_transcripts boolean NOT NULL DEFAULT false,
    visit_count         bigint NOT NULL DEFAULT 0,
    last_visit_at       timestamptz,
    created_at          timestamptz NOT NULL,
    updated_at          timestamptz NOT NULL,
    CONSTRAINT members_gym_fkey FOREIGN KEY (gym_id, franchise_id)
        REFERENCES gyms (id, franchise_id) ON DELETE CASCADE,
    CONSTRAINT members_gym_badge_key UNIQUE (gym_id, badge_id)
);
CREATE INDEX members_gym_name_idx ON members (gym_id, last_name, first_name);
CREATE INDEX members_franchise_idx ON members (franchise_id);

CREATE TABLE kiosks (
    id                uuid PRIMARY KEY,
    gym_id            uuid NOT NULL,
    franchise_id      uuid NOT NULL,
    name              text NOT NULL,
    status            text NOT NULL CONSTRAINT kiosks_status_check CHECK (status IN ('unpaired', 'paired', 'revoked')),
    device_token_hash text,
    last_seen_at      timestamptz,
    app_version       text,
    created_at        timestamptz NOT NULL,
    updated_at        timestamptz NOT NULL,
    CONSTRAINT kiosks_gym_fkey FOREIGN KEY (gym_id, franchise_id)
        REFERENCES gyms (id, franchise_id) ON DELETE CASCADE,
    CONSTRAINT kiosks_gym_name_key UNIQUE (gym_id, name),
    CONSTRAINT kiosks_device_token_hash_key UNIQUE (device_token_hash)
);

CREATE TABLE audit_log (
    id            uuid PRIMARY KEY,
    at            timestamptz NOT NULL,
    actor_kind    text NOT NULL,
    actor_user_id uuid,
    franchise_id  uuid,
    gym_id        uuid,
    action        text NOT NULL,
    target_type   text NOT NULL,
    target_id     text,
    ip            text,
    user_agent    text,
    details       jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_log_franchise_at_idx ON audit_log (franchise_id, at);
CREATE INDEX audit_log_at_idx ON audit_log (at);

-- Privileges: the app role reads and writes rows; it owns nothing, so FORCE'd policies bind it.
GRANT SELECT, INSERT, UPDATE, DELETE ON franchises, gyms, users, memberships, members, kiosks, audit_log TO jarvis_app;

ALTER TABLE franchises ENABLE ROW LEVEL SECURITY;
ALTER TABLE franchises FORCE ROW LEVEL SECURITY;
CREATE POLICY franchises_tenant ON franchises
    USING (jarvis_scope() = 'platform' OR (jarvis_scope() IN ('franchise', 'gym') AND id = jarvis_franchise()))
    WITH CHECK (jarvis_scope() = 'platform' OR (jarvis_scope() = 'franchise' AND id = jarvis_franchise()));

ALTER TABLE gyms ENABLE ROW LEVEL SECURITY;
ALTER TABLE gyms FORCE ROW LEVEL SECURITY;
CREATE POLICY gyms_tenant ON gyms
    USING (jarvis_row_visible(franchise_id, id))
    WITH CHECK (jarvis_row_visible(franchise_id, id));

ALTER TABLE memberships ENABLE ROW LEVEL SECURITY;
ALTER TABLE memberships FORCE ROW LEVEL SECURITY;
-- The `identity` scope (sign-in) reads only the memberships of the user being signed in.
CREATE POLICY memberships_tenant ON memberships
    USING (jarvis_row_visible(franchise_id, gym_id)
           OR (jarvis_scope() = 'identity' AND user_id = jarvis_user()))
    WITH CHECK (jarvis_row_visible(franchise_id, gym_id));

ALTER TABLE members ENABLE ROW LEVEL SECURITY;
ALTER TABLE members FORCE ROW LEVEL SECURITY;
CREATE POLICY members_tenant ON members
    USING (jarvis_row_visible(franchise_id, gym_id))
    WITH CHECK (jarvis_row_visible(franchise_id, gym_id));

ALTER TABLE kiosks ENABLE ROW LEVEL SECURITY;
ALTER TABLE kiosks FORCE ROW LEVEL SECURITY;
CREATE POLICY kiosks_tenant ON kiosks
    USING (jarvis_row_visible(franchise_id, gym_id))
    WITH CHECK (jarvis_row_visible(franchise_id, gym_id));

ALTER TABLE audit_log ENABLE ROW LEVEL SECURITY;
ALTER TABLE audit_log FORCE ROW LEVEL SECURITY;
-- Any scope may append its own entries; reading follows the tenant wall.
CREATE POLICY audit_log_read ON audit_log FOR SELECT
    USING (jarvis_row_visible(franchise_id, gym_id));
CREATE POLICY audit_log_append ON audit_log FOR INSERT
    WITH CHECK (jarvis_scope() <> '' AND (franchise_id IS NULL OR jarvis_row_visible(franchise_id, gym_id)
                OR jarvis_scope() = 'identity'));
