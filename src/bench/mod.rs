//! The load generator behind `pubcat bench`: publishers and subscribers,
//! each its own [`Session`] over any transport and protocol pubcat speaks,
//! run on a multi-threaded runtime. Split the way oha splits it:
//!
//! - here, the [`Plan`] and [`run`], the outline of a run, with its steps
//!   (connecting, probing, starting, stopping) and the state they share;
//! - [`publisher`], the publisher loop and the probes;
//! - [`subscriber`], the subscriber loop;
//! - [`tally`], what a subscriber saw, checked message by message;
//! - [`idle`], the idle connections of `--connections`, held cheaply;
//! - [`monitor`], the live progress line;
//! - [`report`], the numbers: aggregated from every connection's results,
//!   printed, and compared with a baseline;
//! - [`payload`], the format of the messages.
//!
//! A run: open the idle connections (`--connections`), connect every
//! subscriber and publisher, send probes until every subscriber hears one
//! (so no message is sent before anyone listens), then publish for the
//! warm-up and the measured window, wait (`--drain`) for the last messages
//! still on their way, and aggregate. Latency is measured from each
//! message's due time (the wrk2 model): message i of a paced publisher is
//! due at start + i / rate whether or not the publisher kept up, so a stall
//! shows as latency instead of hiding in a slower send rate.

pub mod gate;
pub mod hlog;
pub mod merge;
pub mod payload;
pub mod report;
pub mod schedule;
pub mod tally;

mod idle;
mod monitor;
mod publisher;
mod subscriber;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use tokio::task::JoinSet;

use crate::error::{Error, Kind, Result};
use crate::session::{Connection, Session};
use crate::shutdown::Interrupt;
use crate::verbose;
use monitor::Progress;
use publisher::Publishers;
use report::{Outcomes, Report};
use subscriber::Subscribers;
use tally::Delivery;

/// Messages a connection takes from its buffer before it goes back to its
/// timers (and, for a subscriber, updates the shared counters).
const BURST: usize = 4096;

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
    /// Total messages per second; 0 = as fast as possible. With a ramp,
    /// where it starts.
    pub rate: f64,
    /// `--rate A..B --ramp D`: the rate climbs to B over the measured
    /// window (`span` is its length).
    pub ramp: Option<schedule::Ramp>,
    pub span: Span,
    pub warmup: Duration,
    pub drain: Duration,
    pub connections: usize,
    pub delivery: Delivery,
    /// Show a live progress line on stderr.
    pub progress: bool,
    /// When the measured window starts on the wall clock (`--start-at`,
    /// `--start-in`); None: once everyone listens and the warm-up is over.
    pub start_at: Option<std::time::SystemTime>,
    /// This machine's part of the run (`pubs`, `subs` and `connections`
    /// are the whole run's).
    pub shard: Shard,
    /// Time the messages of other shards' publishers too, against their
    /// clocks (`--cross-host-latency`).
    pub cross_host_latency: bool,
    /// Write each second's latencies there (`--hlog`).
    pub hlog: Option<std::path::PathBuf>,
    /// The user's payload (`--payload-file`), sent with the header
    /// appended; `size` is then its size with it.
    pub payload: Option<Arc<[u8]>>,
    /// Local addresses to connect from, in turn (`--bind`); empty: the
    /// system's choice.
    pub bind: Vec<std::net::IpAddr>,
}

/// `--bind`: the local addresses connections are spread over, in turn,
/// and how many connections each one opened.
struct Sources {
    addresses: Vec<std::net::IpAddr>,
    next: std::sync::atomic::AtomicUsize,
    opened: Vec<AtomicU64>,
}

impl Sources {
    fn new(addresses: Vec<std::net::IpAddr>) -> Sources {
        Sources {
            opened: addresses.iter().map(|_| AtomicU64::new(0)).collect(),
            addresses,
            next: std::sync::atomic::AtomicUsize::new(0),
        }
    }

    /// `base`, from the next address in turn (which one, to count it).
    fn pick(&self, base: &Connection) -> (Connection, Option<usize>) {
        let mut c = base.clone();
        if self.addresses.is_empty() {
            return (c, None);
        }
        let k = self.next.fetch_add(1, Ordering::Relaxed) % self.addresses.len();
        c.transport.local_address = Some(self.addresses[k]);
        (c, Some(k))
    }

    /// A connection from address `k` opened.
    fn opened(&self, k: Option<usize>) {
        if let Some(k) = k {
            self.opened[k].fetch_add(1, Ordering::Relaxed);
        }
    }

    fn counts(&self) -> Vec<report::SourceAddress> {
        self.addresses
            .iter()
            .zip(&self.opened)
            .map(|(a, n)| report::SourceAddress {
                address: a.to_string(),
                connections: n.load(Ordering::Relaxed),
            })
            .collect()
    }
}

/// Shard `index` of `count`: the run on one of `count` machines, each
/// running the same command. Each takes its own contiguous part of the
/// publishers, subscribers and idle connections (k6's execution segments),
/// and with them its part of the rate and of the publishers' ids, so the
/// shards' reports add up to the run one machine would have made.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shard {
    pub index: usize,
    pub count: usize,
}

impl Shard {
    /// The whole run, on one machine.
    pub const WHOLE: Shard = Shard { index: 0, count: 1 };

    /// This shard's part of `total` (publishers, subscribers, ...).
    pub fn part(&self, total: usize) -> std::ops::Range<usize> {
        let at = |i: usize| (total as u128 * i as u128 / self.count as u128) as usize;
        at(self.index)..at(self.index + 1)
    }

    pub fn is_whole(&self) -> bool {
        self.count == 1
    }
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// Counters every task adds to, for the progress line and queue mode.
struct Shared {
    epoch: Instant,
    /// The wall clock at `epoch`: where the measured window is in time,
    /// for merging runs made on several machines.
    epoch_wall: std::time::SystemTime,
    sent: AtomicU64,
    received: AtomicU64,
    skipped: AtomicU64,
    /// Connections opened so far.
    connected: AtomicU64,
    /// Where the run is, for the progress line: [`Phase`] as a number.
    phase: AtomicU8,
    /// When publishing began, in ns since the run began (u64::MAX until
    /// known).
    go_ns: AtomicU64,
    /// Set to stop the publishers early.
    stop: AtomicBool,
    sources: Sources,
}

/// The phases of a run, as the progress line shows them (warm-up and
/// measure are told apart by the clock).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
enum Phase {
    Connect,
    Publish,
    Drain,
}

impl Shared {
    fn new(plan: &Plan) -> Shared {
        Shared {
            sources: Sources::new(plan.bind.clone()),
            epoch: Instant::now(),
            epoch_wall: std::time::SystemTime::now(),
            sent: AtomicU64::new(0),
            received: AtomicU64::new(0),
            skipped: AtomicU64::new(0),
            connected: AtomicU64::new(0),
            phase: AtomicU8::new(Phase::Connect as u8),
            go_ns: AtomicU64::new(u64::MAX),
            stop: AtomicBool::new(false),
        }
    }

    /// Nanoseconds since the run began.
    fn now_ns(&self) -> u64 {
        self.epoch.elapsed().as_nanos() as u64
    }

    fn set_phase(&self, phase: Phase) {
        self.phase.store(phase as u8, Ordering::Relaxed);
    }
}

/// Run the plan. A failure to connect a publisher or subscriber ends it
/// with that error; failures during the run are counted in the report.
/// The flag is true when the run was interrupted (the report covers what
/// ran until then).
pub async fn run(plan: Plan, mut interrupt: Interrupt) -> Result<(Report, bool)> {
    let shared = Arc::new(Shared::new(&plan));
    let mut errors = BTreeMap::new();
    let mut connect_ns = tally::new_histogram();
    let progress = Progress::start(&plan, Arc::clone(&shared));

    // Start: the idle connections, then everyone, subscribers listening first.
    let idle = idle::Idle::open(&plan, &shared, &mut connect_ns, &mut errors).await;
    let (subscribers, publishers) =
        connect(&plan, &shared, &mut connect_ns, &mut interrupt).await?;
    let hlog = plan.hlog.clone().map(hlog::Collector::start);
    let subscribers = Subscribers::spawn(subscribers, &plan, &shared, hlog.as_ref());

    // Warm up: once every subscriber listens, publish; what is due before
    // the measured window is not measured.
    let (publishers, window_ns) =
        start_publishing(publishers, &plan, &shared, &subscribers, &mut interrupt).await?;

    // Measure, until the publishers are done or the run is interrupted.
    let (publishers, mut interrupted) = publishers.join(&shared, &mut interrupt).await?;
    // The other shards' publishers go on to the end of the window whether
    // or not this shard has any: until then, a silence is not the end.
    if !interrupted && !plan.shard.is_whole() {
        interrupted = wait_for_the_end(&plan, &shared, window_ns, &mut interrupt).await;
    }
    shared.set_phase(Phase::Drain);

    // Stop: the subscribers wait for what is still on its way.
    let drain = if interrupted {
        Duration::ZERO
    } else {
        plan.drain
    };
    let sent = publishers.iter().map(|p| p.sent).collect();
    let subscribers = subscribers.finish(Arc::new(sent), drain).await?;
    progress.finish();
    if let Some(hlog) = hlog {
        let start = shared.epoch_wall + Duration::from_nanos(window_ns);
        if let Err(e) = hlog.finish(start).await {
            crate::warn!("{e}");
        }
    }
    let idle_connections = idle.finish();

    // Aggregate.
    let outcomes = Outcomes {
        sources: shared.sources.counts(),
        publishers,
        subscribers,
        window_ns,
        epoch_wall: shared.epoch_wall,
        connect_ns,
        idle_connections,
        errors,
    };
    Ok((Report::aggregate(&plan, outcomes)?, interrupted))
}

/// When publishing begins, in ns since the run began, where `--start-at`
/// (or `--start-in`) says: the warm-up before the measured window.
fn planned_go(plan: &Plan, shared: &Shared) -> Option<u64> {
    let at = plan.start_at?;
    let since_epoch = at
        .duration_since(shared.epoch_wall)
        .unwrap_or_default()
        .saturating_sub(plan.warmup);
    Some(since_epoch.as_nanos() as u64)
}

/// Wait for `go_ns`, the start --start-at asked for. Too late (connecting
/// took past it) is an error.
async fn wait_for_start(go_ns: u64, shared: &Shared, interrupt: &mut Interrupt) -> Result<u64> {
    let now = shared.now_ns();
    if go_ns < now {
        let late = Duration::from_nanos(now - go_ns);
        return Err(Error::new(
            crate::error::Kind::Timeout,
            format!(
                "connecting and probing took {} past the start of the warm-up that --start-at/--start-in asked for: start later",
                humantime::format_duration(Duration::from_millis(late.as_millis() as u64))
            ),
        ));
    }
    verbose!(
        "waiting {} for the start",
        humantime::format_duration(Duration::from_millis((go_ns - now) / 1_000_000))
    );
    tokio::select! {
        _ = tokio::time::sleep(Duration::from_nanos(go_ns - now)) => Ok(go_ns),
        _ = interrupt.wait() => Err(Error::new(crate::error::Kind::Interrupted, "interrupted")),
    }
}

/// Wait until every shard's publishers are due to be done: the end of a
/// --duration window, or of a paced --count; true when interrupted. (An
/// unpaced --count has no end to wait for: the subscribers wait for
/// --drain of silence.)
async fn wait_for_the_end(
    plan: &Plan,
    shared: &Shared,
    window_ns: u64,
    interrupt: &mut Interrupt,
) -> bool {
    let end_ns = match plan.span {
        Span::Duration(d) => window_ns.saturating_add(d.as_nanos() as u64),
        Span::Count(n) if plan.rate > 0.0 => {
            let per_publisher = n.div_ceil(plan.pubs as u64) as f64;
            let secs = per_publisher / (plan.rate / plan.pubs as f64);
            window_ns.saturating_add((secs * 1e9) as u64)
        }
        Span::Count(_) => return false,
    };
    let wait = Duration::from_nanos(end_ns.saturating_sub(shared.now_ns()));
    tokio::select! {
        _ = tokio::time::sleep(wait) => false,
        _ = interrupt.wait() => true,
    }
}

/// Connect every subscriber, then every publisher.
async fn connect(
    plan: &Plan,
    shared: &Shared,
    connect_ns: &mut Histogram<u64>,
    interrupt: &mut Interrupt,
) -> Result<(Vec<Session>, Vec<Session>)> {
    let (subs, pubs) = (
        plan.shard.part(plan.subs).len(),
        plan.shard.part(plan.pubs).len(),
    );
    let subscribers = connect_all(&plan.subscribe, subs, shared, connect_ns, interrupt)
        .await
        .map_err(|e| e.context("a subscriber could not connect"))?;
    let publishers = connect_all(&plan.publish, pubs, shared, connect_ns, interrupt)
        .await
        .map_err(|e| e.context("a publisher could not connect"))?;
    verbose!("{subs} subscriber(s) and {pubs} publisher(s) connected");
    Ok((subscribers, publishers))
}

/// Probe from the first publisher until every subscriber listens (on this
/// machine: other shards are waited for by `--start-at`), then start them
/// all. Returns them and when the measured window begins, in ns since the
/// run began.
async fn start_publishing(
    sessions: Vec<Session>,
    plan: &Plan,
    shared: &Arc<Shared>,
    subscribers: &Subscribers,
    interrupt: &mut Interrupt,
) -> Result<(Publishers, u64)> {
    let mut sessions = sessions.into_iter();
    let prober = sessions.next();
    let prober = match prober {
        Some(mut prober) => {
            publisher::probe(&mut prober, plan, subscribers, shared, interrupt).await?;
            Some(prober)
        }
        // A shard may have no publishers of its own (--shard).
        None if !plan.shard.is_whole() => None,
        None => return Err(Error::usage("--pubs must be at least 1")),
    };
    let publishers = Publishers::spawn(prober.into_iter().chain(sessions), plan, shared);
    let go_ns = match planned_go(plan, shared) {
        None => shared.now_ns(),
        Some(go_ns) => wait_for_start(go_ns, shared, interrupt).await?,
    };
    let window_ns = go_ns + plan.warmup.as_nanos() as u64;
    shared.go_ns.store(go_ns, Ordering::Relaxed);
    shared.set_phase(Phase::Publish);
    // The subscribers learn when publishing begins before anything is sent.
    subscribers.start(go_ns);
    publishers.go(go_ns);
    Ok((publishers, window_ns))
}

/// Connect `n` sessions at once, recording how long each took.
async fn connect_all(
    connection: &Connection,
    n: usize,
    shared: &Shared,
    connect_ns: &mut Histogram<u64>,
    interrupt: &mut Interrupt,
) -> Result<Vec<Session>> {
    let mut tasks = JoinSet::new();
    for i in 0..n {
        let (connection, source) = shared.sources.pick(connection);
        tasks.spawn(async move {
            let started = Instant::now();
            let s = Session::connect(&connection).await;
            (i, s, started.elapsed(), source)
        });
    }
    let mut sessions: Vec<Option<Session>> = (0..n).map(|_| None).collect();
    loop {
        let joined = tokio::select! {
            j = tasks.join_next() => j,
            _ = interrupt.wait() => return Err(Error::new(Kind::Interrupted, "interrupted while connecting")),
        };
        let Some(joined) = joined else { break };
        let (i, session, took, source) =
            joined.map_err(|e| Error::local(format!("a connect task failed: {e}")))?;
        connect_ns.saturating_record(took.as_nanos().max(1) as u64);
        sessions[i] = Some(session?);
        shared.connected.fetch_add(1, Ordering::Relaxed);
        shared.sources.opened(source);
    }
    Ok(sessions.into_iter().flatten().collect())
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
