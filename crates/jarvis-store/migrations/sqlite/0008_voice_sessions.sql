-- Voice sessions (issue 11): the slot each call holds, transcripts, tool calls, exact cost
-- metering with daily rollups, budget alerts, dated model prices, platform settings, follow-ups
-- for staff and post-call analyses. Same tables, columns and constraint names as the PostgreSQL
-- schema.
--
-- SQLite has no row-level security; the contexts and policies are PostgreSQL's (see its
-- migration). The SQL's own scope filters are the wall here.
--
-- Timestamps compared in SQL (leases, price dates) are stored by SQLite as fixed-width UTC
-- text, so text order is time order.

CREATE TABLE voice_sessions (
    id                      TEXT PRIMARY KEY NOT NULL,
    franchise_id            TEXT NOT NULL,
    gym_id                  TEXT NOT NULL,
    -- Erasure removes the person and keeps the row for cost accounting.
    member_id               TEXT REFERENCES members (id) ON DELETE SET NULL,
    kiosk_id                TEXT REFERENCES kiosks (id) ON DELETE SET NULL,
    status                  TEXT NOT NULL CONSTRAINT voice_sessions_status_check
                            CHECK (status IN ('starting', 'active', 'ended')),
    provider_call_id        TEXT,
    provider_session_id     TEXT,
    model                   TEXT NOT NULL,
    transcription_model     TEXT,
    language                TEXT NOT NULL CONSTRAINT voice_sessions_language_check
                            CHECK (language IN ('fr', 'en')),
    owner_instance_id       TEXT NOT NULL,
    -- A live session holds a slot only while its lease runs: an expired lease frees the slot
    -- for the next acquisition even before a reaper ends the session.
    lease_expires_at        TEXT NOT NULL,
    hangup_requested_at     TEXT,
    started_at              TEXT NOT NULL,
    ended_at                TEXT,
    end_reason              TEXT CONSTRAINT voice_sessions_end_reason_check
                            CHECK (end_reason IN ('member_ended', 'assistant_ended', 'staff_ended',
                                   'idle', 'max_duration', 'budget_exhausted', 'provider_error',
                                   'sideband_lost', 'lease_lost', 'shutdown', 'reaped',
                                   'start_failed')),
    max_duration_secs       INTEGER NOT NULL,
    -- Integer pico-USD (10^-12 USD): sums are exact.
    cost_pico               INTEGER NOT NULL DEFAULT 0,
    transcription_cost_pico INTEGER NOT NULL DEFAULT 0,
    input_text_tokens       INTEGER NOT NULL DEFAULT 0,
    input_audio_tokens      INTEGER NOT NULL DEFAULT 0,
    input_image_tokens      INTEGER NOT NULL DEFAULT 0,
    cached_text_tokens      INTEGER NOT NULL DEFAULT 0,
    cached_audio_tokens     INTEGER NOT NULL DEFAULT 0,
    cached_image_tokens     INTEGER NOT NULL DEFAULT 0,
    output_text_tokens      INTEGER NOT NULL DEFAULT 0,
    output_audio_tokens     INTEGER NOT NULL DEFAULT 0,
    transcription_tokens    INTEGER NOT NULL DEFAULT 0,
    transcription_ms        INTEGER NOT NULL DEFAULT 0,
    responses               INTEGER NOT NULL DEFAULT 0,
    turn_count              INTEGER NOT NULL DEFAULT 0,
    created_at              TEXT NOT NULL,
    updated_at              TEXT NOT NULL,
    CONSTRAINT voice_sessions_gym_fkey FOREIGN KEY (gym_id, franchise_id)
        REFERENCES gyms (id, franchise_id) ON DELETE CASCADE,
    CONSTRAINT voice_sessions_provider_call_id_key UNIQUE (provider_call_id),
    -- Ended exactly when it has an end time and a reason.
    CONSTRAINT voice_sessions_end_check CHECK (
        (status = 'ended') = (ended_at IS NOT NULL)
        AND (ended_at IS NULL) = (end_reason IS NULL)),
    CONSTRAINT voice_sessions_cost_check CHECK (cost_pico >= 0 AND transcription_cost_pico >= 0)
);
-- Counting the slots held (global and per gym) reads only live sessions.
CREATE INDEX voice_sessions_live_idx ON voice_sessions (lease_expires_at, gym_id)
    WHERE status IN ('starting', 'active');
CREATE INDEX voice_sessions_owner_idx ON voice_sessions (owner_instance_id)
    WHERE status IN ('starting', 'active');
CREATE INDEX voice_sessions_gym_idx ON voice_sessions (gym_id, started_at);
CREATE INDEX voice_sessions_member_idx ON voice_sessions (member_id, started_at);

CREATE TABLE conversation_turns (
    id           TEXT PRIMARY KEY NOT NULL,
    session_id   TEXT NOT NULL REFERENCES voice_sessions (id) ON DELETE CASCADE,
    franchise_id TEXT NOT NULL,
    gym_id       TEXT NOT NULL,
    seq          INTEGER NOT NULL,
    role         TEXT NOT NULL CONSTRAINT conversation_turns_role_check
                 CHECK (role IN ('member', 'assistant')),
    -- NULL when the gym (or the member's consent) allows metadata only.
    text         TEXT,
    redacted     BOOLEAN NOT NULL,
    at           TEXT NOT NULL,
    response_id  TEXT,
    usage        TEXT,
    cost_pico    INTEGER,
    latency_ms   INTEGER,
    CONSTRAINT conversation_turns_gym_fkey FOREIGN KEY (gym_id, franchise_id)
        REFERENCES gyms (id, franchise_id) ON DELETE CASCADE,
    CONSTRAINT conversation_turns_session_seq_key UNIQUE (session_id, seq)
);
CREATE INDEX conversation_turns_gym_at_idx ON conversation_turns (gym_id, at);

CREATE TABLE tool_calls (
    id           TEXT PRIMARY KEY NOT NULL,
    session_id   TEXT NOT NULL REFERENCES voice_sessions (id) ON DELETE CASCADE,
    franchise_id TEXT NOT NULL,
    gym_id       TEXT NOT NULL,
    call_id      TEXT NOT NULL,
    name         TEXT NOT NULL,
    arguments    TEXT,
    result       TEXT,
    error        TEXT,
    redacted     BOOLEAN NOT NULL,
    duration_ms  INTEGER NOT NULL,
    at           TEXT NOT NULL,
    CONSTRAINT tool_calls_gym_fkey FOREIGN KEY (gym_id, franchise_id)
        REFERENCES gyms (id, franchise_id) ON DELETE CASCADE,
    CONSTRAINT tool_calls_session_call_key UNIQUE (session_id, call_id)
);
CREATE INDEX tool_calls_gym_at_idx ON tool_calls (gym_id, at);

-- Prices in integer pico-USD per token (per minute for duration-billed transcription). A model's
-- price at an instant is its row with the latest effective_from not after it. The store seeds
-- the published prices (jarvis_core::cost::PriceTable::default_2026) into an empty table.
CREATE TABLE model_prices (
    id             TEXT PRIMARY KEY NOT NULL,
    model          TEXT NOT NULL,
    text_in        INTEGER NOT NULL,
    text_cached    INTEGER NOT NULL,
    audio_in       INTEGER NOT NULL,
    audio_cached   INTEGER NOT NULL,
    image_in       INTEGER NOT NULL,
    image_cached   INTEGER NOT NULL,
    text_out       INTEGER NOT NULL,
    audio_out      INTEGER NOT NULL,
    per_minute     INTEGER NOT NULL,
    effective_from TEXT NOT NULL,
    created_at     TEXT NOT NULL,
    created_by     TEXT,
    CONSTRAINT model_prices_model_from_key UNIQUE (model, effective_from),
    CONSTRAINT model_prices_nonnegative_check CHECK (text_in >= 0 AND text_cached >= 0
        AND audio_in >= 0 AND audio_cached >= 0 AND image_in >= 0 AND image_cached >= 0
        AND text_out >= 0 AND audio_out >= 0 AND per_minute >= 0)
);

-- One row (id 'platform'): the global cap, the platform's monthly budget, the hard stop and
-- the default models. The store inserts it from jarvis_core::model::PlatformSettings::default()
-- right after migrating when it is missing.
CREATE TABLE platform_settings (
    id                    TEXT PRIMARY KEY NOT NULL CONSTRAINT platform_settings_id_check CHECK (id = 'platform'),
    voice_session_cap     INTEGER NOT NULL,
    monthly_budget_micros INTEGER NOT NULL,
    hard_stop             BOOLEAN NOT NULL,
    realtime_model        TEXT NOT NULL,
    transcription_model   TEXT NOT NULL,
    updated_at            TEXT NOT NULL,
    updated_by            TEXT
);

-- Spend per gym and UTC day, added to in the same transaction as every metered usage, so
-- month-to-date spend (gym or platform) is a short indexed sum.
CREATE TABLE cost_daily (
    franchise_id   TEXT NOT NULL,
    gym_id         TEXT NOT NULL,
    day            TEXT NOT NULL,
    cost_pico      INTEGER NOT NULL DEFAULT 0,
    sessions       INTEGER NOT NULL DEFAULT 0,
    responses      INTEGER NOT NULL DEFAULT 0,
    transcriptions INTEGER NOT NULL DEFAULT 0,
    input_tokens   INTEGER NOT NULL DEFAULT 0,
    output_tokens  INTEGER NOT NULL DEFAULT 0,
    updated_at     TEXT NOT NULL,
    CONSTRAINT cost_daily_pkey PRIMARY KEY (gym_id, day),
    CONSTRAINT cost_daily_gym_fkey FOREIGN KEY (gym_id, franchise_id)
        REFERENCES gyms (id, franchise_id) ON DELETE CASCADE
);
CREATE INDEX cost_daily_day_idx ON cost_daily (day);

-- Each alert fires once per scope, period and threshold, across instances: the unique key
-- decides which concurrent insert wins.
CREATE TABLE budget_alerts (
    id                TEXT PRIMARY KEY NOT NULL,
    scope             TEXT NOT NULL CONSTRAINT budget_alerts_scope_check
                      CHECK (scope IN ('gym', 'platform')),
    -- 'platform', or the gym id.
    scope_key         TEXT NOT NULL,
    franchise_id      TEXT,
    gym_id            TEXT,
    period            TEXT NOT NULL,
    threshold_percent INTEGER NOT NULL CONSTRAINT budget_alerts_threshold_check
                      CHECK (threshold_percent IN (80, 100)),
    spent_pico        INTEGER NOT NULL,
    budget_micros     INTEGER NOT NULL,
    created_at        TEXT NOT NULL,
    CONSTRAINT budget_alerts_once_key UNIQUE (scope_key, period, threshold_percent),
    CONSTRAINT budget_alerts_gym_fkey FOREIGN KEY (gym_id, franchise_id)
        REFERENCES gyms (id, franchise_id) ON DELETE CASCADE,
    CONSTRAINT budget_alerts_shape_check CHECK (
        (scope = 'platform' AND scope_key = 'platform' AND franchise_id IS NULL AND gym_id IS NULL)
        OR (scope = 'gym' AND franchise_id IS NOT NULL AND gym_id IS NOT NULL))
);
CREATE INDEX budget_alerts_gym_idx ON budget_alerts (gym_id, created_at);

CREATE TABLE follow_ups (
    id           TEXT PRIMARY KEY NOT NULL,
    franchise_id TEXT NOT NULL,
    gym_id       TEXT NOT NULL,
    member_id    TEXT REFERENCES members (id) ON DELETE SET NULL,
    session_id   TEXT REFERENCES voice_sessions (id) ON DELETE SET NULL,
    reason       TEXT NOT NULL,
    status       TEXT NOT NULL CONSTRAINT follow_ups_status_check CHECK (status IN ('open', 'done')),
    created_at   TEXT NOT NULL,
    resolved_at  TEXT,
    resolved_by  TEXT,
    CONSTRAINT follow_ups_gym_fkey FOREIGN KEY (gym_id, franchise_id)
        REFERENCES gyms (id, franchise_id) ON DELETE CASCADE,
    CONSTRAINT follow_ups_resolved_check CHECK ((status = 'done') = (resolved_at IS NOT NULL))
);
CREATE INDEX follow_ups_gym_idx ON follow_ups (gym_id, status, created_at);
CREATE INDEX follow_ups_member_idx ON follow_ups (member_id);

CREATE TABLE session_analyses (
    session_id   TEXT PRIMARY KEY NOT NULL REFERENCES voice_sessions (id) ON DELETE CASCADE,
    franchise_id TEXT NOT NULL,
    gym_id       TEXT NOT NULL,
    member_id    TEXT REFERENCES members (id) ON DELETE SET NULL,
    summary      TEXT NOT NULL,
    sentiment    TEXT NOT NULL CONSTRAINT session_analyses_sentiment_check
                 CHECK (sentiment IN ('positive', 'neutral', 'negative', 'mixed')),
    topics       TEXT NOT NULL DEFAULT '[]',
    created_at   TEXT NOT NULL,
    CONSTRAINT session_analyses_gym_fkey FOREIGN KEY (gym_id, franchise_id)
        REFERENCES gyms (id, franchise_id) ON DELETE CASCADE
);
CREATE INDEX session_analyses_member_idx ON session_analyses (member_id, created_at);
