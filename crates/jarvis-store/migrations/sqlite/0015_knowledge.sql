-- Gym knowledge base (issue 12): entries, their chunks (the unit searched and embedded) and
-- the metered embeddings calls. Same tables, columns and constraint names as the PostgreSQL
-- schema.
--
-- Full-text search: each chunk stores its Snowball stems (computed in Rust, entry language) in
-- `stemmed`; the FTS5 table below indexes them (unicode61, no second stemming), so it selects
-- the same chunks as PostgreSQL's `to_tsvector('simple', stemmed)` index. Ranking (BM25) is
-- computed in Rust from those candidates. Embeddings are little-endian f32 bytes with the
-- model that made them; NULL until the `knowledge.embed` job ran.
CREATE TABLE knowledge_entries (
    id           TEXT PRIMARY KEY,
    franchise_id TEXT NOT NULL,
    gym_id       TEXT NOT NULL,
    title        TEXT NOT NULL,
    body         TEXT NOT NULL,
    -- JSON array of lower-case tags.
    tags         TEXT NOT NULL,
    language     TEXT NOT NULL CONSTRAINT knowledge_entries_language_check
                 CHECK (language IN ('fr', 'en')),
    -- Folded title and tags, for the list's search box.
    search_key   TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL,
    CONSTRAINT knowledge_entries_gym_fkey FOREIGN KEY (gym_id, franchise_id)
        REFERENCES gyms (id, franchise_id) ON DELETE CASCADE
);
CREATE INDEX knowledge_entries_gym_idx ON knowledge_entries (gym_id, updated_at);

CREATE TABLE knowledge_chunks (
    id              TEXT PRIMARY KEY,
    franchise_id    TEXT NOT NULL,
    gym_id          TEXT NOT NULL,
    entry_id        TEXT NOT NULL
                    CONSTRAINT knowledge_chunks_entry_fkey REFERENCES knowledge_entries (id)
                    ON DELETE CASCADE,
    seq             INTEGER NOT NULL,
    text            TEXT NOT NULL,
    stemmed         TEXT NOT NULL,
    stem_count      INTEGER NOT NULL,
    embedding       BLOB,
    embedding_model TEXT,
    embedded_at     TEXT,
    CONSTRAINT knowledge_chunks_gym_fkey FOREIGN KEY (gym_id, franchise_id)
        REFERENCES gyms (id, franchise_id) ON DELETE CASCADE,
    CONSTRAINT knowledge_chunks_seq_key UNIQUE (entry_id, seq)
);
CREATE INDEX knowledge_chunks_gym_idx ON knowledge_chunks (gym_id, embedding_model);

-- The full-text index of `knowledge_chunks.stemmed`, kept by the triggers below. It stores the
-- chunk id (not the rowid, which VACUUM may renumber on a table without an integer key).
CREATE VIRTUAL TABLE knowledge_chunks_fts USING fts5(
    chunk_id UNINDEXED,
    stemmed,
    tokenize = 'unicode61 remove_diacritics 2'
);
CREATE TRIGGER knowledge_chunks_fts_insert AFTER INSERT ON knowledge_chunks BEGIN
    INSERT INTO knowledge_chunks_fts (chunk_id, stemmed) VALUES (new.id, new.stemmed);
END;
CREATE TRIGGER knowledge_chunks_fts_delete AFTER DELETE ON knowledge_chunks BEGIN
    DELETE FROM knowledge_chunks_fts WHERE chunk_id = old.id;
END;
CREATE TRIGGER knowledge_chunks_fts_update AFTER UPDATE OF stemmed ON knowledge_chunks BEGIN
    DELETE FROM knowledge_chunks_fts WHERE chunk_id = old.id;
    INSERT INTO knowledge_chunks_fts (chunk_id, stemmed) VALUES (new.id, new.stemmed);
END;

-- Every embeddings call made for a gym (indexing its chunks or embedding a question), with its
-- tokens and cost; the cost is also added to the gym's `cost_daily` rollup in the same
-- transaction.
CREATE TABLE knowledge_usage (
    id           TEXT PRIMARY KEY,
    franchise_id TEXT NOT NULL,
    gym_id       TEXT NOT NULL,
    model        TEXT NOT NULL,
    purpose      TEXT NOT NULL CONSTRAINT knowledge_usage_purpose_check
                 CHECK (purpose IN ('index', 'query')),
    input_tokens INTEGER NOT NULL,
    cost_pico    INTEGER,
    created_at   TEXT NOT NULL,
    CONSTRAINT knowledge_usage_gym_fkey FOREIGN KEY (gym_id, franchise_id)
        REFERENCES gyms (id, franchise_id) ON DELETE CASCADE
);
CREATE INDEX knowledge_usage_gym_idx ON knowledge_usage (gym_id, created_at);
