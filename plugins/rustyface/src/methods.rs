//! The method table: names, descriptions, parameter schemas (the daemon validates them before
//! a call arrives) and the glue from a call to the blocking `Service` work.

use crate::detector::Face;
use crate::errors;
use crate::service::Service;
use bkg_plugin::{json, Context, Plugin, PluginError, Value};
use std::sync::{Arc, OnceLock};
use std::time::Instant;

pub type Shared = Arc<OnceLock<Service>>;

fn image_schema() -> Value {
    json!({
        "description": "base64 (or a data: URL) of a JPEG, PNG or WebP file, or {\"path\": ...} inside config.imageRoots",
        "oneOf": [
            { "type": "string", "minLength": 1 },
            { "type": "object", "properties": { "path": { "type": "string", "minLength": 1 } }, "required": ["path"], "additionalProperties": false },
            { "type": "object", "properties": { "base64": { "type": "string", "minLength": 1 } }, "required": ["base64"], "additionalProperties": false }
        ]
    })
}

fn detect_knobs() -> Value {
    json!({
        "scoreThreshold": { "type": "number", "minimum": 0, "maximum": 1 },
        "nmsThreshold": { "type": "number", "minimum": 0, "maximum": 1 },
        "maxFaces": { "type": "integer", "minimum": 1, "maximum": 1000 }
    })
}

fn object(required: &[&str], mut props: Value) -> Value {
    if let Some(knobs) = detect_knobs().as_object() {
        for (k, v) in knobs {
            props[k] = v.clone();
        }
    }
    json!({ "type": "object", "required": required, "properties": props, "additionalProperties": false })
}

fn plain(required: &[&str], props: Value) -> Value {
    json!({ "type": "object", "required": required, "properties": props, "additionalProperties": false })
}

/// Runs `work` on a blocking thread with the service (models and store block the caller).
async fn blocking<F>(shared: Shared, work: F) -> Result<Value, PluginError>
where
    F: FnOnce(&Service) -> Result<Value, PluginError> + Send + 'static,
{
    tokio::task::spawn_blocking(move || {
        let service = shared.get().ok_or_else(|| errors::model_unavailable("rustyface is not initialized yet"))?;
        work(service)
    })
    .await
    .map_err(|e| PluginError::internal(format!("rustyface worker failed: {e}")))?
}

/// A face given by the caller for `embed` (as detect returned it).
fn given_face(v: &Value) -> Result<Face, PluginError> {
    let bad = || {
        errors::bad_input(
            "bad_face",
            "face must be {landmarks: 5 x [x, y], box?: [x, y, w, h]} as rustyface.detect returns it",
        )
    };
    let marks = v["landmarks"].as_array().filter(|a| a.len() == 5).ok_or_else(bad)?;
    let mut landmarks = [[0f32; 2]; 5];
    for (l, m) in landmarks.iter_mut().zip(marks) {
        let p = m.as_array().filter(|p| p.len() == 2).ok_or_else(bad)?;
        *l = [p[0].as_f64().ok_or_else(bad)? as f32, p[1].as_f64().ok_or_else(bad)? as f32];
    }
    let mut bbox = [0f32; 4];
    if let Some(b) = v["box"].as_array() {
        for (o, x) in bbox.iter_mut().zip(b) {
            *o = x.as_f64().ok_or_else(bad)? as f32;
        }
    }
    Ok(Face { bbox, score: v["score"].as_f64().unwrap_or(1.0) as f32, landmarks })
}

fn detect(s: &Service, p: &Value) -> Result<Value, PluginError> {
    let started = Instant::now();
    let img = s.image(p, "image")?;
    let faces = s.detect(&img, p)?;
    Ok(
        json!({ "faces": faces, "width": img.width(), "height": img.height(), "ms": started.elapsed().as_secs_f64() * 1000.0 }),
    )
}

fn embed(s: &Service, p: &Value) -> Result<Value, PluginError> {
    let started = Instant::now();
    let img = s.image(p, "image")?;
    let faces = match p.get("face") {
        Some(f) if !f.is_null() => vec![given_face(f)?],
        _ => s.detect(&img, p)?,
    };
    let mut out = Vec::with_capacity(faces.len());
    for face in faces {
        let e = s.embed_face(&img, face)?;
        let mut v = serde_json::to_value(&e.face).unwrap_or(Value::Null);
        v["embedding"] = json!(e.embedding);
        out.push(v);
    }
    Ok(
        json!({ "faces": out, "dim": crate::recognizer::FEATURE_DIM, "width": img.width(), "height": img.height(), "ms": started.elapsed().as_secs_f64() * 1000.0 }),
    )
}

macro_rules! route {
    ($plugin:expr, $shared:expr, $name:expr, $desc:expr, $schema:expr, $work:expr) => {{
        let shared = $shared.clone();
        $plugin.method($name, $desc, Some($schema), move |params: Value, _ctx: Context| {
            let shared = shared.clone();
            async move { blocking(shared, move |s| $work(s, &params)).await }
        })
    }};
}

pub fn register(plugin: Plugin, shared: &Shared) -> Plugin {
    let img = image_schema();
    let name = json!({ "type": "string", "minLength": 1, "maxLength": 128 });
    let text = json!({ "type": "string", "minLength": 1, "maxLength": 256 });
    let threshold = json!({ "type": "number", "minimum": -1, "maximum": 1 });
    let mut p = plugin;
    p = route!(
        p,
        shared,
        "status",
        "Model, store and thresholds in use, and why a model or store is unavailable",
        plain(&[], json!({})),
        |s: &Service, _p: &Value| Ok(s.status())
    );
    p = route!(
        p,
        shared,
        "detect",
        "Finds faces: {faces: [{box: [x, y, w, h], score, landmarks: 5 x [x, y]}], width, height, ms}",
        object(&["image"], json!({ "image": img })),
        detect
    );
    p = route!(
        p,
        shared,
        "embed",
        "128-d L2-normalised SFace features per detected face (or for the given face)",
        object(&["image"], json!({ "image": img, "face": { "type": "object" } })),
        embed
    );
    p = route!(
        p,
        shared,
        "verify",
        "1:1: cosine similarity of the main faces of images a and b, and whether it reaches the threshold",
        object(&["a", "b"], json!({ "a": img, "b": img, "threshold": threshold })),
        |s: &Service, p: &Value| s.verify(p)
    );
    p = route!(
        p,
        shared,
        "datasets.create",
        "Creates a dataset of people",
        plain(&["name"], json!({ "name": name, "metadata": {} })),
        |s: &Service, p: &Value| s.create_dataset(p)
    );
    p = route!(
        p,
        shared,
        "datasets.list",
        "Datasets with their subject and face counts",
        plain(&[], json!({})),
        |s: &Service, _p: &Value| s.list_datasets()
    );
    p = route!(
        p,
        shared,
        "datasets.delete",
        "Deletes a dataset and every face in it",
        plain(&["name"], json!({ "name": name })),
        |s: &Service, p: &Value| s.delete_dataset(p)
    );
    p = route!(
        p,
        shared,
        "subjects",
        "The subjects of a dataset with their face counts",
        plain(&["dataset"], json!({ "dataset": name })),
        |s: &Service, p: &Value| s.subjects(p)
    );
    p = route!(
        p,
        shared,
        "enroll",
        "Adds the image's main face to a subject of a dataset (several images per subject)",
        object(
            &["dataset", "subject", "image"],
            json!({ "dataset": name, "subject": text, "image": img, "metadata": {} })
        ),
        |s: &Service, p: &Value| s.enroll(p)
    );
    p = route!(
        p,
        shared,
        "identify",
        "1:N: every face in the image with the dataset's best subjects at or above the threshold",
        object(
            &["dataset", "image"],
            json!({ "dataset": name, "image": img, "topK": { "type": "integer", "minimum": 1, "maximum": 100 }, "threshold": threshold })
        ),
        |s: &Service, p: &Value| s.identify(p)
    );
    p = route!(
        p,
        shared,
        "forget",
        "Removes a subject (all its faces) or one face by faceId",
        plain(&["dataset"], json!({ "dataset": name, "subject": text, "faceId": text })),
        |s: &Service, p: &Value| s.forget(p)
    );
    p
}
