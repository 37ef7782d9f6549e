-- eargate store, schema version 3: each node's decision-log records shipped for search across
-- a fleet (store::RecordShipper, `eargate audit ship`). The node's log stays the record of
-- truth (hash chain, verify); these rows are a searchable copy with the record's hash.
-- Times are seconds since the Unix epoch (UTC).
CREATE TABLE decision_records (
  node TEXT NOT NULL,
  seq BIGINT NOT NULL,
  hash TEXT NOT NULL CHECK (length(hash) = 64),
  time BIGINT NOT NULL,
  kind TEXT NOT NULL CHECK (kind IN ('decision', 'admin_change')),
  decision_id TEXT NOT NULL,
  person TEXT NOT NULL,
  item TEXT NOT NULL,
  outcome TEXT NOT NULL CHECK (outcome IN ('allow', 'review', 'deny', 'none')),
  policy_version TEXT,
  payload TEXT NOT NULL,
  PRIMARY KEY (node, seq)
);
CREATE INDEX decision_records_person ON decision_records (person, time);
CREATE INDEX decision_records_item ON decision_records (item, time);
CREATE INDEX decision_records_time ON decision_records (time);
CREATE INDEX decision_records_decision_id ON decision_records (decision_id);
