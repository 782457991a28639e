//! rustyface: a bkg plugin for face detection (YuNet), alignment and recognition (SFace) on
//! ONNX Runtime, with datasets of people in SQLite or PostgreSQL + pgvector. docs/rustyface.md.

mod config;
mod detector;
mod errors;
mod geometry;
mod image_input;
mod methods;
mod models;
mod recognizer;
mod service;
mod store;

use bkg_plugin::{json, Level, Plugin, PluginError};
use std::sync::{Arc, OnceLock};

fn main() {
    let shared: methods::Shared = Arc::new(OnceLock::new());
    let on_activate = shared.clone();
    let plugin = Plugin::new("rustyface", env!("CARGO_PKG_VERSION")).on_activate(move |ctx| async move {
        let cfg = config::Config::from_json(ctx.config()).map_err(PluginError::invalid_params)?;
        let data_dir = ctx.data_dir().map(|d| d.to_path_buf());
        let service = tokio::task::spawn_blocking(move || service::Service::start(cfg, data_dir.as_deref()))
            .await
            .map_err(|e| PluginError::internal(format!("rustyface failed to start: {e}")))?;
        // A missing or corrupt model is reported here and by every model method; the plugin
        // stays up so the dataset methods keep working.
        if let Some(e) = service.model_error() {
            ctx.log(Level::Error, "face models unavailable", json!({ "error": e }));
        }
        if let Some(e) = service.store_error() {
            ctx.log(Level::Error, "dataset store unavailable", json!({ "error": e }));
        }
        ctx.log(Level::Info, "rustyface ready", service.status());
        let _ = on_activate.set(service);
        Ok(())
    });
    methods::register(plugin, &shared).run_blocking()
}
