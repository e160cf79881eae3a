-- Public demo page (issue 13, item 4): a visitor's call from `/demo` runs in the demo gym as the
-- demo visitor and is flagged, so it is counted and costed apart from members' calls (the
-- overview leaves it out) and the month's demo spend can be capped platform-wide.
ALTER TABLE voice_sessions ADD COLUMN demo BOOLEAN NOT NULL DEFAULT FALSE;
-- The month's demo spend reads only the demo rows.
CREATE INDEX voice_sessions_demo_idx ON voice_sessions (started_at) WHERE demo;
