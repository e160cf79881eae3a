-- PostgreSQL only: its row-level security policies are rewritten to evaluate the tenant context
-- once per statement. SQLite has no row-level security (tenant scoping is in the queries), so
-- this number is a no-op here, kept so both backends have the same migrations.
SELECT 1;
