//! Datasets in PostgreSQL with pgvector: `vector(128)` columns; identify asks the database for
//! the nearest faces by cosine distance (`<=>`). The search is exact (no approximate index):
//! pgvector 0.6's HNSW filters by dataset after its candidate list, which can miss the right
//! subject when several datasets share the table.

use super::{best_per_subject, DatasetInfo, FaceStore, NewFace, StoreError, StoreResult, SubjectMatch};
use crate::recognizer::FEATURE_DIM;
use postgres::{Client, NoTls};
use serde_json::Value;
use std::sync::Mutex;

pub struct PostgresStore {
    client: Mutex<Client>,
}

fn backend(e: postgres::Error) -> StoreError {
    StoreError::Backend(format!("PostgreSQL: {e}"))
}

/// pgvector's text form, `[0.1,0.2,...]`, sent as text and cast in SQL (no client-side type).
fn vector_literal(v: &[f32]) -> String {
    let parts: Vec<String> = v.iter().map(|x| x.to_string()).collect();
    format!("[{}]", parts.join(","))
}

impl PostgresStore {
    /// Connects and creates the tables (and the `vector` extension) if they are missing. Blocks.
    pub fn connect(url: &str) -> Result<PostgresStore, String> {
        let mut client =
            Client::connect(url, NoTls).map_err(|e| format!("cannot connect to PostgreSQL ({}): {e}", redact(url)))?;
        client
            .batch_execute(&format!(
                "CREATE EXTENSION IF NOT EXISTS vector;
                 CREATE TABLE IF NOT EXISTS rustyface_datasets (
                   name TEXT PRIMARY KEY, metadata JSONB NOT NULL, created_at BIGINT NOT NULL);
                 CREATE TABLE IF NOT EXISTS rustyface_faces (
                   id TEXT PRIMARY KEY,
                   dataset TEXT NOT NULL REFERENCES rustyface_datasets(name) ON DELETE CASCADE,
                   subject TEXT NOT NULL, embedding vector({FEATURE_DIM}) NOT NULL,
                   metadata JSONB NOT NULL, created_at BIGINT NOT NULL);
                 CREATE INDEX IF NOT EXISTS rustyface_faces_dataset_subject ON rustyface_faces(dataset, subject);"
            ))
            .map_err(|e| format!("cannot prepare the rustyface tables in PostgreSQL (is pgvector installed?): {e}"))?;
        Ok(PostgresStore { client: Mutex::new(client) })
    }

    fn client(&self) -> std::sync::MutexGuard<'_, Client> {
        self.client.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The URL without its password, for error messages.
fn redact(url: &str) -> String {
    match (url.find("://"), url.find('@')) {
        (Some(s), Some(at)) if at > s => match url[s + 3..at].find(':') {
            Some(c) => format!("{}:***{}", &url[..s + 3 + c], &url[at..]),
            None => url.to_string(),
        },
        _ => url.to_string(),
    }
}

fn require_dataset(c: &mut Client, name: &str) -> StoreResult<()> {
    let row = c.query_opt("SELECT 1 FROM rustyface_datasets WHERE name = $1", &[&name]).map_err(backend)?;
    row.map(|_| ())
        .ok_or_else(|| StoreError::NotFound(format!("no dataset named {name:?} (rustyface.datasets.list shows them)")))
}

impl FaceStore for PostgresStore {
    fn kind(&self) -> &'static str {
        "postgres"
    }

    fn create_dataset(&self, name: &str, metadata: &Value, now_ms: i64) -> StoreResult<DatasetInfo> {
        let n = self
            .client()
            .execute(
                "INSERT INTO rustyface_datasets (name, metadata, created_at) VALUES ($1, $2::text::jsonb, $3) ON CONFLICT DO NOTHING",
                &[&name, &metadata.to_string(), &now_ms],
            )
            .map_err(backend)?;
        if n == 0 {
            return Err(StoreError::Exists(format!("dataset {name:?} exists already")));
        }
        Ok(DatasetInfo { name: name.into(), subjects: 0, faces: 0, created_at: now_ms, metadata: metadata.clone() })
    }

    fn list_datasets(&self) -> StoreResult<Vec<DatasetInfo>> {
        let rows = self
            .client()
            .query(
                "SELECT d.name, d.metadata::text, d.created_at, COUNT(DISTINCT f.subject), COUNT(f.id)
                 FROM rustyface_datasets d LEFT JOIN rustyface_faces f ON f.dataset = d.name GROUP BY d.name ORDER BY d.name",
                &[],
            )
            .map_err(backend)?;
        Ok(rows
            .iter()
            .map(|r| DatasetInfo {
                name: r.get(0),
                metadata: serde_json::from_str(r.get::<_, &str>(1)).unwrap_or(Value::Null),
                created_at: r.get(2),
                subjects: r.get(3),
                faces: r.get(4),
            })
            .collect())
    }

    fn delete_dataset(&self, name: &str) -> StoreResult<i64> {
        let mut c = self.client();
        require_dataset(&mut c, name)?;
        let mut tx = c.transaction().map_err(backend)?;
        let faces = tx.execute("DELETE FROM rustyface_faces WHERE dataset = $1", &[&name]).map_err(backend)?;
        tx.execute("DELETE FROM rustyface_datasets WHERE name = $1", &[&name]).map_err(backend)?;
        tx.commit().map_err(backend)?;
        Ok(faces as i64)
    }

    fn add_face(&self, face: &NewFace<'_>, now_ms: i64) -> StoreResult<()> {
        let mut c = self.client();
        require_dataset(&mut c, face.dataset)?;
        c.execute(
            "INSERT INTO rustyface_faces (id, dataset, subject, embedding, metadata, created_at)
             VALUES ($1, $2, $3, $4::text::vector, $5::text::jsonb, $6)",
            &[
                &face.id,
                &face.dataset,
                &face.subject,
                &vector_literal(face.embedding),
                &face.metadata.to_string(),
                &now_ms,
            ],
        )
        .map_err(backend)?;
        Ok(())
    }

    fn search(&self, dataset: &str, query: &[f32], top_k: usize) -> StoreResult<Vec<SubjectMatch>> {
        let mut c = self.client();
        require_dataset(&mut c, dataset)?;
        // Several faces per subject: ask for more neighbours than subjects wanted, then keep each
        // subject's best.
        let limit = (top_k * 20).clamp(50, 2000) as i64;
        let rows = c
            .query(
                "SELECT subject, id, (1 - (embedding <=> $1::text::vector))::real FROM rustyface_faces
                 WHERE dataset = $2 ORDER BY embedding <=> $1::text::vector LIMIT $3",
                &[&vector_literal(query), &dataset, &limit],
            )
            .map_err(backend)?;
        Ok(best_per_subject(rows.iter().map(|r| (r.get(0), r.get(1), r.get(2))), top_k))
    }

    fn forget_subject(&self, dataset: &str, subject: &str) -> StoreResult<i64> {
        let mut c = self.client();
        require_dataset(&mut c, dataset)?;
        let n = c
            .execute("DELETE FROM rustyface_faces WHERE dataset = $1 AND subject = $2", &[&dataset, &subject])
            .map_err(backend)?;
        if n == 0 {
            return Err(StoreError::NotFound(format!("dataset {dataset:?} has no subject {subject:?}")));
        }
        Ok(n as i64)
    }

    fn forget_face(&self, dataset: &str, face_id: &str) -> StoreResult<()> {
        let mut c = self.client();
        require_dataset(&mut c, dataset)?;
        let n = c
            .execute("DELETE FROM rustyface_faces WHERE dataset = $1 AND id = $2", &[&dataset, &face_id])
            .map_err(backend)?;
        if n == 0 {
            return Err(StoreError::NotFound(format!("dataset {dataset:?} has no face {face_id:?}")));
        }
        Ok(())
    }

    fn subjects(&self, dataset: &str) -> StoreResult<Vec<(String, i64)>> {
        let mut c = self.client();
        require_dataset(&mut c, dataset)?;
        let rows = c
            .query(
                "SELECT subject, COUNT(*) FROM rustyface_faces WHERE dataset = $1 GROUP BY subject ORDER BY subject",
                &[&dataset],
            )
            .map_err(backend)?;
        Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
    }
}
