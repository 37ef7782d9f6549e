-- eargate store, schema version 5: each node's last verification of its decision log
-- (the gateway's background run, store::LogWatch), so that any node's admin API shows the
-- fleet's (GET /admin/v1/audit/verify?scope=fleet). One row per node, replaced by each run.
-- Times are seconds since the Unix epoch (UTC).
CREATE TABLE audit_verifications (
  node TEXT PRIMARY KEY,
  started_at BIGINT NOT NULL,
  finished_at BIGINT NOT NULL,
  intact INTEGER NOT NULL CHECK (intact IN (0, 1)),
  records BIGINT NOT NULL,
  last_seq BIGINT NOT NULL,
  problems BIGINT NOT NULL,
  copy_differences BIGINT,  -- NULL: the store's copy was not compared
  error TEXT,                -- why part of the run could not be done, or NULL
  findings TEXT NOT NULL     -- the first problems and copy differences, one per line
);
