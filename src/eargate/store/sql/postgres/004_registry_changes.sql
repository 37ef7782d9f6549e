-- eargate store, schema version 4: the registry change journal. Every committed change to a
-- person, their facts, keys or screening dispositions adds one row naming the person (person_id
-- NULL: everyone, e.g. a bulk import), so that the other nodes of a fleet reload just those
-- people (store::Store::RegistryChangesSince). seq is gapless and in commit order: writers take
-- advisory lock 4618 for the rest of their transaction and use MAX(seq) + 1. Rows older than a
-- week are pruned; a node that fell further behind than the oldest row rebuilds everything.
-- Times are seconds since the Unix epoch (UTC).
CREATE TABLE registry_changes (
  seq BIGINT PRIMARY KEY,
  person_id TEXT,
  what TEXT NOT NULL,
  at BIGINT NOT NULL
);
CREATE INDEX registry_changes_at ON registry_changes (at);
-- The revocation fast path polls "revoked_at >= ?" on every watcher tick; without an index that
-- scans every key. Only revoked keys are indexed.
CREATE INDEX api_keys_revoked_at ON api_keys (revoked_at) WHERE revoked_at IS NOT NULL;
