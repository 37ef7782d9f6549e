-- eargate store, schema version 5 (SQLite): each node's last verification of its decision log
-- (the gateway's background run, store::LogWatch), so that any node's admin API shows the
-- fleet's (GET /admin/v1/audit/verify?scope=fleet). One row per node, replaced by each run.
-- Times are seconds since the Unix epoch (UTC).
CREATE TABLE audit_verifications (
  node TEXT PRIMARY KEY,
  started_at INTEGER NOT NULL,
  finished_at INTEGER NOT NULL,
  intact INTEGER NOT NULL CHECK (intact IN (0, 1)),
  records INTEGER NOT NULL,
  last_seq INTEGER NOT NULL,
  problems INTEGER NOT NULL,
  copy_differences INTEGER,  -- NULL: the store's copy was not compared
  error TEXT,                -- why part of the run could not be done, or NULL
  findings TEXT NOT NULL     -- the first problems and copy differences, one per line
);
