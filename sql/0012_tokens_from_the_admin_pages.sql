-- Admins issue and revoke machines' API tokens on the web workspace's admin pages (docs/operations.md, "API
-- tokens"), so the service may now insert a token and set its revocation. Migration 0002 kept it read-only so that
-- a compromised service could not mint one; since 0011 the service creates users, admins included, which is the same
-- power, so that no longer protects anything. What still does: a revocation is final, in the database itself.
DO $$
BEGIN
    IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'concord_service') THEN
        GRANT INSERT ON api_tokens TO concord_service;
        GRANT UPDATE (revoked_at) ON api_tokens TO concord_service;
    END IF;
END;
$$;

CREATE FUNCTION concord_token_revocation_is_final() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.revoked_at IS NOT NULL AND NEW.revoked_at IS DISTINCT FROM OLD.revoked_at THEN
        RAISE EXCEPTION 'token % was revoked at %: a revocation is final', OLD.id, OLD.revoked_at
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END;
$$;

CREATE TRIGGER api_tokens_revocation_is_final BEFORE UPDATE OF revoked_at ON api_tokens
    FOR EACH ROW EXECUTE FUNCTION concord_token_revocation_is_final();
