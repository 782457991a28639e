//! What a handler gets besides its params: the call's metadata, cancellation, and the ways
//! to talk to the daemon (logs, events, progress, `bkg/call`).

use crate::cancel::{CancelReason, CancellationToken};
use crate::error::{ErrorCode, PluginError};
use crate::race::{race3, First};
use crate::runtime::{Phase, Shared};
use crate::trace::{parse_traceparent, Trace};
use serde_json::{json, Map, Value};
use std::fmt;
use std::future::Future;
use std::path::Path;
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::sync::oneshot;

/// A `bkg/log` level.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Trace,
    Debug,
    Info,
    Warn,
    Error,
    Fatal,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Trace => "trace",
            Level::Debug => "debug",
            Level::Info => "info",
            Level::Warn => "warn",
            Level::Error => "error",
            Level::Fatal => "fatal",
        }
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Level {
    type Err = PluginError;
    fn from_str(s: &str) -> Result<Self, PluginError> {
        Ok(match s {
            "trace" => Level::Trace,
            "debug" => Level::Debug,
            "info" => Level::Info,
            "warn" => Level::Warn,
            "error" => Level::Error,
            "fatal" => Level::Fatal,
            _ => {
                return Err(PluginError::invalid_params(format!(
                    "unknown log level {s:?}; use trace, debug, info, warn, error or fatal"
                )))
            }
        })
    }
}

/// Where a call's `progress` values go.
pub(crate) enum ProgressSink {
    /// `$/progress` notifications for this token.
    Token(Value),
    /// A streaming method called without a token: the chunks become the result.
    Collect(Mutex<Vec<Value>>),
    /// A non-streaming method without a token: dropped.
    Drop,
}

/// The per-call part of a context.
pub(crate) struct Request {
    pub id: Value,
    pub method: String,
    pub meta: Value,
    pub deadline_ms: Option<u64>,
    pub token: CancellationToken,
    pub progress: ProgressSink,
    /// Set once the call is answered; later progress is dropped.
    pub done: AtomicBool,
}

/// The handle a handler (or `activate` / `deactivate`) gets. Cheap to clone; clones may be
/// moved into tasks the handler spawns.
#[derive(Clone)]
pub struct Context {
    pub(crate) shared: Arc<Shared>,
    pub(crate) req: Option<Arc<Request>>,
}

static NULL: Value = Value::Null;

impl Context {
    // ---- the call -------------------------------------------------------------------

    /// The JSON-RPC id of the call, or `None` in `activate`/`deactivate`.
    pub fn id(&self) -> Option<&Value> {
        self.req.as_ref().map(|r| &r.id)
    }

    /// The method name as the plugin received it (`reverse`), or `None` outside a call.
    pub fn method(&self) -> Option<&str> {
        self.req.as_ref().map(|r| r.method.as_str())
    }

    /// The `_meta` object the daemon attached to the call (removed from the params), or
    /// `Value::Null` when there was none.
    pub fn meta(&self) -> &Value {
        self.req.as_ref().map(|r| &r.meta).unwrap_or(&NULL)
    }

    /// Who called: `client:<n>`, `cli`, `http:<key id>` or `plugin:<name>`.
    pub fn caller(&self) -> Option<&str> {
        self.meta().get("caller").and_then(Value::as_str)
    }

    /// The W3C trace context, if the caller sent one (the raw value).
    pub fn traceparent(&self) -> Option<&str> {
        self.meta().get("traceparent").and_then(Value::as_str)
    }

    /// This call's trace: `span_id` is the daemon's span for this call, so the calls the
    /// handler makes ([`call`](Self::call)) become its children. `None` when the daemon sent no
    /// valid `traceparent` (and in `activate`/`deactivate`).
    pub fn trace(&self) -> Option<Trace> {
        self.traceparent().and_then(parse_traceparent)
    }

    /// The progress token, present when the caller wants streamed results.
    pub fn progress_token(&self) -> Option<&Value> {
        self.meta().get("progressToken").filter(|v| !v.is_null())
    }

    /// The call's deadline, as epoch milliseconds.
    pub fn deadline_ms(&self) -> Option<u64> {
        self.req.as_ref().and_then(|r| r.deadline_ms)
    }

    /// The call's deadline: after it the daemon has given up and the SDK cancels the call.
    pub fn deadline(&self) -> Option<SystemTime> {
        self.deadline_ms().map(|ms| UNIX_EPOCH + Duration::from_millis(ms))
    }

    /// Time left before the deadline (zero once it has passed).
    pub fn remaining(&self) -> Option<Duration> {
        self.deadline_ms().map(|ms| Duration::from_millis(ms.saturating_sub(now_ms())))
    }

    // ---- cancellation ---------------------------------------------------------------

    /// Whether the call has been cancelled (`$/cancelRequest`, its deadline, or shutdown).
    /// In `activate`/`deactivate` this is the plugin's own shutdown.
    pub fn cancelled(&self) -> bool {
        self.token().is_cancelled()
    }

    /// Why the call was cancelled, if it was.
    pub fn cancel_reason(&self) -> Option<CancelReason> {
        self.token().reason()
    }

    /// Completes when the call is cancelled, with the reason. Use it in `tokio::select!`
    /// (or see [`cancellable`](Self::cancellable)).
    pub async fn until_cancelled(&self) -> CancelReason {
        self.token().cancelled().await
    }

    /// The call's cancellation token (clone it into spawned tasks).
    pub fn cancellation_token(&self) -> CancellationToken {
        self.token().clone()
    }

    /// Runs `fut` unless the call is cancelled first, in which case it is dropped and the
    /// answer is -32800 (`RequestCancelled`).
    pub async fn cancellable<T>(&self, fut: impl Future<Output = T>) -> Result<T, PluginError> {
        crate::race::race2(fut, self.until_cancelled()).await.map_err(cancel_error)
    }

    /// Sleeps for `d` unless cancelled first (then -32800).
    pub async fn sleep(&self, d: Duration) -> Result<(), PluginError> {
        self.cancellable(tokio::time::sleep(d)).await
    }

    fn token(&self) -> &CancellationToken {
        match &self.req {
            Some(r) => &r.token,
            None => &self.shared.life_token,
        }
    }

    // ---- the plugin -----------------------------------------------------------------

    /// The manifest's `config` object from `initialize` (`Value::Null` before it).
    pub fn config(&self) -> &Value {
        self.shared.init.get().map(|i| &i.config).unwrap_or(&NULL)
    }

    /// The plugin's data folder (`plugin.dataDir` in `initialize`, else `BKG_DATA_DIR`).
    pub fn data_dir(&self) -> Option<&Path> {
        self.shared.init.get().and_then(|i| i.data_dir.as_deref())
    }

    /// The plugin's name as the daemon knows it (`plugin.name` in `initialize`), else the
    /// name given to [`Plugin::new`](crate::Plugin::new).
    pub fn plugin_name(&self) -> &str {
        self.shared.init.get().and_then(|i| i.name.as_deref()).unwrap_or(&self.shared.name)
    }

    /// This instance's id (`echo#3`).
    pub fn instance_id(&self) -> Option<&str> {
        self.shared.init.get().and_then(|i| i.instance_id.as_deref())
    }

    /// The daemon's version from `initialize`.
    pub fn daemon_version(&self) -> Option<&str> {
        self.shared.init.get().and_then(|i| i.daemon_version.as_deref())
    }

    /// The `initialize` params as the daemon sent them.
    pub fn initialize_params(&self) -> &Value {
        self.shared.init.get().map(|i| &i.params).unwrap_or(&NULL)
    }

    // ---- talking to the daemon ------------------------------------------------------

    /// Sends a `bkg/log` line. `fields` (an object, or `Value::Null`) are kept beside
    /// `level` and `msg`; anything else is sent as `data`.
    pub fn log(&self, level: Level, msg: impl Into<String>, fields: Value) {
        let mut params = Map::new();
        params.insert("level".into(), json!(level.as_str()));
        params.insert("msg".into(), json!(msg.into()));
        match fields {
            Value::Null => {}
            Value::Object(m) => {
                for (k, v) in m {
                    if k != "level" && k != "msg" {
                        params.insert(k, v);
                    }
                }
            }
            other => {
                params.insert("data".into(), other);
            }
        }
        self.shared.out.notify("bkg/log", Value::Object(params));
    }

    pub fn debug(&self, msg: impl Into<String>) {
        self.log(Level::Debug, msg, Value::Null)
    }
    pub fn info(&self, msg: impl Into<String>) {
        self.log(Level::Info, msg, Value::Null)
    }
    pub fn warn(&self, msg: impl Into<String>) {
        self.log(Level::Warn, msg, Value::Null)
    }
    pub fn error(&self, msg: impl Into<String>) {
        self.log(Level::Error, msg, Value::Null)
    }

    /// Publishes an event (`bkg/emit`). Events emitted before `initialized` (from
    /// `activate`) are held and sent once it arrives.
    pub fn emit(&self, event: impl Into<String>, data: Value) {
        let params = json!({ "event": event.into(), "data": data });
        self.shared.emit(params);
    }

    /// Sends one streamed value (`$/progress`) for this call. When the caller sent no
    /// progress token and the method is streaming, the values are collected and become the
    /// call's result (an array). Values after the call is answered are dropped.
    pub async fn progress(&self, value: Value) {
        let Some(req) = &self.req else { return };
        if req.done.load(Ordering::Acquire) || req.token.is_cancelled() {
            return;
        }
        match &req.progress {
            ProgressSink::Token(token) => {
                self.shared.out.notify("$/progress", json!({ "token": token, "value": value }));
            }
            ProgressSink::Collect(chunks) => chunks.lock().unwrap().push(value),
            ProgressSink::Drop => {}
        }
    }

    /// Calls another plugin's method through the daemon (`bkg/call`), e.g.
    /// `ctx.call("echo.reverse", json!({"text":"hi"}), Some(Duration::from_secs(5)))`.
    ///
    /// The call's timeout is `timeout`, capped by this call's own deadline. Errors from the
    /// target come back unchanged. If this call is cancelled meanwhile, the nested call is
    /// cancelled too (`$/cancelRequest`) and -32800 is returned; if the daemon does not
    /// answer within the timeout (plus a second's grace), -33001.
    ///
    /// The nested call joins this call's trace ([`trace`](Self::trace)).
    pub async fn call(&self, method: &str, params: Value, timeout: Option<Duration>) -> Result<Value, PluginError> {
        let traceparent = self.traceparent().map(str::to_owned);
        self.call_in_trace(method, params, timeout, traceparent.as_deref()).await
    }

    /// [`call`](Self::call) joining the trace `traceparent` names (W3C trace context), for a
    /// call made outside a handler (in `activate`, a background task) that belongs to a trace.
    /// `None`: the daemon starts a new trace (or, in a handler, uses the handler's).
    pub async fn call_in_trace(
        &self,
        method: &str,
        params: Value,
        timeout: Option<Duration>,
        traceparent: Option<&str>,
    ) -> Result<Value, PluginError> {
        // bkg/call is allowed only after `initialized`.
        let mut phase = self.shared.phase.subscribe();
        let ready = phase
            .wait_for(|p| match p {
                Phase::Ready | Phase::ShuttingDown => true,
                Phase::Activating | Phase::Closed | Phase::Failed => true,
                Phase::Starting | Phase::Answered => false,
            })
            .await
            .map(|p| *p);
        match ready {
            Ok(Phase::Ready) | Ok(Phase::ShuttingDown) => {}
            Ok(Phase::Activating) => {
                return Err(PluginError::internal(
                    "bkg/call is not allowed in activate: the daemon accepts calls only after `initialized`",
                ))
            }
            _ => return Err(closed_error()),
        }

        let timeout = match (timeout, self.remaining()) {
            (Some(t), Some(r)) => Some(t.min(r)),
            (t, r) => t.or(r),
        };
        let id = self.shared.next_call_id();
        let mut p = Map::new();
        p.insert("method".into(), json!(method));
        if !params.is_null() {
            p.insert("params".into(), params);
        }
        if let Some(t) = timeout {
            p.insert("timeoutMs".into(), json!(t.as_millis().max(1) as u64));
        }
        // The daemon links the nested call to this one: its deadline, cancellation and trace.
        if let Some(parent) = self.meta().get("callId").and_then(Value::as_str) {
            p.insert("parent".into(), json!(parent));
        }
        if let Some(tp) = traceparent {
            p.insert("traceparent".into(), json!(tp));
        }
        let (tx, rx) = oneshot::channel();
        self.shared.pending.lock().unwrap().insert(id.clone(), tx);
        let mut guard = PendingCall { shared: &self.shared, id: id.clone(), answered: false };
        self.shared.out.send(&json!({"jsonrpc":"2.0","id":id,"method":"bkg/call","params":Value::Object(p)}));

        let local_timeout = async {
            match timeout {
                Some(t) => tokio::time::sleep(t + Duration::from_secs(1)).await,
                None => std::future::pending().await,
            }
        };
        match race3(rx, self.until_cancelled(), local_timeout).await {
            First::A(r) => {
                guard.answered = true;
                r.unwrap_or_else(|_| Err(closed_error()))
            }
            First::B(reason) => Err(cancel_error(reason)),
            First::C(()) => Err(PluginError::new(
                ErrorCode::DeadlineExceeded,
                format!("bkg/call to {method} got no answer within {} ms", timeout.unwrap_or_default().as_millis()),
            )),
        }
    }
}

/// Removes a `bkg/call` from the pending table when its future ends, and tells the daemon
/// to cancel it if it was not answered (cancelled, timed out, or the handler was dropped).
struct PendingCall<'a> {
    shared: &'a Shared,
    id: String,
    answered: bool,
}

impl Drop for PendingCall<'_> {
    fn drop(&mut self) {
        let was_pending = self.shared.pending.lock().unwrap().remove(&self.id).is_some();
        if !self.answered && was_pending {
            self.shared.out.notify("$/cancelRequest", json!({ "id": self.id }));
        }
    }
}

fn closed_error() -> PluginError {
    PluginError::new(ErrorCode::PluginUnavailable, "the connection to the daemon is closed")
}

pub(crate) fn cancel_error(reason: CancelReason) -> PluginError {
    let message = match reason {
        CancelReason::Cancelled => "request cancelled",
        CancelReason::Deadline => "request cancelled: its deadline passed",
        CancelReason::Shutdown => "request cancelled: the plugin is shutting down",
    };
    PluginError::new(ErrorCode::RequestCancelled, message)
}

pub(crate) fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}
