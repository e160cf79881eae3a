-- Member search that folds case and accents alike on both backends (issue 9, item 10).
-- The key (names both ways, badge, e-mail; lower-cased, accents stripped) is computed in Rust
-- by `jarvis_core::search` on every insert, update and import. Plain SQL cannot compute it, so
-- existing rows start empty and the store fills every empty key right after migrating
-- (`Maintenance::migrate`); a key is never empty once computed (the badge is required).
ALTER TABLE members ADD COLUMN search_key text NOT NULL DEFAULT '';
