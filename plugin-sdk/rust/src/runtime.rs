//! The protocol engine: one reader thread, one writer thread, a dispatcher, and a tokio task
//! per call.

use crate::cancel::{CancelReason, CancellationToken};
use crate::context::{cancel_error, now_ms, Context, ProgressSink, Request};
use crate::error::{ErrorCode, PluginError};
use crate::framing::{encode_frame, FrameError, FrameParser};
use crate::plugin::{Handler, Hook, MethodSpec, Plugin};
use crate::race::{race3, First};
use crate::PROTOCOL_VERSION;
use serde_json::{json, Map, Value};
use std::collections::HashMap;
use std::io::{Read, Write};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;

/// Where the plugin is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Phase {
    /// Waiting for `initialize`.
    Starting,
    /// `activate` is running; `initialize` is not answered yet.
    Activating,
    /// `initialize` answered; waiting for `initialized`.
    Answered,
    /// `initialized` received: calls, `bkg/call` and `bkg/emit` flow.
    Ready,
    /// `shutdown` received: no new calls.
    ShuttingDown,
    /// Exiting.
    Closed,
    /// `initialize` failed (protocol mismatch or activate failed): waiting for `exit`.
    Failed,
}

pub(crate) struct InitInfo {
    pub params: Value,
    pub config: Value,
    pub data_dir: Option<PathBuf>,
    pub name: Option<String>,
    pub instance_id: Option<String>,
    pub daemon_version: Option<String>,
}

enum OutMsg {
    Frame(Vec<u8>),
    Close(oneshot::Sender<()>),
}

/// The only way to the output stream: frames go to the writer thread in order.
#[derive(Clone)]
pub(crate) struct Outbox(mpsc::UnboundedSender<OutMsg>);

impl Outbox {
    pub fn send(&self, msg: &Value) {
        let _ = self.0.send(OutMsg::Frame(encode_frame(msg)));
    }
    pub fn notify(&self, method: &str, params: Value) {
        self.send(&json!({"jsonrpc":"2.0","method":method,"params":params}));
    }
    pub fn respond(&self, id: &Value, result: Result<Value, PluginError>) {
        let msg = match result {
            Ok(v) => json!({"jsonrpc":"2.0","id":id,"result":v}),
            Err(e) => json!({"jsonrpc":"2.0","id":id,"error":e.to_json()}),
        };
        self.send(&msg);
    }
}

/// State shared by the dispatcher, the call tasks and every [`Context`].
pub(crate) struct Shared {
    pub out: Outbox,
    pub name: String,
    pub init: OnceLock<InitInfo>,
    pub phase: watch::Sender<Phase>,
    next_call: AtomicU64,
    /// Our `bkg/call`s waiting for the daemon's answer, by id.
    pub pending: Mutex<HashMap<String, oneshot::Sender<Result<Value, PluginError>>>>,
    /// Calls being served, by the JSON text of their id.
    inflight: Mutex<HashMap<String, CancellationToken>>,
    inflight_count: watch::Sender<usize>,
    /// Events emitted before `initialized`.
    held_emits: Mutex<Vec<Value>>,
    /// Cancelled when the plugin stops; the token of lifecycle contexts.
    pub life_token: CancellationToken,
}

impl Shared {
    pub fn next_call_id(&self) -> String {
        format!("c{}", self.next_call.fetch_add(1, Ordering::Relaxed) + 1)
    }

    pub fn emit(&self, params: Value) {
        let mut held = self.held_emits.lock().unwrap();
        match *self.phase.borrow() {
            Phase::Starting | Phase::Activating | Phase::Answered => held.push(params),
            _ => self.out.notify("bkg/emit", params),
        }
    }

    fn release_emits(&self) {
        let mut held = self.held_emits.lock().unwrap();
        for params in held.drain(..) {
            self.out.notify("bkg/emit", params);
        }
    }

    fn set_phase(&self, p: Phase) {
        // Hold the emit lock so an emit racing `initialized` is neither lost nor reordered.
        let _held = self.held_emits.lock().unwrap();
        self.phase.send_replace(p);
    }

    fn phase(&self) -> Phase {
        *self.phase.borrow()
    }

    fn context(self: &Arc<Self>) -> Context {
        Context { shared: self.clone(), req: None }
    }
}

struct Engine {
    shared: Arc<Shared>,
    methods: HashMap<String, Arc<MethodInfo>>,
    method_names: Vec<String>,
    descriptors: Vec<Value>,
    events: Vec<String>,
    version: String,
    activate: Mutex<Option<Hook>>,
    deactivate: Mutex<Option<Hook>>,
    /// Set once deactivate has been started; done is signalled on the watch.
    deactivate_done: watch::Sender<bool>,
    deactivate_started: AtomicBool,
    cancel_grace: Duration,
    cancel_settle: Duration,
    shutdown_grace: Duration,
    hook_timeout: Duration,
}

struct MethodInfo {
    streaming: bool,
    handler: Handler,
}

enum Incoming {
    Message(Value),
    Error(FrameError),
    Eof,
    ReadError(std::io::Error),
}

pub(crate) async fn serve<R, W>(plugin: Plugin, input: R, output: W) -> i32
where
    R: Read + Send + 'static,
    W: Write + Send + 'static,
{
    let (out_tx, out_rx) = mpsc::unbounded_channel();
    spawn_writer(output, out_rx);
    let (in_tx, mut in_rx) = mpsc::unbounded_channel();
    spawn_reader(input, in_tx, plugin.max_message_bytes);

    let shared = Arc::new(Shared {
        out: Outbox(out_tx.clone()),
        name: plugin.name.clone(),
        init: OnceLock::new(),
        phase: watch::Sender::new(Phase::Starting),
        next_call: AtomicU64::new(0),
        pending: Mutex::new(HashMap::new()),
        inflight: Mutex::new(HashMap::new()),
        inflight_count: watch::Sender::new(0),
        held_emits: Mutex::new(Vec::new()),
        life_token: CancellationToken::new(),
    });
    let engine = Arc::new(Engine::new(plugin, shared.clone()));

    let code = loop {
        let Some(ev) = in_rx.recv().await else { break 0 };
        match ev {
            Incoming::Message(msg) => {
                if let Some(code) = engine.handle(msg).await {
                    break code;
                }
            }
            Incoming::Error(e) if !e.is_fatal() => {
                eprintln!("bkg-plugin: {e}");
                shared.out.send(&json!({"jsonrpc":"2.0","id":null,"error":{"code":ErrorCode::ParseError.code(),"message":e.message}}));
            }
            Incoming::Error(e) => {
                eprintln!("bkg-plugin: broken input stream, exiting: {e}");
                engine.stop(CancelReason::Shutdown).await;
                break 1;
            }
            Incoming::ReadError(e) => {
                eprintln!("bkg-plugin: cannot read stdin, exiting: {e}");
                engine.stop(CancelReason::Shutdown).await;
                break 1;
            }
            Incoming::Eof => {
                engine.stop(CancelReason::Shutdown).await;
                break 0;
            }
        }
    };

    shared.set_phase(Phase::Closed);
    // Fail our own bkg/calls still waiting: the daemon will not answer them.
    shared.pending.lock().unwrap().clear();
    let (ack_tx, ack_rx) = oneshot::channel();
    if out_tx.send(OutMsg::Close(ack_tx)).is_ok() {
        let _ = tokio::time::timeout(Duration::from_secs(2), ack_rx).await;
    }
    code
}

impl Engine {
    fn new(plugin: Plugin, shared: Arc<Shared>) -> Self {
        let mut methods = HashMap::new();
        let mut method_names = Vec::new();
        let mut descriptors = Vec::new();
        for MethodSpec { name, description, params_schema, result_schema, streaming, handler } in plugin.methods {
            let spec = MethodSpec { name, description, params_schema, result_schema, streaming, handler };
            descriptors.push(spec.descriptor());
            method_names.push(spec.name.clone());
            methods
                .insert(spec.name.clone(), Arc::new(MethodInfo { streaming: spec.streaming, handler: spec.handler }));
        }
        Engine {
            shared,
            methods,
            method_names,
            descriptors,
            events: plugin.events,
            version: plugin.version,
            activate: Mutex::new(plugin.activate),
            deactivate: Mutex::new(plugin.deactivate),
            deactivate_done: watch::Sender::new(false),
            deactivate_started: AtomicBool::new(false),
            cancel_grace: plugin.cancel_grace,
            cancel_settle: plugin.cancel_settle,
            shutdown_grace: plugin.shutdown_grace,
            hook_timeout: plugin.hook_timeout,
        }
    }

    /// Handles one message; `Some(code)` means exit now.
    async fn handle(self: &Arc<Self>, msg: Value) -> Option<i32> {
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

    fn request(self: &Arc<Self>, id: Value, method: String, params: Value) {
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

    fn initialize(self: &Arc<Self>, id: Value, params: Value) {
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

    fn shutdown(self: &Arc<Self>, id: Value) {
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

    fn cancel_all(&self, reason: CancelReason) {
        for t in self.shared.inflight.lock().unwrap().values() {
            t.cancel(reason);
        }
    }

    /// The end: stdin closed, `exit`, or a broken stream. Cancels what runs, deactivates
    /// (bounded), and lets in-flight answers reach the writer.
    async fn stop(&self, reason: CancelReason) {
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

fn joined_result(joined: Result<Result<Value, PluginError>, tokio::task::JoinError>) -> Result<Value, PluginError> {
    match joined {
        Ok(r) => r,
        Err(e) if e.is_cancelled() => Err(PluginError::cancelled()),
        Err(e) => Err(PluginError::msg(format!("handler panicked: {}", panic_text(e)))),
    }
}

fn panic_text(e: tokio::task::JoinError) -> String {
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

fn major(v: &str) -> Option<u64> {
    v.trim().trim_start_matches('v').split('.').next()?.parse().ok()
}

fn spawn_reader<R: Read + Send + 'static>(mut input: R, tx: mpsc::UnboundedSender<Incoming>, max: usize) {
    std::thread::Builder::new()
        .name("bkg-stdin".into())
        .spawn(move || {
            let mut parser = FrameParser::new(max);
            let mut buf = vec![0u8; 256 * 1024];
            loop {
                let n = match input.read(&mut buf) {
                    Ok(0) => {
                        let _ = tx.send(Incoming::Eof);
                        return;
                    }
                    Ok(n) => n,
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                    Err(e) => {
                        let _ = tx.send(Incoming::ReadError(e));
                        return;
                    }
                };
                parser.push(&buf[..n]);
                while let Some(m) = parser.next_message() {
                    let fatal = matches!(&m, Err(e) if e.is_fatal());
                    let ev = match m {
                        Ok(v) => Incoming::Message(v),
                        Err(e) => Incoming::Error(e),
                    };
                    if tx.send(ev).is_err() || fatal {
                        return;
                    }
                }
            }
        })
        .expect("cannot start the stdin reader thread");
}

fn spawn_writer<W: Write + Send + 'static>(output: W, mut rx: mpsc::UnboundedReceiver<OutMsg>) {
    std::thread::Builder::new()
        .name("bkg-stdout".into())
        .spawn(move || {
            let mut w = std::io::BufWriter::with_capacity(256 * 1024, output);
            let mut broken = false;
            let mut next = rx.blocking_recv();
            while let Some(msg) = next {
                match msg {
                    OutMsg::Frame(bytes) => {
                        if !broken {
                            if let Err(e) = w.write_all(&bytes) {
                                eprintln!("bkg-plugin: cannot write to stdout: {e}");
                                broken = true;
                            }
                        }
                    }
                    OutMsg::Close(ack) => {
                        let _ = w.flush();
                        let _ = ack.send(());
                        return;
                    }
                }
                // Flush when the queue is empty: frames queued together go out in one write.
                next = match rx.try_recv() {
                    Ok(m) => Some(m),
                    Err(mpsc::error::TryRecvError::Empty) => {
                        if !broken {
                            if let Err(e) = w.flush() {
                                eprintln!("bkg-plugin: cannot write to stdout: {e}");
                                broken = true;
                            }
                        }
                        rx.blocking_recv()
                    }
                    Err(mpsc::error::TryRecvError::Disconnected) => None,
                };
            }
            let _ = w.flush();
        })
        .expect("cannot start the stdout writer thread");
}

/// The stream frames are written to. With `redirect` (Unix), file descriptor 1 is
/// duplicated for the SDK and then pointed at stderr, so nothing else can write frames'
/// stdout by accident.
pub(crate) fn protocol_stdout(redirect: bool) -> Box<dyn Write + Send> {
    let _ = std::io::stdout().flush();
    #[cfg(unix)]
    if redirect {
        if let Some(f) = unix::take_stdout() {
            return Box::new(f);
        }
    }
    let _ = redirect;
    Box::new(std::io::stdout())
}

#[cfg(unix)]
mod unix {
    use std::fs::File;
    use std::os::raw::c_int;
    use std::os::unix::io::FromRawFd;

    extern "C" {
        fn dup(fd: c_int) -> c_int;
        fn dup2(src: c_int, dst: c_int) -> c_int;
        fn fcntl(fd: c_int, cmd: c_int, ...) -> c_int;
        fn close(fd: c_int) -> c_int;
    }

    #[cfg(any(target_os = "linux", target_os = "android"))]
    const F_DUPFD_CLOEXEC: c_int = 1030;
    #[cfg(any(target_os = "macos", target_os = "ios"))]
    const F_DUPFD_CLOEXEC: c_int = 67;
    #[cfg(target_os = "freebsd")]
    const F_DUPFD_CLOEXEC: c_int = 17;

    /// A private, close-on-exec copy of stdout; fd 1 then points at stderr.
    pub fn take_stdout() -> Option<File> {
        // SAFETY: plain fd syscalls on descriptors this process owns; the new descriptor is
        // owned by the returned File and nothing else.
        unsafe {
            #[cfg(any(
                target_os = "linux",
                target_os = "android",
                target_os = "macos",
                target_os = "ios",
                target_os = "freebsd"
            ))]
            let fd = fcntl(1, F_DUPFD_CLOEXEC, 3 as c_int);
            #[cfg(not(any(
                target_os = "linux",
                target_os = "android",
                target_os = "macos",
                target_os = "ios",
                target_os = "freebsd"
            )))]
            let fd = {
                let _ = fcntl;
                dup(1)
            };
            #[cfg(any(
                target_os = "linux",
                target_os = "android",
                target_os = "macos",
                target_os = "ios",
                target_os = "freebsd"
            ))]
            let _ = dup;
            if fd < 0 {
                return None;
            }
            if dup2(2, 1) < 0 {
                close(fd);
                return None;
            }
            Some(File::from_raw_fd(fd))
        }
    }
}
