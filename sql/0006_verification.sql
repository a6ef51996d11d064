-- Verification: whether an event's queryable copies (payload, metadata, recorded_at) say what its canonical bytes
-- say. Checked in the database so that `concord audit verify` does not parse each payload twice in the client,
-- and the two run on different cores. Canonical bytes that are not JSON at all make it false, never an error, so
-- that verification names the position instead of stopping.
CREATE FUNCTION concord_copies_match(canonical bytea, payload jsonb, metadata jsonb, recorded_at timestamptz)
    RETURNS boolean LANGUAGE plpgsql STABLE AS $$
DECLARE
    record jsonb;
BEGIN
    record := convert_from(canonical, 'UTF8')::jsonb;
    RETURN payload = record -> 'payload' AND metadata = record -> 'metadata'
        AND recorded_at = (record ->> 'recorded_at')::timestamptz;
EXCEPTION WHEN others THEN
    RETURN false;
END;
$$;

-- An auditor's look-up of one case's events by its id (a tracking code names one stream, whatever its type).
CREATE INDEX events_stream_id ON events (stream_id);

DO $$
BEGIN
    IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'concord_service') THEN
        GRANT EXECUTE ON FUNCTION concord_copies_match TO concord_service;
    END IF;
END;
$$;
