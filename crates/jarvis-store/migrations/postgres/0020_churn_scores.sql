-- Churn risk per member (issue 14, item 5): one row per member, replaced by the daily
-- `churn.score` job. `factors` is the JSON explanation (name, value, contribution per factor).
CREATE TABLE churn_scores (
    member_id    uuid PRIMARY KEY REFERENCES members (id) ON DELETE CASCADE,
    franchise_id uuid NOT NULL,
    gym_id       uuid NOT NULL,
    score        integer NOT NULL CONSTRAINT churn_scores_score_check CHECK (score BETWEEN 0 AND 100),
    level        text NOT NULL CONSTRAINT churn_scores_level_check
                 CHECK (level IN ('low', 'medium', 'high')),
    factors      jsonb NOT NULL DEFAULT '[]',
    computed_at  timestamptz NOT NULL,
    CONSTRAINT churn_scores_gym_fkey FOREIGN KEY (gym_id, franchise_id)
        REFERENCES gyms (id, franchise_id) ON DELETE CASCADE
);
CREATE INDEX churn_scores_gym_score_idx ON churn_scores (gym_id, score);

GRANT SELECT, INSERT, UPDATE, DELETE ON churn_scores TO jarvis_app;

ALTER TABLE churn_scores ENABLE ROW LEVEL SECURITY;
ALTER TABLE churn_scores FORCE ROW LEVEL SECURITY;
CREATE POLICY churn_scores_tenant ON churn_scores
    USING (jarvis_row_visible(franchise_id, gym_id))
    WITH CHECK (jarvis_row_visible(franchise_id, gym_id));
