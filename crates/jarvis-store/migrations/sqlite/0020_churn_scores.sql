-- Churn risk per member (issue 14, item 5): one row per member, replaced by the daily
-- `churn.score` job. `factors` is the JSON explanation (name, value, contribution per factor).
-- Same table, columns and constraint names as the PostgreSQL migration.
CREATE TABLE churn_scores (
    member_id    TEXT PRIMARY KEY NOT NULL REFERENCES members (id) ON DELETE CASCADE,
    franchise_id TEXT NOT NULL,
    gym_id       TEXT NOT NULL,
    score        INTEGER NOT NULL CONSTRAINT churn_scores_score_check CHECK (score BETWEEN 0 AND 100),
    level        TEXT NOT NULL CONSTRAINT churn_scores_level_check
                 CHECK (level IN ('low', 'medium', 'high')),
    factors      TEXT NOT NULL DEFAULT '[]',
    computed_at  TEXT NOT NULL,
    CONSTRAINT churn_scores_gym_fkey FOREIGN KEY (gym_id, franchise_id)
        REFERENCES gyms (id, franchise_id) ON DELETE CASCADE
);
CREATE INDEX churn_scores_gym_score_idx ON churn_scores (gym_id, score);
