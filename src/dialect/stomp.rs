//! STOMP 1.2 client over a two-way message transport (a WebSocket or a
//! SockJS session, handed in as a [`Duplex`]): CONNECT and heart-beat
//! negotiation, SUBSCRIBE with ack modes, SEND with receipts, and a
//! DISCONNECT with a receipt before the transport closes, so the broker has
//! everything.
//!
//! The frame codec is [`crate::codec::stomp`]; this is the state machine
//! around it. The messages are read as a byte stream: brokers may put
//! several frames in one message or split one across several, and a
//! heart-beat is a lone EOL.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use crate::transport::sleep_until_some;
use bytes::Bytes;
use tokio_tungstenite::tungstenite::Utf8Bytes;
use url::Url;

pub use crate::codec::stomp::AckMode;
pub(crate) use crate::codec::stomp::SUBPROTOCOLS;
use crate::codec::stomp::{Decoder, Frame, Item, negotiate_heartbeat, parse_heartbeat};
use crate::error::{Error, Kind, Result};
use crate::message::Message;
use crate::transport::duplex::{Data, Duplex, Received};
use crate::{status, trace, verbose};

/// What the user asked of the STOMP session.
#[derive(Clone, Debug, Default)]
pub struct StompOptions {
    /// The `host` header: RabbitMQ reads it as the virtual host.
    pub vhost: String,
    pub login: Option<String>,
    pub passcode: Option<String>,
    /// What we offer: (we can send every cx ms, we want to hear every cy ms).
    pub heartbeat: (u64, u64),
    /// Destinations: SUBSCRIBE to each, or SEND to each.
    pub destinations: Vec<String>,
    /// None: `client-individual` for queues, `auto` otherwise.
    pub ack: Option<AckMode>,
    pub prefetch: Option<u32>,
    /// Extra headers for SEND and SUBSCRIBE frames (`-H`).
    pub headers: Vec<(String, String)>,
    pub content_type: Option<String>,
    /// Subscribe to the destinations (else only send).
    pub subscribe: bool,
}

/// The receipt id of our DISCONNECT.
const DISCONNECT_RECEIPT: &str = "pubcat-disconnect";

pub struct StompClient {
    link: Duplex,
    url: Url,
    transport_name: &'static str,
    decoder: Decoder,
    /// (subscription id, destination, ack mode)
    subscriptions: Vec<(String, String, AckMode)>,
    /// `ack` ids of messages handed out and not yet acknowledged, per
    /// subscription mode.
    unacked: Vec<(String, AckMode)>,
    send_every: Option<Duration>,
    expect_every: Option<Duration>,
    last_sent: Instant,
    last_heard: Instant,
    confirm: bool,
    sent: u64,
    confirmed: u64,
    /// Set when the DISCONNECT receipt arrived.
    disconnected: bool,
    closing: bool,
    /// The server closed the transport (its close is answered already).
    server_closed: bool,
    /// ... with close code 1000 (or 1001).
    server_closed_cleanly: bool,
    opts: StompOptions,
}

pub use super::Incoming;

impl StompClient {
    /// Speak STOMP over `link`, opened to `url`: CONNECT, then SUBSCRIBE
    /// when asked.
    pub async fn open(
        link: Duplex,
        url: &Url,
        stomp: StompOptions,
        max_frame: usize,
        transport_name: &'static str,
        answer_wait: Duration,
    ) -> Result<StompClient> {
        let mut link = StompClient {
            link,
            url: url.clone(),
            transport_name,
            decoder: Decoder::new(max_frame),
            subscriptions: Vec::new(),
            unacked: Vec::new(),
            send_every: None,
            expect_every: None,
            last_sent: Instant::now(),
            last_heard: Instant::now(),
            confirm: false,
            sent: 0,
            confirmed: 0,
            disconnected: false,
            closing: false,
            server_closed: false,
            server_closed_cleanly: false,
            opts: stomp,
        };
        link.handshake(answer_wait).await?;
        if link.opts.subscribe {
            link.subscribe().await?;
        }
        Ok(link)
    }

    /// CONNECT, and its CONNECTED within `answer_wait` (`--connect-timeout`).
    async fn handshake(&mut self, answer_wait: Duration) -> Result<()> {
        let (cx, cy) = self.opts.heartbeat;
        let mut connect = Frame::new("CONNECT")
            .header("accept-version", "1.0,1.1,1.2")
            .header("host", &self.opts.vhost)
            .header("heart-beat", &format!("{cx},{cy}"));
        if let Some(login) = &self.opts.login {
            connect = connect.header("login", login);
        }
        if let Some(passcode) = &self.opts.passcode {
            connect = connect.header("passcode", passcode);
        }
        self.write(&connect).await?;
        self.flush().await?;
        let answer = tokio::time::timeout(answer_wait, self.next_frame(false))
            .await
            .map_err(|_| {
                Error::connect(format!(
                    "{}: timed out: no CONNECTED frame within {} (--connect-timeout)",
                    self.shown(),
                    humantime::format_duration(answer_wait)
                ))
            })??;
        let Some(connected) = answer else {
            return Err(Error::server(format!(
                "{} closed the connection before answering CONNECT",
                self.shown()
            )));
        };
        if connected.command == "ERROR" {
            return Err(error_frame(&self.shown(), &connected));
        }
        if connected.command != "CONNECTED" {
            return Err(Error::server(format!(
                "{} answered CONNECT with {} instead of CONNECTED",
                self.shown(),
                connected.command
            )));
        }
        verbose!(
            "STOMP {} connected{}{}",
            connected.get("version").unwrap_or("1.0"),
            connected
                .get("server")
                .map(|s| format!(" to {s}"))
                .unwrap_or_default(),
            connected
                .get("session")
                .map(|s| format!(", session {s}"))
                .unwrap_or_default()
        );
        let (sx, sy) = parse_heartbeat(connected.get("heart-beat").unwrap_or("0,0"));
        (self.send_every, self.expect_every) = negotiate_heartbeat((cx, cy), (sx, sy));
        verbose!(
            "heart-beats: we send every {}, the server every {}",
            show_period(self.send_every),
            show_period(self.expect_every)
        );
        // The server's heart-beats prove it alive; the transport's own
        // (SockJS `h` frames) may stop now, as Spring's do.
        if self.expect_every.is_some() {
            self.link.check_heartbeats(false);
        }
        Ok(())
    }

    async fn subscribe(&mut self) -> Result<()> {
        let destinations = self.opts.destinations.clone();
        for (n, destination) in destinations.iter().enumerate() {
            let ack = self.opts.ack.unwrap_or_else(|| default_ack(destination));
            let id = format!("sub-{n}");
            let mut frame = Frame::new("SUBSCRIBE")
                .header("id", &id)
                .header("destination", destination)
                .header("ack", ack.header());
            if let Some(p) = self.opts.prefetch {
                frame = frame.header("prefetch-count", &p.to_string());
            }
            for (k, v) in &self.opts.headers {
                frame = frame.header(k, v);
            }
            self.write(&frame).await?;
            verbose!(
                "subscribed to {destination} (id {id}, ack {})",
                ack.header()
            );
            self.subscriptions.push((id, destination.clone(), ack));
        }
        self.flush().await
    }

    pub fn set_confirm(&mut self, confirm: bool) {
        self.confirm = confirm;
    }

    /// Queue a SEND of `body` to every destination.
    pub async fn feed(&mut self, body: Bytes, binary: bool) -> Result<()> {
        let destinations = std::mem::take(&mut self.opts.destinations);
        let result = async {
            for destination in &destinations {
                self.sent += 1;
                let mut frame = Frame::new("SEND").header("destination", destination);
                let content_type = self.opts.content_type.as_deref().unwrap_or(if binary {
                    "application/octet-stream"
                } else {
                    "text/plain"
                });
                frame = frame.header("content-type", content_type);
                if self.confirm {
                    frame = frame.header("receipt", &format!("m-{}", self.sent));
                }
                for (k, v) in &self.opts.headers {
                    frame = frame.header(k, v);
                }
                self.write(&frame.body(body.clone())).await?;
            }
            Ok(())
        }
        .await;
        self.opts.destinations = destinations;
        result
    }

    /// SEND to `destination` alone from now on; the subscriptions stay.
    pub fn send_to(&mut self, destination: &str) {
        self.opts.destinations = vec![destination.to_string()];
    }

    pub async fn flush(&mut self) -> Result<()> {
        self.link.flush().await
    }

    async fn write(&mut self, frame: &Frame) -> Result<()> {
        if verbose_frames() {
            trace!("send {}", describe(frame));
        }
        // One message per frame keeps every broker happy (some parse only
        // one frame per message); batching is in the transport's write
        // buffer, flushed by the caller. The frame's bytes become the
        // message, so each frame gets a buffer of its own.
        let mut bytes = Vec::with_capacity(frame.body.len() + 128);
        frame.encode(&mut bytes);
        let data = match String::from_utf8(bytes) {
            Ok(text) => Data::Text(Utf8Bytes::from(text)),
            Err(e) => Data::Binary(Bytes::from(e.into_bytes())),
        };
        self.link.feed(data).await?;
        self.last_sent = Instant::now();
        Ok(())
    }

    /// ACK every message handed out since the last call: call it once they
    /// are printed and flushed, so a consumer that dies before printing
    /// leaves them to be redelivered.
    pub async fn acknowledge(&mut self) -> Result<()> {
        if self.unacked.is_empty() {
            return Ok(());
        }
        let unacked = std::mem::take(&mut self.unacked);
        let last_client = unacked
            .iter()
            .rposition(|(_, mode)| *mode == AckMode::Client);
        for (i, (id, mode)) in unacked.iter().enumerate() {
            // `client` acks are cumulative: the last one covers the rest.
            if *mode == AckMode::Client && Some(i) != last_client {
                continue;
            }
            self.write(&Frame::new("ACK").header("id", id)).await?;
        }
        self.link.flush().await
    }

    /// The next message or close. `draining`: only what is already buffered
    /// (no timers, no waiting).
    pub async fn next(&mut self, draining: bool) -> Result<Incoming> {
        loop {
            let Some(frame) = self.next_frame(draining).await? else {
                return Ok(Incoming::Closed {
                    reason: "connection closed".into(),
                    clean: self.disconnected,
                });
            };
            if let Some(read) = self.on_frame(frame)? {
                return Ok(read);
            }
        }
    }

    fn on_frame(&mut self, frame: Frame) -> Result<Option<Incoming>> {
        match frame.command.as_str() {
            "MESSAGE" => {
                let Some(destination) = frame.get("destination") else {
                    return Err(Error::server(format!(
                        "{} sent a MESSAGE without a destination",
                        self.shown()
                    )));
                };
                let sub = frame.get("subscription").unwrap_or_default();
                let mode = self
                    .subscriptions
                    .iter()
                    .find(|(id, _, _)| id == sub)
                    .map_or(AckMode::Auto, |(_, _, mode)| *mode);
                if mode != AckMode::Auto {
                    // 1.2 names the ack id `ack`; 1.0/1.1 use `message-id`.
                    if let Some(ack) = frame.get("ack").or_else(|| frame.get("message-id")) {
                        self.unacked.push((ack.to_string(), mode));
                    }
                }
                let binary = frame
                    .get("content-type")
                    .is_some_and(|ct| ct.starts_with("application/octet-stream"))
                    || std::str::from_utf8(&frame.body).is_err();
                let mut m = Message::received(
                    Arc::from(destination),
                    frame.body,
                    binary,
                    self.transport_name,
                    SystemTime::now(),
                );
                m.id = frame
                    .headers
                    .iter()
                    .find(|(k, _)| k == "message-id")
                    .map(|(_, v)| v.as_str().into());
                m.headers = frame.headers;
                Ok(Some(Incoming::Message(m)))
            }
            "RECEIPT" => {
                let id = frame.get("receipt-id").unwrap_or_default();
                if id == DISCONNECT_RECEIPT {
                    self.disconnected = true;
                } else if let Some(n) = id.strip_prefix("m-") {
                    self.confirmed += 1;
                    if self.confirm {
                        status!("message {n} confirmed");
                    }
                } else {
                    trace!("receipt {id}");
                }
                Ok(None)
            }
            "ERROR" => Err(error_frame(&self.shown(), &frame)),
            other => {
                verbose!("ignoring an unexpected {other} frame");
                Ok(None)
            }
        }
    }

    /// The next decoded frame; heart-beats are swallowed (they only prove
    /// the server alive) and sent when due. None when the socket closed.
    async fn next_frame(&mut self, draining: bool) -> Result<Option<Frame>> {
        loop {
            match self.decoder.decode_next() {
                Ok(Some(Item::Frame(frame))) => {
                    if verbose_frames() {
                        trace!("recv {}", describe(&frame));
                    }
                    return Ok(Some(frame));
                }
                Ok(Some(Item::HeartBeat)) => {
                    trace!("recv heart-beat");
                    continue;
                }
                Ok(None) => {}
                Err(e) => {
                    return Err(Error::server(format!(
                        "{} sent a malformed STOMP frame: {e}",
                        self.shown()
                    )));
                }
            }
            let send_at = self
                .send_every
                .filter(|_| !draining && !self.closing)
                .map(|p| tokio::time::Instant::from_std(self.last_sent + p));
            // Tolerate one late beat: dead after twice the period.
            let dead_at = self
                .expect_every
                .filter(|_| !draining)
                .map(|p| tokio::time::Instant::from_std(self.last_heard + 2 * p));
            tokio::select! {
                received = self.link.next() => {
                    self.last_heard = Instant::now();
                    match received? {
                        Received::Text(t) => self.decoder.feed(t.as_bytes()),
                        Received::Binary(b) => self.decoder.feed(&b),
                        Received::Closed { reason, clean } => {
                            self.server_closed = true;
                            self.server_closed_cleanly = clean;
                            if !self.disconnected && !self.closing {
                                return Err(Error::connect(format!(
                                    "{} closed the connection ({reason})",
                                    self.shown()
                                )));
                            }
                            return Ok(None);
                        }
                    }
                }
                _ = sleep_until_some(send_at) => {
                    trace!("send heart-beat");
                    self.link.feed(Data::Text("\n".into())).await?;
                    self.link.flush().await?;
                    self.last_sent = Instant::now();
                }
                _ = sleep_until_some(dead_at) => {
                    return Err(Error::connect(format!(
                        "no heart-beat from {} for {}: connection considered dead",
                        self.shown(),
                        humantime::format_duration(2 * self.expect_every.unwrap_or_default())
                    )));
                }
            }
        }
    }

    /// Close without losing anything: with `--confirm`, first wait (up to
    /// `wait`) for every SEND's receipt: RabbitMQ sends them once its
    /// publisher confirms are in, and a DISCONNECT before that loses them.
    /// Then UNSUBSCRIBE, DISCONNECT with a receipt, and wait for that
    /// receipt or the server's clean close (RabbitMQ closes without
    /// receipting DISCONNECT; Spring receipts only DISCONNECT, and that
    /// receipt covers every frame before it). Messages still arriving go to
    /// `on_message` when they need no ack; with an ack mode they stay
    /// unacknowledged and the broker redelivers them. True when the server
    /// confirmed it has everything we sent.
    pub async fn close(
        &mut self,
        wait: Duration,
        mut on_message: impl FnMut(Message) -> Result<()>,
    ) -> Result<bool> {
        if self.closing {
            return Ok(self.disconnected);
        }
        let deadline = tokio::time::Instant::now() + wait;
        if self.confirm && self.confirmed < self.sent {
            let all_receipts = |link: &StompClient| link.confirmed >= link.sent;
            self.drain_until(deadline, all_receipts, &mut on_message)
                .await?;
            if self.confirmed < self.sent {
                verbose!(
                    "{} of {} SEND receipts in after {}",
                    self.confirmed,
                    self.sent,
                    humantime::format_duration(wait)
                );
            }
        }
        self.closing = true;
        // The DISCONNECT receipt and the transport's close share one bound:
        // at least a moment for them even when the receipts took all of
        // `wait`, never more than `wait` (the caller's: `sub --timeout`
        // leaves 1 s for the close).
        let goodbye = deadline.max(tokio::time::Instant::now() + wait.min(Duration::from_secs(2)));
        if !self.server_closed {
            for (id, _, _) in std::mem::take(&mut self.subscriptions) {
                self.write(&Frame::new("UNSUBSCRIBE").header("id", &id))
                    .await?;
            }
            self.write(&Frame::new("DISCONNECT").header("receipt", DISCONNECT_RECEIPT))
                .await?;
            self.link.flush().await?;
            // The DISCONNECT receipt, or the server hanging up.
            self.drain_until(goodbye, |link| link.disconnected, &mut on_message)
                .await?;
        }
        let confirmed = self.confirmed >= self.sent
            || self.disconnected
            || (!self.confirm && self.server_closed_cleanly);
        if self.confirm && self.confirmed < self.sent && self.disconnected {
            status!(
                "the server receipted {} of {} SENDs one by one, and all of them with its DISCONNECT receipt",
                self.confirmed,
                self.sent
            );
        }
        if !self.server_closed {
            self.link.close_by(goodbye).await;
        }
        Ok(confirmed)
    }

    /// Read frames until `done` holds, the socket ends or `deadline`
    /// passes, handling them as [`StompClient::close`] says.
    async fn drain_until(
        &mut self,
        deadline: tokio::time::Instant,
        done: impl Fn(&StompClient) -> bool,
        on_message: &mut impl FnMut(Message) -> Result<()>,
    ) -> Result<()> {
        while !done(self) && !self.server_closed {
            let frame = match tokio::time::timeout_at(deadline, self.next_frame(false)).await {
                Err(_) => return Ok(()),
                Ok(Ok(Some(frame))) => frame,
                Ok(Ok(None)) => return Ok(()),
                Ok(Err(e)) if e.kind == Kind::Server => return Err(e),
                Ok(Err(e)) => {
                    verbose!("while closing: {e}");
                    return Ok(());
                }
            };
            let needs_ack = frame.get("ack").is_some();
            match self.on_frame(frame)? {
                Some(Incoming::Message(m)) if !needs_ack => on_message(m)?,
                Some(Incoming::Message(m)) => trace!(
                    "not printing message {} that arrived while closing: it is not acknowledged, so the broker redelivers it",
                    m.id.as_deref().unwrap_or("?")
                ),
                _ => {}
            }
        }
        Ok(())
    }

    /// True when anything arrived since the last call (the transport
    /// notes every frame it hands us).
    pub fn take_heard(&mut self) -> bool {
        self.link.take_heard()
    }

    /// A WebSocket ping: keeps proxies and idle timeouts (RabbitMQ's cowboy
    /// closes a socket silent for 60 s) happy when we send no heart-beats.
    /// False over SockJS, which has none.
    pub async fn ping(&mut self) -> Result<bool> {
        self.link.ping().await
    }

    fn shown(&self) -> String {
        crate::log::redact_url(&self.url)
    }
}

/// The destinations where competing consumers take messages off a queue:
/// acknowledge each there by default, so none is lost.
fn default_ack(destination: &str) -> AckMode {
    if destination.starts_with("/queue/") || destination.starts_with("/amq/queue/") {
        AckMode::ClientIndividual
    } else {
        AckMode::Auto
    }
}

fn show_period(p: Option<Duration>) -> String {
    p.map_or("never".to_string(), |p| {
        humantime::format_duration(p).to_string()
    })
}

/// The one line an ERROR frame becomes: its `message` header, then the
/// body's text squeezed to one line.
fn error_frame(server: &str, frame: &Frame) -> Error {
    let message = frame.get("message").unwrap_or("(no message)");
    let body = String::from_utf8_lossy(&frame.body);
    let body = body.split_whitespace().collect::<Vec<_>>().join(" ");
    let body: String = body.chars().take(300).collect();
    if body.is_empty() || body == message {
        Error::server(format!("{server} sent ERROR: {message}"))
    } else {
        Error::server(format!("{server} sent ERROR: {message}: {body}"))
    }
}

fn verbose_frames() -> bool {
    crate::log::level() >= 2
}

/// A frame for the `-vv` log: command, headers (secrets hidden) and size.
fn describe(frame: &Frame) -> String {
    let headers: Vec<String> = frame
        .headers
        .iter()
        .map(|(k, v)| format!("{k}:{}", crate::log::redact_header(k, v)))
        .collect();
    format!(
        "{} [{}] {} bytes",
        frame.command,
        headers.join(" "),
        frame.body.len()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queues_default_to_individual_acks() {
        assert_eq!(default_ack("/queue/jobs"), AckMode::ClientIndividual);
        assert_eq!(default_ack("/amq/queue/jobs"), AckMode::ClientIndividual);
        assert_eq!(default_ack("/topic/news"), AckMode::Auto);
    }

    #[test]
    fn error_frames_become_one_line() {
        let f = Frame::new("ERROR")
            .header("message", "Bad CONNECT")
            .body(Bytes::from_static(b"Access refused for user 'guest'\n"));
        let e = error_frame("ws://h/ws", &f);
        assert_eq!(e.kind, Kind::Server);
        assert_eq!(
            e.message,
            "ws://h/ws sent ERROR: Bad CONNECT: Access refused for user 'guest'"
        );
    }
}
