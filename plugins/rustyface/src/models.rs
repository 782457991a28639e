//! Loading the two ONNX models from the daemon's model store (`<models dir>/<name>/model.json`,
//! roles `detector` and `recognizer`) into ONNX Runtime sessions.

use crate::config::Config;
use ort::session::builder::GraphOptimizationLevel;
use ort::session::Session;
use serde::Deserialize;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

#[derive(Deserialize)]
struct ModelRecord {
    format: Option<String>,
    files: std::collections::HashMap<String, String>,
}

/// The two sessions. ONNX Runtime's `run` needs `&mut`, so each sits behind a mutex: one image
/// at a time per model; `threads` sets how many cores that one image uses.
pub struct Models {
    pub detector: Mutex<Session>,
    pub recognizer: Mutex<Session>,
    pub files: [PathBuf; 2],
}

static ENVIRONMENT: OnceLock<Result<ort::environment::Environment, String>> = OnceLock::new();

/// Loads ONNX Runtime (once per process) from the configured library.
fn environment(cfg: &Config) -> Result<&'static ort::environment::Environment, String> {
    ENVIRONMENT
        .get_or_init(|| {
            let lib = cfg.onnxruntime_path()?;
            let builder =
                ort::init_from(&lib).map_err(|e| format!("cannot load ONNX Runtime from {}: {e}", lib.display()))?;
            builder
                .with_name("rustyface")
                .build()
                .map_err(|e| format!("cannot start ONNX Runtime from {}: {e}", lib.display()))
        })
        .as_ref()
        .map_err(|e| e.clone())
}

/// Finds and loads the configured model; the error says what to do (pull it, re-pull it, ...).
/// Blocks for the load (tens of milliseconds).
pub fn load(cfg: &Config) -> Result<Models, String> {
    let root = cfg.models_root().ok_or_else(|| {
        "no model store: BKG_MODELS_DIR is not set (the daemon sets it) and config.modelsDir is empty".to_string()
    })?;
    let dir = root.join(&cfg.model);
    let record_file = dir.join("model.json");
    let text = std::fs::read_to_string(&record_file)
        .map_err(|_| format!("model \"{}\" is not pulled: run `bkg models pull {}`", cfg.model, cfg.model))?;
    let record: ModelRecord = serde_json::from_str(&text).map_err(|e| {
        format!(
            "{} is not a valid model record ({e}): run `bkg models pull {}` again",
            record_file.display(),
            cfg.model
        )
    })?;
    if let Some(format) = &record.format {
        if format != "onnx" {
            return Err(format!(
                "model \"{}\" has format {format}; rustyface needs an ONNX face model pair such as yunet-sface",
                cfg.model
            ));
        }
    }
    let file = |role: &str| -> Result<PathBuf, String> {
        let name = record.files.get(role).ok_or_else(|| {
            format!("model \"{}\" has no {role} file (model.json files.{role}); rustyface needs a detector and a recognizer", cfg.model)
        })?;
        Ok(dir.join(name))
    };
    let detector_file = file("detector")?;
    let recognizer_file = file("recognizer")?;
    let env = environment(cfg)?;
    let detector = session(env, &detector_file, cfg, &cfg.model)?;
    let recognizer = session(env, &recognizer_file, cfg, &cfg.model)?;
    check_io(&detector, "input", &detector_file)?;
    check_io(&recognizer, "data", &recognizer_file)?;
    Ok(Models {
        detector: Mutex::new(detector),
        recognizer: Mutex::new(recognizer),
        files: [detector_file, recognizer_file],
    })
}

fn session(env: &ort::environment::Environment, file: &Path, cfg: &Config, model: &str) -> Result<Session, String> {
    if !file.is_file() {
        return Err(format!("model \"{model}\" is missing {}: run `bkg models pull {model}` again", file.display()));
    }
    let fail = |e: String| {
        format!("model \"{model}\": {} cannot be loaded ({e}); the file may be corrupt: run `bkg models pull {model}` again", file.display())
    };
    Session::builder(env)
        .map_err(|e| fail(e.to_string()))?
        .with_optimization_level(GraphOptimizationLevel::Level3)
        .map_err(|e| fail(e.to_string()))?
        .with_intra_threads(cfg.threads)
        .map_err(|e| fail(e.to_string()))?
        .with_inter_threads(1)
        .map_err(|e| fail(e.to_string()))?
        .commit_from_file(file)
        .map_err(|e| fail(e.to_string()))
}

fn check_io(session: &Session, input: &str, file: &Path) -> Result<(), String> {
    if session.inputs().iter().any(|i| i.name() == input) {
        Ok(())
    } else {
        Err(format!("{} is not the expected face model: it has no input named {input:?}", file.display()))
    }
}
