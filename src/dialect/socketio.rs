//! Socket.IO v5 client over an Engine.IO transport: CONNECT to a namespace
//! (with an auth payload), events in and out, acknowledgements both ways,
//! binary attachments, and a DISCONNECT before the transport closes.
//!
//! The packet codec is [`crate::codec::socketio`] and the transport
//! [`crate::transport::engineio`]; this is the state machine between them.
//!
//! A received event becomes one [`Message`]: the namespace is its topic,
//! the event name its `event`, and its arguments the body, shaped so that
//! `-o line` and `-o raw` print something useful ([`body_of`]):
//! no argument → an empty body; one → that argument (a string as its text,
//! a binary attachment as its bytes, anything else as its JSON); several →
//! a JSON array of them.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use base64::Engine as _;
use bytes::Bytes;
use serde_json::value::RawValue;
use url::Url;

use crate::codec::socketio::{
    self, Decoded, Kind as PacketKind, Packet, Payload, RESERVED_EVENTS, Reassembler,
};
use crate::error::{Error, Kind, Result};
use crate::message::Message;
use crate::transport::engineio::{EngineIo, Mode, Received};
use crate::{status, trace, verbose};

/// What the user asked of the Socket.IO session.
#[derive(Clone, Debug, Default)]
pub struct SocketIoOptions {
    /// The namespace to CONNECT to (`/` is the main one).
    pub namespace: String,
    /// CONNECT's payload (`--auth`), a JSON object; never logged.
    pub auth: Option<Box<RawValue>>,
    /// The Engine.IO path (`--path`).
    pub path: String,
    pub mode: Mode,
    /// Sent right after the CONNECT is accepted (`--emit`), on every
    /// connection, so `tail` rejoins its rooms after a reconnect.
    pub emits: Vec<Emit>,
    /// Only these events are handed out (`--event` on subscribe); empty: all.
    pub events: Vec<String>,
    /// The arguments of our ACK when the server asks for one (`--ack-reply`).
    pub ack_reply: Vec<Box<RawValue>>,
    /// The event that publishing emits (`--event` on publish).
    pub event: String,
    /// Each published body is a JSON array of the emit's arguments (the
    /// command line's `ARG`s) rather than one argument.
    pub spread: bool,
    /// Bytes attached to every emit as its last argument (`--binary-file`).
    pub attachment: Option<Bytes>,
}

/// What one read gave.
#[derive(Debug)]
pub enum Incoming {
    /// An event.
    Message(Message),
    /// The ACK of one of our emits, with its arguments as the body.
    Reply(Message),
    Closed {
        reason: String,
        clean: bool,
    },
}

/// An event to emit: its name and arguments.
#[derive(Clone, Debug)]
pub struct Emit {
    pub event: String,
    pub args: Vec<Box<RawValue>>,
}

/// An argument from the command line: its JSON when it is valid JSON, else
/// the text as a JSON string (`5` is a number, `hi` and `"hi"` strings).
pub fn arg(text: &str) -> Box<RawValue> {
    serde_json::from_str::<Box<RawValue>>(text).unwrap_or_else(|_| socketio::string_arg(text))
}

/// The arguments one command-line value stands for: a JSON array is the
/// argument list itself (`[]` for none, `["room",1]` for two); any other
/// value is one argument, as [`arg`] reads it.
pub fn args(text: &str) -> Vec<Box<RawValue>> {
    match serde_json::from_str::<Vec<Box<RawValue>>>(text) {
        Ok(list) => list,
        Err(_) => vec![arg(text)],
    }
}

/// The body [`SocketIoOptions::spread`] publishing sends: the JSON array of
/// the arguments.
pub fn args_body(values: &[String]) -> Bytes {
    let mut out = String::from("[");
    for (i, v) in values.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(arg(v).get());
    }
    out.push(']');
    Bytes::from(out)
}

/// An event name we may emit.
pub fn check_event_name(name: &str) -> Result<()> {
    if name.is_empty() {
        return Err(Error::usage("a Socket.IO event name cannot be empty"));
    }
    if RESERVED_EVENTS.contains(&name) {
        return Err(Error::usage(format!(
            "`{name}` is reserved by Socket.IO and cannot be emitted (reserved: {})",
            RESERVED_EVENTS.join(", ")
        )));
    }
    Ok(())
}

/// `--auth`: the CONNECT payload, which must be a JSON object.
pub fn parse_auth(text: &str) -> Result<Box<RawValue>> {
    match serde_json::from_str::<Box<RawValue>>(text) {
        Ok(v) if v.get().starts_with('{') => Ok(v),
        _ => Err(Error::usage(
            "--auth must be a JSON object, e.g. --auth '{\"token\":\"…\"}'",
        )),
    }
}

/// How long the server has to answer our CONNECT, at least.
const CONNECT_WAIT: Duration = Duration::from_secs(10);

/// How long closing may take at least, after any wait for acks.
const CLOSE_WAIT: Duration = Duration::from_secs(2);

pub struct SocketIoClient {
    engine: EngineIo,
    opts: SocketIoOptions,
    url: Url,
    topic: Arc<str>,
    reassembler: Reassembler,
    next_ack_id: u64,
    /// Emits waiting for their ACK: ack id → emit number.
    awaiting: HashMap<u64, u64>,
    confirm: bool,
    sent: u64,
    acked: u64,
    /// ACK replies that came while closing, for the caller to print.
    replies: Vec<Message>,
    /// Ack ids of server events that asked us for an ACK, not yet answered.
    owed: Vec<u64>,
    /// Something was fed since the last flush.
    unflushed: bool,
    /// An event was emitted without asking for an ACK, so we cannot know
    /// whether the server has handled it yet.
    unconfirmed: bool,
    /// The server ended the session; nothing more can be sent.
    ended: bool,
    /// How the server ended it.
    end_reason: String,
    received_at: SystemTime,
}

impl SocketIoClient {
    /// Join the namespace over `engine`, an Engine.IO session the caller
    /// opened (as STOMP is handed its duplex), within `wait`.
    pub async fn open(
        engine: EngineIo,
        url: &Url,
        sio: SocketIoOptions,
        wait: Duration,
    ) -> Result<SocketIoClient> {
        let mut link = SocketIoClient {
            engine,
            url: url.clone(),
            topic: Arc::from(sio.namespace.as_str()),
            opts: sio,
            reassembler: Reassembler::default(),
            next_ack_id: 0,
            awaiting: HashMap::new(),
            confirm: false,
            sent: 0,
            acked: 0,
            replies: Vec::new(),
            owed: Vec::new(),
            unflushed: false,
            unconfirmed: false,
            ended: false,
            end_reason: String::new(),
            received_at: SystemTime::now(),
        };
        link.join(wait.max(CONNECT_WAIT)).await?;
        let emits = std::mem::take(&mut link.opts.emits);
        for e in &emits {
            link.emit(&e.event, e.args.clone(), Vec::new(), false)
                .await?;
            verbose!("emitted {}({})", e.event, show_args(&e.args));
        }
        link.opts.emits = emits;
        link.flush().await?;
        Ok(link)
    }

    /// CONNECT to the namespace and wait for the server's answer.
    async fn join(&mut self, wait: Duration) -> Result<()> {
        let mut connect = Packet::new(PacketKind::Connect, &self.opts.namespace);
        if let Some(auth) = &self.opts.auth {
            connect.payload = Payload::Value(auth.clone());
        }
        verbose!(
            "CONNECT to namespace {}{}",
            self.opts.namespace,
            if self.opts.auth.is_some() {
                " with auth [redacted]"
            } else {
                ""
            }
        );
        self.send(&connect).await?;
        self.flush().await?;
        let namespace = self.opts.namespace.clone();
        let answer = async {
            loop {
                let Some(d) = self.next_decoded().await? else {
                    return Err(Error::server(format!(
                        "{} closed the session before answering the CONNECT to {namespace}",
                        self.shown()
                    )));
                };
                if d.packet.namespace != namespace {
                    continue;
                }
                match (d.packet.kind, d.packet.payload) {
                    (PacketKind::Connect, payload) => {
                        let sid = match payload {
                            Payload::Value(v) => serde_json::from_str::<serde_json::Value>(v.get())
                                .ok()
                                .and_then(|v| v["sid"].as_str().map(str::to_string)),
                            _ => None,
                        };
                        verbose!(
                            "connected to namespace {namespace} over {} (socket id {})",
                            self.engine.transport_name(),
                            sid.as_deref().unwrap_or("?")
                        );
                        return Ok(());
                    }
                    (PacketKind::ConnectError, payload) => {
                        return Err(self.connect_error(&payload));
                    }
                    (kind, _) => trace!("ignoring {kind:?} before the CONNECT answer"),
                }
            }
        };
        match tokio::time::timeout(wait, answer).await {
            Ok(result) => result,
            Err(_) => Err(Error::connect(format!(
                "{} did not answer the CONNECT to namespace {} within {}",
                self.shown(),
                self.opts.namespace,
                humantime::format_duration(wait)
            ))),
        }
    }

    fn connect_error(&self, payload: &Payload) -> Error {
        let (message, data) = match payload {
            Payload::Value(v) => match serde_json::from_str::<serde_json::Value>(v.get()) {
                Ok(serde_json::Value::String(s)) => (s, None),
                Ok(obj) => (
                    obj["message"]
                        .as_str()
                        .unwrap_or("(no message)")
                        .to_string(),
                    obj.get("data").map(|d| d.to_string()),
                ),
                Err(_) => ("(no message)".to_string(), None),
            },
            _ => ("(no message)".to_string(), None),
        };
        let data = data.map(|d| format!(" (data: {d})")).unwrap_or_default();
        // A pasted Engine.IO URL puts the engine path where the namespace goes.
        let hint = if message == "Invalid namespace" && self.opts.namespace.contains("socket.io") {
            "; the URL's path is the namespace, the Engine.IO path is --path"
        } else {
            ""
        };
        Error::server(format!(
            "{} refused namespace {}: {message}{data}{hint}",
            self.shown(),
            self.opts.namespace
        ))
    }

    pub fn set_confirm(&mut self, confirm: bool) {
        self.confirm = confirm;
    }

    /// The next decoded packet; None when the server ended the session.
    async fn next_decoded(&mut self) -> Result<Option<Decoded>> {
        loop {
            let received = self.engine.next().await?;
            let decoded = match received {
                Received::Message(text) => {
                    if crate::log::level() >= 2 {
                        trace!("recv {}", show_packet(&text));
                    }
                    self.reassembler.text(&text)
                }
                Received::Binary(bytes) => {
                    trace!("recv attachment of {} bytes", bytes.len());
                    self.reassembler.binary(bytes)
                }
                Received::Closed { reason } => {
                    verbose!("the server ended the session: {reason}");
                    self.ended = true;
                    self.end_reason = reason;
                    return Ok(None);
                }
            };
            match decoded {
                Ok(Some(d)) => return Ok(Some(d)),
                Ok(None) => {}
                Err(e) => {
                    return Err(Error::server(format!(
                        "{} sent a malformed Socket.IO packet: {e}",
                        self.shown()
                    )));
                }
            }
        }
    }

    /// The next event or close. `draining`: reading what is already
    /// buffered, so the receive time of the burst's first is reused (a clock
    /// read per message shows in throughput).
    pub async fn next(&mut self, draining: bool) -> Result<Incoming> {
        loop {
            self.answer_owed().await?;
            let Some(d) = self.next_decoded().await? else {
                return Ok(Incoming::Closed {
                    reason: self.end_reason.clone(),
                    clean: true,
                });
            };
            if !draining {
                self.received_at = SystemTime::now();
            }
            if let Some(read) = self.on_packet(d)? {
                return Ok(read);
            }
        }
    }

    fn on_packet(&mut self, d: Decoded) -> Result<Option<Incoming>> {
        let Decoded {
            packet,
            attachments,
        } = d;
        if packet.namespace != self.opts.namespace {
            trace!("ignoring a packet for namespace {}", packet.namespace);
            return Ok(None);
        }
        match (packet.kind, packet.payload) {
            (PacketKind::Event | PacketKind::BinaryEvent, Payload::Event { name, args }) => {
                if let Some(id) = packet.id {
                    self.owed.push(id);
                }
                if !self.opts.events.is_empty() && !self.opts.events.contains(&name) {
                    trace!("skipping event {name}: not asked for with --event");
                    return Ok(None);
                }
                let m = self.message(name, body_of(args, &attachments), self.received_at);
                Ok(Some(Incoming::Message(m)))
            }
            (PacketKind::Ack | PacketKind::BinaryAck, Payload::Ack(args)) => {
                let Some(n) = packet.id.and_then(|id| self.awaiting.remove(&id)) else {
                    trace!("ignoring an ACK nobody asked for (id {:?})", packet.id);
                    return Ok(None);
                };
                self.acked += 1;
                if self.confirm {
                    status!("emit {n} confirmed");
                }
                let event = self.opts.event.clone();
                let mut m = self.message(event, body_of(args, &attachments), SystemTime::now());
                m.headers.push(("ack".into(), n.to_string()));
                Ok(Some(Incoming::Reply(m)))
            }
            (PacketKind::Disconnect, _) => {
                self.ended = true;
                Err(Error::server(format!(
                    "{} disconnected this client from namespace {} (kicked; not reconnecting)",
                    self.shown(),
                    self.opts.namespace
                )))
            }
            (PacketKind::ConnectError, payload) => Err(self.connect_error(&payload)),
            (kind, _) => {
                trace!("ignoring a {kind:?} packet");
                Ok(None)
            }
        }
    }

    /// Send the ACKs the server asked for (with `--ack-reply`'s arguments).
    async fn answer_owed(&mut self) -> Result<()> {
        if self.ended {
            self.owed.clear();
            return Ok(());
        }
        while let Some(&id) = self.owed.first() {
            let mut ack = Packet::new(PacketKind::Ack, &self.opts.namespace);
            ack.id = Some(id);
            ack.payload = Payload::Ack(self.opts.ack_reply.clone());
            self.send(&ack).await?;
            self.owed.remove(0);
        }
        if self.unflushed {
            self.flush().await?;
        }
        Ok(())
    }

    /// Queue an emit of the publish event with `body` as its argument(s).
    pub async fn feed(&mut self, body: Bytes, binary: bool) -> Result<()> {
        let mut attachments = Vec::new();
        let mut args = if self.opts.spread {
            serde_json::from_slice::<Vec<Box<RawValue>>>(&body).map_err(|e| {
                Error::usage(format!("the emit's arguments are not a JSON array: {e}"))
            })?
        } else if binary {
            attachments.push(body);
            vec![socketio::placeholder(0)]
        } else {
            vec![arg(&String::from_utf8_lossy(&body))]
        };
        if let Some(bytes) = &self.opts.attachment {
            args.push(socketio::placeholder(attachments.len()));
            attachments.push(bytes.clone());
        }
        let event = self.opts.event.clone();
        self.emit(&event, args, attachments, self.confirm).await
    }

    async fn emit(
        &mut self,
        event: &str,
        args: Vec<Box<RawValue>>,
        attachments: Vec<Bytes>,
        ack: bool,
    ) -> Result<()> {
        let kind = if attachments.is_empty() {
            PacketKind::Event
        } else {
            PacketKind::BinaryEvent
        };
        let mut p = Packet::new(kind, &self.opts.namespace);
        p.attachments = attachments.len();
        self.unconfirmed |= !ack;
        if ack {
            self.sent += 1;
            let id = self.next_ack_id;
            self.next_ack_id += 1;
            p.id = Some(id);
            self.awaiting.insert(id, self.sent);
        }
        p.payload = Payload::Event {
            name: event.to_string(),
            args,
        };
        self.send(&p).await?;
        for a in attachments {
            self.engine.feed_binary(a).await?;
        }
        Ok(())
    }

    async fn send(&mut self, p: &Packet) -> Result<()> {
        if crate::log::level() >= 2 {
            if p.kind == PacketKind::Connect && p.payload != Payload::None {
                trace!("send CONNECT {} [auth redacted]", p.namespace);
            } else {
                let mut text = String::new();
                p.encode(&mut text);
                trace!("send {}", show_packet(text.as_bytes()));
            }
        }
        self.engine.feed_message(|out| p.encode(out)).await?;
        self.unflushed = true;
        Ok(())
    }

    pub async fn flush(&mut self) -> Result<()> {
        self.engine.flush().await?;
        self.unflushed = false;
        Ok(())
    }

    /// ACK replies that arrived while [`SocketIoClient::close`] waited for
    /// them, in order.
    pub fn take_replies(&mut self) -> Vec<Message> {
        std::mem::take(&mut self.replies)
    }

    /// Close without losing anything: with `--confirm`, wait (up to `wait`)
    /// for every emit's ACK first (keeping the replies for
    /// [`SocketIoClient::take_replies`]), handing events that arrive meanwhile
    /// to `on_message`; answer what the server asked; DISCONNECT from the
    /// namespace; close the transport. True when the server has everything:
    /// every ACK came (with `--confirm`), or the transport's close was
    /// answered.
    pub async fn close(
        &mut self,
        wait: Duration,
        mut on_message: impl FnMut(Message) -> Result<()>,
    ) -> Result<bool> {
        if self.ended {
            return Ok(!self.confirm || self.acked >= self.sent);
        }
        let deadline = tokio::time::Instant::now() + wait;
        if self.unflushed {
            self.flush().await?;
        }
        while self.confirm && self.acked < self.sent {
            let next = match tokio::time::timeout_at(deadline, self.next(false)).await {
                Err(_) => break,
                Ok(next) => next,
            };
            match next {
                Ok(Incoming::Message(m)) => on_message(m)?,
                Ok(Incoming::Reply(m)) => self.replies.push(m),
                Ok(Incoming::Closed { .. }) => break,
                Err(e) if e.kind == Kind::Server => return Err(e),
                Err(e) => {
                    verbose!("while waiting for acknowledgements: {e}");
                    break;
                }
            }
        }
        if self.confirm && self.acked < self.sent {
            status!(
                "{} of {} emits acknowledged within {}",
                self.acked,
                self.sent,
                humantime::format_duration(wait)
            );
        }
        if self.ended {
            return Ok(!self.confirm || self.acked >= self.sent);
        }
        // A server that stopped answering must not hold the exit forever.
        let deadline = deadline.max(tokio::time::Instant::now() + CLOSE_WAIT);
        // socket.io hands an event to its handler on the tick after reading
        // it, and drops it if a DISCONNECT read in the same tick marked the
        // socket gone first. Over polling our DISCONNECT goes in a POST of
        // its own, after the server answered the last emits' POST, so it
        // comes later; over WebSocket only an ACK proves an emit was
        // handled, so without one pubcat just closes the WebSocket, which
        // the server sees only after it has handled everything before it.
        let disconnect = self.engine.is_polling() || !self.unconfirmed;
        let closing = async {
            self.answer_owed().await?;
            if disconnect {
                self.send(&Packet::new(PacketKind::Disconnect, &self.opts.namespace))
                    .await?;
                self.flush().await?;
            } else {
                verbose!(
                    "closing the WebSocket without a DISCONNECT, so the server handles every emit"
                );
            }
            self.ended = true;
            self.engine.close().await
        };
        let closed = match tokio::time::timeout_at(deadline, closing).await {
            Ok(closed) => closed?,
            Err(_) => {
                verbose!("the server did not take the DISCONNECT in time");
                false
            }
        };
        Ok(if self.confirm {
            self.acked >= self.sent
        } else {
            closed
        })
    }

    /// A message of this namespace: event `event`, the body and kind
    /// [`body_of`] made of its arguments.
    fn message(&self, event: String, (body, binary): (Bytes, bool), at: SystemTime) -> Message {
        let mut m = Message::received(
            self.topic.clone(),
            body,
            binary,
            self.engine.transport_name(),
            at,
        );
        m.event = Some(event.into());
        m
    }

    fn shown(&self) -> String {
        crate::log::redact_url(&self.url)
    }
}

/// The body of an event or ACK with `args` (see the module doc). An
/// attachment inside JSON becomes `{"$binary":"<base64>"}`.
pub fn body_of(mut args: Vec<Box<RawValue>>, attachments: &[Bytes]) -> (Bytes, bool) {
    match args.len() {
        0 => (Bytes::new(), false),
        1 => {
            let arg = args.remove(0);
            if !attachments.is_empty()
                && let Some(bytes) =
                    socketio::placeholder_num(&arg).and_then(|n| attachments.get(n))
            {
                return (bytes.clone(), true);
            }
            if arg.get().starts_with('"')
                && let Ok(text) = serde_json::from_str::<String>(arg.get())
            {
                return (Bytes::from(text), false);
            }
            if attachments.is_empty() {
                let text: Box<str> = arg.into();
                return (Bytes::from(String::from(text)), false);
            }
            (Bytes::from(with_binaries(arg.get(), attachments)), false)
        }
        _ => {
            let mut out = String::with_capacity(args.iter().map(|a| a.get().len() + 1).sum());
            socketio::push_json_array(&mut out, &args);
            if !attachments.is_empty() {
                out = with_binaries(&out, attachments);
            }
            (Bytes::from(out), false)
        }
    }
}

/// `json` with every placeholder replaced by its attachment, as
/// `{"$binary":"<base64>"}`.
fn with_binaries(json: &str, attachments: &[Bytes]) -> String {
    fn walk(v: &mut serde_json::Value, attachments: &[Bytes]) {
        match v {
            serde_json::Value::Array(items) => items.iter_mut().for_each(|i| walk(i, attachments)),
            serde_json::Value::Object(map) => {
                let num = (map.get("_placeholder") == Some(&serde_json::Value::Bool(true)))
                    .then(|| map.get("num").and_then(|n| n.as_u64()))
                    .flatten();
                match num.and_then(|n| attachments.get(n as usize)) {
                    Some(bytes) => {
                        let b64 = base64::engine::general_purpose::STANDARD.encode(bytes);
                        *v = serde_json::json!({ "$binary": b64 });
                    }
                    None => map.values_mut().for_each(|i| walk(i, attachments)),
                }
            }
            _ => {}
        }
    }
    match serde_json::from_str::<serde_json::Value>(json) {
        Ok(mut v) => {
            walk(&mut v, attachments);
            v.to_string()
        }
        Err(_) => json.to_string(),
    }
}

fn show_args(args: &[Box<RawValue>]) -> String {
    args.iter().map(|a| a.get()).collect::<Vec<_>>().join(", ")
}

/// A packet for the `-vv` log, cut to a readable length.
fn show_packet(text: &[u8]) -> String {
    let s = String::from_utf8_lossy(text);
    if s.chars().count() > 200 {
        let cut: String = s.chars().take(200).collect();
        format!("{cut}… ({} bytes)", text.len())
    } else {
        s.into_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(s: &str) -> Box<RawValue> {
        RawValue::from_string(s.to_string()).unwrap()
    }

    #[test]
    fn command_line_values_become_arguments() {
        assert_eq!(arg("5").get(), "5");
        assert_eq!(arg("hi").get(), r#""hi""#);
        assert_eq!(arg(r#""hi""#).get(), r#""hi""#);
        assert_eq!(arg(r#"{"a":1}"#).get(), r#"{"a":1}"#);
        assert_eq!(arg("{broken").get(), r#""{broken""#);
        let list: Vec<String> = args(r#"["room",1]"#)
            .iter()
            .map(|a| a.get().to_string())
            .collect();
        assert_eq!(list, vec![r#""room""#, "1"]);
        assert!(args("[]").is_empty());
        assert_eq!(args("room1")[0].get(), r#""room1""#);
        assert_eq!(
            args_body(&["a".into(), "2".into(), r#"{"b":3}"#.into()]),
            r#"["a",2,{"b":3}]"#
        );
    }

    #[test]
    fn reserved_names_and_bad_auth_are_usage_errors() {
        assert!(check_event_name("chat").is_ok());
        for bad in ["", "connect", "disconnect", "newListener"] {
            assert_eq!(
                check_event_name(bad).unwrap_err().kind,
                Kind::Usage,
                "{bad}"
            );
        }
        assert!(parse_auth(r#"{"token":"x"}"#).is_ok());
        for bad in ["[1]", "\"x\"", "{", ""] {
            assert_eq!(parse_auth(bad).unwrap_err().kind, Kind::Usage, "{bad}");
        }
    }

    #[test]
    fn bodies_have_one_documented_shape() {
        let (b, bin) = body_of(vec![], &[]);
        assert_eq!((&b[..], bin), (&b""[..], false));
        let (b, _) = body_of(vec![raw(r#""line one\nline two""#)], &[]);
        assert_eq!(&b[..], b"line one\nline two");
        let (b, _) = body_of(vec![raw(r#"{"seq":1, "x":[1,2]}"#)], &[]);
        assert_eq!(
            &b[..],
            br#"{"seq":1, "x":[1,2]}"#,
            "the server's JSON exactly"
        );
        let (b, _) = body_of(vec![raw(r#""room""#), raw("12345678901234567890123")], &[]);
        assert_eq!(&b[..], br#"["room",12345678901234567890123]"#);
        let att = [Bytes::from_static(&[0, 1, 255])];
        let (b, bin) = body_of(vec![socketio::placeholder(0)], &att);
        assert_eq!((&b[..], bin), (&[0u8, 1, 255][..], true));
        let (b, bin) = body_of(vec![raw(r#""pic""#), socketio::placeholder(0)], &att);
        assert_eq!(
            (&b[..], bin),
            (&br#"["pic",{"$binary":"AAH/"}]"#[..], false)
        );
        let (b, _) = body_of(vec![raw(r#"{"file":{"_placeholder":true,"num":0}}"#)], &att);
        assert_eq!(&b[..], br#"{"file":{"$binary":"AAH/"}}"#);
    }
}
