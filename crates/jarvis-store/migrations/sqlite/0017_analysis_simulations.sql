-- Post-call analysis and simulations (issue 12, items 3 and 4). Same tables, columns and
-- constraint names as the PostgreSQL migration.
--
-- session_analyses gains the structured answer of the analysis job (sentiment score, member
-- satisfaction, follow-up, cancellation intent, the gym's custom fields as JSON), its status
-- (`done` or `failed`: a refusal or invalid output after the bounded retries is recorded, never
-- guessed, so summary and sentiment are empty then), the attempts, the model and the chat cost.
-- SQLite cannot drop a NOT NULL: the table is rebuilt (nothing references it).
CREATE TABLE session_analyses_new (
    session_id   TEXT PRIMARY KEY NOT NULL REFERENCES voice_sessions (id) ON DELETE CASCADE,
    franchise_id TEXT NOT NULL,
    gym_id       TEXT NOT NULL,
    member_id    TEXT REFERENCES members (id) ON DELETE SET NULL,
    summary      TEXT,
    sentiment    TEXT CONSTRAINT session_analyses_sentiment_check
                 CHECK (sentiment IN ('positive', 'neutral', 'negative', 'mixed')),
    topics       TEXT NOT NULL DEFAULT '[]',
    created_at   TEXT NOT NULL,
    status       TEXT NOT NULL DEFAULT 'done' CONSTRAINT session_analyses_status_check
                 CHECK (status IN ('done', 'failed')),
    failure      TEXT,
    sentiment_score REAL CONSTRAINT session_analyses_score_check
                 CHECK (sentiment_score BETWEEN -1 AND 1),
    satisfaction INTEGER CONSTRAINT session_analyses_satisfaction_check
                 CHECK (satisfaction BETWEEN 1 AND 5),
    follow_up    BOOLEAN,
    follow_up_reason TEXT,
    cancellation_intent BOOLEAN,
    custom       TEXT NOT NULL DEFAULT '{}',
    attempts     INTEGER NOT NULL DEFAULT 1,
    model        TEXT,
    cost_pico    INTEGER NOT NULL DEFAULT 0,
    CONSTRAINT session_analyses_gym_fkey FOREIGN KEY (gym_id, franchise_id)
        REFERENCES gyms (id, franchise_id) ON DELETE CASCADE,
    CONSTRAINT session_analyses_done_check
        CHECK (status <> 'done' OR (summary IS NOT NULL AND sentiment IS NOT NULL))
);
INSERT INTO session_analyses_new (session_id, franchise_id, gym_id, member_id, summary,
    sentiment, topics, created_at)
    SELECT session_id, franchise_id, gym_id, member_id, summary, sentiment, topics, created_at
    FROM session_analyses;
DROP TABLE session_analyses;
ALTER TABLE session_analyses_new RENAME TO session_analyses;
CREATE INDEX session_analyses_member_idx ON session_analyses (member_id, created_at);

-- Per-gym custom analysis fields, added to the analysis schema.
CREATE TABLE analysis_fields (
    id           TEXT PRIMARY KEY,
    franchise_id TEXT NOT NULL,
    gym_id       TEXT NOT NULL,
    name         TEXT NOT NULL,
    kind         TEXT NOT NULL CONSTRAINT analysis_fields_kind_check
                 CHECK (kind IN ('text', 'number', 'boolean', 'enum')),
    enum_values  TEXT NOT NULL DEFAULT '[]',
    description  TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    CONSTRAINT analysis_fields_gym_fkey FOREIGN KEY (gym_id, franchise_id)
        REFERENCES gyms (id, franchise_id) ON DELETE CASCADE,
    CONSTRAINT analysis_fields_name_key UNIQUE (gym_id, name)
);

-- A gym's scenario file (the page edits it; the CLI reads its own file).
CREATE TABLE simulation_scenarios (
    gym_id       TEXT PRIMARY KEY,
    franchise_id TEXT NOT NULL,
    body         TEXT NOT NULL,
    updated_at   TEXT NOT NULL,
    CONSTRAINT simulation_scenarios_gym_fkey FOREIGN KEY (gym_id, franchise_id)
        REFERENCES gyms (id, franchise_id) ON DELETE CASCADE
);

-- One run of a scenario file against the gym's assistant, and one result per scenario. Their
-- cost is metered here, apart from member sessions and the gym's daily rollups.
CREATE TABLE simulation_runs (
    id           TEXT PRIMARY KEY,
    franchise_id TEXT NOT NULL,
    gym_id       TEXT NOT NULL,
    status       TEXT NOT NULL CONSTRAINT simulation_runs_status_check
                 CHECK (status IN ('running', 'passed', 'failed', 'error')),
    scenarios    INTEGER NOT NULL DEFAULT 0,
    passed_count INTEGER NOT NULL DEFAULT 0,
    cost_pico    INTEGER NOT NULL DEFAULT 0,
    error        TEXT,
    started_at   TEXT NOT NULL,
    finished_at  TEXT,
    CONSTRAINT simulation_runs_gym_fkey FOREIGN KEY (gym_id, franchise_id)
        REFERENCES gyms (id, franchise_id) ON DELETE CASCADE
);
CREATE INDEX simulation_runs_gym_idx ON simulation_runs (gym_id, started_at);

CREATE TABLE simulation_results (
    id           TEXT PRIMARY KEY,
    run_id       TEXT NOT NULL REFERENCES simulation_runs (id) ON DELETE CASCADE,
    franchise_id TEXT NOT NULL,
    gym_id       TEXT NOT NULL,
    seq          INTEGER NOT NULL,
    scenario     TEXT NOT NULL,
    passed       BOOLEAN NOT NULL,
    checks       TEXT NOT NULL DEFAULT '[]',
    transcript   TEXT NOT NULL DEFAULT '[]',
    tool_calls   TEXT NOT NULL DEFAULT '[]',
    cost_pico    INTEGER NOT NULL DEFAULT 0,
    created_at   TEXT NOT NULL,
    CONSTRAINT simulation_results_gym_fkey FOREIGN KEY (gym_id, franchise_id)
        REFERENCES gyms (id, franchise_id) ON DELETE CASCADE,
    CONSTRAINT simulation_results_seq_key UNIQUE (run_id, seq)
);
