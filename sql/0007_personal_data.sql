-- Personal data protection (docs/audit.md, "Personal data"). Each data subject's personal objects are sealed in
-- the event payloads with the subject's own data key; the key is stored here wrapped (AES-256-GCM) by the master
-- key, which the database never holds. Erasure destroys the wrapped key: the sealed bytes stay in the log, so the
-- hash chain still verifies, but nobody can open them any more.
CREATE TABLE subject_keys (
    subject      text        PRIMARY KEY,
    -- nonce || ciphertext || tag of the 32-byte data key; NULL once erased.
    wrapped_key  bytea,
    created_at   timestamptz NOT NULL DEFAULT now(),
    erased_at    timestamptz,
    CHECK ((wrapped_key IS NULL) = (erased_at IS NOT NULL))
);

COMMENT ON TABLE subject_keys IS 'Concord data keys, one per data subject, wrapped by the master key; NULL once erased.';

-- A value sealed with the master key the first time a process starts with one, so that a process started with
-- another key refuses to start instead of sealing new data under a key nobody else has.
CREATE TABLE master_key_probe (
    id          integer     PRIMARY KEY CHECK (id = 1),
    probe       bytea       NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);

DO $$
BEGIN
    IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'concord_service') THEN
        GRANT SELECT, INSERT ON subject_keys, master_key_probe TO concord_service;
        GRANT UPDATE (wrapped_key, erased_at) ON subject_keys TO concord_service;
    END IF;
END;
$$;
