-- Lead webhook: one signing secret per gym (sealed with the master key; the key id senders
-- name in `Jarvis-Webhook-Key`), and the leads it received, unique per (gym, event id) so a
-- redelivered event is stored once.
CREATE TABLE lead_webhooks (
    gym_id        uuid PRIMARY KEY,
    franchise_id  uuid NOT NULL,
    key_id        text NOT NULL CONSTRAINT lead_webhooks_key_id_key UNIQUE,
    sealed_secret text NOT NULL,
    created_at    timestamptz NOT NULL,
    CONSTRAINT lead_webhooks_gym_fkey FOREIGN KEY (gym_id, franchise_id)
        REFERENCES gyms (id, franchise_id) ON DELETE CASCADE
);

CREATE TABLE leads (
    id           uuid PRIMARY KEY,
    franchise_id uuid NOT NULL,
    gym_id       uuid NOT NULL,
    event_id     text NOT NULL,
    body_hash    text NOT NULL,
    name         text NOT NULL,
    email        text,
    phone        text,
    message      text,
    source       text,
    status       text NOT NULL CONSTRAINT leads_status_check
                 CHECK (status IN ('new', 'contacted', 'converted')),
    created_at   timestamptz NOT NULL,
    updated_at   timestamptz NOT NULL,
    CONSTRAINT leads_gym_fkey FOREIGN KEY (gym_id, franchise_id)
        REFERENCES gyms (id, franchise_id) ON DELETE CASCADE,
    CONSTRAINT leads_event_key UNIQUE (gym_id, event_id)
);
CREATE INDEX leads_gym_idx ON leads (gym_id, status, created_at);

GRANT SELECT, INSERT, UPDATE, DELETE ON lead_webhooks, leads TO jarvis_app;

ALTER TABLE lead_webhooks ENABLE ROW LEVEL SECURITY;
ALTER TABLE lead_webhooks FORCE ROW LEVEL SECURITY;
CREATE POLICY lead_webhooks_tenant ON lead_webhooks
    USING (jarvis_row_visible(franchise_id, gym_id))
    WITH CHECK (jarvis_row_visible(franchise_id, gym_id));
-- The unauthenticated webhook finds the gym of a key id (and only that) in `webhook` context.
CREATE POLICY lead_webhooks_webhook_read ON lead_webhooks FOR SELECT
    USING (jarvis_scope() = 'webhook');

ALTER TABLE leads ENABLE ROW LEVEL SECURITY;
ALTER TABLE leads FORCE ROW LEVEL SECURITY;
CREATE POLICY leads_tenant ON leads
    USING (jarvis_row_visible(franchise_id, gym_id))
    WITH CHECK (jarvis_row_visible(franchise_id, gym_id));
