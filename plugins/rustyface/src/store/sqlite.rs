//! Datasets in SQLite (bundled by rusqlite): WAL, so a hot-swapped instance and the one it
//! replaces can both open the file; vectors as little-endian f32 blobs, searched by a scan of
//! the dataset's faces (a 10,000-face dataset is 5 MB of vectors: milliseconds).

use super::{
    best_per_subject, bytes_to_vector, vector_to_bytes, DatasetInfo, FaceStore, NewFace, StoreError, StoreResult,
    SubjectMatch,
};
use crate::recognizer::cosine;
use rusqlite::{params, Connection, OptionalExtension};
use serde_json::Value;
use std::path::Path;
use std::sync::Mutex;

pub struct SqliteStore {
    conn: Mutex<Connection>,
}

fn backend(e: rusqlite::Error) -> StoreError {
    StoreError::Backend(format!("SQLite: {e}"))
}

impl SqliteStore {
    pub fn open(file: &Path) -> Result<SqliteStore, String> {
        let conn = Connection::open(file).map_err(|e| format!("cannot open {}: {e}", file.display()))?;
        conn.busy_timeout(std::time::Duration::from_secs(5)).map_err(|e| e.to_string())?;
        conn.execute_batch(
            "PRAGMA journal_mode = WAL;
             PRAGMA foreign_keys = ON;
             CREATE TABLE IF NOT EXISTS datasets (
               name TEXT PRIMARY KEY, metadata TEXT NOT NULL, created_at INTEGER NOT NULL);
             CREATE TABLE IF NOT EXISTS faces (
               id TEXT PRIMARY KEY,
               dataset TEXT NOT NULL REFERENCES datasets(name) ON DELETE CASCADE,
               subject TEXT NOT NULL, embedding BLOB NOT NULL, metadata TEXT NOT NULL, created_at INTEGER NOT NULL);
             CREATE INDEX IF NOT EXISTS faces_dataset_subject ON faces(dataset, subject);",
        )
        .map_err(|e| format!("cannot prepare {}: {e}", file.display()))?;
        Ok(SqliteStore { conn: Mutex::new(conn) })
    }

    fn conn(&self) -> std::sync::MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }
}

fn require_dataset(conn: &Connection, name: &str) -> StoreResult<()> {
    let found: Option<i64> =
        conn.query_row("SELECT 1 FROM datasets WHERE name = ?1", [name], |r| r.get(0)).optional().map_err(backend)?;
    found
        .map(|_| ())
        .ok_or_else(|| StoreError::NotFound(format!("no dataset named {name:?} (rustyface.datasets.list shows them)")))
}

impl FaceStore for SqliteStore {
    fn kind(&self) -> &'static str {
        "sqlite"
    }

    fn create_dataset(&self, name: &str, metadata: &Value, now_ms: i64) -> StoreResult<DatasetInfo> {
        let conn = self.conn();
        let inserted = conn
            .execute(
                "INSERT OR IGNORE INTO datasets (name, metadata, created_at) VALUES (?1, ?2, ?3)",
                params![name, metadata.to_string(), now_ms],
            )
            .map_err(backend)?;
        if inserted == 0 {
            return Err(StoreError::Exists(format!("dataset {name:?} exists already")));
        }
        Ok(DatasetInfo { name: name.into(), subjects: 0, faces: 0, created_at: now_ms, metadata: metadata.clone() })
    }

    fn list_datasets(&self) -> StoreResult<Vec<DatasetInfo>> {
        let conn = self.conn();
        let mut stmt = conn
            .prepare(
                "SELECT d.name, d.metadata, d.created_at, COUNT(DISTINCT f.subject), COUNT(f.id)
                 FROM datasets d LEFT JOIN faces f ON f.dataset = d.name GROUP BY d.name ORDER BY d.name",
            )
            .map_err(backend)?;
        let rows = stmt
            .query_map([], |r| {
                let meta: String = r.get(1)?;
                Ok(DatasetInfo {
                    name: r.get(0)?,
                    metadata: serde_json::from_str(&meta).unwrap_or(Value::Null),
                    created_at: r.get(2)?,
                    subjects: r.get(3)?,
                    faces: r.get(4)?,
                })
            })
            .map_err(backend)?;
        rows.collect::<Result<Vec<_>, _>>().map_err(backend)
    }

    fn delete_dataset(&self, name: &str) -> StoreResult<i64> {
        let mut conn = self.conn();
        let tx = conn.transaction().map_err(backend)?;
        require_dataset(&tx, name)?;
        let faces = tx.execute("DELETE FROM faces WHERE dataset = ?1", [name]).map_err(backend)?;
        tx.execute("DELETE FROM datasets WHERE name = ?1", [name]).map_err(backend)?;
        tx.commit().map_err(backend)?;
        Ok(faces as i64)
    }

    fn add_face(&self, face: &NewFace<'_>, now_ms: i64) -> StoreResult<()> {
        let conn = self.conn();
        require_dataset(&conn, face.dataset)?;
        conn.execute(
            "INSERT INTO faces (id, dataset, subject, embedding, metadata, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                face.id,
                face.dataset,
                face.subject,
                vector_to_bytes(face.embedding),
                face.metadata.to_string(),
                now_ms
            ],
        )
        .map_err(backend)?;
        Ok(())
    }

    fn search(&self, dataset: &str, query: &[f32], top_k: usize) -> StoreResult<Vec<SubjectMatch>> {
        let conn = self.conn();
        require_dataset(&conn, dataset)?;
        let mut stmt =
            conn.prepare_cached("SELECT subject, id, embedding FROM faces WHERE dataset = ?1").map_err(backend)?;
        let rows = stmt
            .query_map([dataset], |r| {
                let blob: Vec<u8> = r.get(2)?;
                Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, cosine(query, &bytes_to_vector(&blob))))
            })
            .map_err(backend)?;
        let candidates = rows.collect::<Result<Vec<_>, _>>().map_err(backend)?;
        Ok(best_per_subject(candidates, top_k))
    }

    fn forget_subject(&self, dataset: &str, subject: &str) -> StoreResult<i64> {
        let conn = self.conn();
        require_dataset(&conn, dataset)?;
        let n = conn
            .execute("DELETE FROM faces WHERE dataset = ?1 AND subject = ?2", [dataset, subject])
            .map_err(backend)?;
        if n == 0 {
            return Err(StoreError::NotFound(format!("dataset {dataset:?} has no subject {subject:?}")));
        }
        Ok(n as i64)
    }

    fn forget_face(&self, dataset: &str, face_id: &str) -> StoreResult<()> {
        let conn = self.conn();
        require_dataset(&conn, dataset)?;
        let n =
            conn.execute("DELETE FROM faces WHERE dataset = ?1 AND id = ?2", [dataset, face_id]).map_err(backend)?;
        if n == 0 {
            return Err(StoreError::NotFound(format!("dataset {dataset:?} has no face {face_id:?}")));
        }
        Ok(())
    }

    fn subjects(&self, dataset: &str) -> StoreResult<Vec<(String, i64)>> {
        let conn = self.conn();
        require_dataset(&conn, dataset)?;
        let mut stmt = conn
            .prepare("SELECT subject, COUNT(*) FROM faces WHERE dataset = ?1 GROUP BY subject ORDER BY subject")
            .map_err(backend)?;
        let rows = stmt.query_map([dataset], |r| Ok((r.get(0)?, r.get(1)?))).map_err(backend)?;
        rows.collect::<Result<Vec<_>, _>>().map_err(backend)
    }
}
