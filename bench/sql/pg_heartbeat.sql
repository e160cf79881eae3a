-- What our heartbeat runs per request since heartbeats are coalesced: the token check.
-- (The batched UPDATE, one transaction per second for all kiosks, is amortized away.)
\set t random(1, :ntok)
BEGIN;
SELECT set_config('role', 'jarvis_app', true);
SELECT set_config('jarvis.scope', 'platform', true), set_config('jarvis.franchise_id', '', true), set_config('jarvis.gym_id', '', true), set_config('jarvis.user_id', '', true);
SELECT id, gym_id, franchise_id, name, status, last_seen_at, app_version, created_at, uptime_secs, mic_status, network_quality, paired_at, pairing_expires_at FROM kiosks WHERE device_token_hash = encode(sha256(convert_to('jk_bench_' || :t::text, 'UTF8')), 'hex') \gset k_
SELECT id, franchise_id, name, address, timezone, locale, status, settings, created_at, updated_at, status_reason FROM gyms WHERE id = :k_gym_id::uuid \gset g_
COMMIT;
