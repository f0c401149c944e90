//! `pubcat connect URL`: an interactive session, websocat's and wscat's
//! job. Each line of stdin is one message sent; every message received is
//! printed with `sub`'s printer. Lines starting with `/` are commands
//! (`/help`). At the end of stdin the connection is closed cleanly, the
//! server's answer awaited, as `publish` does.

use std::time::Duration;

use bytes::Bytes;
use tokio::time::Instant;

use crate::cli::{Global, InteractiveArgs};
use crate::endpoint::{Protocol, Role, Transport};
use crate::error::{Error, Kind, Outcome, Result};
use crate::render::{Format, Printer};
use crate::session::{Incoming, Session};
use crate::shutdown::Interrupt;
use crate::status;
use crate::transport::sleep_until_some;

/// How long the clean close may take once `--timeout` has passed.
const CLOSE_GRACE: Duration = Duration::from_secs(1);

const HELP: &str = "\
commands:
  /help          this list
  /ping          send a WebSocket ping (ws and STOMP over ws)
  /binary HEX    send these bytes as a binary message, e.g. /binary 00ff10
  /topic T       STOMP: send to destination T from now on
  /close         close the connection cleanly (code 1000; other codes are not supported) and exit
  //text         send /text (a line starting with /)
anything else is sent as one message; Ctrl-D (end of input) closes too";

pub async fn run(
    global: &Global,
    args: InteractiveArgs,
    mut interrupt: Interrupt,
) -> Result<Outcome> {
    if args.out.exec.is_some() {
        return Err(Error::usage(
            "--exec is for sub and tail: connect prints what it receives",
        ));
    }
    let wants = super::Wants {
        emit: args.socketio.event.clone(),
        ..Default::default()
    };
    let connection = super::connection(&args.conn, Role::Subscribe, wants)?;
    let endpoint = &connection.endpoint;
    if args.socketio.event.is_some() && endpoint.protocol != Protocol::SocketIo {
        return Err(Error::usage(
            "--event is for Socket.IO: use a socketio+http:// URL or --protocol socketio",
        ));
    }
    if endpoint.protocol != Protocol::SocketIo
        && !matches!(endpoint.transport, Transport::Ws | Transport::Sockjs)
    {
        return Err(Error::usage(format!(
            "connect needs a transport that sends and receives, and {} does not: use ws://, wss://, sockjs+http(s)://, stomp+ws:// or socketio+http(s)://",
            endpoint.transport_name
        )));
    }
    let printer = super::message_printer(global, &args.out, Format::Toast)?;
    let limit = args.conn.reach.max_message_size;

    let started = Instant::now();
    let deadline = args.timeout.map(|t| started + t);
    let session = tokio::select! {
        s = Session::connect(&connection) => s?,
        _ = sleep_until_some(deadline) => return Err(Error::new(Kind::Timeout, format!(
            "timed out after {} while connecting",
            humantime::format_duration(args.timeout.unwrap_or_default())
        ))),
        _ = interrupt.wait() => return Ok(Outcome::Interrupted),
    };
    status!(
        "connected to {} (/help for commands, Ctrl-D to close)",
        crate::log::redact_url(&connection.endpoint.url)
    );
    let mut c = Console {
        session,
        printer,
        binary_hint: false,
    };

    let mut input = super::publish::spawn_stdin_reader();
    let mut splitter = super::publish::LineSplitter::new(limit);
    let mut lines = Vec::new();
    let timeout = sleep_until_some(deadline);
    tokio::pin!(timeout);
    loop {
        tokio::select! {
            biased;
            _ = interrupt.wait() => {
                c.finish().await?;
                return Ok(Outcome::Interrupted);
            }
            _ = &mut timeout => {
                c.session.set_close_wait(CLOSE_GRACE);
                c.finish().await?;
                return Ok(Outcome::Done);
            }
            incoming = c.session.next() => {
                if let Some(outcome) = received(&mut c.printer, &incoming?)? {
                    return Ok(outcome);
                }
                c.flush()?;
            }
            chunk = input.recv() => {
                let (done, refused) = splitter.take(chunk, &mut lines)?;
                for line in lines.drain(..) {
                    if c.line(line).await? == Step::Close {
                        return c.end().await;
                    }
                }
                c.session.flush().await?;
                if let Some(refused) = refused {
                    c.finish().await?;
                    return Err(refused);
                }
                if done {
                    return c.end().await;
                }
            }
        }
    }
}

#[derive(Debug, PartialEq, Eq)]
enum Step {
    Go,
    Close,
}

/// A command line, parsed: what `/…` asks for.
#[derive(Debug, PartialEq, Eq)]
enum Line {
    Send(Bytes),
    Binary(Vec<u8>),
    Help,
    Ping,
    Topic(String),
    Close,
    /// What to tell the user instead (a bad or unknown command).
    Refuse(String),
}

/// Read one line typed: a message, or a command.
fn parse(line: Bytes) -> Line {
    if !line.starts_with(b"/") {
        return Line::Send(line);
    }
    if line.starts_with(b"//") {
        return Line::Send(line.slice(1..));
    }
    let text = String::from_utf8_lossy(&line[1..]);
    let (name, rest) = match text.split_once(char::is_whitespace) {
        Some((name, rest)) => (name, rest.trim()),
        None => (text.as_ref(), ""),
    };
    match (name, rest) {
        ("help" | "?", _) => Line::Help,
        ("ping", "") => Line::Ping,
        ("close", "" | "1000") => Line::Close,
        ("close", code) => Line::Refuse(format!(
            "/close {code}: only close code 1000 is supported (/close)"
        )),
        ("binary", hex) => match parse_hex(hex) {
            Some(bytes) => Line::Binary(bytes),
            None => Line::Refuse(
                "/binary wants hex digits, two per byte (spaces allowed): /binary 00ff10".into(),
            ),
        },
        ("topic", "") => Line::Refuse("/topic wants a destination: /topic /topic/other".into()),
        ("topic", t) => Line::Topic(t.to_string()),
        (name, _) => Line::Refuse(format!(
            "unknown command /{}: /help lists them (//text sends /text)",
            name.escape_debug()
        )),
    }
}

/// `00 ff10` as bytes; None unless every character is a hex digit or space
/// and the digits pair up.
fn parse_hex(text: &str) -> Option<Vec<u8>> {
    let digits: Vec<u8> = text
        .chars()
        .filter(|c| !c.is_whitespace())
        .map(|c| c.to_digit(16).map(|d| d as u8))
        .collect::<Option<_>>()?;
    if !digits.len().is_multiple_of(2) {
        return None;
    }
    Some(digits.chunks(2).map(|p| p[0] << 4 | p[1]).collect())
}

/// One line of the console on stderr: a command's answer or refusal. Not a
/// status line: `-q` does not hide what the user asked for.
fn say(args: std::fmt::Arguments) {
    crate::log::line(format_args!("pubcat: {args}"));
}

/// A message or close from the server; Some when the session is over.
fn received(
    printer: &mut Printer<std::io::Stdout>,
    incoming: &Incoming,
) -> Result<Option<Outcome>> {
    match incoming {
        Incoming::Message(m) | Incoming::Reply(m) => {
            super::stdout_ok(printer.print(m))?;
            Ok(None)
        }
        Incoming::Closed { reason, clean } => {
            super::stdout_ok(printer.flush())?;
            if !clean {
                return Err(Error::server(format!(
                    "the server closed the connection: {reason}"
                )));
            }
            status!("the server closed the connection ({reason})");
            Ok(Some(Outcome::Done))
        }
    }
}

struct Console {
    session: Session,
    printer: Printer<std::io::Stdout>,
    /// A text line that was not UTF-8 went as binary: said once.
    binary_hint: bool,
}

impl Console {
    async fn line(&mut self, line: Bytes) -> Result<Step> {
        match parse(line) {
            Line::Send(body) => self.send(body, false).await?,
            Line::Binary(bytes) => self.send(Bytes::from(bytes), true).await?,
            Line::Help => say(format_args!("{HELP}")),
            Line::Ping => {
                self.session.flush().await?;
                if self.session.ping().await? {
                    status!("ping sent");
                } else {
                    say(format_args!("/ping: this transport has no pings"));
                }
            }
            Line::Topic(t) => {
                if self.session.send_to(&t) {
                    status!("sending to {t}");
                } else {
                    say(format_args!(
                        "/topic: only STOMP has destinations (raw ws: the URL's path is the topic)"
                    ));
                }
            }
            Line::Close => return Ok(Step::Close),
            Line::Refuse(why) => say(format_args!("{why}")),
        }
        Ok(Step::Go)
    }

    async fn send(&mut self, body: Bytes, binary: bool) -> Result<()> {
        if self.session.feed(body, binary).await? && !binary && !self.binary_hint {
            self.binary_hint = true;
            crate::warn!("a line that is not valid UTF-8 was sent as a binary message");
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<()> {
        super::stdout_ok(self.printer.flush())
    }

    /// Close cleanly, printing what the server had already sent.
    async fn finish(&mut self) -> Result<bool> {
        self.session.flush().await?;
        let printer = &mut self.printer;
        let confirmed = self
            .session
            .close(|m| super::stdout_ok(printer.print(m)))
            .await?;
        self.flush()?;
        Ok(confirmed)
    }

    /// stdin ended or /close: close, and say how it went.
    async fn end(&mut self) -> Result<Outcome> {
        if !self.finish().await? {
            let why = self
                .session
                .unconfirmed()
                .unwrap_or("the server did not answer the close")
                .to_string();
            return Err(Error::new(
                Kind::Lost,
                format!("{why}, so it may not have every message sent"),
            ));
        }
        status!("closed");
        Ok(Outcome::Done)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Line {
        parse(Bytes::copy_from_slice(s.as_bytes()))
    }

    #[test]
    fn lines_are_messages_or_commands() {
        assert_eq!(p("hello"), Line::Send(Bytes::from_static(b"hello")));
        assert_eq!(p("//x y"), Line::Send(Bytes::from_static(b"/x y")));
        assert_eq!(p(""), Line::Send(Bytes::new()));
        assert_eq!(p("/help"), Line::Help);
        assert_eq!(p("/ping"), Line::Ping);
        assert_eq!(p("/close"), Line::Close);
        assert_eq!(p("/close 1000"), Line::Close);
        assert!(matches!(p("/close 4000"), Line::Refuse(_)));
        assert_eq!(p("/binary 00 ff10"), Line::Binary(vec![0, 0xff, 0x10]));
        assert!(matches!(p("/binary 0g"), Line::Refuse(_)));
        assert!(matches!(p("/binary abc"), Line::Refuse(_)));
        assert_eq!(p("/topic /topic/b"), Line::Topic("/topic/b".into()));
        assert!(matches!(p("/topic"), Line::Refuse(_)));
        let Line::Refuse(why) = p("/nope\x1b[2J") else {
            panic!("an unknown command is refused")
        };
        assert!(!why.contains('\x1b'), "{why}");
    }
}
