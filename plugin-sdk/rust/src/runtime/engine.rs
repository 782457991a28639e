//! The engine: the plugin's methods and hooks turned into what the dispatcher needs, and
//! [`serve`], the loop that feeds it messages until `exit`, end of input or a broken stream.

use super::shared::{Phase, Shared};
use super::transport::{spawn_reader, spawn_writer, Incoming, OutMsg, Outbox};
use crate::cancel::{CancelReason, CancellationToken};
use crate::error::ErrorCode;
use crate::plugin::{Handler, Hook, MethodSpec, Plugin};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::io::{Read, Write};
use std::sync::atomic::{AtomicBool, AtomicU64};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot, watch};

pub(super) struct Engine {
    pub(super) shared: Arc<Shared>,
    pub(super) methods: HashMap<String, Arc<MethodInfo>>,
    pub(super) method_names: Vec<String>,
    pub(super) descriptors: Vec<Value>,
    pub(super) events: Vec<String>,
    pub(super) version: String,
    pub(super) activate: Mutex<Option<Hook>>,
    pub(super) deactivate: Mutex<Option<Hook>>,
    /// Set once deactivate has been started; done is signalled on the watch.
    pub(super) deactivate_done: watch::Sender<bool>,
    pub(super) deactivate_started: AtomicBool,
    pub(super) cancel_grace: Duration,
    pub(super) cancel_settle: Duration,
    pub(super) shutdown_grace: Duration,
    pub(super) hook_timeout: Duration,
}

pub(super) struct MethodInfo {
    pub(super) streaming: bool,
    pub(super) handler: Handler,
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
}
