-- Bulk loads (`jarvis demo seed --scale`) add their rows' share to the daily rollups in a few
-- set-based statements per batch instead of one trigger call per inserted row (issue 15,
-- target 4: the triggers doubled the seed's time). While the transaction-local setting
-- `jarvis.rollups_paused` is 'on', the insert triggers stand aside; only the load's own
-- transaction sets it (`set_config(..., true)`), so every other writer keeps its triggers.
-- Updates and deletes keep theirs. (SQLite has no such setting: it uses an uncommitted row in a
-- table of its own.)

DROP TRIGGER member_last_call_insert ON voice_sessions;
CREATE TRIGGER member_last_call_insert AFTER INSERT ON voice_sessions
    FOR EACH ROW WHEN (current_setting('jarvis.rollups_paused', true) IS DISTINCT FROM 'on')
    EXECUTE FUNCTION jarvis_member_last_call_trigger();

DROP TRIGGER session_daily_insert ON voice_sessions;
CREATE TRIGGER session_daily_insert AFTER INSERT ON voice_sessions
    FOR EACH ROW WHEN (current_setting('jarvis.rollups_paused', true) IS DISTINCT FROM 'on')
    EXECUTE FUNCTION jarvis_session_daily_trigger();

DROP TRIGGER analysis_daily_insert ON session_analyses;
CREATE TRIGGER analysis_daily_insert AFTER INSERT ON session_analyses
    FOR EACH ROW WHEN (NEW.status = 'done'
                       AND current_setting('jarvis.rollups_paused', true) IS DISTINCT FROM 'on')
    EXECUTE FUNCTION jarvis_analysis_daily_trigger();

DROP TRIGGER latency_daily_turn ON conversation_turns;
CREATE TRIGGER latency_daily_turn AFTER INSERT ON conversation_turns
    FOR EACH ROW WHEN (NEW.latency_ms IS NOT NULL
                       AND current_setting('jarvis.rollups_paused', true) IS DISTINCT FROM 'on')
    EXECUTE FUNCTION jarvis_latency_daily_trigger('turn');

-- Churn scoring walks a gym's active members in id order, a page at a time: without this the
-- planner read every active member of the gym (and their four correlated counts) for each page
-- of 200 (2 s per page at 100,000 members on SQLite; 6 ms with it).
CREATE INDEX members_gym_active_idx ON members (gym_id, franchise_id, membership_status, id);
