-- A subject's data key, made when it has none: one round trip, and no wait for a disk flush of its own. The key
-- row is committed with synchronous_commit off: the event whose details it seals is appended afterwards with a
-- synchronous commit, and flushing that commit flushes every earlier WAL record, this one included. So a durable
-- event never refers to a key that was lost, and lodging does not pay one extra flush per case.
-- Answers the wrapped key, or NULL when the subject's key was destroyed (erased).
CREATE FUNCTION concord_data_key(subject text, wrapped bytea) RETURNS bytea
LANGUAGE plpgsql AS $$
DECLARE
    found bytea;
BEGIN
    PERFORM set_config('synchronous_commit', 'off', true);
    INSERT INTO subject_keys (subject, wrapped_key) VALUES (concord_data_key.subject, concord_data_key.wrapped)
    ON CONFLICT ON CONSTRAINT subject_keys_pkey DO NOTHING;
    -- A new snapshot: sees the row this call made, or the one a concurrent call committed first.
    SELECT k.wrapped_key INTO found FROM subject_keys k WHERE k.subject = concord_data_key.subject;
    RETURN found;
END;
$$;

DO $$
BEGIN
    IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'concord_service') THEN
        GRANT EXECUTE ON FUNCTION concord_data_key TO concord_service;
    END IF;
END;
$$;
