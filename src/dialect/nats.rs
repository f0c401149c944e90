//! NATS client over a WebSocket (nats-server's `websocket {}` block),
//! handed in as a [`Duplex`]: INFO, CONNECT and a PING answered by PONG
//! (connected and authorised), SUB per subject (in a queue group when
//! asked), PUB or HPUB per subject, PONG to every server PING, and a
//! PING/PONG before the WebSocket closes, so the server has processed
//! everything we sent.
//!
//! The operation codec is [`crate::codec::nats`]; this is the state
//! machine around it. The server's binary messages do not align with
//! operations (one may hold many, or part of one), so what arrives is
//! buffered and decoded as a byte stream.
//!
//! Core NATS has no per-message acknowledgement: `--confirm` is the PONG
//! that answers a PING sent after the last PUB (the server processes a
//! connection's operations in order).

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use bytes::{Bytes, BytesMut};
use url::Url;

use crate::codec::nats::{
    self as codec, Connect, Headers, Info, Msg, PING, PONG, ServerError, ServerOp,
};
use crate::codec::nkey::NKey;
use crate::error::{Error, Kind, Result};
use crate::message::Message;
use crate::transport::duplex::{Data, Duplex};
use crate::{status, trace, verbose, warn};

pub use super::Incoming;

/// What the user asked of the NATS session.
#[derive(Clone, Default)]
pub struct NatsOptions {
    /// Subjects: SUB to each (wildcards allowed), or PUB to each.
    pub subjects: Vec<String>,
    /// `--queue-group`: the subscriptions compete for messages.
    pub queue_group: Option<String>,
    /// CONNECT's `user` and `pass` (`--user`, `--password`).
    pub user: Option<String>,
    pub pass: Option<String>,
    /// CONNECT's `auth_token` (`--token`).
    pub token: Option<String>,
    /// Headers of every message published (HPUB), from `-H`.
    pub headers: Vec<(String, String)>,
    /// Subscribe to the subjects (else only publish).
    pub subscribe: bool,
    /// `pubcat request`: the inbox subscribed to before the request goes
    /// out, and its messages' reply subject.
    pub inbox: Option<String>,
    /// `--nkey` or `--creds`: the key that signs the server's nonce, and
    /// with `--creds` the user JWT that goes with it.
    pub nkey: Option<Arc<NKey>>,
    pub jwt: Option<String>,
}

impl std::fmt::Debug for NatsOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let hidden = |s: &Option<String>| s.as_ref().map(|_| "[redacted]");
        f.debug_struct("NatsOptions")
            .field("subjects", &self.subjects)
            .field("queue_group", &self.queue_group)
            .field("user", &self.user)
            .field("pass", &hidden(&self.pass))
            .field("token", &hidden(&self.token))
            .field("headers", &self.headers)
            .field("subscribe", &self.subscribe)
            .field("inbox", &self.inbox)
            .field("nkey", &self.nkey)
            .field("jwt", &self.jwt.as_ref().map(|_| "[redacted]"))
            .finish()
    }
}

impl NatsOptions {
    /// The flags' mistakes, before any connection: subjects (wildcards only
    /// to subscribe), the queue group, the header names and values.
    pub fn check(&self) -> Result<()> {
        if self.subjects.is_empty() {
            return Err(Error::usage(
                "NATS needs a subject: -t SUBJECT (to subscribe, wildcards * and > too)",
            ));
        }
        for subject in &self.subjects {
            codec::check_subject(subject, self.subscribe)
                .map_err(|e| Error::usage(format!("-t: {e}")))?;
        }
        if let Some(q) = &self.queue_group {
            if !self.subscribe {
                return Err(Error::usage(
                    "--queue-group is for subscribers (sub, tail, connect)",
                ));
            }
            codec::check_queue_group(q).map_err(|e| Error::usage(format!("--queue-group: {e}")))?;
        }
        for (name, value) in &self.headers {
            codec::check_header_name(name)
                .and_then(|()| codec::check_header_value(value))
                .map_err(|e| Error::usage(format!("-H: {e}")))?;
        }
        Ok(())
    }
}

pub struct NatsClient {
    link: Duplex,
    url: Url,
    transport_name: &'static str,
    /// What arrived and is not decoded yet.
    buf: BytesMut,
    /// The largest MSG payload accepted (`--max-message-size`).
    max_in: usize,
    info: Info,
    /// The header block of every PUB (None: plain PUB).
    headers: Option<Headers>,
    confirm: bool,
    /// PUBs sent.
    sent: u64,
    /// PINGs sent, and PONGs heard back (they come in order).
    pings_sent: u64,
    pongs_heard: u64,
    /// Server PINGs not answered yet (answered at the next chance to
    /// write; a read that only drains what is buffered does not write).
    pongs_owed: u32,
    closing: bool,
    /// The server closed the transport (its close is answered already).
    server_closed: bool,
    /// ... with close code 1000 (or 1001).
    server_closed_cleanly: bool,
    /// Messages that came while the subscriptions were being confirmed.
    early: VecDeque<Message>,
    /// How long INFO and the PONGs to CONNECT and SUB may take
    /// (`--connect-timeout`).
    answer_wait: Duration,
    opts: NatsOptions,
}

impl NatsClient {
    /// Speak NATS over `link`, opened to `url`: INFO, CONNECT, PING/PONG,
    /// then SUB when asked; each answer within `answer_wait`
    /// (`--connect-timeout`).
    pub async fn open(
        link: Duplex,
        url: &Url,
        opts: NatsOptions,
        max_frame: usize,
        transport_name: &'static str,
        answer_wait: Duration,
    ) -> Result<NatsClient> {
        let mut client = NatsClient {
            link,
            url: url.clone(),
            transport_name,
            buf: BytesMut::new(),
            max_in: max_frame,
            info: Info::default(),
            headers: None,
            confirm: false,
            sent: 0,
            pings_sent: 0,
            pongs_heard: 0,
            pongs_owed: 0,
            closing: false,
            server_closed: false,
            server_closed_cleanly: false,
            early: VecDeque::new(),
            answer_wait,
            opts,
        };
        client.handshake().await?;
        // A request's reply comes to its inbox, subscribed to before the
        // request goes out (alone: not in a queue group).
        if let Some(inbox) = client.opts.inbox.clone() {
            client.subscribe(vec![inbox], None).await?;
        } else if client.opts.subscribe {
            let subjects = client.opts.subjects.clone();
            let group = client.opts.queue_group.clone();
            client.subscribe(subjects, group).await?;
        }
        Ok(client)
    }

    async fn handshake(&mut self) -> Result<()> {
        let info = tokio::time::timeout(self.answer_wait, self.next_op())
            .await
            .map_err(|_| {
                Error::connect(format!(
                    "{}: timed out: no NATS INFO within {} (--connect-timeout; is it nats-server's websocket port?)",
                    self.shown(),
                    humantime::format_duration(self.answer_wait)
                ))
            })?
            .map_err(|e| self.refused(e))?;
        match info {
            Some(ServerOp::Info(info)) => self.info = *info,
            Some(ServerOp::Err(ServerError(text))) => {
                return Err(Error::server(format!(
                    "{} sent -ERR '{text}'",
                    self.shown()
                )));
            }
            Some(other) => {
                return Err(Error::server(format!(
                    "{} sent {} instead of INFO: not a NATS server?",
                    self.shown(),
                    op_name(&other)
                )));
            }
            None => {
                return Err(Error::server(format!(
                    "{} closed the connection before sending INFO",
                    self.shown()
                )));
            }
        }
        verbose!(
            "NATS server {} {}{}, max payload {} bytes{}",
            self.info.server_id,
            self.info.version,
            if self.info.headers {
                ", headers"
            } else {
                ", no headers"
            },
            self.info.max_payload,
            if self.info.auth_required {
                ", auth required"
            } else {
                ""
            }
        );
        if !self.opts.headers.is_empty() && !self.opts.subscribe {
            if self.info.headers {
                self.headers = Some(Headers {
                    fields: self.opts.headers.clone(),
                    ..Headers::default()
                });
            } else {
                warn!("the NATS server does not take headers: -H is not sent");
            }
        }
        if self.opts.nkey.is_some() && self.info.nonce.is_none() {
            warn!("the NATS server sent no nonce to sign: --nkey/--creds are not used");
        }
        let connect = connect_op(&self.opts, &self.info);
        let mut line = Vec::new();
        connect.encode(&mut line);
        if verbose_ops() {
            trace!("send {}", describe_connect(&connect));
        }
        self.link.feed(Data::Binary(line.into())).await?;
        // A -ERR here is the refusal (Authorization Violation …): on_op
        // makes it exit 4.
        let answered = self
            .ping_and_wait("no answer to CONNECT's PING")
            .await
            .map_err(|e| self.refused(e))?;
        if !answered {
            return Err(Error::server(format!(
                "{} closed the connection before answering CONNECT",
                self.shown()
            )));
        }
        verbose!("NATS connected");
        Ok(())
    }

    /// A PING, and its PONG within `answer_wait` (`--connect-timeout`):
    /// the server has handled everything before it. Messages meanwhile are
    /// kept for [`NatsClient::next`]. False when the connection closed
    /// first; on time out, the error says `what` did not happen.
    async fn ping_and_wait(&mut self, what: &str) -> Result<bool> {
        self.ping().await?;
        let target = self.pings_sent;
        tokio::time::timeout(self.answer_wait, async {
            while self.pongs_heard < target {
                let Some(op) = self.next_op().await? else {
                    return Ok(false);
                };
                if let Some(Incoming::Message(m)) = self.on_op(op)? {
                    self.early.push_back(m);
                }
            }
            Ok(true)
        })
        .await
        .map_err(|_| {
            Error::connect(format!(
                "{}: timed out: {what} within {} (--connect-timeout)",
                self.shown(),
                humantime::format_duration(self.answer_wait)
            ))
        })?
    }

    /// A close while connecting is the server's refusal (nats-server
    /// closes after -ERR, and sometimes before that arrives).
    fn refused(&self, e: Error) -> Error {
        if e.kind == Kind::Connect && self.server_closed {
            Error::server(format!(
                "{} closed the connection while it was being set up ({})",
                self.shown(),
                e.message
            ))
        } else {
            e
        }
    }

    async fn subscribe(&mut self, subjects: Vec<String>, group: Option<String>) -> Result<()> {
        for (n, subject) in subjects.iter().enumerate() {
            let sid = n as u64 + 1;
            let mut op = Vec::new();
            codec::encode_sub(subject, group.as_deref(), sid, &mut op)
                .map_err(|e| Error::usage(format!("-t: {e}")))?;
            self.write(op).await?;
        }
        // The PONG says the server has the subscriptions: a message
        // published once `sub` says it is listening is not missed.
        if !self
            .ping_and_wait("the subscriptions were not confirmed")
            .await?
        {
            return Err(Error::connect(format!(
                "{} closed the connection after the subscriptions",
                self.shown()
            )));
        }
        for (n, subject) in subjects.iter().enumerate() {
            match &group {
                Some(q) => verbose!("subscribed to {subject} in queue group {q} (sid {})", n + 1),
                None => verbose!("subscribed to {subject} (sid {})", n + 1),
            }
        }
        Ok(())
    }

    pub fn set_confirm(&mut self, confirm: bool) {
        self.confirm = confirm;
    }

    /// Queue a PUB (HPUB with `-H`) of `body` to every subject.
    pub async fn feed(&mut self, body: Bytes, _binary: bool) -> Result<()> {
        self.answer_pings().await?;
        if body.len() > self.info.max_payload {
            return Err(Error::usage(format!(
                "a message of {} bytes is over the NATS server's max_payload of {} bytes",
                body.len(),
                self.info.max_payload
            )));
        }
        for i in 0..self.opts.subjects.len() {
            let mut op = Vec::with_capacity(body.len() + 64);
            let subject = &self.opts.subjects[i];
            let inbox = self.opts.inbox.as_deref();
            match codec::encode_pub(subject, inbox, self.headers.as_ref(), &body, &mut op) {
                Ok(()) => {}
                // `pub` refuses these before connecting; `connect` and
                // `sub --send` subscribe to them, and publishing to one
                // is not a reason to end the session.
                Err(e @ codec::Error::Subject { .. }) => {
                    warn!(
                        "not published: {e} (in connect, /topic SUBJECT publishes to one subject)"
                    );
                    continue;
                }
                Err(e) => return Err(Error::usage(format!("cannot publish: {e}"))),
            }
            self.sent += 1;
            self.write(op).await?;
        }
        Ok(())
    }

    /// Answer `request` with `body` at its reply subject (the `reply-to`
    /// header); false when it has none.
    pub async fn reply(&mut self, request: &Message, body: Bytes) -> Result<bool> {
        let Some(to) = request
            .headers
            .iter()
            .find(|(k, _)| k == "reply-to")
            .map(|(_, v)| v.clone())
        else {
            return Ok(false);
        };
        self.answer_pings().await?;
        let mut op = Vec::with_capacity(body.len() + 64);
        codec::encode_pub(&to, None, None, &body, &mut op)
            .map_err(|e| Error::server(format!("cannot answer at {to}: {e}")))?;
        self.sent += 1;
        self.write(op).await?;
        Ok(true)
    }

    /// PUB to `subject` alone from now on; the subscriptions stay.
    pub fn send_to(&mut self, subject: &str) {
        self.opts.subjects = vec![subject.to_string()];
    }

    pub async fn flush(&mut self) -> Result<()> {
        self.answer_pings().await?;
        self.link.flush().await
    }

    /// Nothing to acknowledge: core NATS has no per-message acks.
    pub async fn acknowledge(&mut self) -> Result<()> {
        Ok(())
    }

    async fn write(&mut self, op: Vec<u8>) -> Result<()> {
        if verbose_ops() {
            trace!("send {}", describe(&op));
        }
        self.link.feed(Data::Binary(Bytes::from(op))).await
    }

    async fn send_ping(&mut self) -> Result<()> {
        if verbose_ops() {
            trace!("send PING");
        }
        self.link
            .feed(Data::Binary(Bytes::from_static(PING)))
            .await?;
        self.pings_sent += 1;
        Ok(())
    }

    /// PONG to every server PING read so far.
    async fn answer_pings(&mut self) -> Result<()> {
        if self.pongs_owed == 0 {
            return Ok(());
        }
        while self.pongs_owed > 0 {
            if verbose_ops() {
                trace!("send PONG");
            }
            self.link
                .feed(Data::Binary(Bytes::from_static(PONG)))
                .await?;
            self.pongs_owed -= 1;
        }
        self.link.flush().await
    }

    /// The next message or close. `draining`: only what is already buffered
    /// (nothing is written then: PONGs wait for the next call that may).
    pub async fn next(&mut self, draining: bool) -> Result<Incoming> {
        if let Some(m) = self.early.pop_front() {
            return Ok(Incoming::Message(m));
        }
        loop {
            if !draining {
                self.answer_pings().await?;
            }
            let Some(op) = self.next_op().await? else {
                return Ok(Incoming::Closed {
                    reason: "connection closed".into(),
                    clean: self.server_closed_cleanly,
                });
            };
            if let Some(incoming) = self.on_op(op)? {
                return Ok(incoming);
            }
        }
    }

    fn on_op(&mut self, op: ServerOp) -> Result<Option<Incoming>> {
        match op {
            ServerOp::Msg(msg) => Ok(Some(Incoming::Message(self.message(msg)))),
            ServerOp::Ping => {
                self.pongs_owed += 1;
                Ok(None)
            }
            ServerOp::Pong => {
                self.pongs_heard += 1;
                Ok(None)
            }
            ServerOp::Ok => Ok(None),
            ServerOp::Info(info) => {
                // Sent again when the cluster changes, or in lame-duck mode.
                self.info = *info;
                Ok(None)
            }
            ServerOp::Err(ServerError(text)) => Err(Error::server(format!(
                "{} sent -ERR '{text}'",
                self.shown()
            ))),
        }
    }

    fn message(&self, msg: Msg) -> Message {
        to_message(msg, self.transport_name)
    }

    /// The next decoded operation. None when the socket closed while we
    /// were closing it.
    async fn next_op(&mut self) -> Result<Option<ServerOp>> {
        let stream = super::Stream {
            unit: "NATS operation",
            binary_only: None,
        };
        let max = self.max_in;
        match super::next_unit(&mut self.link, &mut self.buf, &self.url, &stream, |b| {
            ServerOp::decode(b, max)
        })
        .await?
        {
            super::Unit::Decoded(op) => {
                if verbose_ops() {
                    trace!("recv {}", describe_op(&op));
                }
                Ok(Some(op))
            }
            super::Unit::Closed { reason, clean } => {
                self.server_closed = true;
                self.server_closed_cleanly = clean;
                if !self.closing {
                    return Err(Error::connect(format!(
                        "{} closed the connection ({reason})",
                        self.shown()
                    )));
                }
                Ok(None)
            }
        }
    }

    /// Close without losing anything: a PING after everything we sent,
    /// and its PONG (up to `wait`): the server has processed every PUB
    /// before it. Then the WebSocket close, read to its end. Messages still
    /// arriving go to `on_message`. True when the PONG came (or, without
    /// `--confirm`, the server closed the WebSocket cleanly).
    pub async fn close(
        &mut self,
        wait: Duration,
        mut on_message: impl FnMut(Message) -> Result<()>,
    ) -> Result<bool> {
        if self.closing {
            return Ok(false);
        }
        let deadline = tokio::time::Instant::now() + wait;
        let mut target = None;
        if !self.server_closed {
            self.ping().await?;
            target = Some(self.pings_sent);
            let pong = |c: &NatsClient| c.pongs_heard >= c.pings_sent;
            self.drain_until(deadline, pong, &mut on_message).await?;
        }
        let ponged = target.is_some_and(|t| self.pongs_heard >= t);
        if self.confirm {
            if ponged {
                status!(
                    "{} message(s) confirmed: the server answered the PING after them",
                    self.sent
                );
            } else {
                verbose!(
                    "no PONG for the PING after {} message(s) within {}",
                    self.sent,
                    humantime::format_duration(wait)
                );
            }
        }
        self.closing = true;
        let goodbye = deadline.max(tokio::time::Instant::now() + wait.min(Duration::from_secs(2)));
        if !self.server_closed {
            self.server_closed_cleanly = self.link.close_by(goodbye).await;
        }
        Ok(ponged || (!self.confirm && self.server_closed_cleanly))
    }

    /// Read operations until `done` holds, the socket ends or `deadline`
    /// passes; messages go to `on_message`, a -ERR is the error.
    async fn drain_until(
        &mut self,
        deadline: tokio::time::Instant,
        done: impl Fn(&NatsClient) -> bool,
        on_message: &mut impl FnMut(Message) -> Result<()>,
    ) -> Result<()> {
        for m in std::mem::take(&mut self.early) {
            on_message(m)?;
        }
        while !done(self) && !self.server_closed {
            let op = match tokio::time::timeout_at(deadline, self.next_op()).await {
                Err(_) => return Ok(()),
                Ok(Ok(Some(op))) => op,
                Ok(Ok(None)) => return Ok(()),
                Ok(Err(e)) if e.kind == Kind::Server => return Err(e),
                Ok(Err(e)) => {
                    verbose!("while closing: {e}");
                    return Ok(());
                }
            };
            if let Some(Incoming::Message(m)) = self.on_op(op)? {
                on_message(m)?;
            }
            self.answer_pings().await?;
        }
        Ok(())
    }

    /// True when anything arrived since the last call (the transport
    /// notes every frame it hands us).
    pub fn take_heard(&mut self) -> bool {
        self.link.take_heard()
    }

    /// The keep-alive: a NATS PING (its PONG proves the server, not just
    /// the socket, alive).
    pub async fn ping(&mut self) -> Result<bool> {
        self.answer_pings().await?;
        self.send_ping().await?;
        self.link.flush().await?;
        Ok(true)
    }

    fn shown(&self) -> String {
        crate::log::redact_url(&self.url)
    }
}

/// A MSG/HMSG as a message: its subject the topic, its header block's
/// fields (and status) and its reply subject as headers, its payload
/// byte-exact, binary when not UTF-8.
fn to_message(msg: Msg, transport_name: &'static str) -> Message {
    let binary = std::str::from_utf8(&msg.payload).is_err();
    let mut m = Message::received(
        Arc::from(msg.subject),
        msg.payload,
        binary,
        transport_name,
        SystemTime::now(),
    );
    if let Some(h) = msg.headers {
        m.headers = h.fields;
        if let Some(status) = h.status {
            m.headers.push(("status".into(), status.to_string()));
        }
    }
    if let Some(reply) = msg.reply {
        m.headers.push(("reply-to".into(), reply));
    }
    m
}

/// The CONNECT pubcat sends to a server that said `info`.
fn connect_op(opts: &NatsOptions, info: &Info) -> Connect {
    Connect {
        headers: info.headers,
        // No-responders needs headers (it is a 503 status header).
        no_responders: info.headers,
        user: opts.user.clone(),
        pass: opts.pass.clone(),
        auth_token: opts.token.clone(),
        // The signature proves the key; the server names the user by its
        // public key, or by the JWT that carries it.
        sig: opts
            .nkey
            .as_ref()
            .zip(info.nonce.as_deref())
            .map(|(key, nonce)| key.sign(nonce)),
        nkey: opts
            .nkey
            .as_ref()
            .filter(|_| opts.jwt.is_none())
            .map(|key| key.public()),
        jwt: opts.jwt.clone(),
        ..Connect::default()
    }
}

fn verbose_ops() -> bool {
    crate::log::level() >= 2
}

/// CONNECT for the `-vv` log, its secrets hidden.
fn describe_connect(connect: &Connect) -> String {
    let mut shown = connect.clone();
    let hide = |s: &mut Option<String>| {
        if s.is_some() {
            *s = Some("[redacted]".into());
        }
    };
    hide(&mut shown.pass);
    hide(&mut shown.auth_token);
    // A JWT is a bearer credential; the signature is of no use to show.
    hide(&mut shown.jwt);
    hide(&mut shown.sig);
    let mut line = Vec::new();
    shown.encode(&mut line);
    String::from_utf8_lossy(line.trim_ascii_end()).into_owned()
}

/// An operation we send, for the `-vv` log: its control line (PUB's
/// says the payload's size; HPUB's headers are not shown).
fn describe(op: &[u8]) -> String {
    let end = op.iter().position(|&b| b == b'\r').unwrap_or(op.len());
    String::from_utf8_lossy(&op[..end]).into_owned()
}

/// An operation the server sent, for the `-vv` log.
fn describe_op(op: &ServerOp) -> String {
    match op {
        ServerOp::Msg(m) => format!(
            "{} {} sid {}{} {} bytes{}",
            if m.headers.is_some() { "HMSG" } else { "MSG" },
            m.subject,
            m.sid,
            m.reply
                .as_deref()
                .map(|r| format!(" reply {r}"))
                .unwrap_or_default(),
            m.payload.len(),
            m.headers
                .as_ref()
                .map(|h| {
                    let fields: Vec<String> = h
                        .fields
                        .iter()
                        .map(|(k, v)| format!("{k}:{}", crate::log::redact_header(k, v)))
                        .collect();
                    format!(" [{}]", fields.join(" "))
                })
                .unwrap_or_default()
        ),
        ServerOp::Info(info) => format!(
            "INFO server {} version {} max_payload {}",
            info.server_id, info.version, info.max_payload
        ),
        ServerOp::Err(ServerError(text)) => format!("-ERR '{text}'"),
        other => op_name(other).to_string(),
    }
}

fn op_name(op: &ServerOp) -> &'static str {
    match op {
        ServerOp::Info(_) => "INFO",
        ServerOp::Msg(Msg {
            headers: Some(_), ..
        }) => "HMSG",
        ServerOp::Msg(_) => "MSG",
        ServerOp::Ping => "PING",
        ServerOp::Pong => "PONG",
        ServerOp::Ok => "+OK",
        ServerOp::Err(_) => "-ERR",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(subjects: &[&str], subscribe: bool) -> NatsOptions {
        NatsOptions {
            subjects: subjects.iter().map(|s| s.to_string()).collect(),
            subscribe,
            ..NatsOptions::default()
        }
    }

    fn refused(o: &NatsOptions) -> String {
        let e = o.check().unwrap_err();
        assert_eq!(e.kind, Kind::Usage);
        e.message
    }

    #[test]
    fn wildcards_are_for_subscribing_and_queue_groups_for_subscribers() {
        assert!(refused(&opts(&[], true)).contains("NATS needs a subject"));
        assert!(opts(&["a.*.c", "a.>", "b"], true).check().is_ok());
        assert!(refused(&opts(&["a.*"], false)).contains("a wildcard is only for SUB"));
        assert!(refused(&opts(&["a.>.b"], true)).contains("must be the last token"));
        assert!(refused(&opts(&["a b"], false)).contains("whitespace"));
        let mut o = opts(&["a"], true);
        o.queue_group = Some("workers".into());
        assert!(o.check().is_ok());
        o.queue_group = Some("two words".into());
        assert!(refused(&o).starts_with("--queue-group: "));
        let mut o = opts(&["a"], false);
        o.queue_group = Some("workers".into());
        assert!(refused(&o).contains("for subscribers"));
    }

    #[test]
    fn header_names_and_values_are_checked_before_connecting() {
        let mut o = opts(&["a"], false);
        o.headers = vec![("X-Ok".into(), "a value".into())];
        assert!(o.check().is_ok());
        o.headers = vec![("X:Bad".into(), "v".into())];
        assert!(refused(&o).starts_with("-H: header name"));
        o.headers = vec![("X".into(), "a\r\nPUB x 1".into())];
        assert!(refused(&o).starts_with("-H: header value"));
    }

    #[test]
    fn connect_asks_for_headers_only_from_a_server_that_has_them() {
        let mut o = opts(&["a"], true);
        o.user = Some("alice".into());
        o.pass = Some("pw".into());
        o.token = Some("tok".into());
        let with = Info {
            headers: true,
            ..Info::default()
        };
        let c = connect_op(&o, &with);
        assert!(c.headers && c.no_responders && !c.verbose && !c.pedantic);
        assert_eq!(c.name, "pubcat");
        assert_eq!(
            (
                c.user.as_deref(),
                c.pass.as_deref(),
                c.auth_token.as_deref()
            ),
            (Some("alice"), Some("pw"), Some("tok"))
        );
        let c = connect_op(&opts(&["a"], true), &Info::default());
        assert!(!c.headers && !c.no_responders);
        assert_eq!((c.user, c.pass, c.auth_token), (None, None, None));
    }

    #[test]
    fn secrets_never_reach_the_log() {
        let mut o = opts(&["a"], true);
        o.user = Some("alice".into());
        o.pass = Some("hunter2".into());
        o.token = Some("t0ken".into());
        let c = connect_op(&o, &Info::default());
        let shown = describe_connect(&c);
        assert!(shown.starts_with("CONNECT {"), "{shown}");
        assert!(shown.contains("\"user\":\"alice\""), "{shown}");
        assert!(
            !shown.contains("hunter2") && !shown.contains("t0ken"),
            "{shown}"
        );
        assert_eq!(shown.matches("[redacted]").count(), 2, "{shown}");
        let debug = format!("{o:?}");
        assert!(
            !debug.contains("hunter2") && !debug.contains("t0ken"),
            "{debug}"
        );
    }

    #[test]
    fn a_delivered_message_keeps_subject_headers_reply_and_bytes() {
        let m = to_message(
            Msg {
                subject: "orders.eu".into(),
                sid: 1,
                reply: Some("_INBOX.r".into()),
                headers: Some(Headers {
                    status: Some(503),
                    description: None,
                    fields: vec![("K".into(), "v1".into()), ("K".into(), "v2".into())],
                }),
                payload: Bytes::from_static(b"\xff\x00"),
            },
            "nats+ws",
        );
        assert_eq!(&*m.topic, "orders.eu");
        assert!(m.binary);
        assert_eq!(&m.body[..], b"\xff\x00");
        let h: Vec<(&str, &str)> = m
            .headers
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        assert_eq!(
            h,
            [
                ("K", "v1"),
                ("K", "v2"),
                ("status", "503"),
                ("reply-to", "_INBOX.r")
            ]
        );
        let plain = to_message(
            Msg {
                subject: "a".into(),
                sid: 1,
                reply: None,
                headers: None,
                payload: Bytes::from_static("ünï".as_bytes()),
            },
            "nats+ws",
        );
        assert!(!plain.binary && plain.headers.is_empty());
    }

    #[test]
    fn a_sent_operation_is_logged_by_its_control_line() {
        let mut op = Vec::new();
        codec::encode_pub("a.b", None, None, b"secret body", &mut op).unwrap();
        assert_eq!(describe(&op), "PUB a.b 11");
        assert_eq!(describe(PING), "PING");
        let msg = ServerOp::Msg(Msg {
            subject: "a".into(),
            sid: 2,
            reply: Some("_INBOX.x".into()),
            headers: Some(Headers {
                fields: vec![("Authorization".into(), "Bearer x".into())],
                ..Headers::default()
            }),
            payload: Bytes::from_static(b"hi"),
        });
        assert_eq!(
            describe_op(&msg),
            "HMSG a sid 2 reply _INBOX.x 2 bytes [Authorization:[redacted]]"
        );
        assert_eq!(
            describe_op(&ServerOp::Err(ServerError("Slow Consumer".into()))),
            "-ERR 'Slow Consumer'"
        );
    }
}
