-- Durable jobs, running instances and shared throttles (issue 10). Same tables, columns and
-- constraint names as the PostgreSQL schema (which also puts them behind row-level security,
-- readable only in the `jobs`, `throttle` and `purge` contexts).
--
-- Timestamps of these tables are compared in SQL (due times, leases, windows), and SQLite
-- compares text: storage always writes them as fixed-width UTC text
-- (YYYY-MM-DDTHH:MM:SS.ffffffZ), so text order is time order.

CREATE TABLE jobs (
    id               TEXT PRIMARY KEY NOT NULL,
    kind             TEXT NOT NULL,
    payload          TEXT NOT NULL DEFAULT '{}',
    priority         INTEGER NOT NULL DEFAULT 0,
    run_after        TEXT NOT NULL,
    status           TEXT NOT NULL CONSTRAINT jobs_status_check
                     CHECK (status IN ('queued', 'running', 'succeeded', 'failed', 'dead', 'cancelled')),
    -- Claims so far; never decreases, so (id, lease_owner, attempts) fences a claim.
    attempts         INTEGER NOT NULL DEFAULT 0,
    max_attempts     INTEGER NOT NULL CONSTRAINT jobs_max_attempts_check CHECK (max_attempts >= 1),
    idempotency_key  TEXT,
    lease_owner      TEXT,
    lease_expires_at TEXT,
    last_error       TEXT,
    franchise_id     TEXT REFERENCES franchises (id) ON DELETE CASCADE,
    gym_id           TEXT,
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL,
    finished_at      TEXT,
    CONSTRAINT jobs_idempotency_key_key UNIQUE (idempotency_key),
    CONSTRAINT jobs_gym_fkey FOREIGN KEY (gym_id, franchise_id)
        REFERENCES gyms (id, franchise_id) ON DELETE CASCADE,
    CONSTRAINT jobs_tenant_check CHECK (gym_id IS NULL OR franchise_id IS NOT NULL),
    CONSTRAINT jobs_lease_check CHECK (status <> 'running'
        OR (lease_owner IS NOT NULL AND lease_expires_at IS NOT NULL))
);
-- The claim scans only unfinished jobs, in its own order, and stops at its LIMIT.
CREATE INDEX jobs_claim_idx ON jobs (priority DESC, run_after, id)
    WHERE status IN ('queued', 'running');
CREATE INDEX jobs_kind_idx ON jobs (kind, created_at);
CREATE INDEX jobs_finished_idx ON jobs (finished_at);
CREATE INDEX jobs_tenant_idx ON jobs (franchise_id, gym_id, created_at);

CREATE TABLE job_runs (
    id          TEXT PRIMARY KEY NOT NULL,
    job_id      TEXT NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    kind        TEXT NOT NULL,
    attempt     INTEGER NOT NULL,
    instance_id TEXT NOT NULL,
    started_at  TEXT NOT NULL,
    finished_at TEXT,
    duration_ms INTEGER,
    -- NULL while the run is in progress.
    outcome     TEXT CONSTRAINT job_runs_outcome_check
                CHECK (outcome IN ('succeeded', 'failed', 'retrying', 'dead', 'lease_lost', 'released')),
    error       TEXT,
    CONSTRAINT job_runs_job_attempt_key UNIQUE (job_id, attempt),
    CONSTRAINT job_runs_end_check CHECK ((outcome IS NULL) = (finished_at IS NULL))
);
CREATE INDEX job_runs_kind_idx ON job_runs (kind, started_at);
CREATE INDEX job_runs_started_idx ON job_runs (started_at);

CREATE TABLE instances (
    id           TEXT PRIMARY KEY NOT NULL,
    hostname     TEXT NOT NULL,
    pid          INTEGER NOT NULL,
    version      TEXT NOT NULL,
    started_at   TEXT NOT NULL,
    heartbeat_at TEXT NOT NULL,
    stopped_at   TEXT
);
CREATE INDEX instances_heartbeat_idx ON instances (heartbeat_at);

-- One fixed window per key: it opens at the first hit and ends at expires_at. Sign-in lockout
-- keeps its own table (login_throttles): it counts failures with an escalating lock and forgets
-- them on success, a different rule from this plain counter.
CREATE TABLE throttles (
    throttle_key TEXT PRIMARY KEY NOT NULL,
    hits         INTEGER NOT NULL,
    window_start TEXT NOT NULL,
    expires_at   TEXT NOT NULL
);
CREATE INDEX throttles_expires_idx ON throttles (expires_at);
