//! What the methods do, independent of the protocol: one `Service` built at initialize, holding
//! the settings, the models (or why they could not load) and the dataset store (or why not).

use crate::config::Config;
use crate::detector::{self, DetectOptions, Face};
use crate::errors;
use crate::image_input::{decode_image, image_bytes};
use crate::models::{self, Models};
use crate::recognizer::{self, cosine};
use crate::store::{FaceStore, NewFace, PostgresStore, SqliteStore, StoreError};
use bkg_plugin::{json, PluginError, Value};
use image::RgbImage;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

pub struct Service {
    pub cfg: Config,
    models: Result<Models, String>,
    store: Result<Box<dyn FaceStore>, String>,
}

/// A face with its embedding, as embed/enroll/identify return it.
pub struct EmbeddedFace {
    pub face: Face,
    pub embedding: Vec<f32>,
}

fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

fn store_error(e: StoreError) -> PluginError {
    match e {
        StoreError::NotFound(m) => errors::not_found(m),
        StoreError::Exists(m) => errors::exists(m),
        StoreError::Backend(m) => errors::store(m),
    }
}

fn new_face_id() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("face_{:x}{:05x}{:04x}", nanos, std::process::id() & 0xfffff, n & 0xffff)
}

impl Service {
    /// Loads the models and opens the store. Neither failure is fatal: the model methods then
    /// answer `model_unavailable` and the dataset methods `store` errors, with the reason. Blocks.
    pub fn start(cfg: Config, data_dir: Option<&Path>) -> Service {
        let models = models::load(&cfg);
        let store: Result<Box<dyn FaceStore>, String> = match &cfg.postgres_url {
            Some(url) => PostgresStore::connect(url).map(|s| Box::new(s) as Box<dyn FaceStore>),
            None => match data_dir {
                Some(dir) => std::fs::create_dir_all(dir)
                    .map_err(|e| format!("cannot create the data folder {}: {e}", dir.display()))
                    .and_then(|_| SqliteStore::open(&dir.join("rustyface.sqlite")))
                    .map(|s| Box::new(s) as Box<dyn FaceStore>),
                None => {
                    Err("no data folder: the daemon did not give one (BKG_DATA_DIR) and postgresUrl is not set".into())
                }
            },
        };
        Service { cfg, models, store }
    }

    pub fn model_error(&self) -> Option<&str> {
        self.models.as_ref().err().map(|s| s.as_str())
    }

    pub fn store_error(&self) -> Option<&str> {
        self.store.as_ref().err().map(|s| s.as_str())
    }

    fn models(&self) -> Result<&Models, PluginError> {
        self.models
            .as_ref()
            .map_err(|e| errors::model_unavailable(format!("rustyface cannot detect or embed faces: {e}")))
    }

    pub fn store(&self) -> Result<&dyn FaceStore, PluginError> {
        self.store.as_deref().map_err(|e| errors::store(format!("rustyface datasets are unavailable: {e}")))
    }

    pub fn status(&self) -> Value {
        json!({
            "model": self.cfg.model,
            "modelReady": self.models.is_ok(),
            "modelError": self.model_error(),
            "files": self.models.as_ref().ok().map(|m| m.files.iter().map(|f| f.display().to_string()).collect::<Vec<_>>()),
            "store": self.store.as_ref().ok().map(|s| s.kind()),
            "storeError": self.store_error(),
            "threads": self.cfg.threads,
            "scoreThreshold": decimal(self.cfg.score_threshold),
            "nmsThreshold": decimal(self.cfg.nms_threshold),
            "matchThreshold": decimal(self.cfg.match_threshold),
        })
    }

    /// Reads and decodes the `field` parameter. Blocks.
    pub fn image(&self, params: &Value, field: &str) -> Result<RgbImage, PluginError> {
        let bytes = image_bytes(&params[field], field, &self.cfg)?;
        decode_image(&bytes, field, &self.cfg)
    }

    /// Detects faces, best score first. Blocks.
    pub fn detect(&self, img: &RgbImage, params: &Value) -> Result<Vec<Face>, PluginError> {
        let models = self.models()?;
        let f = |name: &str, default: f32| params[name].as_f64().map(|v| v as f32).unwrap_or(default);
        let opt = DetectOptions {
            score_threshold: f("scoreThreshold", self.cfg.score_threshold),
            nms_threshold: f("nmsThreshold", self.cfg.nms_threshold),
            max_faces: params["maxFaces"].as_u64().map(|v| v as usize).unwrap_or(self.cfg.max_faces),
        };
        let mut session = models.detector.lock().unwrap_or_else(|p| p.into_inner());
        detector::detect(&mut session, img, &opt).map_err(errors::inference)
    }

    /// Aligns and embeds one face. Blocks.
    pub fn embed_face(&self, img: &RgbImage, face: Face) -> Result<EmbeddedFace, PluginError> {
        let models = self.models()?;
        let mut session = models.recognizer.lock().unwrap_or_else(|p| p.into_inner());
        let embedding = recognizer::embed(&mut session, img, &face).map_err(errors::inference)?;
        Ok(EmbeddedFace { face, embedding })
    }

    /// The single face enroll and verify use: the best-scoring one; `no_face` if there is none.
    fn main_face(&self, img: &RgbImage, params: &Value, field: &str) -> Result<(EmbeddedFace, usize), PluginError> {
        let faces = self.detect(img, params)?;
        let count = faces.len();
        let best = faces.into_iter().next().ok_or_else(|| {
            errors::bad_input(
                "no_face",
                format!("no face found in {field} (score threshold {})", self.cfg.score_threshold),
            )
        })?;
        Ok((self.embed_face(img, best)?, count))
    }

    /// rustyface.verify: cosine similarity of the main faces of two images. Blocks.
    pub fn verify(&self, params: &Value) -> Result<Value, PluginError> {
        let started = Instant::now();
        let threshold = params["threshold"].as_f64().map(|v| v as f32).unwrap_or(self.cfg.match_threshold);
        let a = self.image(params, "a")?;
        let b = self.image(params, "b")?;
        let (fa, _) = self.main_face(&a, params, "a")?;
        let (fb, _) = self.main_face(&b, params, "b")?;
        let similarity = cosine(&fa.embedding, &fb.embedding);
        Ok(json!({
            "similarity": similarity,
            "same": similarity >= threshold,
            "threshold": decimal(threshold),
            "faces": { "a": fa.face, "b": fb.face },
            "ms": started.elapsed().as_secs_f64() * 1000.0,
        }))
    }

    /// rustyface.enroll: adds the image's main face to a subject. Blocks.
    pub fn enroll(&self, params: &Value) -> Result<Value, PluginError> {
        let dataset = text(params, "dataset")?;
        let subject = text(params, "subject")?;
        let store = self.store()?;
        // An unknown dataset is reported before the (slower) model work.
        store.subjects(dataset).map_err(store_error)?;
        let img = self.image(params, "image")?;
        let (face, count) = self.main_face(&img, params, "image")?;
        let id = new_face_id();
        let metadata = params.get("metadata").cloned().unwrap_or(Value::Null);
        let new = NewFace { id: &id, dataset, subject, embedding: &face.embedding, metadata: &metadata };
        store.add_face(&new, now_ms()).map_err(store_error)?;
        Ok(json!({ "faceId": id, "dataset": dataset, "subject": subject, "face": face.face, "facesInImage": count }))
    }

    /// rustyface.identify: every detected face with its best-matching subjects. Blocks.
    pub fn identify(&self, params: &Value) -> Result<Value, PluginError> {
        let started = Instant::now();
        let dataset = text(params, "dataset")?;
        let top_k = params["topK"].as_u64().unwrap_or(1).clamp(1, 100) as usize;
        let threshold = params["threshold"].as_f64().map(|v| v as f32).unwrap_or(self.cfg.match_threshold);
        let store = self.store()?;
        store.subjects(dataset).map_err(store_error)?;
        let img = self.image(params, "image")?;
        let mut out = Vec::new();
        for face in self.detect(&img, params)? {
            let embedded = self.embed_face(&img, face)?;
            let matches: Vec<_> = store
                .search(dataset, &embedded.embedding, top_k)
                .map_err(store_error)?
                .into_iter()
                .filter(|m| m.similarity >= threshold)
                .collect();
            let mut v = serde_json::to_value(&embedded.face).unwrap_or(Value::Null);
            v["matches"] = json!(matches);
            out.push(v);
        }
        Ok(json!({
            "faces": out, "threshold": decimal(threshold), "width": img.width(), "height": img.height(),
            "ms": started.elapsed().as_secs_f64() * 1000.0,
        }))
    }

    /// rustyface.forget: a whole subject or one face.
    pub fn forget(&self, params: &Value) -> Result<Value, PluginError> {
        let dataset = text(params, "dataset")?;
        let store = self.store()?;
        match (params["subject"].as_str(), params["faceId"].as_str()) {
            (Some(subject), None) => {
                let removed = store.forget_subject(dataset, subject).map_err(store_error)?;
                Ok(json!({ "dataset": dataset, "subject": subject, "removed": removed }))
            }
            (None, Some(face_id)) => {
                store.forget_face(dataset, face_id).map_err(store_error)?;
                Ok(json!({ "dataset": dataset, "faceId": face_id, "removed": 1 }))
            }
            _ => Err(errors::bad_input("bad_params", "forget needs exactly one of subject or faceId")),
        }
    }

    pub fn create_dataset(&self, params: &Value) -> Result<Value, PluginError> {
        let name = text(params, "name")?;
        if name.len() > 128 || !name.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c)) {
            return Err(errors::bad_input(
                "bad_name",
                format!("dataset name {name:?} must be 1-128 characters of letters, digits, '-', '_' and '.'"),
            ));
        }
        let metadata = params.get("metadata").cloned().unwrap_or(Value::Null);
        let info = self.store()?.create_dataset(name, &metadata, now_ms()).map_err(store_error)?;
        Ok(json!(info))
    }

    pub fn list_datasets(&self) -> Result<Value, PluginError> {
        Ok(json!({ "datasets": self.store()?.list_datasets().map_err(store_error)? }))
    }

    pub fn delete_dataset(&self, params: &Value) -> Result<Value, PluginError> {
        let name = text(params, "name")?;
        let faces = self.store()?.delete_dataset(name).map_err(store_error)?;
        Ok(json!({ "name": name, "deleted": true, "faces": faces }))
    }

    pub fn subjects(&self, params: &Value) -> Result<Value, PluginError> {
        let dataset = text(params, "dataset")?;
        let list = self.store()?.subjects(dataset).map_err(store_error)?;
        let subjects: Vec<Value> = list.into_iter().map(|(s, n)| json!({ "subject": s, "faces": n })).collect();
        Ok(json!({ "dataset": dataset, "subjects": subjects }))
    }
}

/// An f32 setting as the decimal it was written as (0.363, not 0.3630000054836273).
fn decimal(v: f32) -> f64 {
    (f64::from(v) * 1e6).round() / 1e6
}

/// A required non-empty string parameter.
fn text<'a>(params: &'a Value, name: &str) -> Result<&'a str, PluginError> {
    match params[name].as_str() {
        Some(s) if !s.is_empty() => Ok(s),
        _ => Err(errors::bad_input("bad_params", format!("{name} is required (a non-empty string)"))),
    }
}
