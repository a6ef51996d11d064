-- Verification: whether an event's queryable copies (payload, metadata, recorded_at) say what its canonical bytes
-- say. Checked in the database so that `concord audit verify` does not parse each payload twice in the client,
-- and the two run on different cores.

-- The comparison itself; an error (not false) when the canonical bytes are not UTF-8 JSON.
CREATE FUNCTION concord_copies_agree(canonical bytea, payload jsonb, metadata jsonb, recorded_at timestamptz)
    RETURNS boolean LANGUAGE sql STABLE
    RETURN coalesce((SELECT payload = c -> 'payload' AND metadata = c -> 'metadata'
                            AND recorded_at = (c ->> 'recorded_at')::timestamptz
                     FROM (SELECT convert_from(canonical, 'UTF8')::jsonb AS c) AS parsed), false);

-- The same, but false for bytes that are not JSON, so that verification names the position instead of stopping:
-- a subtransaction per call, so used only for a page whose bytes made the first one fail.
CREATE FUNCTION concord_copies_match(canonical bytea, payload jsonb, metadata jsonb, recorded_at timestamptz)
    RETURNS boolean LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN concord_copies_agree(canonical, payload, metadata, recorded_at);
EXCEPTION WHEN others THEN
    RETURN false;
END;
$$;

-- An auditor's look-up of one case's events by its id (a tracking code names one stream, whatever its type).
CREATE INDEX events_stream_id ON events (stream_id);

DO $$
BEGIN
    IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'concord_service') THEN
        GRANT EXECUTE ON FUNCTION concord_copies_agree, concord_copies_match TO concord_service;
    END IF;
END;
$$;
