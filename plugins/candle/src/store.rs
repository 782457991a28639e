//! The daemon's model store, read only: `$BKG_MODELS_DIR/<name>/model.json` describes each
//! pulled model (format, files by role, sha256). The plugin never writes there.

use crate::errors::bad_input;
use bkg_plugin::PluginError;
use serde::Deserialize;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Deserialize)]
pub struct ModelRecord {
    pub name: String,
    pub format: String,
    #[serde(default)]
    pub files: HashMap<String, String>,
    #[serde(skip)]
    pub dir: PathBuf,
}

impl ModelRecord {
    /// The file that plays `role` (weights, tokenizer, config), absolute.
    pub fn file(&self, role: &str) -> Result<PathBuf, PluginError> {
        self.files.get(role).map(|f| self.dir.join(f)).ok_or_else(|| {
            bad_input(
                "model-incomplete",
                format!("model \"{}\" has no \"{role}\" file in its model.json (files: {:?}); pull it again: `bkg models pull {}`", self.name, self.files, self.name),
            )
        })
    }

    /// A BERT embedder this plugin can serve: safetensors weights with a tokenizer and a config.
    pub fn is_bert_embedder(&self) -> bool {
        self.format == "safetensors" && ["weights", "tokenizer", "config"].iter().all(|r| self.files.contains_key(*r))
    }
}

/// `$BKG_MODELS_DIR`, which the daemon sets for every plugin.
pub fn models_dir() -> Result<PathBuf, PluginError> {
    match std::env::var("BKG_MODELS_DIR") {
        Ok(d) if !d.is_empty() => Ok(PathBuf::from(d)),
        _ => Err(bad_input(
            "no-models-dir",
            "BKG_MODELS_DIR is not set: run the plugin under a bkg daemon (config models.dir)",
        )),
    }
}

/// The record of a pulled model, or the error that says how to pull it.
pub fn read_record(name: &str) -> Result<ModelRecord, PluginError> {
    if name.is_empty() || name.contains('/') || name.contains("..") {
        return Err(bad_input("bad-model-name", format!("model name {name:?} is not a model name")));
    }
    let dir = models_dir()?.join(name);
    read_record_in(&dir).ok_or_else(|| {
        bad_input("model-not-pulled", format!("model \"{name}\" is not pulled: run `bkg models pull {name}`"))
    })
}

fn read_record_in(dir: &Path) -> Option<ModelRecord> {
    let text = std::fs::read_to_string(dir.join("model.json")).ok()?;
    let mut r: ModelRecord = serde_json::from_str(&text).ok()?;
    r.dir = dir.to_path_buf();
    Some(r)
}

/// Every pulled model (those whose model.json reads).
pub fn list_records() -> Vec<ModelRecord> {
    let Ok(dir) = models_dir() else { return vec![] };
    let Ok(entries) = std::fs::read_dir(dir) else {
        return vec![];
    };
    let mut out: Vec<ModelRecord> = entries.filter_map(|e| e.ok()).filter_map(|e| read_record_in(&e.path())).collect();
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}

/// `path` (absolute, or relative to the models folder) resolved, if it stays inside the models
/// folder once symlinks and `..` are resolved.
pub fn inside_models_dir(path: &str) -> Result<PathBuf, PluginError> {
    let root = models_dir()?;
    let root = root
        .canonicalize()
        .map_err(|e| bad_input("no-models-dir", format!("the models folder {} cannot be read: {e}", root.display())))?;
    let candidate = if Path::new(path).is_absolute() { PathBuf::from(path) } else { root.join(path) };
    let resolved = candidate.canonicalize().map_err(|e| {
        bad_input("file-not-found", format!("{path}: {e} (paths are relative to the models folder {})", root.display()))
    })?;
    if !resolved.starts_with(&root) {
        return Err(bad_input(
            "path-outside-models",
            format!("path {path} resolves to {}, outside the models folder {}: only files in the models folder can be loaded", resolved.display(), root.display()),
        ));
    }
    Ok(resolved)
}
