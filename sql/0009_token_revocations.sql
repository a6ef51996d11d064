-- Every process caches the tokens it has authenticated, and empties its cache when a token changes: a revocation
-- (or any other change to api_tokens) notifies every listening process once the change commits.
CREATE FUNCTION concord_tokens_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('concord_tokens', '');
    RETURN NULL;
END;
$$;

CREATE TRIGGER api_tokens_changed AFTER UPDATE OR DELETE OR TRUNCATE ON api_tokens
    FOR EACH STATEMENT EXECUTE FUNCTION concord_tokens_changed();
