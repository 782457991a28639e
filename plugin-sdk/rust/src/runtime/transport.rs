//! The read/write loop: a reader thread turning input bytes into messages, and the single writer
//! thread (fed by [`Outbox`]) that puts frames on the output in order.

use crate::error::PluginError;
use crate::framing::{encode_frame, FrameError, FrameParser};
use serde_json::{json, Value};
use std::io::{Read, Write};
use tokio::sync::{mpsc, oneshot};

pub(super) enum OutMsg {
    Frame(Vec<u8>),
    Close(oneshot::Sender<()>),
}

/// The only way to the output stream: frames go to the writer thread in order.
#[derive(Clone)]
pub(crate) struct Outbox(pub(super) mpsc::UnboundedSender<OutMsg>);

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

pub(super) enum Incoming {
    Message(Value),
    Error(FrameError),
    Eof,
    ReadError(std::io::Error),
}

pub(super) fn spawn_reader<R: Read + Send + 'static>(mut input: R, tx: mpsc::UnboundedSender<Incoming>, max: usize) {
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

pub(super) fn spawn_writer<W: Write + Send + 'static>(output: W, mut rx: mpsc::UnboundedReceiver<OutMsg>) {
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
