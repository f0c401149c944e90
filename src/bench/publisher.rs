//! The publisher loop: each publisher sends its share of the messages,
//! paced to its due times (the wrk2 model) or as fast as it can, from the
//! moment it is told to go until the run's span is over, then closes and
//! waits for the server to confirm it has everything. Before that, the
//! first publisher sends the probes that tell when every subscriber
//! listens.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinSet;

use super::payload::{self, Writer};
use super::schedule::Schedule;
use super::subscriber::Subscribers;
use super::{BURST, Plan, Shared, Span, closed_error};
use crate::error::{Error, Kind, Result};
use crate::session::{Fed, Incoming, Session};
use crate::shutdown::Interrupt;

/// Messages fed before each flush when publishing as fast as possible.
const BATCH: usize = 256;

/// How long to wait for every subscriber to hear a probe.
const PROBE_WAIT: Duration = Duration::from_secs(10);

/// The resolution of tokio's timer.
const TIMER_TICK_NS: u64 = 1_000_000;

/// Closer to a due time than this, a publisher yields rather than sleeps.
const SPIN_NS: u64 = 50_000;

/// Paced messages due closer together than this are written together: the
/// latency it can add (counted, as every delay from the due time is) is
/// small beside the p99 it saves.
const FLUSH_WINDOW_NS: u64 = 25_000;

/// How long a publisher waits for the server to acknowledge its close.
const PUBLISHER_CLOSE_WAIT: Duration = Duration::from_secs(30);

/// What one publisher did.
pub(super) struct PubResult {
    pub(super) sent: u64,
    pub(super) measured: u64,
    pub(super) measured_bytes: u64,
    /// When the last measured message was handed to the socket.
    pub(super) last_measured_ns: u64,
    pub(super) error: Option<Error>,
}

/// The running publishers, waiting for the word to go.
pub(super) struct Publishers {
    tasks: JoinSet<(usize, PubResult)>,
    /// When to start, in ns since the run began (None until then).
    go: watch::Sender<Option<u64>>,
    count: usize,
}

impl Publishers {
    /// A task for each session, the `i`th being this shard's `i`th
    /// publisher (its id counts from the shard's first).
    pub(super) fn spawn(
        sessions: impl Iterator<Item = Session>,
        plan: &Plan,
        shared: &Arc<Shared>,
    ) -> Publishers {
        let (go, go_rx) = watch::channel(None::<u64>);
        let mut tasks = JoinSet::new();
        let ids = plan.shard.part(plan.pubs);
        for ((i, session), id) in sessions.enumerate().zip(ids.clone()) {
            let (shared, go) = (Arc::clone(shared), go_rx.clone());
            let plan = plan.clone();
            tasks.spawn(async move { (i, publisher(id, session, &plan, &shared, go).await) });
        }
        Publishers {
            tasks,
            go,
            count: ids.len(),
        }
    }

    /// Start publishing: message i is due at `go_ns` + i / rate.
    pub(super) fn go(&self, go_ns: u64) {
        let _ = self.go.send(Some(go_ns));
    }

    /// Wait for every publisher to finish, in publisher order; an
    /// interruption tells them to stop early. The flag is true when the
    /// run was interrupted.
    pub(super) async fn join(
        mut self,
        shared: &Shared,
        interrupt: &mut Interrupt,
    ) -> Result<(Vec<PubResult>, bool)> {
        let mut results: Vec<Option<PubResult>> = (0..self.count).map(|_| None).collect();
        let mut interrupted = false;
        loop {
            tokio::select! {
                joined = self.tasks.join_next() => match joined {
                    Some(Ok((i, r))) => results[i] = Some(r),
                    Some(Err(e)) => return Err(Error::local(format!("a publisher task failed: {e}"))),
                    None => break,
                },
                _ = interrupt.wait(), if !interrupted => {
                    interrupted = true;
                    shared.stop.store(true, Ordering::Relaxed);
                }
            }
        }
        Ok((results.into_iter().flatten().collect(), interrupted))
    }
}

/// Send probes from `prober` until every subscriber (one, for a queue) has
/// heard one, so that no message is sent before anyone listens.
pub(super) async fn probe(
    prober: &mut Session,
    plan: &Plan,
    subscribers: &Subscribers,
    shared: &Shared,
    interrupt: &mut Interrupt,
) -> Result<()> {
    let mut writer = Writer::new(
        plan.shard.part(plan.pubs).start as u16,
        plan.size,
        plan.payload.as_deref(),
    );
    let deadline = tokio::time::Instant::now() + PROBE_WAIT;
    for n in 0.. {
        if subscribers.listening() {
            break;
        }
        if tokio::time::Instant::now() >= deadline {
            shared.stop.store(true, Ordering::Relaxed);
            return Err(Error::new(
                Kind::Lost,
                format!(
                    "{} of {} subscriber(s) heard none of the probes sent in {}s: do publishers and subscribers use the same topic?",
                    subscribers.deaf(),
                    plan.shard.part(plan.subs).len(),
                    PROBE_WAIT.as_secs()
                ),
            ));
        }
        prober
            .feed(writer.payload(payload::Kind::Probe, n, 0), false)
            .await?;
        prober.flush().await?;
        drain_ready(prober)?;
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(20)) => {}
            _ = interrupt.wait() => return Err(Error::new(Kind::Interrupted, "interrupted")),
        }
    }
    Ok(())
}

/// Wait until `due_ns`, or a little before it (the caller checks again).
/// tokio's timer ticks in milliseconds, and a message sent up to a
/// millisecond late is latency the wrk2 model rightly counts: so the last
/// millisecond is slept on a blocking thread (the OS sleeps to ~50 µs) and
/// the last 50 µs yielded away.
async fn pause_until(shared: &Shared, due_ns: u64) {
    let wait = due_ns.saturating_sub(shared.now_ns());
    if wait < SPIN_NS {
        tokio::task::yield_now().await;
    } else if wait < 2 * TIMER_TICK_NS {
        let nap = Duration::from_nanos(wait - SPIN_NS);
        let _ = tokio::task::spawn_blocking(move || std::thread::sleep(nap)).await;
    } else {
        let at = shared.epoch + Duration::from_nanos(due_ns - TIMER_TICK_NS);
        tokio::time::sleep_until(tokio::time::Instant::from_std(at)).await;
    }
}

/// Read and drop what is already buffered: a publisher's connection may be
/// sent the other publishers' messages (the embedded broker's topics are
/// duplex), and a reader that never reads would stall the broker.
fn drain_ready(session: &mut Session) -> Result<()> {
    session
        .drain_ready(BURST, |incoming| match incoming {
            Incoming::Message(_) | Incoming::Reply(_) => Ok(None::<()>),
            Incoming::Closed { reason, clean } => Err(closed_error("publisher", reason, *clean)),
        })
        .map(drop)
}

/// One publisher, from the word to go to its close.
async fn publisher(
    id: usize,
    mut session: Session,
    plan: &Plan,
    shared: &Shared,
    mut go: watch::Receiver<Option<u64>>,
) -> PubResult {
    let mut result = PubResult {
        sent: 0,
        measured: 0,
        measured_bytes: 0,
        last_measured_ns: 0,
        error: None,
    };
    let Ok(go_ns) = go.wait_for(Option::is_some).await.map(|g| g.unwrap_or(0)) else {
        return result;
    };
    let window_ns = go_ns + plan.warmup.as_nanos() as u64;
    // Count mode splits the messages evenly; the first publishers take the rest.
    let quota = match plan.span {
        Span::Count(n) => {
            let pubs = plan.pubs as u64;
            Some(n / pubs + u64::from((id as u64) < n % pubs))
        }
        Span::Duration(_) => None,
    };
    let end_ns = match plan.span {
        Span::Duration(d) => window_ns + d.as_nanos() as u64,
        Span::Count(_) => u64::MAX,
    };
    let schedule = Schedule::new(plan.rate, plan.ramp.as_ref(), plan.pubs, plan.warmup);
    // When message `seq` is due (u64::MAX: after the ramp, so never).
    let scheduled = |seq: u64| {
        schedule.map(|s| {
            s.due_ns(seq)
                .map_or(u64::MAX, |due| go_ns.saturating_add(due))
        })
    };
    let mut writer = Writer::new(id as u16, plan.size, plan.payload.as_deref());
    let outcome: Result<()> = async {
        // Fed but not flushed yet, and the due time of the first of them.
        let mut unflushed = 0;
        let mut oldest_due = 0;
        loop {
            if shared.stop.load(Ordering::Relaxed) {
                return Ok(());
            }
            let now = shared.now_ns();
            let due_of = |seq: u64| scheduled(seq).unwrap_or(now);
            // The messages due now, a batch at the most, fed in one go;
            // `ends` when the run ends after them.
            let first = result.sent;
            let (mut measured, mut measured_bytes, mut ends) = (0, 0, false);
            let bodies = (first..first + BATCH as u64).map_while(|seq| {
                let due = due_of(seq);
                let counts = due >= window_ns;
                if due >= end_ns
                    || (counts && quota.is_some_and(|q| result.measured + measured >= q))
                {
                    ends = true;
                    return None;
                }
                if due > now {
                    return None;
                }
                // Due times count from the start, the same instant on
                // every shard's clock.
                let body = writer.payload(payload::Kind::Message, seq, due.saturating_sub(go_ns));
                if counts {
                    measured += 1;
                    measured_bytes += body.len() as u64;
                }
                Some(body)
            });
            let mut queued = Fed::default();
            let fed_all = session.feed_all(bodies, false, &mut queued).await;
            let fed = queued.count as usize;
            if unflushed == 0 && fed > 0 {
                oldest_due = due_of(first);
            }
            result.sent += queued.count;
            result.measured += measured;
            result.measured_bytes += measured_bytes;
            unflushed += fed;
            fed_all?;
            if ends {
                session.flush().await?;
                return Ok(());
            }
            let next_due = scheduled(result.sent);
            // Paced messages due within FLUSH_WINDOW_NS of each other go out
            // in one write: a flush (a syscall and a wake-up of the server)
            // per message kept a core busy at a few hundred thousand
            // messages a second, and the stalls that followed were the p99.
            let hold =
                unflushed < BATCH && next_due.is_some_and(|due| due < oldest_due + FLUSH_WINDOW_NS);
            if unflushed > 0 && !hold {
                session.flush().await?;
                let sent_at = shared.now_ns();
                if result.measured > 0 {
                    result.last_measured_ns = sent_at;
                }
                shared.sent.fetch_add(unflushed as u64, Ordering::Relaxed);
                unflushed = 0;
                drain_ready(&mut session)?;
            }
            if let (Some(due), true) = (next_due, fed < BATCH) {
                if hold {
                    // A few microseconds at the most: nothing to read for.
                    pause_until(shared, due).await;
                    continue;
                }
                // Wait for the next message's due time, reading meanwhile.
                tokio::select! {
                    _ = pause_until(shared, due) => {}
                    incoming = session.next() => match incoming? {
                        Incoming::Message(_) | Incoming::Reply(_) => {}
                        Incoming::Closed { reason, clean } => {
                            return Err(closed_error("publisher", &reason, clean));
                        }
                    },
                }
            }
        }
    }
    .await;
    if let Err(e) = outcome {
        result.error = Some(e);
        return result;
    }
    // The close handshake (or the protocol's receipt) says the server has
    // everything this publisher sent. A loaded broker reads our close only
    // after everything before it, so it is given time: giving up drops the
    // connection, and with it whatever the server had not read yet.
    session.set_close_wait(PUBLISHER_CLOSE_WAIT);
    match session.close(|_| Ok(())).await {
        Ok(true) => {}
        Ok(false) => {
            result.error = Some(Error::new(
                Kind::Lost,
                "the server did not acknowledge a publisher's close",
            ))
        }
        Err(e) => result.error = Some(e),
    }
    result
}
