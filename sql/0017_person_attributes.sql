-- The person's optional, non-identifying attributes (sex, age group, disability) in the `cases` projection, for
-- the indicators' breakdowns (docs/projections.md). The earlier table and upsert functions are kept under new
-- names and wrapped, so that this migration composes with other migrations that changed them before it.

ALTER FUNCTION create_projection_tables(text) RENAME TO create_projection_tables_before_0017;

CREATE FUNCTION create_projection_tables(target text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    PERFORM create_projection_tables_before_0017(target);
    EXECUTE format($t$
        ALTER TABLE %I.cases
            ADD COLUMN sex         text CHECK (sex IN ('female', 'male', 'other', 'not_stated')),
            ADD COLUMN age_group   text CHECK (age_group IN ('0-17', '18-24', '25-59', '60+')),
            ADD COLUMN disability  text CHECK (disability IN ('yes', 'no', 'not_stated'))
        $t$, target);
END;
$$;

-- The live tables, as the new function would have made them.
ALTER TABLE projection.cases
    ADD COLUMN sex         text CHECK (sex IN ('female', 'male', 'other', 'not_stated')),
    ADD COLUMN age_group   text CHECK (age_group IN ('0-17', '18-24', '25-59', '60+')),
    ADD COLUMN disability  text CHECK (disability IN ('yes', 'no', 'not_stated'));

ALTER FUNCTION upsert_cases(text, jsonb) RENAME TO upsert_cases_before_0017;

-- Rows carry `sex`, `age_group` and `disability` only when recorded (they never change after the case is opened):
-- only those rows take a second write.
CREATE FUNCTION upsert_cases(target text, rows jsonb) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    PERFORM upsert_cases_before_0017(target, rows);
    EXECUTE format($q$
        UPDATE %I.cases AS c SET sex = r.sex, age_group = r.age_group, disability = r.disability
        FROM jsonb_to_recordset($1) AS r(kind text, id text, sex text, age_group text, disability text)
        WHERE c.kind = r.kind AND c.id = r.id
          AND (r.sex IS NOT NULL OR r.age_group IS NOT NULL OR r.disability IS NOT NULL)
        $q$, target) USING rows;
END;
$$;

DO $$
BEGIN
    IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'concord_service') THEN
        GRANT EXECUTE ON FUNCTION upsert_cases(text, jsonb), upsert_cases_before_0017(text, jsonb)
            TO concord_service;
    END IF;
END;
$$;
