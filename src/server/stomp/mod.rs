//! STOMP 1.2 on the embedded broker, over a WebSocket (`/_/stomp`) or a
//! SockJS session (`/_/sockjs`): a small stand-in for Spring's simple
//! broker and RabbitMQ in development.
//!
//! | destination | SEND | SUBSCRIBE |
//! |---|---|---|
//! | `/topic/NAME` | publish on the broker topic `NAME`, the one `ws://HOST/NAME`, SSE, long-poll and `POST /NAME` use | every subscriber gets every message (raw WebSocket, SSE and STOMP alike) |
//! | `/queue/NAME` | keep it on the queue `NAME` until one consumer acknowledges it | competing consumers: each message to exactly one |
//!
//! * Acks: `ack: auto | client | client-individual`. On queues a message is
//!   in flight until ACKed (`client` ACKs are cumulative); NACK puts it
//!   back; a consumer that goes away (UNSUBSCRIBE, DISCONNECT, a dropped
//!   connection) gives back what it had not ACKed, and it is redelivered
//!   (`redelivered: true`) to another consumer. `prefetch-count: N` caps
//!   a consumer's unacknowledged messages (1000 without it). Topic messages
//!   are not kept, so ACKs on topics are accepted and change nothing.
//! * Every frame with a `receipt` header is answered with a RECEIPT once
//!   it has been processed (a SEND: once the message is on its topic or
//!   queue).
//! * Heart-beats: CONNECTED offers `1000,10000` (we can send every second,
//!   we want the client's every 10 s at most); a client silent for twice
//!   the negotiated period is dropped.
//! * Transactions: BEGIN, then SEND / ACK / NACK with `transaction`, then
//!   COMMIT (all of them happen, in order) or ABORT (none does). What a
//!   connection's open transactions hold is bounded (`--transaction-bytes`:
//!   each frame counts its body, its headers and [`OVERHEAD`]); a frame past
//!   it gets an ERROR.
//! * Bounded destinations: a SUBSCRIBE or SEND that would create a topic or
//!   a queue past `--max-topics`, and a SEND to a full queue, get an ERROR.
//! * A frame the broker cannot take (malformed, an unknown command or
//!   destination, a missing header, an unknown ack id or transaction) gets
//!   an ERROR frame with a `message` header, then the connection closes
//!   (WebSocket 1002; SockJS `c[3000,"Go away!"]`).
//! * Tokens: when the broker has any, a connection whose HTTP request
//!   carried none is authenticated by CONNECT's `passcode` (`login` is
//!   ignored); a missing or wrong one gets an ERROR. SUBSCRIBE without the
//!   right to subscribe, SEND without the right to publish: an ERROR (see
//!   `server/auth.rs`). An open broker ignores `login` and `passcode`.
//!
//! Each client frame is parsed into a typed command first (`command.rs`:
//! its headers checked, nothing applied), then applied to the connection's
//! state here.

mod command;

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::transport::sleep_until_some;

use super::App;
use super::auth::{MAY_NOT_PUBLISH, MAY_NOT_SUBSCRIBE, Rights};
use super::bounds::Counters;
use super::broker::{EndReason, OVERHEAD, Payload, Start, Stored};
use super::peer::{End, Peer, Recv, SendError};
use super::queue::{Consumer, Delivery, Queue};
use super::shutdown::Shutdown;
use crate::codec::stomp::{AckMode, Decoder, Frame, Item, negotiate_heartbeat};
use command::{Ack, Command, Dest, Op, Publish, Subscribe, Target};

/// What CONNECTED offers: we can send a heart-beat every second; we want
/// the client's at most every 10 s.
const SERVER_HEARTBEAT: (u64, u64) = (1000, 10_000);

/// How long a client has to send CONNECT.
const CONNECT_WAIT: Duration = Duration::from_secs(10);

/// Numbers the `session` header of CONNECTED frames.
static NEXT_SESSION: AtomicU64 = AtomicU64::new(1);

/// Deliveries written between two flushes.
const BATCH: usize = 256;

/// A frame we refuse: the ERROR frame's `message` header and body.
struct Fail {
    message: String,
    detail: String,
}

fn fail(message: impl Into<String>, detail: impl Into<String>) -> Fail {
    Fail {
        message: message.into(),
        detail: detail.into(),
    }
}

enum Source {
    /// Forwards the topic's messages into the connection; aborted (which
    /// unsubscribes) when the subscription goes.
    Topic(tokio::task::JoinHandle<()>),
    Queue(Consumer),
}

struct Sub {
    /// The client's id for it.
    id: String,
    destination: String,
    ack: AckMode,
    source: Source,
}

impl Drop for Sub {
    fn drop(&mut self) {
        if let Source::Topic(task) = &self.source {
            task.abort();
        }
    }
}

enum TopicEvent {
    Message(u64, Arc<Stored>),
    /// The broker ended the subscription (too slow).
    Ended(u64, Option<EndReason>),
}

/// A queue delivery for the subscription with this key.
struct QueueEvent(u64, Delivery);

/// A queue message delivered in a client ack mode and not yet acknowledged.
#[derive(Clone, Copy)]
struct Unacked {
    sub: u64,
    message: u64,
}

struct Conn {
    app: App,
    peer: Peer,
    /// The client's address and path, for logs.
    who: String,
    decoder: Decoder,
    connected: bool,
    /// What the connection may do: its HTTP request's token's rights, or
    /// CONNECT's passcode's once it came (None before).
    rights: Option<Rights>,
    /// By our key, unique for the connection's life (a client may reuse
    /// its ids).
    subs: HashMap<u64, Sub>,
    next_key: u64,
    /// `ack` ids handed out so far (they count from 0).
    next_tag: u64,
    unacked: BTreeMap<u64, Unacked>,
    /// What each open transaction holds for its COMMIT.
    transactions: HashMap<String, Transaction>,
    /// What the open transactions cost together (see [`cost`]).
    transaction_bytes: usize,
    topic_tx: mpsc::Sender<TopicEvent>,
    topic_rx: mpsc::Receiver<TopicEvent>,
    queue_tx: mpsc::UnboundedSender<QueueEvent>,
    queue_rx: mpsc::UnboundedReceiver<QueueEvent>,
    send_every: Option<Duration>,
    expect_every: Option<Duration>,
    started: Instant,
    /// When a flush last wrote something: heart-beats are due after it.
    last_sent: Instant,
    /// Fed since the last flush.
    unflushed: bool,
    last_heard: Instant,
    frames_in: u64,
    messages_out: u64,
}

/// Serve one client until it disconnects; logs the connection's end.
/// `rights`: what the HTTP request's token allows (None: no token there,
/// CONNECT's passcode decides).
/// `ends`: the broker's shutdown, or the connection's chaos cut.
pub(crate) async fn serve(
    app: App,
    peer: Peer,
    who: String,
    rights: Option<Rights>,
    ends: Shutdown,
) {
    let (topic_tx, topic_rx) = mpsc::channel(BATCH);
    let (queue_tx, queue_rx) = mpsc::unbounded_channel();
    let max = app.0.cfg.max_message_size;
    let now = Instant::now();
    let mut conn = Conn {
        app: app.clone(),
        peer,
        who: who.clone(),
        decoder: Decoder::new(max),
        connected: false,
        rights,
        subs: HashMap::new(),
        next_key: 0,
        next_tag: 0,
        unacked: BTreeMap::new(),
        transactions: HashMap::new(),
        transaction_bytes: 0,
        topic_tx,
        topic_rx,
        queue_tx,
        queue_rx,
        send_every: None,
        expect_every: None,
        started: now,
        last_sent: now,
        unflushed: false,
        last_heard: now,
        frames_in: 0,
        messages_out: 0,
    };
    app.log_conn(format_args!("stomp connect {who}"));
    let end = conn.run(ends).await;
    // Unsubscribe first: a queue consumer gives back what it did not ack.
    conn.subs.clear();
    conn.peer.close(&end, app.0.cfg.chaos.drop_close).await;
    let why = match &end {
        End::Disconnect => "DISCONNECT".to_string(),
        End::Error(e) => format!("ERROR {e}"),
        End::Shutdown(why) => why.to_string(),
        End::Gone(why) => why.clone(),
    };
    let line = format_args!(
        "stomp close {who} (in {} frames, out {} messages, {why})",
        conn.frames_in, conn.messages_out
    );
    // An ERROR (a refused passcode, a broken frame) is worth a line
    // without -v, as an HTTP refusal is.
    match end {
        End::Error(_) => app.log(line),
        _ => app.log_conn(line),
    }
}

impl Conn {
    async fn run(&mut self, mut shutdown: Shutdown) -> End {
        loop {
            if let Some(end) = self.handle_frames().await {
                return end;
            }
            let beat_at = self.send_every.map(|p| self.last_sent + p);
            let dead_at = if self.connected {
                self.expect_every.map(|p| self.last_heard + 2 * p)
            } else {
                Some(self.started + CONNECT_WAIT)
            };
            tokio::select! {
                _ = shutdown.recv() => return End::Shutdown(shutdown.why()),
                recv = self.peer.recv() => match recv {
                    Recv::Data(bytes) => {
                        self.last_heard = Instant::now();
                        self.decoder.feed(&bytes);
                    }
                    Recv::Gone(why) => return End::Gone(why),
                },
                Some(event) = self.topic_rx.recv() => {
                    if let Some(end) = self.deliver_topics(event).await {
                        return end;
                    }
                }
                Some(event) = self.queue_rx.recv() => {
                    if let Some(end) = self.deliver_queues(event).await {
                        return end;
                    }
                }
                _ = sleep_until_some(beat_at) => {
                    if let Err(end) = self.send_raw(b"\n".to_vec()).await {
                        return end;
                    }
                    if let Err(end) = self.flush().await {
                        return end;
                    }
                }
                _ = sleep_until_some(dead_at) => {
                    return if self.connected {
                        End::Gone("no heart-beat from the client".into())
                    } else {
                        End::Gone("no CONNECT in time".into())
                    };
                }
            }
        }
    }

    /// Handle every whole frame the decoder has. Some(end) when the
    /// connection is over.
    async fn handle_frames(&mut self) -> Option<End> {
        loop {
            let frame = match self.decoder.decode_next() {
                Ok(Some(Item::Frame(frame))) => frame,
                Ok(Some(Item::HeartBeat)) => continue,
                // Answers to a burst of frames go out together.
                Ok(None) => return self.flush().await.err(),
                Err(e) => {
                    let f = fail("malformed frame", e.to_string());
                    return Some(self.refuse(f, None).await);
                }
            };
            self.frames_in += 1;
            let receipt = frame.get("receipt").map(str::to_string);
            let cost = cost(&frame);
            let applied = match Command::parse(frame, self.connected) {
                Ok(command) => self.apply(command, receipt.as_deref(), cost).await,
                Err(f) => Err(f),
            };
            match applied {
                Ok(None) => {}
                Ok(Some(end)) => return Some(end),
                Err(f) => return Some(self.refuse(f, receipt.as_deref()).await),
            }
        }
    }

    /// One client command; `receipt` is its frame's, `cost` what holding
    /// it costs. Ok(Some(end)) when it ends the connection.
    async fn apply(
        &mut self,
        command: Command,
        receipt: Option<&str>,
        cost: usize,
    ) -> Result<Option<End>, Fail> {
        match command {
            Command::Connect {
                version,
                heart_beat,
                passcode,
            } => {
                self.authenticate(passcode.as_deref())?;
                self.connect(version, heart_beat).await;
                return Ok(None);
            }
            Command::Op(op) => self.execute(op).await?,
            Command::Transactional { transaction, op } => {
                if !self.transactions.contains_key(&transaction) {
                    return Err(unknown_transaction(&transaction));
                }
                self.hold(cost)?;
                if let Some(open) = self.transactions.get_mut(&transaction) {
                    open.bytes += cost;
                    open.ops.push(op);
                }
            }
            Command::Subscribe(subscribe) => self.subscribe(subscribe)?,
            Command::Unsubscribe { id } => {
                let Some(key) = self.key_of(&id) else {
                    return Err(fail(
                        "unknown subscription",
                        format!("no subscription with id `{id}`"),
                    ));
                };
                self.subs.remove(&key);
                self.unacked.retain(|_, u| u.sub != key);
            }
            Command::Begin { transaction } => {
                if self.transactions.contains_key(&transaction) {
                    return Err(fail(
                        "duplicate transaction",
                        format!("transaction `{transaction}` is already open"),
                    ));
                }
                self.hold(cost)?;
                let open = Transaction {
                    bytes: cost,
                    ops: Vec::new(),
                };
                self.transactions.insert(transaction, open);
            }
            Command::Commit { transaction } => {
                for op in self.end_transaction(&transaction)?.ops {
                    self.execute(op?).await?;
                }
            }
            Command::Abort { transaction } => {
                self.end_transaction(&transaction)?;
            }
            Command::Disconnect => {
                self.receipt(receipt).await;
                let _ = self.flush().await;
                return Ok(Some(End::Disconnect));
            }
        }
        self.receipt(receipt).await;
        Ok(None)
    }

    /// A connection without rights yet (its HTTP request had no token)
    /// gets its passcode's.
    fn authenticate(&mut self, passcode: Option<&str>) -> Result<(), Fail> {
        if self.rights.is_some() {
            return Ok(());
        }
        let how = "give the token as CONNECT's passcode header (pubcat: --token TOKEN), or as Authorization: Bearer on the HTTP request";
        let Some(passcode) = passcode else {
            return Err(fail("this broker wants a token", how));
        };
        match self.app.0.cfg.tokens.rights(passcode) {
            Some(rights) => {
                self.rights = Some(rights);
                Ok(())
            }
            None => Err(fail(
                "wrong token: the passcode is not one this broker knows",
                how,
            )),
        }
    }

    /// Whether the connection may subscribe (`publish`: publish), or the
    /// ERROR that says it may not.
    fn allowed(&self, publish: bool) -> Result<(), Fail> {
        let rights = self.rights.unwrap_or(Rights::NONE);
        match (publish, rights.subscribe, rights.publish) {
            (false, false, _) => Err(fail("not allowed", MAY_NOT_SUBSCRIBE)),
            (true, _, false) => Err(fail("not allowed", MAY_NOT_PUBLISH)),
            _ => Ok(()),
        }
    }

    async fn connect(&mut self, version: &str, client_heart_beat: (u64, u64)) {
        let (sx, sy) = SERVER_HEARTBEAT;
        (self.send_every, self.expect_every) = negotiate_heartbeat((sx, sy), client_heart_beat);
        self.connected = true;
        let session = format!("pubcat-{}", NEXT_SESSION.fetch_add(1, Ordering::Relaxed));
        let connected = Frame::new("CONNECTED")
            .header("version", version)
            .header("heart-beat", &format!("{sx},{sy}"))
            .header("server", concat!("pubcat/", env!("CARGO_PKG_VERSION")))
            .header("session", &session);
        self.send(&connected).await;
    }

    fn key_of(&self, id: &str) -> Option<u64> {
        self.subs
            .iter()
            .find(|(_, s)| s.id == id)
            .map(|(key, _)| *key)
    }

    fn subscribe(&mut self, subscribe: Subscribe) -> Result<(), Fail> {
        let Subscribe {
            id,
            destination,
            target,
        } = subscribe;
        self.allowed(false)?;
        if self.key_of(&id).is_some() {
            return Err(fail(
                "duplicate subscription",
                format!("a subscription with id `{id}` exists already"),
            ));
        }
        let Target { to, ack, window } = target?;
        let key = self.next_key;
        self.next_key += 1;
        let source = match to {
            Dest::Topic(name) => {
                let sub = self.app.0.broker.subscribe(&name, Start::Live, None);
                let mut sub = sub.map_err(|f| self.full("topics", &destination, f))?;
                let tx = self.topic_tx.clone();
                Source::Topic(tokio::spawn(async move {
                    let mut buf = Vec::new();
                    loop {
                        if sub.recv_many(&mut buf, BATCH).await == 0 {
                            let _ = tx.send(TopicEvent::Ended(key, sub.end_reason())).await;
                            return;
                        }
                        for m in buf.drain(..) {
                            if tx.send(TopicEvent::Message(key, m)).await.is_err() {
                                return;
                            }
                        }
                    }
                }))
            }
            Dest::Queue(name) => {
                let tx = self.queue_tx.clone();
                let queue = self.app.0.queues.queue(&name);
                let queue = queue.map_err(|f| self.full("queues", &destination, f))?;
                Source::Queue(Queue::consume(&queue, window, move |d| {
                    tx.send(QueueEvent(key, d)).is_ok()
                }))
            }
        };
        self.subs.insert(
            key,
            Sub {
                id,
                destination,
                ack,
                source,
            },
        );
        Ok(())
    }

    /// Close a transaction (COMMIT or ABORT): what it holds.
    fn end_transaction(&mut self, transaction: &str) -> Result<Transaction, Fail> {
        let closed = self
            .transactions
            .remove(transaction)
            .ok_or_else(|| unknown_transaction(transaction))?;
        self.transaction_bytes -= closed.bytes;
        Ok(closed)
    }

    /// Count `cost` more bytes held by open transactions, or refuse it.
    fn hold(&mut self, cost: usize) -> Result<(), Fail> {
        let limit = self.app.0.cfg.transaction_bytes;
        if self.transaction_bytes + cost <= limit {
            self.transaction_bytes += cost;
            return Ok(());
        }
        let counters = self.app.0.broker.counters();
        Counters::add(&counters.refused_transactions, 1);
        self.app.log_refusal(format_args!(
            "stomp {}: open transactions over --transaction-bytes ({limit})",
            self.who
        ));
        Err(fail(
            "transaction too large",
            format!(
                "this connection's open transactions would hold more than {limit} bytes (--transaction-bytes); commit or abort first"
            ),
        ))
    }

    /// The refusal of a destination past `--max-topics`, logged.
    fn full(&self, what: &str, destination: &str, full: super::broker::Full) -> Fail {
        self.app.log_refusal(format_args!(
            "stomp {} {destination}: the broker has {} {what}, its --max-topics",
            self.who, full.max
        ));
        fail(
            "too many destinations",
            format!(
                "{destination}: the broker has {} {what}, its --max-topics; try again when some are idle",
                full.max
            ),
        )
    }

    /// SEND, ACK or NACK, now (outside a transaction or at its COMMIT).
    async fn execute(&mut self, op: Op) -> Result<(), Fail> {
        match op {
            Op::Send(Publish {
                to,
                payload,
                headers,
            }) => {
                self.allowed(true)?;
                match to {
                    Dest::Topic(name) => {
                        let destination = format!("/topic/{name}");
                        let topic = self.app.0.broker.topic(&name);
                        let topic = topic.map_err(|f| self.full("topics", &destination, f))?;
                        topic
                            .publish_with_headers(payload, headers, None)
                            .await
                            .map_err(|e| fail("cannot store the message", e.to_string()))?;
                    }
                    Dest::Queue(name) => {
                        let destination = format!("/queue/{name}");
                        let queue = self.app.0.queues.queue(&name);
                        let queue = queue.map_err(|f| self.full("queues", &destination, f))?;
                        let ticket = match queue.publish(payload, headers) {
                            Ok(ticket) => ticket,
                            Err(full) => {
                                self.app.log_refusal(format_args!(
                                    "stomp {} {destination}: queue full",
                                    self.who
                                ));
                                let which = if full.queue {
                                    "the queue holds"
                                } else {
                                    "the broker's queues and histories hold"
                                };
                                return Err(fail(
                                    "queue full",
                                    format!(
                                        "{destination}: {which} {} bytes already; consume some first",
                                        full.limit
                                    ),
                                ));
                            }
                        };
                        queue
                            .confirmed(ticket)
                            .await
                            .map_err(|e| fail("cannot store the message", e.to_string()))?;
                    }
                }
                Ok(())
            }
            Op::Ack(ack) => self.ack(&ack, false),
            Op::Nack(ack) => self.ack(&ack, true),
        }
    }

    fn ack(&mut self, ack: &Ack, nack: bool) -> Result<(), Fail> {
        let tag = match ack {
            Ack::Id { id, tag } => tag.filter(|t| *t < self.next_tag).ok_or_else(|| {
                fail(
                    "unknown ack id",
                    format!("no message was delivered with ack `{id}`"),
                )
            })?,
            // STOMP 1.0 and 1.1 acknowledge by message-id (and subscription).
            Ack::MessageId {
                message_id,
                subscription,
            } => {
                let sub = subscription.as_deref().and_then(|s| self.key_of(s));
                let found = self.unacked.iter().find(|(_, u)| {
                    u.message.to_string() == *message_id && sub.is_none_or(|k| k == u.sub)
                });
                match found {
                    Some((tag, _)) => *tag,
                    None => return Ok(()),
                }
            }
        };
        // Not in flight: a topic message, an auto-ack one, or acked already.
        let Some(entry) = self.unacked.get(&tag).copied() else {
            return Ok(());
        };
        let Some(sub) = self.subs.get(&entry.sub) else {
            self.unacked.remove(&tag);
            return Ok(());
        };
        let tags: Vec<u64> = if sub.ack == AckMode::Client {
            // Cumulative: this one and every earlier one of the subscription.
            self.unacked
                .range(..=tag)
                .filter(|(_, u)| u.sub == entry.sub)
                .map(|(t, _)| *t)
                .collect()
        } else {
            vec![tag]
        };
        let ids: Vec<u64> = tags
            .iter()
            .filter_map(|t| self.unacked.remove(t))
            .map(|u| u.message)
            .collect();
        if let Source::Queue(consumer) = &sub.source {
            if nack {
                consumer.give_back(&ids);
            } else {
                consumer.settle(&ids);
            }
        }
        Ok(())
    }

    async fn receipt(&mut self, receipt: Option<&str>) {
        if let Some(id) = receipt {
            self.send(&Frame::new("RECEIPT").header("receipt-id", id))
                .await;
        }
    }

    /// Send topic messages: this one and what else is queued, then flush.
    async fn deliver_topics(&mut self, first: TopicEvent) -> Option<End> {
        let mut event = Some(first);
        let mut n = 0;
        while let Some(e) = event {
            match e {
                TopicEvent::Message(key, m) => {
                    if let Err(end) = self.deliver_topic(key, &m).await {
                        return Some(end);
                    }
                }
                TopicEvent::Ended(key, reason) => {
                    if let Some(sub) = self.subs.get(&key) {
                        let why = reason.map_or("ended".to_string(), |r| r.to_string());
                        let f = fail("subscription ended", format!("{}: {why}", sub.destination));
                        return Some(self.refuse(f, None).await);
                    }
                }
            }
            n += 1;
            event = if n < BATCH {
                self.topic_rx.try_recv().ok()
            } else {
                None
            };
        }
        self.flush().await.err()
    }

    async fn deliver_topic(&mut self, key: u64, m: &Stored) -> Result<(), End> {
        let delivered = self.deliver(key, m.id, false, &m.payload, &m.headers);
        delivered.await.map(drop)
    }

    /// Send message `id` to subscription `key` as a MESSAGE; its ack tag,
    /// or None when the subscription is gone meanwhile (unsubscribed: not
    /// ours any more; a queue's consumer gave the message back).
    async fn deliver(
        &mut self,
        key: u64,
        id: u64,
        redelivered: bool,
        payload: &Payload,
        headers: &[(String, String)],
    ) -> Result<Option<u64>, End> {
        let Some(sub) = self.subs.get(&key) else {
            return Ok(None);
        };
        let tag = self.next_tag;
        self.next_tag += 1;
        let frame = message(sub, &id.to_string(), tag, redelivered, payload, headers);
        self.send_message(frame).await?;
        Ok(Some(tag))
    }

    async fn deliver_queues(&mut self, first: QueueEvent) -> Option<End> {
        let mut event = Some(first);
        let mut n = 0;
        while let Some(QueueEvent(key, delivery)) = event {
            if let Err(end) = self.deliver_queue(key, delivery).await {
                return Some(end);
            }
            n += 1;
            event = if n < BATCH {
                self.queue_rx.try_recv().ok()
            } else {
                None
            };
        }
        self.flush().await.err()
    }

    async fn deliver_queue(&mut self, key: u64, d: Delivery) -> Result<(), End> {
        let m = &d.message;
        let delivered = self.deliver(key, m.id, d.redelivered, &m.payload, &m.headers);
        let Some(tag) = delivered.await? else {
            return Ok(());
        };
        match self.subs.get(&key) {
            // Delivered is consumed: written out, its window slot frees.
            Some(Sub {
                ack: AckMode::Auto,
                source: Source::Queue(consumer),
                ..
            }) => consumer.settle(&[m.id]),
            _ => {
                self.unacked.insert(
                    tag,
                    Unacked {
                        sub: key,
                        message: m.id,
                    },
                );
            }
        }
        Ok(())
    }

    async fn send_message(&mut self, frame: Frame) -> Result<(), End> {
        if self.app.0.cfg.chaos.delays() {
            // `--chaos-delay`: what was fed goes out first, then the wait.
            self.flush().await?;
            self.app.0.cfg.chaos.delay().await;
        }
        let mut bytes = Vec::with_capacity(frame.body.len() + 128);
        frame.encode(&mut bytes);
        match self.peer.feed(bytes).await {
            Ok(()) => {
                self.messages_out += 1;
                self.unflushed = true;
                Ok(())
            }
            Err(SendError::NotText) => {
                let f = fail(
                    "binary message",
                    format!(
                        "a message on {} has a binary body, and SockJS carries text only",
                        frame.get("destination").unwrap_or_default()
                    ),
                );
                Err(self.refuse(f, None).await)
            }
            Err(SendError::Gone(why)) => Err(End::Gone(why)),
        }
    }

    /// Our own frames are text; the only failure is the client gone,
    /// which the next read reports.
    async fn send(&mut self, frame: &Frame) {
        let mut bytes = Vec::new();
        frame.encode(&mut bytes);
        let _ = self.send_raw(bytes).await;
    }

    async fn send_raw(&mut self, bytes: Vec<u8>) -> Result<(), End> {
        match self.peer.feed(bytes).await {
            Ok(()) => {
                self.unflushed = true;
                Ok(())
            }
            Err(SendError::NotText) => Ok(()),
            Err(SendError::Gone(why)) => Err(End::Gone(why)),
        }
    }

    /// Write out what was fed. Only a flush that writes counts as sending:
    /// restarting the heart-beat clock on every empty one (after each read)
    /// left a client that writes more often than it wants beats without
    /// any, and it declared us dead.
    async fn flush(&mut self) -> Result<(), End> {
        if !std::mem::take(&mut self.unflushed) {
            return Ok(());
        }
        self.last_sent = Instant::now();
        self.peer.flush().await.map_err(|e| match e {
            SendError::Gone(why) => End::Gone(why),
            SendError::NotText => End::Gone("write error".into()),
        })
    }

    /// Send an ERROR frame for `f` and end the connection.
    async fn refuse(&mut self, f: Fail, receipt: Option<&str>) -> End {
        let mut error = Frame::new("ERROR")
            .header("message", &f.message)
            .header("content-type", "text/plain");
        if let Some(r) = receipt {
            error = error.header("receipt-id", r);
        }
        let error = error.body(Bytes::from(f.detail.clone()));
        self.send(&error).await;
        let _ = self.flush().await;
        End::Error(format!("{}: {}", f.message, f.detail))
    }
}

/// An open transaction: what it holds for its COMMIT, and what that costs.
struct Transaction {
    bytes: usize,
    ops: Vec<Result<Op, Fail>>,
}

/// What holding a client frame costs, in bytes: its body, its headers and
/// [`OVERHEAD`] (as a kept message).
fn cost(frame: &Frame) -> usize {
    let headers: usize = frame.headers.iter().map(|(k, v)| k.len() + v.len()).sum();
    frame.body.len() + headers + OVERHEAD
}

fn unknown_transaction(transaction: &str) -> Fail {
    fail(
        "unknown transaction",
        format!("transaction `{transaction}` was not begun"),
    )
}

/// A MESSAGE frame for subscription `sub`.
fn message(
    sub: &Sub,
    message_id: &str,
    tag: u64,
    redelivered: bool,
    payload: &Payload,
    headers: &[(String, String)],
) -> Frame {
    let mut frame = Frame::new("MESSAGE")
        .header("subscription", &sub.id)
        .header("message-id", message_id)
        .header("destination", &sub.destination);
    if sub.ack != AckMode::Auto {
        frame = frame.header("ack", &tag.to_string());
    }
    if redelivered {
        frame = frame.header("redelivered", "true");
    }
    if !headers.iter().any(|(k, _)| k == "content-type") {
        let ct = if payload.is_binary() {
            "application/octet-stream"
        } else {
            "text/plain"
        };
        frame = frame.header("content-type", ct);
    }
    for (k, v) in headers {
        frame = frame.header(k, v);
    }
    frame.body(payload.bytes().clone())
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{
        Client, LIMIT, Server, client, finish, http, next, post, start,
    };
    use super::*;
    use futures_util::SinkExt;
    use tokio::time::timeout;
    use tokio_tungstenite::tungstenite::Message;
    use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

    /// A raw STOMP client over a WebSocket: frames in, frames out.
    struct Stomp {
        ws: Client,
        decoder: Decoder,
    }

    impl Stomp {
        async fn open(server: &Server) -> Stomp {
            Stomp {
                ws: client(server.addr, "/_/stomp").await,
                decoder: Decoder::new(1 << 20),
            }
        }

        /// Connected, with `heart-beat: 0,0` unless `headers` say otherwise.
        async fn connected(server: &Server) -> Stomp {
            let mut s = Stomp::open(server).await;
            s.send(Frame::new("CONNECT").header("accept-version", "1.2"))
                .await;
            assert_eq!(s.frame().await.command, "CONNECTED");
            s
        }

        async fn send(&mut self, frame: Frame) {
            let mut out = Vec::new();
            frame.encode(&mut out);
            self.ws
                .send(Message::text(String::from_utf8(out).unwrap()))
                .await
                .unwrap();
        }

        async fn send_raw(&mut self, bytes: &str) {
            self.ws.send(Message::text(bytes)).await.unwrap();
        }

        /// The next frame, skipping heart-beats.
        async fn frame(&mut self) -> Frame {
            loop {
                match self.decoder.decode_next().unwrap() {
                    Some(Item::Frame(f)) => return f,
                    Some(Item::HeartBeat) => continue,
                    None => {}
                }
                match next(&mut self.ws).await {
                    Message::Text(t) => self.decoder.feed(t.as_bytes()),
                    Message::Binary(b) => self.decoder.feed(&b),
                    other => panic!("expected a STOMP frame, got {other:?}"),
                }
            }
        }

        /// An ERROR frame, then the close the broker sends after it.
        async fn error(mut self) -> Frame {
            let f = self.frame().await;
            assert_eq!(f.command, "ERROR", "{f:?}");
            match next(&mut self.ws).await {
                Message::Close(Some(c)) => assert_eq!(c.code, CloseCode::Protocol),
                other => panic!("expected a close after ERROR, got {other:?}"),
            }
            finish(self.ws).await;
            f
        }
    }

    fn subscribe(id: &str, dest: &str, ack: &str) -> Frame {
        Frame::new("SUBSCRIBE")
            .header("id", id)
            .header("destination", dest)
            .header("ack", ack)
    }

    fn send(dest: &str, body: &str) -> Frame {
        Frame::new("SEND")
            .header("destination", dest)
            .body(Bytes::from(body.to_string()))
    }

    #[tokio::test]
    async fn every_frame_that_asks_gets_its_receipt_in_order() {
        let server = start(|_| {}).await;
        let mut s = Stomp::connected(&server).await;
        s.send(subscribe("s1", "/queue/r", "client-individual").header("receipt", "r-sub"))
            .await;
        assert_eq!(s.frame().await.get("receipt-id"), Some("r-sub"));
        s.send(send("/queue/r", "hello").header("receipt", "r-send"))
            .await;
        // The RECEIPT says the message is on the queue; its delivery may
        // come before or after it.
        let mut receipt = None;
        let mut message = None;
        while receipt.is_none() || message.is_none() {
            let f = s.frame().await;
            match f.command.as_str() {
                "RECEIPT" => receipt = Some(f),
                "MESSAGE" => message = Some(f),
                other => panic!("unexpected {other}"),
            }
        }
        assert_eq!(receipt.unwrap().get("receipt-id"), Some("r-send"));
        let m = message.unwrap();
        assert_eq!(&m.body[..], b"hello");
        assert_eq!(m.get("destination"), Some("/queue/r"));
        assert_eq!(m.get("subscription"), Some("s1"));
        let ack = m.get("ack").unwrap().to_string();
        for frame in [
            Frame::new("ACK").header("id", &ack),
            Frame::new("BEGIN").header("transaction", "t"),
            Frame::new("ABORT").header("transaction", "t"),
            Frame::new("UNSUBSCRIBE").header("id", "s1"),
        ] {
            let id = format!("r-{}", frame.command);
            s.send(frame.header("receipt", &id)).await;
            assert_eq!(s.frame().await.get("receipt-id"), Some(id.as_str()));
        }
        assert_eq!(server.broker.stats().len(), 0, "queues are not topics");
        s.send(Frame::new("DISCONNECT").header("receipt", "bye"))
            .await;
        assert_eq!(s.frame().await.get("receipt-id"), Some("bye"));
        match next(&mut s.ws).await {
            Message::Close(Some(c)) => assert_eq!(c.code, CloseCode::Normal),
            other => panic!("expected close 1000, got {other:?}"),
        }
        finish(s.ws).await;
        server.shut_down().await.unwrap();
    }

    #[tokio::test]
    async fn bad_frames_get_an_error_frame_and_a_close() {
        let server = start(|_| {}).await;
        // Before CONNECT.
        let mut s = Stomp::open(&server).await;
        s.send(send("/topic/x", "early")).await;
        assert_eq!(s.error().await.get("message"), Some("not connected"));
        let cases: Vec<(Frame, &str)> = vec![
            (Frame::new("FROB"), "unknown command"),
            (Frame::new("SEND"), "missing header"),
            (send("/exchange/x", "b"), "unknown destination"),
            (send("/topic/_/stats", "b"), "bad destination"),
            (subscribe("a", "/topic/x", "sometimes"), "bad ack mode"),
            (Frame::new("ACK").header("id", "999"), "unknown ack id"),
            (
                Frame::new("UNSUBSCRIBE").header("id", "nope"),
                "unknown subscription",
            ),
            (
                Frame::new("COMMIT").header("transaction", "t9"),
                "unknown transaction",
            ),
            (Frame::new("CONNECT"), "already connected"),
            (
                send("/queue/q", "b").header("transaction", "none"),
                "unknown transaction",
            ),
        ];
        for (frame, want) in cases {
            let mut s = Stomp::connected(&server).await;
            s.send(frame.header("receipt", "77")).await;
            let e = s.error().await;
            assert_eq!(e.get("message"), Some(want), "{e:?}");
            assert_eq!(e.get("receipt-id"), Some("77"));
            assert!(!e.body.is_empty());
        }
        // A frame that does not parse at all.
        let mut s = Stomp::connected(&server).await;
        s.send_raw("SEND\nno colon here\n\n\0").await;
        assert_eq!(s.error().await.get("message"), Some("malformed frame"));
        // A second subscription with the same id.
        let mut s = Stomp::connected(&server).await;
        s.send(subscribe("a", "/topic/x", "auto")).await;
        s.send(subscribe("a", "/topic/y", "auto")).await;
        assert_eq!(
            s.error().await.get("message"),
            Some("duplicate subscription")
        );
        server.shut_down().await.unwrap();
    }

    #[tokio::test]
    async fn errors_that_need_the_session_come_first_or_at_commit() {
        let server = start(|_| {}).await;
        // A taken id is told before what else is wrong with the SUBSCRIBE.
        let mut s = Stomp::connected(&server).await;
        s.send(subscribe("a", "/topic/x", "auto")).await;
        s.send(subscribe("a", "/exchange/x", "sometimes")).await;
        let taken = s.error().await;
        assert_eq!(taken.get("message"), Some("duplicate subscription"));
        // A frame in a transaction is checked when COMMIT applies it: the
        // frames before it happen, and the ERROR answers the COMMIT.
        let mut s = Stomp::connected(&server).await;
        let in_t = |f: Frame| f.header("transaction", "t");
        s.send(in_t(Frame::new("BEGIN"))).await;
        s.send(in_t(send("/queue/late", "first"))).await;
        s.send(in_t(Frame::new("SEND")).header("receipt", "kept"))
            .await;
        assert_eq!(s.frame().await.get("receipt-id"), Some("kept"));
        s.send(in_t(Frame::new("COMMIT")).header("receipt", "c"))
            .await;
        let e = s.error().await;
        let detail = String::from_utf8_lossy(&e.body);
        assert_eq!(
            (e.get("message"), e.get("receipt-id"), &*detail),
            (
                Some("missing header"),
                Some("c"),
                "SEND needs a `destination` header"
            )
        );
        assert_eq!(server_queue(&server, "late").await.ready, 1);
        server.shut_down().await.unwrap();
    }

    #[tokio::test]
    async fn client_acks_are_cumulative_and_a_nack_redelivers() {
        let server = start(|_| {}).await;
        let mut s = Stomp::connected(&server).await;
        s.send(subscribe("c", "/queue/cum", "client")).await;
        for body in ["1", "2", "3"] {
            s.send(send("/queue/cum", body)).await;
        }
        let mut acks = Vec::new();
        for want in ["1", "2", "3"] {
            let m = s.frame().await;
            assert_eq!(&m.body[..], want.as_bytes());
            acks.push(m.get("ack").unwrap().to_string());
        }
        // In client mode a NACK is cumulative too: all three come back, in
        // order, marked redelivered.
        s.send(Frame::new("NACK").header("id", &acks[2])).await;
        let mut last = String::new();
        for want in ["1", "2", "3"] {
            let again = s.frame().await;
            assert_eq!(
                (&again.body[..], again.get("redelivered")),
                (want.as_bytes(), Some("true"))
            );
            last = again.get("ack").unwrap().to_string();
        }
        // One ACK of the last covers the two before it.
        s.send(
            Frame::new("ACK")
                .header("id", &last)
                .header("receipt", "done"),
        )
        .await;
        assert_eq!(s.frame().await.get("receipt-id"), Some("done"));
        let q = server_queue(&server, "cum").await;
        assert_eq!((q.ready, q.unacked, q.consumers), (0, 0, 1));
        server.shut_down().await.unwrap();
    }

    /// The queue's numbers from `/_/stats`.
    async fn server_queue(server: &Server, name: &str) -> super::super::queue::QueueStats {
        let (status, body) = http(server.addr, "GET /_/stats HTTP/1.1", b"").await;
        assert_eq!(status, 200);
        let stats: serde_json::Value = serde_json::from_str(&body).unwrap();
        let q = stats["queues"]
            .as_array()
            .unwrap()
            .iter()
            .find(|q| q["queue"] == name)
            .unwrap_or_else(|| panic!("no queue {name}: {stats}"));
        serde_json::from_value(q.clone()).unwrap()
    }

    #[tokio::test]
    async fn prefetch_holds_messages_back_until_acked() {
        let server = start(|_| {}).await;
        let mut s = Stomp::connected(&server).await;
        s.send(subscribe("p", "/queue/pf", "client-individual").header("prefetch-count", "1"))
            .await;
        for body in ["a", "b"] {
            s.send(send("/queue/pf", body)).await;
        }
        let first = s.frame().await;
        assert_eq!(&first.body[..], b"a");
        // A round trip: had "b" been sent, it would have come before this.
        s.send(
            Frame::new("BEGIN")
                .header("transaction", "x")
                .header("receipt", "rt"),
        )
        .await;
        assert_eq!(s.frame().await.get("receipt-id"), Some("rt"));
        let q = server_queue(&server, "pf").await;
        assert_eq!((q.ready, q.unacked), (1, 1));
        s.send(Frame::new("ACK").header("id", first.get("ack").unwrap()))
            .await;
        assert_eq!(&s.frame().await.body[..], b"b");
        server.shut_down().await.unwrap();
    }

    #[tokio::test]
    async fn a_transaction_sends_on_commit_and_never_on_abort() {
        let server = start(|_| {}).await;
        let mut s = Stomp::connected(&server).await;
        s.send(subscribe("t", "/queue/tx", "auto")).await;
        s.send(Frame::new("BEGIN").header("transaction", "no"))
            .await;
        s.send(send("/queue/tx", "dropped").header("transaction", "no"))
            .await;
        s.send(Frame::new("ABORT").header("transaction", "no"))
            .await;
        s.send(Frame::new("BEGIN").header("transaction", "yes"))
            .await;
        s.send(send("/queue/tx", "kept").header("transaction", "yes"))
            .await;
        s.send(
            Frame::new("SUBSCRIBE")
                .header("id", "u")
                .header("destination", "/topic/tx")
                .header("receipt", "mid"),
        )
        .await;
        // Inside the transaction nothing happened yet.
        assert_eq!(s.frame().await.get("receipt-id"), Some("mid"));
        assert_eq!(server_queue(&server, "tx").await.ready, 0);
        s.send(Frame::new("COMMIT").header("transaction", "yes"))
            .await;
        let m = s.frame().await;
        assert_eq!((m.command.as_str(), &m.body[..]), ("MESSAGE", &b"kept"[..]));
        server.shut_down().await.unwrap();
    }

    async fn stats(server: &Server) -> serde_json::Value {
        let (status, body) = http(server.addr, "GET /_/stats HTTP/1.1", b"").await;
        assert_eq!(status, 200);
        serde_json::from_str(&body).unwrap()
    }

    #[tokio::test]
    async fn open_transactions_are_bounded_and_their_end_frees_the_room() {
        // A SEND below costs its 1000-byte body, ~50 bytes of headers and
        // OVERHEAD: three and a BEGIN fit in 4096, four do not.
        let server = start(|cfg| cfg.transaction_bytes = 4096).await;
        let mut s = Stomp::connected(&server).await;
        let body = "x".repeat(1000);
        s.send(Frame::new("BEGIN").header("transaction", "a")).await;
        for _ in 0..3 {
            s.send(send("/queue/q", &body).header("transaction", "a"))
                .await;
        }
        s.send(
            Frame::new("ABORT")
                .header("transaction", "a")
                .header("receipt", "r"),
        )
        .await;
        assert_eq!(s.frame().await.get("receipt-id"), Some("r"));
        s.send(Frame::new("BEGIN").header("transaction", "b")).await;
        for r in ["b1", "b2", "b3"] {
            let frame = send("/queue/q", &body).header("transaction", "b");
            s.send(frame.header("receipt", r)).await;
            assert_eq!(s.frame().await.get("receipt-id"), Some(r));
        }
        s.send(send("/queue/q", &body).header("transaction", "b"))
            .await;
        let e = s.error().await;
        assert_eq!(e.get("message"), Some("transaction too large"));
        let stats = stats(&server).await;
        assert_eq!(stats["refused"]["transactions"], 1, "{stats}");
        server.shut_down().await.unwrap();
    }

    #[tokio::test]
    async fn a_full_queue_refuses_a_send_and_an_empty_one_goes() {
        let server = start(|cfg| cfg.history_bytes = 2500).await;
        let mut s = Stomp::connected(&server).await;
        let body = "x".repeat(1000);
        for r in ["1", "2"] {
            s.send(send("/queue/q", &body).header("receipt", r)).await;
            assert_eq!(s.frame().await.get("receipt-id"), Some(r));
        }
        s.send(send("/queue/q", &body).header("receipt", "3")).await;
        let e = s.error().await;
        assert_eq!(e.get("message"), Some("queue full"));
        assert_eq!(e.get("receipt-id"), Some("3"));
        assert_eq!(server_queue(&server, "q").await.ready, 2);
        assert_eq!(stats(&server).await["refused"]["queue_full"], 1);

        // Consumed, the room is back; empty and without consumers, it goes.
        let mut c = Stomp::connected(&server).await;
        c.send(subscribe("s", "/queue/q", "auto")).await;
        for _ in 0..2 {
            assert_eq!(c.frame().await.command, "MESSAGE");
        }
        c.send(send("/queue/q", &body).header("receipt", "4")).await;
        assert_eq!(c.frame().await.get("receipt-id"), Some("4"));
        assert_eq!(c.frame().await.command, "MESSAGE");
        c.send(Frame::new("DISCONNECT").header("receipt", "bye"))
            .await;
        assert_eq!(c.frame().await.get("receipt-id"), Some("bye"));
        let deadline = tokio::time::Instant::now() + LIMIT;
        loop {
            let stats = stats(&server).await;
            if stats["queues"].as_array().is_some_and(Vec::is_empty) {
                assert_eq!(stats["removed"]["queues"], 1, "{stats}");
                break;
            }
            assert!(tokio::time::Instant::now() < deadline, "{stats}");
            tokio::task::yield_now().await;
        }
        server.shut_down().await.unwrap();
    }

    #[tokio::test]
    async fn a_client_that_writes_often_still_gets_heart_beats() {
        let server = start(|_| {}).await;
        let mut s = Stomp::open(&server).await;
        s.send(
            Frame::new("CONNECT")
                .header("accept-version", "1.2")
                .header("heart-beat", "0,1000"),
        )
        .await;
        assert_eq!(s.frame().await.command, "CONNECTED");
        // A SEND every 250 ms, none asking a receipt: the broker answers
        // nothing, and must still beat once a second.
        let mut every = tokio::time::interval(Duration::from_millis(250));
        let beat = timeout(Duration::from_secs(5), async {
            loop {
                while let Some(item) = s.decoder.decode_next().unwrap() {
                    if matches!(item, Item::HeartBeat) {
                        return;
                    }
                }
                tokio::select! {
                    _ = every.tick() => {
                        s.send(Frame::new("SEND").header("destination", "/topic/nobody")).await;
                    }
                    m = next(&mut s.ws) => match m {
                        Message::Text(t) => s.decoder.feed(t.as_bytes()),
                        other => panic!("{other:?}"),
                    },
                }
            }
        })
        .await;
        assert!(
            beat.is_ok(),
            "no heart-beat in 5 s while the client kept writing"
        );
        server.shut_down().await.unwrap();
    }

    #[tokio::test]
    async fn heart_beats_are_negotiated_and_sent() {
        let server = start(|_| {}).await;
        let mut s = Stomp::open(&server).await;
        s.send(
            Frame::new("CONNECT")
                .header("accept-version", "1.1,1.2")
                .header("heart-beat", "0,1000"),
        )
        .await;
        let c = s.frame().await;
        assert_eq!(c.get("version"), Some("1.2"));
        assert_eq!(c.get("heart-beat"), Some("1000,10000"));
        // Nothing else is coming, so what arrives is a heart-beat.
        let beat = timeout(LIMIT, async {
            loop {
                if let Some(item) = s.decoder.decode_next().unwrap() {
                    return item;
                }
                match next(&mut s.ws).await {
                    Message::Text(t) => s.decoder.feed(t.as_bytes()),
                    other => panic!("{other:?}"),
                }
            }
        })
        .await
        .unwrap();
        assert_eq!(beat, Item::HeartBeat);
        // A client that asks only for 1.0 gets it; an unknown version is refused.
        let mut old = Stomp::open(&server).await;
        old.send(Frame::new("CONNECT")).await;
        assert_eq!(old.frame().await.get("version"), Some("1.0"));
        let mut future = Stomp::open(&server).await;
        future
            .send(Frame::new("CONNECT").header("accept-version", "2.0"))
            .await;
        assert_eq!(
            future.error().await.get("message"),
            Some("unsupported STOMP version")
        );
        server.shut_down().await.unwrap();
    }

    #[tokio::test]
    async fn stomp_topics_are_the_plain_topics() {
        let server = start(|_| {}).await;
        let mut raw = client(server.addr, "/news/today").await;
        let mut s = Stomp::connected(&server).await;
        s.send(subscribe("n", "/topic/news/today", "auto").header("receipt", "r"))
            .await;
        assert_eq!(s.frame().await.get("receipt-id"), Some("r"));
        // STOMP -> raw WebSocket subscribers of the same topic, and back.
        s.send(send("/topic/news/today", "from stomp").header("custom", "kept"))
            .await;
        assert_eq!(next(&mut raw).await, Message::text("from stomp"));
        let own = s.frame().await;
        assert_eq!(own.get("custom"), Some("kept"));
        assert_eq!(own.get("content-type"), Some("text/plain"));
        // HTTP POST and raw WebSocket publishes reach STOMP subscribers,
        // binary marked as such.
        let (status, _) = post(server.addr, "/news/today", "text/plain", b"from http").await;
        assert_eq!(status, 200);
        let m = s.frame().await;
        assert_eq!(
            (&m.body[..], m.get("message-id")),
            (&b"from http"[..], Some("2"))
        );
        raw.send(Message::binary(vec![0u8, 255])).await.unwrap();
        let m = s.frame().await;
        assert_eq!(&m.body[..], &[0u8, 255]);
        assert_eq!(m.get("content-type"), Some("application/octet-stream"));
        assert_eq!(server.broker.last_id("news/today"), 3);
        server.shut_down().await.unwrap();
    }
}
