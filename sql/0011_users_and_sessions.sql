-- People with accounts (users), their sign-in sessions, and the sign-in failures counted per login. Every node of
-- the service reads and writes these tables, so that a session made on one node works on all, and a sign-out or a
-- deactivation ends it everywhere (the notifications below empty every node's credential cache).
-- See docs/operations.md ("Users and sessions").

CREATE TABLE users (
    id            uuid        PRIMARY KEY,
    -- Shown as typed; unique without regard to case (users_login_key below). Never changes: events name it.
    login         text        NOT NULL CHECK (login ~ '^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$'),
    display_name  text        NOT NULL CHECK (display_name <> '' AND length(display_name) <= 200),
    -- Checked by the binary against its roles (a new role then needs no migration); the same role and scope rules
    -- as api_tokens otherwise.
    role          text        NOT NULL CHECK (role ~ '^[a-z_]{1,32}$'),
    scope         text        CHECK (scope <> ''),
    focal_point   boolean     NOT NULL DEFAULT false,
    active        boolean     NOT NULL DEFAULT true,
    -- bcrypt ($2b$), never the password.
    password_hash text        NOT NULL CHECK (password_hash LIKE '$2%'),
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT users_scope_is_not_for_the_whole_system CHECK (role NOT IN ('auditor', 'admin') OR scope IS NULL),
    CONSTRAINT users_scope_for_a_part CHECK (role NOT IN ('office', 'programme', 'coordinator') OR scope IS NOT NULL),
    CONSTRAINT users_focal_point_is_a_programme CHECK (NOT focal_point OR role = 'programme')
);

CREATE UNIQUE INDEX users_login_key ON users (lower(login));

COMMENT ON TABLE users IS 'Concord users: login, name, role, scope, bcrypt hash; deactivated, never deleted.';

-- Only the SHA-256 of a session's secret is stored, like api_tokens: a copy of this table signs nobody in.
CREATE TABLE sessions (
    id           uuid        PRIMARY KEY,
    secret_hash  bytea       NOT NULL UNIQUE CHECK (octet_length(secret_hash) = 32),
    user_id      uuid        NOT NULL REFERENCES users (id),
    created_at   timestamptz NOT NULL DEFAULT now(),
    -- Idle expiry counts from here; moved on (about once a minute) while the session is used.
    last_seen_at timestamptz NOT NULL DEFAULT now(),
    -- Absolute expiry: the session ends then, used or not.
    expires_at   timestamptz NOT NULL,
    -- Signed out, or ended by a deactivation or a password reset.
    ended_at     timestamptz
);

CREATE INDEX sessions_user ON sessions (user_id) WHERE ended_at IS NULL;

-- Failed sign-ins per login as typed (lowercased), known or not: an unknown login is slowed and locked exactly as
-- a known one, so that the answers never tell whether a login exists.
CREATE TABLE sign_in_failures (
    login_key       text        PRIMARY KEY,
    failures        integer     NOT NULL CHECK (failures > 0),
    last_failure_at timestamptz NOT NULL,
    locked_until    timestamptz
);

-- Machines' API tokens: who owns them and when they stop working (a year unless `concord token create` says
-- otherwise). Existing tokens get a year from now.
ALTER TABLE api_tokens ADD COLUMN owner text CHECK (owner <> '');
ALTER TABLE api_tokens ADD COLUMN expires_at timestamptz NOT NULL DEFAULT now() + interval '365 days';

-- A change to a user (deactivation, role, scope, password) or the end of a session empties every node's cache of
-- credentials, through the channel api_tokens already notifies (migration 0009). Moving last_seen_at does not.
CREATE TRIGGER users_changed AFTER UPDATE OR DELETE OR TRUNCATE ON users
    FOR EACH STATEMENT EXECUTE FUNCTION concord_tokens_changed();

CREATE FUNCTION concord_session_ended() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('concord_tokens', '');
    RETURN NULL;
END;
$$;

CREATE TRIGGER sessions_ended AFTER UPDATE ON sessions
    FOR EACH ROW WHEN (OLD.ended_at IS DISTINCT FROM NEW.ended_at OR OLD.expires_at IS DISTINCT FROM NEW.expires_at)
    EXECUTE FUNCTION concord_session_ended();

CREATE TRIGGER sessions_deleted AFTER DELETE OR TRUNCATE ON sessions
    FOR EACH STATEMENT EXECUTE FUNCTION concord_tokens_changed();

-- The service manages users for admins (over the API), signs people in and out and counts failures. Tokens stay
-- read-only to it (migration 0002): machines' tokens are made by operators with `concord token`.
DO $$
BEGIN
    IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'concord_service') THEN
        GRANT SELECT, INSERT, UPDATE ON users TO concord_service;
        GRANT SELECT, INSERT, UPDATE, DELETE ON sessions, sign_in_failures TO concord_service;
    END IF;
END;
$$;
