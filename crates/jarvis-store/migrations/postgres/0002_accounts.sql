-- Accounts and security: signing keys, sessions (refresh-token families), MFA, lockout,
-- password resets, invitations, auth events, e-mail outbox. Same tables and columns as SQLite.
-- Identity tables (keys, sessions, factors, throttles, outbox) hold no tenant data; invitations
-- and auth events are tenant-tagged and get row-level security like audit_log.

CREATE TABLE signing_keys (
    kid             text PRIMARY KEY,
    algorithm       text NOT NULL,
    private_key_enc text NOT NULL,
    public_n        text NOT NULL,
    public_e        text NOT NULL,
    created_at      timestamptz NOT NULL,
    retired_at      timestamptz
);

CREATE TABLE auth_sessions (
    id             uuid PRIMARY KEY,
    user_id        uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind           text NOT NULL CONSTRAINT auth_sessions_kind_check CHECK (kind IN ('api', 'web')),
    aal            integer NOT NULL CONSTRAINT auth_sessions_aal_check CHECK (aal IN (1, 2)),
    token_hash     text,
    created_at     timestamptz NOT NULL,
    last_seen_at   timestamptz NOT NULL,
    expires_at     timestamptz NOT NULL,
    revoked_at     timestamptz,
    revoked_reason text,
    ip             text,
    user_agent     text,
    CONSTRAINT auth_sessions_token_hash_key UNIQUE (token_hash)
);
CREATE INDEX auth_sessions_user_idx ON auth_sessions (user_id, created_at);

CREATE TABLE auth_refresh_tokens (
    token_hash text PRIMARY KEY,
    session_id uuid NOT NULL REFERENCES auth_sessions (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL,
    used_at    timestamptz
);
CREATE INDEX auth_refresh_tokens_session_idx ON auth_refresh_tokens (session_id);

CREATE TABLE mfa_factors (
    id             uuid PRIMARY KEY,
    user_id        uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind           text NOT NULL CONSTRAINT mfa_factors_kind_check CHECK (kind IN ('totp')),
    secret_enc     text NOT NULL,
    confirmed_at   timestamptz,
    last_used_step bigint,
    created_at     timestamptz NOT NULL,
    CONSTRAINT mfa_factors_user_kind_key UNIQUE (user_id, kind)
);

CREATE TABLE mfa_recovery_codes (
    id         uuid PRIMARY KEY,
    user_id    uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    code_hash  text NOT NULL,
    used_at    timestamptz,
    created_at timestamptz NOT NULL,
    CONSTRAINT mfa_recovery_codes_hash_key UNIQUE (user_id, code_hash)
);

CREATE TABLE login_throttles (
    throttle_key text PRIMARY KEY,
    failures     integer NOT NULL,
    last_failure timestamptz NOT NULL,
    locked_until timestamptz
);

CREATE TABLE password_resets (
    token_hash text PRIMARY KEY,
    user_id    uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    used_at    timestamptz
);

CREATE TABLE invitations (
    id           uuid PRIMARY KEY,
    email        text NOT NULL,
    display_name text NOT NULL,
    role         text NOT NULL CONSTRAINT invitations_role_check
                 CHECK (role IN ('super_admin', 'franchise_owner', 'gym_manager', 'gym_staff')),
    franchise_id uuid REFERENCES franchises (id) ON DELETE CASCADE,
    gym_id       uuid,
    token_hash   text NOT NULL,
    invited_by   uuid REFERENCES users (id) ON DELETE SET NULL,
    created_at   timestamptz NOT NULL,
    expires_at   timestamptz NOT NULL,
    accepted_at  timestamptz,
    revoked_at   timestamptz,
    CONSTRAINT invitations_token_hash_key UNIQUE (token_hash),
    CONSTRAINT invitations_gym_fkey FOREIGN KEY (gym_id, franchise_id)
        REFERENCES gyms (id, franchise_id) ON DELETE CASCADE
);
CREATE INDEX invitations_franchise_idx ON invitations (franchise_id, gym_id, created_at);

CREATE TABLE auth_events (
    id           uuid PRIMARY KEY,
    at           timestamptz NOT NULL,
    event        text NOT NULL,
    user_id      uuid,
    email        text,
    franchise_id uuid,
    gym_id       uuid,
    ip           text,
    user_agent   text,
    details      jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX auth_events_at_idx ON auth_events (at);
CREATE INDEX auth_events_user_idx ON auth_events (user_id, at);

CREATE TABLE email_outbox (
    id         uuid PRIMARY KEY,
    to_address text NOT NULL,
    subject    text NOT NULL,
    body_text  text NOT NULL,
    body_html  text NOT NULL,
    kind       text NOT NULL,
    created_at timestamptz NOT NULL,
    sent_at    timestamptz,
    attempts   integer NOT NULL DEFAULT 0,
    last_error text
);
CREATE INDEX email_outbox_pending_idx ON email_outbox (sent_at, created_at);

GRANT SELECT, INSERT, UPDATE, DELETE ON signing_keys, auth_sessions, auth_refresh_tokens, mfa_factors,
    mfa_recovery_codes, login_throttles, password_resets, invitations, auth_events, email_outbox TO jarvis_app;

ALTER TABLE invitations ENABLE ROW LEVEL SECURITY;
ALTER TABLE invitations FORCE ROW LEVEL SECURITY;
CREATE POLICY invitations_tenant ON invitations
    USING (jarvis_row_visible(franchise_id, gym_id) OR jarvis_scope() = 'platform')
    WITH CHECK (jarvis_row_visible(franchise_id, gym_id) OR jarvis_scope() = 'platform');

ALTER TABLE auth_events ENABLE ROW LEVEL SECURITY;
ALTER TABLE auth_events FORCE ROW LEVEL SECURITY;
-- Sign-in runs before any scope is known: any set scope may append; reading follows the tenant wall.
CREATE POLICY auth_events_read ON auth_events FOR SELECT
    USING (jarvis_row_visible(franchise_id, gym_id));
CREATE POLICY auth_events_append ON auth_events FOR INSERT
    WITH CHECK (jarvis_scope() <> '');
