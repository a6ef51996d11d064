-- Which master key wraps the data keys: an id (the first 16 hex digits of SHA-256 of the key) beside the probe,
-- so that a process still running with a rotated-out key cannot make new data keys nobody could open later.
ALTER TABLE master_key_probe ADD COLUMN key_id text;

-- A subject's data key, made when it has none: one round trip, and no wait for a disk flush of its own. The key
-- row is committed with synchronous_commit off: the event whose details it seals is appended afterwards, in its
-- own transaction, with a synchronous commit, and flushing that commit flushes every earlier WAL record, this
-- one included. So a durable event never refers to a key that was lost. Call it in its own (autocommit)
-- transaction at READ COMMITTED only: inside the append's transaction the events would commit unflushed, and
-- under REPEATABLE READ the second SELECT could not see a key a concurrent call committed first.
-- Answers the wrapped key, or NULL when the subject's key was destroyed (erased).
CREATE FUNCTION concord_data_key(subject text, wrapped bytea, key_id text) RETURNS bytea
LANGUAGE plpgsql AS $$
DECLARE
    found bytea;
BEGIN
    IF NOT EXISTS (SELECT FROM master_key_probe p WHERE p.id = 1 AND p.key_id = concord_data_key.key_id) THEN
        RAISE EXCEPTION 'the master key was rotated: restart this process with the current master key'
            USING ERRCODE = 'CN001';
    END IF;
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
        -- A probe written before this migration gets its key id from the first process that opens it.
        GRANT UPDATE (key_id) ON master_key_probe TO concord_service;
    END IF;
END;
$$;
