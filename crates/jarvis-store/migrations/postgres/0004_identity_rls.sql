-- Row-level security on every table (issue 9). Tables holding secrets or personal data but no
-- tenant get policies too: they are readable only under the named contexts storage sets
-- explicitly (jarvis.scope = identity, signin, keys, mailer, purge), never under a tenant scope
-- (platform, franchise, gym). Same tables, columns and constraint names as the SQLite schema.
--
--   identity  one user's own rows (jarvis.user_id): profile, credentials, sessions, refresh
--             tokens, MFA factors, recovery codes, password resets. Every write to a user's
--             secrets happens here.
--   signin    read-only lookups across users by e-mail or token hash (sign-in, refresh, reset,
--             invitation acceptance) plus the sign-in throttles.
--   keys      signing keys.
--   mailer    reading and marking the e-mail outbox (any set context may append to it).
--   purge     retention sweeps: reading and deleting what ended.

-- The password hash leaves `users`, so a tenant scope may read team profiles without ever
-- reaching a hash. Copied before the policies exist (the migrating owner may be bound by them).
CREATE TABLE user_credentials (
    user_id       uuid PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    password_hash text NOT NULL,
    updated_at    timestamptz NOT NULL
);
INSERT INTO user_credentials (user_id, password_hash, updated_at)
    SELECT id, password_hash, updated_at FROM users WHERE password_hash IS NOT NULL;
ALTER TABLE users DROP COLUMN password_hash;

GRANT SELECT, INSERT, UPDATE, DELETE ON user_credentials TO jarvis_app;

-- users: profiles. Platform and sign-in see all; a user sees their own row; franchise and gym
-- scopes see the users holding a membership visible in them (memberships' own policy filters
-- the subquery). Writes: the platform, or the user's own identity.
ALTER TABLE users ENABLE ROW LEVEL SECURITY;
ALTER TABLE users FORCE ROW LEVEL SECURITY;
CREATE POLICY users_read ON users FOR SELECT
    USING (jarvis_scope() IN ('platform', 'signin')
           OR (jarvis_scope() = 'identity' AND id = jarvis_user())
           OR (jarvis_scope() IN ('franchise', 'gym')
               AND EXISTS (SELECT 1 FROM memberships m WHERE m.user_id = users.id)));
CREATE POLICY users_insert ON users FOR INSERT
    WITH CHECK (jarvis_scope() = 'platform' OR (jarvis_scope() = 'identity' AND id = jarvis_user()));
CREATE POLICY users_update ON users FOR UPDATE
    USING (jarvis_scope() = 'platform' OR (jarvis_scope() = 'identity' AND id = jarvis_user()))
    WITH CHECK (jarvis_scope() = 'platform' OR (jarvis_scope() = 'identity' AND id = jarvis_user()));
CREATE POLICY users_delete ON users FOR DELETE
    USING (jarvis_scope() = 'platform');

ALTER TABLE user_credentials ENABLE ROW LEVEL SECURITY;
ALTER TABLE user_credentials FORCE ROW LEVEL SECURITY;
CREATE POLICY user_credentials_own ON user_credentials
    USING (jarvis_scope() = 'identity' AND user_id = jarvis_user())
    WITH CHECK (jarvis_scope() = 'identity' AND user_id = jarvis_user());
CREATE POLICY user_credentials_signin ON user_credentials FOR SELECT
    USING (jarvis_scope() = 'signin');

ALTER TABLE auth_sessions ENABLE ROW LEVEL SECURITY;
ALTER TABLE auth_sessions FORCE ROW LEVEL SECURITY;
CREATE POLICY auth_sessions_own ON auth_sessions
    USING (jarvis_scope() = 'identity' AND user_id = jarvis_user())
    WITH CHECK (jarvis_scope() = 'identity' AND user_id = jarvis_user());
CREATE POLICY auth_sessions_signin ON auth_sessions FOR SELECT
    USING (jarvis_scope() IN ('signin', 'purge'));
CREATE POLICY auth_sessions_purge ON auth_sessions FOR DELETE
    USING (jarvis_scope() = 'purge');

ALTER TABLE auth_refresh_tokens ENABLE ROW LEVEL SECURITY;
ALTER TABLE auth_refresh_tokens FORCE ROW LEVEL SECURITY;
CREATE POLICY auth_refresh_tokens_own ON auth_refresh_tokens
    USING (jarvis_scope() = 'identity' AND EXISTS (SELECT 1 FROM auth_sessions s
           WHERE s.id = auth_refresh_tokens.session_id AND s.user_id = jarvis_user()))
    WITH CHECK (jarvis_scope() = 'identity' AND EXISTS (SELECT 1 FROM auth_sessions s
           WHERE s.id = auth_refresh_tokens.session_id AND s.user_id = jarvis_user()));
CREATE POLICY auth_refresh_tokens_signin ON auth_refresh_tokens FOR SELECT
    USING (jarvis_scope() IN ('signin', 'purge'));
CREATE POLICY auth_refresh_tokens_purge ON auth_refresh_tokens FOR DELETE
    USING (jarvis_scope() = 'purge');

ALTER TABLE mfa_factors ENABLE ROW LEVEL SECURITY;
ALTER TABLE mfa_factors FORCE ROW LEVEL SECURITY;
CREATE POLICY mfa_factors_own ON mfa_factors
    USING (jarvis_scope() = 'identity' AND user_id = jarvis_user())
    WITH CHECK (jarvis_scope() = 'identity' AND user_id = jarvis_user());

ALTER TABLE mfa_recovery_codes ENABLE ROW LEVEL SECURITY;
ALTER TABLE mfa_recovery_codes FORCE ROW LEVEL SECURITY;
CREATE POLICY mfa_recovery_codes_own ON mfa_recovery_codes
    USING (jarvis_scope() = 'identity' AND user_id = jarvis_user())
    WITH CHECK (jarvis_scope() = 'identity' AND user_id = jarvis_user());

ALTER TABLE password_resets ENABLE ROW LEVEL SECURITY;
ALTER TABLE password_resets FORCE ROW LEVEL SECURITY;
CREATE POLICY password_resets_own ON password_resets
    USING (jarvis_scope() = 'identity' AND user_id = jarvis_user())
    WITH CHECK (jarvis_scope() = 'identity' AND user_id = jarvis_user());
CREATE POLICY password_resets_signin ON password_resets FOR SELECT
    USING (jarvis_scope() IN ('signin', 'purge'));
CREATE POLICY password_resets_purge ON password_resets FOR DELETE
    USING (jarvis_scope() = 'purge');

-- Throttles are keyed by e-mail and IP, before anyone is known.
ALTER TABLE login_throttles ENABLE ROW LEVEL SECURITY;
ALTER TABLE login_throttles FORCE ROW LEVEL SECURITY;
CREATE POLICY login_throttles_signin ON login_throttles
    USING (jarvis_scope() = 'signin')
    WITH CHECK (jarvis_scope() = 'signin');
CREATE POLICY login_throttles_purge_read ON login_throttles FOR SELECT
    USING (jarvis_scope() = 'purge');
CREATE POLICY login_throttles_purge ON login_throttles FOR DELETE
    USING (jarvis_scope() = 'purge');

ALTER TABLE signing_keys ENABLE ROW LEVEL SECURITY;
ALTER TABLE signing_keys FORCE ROW LEVEL SECURITY;
CREATE POLICY signing_keys_keys ON signing_keys
    USING (jarvis_scope() = 'keys')
    WITH CHECK (jarvis_scope() = 'keys');

ALTER TABLE email_outbox ENABLE ROW LEVEL SECURITY;
ALTER TABLE email_outbox FORCE ROW LEVEL SECURITY;
CREATE POLICY email_outbox_append ON email_outbox FOR INSERT
    WITH CHECK (jarvis_scope() <> '');
CREATE POLICY email_outbox_mailer ON email_outbox
    USING (jarvis_scope() = 'mailer')
    WITH CHECK (jarvis_scope() = 'mailer');
CREATE POLICY email_outbox_purge_read ON email_outbox FOR SELECT
    USING (jarvis_scope() = 'purge');
CREATE POLICY email_outbox_purge ON email_outbox FOR DELETE
    USING (jarvis_scope() = 'purge');

-- Invitation acceptance finds a pending invitation by its token hash before any scope is known.
CREATE POLICY invitations_signin ON invitations FOR SELECT
    USING (jarvis_scope() = 'signin');

-- Appending to the logs: a row tagged with a tenant must be visible in the current scope (an
-- untagged row is fine from any set context). Before, any set scope could tag any tenant.
DROP POLICY audit_log_append ON audit_log;
CREATE POLICY audit_log_append ON audit_log FOR INSERT
    WITH CHECK (jarvis_scope() <> '' AND (franchise_id IS NULL OR jarvis_row_visible(franchise_id, gym_id)));
DROP POLICY auth_events_append ON auth_events;
CREATE POLICY auth_events_append ON auth_events FOR INSERT
    WITH CHECK (jarvis_scope() <> '' AND (franchise_id IS NULL OR jarvis_row_visible(franchise_id, gym_id)));
