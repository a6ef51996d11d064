-- Webhook subscriptions: partner systems and programmes told of the case events they may read, signed as the
-- Standard Webhooks specification says. See docs/api.md ("Webhooks"). The dispatcher follows the log from each
-- subscription's position, under the projection lease (one sender across nodes).

CREATE TABLE webhook_subscriptions (
    id                         uuid        PRIMARY KEY,
    url                        text        NOT NULL CHECK (url ~ '^https?://'),
    -- CloudEvents types (org.concord.complaint.lodged, ...); empty: every case event.
    event_types                text[]      NOT NULL DEFAULT '{}',
    -- Read like a token of this role and scope: the one access policy decides each event.
    role                       text        NOT NULL CHECK (role IN ('office', 'programme', 'coordinator', 'auditor')),
    scope                      text        CHECK (scope <> ''),
    focal_point                boolean     NOT NULL DEFAULT false,
    label                      text,
    -- `whsec_` and base64 of 32 random bytes: shown once, at creation or rotation, never listed. The service signs
    -- with it, so it is kept (not hashed); the previous secret signs too until it expires (rotation).
    secret                     text        NOT NULL CHECK (secret LIKE 'whsec_%'),
    previous_secret            text        CHECK (previous_secret LIKE 'whsec_%'),
    previous_secret_expires_at timestamptz,
    state                      text        NOT NULL DEFAULT 'active' CHECK (state IN ('active', 'disabled')),
    disabled_reason            text,
    -- The last log position delivered (or skipped as not for this subscriber).
    position                   bigint      NOT NULL CHECK (position >= 0),
    -- Since when every delivery has failed; disabled once it fails for longer than the configured time.
    failing_since              timestamptz,
    last_error                 text,
    last_attempt_at            timestamptz,
    created_at                 timestamptz NOT NULL DEFAULT now(),
    updated_at                 timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT webhook_subscriptions_scope_matches_role
        CHECK ((role IN ('office', 'programme', 'coordinator')) = (scope IS NOT NULL)),
    CONSTRAINT webhook_subscriptions_focal_point_programme CHECK (NOT focal_point OR role = 'programme')
);

COMMENT ON TABLE webhook_subscriptions IS 'Concord webhook subscribers: URL, event types, scope, secrets, position.';

-- The service manages subscriptions through the admin API and delivers them.
DO $$
BEGIN
    IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'concord_service') THEN
        GRANT SELECT, INSERT, UPDATE ON webhook_subscriptions TO concord_service;
    END IF;
END;
$$;
