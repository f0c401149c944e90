//! Ctrl-C and SIGTERM as one small concept: commands ask "were we
//! interrupted?" or wait for it, then close cleanly and exit 130.

use tokio::sync::watch;

#[derive(Clone)]
pub struct Interrupt {
    rx: watch::Receiver<bool>,
}

impl Interrupt {
    /// Start listening for SIGINT and SIGTERM. Call once, inside the runtime.
    /// The handlers are in place when this returns (not when a spawned task
    /// first runs), so a signal sent right after is never the default
    /// "killed by signal".
    pub fn install() -> Interrupt {
        let (tx, rx) = watch::channel(false);
        let signals = Signals::register();
        tokio::spawn(async move {
            signals.wait().await;
            let _ = tx.send(true);
        });
        Interrupt { rx }
    }

    pub fn is_set(&self) -> bool {
        *self.rx.borrow()
    }

    /// Resolves when the user interrupts; cancel-safe, so it can sit in a
    /// `select!` loop.
    pub async fn wait(&mut self) {
        if self.rx.wait_for(|set| *set).await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}

/// The registered signal streams.
#[cfg(unix)]
enum Signals {
    Unix(tokio::signal::unix::Signal, tokio::signal::unix::Signal),
    CtrlC,
}

#[cfg(unix)]
impl Signals {
    fn register() -> Signals {
        use tokio::signal::unix::{SignalKind, signal};
        match (
            signal(SignalKind::interrupt()),
            signal(SignalKind::terminate()),
        ) {
            (Ok(int), Ok(term)) => Signals::Unix(int, term),
            _ => Signals::CtrlC,
        }
    }

    async fn wait(self) {
        match self {
            Signals::Unix(mut int, mut term) => {
                tokio::select! {
                    _ = int.recv() => {}
                    _ = term.recv() => {}
                }
            }
            Signals::CtrlC => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
}

#[cfg(not(unix))]
struct Signals;

#[cfg(not(unix))]
impl Signals {
    fn register() -> Signals {
        Signals
    }

    async fn wait(self) {
        let _ = tokio::signal::ctrl_c().await;
    }
}
