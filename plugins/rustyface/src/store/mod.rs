//! Datasets of people: subjects with one or more enrolled faces (128-d unit vectors), searched
//! by cosine similarity. SQLite in the plugin's data folder by default; PostgreSQL + pgvector
//! when `postgresUrl` is configured. Every method blocks: call them from a blocking thread.

mod postgres;
mod sqlite;

pub use self::postgres::PostgresStore;
pub use self::sqlite::SqliteStore;

use serde::Serialize;
use serde_json::Value;

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DatasetInfo {
    pub name: String,
    pub subjects: i64,
    pub faces: i64,
    pub created_at: i64,
    pub metadata: Value,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SubjectMatch {
    pub subject: String,
    /// The best cosine similarity over the subject's enrolled faces.
    pub similarity: f32,
    /// The enrolled face that matched best.
    pub face_id: String,
}

pub struct NewFace<'a> {
    pub id: &'a str,
    pub dataset: &'a str,
    pub subject: &'a str,
    pub embedding: &'a [f32],
    pub metadata: &'a Value,
}

/// What went wrong in the store, so handlers can answer the right error.
#[derive(Debug)]
pub enum StoreError {
    NotFound(String),
    Exists(String),
    Backend(String),
}

pub type StoreResult<T> = Result<T, StoreError>;

pub trait FaceStore: Send + Sync {
    /// Which backend, for `rustyface.status`.
    fn kind(&self) -> &'static str;
    /// Creates a dataset; `Exists` if the name is taken.
    fn create_dataset(&self, name: &str, metadata: &Value, now_ms: i64) -> StoreResult<DatasetInfo>;
    fn list_datasets(&self) -> StoreResult<Vec<DatasetInfo>>;
    /// Deletes a dataset and its faces; `NotFound` if there is none.
    fn delete_dataset(&self, name: &str) -> StoreResult<i64>;
    /// Adds one face to a subject (created on first use); `NotFound` for an unknown dataset.
    fn add_face(&self, face: &NewFace<'_>, now_ms: i64) -> StoreResult<()>;
    /// The `top_k` subjects closest to `query`, best first; `NotFound` for an unknown dataset.
    fn search(&self, dataset: &str, query: &[f32], top_k: usize) -> StoreResult<Vec<SubjectMatch>>;
    /// Removes every face of a subject; returns how many; `NotFound` if it has none.
    fn forget_subject(&self, dataset: &str, subject: &str) -> StoreResult<i64>;
    /// Removes one face by id; `NotFound` if it is not in the dataset.
    fn forget_face(&self, dataset: &str, face_id: &str) -> StoreResult<()>;
    /// Subjects of a dataset with their face counts.
    fn subjects(&self, dataset: &str) -> StoreResult<Vec<(String, i64)>>;
}

/// Keeps the best match per subject from candidates sorted best first, up to `top_k` subjects.
pub fn best_per_subject(
    candidates: impl IntoIterator<Item = (String, String, f32)>,
    top_k: usize,
) -> Vec<SubjectMatch> {
    let mut all: Vec<(String, String, f32)> = candidates.into_iter().collect();
    all.sort_by(|a, b| b.2.total_cmp(&a.2));
    let mut out: Vec<SubjectMatch> = Vec::new();
    for (subject, face_id, similarity) in all {
        if out.len() >= top_k {
            break;
        }
        if !out.iter().any(|m| m.subject == subject) {
            out.push(SubjectMatch { subject, similarity, face_id });
        }
    }
    out
}

pub fn vector_to_bytes(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

pub fn bytes_to_vector(b: &[u8]) -> Vec<f32> {
    b.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect()
}
