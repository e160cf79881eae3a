-- The statements of one badge lookup (kiosk_api.rs member_by_badge), on the path every bench
-- lookup takes (the member was seen within the 10-minute debounce: no new visit row).
-- :t (kiosk) and :b (badge) are drawn per transaction; bench/run passes ntok and nbadge.
\set t random(1, :ntok)
\set b random(1, :nbadge)
BEGIN;
SELECT set_config('role', 'jarvis_app', true);
SELECT set_config('jarvis.scope', 'platform', true), set_config('jarvis.franchise_id', '', true), set_config('jarvis.gym_id', '', true), set_config('jarvis.user_id', '', true);
SELECT id, gym_id, franchise_id, name, status, last_seen_at, app_version, created_at, uptime_secs, mic_status, network_quality, paired_at, pairing_expires_at FROM kiosks WHERE device_token_hash = encode(sha256(convert_to('jk_bench_' || :t::text, 'UTF8')), 'hex') \gset k_
SELECT id, franchise_id, name, address, timezone, locale, status, settings, created_at, updated_at, status_reason FROM gyms WHERE id = :k_gym_id::uuid \gset g_
COMMIT;
BEGIN;
SELECT set_config('role', 'jarvis_app', true);
SELECT set_config('jarvis.scope', 'gym', true), set_config('jarvis.franchise_id', :k_franchise_id::text, true), set_config('jarvis.gym_id', :k_gym_id::text, true), set_config('jarvis.user_id', '', true);
SELECT id, gym_id, franchise_id, badge_id, first_name, last_name, email, phone, birth_date, preferred_language, membership_type, membership_status, membership_end_date, goals, limitations, consent_voice, consent_transcripts, visit_count, last_visit_at, created_at, updated_at FROM members WHERE gym_id = :k_gym_id::uuid AND badge_id = 'BENCH-' || lpad(:b::text, 6, '0') AND franchise_id = :k_franchise_id::uuid AND gym_id = :k_gym_id::uuid \gset m_
COMMIT;
BEGIN;
SELECT set_config('role', 'jarvis_app', true);
SELECT set_config('jarvis.scope', 'gym', true), set_config('jarvis.franchise_id', :k_franchise_id::text, true), set_config('jarvis.gym_id', :k_gym_id::text, true), set_config('jarvis.user_id', '', true);
SELECT id, gym_id, franchise_id, badge_id, first_name, last_name, email, phone, birth_date, preferred_language, membership_type, membership_status, membership_end_date, goals, limitations, consent_voice, consent_transcripts, visit_count, last_visit_at, created_at, updated_at FROM members WHERE gym_id = :k_gym_id::uuid AND id = :m_id::uuid AND franchise_id = :k_franchise_id::uuid AND gym_id = :k_gym_id::uuid;
UPDATE members SET visit_count = visit_count + 1, last_visit_at = now() WHERE gym_id = :k_gym_id::uuid AND id = :m_id::uuid AND (last_visit_at IS NULL OR last_visit_at <= now() - interval '10 minutes') AND franchise_id = :k_franchise_id::uuid AND gym_id = :k_gym_id::uuid;
COMMIT;
