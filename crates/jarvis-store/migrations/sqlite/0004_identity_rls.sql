-- Identity tables (issue 9): the password hash leaves `users` for its own table, so tenant
-- views of team profiles never carry it. PostgreSQL also puts row-level security on every
-- table in this step; SQLite has no policies, the SQL's own filters are its wall. Same tables,
-- columns and constraint names as PostgreSQL.

CREATE TABLE user_credentials (
    user_id       TEXT PRIMARY KEY NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    password_hash TEXT NOT NULL,
    updated_at    TEXT NOT NULL
);
INSERT INTO user_credentials (user_id, password_hash, updated_at)
    SELECT id, password_hash, updated_at FROM users WHERE password_hash IS NOT NULL;
ALTER TABLE users DROP COLUMN password_hash;
