//! The client frames, parsed: each becomes a [`Command`] carrying the
//! headers it needs, checked, and the session applies it. Parsing knows
//! nothing of the session but whether CONNECT came already; the checks
//! that need its state (an ack id handed out, a subscription id or a
//! transaction that exists) are the session's.

use super::{Fail, fail};
use crate::codec::stomp::{AckMode, Frame, parse_heartbeat};
use crate::server::broker::Payload;

/// Unacknowledged messages a queue consumer may hold without
/// `prefetch-count`.
const DEFAULT_WINDOW: usize = 1000;

/// What a client frame asks.
pub(super) enum Command {
    /// CONNECT or STOMP.
    Connect {
        /// The highest version both sides speak.
        version: &'static str,
        /// The client's `heart-beat` header: (it can send every, it wants
        /// ours every) ms, 0 for never.
        heart_beat: (u64, u64),
        /// The `passcode` header: the token, when the broker wants one and
        /// the connection's HTTP request had none (`login` is ignored).
        passcode: Option<String>,
    },
    /// SEND, ACK or NACK outside a transaction: applied now.
    Op(Op),
    /// SEND, ACK or NACK with a `transaction` header: kept for COMMIT to
    /// apply. A frame that does not parse is kept too, and its ERROR comes
    /// at COMMIT, after the frames before it have been applied.
    Transactional {
        transaction: String,
        op: Result<Op, Fail>,
    },
    Subscribe(Subscribe),
    Unsubscribe {
        id: String,
    },
    Begin {
        transaction: String,
    },
    Commit {
        transaction: String,
    },
    Abort {
        transaction: String,
    },
    Disconnect,
}

/// SEND, ACK or NACK: what is applied now or, held by a transaction, at
/// its COMMIT.
pub(super) enum Op {
    Send(Publish),
    Ack(Ack),
    Nack(Ack),
}

/// A SEND.
pub(super) struct Publish {
    pub(super) to: Dest,
    pub(super) payload: Payload,
    /// The headers that travel with the message to subscribers.
    pub(super) headers: Vec<(String, String)>,
}

/// Which message an ACK or NACK settles.
pub(super) enum Ack {
    /// STOMP 1.2: `id`, the MESSAGE's `ack` header (`tag` is None when it
    /// is not a number, so no message has it).
    Id { id: String, tag: Option<u64> },
    /// STOMP 1.0 and 1.1: `message-id`, and `subscription` when given.
    MessageId {
        message_id: String,
        subscription: Option<String>,
    },
}

/// A SUBSCRIBE.
pub(super) struct Subscribe {
    /// The client's id for the subscription.
    pub(super) id: String,
    /// The `destination` header as given: MESSAGE frames carry it.
    pub(super) destination: String,
    /// The rest of the frame, checked. Its error is told only once the
    /// session knows `id` is not taken, which is told first.
    pub(super) target: Result<Target, Fail>,
}

/// Where a SUBSCRIBE goes and how its messages are acknowledged.
pub(super) struct Target {
    pub(super) to: Dest,
    pub(super) ack: AckMode,
    /// How many messages a queue consumer may hold unacknowledged.
    pub(super) window: usize,
}

/// A destination of SEND or SUBSCRIBE.
pub(super) enum Dest {
    /// `/topic/NAME`: the broker topic NAME.
    Topic(String),
    /// `/queue/NAME`: the work queue NAME.
    Queue(String),
}

impl Command {
    /// Parse a client frame; `connected` says whether CONNECT came already
    /// (before it only CONNECT or STOMP may come, after it neither).
    pub(super) fn parse(frame: Frame, connected: bool) -> Result<Command, Fail> {
        match (connected, frame.command.as_str()) {
            (false, "CONNECT" | "STOMP") => connect(&frame),
            (false, other) => Err(fail(
                "not connected",
                format!("the first frame must be CONNECT, not {other}"),
            )),
            (true, "CONNECT" | "STOMP") => Err(fail("already connected", "a second CONNECT frame")),
            (true, "SEND") => op(transaction(&frame), Publish::parse(frame).map(Op::Send)),
            (true, "ACK") => op(transaction(&frame), Ack::parse(&frame).map(Op::Ack)),
            (true, "NACK") => op(transaction(&frame), Ack::parse(&frame).map(Op::Nack)),
            (true, "SUBSCRIBE") => Subscribe::parse(&frame).map(Command::Subscribe),
            (true, "UNSUBSCRIBE") => Ok(Command::Unsubscribe {
                id: require(&frame, "id")?.to_string(),
            }),
            (true, "BEGIN") => Ok(Command::Begin {
                transaction: require(&frame, "transaction")?.to_string(),
            }),
            (true, "COMMIT") => Ok(Command::Commit {
                transaction: require(&frame, "transaction")?.to_string(),
            }),
            (true, "ABORT") => Ok(Command::Abort {
                transaction: require(&frame, "transaction")?.to_string(),
            }),
            (true, "DISCONNECT") => Ok(Command::Disconnect),
            (true, other) => Err(fail(
                "unknown command",
                format!("`{other}` is not a STOMP client frame"),
            )),
        }
    }
}

fn connect(frame: &Frame) -> Result<Command, Fail> {
    let offered = frame.get("accept-version").unwrap_or("1.0");
    let Some(version) = ["1.2", "1.1", "1.0"]
        .into_iter()
        .find(|v| offered.split(',').any(|o| o.trim() == *v))
    else {
        return Err(fail(
            "unsupported STOMP version",
            format!("the client accepts {offered}; this broker speaks 1.0, 1.1 and 1.2"),
        ));
    };
    Ok(Command::Connect {
        version,
        heart_beat: parse_heartbeat(frame.get("heart-beat").unwrap_or("0,0")),
        passcode: frame.get("passcode").map(str::to_string),
    })
}

fn transaction(frame: &Frame) -> Option<String> {
    frame.get("transaction").map(str::to_string)
}

/// SEND, ACK or NACK: now, or kept by the transaction it names.
fn op(transaction: Option<String>, op: Result<Op, Fail>) -> Result<Command, Fail> {
    match transaction {
        Some(transaction) => Ok(Command::Transactional { transaction, op }),
        None => op.map(Command::Op),
    }
}

impl Publish {
    fn parse(frame: Frame) -> Result<Publish, Fail> {
        let to = Dest::parse(require(&frame, "destination")?)?;
        let binary = frame
            .get("content-type")
            .is_some_and(|ct| ct.starts_with("application/octet-stream"));
        let headers = kept_headers(&frame);
        Ok(Publish {
            to,
            payload: Payload::new(frame.body, binary),
            headers,
        })
    }
}

impl Ack {
    fn parse(frame: &Frame) -> Result<Ack, Fail> {
        match (frame.get("id"), frame.get("message-id")) {
            (Some(id), _) => Ok(Ack::Id {
                id: id.to_string(),
                tag: id.trim().parse().ok(),
            }),
            (None, Some(message_id)) => Ok(Ack::MessageId {
                message_id: message_id.to_string(),
                subscription: frame.get("subscription").map(str::to_string),
            }),
            (None, None) => Err(fail("missing header", "ACK and NACK need an id header")),
        }
    }
}

impl Subscribe {
    fn parse(frame: &Frame) -> Result<Subscribe, Fail> {
        let id = require(frame, "id")?;
        let destination = require(frame, "destination")?;
        Ok(Subscribe {
            id: id.to_string(),
            destination: destination.to_string(),
            target: Target::parse(frame, destination),
        })
    }
}

impl Target {
    fn parse(frame: &Frame, destination: &str) -> Result<Target, Fail> {
        let ack_header = frame.get("ack").unwrap_or("auto");
        let Some(ack) = AckMode::from_header(ack_header) else {
            return Err(fail(
                "bad ack mode",
                format!("ack `{ack_header}`: use auto, client or client-individual"),
            ));
        };
        let window = match frame.get("prefetch-count") {
            None => DEFAULT_WINDOW,
            Some(v) => match v.trim().parse::<usize>() {
                Ok(0) => DEFAULT_WINDOW,
                Ok(n) => n,
                Err(_) => {
                    return Err(fail(
                        "bad prefetch-count",
                        format!("prefetch-count `{v}` is not a number"),
                    ));
                }
            },
        };
        Ok(Target {
            to: Dest::parse(destination)?,
            ack,
            window,
        })
    }
}

impl Dest {
    /// `/topic/NAME` is the broker topic NAME; `/queue/NAME` a work queue.
    fn parse(value: &str) -> Result<Dest, Fail> {
        if let Some(name) = value.strip_prefix("/topic/") {
            if name.is_empty() || name == "_" || name.starts_with("_/") {
                return Err(fail(
                    "bad destination",
                    format!("`{value}`: topic names under _/ belong to the broker"),
                ));
            }
            if name.contains(['*', '#', '>']) {
                return Err(fail(
                    "bad destination",
                    format!(
                        "`{value}`: pubcat serve has no wildcard destinations (RabbitMQ's * and #, NATS's >): subscribe to each topic by name"
                    ),
                ));
            }
            return Ok(Dest::Topic(name.to_string()));
        }
        if let Some(name) = value.strip_prefix("/queue/")
            && !name.is_empty()
        {
            return Ok(Dest::Queue(name.to_string()));
        }
        Err(fail(
            "unknown destination",
            format!(
                "`{value}`: pubcat serve has /topic/NAME (the topic of ws://HOST/NAME, SSE and HTTP) and /queue/NAME"
            ),
        ))
    }
}

/// Headers of a SEND that travel with the message to subscribers.
fn kept_headers(frame: &Frame) -> Vec<(String, String)> {
    const OURS: [&str; 8] = [
        "destination",
        "receipt",
        "content-length",
        "transaction",
        "message-id",
        "subscription",
        "ack",
        "redelivered",
    ];
    let mut kept: Vec<(String, String)> = Vec::new();
    for (k, v) in &frame.headers {
        // The first of a repeated header wins, as STOMP says.
        if !OURS.contains(&k.as_str()) && !kept.iter().any(|(seen, _)| seen == k) {
            kept.push((k.clone(), v.clone()));
        }
    }
    kept
}

fn require<'a>(frame: &'a Frame, header: &str) -> Result<&'a str, Fail> {
    frame.get(header).ok_or_else(|| {
        fail(
            "missing header",
            format!("{} needs a `{header}` header", frame.command),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The ERROR's `message` and body.
    fn refused<T>(result: Result<T, Fail>) -> (String, String) {
        match result {
            Ok(_) => panic!("accepted"),
            Err(f) => (f.message, f.detail),
        }
    }

    #[test]
    fn only_connect_comes_first_and_never_again() {
        let early = Frame::new("SEND").header("destination", "/topic/x");
        assert_eq!(
            refused(Command::parse(early, false)),
            (
                "not connected".into(),
                "the first frame must be CONNECT, not SEND".into()
            )
        );
        let stomp = Frame::new("STOMP")
            .header("heart-beat", "100,x")
            .header("login", "ignored")
            .header("passcode", "s3cret");
        let Ok(Command::Connect {
            version,
            heart_beat,
            passcode,
        }) = Command::parse(stomp, false)
        else {
            panic!("STOMP is CONNECT");
        };
        assert_eq!((version, heart_beat), ("1.0", (100, 0)));
        assert_eq!(passcode.as_deref(), Some("s3cret"));
        // Once connected, even a CONNECT with a version we lack is "already".
        let again = Frame::new("CONNECT").header("accept-version", "9.9");
        assert_eq!(refused(Command::parse(again, true)).0, "already connected");
    }

    #[test]
    fn a_transaction_keeps_even_a_frame_that_does_not_parse() {
        let send = Frame::new("SEND").header("transaction", "t");
        let Ok(Command::Transactional { transaction, op }) = Command::parse(send, true) else {
            panic!("not kept for the transaction");
        };
        assert_eq!(transaction, "t");
        assert_eq!(
            refused(op),
            (
                "missing header".into(),
                "SEND needs a `destination` header".into()
            )
        );
        let nack = Frame::new("NACK").header("id", "4");
        assert!(matches!(
            Command::parse(nack, true),
            Ok(Command::Op(Op::Nack(Ack::Id { tag: Some(4), .. })))
        ));
    }

    #[test]
    fn acks_name_a_tag_or_a_message_id() {
        let parse = |f: Frame| Ack::parse(&f);
        assert!(matches!(
            parse(Frame::new("ACK").header("id", "x")),
            Ok(Ack::Id { tag: None, .. })
        ));
        let Ok(Ack::MessageId {
            message_id,
            subscription,
        }) = parse(Frame::new("ACK").header("message-id", "7"))
        else {
            panic!("a 1.1 ACK");
        };
        assert_eq!((message_id.as_str(), subscription), ("7", None));
        assert_eq!(refused(parse(Frame::new("ACK"))).0, "missing header");
    }

    #[test]
    fn a_subscribe_with_an_id_and_destination_keeps_its_other_errors() {
        let subscribe = |prefetch: &str| {
            let frame = Frame::new("SUBSCRIBE")
                .header("id", "s")
                .header("destination", "/queue/q")
                .header("prefetch-count", prefetch);
            match Command::parse(frame, true) {
                Ok(Command::Subscribe(s)) => s,
                _ => panic!("id and destination are there"),
            }
        };
        assert_eq!(refused(subscribe("many").target).0, "bad prefetch-count");
        let s = subscribe("0");
        let target = s.target.unwrap_or_else(|_| panic!("a good target"));
        assert!(matches!(target.to, Dest::Queue(ref q) if q == "q"));
        assert_eq!((target.ack, target.window), (AckMode::Auto, DEFAULT_WINDOW));
        let no_id = Frame::new("SUBSCRIBE").header("destination", "/topic/x");
        assert_eq!(
            refused(Command::parse(no_id, true)).1,
            "SUBSCRIBE needs a `id` header"
        );
    }

    #[test]
    fn wildcard_topics_are_refused_not_taken_literally() {
        for dest in ["/topic/news.*", "/topic/news.#", "/topic/a.>"] {
            let frame = Frame::new("SUBSCRIBE")
                .header("id", "0")
                .header("destination", dest);
            let Ok(Command::Subscribe(sub)) = Command::parse(frame, true) else {
                panic!("{dest}: not a subscribe");
            };
            let Err(f) = sub.target else {
                panic!("{dest}: taken as a topic");
            };
            assert!(f.detail.contains("no wildcard"), "{dest}: {}", f.detail);
        }
    }
}
