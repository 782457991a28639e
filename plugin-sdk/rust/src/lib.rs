//! # bkg-plugin — write bkg plugins in Rust
//!
//! A bkg plugin is a child process speaking JSON-RPC 2.0 over stdio with Content-Length
//! framing (docs/protocol.md, protocol v1). This crate does the protocol: the handshake,
//! concurrent calls (each in its own tokio task), cancellation and deadlines, streaming,
//! `bkg/call`, events, logs, health pings, shutdown and exit.
//!
//! ```no_run
//! use bkg_plugin::{json, Plugin};
//!
//! fn main() {
//!     Plugin::new("echo", "1.0.0")
//!         .method(
//!             "reverse",
//!             "Reverses text",
//!             Some(json!({"type":"object","required":["text"],"properties":{"text":{"type":"string"}}})),
//!             |params, _ctx| async move {
//!                 let text = params["text"].as_str().unwrap_or("");
//!                 Ok(json!(text.chars().rev().collect::<String>()))
//!             },
//!         )
//!         .streaming("count", "Counts to n", None, |params, ctx| async move {
//!             let n = params["n"].as_u64().unwrap_or(3);
//!             for i in 0..n {
//!                 ctx.progress(json!({ "i": i })).await;
//!             }
//!             Ok(json!({ "count": n }))
//!         })
//!         .run_blocking(); // serves until `exit` or stdin closes, then exits the process
//! }
//! ```
//!
//! With tokio's `macros` feature enabled in your own `Cargo.toml`, `#[tokio::main] async fn
//! main()` with `.run().await` is the same thing. The SDK itself does not need the feature.

mod cancel;
mod context;
mod error;
pub mod framing;
mod plugin;
mod race;
mod runtime;
mod trace;

pub use cancel::{CancelReason, CancellationToken};
pub use context::{Context, Level};
pub use error::{ErrorCode, PluginError, PluginErrorBox};
pub use plugin::Plugin;
pub use serde_json::{json, Value};
pub use trace::{parse_traceparent, Trace};

/// The protocol version this SDK speaks.
pub const PROTOCOL_VERSION: &str = "1.0.0";

/// A handler's result.
pub type HandlerResult = Result<Value, PluginError>;
