//! The lifecycle: the `initialize` handshake (protocol version check, `activate`), `shutdown`
//! (grace period, then cancel) and the final stop (`exit`, end of input), with `deactivate` run
//! once.

use super::calls::panic_text;
use super::engine::Engine;
use super::shared::{InitInfo, Phase};
use crate::cancel::CancelReason;
use crate::error::{ErrorCode, PluginError};
use crate::PROTOCOL_VERSION;
use serde_json::{json, Map, Value};
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

impl Engine {
    pub(super) fn initialize(self: &Arc<Self>, id: Value, params: Value) {
        let out = &self.shared.out;
        if self.shared.phase() != Phase::Starting {
            return out
                .respond(&id, Err(PluginError::new(ErrorCode::InvalidRequest, "initialize was already received")));
        }
        let theirs = params.get("protocolVersion").and_then(Value::as_str);
        let ours_major = major(PROTOCOL_VERSION);
        if theirs.and_then(major) != ours_major {
            self.shared.set_phase(Phase::Failed);
            let msg = match theirs {
                Some(v) => format!(
                    "protocol mismatch: the daemon speaks {v}, plugin {} speaks {PROTOCOL_VERSION}",
                    self.shared.name
                ),
                None => format!(
                    "protocol mismatch: the daemon sent no protocolVersion, plugin {} speaks {PROTOCOL_VERSION}",
                    self.shared.name
                ),
            };
            let err = PluginError::new(ErrorCode::ProtocolMismatch, msg)
                .with_data(json!({ "daemon": theirs, "plugin": PROTOCOL_VERSION }));
            return out.respond(&id, Err(err));
        }
        let plugin = params.get("plugin");
        let s = |v: Option<&Value>| v.and_then(Value::as_str).map(str::to_string);
        let data_dir = s(plugin.and_then(|p| p.get("dataDir")))
            .or_else(|| std::env::var("BKG_DATA_DIR").ok())
            .filter(|d| !d.is_empty())
            .map(PathBuf::from);
        let info = InitInfo {
            config: params.get("config").cloned().unwrap_or_else(|| json!({})),
            data_dir,
            name: s(plugin.and_then(|p| p.get("name"))),
            instance_id: s(plugin.and_then(|p| p.get("instanceId"))).or_else(|| std::env::var("BKG_INSTANCE_ID").ok()),
            daemon_version: s(params.get("daemon").and_then(|d| d.get("version"))),
            params,
        };
        let _ = self.shared.init.set(info);
        self.shared.set_phase(Phase::Activating);
        let engine = self.clone();
        tokio::spawn(async move {
            let hook = engine.activate.lock().unwrap().take();
            let outcome = match hook {
                Some(hook) => run_hook("activate", hook(engine.shared.context())).await,
                None => Ok(()),
            };
            let out = &engine.shared.out;
            match outcome {
                Ok(()) => {
                    let mut result = Map::new();
                    result.insert("protocolVersion".into(), json!(PROTOCOL_VERSION));
                    result.insert("name".into(), json!(engine.shared.name));
                    result.insert("version".into(), json!(engine.version));
                    result.insert("methods".into(), Value::Array(engine.descriptors.clone()));
                    if !engine.events.is_empty() {
                        result.insert("events".into(), json!(engine.events));
                    }
                    if engine.shared.phase() == Phase::Activating {
                        engine.shared.set_phase(Phase::Answered);
                    }
                    out.respond(&id, Ok(Value::Object(result)));
                }
                Err(e) => {
                    engine.shared.set_phase(Phase::Failed);
                    out.respond(&id, Err(PluginError { message: format!("activate failed: {}", e.message), ..e }));
                }
            }
        });
    }

    pub(super) fn shutdown(self: &Arc<Self>, id: Value) {
        let prev = self.shared.phase();
        if !matches!(prev, Phase::ShuttingDown | Phase::Closed) {
            self.shared.set_phase(Phase::ShuttingDown);
        }
        let engine = self.clone();
        tokio::spawn(async move {
            // Let in-flight calls finish, then cancel what is left.
            let mut count = engine.shared.inflight_count.subscribe();
            let drained = tokio::time::timeout(engine.shutdown_grace, count.wait_for(|n| *n == 0)).await.is_ok();
            if !drained {
                engine.cancel_all(CancelReason::Shutdown);
                let _ = tokio::time::timeout(
                    engine.cancel_settle + Duration::from_millis(200),
                    count.wait_for(|n| *n == 0),
                )
                .await;
            }
            if matches!(prev, Phase::Answered | Phase::Ready | Phase::ShuttingDown) {
                engine.deactivate(None).await;
            }
            engine.shared.out.respond(&id, Ok(Value::Null));
        });
    }

    /// The end: stdin closed, `exit`, or a broken stream. Cancels what runs, deactivates
    /// (bounded), and lets in-flight answers reach the writer.
    pub(super) async fn stop(&self, reason: CancelReason) {
        let was = self.shared.phase();
        self.cancel_all(reason);
        self.shared.life_token.cancel(reason);
        if matches!(was, Phase::Answered | Phase::Ready | Phase::ShuttingDown) {
            self.deactivate(Some(self.hook_timeout)).await;
        }
        let mut count = self.shared.inflight_count.subscribe();
        let _ =
            tokio::time::timeout(self.cancel_settle + Duration::from_millis(100), count.wait_for(|n| *n == 0)).await;
    }

    /// Runs `deactivate` once; later callers wait for the first run (bounded by `limit`).
    async fn deactivate(&self, limit: Option<Duration>) {
        let work = async {
            if !self.deactivate_started.swap(true, Ordering::AcqRel) {
                let hook = self.deactivate.lock().unwrap().take();
                if let Some(hook) = hook {
                    if let Err(e) = run_hook("deactivate", hook(self.shared.context())).await {
                        eprintln!("bkg-plugin: deactivate failed: {}", e.message);
                    }
                }
                self.deactivate_done.send_replace(true);
            } else {
                let mut done = self.deactivate_done.subscribe();
                let _ = done.wait_for(|d| *d).await;
            }
        };
        match limit {
            Some(l) => {
                if tokio::time::timeout(l, work).await.is_err() {
                    eprintln!("bkg-plugin: deactivate did not finish within {} ms", l.as_millis());
                }
            }
            None => work.await,
        }
    }
}

/// Runs a lifecycle hook in a task of its own so a panic becomes an error.
async fn run_hook(what: &str, fut: crate::plugin::BoxFuture<Result<(), PluginError>>) -> Result<(), PluginError> {
    match tokio::spawn(fut).await {
        Ok(r) => r,
        Err(e) => Err(PluginError::msg(format!("{what} panicked: {}", panic_text(e)))),
    }
}

fn major(v: &str) -> Option<u64> {
    v.trim().trim_start_matches('v').split('.').next()?.parse().ok()
}
