-- A completed referral's service outcome in the `cases` projection: `delivered`, or the code of why not
-- (client_refused, lack_of_capacity, no_longer_needed, unable_to_contact_client, provider_unreachable, other), for the
-- share of successful referrals in the indicators (docs/projections.md). Wrapped as 0017 wraps, so the two compose
-- in either order. Rows of referrals completed before this migration get the column at the next rebuild
-- (`concord projections rebuild`, docs/operations.md).

ALTER FUNCTION create_projection_tables(text) RENAME TO create_projection_tables_before_0016;

CREATE FUNCTION create_projection_tables(target text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    PERFORM create_projection_tables_before_0016(target);
    EXECUTE format('ALTER TABLE %I.cases ADD COLUMN service_outcome text', target);
END;
$$;

ALTER TABLE projection.cases ADD COLUMN service_outcome text;

ALTER FUNCTION upsert_cases(text, jsonb) RENAME TO upsert_cases_before_0016;

-- Rows carry `service_outcome` only once the referral is completed: only those rows take a second write.
CREATE FUNCTION upsert_cases(target text, rows jsonb) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    PERFORM upsert_cases_before_0016(target, rows);
    EXECUTE format($q$
        UPDATE %I.cases AS c SET service_outcome = r.service_outcome
        FROM jsonb_to_recordset($1) AS r(kind text, id text, service_outcome text)
        WHERE c.kind = r.kind AND c.id = r.id AND r.service_outcome IS NOT NULL
        $q$, target) USING rows;
END;
$$;

DO $$
BEGIN
    IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'concord_service') THEN
        GRANT EXECUTE ON FUNCTION upsert_cases(text, jsonb), upsert_cases_before_0016(text, jsonb)
            TO concord_service;
    END IF;
END;
$$;
