//! Running method calls: one tokio task per call, raced against cancellation and the deadline;
//! a panicking handler becomes an error answer.

use super::engine::Engine;
use super::shared::Phase;
use crate::cancel::{CancelReason, CancellationToken};
use crate::context::{cancel_error, now_ms, Context, ProgressSink, Request};
use crate::error::{ErrorCode, PluginError};
use crate::race::{race3, First};
use serde_json::{json, Map, Value};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::task::JoinHandle;

impl Engine {
    pub(super) fn request(self: &Arc<Self>, id: Value, method: String, params: Value) {
        let out = &self.shared.out;
        match method.as_str() {
            "bkg/ping" => return out.respond(&id, Ok(json!({ "now": now_ms() }))),
            "initialize" => return self.initialize(id, params),
            "shutdown" => return self.shutdown(id),
            _ => {}
        }
        match self.shared.phase() {
            Phase::Answered | Phase::Ready => {}
            Phase::Starting | Phase::Activating => {
                return out.respond(
                    &id,
                    Err(PluginError::new(
                        ErrorCode::InvalidRequest,
                        format!("{method}: the plugin is not initialized yet"),
                    )),
                );
            }
            Phase::Failed => {
                return out.respond(
                    &id,
                    Err(PluginError::new(
                        ErrorCode::PluginUnavailable,
                        format!("{method}: the plugin failed to initialize"),
                    )),
                );
            }
            Phase::ShuttingDown | Phase::Closed => {
                return out.respond(
                    &id,
                    Err(PluginError::new(
                        ErrorCode::PluginUnavailable,
                        format!("{method}: the plugin is shutting down"),
                    )),
                );
            }
        }
        let Some(info) = self.methods.get(&method).cloned() else {
            let known = if self.method_names.is_empty() { "none".to_string() } else { self.method_names.join(", ") };
            let err = PluginError::new(
                ErrorCode::MethodNotFound,
                format!("unknown method {method:?}; known methods: {known}"),
            )
            .with_data(json!({ "method": method, "methods": self.method_names }));
            return out.respond(&id, Err(err));
        };
        let mut params = match params {
            Value::Object(m) => m,
            Value::Null => Map::new(),
            _ => {
                return out
                    .respond(&id, Err(PluginError::invalid_params(format!("{method}: params must be an object"))));
            }
        };
        let meta = params.remove("_meta").unwrap_or(Value::Null);
        let deadline_ms =
            meta.get("deadline").and_then(|d| d.as_u64().or_else(|| d.as_f64().map(|f| f.max(0.0) as u64)));
        let progress = match meta.get("progressToken") {
            Some(t) if t.is_string() || t.is_number() => ProgressSink::Token(t.clone()),
            _ if info.streaming => ProgressSink::Collect(Mutex::new(Vec::new())),
            _ => ProgressSink::Drop,
        };
        let token = CancellationToken::new();
        let key = id.to_string();
        self.shared.inflight.lock().unwrap().insert(key.clone(), token.clone());
        self.shared.inflight_count.send_modify(|n| *n += 1);
        let req = Arc::new(Request { id, method, meta, deadline_ms, token, progress, done: AtomicBool::new(false) });
        let ctx = Context { shared: self.shared.clone(), req: Some(req.clone()) };
        let engine = self.clone();
        tokio::spawn(async move {
            let handle = tokio::spawn((info.handler)(Value::Object(params), ctx));
            let mut result = engine.supervise(&req, handle).await;
            req.done.store(true, Ordering::Release);
            if let (Ok(_), ProgressSink::Collect(chunks)) = (&result, &req.progress) {
                result = Ok(Value::Array(std::mem::take(&mut *chunks.lock().unwrap())));
            }
            engine.shared.out.respond(&req.id, result);
            engine.shared.inflight.lock().unwrap().remove(&key);
            engine.shared.inflight_count.send_modify(|n| *n -= 1);
        });
    }

    /// Waits for the handler, racing it against cancellation and the deadline.
    async fn supervise(
        &self,
        req: &Request,
        mut handle: JoinHandle<Result<Value, PluginError>>,
    ) -> Result<Value, PluginError> {
        let deadline = req.deadline_ms.map(|ms| {
            let left = Duration::from_millis(ms.saturating_sub(now_ms()));
            tokio::time::Instant::now() + left
        });
        let deadline_sleep = async {
            match deadline {
                Some(at) => tokio::time::sleep_until(at).await,
                None => std::future::pending().await,
            }
        };
        let reason = match race3(&mut handle, req.token.cancelled(), deadline_sleep).await {
            First::A(joined) => return joined_result(joined),
            First::B(reason) => reason,
            First::C(()) => {
                req.token.cancel(CancelReason::Deadline);
                req.token.reason().unwrap_or(CancelReason::Deadline)
            }
        };
        // Give a cooperative handler a moment to answer for itself (e.g. with what it has).
        let started = Instant::now();
        if let Ok(joined) = tokio::time::timeout(self.cancel_settle, &mut handle).await {
            return joined_result(joined);
        }
        // Answer now; let the handler clean up for the rest of the grace, then abort it.
        let rest = self.cancel_grace.saturating_sub(started.elapsed());
        tokio::spawn(async move {
            if tokio::time::timeout(rest, &mut handle).await.is_err() {
                handle.abort();
            }
        });
        Err(cancel_error(reason))
    }

    pub(super) fn cancel_all(&self, reason: CancelReason) {
        for t in self.shared.inflight.lock().unwrap().values() {
            t.cancel(reason);
        }
    }
}

fn joined_result(joined: Result<Result<Value, PluginError>, tokio::task::JoinError>) -> Result<Value, PluginError> {
    match joined {
        Ok(r) => r,
        Err(e) if e.is_cancelled() => Err(PluginError::cancelled()),
        Err(e) => Err(PluginError::msg(format!("handler panicked: {}", panic_text(e)))),
    }
}

pub(super) fn panic_text(e: tokio::task::JoinError) -> String {
    match e.try_into_panic() {
        Ok(p) => {
            if let Some(s) = p.downcast_ref::<&str>() {
                s.to_string()
            } else if let Some(s) = p.downcast_ref::<String>() {
                s.clone()
            } else {
                "(non-string panic payload)".into()
            }
        }
        Err(e) => e.to_string(),
    }
}
