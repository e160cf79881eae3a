-- Heard latency (issue 11): what the member actually heard at the kiosk, end of speech to the
-- first assistant audio at the speaker, measured by the kiosk's browser and sent with its
-- heartbeat. One row per reported sample, so the dashboard shows heard p50/p95 per gym next to
-- the server's event-timestamp latency (conversation_turns.latency_ms). No member data.
-- Same tables, columns and constraint names as the SQLite schema.

CREATE TABLE voice_heard_latency (
    id           uuid PRIMARY KEY,
    franchise_id uuid NOT NULL,
    gym_id       uuid NOT NULL,
    kiosk_id     uuid NOT NULL REFERENCES kiosks (id) ON DELETE CASCADE,
    latency_ms   integer NOT NULL CONSTRAINT voice_heard_latency_ms_check
                 CHECK (latency_ms BETWEEN 0 AND 60000),
    -- When the server received the heartbeat carrying it.
    at           timestamptz NOT NULL,
    CONSTRAINT voice_heard_latency_gym_fkey FOREIGN KEY (gym_id, franchise_id)
        REFERENCES gyms (id, franchise_id) ON DELETE CASCADE
);
CREATE INDEX voice_heard_latency_gym_at_idx ON voice_heard_latency (gym_id, at);
CREATE INDEX voice_heard_latency_kiosk_idx ON voice_heard_latency (kiosk_id);

GRANT SELECT, INSERT, UPDATE, DELETE ON voice_heard_latency TO jarvis_app;

ALTER TABLE voice_heard_latency ENABLE ROW LEVEL SECURITY;
ALTER TABLE voice_heard_latency FORCE ROW LEVEL SECURITY;
CREATE POLICY voice_heard_latency_tenant ON voice_heard_latency
    USING (jarvis_row_visible(franchise_id, gym_id))
    WITH CHECK (jarvis_row_visible(franchise_id, gym_id));
