//! The protocol engine: one reader thread, one writer thread, a dispatcher, and a tokio task
//! per call.
//!
//! One file per part: `shared` (state every [`Context`](crate::Context) sees), `transport`
//! (the reader and writer threads), `stdio` (taking the process's stdout), `engine` (the
//! engine and the `serve` loop), `dispatch` (routing messages), `calls` (running handlers,
//! cancellation, deadlines) and `lifecycle` (handshake, shutdown, deactivate).

mod calls;
mod dispatch;
mod engine;
mod lifecycle;
mod shared;
mod stdio;
mod transport;

pub(crate) use engine::serve;
pub(crate) use shared::{Phase, Shared};
pub(crate) use stdio::protocol_stdout;
