-- Projections: tables derived from the event log, dropped and rebuilt from it at will (docs/projections.md).
-- They live in the schema `projection`; `concord projections rebuild` builds a fresh copy in `projection_rebuild`
-- and swaps the two, so the service keeps answering from the old tables meanwhile. One function creates the tables
-- in either schema, so both copies always have the same shape.

-- Times in the projection rows travel as microseconds since the Unix epoch (exact, like the log's timestamps).
CREATE FUNCTION concord_time(microseconds bigint) RETURNS timestamptz
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN timestamptz 'epoch' + microseconds * interval '1 microsecond';

CREATE FUNCTION concord_microseconds(t timestamptz) RETURNS bigint
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN (extract(epoch FROM t) * 1000000)::bigint;

CREATE FUNCTION create_projection_tables(target text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format('DROP SCHEMA IF EXISTS %I CASCADE', target);
    EXECUTE format('CREATE SCHEMA %I', target);
    -- How far each projection has applied the log: updated in the same transaction as its tables.
    EXECUTE format($t$
        CREATE TABLE %I.checkpoints (
            name        text        PRIMARY KEY,
            position    bigint      NOT NULL CHECK (position >= 0),
            updated_at  timestamptz NOT NULL DEFAULT now()
        )$t$, target);
    EXECUTE format('INSERT INTO %I.checkpoints (name, position) VALUES (%L, 0)', target, 'cases');
    -- One row per complaint, appeal and referral: the CaseSummary of its current state. `overdue` is not stored:
    -- it is `loop <> 'closed' AND due_at < now`, with now from the service's clock.
    EXECUTE format($t$
        CREATE TABLE %I.cases (
            kind                      text        NOT NULL,
            id                        text        NOT NULL,
            status                    text        NOT NULL,
            programme                 text,
            office                    text        NOT NULL,
            area                      text,
            lodging_area              text,
            category                  text,
            channel                   text,
            priority                  text        NOT NULL,
            sensitive                 boolean     NOT NULL,
            escalation_level          integer     NOT NULL,
            overdue_escalated_due_at  timestamptz,
            opened_at                 timestamptz NOT NULL,
            status_since              timestamptz NOT NULL,
            loop                      text        NOT NULL CHECK (loop IN ('open', 'awaiting_feedback', 'closed')),
            loop_since                timestamptz NOT NULL,
            next_step                 text,
            waiting_on_kind           text,
            waiting_on                text,
            due_at                    timestamptz,
            acknowledged_at           timestamptz,
            acknowledge_due_at        timestamptz,
            answered_at               timestamptz,
            answer_due_at             timestamptz,
            outcome                   text,
            feedback_at               timestamptz,
            loop_closed_at            timestamptz,
            version                   bigint      NOT NULL,
            position                  bigint      NOT NULL,
            PRIMARY KEY (kind, id)
        )$t$, target);
    -- A programme's queue: what waits for it, by due time.
    EXECUTE format($t$CREATE INDEX ON %I.cases
                      (waiting_on, coalesce(concord_microseconds(due_at), 9223372036854775807), kind, id)
                      WHERE loop <> 'closed'$t$, target);
    -- An office's cases, newest first.
    EXECUTE format('CREATE INDEX ON %I.cases (office, opened_at)', target);
    -- Open loops and the overdue sweep.
    EXECUTE format('CREATE INDEX ON %I.cases (due_at) WHERE loop <> %L', target, 'closed');
    EXECUTE format('CREATE INDEX ON %I.cases (opened_at)', target);
    -- The area tree as pairs (area, each area at or above it): subtree filters and roll-ups are one join.
    EXECUTE format($t$
        CREATE TABLE %I.area_ancestors (
            area            text    NOT NULL,
            ancestor        text    NOT NULL,
            ancestor_level  text    NOT NULL,
            depth           integer NOT NULL,
            PRIMARY KEY (ancestor, area)
        )$t$, target);
    EXECUTE format('CREATE INDEX ON %I.area_ancestors (area)', target);
    IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'concord_service') THEN
        EXECUTE format('GRANT USAGE ON SCHEMA %I TO concord_service', target);
        EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA %I TO concord_service', target);
    END IF;
END;
$$;

SELECT create_projection_tables('projection');

-- Writes (or replaces) a batch of case rows given as a JSON array of CaseSummary rows: one statement per batch.
CREATE FUNCTION upsert_cases(target text, rows jsonb) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format($q$
        INSERT INTO %I.cases AS c
        SELECT r.kind, r.id, r.status, r.programme, r.office, r.area, r.lodging_area, r.category, r.channel,
               r.priority, r.sensitive, r.escalation_level, concord_time(r.overdue_escalated_due_at),
               concord_time(r.opened_at), concord_time(r.status_since), r.loop, concord_time(r.loop_since),
               r.next_step, r.waiting_on_kind, r.waiting_on, concord_time(r.due_at), concord_time(r.acknowledged_at),
               concord_time(r.acknowledge_due_at), concord_time(r.answered_at), concord_time(r.answer_due_at),
               r.outcome, concord_time(r.feedback_at), concord_time(r.loop_closed_at), r.version, r.position
        FROM jsonb_to_recordset($1) AS r(
            kind text, id text, status text, programme text, office text, area text, lodging_area text,
            category text, channel text, priority text, sensitive boolean, escalation_level integer,
            overdue_escalated_due_at bigint, opened_at bigint, status_since bigint, loop text, loop_since bigint,
            next_step text, waiting_on_kind text, waiting_on text, due_at bigint, acknowledged_at bigint,
            acknowledge_due_at bigint, answered_at bigint, answer_due_at bigint, outcome text, feedback_at bigint,
            loop_closed_at bigint, version bigint, position bigint)
        ON CONFLICT (kind, id) DO UPDATE SET
            status = EXCLUDED.status, programme = EXCLUDED.programme, office = EXCLUDED.office,
            area = EXCLUDED.area, lodging_area = EXCLUDED.lodging_area, category = EXCLUDED.category,
            channel = EXCLUDED.channel, priority = EXCLUDED.priority, sensitive = EXCLUDED.sensitive,
            escalation_level = EXCLUDED.escalation_level,
            overdue_escalated_due_at = EXCLUDED.overdue_escalated_due_at, opened_at = EXCLUDED.opened_at,
            status_since = EXCLUDED.status_since, loop = EXCLUDED.loop, loop_since = EXCLUDED.loop_since,
            next_step = EXCLUDED.next_step, waiting_on_kind = EXCLUDED.waiting_on_kind,
            waiting_on = EXCLUDED.waiting_on, due_at = EXCLUDED.due_at, acknowledged_at = EXCLUDED.acknowledged_at,
            acknowledge_due_at = EXCLUDED.acknowledge_due_at, answered_at = EXCLUDED.answered_at,
            answer_due_at = EXCLUDED.answer_due_at, outcome = EXCLUDED.outcome, feedback_at = EXCLUDED.feedback_at,
            loop_closed_at = EXCLUDED.loop_closed_at, version = EXCLUDED.version, position = EXCLUDED.position
        $q$, target) USING rows;
END;
$$;

-- Applies one batch of a projection in one statement (one round trip, atomic on its own or inside the caller's
-- transaction): checks that the checkpoint is still at `expected` (false, and nothing written, when another writer
-- moved it), writes the rows, replaces the area closure when given, moves the checkpoint to `reached` and notifies
-- `concord_projection` (delivered at commit).
CREATE FUNCTION apply_cases(target text, expected bigint, reached bigint, rows jsonb, areas jsonb)
    RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE
    found bigint;
BEGIN
    EXECUTE format('SELECT position FROM %I.checkpoints WHERE name = %L FOR UPDATE', target, 'cases') INTO found;
    IF found IS DISTINCT FROM expected THEN
        RETURN false;
    END IF;
    IF jsonb_array_length(rows) > 0 THEN
        PERFORM upsert_cases(target, rows);
    END IF;
    IF areas IS NOT NULL THEN
        EXECUTE format('DELETE FROM %I.area_ancestors', target);
        EXECUTE format($q$
            INSERT INTO %I.area_ancestors (area, ancestor, ancestor_level, depth)
            SELECT area, ancestor, level, depth
            FROM jsonb_to_recordset($1) AS r(area text, ancestor text, level text, depth integer)
            $q$, target) USING areas;
    END IF;
    EXECUTE format('UPDATE %I.checkpoints SET position = $1, updated_at = now() WHERE name = %L', target, 'cases')
        USING reached;
    PERFORM pg_notify('concord_projection', reached::text);
    RETURN true;
END;
$$;

DO $$
BEGIN
    IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'concord_service') THEN
        GRANT EXECUTE ON FUNCTION apply_cases TO concord_service;
        GRANT EXECUTE ON FUNCTION upsert_cases, concord_time, concord_microseconds TO concord_service;
    END IF;
END;
$$;
