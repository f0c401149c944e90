//! The transport-independent core of the embedded broker: topics, message
//! ids, history rings, fan-out and the slow-subscriber policy.
//!
//! WebSocket, SSE, long-poll, HTTP publish and STOMP (`/topic/NAME` is the
//! topic `NAME`) all sit on the same [`Broker`], which is why nothing here
//! knows about sockets or HTTP.
//!
//! # Model
//!
//! * A topic is created on first use and keyed by its name (the URL path
//!   without the leading slash). Topics are never removed.
//! * Each topic numbers its messages 1, 2, 3, … and keeps the last `history`
//!   of them in a ring for replay (`?since=ID`, `Last-Event-ID`, cursors).
//! * Publishing on a topic is serialized (one publish at a time per topic), so
//!   every subscriber sees ids in increasing order even with concurrent
//!   publishers.
//!
//! # Slow-subscriber policy
//!
//! Each subscriber has a bounded queue of `queue` messages. Delivery first
//! tries a non-blocking send; when the queue is full the publisher waits for
//! room (back-pressure, so a fast publisher and a normal subscriber lose
//! nothing), but at most `slow_timeout` per publish (one deadline shared by
//! all the full subscribers of that publish). A subscriber whose queue is
//! still full at the deadline is removed from the topic and told why: its
//! queue ends (after the messages already in it) and
//! [`Subscription::end_reason`] says [`EndReason::TooSlow`] with the id to
//! resume after. A subscriber that stays subscribed never misses a message.

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use serde::Serialize;
use tokio::sync::mpsc::{self, error::TrySendError};
use tokio::sync::{Notify, OwnedMutexGuard};
use tokio_tungstenite::tungstenite::Utf8Bytes;

/// The limits every topic of a broker shares.
#[derive(Clone, Copy, Debug)]
pub struct BrokerConfig {
    /// Messages kept per topic for replay (0 keeps none).
    pub history: usize,
    /// Messages queued per subscriber before a publisher has to wait (at least 1).
    pub queue: usize,
    /// How long a publisher waits for a full subscriber queue before that
    /// subscriber is dropped.
    pub slow_timeout: Duration,
}

/// Identifies one subscriber, so a publisher can say "not back to me".
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SubscriberId(u64);

/// Process-wide, so ids stay unique even across brokers in one process (tests, bench).
static NEXT_SUBSCRIBER: AtomicU64 = AtomicU64::new(1);

impl SubscriberId {
    fn next() -> SubscriberId {
        SubscriberId(NEXT_SUBSCRIBER.fetch_add(1, Ordering::Relaxed))
    }
}

/// A message body with its kind. Text is kept as [`Utf8Bytes`] so it is
/// validated once at publish time, not once per delivery: a WebSocket text
/// frame (and an SSE `data:` line) must be UTF-8.
#[derive(Clone, Debug, PartialEq)]
pub enum Payload {
    Text(Utf8Bytes),
    Binary(Bytes),
}

impl Payload {
    /// Text when `binary` is false and the bytes are valid UTF-8; binary
    /// otherwise (bytes that are not UTF-8 cannot go out as text, and
    /// dropping them would lose data).
    pub fn new(body: Bytes, binary: bool) -> Payload {
        if binary {
            return Payload::Binary(body);
        }
        match Utf8Bytes::try_from(body.clone()) {
            Ok(text) => Payload::Text(text),
            Err(_) => Payload::Binary(body),
        }
    }

    /// The body, byte-exact.
    pub fn bytes(&self) -> &Bytes {
        match self {
            Payload::Text(t) => t.as_ref(),
            Payload::Binary(b) => b,
        }
    }

    pub fn is_binary(&self) -> bool {
        matches!(self, Payload::Binary(_))
    }
}

/// One published message as the broker keeps it. Shared (`Arc`) between the
/// history ring and every subscriber queue, so fan-out copies a pointer.
#[derive(Debug)]
pub struct Stored {
    /// Per-topic id, from 1.
    pub id: u64,
    pub payload: Payload,
    /// Headers the publisher gave (a STOMP SEND's `content-type` and user
    /// headers), passed on to subscribers that can carry them; empty for
    /// the other transports.
    pub headers: Vec<(String, String)>,
}

impl Stored {
    /// The body, byte-exact.
    pub fn body(&self) -> &Bytes {
        self.payload.bytes()
    }

    /// True when the message was published as binary.
    pub fn binary(&self) -> bool {
        self.payload.is_binary()
    }
}

/// Ids a reader asked for that are no longer (or never were) in the history
/// ring: `first..=last` were published but cannot be replayed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Gap {
    pub first: u64,
    pub last: u64,
}

impl Gap {
    /// How many messages are missing.
    #[cfg(test)]
    pub fn missing(&self) -> u64 {
        self.last - self.first + 1
    }
}

/// The history after an id, and whether part of it was already lost.
#[derive(Debug, Default)]
pub struct Backlog {
    /// Kept messages with id > the requested one, oldest first.
    pub messages: Vec<Arc<Stored>>,
    /// Set when the requested id is older than the oldest kept one.
    pub gap: Option<Gap>,
    /// The topic's last id at that moment (0 if nothing was ever published).
    /// A requested id above it means the cursor came from elsewhere (e.g.
    /// a broker that restarted).
    pub head: u64,
}

/// Why the broker ended a subscription.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum EndReason {
    /// Its queue stayed full for `waited`. Every id up to and including
    /// `resume_after` was either queued to it, published by it, or older
    /// than the subscription, so resuming with `since = resume_after` loses
    /// nothing still in history.
    TooSlow { resume_after: u64, waited: Duration },
}

impl fmt::Display for EndReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EndReason::TooSlow { resume_after, .. } => {
                write!(f, "subscriber too slow; resume from id {resume_after}")
            }
        }
    }
}

/// Per-topic numbers for `/_/stats`.
#[derive(Clone, Debug, Serialize)]
pub struct TopicStats {
    pub topic: String,
    pub last_id: u64,
    pub subscribers: usize,
    pub history: usize,
}

/// All topics of one broker.
pub struct Broker {
    config: BrokerConfig,
    /// This run of the broker, at random: ids start again at 1 after a
    /// restart, so a cursor means something only with the run it came from.
    epoch: String,
    // A std Mutex: held only for a map lookup or insert, never across an await.
    topics: Mutex<HashMap<Arc<str>, Arc<Topic>>>,
}

impl Broker {
    pub fn new(config: BrokerConfig) -> Broker {
        let config = BrokerConfig {
            // A zero-capacity tokio channel panics; one slot is the least that works.
            queue: config.queue.max(1),
            ..config
        };
        let mut bytes = [0u8; 8];
        // Without a random source, the start time tells runs apart as well.
        if getrandom::fill(&mut bytes).is_err() {
            let now = SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap_or_default();
            bytes = (now.as_nanos() as u64).to_be_bytes();
        }
        Broker {
            config,
            epoch: bytes.iter().map(|b| format!("{b:02x}")).collect(),
            topics: Mutex::new(HashMap::new()),
        }
    }

    /// This run's name (`X-Pubcat-Epoch`), 16 hex digits.
    pub fn epoch(&self) -> &str {
        &self.epoch
    }

    /// The topic called `name`, created if new. Transports that publish
    /// many messages on one topic keep this handle and skip the map lookup.
    pub fn topic(&self, name: &str) -> Arc<Topic> {
        let mut topics = lock(&self.topics);
        if let Some(t) = topics.get(name) {
            return Arc::clone(t);
        }
        let name: Arc<str> = Arc::from(name);
        let topic = Arc::new(Topic {
            name: Arc::clone(&name),
            config: self.config,
            order: Arc::new(tokio::sync::Mutex::new(())),
            state: Mutex::new(TopicState {
                last_id: 0,
                history: VecDeque::new(),
                subscribers: Vec::new(),
            }),
        });
        topics.insert(name, Arc::clone(&topic));
        topic
    }

    /// The topic if it exists; reads never create topics.
    pub fn existing(&self, name: &str) -> Option<Arc<Topic>> {
        lock(&self.topics).get(name).cloned()
    }

    /// Publish on `topic` (created if new) and return the message's id.
    /// See [`Topic::publish`].
    pub async fn publish(
        &self,
        topic: &str,
        body: Bytes,
        binary: bool,
        origin: Option<SubscriberId>,
    ) -> u64 {
        self.topic(topic)
            .publish(Payload::new(body, binary), origin)
            .await
    }

    /// Subscribe to `topic` (created if new). See [`Topic::subscribe`].
    pub fn subscribe(&self, topic: &str, since: Option<u64>) -> Subscription {
        self.topic(topic).subscribe(since)
    }

    /// Kept messages of `topic` with id > `id`; empty for an unknown topic.
    #[cfg(test)]
    pub fn history_after(&self, topic: &str, id: u64) -> Backlog {
        self.existing(topic)
            .map(|t| t.history_after(id))
            .unwrap_or_default()
    }

    /// The cursor that replays the last `n` kept messages of `topic`
    /// (`?last=N`): never older than the history, so it is not a gap.
    pub fn cursor_for_last(&self, topic: &str, n: u64) -> u64 {
        self.existing(topic).map_or(0, |t| {
            let state = lock(&t.state);
            let oldest = state.history.front().map_or(state.last_id + 1, |m| m.id);
            state.last_id.saturating_sub(n).max(oldest - 1)
        })
    }

    /// The last id published on `topic`, 0 if none (or no such topic).
    #[cfg(test)]
    pub fn last_id(&self, topic: &str) -> u64 {
        self.existing(topic).map_or(0, |t| t.last_id())
    }

    /// Every topic's numbers, sorted by name.
    pub fn stats(&self) -> Vec<TopicStats> {
        let topics: Vec<Arc<Topic>> = lock(&self.topics).values().cloned().collect();
        let mut out: Vec<TopicStats> = topics.iter().map(|t| t.stats()).collect();
        out.sort_by(|a, b| a.topic.cmp(&b.topic));
        out
    }
}

/// One topic: its ids, history ring and subscribers.
pub struct Topic {
    name: Arc<str>,
    config: BrokerConfig,
    /// Serializes publishes on this topic, held across delivery (including the
    /// slow-path wait) so ids reach every subscriber in order. A tokio Mutex
    /// because it is held across awaits; owned guards so the slow path can
    /// move it into a task.
    order: Arc<tokio::sync::Mutex<()>>,
    /// Ids, history and the subscriber list. A std Mutex held only for short
    /// non-blocking sections (never across an await), so `subscribe` and
    /// unsubscribe-on-drop stay synchronous.
    state: Mutex<TopicState>,
}

struct TopicState {
    last_id: u64,
    history: VecDeque<Arc<Stored>>,
    subscribers: Vec<Subscriber>,
}

#[derive(Clone)]
struct Subscriber {
    id: SubscriberId,
    tx: mpsc::Sender<Arc<Stored>>,
    end: Arc<EndSignal>,
}

/// Set once by the broker when it removes a subscriber.
#[derive(Default)]
struct EndSignal {
    reason: OnceLock<EndReason>,
    notify: Notify,
}

impl Topic {
    /// Assign the next id, keep the message in history and queue it to every
    /// subscriber except `origin` (a client is not sent its own messages).
    /// Returns the id.
    ///
    /// Waits only when a subscriber's queue is full (see the module docs for
    /// the slow-subscriber policy). Cancel-safe in the way that matters: once
    /// an id is assigned, delivery to every subscriber completes even if this
    /// future is dropped (an HTTP client hanging up must not make a
    /// subscriber silently miss a message).
    pub async fn publish(self: &Arc<Self>, payload: Payload, origin: Option<SubscriberId>) -> u64 {
        self.publish_with_headers(payload, Vec::new(), origin).await
    }

    /// [`Topic::publish`], with headers kept beside the payload.
    pub async fn publish_with_headers(
        self: &Arc<Self>,
        payload: Payload,
        headers: Vec<(String, String)>,
        origin: Option<SubscriberId>,
    ) -> u64 {
        let order = Arc::clone(&self.order).lock_owned().await;
        // Only the full subscribers are collected; `Vec::new` does not
        // allocate, so the common path costs one Arc clone per delivery.
        let mut full: Vec<Subscriber> = Vec::new();
        let stored = {
            let mut state = lock(&self.state);
            state.last_id += 1;
            let stored = Arc::new(Stored {
                id: state.last_id,
                payload,
                headers,
            });
            if self.config.history > 0 {
                if state.history.len() >= self.config.history {
                    state.history.pop_front();
                }
                state.history.push_back(Arc::clone(&stored));
            }
            for sub in &state.subscribers {
                if Some(sub.id) == origin {
                    continue;
                }
                match sub.tx.try_send(Arc::clone(&stored)) {
                    Ok(()) => {}
                    Err(TrySendError::Full(_)) => full.push(sub.clone()),
                    // The receiver is being dropped; its Drop unsubscribes.
                    Err(TrySendError::Closed(_)) => {}
                }
            }
            stored
        };
        let id = stored.id;
        if full.is_empty() {
            return id;
        }
        // Slow path in its own task, which owns the order guard: if this
        // future is dropped, the waits still finish (or time out) before the
        // next publish on the topic may start.
        let topic = Arc::clone(self);
        let task = tokio::spawn(async move { topic.deliver_to_full(order, stored, full).await });
        // An error here means the task panicked or the runtime is shutting
        // down; the id was assigned either way.
        let _ = task.await;
        id
    }

    async fn deliver_to_full(
        &self,
        _order: OwnedMutexGuard<()>,
        stored: Arc<Stored>,
        full: Vec<Subscriber>,
    ) {
        let waited = self.config.slow_timeout;
        // One deadline for the whole publish, so N slow subscribers cost the
        // publisher at most `slow_timeout`, not N times it.
        let deadline = tokio::time::Instant::now() + waited;
        for sub in full {
            // `timeout_at` polls the send before checking the clock, so a
            // queue that drained meanwhile still gets the message even after
            // the deadline.
            match tokio::time::timeout_at(deadline, sub.tx.send(Arc::clone(&stored))).await {
                Ok(_) => {} // delivered, or the receiver went away
                Err(_) => self.drop_slow(
                    &sub,
                    EndReason::TooSlow {
                        resume_after: stored.id - 1,
                        waited,
                    },
                ),
            }
        }
    }

    fn drop_slow(&self, sub: &Subscriber, reason: EndReason) {
        // The reason is set before the last sender goes, so a receiver that
        // sees its queue end can always read why.
        let _ = sub.end.reason.set(reason);
        lock(&self.state).subscribers.retain(|s| s.id != sub.id);
        sub.end.notify.notify_waiters();
        // `sub` (our clone of the sender) is dropped by the caller right
        // after, which closes the queue.
    }

    /// Subscribe, with the history after `since` as a backlog when given
    /// (`Some(0)` = all history; `None` = live messages only; a `since`
    /// this topic never reached = all history).
    ///
    /// Taking the backlog and registering the live queue happen under one
    /// lock, the same one publish holds to assign ids and queue: every id is
    /// either in the backlog or in the live queue, never both, never neither.
    pub fn subscribe(self: &Arc<Self>, since: Option<u64>) -> Subscription {
        let (tx, rx) = mpsc::channel(self.config.queue);
        let id = SubscriberId::next();
        let end = Arc::new(EndSignal::default());
        let backlog = {
            let mut state = lock(&self.state);
            let backlog = match since {
                // A cursor past the last id ever assigned comes from an
                // earlier run of the broker (ids start again at 1 after a
                // restart): everything kept is news to that client.
                Some(since) if since > state.last_id => state.after(0),
                Some(since) => state.after(since),
                None => Backlog {
                    head: state.last_id,
                    ..Backlog::default()
                },
            };
            state.subscribers.push(Subscriber {
                id,
                tx,
                end: Arc::clone(&end),
            });
            backlog
        };
        Subscription {
            id,
            topic: Arc::clone(self),
            backlog,
            rx,
            end,
        }
    }

    /// Kept messages with id > `id`, and the gap if some are gone.
    #[cfg(test)]
    pub fn history_after(&self, id: u64) -> Backlog {
        lock(&self.state).after(id)
    }

    /// The last id assigned, 0 if none.
    #[cfg(test)]
    pub fn last_id(&self) -> u64 {
        lock(&self.state).last_id
    }

    pub fn stats(&self) -> TopicStats {
        let state = lock(&self.state);
        TopicStats {
            topic: self.name.to_string(),
            last_id: state.last_id,
            subscribers: state.subscribers.len(),
            history: state.history.len(),
        }
    }

    fn unsubscribe(&self, id: SubscriberId) {
        lock(&self.state).subscribers.retain(|s| s.id != id);
    }
}

impl TopicState {
    fn after(&self, since: u64) -> Backlog {
        let head = self.last_id;
        // Kept ids are contiguous: oldest..=head. With nothing kept, the
        // oldest id that could be replayed is the next one.
        let oldest = self.history.front().map_or(head + 1, |m| m.id);
        let gap = (since + 1 < oldest).then(|| Gap {
            first: since + 1,
            last: oldest - 1,
        });
        let start = (since + 1).max(oldest);
        let messages = match usize::try_from(start - oldest) {
            Ok(skip) if start <= head => self.history.iter().skip(skip).cloned().collect(),
            _ => Vec::new(),
        };
        Backlog {
            messages,
            gap,
            head,
        }
    }
}

/// A live subscription: an optional backlog, then every message published
/// after it. Unsubscribes when dropped.
pub struct Subscription {
    id: SubscriberId,
    topic: Arc<Topic>,
    backlog: Backlog,
    rx: mpsc::Receiver<Arc<Stored>>,
    end: Arc<EndSignal>,
}

impl Subscription {
    pub fn id(&self) -> SubscriberId {
        self.id
    }

    pub fn topic(&self) -> &Arc<Topic> {
        &self.topic
    }

    /// Set when `since` was older than the oldest kept id: those messages
    /// were published but can no longer be replayed.
    pub fn gap(&self) -> Option<Gap> {
        self.backlog.gap
    }

    /// The topic's last id when the subscription started.
    pub fn head(&self) -> u64 {
        self.backlog.head
    }

    /// There is history to replay (before [`Subscription::take_backlog`]).
    pub fn has_backlog(&self) -> bool {
        !self.backlog.messages.is_empty()
    }

    /// The replayed history, oldest first; deliver it before any live
    /// message. Empty on the second call.
    pub fn take_backlog(&mut self) -> Vec<Arc<Stored>> {
        std::mem::take(&mut self.backlog.messages)
    }

    /// The next live message; `None` once the broker ended the subscription
    /// (see [`Subscription::end_reason`]) and the queue is drained.
    #[cfg(test)]
    pub async fn recv(&mut self) -> Option<Arc<Stored>> {
        self.rx.recv().await
    }

    /// Up to `limit` queued messages appended to `buf` (waits for at least
    /// one); 0 means the subscription ended. Cancel-safe.
    pub async fn recv_many(&mut self, buf: &mut Vec<Arc<Stored>>, limit: usize) -> usize {
        self.rx.recv_many(buf, limit).await
    }

    /// Why the broker ended this subscription, if it did.
    pub fn end_reason(&self) -> Option<EndReason> {
        self.end.reason.get().copied()
    }

    /// Resolves when the broker ends this subscription, even while messages
    /// are still queued (a writer blocked on a stuck client can stop early).
    /// Cancel-safe.
    pub async fn ended(&self) -> EndReason {
        loop {
            let notified = self.end.notify.notified();
            let mut notified = std::pin::pin!(notified);
            // Register before checking, so a notify between the check and the
            // await is not missed.
            notified.as_mut().enable();
            if let Some(reason) = self.end.reason.get() {
                return *reason;
            }
            notified.await;
        }
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        self.topic.unsubscribe(self.id);
    }
}

/// Lock a std Mutex, ignoring poisoning: no critical section here can leave
/// the state half-updated by panicking between related writes.
pub(super) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;
    use tokio::time::timeout;

    const LIMIT: Duration = Duration::from_secs(20);

    fn broker(history: usize, queue: usize, slow_timeout: Duration) -> Broker {
        Broker::new(BrokerConfig {
            history,
            queue,
            slow_timeout,
        })
    }

    fn text(s: &str) -> Bytes {
        Bytes::copy_from_slice(s.as_bytes())
    }

    fn ids(messages: &[Arc<Stored>]) -> Vec<u64> {
        messages.iter().map(|m| m.id).collect()
    }

    #[tokio::test]
    async fn ids_increase_from_one_per_topic() {
        let b = broker(10, 16, Duration::from_secs(5));
        assert_eq!(b.last_id("t"), 0);
        assert_eq!(b.publish("t", text("a"), false, None).await, 1);
        assert_eq!(b.publish("t", text("b"), false, None).await, 2);
        assert_eq!(b.publish("other", text("c"), false, None).await, 1);
        assert_eq!(b.publish("t", text("d"), false, None).await, 3);
        assert_eq!(b.last_id("t"), 3);
        assert_eq!(b.last_id("other"), 1);
        assert_eq!(b.last_id("never"), 0);
    }

    #[tokio::test]
    async fn a_cursor_from_before_a_restart_replays_everything_kept() {
        let b = broker(10, 16, Duration::from_secs(5));
        b.publish("t", text("a"), false, None).await;
        b.publish("t", text("b"), false, None).await;
        let ids = |since| {
            let mut sub = b.subscribe("t", Some(since));
            sub.take_backlog().iter().map(|m| m.id).collect::<Vec<_>>()
        };
        // The client saw up to 7 from the broker's last run: 1 and 2 are new.
        assert_eq!(ids(7), [1, 2]);
        assert_eq!(ids(2), [] as [u64; 0]);
        assert_eq!(ids(1), [2]);
    }

    #[tokio::test]
    async fn history_ring_keeps_the_last_n() {
        let b = broker(3, 16, Duration::from_secs(5));
        for i in 1..=5 {
            b.publish("t", text(&format!("m{i}")), false, None).await;
        }
        let h = b.history_after("t", 0);
        assert_eq!(ids(&h.messages), [3, 4, 5]);
        assert_eq!(h.messages[0].body().as_ref(), b"m3");
        assert_eq!(ids(&b.history_after("t", 4).messages), [5]);
        assert!(b.history_after("t", 5).messages.is_empty());
        assert!(b.history_after("nope", 0).messages.is_empty());
        // Reads do not create topics.
        assert!(b.stats().iter().all(|s| s.topic != "nope"));
        let stats = b.stats();
        assert_eq!(stats.len(), 1);
        assert_eq!((stats[0].last_id, stats[0].history), (5, 3));
    }

    #[tokio::test]
    async fn payload_kind_is_kept_and_non_utf8_text_becomes_binary() {
        let b = broker(10, 16, Duration::from_secs(5));
        b.publish("t", text("héllo"), false, None).await;
        b.publish("t", Bytes::from_static(b"\x00\xff"), true, None)
            .await;
        b.publish("t", Bytes::from_static(b"\xff\xfe"), false, None)
            .await;
        let h = b.history_after("t", 0).messages;
        assert!(matches!(&h[0].payload, Payload::Text(t) if t.as_str() == "héllo"));
        assert!(h[1].binary() && h[1].body().as_ref() == b"\x00\xff");
        assert!(h[2].binary() && h[2].body().as_ref() == b"\xff\xfe");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn backlog_then_live_has_no_gap_and_no_duplicate_under_a_concurrent_publisher() {
        const N: u64 = 10_000;
        let b = Arc::new(broker(N as usize, 4096, Duration::from_secs(30)));
        let topic = b.topic("t");
        let (halfway_tx, halfway_rx) = tokio::sync::oneshot::channel();
        let publisher = {
            let topic = Arc::clone(&topic);
            tokio::spawn(async move {
                let mut halfway = Some(halfway_tx);
                for i in 1..=N {
                    let id = topic
                        .publish(Payload::new(text(&i.to_string()), false), None)
                        .await;
                    assert_eq!(id, i);
                    if i == N / 2
                        && let Some(tx) = halfway.take()
                    {
                        let _ = tx.send(());
                    }
                }
            })
        };
        timeout(LIMIT, halfway_rx).await.unwrap().unwrap();
        let mut sub = topic.subscribe(Some(0));
        assert_eq!(sub.gap(), None);
        let mut seen = ids(&sub.take_backlog());
        let from_backlog = seen.len();
        let mut buf = Vec::new();
        while seen.last().copied() != Some(N) {
            let n = timeout(LIMIT, sub.recv_many(&mut buf, 256)).await.unwrap();
            assert!(n > 0, "subscription ended early");
            seen.extend(buf.drain(..).map(|m| m.id));
        }
        timeout(LIMIT, publisher).await.unwrap().unwrap();
        assert_eq!(
            seen,
            (1..=N).collect::<Vec<_>>(),
            "backlog had {from_backlog}"
        );
        // Each body matches its id: nothing was reordered in the history.
        let h = topic.history_after(N - 1).messages;
        assert_eq!(h[0].body().as_ref(), N.to_string().as_bytes());
    }

    #[tokio::test]
    async fn origin_is_not_echoed() {
        let b = broker(10, 16, Duration::from_secs(5));
        let mut a = b.subscribe("t", None);
        let mut other = b.subscribe("t", None);
        b.publish("t", text("from a"), false, Some(a.id())).await;
        b.publish("t", text("from outside"), false, None).await;
        // `a` gets only the second message: its own was skipped, not delayed.
        let m = a.recv().await.unwrap();
        assert_eq!((m.id, m.body().as_ref()), (2, &b"from outside"[..]));
        assert!(a.rx.try_recv().is_err());
        assert_eq!(other.recv().await.unwrap().id, 1);
        assert_eq!(other.recv().await.unwrap().id, 2);
    }

    #[tokio::test]
    async fn a_subscriber_that_never_reads_is_dropped_and_the_others_get_everything() {
        const N: u64 = 50;
        let slow_timeout = Duration::from_millis(100);
        let b = Arc::new(broker(100, 4, slow_timeout));
        let topic = b.topic("t");
        let mut stuck = topic.subscribe(None);
        let mut reader = topic.subscribe(None);
        let reading = tokio::spawn(async move {
            let mut got = Vec::new();
            while got.len() < N as usize {
                match reader.recv().await {
                    Some(m) => got.push(m.id),
                    None => break,
                }
            }
            (got, reader.end_reason())
        });
        let started = tokio::time::Instant::now();
        for i in 1..=N {
            timeout(
                LIMIT,
                topic.publish(Payload::new(text(&i.to_string()), false), None),
            )
            .await
            .unwrap();
        }
        // The publisher waited once (for the 5th message), not per message.
        assert!(started.elapsed() >= slow_timeout);
        let (got, reason) = timeout(LIMIT, reading).await.unwrap().unwrap();
        assert_eq!(got, (1..=N).collect::<Vec<_>>());
        assert_eq!(reason, None);

        let reason = stuck.end_reason().expect("dropped");
        assert_eq!(
            reason,
            EndReason::TooSlow {
                resume_after: 4,
                waited: slow_timeout
            }
        );
        assert_eq!(reason.to_string(), "subscriber too slow; resume from id 4");
        assert_eq!(timeout(LIMIT, stuck.ended()).await.unwrap(), reason);
        // What was queued before the drop is still delivered, then the queue ends.
        let mut queued = Vec::new();
        while let Some(m) = stuck.recv().await {
            queued.push(m.id);
        }
        assert_eq!(queued, [1, 2, 3, 4]);
        assert_eq!(topic.stats().subscribers, 0);
    }

    #[tokio::test]
    async fn a_dropped_publish_still_delivers_to_full_queues() {
        let b = broker(10, 1, Duration::from_secs(30));
        let topic = b.topic("t");
        let mut sub = topic.subscribe(None);
        topic.publish(Payload::new(text("1"), false), None).await;
        // The queue is full: this publish waits; give up on it right away.
        let publish = topic.publish(Payload::new(text("2"), false), None);
        assert!(
            timeout(Duration::from_millis(10), publish).await.is_err(),
            "queue of 1 should have been full"
        );
        assert_eq!(sub.recv().await.unwrap().id, 1);
        assert_eq!(timeout(LIMIT, sub.recv()).await.unwrap().unwrap().id, 2);
        assert_eq!(sub.end_reason(), None);
    }

    #[tokio::test]
    async fn since_older_than_the_oldest_kept_is_a_gap() {
        let b = broker(3, 16, Duration::from_secs(5));
        for i in 1..=5 {
            b.publish("t", text(&i.to_string()), false, None).await;
        }
        let mut s = b.subscribe("t", Some(1));
        assert_eq!(s.gap(), Some(Gap { first: 2, last: 2 }));
        assert_eq!(ids(&s.take_backlog()), [3, 4, 5]);
        let mut s = b.subscribe("t", Some(0));
        assert_eq!(s.gap(), Some(Gap { first: 1, last: 2 }));
        assert_eq!(s.gap().map(|g| g.missing()), Some(2));
        assert_eq!(ids(&s.take_backlog()), [3, 4, 5]);
        let mut s = b.subscribe("t", Some(2));
        assert_eq!(s.gap(), None);
        assert_eq!(ids(&s.take_backlog()), [3, 4, 5]);
        // A cursor from the future (an earlier run of the broker): all that
        // is kept is new to that client, and what is not kept is a gap.
        let mut s = b.subscribe("t", Some(9));
        assert_eq!((s.gap(), s.head()), (Some(Gap { first: 1, last: 2 }), 5));
        assert_eq!(ids(&s.take_backlog()), [3, 4, 5]);
        // Live only: no backlog at all.
        let mut s = b.subscribe("t", None);
        assert!(s.take_backlog().is_empty());

        // With no history kept, everything published is a gap.
        let b = broker(0, 16, Duration::from_secs(5));
        b.publish("t", text("x"), false, None).await;
        b.publish("t", text("y"), false, None).await;
        let h = b.history_after("t", 0);
        assert!(h.messages.is_empty());
        assert_eq!(h.gap, Some(Gap { first: 1, last: 2 }));
        assert_eq!(b.history_after("t", 2).gap, None);
    }

    #[tokio::test]
    async fn dropping_a_subscription_unsubscribes() {
        let b = broker(3, 16, Duration::from_secs(5));
        let s1 = b.subscribe("t", None);
        let s2 = b.subscribe("t", None);
        assert_eq!(b.stats()[0].subscribers, 2);
        drop(s1);
        assert_eq!(b.stats()[0].subscribers, 1);
        drop(s2);
        assert_eq!(b.stats()[0].subscribers, 0);
    }
}
