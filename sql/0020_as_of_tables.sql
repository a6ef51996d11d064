-- Past-state projections for auditors over HTTP (`GET /v1/audit/as-of`). The service role may not create schemas;
-- these two functions do it for it, as the owner, and only for schemas named `projection_as_of_<digits>`, so the
-- service can build and drop a throwaway copy of the projection tables and nothing else. The search path is fixed
-- at creation, so a caller's own search path cannot redirect what runs with the owner's rights.
CREATE FUNCTION create_as_of_tables(target text) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
BEGIN
    IF target !~ '^projection_as_of_[0-9]{1,10}$' THEN
        RAISE EXCEPTION 'not an as-of schema name: %', target USING ERRCODE = 'CN002';
    END IF;
    PERFORM create_projection_tables(target);
END;
$$;

CREATE FUNCTION drop_as_of_tables(target text) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
BEGIN
    IF target !~ '^projection_as_of_[0-9]{1,10}$' THEN
        RAISE EXCEPTION 'not an as-of schema name: %', target USING ERRCODE = 'CN002';
    END IF;
    EXECUTE format('DROP SCHEMA IF EXISTS %I CASCADE', target);
END;
$$;

REVOKE ALL ON FUNCTION create_as_of_tables, drop_as_of_tables FROM PUBLIC;

DO $$
BEGIN
    IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'concord_service') THEN
        GRANT EXECUTE ON FUNCTION create_as_of_tables, drop_as_of_tables TO concord_service;
    END IF;
END;
$$;
