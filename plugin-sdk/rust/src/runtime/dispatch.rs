//! Routing incoming messages: JSON-RPC validation, then requests, notifications and responses
//! to the part of the engine that handles them.

use super::engine::Engine;
use super::shared::Phase;
use crate::cancel::CancelReason;
use crate::error::{ErrorCode, PluginError};
use serde_json::{Map, Value};
use std::sync::Arc;

impl Engine {
    /// Handles one message; `Some(code)` means exit now.
    pub(super) async fn handle(self: &Arc<Self>, msg: Value) -> Option<i32> {
        let out = &self.shared.out;
        let Value::Object(mut obj) = msg else {
            let what = if msg.is_array() { "batches are not supported" } else { "a message must be an object" };
            out.respond(&Value::Null, Err(PluginError::new(ErrorCode::InvalidRequest, what)));
            return None;
        };
        let id = obj.remove("id");
        let has_id = id.is_some();
        let id_ok = matches!(id, Some(Value::String(_)) | Some(Value::Number(_)));
        if obj.get("jsonrpc").and_then(Value::as_str) != Some("2.0") {
            if has_id {
                let rid = if id_ok { id.unwrap() } else { Value::Null };
                out.respond(&rid, Err(PluginError::new(ErrorCode::InvalidRequest, "jsonrpc must be \"2.0\"")));
            }
            return None;
        }
        let method = match obj.remove("method") {
            Some(Value::String(m)) => Some(m),
            Some(_) => {
                if has_id {
                    let rid = if id_ok { id.unwrap() } else { Value::Null };
                    out.respond(&rid, Err(PluginError::new(ErrorCode::InvalidRequest, "method must be a string")));
                }
                return None;
            }
            None => None,
        };
        match (method, id) {
            (Some(method), Some(id)) => {
                if !id_ok {
                    out.respond(
                        &Value::Null,
                        Err(PluginError::new(ErrorCode::InvalidRequest, "id must be a string or a number")),
                    );
                    return None;
                }
                let params = obj.remove("params").unwrap_or(Value::Null);
                self.request(id, method, params);
                None
            }
            (Some(method), None) => {
                let params = obj.remove("params").unwrap_or(Value::Null);
                self.notification(&method, params).await
            }
            (None, Some(id)) => {
                if obj.contains_key("result") || obj.contains_key("error") {
                    self.response(id, obj);
                } else if id_ok {
                    out.respond(&id, Err(PluginError::new(ErrorCode::InvalidRequest, "a request needs a method")));
                }
                None
            }
            (None, None) => {
                eprintln!("bkg-plugin: ignoring a message with neither method nor id");
                None
            }
        }
    }

    fn response(&self, id: Value, mut obj: Map<String, Value>) {
        let key = match &id {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        let Some(tx) = self.shared.pending.lock().unwrap().remove(&key) else {
            return; // late answer to a call we gave up on
        };
        let result = match obj.remove("error") {
            Some(e) if !e.is_null() => Err(PluginError::from_json(&e)),
            _ => Ok(obj.remove("result").unwrap_or(Value::Null)),
        };
        let _ = tx.send(result);
    }

    async fn notification(self: &Arc<Self>, method: &str, params: Value) -> Option<i32> {
        match method {
            "initialized" => {
                if self.shared.phase() == Phase::Answered {
                    self.shared.set_phase(Phase::Ready);
                    self.shared.release_emits();
                }
                None
            }
            "$/cancelRequest" => {
                if let Some(id) = params.get("id") {
                    let token = self.shared.inflight.lock().unwrap().get(&id.to_string()).cloned();
                    if let Some(t) = token {
                        t.cancel(CancelReason::Cancelled);
                    }
                }
                None
            }
            "exit" => {
                self.stop(CancelReason::Shutdown).await;
                Some(0)
            }
            _ => None, // unknown notifications are ignored
        }
    }
}
