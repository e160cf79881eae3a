-- Lead webhook: one signing secret per gym (sealed with the master key; the key id senders
-- name in `Jarvis-Webhook-Key`), and the leads it received, unique per (gym, event id) so a
-- redelivered event is stored once.
CREATE TABLE lead_webhooks (
    gym_id        TEXT PRIMARY KEY,
    franchise_id  TEXT NOT NULL,
    key_id        TEXT NOT NULL CONSTRAINT lead_webhooks_key_id_key UNIQUE,
    sealed_secret TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    CONSTRAINT lead_webhooks_gym_fkey FOREIGN KEY (gym_id, franchise_id)
        REFERENCES gyms (id, franchise_id) ON DELETE CASCADE
);

CREATE TABLE leads (
    id           TEXT PRIMARY KEY,
    franchise_id TEXT NOT NULL,
    gym_id       TEXT NOT NULL,
    event_id     TEXT NOT NULL,
    body_hash    TEXT NOT NULL,
    name         TEXT NOT NULL,
    email        TEXT,
    phone        TEXT,
    message      TEXT,
    source       TEXT,
    status       TEXT NOT NULL CONSTRAINT leads_status_check
                 CHECK (status IN ('new', 'contacted', 'converted')),
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL,
    CONSTRAINT leads_gym_fkey FOREIGN KEY (gym_id, franchise_id)
        REFERENCES gyms (id, franchise_id) ON DELETE CASCADE,
    CONSTRAINT leads_event_key UNIQUE (gym_id, event_id)
);
CREATE INDEX leads_gym_idx ON leads (gym_id, status, created_at);
