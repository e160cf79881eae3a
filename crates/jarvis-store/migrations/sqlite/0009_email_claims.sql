-- E-mail outbox rows are claimed before sending (issue 10): the `mail.drain` job may run on
-- several instances at once, and a claim with a lease makes each queued e-mail go to exactly
-- one of them. A claim whose lease expired can be taken again. `claim_expires_at` is
-- fixed-width UTC text, compared in SQL. Same columns as the PostgreSQL schema.
ALTER TABLE email_outbox ADD COLUMN claimed_by TEXT;
ALTER TABLE email_outbox ADD COLUMN claim_expires_at TEXT;
