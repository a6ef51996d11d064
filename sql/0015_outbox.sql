-- The outbox (docs/operations.md, "SMS and USSD"): the messages Concord must send, decided from the log by the
-- outbox follower, and sent at least once by the one process holding the projection lease. A message's id is
-- derived from the event that called for it, so deciding twice (a restart, a replay of the log) adds nothing; it
-- is also the idempotency key given to gateways that take one. What was sent, delivered or failed is recorded in
-- the log as an event of the case; this table only schedules the work. It holds no personal data of a case: the
-- number and the text are taken from the case (opened with the person's key) at the moment of sending. A reply to
-- an SMS or USSD question (`STATUS <code>`) keeps the asker's number in `reply_to` until it is sent, then drops it.
CREATE TABLE outbox_messages (
    id                 text        PRIMARY KEY,
    stream_type        text,
    stream_id          text,
    purpose            text        NOT NULL,
    -- 'complainant', 'programme:<code>', 'area:<code>', or 'reply' (to reply_to)
    recipient          text        NOT NULL,
    language           text        NOT NULL,
    -- what the template needs besides the case (tracking code, due date, outcome, status words): no personal data
    params             jsonb       NOT NULL DEFAULT '{}',
    reply_to           text,
    status             text        NOT NULL DEFAULT 'pending'
                                   CHECK (status IN ('pending', 'sent', 'delivered', 'failed', 'dropped')),
    attempts           integer     NOT NULL DEFAULT 0,
    next_attempt_at    timestamptz NOT NULL DEFAULT now(),
    gateway            text,
    gateway_message_id text,
    last_error         text,
    -- whether the outcome (sent or failed) is recorded in the log yet: set after the event is appended
    recorded           boolean     NOT NULL DEFAULT false,
    source_position    bigint,
    created_at         timestamptz NOT NULL DEFAULT now(),
    sent_at            timestamptz
);

CREATE INDEX outbox_messages_due ON outbox_messages (next_attempt_at) WHERE status = 'pending';
CREATE INDEX outbox_messages_gateway_id ON outbox_messages (gateway, gateway_message_id);

-- How far the outbox follower has read the log.
CREATE TABLE outbox_checkpoint (
    name     text   PRIMARY KEY,
    position bigint NOT NULL
);

CREATE INDEX outbox_messages_unrecorded ON outbox_messages (id) WHERE status IN ('sent', 'failed') AND NOT recorded;

-- An existing log starts the outbox at its head: upgrading does not message people about cases of the past.
INSERT INTO outbox_checkpoint (name, position) SELECT 'outbox', COALESCE(max(position), 0) FROM events;

COMMENT ON TABLE outbox_messages IS 'Concord: messages to send (SMS), decided from the log; outcomes are events of the cases.';

DO $$
BEGIN
    IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'concord_service') THEN
        GRANT SELECT, INSERT, UPDATE, DELETE ON outbox_messages, outbox_checkpoint TO concord_service;
    END IF;
END;
$$;
