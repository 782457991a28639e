//! The plugin's settings: the manifest's `config` object handed over at `initialize`, with defaults.

use serde::Deserialize;
use std::path::{Path, PathBuf};

/// OpenCV's published cosine threshold for SFace (FaceRecognizerSF, `cosine >= 0.363` = same person).
pub const SFACE_COSINE_THRESHOLD: f32 = 0.363;

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct Config {
    /// The model store entry holding the `detector` and `recognizer` files.
    pub model: String,
    /// Overrides `$BKG_MODELS_DIR` (the daemon's model store).
    pub models_dir: Option<PathBuf>,
    /// libonnxruntime.so.1; by default the one the onnxruntime-node npm package ships, found by
    /// walking up from the plugin's folder to a node_modules/onnxruntime-node.
    pub onnxruntime_library: Option<PathBuf>,
    /// Intra-op threads per ONNX Runtime session.
    pub threads: usize,
    /// YuNet: the lowest face score kept (0..1).
    pub score_threshold: f32,
    /// YuNet: boxes overlapping a better one by more than this IoU are dropped.
    pub nms_threshold: f32,
    /// At most this many faces per image (the best scores).
    pub max_faces: usize,
    /// Cosine similarity at or above which two faces are the same person.
    pub match_threshold: f32,
    /// Largest encoded image accepted (bytes, after base64 decoding).
    pub max_image_bytes: usize,
    /// Largest decoded image accepted: width * height.
    pub max_image_pixels: u64,
    /// Largest width or height accepted.
    pub max_image_side: u32,
    /// Folders an `{ "path": ... }` image may be read from (relative to the plugin's folder; `~/`
    /// is the home folder). Empty: none.
    pub image_roots: Vec<PathBuf>,
    /// PostgreSQL (with pgvector) connection URL for datasets; unset: SQLite in the plugin's data folder.
    pub postgres_url: Option<String>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            model: "yunet-sface".into(),
            models_dir: None,
            onnxruntime_library: None,
            threads: 1,
            score_threshold: 0.9,
            nms_threshold: 0.3,
            max_faces: 100,
            match_threshold: SFACE_COSINE_THRESHOLD,
            max_image_bytes: 32 * 1024 * 1024,
            max_image_pixels: 40_000_000,
            max_image_side: 12_000,
            image_roots: Vec::new(),
            postgres_url: None,
        }
    }
}

impl Config {
    /// Parses and checks the `config` object; the error names the field and the reason.
    pub fn from_json(value: &serde_json::Value) -> Result<Config, String> {
        let cfg: Config = if value.is_null() {
            Config::default()
        } else {
            serde_json::from_value(value.clone()).map_err(|e| format!("rustyface config: {e}"))?
        };
        let unit = |name: &str, v: f32| {
            if (0.0..=1.0).contains(&v) {
                Ok(())
            } else {
                Err(format!("rustyface config: {name} must be between 0 and 1, got {v}"))
            }
        };
        unit("scoreThreshold", cfg.score_threshold)?;
        unit("nmsThreshold", cfg.nms_threshold)?;
        if !(-1.0..=1.0).contains(&cfg.match_threshold) {
            return Err(format!(
                "rustyface config: matchThreshold must be between -1 and 1, got {}",
                cfg.match_threshold
            ));
        }
        if cfg.threads == 0 || cfg.threads > 64 {
            return Err(format!("rustyface config: threads must be 1..64, got {}", cfg.threads));
        }
        // "~/photos" in a manifest means the user's home, as in a shell.
        let home = std::env::var_os("HOME").map(PathBuf::from);
        let mut cfg = cfg;
        for root in cfg.image_roots.iter_mut() {
            if let (Ok(rest), Some(home)) = (root.strip_prefix("~"), &home) {
                *root = home.join(rest);
            }
        }
        if cfg.max_faces == 0 {
            return Err("rustyface config: maxFaces must be at least 1".into());
        }
        Ok(cfg)
    }

    /// The model store folder: `modelsDir`, else `$BKG_MODELS_DIR`.
    pub fn models_root(&self) -> Option<PathBuf> {
        self.models_dir.clone().or_else(|| std::env::var_os("BKG_MODELS_DIR").map(PathBuf::from))
    }

    /// The ONNX Runtime library to load: `onnxruntimeLibrary`, `$ORT_DYLIB_PATH`, else the
    /// onnxruntime-node package's copy above the plugin's folder or executable.
    pub fn onnxruntime_path(&self) -> Result<PathBuf, String> {
        if let Some(p) = &self.onnxruntime_library {
            return Ok(p.clone());
        }
        if let Some(p) = std::env::var_os("ORT_DYLIB_PATH") {
            return Ok(PathBuf::from(p));
        }
        let rel = Path::new("node_modules/onnxruntime-node/bin/napi-v6").join(platform_dir()).join(LIB_NAME);
        let starts = [std::env::current_dir().ok(), std::env::current_exe().ok()];
        for start in starts.into_iter().flatten() {
            for dir in start.ancestors() {
                let candidate = dir.join(&rel);
                if candidate.is_file() {
                    return Ok(candidate);
                }
            }
        }
        Err(format!(
            "cannot find ONNX Runtime: no {} above the plugin's folder (run `npm install` in the bkg checkout, or set config.onnxruntimeLibrary)",
            rel.display()
        ))
    }
}

#[cfg(target_os = "macos")]
const LIB_NAME: &str = "libonnxruntime.1.dylib";
#[cfg(not(target_os = "macos"))]
const LIB_NAME: &str = "libonnxruntime.so.1";

fn platform_dir() -> PathBuf {
    let os = if cfg!(target_os = "macos") { "darwin" } else { "linux" };
    let arch = if cfg!(target_arch = "aarch64") { "arm64" } else { "x64" };
    Path::new(os).join(arch)
}
