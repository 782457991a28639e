//! Wire error codes and the error a handler answers with.

use serde_json::{json, Map, Value};
use std::fmt;

/// The wire error codes of protocol v1 (`src/protocol/src/error-codes.ts`; docs/protocol.md §7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(i64)]
pub enum ErrorCode {
    ParseError = -32700,
    InvalidRequest = -32600,
    MethodNotFound = -32601,
    InvalidParams = -32602,
    InternalError = -32603,
    RequestCancelled = -32800,
    PluginUnavailable = -33000,
    DeadlineExceeded = -33001,
    Overloaded = -33002,
    PermissionDenied = -33003,
    PluginCrashed = -33004,
    Unauthenticated = -33005,
    ProtocolMismatch = -33006,
    PluginError = -33010,
}

impl ErrorCode {
    /// Every code, in the order of the protocol's table.
    pub const ALL: [ErrorCode; 14] = [
        ErrorCode::ParseError,
        ErrorCode::InvalidRequest,
        ErrorCode::MethodNotFound,
        ErrorCode::InvalidParams,
        ErrorCode::InternalError,
        ErrorCode::RequestCancelled,
        ErrorCode::PluginUnavailable,
        ErrorCode::DeadlineExceeded,
        ErrorCode::Overloaded,
        ErrorCode::PermissionDenied,
        ErrorCode::PluginCrashed,
        ErrorCode::Unauthenticated,
        ErrorCode::ProtocolMismatch,
        ErrorCode::PluginError,
    ];

    /// The number on the wire.
    pub const fn code(self) -> i64 {
        self as i64
    }

    /// The protocol's name for the code (`"RequestCancelled"`).
    pub const fn name(self) -> &'static str {
        match self {
            ErrorCode::ParseError => "ParseError",
            ErrorCode::InvalidRequest => "InvalidRequest",
            ErrorCode::MethodNotFound => "MethodNotFound",
            ErrorCode::InvalidParams => "InvalidParams",
            ErrorCode::InternalError => "InternalError",
            ErrorCode::RequestCancelled => "RequestCancelled",
            ErrorCode::PluginUnavailable => "PluginUnavailable",
            ErrorCode::DeadlineExceeded => "DeadlineExceeded",
            ErrorCode::Overloaded => "Overloaded",
            ErrorCode::PermissionDenied => "PermissionDenied",
            ErrorCode::PluginCrashed => "PluginCrashed",
            ErrorCode::Unauthenticated => "Unauthenticated",
            ErrorCode::ProtocolMismatch => "ProtocolMismatch",
            ErrorCode::PluginError => "PluginError",
        }
    }

    /// The protocol code for a number, or `None` for a plugin's own application code.
    pub fn from_code(code: i64) -> Option<ErrorCode> {
        ErrorCode::ALL.iter().copied().find(|c| c.code() == code)
    }
}

impl From<ErrorCode> for i64 {
    fn from(c: ErrorCode) -> i64 {
        c.code()
    }
}

/// A JSON-RPC error: what a handler fails with, and what a failed `bkg/call` returns.
///
/// Any `std::error::Error` converts into one with code -33010 (`PluginError`), so `?` works
/// in handlers; so do `String` and `&str` through [`PluginError::msg`]. Pick another code
/// with [`PluginError::new`]: a plugin's own codes must lie outside -32768..-32000 and
/// -33099..-33000.
#[derive(Debug, Clone, PartialEq)]
pub struct PluginError {
    pub code: i64,
    pub message: String,
    pub data: Option<Value>,
}

impl PluginError {
    /// An error with a code of your choice.
    pub fn new(code: impl Into<i64>, message: impl Into<String>) -> Self {
        PluginError { code: code.into(), message: message.into(), data: None }
    }

    /// A -33010 (`PluginError`) error: the handler failed.
    pub fn msg(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::PluginError, message)
    }

    /// Adds `data` to the error.
    pub fn with_data(mut self, data: Value) -> Self {
        self.data = Some(data);
        self
    }

    /// -32800: the call was cancelled.
    pub fn cancelled() -> Self {
        Self::new(ErrorCode::RequestCancelled, "request cancelled")
    }

    /// -32602: the params are not what the method takes.
    pub fn invalid_params(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidParams, message)
    }

    /// -32603: a bug in the SDK or plugin.
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::InternalError, message)
    }

    /// The protocol code, if the code is one.
    pub fn kind(&self) -> Option<ErrorCode> {
        ErrorCode::from_code(self.code)
    }

    /// Whether this is a -32800 (`RequestCancelled`).
    pub fn is_cancelled(&self) -> bool {
        self.code == ErrorCode::RequestCancelled.code()
    }

    /// The JSON-RPC `error` object.
    pub fn to_json(&self) -> Value {
        let mut m = Map::new();
        m.insert("code".into(), json!(self.code));
        m.insert("message".into(), json!(self.message));
        if let Some(d) = &self.data {
            m.insert("data".into(), d.clone());
        }
        Value::Object(m)
    }

    /// Reads a JSON-RPC `error` object (lenient: a malformed one becomes -32603).
    pub fn from_json(v: &Value) -> Self {
        let code = v.get("code").and_then(Value::as_i64);
        let message = v.get("message").and_then(Value::as_str);
        match (code, message) {
            (Some(code), Some(message)) => {
                PluginError { code, message: message.to_string(), data: v.get("data").cloned() }
            }
            _ => PluginError::internal(format!("malformed JSON-RPC error object: {v}")),
        }
    }
}

impl fmt::Display for PluginError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.message, self.code)
    }
}

/// `?` on any error type in a handler answers -33010 with the error's text.
impl<E: std::error::Error + Send + Sync + 'static> From<E> for PluginError {
    fn from(e: E) -> Self {
        PluginError::msg(e.to_string())
    }
}

/// The standard library error behind a [`PluginError`], for code that needs one
/// (`Box<dyn Error>`). `PluginError` itself does not implement `std::error::Error`, so that
/// every other error can convert into it with `?`.
#[derive(Debug, Clone, PartialEq)]
pub struct PluginErrorBox(pub PluginError);

impl fmt::Display for PluginErrorBox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for PluginErrorBox {}

impl PluginError {
    /// Wraps the error in a type that implements `std::error::Error`.
    pub fn into_std(self) -> PluginErrorBox {
        PluginErrorBox(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn std_errors_become_plugin_errors() {
        fn parse(s: &str) -> Result<i64, PluginError> {
            Ok(s.parse::<i64>()?)
        }
        let e = parse("x").unwrap_err();
        assert_eq!(e.code, -33010);
        assert!(e.message.contains("invalid digit"));
    }

    #[test]
    fn json_round_trip() {
        let e = PluginError::new(-1234, "boom").with_data(json!({"a":1}));
        assert_eq!(e.to_json(), json!({"code":-1234,"message":"boom","data":{"a":1}}));
        assert_eq!(PluginError::from_json(&e.to_json()), e);
        assert_eq!(PluginError::msg("x").to_json(), json!({"code":-33010,"message":"x"}));
    }

    #[test]
    fn codes() {
        assert_eq!(ErrorCode::from_code(-32800), Some(ErrorCode::RequestCancelled));
        assert_eq!(ErrorCode::from_code(1), None);
        assert_eq!(ErrorCode::ProtocolMismatch.name(), "ProtocolMismatch");
    }
}
