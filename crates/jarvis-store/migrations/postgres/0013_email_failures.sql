-- SMTP delivery (issue 14): a send that fails for good (the server refused the message, or it
-- kept failing over every retry) is marked failed instead of being retried forever; a
-- transient failure pushes `claim_expires_at` to the retry time (back-off). Same columns as
-- the SQLite schema.
ALTER TABLE email_outbox ADD COLUMN failed_at timestamptz;
