-- bkg store, schema version 1 (PostgreSQL). Times are epoch milliseconds; JSON columns are TEXT.

-- Every daemon that writes here, with its plugins as it last reported them.
CREATE TABLE nodes (
  node_id    TEXT PRIMARY KEY,
  hostname   TEXT NOT NULL,
  pid        BIGINT NOT NULL,
  version    TEXT NOT NULL,
  started_at BIGINT NOT NULL,
  last_seen  BIGINT NOT NULL,
  state      TEXT NOT NULL DEFAULT 'running',
  plugins    TEXT NOT NULL DEFAULT '[]'
);

-- Raw events: lifecycle, call errors, audit, plugin emits, daemon notes.
CREATE TABLE events (
  id       BIGSERIAL PRIMARY KEY,
  node_id  TEXT NOT NULL,
  ts       BIGINT NOT NULL,
  kind     TEXT NOT NULL,
  plugin   TEXT,
  instance TEXT,
  name     TEXT,
  code     BIGINT,
  message  TEXT,
  data     TEXT
);
CREATE INDEX events_ts ON events (ts);
CREATE INDEX events_plugin_ts ON events (plugin, ts);

-- Per-minute call rollups, one row per daemon run, plugin, method and minute. A run rewrites
-- its own rows while the minute is open, so a row is never shared by two writers.
CREATE TABLE call_rollups (
  node_id        TEXT NOT NULL,
  run_id         BIGINT NOT NULL,
  minute         BIGINT NOT NULL,
  plugin         TEXT NOT NULL,
  method         TEXT NOT NULL,
  calls          BIGINT NOT NULL,
  errors         BIGINT NOT NULL,
  errors_by_code TEXT NOT NULL,
  duration_sum   DOUBLE PRECISION NOT NULL,
  duration_max   DOUBLE PRECISION NOT NULL,
  queue_wait_sum DOUBLE PRECISION NOT NULL,
  queue_wait_max DOUBLE PRECISION NOT NULL,
  histogram      TEXT NOT NULL,
  PRIMARY KEY (node_id, run_id, plugin, method, minute)
);
CREATE INDEX call_rollups_minute ON call_rollups (minute);

-- Per-minute process figures of each plugin instance (its whole process group).
CREATE TABLE instance_stats (
  node_id       TEXT NOT NULL,
  run_id        BIGINT NOT NULL,
  minute        BIGINT NOT NULL,
  plugin        TEXT NOT NULL,
  instance      TEXT NOT NULL,
  pid           BIGINT,
  rss_bytes     BIGINT NOT NULL,
  rss_max_bytes BIGINT NOT NULL,
  cpu_pct       DOUBLE PRECISION NOT NULL,
  uptime_ms     BIGINT NOT NULL,
  restarts      BIGINT NOT NULL,
  PRIMARY KEY (node_id, run_id, instance, minute)
);
CREATE INDEX instance_stats_minute ON instance_stats (minute);
