-- A heartbeat written per request (what JARVIS did before coalescing, and what the Node peer
-- does): the token check, then one write transaction.
\set t random(1, :ntok)
BEGIN;
SELECT set_config('role', 'jarvis_app', true);
SELECT set_config('jarvis.scope', 'platform', true), set_config('jarvis.franchise_id', '', true), set_config('jarvis.gym_id', '', true), set_config('jarvis.user_id', '', true);
SELECT id, gym_id, franchise_id, name, status, last_seen_at, app_version, created_at, uptime_secs, mic_status, network_quality, paired_at, pairing_expires_at FROM kiosks WHERE device_token_hash = encode(sha256(convert_to('jk_bench_' || :t::text, 'UTF8')), 'hex') \gset k_
SELECT id, franchise_id, name, address, timezone, locale, status, settings, created_at, updated_at, status_reason FROM gyms WHERE id = :k_gym_id::uuid \gset g_
COMMIT;
BEGIN;
SELECT set_config('role', 'jarvis_app', true);
SELECT set_config('jarvis.scope', 'gym', true), set_config('jarvis.franchise_id', :k_franchise_id::text, true), set_config('jarvis.gym_id', :k_gym_id::text, true), set_config('jarvis.user_id', '', true);
UPDATE kiosks SET last_seen_at = now(), app_version = '2.4.1', uptime_secs = 86400, mic_status = 'ok', network_quality = 'good' WHERE id = :k_id::uuid AND status = 'paired' AND franchise_id = :k_franchise_id::uuid AND gym_id = :k_gym_id::uuid;
SELECT id, gym_id, franchise_id, name, status, last_seen_at, app_version, created_at, uptime_secs, mic_status, network_quality, paired_at, pairing_expires_at FROM kiosks WHERE gym_id = :k_gym_id::uuid AND id = :k_id::uuid AND franchise_id = :k_franchise_id::uuid AND gym_id = :k_gym_id::uuid;
COMMIT;
