-- Bulk loads (`jarvis demo seed --scale`) add their rows' share to the daily rollups in a few
-- set-based statements per batch instead of one trigger upsert per inserted row (issue 15,
-- target 4: the triggers doubled the seed's time). While a row is in `rollups_paused`, the
-- insert triggers stand aside. The load writes that row and deletes it again inside its own
-- transaction, so it is never committed: no other connection ever sees it, and SQLite's single
-- writer means no other write can happen meanwhile. Updates and deletes keep their triggers.

CREATE TABLE rollups_paused (
    one INTEGER PRIMARY KEY NOT NULL CONSTRAINT rollups_paused_one_check CHECK (one = 1)
);

DROP TRIGGER member_last_call_insert;
CREATE TRIGGER member_last_call_insert AFTER INSERT ON voice_sessions
    WHEN NOT NEW.demo AND NEW.member_id IS NOT NULL
         AND NOT EXISTS (SELECT 1 FROM rollups_paused)
BEGIN
    INSERT INTO member_last_call (franchise_id, gym_id, member_id, last_at)
    VALUES (NEW.franchise_id, NEW.gym_id, NEW.member_id, NEW.started_at)
    ON CONFLICT (member_id) DO UPDATE SET last_at = max(last_at, excluded.last_at);
END;

DROP TRIGGER session_daily_insert;
CREATE TRIGGER session_daily_insert AFTER INSERT ON voice_sessions
    WHEN NOT NEW.demo AND NOT EXISTS (SELECT 1 FROM rollups_paused)
BEGIN
    INSERT INTO session_daily (franchise_id, gym_id, day, conversations, ended, duration_secs)
    VALUES (NEW.franchise_id, NEW.gym_id, substr(NEW.started_at, 1, 10), 1,
            NEW.ended_at IS NOT NULL,
            CASE WHEN NEW.ended_at IS NULL THEN 0 ELSE
                max(0, CAST(round((julianday(NEW.ended_at) - julianday(NEW.started_at))
                                  * 86400000.0) AS INTEGER) / 1000) END)
    ON CONFLICT (gym_id, day) DO UPDATE SET
        conversations = conversations + excluded.conversations,
        ended = ended + excluded.ended,
        duration_secs = duration_secs + excluded.duration_secs;
END;

DROP TRIGGER analysis_daily_insert;
CREATE TRIGGER analysis_daily_insert AFTER INSERT ON session_analyses
    WHEN NEW.status = 'done' AND NOT EXISTS (SELECT 1 FROM rollups_paused)
BEGIN
    INSERT INTO session_daily (franchise_id, gym_id, day, satisfaction_sum, satisfaction_n,
                               sentiment_sum, sentiment_n)
    SELECT s.franchise_id, s.gym_id, substr(s.started_at, 1, 10),
           coalesce(NEW.satisfaction, 0), NEW.satisfaction IS NOT NULL,
           coalesce(NEW.sentiment_score, 0), NEW.sentiment_score IS NOT NULL
    FROM voice_sessions s WHERE s.id = NEW.session_id AND NOT s.demo
    ON CONFLICT (gym_id, day) DO UPDATE SET
        satisfaction_sum = satisfaction_sum + excluded.satisfaction_sum,
        satisfaction_n = satisfaction_n + excluded.satisfaction_n,
        sentiment_sum = sentiment_sum + excluded.sentiment_sum,
        sentiment_n = sentiment_n + excluded.sentiment_n;
    INSERT INTO topic_daily (franchise_id, gym_id, day, topic, n)
    SELECT s.franchise_id, s.gym_id, substr(s.started_at, 1, 10), t.topic, 1
    FROM voice_sessions s,
         (SELECT DISTINCT lower(trim(value)) AS topic FROM json_each(NEW.topics)
          WHERE json_each.type = 'text' AND trim(value) <> '') t
    WHERE s.id = NEW.session_id AND NOT s.demo
    ON CONFLICT (gym_id, day, topic) DO UPDATE SET n = n + excluded.n;
END;

DROP TRIGGER latency_daily_turn;
CREATE TRIGGER latency_daily_turn AFTER INSERT ON conversation_turns
    WHEN NEW.latency_ms IS NOT NULL AND NOT EXISTS (SELECT 1 FROM rollups_paused)
BEGIN
    INSERT INTO latency_daily (franchise_id, gym_id, source, day, bucket_ms, n)
    VALUES (NEW.franchise_id, NEW.gym_id, 'turn', substr(NEW.at, 1, 10),
            CASE WHEN NEW.latency_ms < 1000 THEN NEW.latency_ms - NEW.latency_ms % 10
                 WHEN NEW.latency_ms < 10000 THEN NEW.latency_ms - NEW.latency_ms % 50
                 ELSE NEW.latency_ms - NEW.latency_ms % 1000 END, 1)
    ON CONFLICT (gym_id, source, day, bucket_ms) DO UPDATE SET n = n + 1;
END;

-- Churn scoring walks a gym's active members in id order, a page at a time: without this the
-- planner read every active member of the gym (and their four correlated counts) for each page
-- of 200 (2 s per page at 100,000 members; 6 ms with it).
CREATE INDEX members_gym_active_idx ON members (gym_id, franchise_id, membership_status, id);
