//! Work queues behind the broker's STOMP `/queue/NAME` destinations: each
//! message is kept until one consumer has processed it.
//!
//! * Consumers of a queue take turns (round-robin), skipping those whose
//!   window is full: a consumer has at most `window` messages in flight
//!   (STOMP `prefetch-count`).
//! * A delivered message stays *in flight* until its consumer settles it
//!   (an ACK, or for auto-ack subscriptions once it is written out) or gives
//!   it back (NACK). When a consumer goes away, everything it had in flight
//!   goes back to the head of the queue in id order, marked redelivered,
//!   and on to the next consumer with room. So a message is processed by
//!   exactly one consumer unless one dies before acknowledging it.
//!
//! * Bounded: a queue holds at most `bytes` of messages (ready and in
//!   flight, each counted as in the topics' history: body, headers and
//!   [`OVERHEAD`]) and all queues and topic histories together at most
//!   `total`; a publish past either is refused ([`QueueFull`]) rather than
//!   dropping work. At most `max` queues exist at once; one that is empty
//!   and has no consumer is removed (its ids start again at 1: a queue's
//!   ids are not resume cursors, and nothing of it is in flight).
//!
//! Like [`super::broker`], nothing here knows about sockets or STOMP.

use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};

use super::bounds::Counters;
use super::broker::{OVERHEAD, Payload, lock};
use super::registry::{Entry, Full, Handle, Registry};
use super::store::{Store, StoreError, Ticket};
use crate::codec::log::Record;

/// A message as a queue keeps it.
#[derive(Debug)]
pub struct QueuedMessage {
    /// Per-queue id, from 1.
    pub id: u64,
    pub payload: Payload,
    /// The publisher's headers (STOMP `content-type` and user headers).
    pub headers: Vec<(String, String)>,
}

impl QueuedMessage {
    /// As the store writes it.
    fn record(&self, queue: &str) -> Record {
        Record::Enqueue {
            queue: queue.to_string(),
            id: self.id,
            binary: self.payload.is_binary(),
            headers: self.headers.clone(),
            body: self.payload.bytes().clone(),
        }
    }

    /// What keeping it costs, in bytes (as [`super::broker::Stored::size`]).
    fn size(&self) -> usize {
        let headers: usize = self.headers.iter().map(|(k, v)| k.len() + v.len()).sum();
        self.payload.bytes().len() + headers + OVERHEAD
    }
}

/// A publish refused: the queue, or everything kept, is full.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QueueFull {
    /// The queue's own limit (false: the broker-wide one).
    pub queue: bool,
    pub limit: usize,
}

/// One message handed to a consumer.
#[derive(Debug)]
pub struct Delivery {
    pub message: Arc<QueuedMessage>,
    /// It was delivered before to a consumer that did not settle it.
    pub redelivered: bool,
}

/// Per-queue numbers for `/_/stats`.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct QueueStats {
    pub queue: String,
    /// Waiting for a consumer.
    pub ready: usize,
    /// Delivered, not yet settled.
    pub unacked: usize,
    pub consumers: usize,
}

/// How much the queues of a broker may hold.
#[derive(Clone, Copy, Debug)]
pub struct QueueLimits {
    /// Most queues at once.
    pub max: usize,
    /// Most bytes one queue holds.
    pub bytes: usize,
    /// Most bytes all queues and topic histories hold together.
    pub total: usize,
}

/// Every queue of one broker, created on first use.
pub struct Queues {
    queues: Arc<Registry<Queue>>,
    limits: QueueLimits,
    counters: Arc<Counters>,
    /// Where queued messages are kept until acknowledged (`--data-dir`).
    store: Option<Arc<Store>>,
}

/// A use of a queue: while one exists, the queue is not removed.
pub type QueueHandle = Handle<Queue>;

impl Queues {
    pub fn new(limits: QueueLimits, counters: Arc<Counters>, store: Option<Arc<Store>>) -> Queues {
        Queues {
            queues: Arc::new(Registry::new(limits.max)),
            limits,
            counters,
            store,
        }
    }

    /// Put back a queue's unacknowledged messages from the store
    /// (`Record::Enqueue`s), as redelivered: they may have reached a
    /// consumer before the restart.
    pub fn restore(&self, name: &str, messages: Vec<Record>) -> Result<(), Full> {
        let queue = self.queue(name)?;
        let mut state = lock(&queue.state);
        for m in messages {
            let Record::Enqueue {
                id,
                binary,
                headers,
                body,
                ..
            } = m
            else {
                continue;
            };
            let message = QueuedMessage {
                id,
                payload: Payload::new(body, binary).kept(),
                headers,
            };
            let size = message.size();
            state.bytes += size;
            self.counters.kept.fetch_add(size, Ordering::Relaxed);
            state.last_id = state.last_id.max(id);
            state.ready.push_back((Arc::new(message), true));
        }
        Ok(())
    }

    /// Every queue's unacknowledged messages as records, for a snapshot
    /// of the store.
    pub fn snapshot(&self) -> Vec<Record> {
        let mut records = Vec::new();
        for queue in self.queues.handles() {
            let state = lock(&queue.state);
            let mut all: Vec<&Arc<QueuedMessage>> = state
                .ready
                .iter()
                .map(|(m, _)| m)
                .chain(state.consumers.iter().flat_map(|c| c.in_flight.values()))
                .collect();
            all.sort_by_key(|m| m.id);
            records.extend(all.into_iter().map(|m| m.record(&queue.name)));
        }
        records
    }

    /// The queue called `name`, created if new and there is room.
    pub fn queue(&self, name: &str) -> Result<QueueHandle, Full> {
        self.queues.get_or_create(name, |name, _| Queue {
            name,
            limits: self.limits,
            counters: Arc::clone(&self.counters),
            store: self.store.clone(),
            state: Mutex::new(State::default()),
        })
    }

    /// Every queue's numbers, sorted by name.
    pub fn stats(&self) -> Vec<QueueStats> {
        let mut out = self.queues.map(Queue::stats);
        out.sort_by(|a, b| a.queue.cmp(&b.queue));
        out
    }

    /// Remove the empty queues without consumers that nobody holds.
    pub fn sweep(&self) {
        self.queues.sweep(|_| {});
    }

    /// Queues refused by the cap, and empty ones removed, so far.
    pub fn refused_and_removed(&self) -> (u64, u64) {
        (self.queues.refused(), self.queues.removed())
    }
}

/// Where a queue hands a consumer its deliveries; false when the consumer
/// can no longer take any (it is going away).
type Sink = Box<dyn Fn(Delivery) -> bool + Send>;

pub struct Queue {
    name: Arc<str>,
    limits: QueueLimits,
    counters: Arc<Counters>,
    store: Option<Arc<Store>>,
    // A std Mutex: every section is short and never awaits; sinks must not
    // block (the broker's are unbounded channel sends).
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    last_id: u64,
    /// What the ready and in-flight messages cost ([`QueuedMessage::size`]).
    bytes: usize,
    /// Waiting for a consumer: (message, redelivered).
    ready: VecDeque<(Arc<QueuedMessage>, bool)>,
    consumers: Vec<Slot>,
    /// Whose turn it is next.
    turn: usize,
}

struct Slot {
    id: u64,
    window: usize,
    sink: Sink,
    /// Its sink refused a delivery: it is being dropped.
    gone: bool,
    in_flight: BTreeMap<u64, Arc<QueuedMessage>>,
}

static NEXT_CONSUMER: AtomicU64 = AtomicU64::new(1);

impl Entry for Queue {
    type Tomb = ();

    fn name(&self) -> &Arc<str> {
        &self.name
    }

    fn idle(&self) -> bool {
        let state = lock(&self.state);
        // In-flight messages belong to consumers: none without them.
        state.ready.is_empty() && state.consumers.is_empty()
    }

    fn tombstone(&self) -> Option<()> {
        None
    }
}

impl Queue {
    /// Keep a message and hand it to a consumer with room, if there is
    /// one; refused when the queue, or everything kept, is full. With a
    /// store, the ticket to wait on (see [`Queue::confirmed`]) before
    /// confirming it.
    pub fn publish(
        &self,
        payload: Payload,
        headers: Vec<(String, String)>,
    ) -> Result<Option<Ticket>, QueueFull> {
        let mut state = lock(&self.state);
        let mut message = QueuedMessage {
            id: state.last_id + 1,
            payload: payload.kept(),
            headers,
        };
        let size = message.size();
        let limits = &self.limits;
        let kept = &self.counters.kept;
        let refused = if state.bytes + size > limits.bytes {
            Some(QueueFull {
                queue: true,
                limit: limits.bytes,
            })
        } else if kept.fetch_add(size, Ordering::Relaxed) + size > limits.total {
            kept.fetch_sub(size, Ordering::Relaxed);
            Some(QueueFull {
                queue: false,
                limit: limits.total,
            })
        } else {
            None
        };
        if let Some(full) = refused {
            Counters::add(&self.counters.refused_queue_full, 1);
            return Err(full);
        }
        state.bytes += size;
        state.last_id += 1;
        message.id = state.last_id;
        // Appended under the queue's lock: in the file, an ack always
        // comes after its message.
        let ticket = self
            .store
            .as_ref()
            .map(|store| store.append(&message.record(&self.name)));
        state.ready.push_back((Arc::new(message), false));
        state.dispatch();
        Ok(ticket)
    }

    /// Once a published message is as safe as `--fsync` says.
    pub async fn confirmed(&self, ticket: Option<Ticket>) -> Result<(), StoreError> {
        match (&self.store, ticket) {
            (Some(store), Some(ticket)) => store.durable(ticket).await,
            _ => Ok(()),
        }
    }

    /// Add a consumer with room for `window` unsettled messages (at least
    /// one); deliveries go to `sink`. It stops consuming when the returned
    /// handle is dropped.
    pub fn consume(
        queue: &QueueHandle,
        window: usize,
        sink: impl Fn(Delivery) -> bool + Send + 'static,
    ) -> Consumer {
        let id = NEXT_CONSUMER.fetch_add(1, Ordering::Relaxed);
        let mut state = lock(&queue.state);
        state.consumers.push(Slot {
            id,
            window: window.max(1),
            sink: Box::new(sink),
            gone: false,
            in_flight: BTreeMap::new(),
        });
        state.dispatch();
        Consumer {
            id,
            queue: queue.clone(),
        }
    }

    pub fn stats(&self) -> QueueStats {
        let state = lock(&self.state);
        QueueStats {
            queue: self.name.to_string(),
            ready: state.ready.len(),
            unacked: state.consumers.iter().map(|c| c.in_flight.len()).sum(),
            consumers: state.consumers.iter().filter(|c| !c.gone).count(),
        }
    }
}

impl State {
    /// Hand out ready messages while some consumer has room.
    fn dispatch(&mut self) {
        while !self.ready.is_empty() {
            let n = self.consumers.len();
            let Some(i) = (0..n).map(|k| (self.turn + k) % n).find(|&i| {
                let c = &self.consumers[i];
                !c.gone && c.in_flight.len() < c.window
            }) else {
                return;
            };
            let Some((message, redelivered)) = self.ready.pop_front() else {
                return;
            };
            let slot = &mut self.consumers[i];
            let delivery = Delivery {
                message: Arc::clone(&message),
                redelivered,
            };
            if (slot.sink)(delivery) {
                slot.in_flight.insert(message.id, message);
            } else {
                slot.gone = true;
                self.ready.push_front((message, redelivered));
            }
            self.turn = (i + 1) % n;
        }
    }

    /// Put messages back at the head of the queue, oldest first, marked
    /// redelivered.
    fn give_back(&mut self, mut messages: Vec<Arc<QueuedMessage>>) {
        messages.sort_by_key(|m| m.id);
        for m in messages.into_iter().rev() {
            self.ready.push_front((m, true));
        }
    }
}

/// A consumer of one queue; dropping it gives back what it has in flight.
pub struct Consumer {
    id: u64,
    queue: QueueHandle,
}

impl Consumer {
    /// These messages are processed: forget them, and fill the window again.
    /// Ids not in flight here are ignored.
    pub fn settle(&self, ids: &[u64]) {
        let mut state = lock(&self.queue.state);
        let mut freed = 0;
        if let Some(slot) = state.consumers.iter_mut().find(|c| c.id == self.id) {
            for id in ids {
                let Some(m) = slot.in_flight.remove(id) else {
                    continue;
                };
                freed += m.size();
                // Not waited for: a lost ack means a redelivery, never a
                // loss.
                if let Some(store) = &self.queue.store {
                    store.append(&Record::Ack {
                        queue: self.queue.name.to_string(),
                        id: *id,
                    });
                }
            }
        }
        state.bytes -= freed;
        self.queue.counters.kept.fetch_sub(freed, Ordering::Relaxed);
        state.dispatch();
    }

    /// These messages were not processed (NACK): back on the queue for
    /// another try.
    pub fn give_back(&self, ids: &[u64]) {
        let mut state = lock(&self.queue.state);
        let Some(slot) = state.consumers.iter_mut().find(|c| c.id == self.id) else {
            return;
        };
        let back: Vec<Arc<QueuedMessage>> = ids
            .iter()
            .filter_map(|id| slot.in_flight.remove(id))
            .collect();
        state.give_back(back);
        state.dispatch();
    }
}

impl Drop for Consumer {
    fn drop(&mut self) {
        let mut state = lock(&self.queue.state);
        let Some(i) = state.consumers.iter().position(|c| c.id == self.id) else {
            return;
        };
        let slot = state.consumers.remove(i);
        if state.turn > i {
            state.turn -= 1;
        }
        if state.consumers.is_empty() {
            state.turn = 0;
        } else {
            state.turn %= state.consumers.len();
        }
        state.give_back(slot.in_flight.into_values().collect());
        state.dispatch();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use std::sync::mpsc;

    fn queues(bytes: usize) -> Queues {
        let limits = QueueLimits {
            max: 2,
            bytes,
            total: 2 * bytes,
        };
        Queues::new(limits, Arc::default(), None)
    }

    fn text(s: &str) -> Payload {
        Payload::new(Bytes::copy_from_slice(s.as_bytes()), false)
    }

    fn consumer(q: &QueueHandle, window: usize) -> (Consumer, mpsc::Receiver<Delivery>) {
        let (tx, rx) = mpsc::channel();
        let c = Queue::consume(q, window, move |d| tx.send(d).is_ok());
        (c, rx)
    }

    fn ids(rx: &mpsc::Receiver<Delivery>) -> Vec<(u64, bool)> {
        rx.try_iter()
            .map(|d| (d.message.id, d.redelivered))
            .collect()
    }

    #[test]
    fn messages_wait_for_a_consumer_and_alternate_between_consumers() {
        let qs = queues(1 << 20);
        let q = qs.queue("jobs").unwrap();
        for i in 1..=2 {
            q.publish(text(&i.to_string()), Vec::new()).unwrap();
        }
        assert_eq!(q.stats().ready, 2);
        let (a, ra) = consumer(&q, 100);
        assert_eq!(ids(&ra), [(1, false), (2, false)]);
        let (b, rb) = consumer(&q, 100);
        for i in 3..=6 {
            q.publish(text(&i.to_string()), Vec::new()).unwrap();
        }
        // Round-robin: each message to exactly one of them.
        let got_a = ids(&ra);
        let got_b = ids(&rb);
        assert_eq!(got_a.len() + got_b.len(), 4);
        assert_eq!(got_a.len(), 2, "{got_a:?} {got_b:?}");
        let stats = q.stats();
        assert_eq!((stats.ready, stats.unacked, stats.consumers), (0, 6, 2));
        a.settle(&[1, 2]);
        assert_eq!(q.stats().unacked, 4);
        drop(b);
        // b's two come back to a, marked redelivered.
        let back = ids(&ra);
        assert_eq!(back.len(), 2);
        assert!(back.iter().all(|(_, redelivered)| *redelivered));
        assert_eq!(qs.stats()[0].consumers, 1);
    }

    #[test]
    fn the_window_holds_back_until_messages_are_settled() {
        let qs = queues(1 << 20);
        let q = qs.queue("q").unwrap();
        let (a, ra) = consumer(&q, 1);
        for i in 1..=3 {
            q.publish(text(&i.to_string()), Vec::new()).unwrap();
        }
        assert_eq!(ids(&ra), [(1, false)]);
        assert_eq!(q.stats().ready, 2);
        a.settle(&[1]);
        assert_eq!(ids(&ra), [(2, false)]);
        // A NACK gives it back; the window has room again, so it comes back
        // at once, redelivered, before message 3.
        a.give_back(&[2]);
        assert_eq!(ids(&ra), [(2, true)]);
        a.settle(&[2]);
        assert_eq!(ids(&ra), [(3, false)]);
        a.settle(&[3, 99]);
        assert_eq!(
            q.stats(),
            QueueStats {
                queue: "q".into(),
                ready: 0,
                unacked: 0,
                consumers: 1
            }
        );
    }

    #[test]
    fn a_dropped_consumer_gives_back_in_id_order_before_newer_messages() {
        let qs = queues(1 << 20);
        let q = qs.queue("q").unwrap();
        let (a, _ra) = consumer(&q, 10);
        for i in 1..=3 {
            q.publish(text(&i.to_string()), Vec::new()).unwrap();
        }
        drop(a);
        q.publish(text("4"), Vec::new()).unwrap();
        let (_b, rb) = consumer(&q, 10);
        assert_eq!(ids(&rb), [(1, true), (2, true), (3, true), (4, false)]);
    }

    #[test]
    fn a_consumer_whose_sink_is_gone_gets_nothing_more() {
        let qs = queues(1 << 20);
        let q = qs.queue("q").unwrap();
        let (a, ra) = consumer(&q, 10);
        drop(ra);
        q.publish(text("1"), Vec::new()).unwrap();
        assert_eq!(q.stats().ready, 1, "kept for a live consumer");
        let (_b, rb) = consumer(&q, 10);
        assert_eq!(ids(&rb), [(1, false)]);
        drop(a);
    }
}
