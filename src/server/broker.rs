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
//!   without the leading slash), at most `max_topics` of them: a publish or
//!   subscribe that would create one more is refused ([`Full`]).
//! * Each topic numbers its messages 1, 2, 3, … and keeps the newest of
//!   them in a ring for replay (`?since=ID`, `Last-Event-ID`, cursors): at
//!   most `history` messages and `history_bytes` bytes (a message counts
//!   its body, its headers and [`OVERHEAD`]), none older than
//!   `retain_for`, and all topics together at most `history_total` bytes
//!   (a publish past it evicts its own topic's oldest messages; a topic
//!   with nothing left to evict does not keep the new message, which is
//!   still delivered live). Kept ids are always one contiguous run, the
//!   newest: a message that cannot be kept empties its topic's history.
//! * A topic that keeps nothing and has no subscriber is *idle* and is
//!   removed as soon as nobody uses it (see [`super::registry`]); expired
//!   history is swept every [`Broker::sweep_every`]. A removed topic that
//!   had published messages leaves a tombstone, its last id, so the next
//!   topic of that name goes on from there: ids never go back within a
//!   run, and a client's cursor stays valid (what expired is a gap). If the
//!   tombstone was forgotten (at most `max_topics` are kept), the new
//!   topic starts from 1 again under an epoch of its own (see
//!   [`Topic::epoch`]), which a client that sends its cursor's epoch
//!   handles as a broker restart.
//! * Publishing on a topic is serialized (one publish at a time per topic), so
//!   every subscriber sees ids in increasing order even with concurrent
//!   publishers.
//!
//! # Slow-subscriber policy
//!
//! A slow subscriber costs only itself; a subscriber that keeps reading
//! loses nothing.
//!
//! * Each subscriber has a bounded queue of `queue` messages. Delivery
//!   first tries a non-blocking send: while there is room, a publish waits
//!   for nobody.
//! * When a queue is full, the publisher waits for room only while the
//!   subscriber's reader keeps *getting further*: taking from its queue,
//!   or saying it got further writing what it took
//!   ([`Subscription::progressed`]: the WebSocket writer does every 64 KiB,
//!   SSE every piece), so a reader busy with a batch of large messages is
//!   not taken for a stalled one. That is back-pressure: a fast publisher
//!   and a reader that keeps up (or nearly) lose nothing, and a reader
//!   slower than its publishers slows them to its pace.
//! * A subscriber whose queue is full and whose reader has not got further
//!   for `slow_timeout` (30 ms by default) is *stalled*: it is removed from
//!   the topic at once, told why (its queue ends after the messages
//!   already in it, [`Subscription::ended`] wakes its writer, and
//!   [`Subscription::end_reason`] says [`EndReason::TooSlow`] with the id
//!   to resume after), and resumes from history when it comes back. Its
//!   transport stops sending and says so in a way the client can see (a
//!   WebSocket close 1013 behind what was buffered, SSE's `event:
//!   overflow`; see `ws.rs` and `http_sub.rs`).
//! * The clock is the reader's, not the publisher's: a stalled subscriber
//!   costs a publish `slow_timeout` less however long it had been stalled
//!   when its queue filled, so one stalled subscriber costs publishers one
//!   `slow_timeout` at the most, and several that stalled together about
//!   one in all (the full queues of a publish are waited for at once).
//!   `/_/stats` counts the subscribers dropped and the time publishes
//!   waited for full queues ([`super::bounds`]).
//!
//! Why this and not the old policy (a publisher waited up to 5 s for each
//! full queue before dropping its subscriber): eight WebSocket clients
//! that stopped reading turned a 0.1 s publish of 200,000 lines into 30 s,
//! each costing the whole wait. NATS and Redis never make a publisher wait
//! for a subscriber (a client past its pending or output-buffer limit is
//! disconnected); pubcat keeps back-pressure for readers that keep
//! reading, because a fast `pub` into a `sub` that keeps up must lose
//! nothing, and makes a stalled reader cost one short bound.

use std::collections::VecDeque;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use serde::Serialize;
use tokio::sync::mpsc::{self, error::TrySendError};
use tokio::sync::{Notify, OwnedMutexGuard};
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Utf8Bytes;

use super::bounds::Counters;
pub use super::registry::Full;
use super::registry::{Birth, Entry, Handle, Registry};
use super::store::{Store, StoreError};
use crate::codec::log::Record;

/// What a kept message costs beyond its body and headers, in bytes (the
/// envelope, the pointers to it): so that `history_bytes` bounds memory
/// even for empty messages.
pub const OVERHEAD: usize = 128;

/// The limits every topic of a broker shares.
#[derive(Clone, Copy, Debug)]
pub struct BrokerConfig {
    /// Messages kept per topic for replay (0 keeps none).
    pub history: usize,
    /// Bytes kept per topic for replay (see [`Stored::size`]).
    pub history_bytes: usize,
    /// Bytes kept for replay by all topics together.
    pub history_total: usize,
    /// How long a message is kept for replay; None: as long as there is room.
    pub retain_for: Option<Duration>,
    /// Most topics at once (at least 1).
    pub max_topics: usize,
    /// Messages queued per subscriber before a publisher has to wait (at least 1).
    pub queue: usize,
    /// How long a subscriber whose queue is full may make no progress
    /// (take nothing from its queue) before it is dropped: the most one
    /// stalled subscriber makes a publish wait.
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

    /// The payload to keep: a small body in an allocation of its own. A
    /// body is often a slice of the connection's read buffer (hyper's,
    /// tungstenite's), and keeping the slice keeps the whole buffer: one
    /// byte kept cost ~5 KB. A large body is most of its buffer anyway.
    pub fn kept(self) -> Payload {
        const SMALL: usize = 64 * 1024;
        match self {
            Payload::Text(t) if t.len() <= SMALL => Payload::Text(t.as_str().to_owned().into()),
            Payload::Binary(b) if b.len() <= SMALL => Payload::Binary(Bytes::copy_from_slice(&b)),
            large => large,
        }
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
    /// When it was published (for `retain_for`).
    pub at: Instant,
}

impl Stored {
    /// As the store writes it.
    fn record(&self, topic: &str, at_ms: u64) -> Record {
        publish_record(topic, self.id, at_ms, &self.payload, &self.headers)
    }

    /// What keeping it costs, in bytes: its body, its headers and [`OVERHEAD`].
    pub fn size(&self) -> usize {
        let headers: usize = self.headers.iter().map(|(k, v)| k.len() + v.len()).sum();
        self.body().len() + headers + OVERHEAD
    }

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
    /// The id the backlog starts after (None: live only): the requested
    /// one, or 0 for a cursor from another run or past the last id.
    pub after: Option<u64>,
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
    /// Its queue was full and it took nothing from it for `stalled`.
    /// Every id up to and including `resume_after` was either queued to
    /// it, published by it, or older than the subscription, so resuming
    /// with `since = resume_after` loses nothing still in history.
    TooSlow {
        resume_after: u64,
        stalled: Duration,
    },
}

impl fmt::Display for EndReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EndReason::TooSlow { resume_after, .. } => f.write_str(&too_slow(*resume_after)),
        }
    }
}

/// What a client dropped as too slow is told (a WebSocket's 1013 reason,
/// SSE's overflow event): where it resumes from.
pub fn too_slow(resume_after: u64) -> String {
    format!("subscriber too slow; resume from id {resume_after}")
}

/// Per-topic numbers for `/_/stats`.
#[derive(Clone, Debug, Serialize)]
pub struct TopicStats {
    pub topic: String,
    pub last_id: u64,
    pub subscribers: usize,
    pub history: usize,
    /// What the kept history costs (see [`Stored::size`]).
    pub history_bytes: usize,
}

/// Where a subscription starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Start {
    /// Live messages only.
    Live,
    /// After this id (`?since=`, `Last-Event-ID`, a long-poll's Etag).
    After(u64),
    /// The last N kept messages (`?last=N`), never a gap.
    Last(u64),
}

/// What every topic of a broker shares.
struct Shared {
    config: BrokerConfig,
    /// This run of the broker (see [`Broker::epoch`]).
    epoch: String,
    counters: Arc<Counters>,
    /// Where confirmed messages are kept (`--data-dir`), if anywhere.
    store: Option<Arc<Store>>,
}

/// What a broker with `--data-dir` starts from (see [`super::store`]).
pub struct Persist {
    pub store: Arc<Store>,
    /// The run's epoch: the one the files kept, so ids that go on after a
    /// restart are the same run's to clients' cursors.
    pub epoch: u64,
}

/// A publish that did not happen: too many topics, or the store failed.
#[derive(Debug, PartialEq)]
pub enum Refused {
    Full(Full),
    Store(StoreError),
}

/// All topics of one broker.
pub struct Broker {
    shared: Arc<Shared>,
    topics: Arc<Registry<Topic>>,
}

/// A use of a topic (see [`super::registry::Handle`]): while one exists,
/// the topic is not removed.
pub type TopicHandle = Handle<Topic>;

impl Broker {
    #[cfg(test)]
    pub fn new(config: BrokerConfig, counters: Arc<Counters>) -> Broker {
        Broker::with_store(config, counters, None)
    }

    /// A broker that keeps what it confirms in `persist`'s store.
    pub fn with_store(
        config: BrokerConfig,
        counters: Arc<Counters>,
        persist: Option<Persist>,
    ) -> Broker {
        let config = BrokerConfig {
            // A zero-capacity tokio channel panics; one slot is the least that works.
            queue: config.queue.max(1),
            max_topics: config.max_topics.max(1),
            ..config
        };
        let topics = Arc::new(Registry::new(config.max_topics));
        let (epoch, store) = match persist {
            Some(p) => (p.epoch, Some(p.store)),
            None => (crate::random::u64(), None),
        };
        Broker {
            topics,
            shared: Arc::new(Shared {
                config,
                epoch: format!("{epoch:016x}"),
                counters,
                store,
            }),
        }
    }

    /// Put back a topic the store kept: its last id and its messages (ids
    /// contiguous, ending at `last_id`), kept as the limits allow now. A
    /// topic that keeps nothing is removed at once and leaves its last id.
    pub fn restore(&self, name: &str, last_id: u64, messages: Vec<Record>) -> Result<(), Full> {
        let topic = self.topic(name)?;
        let mut state = lock(&topic.state);
        state.last_id = state.last_id.max(last_id);
        let now_ms = unix_ms();
        let now = Instant::now();
        for m in messages {
            let Record::Publish {
                id,
                at_ms,
                binary,
                headers,
                body,
                ..
            } = m
            else {
                continue;
            };
            let age = Duration::from_millis(now_ms.saturating_sub(at_ms));
            let stored = Arc::new(Stored {
                id,
                payload: Payload::new(body, binary).kept(),
                headers,
                at: now.checked_sub(age).unwrap_or(now),
            });
            state.keep(&topic.shared, &stored);
        }
        Ok(())
    }

    /// Once the topics a store kept are restored: a topic made from now on
    /// without a tombstone may be one whose last id the files no longer
    /// had (see [`Topic::epoch`]), so it gets an epoch of its own.
    pub fn restored(&self) {
        // Not 0, and not a count an earlier run reached.
        self.topics.forgotten_from(crate::random::u64() >> 32 | 1);
    }

    /// Every topic's state as records, for a snapshot of the store: each
    /// topic's kept messages, then its head. Waits for each topic's
    /// publish in progress, so every record the store has for it is in.
    pub async fn snapshot(&self) -> Vec<Record> {
        let now_ms = unix_ms();
        let now = Instant::now();
        let mut records = vec![Record::Epoch(
            u64::from_str_radix(&self.shared.epoch, 16).unwrap_or(0),
        )];
        for topic in self.topics.handles() {
            let _order = topic.order.lock().await;
            let state = lock(&topic.state);
            for m in &state.history {
                let age = now.saturating_duration_since(m.at).as_millis() as u64;
                records.push(m.record(&topic.name, now_ms.saturating_sub(age)));
            }
            // After the messages: replayed first, a head would make them
            // look old.
            records.push(Record::Head {
                topic: topic.name.to_string(),
                last_id: state.last_id,
            });
        }
        records
    }

    /// The counters `/_/stats` shows.
    pub fn counters(&self) -> &Arc<Counters> {
        &self.shared.counters
    }

    /// The topic called `name`, created if new and there is room.
    /// Transports that publish many messages on one topic keep this handle
    /// and skip the map lookup.
    pub fn topic(&self, name: &str) -> Result<TopicHandle, Full> {
        self.topics.get_or_create(name, |name, birth| {
            Topic::new(name, Arc::clone(&self.shared), birth)
        })
    }

    /// The topic if it exists; reads never create topics.
    #[cfg(test)]
    pub fn existing(&self, name: &str) -> Option<TopicHandle> {
        self.topics.get(name)
    }

    /// Publish on `topic` (created if new) and return the message's id.
    /// See [`Topic::publish`].
    pub async fn publish(
        &self,
        topic: &str,
        body: Bytes,
        binary: bool,
        origin: Option<SubscriberId>,
    ) -> Result<u64, Refused> {
        self.topic(topic)
            .map_err(Refused::Full)?
            .publish(Payload::new(body, binary), origin)
            .await
            .map_err(Refused::Store)
    }

    /// Subscribe to `topic` (created if new). See [`Topic::subscribe`].
    pub fn subscribe(
        &self,
        topic: &str,
        start: Start,
        epoch: Option<&[u8]>,
    ) -> Result<Subscription, Full> {
        Ok(Topic::subscribe(&self.topic(topic)?, start, epoch))
    }

    /// Kept messages of `topic` with id > `id`; empty for an unknown topic.
    #[cfg(test)]
    pub fn history_after(&self, topic: &str, id: u64) -> Backlog {
        self.existing(topic)
            .map(|t| t.history_after(id))
            .unwrap_or_default()
    }

    /// The last id published on `topic`, 0 if none (or no such topic).
    #[cfg(test)]
    pub fn last_id(&self, topic: &str) -> u64 {
        self.existing(topic).map_or(0, |t| t.last_id())
    }

    /// Every topic's numbers, sorted by name.
    pub fn stats(&self) -> Vec<TopicStats> {
        let mut out = self.topics.map(Topic::stats);
        out.sort_by(|a, b| a.topic.cmp(&b.topic));
        out
    }

    /// How many topics there are now.
    pub fn topic_count(&self) -> usize {
        self.topics.len()
    }

    /// Topics refused by `max_topics`, and idle ones removed, so far.
    pub fn topics_refused_and_removed(&self) -> (u64, u64) {
        (self.topics.refused(), self.topics.removed())
    }

    /// How often [`Broker::sweep`] should run: often enough that expiry is
    /// late by a tenth of `retain_for` at most, never more than once per
    /// 10 ms, at least once a second (the sweep also removes topics whose
    /// last user was the slow-subscriber path, see `Topic::publish`).
    pub fn sweep_every(&self) -> Duration {
        let second = Duration::from_secs(1);
        self.shared.config.retain_for.map_or(second, |r| {
            (r / 10).clamp(Duration::from_millis(10), second)
        })
    }

    /// Expire old history everywhere and remove the topics left idle.
    pub fn sweep(&self) {
        let now = Instant::now();
        self.topics.sweep(|t| lock(&t.state).expire(&t.shared, now));
    }
}

/// A published message as the store writes it.
fn publish_record(
    topic: &str,
    id: u64,
    at_ms: u64,
    payload: &Payload,
    headers: &[(String, String)],
) -> Record {
    Record::Publish {
        topic: topic.to_string(),
        id,
        at_ms,
        binary: payload.is_binary(),
        headers: headers.to_vec(),
        body: payload.bytes().clone(),
    }
}

/// Now, in ms since the Unix epoch (how the store dates messages).
fn unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_millis() as u64
}

/// One topic: its ids, history ring and subscribers.
pub struct Topic {
    name: Arc<str>,
    shared: Arc<Shared>,
    /// 0, or (for a topic that may have lost its tombstone) the number of
    /// tombstones forgotten before it was made: see [`Topic::epoch`].
    generation: u64,
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
    /// What `history` costs ([`Stored::size`]).
    kept: usize,
    subscribers: Vec<Subscriber>,
}

/// What a removed topic leaves for the next one of its name: its last id
/// and generation, so ids go on and the epoch stays.
#[derive(Clone, Copy)]
pub struct TopicTomb {
    last_id: u64,
    generation: u64,
}

impl Entry for Topic {
    type Tomb = TopicTomb;

    fn name(&self) -> &Arc<str> {
        &self.name
    }

    fn idle(&self) -> bool {
        let state = lock(&self.state);
        state.history.is_empty() && state.subscribers.is_empty()
    }

    fn tombstone(&self) -> Option<TopicTomb> {
        let last_id = lock(&self.state).last_id;
        // A topic that never had a message starts from 1 again anyway.
        (last_id > 0).then_some(TopicTomb {
            last_id,
            generation: self.generation,
        })
    }
}

#[derive(Clone)]
struct Subscriber {
    id: SubscriberId,
    tx: mpsc::Sender<Arc<Stored>>,
    signals: Arc<Signals>,
}

/// What a subscriber and the broker tell each other: when its reader last
/// got further, and (set once, by the broker) why it was removed.
struct Signals {
    /// When the subscription was made.
    born: Instant,
    /// When the reader last took from its queue or said it got further
    /// writing what it took ([`Subscription::progressed`]), in nanoseconds
    /// after `born`: a full queue whose reader has not got further for
    /// `slow_timeout` is stalled.
    progressed: AtomicU64,
    reason: OnceLock<EndReason>,
    notify: Notify,
}

impl Signals {
    fn new() -> Signals {
        Signals {
            born: Instant::now(),
            progressed: AtomicU64::new(0),
            reason: OnceLock::new(),
            notify: Notify::new(),
        }
    }

    fn progressed_at(&self) -> Instant {
        self.born + Duration::from_nanos(self.progressed.load(Ordering::Relaxed))
    }

    fn progress(&self) {
        let nanos = u64::try_from(self.born.elapsed().as_nanos()).unwrap_or(u64::MAX);
        self.progressed.store(nanos, Ordering::Relaxed);
    }
}

impl Topic {
    fn new(name: Arc<str>, shared: Arc<Shared>, birth: Birth<TopicTomb>) -> Topic {
        let (last_id, generation) = match birth.tomb {
            Some(tomb) => (tomb.last_id, tomb.generation),
            // Nothing was forgotten yet: this name never had messages
            // removed, and 1 is its first id as it always was.
            None => (0, birth.forgotten),
        };
        Topic {
            name,
            shared,
            generation,
            order: Arc::new(tokio::sync::Mutex::new(())),
            state: Mutex::new(TopicState {
                last_id,
                history: VecDeque::new(),
                kept: 0,
                subscribers: Vec::new(),
            }),
        }
    }

    /// The run its ids belong to (`X-Pubcat-Epoch`): the broker's, or for
    /// a topic made after a tombstone was forgotten, the broker's and a
    /// generation (its ids may have started again at 1 under a name whose
    /// earlier ids a client still holds).
    pub fn epoch(&self) -> String {
        match self.generation {
            0 => self.shared.epoch.clone(),
            g => format!("{}-{g}", self.shared.epoch),
        }
    }

    /// Assign the next id, keep the message in history and queue it to every
    /// subscriber except `origin` (a client is not sent its own messages).
    /// Returns the id.
    ///
    /// Waits only when a subscriber's queue is full (see the module docs for
    /// the slow-subscriber policy). Cancel-safe in the way that matters: a
    /// message given to it is published, and delivered to every subscriber,
    /// even if this future is dropped (while it waits its turn behind
    /// another publish too): an HTTP client hanging up or a WebSocket
    /// reader dropped with its connection must not lose what was sent.
    pub async fn publish(
        self: &Arc<Self>,
        payload: Payload,
        origin: Option<SubscriberId>,
    ) -> Result<u64, StoreError> {
        self.publish_with_headers(payload, Vec::new(), origin).await
    }

    /// [`Topic::publish`], with headers kept beside the payload. With a
    /// store, the message is in the file before anyone is sent it (so a
    /// crash cannot give its id to another message), and the id is
    /// returned once it is as safe as `--fsync` says.
    pub async fn publish_with_headers(
        self: &Arc<Self>,
        payload: Payload,
        headers: Vec<(String, String)>,
        origin: Option<SubscriberId>,
    ) -> Result<u64, StoreError> {
        let Some(store) = self.shared.store.clone() else {
            // Uncontended, at once. Otherwise the wait is in a task of its
            // own: a message its client already sent is published even if
            // the caller goes away while it waits (a WebSocket reader
            // dropped because its connection's writer ended).
            if let Ok(order) = Arc::clone(&self.order).try_lock_owned() {
                let id = self.deliver(order, payload, headers, origin).await;
                // What waiting for the lock did: a publisher whose socket
                // always has more (a bulk publish) gives the other tasks on
                // its thread their turn, its subscribers' writers among
                // them. Without it they starved past `--slow-timeout`.
                tokio::task::coop::consume_budget().await;
                return Ok(id);
            }
            let topic = Arc::clone(self);
            let task = tokio::spawn(async move {
                let order = Arc::clone(&topic.order).lock_owned().await;
                topic.deliver(order, payload, headers, origin).await
            });
            return task
                .await
                .map_err(|e| StoreError::new(format!("publish task failed: {e}")));
        };
        // In a task of its own: once the record is queued for the file,
        // the message must be delivered under that id even if the caller
        // goes away.
        let topic = Arc::clone(self);
        let task = tokio::spawn(async move {
            let order = Arc::clone(&topic.order).lock_owned().await;
            let id = lock(&topic.state).last_id + 1;
            let record = publish_record(&topic.name, id, unix_ms(), &payload, &headers);
            let ticket = store.append(&record);
            drop(record);
            store.written(ticket).await?;
            topic.deliver(order, payload, headers, origin).await;
            store.durable(ticket).await?;
            Ok(id)
        });
        task.await
            .unwrap_or_else(|e| Err(StoreError::new(format!("publish task failed: {e}"))))
    }

    /// Assign the next id under the `order` guard, keep the message and
    /// queue it to its subscribers (the slow ones in a task of its own).
    async fn deliver(
        self: &Arc<Self>,
        order: OwnedMutexGuard<()>,
        payload: Payload,
        headers: Vec<(String, String)>,
        origin: Option<SubscriberId>,
    ) -> u64 {
        let payload = if self.shared.config.history > 0 {
            payload.kept()
        } else {
            payload
        };
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
                at: Instant::now(),
            });
            state.keep(&self.shared, &stored);
            let counters = &self.shared.counters;
            Counters::add(&counters.published, 1);
            Counters::add(&counters.published_bytes, stored.body().len() as u64);
            let mut targets = 0u64;
            for sub in &state.subscribers {
                if Some(sub.id) == origin {
                    continue;
                }
                targets += 1;
                match sub.tx.try_send(Arc::clone(&stored)) {
                    Ok(()) => {}
                    Err(TrySendError::Full(_)) => full.push(sub.clone()),
                    // The receiver is being dropped; its Drop unsubscribes.
                    Err(TrySendError::Closed(_)) => {}
                }
            }
            Counters::add(&counters.fanned_out, targets);
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

    /// Wait for room in each full queue, all at once, each until its
    /// reader has not got further for `slow_timeout`: a stalled one is
    /// dropped (at once if it stalled before its queue filled), one that
    /// keeps taking is waited for.
    async fn deliver_to_full(
        &self,
        _order: OwnedMutexGuard<()>,
        stored: Arc<Stored>,
        mut full: Vec<Subscriber>,
    ) {
        let stall = self.shared.config.slow_timeout;
        let started = Instant::now();
        while !full.is_empty() {
            // `timeout_at` polls the send before the clock, so a queue that
            // drained meanwhile still gets the message after the deadline.
            let sent = futures_util::future::join_all(full.iter().map(|sub| {
                let until = sub.signals.progressed_at() + stall;
                tokio::time::timeout_at(until, sub.tx.send(Arc::clone(&stored)))
            }))
            .await;
            let now = Instant::now();
            let mut still = Vec::new();
            // Delivered, or the receiver went away (its Drop unsubscribes).
            let waiting = full.into_iter().zip(sent);
            for (sub, _) in waiting.filter(|(_, sent)| sent.is_err()) {
                let stalled = now.saturating_duration_since(sub.signals.progressed_at());
                if stalled < stall {
                    // It got further meanwhile: still draining.
                    still.push(sub);
                    continue;
                }
                let resume_after = stored.id - 1;
                self.drop_slow(
                    &sub,
                    EndReason::TooSlow {
                        resume_after,
                        stalled,
                    },
                );
            }
            full = still;
        }
        let waited = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
        Counters::add(&self.shared.counters.slow_waited_us, waited);
    }

    fn drop_slow(&self, sub: &Subscriber, reason: EndReason) {
        // The reason is set before the last sender goes, so a receiver that
        // sees its queue end can always read why.
        let _ = sub.signals.reason.set(reason);
        lock(&self.state).subscribers.retain(|s| s.id != sub.id);
        Counters::add(&self.shared.counters.slow_dropped, 1);
        sub.signals.notify.notify_waiters();
        // `sub` (our clone of the sender) is dropped by the caller right
        // after, which closes the queue.
    }

    /// Subscribe, with the history after `start` as a backlog: `After(0)`
    /// is all history; an id this topic never reached, or any id with an
    /// `epoch` (the client's cursor's) other than the topic's, is all
    /// history too (it counted the ids of another run).
    ///
    /// Taking the backlog and registering the live queue happen under one
    /// lock, the same one publish holds to assign ids and queue: every id is
    /// either in the backlog or in the live queue, never both, never neither.
    pub fn subscribe(topic: &TopicHandle, start: Start, epoch: Option<&[u8]>) -> Subscription {
        let (tx, rx) = mpsc::channel(topic.shared.config.queue);
        let id = SubscriberId::next();
        let signals = Arc::new(Signals::new());
        let other_run = epoch.is_some_and(|e| e != topic.epoch().as_bytes());
        let backlog = {
            let mut state = lock(&topic.state);
            state.expire(&topic.shared, Instant::now());
            let backlog = match start {
                // A cursor past the last id ever assigned comes from an
                // earlier run of the broker (ids start again at 1 after a
                // restart): everything kept is news to that client.
                Start::After(since) if other_run || since > state.last_id => state.after(0),
                Start::After(since) => state.after(since),
                Start::Last(n) => {
                    let oldest = state.history.front().map_or(state.last_id + 1, |m| m.id);
                    state.after(state.last_id.saturating_sub(n).max(oldest - 1))
                }
                Start::Live => Backlog {
                    head: state.last_id,
                    ..Backlog::default()
                },
            };
            state.subscribers.push(Subscriber {
                id,
                tx,
                signals: Arc::clone(&signals),
            });
            backlog
        };
        Subscription {
            id,
            topic: topic.clone(),
            backlog,
            rx,
            signals,
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
            history_bytes: state.kept,
        }
    }

    fn unsubscribe(&self, id: SubscriberId) {
        lock(&self.state).subscribers.retain(|s| s.id != id);
    }
}

impl TopicState {
    /// Keep `stored` (the newest message) in the history, evicting what the
    /// limits say must go; a message that cannot be kept empties it (kept
    /// ids stay contiguous).
    fn keep(&mut self, shared: &Shared, stored: &Arc<Stored>) {
        let config = &shared.config;
        let counters = &shared.counters;
        self.expire(shared, stored.at);
        if config.history == 0 {
            return;
        }
        let size = stored.size();
        if size > config.history_bytes || size > config.history_total {
            let n = self.evict_all(shared);
            let counter = if size > config.history_bytes {
                &counters.evicted_history_bytes
            } else {
                &counters.evicted_history_total
            };
            Counters::add(counter, n + 1);
            return;
        }
        while self.history.len() >= config.history {
            self.evict_oldest(shared);
            Counters::add(&counters.evicted_history, 1);
        }
        while self.kept + size > config.history_bytes {
            self.evict_oldest(shared);
            Counters::add(&counters.evicted_history_bytes, 1);
        }
        // The total is shared with other topics' publishers: count this
        // one in first, then make room from this topic's own history.
        let total = shared.counters.kept.fetch_add(size, Ordering::Relaxed) + size;
        let mut over = total.saturating_sub(config.history_total);
        while over > 0 && !self.history.is_empty() {
            over = over.saturating_sub(self.evict_oldest(shared));
            Counters::add(&counters.evicted_history_total, 1);
        }
        if over > 0 {
            shared.counters.kept.fetch_sub(size, Ordering::Relaxed);
            Counters::add(&counters.evicted_history_total, 1);
            return;
        }
        self.kept += size;
        self.history.push_back(Arc::clone(stored));
    }

    /// Drop what is older than `retain_for` at `now`.
    fn expire(&mut self, shared: &Shared, now: Instant) {
        let Some(retain_for) = shared.config.retain_for else {
            return;
        };
        while self
            .history
            .front()
            .is_some_and(|m| now.saturating_duration_since(m.at) >= retain_for)
        {
            self.evict_oldest(shared);
            Counters::add(&shared.counters.expired, 1);
        }
    }

    /// Drop the oldest kept message; the bytes freed.
    fn evict_oldest(&mut self, shared: &Shared) -> usize {
        let Some(m) = self.history.pop_front() else {
            return 0;
        };
        let size = m.size();
        self.kept -= size;
        shared.counters.kept.fetch_sub(size, Ordering::Relaxed);
        size
    }

    /// Drop the whole history; how many messages that was.
    fn evict_all(&mut self, shared: &Shared) -> u64 {
        let n = self.history.len() as u64;
        self.history.clear();
        shared.counters.kept.fetch_sub(self.kept, Ordering::Relaxed);
        self.kept = 0;
        n
    }

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
            after: Some(since),
            gap,
            head,
        }
    }
}

/// A live subscription: an optional backlog, then every message published
/// after it. Unsubscribes when dropped.
pub struct Subscription {
    id: SubscriberId,
    topic: TopicHandle,
    backlog: Backlog,
    rx: mpsc::Receiver<Arc<Stored>>,
    signals: Arc<Signals>,
}

impl Subscription {
    pub fn id(&self) -> SubscriberId {
        self.id
    }

    pub fn topic(&self) -> &TopicHandle {
        &self.topic
    }

    /// The id its backlog starts after (None: it started live).
    pub fn after(&self) -> Option<u64> {
        self.backlog.after
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
        let m = self.rx.recv().await;
        self.progressed();
        m
    }

    /// Up to `limit` queued messages appended to `buf` (waits for at least
    /// one); 0 means the subscription ended. Cancel-safe.
    pub async fn recv_many(&mut self, buf: &mut Vec<Arc<Stored>>, limit: usize) -> usize {
        let n = self.rx.recv_many(buf, limit).await;
        self.progressed();
        n
    }

    /// Say that the reader got further writing what it took (a piece of
    /// a long backlog or of a large batch): taking from the queue says so
    /// by itself. A reader whose queue is full and that neither takes nor
    /// says this for `slow_timeout` is dropped as stalled.
    pub fn progressed(&self) {
        self.signals.progress();
    }

    /// Why the broker ended this subscription, if it did.
    pub fn end_reason(&self) -> Option<EndReason> {
        self.signals.reason.get().copied()
    }

    /// Resolves when the broker ends this subscription, even while messages
    /// are still queued (a writer blocked on a stuck client can stop early).
    /// Cancel-safe.
    pub async fn ended(&self) -> EndReason {
        loop {
            let notified = self.signals.notify.notified();
            let mut notified = std::pin::pin!(notified);
            // Register before checking, so a notify between the check and the
            // await is not missed.
            notified.as_mut().enable();
            if let Some(reason) = self.signals.reason.get() {
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
    use tokio::task::JoinHandle;
    use tokio::time::timeout;

    const LIMIT: Duration = Duration::from_secs(20);

    fn broker(history: usize, queue: usize, slow_timeout: Duration) -> Broker {
        bounded(BrokerConfig {
            history,
            history_bytes: 1 << 20,
            history_total: 1 << 20,
            retain_for: None,
            max_topics: 100,
            queue,
            slow_timeout,
        })
    }

    fn bounded(config: BrokerConfig) -> Broker {
        Broker::new(config, Arc::default())
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
        assert_eq!(b.publish("t", text("a"), false, None).await.unwrap(), 1);
        assert_eq!(b.publish("t", text("b"), false, None).await.unwrap(), 2);
        assert_eq!(b.publish("other", text("c"), false, None).await.unwrap(), 1);
        assert_eq!(b.publish("t", text("d"), false, None).await.unwrap(), 3);
        assert_eq!(b.last_id("t"), 3);
        assert_eq!(b.last_id("other"), 1);
        assert_eq!(b.last_id("never"), 0);
    }

    #[tokio::test]
    async fn a_cursor_from_before_a_restart_replays_everything_kept() {
        let b = broker(10, 16, Duration::from_secs(5));
        b.publish("t", text("a"), false, None).await.unwrap();
        b.publish("t", text("b"), false, None).await.unwrap();
        let ids = |since| {
            let mut sub = b.subscribe("t", Start::After(since), None).unwrap();
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
            b.publish("t", text(&format!("m{i}")), false, None)
                .await
                .unwrap();
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
        b.publish("t", text("héllo"), false, None).await.unwrap();
        b.publish("t", Bytes::from_static(b"\x00\xff"), true, None)
            .await
            .unwrap();
        b.publish("t", Bytes::from_static(b"\xff\xfe"), false, None)
            .await
            .unwrap();
        let h = b.history_after("t", 0).messages;
        assert!(matches!(&h[0].payload, Payload::Text(t) if t.as_str() == "héllo"));
        assert!(h[1].binary() && h[1].body().as_ref() == b"\x00\xff");
        assert!(h[2].binary() && h[2].body().as_ref() == b"\xff\xfe");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn backlog_then_live_has_no_gap_and_no_duplicate_under_a_concurrent_publisher() {
        const N: u64 = 10_000;
        let b = Arc::new(broker(N as usize, 4096, Duration::from_secs(30)));
        let topic = b.topic("t").unwrap();
        let (halfway_tx, halfway_rx) = tokio::sync::oneshot::channel();
        let publisher = {
            let topic = Arc::clone(&topic);
            tokio::spawn(async move {
                let mut halfway = Some(halfway_tx);
                for i in 1..=N {
                    let id = topic
                        .publish(Payload::new(text(&i.to_string()), false), None)
                        .await;
                    assert_eq!(id, Ok(i));
                    if i == N / 2
                        && let Some(tx) = halfway.take()
                    {
                        let _ = tx.send(());
                    }
                }
            })
        };
        timeout(LIMIT, halfway_rx).await.unwrap().unwrap();
        let mut sub = Topic::subscribe(&topic, Start::After(0), None);
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
        let mut a = b.subscribe("t", Start::Live, None).unwrap();
        let mut other = b.subscribe("t", Start::Live, None).unwrap();
        b.publish("t", text("from a"), false, Some(a.id()))
            .await
            .unwrap();
        b.publish("t", text("from outside"), false, None)
            .await
            .unwrap();
        // `a` gets only the second message: its own was skipped, not delayed.
        let m = a.recv().await.unwrap();
        assert_eq!((m.id, m.body().as_ref()), (2, &b"from outside"[..]));
        assert!(a.rx.try_recv().is_err());
        assert_eq!(other.recv().await.unwrap().id, 1);
        assert_eq!(other.recv().await.unwrap().id, 2);
    }

    #[tokio::test(start_paused = true)]
    async fn a_subscriber_that_never_reads_is_dropped_and_the_others_get_everything() {
        const N: u64 = 50;
        let slow_timeout = Duration::from_millis(100);
        let b = Arc::new(broker(100, 4, slow_timeout));
        let topic = b.topic("t").unwrap();
        let mut stuck = Topic::subscribe(&topic, Start::Live, None);
        let reading = read_all(Topic::subscribe(&topic, Start::Live, None), N);
        let started = tokio::time::Instant::now();
        for i in 1..=N {
            timeout(
                LIMIT,
                topic.publish(Payload::new(text(&i.to_string()), false), None),
            )
            .await
            .unwrap()
            .unwrap();
        }
        // The publisher waited once (for the 5th message), not per message.
        assert_eq!(started.elapsed(), slow_timeout);
        assert_eq!(waited(&b), slow_timeout);
        let (got, reason) = timeout(LIMIT, reading).await.unwrap().unwrap();
        assert_eq!(got, (1..=N).collect::<Vec<_>>());
        assert_eq!(reason, None);

        let reason = stuck.end_reason().expect("dropped");
        assert_eq!(
            reason,
            EndReason::TooSlow {
                resume_after: 4,
                stalled: slow_timeout
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

    /// The publishes' total wait for full queues, as the broker counted it.
    fn waited(b: &Broker) -> Duration {
        Duration::from_micros(b.counters().slow_waited_us.load(Ordering::Relaxed))
    }

    fn dropped(b: &Broker) -> u64 {
        b.counters().slow_dropped.load(Ordering::Relaxed)
    }

    /// A reader that takes everything: the ids it got, and whether the
    /// broker ended it.
    fn read_all(mut sub: Subscription, n: u64) -> JoinHandle<(Vec<u64>, Option<EndReason>)> {
        tokio::spawn(async move {
            let mut got = Vec::new();
            while got.len() < n as usize {
                match sub.recv().await {
                    Some(m) => got.push(m.id),
                    None => break,
                }
            }
            (got, sub.end_reason())
        })
    }

    const STALL: Duration = Duration::from_millis(50);

    /// Publish `n` messages on a topic with queues of 16, a reader that
    /// takes everything and eight subscribers that never read, attached
    /// before the messages `attach` says; the publishes' total wait.
    async fn burst_with_stalled(n: u64, attach: impl Fn(u64) -> bool) -> Duration {
        let b = broker(0, 16, STALL);
        let topic = b.topic("t").unwrap();
        let reader = read_all(Topic::subscribe(&topic, Start::Live, None), n);
        let mut stuck = Vec::new();
        for i in 1..=n {
            if attach(i) && stuck.len() < 8 {
                stuck.push(Topic::subscribe(&topic, Start::Live, None));
            }
            topic
                .publish(Payload::new(text("m"), false), None)
                .await
                .unwrap();
        }
        assert_eq!(dropped(&b), 8);
        for s in &stuck {
            assert!(matches!(s.end_reason(), Some(EndReason::TooSlow { .. })));
        }
        let (got, reason) = timeout(LIMIT, reader).await.unwrap().unwrap();
        assert_eq!((got, reason), ((1..=n).collect(), None));
        waited(&b)
    }

    /// Eight subscribers that never read, attached at different moments
    /// of one burst, so that their queues fill at eight different
    /// publishes: the first stalled one costs the burst `slow_timeout`,
    /// and the others, stalled as long by then, are dropped without a
    /// wait (a wait per full queue cost eight times that).
    #[tokio::test(start_paused = true)]
    async fn stalled_subscribers_cost_a_burst_one_slow_timeout_in_all() {
        let waited = burst_with_stalled(2000, |i| i % 2 == 1).await;
        assert!(waited <= STALL, "publishes waited {waited:?}");
    }

    /// Stalled subscribers attached one at a time, each after the last was
    /// dropped: each costs the publisher one `slow_timeout` at the most.
    #[tokio::test(start_paused = true)]
    async fn a_stalled_subscriber_costs_one_slow_timeout_at_the_most() {
        let waited = burst_with_stalled(8000, |i| i % 1000 == 1).await;
        assert!(waited <= 8 * STALL, "publishes waited {waited:?}");
    }

    /// A reader slower than its publisher but getting further is waited
    /// for and never dropped: one that takes a message every 30 ms, and
    /// one that takes a batch and then spends 200 ms writing it, saying
    /// so every 20 ms (`progressed`), with a `slow_timeout` of 50 ms.
    #[tokio::test(start_paused = true)]
    async fn a_reader_that_keeps_getting_further_is_waited_for() {
        const N: u64 = 40;
        let b = broker(0, 4, STALL);
        let topic = b.topic("t").unwrap();
        let mut slow = Topic::subscribe(&topic, Start::Live, None);
        let slow = tokio::spawn(async move {
            let mut got = Vec::new();
            while let Some(m) = slow.recv().await {
                got.push(m.id);
                tokio::time::sleep(Duration::from_millis(30)).await;
                if got.len() == N as usize {
                    break;
                }
            }
            (got, slow.end_reason())
        });
        let mut writing = Topic::subscribe(&topic, Start::Live, None);
        let writing = tokio::spawn(async move {
            let mut got = Vec::new();
            let mut batch = Vec::new();
            while got.len() < N as usize && writing.recv_many(&mut batch, 4).await > 0 {
                for _ in 0..10 {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    writing.progressed();
                }
                got.extend(batch.drain(..).map(|m| m.id));
            }
            (got, writing.end_reason())
        });
        for _ in 1..=N {
            topic
                .publish(Payload::new(text("m"), false), None)
                .await
                .unwrap();
        }
        assert_eq!(dropped(&b), 0);
        for reader in [slow, writing] {
            let (got, reason) = timeout(LIMIT, reader).await.unwrap().unwrap();
            assert_eq!((got, reason), ((1..=N).collect(), None));
        }
        // It waited for them: back-pressure, not loss.
        assert!(waited(&b) > STALL);
    }

    #[tokio::test]
    async fn a_dropped_publish_still_delivers_to_full_queues() {
        let b = broker(10, 1, Duration::from_secs(30));
        let topic = b.topic("t").unwrap();
        let mut sub = Topic::subscribe(&topic, Start::Live, None);
        topic
            .publish(Payload::new(text("1"), false), None)
            .await
            .unwrap();
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
    async fn a_publish_dropped_while_it_waits_its_turn_is_still_published() {
        let b = broker(10, 16, Duration::from_secs(30));
        let topic = b.topic("t").unwrap();
        let mut sub = Topic::subscribe(&topic, Start::Live, None);
        // Another publish holds the topic's turn (as one waiting on a full
        // queue does); this one waits for it and is given up on.
        let turn = Arc::clone(&topic.order).lock_owned().await;
        let publish = topic.publish(Payload::new(text("sent"), false), None);
        assert!(timeout(Duration::from_millis(10), publish).await.is_err());
        drop(turn);
        let m = timeout(LIMIT, sub.recv()).await.unwrap().unwrap();
        assert_eq!((m.id, &m.payload.bytes()[..]), (1, &b"sent"[..]));
    }

    #[tokio::test]
    async fn since_older_than_the_oldest_kept_is_a_gap() {
        let b = broker(3, 16, Duration::from_secs(5));
        for i in 1..=5 {
            b.publish("t", text(&i.to_string()), false, None)
                .await
                .unwrap();
        }
        let mut s = b.subscribe("t", Start::After(1), None).unwrap();
        assert_eq!(s.gap(), Some(Gap { first: 2, last: 2 }));
        assert_eq!(ids(&s.take_backlog()), [3, 4, 5]);
        let mut s = b.subscribe("t", Start::After(0), None).unwrap();
        assert_eq!(s.gap(), Some(Gap { first: 1, last: 2 }));
        assert_eq!(s.gap().map(|g| g.missing()), Some(2));
        assert_eq!(ids(&s.take_backlog()), [3, 4, 5]);
        let mut s = b.subscribe("t", Start::After(2), None).unwrap();
        assert_eq!(s.gap(), None);
        assert_eq!(ids(&s.take_backlog()), [3, 4, 5]);
        // A cursor from the future (an earlier run of the broker): all that
        // is kept is new to that client, and what is not kept is a gap.
        let mut s = b.subscribe("t", Start::After(9), None).unwrap();
        assert_eq!((s.gap(), s.head()), (Some(Gap { first: 1, last: 2 }), 5));
        assert_eq!(ids(&s.take_backlog()), [3, 4, 5]);
        // Live only: no backlog at all.
        let mut s = b.subscribe("t", Start::Live, None).unwrap();
        assert!(s.take_backlog().is_empty());

        // With no history kept, everything published is a gap (a
        // subscriber keeps the topic: see the next test).
        let b = broker(0, 16, Duration::from_secs(5));
        let _keep = b.subscribe("t", Start::Live, None).unwrap();
        b.publish("t", text("x"), false, None).await.unwrap();
        b.publish("t", text("y"), false, None).await.unwrap();
        let h = b.history_after("t", 0);
        assert!(h.messages.is_empty());
        assert_eq!(h.gap, Some(Gap { first: 1, last: 2 }));
        assert_eq!(b.history_after("t", 2).gap, None);
    }

    #[tokio::test]
    async fn dropping_a_subscription_unsubscribes() {
        let b = broker(3, 16, Duration::from_secs(5));
        let s1 = b.subscribe("t", Start::Live, None).unwrap();
        let s2 = b.subscribe("t", Start::Live, None).unwrap();
        assert_eq!(b.stats()[0].subscribers, 2);
        drop(s1);
        assert_eq!(b.stats()[0].subscribers, 1);
        drop(s2);
        // Nothing kept, nobody on it: the topic is gone.
        assert!(b.stats().is_empty());
    }

    fn config() -> BrokerConfig {
        BrokerConfig {
            history: 1000,
            history_bytes: 1 << 20,
            history_total: 1 << 20,
            retain_for: None,
            max_topics: 100,
            queue: 16,
            slow_timeout: Duration::from_secs(5),
        }
    }

    fn sized(n: usize) -> Bytes {
        Bytes::from(vec![b'x'; n - OVERHEAD])
    }

    fn evicted(b: &Broker) -> super::super::bounds::Evicted {
        b.counters().evicted()
    }

    /// A small body kept is copied out of the buffer it arrived in (which
    /// it would keep whole); a large one is not copied.
    #[test]
    fn a_small_body_is_kept_in_an_allocation_of_its_own() {
        let buffer = Bytes::from(vec![b'a'; 200_000]);
        let small = Payload::new(buffer.slice(10..11), false).kept();
        assert_eq!(small.bytes().as_ref(), b"a");
        assert_ne!(small.bytes().as_ptr(), buffer[10..].as_ptr());
        let large = Payload::new(buffer.slice(..100_000), true).kept();
        assert_eq!(large.bytes().as_ptr(), buffer.as_ptr());
    }

    #[tokio::test]
    async fn history_is_bounded_in_bytes_and_a_message_too_big_to_keep_empties_it() {
        let b = bounded(BrokerConfig {
            history_bytes: 3000,
            ..config()
        });
        for _ in 0..5 {
            b.publish("t", sized(1000), false, None).await.unwrap();
        }
        let h = b.history_after("t", 0);
        assert_eq!(ids(&h.messages), [3, 4, 5]);
        assert_eq!(h.gap, Some(Gap { first: 1, last: 2 }));
        assert_eq!(b.stats()[0].history_bytes, 3000);
        assert_eq!(evicted(&b).history_bytes, 2);
        // Smaller ones fit where a big one was.
        b.publish("t", sized(500), false, None).await.unwrap();
        b.publish("t", sized(500), false, None).await.unwrap();
        assert_eq!(ids(&b.history_after("t", 0).messages), [4, 5, 6, 7]);
        // Too big to keep at all: delivered, not kept, and what was kept
        // goes too (kept ids stay one contiguous run, the newest).
        let mut live = b.subscribe("t", Start::Live, None).unwrap();
        assert_eq!(b.publish("t", sized(3001), false, None).await, Ok(8));
        assert_eq!(live.recv().await.unwrap().id, 8);
        let h = b.history_after("t", 0);
        assert!(h.messages.is_empty());
        assert_eq!(h.gap, Some(Gap { first: 1, last: 8 }));
        assert_eq!(b.stats()[0].history_bytes, 0);
        assert_eq!(evicted(&b).history_bytes, 2 + 1 + 4 + 1);
        b.publish("t", sized(1000), false, None).await.unwrap();
        assert_eq!(ids(&b.history_after("t", 8).messages), [9]);
    }

    #[tokio::test]
    async fn all_topics_together_keep_at_most_the_total_and_a_publish_evicts_its_own() {
        let b = bounded(BrokerConfig {
            history_bytes: 3000,
            history_total: 4000,
            ..config()
        });
        for _ in 0..3 {
            b.publish("a", sized(1000), false, None).await.unwrap();
        }
        b.publish("b", sized(1000), false, None).await.unwrap();
        // b's second message takes b's own oldest place, not a's.
        b.publish("b", sized(1000), false, None).await.unwrap();
        assert_eq!(ids(&b.history_after("a", 0).messages), [1, 2, 3]);
        assert_eq!(ids(&b.history_after("b", 0).messages), [2]);
        assert_eq!(b.counters().kept.load(Ordering::Relaxed), 4000);
        // A topic with nothing to evict keeps nothing new.
        let mut live = b.subscribe("c", Start::Live, None).unwrap();
        b.publish("c", sized(1000), false, None).await.unwrap();
        assert_eq!(live.recv().await.unwrap().id, 1);
        assert!(b.history_after("c", 0).messages.is_empty());
        assert_eq!(b.counters().kept.load(Ordering::Relaxed), 4000);
        assert_eq!(evicted(&b).history_total, 2);
    }

    #[tokio::test(start_paused = true)]
    async fn history_expires_and_an_idle_topic_goes_and_comes_back_with_its_ids() {
        let b = bounded(BrokerConfig {
            retain_for: Some(Duration::from_secs(60)),
            ..config()
        });
        b.publish("t", text("1"), false, None).await.unwrap();
        tokio::time::advance(Duration::from_secs(30)).await;
        b.publish("t", text("2"), false, None).await.unwrap();
        tokio::time::advance(Duration::from_secs(30)).await;
        b.sweep();
        assert_eq!(ids(&b.history_after("t", 0).messages), [2]);
        assert_eq!(evicted(&b).expired, 1);
        tokio::time::advance(Duration::from_secs(30)).await;
        b.sweep();
        // Nothing kept, nobody subscribed: removed.
        assert!(b.stats().is_empty());
        assert_eq!(b.topics_refused_and_removed(), (0, 1));
        // It comes back where it was: a cursor from before still means the
        // same messages, and what expired is a gap.
        assert_eq!(b.publish("t", text("3"), false, None).await, Ok(3));
        let mut s = b.subscribe("t", Start::After(1), None).unwrap();
        assert_eq!(s.gap(), Some(Gap { first: 2, last: 2 }));
        assert_eq!(ids(&s.take_backlog()), [3]);
        assert_eq!(s.topic().epoch(), b.shared.epoch);
    }

    #[tokio::test]
    async fn topics_past_the_cap_are_refused_until_one_is_idle() {
        let b = bounded(BrokerConfig {
            max_topics: 2,
            ..config()
        });
        b.publish("a", text("x"), false, None).await.unwrap();
        let s = b.subscribe("b", Start::Live, None).unwrap();
        assert_eq!(
            b.publish("c", text("x"), false, None).await,
            Err(Refused::Full(Full { max: 2 }))
        );
        assert!(b.subscribe("c", Start::Live, None).is_err());
        // Existing topics still work.
        assert_eq!(b.publish("a", text("y"), false, None).await, Ok(2));
        assert_eq!(b.topics_refused_and_removed(), (2, 0));
        drop(s);
        assert_eq!(b.publish("c", text("x"), false, None).await, Ok(1));
        assert_eq!(b.topics_refused_and_removed(), (2, 1));
    }

    #[tokio::test]
    async fn a_topic_whose_tombstone_was_forgotten_starts_again_under_an_epoch_of_its_own() {
        let b = broker(0, 16, Duration::from_secs(5));
        // max_topics is 100: so many tombstones are kept.
        assert_eq!(b.publish("t", text("x"), false, None).await, Ok(1));
        assert_eq!(b.publish("t", text("y"), false, None).await, Ok(2));
        let run = b.shared.epoch.clone();
        let first = b.subscribe("t", Start::Live, None).unwrap();
        assert_eq!(first.topic().epoch(), run);
        drop(first);
        for i in 0..100 {
            b.publish(&format!("other{i}"), text("x"), false, None)
                .await
                .unwrap();
        }
        assert_eq!(b.publish("t", text("z"), false, None).await, Ok(1));
        let _keep = b.subscribe("t", Start::Live, None).unwrap();
        let epoch = _keep.topic().epoch();
        assert_ne!(epoch, run);
        // A cursor from the first "t" (its epoch sent back) is another
        // run's: everything kept is replayed. (Nothing is kept here; the
        // gap says what was published.)
        let s = b
            .subscribe("t", Start::After(2), Some(run.as_bytes()))
            .unwrap();
        assert_eq!(
            (s.after(), s.gap()),
            (Some(0), Some(Gap { first: 1, last: 1 }))
        );
        let s = b
            .subscribe("t", Start::After(1), Some(epoch.as_bytes()))
            .unwrap();
        assert_eq!((s.after(), s.gap()), (Some(1), None));
    }

    /// Subscribers come and go while a publisher's topic is removed and
    /// made again after every message (it keeps no history): no publish
    /// lands on a topic already removed, so ids never repeat or go back.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn removal_never_races_a_publish_or_a_subscribe() {
        const N: u64 = 2000;
        let b = Arc::new(broker(0, 16, Duration::from_secs(5)));
        let churn: Vec<_> = (0..2)
            .map(|_| {
                let b = Arc::clone(&b);
                tokio::spawn(async move {
                    for _ in 0..N {
                        drop(b.subscribe("t", Start::Live, None).unwrap());
                        tokio::task::yield_now().await;
                    }
                })
            })
            .collect();
        let mut got = Vec::new();
        for _ in 0..N {
            got.push(b.publish("t", text("m"), false, None).await.unwrap());
        }
        for c in churn {
            timeout(LIMIT, c).await.unwrap().unwrap();
        }
        assert_eq!(got, (1..=N).collect::<Vec<_>>());
        assert!(b.stats().is_empty());
    }
}
