-- A subject's data key is now committed with a flush of its own (migration 0008 turned synchronous_commit off).
-- 0008 relied on the event's later synchronous commit to flush the key's WAL record first; that holds only when
-- both commit on the same server run. Under a crash between the two (the key lost with the unflushed WAL), an
-- append queued across the restart committed an event sealed under a key that no longer existed: its personal
-- data could never be opened again. Found by scripts/faults.py (PostgreSQL restarted with -m immediate).
CREATE OR REPLACE FUNCTION concord_data_key(subject text, wrapped bytea, key_id text) RETURNS bytea
LANGUAGE plpgsql AS $$
DECLARE
    found bytea;
BEGIN
    IF NOT EXISTS (SELECT FROM master_key_probe p WHERE p.id = 1 AND p.key_id = concord_data_key.key_id) THEN
        RAISE EXCEPTION 'the master key was rotated: restart this process with the current master key'
            USING ERRCODE = 'CN001';
    END IF;
    INSERT INTO subject_keys (subject, wrapped_key) VALUES (concord_data_key.subject, concord_data_key.wrapped)
    ON CONFLICT ON CONSTRAINT subject_keys_pkey DO NOTHING;
    -- A new snapshot: sees the row this call made, or the one a concurrent call committed first.
    SELECT k.wrapped_key INTO found FROM subject_keys k WHERE k.subject = concord_data_key.subject;
    RETURN found;
END;
$$;
