-- eargate store, schema version 2 (PostgreSQL): screening dispositions.
-- A reviewer's clearance of a restricted-party hit: person_id is not the party listed as
-- entry_id on list. Honoured while the entry's fingerprint (screen::EntryFingerprint, SHA-256
-- over its list, id, names, aliases, addresses, countries, programs, dates of birth) is
-- unchanged; kept (no longer honoured) once the entry changes.
CREATE TABLE screening_dispositions (
  person_id TEXT NOT NULL REFERENCES people (id) ON DELETE CASCADE,
  list TEXT NOT NULL,
  entry_id TEXT NOT NULL,
  entry_fingerprint TEXT NOT NULL CHECK (length(entry_fingerprint) = 64),
  entry_name TEXT NOT NULL DEFAULT '',
  decided_by TEXT NOT NULL,
  decided_at BIGINT NOT NULL,
  reason TEXT NOT NULL,
  PRIMARY KEY (person_id, list, entry_id)
);
