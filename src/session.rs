//! A session: a dialect speaking over a transport, seen by commands as a
//! stream of [`Message`]s in and bodies out.
//!
//! The raw dialect needs no state and lives here: a WebSocket or SockJS
//! message, an SSE event, a long-poll message or an HTTP POST is one
//! message. STOMP is [`StompClient`], handed the same two-way transport
//! ([`Duplex`]) the raw dialect uses, so STOMP over SockJS is the two
//! composed. Socket.IO is [`SocketIoClient`] over its own Engine.IO transport
//! (an event is one message).
//!
//! A session follows one connection through its lifecycle: connect (within
//! `--connect-timeout`), streaming (keep-alive pings are the session's, so
//! every command gets them), closing (within its own bound). It never
//! reconnects: when the connection ends, so does the session, and
//! `crate::retry` decides whether another one is worth starting.

use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use futures_util::FutureExt;
use tokio::time::{Instant, Sleep};
use tokio_tungstenite::tungstenite::Utf8Bytes;
use url::Url;

use crate::codec::{meta, pubcat};
use crate::dialect::Dialect;
use crate::dialect::mqtt::{self, MqttClient};
use crate::dialect::nats::NatsClient;
use crate::dialect::socketio::{self, SocketIoClient};
use crate::dialect::stomp::{self, StompClient};
use crate::endpoint::{Endpoint, Transport};
use crate::error::{Error, Result};
use crate::message::{Body, Message};
use crate::transport::Options;
use crate::transport::duplex::{Data, Duplex, Received};
use crate::transport::engineio::EngineIo;
use crate::transport::poll::PollLink;
use crate::transport::sse::SseLink;
use crate::{status, verbose};

/// What a session yields. Messages are lent, not handed over: the session
/// keeps one [`Message`] and refills it in place for each arrival, because
/// building, moving and dropping a whole envelope per message cost more
/// than everything else on the receive path of a raw WebSocket or SSE
/// stream. A reader that keeps one clones it.
#[derive(Debug)]
pub enum Incoming<'a> {
    Message(&'a Message),
    /// The server's answer to one of our messages: a Socket.IO ACK, its
    /// arguments as the body (only with `--confirm`).
    Reply(&'a Message),
    /// The server closed the session; `clean` when it said all is well.
    Closed {
        reason: String,
        clean: bool,
    },
}

/// An [`Incoming`] before the session lends it out: the message itself is
/// in the session's slot, so this borrows nothing.
enum Got {
    /// The session's message slot holds it.
    Message,
    Reply,
    Closed {
        reason: String,
        clean: bool,
    },
}

/// What a session connects with: where, and the transport's and the
/// dialect's settings, each decided once from the flags
/// (`commands::connection`).
#[derive(Clone, Debug)]
pub struct Connection {
    pub endpoint: Endpoint,
    pub transport: Options,
    pub dialect: Dialect,
}

/// What a session speaks through: a transport link (raw messages), or a
/// dialect client (STOMP, Socket.IO) over one.
enum Stack {
    /// Raw messages over a WebSocket or SockJS.
    Duplex(Box<Duplex>),
    /// Raw WebSocket messages, each with its id in a `ws+meta.nchan`
    /// header block.
    Meta(Box<Duplex>, Ids),
    Sse(Box<SseLink>),
    Poll(Box<PollLink>),
    Stomp(Box<StompClient>),
    Mqtt(Box<MqttClient>),
    Nats(Box<NatsClient>),
    SocketIo(Box<SocketIoClient>),
    Post {
        client: reqwest::Client,
        url: Url,
        content_type: Option<String>,
        /// Messages posted so far, to number the `--confirm` reports.
        posted: u64,
        /// How long an answer's headers may take.
        within: Duration,
    },
}

/// What a `ws+meta.nchan` server said about its ids.
struct Ids {
    /// Where the stream started, when the server said (`pubcat serve`'s
    /// `X-Pubcat-Cursor` on the `101`, sent when it has nothing to replay):
    /// the cursor until a message comes with its own id.
    start: Option<String>,
    /// The server said its ids are consecutive (`X-Pubcat-Ids: sequence`).
    sequence: bool,
    /// A message has come: its id is the cursor now.
    seen: bool,
}

/// Keep-alive pings on links that have them: one is sent when `at` comes,
/// and a peer that has sent nothing at all by the next one is dead.
struct Keepalive {
    every: Duration,
    /// Armed once and reset when it fires: a timer built per wait would be
    /// registered and dropped for every burst a subscriber reads.
    at: Pin<Box<Sleep>>,
    /// A ping is out, and nothing has been heard since.
    awaiting: bool,
}

pub struct Session {
    stack: Stack,
    /// The endpoint's topic, as `subscribe -v` names it.
    topic: Arc<str>,
    /// The message lent out by [`Session::next`], refilled per arrival.
    /// Its receive time is taken when a wait for the transport ends and
    /// reused for the burst drained after it, because a clock read per
    /// message costs ~8% of receive throughput.
    current: Message,
    /// Report each acknowledged message on stderr (`--confirm`).
    confirm: bool,
    /// How long [`Session::close`] waits for the server's answer.
    close_wait: Duration,
    keepalive: Option<Keepalive>,
    /// Why [`Session::close`] could not confirm, when it knows.
    unconfirmed: Option<String>,
}

/// The WebSocket subprotocols a dialect offers.
pub fn subprotocols(dialect: &Dialect) -> &'static [&'static str] {
    match dialect {
        Dialect::Stomp(_) => &stomp::SUBPROTOCOLS,
        Dialect::Mqtt(_) => &mqtt::SUBPROTOCOLS,
        Dialect::RawWithIds => &[meta::SUBPROTOCOL],
        _ => &[],
    }
}

/// How long to wait for the server's answer to our close, by default.
const CLOSE_WAIT: Duration = Duration::from_secs(5);

impl Session {
    pub async fn connect(c: &Connection) -> Result<Session> {
        let (endpoint, opts) = (&c.endpoint, &c.transport);
        let stack = match (&c.dialect, endpoint.transport) {
            // A dialect is handed its transport: Socket.IO its Engine.IO
            // session, STOMP a duplex.
            (Dialect::SocketIo(sio), _) => {
                let engine = EngineIo::connect(&endpoint.url, &sio.path, sio.mode, opts).await?;
                Stack::SocketIo(Box::new(
                    SocketIoClient::open(engine, &endpoint.url, sio.clone(), opts.connect_timeout)
                        .await?,
                ))
            }
            (dialect, Transport::Ws | Transport::Sockjs) => {
                let subprotocols = subprotocols(dialect);
                let duplex = if endpoint.transport == Transport::Sockjs {
                    Duplex::sockjs(&endpoint.url, opts).await?
                } else {
                    Duplex::ws(&endpoint.url, opts, subprotocols).await?
                };
                match dialect {
                    Dialect::Stomp(stomp) => Stack::Stomp(Box::new(
                        StompClient::open(
                            duplex,
                            &endpoint.url,
                            stomp.clone(),
                            opts.max_message_size,
                            endpoint.transport_name,
                            opts.connect_timeout,
                        )
                        .await?,
                    )),
                    Dialect::Mqtt(mqtt) => Stack::Mqtt(Box::new(
                        MqttClient::open(
                            duplex,
                            &endpoint.url,
                            mqtt.clone(),
                            opts.max_message_size,
                            endpoint.transport_name,
                            opts.connect_timeout,
                        )
                        .await?,
                    )),
                    Dialect::Nats(nats) => Stack::Nats(Box::new(
                        NatsClient::open(
                            duplex,
                            &endpoint.url,
                            nats.clone(),
                            opts.max_message_size,
                            endpoint.transport_name,
                            opts.connect_timeout,
                        )
                        .await?,
                    )),
                    Dialect::RawWithIds
                        if duplex.answer_header("sec-websocket-protocol")
                            == Some(meta::SUBPROTOCOL) =>
                    {
                        let ids = Ids {
                            start: duplex
                                .answer_header(pubcat::CURSOR.as_str())
                                .map(String::from),
                            sequence: duplex.answer_header(pubcat::IDS.as_str())
                                == Some(pubcat::SEQUENCE),
                            seen: false,
                        };
                        Stack::Meta(Box::new(duplex), ids)
                    }
                    _ => Stack::Duplex(Box::new(duplex)),
                }
            }
            (_, Transport::Sse) => {
                Stack::Sse(Box::new(SseLink::connect(&endpoint.url, opts).await?))
            }
            (_, Transport::Poll) => Stack::Poll(Box::new(PollLink::new(&endpoint.url, opts)?)),
            (_, Transport::Http) => Stack::Post {
                client: crate::transport::http::client(&endpoint.url, opts)?,
                url: endpoint.url.clone(),
                content_type: opts.content_type.clone(),
                posted: 0,
                within: opts.connect_timeout,
            },
        };
        let pings = matches!(
            stack,
            Stack::Duplex(_) | Stack::Meta(..) | Stack::Stomp(_) | Stack::Mqtt(_) | Stack::Nats(_)
        );
        let every = opts.ping_interval;
        Ok(Session {
            stack,
            current: Message::new(
                endpoint.topic.clone(),
                Bytes::new(),
                false,
                endpoint.transport_name,
            ),
            topic: endpoint.topic.clone(),
            confirm: false,
            close_wait: CLOSE_WAIT,
            unconfirmed: None,
            keepalive: (pings && !every.is_zero()).then(|| Keepalive {
                every,
                at: Box::pin(tokio::time::sleep(every)),
                awaiting: false,
            }),
        })
    }

    /// The server said not to reconnect (SSE's 204): following the stream
    /// further is pointless.
    pub fn stopped(&self) -> bool {
        matches!(&self.stack, Stack::Sse(sse) if sse.stopped())
    }

    /// Where a new session should resume after this one, when the link
    /// keeps a cursor of its own (SSE's last event ID, long-poll's Etag,
    /// where a `ws+meta.nchan` stream started): it can be ahead of the last
    /// message's id, as a server may move it without sending a message.
    pub fn cursor(&self) -> Option<String> {
        match &self.stack {
            Stack::Sse(sse) => sse.cursor().map(str::to_string),
            Stack::Poll(poll) => poll.cursor(),
            Stack::Meta(_, ids) if !ids.seen => ids.start.clone(),
            _ => None,
        }
    }

    /// Whether the server said its ids are consecutive (a jump is then a
    /// gap); None where the link cannot tell (it has no such answer).
    pub fn sequence_ids(&self) -> Option<bool> {
        match &self.stack {
            Stack::Sse(sse) => Some(sse.sequence_ids()),
            Stack::Poll(poll) => poll.sequence_ids(),
            Stack::Meta(_, ids) => Some(ids.sequence),
            _ => None,
        }
    }

    /// The server's run, where it names it (`X-Pubcat-Epoch`): a cursor
    /// goes back with the run it came from.
    pub fn epoch(&self) -> Option<String> {
        match &self.stack {
            Stack::Sse(sse) => sse.epoch().map(String::from),
            Stack::Poll(poll) => poll.epoch(),
            Stack::Meta(duplex, _) => duplex
                .answer_header(pubcat::EPOCH.as_str())
                .map(String::from),
            _ => None,
        }
    }

    /// How long the server asked clients to wait before reconnecting (SSE
    /// `retry:`).
    pub fn retry_hint(&self) -> Option<Duration> {
        match &self.stack {
            Stack::Sse(sse) => sse.retry(),
            _ => None,
        }
    }

    /// Report the server's acknowledgement of each message on stderr.
    pub fn set_confirm(&mut self, confirm: bool) {
        self.confirm = confirm;
        match &mut self.stack {
            Stack::Stomp(stomp) => stomp.set_confirm(confirm),
            Stack::Mqtt(mqtt) => mqtt.set_confirm(confirm),
            Stack::Nats(nats) => nats.set_confirm(confirm),
            Stack::SocketIo(sio) => sio.set_confirm(confirm),
            _ => {}
        }
    }

    /// Why the last [`Session::close`] could not confirm the close, when
    /// it knows more than "not in time".
    pub fn unconfirmed(&self) -> Option<&str> {
        self.unconfirmed.as_deref()
    }

    /// How long [`Session::close`] waits for the server to acknowledge.
    pub fn set_close_wait(&mut self, wait: Duration) {
        self.close_wait = wait;
    }

    /// True when the transport or dialect acknowledges each message.
    pub fn acknowledges(&self) -> bool {
        matches!(
            self.stack,
            Stack::Post { .. }
                | Stack::Stomp(_)
                | Stack::Mqtt(_)
                | Stack::Nats(_)
                | Stack::SocketIo(_)
        )
    }

    /// The replies ([`Incoming::Reply`]) that arrived while
    /// [`Session::close`] waited for them.
    pub fn take_replies(&mut self) -> Vec<Message> {
        match &mut self.stack {
            Stack::SocketIo(sio) => sio.take_replies(),
            _ => Vec::new(),
        }
    }

    /// Tell the server the messages handed out so far are processed (STOMP
    /// ACKs in the client ack modes). Call it after they are printed and
    /// flushed; a no-op where the protocol has no acks.
    pub async fn acknowledge(&mut self) -> Result<()> {
        match &mut self.stack {
            Stack::Stomp(stomp) => stomp.acknowledge().await,
            Stack::Mqtt(mqtt) => mqtt.acknowledge().await,
            Stack::Nats(nats) => nats.acknowledge().await,
            _ => Ok(()),
        }
    }

    pub fn topic(&self) -> &Arc<str> {
        &self.topic
    }

    /// The next message or close. Keep-alive pings go out while it waits;
    /// a peer silent for a whole ping interval after one is an error
    /// (connection lost). A ping never cancels a read that matters: only
    /// links whose reads can be resumed (WebSocket frames) have pings.
    pub async fn next(&mut self) -> Result<Incoming<'_>> {
        let got = loop {
            let (stack, m) = (&mut self.stack, &mut self.current);
            let Some(k) = self.keepalive.as_mut() else {
                break read(stack, m, false).await?;
            };
            tokio::select! {
                biased;
                got = read(stack, m, false) => break got?,
                () = k.at.as_mut() => {}
            }
            self.keep_alive().await?;
        };
        Ok(self.lend(got))
    }

    /// The keep-alive timer came: is the peer alive, and ping it again.
    #[cold]
    async fn keep_alive(&mut self) -> Result<()> {
        let heard = match &mut self.stack {
            Stack::Stomp(stomp) => stomp.take_heard(),
            Stack::Mqtt(mqtt) => mqtt.take_heard(),
            Stack::Nats(nats) => nats.take_heard(),
            Stack::Duplex(duplex) | Stack::Meta(duplex, _) => duplex.take_heard(),
            _ => false,
        };
        let Some(k) = &mut self.keepalive else {
            return Ok(());
        };
        if k.awaiting && !heard {
            return Err(Error::connect(format!(
                "no answer from the server for {}: connection considered dead",
                humantime::format_duration(k.every)
            )));
        }
        // Heard, so not awaiting; the timer is reset only once the ping is
        // out: a caller that drops this future mid-ping (connect's loop
        // does when a line is typed) finds the timer still due and pings
        // again, rather than taking a peer it heard from for dead.
        k.awaiting = false;
        let awaiting = self.ping().await?;
        let Some(k) = &mut self.keepalive else {
            return Ok(());
        };
        k.at.as_mut().reset(Instant::now() + k.every);
        k.awaiting = awaiting;
        if !awaiting {
            // This link has no pings after all (SockJS over HTTP).
            self.keepalive = None;
        }
        Ok(())
    }

    fn lend(&self, got: Got) -> Incoming<'_> {
        lend(&self.current, got)
    }

    /// What the link already holds, into the session's message. Inlined
    /// into [`Session::drain_ready`], so that what it answers stays in
    /// registers: an answer returned through memory per message (written
    /// field by field, read back whole) stalled the CPU on every SSE event.
    #[inline]
    fn ready(&mut self) -> Option<Result<Got>> {
        // The two hot paths go to their transport directly: going through
        // `read` would build (and copy) its whole future, every link's
        // state in it, per message; that cost a third of SSE receive time.
        match &mut self.stack {
            // The parser holds the rest of the chunk; the next event's body
            // points into it (a new chunk's replaces the last one's).
            Stack::Sse(sse) => sse
                .next_buffered(&mut sse_slots(&mut self.current))
                .then_some(Ok(Got::Message)),
            Stack::Duplex(duplex) => {
                release_body(&mut self.current);
                Some(
                    duplex
                        .next_ready()?
                        .map(|received| fill(&mut self.current, received)),
                )
            }
            Stack::Meta(duplex, ids) => {
                release_body(&mut self.current);
                Some(
                    duplex
                        .next_ready()?
                        .and_then(|received| fill_meta(&mut self.current, received, ids)),
                )
            }
            // Only what an answer already brought: a request started here
            // and dropped unfinished would cost its connection (hyper
            // cannot reuse one with a request cut off), one per message.
            Stack::Poll(poll) => Some(Ok(fill_polled(&mut self.current, poll.next_buffered()?))),
            stack => read(stack, &mut self.current, true).now_or_never(),
        }
    }

    /// Hand `f` each message already buffered, `max` at the most, without
    /// waiting, until it answers Some: lets a reader drain a burst and flush
    /// its output once per burst. Messages of one burst share the receive
    /// time of its first. Every reader's burst loop, inside the session so
    /// that no message's `Option<Result<Incoming>>` has to leave it. An
    /// error is the transport's or `f`'s, whichever came first.
    #[inline]
    pub fn drain_ready<T>(
        &mut self,
        max: usize,
        mut f: impl FnMut(&Incoming<'_>) -> Result<Option<T>>,
    ) -> Result<Option<T>> {
        // A raw WebSocket, the common case, has a loop of its own with the
        // link's read inlined into it: through `ready`, each layer (the
        // link, the duplex, the stack) handed its answer up through memory,
        // and reading each back stalled the CPU; that was a fifth of
        // `sub`'s time against a fast server.
        if let Stack::Duplex(duplex) = &mut self.stack {
            let m = &mut self.current;
            for _ in 0..max {
                release_body(m);
                let Some(received) = duplex.next_ready() else {
                    break;
                };
                let got = fill(m, received?);
                if let Some(t) = f(&lend(m, got))? {
                    return Ok(Some(t));
                }
            }
            return Ok(None);
        }
        for _ in 0..max {
            let Some(got) = self.ready() else {
                break;
            };
            if let Some(t) = f(&self.lend(got?))? {
                return Ok(Some(t));
            }
        }
        Ok(None)
    }

    /// Queue a message for sending; [`Session::flush`] pushes it out. A text
    /// body that is not UTF-8 cannot be a text frame, so it goes as binary
    /// rather than being lost; returns true when that happened.
    pub async fn feed(&mut self, body: Bytes, binary: bool) -> Result<bool> {
        let as_binary = binary || !is_text(&body);
        match &mut self.stack {
            Stack::Duplex(duplex) | Stack::Meta(duplex, _) => {
                duplex.feed(data(body, as_binary)).await?
            }
            Stack::Post {
                client,
                url,
                content_type,
                posted,
                within,
            } => {
                *posted += 1;
                let ct = content_type.as_deref().unwrap_or(if as_binary {
                    "application/octet-stream"
                } else {
                    "text/plain; charset=utf-8"
                });
                // Boxed: a request future is large, and inline it would make
                // every WebSocket feed build a future of its size.
                let id =
                    Box::pin(crate::transport::http::post(client, url, body, ct, *within)).await?;
                if self.confirm {
                    match id {
                        Some(id) => status!("message {posted} confirmed, id {id}"),
                        None => status!("message {posted} confirmed"),
                    }
                }
            }
            Stack::Stomp(stomp) => stomp.feed(body, as_binary).await?,
            Stack::Mqtt(mqtt) => mqtt.feed(body, as_binary).await?,
            Stack::Nats(nats) => nats.feed(body, as_binary).await?,
            // Boxed for the same reason; an emit allocates anyway.
            Stack::SocketIo(sio) => Box::pin(sio.feed(body, as_binary)).await?,
            Stack::Sse(_) | Stack::Poll(_) => {
                return Err(Error::usage("this transport only receives messages"));
            }
        }
        Ok(as_binary)
    }

    /// Queue every body, as [`Session::feed`] does each, in one future:
    /// on a WebSocket, a future per message (this one, the transport's, the
    /// caller's) cost a fifth of bulk publish time. `fed` counts what was
    /// queued, also when an error ends the batch early.
    pub async fn feed_all(
        &mut self,
        bodies: impl Iterator<Item = Bytes>,
        binary: bool,
        fed: &mut Fed,
    ) -> Result<()> {
        let Stack::Duplex(duplex) = &mut self.stack else {
            for body in bodies {
                let as_binary = self.feed(body, binary).await?;
                fed.count_one(as_binary && !binary);
            }
            return Ok(());
        };
        let (mut pulled, mut first_binary) = (fed.count, None);
        let frames = bodies.map(|body| {
            let not_text = !binary && !is_text(&body);
            if not_text && first_binary.is_none() {
                first_binary = Some(pulled);
            }
            pulled += 1;
            data(body, binary || not_text)
        });
        let result = duplex.feed_all(frames, &mut fed.count).await;
        fed.first_as_binary = fed.first_as_binary.or(first_binary);
        result
    }

    pub async fn flush(&mut self) -> Result<()> {
        match &mut self.stack {
            Stack::Duplex(duplex) | Stack::Meta(duplex, _) => duplex.flush().await,
            Stack::Stomp(stomp) => stomp.flush().await,
            Stack::Mqtt(mqtt) => mqtt.flush().await,
            Stack::Nats(nats) => nats.flush().await,
            Stack::SocketIo(sio) => sio.flush().await,
            _ => Ok(()),
        }
    }

    /// Send a WebSocket ping now (`connect`'s /ping), where the link is a
    /// WebSocket (raw or under STOMP); false where it has none.
    pub async fn ping(&mut self) -> Result<bool> {
        match &mut self.stack {
            Stack::Stomp(stomp) => stomp.ping().await,
            Stack::Mqtt(mqtt) => mqtt.ping().await,
            Stack::Nats(nats) => nats.ping().await,
            Stack::Duplex(duplex) | Stack::Meta(duplex, _) => duplex.ping().await,
            _ => Ok(false),
        }
    }

    /// Let [`Session::close`] send `code` rather than 1000: raw WebSocket
    /// only (`connect`'s `/close CODE`); false elsewhere.
    pub fn set_close_code(&mut self, code: u16) -> bool {
        match &mut self.stack {
            Stack::Duplex(duplex) | Stack::Meta(duplex, _) => duplex.set_close_code(code),
            _ => false,
        }
    }

    /// Answer `request` with `body` at the reply address it carries (an
    /// MQTT 5 response topic, with its correlation data; a NATS reply
    /// subject); false when it carries none, or the protocol has no
    /// replies.
    pub async fn reply(&mut self, request: &Message, body: Bytes) -> Result<bool> {
        match &mut self.stack {
            Stack::Mqtt(mqtt) => mqtt.reply(request, body).await,
            Stack::Nats(nats) => nats.reply(request, body).await,
            _ => Ok(false),
        }
    }

    /// Send to `destination` from now on (STOMP; `connect`'s /topic);
    /// false where the protocol has no destinations.
    pub fn send_to(&mut self, destination: &str) -> bool {
        match &mut self.stack {
            Stack::Stomp(stomp) => {
                stomp.send_to(destination);
                true
            }
            Stack::Mqtt(mqtt) => {
                mqtt.send_to(destination);
                true
            }
            Stack::Nats(nats) => {
                nats.send_to(destination);
                true
            }
            _ => false,
        }
    }

    /// Close cleanly: send close 1000 (SockJS over HTTP: stop receiving),
    /// then keep reading until the server answers, handing any message that was already on its way to
    /// `on_message` (it is valid and must not be lost). Returns whether the
    /// server completed the close handshake in time. HTTP transports have
    /// nothing to close: every POST was answered already.
    pub async fn close(
        &mut self,
        mut on_message: impl FnMut(&Message) -> Result<()>,
    ) -> Result<bool> {
        // No keep-alive ping may follow our close frame (a timer that fell
        // due while we only sent would fire in the drain below).
        self.keepalive = None;
        // The dialects' closes wait for receipts, then for the goodbye:
        // bounded as a whole too, so a peer that stops reading cannot hold
        // a write for ever.
        let wait = self.close_wait;
        let bound = wait + wait.min(Duration::from_secs(2));
        let closed = match &mut self.stack {
            Stack::Stomp(stomp) => {
                Some(tokio::time::timeout(bound, stomp.close(wait, |m| on_message(&m))).await)
            }
            Stack::Mqtt(mqtt) => {
                Some(tokio::time::timeout(bound, mqtt.close(wait, |m| on_message(&m))).await)
            }
            Stack::Nats(nats) => {
                Some(tokio::time::timeout(bound, nats.close(wait, |m| on_message(&m))).await)
            }
            Stack::SocketIo(sio) => {
                Some(tokio::time::timeout(bound, sio.close(wait, |m| on_message(&m))).await)
            }
            _ => None,
        };
        match closed {
            Some(Ok(confirmed)) => return confirmed,
            Some(Err(_)) => {
                self.unconfirmed = Some(format!(
                    "the server did not let the close finish within {}",
                    humantime::format_duration(bound)
                ));
                return Ok(false);
            }
            None => {}
        }
        let (Stack::Duplex(duplex) | Stack::Meta(duplex, _)) = &mut self.stack else {
            return Ok(true);
        };
        if let Err(e) = duplex.start_close().await {
            if e.kind == crate::error::Kind::Server {
                // The server refused what we sent, and said so.
                return Err(e);
            }
            verbose!("close not sent: {e}");
            self.unconfirmed = Some(format!("the connection was lost before the close ({e})"));
            return Ok(false);
        }
        let wait = self.close_wait;
        let drain = async {
            loop {
                match self.next().await {
                    Ok(Incoming::Message(m)) => on_message(m)?,
                    // Only Socket.IO replies, and its link closes itself.
                    Ok(Incoming::Reply(_)) => {}
                    Ok(Incoming::Closed { clean: true, .. }) => return Ok(None),
                    // Answered with an error code (1009 message too big):
                    // a refusal, not a confirmation.
                    Ok(Incoming::Closed { reason, .. }) => {
                        return Err(Error::server(format!(
                            "the server closed the connection: {reason}"
                        )));
                    }
                    // The server refused what we sent (a close 1009).
                    Err(e) if e.kind == crate::error::Kind::Server => return Err(e),
                    Err(e) => {
                        verbose!("while closing: {e}");
                        return Ok(Some(format!(
                            "the connection was lost before the server answered the close ({e})"
                        )));
                    }
                }
            }
        };
        let why = match tokio::time::timeout(wait, drain).await {
            Ok(result) => result?,
            Err(_) => Some(format!(
                "the server did not answer the close within {}",
                humantime::format_duration(wait)
            )),
        };
        if let Some(why) = &why {
            verbose!("{why}");
        }
        let confirmed = why.is_none();
        self.unconfirmed = why;
        Ok(confirmed)
    }
}

/// What the link gives next. `draining`: a burst is being drained
/// without waiting, so its messages keep the receive time of its first.
async fn read(stack: &mut Stack, m: &mut Message, draining: bool) -> Result<Got> {
    release_body(m);
    Ok(match stack {
        Stack::Duplex(duplex) => {
            let received = duplex.next().await?;
            stamp(m, draining);
            fill(m, received)
        }
        Stack::Meta(duplex, ids) => {
            let received = duplex.next().await?;
            stamp(m, draining);
            fill_meta(m, received, ids)?
        }
        Stack::Sse(sse) => {
            let more = sse.next(&mut sse_slots(m)).await?;
            stamp(m, draining);
            if more {
                Got::Message
            } else if sse.stopped() {
                Got::Closed {
                    reason: "it answered 204: no more events".into(),
                    clean: true,
                }
            } else if let Some(why) = sse.overflowed() {
                // Dropped as too slow: not all is well, and where to
                // resume is the link's cursor (the event's id).
                Got::Closed {
                    reason: why.to_string(),
                    clean: false,
                }
            } else {
                Got::Closed {
                    reason: "it ended the event stream".into(),
                    clean: true,
                }
            }
        }
        Stack::Stomp(stomp) => match stomp.next(draining).await? {
            stomp::Incoming::Message(message) => {
                *m = message;
                Got::Message
            }
            stomp::Incoming::Closed { reason, clean } => Got::Closed { reason, clean },
        },
        Stack::Mqtt(mqtt) => match mqtt.next(draining).await? {
            mqtt::Incoming::Message(message) => {
                *m = message;
                Got::Message
            }
            mqtt::Incoming::Closed { reason, clean } => Got::Closed { reason, clean },
        },
        Stack::Nats(nats) => match nats.next(draining).await? {
            crate::dialect::Incoming::Message(message) => {
                *m = message;
                Got::Message
            }
            crate::dialect::Incoming::Closed { reason, clean } => Got::Closed { reason, clean },
        },
        Stack::SocketIo(sio) => match sio.next(draining).await? {
            socketio::Incoming::Message(message) => {
                *m = message;
                Got::Message
            }
            socketio::Incoming::Reply(message) => {
                *m = message;
                Got::Reply
            }
            socketio::Incoming::Closed { reason, clean } => Got::Closed { reason, clean },
        },
        Stack::Poll(poll) => {
            let p = poll.next().await?;
            stamp(m, draining);
            fill_polled(m, p)
        }
        // Nothing ever arrives on a POST-only session.
        Stack::Post { .. } => std::future::pending().await,
    })
}

/// What [`Session::feed_all`] queued.
#[derive(Debug, Default)]
pub struct Fed {
    /// Messages queued.
    pub count: u64,
    /// The index (counted from 0) of the first text message that was not
    /// UTF-8 and so went as binary.
    pub first_as_binary: Option<u64>,
}

impl Fed {
    fn count_one(&mut self, as_binary: bool) {
        if as_binary && self.first_as_binary.is_none() {
            self.first_as_binary = Some(self.count);
        }
        self.count += 1;
    }
}

/// UTF-8, so it can go as a text frame. ASCII is checked first: for the
/// short bodies of bulk publishing that is cheaper than `from_utf8` alone,
/// whose fast path wants aligned words.
fn is_text(body: &[u8]) -> bool {
    body.is_ascii() || std::str::from_utf8(body).is_ok()
}

/// A body as a frame: binary, or text that has been checked to be UTF-8.
fn data(body: Bytes, as_binary: bool) -> Data {
    if as_binary {
        Data::Binary(body)
    } else {
        // SAFETY: the caller checked; `try_from` would need a second
        // reference to keep the bytes for the binary fallback, and that
        // refcount traffic shows up at millions of messages a second.
        Data::Text(unsafe { Utf8Bytes::from_bytes_unchecked(body) })
    }
}

/// Let go of the last message's body before reading the next, whatever the
/// link: it is a slice of what the transport read (tungstenite's read
/// buffer, a STOMP frame's), and while it is held that buffer is shared,
/// so tungstenite's next `reserve` allocates a small new one instead of
/// reusing its 128 KiB; reads then came 4 KiB at a time, 23 times as many
/// `recvfrom` calls as the minimal client made.
fn release_body(m: &mut Message) {
    m.body = Body::new();
}

/// A new receive time, unless a burst is being drained.
fn stamp(m: &mut Message, draining: bool) {
    if !draining {
        m.received_at = SystemTime::now();
    }
}

/// The session's message lent as what `got` says it is.
fn lend(current: &Message, got: Got) -> Incoming<'_> {
    match got {
        Got::Message => Incoming::Message(current),
        Got::Reply => Incoming::Reply(current),
        Got::Closed { reason, clean } => Incoming::Closed { reason, clean },
    }
}

/// Put what a two-way transport gave into the session's message.
fn fill(m: &mut Message, received: Received) -> Got {
    match received {
        Received::Text(text) => {
            m.body = Bytes::from(text).into();
            m.binary = false;
        }
        Received::Binary(body) => {
            m.body = body.into();
            m.binary = true;
        }
        Received::Closed { reason, clean } => return Got::Closed { reason, clean },
    }
    Got::Message
}

/// Put a `ws+meta.nchan` frame's message into the session's message: the
/// id and content type from its header block, the rest as the body.
fn fill_meta(m: &mut Message, received: Received, ids: &mut Ids) -> Result<Got> {
    let (frame, binary) = match received {
        Received::Text(text) => (Bytes::from(text), false),
        Received::Binary(body) => (body, true),
        Received::Closed { reason, clean } => return Ok(Got::Closed { reason, clean }),
    };
    let parsed = meta::parse(&frame).map_err(|e| {
        Error::server(format!(
            "the server broke the {} subprotocol it chose: {e}",
            meta::SUBPROTOCOL
        ))
    })?;
    m.id = parsed.id.map(Into::into);
    m.headers.clear();
    if let Some(ct) = parsed.content_type {
        m.headers.push(("content-type".into(), ct.into()));
    }
    m.body = frame.slice(parsed.body..).into();
    m.binary = binary;
    ids.seen = true;
    Ok(Got::Message)
}

/// Put a long-poll answer's message into the session's message.
fn fill_polled(m: &mut Message, p: crate::transport::poll::Polled) -> Got {
    m.body = p.body.into();
    m.binary = p.binary;
    m.id = p.id.map(Into::into);
    Got::Message
}

/// The fields of the message an SSE event is parsed into, in place.
fn sse_slots(m: &mut Message) -> crate::codec::sse::Slots<'_> {
    crate::codec::sse::Slots {
        data: &mut m.body,
        event: &mut m.event,
        id: &mut m.id,
    }
}
