-- Daily rollups behind the dashboard's overview and voice pages (issue 13 item 2, issue 15
-- target 4): what a gym's calls add up to per UTC day, the topics of their analyses per day,
-- and the latency histograms (server per turn, heard at the kiosk) per day. Same tables,
-- columns and constraint names as the PostgreSQL migration.
--
-- Triggers keep them: every write path (calls, ends, the demo flag, analyses and their re-runs,
-- turns, kiosk samples, the demo seed) adds to them in the same transaction, so an overview of
-- 30 days reads 30 rows instead of 60,000 calls. A delete takes its row's share out again
-- (member erasure, retention), so the rollups always say what the rows say and a topic an
-- erased member's analysis named leaves with it. A day is the UTC day of the call's start (of
-- the turn, of the sample).

CREATE TABLE session_daily (
    franchise_id     TEXT NOT NULL,
    gym_id           TEXT NOT NULL,
    day              TEXT NOT NULL,
    -- Calls started (public demo calls are counted apart, never here).
    conversations    INTEGER NOT NULL DEFAULT 0,
    -- Of which ended, and their summed length in whole seconds.
    ended            INTEGER NOT NULL DEFAULT 0,
    duration_secs    INTEGER NOT NULL DEFAULT 0,
    -- Finished analyses: sums and counts, so averages over any run of days are exact.
    satisfaction_sum INTEGER NOT NULL DEFAULT 0,
    satisfaction_n   INTEGER NOT NULL DEFAULT 0,
    sentiment_sum    REAL NOT NULL DEFAULT 0,
    sentiment_n      INTEGER NOT NULL DEFAULT 0,
    CONSTRAINT session_daily_pkey PRIMARY KEY (gym_id, day),
    CONSTRAINT session_daily_gym_fkey FOREIGN KEY (gym_id, franchise_id)
        REFERENCES gyms (id, franchise_id) ON DELETE CASCADE
);

CREATE TABLE topic_daily (
    franchise_id TEXT NOT NULL,
    gym_id       TEXT NOT NULL,
    day          TEXT NOT NULL,
    -- Trimmed and lower-cased; counted once per call.
    topic        TEXT NOT NULL,
    n            INTEGER NOT NULL DEFAULT 0,
    CONSTRAINT topic_daily_pkey PRIMARY KEY (gym_id, day, topic),
    CONSTRAINT topic_daily_gym_fkey FOREIGN KEY (gym_id, franchise_id)
        REFERENCES gyms (id, franchise_id) ON DELETE CASCADE
);

-- Latency samples per day in buckets: 10 ms below 1 s, 50 ms below 10 s, 1 s above, so a
-- day holds at most a few hundred rows whatever the traffic and percentiles stay within a
-- bucket of the exact value.
CREATE TABLE latency_daily (
    franchise_id TEXT NOT NULL,
    gym_id       TEXT NOT NULL,
    -- 'turn': the server's per-turn latency; 'heard': what the kiosk measured.
    source       TEXT NOT NULL CONSTRAINT latency_daily_source_check
                 CHECK (source IN ('turn', 'heard')),
    day          TEXT NOT NULL,
    bucket_ms    INTEGER NOT NULL,
    n            INTEGER NOT NULL DEFAULT 0,
    CONSTRAINT latency_daily_pkey PRIMARY KEY (gym_id, source, day, bucket_ms),
    CONSTRAINT latency_daily_gym_fkey FOREIGN KEY (gym_id, franchise_id)
        REFERENCES gyms (id, franchise_id) ON DELETE CASCADE
);

-- Each member's latest call (demo calls aside): the members who talked since a day are the
-- rows of an index range, not a distinct count over the period's calls (47,000 distinct
-- members among 60,000 calls took 260 ms). The member's erasure removes the row.
CREATE TABLE member_last_call (
    franchise_id TEXT NOT NULL,
    gym_id       TEXT NOT NULL,
    member_id    TEXT PRIMARY KEY NOT NULL REFERENCES members (id) ON DELETE CASCADE,
    last_at      TEXT NOT NULL,
    CONSTRAINT member_last_call_gym_fkey FOREIGN KEY (gym_id, franchise_id)
        REFERENCES gyms (id, franchise_id) ON DELETE CASCADE
);
-- The overview's high-risk count (and the churn list filtered by level, by score): the
-- level's members only, not every scored member of the gym.
CREATE INDEX churn_scores_gym_level_idx ON churn_scores (gym_id, franchise_id, level, score);

-- Covering: the tenant scope adds franchise_id to every read.
CREATE INDEX member_last_call_gym_idx ON member_last_call (gym_id, franchise_id, last_at);

-- A gym's live calls (the voice page): without it the planner walks the gym's whole history
-- through its list index (1.5 s at 180,000 calls).
CREATE INDEX voice_sessions_gym_live_idx ON voice_sessions (gym_id, franchise_id, lease_expires_at)
    WHERE status IN ('starting', 'active');

CREATE TRIGGER member_last_call_insert AFTER INSERT ON voice_sessions
    WHEN NOT NEW.demo AND NEW.member_id IS NOT NULL
BEGIN
    INSERT INTO member_last_call (franchise_id, gym_id, member_id, last_at)
    VALUES (NEW.franchise_id, NEW.gym_id, NEW.member_id, NEW.started_at)
    ON CONFLICT (member_id) DO UPDATE SET last_at = max(last_at, excluded.last_at);
END;

-- A moved, re-flagged or deleted call: its member's latest call is read again (by
-- voice_sessions_member_idx). A call losing its member (erasure) leaves the member's row to
-- the member's own cascade; a gym's cascade deletes the member first.
CREATE TRIGGER member_last_call_update
    AFTER UPDATE OF started_at, demo, member_id ON voice_sessions
    WHEN NEW.member_id IS NOT NULL OR OLD.member_id IS NOT NULL
BEGIN
    DELETE FROM member_last_call
    WHERE member_id IN (OLD.member_id, NEW.member_id) AND NEW.member_id IS NOT NULL;
    INSERT INTO member_last_call (franchise_id, gym_id, member_id, last_at)
    SELECT franchise_id, gym_id, member_id, max(started_at) FROM voice_sessions
    WHERE member_id IN (OLD.member_id, NEW.member_id) AND NOT demo
      AND NEW.member_id IS NOT NULL
    GROUP BY member_id;
END;

CREATE TRIGGER member_last_call_delete AFTER DELETE ON voice_sessions
    WHEN OLD.member_id IS NOT NULL
BEGIN
    DELETE FROM member_last_call WHERE member_id = OLD.member_id;
    INSERT INTO member_last_call (franchise_id, gym_id, member_id, last_at)
    SELECT franchise_id, gym_id, member_id, max(started_at) FROM voice_sessions
    WHERE member_id = OLD.member_id AND NOT demo
      -- Not while the gym or the member is being deleted: nothing to keep then.
      AND EXISTS (SELECT 1 FROM members m WHERE m.id = OLD.member_id)
      AND EXISTS (SELECT 1 FROM gyms g WHERE g.id = OLD.gym_id)
    GROUP BY member_id;
END;

-- Calls: a new one counts on its day (seeded calls arrive ended).
CREATE TRIGGER session_daily_insert AFTER INSERT ON voice_sessions WHEN NOT NEW.demo
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

-- An end, the demo flag or a moved start: the old row's share leaves, the new row's comes in.
CREATE TRIGGER session_daily_update AFTER UPDATE OF started_at, ended_at, demo ON voice_sessions
    WHEN OLD.started_at IS NOT NEW.started_at OR OLD.ended_at IS NOT NEW.ended_at
         OR OLD.demo IS NOT NEW.demo
BEGIN
    INSERT INTO session_daily (franchise_id, gym_id, day, conversations, ended, duration_secs)
    SELECT OLD.franchise_id, OLD.gym_id, substr(OLD.started_at, 1, 10), -1,
           -(OLD.ended_at IS NOT NULL),
           -(CASE WHEN OLD.ended_at IS NULL THEN 0 ELSE
                max(0, CAST(round((julianday(OLD.ended_at) - julianday(OLD.started_at))
                                  * 86400000.0) AS INTEGER) / 1000) END)
    WHERE NOT OLD.demo
    ON CONFLICT (gym_id, day) DO UPDATE SET
        conversations = conversations + excluded.conversations,
        ended = ended + excluded.ended,
        duration_secs = duration_secs + excluded.duration_secs;
    INSERT INTO session_daily (franchise_id, gym_id, day, conversations, ended, duration_secs)
    SELECT NEW.franchise_id, NEW.gym_id, substr(NEW.started_at, 1, 10), 1,
           NEW.ended_at IS NOT NULL,
           CASE WHEN NEW.ended_at IS NULL THEN 0 ELSE
                max(0, CAST(round((julianday(NEW.ended_at) - julianday(NEW.started_at))
                                  * 86400000.0) AS INTEGER) / 1000) END
    WHERE NOT NEW.demo
    ON CONFLICT (gym_id, day) DO UPDATE SET
        conversations = conversations + excluded.conversations,
        ended = ended + excluded.ended,
        duration_secs = duration_secs + excluded.duration_secs;
END;

-- Analyses: a finished one adds its satisfaction, sentiment and topics to its call's day; a
-- re-run takes the previous answer out first. Demo calls are left out as above.
CREATE TRIGGER analysis_daily_insert AFTER INSERT ON session_analyses WHEN NEW.status = 'done'
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

CREATE TRIGGER analysis_daily_update AFTER UPDATE ON session_analyses
    WHEN OLD.status = 'done' OR NEW.status = 'done'
BEGIN
    INSERT INTO session_daily (franchise_id, gym_id, day, satisfaction_sum, satisfaction_n,
                               sentiment_sum, sentiment_n)
    SELECT s.franchise_id, s.gym_id, substr(s.started_at, 1, 10),
           -coalesce(OLD.satisfaction, 0), -(OLD.satisfaction IS NOT NULL),
           -coalesce(OLD.sentiment_score, 0), -(OLD.sentiment_score IS NOT NULL)
    FROM voice_sessions s WHERE s.id = OLD.session_id AND NOT s.demo AND OLD.status = 'done'
    ON CONFLICT (gym_id, day) DO UPDATE SET
        satisfaction_sum = satisfaction_sum + excluded.satisfaction_sum,
        satisfaction_n = satisfaction_n + excluded.satisfaction_n,
        sentiment_sum = sentiment_sum + excluded.sentiment_sum,
        sentiment_n = sentiment_n + excluded.sentiment_n;
    INSERT INTO topic_daily (franchise_id, gym_id, day, topic, n)
    SELECT s.franchise_id, s.gym_id, substr(s.started_at, 1, 10), t.topic, -1
    FROM voice_sessions s,
         (SELECT DISTINCT lower(trim(value)) AS topic FROM json_each(OLD.topics)
          WHERE json_each.type = 'text' AND trim(value) <> '') t
    WHERE s.id = OLD.session_id AND NOT s.demo AND OLD.status = 'done'
    ON CONFLICT (gym_id, day, topic) DO UPDATE SET n = n + excluded.n;
    INSERT INTO session_daily (franchise_id, gym_id, day, satisfaction_sum, satisfaction_n,
                               sentiment_sum, sentiment_n)
    SELECT s.franchise_id, s.gym_id, substr(s.started_at, 1, 10),
           coalesce(NEW.satisfaction, 0), NEW.satisfaction IS NOT NULL,
           coalesce(NEW.sentiment_score, 0), NEW.sentiment_score IS NOT NULL
    FROM voice_sessions s WHERE s.id = NEW.session_id AND NOT s.demo AND NEW.status = 'done'
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
    WHERE s.id = NEW.session_id AND NOT s.demo AND NEW.status = 'done'
    ON CONFLICT (gym_id, day, topic) DO UPDATE SET n = n + excluded.n;
    DELETE FROM topic_daily WHERE n <= 0
      AND (gym_id, day) IN (SELECT s.gym_id, substr(s.started_at, 1, 10) FROM voice_sessions s
                            WHERE s.id = NEW.session_id);
END;

-- Deletes: plain updates (the day's row exists since its rows were added), so a gym's cascade
-- never re-creates a row for a gym being deleted. A call's analysis leaves before the call (its
-- own delete trigger then no longer finds the call, so nothing leaves twice).
CREATE TRIGGER session_daily_delete BEFORE DELETE ON voice_sessions WHEN NOT OLD.demo
BEGIN
    UPDATE session_daily SET
        conversations = conversations - 1,
        ended = ended - (OLD.ended_at IS NOT NULL),
        duration_secs = duration_secs - (CASE WHEN OLD.ended_at IS NULL THEN 0 ELSE
            max(0, CAST(round((julianday(OLD.ended_at) - julianday(OLD.started_at))
                              * 86400000.0) AS INTEGER) / 1000) END),
        satisfaction_sum = satisfaction_sum - coalesce((SELECT a.satisfaction
            FROM session_analyses a WHERE a.session_id = OLD.id AND a.status = 'done'), 0),
        satisfaction_n = satisfaction_n - (SELECT count(a.satisfaction)
            FROM session_analyses a WHERE a.session_id = OLD.id AND a.status = 'done'),
        sentiment_sum = sentiment_sum - coalesce((SELECT a.sentiment_score
            FROM session_analyses a WHERE a.session_id = OLD.id AND a.status = 'done'), 0),
        sentiment_n = sentiment_n - (SELECT count(a.sentiment_score)
            FROM session_analyses a WHERE a.session_id = OLD.id AND a.status = 'done')
    WHERE gym_id = OLD.gym_id AND day = substr(OLD.started_at, 1, 10);
    UPDATE topic_daily SET n = n - 1
    WHERE gym_id = OLD.gym_id AND day = substr(OLD.started_at, 1, 10)
      AND topic IN (SELECT lower(trim(j.value)) FROM session_analyses a, json_each(a.topics) j
                    WHERE a.session_id = OLD.id AND a.status = 'done' AND j.type = 'text');
    DELETE FROM topic_daily
    WHERE gym_id = OLD.gym_id AND day = substr(OLD.started_at, 1, 10) AND n <= 0;
END;

CREATE TRIGGER analysis_daily_delete AFTER DELETE ON session_analyses WHEN OLD.status = 'done'
BEGIN
    UPDATE session_daily SET
        satisfaction_sum = satisfaction_sum - coalesce(OLD.satisfaction, 0),
        satisfaction_n = satisfaction_n - (OLD.satisfaction IS NOT NULL),
        sentiment_sum = sentiment_sum - coalesce(OLD.sentiment_score, 0),
        sentiment_n = sentiment_n - (OLD.sentiment_score IS NOT NULL)
    WHERE (gym_id, day) IN (SELECT s.gym_id, substr(s.started_at, 1, 10) FROM voice_sessions s
                            WHERE s.id = OLD.session_id AND NOT s.demo);
    UPDATE topic_daily SET n = n - 1
    WHERE (gym_id, day) IN (SELECT s.gym_id, substr(s.started_at, 1, 10) FROM voice_sessions s
                            WHERE s.id = OLD.session_id AND NOT s.demo)
      AND topic IN (SELECT lower(trim(j.value)) FROM json_each(OLD.topics) j
                    WHERE j.type = 'text');
    DELETE FROM topic_daily WHERE n <= 0
      AND (gym_id, day) IN (SELECT s.gym_id, substr(s.started_at, 1, 10) FROM voice_sessions s
                            WHERE s.id = OLD.session_id);
END;

CREATE TRIGGER latency_daily_turn_delete AFTER DELETE ON conversation_turns
    WHEN OLD.latency_ms IS NOT NULL
BEGIN
    UPDATE latency_daily SET n = n - 1
    WHERE gym_id = OLD.gym_id AND source = 'turn' AND day = substr(OLD.at, 1, 10)
      AND bucket_ms = CASE WHEN OLD.latency_ms < 1000 THEN OLD.latency_ms - OLD.latency_ms % 10
                           WHEN OLD.latency_ms < 10000 THEN OLD.latency_ms - OLD.latency_ms % 50
                           ELSE OLD.latency_ms - OLD.latency_ms % 1000 END;
END;

CREATE TRIGGER latency_daily_heard_delete AFTER DELETE ON voice_heard_latency
BEGIN
    UPDATE latency_daily SET n = n - 1
    WHERE gym_id = OLD.gym_id AND source = 'heard' AND day = substr(OLD.at, 1, 10)
      AND bucket_ms = CASE WHEN OLD.latency_ms < 1000 THEN OLD.latency_ms - OLD.latency_ms % 10
                           WHEN OLD.latency_ms < 10000 THEN OLD.latency_ms - OLD.latency_ms % 50
                           ELSE OLD.latency_ms - OLD.latency_ms % 1000 END;
END;

-- Latency samples, into their day's bucket.
CREATE TRIGGER latency_daily_turn AFTER INSERT ON conversation_turns
    WHEN NEW.latency_ms IS NOT NULL
BEGIN
    INSERT INTO latency_daily (franchise_id, gym_id, source, day, bucket_ms, n)
    VALUES (NEW.franchise_id, NEW.gym_id, 'turn', substr(NEW.at, 1, 10),
            CASE WHEN NEW.latency_ms < 1000 THEN NEW.latency_ms - NEW.latency_ms % 10
                 WHEN NEW.latency_ms < 10000 THEN NEW.latency_ms - NEW.latency_ms % 50
                 ELSE NEW.latency_ms - NEW.latency_ms % 1000 END, 1)
    ON CONFLICT (gym_id, source, day, bucket_ms) DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER latency_daily_heard AFTER INSERT ON voice_heard_latency
BEGIN
    INSERT INTO latency_daily (franchise_id, gym_id, source, day, bucket_ms, n)
    VALUES (NEW.franchise_id, NEW.gym_id, 'heard', substr(NEW.at, 1, 10),
            CASE WHEN NEW.latency_ms < 1000 THEN NEW.latency_ms - NEW.latency_ms % 10
                 WHEN NEW.latency_ms < 10000 THEN NEW.latency_ms - NEW.latency_ms % 50
                 ELSE NEW.latency_ms - NEW.latency_ms % 1000 END, 1)
    ON CONFLICT (gym_id, source, day, bucket_ms) DO UPDATE SET n = n + 1;
END;

-- What is already there.
INSERT INTO session_daily (franchise_id, gym_id, day, conversations, ended, duration_secs)
SELECT franchise_id, gym_id, substr(started_at, 1, 10), count(*), count(ended_at),
       coalesce(sum(CASE WHEN ended_at IS NULL THEN 0 ELSE
           max(0, CAST(round((julianday(ended_at) - julianday(started_at)) * 86400000.0)
                       AS INTEGER) / 1000) END), 0)
FROM voice_sessions WHERE NOT demo
GROUP BY franchise_id, gym_id, substr(started_at, 1, 10);

INSERT INTO session_daily (franchise_id, gym_id, day, satisfaction_sum, satisfaction_n,
                           sentiment_sum, sentiment_n)
SELECT s.franchise_id, s.gym_id, substr(s.started_at, 1, 10),
       coalesce(sum(a.satisfaction), 0), count(a.satisfaction),
       coalesce(sum(a.sentiment_score), 0), count(a.sentiment_score)
FROM session_analyses a JOIN voice_sessions s ON s.id = a.session_id
WHERE a.status = 'done' AND NOT s.demo
GROUP BY s.franchise_id, s.gym_id, substr(s.started_at, 1, 10)
ON CONFLICT (gym_id, day) DO UPDATE SET
    satisfaction_sum = excluded.satisfaction_sum,
    satisfaction_n = excluded.satisfaction_n,
    sentiment_sum = excluded.sentiment_sum,
    sentiment_n = excluded.sentiment_n;

INSERT INTO topic_daily (franchise_id, gym_id, day, topic, n)
SELECT franchise_id, gym_id, day, topic, count(*)
FROM (SELECT DISTINCT s.id, s.franchise_id, s.gym_id, substr(s.started_at, 1, 10) AS day,
             lower(trim(j.value)) AS topic
      FROM session_analyses a JOIN voice_sessions s ON s.id = a.session_id, json_each(a.topics) j
      WHERE a.status = 'done' AND NOT s.demo AND j.type = 'text' AND trim(j.value) <> '')
GROUP BY franchise_id, gym_id, day, topic;

INSERT INTO latency_daily (franchise_id, gym_id, source, day, bucket_ms, n)
SELECT franchise_id, gym_id, 'turn', substr(at, 1, 10),
       CASE WHEN latency_ms < 1000 THEN latency_ms - latency_ms % 10
            WHEN latency_ms < 10000 THEN latency_ms - latency_ms % 50
            ELSE latency_ms - latency_ms % 1000 END AS b, count(*)
FROM conversation_turns WHERE latency_ms IS NOT NULL
GROUP BY franchise_id, gym_id, substr(at, 1, 10), b;

INSERT INTO latency_daily (franchise_id, gym_id, source, day, bucket_ms, n)
SELECT franchise_id, gym_id, 'heard', substr(at, 1, 10),
       CASE WHEN latency_ms < 1000 THEN latency_ms - latency_ms % 10
            WHEN latency_ms < 10000 THEN latency_ms - latency_ms % 50
            ELSE latency_ms - latency_ms % 1000 END AS b, count(*)
FROM voice_heard_latency
GROUP BY franchise_id, gym_id, substr(at, 1, 10), b;

INSERT INTO member_last_call (franchise_id, gym_id, member_id, last_at)
SELECT franchise_id, gym_id, member_id, max(started_at) FROM voice_sessions
WHERE member_id IS NOT NULL AND NOT demo
GROUP BY member_id;
