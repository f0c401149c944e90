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
//! Like [`super::broker`], nothing here knows about sockets or STOMP.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};

use super::broker::Payload;
use super::broker::lock;

/// A message as a queue keeps it.
#[derive(Debug)]
pub struct QueuedMessage {
    /// Per-queue id, from 1.
    pub id: u64,
    pub payload: Payload,
    /// The publisher's headers (STOMP `content-type` and user headers).
    pub headers: Vec<(String, String)>,
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

/// Every queue of one broker, created on first use.
#[derive(Default)]
pub struct Queues {
    queues: Mutex<HashMap<Arc<str>, Arc<Queue>>>,
}

impl Queues {
    pub fn queue(&self, name: &str) -> Arc<Queue> {
        let mut queues = lock(&self.queues);
        if let Some(q) = queues.get(name) {
            return Arc::clone(q);
        }
        let name: Arc<str> = Arc::from(name);
        let queue = Arc::new(Queue {
            name: Arc::clone(&name),
            state: Mutex::new(State::default()),
        });
        queues.insert(name, Arc::clone(&queue));
        queue
    }

    /// Every queue's numbers, sorted by name.
    pub fn stats(&self) -> Vec<QueueStats> {
        let queues: Vec<Arc<Queue>> = lock(&self.queues).values().cloned().collect();
        let mut out: Vec<QueueStats> = queues.iter().map(|q| q.stats()).collect();
        out.sort_by(|a, b| a.queue.cmp(&b.queue));
        out
    }
}

/// Where a queue hands a consumer its deliveries; false when the consumer
/// can no longer take any (it is going away).
type Sink = Box<dyn Fn(Delivery) -> bool + Send>;

pub struct Queue {
    name: Arc<str>,
    // A std Mutex: every section is short and never awaits; sinks must not
    // block (the broker's are unbounded channel sends).
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    last_id: u64,
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

impl Queue {
    /// Keep a message and hand it to a consumer with room, if there is
    /// one. Returns its id.
    pub fn publish(&self, payload: Payload, headers: Vec<(String, String)>) -> u64 {
        let mut state = lock(&self.state);
        state.last_id += 1;
        let message = Arc::new(QueuedMessage {
            id: state.last_id,
            payload,
            headers,
        });
        state.ready.push_back((message, false));
        state.dispatch();
        state.last_id
    }

    /// Add a consumer with room for `window` unsettled messages (at least
    /// one); deliveries go to `sink`. It stops consuming when the returned
    /// handle is dropped.
    pub fn consume(
        self: &Arc<Self>,
        window: usize,
        sink: impl Fn(Delivery) -> bool + Send + 'static,
    ) -> Consumer {
        let id = NEXT_CONSUMER.fetch_add(1, Ordering::Relaxed);
        let mut state = lock(&self.state);
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
            queue: Arc::clone(self),
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
    queue: Arc<Queue>,
}

impl Consumer {
    /// These messages are processed: forget them, and fill the window again.
    /// Ids not in flight here are ignored.
    pub fn settle(&self, ids: &[u64]) {
        let mut state = lock(&self.queue.state);
        if let Some(slot) = state.consumers.iter_mut().find(|c| c.id == self.id) {
            for id in ids {
                slot.in_flight.remove(id);
            }
        }
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

/// Lock a std Mutex, ignoring poisoning: no section here leaves the state
/// half-updated by panicking between related writes.
#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use std::sync::mpsc;

    fn text(s: &str) -> Payload {
        Payload::new(Bytes::copy_from_slice(s.as_bytes()), false)
    }

    fn consumer(q: &Arc<Queue>, window: usize) -> (Consumer, mpsc::Receiver<Delivery>) {
        let (tx, rx) = mpsc::channel();
        let c = q.consume(window, move |d| tx.send(d).is_ok());
        (c, rx)
    }

    fn ids(rx: &mpsc::Receiver<Delivery>) -> Vec<(u64, bool)> {
        rx.try_iter()
            .map(|d| (d.message.id, d.redelivered))
            .collect()
    }

    #[test]
    fn messages_wait_for_a_consumer_and_alternate_between_consumers() {
        let qs = Queues::default();
        let q = qs.queue("jobs");
        for i in 1..=2 {
            q.publish(text(&i.to_string()), Vec::new());
        }
        assert_eq!(q.stats().ready, 2);
        let (a, ra) = consumer(&q, 100);
        assert_eq!(ids(&ra), [(1, false), (2, false)]);
        let (b, rb) = consumer(&q, 100);
        for i in 3..=6 {
            q.publish(text(&i.to_string()), Vec::new());
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
        let qs = Queues::default();
        let q = qs.queue("q");
        let (a, ra) = consumer(&q, 1);
        for i in 1..=3 {
            q.publish(text(&i.to_string()), Vec::new());
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
        let qs = Queues::default();
        let q = qs.queue("q");
        let (a, _ra) = consumer(&q, 10);
        for i in 1..=3 {
            q.publish(text(&i.to_string()), Vec::new());
        }
        drop(a);
        q.publish(text("4"), Vec::new());
        let (_b, rb) = consumer(&q, 10);
        assert_eq!(ids(&rb), [(1, true), (2, true), (3, true), (4, false)]);
    }

    #[test]
    fn a_consumer_whose_sink_is_gone_gets_nothing_more() {
        let qs = Queues::default();
        let q = qs.queue("q");
        let (a, ra) = consumer(&q, 10);
        drop(ra);
        q.publish(text("1"), Vec::new());
        assert_eq!(q.stats().ready, 1, "kept for a live consumer");
        let (_b, rb) = consumer(&q, 10);
        assert_eq!(ids(&rb), [(1, false)]);
        drop(a);
    }
}
