-- Durable jobs, running instances and shared throttles (issue 10). Same tables, columns and
-- constraint names as the SQLite schema.
--
-- The job queue is system data: job payloads and errors are internal, instance rows name hosts
-- and processes, throttle keys hold client addresses. They are readable and writable only in
-- named contexts that storage picks explicitly, never in a tenant scope (platform included):
--
--   jobs      the queue (jobs, job_runs) and the instances. Operators read it through storage
--             methods the application authorizes first. Jobs may carry a tenant tag
--             (franchise_id, gym_id) for filtering; the tag grants no tenant access. What a
--             tenant should see of its work (e.g. import progress) lives in its own tenant
--             tables, written by the job.
--   throttle  fixed-window counters shared by every instance (pairing guesses per address, …).
--   purge     retention sweeps: reading and deleting ended throttle windows.
--
-- Timestamps of these tables are compared in SQL (due times, leases, windows); SQLite stores
-- them as fixed-width UTC text so text order is time order.

CREATE TABLE jobs (
    id               uuid PRIMARY KEY,
    kind             text NOT NULL,
    payload          jsonb NOT NULL DEFAULT '{}',
    priority         integer NOT NULL DEFAULT 0,
    run_after        timestamptz NOT NULL,
    status           text NOT NULL CONSTRAINT jobs_status_check
                     CHECK (status IN ('queued', 'running', 'succeeded', 'failed', 'dead', 'cancelled')),
    -- Claims so far; never decreases, so (id, lease_owner, attempts) fences a claim.
    attempts         integer NOT NULL DEFAULT 0,
    max_attempts     integer NOT NULL CONSTRAINT jobs_max_attempts_check CHECK (max_attempts >= 1),
    idempotency_key  text,
    lease_owner      uuid,
    lease_expires_at timestamptz,
    last_error       text,
    franchise_id     uuid REFERENCES franchises (id) ON DELETE CASCADE,
    gym_id           uuid,
    created_at       timestamptz NOT NULL,
    updated_at       timestamptz NOT NULL,
    finished_at      timestamptz,
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
    id          uuid PRIMARY KEY,
    job_id      uuid NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    kind        text NOT NULL,
    attempt     integer NOT NULL,
    instance_id uuid NOT NULL,
    started_at  timestamptz NOT NULL,
    finished_at timestamptz,
    duration_ms bigint,
    -- NULL while the run is in progress.
    outcome     text CONSTRAINT job_runs_outcome_check
                CHECK (outcome IN ('succeeded', 'failed', 'retrying', 'dead', 'lease_lost', 'released')),
    error       text,
    CONSTRAINT job_runs_job_attempt_key UNIQUE (job_id, attempt),
    CONSTRAINT job_runs_end_check CHECK ((outcome IS NULL) = (finished_at IS NULL))
);
CREATE INDEX job_runs_kind_idx ON job_runs (kind, started_at);
CREATE INDEX job_runs_started_idx ON job_runs (started_at);

CREATE TABLE instances (
    id           uuid PRIMARY KEY,
    hostname     text NOT NULL,
    pid          bigint NOT NULL,
    version      text NOT NULL,
    started_at   timestamptz NOT NULL,
    heartbeat_at timestamptz NOT NULL,
    stopped_at   timestamptz
);
CREATE INDEX instances_heartbeat_idx ON instances (heartbeat_at);

-- One fixed window per key: it opens at the first hit and ends at expires_at. Sign-in lockout
-- keeps its own table (login_throttles): it counts failures with an escalating lock and forgets
-- them on success, a different rule from this plain counter.
CREATE TABLE throttles (
    throttle_key text PRIMARY KEY,
    hits         bigint NOT NULL,
    window_start timestamptz NOT NULL,
    expires_at   timestamptz NOT NULL
);
CREATE INDEX throttles_expires_idx ON throttles (expires_at);

GRANT SELECT, INSERT, UPDATE, DELETE ON jobs, job_runs, instances, throttles TO jarvis_app;

ALTER TABLE jobs ENABLE ROW LEVEL SECURITY;
ALTER TABLE jobs FORCE ROW LEVEL SECURITY;
CREATE POLICY jobs_system ON jobs
    USING (jarvis_scope() = 'jobs')
    WITH CHECK (jarvis_scope() = 'jobs');

ALTER TABLE job_runs ENABLE ROW LEVEL SECURITY;
ALTER TABLE job_runs FORCE ROW LEVEL SECURITY;
CREATE POLICY job_runs_system ON job_runs
    USING (jarvis_scope() = 'jobs')
    WITH CHECK (jarvis_scope() = 'jobs');

ALTER TABLE instances ENABLE ROW LEVEL SECURITY;
ALTER TABLE instances FORCE ROW LEVEL SECURITY;
CREATE POLICY instances_system ON instances
    USING (jarvis_scope() = 'jobs')
    WITH CHECK (jarvis_scope() = 'jobs');

ALTER TABLE throttles ENABLE ROW LEVEL SECURITY;
ALTER TABLE throttles FORCE ROW LEVEL SECURITY;
CREATE POLICY throttles_throttle ON throttles
    USING (jarvis_scope() = 'throttle')
    WITH CHECK (jarvis_scope() = 'throttle');
CREATE POLICY throttles_purge_read ON throttles FOR SELECT
    USING (jarvis_scope() = 'purge');
CREATE POLICY throttles_purge ON throttles FOR DELETE
    USING (jarvis_scope() = 'purge');
