-- Daily rollups behind the dashboard's overview and voice pages (issue 13 item 2, issue 15
-- target 4): what a gym's calls add up to per UTC day, the topics of their analyses per day,
-- and the latency histograms (server per turn, heard at the kiosk) per day. Same tables,
-- columns and constraint names as the SQLite migration.
--
-- Triggers keep them: every write path (calls, ends, the demo flag, analyses and their re-runs,
-- turns, kiosk samples, the demo seed) adds to them in the same transaction, so an overview of
-- 30 days reads 30 rows instead of 60,000 calls. A delete takes its row's share out again
-- (member erasure, retention), so the rollups always say what the rows say and a topic an
-- erased member's analysis named leaves with it. A day is the UTC day of the call's start (of
-- the turn, of the sample).
--
-- The trigger functions run as the writer, in its tenant scope: a rollup row belongs to the
-- same franchise and gym as the row that feeds it, so the tenant policy lets through exactly
-- the writes the source table's policy let through.

-- The backfill below reads tables whose policies bind the migrating owner.
SELECT set_config('jarvis.scope', 'platform', true);

CREATE TABLE session_daily (
    franchise_id     uuid NOT NULL,
    gym_id           uuid NOT NULL,
    day              date NOT NULL,
    -- Calls started (public demo calls are counted apart, never here).
    conversations    integer NOT NULL DEFAULT 0,
    -- Of which ended, and their summed length in whole seconds.
    ended            integer NOT NULL DEFAULT 0,
    duration_secs    bigint NOT NULL DEFAULT 0,
    -- Finished analyses: sums and counts, so averages over any run of days are exact.
    satisfaction_sum bigint NOT NULL DEFAULT 0,
    satisfaction_n   integer NOT NULL DEFAULT 0,
    sentiment_sum    double precision NOT NULL DEFAULT 0,
    sentiment_n      integer NOT NULL DEFAULT 0,
    CONSTRAINT session_daily_pkey PRIMARY KEY (gym_id, day),
    CONSTRAINT session_daily_gym_fkey FOREIGN KEY (gym_id, franchise_id)
        REFERENCES gyms (id, franchise_id) ON DELETE CASCADE
);

CREATE TABLE topic_daily (
    franchise_id uuid NOT NULL,
    gym_id       uuid NOT NULL,
    day          date NOT NULL,
    -- Trimmed and lower-cased; counted once per call.
    topic        text NOT NULL,
    n            integer NOT NULL DEFAULT 0,
    CONSTRAINT topic_daily_pkey PRIMARY KEY (gym_id, day, topic),
    CONSTRAINT topic_daily_gym_fkey FOREIGN KEY (gym_id, franchise_id)
        REFERENCES gyms (id, franchise_id) ON DELETE CASCADE
);

-- Latency samples per day in buckets: 10 ms below 1 s, 50 ms below 10 s, 1 s above, so a
-- day holds at most a few hundred rows whatever the traffic and percentiles stay within a
-- bucket of the exact value.
CREATE TABLE latency_daily (
    franchise_id uuid NOT NULL,
    gym_id       uuid NOT NULL,
    -- 'turn': the server's per-turn latency; 'heard': what the kiosk measured.
    source       text NOT NULL CONSTRAINT latency_daily_source_check
                 CHECK (source IN ('turn', 'heard')),
    day          date NOT NULL,
    bucket_ms    integer NOT NULL,
    n            integer NOT NULL DEFAULT 0,
    CONSTRAINT latency_daily_pkey PRIMARY KEY (gym_id, source, day, bucket_ms),
    CONSTRAINT latency_daily_gym_fkey FOREIGN KEY (gym_id, franchise_id)
        REFERENCES gyms (id, franchise_id) ON DELETE CASCADE
);

-- Each member's latest call (demo calls aside): the members who talked since a day are the
-- rows of an index range, not a distinct count over the period's calls. The member's erasure
-- removes the row.
CREATE TABLE member_last_call (
    franchise_id uuid NOT NULL,
    gym_id       uuid NOT NULL,
    member_id    uuid NOT NULL REFERENCES members (id) ON DELETE CASCADE,
    last_at      timestamptz NOT NULL,
    CONSTRAINT member_last_call_pkey PRIMARY KEY (member_id),
    CONSTRAINT member_last_call_gym_fkey FOREIGN KEY (gym_id, franchise_id)
        REFERENCES gyms (id, franchise_id) ON DELETE CASCADE
);
-- The overview's high-risk count (and the churn list filtered by level, by score): the
-- level's members only, not every scored member of the gym.
CREATE INDEX churn_scores_gym_level_idx ON churn_scores (gym_id, franchise_id, level, score);

-- Covering: the tenant scope adds franchise_id to every read.
CREATE INDEX member_last_call_gym_idx ON member_last_call (gym_id, franchise_id, last_at);

-- A gym's live calls (the voice page) without walking the gym's whole history.
CREATE INDEX voice_sessions_gym_live_idx ON voice_sessions (gym_id, franchise_id, lease_expires_at)
    WHERE status IN ('starting', 'active');

-- Reads a member's latest call again (by voice_sessions_member_idx); nothing while the member
-- or its gym is being deleted (their cascades remove the row).
CREATE FUNCTION jarvis_member_last_call_refresh(m uuid) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    IF m IS NULL THEN
        RETURN;
    END IF;
    DELETE FROM member_last_call WHERE member_id = m;
    INSERT INTO member_last_call (franchise_id, gym_id, member_id, last_at)
    SELECT s.franchise_id, s.gym_id, s.member_id, max(s.started_at) FROM voice_sessions s
    WHERE s.member_id = m AND NOT s.demo
      AND EXISTS (SELECT 1 FROM members x WHERE x.id = m)
      AND EXISTS (SELECT 1 FROM gyms g WHERE g.id = s.gym_id)
    GROUP BY s.franchise_id, s.gym_id, s.member_id;
END $$;

CREATE FUNCTION jarvis_member_last_call_trigger() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        IF NOT NEW.demo AND NEW.member_id IS NOT NULL THEN
            INSERT INTO member_last_call (franchise_id, gym_id, member_id, last_at)
            VALUES (NEW.franchise_id, NEW.gym_id, NEW.member_id, NEW.started_at)
            ON CONFLICT (member_id) DO UPDATE
                SET last_at = greatest(member_last_call.last_at, EXCLUDED.last_at);
        END IF;
    ELSIF TG_OP = 'UPDATE' THEN
        -- A call losing its member (erasure) leaves the row to the member's cascade.
        IF NEW.member_id IS NOT NULL AND (OLD.started_at IS DISTINCT FROM NEW.started_at
            OR OLD.demo IS DISTINCT FROM NEW.demo
            OR OLD.member_id IS DISTINCT FROM NEW.member_id) THEN
            PERFORM jarvis_member_last_call_refresh(NEW.member_id);
            IF OLD.member_id IS DISTINCT FROM NEW.member_id THEN
                PERFORM jarvis_member_last_call_refresh(OLD.member_id);
            END IF;
        END IF;
    ELSE
        PERFORM jarvis_member_last_call_refresh(OLD.member_id);
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER member_last_call_insert AFTER INSERT ON voice_sessions
    FOR EACH ROW EXECUTE FUNCTION jarvis_member_last_call_trigger();
CREATE TRIGGER member_last_call_update AFTER UPDATE OF started_at, demo, member_id ON voice_sessions
    FOR EACH ROW EXECUTE FUNCTION jarvis_member_last_call_trigger();
CREATE TRIGGER member_last_call_delete AFTER DELETE ON voice_sessions
    FOR EACH ROW EXECUTE FUNCTION jarvis_member_last_call_trigger();

CREATE FUNCTION jarvis_latency_bucket(ms bigint) RETURNS integer LANGUAGE sql IMMUTABLE AS
$$ SELECT (CASE WHEN ms < 1000 THEN ms - ms % 10
                WHEN ms < 10000 THEN ms - ms % 50
                ELSE ms - ms % 1000 END)::integer $$;

CREATE FUNCTION jarvis_call_secs(started timestamptz, ended timestamptz) RETURNS bigint
LANGUAGE sql IMMUTABLE AS
$$ SELECT CASE WHEN ended IS NULL THEN 0
               ELSE greatest(0, floor(extract(epoch FROM ended - started)))::bigint END $$;

-- Adds `sign` times a call's share to its day (nothing for demo calls).
CREATE FUNCTION jarvis_session_daily_add(s voice_sessions, sign integer) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    IF s.demo THEN
        RETURN;
    END IF;
    INSERT INTO session_daily (franchise_id, gym_id, day, conversations, ended, duration_secs)
    VALUES (s.franchise_id, s.gym_id, (s.started_at AT TIME ZONE 'UTC')::date, sign,
            sign * (s.ended_at IS NOT NULL)::integer, sign * jarvis_call_secs(s.started_at, s.ended_at))
    ON CONFLICT (gym_id, day) DO UPDATE SET
        conversations = session_daily.conversations + EXCLUDED.conversations,
        ended = session_daily.ended + EXCLUDED.ended,
        duration_secs = session_daily.duration_secs + EXCLUDED.duration_secs;
END $$;

CREATE FUNCTION jarvis_session_daily_trigger() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' THEN
        IF OLD.started_at IS NOT DISTINCT FROM NEW.started_at
           AND OLD.ended_at IS NOT DISTINCT FROM NEW.ended_at
           AND OLD.demo IS NOT DISTINCT FROM NEW.demo THEN
            RETURN NULL;
        END IF;
        PERFORM jarvis_session_daily_add(OLD, -1);
    END IF;
    PERFORM jarvis_session_daily_add(NEW, 1);
    RETURN NULL;
END $$;

CREATE TRIGGER session_daily_insert AFTER INSERT ON voice_sessions
    FOR EACH ROW EXECUTE FUNCTION jarvis_session_daily_trigger();
CREATE TRIGGER session_daily_update AFTER UPDATE OF started_at, ended_at, demo ON voice_sessions
    FOR EACH ROW EXECUTE FUNCTION jarvis_session_daily_trigger();

-- Adds `sign` times a finished analysis's answer to its call's day (demo calls: nothing).
CREATE FUNCTION jarvis_analysis_daily_add(a session_analyses, sign integer) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    s record;
BEGIN
    IF a.status <> 'done' THEN
        RETURN;
    END IF;
    SELECT franchise_id, gym_id, (started_at AT TIME ZONE 'UTC')::date AS day, demo INTO s
    FROM voice_sessions WHERE id = a.session_id;
    IF NOT FOUND OR s.demo THEN
        RETURN;
    END IF;
    INSERT INTO session_daily (franchise_id, gym_id, day, satisfaction_sum, satisfaction_n,
                               sentiment_sum, sentiment_n)
    VALUES (s.franchise_id, s.gym_id, s.day,
            sign * coalesce(a.satisfaction, 0), sign * (a.satisfaction IS NOT NULL)::integer,
            sign * coalesce(a.sentiment_score, 0), sign * (a.sentiment_score IS NOT NULL)::integer)
    ON CONFLICT (gym_id, day) DO UPDATE SET
        satisfaction_sum = session_daily.satisfaction_sum + EXCLUDED.satisfaction_sum,
        satisfaction_n = session_daily.satisfaction_n + EXCLUDED.satisfaction_n,
        sentiment_sum = session_daily.sentiment_sum + EXCLUDED.sentiment_sum,
        sentiment_n = session_daily.sentiment_n + EXCLUDED.sentiment_n;
    IF jsonb_typeof(a.topics) = 'array' THEN
        INSERT INTO topic_daily (franchise_id, gym_id, day, topic, n)
        SELECT s.franchise_id, s.gym_id, s.day, t.topic, sign
        FROM (SELECT DISTINCT lower(btrim(e.value #>> '{}')) AS topic
              FROM jsonb_array_elements(a.topics) e
              WHERE jsonb_typeof(e.value) = 'string' AND btrim(e.value #>> '{}') <> '') t
        ON CONFLICT (gym_id, day, topic) DO UPDATE SET n = topic_daily.n + EXCLUDED.n;
    END IF;
END $$;

CREATE FUNCTION jarvis_analysis_daily_trigger() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' THEN
        PERFORM jarvis_analysis_daily_add(OLD, -1);
    END IF;
    PERFORM jarvis_analysis_daily_add(NEW, 1);
    -- Topics a re-run no longer names leave the day.
    DELETE FROM topic_daily t USING voice_sessions s
    WHERE s.id = NEW.session_id AND t.gym_id = s.gym_id
      AND t.day = (s.started_at AT TIME ZONE 'UTC')::date AND t.n <= 0;
    RETURN NULL;
END $$;

CREATE TRIGGER analysis_daily_insert AFTER INSERT ON session_analyses
    FOR EACH ROW WHEN (NEW.status = 'done') EXECUTE FUNCTION jarvis_analysis_daily_trigger();
CREATE TRIGGER analysis_daily_update AFTER UPDATE ON session_analyses
    FOR EACH ROW WHEN (OLD.status = 'done' OR NEW.status = 'done')
    EXECUTE FUNCTION jarvis_analysis_daily_trigger();

-- Deletes: plain updates (the day's row exists since its rows were added), so a gym's cascade
-- never re-creates a row for a gym being deleted. A call's analysis leaves before the call (its
-- own delete trigger then no longer finds the call, so nothing leaves twice).
CREATE FUNCTION jarvis_analysis_daily_remove(a session_analyses, s voice_sessions) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    d date := (s.started_at AT TIME ZONE 'UTC')::date;
BEGIN
    IF a.status <> 'done' OR s.demo THEN
        RETURN;
    END IF;
    UPDATE session_daily SET
        satisfaction_sum = satisfaction_sum - coalesce(a.satisfaction, 0),
        satisfaction_n = satisfaction_n - (a.satisfaction IS NOT NULL)::integer,
        sentiment_sum = sentiment_sum - coalesce(a.sentiment_score, 0),
        sentiment_n = sentiment_n - (a.sentiment_score IS NOT NULL)::integer
    WHERE gym_id = s.gym_id AND day = d;
    IF jsonb_typeof(a.topics) = 'array' THEN
        UPDATE topic_daily SET n = n - 1
        WHERE gym_id = s.gym_id AND day = d
          AND topic IN (SELECT lower(btrim(e.value #>> '{}')) FROM jsonb_array_elements(a.topics) e
                        WHERE jsonb_typeof(e.value) = 'string');
        DELETE FROM topic_daily WHERE gym_id = s.gym_id AND day = d AND n <= 0;
    END IF;
END $$;

CREATE FUNCTION jarvis_session_daily_delete_trigger() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    a session_analyses;
BEGIN
    IF OLD.demo THEN
        RETURN OLD;
    END IF;
    SELECT * INTO a FROM session_analyses WHERE session_id = OLD.id;
    IF FOUND THEN
        PERFORM jarvis_analysis_daily_remove(a, OLD);
    END IF;
    UPDATE session_daily SET
        conversations = conversations - 1,
        ended = ended - (OLD.ended_at IS NOT NULL)::integer,
        duration_secs = duration_secs - jarvis_call_secs(OLD.started_at, OLD.ended_at)
    WHERE gym_id = OLD.gym_id AND day = (OLD.started_at AT TIME ZONE 'UTC')::date;
    RETURN OLD;
END $$;

CREATE TRIGGER session_daily_delete BEFORE DELETE ON voice_sessions
    FOR EACH ROW EXECUTE FUNCTION jarvis_session_daily_delete_trigger();

CREATE FUNCTION jarvis_analysis_daily_delete_trigger() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    s voice_sessions;
BEGIN
    SELECT * INTO s FROM voice_sessions WHERE id = OLD.session_id;
    IF FOUND THEN
        PERFORM jarvis_analysis_daily_remove(OLD, s);
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER analysis_daily_delete AFTER DELETE ON session_analyses
    FOR EACH ROW WHEN (OLD.status = 'done') EXECUTE FUNCTION jarvis_analysis_daily_delete_trigger();

CREATE FUNCTION jarvis_latency_daily_delete_trigger() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE latency_daily SET n = n - 1
    WHERE gym_id = OLD.gym_id AND source = TG_ARGV[0]
      AND day = (OLD.at AT TIME ZONE 'UTC')::date
      AND bucket_ms = jarvis_latency_bucket(OLD.latency_ms);
    RETURN NULL;
END $$;

CREATE TRIGGER latency_daily_turn_delete AFTER DELETE ON conversation_turns
    FOR EACH ROW WHEN (OLD.latency_ms IS NOT NULL)
    EXECUTE FUNCTION jarvis_latency_daily_delete_trigger('turn');
CREATE TRIGGER latency_daily_heard_delete AFTER DELETE ON voice_heard_latency
    FOR EACH ROW EXECUTE FUNCTION jarvis_latency_daily_delete_trigger('heard');

-- Latency samples, into their day's bucket (TG_ARGV[0]: the source).
CREATE FUNCTION jarvis_latency_daily_trigger() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO latency_daily (franchise_id, gym_id, source, day, bucket_ms, n)
    VALUES (NEW.franchise_id, NEW.gym_id, TG_ARGV[0], (NEW.at AT TIME ZONE 'UTC')::date,
            jarvis_latency_bucket(NEW.latency_ms), 1)
    ON CONFLICT (gym_id, source, day, bucket_ms) DO UPDATE SET n = latency_daily.n + 1;
    RETURN NULL;
END $$;

CREATE TRIGGER latency_daily_turn AFTER INSERT ON conversation_turns
    FOR EACH ROW WHEN (NEW.latency_ms IS NOT NULL)
    EXECUTE FUNCTION jarvis_latency_daily_trigger('turn');
CREATE TRIGGER latency_daily_heard AFTER INSERT ON voice_heard_latency
    FOR EACH ROW EXECUTE FUNCTION jarvis_latency_daily_trigger('heard');

-- What is already there.
INSERT INTO session_daily (franchise_id, gym_id, day, conversations, ended, duration_secs)
SELECT franchise_id, gym_id, (started_at AT TIME ZONE 'UTC')::date, count(*), count(ended_at),
       coalesce(sum(jarvis_call_secs(started_at, ended_at)), 0)
FROM voice_sessions WHERE NOT demo
GROUP BY 1, 2, 3;

INSERT INTO session_daily (franchise_id, gym_id, day, satisfaction_sum, satisfaction_n,
                           sentiment_sum, sentiment_n)
SELECT s.franchise_id, s.gym_id, (s.started_at AT TIME ZONE 'UTC')::date,
       coalesce(sum(a.satisfaction), 0), count(a.satisfaction),
       coalesce(sum(a.sentiment_score), 0), count(a.sentiment_score)
FROM session_analyses a JOIN voice_sessions s ON s.id = a.session_id
WHERE a.status = 'done' AND NOT s.demo
GROUP BY 1, 2, 3
ON CONFLICT (gym_id, day) DO UPDATE SET
    satisfaction_sum = EXCLUDED.satisfaction_sum,
    satisfaction_n = EXCLUDED.satisfaction_n,
    sentiment_sum = EXCLUDED.sentiment_sum,
    sentiment_n = EXCLUDED.sentiment_n;

INSERT INTO topic_daily (franchise_id, gym_id, day, topic, n)
SELECT franchise_id, gym_id, day, topic, count(*)
FROM (SELECT DISTINCT s.id, s.franchise_id, s.gym_id,
             (s.started_at AT TIME ZONE 'UTC')::date AS day,
             lower(btrim(e.value #>> '{}')) AS topic
      FROM session_analyses a JOIN voice_sessions s ON s.id = a.session_id,
           jsonb_array_elements(CASE WHEN jsonb_typeof(a.topics) = 'array' THEN a.topics
                                     ELSE '[]'::jsonb END) e
      WHERE a.status = 'done' AND NOT s.demo AND jsonb_typeof(e.value) = 'string'
        AND btrim(e.value #>> '{}') <> '') x
GROUP BY 1, 2, 3, 4;

INSERT INTO latency_daily (franchise_id, gym_id, source, day, bucket_ms, n)
SELECT franchise_id, gym_id, 'turn', (at AT TIME ZONE 'UTC')::date,
       jarvis_latency_bucket(latency_ms), count(*)
FROM conversation_turns WHERE latency_ms IS NOT NULL
GROUP BY 1, 2, 4, 5;

INSERT INTO latency_daily (franchise_id, gym_id, source, day, bucket_ms, n)
SELECT franchise_id, gym_id, 'heard', (at AT TIME ZONE 'UTC')::date,
       jarvis_latency_bucket(latency_ms), count(*)
FROM voice_heard_latency
GROUP BY 1, 2, 4, 5;

INSERT INTO member_last_call (franchise_id, gym_id, member_id, last_at)
SELECT franchise_id, gym_id, member_id, max(started_at) FROM voice_sessions
WHERE member_id IS NOT NULL AND NOT demo
GROUP BY franchise_id, gym_id, member_id;

GRANT SELECT, INSERT, UPDATE, DELETE ON session_daily, topic_daily, latency_daily, member_last_call
    TO jarvis_app;

ALTER TABLE session_daily ENABLE ROW LEVEL SECURITY;
ALTER TABLE session_daily FORCE ROW LEVEL SECURITY;
CREATE POLICY session_daily_tenant ON session_daily
    USING (CASE (SELECT jarvis_scope())
           WHEN 'platform' THEN true
           WHEN 'franchise' THEN franchise_id = (SELECT jarvis_franchise())
           WHEN 'gym' THEN gym_id = (SELECT jarvis_gym()) AND franchise_id = (SELECT jarvis_franchise())
           ELSE false END)
    WITH CHECK (CASE (SELECT jarvis_scope())
           WHEN 'platform' THEN true
           WHEN 'franchise' THEN franchise_id = (SELECT jarvis_franchise())
           WHEN 'gym' THEN gym_id = (SELECT jarvis_gym()) AND franchise_id = (SELECT jarvis_franchise())
           ELSE false END);
ALTER TABLE topic_daily ENABLE ROW LEVEL SECURITY;
ALTER TABLE topic_daily FORCE ROW LEVEL SECURITY;
CREATE POLICY topic_daily_tenant ON topic_daily
    USING (CASE (SELECT jarvis_scope())
           WHEN 'platform' THEN true
           WHEN 'franchise' THEN franchise_id = (SELECT jarvis_franchise())
           WHEN 'gym' THEN gym_id = (SELECT jarvis_gym()) AND franchise_id = (SELECT jarvis_franchise())
           ELSE false END)
    WITH CHECK (CASE (SELECT jarvis_scope())
           WHEN 'platform' THEN true
           WHEN 'franchise' THEN franchise_id = (SELECT jarvis_franchise())
           WHEN 'gym' THEN gym_id = (SELECT jarvis_gym()) AND franchise_id = (SELECT jarvis_franchise())
           ELSE false END);
ALTER TABLE latency_daily ENABLE ROW LEVEL SECURITY;
ALTER TABLE latency_daily FORCE ROW LEVEL SECURITY;
CREATE POLICY latency_daily_tenant ON latency_daily
    USING (CASE (SELECT jarvis_scope())
           WHEN 'platform' THEN true
           WHEN 'franchise' THEN franchise_id = (SELECT jarvis_franchise())
           WHEN 'gym' THEN gym_id = (SELECT jarvis_gym()) AND franchise_id = (SELECT jarvis_franchise())
           ELSE false END)
    WITH CHECK (CASE (SELECT jarvis_scope())
           WHEN 'platform' THEN true
           WHEN 'franchise' THEN franchise_id = (SELECT jarvis_franchise())
           WHEN 'gym' THEN gym_id = (SELECT jarvis_gym()) AND franchise_id = (SELECT jarvis_franchise())
           ELSE false END);
ALTER TABLE member_last_call ENABLE ROW LEVEL SECURITY;
ALTER TABLE member_last_call FORCE ROW LEVEL SECURITY;
CREATE POLICY member_last_call_tenant ON member_last_call
    USING (CASE (SELECT jarvis_scope())
           WHEN 'platform' THEN true
           WHEN 'franchise' THEN franchise_id = (SELECT jarvis_franchise())
           WHEN 'gym' THEN gym_id = (SELECT jarvis_gym()) AND franchise_id = (SELECT jarvis_franchise())
           ELSE false END)
    WITH CHECK (CASE (SELECT jarvis_scope())
           WHEN 'platform' THEN true
           WHEN 'franchise' THEN franchise_id = (SELECT jarvis_franchise())
           WHEN 'gym' THEN gym_id = (SELECT jarvis_gym()) AND franchise_id = (SELECT jarvis_franchise())
           ELSE false END);
