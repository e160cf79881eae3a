-- Voice sessions (issue 11): the slot each call holds, transcripts, tool calls, exact cost
-- metering with daily rollups, budget alerts, dated model prices, platform settings, follow-ups
-- for staff and post-call analyses. Same tables, columns and constraint names as the SQLite
-- schema.
--
-- Contexts (jarvis.scope):
--   platform, franchise, gym  tenant data, behind jarvis_row_visible as everywhere. The broker
--             writes a call it owns (lease, metering, turns, tool calls, end) in the gym scope of
--             that call.
--   voice     the voice system: counting the slots held across every tenant (the global cap),
--             finding the calls of dead instances and expired leases (the reaper), the platform's
--             month-to-date spend, and budget alerts. It reads session rows and cost rollups,
--             never a transcript, a tool call, an analysis or a follow-up.
--   every set context reads model_prices and platform_settings; only the platform writes them.
--
-- Timestamps compared in SQL (leases, price dates) are stored by SQLite as fixed-width UTC
-- text, so text order is time order.

CREATE TABLE voice_sessions (
    id                      uuid PRIMARY KEY,
    franchise_id            uuid NOT NULL,
    gym_id                  uuid NOT NULL,
    -- Erasure removes the person and keeps the row for cost accounting.
    member_id               uuid REFERENCES members (id) ON DELETE SET NULL,
    kiosk_id                uuid REFERENCES kiosks (id) ON DELETE SET NULL,
    status                  text NOT NULL CONSTRAINT voice_sessions_status_check
                            CHECK (status IN ('starting', 'active', 'ended')),
    provider_call_id        text,
    provider_session_id     text,
    model                   text NOT NULL,
    transcription_model     text,
    language                text NOT NULL CONSTRAINT voice_sessions_language_check
                            CHECK (language IN ('fr', 'en')),
    owner_instance_id       uuid NOT NULL,
    -- A live session holds a slot only while its lease runs: an expired lease frees the slot
    -- for the next acquisition even before a reaper ends the session.
    lease_expires_at        timestamptz NOT NULL,
    hangup_requested_at     timestamptz,
    started_at              timestamptz NOT NULL,
    ended_at                timestamptz,
    end_reason              text CONSTRAINT voice_sessions_end_reason_check
                            CHECK (end_reason IN ('member_ended', 'assistant_ended', 'staff_ended',
                                   'idle', 'max_duration', 'budget_exhausted', 'provider_error',
                                   'sideband_lost', 'lease_lost', 'shutdown', 'reaped',
                                   'start_failed')),
    max_duration_secs       integer NOT NULL,
    -- Integer pico-USD (10^-12 USD): sums are exact.
    cost_pico               bigint NOT NULL DEFAULT 0,
    transcription_cost_pico bigint NOT NULL DEFAULT 0,
    input_text_tokens       bigint NOT NULL DEFAULT 0,
    input_audio_tokens      bigint NOT NULL DEFAULT 0,
    input_image_tokens      bigint NOT NULL DEFAULT 0,
    cached_text_tokens      bigint NOT NULL DEFAULT 0,
    cached_audio_tokens     bigint NOT NULL DEFAULT 0,
    cached_image_tokens     bigint NOT NULL DEFAULT 0,
    output_text_tokens      bigint NOT NULL DEFAULT 0,
    output_audio_tokens     bigint NOT NULL DEFAULT 0,
    transcription_tokens    bigint NOT NULL DEFAULT 0,
    transcription_ms        bigint NOT NULL DEFAULT 0,
    responses               integer NOT NULL DEFAULT 0,
    turn_count              integer NOT NULL DEFAULT 0,
    created_at              timestamptz NOT NULL,
    updated_at              timestamptz NOT NULL,
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
    id           uuid PRIMARY KEY,
    session_id   uuid NOT NULL REFERENCES voice_sessions (id) ON DELETE CASCADE,
    franchise_id uuid NOT NULL,
    gym_id       uuid NOT NULL,
    seq          integer NOT NULL,
    role         text NOT NULL CONSTRAINT conversation_turns_role_check
                 CHECK (role IN ('member', 'assistant')),
    -- NULL when the gym (or the member's consent) allows metadata only.
    text         text,
    redacted     boolean NOT NULL,
    at           timestamptz NOT NULL,
    response_id  text,
    usage        jsonb,
    cost_pico    bigint,
    latency_ms   bigint,
    CONSTRAINT conversation_turns_gym_fkey FOREIGN KEY (gym_id, franchise_id)
        REFERENCES gyms (id, franchise_id) ON DELETE CASCADE,
    CONSTRAINT conversation_turns_session_seq_key UNIQUE (session_id, seq)
);
CREATE INDEX conversation_turns_gym_at_idx ON conversation_turns (gym_id, at);

CREATE TABLE tool_calls (
    id           uuid PRIMARY KEY,
    session_id   uuid NOT NULL REFERENCES voice_sessions (id) ON DELETE CASCADE,
    franchise_id uuid NOT NULL,
    gym_id       uuid NOT NULL,
    call_id      text NOT NULL,
    name         text NOT NULL,
    arguments    jsonb,
    result       jsonb,
    error        text,
    redacted     boolean NOT NULL,
    duration_ms  bigint NOT NULL,
    at           timestamptz NOT NULL,
    CONSTRAINT tool_calls_gym_fkey FOREIGN KEY (gym_id, franchise_id)
        REFERENCES gyms (id, franchise_id) ON DELETE CASCADE,
    CONSTRAINT tool_calls_session_call_key UNIQUE (session_id, call_id)
);
CREATE INDEX tool_calls_gym_at_idx ON tool_calls (gym_id, at);

-- Prices in integer pico-USD per token (per minute for duration-billed transcription). A model's
-- price at an instant is its row with the latest effective_from not after it. The store seeds
-- the published prices (jarvis_core::cost::PriceTable::default_2026) into an empty table.
CREATE TABLE model_prices (
    id             uuid PRIMARY KEY,
    model          text NOT NULL,
    text_in        bigint NOT NULL,
    text_cached    bigint NOT NULL,
    audio_in       bigint NOT NULL,
    audio_cached   bigint NOT NULL,
    image_in       bigint NOT NULL,
    image_cached   bigint NOT NULL,
    text_out       bigint NOT NULL,
    audio_out      bigint NOT NULL,
    per_minute     bigint NOT NULL,
    effective_from timestamptz NOT NULL,
    created_at     timestamptz NOT NULL,
    created_by     uuid,
    CONSTRAINT model_prices_model_from_key UNIQUE (model, effective_from),
    CONSTRAINT model_prices_nonnegative_check CHECK (text_in >= 0 AND text_cached >= 0
        AND audio_in >= 0 AND audio_cached >= 0 AND image_in >= 0 AND image_cached >= 0
        AND text_out >= 0 AND audio_out >= 0 AND per_minute >= 0)
);

-- One row (id 'platform'): the global cap, the platform's monthly budget, the hard stop and
-- the default models. The store inserts it from jarvis_core::model::PlatformSettings::default()
-- right after migrating when it is missing.
CREATE TABLE platform_settings (
    id                    text PRIMARY KEY CONSTRAINT platform_settings_id_check CHECK (id = 'platform'),
    voice_session_cap     integer NOT NULL,
    monthly_budget_micros bigint NOT NULL,
    hard_stop             boolean NOT NULL,
    realtime_model        text NOT NULL,
    transcription_model   text NOT NULL,
    updated_at            timestamptz NOT NULL,
    updated_by            uuid
);

-- Spend per gym and UTC day, added to in the same transaction as every metered usage, so
-- month-to-date spend (gym or platform) is a short indexed sum.
CREATE TABLE cost_daily (
    franchise_id   uuid NOT NULL,
    gym_id         uuid NOT NULL,
    day            date NOT NULL,
    cost_pico      bigint NOT NULL DEFAULT 0,
    sessions       integer NOT NULL DEFAULT 0,
    responses      integer NOT NULL DEFAULT 0,
    transcriptions integer NOT NULL DEFAULT 0,
    input_tokens   bigint NOT NULL DEFAULT 0,
    output_tokens  bigint NOT NULL DEFAULT 0,
    updated_at     timestamptz NOT NULL,
    CONSTRAINT cost_daily_pkey PRIMARY KEY (gym_id, day),
    CONSTRAINT cost_daily_gym_fkey FOREIGN KEY (gym_id, franchise_id)
        REFERENCES gyms (id, franchise_id) ON DELETE CASCADE
);
CREATE INDEX cost_daily_day_idx ON cost_daily (day);

-- Each alert fires once per scope, period and threshold, across instances: the unique key
-- decides which concurrent insert wins.
CREATE TABLE budget_alerts (
    id                uuid PRIMARY KEY,
    scope             text NOT NULL CONSTRAINT budget_alerts_scope_check
                      CHECK (scope IN ('gym', 'platform')),
    -- 'platform', or the gym id.
    scope_key         text NOT NULL,
    franchise_id      uuid,
    gym_id            uuid,
    period            text NOT NULL,
    threshold_percent integer NOT NULL CONSTRAINT budget_alerts_threshold_check
                      CHECK (threshold_percent IN (80, 100)),
    spent_pico        bigint NOT NULL,
    budget_micros     bigint NOT NULL,
    created_at        timestamptz NOT NULL,
    CONSTRAINT budget_alerts_once_key UNIQUE (scope_key, period, threshold_percent),
    CONSTRAINT budget_alerts_gym_fkey FOREIGN KEY (gym_id, franchise_id)
        REFERENCES gyms (id, franchise_id) ON DELETE CASCADE,
    CONSTRAINT budget_alerts_shape_check CHECK (
        (scope = 'platform' AND scope_key = 'platform' AND franchise_id IS NULL AND gym_id IS NULL)
        OR (scope = 'gym' AND franchise_id IS NOT NULL AND gym_id IS NOT NULL))
);
CREATE INDEX budget_alerts_gym_idx ON budget_alerts (gym_id, created_at);

CREATE TABLE follow_ups (
    id           uuid PRIMARY KEY,
    franchise_id uuid NOT NULL,
    gym_id       uuid NOT NULL,
    member_id    uuid REFERENCES members (id) ON DELETE SET NULL,
    session_id   uuid REFERENCES voice_sessions (id) ON DELETE SET NULL,
    reason       text NOT NULL,
    status       text NOT NULL CONSTRAINT follow_ups_status_check CHECK (status IN ('open', 'done')),
    created_at   timestamptz NOT NULL,
    resolved_at  timestamptz,
    resolved_by  uuid,
    CONSTRAINT follow_ups_gym_fkey FOREIGN KEY (gym_id, franchise_id)
        REFERENCES gyms (id, franchise_id) ON DELETE CASCADE,
    CONSTRAINT follow_ups_resolved_check CHECK ((status = 'done') = (resolved_at IS NOT NULL))
);
CREATE INDEX follow_ups_gym_idx ON follow_ups (gym_id, status, created_at);
CREATE INDEX follow_ups_member_idx ON follow_ups (member_id);

CREATE TABLE session_analyses (
    session_id   uuid PRIMARY KEY REFERENCES voice_sessions (id) ON DELETE CASCADE,
    franchise_id uuid NOT NULL,
    gym_id       uuid NOT NULL,
    member_id    uuid REFERENCES members (id) ON DELETE SET NULL,
    summary      text NOT NULL,
    sentiment    text NOT NULL CONSTRAINT session_analyses_sentiment_check
                 CHECK (sentiment IN ('positive', 'neutral', 'negative', 'mixed')),
    topics       jsonb NOT NULL DEFAULT '[]',
    created_at   timestamptz NOT NULL,
    CONSTRAINT session_analyses_gym_fkey FOREIGN KEY (gym_id, franchise_id)
        REFERENCES gyms (id, franchise_id) ON DELETE CASCADE
);
CREATE INDEX session_analyses_member_idx ON session_analyses (member_id, created_at);

GRANT SELECT, INSERT, UPDATE, DELETE ON voice_sessions, conversation_turns, tool_calls,
    model_prices, platform_settings, cost_daily, budget_alerts, follow_ups, session_analyses
    TO jarvis_app;

ALTER TABLE voice_sessions ENABLE ROW LEVEL SECURITY;
ALTER TABLE voice_sessions FORCE ROW LEVEL SECURITY;
CREATE POLICY voice_sessions_tenant ON voice_sessions
    USING (jarvis_row_visible(franchise_id, gym_id))
    WITH CHECK (jarvis_row_visible(franchise_id, gym_id));
CREATE POLICY voice_sessions_voice_read ON voice_sessions FOR SELECT
    USING (jarvis_scope() = 'voice');

ALTER TABLE conversation_turns ENABLE ROW LEVEL SECURITY;
ALTER TABLE conversation_turns FORCE ROW LEVEL SECURITY;
CREATE POLICY conversation_turns_tenant ON conversation_turns
    USING (jarvis_row_visible(franchise_id, gym_id))
    WITH CHECK (jarvis_row_visible(franchise_id, gym_id));

ALTER TABLE tool_calls ENABLE ROW LEVEL SECURITY;
ALTER TABLE tool_calls FORCE ROW LEVEL SECURITY;
CREATE POLICY tool_calls_tenant ON tool_calls
    USING (jarvis_row_visible(franchise_id, gym_id))
    WITH CHECK (jarvis_row_visible(franchise_id, gym_id));

ALTER TABLE follow_ups ENABLE ROW LEVEL SECURITY;
ALTER TABLE follow_ups FORCE ROW LEVEL SECURITY;
CREATE POLICY follow_ups_tenant ON follow_ups
    USING (jarvis_row_visible(franchise_id, gym_id))
    WITH CHECK (jarvis_row_visible(franchise_id, gym_id));

ALTER TABLE session_analyses ENABLE ROW LEVEL SECURITY;
ALTER TABLE session_analyses FORCE ROW LEVEL SECURITY;
CREATE POLICY session_analyses_tenant ON session_analyses
    USING (jarvis_row_visible(franchise_id, gym_id))
    WITH CHECK (jarvis_row_visible(franchise_id, gym_id));

-- Rollups: tenants read theirs and add to them (metering runs in the gym scope of the call);
-- the voice context reads them all for the platform's month-to-date. Nobody deletes a day.
ALTER TABLE cost_daily ENABLE ROW LEVEL SECURITY;
ALTER TABLE cost_daily FORCE ROW LEVEL SECURITY;
CREATE POLICY cost_daily_read ON cost_daily FOR SELECT
    USING (jarvis_row_visible(franchise_id, gym_id) OR jarvis_scope() = 'voice');
CREATE POLICY cost_daily_insert ON cost_daily FOR INSERT
    WITH CHECK (jarvis_row_visible(franchise_id, gym_id));
CREATE POLICY cost_daily_update ON cost_daily FOR UPDATE
    USING (jarvis_row_visible(franchise_id, gym_id))
    WITH CHECK (jarvis_row_visible(franchise_id, gym_id));

-- Alerts: fired by the voice context only; a tenant reads its own (platform alerts are
-- visible to the platform scope only).
ALTER TABLE budget_alerts ENABLE ROW LEVEL SECURITY;
ALTER TABLE budget_alerts FORCE ROW LEVEL SECURITY;
CREATE POLICY budget_alerts_read ON budget_alerts FOR SELECT
    USING (jarvis_row_visible(franchise_id, gym_id) OR jarvis_scope() = 'voice');
CREATE POLICY budget_alerts_fire ON budget_alerts FOR INSERT
    WITH CHECK (jarvis_scope() = 'voice');

ALTER TABLE model_prices ENABLE ROW LEVEL SECURITY;
ALTER TABLE model_prices FORCE ROW LEVEL SECURITY;
CREATE POLICY model_prices_read ON model_prices FOR SELECT
    USING (jarvis_scope() <> '');
CREATE POLICY model_prices_insert ON model_prices FOR INSERT
    WITH CHECK (jarvis_scope() = 'platform');
CREATE POLICY model_prices_update ON model_prices FOR UPDATE
    USING (jarvis_scope() = 'platform')
    WITH CHECK (jarvis_scope() = 'platform');
CREATE POLICY model_prices_delete ON model_prices FOR DELETE
    USING (jarvis_scope() = 'platform');

-- The single row is never deleted.
ALTER TABLE platform_settings ENABLE ROW LEVEL SECURITY;
ALTER TABLE platform_settings FORCE ROW LEVEL SECURITY;
CREATE POLICY platform_settings_read ON platform_settings FOR SELECT
    USING (jarvis_scope() <> '');
CREATE POLICY platform_settings_insert ON platform_settings FOR INSERT
    WITH CHECK (jarvis_scope() = 'platform');
CREATE POLICY platform_settings_update ON platform_settings FOR UPDATE
    USING (jarvis_scope() = 'platform')
    WITH CHECK (jarvis_scope() = 'platform');
