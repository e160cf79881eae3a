-- CSV imports run on the durable job queue (`imports.run`): the uploaded file and its run
-- options wait with the import row, so any instance can run it, and a retry after a crash can
-- start again. Both are wiped when the rows are written or the import ends; the report stays.
-- Same table, so the row's tenant policy (member_imports_tenant) covers them.
ALTER TABLE member_imports ADD COLUMN upload bytea;
ALTER TABLE member_imports ADD COLUMN upload_meta jsonb;
