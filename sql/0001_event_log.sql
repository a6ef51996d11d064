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
    END IF;
END;
$$;
