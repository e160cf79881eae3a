-- Gym knowledge base (issue 12): entries, their chunks (the unit searched and embedded) and
-- the metered embeddings calls. Same tables, columns and constraint names as the SQLite schema.
--
-- Full-text search: each chunk stores its Snowball stems (computed in Rust, entry language) in
-- `stemmed`; PostgreSQL indexes them with the `simple` configuration (no second stemming), so
-- it selects the same chunks as SQLite's FTS5 table over the same column. Ranking (BM25) is
-- computed in Rust from those candidates. Embeddings are little-endian f32 bytes with the
-- model that made them; NULL until the `knowledge.embed` job ran.
CREATE TABLE knowledge_entries (
    id           uuid PRIMARY KEY,
    franchise_id uuid NOT NULL,
    gym_id       uuid NOT NULL,
    title        text NOT NULL,
    body         text NOT NULL,
    -- JSON array of lower-case tags.
    tags         text NOT NULL,
    language     text NOT NULL CONSTRAINT knowledge_entries_language_check
                 CHECK (language IN ('fr', 'en')),
    -- Folded title and tags, for the list's search box.
    search_key   text NOT NULL,
    created_at   timestamptz NOT NULL,
    updated_at   timestamptz NOT NULL,
    CONSTRAINT knowledge_entries_gym_fkey FOREIGN KEY (gym_id, franchise_id)
        REFERENCES gyms (id, franchise_id) ON DELETE CASCADE
);
CREATE INDEX knowledge_entries_gym_idx ON knowledge_entries (gym_id, updated_at);

CREATE TABLE knowledge_chunks (
    id              uuid PRIMARY KEY,
    franchise_id    uuid NOT NULL,
    gym_id          uuid NOT NULL,
    entry_id        uuid NOT NULL
                    CONSTRAINT knowledge_chunks_entry_fkey REFERENCES knowledge_entries (id)
                    ON DELETE CASCADE,
    seq             integer NOT NULL,
    text            text NOT NULL,
    stemmed         text NOT NULL,
    stem_count      integer NOT NULL,
    embedding       bytea,
    embedding_model text,
    embedded_at     timestamptz,
    CONSTRAINT knowledge_chunks_gym_fkey FOREIGN KEY (gym_id, franchise_id)
        REFERENCES gyms (id, franchise_id) ON DELETE CASCADE,
    CONSTRAINT knowledge_chunks_seq_key UNIQUE (entry_id, seq)
);
CREATE INDEX knowledge_chunks_gym_idx ON knowledge_chunks (gym_id, embedding_model);
CREATE INDEX knowledge_chunks_fts_idx ON knowledge_chunks
    USING gin (to_tsvector('simple', stemmed));

-- Every embeddings call made for a gym (indexing its chunks or embedding a question), with its
-- tokens and cost; the cost is also added to the gym's `cost_daily` rollup in the same
-- transaction.
CREATE TABLE knowledge_usage (
    id           uuid PRIMARY KEY,
    franchise_id uuid NOT NULL,
    gym_id       uuid NOT NULL,
    model        text NOT NULL,
    purpose      text NOT NULL CONSTRAINT knowledge_usage_purpose_check
                 CHECK (purpose IN ('index', 'query')),
    input_tokens bigint NOT NULL,
    cost_pico    bigint,
    created_at   timestamptz NOT NULL,
    CONSTRAINT knowledge_usage_gym_fkey FOREIGN KEY (gym_id, franchise_id)
        REFERENCES gyms (id, franchise_id) ON DELETE CASCADE
);
CREATE INDEX knowledge_usage_gym_idx ON knowledge_usage (gym_id, created_at);

GRANT SELECT, INSERT, UPDATE, DELETE ON knowledge_entries, knowledge_chunks, knowledge_usage
    TO jarvis_app;

ALTER TABLE knowledge_entries ENABLE ROW LEVEL SECURITY;
ALTER TABLE knowledge_entries FORCE ROW LEVEL SECURITY;
CREATE POLICY knowledge_entries_tenant ON knowledge_entries
    USING (jarvis_row_visible(franchise_id, gym_id))
    WITH CHECK (jarvis_row_visible(franchise_id, gym_id));

ALTER TABLE knowledge_chunks ENABLE ROW LEVEL SECURITY;
ALTER TABLE knowledge_chunks FORCE ROW LEVEL SECURITY;
CREATE POLICY knowledge_chunks_tenant ON knowledge_chunks
    USING (jarvis_row_visible(franchise_id, gym_id))
    WITH CHECK (jarvis_row_visible(franchise_id, gym_id));

ALTER TABLE knowledge_usage ENABLE ROW LEVEL SECURITY;
ALTER TABLE knowledge_usage FORCE ROW LEVEL SECURITY;
CREATE POLICY knowledge_usage_tenant ON knowledge_usage
    USING (jarvis_row_visible(franchise_id, gym_id))
    WITH CHECK (jarvis_row_visible(franchise_id, gym_id));
