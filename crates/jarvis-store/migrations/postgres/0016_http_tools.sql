-- Custom HTTP tools: per-gym functions the assistant may call, executed by the server as a
-- signed HTTP request. The signing secret is sealed with the master key (never readable in
-- clear from the database); names are unique per gym.
CREATE TABLE http_tools (
    id            uuid PRIMARY KEY,
    franchise_id  uuid NOT NULL,
    gym_id        uuid NOT NULL,
    name          text NOT NULL,
    description   text NOT NULL,
    parameters    jsonb NOT NULL,
    url           text NOT NULL,
    method        text NOT NULL CONSTRAINT http_tools_method_check
                  CHECK (method IN ('GET', 'POST')),
    timeout_ms    integer NOT NULL CONSTRAINT http_tools_timeout_check
                  CHECK (timeout_ms BETWEEN 1 AND 10000),
    member_fields jsonb NOT NULL,
    enabled       boolean NOT NULL,
    sealed_secret text NOT NULL,
    created_at    timestamptz NOT NULL,
    updated_at    timestamptz NOT NULL,
    CONSTRAINT http_tools_gym_fkey FOREIGN KEY (gym_id, franchise_id)
        REFERENCES gyms (id, franchise_id) ON DELETE CASCADE,
    CONSTRAINT http_tools_gym_name_key UNIQUE (gym_id, name)
);

GRANT SELECT, INSERT, UPDATE, DELETE ON http_tools TO jarvis_app;

ALTER TABLE http_tools ENABLE ROW LEVEL SECURITY;
ALTER TABLE http_tools FORCE ROW LEVEL SECURITY;
CREATE POLICY http_tools_tenant ON http_tools
    USING (jarvis_row_visible(franchise_id, gym_id))
    WITH CHECK (jarvis_row_visible(franchise_id, gym_id));
