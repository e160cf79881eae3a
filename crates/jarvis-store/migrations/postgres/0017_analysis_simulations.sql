-- Post-call analysis and simulations (issue 12, items 3 and 4).
--
-- session_analyses gains the structured answer of the analysis job (sentiment score, member
-- satisfaction, follow-up, cancellation intent, the gym's custom fields as JSON), its status
-- (`done` or `failed`: a refusal or invalid output after the bounded retries is recorded, never
-- guessed, so summary and sentiment are empty then), the attempts, the model and the chat cost.
ALTER TABLE session_analyses ALTER COLUMN summary DROP NOT NULL;
ALTER TABLE session_analyses ALTER COLUMN sentiment DROP NOT NULL;
ALTER TABLE session_analyses
    ADD COLUMN status text NOT NULL DEFAULT 'done' CONSTRAINT session_analyses_status_check
        CHECK (status IN ('done', 'failed')),
    ADD COLUMN failure text,
    ADD COLUMN sentiment_score double precision CONSTRAINT session_analyses_score_check
        CHECK (sentiment_score BETWEEN -1 AND 1),
    ADD COLUMN satisfaction integer CONSTRAINT session_analyses_satisfaction_check
        CHECK (satisfaction BETWEEN 1 AND 5),
    ADD COLUMN follow_up boolean,
    ADD COLUMN follow_up_reason text,
    ADD COLUMN cancellation_intent boolean,
    ADD COLUMN custom jsonb NOT NULL DEFAULT '{}',
    ADD COLUMN attempts integer NOT NULL DEFAULT 1,
    ADD COLUMN model text,
    ADD COLUMN cost_pico bigint NOT NULL DEFAULT 0;
ALTER TABLE session_analyses ADD CONSTRAINT session_analyses_done_check
    CHECK (status <> 'done' OR (summary IS NOT NULL AND sentiment IS NOT NULL));

-- Per-gym custom analysis fields, added to the analysis schema.
CREATE TABLE analysis_fields (
    id           uuid PRIMARY KEY,
    franchise_id uuid NOT NULL,
    gym_id       uuid NOT NULL,
    name         text NOT NULL,
    kind         text NOT NULL CONSTRAINT analysis_fields_kind_check
                 CHECK (kind IN ('text', 'number', 'boolean', 'enum')),
    enum_values  jsonb NOT NULL DEFAULT '[]',
    description  text NOT NULL,
    created_at   timestamptz NOT NULL,
    CONSTRAINT analysis_fields_gym_fkey FOREIGN KEY (gym_id, franchise_id)
        REFERENCES gyms (id, franchise_id) ON DELETE CASCADE,
    CONSTRAINT analysis_fields_name_key UNIQUE (gym_id, name)
);

-- A gym's scenario file (the page edits it; the CLI reads its own file).
CREATE TABLE simulation_scenarios (
    gym_id       uuid PRIMARY KEY,
    franchise_id uuid NOT NULL,
    body         text NOT NULL,
    updated_at   timestamptz NOT NULL,
    CONSTRAINT simulation_scenarios_gym_fkey FOREIGN KEY (gym_id, franchise_id)
        REFERENCES gyms (id, franchise_id) ON DELETE CASCADE
);

-- One run of a scenario file against the gym's assistant, and one result per scenario. Their
-- cost is metered here, apart from member sessions and the gym's daily rollups.
CREATE TABLE simulation_runs (
    id           uuid PRIMARY KEY,
    franchise_id uuid NOT NULL,
    gym_id       uuid NOT NULL,
    status       text NOT NULL CONSTRAINT simulation_runs_status_check
                 CHECK (status IN ('running', 'passed', 'failed', 'error')),
    scenarios    integer NOT NULL DEFAULT 0,
    passed_count integer NOT NULL DEFAULT 0,
    cost_pico    bigint NOT NULL DEFAULT 0,
    error        text,
    started_at   timestamptz NOT NULL,
    finished_at  timestamptz,
    CONSTRAINT simulation_runs_gym_fkey FOREIGN KEY (gym_id, franchise_id)
        REFERENCES gyms (id, franchise_id) ON DELETE CASCADE
);
CREATE INDEX simulation_runs_gym_idx ON simulation_runs (gym_id, started_at);

CREATE TABLE simulation_results (
    id           uuid PRIMARY KEY,
    run_id       uuid NOT NULL REFERENCES simulation_runs (id) ON DELETE CASCADE,
    franchise_id uuid NOT NULL,
    gym_id       uuid NOT NULL,
    seq          integer NOT NULL,
    scenario     text NOT NULL,
    passed       boolean NOT NULL,
    checks       jsonb NOT NULL DEFAULT '[]',
    transcript   jsonb NOT NULL DEFAULT '[]',
    tool_calls   jsonb NOT NULL DEFAULT '[]',
    cost_pico    bigint NOT NULL DEFAULT 0,
    created_at   timestamptz NOT NULL,
    CONSTRAINT simulation_results_gym_fkey FOREIGN KEY (gym_id, franchise_id)
        REFERENCES gyms (id, franchise_id) ON DELETE CASCADE,
    CONSTRAINT simulation_results_seq_key UNIQUE (run_id, seq)
);

GRANT SELECT, INSERT, UPDATE, DELETE ON analysis_fields, simulation_scenarios, simulation_runs,
    simulation_results TO jarvis_app;

ALTER TABLE analysis_fields ENABLE ROW LEVEL SECURITY;
ALTER TABLE analysis_fields FORCE ROW LEVEL SECURITY;
CREATE POLICY analysis_fields_tenant ON analysis_fields
    USING (jarvis_row_visible(franchise_id, gym_id))
    WITH CHECK (jarvis_row_visible(franchise_id, gym_id));

ALTER TABLE simulation_scenarios ENABLE ROW LEVEL SECURITY;
ALTER TABLE simulation_scenarios FORCE ROW LEVEL SECURITY;
CREATE POLICY simulation_scenarios_tenant ON simulation_scenarios
    USING (jarvis_row_visible(franchise_id, gym_id))
    WITH CHECK (jarvis_row_visible(franchise_id, gym_id));

ALTER TABLE simulation_runs ENABLE ROW LEVEL SECURITY;
ALTER TABLE simulation_runs FORCE ROW LEVEL SECURITY;
CREATE POLICY simulation_runs_tenant ON simulation_runs
    USING (jarvis_row_visible(franchise_id, gym_id))
    WITH CHECK (jarvis_row_visible(franchise_id, gym_id));

ALTER TABLE simulation_results ENABLE ROW LEVEL SECURITY;
ALTER TABLE simulation_results FORCE ROW LEVEL SECURITY;
CREATE POLICY simulation_results_tenant ON simulation_results
    USING (jarvis_row_visible(franchise_id, gym_id))
    WITH CHECK (jarvis_row_visible(franchise_id, gym_id));
