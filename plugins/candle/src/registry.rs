//! The trained and loaded models the plugin serves by id. Trained models are saved as
//! `<dataDir>/models/<id>.safetensors`; every model has a record `<dataDir>/models/<id>.json`
//! (what it is, where its file is, its sha256), so models survive restarts and hot swaps: a
//! loaded model is read again from its models-folder path and its sha256 checked.

use crate::errors::{bad_input, failed};
use crate::net::Net;
use bkg_plugin::{json, PluginError, Value};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

#[derive(Clone)]
pub struct Entry {
    pub net: Arc<Net>,
    pub record: Value,
}

pub struct Registry {
    dir: PathBuf,
    models: Mutex<BTreeMap<String, Entry>>,
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

pub fn check_id(id: &str) -> Result<(), PluginError> {
    let ok = !id.is_empty()
        && id.len() <= 64
        && id.chars().next().is_some_and(|c| c.is_ascii_alphanumeric())
        && id.chars().all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c));
    if ok {
        Ok(())
    } else {
        Err(bad_input(
            "bad-id",
            format!("model id {id:?} must be 1-64 letters, digits, '_', '.' or '-', starting with a letter or digit"),
        ))
    }
}

impl Registry {
    /// Opens `<data_dir>/models`, loading what earlier runs saved; returns problems to log.
    pub fn open(data_dir: &Path) -> (Self, Vec<String>) {
        let dir = data_dir.join("models");
        let reg = Registry { dir, models: Mutex::new(BTreeMap::new()) };
        let mut problems = Vec::new();
        let Ok(entries) = std::fs::read_dir(&reg.dir) else {
            return (reg, problems);
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.extension().and_then(|x| x.to_str()) != Some("json") {
                continue;
            }
            match reg.reopen(&p) {
                Ok((id, entry)) => {
                    reg.models.lock().unwrap().insert(id, entry);
                }
                Err(why) => problems.push(format!("{}: {why}", p.display())),
            }
        }
        (reg, problems)
    }

    fn reopen(&self, record_file: &Path) -> Result<(String, Entry), String> {
        let record: Value = serde_json::from_str(&std::fs::read_to_string(record_file).map_err(|e| e.to_string())?)
            .map_err(|e| e.to_string())?;
        let id = record["id"].as_str().ok_or("no id")?.to_string();
        let path = record["path"].as_str().ok_or("no path")?;
        let bytes = std::fs::read(path).map_err(|e| format!("{path}: {e}"))?;
        let sha = sha256_hex(&bytes);
        if Some(sha.as_str()) != record["sha256"].as_str() {
            return Err(format!(
                "{path} changed since it was saved or loaded (sha256 {sha}, recorded {})",
                record["sha256"]
            ));
        }
        let net = Net::load(&bytes, path).map_err(|e| e.message)?;
        Ok((id, Entry { net: Arc::new(net), record }))
    }

    pub fn get(&self, id: &str) -> Result<Entry, PluginError> {
        let models = self.models.lock().unwrap();
        models.get(id).cloned().ok_or_else(|| {
            let known: Vec<&String> = models.keys().collect();
            bad_input(
                "unknown-model",
                format!("no model with id {id:?}; models: {known:?} (candle.train or candle.model.load make one)"),
            )
        })
    }

    fn file_of(&self, id: &str) -> PathBuf {
        self.dir.join(format!("{id}.safetensors"))
    }

    fn write_record(&self, id: &str, record: &Value) -> Result<(), PluginError> {
        let file = self.dir.join(format!("{id}.json"));
        std::fs::write(&file, serde_json::to_vec_pretty(record).unwrap_or_default())
            .map_err(|e| failed("save", format!("cannot write {}: {e}", file.display())))
    }

    /// Saves a trained net under `id` (replacing one of that id) and returns its record.
    pub fn save_trained(&self, id: &str, net: Net, extra: Value) -> Result<Value, PluginError> {
        std::fs::create_dir_all(&self.dir)
            .map_err(|e| failed("save", format!("cannot create {}: {e}", self.dir.display())))?;
        let path = self.file_of(id);
        net.save(&path)?;
        let bytes = std::fs::read(&path).map_err(|e| failed("save", format!("{}: {e}", path.display())))?;
        let mut record = json!({
            "id": id, "source": "trained", "path": path.to_string_lossy(), "sha256": sha256_hex(&bytes),
            "sizeBytes": bytes.len(), "shape": net.shape, "createdAt": now_ms(),
        });
        merge(&mut record, extra);
        self.write_record(id, &record)?;
        self.models.lock().unwrap().insert(id.to_string(), Entry { net: Arc::new(net), record: record.clone() });
        Ok(record)
    }

    /// Loads a file (already resolved inside the models folder) under `id`, checking `sha256` when given.
    pub fn load_file(&self, id: &str, path: &Path, expected_sha: Option<&str>) -> Result<Value, PluginError> {
        let shown = path.to_string_lossy().to_string();
        let bytes = std::fs::read(path).map_err(|e| bad_input("file-not-found", format!("{shown}: {e}")))?;
        let sha = sha256_hex(&bytes);
        if let Some(want) = expected_sha {
            if !want.eq_ignore_ascii_case(&sha) {
                return Err(bad_input("sha256-mismatch", format!("{shown} has sha256 {sha}, not the {want} asked for: the file is not the one you meant, or it changed")));
            }
        }
        let net = Net::load(&bytes, &shown)?;
        std::fs::create_dir_all(&self.dir)
            .map_err(|e| failed("save", format!("cannot create {}: {e}", self.dir.display())))?;
        let record = json!({ "id": id, "source": "loaded", "path": shown, "sha256": sha, "sizeBytes": bytes.len(), "shape": net.shape, "createdAt": now_ms() });
        self.write_record(id, &record)?;
        self.models.lock().unwrap().insert(id.to_string(), Entry { net: Arc::new(net), record: record.clone() });
        Ok(record)
    }

    pub fn list(&self) -> Vec<Value> {
        self.models.lock().unwrap().values().map(|e| e.record.clone()).collect()
    }

    pub fn count(&self) -> usize {
        self.models.lock().unwrap().len()
    }

    /// Forgets `id`; a trained model's file goes too (a loaded one's file is the store's, left alone).
    pub fn delete(&self, id: &str) -> Result<Value, PluginError> {
        let entry = self.get(id)?;
        self.models.lock().unwrap().remove(id);
        let _ = std::fs::remove_file(self.dir.join(format!("{id}.json")));
        let trained = entry.record["source"] == "trained";
        if trained {
            let _ = std::fs::remove_file(self.file_of(id));
        }
        Ok(json!({ "id": id, "deleted": true, "fileRemoved": trained }))
    }
}

fn merge(into: &mut Value, extra: Value) {
    if let (Some(a), Value::Object(b)) = (into.as_object_mut(), extra) {
        a.extend(b);
    }
}

/// Milliseconds since the epoch, as JavaScript's Date.now().
fn now_ms() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}
