-- CSV imports run on the durable job queue (`imports.run`): the uploaded file and its run
-- options wait with the import row, so any instance can run it, and a retry after a crash can
-- start again. Both are wiped when the rows are written or the import ends; the report stays.
ALTER TABLE member_imports ADD COLUMN upload BLOB;
ALTER TABLE member_imports ADD COLUMN upload_meta TEXT;
