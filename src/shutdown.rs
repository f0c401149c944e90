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
        Interrupt::listen(Signals::register(false))
    }

    /// [`Interrupt::install`], and SIGHUP too (a server whose terminal went
    /// away closes its clients as on SIGTERM), unless SIGHUP is ignored, as
    /// `nohup` leaves it: then it stays ignored.
    pub fn install_with_hangup() -> Interrupt {
        Interrupt::listen(Signals::register(true))
    }

    fn listen(signals: Signals) -> Interrupt {
        let (tx, rx) = watch::channel(false);
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
    Unix(
        tokio::signal::unix::Signal,
        tokio::signal::unix::Signal,
        Option<tokio::signal::unix::Signal>,
    ),
    CtrlC,
}

#[cfg(unix)]
impl Signals {
    fn register(hangup: bool) -> Signals {
        use tokio::signal::unix::{SignalKind, signal};
        let hup = (hangup && !hangup_ignored())
            .then(|| signal(SignalKind::hangup()).ok())
            .flatten();
        match (
            signal(SignalKind::interrupt()),
            signal(SignalKind::terminate()),
        ) {
            (Ok(int), Ok(term)) => Signals::Unix(int, term, hup),
            _ => Signals::CtrlC,
        }
    }

    async fn wait(self) {
        match self {
            Signals::Unix(mut int, mut term, mut hup) => {
                let hangup = async {
                    match &mut hup {
                        Some(hup) => hup.recv().await,
                        None => std::future::pending().await,
                    }
                };
                tokio::select! {
                    _ = int.recv() => {}
                    _ = term.recv() => {}
                    _ = hangup => {}
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

/// SIGHUP is ignored (`nohup`): registering a handler would undo that.
#[cfg(unix)]
fn hangup_ignored() -> bool {
    // SAFETY: sigaction with a null new action only reads the current one
    // into `old`, which is a valid, zeroed struct.
    unsafe {
        let mut old: libc::sigaction = std::mem::zeroed();
        libc::sigaction(libc::SIGHUP, std::ptr::null(), &mut old) == 0
            && old.sa_sigaction == libc::SIG_IGN
    }
}

#[cfg(not(unix))]
impl Signals {
    fn register(_hangup: bool) -> Signals {
        Signals
    }

    async fn wait(self) {
        let _ = tokio::signal::ctrl_c().await;
    }
}
