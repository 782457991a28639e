-- bkg store, schema version 1 (SQLite). Times are epoch milliseconds; JSON columns are TEXT.

-- Every daemon that writes here, with its plugins as it last reported them.
CREATE TABLE nodes (
  node_id    TEXT PRIMARY KEY,
  hostname   TEXT NOT NULL,
  pid        INTEGER NOT NULL,
  version    TEXT NOT NULL,
  started_at INTEGER NOT NULL,
  last_seen  INTEGER NOT NULL,
  state      TEXT NOT NULL DEFAULT 'running',
  plugins    TEXT NOT NULL DEFAULT '[]'
);

-- Raw events: lifecycle, call errors, audit, plugin emits, daemon notes.
CREATE TABLE events (
  id       INTEGER PRIMARY KEY,
  node_id  TEXT NOT NULL,
  ts       INTEGER NOT NULL,
  kind     TEXT NOT NULL,
  plugin   TEXT,
  instance TEXT,
  name     TEXT,
  code     INTEGER,
  message  TEXT,
  data     TEXT
);
CREATE INDEX events_ts ON events (ts);
CREATE INDEX events_plugin_ts ON events (plugin, ts);

-- Per-minute call rollups, one row per daemon run, plugin, method and minute. A run rewrites
-- its own rows while the minute is open, so a row is never shared by two writers.
CREATE TABLE call_rollups (
  node_id        TEXT NOT NULL,
  run_id         INTEGER NOT NULL,
  minute         INTEGER NOT NULL,
  plugin         TEXT NOT NULL,
  method         TEXT NOT NULL,
  calls          INTEGER NOT NULL,
  errors         INTEGER NOT NULL,
  errors_by_code TEXT NOT NULL,
  duration_sum   REAL NOT NULL,
  duration_max   REAL NOT NULL,
  queue_wait_sum REAL NOT NULL,
  queue_wait_max REAL NOT NULL,
  histogram      TEXT NOT NULL,
  PRIMARY KEY (node_id, run_id, plugin, method, minute)
);
CREATE INDEX call_rollups_minute ON call_rollups (minute);

-- Per-minute process figures of each plugin instance (its whole process group).
CREATE TABLE instance_stats (
  node_id       TEXT NOT NULL,
  run_id        INTEGER NOT NULL,
  minute        INTEGER NOT NULL,
  plugin        TEXT NOT NULL,
  instance      TEXT NOT NULL,
  pid           INTEGER,
  rss_bytes     INTEGER NOT NULL,
  rss_max_bytes INTEGER NOT NULL,
  cpu_pct       REAL NOT NULL,
  uptime_ms     INTEGER NOT NULL,
  restarts      INTEGER NOT NULL,
  PRIMARY KEY (node_id, run_id, instance, minute)
);
CREATE INDEX instance_stats_minute ON instance_stats (minute);
