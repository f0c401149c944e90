//! MQTT 3.1.1 and 5.0 client over a WebSocket (subprotocol `mqtt`, handed
//! in as a [`Duplex`]): CONNECT (client id, credentials, keep-alive, clean
//! or persistent session, a will), SUBSCRIBE with filters, PUBLISH at QoS
//! 0, 1 and 2 both ways with their whole acknowledgement flows, and a close
//! that knows the broker has everything.
//!
//! The packet codec is [`crate::codec::mqtt`]; this is the state machine
//! around it. Packets travel in binary frames that need not align with
//! them, so what arrives is buffered and decoded across frames.
//!
//! - **Receiving.** A QoS 1 message is acknowledged (PUBACK), and a QoS 2
//!   one received (PUBREC), only once it is printed and flushed
//!   ([`MqttClient::acknowledge`]), so a subscriber that dies before
//!   printing leaves it to the broker to send again. A QoS 2 message sent
//!   again before its PUBREL (the same packet id) is not handed out twice.
//! - **Publishing.** At QoS 1 and 2 each PUBLISH is in flight until its
//!   PUBACK (or PUBREC, PUBREL, PUBCOMP); no more than the broker's receive
//!   maximum are in flight at once. The close waits for every one of them,
//!   then sends PINGREQ: the broker handles packets in order, so its
//!   PINGRESP says it has read everything before (all there is to know at
//!   QoS 0). `--confirm` reports each acknowledgement.
//! - **Refusals** (a CONNACK, SUBACK, PUBACK… with a failure code, a 5.0
//!   DISCONNECT with one) are errors of the server's (exit 4) with the
//!   reason code's name and the broker's reason string.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use bytes::{Bytes, BytesMut};
use url::Url;

pub use crate::codec::mqtt::QoS;
use crate::codec::mqtt::{
    self, Ack, Connect, Packet, Properties, Property, Publish, Subscribe, SubscribeOptions,
    Version, Will,
};
use crate::error::{Error, Kind, Result};
use crate::message::Message;
use crate::transport::duplex::{Data, Duplex};
use crate::{status, trace, verbose};

pub use super::Incoming;

/// The WebSocket subprotocol offered.
pub(crate) const SUBPROTOCOLS: [&str; 1] = [mqtt::SUBPROTOCOL];

/// What the user asked of the MQTT session.
#[derive(Clone, Debug)]
pub struct MqttOptions {
    pub version: Version,
    /// None: `pubcat-` and random hex.
    pub client_id: Option<String>,
    pub username: Option<String>,
    pub password: Option<String>,
    /// CONNECT's keep-alive (the session pings this often when idle).
    pub keep_alive: Duration,
    /// Clean session (3.1.1) / clean start (5.0); false resumes the
    /// broker's session for this client id.
    pub clean: bool,
    /// 5.0: how long the broker keeps the session after the connection.
    pub session_expiry: Option<u32>,
    pub will: Option<WillOptions>,
    pub qos: QoS,
    /// Publish retained messages.
    pub retain: bool,
    /// Topics to publish to, or filters to subscribe to.
    pub topics: Vec<String>,
    pub subscribe: bool,
    /// 5.0 user properties (`-H`).
    pub headers: Vec<(String, String)>,
    pub content_type: Option<String>,
    /// 5.0: seconds a published message may wait for delivery.
    pub message_expiry: Option<u32>,
    /// `pubcat request`: where the reply is to come, and how it is known.
    pub request: Option<MqttRequest>,
    /// The session state the client keeps across its connections (shared
    /// by the sessions `tail` makes of one connection's options).
    pub state: Arc<Mutex<SessionState>>,
}

/// What a client keeps for a session the broker resumes, so that a
/// message is not handed out twice when the connection was cut between
/// printing it and the broker getting its acknowledgement (the broker
/// then sends it again after the reconnect):
///
/// - QoS 2 (what MQTT asks of a client): the packet ids of messages handed
///   out whose PUBREL has not come. A PUBLISH with one of them is the same
///   message.
/// - QoS 1 (pubcat's own, for `tail`): the packet id of each message handed
///   out, with a hash of its topic and body. A PUBLISH marked DUP (sent
///   again) with an id and hash handed out already is that message again.
///   A broker reuses an id only for a new message sent with DUP clear, which
///   replaces the entry.
#[derive(Debug, Default)]
pub struct SessionState {
    received_qos2: HashSet<u16>,
    handed_out_qos1: HashMap<u16, u64>,
}

/// A request's reply address (MQTT 5): the response topic subscribed to
/// before the request goes out, and the correlation data a reply carries
/// back.
#[derive(Clone, Debug)]
pub struct MqttRequest {
    pub reply_topic: String,
    pub correlation: Bytes,
}

#[derive(Clone, Debug)]
pub struct WillOptions {
    pub topic: String,
    pub message: Bytes,
    pub qos: QoS,
    pub retain: bool,
}

/// Our own cap on messages in flight, below any broker's receive maximum
/// (3.1.1 has none to tell us).
const MAX_IN_FLIGHT: usize = 1024;

/// Where an outgoing QoS 1 or 2 PUBLISH stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Flight {
    /// QoS 1: waiting for PUBACK.
    Ack,
    /// QoS 2: waiting for PUBREC.
    Rec,
    /// QoS 2: PUBREL sent, waiting for PUBCOMP.
    Comp,
}

pub struct MqttClient {
    link: Duplex,
    url: Url,
    transport_name: &'static str,
    version: Version,
    buf: BytesMut,
    max_packet: usize,
    next_pkid: u16,
    /// Outgoing QoS 1 and 2 messages not yet acknowledged, by packet id,
    /// with their number (for `--confirm`'s report).
    in_flight: HashMap<u16, (Flight, u64)>,
    receive_max: usize,
    /// Messages handed out and not yet acknowledged: (packet id, QoS).
    unacked: Vec<(u16, QoS)>,
    /// Acknowledgements owed to the broker (PUBREL, PUBCOMP, a PUBREC for
    /// a QoS 2 message sent again), written before the next wait.
    owed: VecDeque<Packet>,
    /// Messages read while waiting for something else (room in flight).
    pending: VecDeque<Message>,
    confirm: bool,
    sent: u64,
    confirmed: u64,
    /// The answer to our PINGREQ at the close.
    pong: bool,
    closing: bool,
    server_closed: bool,
    opts: MqttOptions,
}

impl MqttClient {
    /// Speak MQTT over `link`, opened to `url`: CONNECT, then SUBSCRIBE
    /// when asked.
    pub async fn open(
        link: Duplex,
        url: &Url,
        opts: MqttOptions,
        max_packet: usize,
        transport_name: &'static str,
        answer_wait: Duration,
    ) -> Result<MqttClient> {
        let mut client = MqttClient {
            link,
            url: url.clone(),
            transport_name,
            version: opts.version,
            buf: BytesMut::new(),
            max_packet,
            next_pkid: 0,
            in_flight: HashMap::new(),
            receive_max: MAX_IN_FLIGHT,
            unacked: Vec::new(),
            owed: VecDeque::new(),
            pending: VecDeque::new(),
            confirm: false,
            sent: 0,
            confirmed: 0,
            pong: false,
            closing: false,
            server_closed: false,
            opts,
        };
        client.handshake(answer_wait).await?;
        // A request's reply comes to its response topic, subscribed to
        // before the request goes out.
        let filters = match &client.opts.request {
            Some(request) => vec![request.reply_topic.clone()],
            None if client.opts.subscribe => client.opts.topics.clone(),
            None => Vec::new(),
        };
        if !filters.is_empty() {
            client.subscribe(answer_wait, filters).await?;
        }
        Ok(client)
    }

    fn connect_packet(&self) -> Connect {
        let opts = &self.opts;
        let v5 = self.version == Version::V5;
        let mut properties = Vec::new();
        if v5 {
            if let Some(expiry) = opts.session_expiry {
                properties.push(Property::SessionExpiry(expiry));
            }
            let max = u32::try_from(self.max_packet).unwrap_or(u32::MAX);
            properties.push(Property::MaximumPacketSize(max.max(64)));
        }
        Connect {
            version: self.version,
            client_id: opts.client_id.clone().unwrap_or_else(random_client_id),
            clean_start: opts.clean,
            keep_alive: u16::try_from(opts.keep_alive.as_secs()).unwrap_or(u16::MAX),
            username: opts.username.clone(),
            password: opts.password.clone().map(Bytes::from),
            will: opts.will.as_ref().map(|w| Will {
                topic: w.topic.clone(),
                payload: w.message.clone(),
                qos: w.qos,
                retain: w.retain,
                properties: Properties::default(),
            }),
            properties: Properties(properties),
        }
    }

    /// CONNECT, and its CONNACK within `answer_wait` (`--connect-timeout`).
    async fn handshake(&mut self, answer_wait: Duration) -> Result<()> {
        let connect = self.connect_packet();
        verbose!(
            "MQTT {} CONNECT as {}{}",
            show_version(self.version),
            connect.client_id,
            if self.opts.clean {
                ""
            } else {
                " (resuming its session)"
            }
        );
        self.write(&Packet::Connect(connect)).await?;
        self.link.flush().await?;
        let answer = tokio::time::timeout(answer_wait, self.next_packet())
            .await
            .map_err(|_| {
                Error::connect(format!(
                    "{}: timed out: no CONNACK within {} (--connect-timeout)",
                    self.shown(),
                    humantime::format_duration(answer_wait)
                ))
            })?;
        let answer = match answer {
            Ok(answer) => answer,
            Err(e) if self.version == Version::V5 && e.kind == Kind::Server => {
                return Err(Error::server(format!(
                    "{} (a broker that speaks only MQTT 3.1.1 answers 5.0 so: try --mqtt-version 3.1.1)",
                    e.message
                )));
            }
            Err(e) => return Err(e),
        };
        let Some(packet) = answer else {
            let hint = if self.version == Version::V5 {
                " (a broker that speaks only MQTT 3.1.1 may do that: try --mqtt-version 3.1.1)"
            } else {
                ""
            };
            return Err(Error::server(format!(
                "{} closed the connection before answering CONNECT{hint}",
                self.shown()
            )));
        };
        let Packet::ConnAck(ack) = &packet else {
            return Err(Error::server(format!(
                "{} answered CONNECT with {} instead of CONNACK",
                self.shown(),
                packet.name()
            )));
        };
        if let Some(refused) = packet.refusal(self.version) {
            let hint = match (self.version, ack.code) {
                (Version::V5, 0x84) => " (try --mqtt-version 3.1.1)",
                _ => "",
            };
            return Err(Error::server(format!("{} {refused}{hint}", self.shown())));
        }
        for p in &ack.properties.0 {
            match p {
                Property::ReceiveMaximum(n) => {
                    self.receive_max = usize::from(*n).clamp(1, MAX_IN_FLIGHT);
                }
                Property::AssignedClientId(id) => verbose!("the broker named this client {id}"),
                Property::MaximumQoS(q) if *q < self.opts.qos as u8 => verbose!(
                    "the broker grants QoS {q} at most: messages at QoS {} are refused",
                    self.opts.qos as u8
                ),
                _ => {}
            }
        }
        if !ack.session_present {
            // A new session: nothing of an earlier one's is coming again.
            let mut state = self.state();
            state.received_qos2.clear();
            state.handed_out_qos1.clear();
        }
        verbose!(
            "MQTT connected{}",
            if ack.session_present {
                ", session resumed"
            } else {
                ""
            }
        );
        Ok(())
    }

    async fn subscribe(&mut self, answer_wait: Duration, filters: Vec<String>) -> Result<()> {
        let qos = self.opts.qos;
        let filters: Vec<(String, SubscribeOptions)> = filters
            .into_iter()
            .map(|t| (t, SubscribeOptions::qos(qos)))
            .collect();
        let pkid = self.take_pkid();
        let shown: Vec<&str> = filters.iter().map(|(f, _)| f.as_str()).collect();
        let shown = shown.join(", ");
        self.write(&Packet::Subscribe(Subscribe {
            pkid,
            properties: Properties::default(),
            filters,
        }))
        .await?;
        self.link.flush().await?;
        let deadline = tokio::time::Instant::now() + answer_wait;
        loop {
            let packet = tokio::time::timeout_at(deadline, self.next_packet())
                .await
                .map_err(|_| {
                    Error::connect(format!(
                        "{}: timed out: no SUBACK within {} (--connect-timeout)",
                        self.shown(),
                        humantime::format_duration(answer_wait)
                    ))
                })??;
            let Some(packet) = packet else {
                return Err(Error::connect(format!(
                    "{} closed the connection before answering SUBSCRIBE",
                    self.shown()
                )));
            };
            match &packet {
                Packet::SubAck(ack) if ack.pkid == pkid => {
                    if let Some(refused) = packet.refusal(self.version) {
                        return Err(Error::server(format!(
                            "{} refused the subscription to {shown}: {refused}",
                            self.shown()
                        )));
                    }
                    let granted: Vec<String> = ack.codes.iter().map(u8::to_string).collect();
                    verbose!(
                        "subscribed to {shown} (QoS asked {}, granted {})",
                        qos as u8,
                        granted.join(", ")
                    );
                    return Ok(());
                }
                // A resumed session's messages may come before the SUBACK.
                _ => {
                    if let Some(m) = self.on_packet(packet)? {
                        self.pending.push_back(m);
                    }
                }
            }
        }
    }

    pub fn set_confirm(&mut self, confirm: bool) {
        self.confirm = confirm;
    }

    /// Queue a PUBLISH of `body` to every topic, waiting first for room
    /// in flight at QoS 1 and 2.
    pub async fn feed(&mut self, body: Bytes, binary: bool) -> Result<()> {
        let mut properties = Vec::new();
        if self.version == Version::V5 {
            if let Some(ct) = &self.opts.content_type {
                properties.push(Property::ContentType(ct.clone()));
            }
            if !binary && self.opts.content_type.is_none() {
                // Payload format indicator: UTF-8 text.
                properties.push(Property::PayloadFormat(1));
            }
            if let Some(secs) = self.opts.message_expiry {
                properties.push(Property::MessageExpiry(secs));
            }
            if let Some(request) = &self.opts.request {
                properties.push(Property::ResponseTopic(request.reply_topic.clone()));
                properties.push(Property::CorrelationData(request.correlation.clone()));
            }
            for (k, v) in &self.opts.headers {
                properties.push(Property::User(k.clone(), v.clone()));
            }
        }
        let topics = std::mem::take(&mut self.opts.topics);
        let retain = self.opts.retain;
        let mut result = Ok(());
        for topic in &topics {
            let properties = Properties(properties.clone());
            result = self.publish(topic, retain, properties, body.clone()).await;
            if result.is_err() {
                break;
            }
        }
        self.opts.topics = topics;
        result
    }

    /// PUBLISH at this session's QoS: at 1 and 2, once there is room in
    /// flight, and in flight until acknowledged.
    async fn publish(
        &mut self,
        topic: &str,
        retain: bool,
        properties: Properties,
        payload: Bytes,
    ) -> Result<()> {
        self.pay_owed().await?;
        self.sent += 1;
        let qos = self.opts.qos;
        let pkid = if qos == QoS::AtMostOnce {
            0
        } else {
            self.wait_for_room().await?;
            let pkid = self.take_pkid();
            let flight = if qos == QoS::AtLeastOnce {
                Flight::Ack
            } else {
                Flight::Rec
            };
            self.in_flight.insert(pkid, (flight, self.sent));
            pkid
        };
        self.write(&Packet::Publish(Publish {
            dup: false,
            qos,
            retain,
            topic: topic.to_string(),
            pkid,
            properties,
            payload,
        }))
        .await
    }

    /// Answer `request` (a message with a response topic) with `body`, at
    /// this session's QoS, its correlation data carried back. False when
    /// the message has no response topic (nothing to answer).
    pub async fn reply(&mut self, request: &Message, body: Bytes) -> Result<bool> {
        let header = |name: &str| {
            request
                .headers
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.as_str())
        };
        let Some(topic) = header(RESPONSE_TOPIC).map(str::to_string) else {
            return Ok(false);
        };
        let mut properties = Vec::new();
        if let Some(c) = header(CORRELATION) {
            properties.push(Property::CorrelationData(read_correlation(c)));
        }
        self.publish(&topic, false, Properties(properties), body)
            .await?;
        Ok(true)
    }

    /// Publish to `topic` alone from now on; the subscriptions stay.
    pub fn send_to(&mut self, topic: &str) {
        self.opts.topics = vec![topic.to_string()];
    }

    /// Read (answering what needs answers) until fewer than the receive
    /// maximum are in flight. Bounded as the session's keep-alive is: a
    /// broker silent for `--ping-interval` is sent a PINGREQ, and one
    /// silent for another is dead (a publisher here reads nothing else, so
    /// the session's own keep-alive cannot run).
    async fn wait_for_room(&mut self) -> Result<()> {
        let every = self.opts.keep_alive;
        let mut pinged = false;
        while self.in_flight.len() >= self.receive_max {
            self.flush().await?;
            let next = if every.is_zero() {
                Ok(self.next_packet().await)
            } else {
                // Cancel-safe: what was read stays buffered.
                tokio::time::timeout(every, self.next_packet()).await
            };
            let packet = match next {
                Ok(packet) => packet?,
                Err(_) if !pinged => {
                    pinged = true;
                    self.owed.push_back(Packet::PingReq);
                    continue;
                }
                Err(_) => {
                    return Err(Error::connect(format!(
                        "{} answered nothing for {} with {} message(s) in flight: connection considered dead",
                        self.shown(),
                        humantime::format_duration(2 * every),
                        self.in_flight.len()
                    )));
                }
            };
            pinged = false;
            let Some(packet) = packet else {
                return Err(Error::connect(format!(
                    "{} closed the connection with {} message(s) unacknowledged",
                    self.shown(),
                    self.in_flight.len()
                )));
            };
            if let Some(m) = self.on_packet(packet)? {
                self.pending.push_back(m);
            }
            self.pay_owed().await?;
        }
        Ok(())
    }

    fn take_pkid(&mut self) -> u16 {
        loop {
            self.next_pkid = self.next_pkid.checked_add(1).unwrap_or(1);
            if !self.in_flight.contains_key(&self.next_pkid) {
                return self.next_pkid;
            }
        }
    }

    pub async fn flush(&mut self) -> Result<()> {
        self.pay_owed().await?;
        self.link.flush().await
    }

    /// Write what is owed to the broker. Cancel-safe: a packet leaves the
    /// queue only once the transport has taken it.
    async fn pay_owed(&mut self) -> Result<()> {
        while let Some(packet) = self.owed.front() {
            let data = self.encode(packet)?;
            self.link.feed(data).await?;
            self.owed.pop_front();
        }
        Ok(())
    }

    fn encode(&self, packet: &Packet) -> Result<Data> {
        if verbose_packets() {
            trace!("send {}", describe(packet));
        }
        let mut bytes = Vec::new();
        packet
            .encode(self.version, &mut bytes)
            .map_err(|e| Error::usage(format!("cannot send {}: {e}", packet.name())))?;
        Ok(Data::Binary(Bytes::from(bytes)))
    }

    async fn write(&mut self, packet: &Packet) -> Result<()> {
        let data = self.encode(packet)?;
        self.link.feed(data).await
    }

    /// Acknowledge every message handed out since the last call (PUBACK at
    /// QoS 1, PUBREC at QoS 2): call it once they are printed and flushed.
    pub async fn acknowledge(&mut self) -> Result<()> {
        for (pkid, qos) in std::mem::take(&mut self.unacked) {
            let ack = success(pkid);
            self.owed.push_back(match qos {
                QoS::ExactlyOnce => Packet::PubRec(ack),
                _ => Packet::PubAck(ack),
            });
        }
        if self.owed.is_empty() {
            return Ok(());
        }
        self.flush().await
    }

    /// The next message or close. `draining`: only what is already
    /// buffered (no waiting, no writing).
    pub async fn next(&mut self, draining: bool) -> Result<Incoming> {
        loop {
            if let Some(m) = self.pending.pop_front() {
                return Ok(Incoming::Message(m));
            }
            if !draining && !self.owed.is_empty() {
                self.flush().await?;
            }
            let Some(packet) = self.next_packet().await? else {
                return Ok(Incoming::Closed {
                    reason: "connection closed".into(),
                    clean: self.closing,
                });
            };
            if let Some(m) = self.on_packet(packet)? {
                return Ok(Incoming::Message(m));
            }
        }
    }

    /// Handle one packet from the broker; a message to hand out, if it is
    /// one that is new.
    fn on_packet(&mut self, packet: Packet) -> Result<Option<Message>> {
        if let Some(refused) = packet.refusal(self.version) {
            let what = match &packet {
                Packet::PubAck(a) | Packet::PubRec(a) | Packet::PubComp(a) => self
                    .in_flight
                    .get(&a.pkid)
                    .map(|(_, n)| format!(" message {n}:"))
                    .unwrap_or_default(),
                _ => String::new(),
            };
            return Err(Error::server(format!(
                "{} refused{what} {refused}",
                self.shown()
            )));
        }
        match packet {
            Packet::Publish(p) => return Ok(self.on_publish(p)),
            Packet::PubAck(a) => self.acknowledged(a.pkid, Flight::Ack),
            Packet::PubRec(a) => {
                if self.in_flight.get(&a.pkid).map(|f| f.0) == Some(Flight::Rec) {
                    self.in_flight
                        .entry(a.pkid)
                        .and_modify(|f| f.0 = Flight::Comp);
                }
                // Released even when unknown (sent again after we had it).
                self.owed.push_back(Packet::PubRel(success(a.pkid)));
            }
            Packet::PubComp(a) => self.acknowledged(a.pkid, Flight::Comp),
            Packet::PubRel(a) => {
                self.state().received_qos2.remove(&a.pkid);
                self.owed.push_back(Packet::PubComp(success(a.pkid)));
            }
            Packet::PingResp => self.pong = true,
            Packet::Disconnect(d) => {
                // A refusal was handled above: this one is a normal end.
                verbose!(
                    "{} sent DISCONNECT ({})",
                    self.shown(),
                    mqtt::reason_text(d.code)
                );
            }
            other => verbose!("ignoring an unexpected {} packet", other.name()),
        }
        Ok(None)
    }

    fn acknowledged(&mut self, pkid: u16, at: Flight) {
        match self.in_flight.get(&pkid) {
            Some(&(flight, n)) if flight == at => {
                self.in_flight.remove(&pkid);
                self.confirmed += 1;
                if self.confirm {
                    status!("message {n} confirmed");
                }
            }
            _ => trace!("acknowledgement of unknown packet {pkid}"),
        }
    }

    fn on_publish(&mut self, p: Publish) -> Option<Message> {
        if let Some(request) = &self.opts.request {
            let correlation = p.properties.0.iter().find_map(|prop| match prop {
                Property::CorrelationData(d) => Some(d),
                _ => None,
            });
            // A reply to another request on the same response topic (or
            // to an earlier run's) is not ours.
            if correlation.is_some_and(|c| *c != request.correlation) {
                trace!("a reply to another request: not ours");
                if p.qos != QoS::AtMostOnce {
                    self.unacked.push((p.pkid, p.qos));
                }
                return None;
            }
        }
        match p.qos {
            QoS::AtMostOnce => {}
            QoS::AtLeastOnce => {
                let hash = message_hash(&p.topic, &p.payload);
                let again = self.state().handed_out_qos1.insert(p.pkid, hash) == Some(hash);
                if again && p.dup {
                    trace!("QoS 1 message {} again: not handed out twice", p.pkid);
                    self.owed.push_back(Packet::PubAck(success(p.pkid)));
                    return None;
                }
                self.unacked.push((p.pkid, p.qos));
            }
            QoS::ExactlyOnce => {
                if !self.state().received_qos2.insert(p.pkid) {
                    // Sent again before its PUBREL: handed out already.
                    trace!("QoS 2 message {} again: not handed out twice", p.pkid);
                    self.owed.push_back(Packet::PubRec(success(p.pkid)));
                    return None;
                }
                self.unacked.push((p.pkid, p.qos));
            }
        }
        let mut headers = vec![("qos".to_string(), (p.qos as u8).to_string())];
        if p.retain {
            headers.push(("retain".into(), "true".into()));
        }
        let mut text = false;
        for prop in &p.properties.0 {
            match prop {
                Property::User(k, v) => headers.push((k.clone(), v.clone())),
                Property::ContentType(ct) => headers.push(("content-type".into(), ct.clone())),
                Property::ResponseTopic(t) => headers.push((RESPONSE_TOPIC.into(), t.clone())),
                Property::CorrelationData(d) => {
                    headers.push((CORRELATION.into(), show_correlation(d)));
                }
                Property::MessageExpiry(s) => {
                    headers.push(("message-expiry".into(), s.to_string()));
                }
                Property::PayloadFormat(1) => text = true,
                _ => {}
            }
        }
        let binary = !text && std::str::from_utf8(&p.payload).is_err();
        let mut m = Message::received(
            Arc::from(p.topic.as_str()),
            p.payload,
            binary,
            self.transport_name,
            SystemTime::now(),
        );
        m.headers = headers;
        Some(m)
    }

    /// The next decoded packet; None when the connection closed.
    async fn next_packet(&mut self) -> Result<Option<Packet>> {
        let stream = super::Stream {
            unit: "MQTT packet",
            binary_only: Some("MQTT travels in binary frames"),
        };
        let (version, max) = (self.version, self.max_packet);
        // Cancel-safe: a draining caller drops this when nothing is
        // buffered.
        match super::next_unit(&mut self.link, &mut self.buf, &self.url, &stream, |b| {
            Packet::decode(b, version, max)
        })
        .await?
        {
            super::Unit::Decoded(packet) => {
                if verbose_packets() {
                    trace!("recv {}", describe(&packet));
                }
                Ok(Some(packet))
            }
            super::Unit::Closed { reason, .. } => {
                self.server_closed = true;
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

    /// Close without losing anything: wait (up to `wait`) for every
    /// message in flight to be acknowledged, then PINGREQ and its PINGRESP
    /// (the broker has read everything before it), then DISCONNECT and the
    /// WebSocket close. Messages arriving meanwhile go to `on_message`
    /// (unacknowledged: a persistent session gets them again). True when
    /// the broker has everything we sent.
    pub async fn close(
        &mut self,
        wait: Duration,
        mut on_message: impl FnMut(Message) -> Result<()>,
    ) -> Result<bool> {
        if self.closing {
            return Ok(self.in_flight.is_empty() && self.pong);
        }
        let deadline = tokio::time::Instant::now() + wait;
        let goodbye = deadline.max(tokio::time::Instant::now() + wait.min(Duration::from_secs(2)));
        if !self.server_closed {
            self.pong = false;
            self.owed.push_back(Packet::PingReq);
            self.flush().await?;
            let result = tokio::time::timeout_at(deadline, async {
                while !(self.in_flight.is_empty() && self.pong) {
                    let Some(packet) = self.next_packet().await? else {
                        break;
                    };
                    if let Some(m) = self.on_packet(packet)? {
                        on_message(m)?;
                    }
                    self.flush().await?;
                }
                Ok::<_, Error>(())
            })
            .await;
            match result {
                Ok(Err(e)) if e.kind == Kind::Server => return Err(e),
                Ok(Err(e)) => verbose!("while closing: {e}"),
                Ok(Ok(())) => {}
                Err(_) if !self.in_flight.is_empty() => verbose!(
                    "{} of {} message(s) acknowledged after {}",
                    self.confirmed,
                    self.confirmed + self.in_flight.len() as u64,
                    humantime::format_duration(wait)
                ),
                Err(_) => verbose!("no PINGRESP within {}", humantime::format_duration(wait)),
            }
        }
        let confirmed = self.in_flight.is_empty() && self.pong;
        self.closing = true;
        if !self.server_closed {
            let disconnect = Packet::Disconnect(mqtt::Disconnect {
                code: 0,
                properties: Properties::default(),
            });
            if self.write(&disconnect).await.is_ok() && self.link.flush().await.is_ok() {
                self.link.close_by(goodbye).await;
            }
        }
        Ok(confirmed)
    }

    /// True when anything arrived since the last call.
    pub fn take_heard(&mut self) -> bool {
        self.link.take_heard()
    }

    /// A PINGREQ: the keep-alive MQTT brokers expect (a WebSocket ping
    /// does not count for them). Always true: the PINGRESP is the answer.
    pub async fn ping(&mut self) -> Result<bool> {
        self.owed.push_back(Packet::PingReq);
        self.flush().await?;
        Ok(true)
    }

    fn shown(&self) -> String {
        crate::log::redact_url(&self.url)
    }

    fn state(&self) -> std::sync::MutexGuard<'_, SessionState> {
        self.opts
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// An acknowledgement of packet `pkid` that says all is well.
fn success(pkid: u16) -> Ack {
    Ack {
        pkid,
        code: 0,
        properties: Properties::default(),
    }
}

/// The headers a request's reply address is shown (and read back) under.
const RESPONSE_TOPIC: &str = "response-topic";
const CORRELATION: &str = "correlation-data";

/// Correlation data as a header: itself when it is text, else `base64:`
/// and its base64 (read back byte for byte by [`read_correlation`]).
fn show_correlation(d: &[u8]) -> String {
    use base64::Engine;
    match std::str::from_utf8(d) {
        Ok(text) if !text.starts_with("base64:") => text.to_string(),
        _ => format!(
            "base64:{}",
            base64::engine::general_purpose::STANDARD.encode(d)
        ),
    }
}

fn read_correlation(header: &str) -> Bytes {
    use base64::Engine;
    header
        .strip_prefix("base64:")
        .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok())
        .map_or_else(|| Bytes::copy_from_slice(header.as_bytes()), Bytes::from)
}

/// A QoS 1 message's topic and body, hashed: what tells it from another
/// message with the same packet id.
fn message_hash(topic: &str, payload: &[u8]) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    topic.hash(&mut h);
    payload.hash(&mut h);
    h.finish()
}

fn show_version(v: Version) -> &'static str {
    match v {
        Version::V311 => "3.1.1",
        Version::V5 => "5.0",
    }
}

/// `pubcat-` and 12 random hex digits: unique enough that two pubcats do
/// not take over each other's session.
fn random_client_id() -> String {
    format!("pubcat-{}", crate::random::hex(12))
}

fn verbose_packets() -> bool {
    crate::log::level() >= 2
}

/// A packet for the `-vv` log: its name and what identifies it; never a
/// password.
fn describe(packet: &Packet) -> String {
    match packet {
        Packet::Connect(c) => format!(
            "CONNECT client-id:{} clean:{} keep-alive:{}s user:{} password:{}",
            c.client_id,
            c.clean_start,
            c.keep_alive,
            c.username.as_deref().unwrap_or("-"),
            if c.password.is_some() {
                "[redacted]"
            } else {
                "-"
            }
        ),
        Packet::Publish(p) => format!(
            "PUBLISH topic:{} qos:{} retain:{} id:{} {} bytes",
            p.topic,
            p.qos as u8,
            p.retain,
            p.pkid,
            p.payload.len()
        ),
        Packet::PubAck(a) | Packet::PubRec(a) | Packet::PubRel(a) | Packet::PubComp(a) => {
            format!("{} id:{} code:{:#04x}", packet.name(), a.pkid, a.code)
        }
        Packet::ConnAck(a) => format!(
            "CONNACK code:{:#04x} session-present:{}",
            a.code, a.session_present
        ),
        Packet::SubAck(a) => format!("SUBACK id:{} codes:{:?}", a.pkid, a.codes),
        other => other.name().to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn correlation_data_survives_the_header_byte_for_byte() {
        for d in [
            &b"req-1"[..],
            b"",
            &[0, 159, 255, 10],
            b"base64:looks like it",
        ] {
            let shown = show_correlation(d);
            assert!(!shown.chars().any(char::is_control), "{shown:?}");
            assert_eq!(&read_correlation(&shown)[..], d);
        }
    }

    #[test]
    fn client_ids_are_random_and_valid() {
        let (a, b) = (random_client_id(), random_client_id());
        assert_ne!(a, b);
        assert_eq!(a.len(), "pubcat-".len() + 12);
        assert!(a.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-'));
    }

    #[test]
    fn the_log_never_shows_a_password() {
        let c = Packet::Connect(Connect {
            version: Version::V5,
            client_id: "me".into(),
            clean_start: true,
            keep_alive: 30,
            username: Some("user".into()),
            password: Some(Bytes::from_static(b"s3cret")),
            will: None,
            properties: Properties::default(),
        });
        let shown = describe(&c);
        assert!(shown.contains("user:user") && shown.contains("[redacted]"));
        assert!(!shown.contains("s3cret"));
    }
}
