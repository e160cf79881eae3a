-- Custom HTTP tools: per-gym functions the assistant may call, executed by the server as a
-- signed HTTP request. The signing secret is sealed with the master key (never readable in
-- clear from the database); names are unique per gym.
CREATE TABLE http_tools (
    id            TEXT PRIMARY KEY,
    franchise_id  TEXT NOT NULL,
    gym_id        TEXT NOT NULL,
    name          TEXT NOT NULL,
    description   TEXT NOT NULL,
    parameters    TEXT NOT NULL,
    url           TEXT NOT NULL,
    method        TEXT NOT NULL CONSTRAINT http_tools_method_check
                  CHECK (method IN ('GET', 'POST')),
    timeout_ms    INTEGER NOT NULL CONSTRAINT http_tools_timeout_check
                  CHECK (timeout_ms BETWEEN 1 AND 10000),
    member_fields TEXT NOT NULL,
    enabled       BOOLEAN NOT NULL,
    sealed_secret TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL,
    CONSTRAINT http_tools_gym_fkey FOREIGN KEY (gym_id, franchise_id)
        REFERENCES gyms (id, franchise_id) ON DELETE CASCADE,
    CONSTRAINT http_tools_gym_name_key UNIQUE (gym_id, name)
);
