//! `pubcat tail URL`: follow a stream until interrupted. On any disconnect
//! it reconnects with exponential backoff and jitter and resumes after the
//! last id it printed, so where the server keeps history no message is
//! missed and none is printed twice; where it cannot replay, tail says so.

use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use crate::cli::{Global, TailArgs};
use crate::endpoint::{Endpoint, Role, Transport};
use crate::error::{Error, Kind, Outcome, Result};
use crate::message::{Message, Text};
use crate::render::{Format, Printer};
use crate::session::{Incoming, Session};
use crate::shutdown::Interrupt;
use crate::transport::{Backoff, Options};
use crate::{status, verbose, warn};

/// Most messages printed before the output is flushed and the state saved.
const BURST: usize = 4096;

pub async fn run(global: &Global, args: TailArgs, mut interrupt: Interrupt) -> Result<Outcome> {
    let (endpoint, mut opts) = super::connection(global, &args.conn, Role::Subscribe)?;
    let backoff = Backoff {
        min: args.backoff_min,
        max: args.backoff_max.max(args.backoff_min),
        max_retries: args.max_retries,
    };
    opts.backoff = backoff;
    opts.stomp.ack = args.stomp_sub.ack;
    opts.stomp.prefetch = args.stomp_sub.prefetch;
    opts.socketio.events = args.socketio_sub.event.clone();
    let mut tail = Tail {
        printer: super::printer(global, Format::Line),
        last_id: match &args.since {
            Some(id) => Some(Text::from(id.as_str())),
            None => read_state(args.state.as_deref())?.map(Text::from),
        },
        state: args.state.clone(),
        warned_no_ids: false,
        printed: 0,
    };
    if let Some(id) = &tail.last_id {
        verbose!("starting after id {id}");
    }

    let mut failures = 0;
    loop {
        opts.resume_from = tail.last_id.as_deref().map(String::from);
        // `-n` asks for history only until a message (and its id) is seen.
        let last = args
            .last
            .filter(|_| tail.last_id.is_none() && tail.printed == 0);
        let connected = tokio::select! {
            s = connect(&endpoint, &opts, tail.last_id.as_deref(), last) => s,
            _ = interrupt.wait() => return Ok(Outcome::Interrupted),
        };
        let mut session = match connected {
            Ok(s) => s,
            Err(e) if e.kind == Kind::Connect => {
                failures += 1;
                wait_to_retry(&backoff, failures, &e, &mut interrupt).await?;
                continue;
            }
            Err(e) => return Err(e),
        };
        if failures > 0 {
            status!("reconnected after {failures} failed attempt(s)");
        }
        failures = 0;

        let why = tail.follow(&mut session, &mut interrupt).await?;
        match why {
            Stop::Interrupted => {
                tail.flush()?;
                session.acknowledge().await?;
                let printer = &mut tail.printer;
                let _ = session.close(|m| print(printer, m)).await;
                tail.flush()?;
                return Ok(Outcome::Interrupted);
            }
            Stop::Lost(e) => {
                failures += 1;
                wait_to_retry(&backoff, failures, &e, &mut interrupt).await?;
            }
        }
    }
}

async fn connect(
    endpoint: &Endpoint,
    opts: &Options,
    last_id: Option<&str>,
    last: Option<u64>,
) -> Result<Session> {
    let mut endpoint = endpoint.clone();
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
    Session::connect(&endpoint, opts).await
}

async fn wait_to_retry(
    backoff: &Backoff,
    failures: u32,
    e: &Error,
    interrupt: &mut Interrupt,
) -> Result<()> {
    let Some(delay) = backoff.delay(failures) else {
        return Err(Error::connect(format!(
            "{e} (gave up after {} attempts)",
            failures
        )));
    };
    status!(
        "{e}; reconnecting in {:.1}s (attempt {failures})",
        delay.as_secs_f64()
    );
    tokio::select! {
        _ = tokio::time::sleep(delay) => Ok(()),
        _ = interrupt.wait() => Err(Error::new(Kind::Interrupted, "interrupted")),
    }
}

enum Stop {
    Interrupted,
    /// The connection is gone; reconnect.
    Lost(Error),
}

struct Tail {
    printer: Printer<std::io::Stdout>,
    /// Copied from every message with an id: kept as `Text`, which short
    /// ids copy into inline, not as a `String` allocated per message.
    last_id: Option<Text>,
    state: Option<PathBuf>,
    warned_no_ids: bool,
    printed: u64,
}

impl Tail {
    async fn follow(&mut self, session: &mut Session, interrupt: &mut Interrupt) -> Result<Stop> {
        loop {
            let first = tokio::select! {
                biased;
                _ = interrupt.wait() => return Ok(Stop::Interrupted),
                first = session.next() => first,
            };
            let mut stop = first.and_then(|incoming| self.handle(&incoming));
            if let Ok(None) = stop {
                stop = session.drain_ready(BURST - 1, |incoming| self.handle(incoming));
            }
            match stop {
                Ok(Some(stop)) => return Ok(stop),
                Ok(None) => {}
                // The connection is gone (the transport's error: printing
                // and the state file fail with local ones).
                Err(e) if e.kind == Kind::Connect => {
                    self.flush()?;
                    return Ok(Stop::Lost(e));
                }
                Err(e) => return Err(e),
            }
            self.flush()?;
            session.acknowledge().await?;
        }
    }

    /// One message of a burst; Some when the server closed the stream.
    #[inline]
    fn handle(&mut self, incoming: &Incoming) -> Result<Option<Stop>> {
        match incoming {
            Incoming::Message(m) => self.on_message(m)?,
            // Replies answer what we publish; tail publishes nothing.
            Incoming::Reply(_) => {}
            Incoming::Closed { reason, .. } => {
                self.flush()?;
                return Ok(Some(Stop::Lost(Error::connect(format!(
                    "the server closed the stream ({reason})"
                )))));
            }
        }
        Ok(None)
    }

    fn on_message(&mut self, m: &Message) -> Result<()> {
        match (&m.id, &self.last_id) {
            (None, _) => {
                if !self.warned_no_ids {
                    self.warned_no_ids = true;
                    warn!(
                        "this stream's messages carry no ids, so after a reconnect tail cannot replay what it missed"
                    );
                }
            }
            (Some(id), Some(prev)) if id.as_str() == prev => {
                verbose!("skipping id {id}: already printed");
                return Ok(());
            }
            (Some(id), Some(prev)) => {
                // Numeric ids (pubcat serve) show gaps and resets exactly.
                if let (Ok(n), Ok(p)) = (id.parse::<u64>(), prev.parse::<u64>()) {
                    if n < p {
                        // A server that honours the cursor never goes back:
                        // it restarted, and skipping would lose messages.
                        warn!(
                            "the server's ids went back from {p} to {n} (it restarted or lost its history); following from {n}"
                        );
                    } else if n > p + 1 {
                        warn!(
                            "gap: the server could not replay from id {p}; ids {}..{} are missing",
                            p + 1,
                            n - 1
                        );
                    }
                }
            }
            (Some(_), None) => {}
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
