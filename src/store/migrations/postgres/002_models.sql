-- bkg store, schema version 2 (PostgreSQL): the model store's table, one row per pulled model per
-- daemon, kept in step with <models.dir>/<name>/model.json (which stays the source of truth).
CREATE TABLE models (
  node_id   TEXT NOT NULL,
  name      TEXT NOT NULL,
  file      TEXT NOT NULL,
  format    TEXT NOT NULL,
  size      BIGINT NOT NULL,
  sha256    TEXT NOT NULL,
  source    TEXT NOT NULL,
  licence   TEXT NOT NULL,
  metadata  TEXT NOT NULL,
  pulled_at BIGINT NOT NULL,
  PRIMARY KEY (node_id, name)
);
