//! `--exec CMD` of `subscribe` and `tail`: a command run for each message,
//! as `ntfy subscribe TOPIC CMD` runs one, through this one runner.
//!
//! One command at a time, in the order the messages came: the caller runs
//! a message's command before it reads the next message, so message N+1's
//! command starts after N's has exited, and a slow command slows the
//! stream down (the server holds or drops what it sends meanwhile, as for
//! any slow reader) instead of piling up processes. A command that fails
//! is reported and counted, and the stream goes on, unless `--exec-fail
//! stop` says to end there.
//!
//! Each command runs in a process group of its own, so that stopping it
//! reaches what it started too: `sh -c 'a | b'` is three processes, and
//! the shell (dash) forks even a single command rather than replace
//! itself by it. Its own group also keeps the terminal's Ctrl-C from
//! reaching it behind pubcat's back: pubcat passes it on as SIGTERM (see
//! [`Exec::run`]).

use std::future::Future;
use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use tokio::io::AsyncWriteExt;
use tokio::process::{Child, Command};

use crate::cli::ExecFail;
use crate::error::{Error, Result};
use crate::message::Message;

/// The largest body also given in `PUBCAT_BODY`. Linux refuses to start a
/// program with an environment string over 128 KiB (`MAX_ARG_STRLEN`), and
/// all of the environment and arguments together share a few MB, so a
/// large body would make every command fail to start; half that bound
/// leaves room for the rest. A larger body is on stdin only.
const BODY_IN_ENV_MAX: usize = 64 * 1024;

/// How long a command asked to stop (SIGTERM) may take before it is killed.
const GRACE: Duration = Duration::from_secs(2);

/// The `--exec` runner: the command, the policy, and the counts.
pub struct Exec {
    command: String,
    on_fail: ExecFail,
    /// Commands started or tried: the number of the message in reports.
    ran: u64,
    failed: u64,
}

/// How [`Exec::run`] ended.
#[derive(Debug, PartialEq, Eq)]
pub enum Ran {
    /// The command ended by itself, well or not: go on.
    Done,
    /// It was stopped before it ended: the caller is ending.
    Cut,
}

impl Exec {
    pub fn new(command: String, on_fail: ExecFail) -> Exec {
        Exec {
            command,
            on_fail,
            ran: 0,
            failed: 0,
        }
    }

    /// Run the command for `m` and wait for it to exit. When `cut` (Ctrl-C,
    /// `--timeout`) comes first, the command's process group is sent
    /// SIGTERM and given [`GRACE`] to exit, then killed, and this answers
    /// [`Ran::Cut`]. A failure is an error only under `--exec-fail stop`
    /// (exit 6); otherwise it is one line on stderr.
    pub async fn run(&mut self, m: &Message, cut: impl Future<Output = ()>) -> Result<Ran> {
        self.ran += 1;
        let mut child = match self.command(m).spawn() {
            Ok(child) => child,
            Err(e) => {
                self.failed(m, format!("could not be started: {e}"))?;
                return Ok(Ran::Done);
            }
        };
        let body = m.body.to_bytes();
        let mut stdin = child.stdin.take();
        let feed = async move {
            if let Some(pipe) = &mut stdin {
                // A command that does not read its input closes the pipe:
                // that is its business, not a failure.
                let _ = pipe.write_all(&body).await;
            }
            // `stdin` is dropped here: the command reads the end of it.
        };
        tokio::pin!(feed, cut);
        let mut fed = false;
        let ended = loop {
            tokio::select! {
                () = &mut feed, if !fed => fed = true,
                // Once it exits, what it left running (`cmd &`) may hold
                // the pipe: the rest of the body is not waited for.
                status = child.wait() => break Some(status),
                () = &mut cut => break None,
            }
        };
        match ended {
            Some(Ok(status)) if status.success() => {}
            Some(Ok(status)) => self.failed(m, describe(status))?,
            Some(Err(e)) => self.failed(m, format!("could not be waited for: {e}"))?,
            None => {
                self.stop(&mut child).await;
                return Ok(Ran::Cut);
            }
        }
        Ok(Ran::Done)
    }

    /// `sh -c CMD` with the message's variables; the body goes on stdin.
    fn command(&self, m: &Message) -> Command {
        let mut cmd = shell(&self.command);
        cmd.stdin(Stdio::piped())
            .stdout(Stdio::inherit())
            .stderr(Stdio::inherit())
            // pubcat never leaves without waiting for it, but a command
            // must not outlive a pubcat that unwinds.
            .kill_on_drop(true);
        #[cfg(unix)]
        cmd.process_group(0);
        set_var(&mut cmd, "PUBCAT_TOPIC", Some(m.topic.as_bytes()));
        set_var(&mut cmd, "PUBCAT_ID", m.id.as_deref().map(str::as_bytes));
        set_var(
            &mut cmd,
            "PUBCAT_EVENT",
            m.event.as_deref().map(str::as_bytes),
        );
        let text = (!m.binary && m.body.len() <= BODY_IN_ENV_MAX).then_some(&m.body[..]);
        set_var(&mut cmd, "PUBCAT_BODY", text);
        cmd
    }

    /// Ask a running command to stop; kill it if it does not in time.
    async fn stop(&self, child: &mut Child) {
        signal_group(child, Signal::Term);
        if tokio::time::timeout(GRACE, child.wait()).await.is_err() {
            signal_group(child, Signal::Kill);
            // A child in uninterruptible sleep may outlive even SIGKILL a
            // while: wait no longer than the grace again.
            let _ = tokio::time::timeout(GRACE, child.wait()).await;
            crate::log::line(format_args!(
                "pubcat: --exec: the command for message {} was killed, still running {} after SIGTERM",
                self.ran,
                humantime::format_duration(GRACE)
            ));
        }
    }

    /// A failed command: an error under `--exec-fail stop`, else a line.
    /// Both are shown under `-q` too: the user's command failed.
    fn failed(&mut self, m: &Message, why: String) -> Result<()> {
        self.failed += 1;
        let id =
            m.id.as_deref()
                .map(|id| format!(" (id {id})"))
                .unwrap_or_default();
        let what = format!("--exec: the command for message {}{id} {why}", self.ran);
        match self.on_fail {
            ExecFail::Stop => Err(Error::local(format!("{what}; stopping (--exec-fail stop)"))),
            ExecFail::Continue => {
                crate::log::line(format_args!("pubcat: {what}"));
                Ok(())
            }
        }
    }
}

/// The count of failures is said when the runner goes, with the command
/// that used it, whichever way that ends (done, Ctrl-C, a lost connection):
/// there is no path out of `subscribe` or `tail` that skips it.
impl Drop for Exec {
    fn drop(&mut self) {
        if self.failed > 0 && self.on_fail == ExecFail::Continue {
            crate::log::line(format_args!(
                "pubcat: --exec: {} of {} command(s) failed",
                self.failed, self.ran
            ));
        }
    }
}

#[cfg(unix)]
fn shell(command: &str) -> Command {
    let mut cmd = Command::new("sh");
    cmd.arg("-c").arg(command);
    cmd
}

#[cfg(not(unix))]
fn shell(command: &str) -> Command {
    let mut cmd = Command::new("cmd");
    cmd.arg("/C").arg(command);
    cmd
}

/// Set `name` to `value`, or make sure it is unset (pubcat's own
/// environment may have it, from an outer `--exec`). A value with a NUL
/// byte cannot be in an environment: unset too.
fn set_var(cmd: &mut Command, name: &str, value: Option<&[u8]>) {
    match value.filter(|v| !v.contains(&0)) {
        #[cfg(unix)]
        Some(v) => {
            use std::os::unix::ffi::OsStrExt;
            cmd.env(name, std::ffi::OsStr::from_bytes(v));
        }
        #[cfg(not(unix))]
        Some(v) => {
            cmd.env(name, String::from_utf8_lossy(v).as_ref());
        }
        None => {
            cmd.env_remove(name);
        }
    }
}

/// `exited with status 3`, `was killed by signal 9`.
fn describe(status: ExitStatus) -> String {
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(signal) = status.signal() {
            return format!("was killed by signal {signal}");
        }
    }
    match status.code() {
        Some(code) => format!("exited with status {code}"),
        None => format!("ended: {status}"),
    }
}

enum Signal {
    Term,
    Kill,
}

/// Signal the command's process group. Only while the command has not been
/// reaped: until then its pid, the group's id, cannot be another's.
#[cfg(unix)]
fn signal_group(child: &mut Child, signal: Signal) {
    let signal = match signal {
        Signal::Term => libc::SIGTERM,
        Signal::Kill => libc::SIGKILL,
    };
    if let Some(pid) = child.id().and_then(|pid| i32::try_from(pid).ok()) {
        // SAFETY: kill(2) has no memory effects; -pid names the group
        // `process_group(0)` made, led by our unreaped child.
        unsafe { libc::kill(-pid, signal) };
    }
}

/// Without process groups, only the command itself can be killed.
#[cfg(not(unix))]
fn signal_group(child: &mut Child, signal: Signal) {
    if matches!(signal, Signal::Kill) {
        let _ = child.start_kill();
    }
}
