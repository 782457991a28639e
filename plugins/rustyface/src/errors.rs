//! The errors rustyface answers: a wire code, a message a person can act on, and `data.reason`
//! so a program can tell the cases apart (docs/rustyface.md lists them).

use bkg_plugin::{json, ErrorCode, PluginError};

/// Bad input from the caller: -32602 with `data.reason`.
pub fn bad_input(reason: &str, message: impl Into<String>) -> PluginError {
    PluginError::new(ErrorCode::InvalidParams.code(), message).with_data(json!({ "reason": reason }))
}

/// Something the caller named does not exist (dataset, subject, face): -33010 with `data.reason: "not_found"`.
pub fn not_found(message: impl Into<String>) -> PluginError {
    PluginError::new(ErrorCode::PluginError.code(), message).with_data(json!({ "reason": "not_found" }))
}

/// A dataset that exists already: -33010 with `data.reason: "exists"`.
pub fn exists(message: impl Into<String>) -> PluginError {
    PluginError::new(ErrorCode::PluginError.code(), message).with_data(json!({ "reason": "exists" }))
}

/// The models could not be loaded at initialize: every model method answers this (-33010,
/// `data.reason: "model_unavailable"`) while the dataset methods keep working.
pub fn model_unavailable(message: impl Into<String>) -> PluginError {
    PluginError::new(ErrorCode::PluginError.code(), message).with_data(json!({ "reason": "model_unavailable" }))
}

/// The dataset store failed (database error): -33010 with `data.reason: "store"`.
pub fn store(message: impl Into<String>) -> PluginError {
    PluginError::new(ErrorCode::PluginError.code(), message).with_data(json!({ "reason": "store" }))
}

/// ONNX Runtime failed while running a model: -33010 with `data.reason: "inference"`.
pub fn inference(message: impl Into<String>) -> PluginError {
    PluginError::new(ErrorCode::PluginError.code(), message).with_data(json!({ "reason": "inference" }))
}
