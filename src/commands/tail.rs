//! `pubcat tail URL`: follow a stream until interrupted. Each connection is
//! one session; when it ends, the one retry policy (`crate::retry`)
//! decides whether and when to start the next, which resumes after the last
//! id printed, so where the server keeps history no message is missed and
//! none is printed twice; where it cannot replay, tail says so. An answer
//! that would be the same next time (a 4xx, a wrong Content-Type) ends it,
//! and so does a server that asks for no reconnect (SSE's 204): exit 0.
//! With `--exec`, each message's command runs before the next message is
//! read, and `--state` claims a message once its command has ended.

use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use crate::cli::{GapCheck, Global, TailArgs};
use crate::endpoint::{Role, Transport};
use crate::error::{Error, Kind, Outcome, Result};
use crate::exec::{Exec, Ran};
use crate::message::{Message, Text};
use crate::render::{Format, Printer};
use crate::retry::{self, Backoff, Retry};
use crate::session::{Connection, Incoming, Session};
use crate::shutdown::Interrupt;
use crate::{status, verbose, warn};

/// Most messages printed before the output is flushed and the state saved.
const BURST: usize = 4096;

pub async fn run(global: &Global, args: TailArgs, mut interrupt: Interrupt) -> Result<Outcome> {
    let wants = super::Wants {
        ids: true,
        ..super::Wants::subscriber(&args.stomp_sub, &args.socketio_sub)
    };
    let mut connection = super::connection(&args.conn, Role::Subscribe, wants)?;
    let mut retry = Retry::new(Backoff {
        min: args.backoff_min,
        max: args.backoff_max.max(args.backoff_min),
        max_retries: args.max_retries,
    });
    let mut tail = Tail {
        printer: super::message_printer(global, &args.out, Format::Line)?,
        exec: super::exec(&args.out),
        cut: false,
        last_id: match &args.since {
            Some(id) => Some(Text::from(id.as_str())),
            None => read_state(args.state.as_deref())?.map(Text::from),
        },
        state: args.state.clone(),
        no_ids: no_ids_warning(&connection.dialect),
        printed: 0,
        gap_check: args.gap_check,
        sequence: false,
        reconnected: None,
        epoch: None,
    };
    if let Some(id) = &tail.last_id {
        verbose!("starting after id {id}");
    }

    loop {
        connection.transport.resume_from = tail.last_id.as_deref().map(String::from);
        connection.transport.resume_epoch = tail.epoch.clone();
        // `-n` asks for history only until a message (and its id) is seen.
        let last = args
            .last
            .filter(|_| tail.last_id.is_none() && tail.printed == 0);
        let connected = tokio::select! {
            s = connect(&connection, last) => s,
            _ = interrupt.wait() => return Ok(Outcome::Interrupted),
        };
        let (lost, hint) = match connected {
            Err(e) => (e, None),
            Ok(mut session) => {
                if last.is_some() && !session.stopped() && session.sequence_ids() == Some(false) {
                    return Err(Error::usage(
                        "this server does not say it takes ?last=N (pubcat serve does), so -n cannot be kept to N: start after an id with --since ID, or leave -n out",
                    ));
                }
                super::say_listening(global, &connection);
                // Said with the first message: a long-poll session has not
                // reached the server until its first answer.
                tail.reconnected = Some(retry.failures()).filter(|&n| n > 0);
                let printed = tail.printed;
                let stop = tail.follow(&mut session, &mut interrupt).await?;
                if tail.printed > printed {
                    retry.progressed();
                }
                // The link's cursor is the server's word on where this
                // session got to, messages or not (an interrupted one may
                // hold messages not yet printed: its state is the last id
                // printed).
                if !matches!(stop, Stop::Interrupted | Stop::Failed(_))
                    && let Some(cursor) = session.cursor()
                {
                    tail.last_id = Some(Text::from(cursor.as_str()));
                }
                if let Some(epoch) = session.epoch() {
                    tail.epoch = Some(epoch);
                }
                match stop {
                    Stop::Interrupted => {
                        tail.flush()?;
                        if !tail.cut {
                            session.acknowledge().await?;
                        }
                        let printer = &mut tail.printer;
                        let _ = session.close(|m| print(printer, m)).await;
                        tail.flush()?;
                        return Ok(Outcome::Interrupted);
                    }
                    Stop::Closed(reason) if session.stopped() => {
                        status!("the server closed the stream ({reason}); not reconnecting");
                        return Ok(Outcome::Done);
                    }
                    Stop::Closed(reason) => (retry::ended(&reason), session.retry_hint()),
                    Stop::Lost(e) => (e, session.retry_hint()),
                    // Closed without acknowledging the message, which a
                    // queue then redelivers; --state stays before it.
                    Stop::Failed(e) => {
                        let _ = session.close(|_| Ok(())).await;
                        return Err(e);
                    }
                }
            }
        };
        let Some(delay) = retry.next_wait(&lost, hint) else {
            return Err(retry.final_error(lost));
        };
        status!(
            "{lost}; reconnecting in {:.1}s (attempt {}){}",
            delay.as_secs_f64(),
            retry.failures(),
            tail.last_id
                .as_deref()
                .map(|id| format!(", resuming after id {id}"))
                .unwrap_or_default()
        );
        tokio::select! {
            _ = tokio::time::sleep(delay) => {}
            _ = interrupt.wait() => return Ok(Outcome::Interrupted),
        }
    }
}

/// A session of `connection`, asking for the last `last` messages or those
/// after its `resume_from` where the URL is how the server is asked.
async fn connect(connection: &Connection, last: Option<u64>) -> Result<Session> {
    let mut c = connection.clone();
    let (endpoint, last_id) = (&mut c.endpoint, c.transport.resume_from.as_deref());
    if let Some(n) = last {
        endpoint
            .url
            .query_pairs_mut()
            .append_pair("last", &n.to_string());
    }
    if endpoint.transport == Transport::Ws
        && let Some(id) = last_id
    {
        // Nchan and `pubcat serve` both read this on a WebSocket request.
        endpoint
            .url
            .query_pairs_mut()
            .append_pair("last_event_id", id);
    }
    Session::connect(&c).await
}

enum Stop {
    Interrupted,
    /// The server ended the session, cleanly.
    Closed(String),
    /// The connection is gone.
    Lost(Error),
    /// An --exec command failed under `--exec-fail stop`.
    Failed(Error),
}

struct Tail {
    printer: Printer<std::io::Stdout>,
    exec: Option<Exec>,
    /// An --exec command was stopped before it ended: its message is not
    /// acknowledged.
    cut: bool,
    /// Copied from every message with an id: kept as `Text`, which short
    /// ids copy into inline, not as a `String` allocated per message.
    last_id: Option<Text>,
    state: Option<PathBuf>,
    /// What to say the first time a message has no id (taken once said);
    /// None when the protocol resumes by itself (an MQTT persistent
    /// session).
    no_ids: Option<&'static str>,
    printed: u64,
    gap_check: GapCheck,
    /// A jump in the ids is a gap: the server said its ids are consecutive
    /// (kept once said: the same URL, the same server), or the user did.
    sequence: bool,
    /// The failed attempts before this session, to report with its first
    /// message.
    reconnected: Option<u32>,
    /// The server run the cursor came from, where the server names it
    /// (`pubcat serve` does): a restarted broker then replays its own
    /// messages instead of skipping those numbered up to the old cursor.
    epoch: Option<String>,
}

impl Tail {
    async fn follow(&mut self, session: &mut Session, interrupt: &mut Interrupt) -> Result<Stop> {
        loop {
            // Known at connect over SSE, after the first answer over
            // long-poll (whose first burst is then judged as unknown).
            self.sequence = match self.gap_check {
                GapCheck::Sequence => true,
                GapCheck::Off => false,
                GapCheck::Auto => self.sequence || session.sequence_ids() == Some(true),
            };
            let first = tokio::select! {
                biased;
                _ = interrupt.wait() => return Ok(Stop::Interrupted),
                first = session.next() => first,
            };
            let mut stop = match first {
                Ok(incoming) if self.exec.is_some() => {
                    self.handle_then_exec(&incoming, interrupt).await
                }
                first => first.and_then(|incoming| self.handle(&incoming)),
            };
            if let Ok(None) = stop
                && self.exec.is_none()
            {
                stop = session.drain_ready(BURST - 1, |incoming| self.handle(incoming));
            }
            match stop {
                Ok(Some(stop)) => return Ok(stop),
                Ok(None) => {}
                // The connection is gone or the server failed (the
                // transport's errors: printing and the state file fail
                // with local ones); the retry policy decides what next.
                Err(e) if matches!(e.kind, Kind::Connect | Kind::Server) => {
                    self.flush()?;
                    return Ok(Stop::Lost(e));
                }
                Err(e) => return Err(e),
            }
            self.flush()?;
            // An ACK that cannot go out is a lost connection like any other:
            // the broker redelivers what it did not hear acknowledged.
            match session.acknowledge().await {
                Err(e) if matches!(e.kind, Kind::Connect | Kind::Server) => {
                    return Ok(Stop::Lost(e));
                }
                other => other?,
            }
        }
    }

    /// With `--exec`, a burst is one message: printed and flushed, then its
    /// command run. A message whose command did not end (Ctrl-C) or
    /// failed under `--exec-fail stop` is not one `--state` may claim.
    async fn handle_then_exec(
        &mut self,
        incoming: &Incoming<'_>,
        interrupt: &mut Interrupt,
    ) -> Result<Option<Stop>> {
        let before = self.last_id.clone();
        let stop = self.handle(incoming)?;
        let (Some(exec), Incoming::Message(m)) = (&mut self.exec, incoming) else {
            return Ok(stop);
        };
        super::stdout_ok(self.printer.flush())?;
        match exec.run(m, interrupt.wait()).await {
            Ok(Ran::Done) => Ok(stop),
            Ok(Ran::Cut) => {
                self.last_id = before;
                self.cut = true;
                Ok(Some(Stop::Interrupted))
            }
            Err(e) => {
                self.last_id = before;
                Ok(Some(Stop::Failed(e)))
            }
        }
    }

    /// One message of a burst; Some when the server closed the stream.
    #[inline]
    fn handle(&mut self, incoming: &Incoming) -> Result<Option<Stop>> {
        match incoming {
            Incoming::Message(m) => self.on_message(m)?,
            // Replies answer what we publish; tail publishes nothing.
            Incoming::Reply(_) => {}
            Incoming::Closed { reason, clean } => {
                self.flush()?;
                return Ok(Some(if *clean {
                    Stop::Closed(reason.clone())
                } else {
                    Stop::Lost(Error::connect(format!(
                        "the server closed the stream ({reason})"
                    )))
                }));
            }
        }
        Ok(None)
    }

    fn on_message(&mut self, m: &Message) -> Result<()> {
        if let Some(attempts) = self.reconnected.take() {
            status!("reconnected after {attempts} attempt(s)");
        }
        match (&m.id, &self.last_id) {
            (None, _) => {
                // No id, no cursor: a reconnect must not ask again for what
                // came after a --since it has long passed.
                self.last_id = None;
                if let Some(why) = self.no_ids.take() {
                    warn!("{why}");
                }
            }
            (Some(id), Some(prev)) if self.sequence => {
                // Consecutive ids (pubcat serve's) show gaps and resets
                // exactly; other ids (global counters, times) prove nothing.
                if let (Ok(n), Ok(p)) = (id.parse::<u64>(), prev.parse::<u64>()) {
                    if n < p {
                        // A server that honours the cursor never goes back:
                        // it restarted, and skipping would lose messages.
                        warn!(
                            "the server's ids went back from {p} to {n} (it restarted or lost its history); following from {n}"
                        );
                    } else if n > p.saturating_add(1) {
                        warn!(
                            "gap: the server could not replay from id {p}; ids {}..{} are missing",
                            p + 1,
                            n - 1
                        );
                    }
                }
            }
            (Some(_), _) => {}
        }
        print(&mut self.printer, m)?;
        self.printed += 1;
        if m.id.is_some() {
            self.last_id.clone_from(&m.id);
        }
        Ok(())
    }

    /// Flush the output, then record the last id printed: the state never
    /// claims a message that did not reach stdout.
    fn flush(&mut self) -> Result<()> {
        super::stdout_ok(self.printer.flush())?;
        if let (Some(path), Some(id)) = (&self.state, &self.last_id) {
            write_state(path, id)?;
        }
        Ok(())
    }
}

fn print(printer: &mut Printer<std::io::Stdout>, m: &Message) -> Result<()> {
    super::stdout_ok(printer.print(m))
}

fn read_state(path: Option<&Path>) -> Result<Option<String>> {
    let Some(path) = path else { return Ok(None) };
    match std::fs::read_to_string(path) {
        Ok(s) => Ok(Some(s.trim().to_string()).filter(|s| !s.is_empty())),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::usage(format!("--state {}: {e}", path.display()))),
    }
}

/// Replace the state file atomically, so a crash never leaves half an id.
fn write_state(path: &Path, id: &str) -> Result<()> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, format!("{id}\n"))
        .and_then(|()| std::fs::rename(&tmp, path))
        .map_err(|e| Error::local(format!("--state {}: {e}", path.display())))
}

/// The warning for a stream whose messages have no ids, by dialect: an
/// MQTT session the broker keeps (`--clean false` at QoS 1 or 2) gives
/// what was queued meanwhile by itself.
fn no_ids_warning(dialect: &crate::dialect::Dialect) -> Option<&'static str> {
    match dialect {
        crate::dialect::Dialect::Mqtt(m)
            if !m.clean && m.qos != crate::dialect::mqtt::QoS::AtMostOnce =>
        {
            None
        }
        crate::dialect::Dialect::Mqtt(_) => Some(
            "MQTT messages carry no ids: for tail to get what it missed while reconnecting, resume a session the broker keeps (--clean false --client-id ID --qos 1 or 2)",
        ),
        _ => Some(
            "this stream's messages carry no ids, so after a reconnect tail cannot replay what it missed",
        ),
    }
}
