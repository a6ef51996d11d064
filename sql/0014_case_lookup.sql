-- Finding a case by the person's phone number or national ID (docs/api.md, "Finding cases") without keeping either:
-- one row per value and case, holding an HMAC-SHA256 of the normalised value under a key derived from the master
-- key (which the database never holds). Written by the command path when a case with a named person is created
-- (the clear value exists only there, before sealing); the rows of a data subject are deleted when the subject is
-- erased. Not part of the `cases` projection: a rebuild cannot recompute it, since the log holds the values sealed.
CREATE TABLE case_lookup (
    kind         text        NOT NULL CHECK (kind IN ('phone', 'national_id')),
    digest       bytea       NOT NULL CHECK (octet_length(digest) = 32),
    stream_type  text        NOT NULL,
    stream_id    text        NOT NULL,
    subject      text        NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (kind, digest, stream_type, stream_id)
);

CREATE INDEX case_lookup_subject ON case_lookup (subject);

COMMENT ON TABLE case_lookup IS 'Concord: keyed hashes (HMAC-SHA256) of persons'' phone numbers and national IDs, by case; no clear values.';

DO $$
BEGIN
    IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'concord_service') THEN
        GRANT SELECT, INSERT, DELETE ON case_lookup TO concord_service;
    END IF;
END;
$$;
