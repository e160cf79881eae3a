-- Row-level security evaluated once per statement (issue 15, the pager's total at scale).
--
-- Every tenant policy called jarvis_row_visible(f, g) per row, which read current_setting three
-- times and cast text to uuid per row: a COUNT(*) over a gym's 180,000 calls spent most of its
-- time in the policy. This rewrites each policy's USING / WITH CHECK expression in place
-- (ALTER POLICY: same name, table, command, roles and permissiveness) so that:
--   jarvis_row_visible(f, g)  becomes the function's own body, inlined, with every
--   jarvis_scope() / jarvis_franchise() / jarvis_gym() / jarvis_user()  call written as a
--   scalar sub-select  (SELECT jarvis_scope())  and so on.
-- A sub-select without references to the row is an InitPlan: computed once per statement, then
-- compared per row as a parameter. The CASE is the function's body verbatim, so visibility is
-- exactly the same, NULLs included (the settings are set per transaction, never mid-statement).
--
-- New policies should be written in this form directly; jarvis_row_visible stays for them to
-- read as the definition.
DO $$
DECLARE
    p record;
    q text;
    c text;
    visible constant text :=
        '(CASE (SELECT jarvis_scope())'
        ' WHEN ''platform'' THEN true'
        ' WHEN ''franchise'' THEN \1 IS NOT NULL AND \1 = (SELECT jarvis_franchise())'
        ' WHEN ''gym'' THEN \2 IS NOT NULL AND \2 = (SELECT jarvis_gym()) AND \1 = (SELECT jarvis_franchise())'
        ' ELSE false END)';
BEGIN
    FOR p IN
        SELECT schemaname, tablename, policyname, qual, with_check
        FROM pg_policies
        WHERE schemaname = current_schema()
          AND (qual ~ 'jarvis_(scope|franchise|gym|user|row_visible)\('
               OR with_check ~ 'jarvis_(scope|franchise|gym|user|row_visible)\(')
    LOOP
        q := p.qual;
        c := p.with_check;
        -- First the bare context functions, then jarvis_row_visible (whose replacement already
        -- uses sub-selects).
        q := regexp_replace(q, '\m(jarvis_(scope|franchise|gym|user))\(\)', '(SELECT \1())', 'g');
        c := regexp_replace(c, '\m(jarvis_(scope|franchise|gym|user))\(\)', '(SELECT \1())', 'g');
        q := regexp_replace(q, '\mjarvis_row_visible\(([a-z_]+), ([a-z_]+)\)', visible, 'g');
        c := regexp_replace(c, '\mjarvis_row_visible\(([a-z_]+), ([a-z_]+)\)', visible, 'g');
        IF q ~ 'jarvis_row_visible' OR c ~ 'jarvis_row_visible' THEN
            RAISE EXCEPTION 'policy % on % has a jarvis_row_visible call this migration cannot rewrite',
                p.policyname, p.tablename;
        END IF;
        IF q IS NOT NULL AND c IS NOT NULL THEN
            EXECUTE format('ALTER POLICY %I ON %I.%I USING (%s) WITH CHECK (%s)',
                           p.policyname, p.schemaname, p.tablename, q, c);
        ELSIF q IS NOT NULL THEN
            EXECUTE format('ALTER POLICY %I ON %I.%I USING (%s)',
                           p.policyname, p.schemaname, p.tablename, q);
        ELSE
            EXECUTE format('ALTER POLICY %I ON %I.%I WITH CHECK (%s)',
                           p.policyname, p.schemaname, p.tablename, c);
        END IF;
    END LOOP;
END
$$;
