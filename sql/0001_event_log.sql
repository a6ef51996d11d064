-- The event log: one total order of events, append-only, hash-chained. See docs/event-log.md.

CREATE TABLE events (
    position        bigint      PRIMARY KEY CHECK (position > 0),
    stream_type     text        NOT NULL,
    stream_id       text        NOT NULL,
    stream_version  bigint      NOT NULL CHECK (stream_version > 0),
    event_id        uuid        NOT NULL UNIQUE,
    event_type      text        NOT NULL,
    schema_version  integer     NOT NULL,
    -- Queryable copies; the truth is `canonical`, the exact bytes that were hashed.
    payload         jsonb       NOT NULL,
    metadata        jsonb       NOT NULL,
    recorded_at     timestamptz NOT NULL,
    canonical       bytea       NOT NULL,
    hash            bytea       NOT NULL CHECK (octet_length(hash) = 32),
    UNIQUE (stream_type, stream_id, stream_version)
);

COMMENT ON TABLE events IS 'Concord event log: append-only; position is gap-free and assigned under the append lock.';

-- One row per append that carried an idempotency key: a retry returns this result instead of appending again.
CREATE TABLE append_idempotency (
    idempotency_key text   PRIMARY KEY,
    request_digest  bytea  NOT NULL,
    stream_type     text   NOT NULL,
    stream_id       text   NOT NULL,
    first_position  bigint NOT NULL,
    last_position   bigint NOT NULL,
    first_version   bigint NOT NULL,
    last_version    bigint NOT NULL
);

CREATE FUNCTION refuse_log_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the event log is append-only: % on % is refused', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END;
$$;

CREATE TRIGGER events_append_only BEFORE UPDATE OR DELETE ON events
    FOR EACH ROW EXECUTE FUNCTION refuse_log_change();
CREATE TRIGGER events_no_truncate BEFORE TRUNCATE ON events
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_log_change();
CREATE TRIGGER append_idempotency_append_only BEFORE UPDATE OR DELETE ON append_idempotency
    FOR EACH ROW EXECUTE FUNCTION refuse_log_change();
CREATE TRIGGER append_idempotency_no_truncate BEFORE TRUNCATE ON append_idempotency
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_log_change();

-- Appends one group-commit batch in one statement (one round trip, committed on its own). The writer prepares the
-- batch against what it believes the log holds: the head `expected_head`, the current version of each stream it
-- appends to (`check_*`), and that none of the batch's idempotency keys is stored yet. Under the append lock this
-- function checks all three; if any is wrong (another process appended meanwhile) it writes nothing and returns
-- false, and the writer reads the log and prepares the batch again. Positions, versions and hashes are computed by
-- the writer; the lock makes them the next ones, and holding it until commit makes positions visible in order
-- (docs/event-log.md).
CREATE FUNCTION append_batch(
    expected_head bigint, check_types text[], check_ids text[], check_versions bigint[],
    positions bigint[], stream_types text[], stream_ids text[], stream_versions bigint[], event_ids uuid[],
    event_types text[], schema_versions integer[], payloads jsonb[], metadata jsonb[], recorded_at timestamptz[],
    canonical bytea[], hashes bytea[],
    keys text[], key_digests bytea[], key_stream_types text[], key_stream_ids text[], key_first_positions bigint[],
    key_last_positions bigint[], key_first_versions bigint[], key_last_versions bigint[]
) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(7165066905520333824);  -- the append lock: 'concord\0' as a bigint
    IF (SELECT coalesce(max(e.position), 0) FROM events e) <> expected_head THEN
        RETURN false;
    END IF;
    IF EXISTS (SELECT FROM unnest(check_types, check_ids, check_versions) AS c(type, id, version)
               WHERE (SELECT coalesce(max(e.stream_version), 0) FROM events e
                      WHERE e.stream_type = c.type AND e.stream_id = c.id) <> c.version)
       OR EXISTS (SELECT FROM append_idempotency WHERE idempotency_key = ANY(keys)) THEN
        RETURN false;
    END IF;
    INSERT INTO events (position, stream_type, stream_id, stream_version, event_id, event_type, schema_version,
                        payload, metadata, recorded_at, canonical, hash)
    SELECT * FROM unnest(positions, stream_types, stream_ids, stream_versions, event_ids, event_types,
                         schema_versions, payloads, metadata, recorded_at, canonical, hashes);
    INSERT INTO append_idempotency (idempotency_key, request_digest, stream_type, stream_id, first_position,
                                    last_position, first_version, last_version)
    SELECT * FROM unnest(keys, key_digests, key_stream_types, key_stream_ids, key_first_positions,
                         key_last_positions, key_first_versions, key_last_versions);
    PERFORM pg_notify('concord_events', positions[array_upper(positions, 1)]::text);
    RETURN true;
END;
$$;

-- The service's own role may only read and append. Created here when the migrating role may create roles;
-- otherwise the operator creates it (docs/operations.md).
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'concord_service')
        AND (SELECT rolsuper OR rolcreaterole FROM pg_roles WHERE rolname = current_user) THEN
        CREATE ROLE concord_service LOGIN;
    END IF;
    IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'concord_service') THEN
        GRANT SELECT, INSERT ON events, append_idempotency TO concord_service;
        GRANT SELECT ON schema_migrations TO concord_service;
        GRANT EXECUTE ON FUNCTION append_batch TO concord_service;
    END IF;
END;
$$;
