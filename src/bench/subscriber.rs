//! The subscriber loop: each subscriber reads what arrives in bursts,
//! checks every message into its [`Tally`], and publishes its running
//! counts for the progress line and queue mode. Once the publishers are
//! done it waits (`--drain`) for what is still on its way, then closes.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;

use super::hlog;
use super::payload;
use super::tally::{self, Delivery, Tally, Timing};
use super::{BURST, Plan, Shared, closed_error};
use crate::error::{Error, Result};
use crate::session::{Incoming, Session};

/// What the subscribers are told as the run goes.
#[derive(Clone, Debug)]
struct Phase {
    timing: Timing,
    /// Set when the publishers are done: what each sent, and how long a
    /// subscriber waits for more once nothing arrives.
    finish: Option<(Arc<Vec<u64>>, Duration)>,
}

/// What one subscriber saw, and why it stopped early if it did.
pub(super) struct SubResult {
    pub(super) tally: Tally,
    pub(super) error: Option<Error>,
}

/// The running subscribers.
pub(super) struct Subscribers {
    tasks: JoinSet<(usize, SubResult)>,
    phase: watch::Sender<Phase>,
    /// Which subscribers have heard a probe.
    heard: Arc<Vec<AtomicBool>>,
    delivery: Delivery,
    count: usize,
}

impl Subscribers {
    /// A task for each session, listening from now on.
    /// With `hlog`, each sends its seconds' latencies there.
    pub(super) fn spawn(
        sessions: Vec<Session>,
        plan: &Plan,
        shared: &Arc<Shared>,
        hlog: Option<&hlog::Collector>,
    ) -> Subscribers {
        let local = plan.shard.part(plan.pubs);
        let timed = if plan.cross_host_latency {
            0..plan.pubs
        } else {
            local
        };
        let (phase, phase_rx) = watch::channel(Phase {
            timing: Timing {
                // Known now with --start-at: other shards may start first.
                go_ns: super::planned_go(plan, shared).unwrap_or(u64::MAX),
                warmup_ns: plan.warmup.as_nanos() as u64,
                timed: timed.start as u16..timed.end as u16,
                ramp: plan.ramp,
            },
            finish: None,
        });
        let count = sessions.len();
        let heard: Arc<Vec<AtomicBool>> =
            Arc::new((0..count).map(|_| AtomicBool::new(false)).collect());
        let mut tasks = JoinSet::new();
        for (i, session) in sessions.into_iter().enumerate() {
            let (shared, phase, heard) = (Arc::clone(shared), phase_rx.clone(), Arc::clone(&heard));
            let plan = plan.clone();
            let seconds = hlog.map(|c| Seconds {
                to: c.sender(),
                at: 0,
            });
            tasks.spawn(async move {
                (
                    i,
                    subscriber(i, session, &plan, &shared, phase, &heard, seconds).await,
                )
            });
        }
        Subscribers {
            tasks,
            phase,
            heard,
            delivery: plan.delivery,
            count,
        }
    }

    /// True once every subscriber (one, for a queue) has heard a probe,
    /// or at once without subscribers (a shard may have none).
    pub(super) fn listening(&self) -> bool {
        let heard = |h: &AtomicBool| h.load(Ordering::Relaxed);
        self.heard.iter().all(heard)
            || (self.delivery == Delivery::Queue && self.heard.iter().any(heard))
    }

    /// How many subscribers have heard no probe.
    pub(super) fn deaf(&self) -> usize {
        self.heard
            .iter()
            .filter(|h| !h.load(Ordering::Relaxed))
            .count()
    }

    /// Publishing begins at `go_ns`: due times count from it.
    pub(super) fn start(&self, go_ns: u64) {
        self.phase.send_modify(|p| p.timing.go_ns = go_ns);
    }

    /// Tell the subscribers what each publisher sent, let them wait up to
    /// `drain` for the rest, and collect what each saw, in subscriber order.
    pub(super) async fn finish(
        mut self,
        sent: Arc<Vec<u64>>,
        drain: Duration,
    ) -> Result<Vec<SubResult>> {
        self.phase.send_modify(|p| p.finish = Some((sent, drain)));
        let mut results: Vec<Option<SubResult>> = (0..self.count).map(|_| None).collect();
        while let Some(joined) = self.tasks.join_next().await {
            match joined {
                Ok((i, r)) => results[i] = Some(r),
                Err(e) => return Err(Error::local(format!("a subscriber task failed: {e}"))),
            }
        }
        Ok(results.into_iter().flatten().collect())
    }
}

/// With `--hlog`: where a subscriber sends each second's latencies, and
/// which second it is recording.
struct Seconds {
    to: mpsc::UnboundedSender<hlog::Second>,
    at: u64,
}

impl Seconds {
    /// Checked once per burst: when `now_ns` is in a later second of the
    /// measured window than the one recorded, hand that one on.
    fn tick(&mut self, tally: &mut Tally, now_ns: u64, timing: &Timing) {
        let window = timing.go_ns.saturating_add(timing.warmup_ns);
        if now_ns < window {
            return;
        }
        let second = (now_ns - window) / 1_000_000_000;
        if second != self.at {
            self.send(tally);
            self.at = second;
        }
    }

    /// Hand on the second being recorded, if anything was.
    fn send(&mut self, tally: &mut Tally) {
        if let Some(h) = tally.interval.replace(tally::step_histogram())
            && !h.is_empty()
        {
            let _ = self.to.send((self.at, h));
        }
    }
}

/// One subscriber, from connected to closed.
async fn subscriber(
    index: usize,
    mut session: Session,
    plan: &Plan,
    shared: &Shared,
    mut phase: watch::Receiver<Phase>,
    heard: &[AtomicBool],
    mut seconds: Option<Seconds>,
) -> SubResult {
    let mut tally = Tally::new(plan.pubs, plan.ramp.as_ref());
    if seconds.is_some() {
        tally.interval = Some(tally::step_histogram());
    }
    // Whether this subscriber can tell it has everything: only when every
    // publisher ran here, and for a queue every consumer too; otherwise it
    // waits for --drain of silence.
    let knows_all = match plan.delivery {
        Delivery::FanOut => plan.shard.part(plan.pubs) == (0..plan.pubs),
        Delivery::Queue => plan.shard.is_whole(),
    };
    let mut current = phase.borrow_and_update().clone();
    let mut reported = (0u64, 0u64);
    let far = tokio::time::Instant::now() + Duration::from_secs(100 * 365 * 24 * 3600);
    // Once the publishers are done: when to give up on the rest. Reset by
    // every arrival, so a slow broker still delivering is waited for.
    let mut deadline = far;
    let error = loop {
        if let Some((sent, _)) = &current.finish
            && knows_all
        {
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
                if let Some(s) = &mut seconds {
                    s.tick(&mut tally, now, &current.timing);
                }
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
                            tally.note(header, m.body.len(), now, &current.timing);
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
    if let Some(s) = &mut seconds {
        s.send(&mut tally);
    }
    if error.is_none() {
        session.set_close_wait(Duration::from_secs(2));
        let _ = session.close(|_| Ok(())).await;
    }
    SubResult { tally, error }
}
