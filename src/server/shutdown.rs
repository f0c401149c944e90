//! The server's shutdown as every connection task sees it (mini-redis's
//! `Shutdown`): one flag, flipped once by `Bound::run`, that a task can
//! test, wait for, or wait for plus the grace it has to finish closing.
//! Under `--chaos-cut` a connection drawn for a clean cut has its own
//! `Shutdown` that also fires at its cut ([`Shutdown::until`]), so it is
//! closed the way shutdown closes it, by the protocol's own close.

use std::time::Duration;

use tokio::sync::watch;
use tokio::time::Instant;

/// After shutdown (or a clean chaos cut), how long a connection gets to
/// finish: a WebSocket its close handshake, an HTTP connection the answer
/// it is writing; then it is dropped (a client that stopped reading would
/// otherwise hold `run` for ever).
pub(super) const GRACE: Duration = Duration::from_secs(5);

/// Why a connection's `Shutdown` fired, as close reasons and logs say it.
const SHUTTING_DOWN: &str = "server shutting down";
const CUT: &str = "chaos: connection cut";

#[derive(Clone)]
pub(super) struct Shutdown {
    flag: watch::Receiver<bool>,
    /// A chaos cut: this connection ends then too.
    cut: Option<Instant>,
}

impl Shutdown {
    /// The flag and the receivers' handle on it.
    pub(super) fn new() -> (watch::Sender<bool>, Shutdown) {
        let (tx, rx) = watch::channel(false);
        (
            tx,
            Shutdown {
                flag: rx,
                cut: None,
            },
        )
    }

    /// One connection's: the server's shutdown, or `cut` if it comes first.
    pub(super) fn until(&self, cut: Option<Instant>) -> Shutdown {
        Shutdown {
            flag: self.flag.clone(),
            cut,
        }
    }

    /// Resolves once shutdown has begun (at once if it has), or at the cut.
    /// Cancel-safe, so it can sit in a `select!` loop.
    pub(super) async fn recv(&mut self) {
        // An error means the sender is gone: the server is gone too.
        let Some(cut) = self.cut else {
            let _ = self.flag.wait_for(|down| *down).await;
            return;
        };
        tokio::select! {
            _ = self.flag.wait_for(|down| *down) => {}
            _ = tokio::time::sleep_until(cut) => {}
        }
    }

    /// Why it fired: the server's shutdown, or a chaos cut.
    pub(super) fn why(&self) -> &'static str {
        if *self.flag.borrow() || self.cut.is_none_or(|at| Instant::now() < at) {
            SHUTTING_DOWN
        } else {
            CUT
        }
    }

    /// Resolves [`GRACE`] after shutdown began (the server's, not a cut):
    /// a connection still open then is dropped.
    pub(super) async fn grace_over(&mut self) {
        let _ = self.flag.wait_for(|down| *down).await;
        tokio::time::sleep(GRACE).await;
    }
}
