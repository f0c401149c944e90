//! `pubcat bench [URL]`: turn the flags into a [`Plan`], start the embedded
//! broker when no URL is given, run it, print the report, and turn loss
//! or a regression into exit 5.

use std::io::{IsTerminal, Write};
use std::net::SocketAddr;
use std::time::Duration;

use crate::bench::merge::Saved;
use crate::bench::payload::HEADER;
use crate::bench::report::{self, Report};
use crate::bench::schedule::Ramp;
use crate::bench::tally::{Delivery, Stream};
use crate::bench::{self, Plan, Shard, Span};
use crate::cli::{BenchArgs, BenchCommand, Global, MAX_DURATION, MergeArgs, ReachArgs};
use crate::dialect::Dialect;
use crate::endpoint::{Protocol, Role, Transport};
use crate::error::{Error, Kind, Outcome, Result};
use crate::server::{self, ServerConfig};
use crate::session::Connection;
use crate::shutdown::Interrupt;
use crate::{status, verbose, warn};

/// Idle connections held as sessions (all but raw WebSockets, which keep
/// only their stream) get small WebSocket buffers: tungstenite's 128 KiB
/// defaults cost ~137 KB a connection, 4 KiB ~10 KB (performance.md).
const IDLE_BUFFER: usize = 4096;

/// A ramp step's (or a second's, for --hlog) histogram: 2 significant
/// digits from 1 ns to an hour.
const STEP_HISTOGRAM_BYTES: u128 = 37 << 10;

/// File descriptors kept for everything but connections.
const SPARE_FILES: u64 = 64;

/// The largest message the embedded broker takes.
const EMBEDDED_MAX_MESSAGE: usize = 16 << 20;

/// The most memory a run may need before it sends anything: every
/// publisher and subscriber holds at least one message, and every
/// subscriber a tally of every publisher.
const MEMORY_BUDGET: u128 = 4 << 30;

pub async fn run(global: &Global, mut args: BenchArgs, interrupt: Interrupt) -> Result<Outcome> {
    if let Some(BenchCommand::Merge(m)) = &args.command {
        return merge(m);
    }
    let payload = load_payload(&mut args)?;
    check(&args)?;
    let shard = shard(&args)?;
    let baseline = match &args.compare {
        Some(path) => {
            let text = std::fs::read_to_string(path).map_err(|e| {
                Error::usage(format!("cannot read --compare {}: {e}", path.display()))
            })?;
            Some(
                serde_json::from_str::<serde_json::Value>(&text).map_err(|e| {
                    Error::usage(format!("--compare {} is not JSON: {e}", path.display()))
                })?,
            )
        }
        None => None,
    };

    let mut reach = args.reach.clone();
    let embedded = args.url.is_none();
    let (url, server) = match &args.url {
        Some(url) => (url.clone(), None),
        None => {
            let (addr, server) = start_broker().await?;
            let url = match reach.protocol {
                Some(Protocol::Stomp) => {
                    if reach.topic.is_empty() {
                        reach.topic.push("/topic/bench".into());
                    }
                    format!("ws://{addr}/_/stomp")
                }
                // Raw messages go to the path: -t names it here.
                _ => {
                    let topic = reach.topic.drain(..).next();
                    let topic = topic.as_deref().unwrap_or("bench");
                    format!("ws://{addr}/{}", topic.trim_start_matches('/'))
                }
            };
            (url, Some(server))
        }
    };

    let connections = capped_connections(&args, embedded);
    let mut plan = plan(global, &args, &url, &reach, connections, shard)?;
    plan.payload = payload;
    verbose!(
        "bench: publishing to {}, subscribing to {}",
        crate::log::redact_url(&plan.publish.endpoint.url),
        crate::log::redact_url(&plan.subscribe.endpoint.url)
    );
    let ran = bench::run(plan, interrupt).await;
    if let Some(server) = server {
        server.stop().await;
    }
    let (mut report, interrupted) = ran?;
    report.embedded = embedded;
    print(&report, args.json)?;

    if interrupted {
        status!("interrupted: the report covers the run until then");
        return Ok(Outcome::Interrupted);
    }
    let regression = match &baseline {
        Some(base) => {
            let c = report::compare(&report, base, args.max_regression).map_err(|e| {
                Error::usage(format!(
                    "--compare {}: {e}",
                    args.compare
                        .as_deref()
                        .unwrap_or_else(|| "".as_ref())
                        .display()
                ))
            })?;
            // The verdict is part of the report: on stdout under the
            // table; on stderr when stdout is one JSON document.
            if args.json {
                for line in &c.lines {
                    status!("{line}");
                }
            } else {
                let mut text: String = c.lines.iter().map(|l| format!("\n  {l}")).collect();
                text.push('\n');
                super::stdout_ok(std::io::Write::write_all(
                    &mut std::io::stdout(),
                    text.as_bytes(),
                ))?;
            }
            c.regressed
        }
        None => false,
    };
    // Every gate says its verdict; loss, then a gate, then a regression
    // is the error.
    let gated = gates(&report, &args.gate);
    lost(&report)?;
    gated?;
    if regression {
        return Err(Error::new(
            Kind::Lost,
            format!(
                "more than {}% worse than the baseline (see above)",
                args.max_regression
            ),
        ));
    }
    Ok(Outcome::Done)
}

fn check(args: &BenchArgs) -> Result<()> {
    if args.size < HEADER {
        return Err(Error::usage(format!(
            "--size {} is too small: each message carries a {HEADER}-byte header (sequence number and timestamp)",
            args.size
        )));
    }
    // The broker refuses larger messages, and the subscribers would too:
    // every message would be lost, after allocating for it.
    let size = match &args.payload_file {
        Some(path) => format!(
            "--payload-file {} with its {HEADER}-byte header ({} bytes)",
            path.display(),
            args.size
        ),
        None => format!("--size {}", args.size),
    };
    if args.url.is_none() && args.size > EMBEDDED_MAX_MESSAGE {
        return Err(Error::usage(format!(
            "{size} is larger than the embedded broker takes ({}): bench a server by its URL (`pubcat serve --max-message-size` raises its limit) for larger messages",
            bytes(EMBEDDED_MAX_MESSAGE)
        )));
    }
    if args.size > args.reach.max_message_size {
        return Err(Error::usage(format!(
            "{size} is larger than --max-message-size ({}), the largest message a subscriber accepts: raise --max-message-size to bench larger ones",
            bytes(args.reach.max_message_size)
        )));
    }
    if args.pubs == 0 || args.pubs > usize::from(u16::MAX) {
        return Err(Error::usage("--pubs must be between 1 and 65535"));
    }
    check_files(args)?;
    // Per subscriber too: a histogram per ramp step, and with --hlog the
    // second's and the one on its way to the collector.
    let per_subscriber_histograms = args.ramp.map_or(0, |_| args.ramp_steps as u128)
        * STEP_HISTOGRAM_BYTES
        + u128::from(args.hlog.is_some()) * 2 * STEP_HISTOGRAM_BYTES;
    let least = (args.pubs as u128 + args.subs as u128) * args.size as u128
        + args.subs as u128 * args.pubs as u128 * std::mem::size_of::<Stream>() as u128
        + args.subs as u128 * per_subscriber_histograms;
    if least > MEMORY_BUDGET {
        return Err(Error::usage(format!(
            "--pubs {} and --subs {} of --size {} need {} before the first message is sent (a message per connection, a tally per subscriber and publisher, histograms per --ramp-steps and --hlog), more than the {} a bench may take: use fewer connections, smaller messages or fewer steps",
            args.pubs,
            args.subs,
            args.size,
            bytes(usize::try_from(least).unwrap_or(usize::MAX)),
            bytes(MEMORY_BUDGET as usize)
        )));
    }
    match (args.rate.to, args.ramp) {
        (Some(_), None) => {
            return Err(Error::usage(
                "--rate A..B ramps the rate: say over how long with --ramp DURATION",
            ));
        }
        (None, Some(_)) => {
            return Err(Error::usage(
                "--ramp needs the rates to ramp between: --rate A..B",
            ));
        }
        (Some(to), Some(over)) if to == 0.0 && args.rate.from == 0.0 || over.is_zero() => {
            return Err(Error::usage(
                "a --ramp must last more than 0 and go above 0 msgs/s",
            ));
        }
        _ => {}
    }
    if args.count == Some(0) {
        return Err(Error::usage("--count must be at least 1"));
    }
    if args.duration.is_zero() && args.count.is_none() {
        return Err(Error::usage("--duration must be more than 0"));
    }
    check_schedule(args)?;
    // The warm-up comes before the start asked for: it must not be past.
    let lead = match (args.start_at, args.start_in) {
        (Some(at), _) => Some(
            at.duration_since(std::time::SystemTime::now())
                .unwrap_or_default(),
        ),
        (None, Some(d)) => Some(d),
        (None, None) => None,
    };
    if let Some(lead) = lead
        && lead <= args.warmup
    {
        return Err(Error::usage(format!(
            "the {} warm-up begins before --start-at/--start-in, {} from now, so it would have begun already: start later or shorten --warmup",
            humantime::format_duration(args.warmup),
            humantime::format_duration(Duration::from_millis(lead.as_millis() as u64))
        )));
    }
    // Written at the end: a path that cannot be is said before the run.
    if let Some(path) = &args.hlog {
        std::fs::File::create(path)
            .map_err(|e| Error::usage(format!("cannot write --hlog {}: {e}", path.display())))?;
    }
    if !(args.max_regression.is_finite() && args.max_regression >= 0.0) {
        return Err(Error::usage(
            "--max-regression must be a percentage, 0 or more",
        ));
    }
    Ok(())
}

/// Every publisher and subscriber is a connection, so a file descriptor
/// (two with the embedded broker, which holds the other end): more than
/// the open-file limit allows cannot connect, and asking is costly.
fn check_files(args: &BenchArgs) -> Result<()> {
    let Some(limit) = crate::limits::raise_open_files() else {
        return Ok(());
    };
    let per = if args.url.is_none() { 2 } else { 1 };
    let needed = (args.pubs as u64)
        .saturating_add(args.subs as u64)
        .saturating_mul(per)
        .saturating_add(SPARE_FILES);
    if needed > limit {
        return Err(Error::usage(format!(
            "--pubs {} and --subs {} need {needed} open files{}, and the open-file limit is {limit}",
            args.pubs,
            args.subs,
            if per == 2 {
                " (the embedded broker holds the other end of each)"
            } else {
                ""
            }
        )));
    }
    Ok(())
}

/// A paced run must fit its schedule: each publisher sends once every
/// `pubs / rate` seconds, and waits for its next message's time even when
/// the run ends before it (a --rate 0.01 over 1s waited 100s), and each
/// message's due time must be a number of nanoseconds.
fn check_schedule(args: &BenchArgs) -> Result<()> {
    if args.rate.from == 0.0 || args.ramp.is_some() {
        return Ok(());
    }
    let rate = args.rate.from;
    let every = args.pubs as f64 / rate;
    match args.count {
        None if every > args.duration.as_secs_f64() => Err(Error::usage(format!(
            "--rate {} over {} publisher(s) is one message every {}s from each, longer than --duration {}: raise --rate or --duration",
            rate,
            args.pubs,
            format!("{every:.3}")
                .trim_end_matches('0')
                .trim_end_matches('.'),
            humantime::format_duration(args.duration)
        ))),
        Some(n) if (n.max(args.pubs as u64) as f64 / rate) > MAX_DURATION.as_secs_f64() => {
            Err(Error::usage(format!(
                "--count {n} at --rate {rate} takes longer than a year: raise --rate or lower --count"
            )))
        }
        _ => Ok(()),
    }
}

/// A byte count as the flags take them: `64M`, `1.5M`, `700K`, `36`.
fn bytes(n: usize) -> String {
    let n = n as f64;
    let (value, unit) = match n {
        _ if n >= (1u64 << 30) as f64 => (n / (1u64 << 30) as f64, "G"),
        _ if n >= (1 << 20) as f64 => (n / (1 << 20) as f64, "M"),
        _ if n >= (1 << 10) as f64 => (n / (1 << 10) as f64, "K"),
        _ => return format!("{n} bytes"),
    };
    let text = format!("{value:.1}");
    format!("{}{unit}", text.trim_end_matches(".0"))
}

/// `--connections`, lowered to what the open-file limit allows.
fn capped_connections(args: &BenchArgs, embedded: bool) -> usize {
    let limit = crate::limits::raise_open_files();
    let Some(limit) = limit else {
        return args.connections;
    };
    // An embedded broker holds the other end of every connection.
    let per = if embedded { 2 } else { 1 };
    let fixed = (args.pubs + args.subs) as u64 * per + SPARE_FILES;
    let room = (limit.saturating_sub(fixed) / per) as usize;
    if args.connections > room {
        warn!(
            "the open-file limit is {limit}: --connections {} lowered to {room}{}",
            args.connections,
            if embedded {
                " (an embedded broker needs a descriptor for its side of each; give a URL of a `pubcat serve` to go further)"
            } else {
                ""
            }
        );
        room
    } else {
        args.connections
    }
}

fn plan(
    global: &Global,
    args: &BenchArgs,
    url: &str,
    reach: &ReachArgs,
    connections: usize,
    shard: Shard,
) -> Result<Plan> {
    // One --transport for both roles: SSE and long-poll only receive, so
    // the publishers keep the URL's default (POST) with them; HTTP POST
    // only publishes, so the subscribers keep theirs (SSE).
    let mut pub_reach = reach.clone();
    if matches!(pub_reach.transport, Some(Transport::Sse | Transport::Poll)) {
        pub_reach.transport = None;
    }
    // A NATS queue group is the subscribers' (publishers have none).
    pub_reach.nats.queue_group = None;
    let mut sub_reach = reach.clone();
    if sub_reach.transport == Some(Transport::Http) {
        sub_reach.transport = None;
    }
    // Socket.IO: publishers emit --event, subscribers count only it.
    let publishing = super::Wants {
        emit: Some(args.event.clone()),
        ..Default::default()
    };
    let subscribing = super::Wants {
        events: vec![args.event.clone()],
        ..Default::default()
    };
    let publish = super::connection_to(url, &pub_reach, Role::Publish, publishing)?;
    let subscribe = super::connection_to(url, &sub_reach, Role::Subscribe, subscribing)?;
    let idle = idle_target(&subscribe);
    let delivery = match subscribe.endpoint.protocol {
        Protocol::Stomp
            if reach
                .topic
                .iter()
                .any(|d| d.starts_with("/queue/") || d.starts_with("/amq/queue/")) =>
        {
            Delivery::Queue
        }
        // Competing consumers: each message to one member of the group.
        Protocol::Nats if reach.nats.queue_group.is_some() => Delivery::Queue,
        _ => Delivery::FanOut,
    };
    Ok(Plan {
        publish,
        subscribe,
        idle,
        pubs: args.pubs,
        subs: args.subs,
        size: args.size,
        rate: args.rate.from,
        ramp: match (args.rate.to, args.ramp) {
            (Some(to), Some(over)) => Some(Ramp {
                to,
                over,
                steps: args.ramp_steps,
            }),
            _ => None,
        },
        span: match (args.count, args.ramp) {
            (_, Some(over)) => Span::Duration(over),
            (Some(n), None) => Span::Count(n),
            (None, None) => Span::Duration(args.duration),
        },
        warmup: args.warmup,
        drain: args.drain,
        connections,
        delivery,
        progress: std::io::stderr().is_terminal() && !global.quiet,
        start_at: args
            .start_at
            .or_else(|| args.start_in.map(|d| std::time::SystemTime::now() + d)),
        shard,
        cross_host_latency: args.cross_host_latency,
        hlog: args.hlog.clone(),
        payload: None,
        bind: args.bind.clone().map(|b| b.0).unwrap_or_default(),
    })
}

/// `--payload-file`: its bytes, and `--size` set to what each message
/// will be with the header. A file larger than a message may be is
/// refused before it is read whole.
fn load_payload(args: &mut BenchArgs) -> Result<Option<std::sync::Arc<[u8]>>> {
    let Some(path) = &args.payload_file else {
        return Ok(None);
    };
    let cannot = |e: std::io::Error| {
        Error::usage(format!(
            "cannot read --payload-file {}: {e}",
            path.display()
        ))
    };
    let most = args.reach.max_message_size;
    let file = std::fs::File::open(path).map_err(cannot)?;
    let mut bytes = Vec::new();
    std::io::Read::read_to_end(&mut std::io::Read::take(file, most as u64 + 1), &mut bytes)
        .map_err(cannot)?;
    if bytes.len() > most {
        return Err(Error::usage(format!(
            "--payload-file {} is larger than --max-message-size ({}), the largest message a subscriber accepts",
            path.display(),
            self::bytes(most)
        )));
    }
    args.size = crate::bench::payload::size_with(&bytes);
    Ok(Some(bytes.into()))
}

/// This run's shard: --shard I/N, or --shards N with the index a Kubernetes
/// Indexed Job gives each pod in JOB_COMPLETION_INDEX; the whole run
/// without either.
fn shard(args: &BenchArgs) -> Result<Shard> {
    let shard = match (args.shard, args.shards) {
        (Some(shard), _) => shard,
        (None, Some(count)) => {
            let index = std::env::var("JOB_COMPLETION_INDEX").map_err(|_| {
                Error::usage(
                    "--shards needs JOB_COMPLETION_INDEX (a Kubernetes Indexed Job sets it): or give --shard I/N",
                )
            })?;
            let index: usize = index.trim().parse().map_err(|_| {
                Error::usage("JOB_COMPLETION_INDEX is not a number: give --shard I/N")
            })?;
            if index >= count {
                return Err(Error::usage(format!(
                    "JOB_COMPLETION_INDEX {index} is not below --shards {count}"
                )));
            }
            Shard { index, count }
        }
        (None, None) => Shard::WHOLE,
    };
    if shard.is_whole() {
        return Ok(shard);
    }
    if args.url.is_none() {
        return Err(Error::usage(format!(
            "shard {shard} needs the URL of the server every shard loads (each would load an embedded broker of its own)"
        )));
    }
    if args.start_at.is_none() && args.start_in.is_none() {
        return Err(Error::usage(format!(
            "shard {shard} needs --start-at TIME (or --start-in on one machine), so that every shard measures the same seconds"
        )));
    }
    if let Some(g) = args.gate.iter().find(|g| g.needs_merge()) {
        return Err(Error::usage(format!(
            "--gate {}: a shard cannot tell what was lost (the other shards' subscribers count too): gate on `pubcat bench merge`",
            g.text
        )));
    }
    if args.compare.is_some() {
        return Err(Error::usage(
            "--compare with --shard: compare the merged report (`pubcat bench merge --json`) instead",
        ));
    }
    Ok(shard)
}

/// Idle connections subscribe to a topic of their own (the bench topic with
/// `-idle` added), so they stay idle; small buffers keep them cheap.
fn idle_target(subscribe: &Connection) -> Connection {
    let mut c = subscribe.clone();
    c.transport.ws_read_buffer = Some(IDLE_BUFFER);
    c.transport.ws_write_buffer = Some(IDLE_BUFFER);
    let endpoint = &mut c.endpoint;
    if let Dialect::Stomp(stomp) = &mut c.dialect {
        for d in &mut stomp.destinations {
            d.push_str("-idle");
        }
    } else {
        let mut url = endpoint.url.clone();
        let path = format!("{}-idle", url.path().trim_end_matches('/'));
        url.set_path(&path);
        endpoint.topic = path.trim_start_matches('/').into();
        endpoint.url = url;
    }
    c
}

/// `bench merge`: the reports read, merged, printed; exit 5 when the
/// merged run lost messages, as the run itself would.
fn merge(args: &MergeArgs) -> Result<Outcome> {
    let mut saved = Vec::new();
    for path in &args.reports {
        let name = path.display().to_string();
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::usage(format!("cannot read {name}: {e}")))?;
        let report = serde_json::from_str(&text).map_err(|e| {
            Error::usage(format!(
                "{name} is not a report of `pubcat bench --json`: {e}"
            ))
        })?;
        saved.push(Saved { name, report });
    }
    let report = bench::merge::merge(&saved, args.force).map_err(Error::usage)?;
    print(&report, args.json)?;
    let gated = gates(&report, &args.gate);
    lost(&report)?;
    gated?;
    Ok(Outcome::Done)
}

/// Each gate's verdict on stderr; the first that failed is exit 5.
fn gates(report: &Report, gates: &[bench::gate::Gate]) -> Result<()> {
    let mut failed = None;
    for g in gates {
        let (pass, shown) = g.check(report);
        status!(
            "gate {}: {} ({shown})",
            g.text,
            if pass { "PASS" } else { "FAIL" }
        );
        if !pass && failed.is_none() {
            failed = Some(format!("gate {} failed: {shown}", g.text));
        }
    }
    match failed {
        Some(why) => Err(Error::new(Kind::Lost, why)),
        None => Ok(()),
    }
}

/// Any loss is exit 5.
fn lost(report: &Report) -> Result<()> {
    if report.counts.lost == 0 {
        return Ok(());
    }
    Err(Error::new(
        Kind::Lost,
        format!(
            "{} of {} expected deliveries were lost",
            report::group(report.counts.lost),
            report::group(report.counts.expected)
        ),
    ))
}

fn print(report: &Report, json: bool) -> Result<()> {
    let text = if json {
        let mut s = serde_json::to_string_pretty(report)
            .map_err(|e| Error::local(format!("cannot write the report: {e}")))?;
        s.push('\n');
        s
    } else {
        report.table()
    };
    let mut out = std::io::stdout().lock();
    super::stdout_ok(out.write_all(text.as_bytes()).and_then(|()| out.flush()))
}

/// The embedded broker, in this process, on a free port.
struct Broker {
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Broker {
    async fn stop(self) {
        let _ = self.stop.send(());
        let _ = tokio::time::timeout(Duration::from_secs(10), self.task).await;
    }
}

async fn start_broker() -> Result<(SocketAddr, Broker)> {
    let bound = server::bind(ServerConfig {
        listen: vec![SocketAddr::from(([127, 0, 0, 1], 0))],
        // Nothing is replayed in a bench: keeping no history keeps the
        // publish path short.
        history: 0,
        history_bytes: 1 << 20,
        history_total: 1 << 20,
        retain_for: None,
        // A bench uses a few topics (and queues).
        max_topics: 1000,
        transaction_bytes: 1 << 20,
        queue: 4096,
        slow_timeout: Duration::from_secs(5),
        max_message_size: EMBEDDED_MAX_MESSAGE,
        quiet: true,
        poll_timeout: Duration::from_secs(30),
        sockjs_heartbeat: crate::codec::sockjs::DEFAULT_HEARTBEAT,
        allow_origins: Vec::new(),
        allow_hosts: Vec::new(),
        request_timeout: Duration::from_secs(10),
        max_connections_per_ip: 0,
        max_connections: 0,
        tls: None,
        data_dir: None,
        summary: None,
        tokens: Default::default(),
        chaos: Default::default(),
    })
    .await
    .map_err(|e| Error::local(format!("cannot start the embedded broker: {e}")))?;
    let addr = bound.local_addr();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(bound.run(async move {
        let _ = stopped.await;
    }));
    verbose!("embedded broker on {addr}");
    Ok((addr, Broker { stop, task }))
}
