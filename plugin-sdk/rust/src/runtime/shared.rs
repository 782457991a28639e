//! State shared by the dispatcher, the call tasks and every [`Context`]: the phase, the
//! `initialize` parameters, the in-flight calls and the events held until `initialized`.

use super::transport::Outbox;
use crate::cancel::CancellationToken;
use crate::context::Context;
use crate::error::PluginError;
use serde_json::Value;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use tokio::sync::{oneshot, watch};

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

/// State shared by the dispatcher, the call tasks and every [`Context`].
pub(crate) struct Shared {
    pub out: Outbox,
    pub name: String,
    pub init: OnceLock<InitInfo>,
    pub phase: watch::Sender<Phase>,
    pub(super) next_call: AtomicU64,
    /// Our `bkg/call`s waiting for the daemon's answer, by id.
    pub pending: Mutex<HashMap<String, oneshot::Sender<Result<Value, PluginError>>>>,
    /// Calls being served, by the JSON text of their id.
    pub(super) inflight: Mutex<HashMap<String, CancellationToken>>,
    pub(super) inflight_count: watch::Sender<usize>,
    /// Events emitted before `initialized`.
    pub(super) held_emits: Mutex<Vec<Value>>,
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

    pub(super) fn release_emits(&self) {
        let mut held = self.held_emits.lock().unwrap();
        for params in held.drain(..) {
            self.out.notify("bkg/emit", params);
        }
    }

    pub(super) fn set_phase(&self, p: Phase) {
        // Hold the emit lock so an emit racing `initialized` is neither lost nor reordered.
        let _held = self.held_emits.lock().unwrap();
        self.phase.send_replace(p);
    }

    pub(super) fn phase(&self) -> Phase {
        *self.phase.borrow()
    }

    pub(super) fn context(self: &Arc<Self>) -> Context {
        Context { shared: self.clone(), req: None }
    }
}
