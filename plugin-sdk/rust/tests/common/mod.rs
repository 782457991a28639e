//! A tiny fake daemon: spawns the conformance plugin as a real subprocess and speaks the
//! protocol to it over its stdin/stdout.

#![allow(dead_code)]

use bkg_plugin::framing::{encode_frame, FrameParser};
use serde_json::{json, Value};
use std::collections::VecDeque;
use std::io::{Read, Write};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::mpsc::{channel, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

pub const BIN: &str = env!("CARGO_BIN_EXE_conformance");
pub const WAIT: Duration = Duration::from_secs(10);

pub enum Event {
    Msg(Value),
    /// Bytes on stdout that are not a frame.
    Garbage(String),
    Eof,
}

pub struct PluginProc {
    pub child: Option<Child>,
    stdin: Option<Box<dyn Write + Send>>,
    rx: Receiver<Event>,
    /// Messages read while waiting for something else.
    backlog: VecDeque<Value>,
    pub stderr: Arc<Mutex<String>>,
    eof: bool,
}

pub fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as u64
}

impl PluginProc {
    pub fn spawn() -> Self {
        let mut child = Command::new(BIN)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn the conformance plugin");
        let stdout = child.stdout.take().unwrap();
        let stdin: ChildStdin = child.stdin.take().unwrap();
        let mut p = Self::from_streams(stdout, stdin);
        let mut stderr = child.stderr.take().unwrap();
        let sb = p.stderr.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = stderr.read(&mut buf) {
                if n == 0 {
                    break;
                }
                sb.lock().unwrap().push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        });
        p.child = Some(child);
        p
    }

    /// A client over any pair of streams (e.g. a socket to an in-process `Plugin::serve`).
    /// Dropping `writer` must close the plugin's input.
    pub fn from_streams(mut stdout: impl Read + Send + 'static, writer: impl Write + Send + 'static) -> Self {
        let (tx, rx) = channel();
        std::thread::spawn(move || {
            let mut parser = FrameParser::new(usize::MAX);
            let mut buf = vec![0u8; 1 << 16];
            loop {
                let n = match stdout.read(&mut buf) {
                    Ok(0) | Err(_) => {
                        let _ = tx.send(Event::Eof);
                        return;
                    }
                    Ok(n) => n,
                };
                parser.push(&buf[..n]);
                while let Some(m) = parser.next_message() {
                    let ev = match m {
                        Ok(v) => Event::Msg(v),
                        Err(e) => Event::Garbage(e.message),
                    };
                    if tx.send(ev).is_err() {
                        return;
                    }
                }
            }
        });
        PluginProc {
            child: None,
            stdin: Some(Box::new(writer)),
            rx,
            backlog: VecDeque::new(),
            stderr: Arc::default(),
            eof: false,
        }
    }

    /// Spawned, initialized (answer checked) and `initialized` sent.
    pub fn ready() -> Self {
        Self::spawn().handshake()
    }

    /// Initializes (answer checked) and sends `initialized`.
    pub fn handshake(mut self) -> Self {
        let p = &mut self;
        let r = p.initialize("1.0.0");
        assert!(r.get("result").is_some(), "initialize failed: {r}");
        p.notify("initialized", json!({}));
        self
    }

    pub fn initialize(&mut self, version: &str) -> Value {
        self.request(
            0,
            "initialize",
            json!({
                "protocolVersion": version,
                "daemon": {"version": "0.1.0"},
                "plugin": {"name": "conformance", "instanceId": "conformance#1", "dataDir": "/tmp"},
                "config": {"answer": 42}
            }),
        )
    }

    pub fn send_raw(&mut self, bytes: &[u8]) {
        let stdin = self.stdin.as_mut().expect("stdin is open");
        stdin.write_all(bytes).unwrap();
        stdin.flush().unwrap();
    }

    pub fn send(&mut self, msg: &Value) {
        self.send_raw(&encode_frame(msg));
    }

    pub fn notify(&mut self, method: &str, params: Value) {
        self.send(&json!({"jsonrpc":"2.0","method":method,"params":params}));
    }

    pub fn send_request(&mut self, id: impl Into<Value>, method: &str, params: Value) {
        self.send(&json!({"jsonrpc":"2.0","id":id.into(),"method":method,"params":params}));
    }

    /// Sends a request and waits for its response (other messages go to the backlog).
    pub fn request(&mut self, id: impl Into<Value>, method: &str, params: Value) -> Value {
        let id = id.into();
        self.send_request(id.clone(), method, params);
        self.response(&id)
    }

    /// Calls a method with `_meta` added (deadline in 30 s, caller `cli`).
    pub fn call(&mut self, id: u64, method: &str, mut params: Value) -> Value {
        params["_meta"] = json!({"deadline": now_ms() + 30_000, "caller": "cli"});
        self.request(id, method, params)
    }

    /// Asks `wasCancelled` until it says yes or `d` passes: the SDK may answer -32800 for a
    /// handler that is still stopping, so the handler's record can follow the answer.
    pub fn was_cancelled(&mut self, tag: &str, d: Duration) -> bool {
        let mut id = 900_000;
        poll_until(d, || {
            id += 1;
            self.call(id, "wasCancelled", json!({ "tag": tag }))["result"]["cancelled"] == json!(true)
        })
    }

    pub fn close_stdin(&mut self) {
        self.stdin = None;
    }

    /// The next message from the plugin (the backlog first). Panics on garbage.
    pub fn next_timeout(&mut self, d: Duration) -> Option<Value> {
        if let Some(m) = self.backlog.pop_front() {
            return Some(m);
        }
        self.read_one(d)
    }

    fn read_one(&mut self, d: Duration) -> Option<Value> {
        if self.eof {
            return None;
        }
        match self.rx.recv_timeout(d) {
            Ok(Event::Msg(v)) => Some(v),
            Ok(Event::Garbage(e)) => panic!("garbage on the plugin's stdout: {e}"),
            Ok(Event::Eof) | Err(RecvTimeoutError::Disconnected) => {
                self.eof = true;
                None
            }
            Err(RecvTimeoutError::Timeout) => None,
        }
    }

    pub fn next(&mut self) -> Value {
        self.next_timeout(WAIT).expect("a message from the plugin")
    }

    /// Waits for the first message matching `pred`; others stay in the backlog in order.
    pub fn wait_for(&mut self, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
        if let Some(i) = self.backlog.iter().position(&pred) {
            return self.backlog.remove(i).unwrap();
        }
        let until = Instant::now() + WAIT;
        loop {
            let left = until.saturating_duration_since(Instant::now());
            match self.read_one(left) {
                Some(m) if pred(&m) => return m,
                Some(m) => self.backlog.push_back(m),
                None => panic!(
                    "no {what} from the plugin (eof: {}); backlog: {:?}; stderr: {}",
                    self.eof,
                    self.backlog,
                    self.stderr.lock().unwrap()
                ),
            }
        }
    }

    pub fn response(&mut self, id: &Value) -> Value {
        let id = id.clone();
        self.wait_for(&format!("response to {id}"), move |m| m.get("id") == Some(&id) && m.get("method").is_none())
    }

    /// The next message the plugin sends with this method.
    pub fn wait_method(&mut self, method: &str) -> Value {
        let m = method.to_string();
        self.wait_for(method, move |v| v.get("method").and_then(Value::as_str) == Some(m.as_str()))
    }

    /// Everything in the backlog.
    pub fn drain_backlog(&mut self) -> Vec<Value> {
        self.backlog.drain(..).collect()
    }

    /// Waits for the process to exit.
    pub fn wait_exit(&mut self, d: Duration) -> Option<ExitStatus> {
        let until = Instant::now() + d;
        let child = self.child.as_mut().expect("a subprocess");
        loop {
            if let Some(s) = child.try_wait().unwrap() {
                return Some(s);
            }
            if Instant::now() >= until {
                return None;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Waits until the plugin's stderr contains `needle`: the reader thread may still be
    /// copying it when the process has already exited or answered.
    pub fn stderr_contains(&self, needle: &str, d: Duration) -> bool {
        poll_until(d, || self.stderr.lock().unwrap().contains(needle))
    }
}

/// Checks `ok` every 10 ms until it holds (true) or `d` has passed (false).
pub fn poll_until(d: Duration, mut ok: impl FnMut() -> bool) -> bool {
    let until = Instant::now() + d;
    loop {
        if ok() {
            return true;
        }
        if Instant::now() >= until {
            return false;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

impl Drop for PluginProc {
    fn drop(&mut self) {
        if let Some(child) = self.child.as_mut() {
            if let Ok(None) = child.try_wait() {
                let _ = child.kill();
                let _ = child.wait();
            }
        }
    }
}

pub fn result(resp: &Value) -> &Value {
    match resp.get("result") {
        Some(r) => r,
        None => panic!("expected a result, got {resp}"),
    }
}

pub fn error(resp: &Value) -> &Value {
    match resp.get("error") {
        Some(e) => e,
        None => panic!("expected an error, got {resp}"),
    }
}

pub fn code(resp: &Value) -> i64 {
    error(resp)["code"].as_i64().expect("error.code is a number")
}
