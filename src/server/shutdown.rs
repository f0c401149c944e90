//! The server's shutdown as every connection task sees it (mini-redis's
//! `Shutdown`): one flag, flipped once by `Bound::run`, that a task can
//! test, wait for, or wait for plus the grace it has to finish closing.

use std::time::Duration;

use tokio::sync::watch;

/// After shutdown, how long WebSocket connections get to finish their close
/// handshake before they are dropped (a client that stopped reading would
/// otherwise hold `run` for ever).
const GRACE: Duration = Duration::from_secs(5);

#[derive(Clone)]
pub(super) struct Shutdown(watch::Receiver<bool>);

impl Shutdown {
    /// The flag and the receivers' handle on it.
    pub(super) fn new() -> (watch::Sender<bool>, Shutdown) {
        let (tx, rx) = watch::channel(false);
        (tx, Shutdown(rx))
    }

    /// Resolves once shutdown has begun (at once if it has). Cancel-safe,
    /// so it can sit in a `select!` loop.
    pub(super) async fn recv(&mut self) {
        // An error means the sender is gone: the server is gone too.
        let _ = self.0.wait_for(|down| *down).await;
    }

    /// Resolves [`GRACE`] after shutdown began: a connection still open
    /// then is dropped.
    pub(super) async fn grace_over(&mut self) {
        self.recv().await;
        tokio::time::sleep(GRACE).await;
    }
}
