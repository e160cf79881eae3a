-- Dashboard lists at scale (issue 15, target 4: 100,000 members, 1,000,000 turns). A gym-scoped
-- list filters on gym_id AND franchise_id (the tenant predicate every query adds) and counts
-- every matching row for its pager. With both columns leading, the count reads the index alone
-- (no row lookup per member or call) and the first page comes in index order, without a sort.
-- The older (gym_id, …) indexes stay for the platform scope, which filters on the gym alone.
CREATE INDEX voice_sessions_gym_list_idx ON voice_sessions (gym_id, franchise_id, started_at, id);
CREATE INDEX members_gym_list_idx ON members (gym_id, franchise_id, last_name, first_name, id);
