-- Accounts and security: signing keys, sessions (refresh-token families), MFA, lockout,
-- password resets, invitations, auth events, e-mail outbox. Same tables and columns as PostgreSQL.

CREATE TABLE signing_keys (
    kid             TEXT PRIMARY KEY NOT NULL,
    algorithm       TEXT NOT NULL,
    private_key_enc TEXT NOT NULL,
    public_n        TEXT NOT NULL,
    public_e        TEXT NOT NULL,
    created_at      TEXT NOT NULL,
    retired_at      TEXT
);

CREATE TABLE auth_sessions (
    id             TEXT PRIMARY KEY NOT NULL,
    user_id        TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind           TEXT NOT NULL CONSTRAINT auth_sessions_kind_check CHECK (kind IN ('api', 'web')),
    aal            INTEGER NOT NULL CONSTRAINT auth_sessions_aal_check CHECK (aal IN (1, 2)),
    token_hash     TEXT,
    created_at     TEXT NOT NULL,
    last_seen_at   TEXT NOT NULL,
    expires_at     TEXT NOT NULL,
    revoked_at     TEXT,
    revoked_reason TEXT,
    ip             TEXT,
    user_agent     TEXT,
    CONSTRAINT auth_sessions_token_hash_key UNIQUE (token_hash)
);
CREATE INDEX auth_sessions_user_idx ON auth_sessions (user_id, created_at);

CREATE TABLE auth_refresh_tokens (
    token_hash TEXT PRIMARY KEY NOT NULL,
    session_id TEXT NOT NULL REFERENCES auth_sessions (id) ON DELETE CASCADE,
    created_at TEXT NOT NULL,
    used_at    TEXT
);
CREATE INDEX auth_refresh_tokens_session_idx ON auth_refresh_tokens (session_id);

CREATE TABLE mfa_factors (
    id             TEXT PRIMARY KEY NOT NULL,
    user_id        TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind           TEXT NOT NULL CONSTRAINT mfa_factors_kind_check CHECK (kind IN ('totp')),
    secret_enc     TEXT NOT NULL,
    confirmed_at   TEXT,
    last_used_step INTEGER,
    created_at     TEXT NOT NULL,
    CONSTRAINT mfa_factors_user_kind_key UNIQUE (user_id, kind)
);

CREATE TABLE mfa_recovery_codes (
    id         TEXT PRIMARY KEY NOT NULL,
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    code_hash  TEXT NOT NULL,
    used_at    TEXT,
    created_at TEXT NOT NULL,
    CONSTRAINT mfa_recovery_codes_hash_key UNIQUE (user_id, code_hash)
);

CREATE TABLE login_throttles (
    throttle_key TEXT PRIMARY KEY NOT NULL,
    failures     INTEGER NOT NULL,
    last_failure TEXT NOT NULL,
    locked_until TEXT
);

CREATE TABLE password_resets (
    token_hash TEXT PRIMARY KEY NOT NULL,
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    used_at    TEXT
);

CREATE TABLE invitations (
    id           TEXT PRIMARY KEY NOT NULL,
    email        TEXT NOT NULL,
    display_name TEXT NOT NULL,
    role         TEXT NOT NULL CONSTRAINT invitations_role_check
                 CHECK (role IN ('super_admin', 'franchise_owner', 'gym_manager', 'gym_staff')),
    franchise_id TEXT REFERENCES franchises (id) ON DELETE CASCADE,
    gym_id       TEXT,
    token_hash   TEXT NOT NULL,
    invited_by   TEXT REFERENCES users (id) ON DELETE SET NULL,
    created_at   TEXT NOT NULL,
    expires_at   TEXT NOT NULL,
    accepted_at  TEXT,
    revoked_at   TEXT,
    CONSTRAINT invitations_token_hash_key UNIQUE (token_hash),
    CONSTRAINT invitations_gym_fkey FOREIGN KEY (gym_id, franchise_id)
        REFERENCES gyms (id, franchise_id) ON DELETE CASCADE
);
CREATE INDEX invitations_franchise_idx ON invitations (franchise_id, gym_id, created_at);

CREATE TABLE auth_events (
    id           TEXT PRIMARY KEY NOT NULL,
    at           TEXT NOT NULL,
    event        TEXT NOT NULL,
    user_id      TEXT,
    email        TEXT,
    franchise_id TEXT,
    gym_id       TEXT,
    ip           TEXT,
    user_agent   TEXT,
    details      TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX auth_events_at_idx ON auth_events (at);
CREATE INDEX auth_events_user_idx ON auth_events (user_id, at);

CREATE TABLE email_outbox (
    id         TEXT PRIMARY KEY NOT NULL,
    to_address TEXT NOT NULL,
    subject    TEXT NOT NULL,
    body_text  TEXT NOT NULL,
    body_html  TEXT NOT NULL,
    kind       TEXT NOT NULL,
    created_at TEXT NOT NULL,
    sent_at    TEXT,
    attempts   INTEGER NOT NULL DEFAULT 0,
    last_error TEXT
);
CREATE INDEX email_outbox_pending_idx ON email_outbox (sent_at, created_at);
