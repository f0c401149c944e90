//! MQTT 3.1.1 and 5.0 control packets: an encoder and a decoder, no I/O;
//! topic name and filter rules and the subscription matcher. The MQTT
//! dialect (issue 19) comes next and is the first user.
//!
//! ```text
//! byte 0: type << 4 | flags     remaining length: 1-4 bytes, 7 bits each
//! variable header [v5: properties]    payload
//! ```
//! Over WebSocket a message may hold several packets or part of one, so
//! [`Packet::decode`] takes the bytes that have arrived and answers
//! `Ok(None)` until a whole packet is there. The two versions differ in
//! most packets (5.0 adds reason codes and properties), so both directions
//! are told the session's [`Version`]; a CONNECT carries its own.
//!
//! The decoder is strict where the spec says MUST (reserved flags, QoS 3,
//! a wildcard in a topic name, U+0000 in a string, a variable byte integer
//! not in its shortest form) and never panics: a length over the caller's
//! limit is refused as soon as the fixed header is read, before anything
//! is allocated. Which properties a packet may carry is left to the
//! dialect: they are kept in wire order, unknown ids are an error.

use bytes::Bytes;
use thiserror::Error;

/// The largest remaining length four bytes can say (the spec's limit).
pub const MAX_REMAINING: usize = 268_435_455;

/// The WebSocket subprotocol MQTT is spoken under (3.1.1 and 5.0 alike).
pub const SUBPROTOCOL: &str = "mqtt";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Version {
    /// Protocol level 4.
    V311,
    /// Protocol level 5.
    V5,
}

impl Version {
    pub fn level(self) -> u8 {
        match self {
            Version::V311 => 4,
            Version::V5 => 5,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum QoS {
    AtMostOnce = 0,
    AtLeastOnce = 1,
    ExactlyOnce = 2,
}

impl QoS {
    pub fn from_u8(v: u8) -> Result<QoS, Error> {
        match v {
            0 => Ok(QoS::AtMostOnce),
            1 => Ok(QoS::AtLeastOnce),
            2 => Ok(QoS::ExactlyOnce),
            _ => Err(Error::QoS(v)),
        }
    }
}

/// One MQTT 5.0 property (§2.2.2.2), by its id's name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Property {
    PayloadFormat(u8),
    MessageExpiry(u32),
    ContentType(String),
    ResponseTopic(String),
    CorrelationData(Bytes),
    SubscriptionId(u32),
    SessionExpiry(u32),
    AssignedClientId(String),
    ServerKeepAlive(u16),
    AuthMethod(String),
    AuthData(Bytes),
    RequestProblemInfo(u8),
    WillDelay(u32),
    RequestResponseInfo(u8),
    ResponseInfo(String),
    ServerReference(String),
    ReasonString(String),
    ReceiveMaximum(u16),
    TopicAliasMaximum(u16),
    TopicAlias(u16),
    MaximumQoS(u8),
    RetainAvailable(u8),
    User(String, String),
    MaximumPacketSize(u32),
    WildcardAvailable(u8),
    SubscriptionIdAvailable(u8),
    SharedAvailable(u8),
}

/// A packet's properties in wire order (always empty in 3.1.1).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Properties(pub Vec<Property>);

impl Properties {
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn reason_string(&self) -> Option<&str> {
        self.0.iter().find_map(|p| match p {
            Property::ReasonString(s) => Some(s.as_str()),
            _ => None,
        })
    }

    pub fn session_expiry(&self) -> Option<u32> {
        self.0.iter().find_map(|p| match p {
            Property::SessionExpiry(s) => Some(*s),
            _ => None,
        })
    }

    /// User properties, in order; names may repeat.
    pub fn user(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().filter_map(|p| match p {
            Property::User(k, v) => Some((k.as_str(), v.as_str())),
            _ => None,
        })
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Will {
    pub topic: String,
    pub payload: Bytes,
    pub qos: QoS,
    pub retain: bool,
    /// 5.0 only.
    pub properties: Properties,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Connect {
    pub version: Version,
    pub client_id: String,
    /// Clean session (3.1.1), clean start (5.0).
    pub clean_start: bool,
    /// Seconds; 0 = off.
    pub keep_alive: u16,
    pub username: Option<String>,
    /// 3.1.1 allows a password only with a user name.
    pub password: Option<Bytes>,
    pub will: Option<Will>,
    pub properties: Properties,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConnAck {
    pub session_present: bool,
    /// A 3.1.1 return code or a 5.0 reason code: 0 is success.
    pub code: u8,
    pub properties: Properties,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Publish {
    pub dup: bool,
    pub qos: QoS,
    pub retain: bool,
    /// Empty only in 5.0, with a topic alias.
    pub topic: String,
    /// 0 at QoS 0 (not on the wire), never 0 otherwise.
    pub pkid: u16,
    pub properties: Properties,
    pub payload: Bytes,
}

/// PUBACK, PUBREC, PUBREL and PUBCOMP.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ack {
    pub pkid: u16,
    /// 5.0 reason code; always 0 in 3.1.1.
    pub code: u8,
    pub properties: Properties,
}

/// A subscription's options byte.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SubscribeOptions {
    pub qos: QoS,
    /// 5.0: not sent our own messages back.
    pub no_local: bool,
    /// 5.0: retain flag kept as published.
    pub retain_as_published: bool,
    /// 5.0: 0 send retained, 1 only for a new subscription, 2 never.
    pub retain_handling: u8,
}

impl SubscribeOptions {
    pub fn qos(qos: QoS) -> SubscribeOptions {
        SubscribeOptions {
            qos,
            no_local: false,
            retain_as_published: false,
            retain_handling: 0,
        }
    }

    fn byte(self) -> u8 {
        self.qos as u8
            | u8::from(self.no_local) << 2
            | u8::from(self.retain_as_published) << 3
            | self.retain_handling << 4
    }

    fn parse(b: u8, version: Version) -> Result<SubscribeOptions, Error> {
        let reserved = match version {
            Version::V311 => 0xfc,
            Version::V5 => 0xc0,
        };
        if b & reserved != 0 || (b >> 4) & 3 == 3 {
            return Err(Error::SubscribeOptions(b));
        }
        Ok(SubscribeOptions {
            qos: QoS::from_u8(b & 3)?,
            no_local: b & 0x04 != 0,
            retain_as_published: b & 0x08 != 0,
            retain_handling: (b >> 4) & 3,
        })
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Subscribe {
    pub pkid: u16,
    pub properties: Properties,
    pub filters: Vec<(String, SubscribeOptions)>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SubAck {
    pub pkid: u16,
    pub properties: Properties,
    /// One per filter: the QoS granted (0-2) or a failure (>= 0x80).
    pub codes: Vec<u8>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unsubscribe {
    pub pkid: u16,
    pub properties: Properties,
    pub filters: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnsubAck {
    pub pkid: u16,
    pub properties: Properties,
    /// 5.0: one reason code per filter; 3.1.1 has none.
    pub codes: Vec<u8>,
}

/// DISCONNECT, and 5.0's AUTH (the same shape).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Disconnect {
    /// 5.0 reason code; always 0 in 3.1.1.
    pub code: u8,
    pub properties: Properties,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Packet {
    Connect(Connect),
    ConnAck(ConnAck),
    Publish(Publish),
    PubAck(Ack),
    PubRec(Ack),
    PubRel(Ack),
    PubComp(Ack),
    Subscribe(Subscribe),
    SubAck(SubAck),
    Unsubscribe(Unsubscribe),
    UnsubAck(UnsubAck),
    PingReq,
    PingResp,
    Disconnect(Disconnect),
    /// 5.0 only.
    Auth(Disconnect),
}

#[derive(Clone, Debug, Error, PartialEq, Eq)]
pub enum Error {
    #[error("a packet of {size} bytes is over the limit of {max}")]
    TooLarge { size: usize, max: usize },
    #[error("a variable byte integer runs past 4 bytes")]
    IntegerTooLong,
    #[error("a variable byte integer is not in its shortest form")]
    IntegerNotMinimal,
    #[error("packet type {0} is reserved")]
    PacketType(u8),
    #[error("{packet} has fixed-header flags {flags:#06b}")]
    Flags { packet: &'static str, flags: u8 },
    #[error("{0} ends before its fields do")]
    Short(&'static str),
    #[error("{packet} has {left} bytes left over")]
    Trailing { packet: &'static str, left: usize },
    #[error("a string is not UTF-8")]
    NotUtf8,
    #[error("a string holds U+0000")]
    Nul,
    #[error("a string or binary field of {0} bytes is over 65,535")]
    FieldTooLong(usize),
    #[error("QoS {0} does not exist")]
    QoS(u8),
    #[error("protocol `{name}` level {level} is neither MQTT 3.1.1 (4) nor 5.0 (5)")]
    Protocol { name: String, level: u8 },
    #[error("CONNECT flags {flags:#04x}: {why}")]
    ConnectFlags { flags: u8, why: &'static str },
    #[error("CONNACK flags {0:#04x} set reserved bits")]
    ConnAckFlags(u8),
    #[error("{0} has packet identifier 0")]
    ZeroPacketId(&'static str),
    #[error("PUBLISH at QoS 0 has DUP set")]
    DupAtQoS0,
    #[error("topic name `{0}` is empty or has a wildcard")]
    TopicName(String),
    #[error("topic filter `{filter}`: {why}")]
    TopicFilter { filter: String, why: &'static str },
    #[error("unknown property {0:#04x}")]
    Property(u8),
    #[error("SUBSCRIBE options {0:#04x} set reserved bits or retain handling 3")]
    SubscribeOptions(u8),
    #[error("{0} has no topic filters")]
    NoFilters(&'static str),
    #[error("3.1.1 SUBACK return code {0:#04x} does not exist")]
    SubAckCode(u8),
    #[error("AUTH does not exist in MQTT 3.1.1")]
    AuthInV311,
}

/// A refusal the peer answered with: a CONNACK, PUBACK, SUBACK … whose
/// code is an error, or a 5.0 DISCONNECT with one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refused {
    pub packet: &'static str,
    pub code: u8,
    /// The 5.0 reason string, if the peer sent one.
    pub reason: Option<String>,
    version: Version,
}

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let what = match (self.version, self.packet) {
            (Version::V311, "CONNACK") => v311_connack_text(self.code),
            (Version::V311, _) => "failure",
            (Version::V5, _) => reason_text(self.code),
        };
        write!(f, "{}: {what} (code {:#04x})", self.packet, self.code)?;
        if let Some(r) = &self.reason {
            write!(f, ": {}", shorten(r))?;
        }
        Ok(())
    }
}

impl std::error::Error for Refused {}

/// The 3.1.1 CONNACK return codes (§3.2.2.3).
pub fn v311_connack_text(code: u8) -> &'static str {
    match code {
        0 => "connection accepted",
        1 => "unacceptable protocol version",
        2 => "client identifier rejected",
        3 => "server unavailable",
        4 => "bad user name or password",
        5 => "not authorized",
        _ => "unknown return code",
    }
}

/// The 5.0 reason codes (§2.4), one name each.
pub fn reason_text(code: u8) -> &'static str {
    match code {
        0x00 => "success",
        0x01 => "granted QoS 1",
        0x02 => "granted QoS 2",
        0x04 => "disconnect with will message",
        0x10 => "no matching subscribers",
        0x11 => "no subscription existed",
        0x18 => "continue authentication",
        0x19 => "re-authenticate",
        0x80 => "unspecified error",
        0x81 => "malformed packet",
        0x82 => "protocol error",
        0x83 => "implementation specific error",
        0x84 => "unsupported protocol version",
        0x85 => "client identifier not valid",
        0x86 => "bad user name or password",
        0x87 => "not authorized",
        0x88 => "server unavailable",
        0x89 => "server busy",
        0x8A => "banned",
        0x8B => "server shutting down",
        0x8C => "bad authentication method",
        0x8D => "keep alive timeout",
        0x8E => "session taken over",
        0x8F => "topic filter invalid",
        0x90 => "topic name invalid",
        0x91 => "packet identifier in use",
        0x92 => "packet identifier not found",
        0x93 => "receive maximum exceeded",
        0x94 => "topic alias invalid",
        0x95 => "packet too large",
        0x96 => "message rate too high",
        0x97 => "quota exceeded",
        0x98 => "administrative action",
        0x99 => "payload format invalid",
        0x9A => "retain not supported",
        0x9B => "QoS not supported",
        0x9C => "use another server",
        0x9D => "server moved",
        0x9E => "shared subscriptions not supported",
        0x9F => "connection rate exceeded",
        0xA0 => "maximum connect time",
        0xA1 => "subscription identifiers not supported",
        0xA2 => "wildcard subscriptions not supported",
        _ => "unknown reason code",
    }
}

impl Packet {
    pub fn name(&self) -> &'static str {
        match self {
            Packet::Connect(_) => "CONNECT",
            Packet::ConnAck(_) => "CONNACK",
            Packet::Publish(_) => "PUBLISH",
            Packet::PubAck(_) => "PUBACK",
            Packet::PubRec(_) => "PUBREC",
            Packet::PubRel(_) => "PUBREL",
            Packet::PubComp(_) => "PUBCOMP",
            Packet::Subscribe(_) => "SUBSCRIBE",
            Packet::SubAck(_) => "SUBACK",
            Packet::Unsubscribe(_) => "UNSUBSCRIBE",
            Packet::UnsubAck(_) => "UNSUBACK",
            Packet::PingReq => "PINGREQ",
            Packet::PingResp => "PINGRESP",
            Packet::Disconnect(_) => "DISCONNECT",
            Packet::Auth(_) => "AUTH",
        }
    }

    /// The refusal this packet carries, if it is one: a CONNACK that is not
    /// success, an acknowledgement or 5.0 DISCONNECT with a code >= 0x80,
    /// a SUBACK's first failed filter.
    pub fn refusal(&self, version: Version) -> Option<Refused> {
        let (code, properties, failed) = match self {
            Packet::ConnAck(c) => (c.code, &c.properties, c.code != 0),
            Packet::PubAck(a) | Packet::PubRec(a) | Packet::PubRel(a) | Packet::PubComp(a) => {
                (a.code, &a.properties, a.code >= 0x80)
            }
            Packet::SubAck(s) => {
                let code = s.codes.iter().copied().find(|c| *c >= 0x80)?;
                (code, &s.properties, true)
            }
            Packet::UnsubAck(s) => {
                let code = s.codes.iter().copied().find(|c| *c >= 0x80)?;
                (code, &s.properties, true)
            }
            Packet::Disconnect(d) => (d.code, &d.properties, d.code >= 0x80),
            _ => return None,
        };
        failed.then(|| Refused {
            packet: self.name(),
            code,
            reason: properties.reason_string().map(str::to_string),
            version,
        })
    }

    /// Append the packet's bytes to `out` (`out` is left as it was on an
    /// error). A CONNECT is encoded in its own version, the rest in
    /// `version`; what 5.0 adds (properties, reason codes) is dropped in
    /// 3.1.1. The errors are the limits: a string over 65,535 bytes or
    /// with U+0000, a packet over [`MAX_REMAINING`], a bad topic.
    pub fn encode(&self, version: Version, out: &mut Vec<u8>) -> Result<(), Error> {
        let start = out.len();
        let result = self.encode_at(version, out, start);
        if result.is_err() {
            out.truncate(start);
        }
        result
    }

    fn encode_at(&self, version: Version, out: &mut Vec<u8>, start: usize) -> Result<(), Error> {
        let v5 = version == Version::V5;
        let first = match self {
            Packet::Connect(_) => 0x10,
            Packet::ConnAck(_) => 0x20,
            Packet::Publish(p) => {
                0x30 | u8::from(p.dup) << 3 | (p.qos as u8) << 1 | u8::from(p.retain)
            }
            Packet::PubAck(_) => 0x40,
            Packet::PubRec(_) => 0x50,
            Packet::PubRel(_) => 0x62,
            Packet::PubComp(_) => 0x70,
            Packet::Subscribe(_) => 0x82,
            Packet::SubAck(_) => 0x90,
            Packet::Unsubscribe(_) => 0xA2,
            Packet::UnsubAck(_) => 0xB0,
            Packet::PingReq => 0xC0,
            Packet::PingResp => 0xD0,
            Packet::Disconnect(_) => 0xE0,
            Packet::Auth(_) => 0xF0,
        };
        out.push(first);
        // Room for the longest remaining length; the body is moved back
        // over what the real one does not use.
        out.extend_from_slice(&[0; 4]);
        let body_at = out.len();
        match self {
            Packet::Connect(c) => {
                let v5 = c.version == Version::V5;
                if !v5 && c.password.is_some() && c.username.is_none() {
                    return Err(Error::ConnectFlags {
                        flags: 0x40,
                        why: "3.1.1 allows a password only with a user name",
                    });
                }
                put_str(out, "MQTT")?;
                out.push(c.version.level());
                let mut flags = u8::from(c.clean_start) << 1;
                if let Some(w) = &c.will {
                    flags |= 0x04 | (w.qos as u8) << 3 | u8::from(w.retain) << 5;
                }
                flags |= u8::from(c.password.is_some()) << 6;
                flags |= u8::from(c.username.is_some()) << 7;
                out.push(flags);
                out.extend_from_slice(&c.keep_alive.to_be_bytes());
                if v5 {
                    put_props(out, &c.properties)?;
                }
                put_str(out, &c.client_id)?;
                if let Some(w) = &c.will {
                    if v5 {
                        put_props(out, &w.properties)?;
                    }
                    check_topic_name(&w.topic, false)?;
                    put_str(out, &w.topic)?;
                    put_bin(out, &w.payload)?;
                }
                if let Some(u) = &c.username {
                    put_str(out, u)?;
                }
                if let Some(p) = &c.password {
                    put_bin(out, p)?;
                }
            }
            Packet::ConnAck(c) => {
                out.push(u8::from(c.session_present));
                out.push(c.code);
                if v5 {
                    put_props(out, &c.properties)?;
                }
            }
            Packet::Publish(p) => {
                if p.qos == QoS::AtMostOnce && p.dup {
                    return Err(Error::DupAtQoS0);
                }
                check_topic_name(&p.topic, v5)?;
                put_str(out, &p.topic)?;
                if p.qos != QoS::AtMostOnce {
                    if p.pkid == 0 {
                        return Err(Error::ZeroPacketId("PUBLISH"));
                    }
                    out.extend_from_slice(&p.pkid.to_be_bytes());
                }
                if v5 {
                    put_props(out, &p.properties)?;
                }
                out.extend_from_slice(&p.payload);
            }
            Packet::PubAck(a) | Packet::PubRec(a) | Packet::PubRel(a) | Packet::PubComp(a) => {
                out.extend_from_slice(&a.pkid.to_be_bytes());
                // 5.0 leaves out a success code and empty properties.
                if v5 && (a.code != 0 || !a.properties.is_empty()) {
                    out.push(a.code);
                    if !a.properties.is_empty() {
                        put_props(out, &a.properties)?;
                    }
                }
            }
            Packet::Subscribe(s) => {
                if s.filters.is_empty() {
                    return Err(Error::NoFilters("SUBSCRIBE"));
                }
                out.extend_from_slice(&s.pkid.to_be_bytes());
                if v5 {
                    put_props(out, &s.properties)?;
                }
                for (filter, opts) in &s.filters {
                    check_topic_filter(filter)?;
                    put_str(out, filter)?;
                    let mut opts = *opts;
                    if !v5 {
                        opts = SubscribeOptions::qos(opts.qos);
                    }
                    if opts.retain_handling > 2 {
                        return Err(Error::SubscribeOptions(opts.byte()));
                    }
                    out.push(opts.byte());
                }
            }
            Packet::SubAck(s) => {
                out.extend_from_slice(&s.pkid.to_be_bytes());
                if v5 {
                    put_props(out, &s.properties)?;
                }
                out.extend_from_slice(&s.codes);
            }
            Packet::Unsubscribe(u) => {
                if u.filters.is_empty() {
                    return Err(Error::NoFilters("UNSUBSCRIBE"));
                }
                out.extend_from_slice(&u.pkid.to_be_bytes());
                if v5 {
                    put_props(out, &u.properties)?;
                }
                for filter in &u.filters {
                    check_topic_filter(filter)?;
                    put_str(out, filter)?;
                }
            }
            Packet::UnsubAck(u) => {
                out.extend_from_slice(&u.pkid.to_be_bytes());
                if v5 {
                    put_props(out, &u.properties)?;
                    out.extend_from_slice(&u.codes);
                }
            }
            Packet::PingReq | Packet::PingResp => {}
            Packet::Disconnect(d) | Packet::Auth(d) => {
                if matches!(self, Packet::Auth(_)) && !v5 {
                    return Err(Error::AuthInV311);
                }
                if v5 && (d.code != 0 || !d.properties.is_empty()) {
                    out.push(d.code);
                    if !d.properties.is_empty() {
                        put_props(out, &d.properties)?;
                    }
                }
            }
        }
        let len = out.len() - body_at;
        if len > MAX_REMAINING {
            return Err(Error::TooLarge {
                size: len,
                max: MAX_REMAINING,
            });
        }
        let mut header = Vec::with_capacity(4);
        put_varint(&mut header, len);
        let at = start + 1 + header.len();
        out.copy_within(body_at.., at);
        out.truncate(at + len);
        out[start + 1..at].copy_from_slice(&header);
        Ok(())
    }

    /// The first packet in `buf` and the bytes it took; `Ok(None)` while
    /// only part of one has arrived. A packet longer than `max` bytes in
    /// all is an error as soon as its fixed header is in.
    pub fn decode(
        buf: &[u8],
        version: Version,
        max: usize,
    ) -> Result<Option<(Packet, usize)>, Error> {
        let Some(&first) = buf.first() else {
            return Ok(None);
        };
        let (kind, flags) = (first >> 4, first & 0x0f);
        let name = match kind {
            1 => "CONNECT",
            2 => "CONNACK",
            3 => "PUBLISH",
            4 => "PUBACK",
            5 => "PUBREC",
            6 => "PUBREL",
            7 => "PUBCOMP",
            8 => "SUBSCRIBE",
            9 => "SUBACK",
            10 => "UNSUBSCRIBE",
            11 => "UNSUBACK",
            12 => "PINGREQ",
            13 => "PINGRESP",
            14 => "DISCONNECT",
            15 if version == Version::V5 => "AUTH",
            15 => return Err(Error::AuthInV311),
            _ => return Err(Error::PacketType(kind)),
        };
        let want_flags = match kind {
            3 => flags,
            6 | 8 | 10 => 0b0010,
            _ => 0,
        };
        if flags != want_flags {
            return Err(Error::Flags {
                packet: name,
                flags,
            });
        }
        let Some((len, n)) = read_varint(&buf[1..])? else {
            return Ok(None);
        };
        let total = 1 + n + len;
        if total > max {
            return Err(Error::TooLarge { size: total, max });
        }
        let Some(body) = buf.get(1 + n..total) else {
            return Ok(None);
        };
        let mut r = Reader {
            buf: body,
            packet: name,
        };
        let v5 = version == Version::V5;
        let packet = match kind {
            1 => Packet::Connect(read_connect(&mut r)?),
            2 => {
                let flags = r.u8()?;
                if flags & 0xfe != 0 {
                    return Err(Error::ConnAckFlags(flags));
                }
                Packet::ConnAck(ConnAck {
                    session_present: flags & 1 != 0,
                    code: r.u8()?,
                    properties: r.props(v5)?,
                })
            }
            3 => {
                let qos = QoS::from_u8((flags >> 1) & 3)?;
                let dup = flags & 0x08 != 0;
                if qos == QoS::AtMostOnce && dup {
                    return Err(Error::DupAtQoS0);
                }
                let topic = r.string()?;
                check_topic_name(&topic, v5)?;
                let pkid = if qos == QoS::AtMostOnce { 0 } else { r.pkid()? };
                let properties = r.props(v5)?;
                Packet::Publish(Publish {
                    dup,
                    qos,
                    retain: flags & 1 != 0,
                    topic,
                    pkid,
                    properties,
                    payload: Bytes::copy_from_slice(std::mem::take(&mut r.buf)),
                })
            }
            4..=7 => {
                let pkid = r.u16()?;
                let mut ack = Ack {
                    pkid,
                    code: 0,
                    properties: Properties::default(),
                };
                if v5 && !r.buf.is_empty() {
                    ack.code = r.u8()?;
                    if !r.buf.is_empty() {
                        ack.properties = r.props(true)?;
                    }
                }
                match kind {
                    4 => Packet::PubAck(ack),
                    5 => Packet::PubRec(ack),
                    6 => Packet::PubRel(ack),
                    _ => Packet::PubComp(ack),
                }
            }
            8 => {
                let pkid = r.pkid()?;
                let properties = r.props(v5)?;
                let filters = r.filters(|r| SubscribeOptions::parse(r.u8()?, version))?;
                Packet::Subscribe(Subscribe {
                    pkid,
                    properties,
                    filters,
                })
            }
            9 => {
                let pkid = r.u16()?;
                let properties = r.props(v5)?;
                let codes = std::mem::take(&mut r.buf).to_vec();
                let bad = codes.iter().find(|c| !matches!(c, 0..=2 | 0x80));
                if let (false, Some(c)) = (v5, bad) {
                    return Err(Error::SubAckCode(*c));
                }
                Packet::SubAck(SubAck {
                    pkid,
                    properties,
                    codes,
                })
            }
            10 => {
                let pkid = r.pkid()?;
                let properties = r.props(v5)?;
                let filters = r.filters(|_| Ok(()))?;
                Packet::Unsubscribe(Unsubscribe {
                    pkid,
                    properties,
                    filters: filters.into_iter().map(|(f, ())| f).collect(),
                })
            }
            11 => {
                let pkid = r.u16()?;
                let properties = r.props(v5)?;
                let codes = if v5 {
                    std::mem::take(&mut r.buf).to_vec()
                } else {
                    Vec::new()
                };
                Packet::UnsubAck(UnsubAck {
                    pkid,
                    properties,
                    codes,
                })
            }
            12 => Packet::PingReq,
            13 => Packet::PingResp,
            _ => {
                let mut d = Disconnect::default();
                if v5 && !r.buf.is_empty() {
                    d.code = r.u8()?;
                    if !r.buf.is_empty() {
                        d.properties = r.props(true)?;
                    }
                }
                if kind == 14 {
                    Packet::Disconnect(d)
                } else {
                    Packet::Auth(d)
                }
            }
        };
        if !r.buf.is_empty() {
            return Err(Error::Trailing {
                packet: name,
                left: r.buf.len(),
            });
        }
        Ok(Some((packet, total)))
    }
}

fn read_connect(r: &mut Reader) -> Result<Connect, Error> {
    let name = r.string()?;
    let level = r.u8()?;
    let version = match (name.as_str(), level) {
        ("MQTT", 4) => Version::V311,
        ("MQTT", 5) => Version::V5,
        _ => {
            return Err(Error::Protocol {
                name: shorten(&name),
                level,
            });
        }
    };
    let v5 = version == Version::V5;
    let flags = r.u8()?;
    let bad = |why| Err(Error::ConnectFlags { flags, why });
    if flags & 0x01 != 0 {
        return bad("the reserved bit is set");
    }
    let has_will = flags & 0x04 != 0;
    let will_qos = QoS::from_u8((flags >> 3) & 3)?;
    let will_retain = flags & 0x20 != 0;
    if !has_will && (will_qos != QoS::AtMostOnce || will_retain) {
        return bad("a will QoS or retain without a will");
    }
    let (has_password, has_username) = (flags & 0x40 != 0, flags & 0x80 != 0);
    if !v5 && has_password && !has_username {
        return bad("3.1.1 allows a password only with a user name");
    }
    let keep_alive = r.u16()?;
    let properties = r.props(v5)?;
    let client_id = r.string()?;
    let will = if has_will {
        let properties = r.props(v5)?;
        let topic = r.string()?;
        check_topic_name(&topic, false)?;
        Some(Will {
            topic,
            payload: r.binary()?,
            qos: will_qos,
            retain: will_retain,
            properties,
        })
    } else {
        None
    };
    let username = if has_username {
        Some(r.string()?)
    } else {
        None
    };
    let password = if has_password {
        Some(r.binary()?)
    } else {
        None
    };
    Ok(Connect {
        version,
        client_id,
        clean_start: flags & 0x02 != 0,
        keep_alive,
        username,
        password,
        will,
        properties,
    })
}

/// A packet's body, read front to back; running out is an error (the
/// whole packet is there by the time it is read).
struct Reader<'a> {
    buf: &'a [u8],
    packet: &'static str,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], Error> {
        if self.buf.len() < n {
            return Err(Error::Short(self.packet));
        }
        let (head, rest) = self.buf.split_at(n);
        self.buf = rest;
        Ok(head)
    }

    fn u8(&mut self) -> Result<u8, Error> {
        Ok(self.take(1)?[0])
    }

    fn u16(&mut self) -> Result<u16, Error> {
        let b = self.take(2)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }

    fn u32(&mut self) -> Result<u32, Error> {
        let b = self.take(4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn pkid(&mut self) -> Result<u16, Error> {
        match self.u16()? {
            0 => Err(Error::ZeroPacketId(self.packet)),
            id => Ok(id),
        }
    }

    fn varint(&mut self) -> Result<usize, Error> {
        let (v, n) = read_varint(self.buf)?.ok_or(Error::Short(self.packet))?;
        self.buf = &self.buf[n..];
        Ok(v)
    }

    fn string(&mut self) -> Result<String, Error> {
        let len = self.u16()?;
        let s = std::str::from_utf8(self.take(len.into())?).map_err(|_| Error::NotUtf8)?;
        if s.contains('\0') {
            return Err(Error::Nul);
        }
        Ok(s.to_string())
    }

    fn binary(&mut self) -> Result<Bytes, Error> {
        let len = self.u16()?;
        Ok(Bytes::copy_from_slice(self.take(len.into())?))
    }

    /// SUBSCRIBE's or UNSUBSCRIBE's payload: one or more valid topic
    /// filters, each followed by what `then` reads.
    fn filters<T>(
        &mut self,
        mut then: impl FnMut(&mut Self) -> Result<T, Error>,
    ) -> Result<Vec<(String, T)>, Error> {
        let mut filters = Vec::new();
        while !self.buf.is_empty() {
            let filter = self.string()?;
            check_topic_filter(&filter)?;
            filters.push((filter, then(self)?));
        }
        if filters.is_empty() {
            return Err(Error::NoFilters(self.packet));
        }
        Ok(filters)
    }

    /// A 5.0 properties block; nothing to read in 3.1.1.
    fn props(&mut self, v5: bool) -> Result<Properties, Error> {
        if !v5 {
            return Ok(Properties::default());
        }
        let len = self.varint()?;
        let mut r = Reader {
            buf: self.take(len)?,
            packet: self.packet,
        };
        let mut props = Vec::new();
        while !r.buf.is_empty() {
            let id = r.u8()?;
            props.push(match id {
                0x01 => Property::PayloadFormat(r.u8()?),
                0x02 => Property::MessageExpiry(r.u32()?),
                0x03 => Property::ContentType(r.string()?),
                0x08 => Property::ResponseTopic(r.string()?),
                0x09 => Property::CorrelationData(r.binary()?),
                // At most four bytes' worth: it always fits a u32.
                0x0B => Property::SubscriptionId(r.varint()? as u32),
                0x11 => Property::SessionExpiry(r.u32()?),
                0x12 => Property::AssignedClientId(r.string()?),
                0x13 => Property::ServerKeepAlive(r.u16()?),
                0x15 => Property::AuthMethod(r.string()?),
                0x16 => Property::AuthData(r.binary()?),
                0x17 => Property::RequestProblemInfo(r.u8()?),
                0x18 => Property::WillDelay(r.u32()?),
                0x19 => Property::RequestResponseInfo(r.u8()?),
                0x1A => Property::ResponseInfo(r.string()?),
                0x1C => Property::ServerReference(r.string()?),
                0x1F => Property::ReasonString(r.string()?),
                0x21 => Property::ReceiveMaximum(r.u16()?),
                0x22 => Property::TopicAliasMaximum(r.u16()?),
                0x23 => Property::TopicAlias(r.u16()?),
                0x24 => Property::MaximumQoS(r.u8()?),
                0x25 => Property::RetainAvailable(r.u8()?),
                0x26 => Property::User(r.string()?, r.string()?),
                0x27 => Property::MaximumPacketSize(r.u32()?),
                0x28 => Property::WildcardAvailable(r.u8()?),
                0x29 => Property::SubscriptionIdAvailable(r.u8()?),
                0x2A => Property::SharedAvailable(r.u8()?),
                _ => return Err(Error::Property(id)),
            });
        }
        Ok(Properties(props))
    }
}

/// A variable byte integer at the start of `buf` and its length; `None`
/// when it has not all arrived.
fn read_varint(buf: &[u8]) -> Result<Option<(usize, usize)>, Error> {
    let mut value = 0usize;
    for i in 0..4 {
        let Some(&b) = buf.get(i) else {
            return Ok(None);
        };
        value |= usize::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            if i > 0 && b == 0 {
                return Err(Error::IntegerNotMinimal);
            }
            return Ok(Some((value, i + 1)));
        }
    }
    Err(Error::IntegerTooLong)
}

/// `v` must be at most [`MAX_REMAINING`].
fn put_varint(out: &mut Vec<u8>, mut v: usize) {
    loop {
        let b = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            out.push(b);
            return;
        }
        out.push(b | 0x80);
    }
}

fn put_str(out: &mut Vec<u8>, s: &str) -> Result<(), Error> {
    if s.contains('\0') {
        return Err(Error::Nul);
    }
    put_bin(out, s.as_bytes())
}

fn put_bin(out: &mut Vec<u8>, b: &[u8]) -> Result<(), Error> {
    let len = u16::try_from(b.len()).map_err(|_| Error::FieldTooLong(b.len()))?;
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(b);
    Ok(())
}

fn put_props(out: &mut Vec<u8>, props: &Properties) -> Result<(), Error> {
    let mut block = Vec::new();
    for p in &props.0 {
        match p {
            Property::PayloadFormat(v) => block.extend([0x01, *v]),
            Property::MessageExpiry(v) => put_u32(&mut block, 0x02, *v),
            Property::ContentType(s) => put_str_prop(&mut block, 0x03, s)?,
            Property::ResponseTopic(s) => put_str_prop(&mut block, 0x08, s)?,
            Property::CorrelationData(b) => {
                block.push(0x09);
                put_bin(&mut block, b)?;
            }
            Property::SubscriptionId(v) => {
                let v = *v as usize;
                if v > MAX_REMAINING {
                    return Err(Error::IntegerTooLong);
                }
                block.push(0x0B);
                put_varint(&mut block, v);
            }
            Property::SessionExpiry(v) => put_u32(&mut block, 0x11, *v),
            Property::AssignedClientId(s) => put_str_prop(&mut block, 0x12, s)?,
            Property::ServerKeepAlive(v) => put_u16(&mut block, 0x13, *v),
            Property::AuthMethod(s) => put_str_prop(&mut block, 0x15, s)?,
            Property::AuthData(b) => {
                block.push(0x16);
                put_bin(&mut block, b)?;
            }
            Property::RequestProblemInfo(v) => block.extend([0x17, *v]),
            Property::WillDelay(v) => put_u32(&mut block, 0x18, *v),
            Property::RequestResponseInfo(v) => block.extend([0x19, *v]),
            Property::ResponseInfo(s) => put_str_prop(&mut block, 0x1A, s)?,
            Property::ServerReference(s) => put_str_prop(&mut block, 0x1C, s)?,
            Property::ReasonString(s) => put_str_prop(&mut block, 0x1F, s)?,
            Property::ReceiveMaximum(v) => put_u16(&mut block, 0x21, *v),
            Property::TopicAliasMaximum(v) => put_u16(&mut block, 0x22, *v),
            Property::TopicAlias(v) => put_u16(&mut block, 0x23, *v),
            Property::MaximumQoS(v) => block.extend([0x24, *v]),
            Property::RetainAvailable(v) => block.extend([0x25, *v]),
            Property::User(k, v) => {
                put_str_prop(&mut block, 0x26, k)?;
                put_str(&mut block, v)?;
            }
            Property::MaximumPacketSize(v) => put_u32(&mut block, 0x27, *v),
            Property::WildcardAvailable(v) => block.extend([0x28, *v]),
            Property::SubscriptionIdAvailable(v) => block.extend([0x29, *v]),
            Property::SharedAvailable(v) => block.extend([0x2A, *v]),
        }
    }
    if block.len() > MAX_REMAINING {
        return Err(Error::TooLarge {
            size: block.len(),
            max: MAX_REMAINING,
        });
    }
    put_varint(out, block.len());
    out.extend_from_slice(&block);
    Ok(())
}

fn put_u16(out: &mut Vec<u8>, id: u8, v: u16) {
    out.push(id);
    out.extend_from_slice(&v.to_be_bytes());
}

fn put_u32(out: &mut Vec<u8>, id: u8, v: u32) {
    out.push(id);
    out.extend_from_slice(&v.to_be_bytes());
}

fn put_str_prop(out: &mut Vec<u8>, id: u8, s: &str) -> Result<(), Error> {
    out.push(id);
    put_str(out, s)
}

/// A topic name (what is published to) has no wildcards; it may be empty
/// only in 5.0, where a topic alias stands for it.
pub fn check_topic_name(topic: &str, may_be_empty: bool) -> Result<(), Error> {
    if (topic.is_empty() && !may_be_empty) || topic.contains(['+', '#']) {
        return Err(Error::TopicName(shorten(topic)));
    }
    Ok(())
}

/// A topic filter (what is subscribed to): not empty, `+` alone in its
/// level, `#` alone in the last level (§4.7.1).
pub fn check_topic_filter(filter: &str) -> Result<(), Error> {
    let bad = |why| {
        Err(Error::TopicFilter {
            filter: shorten(filter),
            why,
        })
    };
    if filter.is_empty() {
        return bad("it is empty");
    }
    let mut levels = filter.split('/').peekable();
    while let Some(level) = levels.next() {
        if level.contains('#') && (level != "#" || levels.peek().is_some()) {
            return bad("`#` must be the whole last level");
        }
        if level.contains('+') && level != "+" {
            return bad("`+` must be a whole level");
        }
    }
    Ok(())
}

/// Whether a (valid) topic filter matches a topic name (§4.7): `+` is one
/// level, `#` the parent level and any below it; a topic starting with
/// `$` is not matched by a filter starting with a wildcard.
pub fn topic_matches(filter: &str, topic: &str) -> bool {
    if topic.starts_with('$') && filter.starts_with(['+', '#']) {
        return false;
    }
    let mut topic_levels = topic.split('/');
    for f in filter.split('/') {
        if f == "#" {
            return true;
        }
        match topic_levels.next() {
            Some(t) if f == "+" || f == t => {}
            _ => return false,
        }
    }
    topic_levels.next().is_none()
}

fn shorten(s: &str) -> String {
    s.chars().take(60).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const MAX: usize = 1 << 20;

    fn enc(p: &Packet, v: Version) -> Vec<u8> {
        let mut out = Vec::new();
        p.encode(v, &mut out).unwrap();
        out
    }

    fn dec(buf: &[u8], v: Version) -> Result<Option<(Packet, usize)>, Error> {
        Packet::decode(buf, v, MAX)
    }

    fn connect(version: Version) -> Connect {
        Connect {
            version,
            client_id: "pubcat".into(),
            clean_start: true,
            keep_alive: 60,
            username: None,
            password: None,
            will: None,
            properties: Properties::default(),
        }
    }

    fn publish(qos: QoS, pkid: u16, topic: &str, payload: &'static [u8]) -> Publish {
        Publish {
            dup: false,
            qos,
            retain: false,
            topic: topic.into(),
            pkid,
            properties: Properties::default(),
            payload: Bytes::from_static(payload),
        }
    }

    /// The packet encodes to exactly `bytes` and `bytes` decodes to it.
    fn both_ways(p: Packet, v: Version, bytes: &[u8]) {
        assert_eq!(enc(&p, v), bytes, "{p:?}");
        assert_eq!(dec(bytes, v), Ok(Some((p, bytes.len()))));
    }

    #[test]
    fn known_packets_have_the_spec_bytes() {
        use Version::*;
        let mut c = b"\x10\x12\x00\x04MQTT\x04\x02\x00\x3c\x00\x06pubcat".to_vec();
        both_ways(Packet::Connect(connect(V311)), V311, &c);
        // A CONNECT is read in its own level whatever the session says.
        assert!(matches!(dec(&c, V5), Ok(Some((Packet::Connect(_), 20)))));
        let mut v5 = connect(V5);
        v5.properties.0.push(Property::SessionExpiry(3600));
        c = b"\x10\x18\x00\x04MQTT\x05\x02\x00\x3c\x05\x11\x00\x00\x0e\x10\x00\x06pubcat".to_vec();
        both_ways(Packet::Connect(v5), V5, &c);
        let full = Connect {
            client_id: "c".into(),
            username: Some("u".into()),
            password: Some(Bytes::from_static(b"pw")),
            will: Some(Will {
                topic: "t".into(),
                payload: Bytes::from_static(b"by"),
                qos: QoS::AtLeastOnce,
                retain: true,
                properties: Properties::default(),
            }),
            ..connect(V311)
        };
        // Flags: user name, password, will retain, will QoS 1, will, clean.
        both_ways(
            Packet::Connect(full),
            V311,
            b"\x10\x1b\x00\x04MQTT\x04\xee\x00\x3c\x00\x01c\x00\x01t\x00\x02by\x00\x01u\x00\x02pw",
        );
        // 5.0 options: QoS 1, no local, retain as published, handling 2.
        both_ways(
            Packet::Subscribe(Subscribe {
                pkid: 1,
                properties: Properties::default(),
                filters: vec![(
                    "a/b".into(),
                    SubscribeOptions {
                        qos: QoS::AtLeastOnce,
                        no_local: true,
                        retain_as_published: true,
                        retain_handling: 2,
                    },
                )],
            }),
            V5,
            b"\x82\x09\x00\x01\x00\x00\x03a/b\x2d",
        );
        both_ways(
            Packet::Publish(publish(QoS::AtMostOnce, 0, "a/b", b"hi")),
            V311,
            b"\x30\x07\x00\x03a/bhi",
        );
        both_ways(
            Packet::Publish(Publish {
                retain: true,
                dup: true,
                ..publish(QoS::AtLeastOnce, 10, "a/b", b"hi")
            }),
            V311,
            b"\x3b\x09\x00\x03a/b\x00\x0ahi",
        );
        both_ways(
            Packet::Subscribe(Subscribe {
                pkid: 1,
                properties: Properties::default(),
                filters: vec![("a/b".into(), SubscribeOptions::qos(QoS::AtLeastOnce))],
            }),
            V311,
            b"\x82\x08\x00\x01\x00\x03a/b\x01",
        );
        let ack = |pkid| Ack {
            pkid,
            code: 0,
            properties: Properties::default(),
        };
        both_ways(Packet::PubAck(ack(7)), V311, b"\x40\x02\x00\x07");
        both_ways(Packet::PubAck(ack(7)), V5, b"\x40\x02\x00\x07");
        both_ways(Packet::PubRel(ack(7)), V311, b"\x62\x02\x00\x07");
        both_ways(Packet::PingReq, V311, b"\xc0\x00");
        both_ways(Packet::PingResp, V5, b"\xd0\x00");
        both_ways(Packet::Disconnect(Disconnect::default()), V311, b"\xe0\x00");
        both_ways(
            Packet::SubAck(SubAck {
                pkid: 1,
                properties: Properties::default(),
                codes: vec![1, 0x80],
            }),
            V311,
            b"\x90\x04\x00\x01\x01\x80",
        );
        both_ways(
            Packet::UnsubAck(UnsubAck {
                pkid: 2,
                properties: Properties::default(),
                codes: vec![],
            }),
            V311,
            b"\xb0\x02\x00\x02",
        );
        both_ways(
            Packet::ConnAck(ConnAck {
                session_present: true,
                code: 0,
                properties: Properties::default(),
            }),
            V311,
            b"\x20\x02\x01\x00",
        );
    }

    #[test]
    fn v5_publish_properties_round_trip_in_wire_order() {
        let mut p = publish(QoS::ExactlyOnce, 3, "t", b"{}");
        p.properties.0 = vec![
            Property::PayloadFormat(1),
            Property::MessageExpiry(30),
            Property::ContentType("application/json".into()),
            Property::ResponseTopic("reply/me".into()),
            Property::CorrelationData(Bytes::from_static(b"\x00\x01")),
            Property::User("k".into(), "v1".into()),
            Property::User("k".into(), "v2".into()),
        ];
        let bytes = enc(&Packet::Publish(p.clone()), Version::V5);
        // type+flags, length, topic, packet id, then the properties block.
        assert_eq!(&bytes[..8], b"\x34\x42\x00\x01t\x00\x03\x3a");
        assert_eq!(&bytes[8..10], b"\x01\x01");
        let (back, _) = dec(&bytes, Version::V5).unwrap().unwrap();
        let Packet::Publish(back) = back else {
            panic!("not a publish")
        };
        assert_eq!(
            back.properties.user().collect::<Vec<_>>(),
            [("k", "v1"), ("k", "v2")]
        );
        assert_eq!(back, p);
        // In 3.1.1 the properties are not sent.
        let v3 = enc(&Packet::Publish(p), Version::V311);
        assert_eq!(v3, b"\x34\x07\x00\x01t\x00\x03{}");
    }

    #[test]
    fn refusals_name_the_reason() {
        let v5 = b"\x20\x0a\x00\x87\x07\x1f\x00\x04nope";
        let (p, _) = dec(v5, Version::V5).unwrap().unwrap();
        let refused = p.refusal(Version::V5).unwrap();
        assert_eq!(refused.code, 0x87);
        assert_eq!(
            refused.to_string(),
            "CONNACK: not authorized (code 0x87): nope"
        );
        let (p, _) = dec(b"\x20\x02\x00\x05", Version::V311).unwrap().unwrap();
        assert_eq!(
            p.refusal(Version::V311).unwrap().to_string(),
            "CONNACK: not authorized (code 0x05)"
        );
        let (p, _) = dec(b"\x20\x02\x00\x00", Version::V311).unwrap().unwrap();
        assert_eq!(p.refusal(Version::V311), None);
        let (p, _) = dec(b"\x40\x03\x00\x01\x97", Version::V5).unwrap().unwrap();
        assert_eq!(
            p.refusal(Version::V5).unwrap().to_string(),
            "PUBACK: quota exceeded (code 0x97)"
        );
        let (p, _) = dec(b"\x40\x03\x00\x01\x10", Version::V5).unwrap().unwrap();
        assert_eq!(
            p.refusal(Version::V5),
            None,
            "no subscribers is not an error"
        );
        let (p, _) = dec(b"\x90\x05\x00\x01\x00\x01\x80", Version::V311)
            .unwrap()
            .unwrap();
        assert_eq!(
            p.refusal(Version::V311).unwrap().to_string(),
            "SUBACK: failure (code 0x80)"
        );
        let (p, _) = dec(b"\xe0\x01\x8b", Version::V5).unwrap().unwrap();
        assert_eq!(
            p.refusal(Version::V5).unwrap().to_string(),
            "DISCONNECT: server shutting down (code 0x8b)"
        );
    }

    #[test]
    fn remaining_length_uses_one_to_four_bytes() {
        let cases: [(usize, &[u8]); 8] = [
            (0, b"\x00"),
            (127, b"\x7f"),
            (128, b"\x80\x01"),
            (16_383, b"\xff\x7f"),
            (16_384, b"\x80\x80\x01"),
            (2_097_151, b"\xff\xff\x7f"),
            (2_097_152, b"\x80\x80\x80\x01"),
            (MAX_REMAINING, b"\xff\xff\xff\x7f"),
        ];
        for (n, bytes) in cases {
            let mut out = Vec::new();
            put_varint(&mut out, n);
            assert_eq!(out, bytes);
            assert_eq!(read_varint(bytes), Ok(Some((n, bytes.len()))));
        }
        assert_eq!(
            dec(b"\x30\xff\xff\xff\xff\x01", Version::V311),
            Err(Error::IntegerTooLong)
        );
        assert_eq!(
            dec(b"\xc0\x80\x00", Version::V311),
            Err(Error::IntegerNotMinimal)
        );
    }

    #[test]
    fn oversized_packets_are_refused_from_the_fixed_header() {
        assert_eq!(
            Packet::decode(b"\x30\xff\xff\xff\x7f", Version::V5, 1024),
            Err(Error::TooLarge {
                size: 1 + 4 + MAX_REMAINING,
                max: 1024
            })
        );
        let big = Packet::Publish(Publish {
            payload: Bytes::from(vec![0; 2000]),
            ..publish(QoS::AtMostOnce, 0, "t", b"")
        });
        let bytes = enc(&big, Version::V311);
        assert!(matches!(
            Packet::decode(&bytes, Version::V311, 1000),
            Err(Error::TooLarge { max: 1000, .. })
        ));
        assert!(Packet::decode(&bytes, Version::V311, bytes.len()).is_ok());
    }

    #[test]
    fn encoding_refuses_what_the_wire_cannot_say() {
        let mut out = b"kept".to_vec();
        let long = "x".repeat(70_000);
        for (p, err) in [
            (
                Packet::Publish(publish(QoS::AtMostOnce, 0, &long, b"")),
                Error::FieldTooLong(70_000),
            ),
            (
                Packet::Publish(publish(QoS::AtMostOnce, 0, "a\0b", b"")),
                Error::Nul,
            ),
            (
                Packet::Publish(publish(QoS::AtMostOnce, 0, "a/+", b"")),
                Error::TopicName("a/+".into()),
            ),
            (
                Packet::Publish(publish(QoS::AtLeastOnce, 0, "a", b"")),
                Error::ZeroPacketId("PUBLISH"),
            ),
            (Packet::Auth(Disconnect::default()), Error::AuthInV311),
        ] {
            assert_eq!(p.encode(Version::V311, &mut out), Err(err));
            assert_eq!(out, b"kept");
        }
        let mut c = connect(Version::V311);
        c.password = Some(Bytes::from_static(b"pw"));
        assert!(matches!(
            Packet::Connect(c.clone()).encode(Version::V311, &mut out),
            Err(Error::ConnectFlags { .. })
        ));
        c.version = Version::V5;
        assert!(Packet::Connect(c).encode(Version::V5, &mut out).is_ok());
    }

    #[test]
    fn malformed_packets_are_errors() {
        use Version::*;
        let cases: [(&[u8], Version, Error); 14] = [
            (b"\x00\x00", V311, Error::PacketType(0)),
            (b"\xf0\x00", V311, Error::AuthInV311),
            (
                b"\x60\x02\x00\x01",
                V311,
                Error::Flags {
                    packet: "PUBREL",
                    flags: 0,
                },
            ),
            (
                b"\xc1\x00",
                V5,
                Error::Flags {
                    packet: "PINGREQ",
                    flags: 1,
                },
            ),
            (b"\x36\x05\x00\x01t\x00\x01", V311, Error::QoS(3)),
            (b"\x38\x03\x00\x01t", V311, Error::DupAtQoS0),
            (b"\x30\x03\x00\x01#", V311, Error::TopicName("#".into())),
            (b"\x30\x02\x00\x00", V311, Error::TopicName(String::new())),
            (b"\x30\x03\x00\x01\x00", V311, Error::Nul),
            (b"\x30\x03\x00\x01\xff", V311, Error::NotUtf8),
            (b"\x30\x03\x00\x05t", V311, Error::Short("PUBLISH")),
            (
                b"\x32\x05\x00\x01t\x00\x00",
                V311,
                Error::ZeroPacketId("PUBLISH"),
            ),
            (
                b"\x40\x03\x00\x01\x00",
                V311,
                Error::Trailing {
                    packet: "PUBACK",
                    left: 1,
                },
            ),
            (b"\x30\x04\x00\x01t\x7f", V5, Error::Short("PUBLISH")),
        ];
        for (bytes, v, err) in cases {
            assert_eq!(dec(bytes, v), Err(err), "{bytes:02x?}");
        }
        let more: [(&[u8], Version); 9] = [
            // CONNECT: a reserved flag bit, a will QoS without a will, 3.1.1
            // password without user name, an unknown level.
            (b"\x10\x0c\x00\x04MQTT\x04\x03\x00\x3c\x00\x00", V311),
            (b"\x10\x0c\x00\x04MQTT\x04\x08\x00\x3c\x00\x00", V311),
            (
                b"\x10\x0e\x00\x04MQTT\x04\x40\x00\x3c\x00\x00\x00\x00",
                V311,
            ),
            (b"\x10\x0c\x00\x04MQTT\x03\x02\x00\x3c\x00\x00", V311),
            // SUBSCRIBE: no filters, a bad filter, reserved option bits.
            (b"\x82\x02\x00\x01", V311),
            (b"\x82\x07\x00\x01\x00\x02a+\x00", V311),
            (b"\x82\x06\x00\x01\x00\x01a\x04", V311),
            // A 3.1.1 SUBACK code that does not exist; an unknown property.
            (b"\x90\x03\x00\x01\x03", V311),
            (b"\x40\x05\x00\x01\x00\x01\x05", V5),
        ];
        for (bytes, v) in more {
            assert!(dec(bytes, v).is_err(), "{bytes:02x?}");
        }
    }

    #[test]
    fn topic_filters_follow_the_wildcard_rules() {
        for ok in [
            "#",
            "+",
            "+/+",
            "/+",
            "sport/#",
            "+/tennis/#",
            "a//b",
            "$SYS/#",
            "$share/g/a/+",
        ] {
            assert_eq!(check_topic_filter(ok), Ok(()), "{ok}");
        }
        for bad in [
            "",
            "sport/tennis#",
            "sport/tennis/#/ranking",
            "sport+",
            "a/#/",
            "##",
            "+a/b",
        ] {
            assert!(check_topic_filter(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn topic_matches_per_the_spec_examples() {
        let yes = [
            ("sport/tennis/player1/#", "sport/tennis/player1"),
            ("sport/tennis/player1/#", "sport/tennis/player1/ranking"),
            (
                "sport/tennis/player1/#",
                "sport/tennis/player1/score/wimbledon",
            ),
            ("sport/#", "sport"),
            ("#", "a/b/c"),
            ("sport/tennis/+", "sport/tennis/player1"),
            ("sport/+", "sport/"),
            ("+/+", "/finance"),
            ("/+", "/finance"),
            ("$SYS/#", "$SYS/broker/uptime"),
            ("$SYS/monitor/+", "$SYS/monitor/Clients"),
            ("a/b", "a/b"),
        ];
        for (f, t) in yes {
            assert!(topic_matches(f, t), "{f} should match {t}");
        }
        let no = [
            ("sport/tennis/+", "sport/tennis/player1/ranking"),
            ("sport/+", "sport"),
            ("+", "/finance"),
            ("#", "$SYS/broker"),
            ("+/monitor/Clients", "$SYS/monitor/Clients"),
            ("a/b", "a/b/c"),
            ("a/b/c", "a/b"),
            ("A", "a"),
        ];
        for (f, t) in no {
            assert!(!topic_matches(f, t), "{f} should not match {t}");
        }
    }

    fn arb_string() -> impl Strategy<Value = String> {
        "[a-z/é ]{0,12}"
    }

    fn arb_topic() -> impl Strategy<Value = String> {
        "[a-z/é]{1,12}"
    }

    fn arb_filter() -> impl Strategy<Value = String> {
        prop::collection::vec(prop_oneof!["[a-z]{0,4}", Just("+".to_string())], 1..4).prop_flat_map(
            |levels| {
                let mut joined = levels.join("/");
                if joined.is_empty() {
                    joined = "x".into();
                }
                prop_oneof![
                    Just(joined.clone()),
                    Just(format!("{joined}/#")),
                    Just("#".into())
                ]
            },
        )
    }

    fn arb_bytes() -> impl Strategy<Value = Bytes> {
        prop::collection::vec(any::<u8>(), 0..24).prop_map(Bytes::from)
    }

    fn arb_qos() -> impl Strategy<Value = QoS> {
        prop_oneof![
            Just(QoS::AtMostOnce),
            Just(QoS::AtLeastOnce),
            Just(QoS::ExactlyOnce)
        ]
    }

    fn arb_props() -> impl Strategy<Value = Properties> {
        let one = prop_oneof![
            any::<u8>().prop_map(Property::PayloadFormat),
            any::<u32>().prop_map(Property::MessageExpiry),
            arb_string().prop_map(Property::ContentType),
            arb_topic().prop_map(Property::ResponseTopic),
            arb_bytes().prop_map(Property::CorrelationData),
            (1..=MAX_REMAINING as u32).prop_map(Property::SubscriptionId),
            any::<u32>().prop_map(Property::SessionExpiry),
            arb_string().prop_map(Property::ReasonString),
            any::<u16>().prop_map(Property::TopicAlias),
            (arb_string(), arb_string()).prop_map(|(k, v)| Property::User(k, v)),
            any::<u32>().prop_map(Property::MaximumPacketSize),
            arb_bytes().prop_map(Property::AuthData),
        ];
        prop::collection::vec(one, 0..4).prop_map(Properties)
    }

    fn arb_options() -> impl Strategy<Value = SubscribeOptions> {
        (arb_qos(), any::<bool>(), any::<bool>(), 0u8..3).prop_map(|(qos, nl, rap, rh)| {
            SubscribeOptions {
                qos,
                no_local: nl,
                retain_as_published: rap,
                retain_handling: rh,
            }
        })
    }

    /// A valid 5.0 packet; [`for_v311`] makes it a valid 3.1.1 one.
    fn arb_packet() -> impl Strategy<Value = Packet> {
        let will = (
            arb_topic(),
            arb_bytes(),
            arb_qos(),
            any::<bool>(),
            arb_props(),
        )
            .prop_map(|(topic, payload, qos, retain, properties)| Will {
                topic,
                payload,
                qos,
                retain,
                properties,
            });
        let connect = (
            arb_string(),
            any::<bool>(),
            any::<u16>(),
            prop::option::of(arb_string()),
            prop::option::of(arb_bytes()),
            prop::option::of(will),
            arb_props(),
        )
            .prop_map(
                |(client_id, clean_start, keep_alive, username, password, will, properties)| {
                    Packet::Connect(Connect {
                        version: Version::V5,
                        client_id,
                        clean_start,
                        keep_alive,
                        username,
                        password,
                        will,
                        properties,
                    })
                },
            );
        let publish = (
            arb_qos(),
            any::<bool>(),
            any::<bool>(),
            "[a-z/]{0,8}",
            1..=u16::MAX,
            arb_props(),
            arb_bytes(),
        )
            .prop_map(|(qos, dup, retain, topic, pkid, properties, payload)| {
                let at0 = qos == QoS::AtMostOnce;
                Packet::Publish(Publish {
                    dup: dup && !at0,
                    qos,
                    retain,
                    topic,
                    pkid: if at0 { 0 } else { pkid },
                    properties,
                    payload,
                })
            });
        let ack = (1..=u16::MAX, any::<u8>(), arb_props(), 0..4).prop_map(
            |(pkid, code, properties, k)| {
                let a = Ack {
                    pkid,
                    code,
                    properties,
                };
                match k {
                    0 => Packet::PubAck(a),
                    1 => Packet::PubRec(a),
                    2 => Packet::PubRel(a),
                    _ => Packet::PubComp(a),
                }
            },
        );
        let subscribe = (
            1..=u16::MAX,
            arb_props(),
            prop::collection::vec((arb_filter(), arb_options()), 1..4),
        )
            .prop_map(|(pkid, properties, filters)| {
                Packet::Subscribe(Subscribe {
                    pkid,
                    properties,
                    filters,
                })
            });
        let unsubscribe = (
            1..=u16::MAX,
            arb_props(),
            prop::collection::vec(arb_filter(), 1..4),
        )
            .prop_map(|(pkid, properties, filters)| {
                Packet::Unsubscribe(Unsubscribe {
                    pkid,
                    properties,
                    filters,
                })
            });
        let codes = prop::collection::vec(
            prop_oneof![Just(0u8), Just(1), Just(2), Just(0x80), any::<u8>()],
            0..4,
        );
        let suback =
            (any::<u16>(), arb_props(), codes.clone()).prop_map(|(pkid, properties, codes)| {
                Packet::SubAck(SubAck {
                    pkid,
                    properties,
                    codes,
                })
            });
        let unsuback = (any::<u16>(), arb_props(), codes).prop_map(|(pkid, properties, codes)| {
            Packet::UnsubAck(UnsubAck {
                pkid,
                properties,
                codes,
            })
        });
        let connack = (any::<bool>(), any::<u8>(), arb_props()).prop_map(
            |(session_present, code, properties)| {
                Packet::ConnAck(ConnAck {
                    session_present,
                    code,
                    properties,
                })
            },
        );
        let disconnect =
            (any::<u8>(), arb_props(), any::<bool>()).prop_map(|(code, properties, auth)| {
                let d = Disconnect { code, properties };
                if auth {
                    Packet::Auth(d)
                } else {
                    Packet::Disconnect(d)
                }
            });
        prop_oneof![
            connect,
            connack,
            publish,
            ack,
            subscribe,
            suback,
            unsubscribe,
            unsuback,
            Just(Packet::PingReq),
            Just(Packet::PingResp),
            disconnect,
        ]
    }

    /// The same packet as 3.1.1 can say it: no properties, no reason
    /// codes, QoS-only subscription options; AUTH becomes DISCONNECT.
    fn for_v311(p: Packet) -> Packet {
        let none = Properties::default;
        match p {
            Packet::Connect(mut c) => {
                c.version = Version::V311;
                c.properties = none();
                if let Some(w) = &mut c.will {
                    w.properties = none();
                }
                if c.username.is_none() {
                    c.password = None;
                }
                Packet::Connect(c)
            }
            Packet::ConnAck(c) => Packet::ConnAck(ConnAck {
                properties: none(),
                ..c
            }),
            Packet::Publish(mut p) => {
                p.properties = none();
                if p.topic.is_empty() {
                    p.topic = "t".into();
                }
                Packet::Publish(p)
            }
            Packet::PubAck(a) => Packet::PubAck(Ack {
                pkid: a.pkid,
                code: 0,
                properties: none(),
            }),
            Packet::PubRec(a) => Packet::PubRec(Ack {
                pkid: a.pkid,
                code: 0,
                properties: none(),
            }),
            Packet::PubRel(a) => Packet::PubRel(Ack {
                pkid: a.pkid,
                code: 0,
                properties: none(),
            }),
            Packet::PubComp(a) => Packet::PubComp(Ack {
                pkid: a.pkid,
                code: 0,
                properties: none(),
            }),
            Packet::Subscribe(mut s) => {
                s.properties = none();
                for (_, o) in &mut s.filters {
                    *o = SubscribeOptions::qos(o.qos);
                }
                Packet::Subscribe(s)
            }
            Packet::SubAck(mut s) => {
                s.properties = none();
                for c in &mut s.codes {
                    if !matches!(c, 0..=2) {
                        *c = 0x80;
                    }
                }
                Packet::SubAck(s)
            }
            Packet::Unsubscribe(u) => Packet::Unsubscribe(Unsubscribe {
                properties: none(),
                ..u
            }),
            Packet::UnsubAck(u) => Packet::UnsubAck(UnsubAck {
                pkid: u.pkid,
                properties: none(),
                codes: vec![],
            }),
            Packet::Disconnect(_) | Packet::Auth(_) => Packet::Disconnect(Disconnect::default()),
            p => p,
        }
    }

    proptest! {
        #[test]
        fn packets_round_trip_in_both_versions(packets in prop::collection::vec(arb_packet(), 1..4)) {
            for version in [Version::V5, Version::V311] {
                let packets: Vec<Packet> = match version {
                    Version::V5 => packets.clone(),
                    Version::V311 => packets.iter().cloned().map(for_v311).collect(),
                };
                let mut stream = Vec::new();
                for p in &packets {
                    p.encode(version, &mut stream).unwrap();
                }
                let mut at = 0;
                let mut got = Vec::new();
                while at < stream.len() {
                    let (p, used) = Packet::decode(&stream[at..], version, MAX).unwrap().unwrap();
                    got.push(p);
                    at += used;
                }
                prop_assert_eq!(got, packets);
            }
        }

        #[test]
        fn every_prefix_of_a_packet_asks_for_more(p in arb_packet()) {
            for (version, p) in [(Version::V5, p.clone()), (Version::V311, for_v311(p))] {
                let bytes = enc(&p, version);
                for cut in 0..bytes.len() {
                    prop_assert_eq!(Packet::decode(&bytes[..cut], version, MAX), Ok(None), "cut at {}", cut);
                }
            }
        }

        #[test]
        fn any_bytes_decode_without_panic(buf in prop::collection::vec(any::<u8>(), 0..128), v5 in any::<bool>()) {
            let version = if v5 { Version::V5 } else { Version::V311 };
            if let Ok(Some((p, used))) = Packet::decode(&buf, version, 64) {
                prop_assert!(used > 0 && used <= buf.len().min(64));
                let again = enc(&p, version);
                prop_assert_eq!(Packet::decode(&again, version, MAX), Ok(Some((p, again.len()))));
            }
        }

        #[test]
        fn valid_fixed_headers_with_random_bodies_never_panic(
            first in prop::sample::select(vec![0x10u8, 0x20, 0x30, 0x32, 0x34, 0x40, 0x62, 0x82, 0x90, 0xa2, 0xb0, 0xe0, 0xf0]),
            body in prop::collection::vec(any::<u8>(), 0..100),
            v5 in any::<bool>(),
        ) {
            let version = if v5 { Version::V5 } else { Version::V311 };
            let mut buf = vec![first];
            put_varint(&mut buf, body.len());
            buf.extend_from_slice(&body);
            if let Ok(Some((p, used))) = Packet::decode(&buf, version, MAX) {
                prop_assert_eq!(used, buf.len());
                let again = enc(&p, version);
                prop_assert_eq!(Packet::decode(&again, version, MAX), Ok(Some((p, again.len()))));
            }
        }

        #[test]
        fn matching_agrees_with_a_regex_reading_of_the_filter(f in arb_filter(), t in "[a-z]{0,2}(/[a-z]{0,2}){0,3}") {
            let re = format!(
                "^{}$",
                f.split('/')
                    .map(|l| match l { "+" => "[^/]*".to_string(), "#" => "#".to_string(), l => regex::escape(l) })
                    .collect::<Vec<_>>()
                    .join("/")
                    .replace("/#", "(/.*)?")
                    .replace('#', ".*")
            );
            let re = regex::Regex::new(&re).unwrap();
            prop_assert_eq!(topic_matches(&f, &t), re.is_match(&t), "{} vs {}", f, t);
        }
    }
}
