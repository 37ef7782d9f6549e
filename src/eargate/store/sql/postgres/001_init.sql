-- eargate store, schema version 1 (PostgreSQL). Times are seconds since the Unix epoch (UTC).
CREATE TABLE people (
  id TEXT PRIMARY KEY,
  kind TEXT NOT NULL CHECK (kind IN ('natural', 'organization')),
  name TEXT NOT NULL DEFAULT '',
  us_person TEXT CHECK (us_person IN ('yes', 'no')),
  us_person_source TEXT,
  us_person_verified_at BIGINT,
  protected_individual INTEGER NOT NULL DEFAULT 0,
  organization TEXT,
  location_json TEXT,
  kyc_source TEXT,
  kyc_verified_at BIGINT,
  updated_at BIGINT NOT NULL
);
CREATE INDEX people_organization ON people (organization);

-- One KYC fact per row, each with its source and verification time.
CREATE TABLE person_facts (
  person_id TEXT NOT NULL REFERENCES people (id) ON DELETE CASCADE,
  fact TEXT NOT NULL CHECK (fact IN ('citizenship', 'permanent_residency', 'end_user_category', 'end_use')),
  position INTEGER NOT NULL,
  value TEXT NOT NULL,
  since BIGINT,
  source TEXT,
  verified_at BIGINT,
  PRIMARY KEY (person_id, fact, position)
);

CREATE TABLE api_keys (
  key_sha256 TEXT PRIMARY KEY CHECK (length(key_sha256) = 64),
  person_id TEXT NOT NULL REFERENCES people (id) ON DELETE CASCADE,
  created_at BIGINT NOT NULL,
  last_used_at BIGINT,
  revoked_at BIGINT
);
CREATE INDEX api_keys_person ON api_keys (person_id);

CREATE TABLE audit_checkpoints (
  node TEXT NOT NULL,
  seq BIGINT NOT NULL,
  head TEXT NOT NULL,
  segment BIGINT NOT NULL,
  at BIGINT NOT NULL,
  PRIMARY KEY (node, seq)
);

CREATE TABLE admin_tokens (
  token_sha256 TEXT PRIMARY KEY CHECK (length(token_sha256) = 64),
  name TEXT NOT NULL,
  role TEXT NOT NULL CHECK (role IN ('viewer', 'analyst', 'officer', 'admin')),
  created_at BIGINT NOT NULL,
  expires_at BIGINT,
  revoked_at BIGINT,
  last_used_at BIGINT
);
