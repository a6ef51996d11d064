-- Bearer API tokens: who may call the HTTP API, in which role, acting for which office, programme or area.
-- See docs/operations.md ("API tokens").

CREATE TABLE api_tokens (
    id          uuid        PRIMARY KEY,
    -- SHA-256 of the secret, never the secret itself: a copy of this table does not let anyone call the API. The
    -- secret has 256 random bits, so a plain (unsalted) hash cannot be guessed back, and the service can find the
    -- token by it with one index lookup.
    token_hash  bytea       NOT NULL UNIQUE CHECK (octet_length(token_hash) = 32),
    role        text        NOT NULL CHECK (role IN ('office', 'programme', 'coordinator', 'auditor', 'admin')),
    -- The office, programme or area code the token acts for. Offices, programmes and coordinators see only their
    -- own part of the data, so they must have one; auditors and admins act for the whole system, so they must not.
    scope       text        CHECK (scope <> ''),
    label       text,
    created_at  timestamptz NOT NULL DEFAULT now(),
    -- Set once by `concord token revoke`; a revoked token no longer authenticates. Kept, not deleted, so that the
    -- `token:<id>` actor in old events can still be looked up.
    revoked_at  timestamptz,
    CONSTRAINT api_tokens_scope_matches_role
        CHECK ((role IN ('office', 'programme', 'coordinator')) = (scope IS NOT NULL))
);

COMMENT ON TABLE api_tokens IS 'Concord API tokens: SHA-256 of each secret, role and scope; revoked, not deleted.';

-- The service only authenticates callers, so it may only read tokens: even a compromised service cannot mint a
-- token or revive a revoked one. Tokens are created and revoked by `concord token`, which connects as the owner.
DO $$
BEGIN
    IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'concord_service') THEN
        GRANT SELECT ON api_tokens TO concord_service;
    END IF;
END;
$$;
