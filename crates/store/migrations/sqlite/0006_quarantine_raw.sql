-- A quarantined notification keeps the bytes it arrived with (method, query, body and the
-- headers its signature may cover; never cookies or credentials), so that it can be verified
-- and applied again after the shop fixes its configuration. NULL for rows written before, and
-- for entries set aside inside a transition (an amount mismatch), which are not replayed.
ALTER TABLE quarantine ADD COLUMN raw_method TEXT;
ALTER TABLE quarantine ADD COLUMN raw_query BLOB;
ALTER TABLE quarantine ADD COLUMN raw_body BLOB;
ALTER TABLE quarantine ADD COLUMN raw_headers TEXT;
