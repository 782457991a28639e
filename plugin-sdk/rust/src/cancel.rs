//! A small cancellation token (no tokio-util needed), built on `tokio::sync::watch`.

use std::sync::Arc;
use tokio::sync::watch;

/// Why a call was cancelled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CancelReason {
    /// The daemon sent `$/cancelRequest` for the call.
    Cancelled,
    /// The call's `_meta.deadline` passed.
    Deadline,
    /// The plugin is shutting down (`shutdown`, or stdin closed).
    Shutdown,
}

/// A cancellation flag that can be polled ([`is_cancelled`](Self::is_cancelled)) or awaited
/// ([`cancelled`](Self::cancelled)). Clones share the flag. The first reason given wins.
#[derive(Clone, Debug)]
pub struct CancellationToken {
    tx: Arc<watch::Sender<Option<CancelReason>>>,
}

impl Default for CancellationToken {
    fn default() -> Self {
        Self::new()
    }
}

impl CancellationToken {
    pub fn new() -> Self {
        CancellationToken { tx: Arc::new(watch::Sender::new(None)) }
    }

    /// Cancels the token; does nothing if it is already cancelled. Returns whether this call
    /// cancelled it.
    pub fn cancel(&self, reason: CancelReason) -> bool {
        self.tx.send_if_modified(|r| {
            if r.is_none() {
                *r = Some(reason);
                true
            } else {
                false
            }
        })
    }

    pub fn is_cancelled(&self) -> bool {
        self.tx.borrow().is_some()
    }

    /// Why it was cancelled, if it was.
    pub fn reason(&self) -> Option<CancelReason> {
        *self.tx.borrow()
    }

    /// Completes when the token is cancelled (at once if it already is), with the reason.
    /// Cancel-safe: drop it any time.
    pub async fn cancelled(&self) -> CancelReason {
        let mut rx = self.tx.subscribe();
        let r = match rx.wait_for(Option::is_some).await {
            Ok(r) => *r,
            // Cannot happen: `self` keeps the sender alive.
            Err(_) => None,
        };
        r.unwrap_or(CancelReason::Cancelled)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn cancel_wakes_waiters() {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(cancel_wakes_waiters_async())
    }

    async fn cancel_wakes_waiters_async() {
        let t = CancellationToken::new();
        assert!(!t.is_cancelled());
        let t2 = t.clone();
        let waiter = tokio::spawn(async move { t2.cancelled().await });
        tokio::time::sleep(Duration::from_millis(10)).await;
        assert!(t.cancel(CancelReason::Deadline));
        assert!(!t.cancel(CancelReason::Cancelled));
        assert_eq!(waiter.await.unwrap(), CancelReason::Deadline);
        assert!(t.is_cancelled());
        assert_eq!(t.reason(), Some(CancelReason::Deadline));
        // Already cancelled: completes at once.
        assert_eq!(t.cancelled().await, CancelReason::Deadline);
    }
}
