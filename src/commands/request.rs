//! `pubcat request` and `pubcat reply`: request/reply over the protocols
//! that have a reply address, MQTT 5 (a response topic and correlation
//! data) and NATS (a reply subject).
//!
//! `request` subscribes to its reply address before the request goes out
//! (a reply cannot outrun it), publishes once, and prints the first reply;
//! `--timeout` bounds all of it, connecting included (exit 1; at once
//! when NATS says nobody subscribes to the subject). `reply`
//! prints each request and answers it at the address it carries.

use std::io::IsTerminal;

use bytes::Bytes;
use tokio::time::Instant;

use crate::cli::{Global, OutputArgs, ReplyArgs, RequestArgs};
use crate::codec::mqtt::Version;
use crate::dialect::Dialect;
use crate::dialect::mqtt::MqttRequest;
use crate::endpoint::Role;
use crate::error::{Error, Kind, Outcome, Result};
use crate::render::Format;
use crate::session::{Connection, Incoming, Session};
use crate::shutdown::Interrupt;
use crate::{status, verbose};

/// How long the close may take once the reply is printed.
const CLOSE_WAIT: std::time::Duration = std::time::Duration::from_secs(1);

pub async fn request(global: &Global, args: RequestArgs, interrupt: Interrupt) -> Result<Outcome> {
    no_exec(&args.out)?;
    let mut connection = super::connection(&args.conn, Role::Publish, super::Wants::default())?;
    let address = reply_address(&mut connection)?;
    verbose!("replies to come to {address}");
    let body = match args.message {
        Some(m) => Bytes::from(m),
        None => {
            if std::io::stdin().is_terminal() {
                status!("type the request, Ctrl-D to send it");
            }
            let input = super::publish::spawn_stdin_reader();
            super::publish::read_all(input, args.conn.reach.max_message_size).await?
        }
    };
    let mut printer = super::message_printer(global, &args.out, Format::Toast)?;
    let deadline = Instant::now() + args.timeout;
    let mut interrupt = interrupt;
    let asked = async {
        let mut session = Session::connect(&connection).await?;
        session.feed(body, false).await?;
        session.flush().await?;
        loop {
            match session.next().await? {
                Incoming::Message(m) => {
                    let m = m.clone();
                    return Ok((session, m));
                }
                Incoming::Reply(_) => {}
                Incoming::Closed { reason, .. } => {
                    return Err(Error::connect(format!(
                        "the server closed the connection before a reply came ({reason})"
                    )));
                }
            }
        }
    };
    let (mut session, reply) = tokio::select! {
        answered = tokio::time::timeout_at(deadline, asked) => match answered {
            Ok(answered) => answered?,
            Err(_) => return Err(Error::new(Kind::Timeout, format!(
                "no reply within {}",
                humantime::format_duration(args.timeout)
            ))),
        },
        _ = interrupt.wait() => return Ok(Outcome::Interrupted),
    };
    if reply
        .headers
        .iter()
        .any(|(k, v)| k == "status" && v == "503")
    {
        // NATS answers for a subject nobody listens on, at once.
        let _ = session.close(|_| Ok(())).await;
        return Err(Error::new(
            Kind::Timeout,
            format!(
                "no reply: nobody is subscribed to {} (the server said: no responders)",
                args.conn.reach.topic.join(", ")
            ),
        ));
    }
    super::stdout_ok(printer.print(&reply))?;
    super::stdout_ok(printer.flush())?;
    session.acknowledge().await?;
    session.set_close_wait(CLOSE_WAIT);
    let _ = session.close(|_| Ok(())).await;
    Ok(Outcome::Done)
}

pub async fn reply(global: &Global, args: ReplyArgs, mut interrupt: Interrupt) -> Result<Outcome> {
    no_exec(&args.out)?;
    let connection = super::connection(&args.conn, Role::Subscribe, super::Wants::default())?;
    if !has_replies(&connection) {
        return Err(no_replies());
    }
    let mut printer = super::message_printer(global, &args.out, Format::Toast)?;
    let mut session = tokio::select! {
        s = Session::connect(&connection) => s?,
        _ = interrupt.wait() => return Ok(Outcome::Interrupted),
    };
    super::say_listening(global, &connection);
    let fixed = args.answer.map(Bytes::from);
    let mut answered = 0u64;
    if args.count == Some(0) {
        let _ = session.close(|_| Ok(())).await;
        return Ok(Outcome::Done);
    }
    loop {
        let request = tokio::select! {
            _ = interrupt.wait() => {
                let _ = session.close(|_| Ok(())).await;
                return Ok(Outcome::Interrupted);
            }
            next = session.next() => match next? {
                Incoming::Message(m) => m.clone(),
                Incoming::Reply(_) => continue,
                Incoming::Closed { reason, clean } => {
                    if clean {
                        return Ok(Outcome::Done);
                    }
                    return Err(Error::connect(format!("the server closed the connection ({reason})")));
                }
            },
        };
        super::stdout_ok(printer.print(&request))?;
        super::stdout_ok(printer.flush())?;
        let body = fixed.clone().unwrap_or_else(|| request.body.to_bytes());
        if session.reply(&request, body).await? {
            answered += 1;
            session.flush().await?;
        } else {
            verbose!(
                "a message on {} without a reply address: not answered",
                request.topic
            );
        }
        session.acknowledge().await?;
        if args.count.is_some_and(|n| answered >= n) {
            let closed = session.close(|_| Ok(())).await?;
            if !closed {
                return Err(Error::new(
                    Kind::Lost,
                    format!(
                        "answered {answered} request(s) but the server did not confirm it has the replies"
                    ),
                ));
            }
            return Ok(Outcome::Done);
        }
    }
}

/// Give the connection its reply address, where its protocol has one;
/// the address, for the log.
fn reply_address(connection: &mut Connection) -> Result<String> {
    match &mut connection.dialect {
        Dialect::Mqtt(m) => {
            if m.version != Version::V5 {
                return Err(Error::usage(
                    "request over MQTT needs MQTT 5 (a response topic): leave out --mqtt-version 3.1.1",
                ));
            }
            let token = crate::random::hex(16);
            let request = MqttRequest {
                reply_topic: format!("pubcat/replies/{token}"),
                correlation: Bytes::from(token),
            };
            let topic = request.reply_topic.clone();
            m.request = Some(request);
            Ok(topic)
        }
        Dialect::Nats(n) => {
            if n.queue_group.is_some() {
                return Err(Error::usage("--queue-group is for sub, tail and reply"));
            }
            let inbox = format!("_INBOX.pubcat.{}", crate::random::hex(16));
            n.inbox = Some(inbox.clone());
            Ok(inbox)
        }
        _ => Err(no_replies()),
    }
}

fn has_replies(connection: &Connection) -> bool {
    match &connection.dialect {
        Dialect::Mqtt(m) => m.version == Version::V5,
        Dialect::Nats(_) => true,
        _ => false,
    }
}

fn no_replies() -> Error {
    Error::usage(
        "request and reply need a protocol with reply addresses: MQTT 5 (mqtt+ws://) or NATS (nats+ws://)",
    )
}

fn no_exec(out: &OutputArgs) -> Result<()> {
    if out.exec.is_some() {
        return Err(Error::usage("--exec is for sub and tail"));
    }
    Ok(())
}
