-- A programme's designated focal point for sensitive complaints (sexual exploitation and abuse, fraud, staff
-- conduct): only programme tokens marked so, and admins, see those complaints.
ALTER TABLE api_tokens ADD COLUMN focal_point boolean NOT NULL DEFAULT false;
ALTER TABLE api_tokens ADD CONSTRAINT api_tokens_focal_point_is_a_programme CHECK (NOT focal_point OR role = 'programme');
