//! `pubcat subscribe URL`: print every message, with exit conditions for
//! scripts (`--count`, `--until`, `--timeout`, `--idle`).
//!
//! Output is flushed once per burst, not per message: a burst is drained
//! from the socket's buffer without waiting, printed, then flushed, so
//! `| grep --line-buffered` sees each message live while bulk streams are
//! not slowed by a write per line. With `--exec`, a burst is one message:
//! printed and flushed, then its command run, before the next is read.

use std::io::ErrorKind;
use std::time::Duration;

use bytes::Bytes;
use regex::bytes::Regex;
use tokio::time::{Instant, sleep_until};

use crate::cli::{Global, SubscribeArgs};
use crate::endpoint::{Protocol, Role};
use crate::error::{Error, Kind, Outcome, Result};
use crate::exec::{Exec, Ran};
use crate::message::Message;
use crate::render::{Format, Printer};
use crate::session::{Incoming, Session};
use crate::shutdown::Interrupt;
use crate::transport::sleep_until_some;
use crate::{status, verbose};

/// Most messages handled before the loop looks at timers and signals again.
const BURST: usize = 4096;

/// Far enough in the future to stand for "never".
const NEVER: Duration = Duration::from_secs(100 * 365 * 24 * 3600);

/// How long the clean close may take once `--timeout` has passed: the
/// README promises the command ends within the timeout plus this.
const CLOSE_GRACE: Duration = Duration::from_secs(1);

pub async fn run(
    global: &Global,
    args: SubscribeArgs,
    mut interrupt: Interrupt,
) -> Result<Outcome> {
    let wants = super::Wants::subscriber(&args.stomp_sub, &args.socketio_sub);
    let connection = super::connection(&args.conn, Role::Subscribe, wants)?;
    let printer = super::message_printer(global, &args.out, Format::Toast)?;
    let until = args
        .end
        .until
        .as_deref()
        .map(|pattern| super::regex("--until", pattern))
        .transpose()?;
    // --timeout bounds the whole command: connecting too.
    let started = Instant::now();
    let deadline = args.end.timeout.map(|t| started + t);
    let mut session = tokio::select! {
        s = Session::connect(&connection) => s?,
        _ = sleep_until_some(deadline) => return Err(Error::new(Kind::Timeout, format!(
            "timed out after {} while connecting (no message received)",
            humantime::format_duration(args.end.timeout.unwrap_or_default())
        ))),
        _ = interrupt.wait() => return Ok(Outcome::Interrupted),
    };
    // STOMP, MQTT and NATS say what they subscribed to themselves.
    if matches!(
        connection.endpoint.protocol,
        Protocol::Raw | Protocol::SocketIo
    ) {
        verbose!("subscribed to {}", session.topic());
    }
    super::say_listening(global, &connection);
    for m in &args.send {
        session.feed(Bytes::from(m.clone()), false).await?;
    }
    if !args.send.is_empty() {
        session.flush().await?;
    }

    let mut sub = Subscriber {
        printer,
        exec: super::exec(&args.out),
        cut: false,
        count: args.end.count,
        until,
        received: 0,
    };
    if args.end.count == Some(0) {
        return sub.finish(&mut session, Outcome::Done).await;
    }

    let timeout = sleep_until(deadline.unwrap_or(started + NEVER));
    tokio::pin!(timeout);
    let idle = sleep_until(Instant::now() + args.end.idle.unwrap_or(NEVER));
    tokio::pin!(idle);

    loop {
        tokio::select! {
            biased;
            _ = interrupt.wait() => {
                sub.finish(&mut session, Outcome::Interrupted).await?;
                return Ok(Outcome::Interrupted);
            }
            _ = &mut timeout => {
                // The bound is the user's: the close gets a short grace.
                session.set_close_wait(CLOSE_GRACE);
                if sub.has_condition() {
                    sub.finish(&mut session, Outcome::Done).await?;
                    return Err(Error::new(Kind::Timeout, format!(
                        "timed out after {} with {} message(s) received and the exit condition not met",
                        humantime::format_duration(args.end.timeout.unwrap_or_default()),
                        sub.received
                    )));
                }
                return sub.finish(&mut session, Outcome::Done).await;
            }
            _ = &mut idle => {
                verbose!("nothing received for {}", humantime::format_duration(args.end.idle.unwrap_or_default()));
                return sub.finish(&mut session, Outcome::Done).await;
            }
            first = session.next() => {
                let first = first?;
                let mut end = sub.handle(&first)?;
                if let (Some(exec), Incoming::Message(m)) = (&mut sub.exec, &first) {
                    // What pubcat prints comes before what the command does.
                    if let Err(e) = sub.printer.flush() {
                        return sub.output_failed(&mut session, e).await;
                    }
                    // --timeout bounds the whole command, a running --exec too.
                    let cut = async {
                        tokio::select! {
                            _ = interrupt.wait() => {}
                            _ = &mut timeout => {}
                        }
                    };
                    match exec.run(m, cut).await {
                        Ok(Ran::Done) => {}
                        // The loop's interrupt or timeout branch ends it.
                        Ok(Ran::Cut) => {
                            sub.cut = true;
                            continue;
                        }
                        // --exec-fail stop: closed without acknowledging
                        // the message, which a queue then redelivers.
                        Err(e) => {
                            let _ = session.close(|_| Ok(())).await;
                            return Err(e);
                        }
                    }
                } else if end.is_none() {
                    end = session.drain_ready(BURST - 1, |incoming| sub.handle(incoming))?;
                }
                if let Some(end) = end {
                    return match end {
                        End::Done => sub.finish(&mut session, Outcome::Done).await,
                        End::Closed(reason, clean) => sub.closed_by_server(reason, clean),
                    };
                }
                match sub.printer.flush() {
                    Ok(()) => {}
                    Err(e) => return sub.output_failed(&mut session, e).await,
                }
                // Printed and flushed: only now may the broker forget them.
                session.acknowledge().await?;
                if let Some(d) = args.end.idle {
                    idle.as_mut().reset(Instant::now() + d);
                }
            }
        }
    }
}

enum End {
    /// The exit condition held.
    Done,
    /// The server closed: its description, and whether it was clean.
    Closed(String, bool),
}

struct Subscriber {
    printer: Printer<std::io::Stdout>,
    exec: Option<Exec>,
    /// An --exec command was stopped before it ended: its message is not
    /// acknowledged.
    cut: bool,
    count: Option<u64>,
    until: Option<Regex>,
    received: u64,
}

impl Subscriber {
    fn has_condition(&self) -> bool {
        self.count.is_some() || self.until.is_some()
    }

    /// By reference: a message is large, and moving one per call showed in
    /// receive throughput.
    #[inline(always)]
    fn handle(&mut self, incoming: &Incoming) -> Result<Option<End>> {
        match incoming {
            Incoming::Message(m) => {
                self.print(m)?;
                if self.until.as_ref().is_some_and(|re| re.is_match(&m.body)) {
                    verbose!("--until matched message {}", self.received);
                    return Ok(Some(End::Done));
                }
                if self.count.is_some_and(|n| self.received >= n) {
                    return Ok(Some(End::Done));
                }
                Ok(None)
            }
            Incoming::Closed { reason, clean } => Ok(Some(End::Closed(reason.clone(), *clean))),
            // Replies answer what we publish; a subscriber publishes nothing.
            Incoming::Reply(_) => Ok(None),
        }
    }

    #[inline(always)]
    fn print(&mut self, m: &Message) -> Result<()> {
        self.received += 1;
        // A closed stdout (`| head`) is handled where the burst is flushed.
        super::stdout_ok(self.printer.print(m))
    }

    /// Flush what was printed, close cleanly (printing what the server had
    /// already sent: it must not be lost), and end with `outcome`.
    async fn finish(&mut self, session: &mut Session, outcome: Outcome) -> Result<Outcome> {
        // After the condition held, later messages are not ours to print:
        // `--count 5` prints exactly five.
        let keep = outcome == Outcome::Interrupted;
        // What was printed is acknowledged before the session closes.
        match self.printer.flush() {
            Ok(()) if self.cut => {}
            Ok(()) => session.acknowledge().await?,
            Err(e) if e.kind() == ErrorKind::BrokenPipe => {}
            Err(e) => return Err(Error::local(format!("writing to stdout: {e}"))),
        }
        let printer = &mut self.printer;
        session
            .close(|m| {
                if keep {
                    printer
                        .print(m)
                        .map_err(|e| Error::local(format!("writing to stdout: {e}")))?;
                }
                Ok(())
            })
            .await?;
        super::stdout_ok(self.printer.flush()).map(|()| outcome)
    }

    fn closed_by_server(&mut self, reason: String, clean: bool) -> Result<Outcome> {
        let flushed = self.printer.flush();
        if !clean {
            return Err(Error::server(format!(
                "the server closed the connection: {reason}"
            )));
        }
        if let Err(e) = flushed
            && e.kind() != ErrorKind::BrokenPipe
        {
            return Err(Error::local(format!("writing to stdout: {e}")));
        }
        if self.has_condition() {
            return Err(Error::server(format!(
                "the server closed the connection ({reason}) after {} message(s), before the exit condition held",
                self.received
            )));
        }
        status!("the server closed the connection ({reason})");
        Ok(Outcome::Done)
    }

    async fn output_failed(&mut self, session: &mut Session, e: std::io::Error) -> Result<Outcome> {
        if e.kind() == ErrorKind::BrokenPipe {
            // The reader went away (`| head -n 3`): not an error, just done.
            verbose!("stdout closed; closing the connection");
            let _ = session.close(|_| Ok(())).await;
            return Ok(Outcome::Done);
        }
        let _ = session.close(|_| Ok(())).await;
        Err(Error::local(format!("writing to stdout: {e}")))
    }
}
