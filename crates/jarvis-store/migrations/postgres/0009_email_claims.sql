-- E-mail outbox rows are claimed before sending (issue 10): the `mail.drain` job may run on
-- several instances at once, and a claim with a lease makes each queued e-mail go to exactly
-- one of them. A claim whose lease expired (its instance died before sending) can be taken
-- again. Same columns as the SQLite schema.
ALTER TABLE email_outbox ADD COLUMN claimed_by uuid;
ALTER TABLE email_outbox ADD COLUMN claim_expires_at timestamptz;
