//! The load generator behind `pubcat bench`: publishers and subscribers,
//! each its own [`Session`] over any transport and protocol pubcat speaks,
//! run on a multi-threaded runtime. Split the way oha splits it: the work
//! loops are here, what a subscriber saw is [`tally`], the numbers and how
//! they are printed are [`report`], and the payload format is [`payload`].
//!
//! A run: open the idle connections (`--connections`), connect every
//! subscriber and publisher, send probes until every subscriber hears one
//! (so no message is sent before anyone listens), then publish for the
//! warm-up and the measured window, and wait (`--drain`) for the last
//! messages still on their way. Latency is measured from each message's due
//! time (the wrk2 model): message i of a paced publisher is due at
//! start + i / rate whether or not the publisher kept up, so a stall shows
//! as latency instead of hiding in a slower send rate.

pub mod payload;
pub mod report;
pub mod tally;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;

use crate::endpoint::Endpoint;
use crate::error::{Error, Kind, Result};
use crate::session::{Connection, Fed, Incoming, Session};
use crate::shutdown::Interrupt;
use crate::verbose;
use payload::Writer;
use report::{Connect, IdleConnections, Latency, Report, Throughput};
use tally::{Delivery, Tally};

/// Messages fed before each flush when publishing as fast as possible.
const BATCH: usize = 256;

/// Messages a subscriber takes from its buffer before it looks at its
/// timers and updates the shared counters.
const BURST: usize = 4096;

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

/// Idle connections opened at once.
const CONNECT_CONCURRENCY: usize = 256;

/// How long the run goes on.
#[derive(Clone, Copy, Debug)]
pub enum Span {
    /// Measure for this long.
    Duration(Duration),
    /// Measure this many messages in all, split over the publishers.
    Count(u64),
}

/// A resolved run: where, who, how much.
#[derive(Clone, Debug)]
pub struct Plan {
    pub publish: Connection,
    pub subscribe: Connection,
    /// Where the idle connections go (another topic, so they stay idle).
    pub idle: Connection,
    pub pubs: usize,
    pub subs: usize,
    pub size: usize,
    /// Total messages per second; 0 = as fast as possible.
    pub rate: f64,
    pub span: Span,
    pub warmup: Duration,
    pub drain: Duration,
    pub connections: usize,
    pub delivery: Delivery,
    /// Show a live progress line on stderr.
    pub progress: bool,
}

/// What the subscribers are told as the run goes.
#[derive(Clone, Debug)]
struct Phase {
    /// Messages due at or after this are measured (u64::MAX before the run).
    window_ns: u64,
    /// Set when the publishers are done: what each sent, and how long a
    /// subscriber waits for more once nothing arrives.
    finish: Option<(Arc<Vec<u64>>, Duration)>,
}

/// Counters every task adds to, for the progress line and queue mode.
struct Shared {
    epoch: Instant,
    sent: AtomicU64,
    received: AtomicU64,
    skipped: AtomicU64,
    stop: AtomicBool,
}

impl Shared {
    fn now_ns(&self) -> u64 {
        self.epoch.elapsed().as_nanos() as u64
    }
}

struct PubResult {
    sent: u64,
    measured: u64,
    measured_bytes: u64,
    /// When the last measured message was handed to the socket.
    last_measured_ns: u64,
    error: Option<Error>,
}

struct SubResult {
    tally: Tally,
    error: Option<Error>,
}

/// Run the plan. A failure to connect a publisher or subscriber ends it
/// with that error; failures during the run are counted in the report.
/// The flag is true when the run was interrupted (the report covers what
/// ran until then).
pub async fn run(plan: Plan, mut interrupt: Interrupt) -> Result<(Report, bool)> {
    let shared = Arc::new(Shared {
        epoch: Instant::now(),
        sent: AtomicU64::new(0),
        received: AtomicU64::new(0),
        skipped: AtomicU64::new(0),
        stop: AtomicBool::new(false),
    });
    let mut errors: BTreeMap<String, u64> = BTreeMap::new();
    let mut connect_ns = tally::new_histogram();

    let (idle, idle_report) = if plan.connections > 0 {
        let (sessions, report) = open_idle(&plan, &mut connect_ns, &mut errors).await;
        (sessions, Some(report))
    } else {
        (Vec::new(), None)
    };

    // Subscribers first, so they listen before anything is published.
    let subscribers = connect_all(&plan.subscribe, plan.subs, &mut connect_ns, &mut interrupt)
        .await
        .map_err(|e| e.context("a subscriber could not connect"))?;
    let publishers = connect_all(&plan.publish, plan.pubs, &mut connect_ns, &mut interrupt)
        .await
        .map_err(|e| e.context("a publisher could not connect"))?;
    verbose!(
        "{} subscriber(s) and {} publisher(s) connected",
        plan.subs,
        plan.pubs
    );

    let (phase_tx, phase_rx) = watch::channel(Phase {
        window_ns: u64::MAX,
        finish: None,
    });
    let probes = Arc::new(AtomicU64::new(0));
    let heard: Arc<Vec<AtomicBool>> =
        Arc::new((0..plan.subs).map(|_| AtomicBool::new(false)).collect());
    let mut sub_tasks = JoinSet::new();
    for (i, session) in subscribers.into_iter().enumerate() {
        let (shared, phase, heard) = (Arc::clone(&shared), phase_rx.clone(), Arc::clone(&heard));
        let plan = plan.clone();
        sub_tasks.spawn(async move {
            (
                i,
                subscriber(i, session, &plan, &shared, phase, &heard).await,
            )
        });
    }

    // Probes, until every subscriber (one, for a queue) has heard one.
    let (go_tx, go_rx) = watch::channel(None::<u64>);
    let mut pub_tasks = JoinSet::new();
    let mut sessions = publishers.into_iter();
    let mut prober = sessions
        .next()
        .ok_or_else(|| Error::usage("--pubs must be at least 1"))?;
    let mut probe_writer = Writer::new(0, plan.size);
    let probe_deadline = tokio::time::Instant::now() + PROBE_WAIT;
    loop {
        let all = heard.iter().all(|h| h.load(Ordering::Relaxed));
        let any = heard.iter().any(|h| h.load(Ordering::Relaxed));
        if all || (plan.delivery == Delivery::Queue && any) || plan.subs == 0 {
            break;
        }
        if tokio::time::Instant::now() >= probe_deadline {
            shared.stop.store(true, Ordering::Relaxed);
            return Err(Error::new(
                Kind::Lost,
                format!(
                    "{} of {} subscriber(s) heard none of the probes sent in {}s: do publishers and subscribers use the same topic?",
                    heard.iter().filter(|h| !h.load(Ordering::Relaxed)).count(),
                    plan.subs,
                    PROBE_WAIT.as_secs()
                ),
            ));
        }
        let n = probes.fetch_add(1, Ordering::Relaxed);
        prober
            .feed(probe_writer.payload(payload::Kind::Probe, n, 0), false)
            .await?;
        prober.flush().await?;
        drain_ready(&mut prober)?;
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(20)) => {}
            _ = interrupt.wait() => return Err(Error::new(Kind::Interrupted, "interrupted")),
        }
    }

    for (i, session) in std::iter::once(prober).chain(sessions).enumerate() {
        let (shared, go) = (Arc::clone(&shared), go_rx.clone());
        let plan = plan.clone();
        pub_tasks.spawn(async move { (i, publisher(i, session, &plan, &shared, go).await) });
    }
    let go_ns = shared.now_ns();
    let window_ns = go_ns + plan.warmup.as_nanos() as u64;
    let _ = go_tx.send(Some(go_ns));
    phase_tx.send_modify(|p| p.window_ns = window_ns);

    let progress = Progress::start(plan.progress, Arc::clone(&shared));
    let mut pub_results: Vec<Option<PubResult>> = (0..plan.pubs).map(|_| None).collect();
    let mut interrupted = false;
    loop {
        tokio::select! {
            joined = pub_tasks.join_next() => match joined {
                Some(Ok((i, r))) => pub_results[i] = Some(r),
                Some(Err(e)) => return Err(Error::local(format!("a publisher task failed: {e}"))),
                None => break,
            },
            _ = interrupt.wait(), if !interrupted => {
                interrupted = true;
                shared.stop.store(true, Ordering::Relaxed);
            }
        }
    }
    let sent: Vec<u64> = pub_results
        .iter()
        .map(|r| r.as_ref().map_or(0, |r| r.sent))
        .collect();
    let drain = if interrupted {
        Duration::ZERO
    } else {
        plan.drain
    };
    phase_tx.send_modify(|p| p.finish = Some((Arc::new(sent.clone()), drain)));
    let mut tallies: Vec<Option<Tally>> = (0..plan.subs).map(|_| None).collect();
    while let Some(joined) = sub_tasks.join_next().await {
        match joined {
            Ok((i, r)) => {
                if let Some(e) = r.error {
                    count_error(&mut errors, &e);
                }
                tallies[i] = Some(r.tally);
            }
            Err(e) => return Err(Error::local(format!("a subscriber task failed: {e}"))),
        }
    }
    progress.finish();
    drop(idle);
    let tallies: Vec<Tally> = tallies.into_iter().flatten().collect();
    let pub_results: Vec<PubResult> = pub_results.into_iter().flatten().collect();
    for r in &pub_results {
        if let Some(e) = &r.error {
            count_error(&mut errors, e);
        }
    }

    let mut latency = tally::new_histogram();
    for t in &tallies {
        latency
            .add(&t.latency_ns)
            .map_err(|e| Error::local(format!("merging latencies: {e}")))?;
    }
    let secs_since_window = |ns: u64| ns.saturating_sub(window_ns) as f64 / 1e9;
    let last_delivery = tallies
        .iter()
        .map(|t| t.last_measured_ns)
        .max()
        .unwrap_or(0);
    let measured_s = secs_since_window(last_delivery);
    let rate = |n: u64, s: f64| if s > 0.0 { n as f64 / s } else { 0.0 };
    let delivered: u64 = tallies.iter().map(|t| t.measured).sum();
    let delivered_bytes: u64 = tallies.iter().map(|t| t.measured_bytes).sum();
    let published: u64 = pub_results.iter().map(|r| r.measured).sum();
    let published_bytes: u64 = pub_results.iter().map(|r| r.measured_bytes).sum();
    let publish_s = secs_since_window(
        pub_results
            .iter()
            .map(|r| r.last_measured_ns)
            .max()
            .unwrap_or(0),
    );
    let throughput = Throughput {
        msgs_per_s: rate(delivered, measured_s),
        bytes_per_s: rate(delivered_bytes, measured_s),
        published_msgs_per_s: rate(published, publish_s),
        published_bytes_per_s: rate(published_bytes, publish_s),
        per_publisher: pub_results
            .iter()
            .map(|r| rate(r.measured, secs_since_window(r.last_measured_ns)))
            .collect(),
        per_subscriber: tallies
            .iter()
            .map(|t| rate(t.measured, secs_since_window(t.last_measured_ns)))
            .collect(),
    };
    let foreign: u64 = tallies.iter().map(|t| t.foreign).sum();
    if foreign > 0 {
        *errors.entry("not a bench message".into()).or_default() += foreign;
    }
    let counts = tally::count(&sent, &tallies, plan.delivery);
    let (pub_ep, sub_ep) = (&plan.publish.endpoint, &plan.subscribe.endpoint);
    let report = Report {
        url: crate::log::redact_url(&sub_ep.url),
        embedded: false,
        config: report::Config {
            pubs: plan.pubs,
            subs: plan.subs,
            size: plan.size,
            rate: plan.rate,
            duration_s: match plan.span {
                Span::Duration(d) => Some(d.as_secs_f64()),
                Span::Count(_) => None,
            },
            count: match plan.span {
                Span::Count(n) => Some(n),
                Span::Duration(_) => None,
            },
            warmup_s: plan.warmup.as_secs_f64(),
            topic: sub_ep.topic.to_string(),
            protocol: format!("{:?}", sub_ep.protocol).to_lowercase(),
            transport: if transport_label(pub_ep) == transport_label(sub_ep) {
                transport_label(sub_ep).to_string()
            } else {
                format!("{} -> {}", transport_label(pub_ep), transport_label(sub_ep))
            },
            delivery: match plan.delivery {
                Delivery::FanOut => "fan-out".into(),
                Delivery::Queue => "queue".into(),
            },
            connections: plan.connections,
        },
        measured_s,
        sent: counts.sent,
        received: counts.received,
        expected: counts.expected,
        lost: counts.lost,
        duplicated: counts.duplicated,
        reordered: counts.reordered,
        errors: errors.values().sum(),
        errors_by_kind: errors,
        throughput,
        latency_us: Latency::from_ns(&latency),
        connect_us: Connect::from_ns(&connect_ns),
        idle_connections: idle_report,
    };
    Ok((report, interrupted))
}

/// The transport alone ("ws", "wss", "sse", ...), without the protocol.
fn transport_label(endpoint: &Endpoint) -> &str {
    match endpoint.transport {
        crate::endpoint::Transport::Ws => endpoint.url.scheme(),
        _ => endpoint.transport_name,
    }
}

fn count_error(errors: &mut BTreeMap<String, u64>, e: &Error) {
    verbose!("{e}");
    let kind = match e.kind {
        Kind::Connect => "connection",
        Kind::Server => "server",
        Kind::Lost => "not confirmed",
        Kind::Timeout => "timeout",
        Kind::Usage => "usage",
        Kind::Local => "local",
        Kind::Interrupted => "interrupted",
        Kind::OutputClosed => "output closed",
    };
    *errors.entry(kind.to_string()).or_default() += 1;
}

/// Connect `n` sessions at once, recording how long each took.
async fn connect_all(
    connection: &Connection,
    n: usize,
    connect_ns: &mut Histogram<u64>,
    interrupt: &mut Interrupt,
) -> Result<Vec<Session>> {
    let mut tasks = JoinSet::new();
    for i in 0..n {
        let connection = connection.clone();
        tasks.spawn(async move {
            let started = Instant::now();
            let s = Session::connect(&connection).await;
            (i, s, started.elapsed())
        });
    }
    let mut sessions: Vec<Option<Session>> = (0..n).map(|_| None).collect();
    loop {
        let joined = tokio::select! {
            j = tasks.join_next() => j,
            _ = interrupt.wait() => return Err(Error::new(Kind::Interrupted, "interrupted while connecting")),
        };
        let Some(joined) = joined else { break };
        let (i, session, took) =
            joined.map_err(|e| Error::local(format!("a connect task failed: {e}")))?;
        connect_ns.saturating_record(took.as_nanos().max(1) as u64);
        sessions[i] = Some(session?);
    }
    Ok(sessions.into_iter().flatten().collect())
}

/// Open the `--connections` idle sessions, a bounded number at a time,
/// measuring the connect rate and what they cost in memory.
async fn open_idle(
    plan: &Plan,
    connect_ns: &mut Histogram<u64>,
    errors: &mut BTreeMap<String, u64>,
) -> (Vec<Session>, IdleConnections) {
    let rss_before = crate::limits::rss_bytes();
    let started = Instant::now();
    let gate = Arc::new(Semaphore::new(CONNECT_CONCURRENCY));
    let mut tasks = JoinSet::new();
    for _ in 0..plan.connections {
        let (connection, gate) = (plan.idle.clone(), Arc::clone(&gate));
        tasks.spawn(async move {
            let _permit = gate.acquire().await;
            let t = Instant::now();
            let s = Session::connect(&connection).await;
            (s, t.elapsed())
        });
    }
    let mut sessions = Vec::with_capacity(plan.connections);
    let mut first_error: Option<Error> = None;
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok((Ok(s), took)) => {
                connect_ns.saturating_record(took.as_nanos().max(1) as u64);
                sessions.push(s);
            }
            Ok((Err(e), _)) => {
                count_error(errors, &e);
                first_error.get_or_insert(e);
            }
            Err(e) => count_error(errors, &Error::local(e.to_string())),
        }
    }
    let secs = started.elapsed().as_secs_f64();
    if let Some(e) = first_error {
        crate::warn!(
            "{} of {} idle connections failed; the first: {e}",
            plan.connections - sessions.len(),
            plan.connections
        );
    }
    let rss_after = crate::limits::rss_bytes();
    let per = match (rss_before, rss_after) {
        (Some(b), Some(a)) if !sessions.is_empty() => {
            a.saturating_sub(b) as f64 / sessions.len() as f64
        }
        _ => 0.0,
    };
    let report = IdleConnections {
        asked: plan.connections,
        opened: sessions.len(),
        connect_per_s: if secs > 0.0 {
            sessions.len() as f64 / secs
        } else {
            0.0
        },
        rss_bytes_per_connection: per,
    };
    (sessions, report)
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

/// The server closed a `who`'s connection: a clean close is a lost
/// connection (exit 3), any other the server's failure (exit 4).
fn closed_error(who: &str, reason: &str, clean: bool) -> Error {
    if clean {
        Error::connect(format!("the server closed a {who}'s connection ({reason})"))
    } else {
        Error::server(format!("the server closed a {who}'s connection: {reason}"))
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
    let per_pub_rate = plan.rate / plan.pubs as f64;
    let interval_ns = (per_pub_rate > 0.0).then(|| 1e9 / per_pub_rate);
    let mut writer = Writer::new(id as u16, plan.size);
    let outcome: Result<()> = async {
        // Fed but not flushed yet, and the due time of the first of them.
        let mut unflushed = 0;
        let mut oldest_due = 0;
        loop {
            if shared.stop.load(Ordering::Relaxed) {
                return Ok(());
            }
            let now = shared.now_ns();
            let due_of = |seq: u64| match interval_ns {
                Some(every) => go_ns + (seq as f64 * every) as u64,
                None => now,
            };
            // The messages due now, a batch at the most, fed in one go;
            // `ends` when the run ends after them.
            let first = result.sent;
            let (mut measured, mut measured_bytes, mut ends) = (0, 0, false);
            let bodies = (first..first + BATCH as u64).map_while(|seq| {
                let due = due_of(seq);
                if due > now {
                    return None;
                }
                let counts = due >= window_ns;
                if due >= end_ns
                    || (counts && quota.is_some_and(|q| result.measured + measured >= q))
                {
                    ends = true;
                    return None;
                }
                let body = writer.payload(payload::Kind::Message, seq, due);
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
            let next_due = interval_ns.map(|every| go_ns + (result.sent as f64 * every) as u64);
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

async fn subscriber(
    index: usize,
    mut session: Session,
    plan: &Plan,
    shared: &Shared,
    mut phase: watch::Receiver<Phase>,
    heard: &[AtomicBool],
) -> SubResult {
    let mut tally = Tally::new(plan.pubs);
    let mut current = phase.borrow_and_update().clone();
    let mut reported = (0u64, 0u64);
    let far = tokio::time::Instant::now() + Duration::from_secs(100 * 365 * 24 * 3600);
    // Once the publishers are done: when to give up on the rest. Reset by
    // every arrival, so a slow broker still delivering is waited for.
    let mut deadline = far;
    let error = loop {
        if let Some((sent, _)) = &current.finish {
            let done = match plan.delivery {
                Delivery::FanOut => tally
                    .streams
                    .iter()
                    .zip(sent.iter())
                    .all(|(s, &n)| s.unique >= n),
                Delivery::Queue => {
                    shared.received.load(Ordering::Relaxed) >= sent.iter().sum::<u64>()
                }
            };
            if done {
                break None;
            }
        }
        tokio::select! {
            biased;
            changed = phase.changed() => {
                if changed.is_err() {
                    break None;
                }
                current = phase.borrow_and_update().clone();
                if let Some((_, drain)) = &current.finish {
                    deadline = tokio::time::Instant::now() + *drain;
                }
            }
            _ = tokio::time::sleep_until(deadline) => break None,
            first = session.next() => {
                let mut now = shared.now_ns();
                let mut handled = 0;
                let mut note = |incoming: &Incoming<'_>| {
                    match incoming {
                        Incoming::Message(m) => {
                            let header = payload::decode(&m.body);
                            // One clock read per burst is cheap but may
                            // predate messages read later in the burst:
                            // read it again every so often, and whenever a
                            // message looks due after it.
                            if handled % 64 == 63 || header.is_some_and(|h| h.due_ns > now) {
                                now = shared.now_ns();
                            }
                            tally.note(header, m.body.len(), now, current.window_ns);
                        }
                        // Only a publisher with --confirm gets replies.
                        Incoming::Reply(_) => {}
                        Incoming::Closed { reason, clean } => {
                            return Err(closed_error("subscriber", reason, *clean));
                        }
                    }
                    handled += 1;
                    Ok(None::<()>)
                };
                let mut burst = first.and_then(|incoming| note(&incoming));
                if let Ok(None) = burst {
                    burst = session.drain_ready(BURST - 1, &mut note);
                }
                // A close or an error ends the loop, once what was read is
                // counted and acknowledged.
                let closed = burst.err();
                if tally.probes > 0 {
                    heard[index].store(true, Ordering::Relaxed);
                }
                let (received, skipped) = (tally.received, tally.skipped());
                shared.received.fetch_add(received - reported.0, Ordering::Relaxed);
                if skipped >= reported.1 {
                    shared.skipped.fetch_add(skipped - reported.1, Ordering::Relaxed);
                } else {
                    shared.skipped.fetch_sub(reported.1 - skipped, Ordering::Relaxed);
                }
                reported = (received, skipped);
                if let Some((_, drain)) = &current.finish {
                    deadline = tokio::time::Instant::now() + *drain;
                }
                // Acknowledge where the protocol asks it (STOMP client acks).
                if let Err(e) = session.acknowledge().await {
                    break Some(e);
                }
                if closed.is_some() {
                    break closed;
                }
            }
        }
    };
    if error.is_none() {
        session.set_close_wait(Duration::from_secs(2));
        let _ = session.close(|_| Ok(())).await;
    }
    SubResult { tally, error }
}

/// The live line on stderr: rate, elapsed, lost so far.
struct Progress {
    bar: Option<indicatif::ProgressBar>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Progress {
    fn start(enabled: bool, shared: Arc<Shared>) -> Progress {
        if !enabled {
            return Progress {
                bar: None,
                task: None,
            };
        }
        let bar = indicatif::ProgressBar::new_spinner();
        bar.set_style(
            indicatif::ProgressStyle::with_template("{spinner} {elapsed_precise} {msg}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
        );
        let shown = bar.clone();
        let task = tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_millis(250));
            let mut last = (0u64, 0u64, Instant::now());
            loop {
                tick.tick().await;
                let (sent, received) = (
                    shared.sent.load(Ordering::Relaxed),
                    shared.received.load(Ordering::Relaxed),
                );
                let secs = last.2.elapsed().as_secs_f64().max(1e-3);
                shown.set_message(format!(
                    "sent {} ({}/s) · delivered {} ({}/s) · lost so far {}",
                    report::group(sent),
                    report::group(((sent - last.0) as f64 / secs) as u64),
                    report::group(received),
                    report::group(((received - last.1) as f64 / secs) as u64),
                    report::group(shared.skipped.load(Ordering::Relaxed)),
                ));
                shown.tick();
                last = (sent, received, Instant::now());
            }
        });
        Progress {
            bar: Some(bar),
            task: Some(task),
        }
    }

    fn finish(self) {
        if let Some(task) = self.task {
            task.abort();
        }
        if let Some(bar) = self.bar {
            bar.finish_and_clear();
        }
    }
}
