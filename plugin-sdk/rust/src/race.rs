//! A biased `select` over two or three futures without tokio's `macros` feature (which
//! would pull a proc-macro stack into every build of the SDK).

use std::future::{poll_fn, Future};
use std::pin::pin;
use std::task::Poll;

pub(crate) enum First<A, B, C> {
    A(A),
    B(B),
    C(C),
}

/// Polls `a`, then `b`, then `c` each time; returns the first that completes (the others
/// are dropped).
pub(crate) async fn race3<A: Future, B: Future, C: Future>(a: A, b: B, c: C) -> First<A::Output, B::Output, C::Output> {
    let mut a = pin!(a);
    let mut b = pin!(b);
    let mut c = pin!(c);
    poll_fn(move |cx| {
        if let Poll::Ready(v) = a.as_mut().poll(cx) {
            return Poll::Ready(First::A(v));
        }
        if let Poll::Ready(v) = b.as_mut().poll(cx) {
            return Poll::Ready(First::B(v));
        }
        if let Poll::Ready(v) = c.as_mut().poll(cx) {
            return Poll::Ready(First::C(v));
        }
        Poll::Pending
    })
    .await
}

/// `race3` with two futures.
pub(crate) async fn race2<A: Future, B: Future>(a: A, b: B) -> Result<A::Output, B::Output> {
    match race3(a, b, std::future::pending::<()>()).await {
        First::A(v) => Ok(v),
        First::B(v) => Err(v),
        First::C(()) => unreachable!(),
    }
}
