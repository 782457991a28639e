//! Errors as values a person can act on: bad input is -32602 (InvalidParams) with `data.reason`
//! naming the kind of problem; failures of the model or the training are -33010 (PluginError).

use bkg_plugin::{json, PluginError};

/// The caller's input is wrong; `reason` is a stable machine-readable tag.
pub fn bad_input(reason: &str, message: impl Into<String>) -> PluginError {
    PluginError::invalid_params(message).with_data(json!({ "reason": reason }))
}

/// Something failed on our side (a model that does not load, a tensor op): the message says what.
pub fn failed(reason: &str, message: impl Into<String>) -> PluginError {
    PluginError::msg(message).with_data(json!({ "reason": reason }))
}

/// A candle error inside an operation the input already passed checks for.
pub fn tensor_error(what: &str, e: candle_core::Error) -> PluginError {
    failed("tensor", format!("{what}: {e}"))
}
