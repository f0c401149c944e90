//! `pubcat connect URL`: an interactive session, websocat's and wscat's
//! job. Each line of stdin is one message sent; every message received is
//! printed with `sub`'s printer. Lines starting with `/` are commands
//! (`/help`). At the end of stdin the connection is closed cleanly, the
//! server's answer awaited, as `publish` does.
//!
//! When stdin and stdout are both terminals, lines are read with rustyline
//! (a `> ` prompt, line editing, history for the session) on a thread of
//! their own, and what arrives is printed above the line being typed
//! through rustyline's external printer, which redraws the prompt and the
//! half-typed line after it.

use std::io::{ErrorKind, IsTerminal, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use bytes::Bytes;
use rustyline::ExternalPrinter;
use rustyline::error::ReadlineError;
use tokio::sync::mpsc;
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
  /ping          send a WebSocket ping (ws and STOMP over ws; NATS: a NATS PING)
  /binary HEX    send these bytes as a binary message, e.g. /binary 00ff10
  /topic T       STOMP: send to destination T from now on (MQTT: topic T; NATS: subject T)
  /close [CODE]  close the connection cleanly (code 1000, or CODE over raw WebSocket) and exit
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
    // Checked before connecting: -o and --format errors are usage errors.
    super::check_output(&args.out, Format::Toast)?;
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
    let tty = std::io::stdin().is_terminal() && std::io::stdout().is_terminal();
    let (mut input, out, above, _terminal) = match tty.then(Editor::start).flatten() {
        Some(editor) => (
            editor.lines,
            Out::Above {
                pending: Vec::new(),
                printer: editor.cards,
            },
            Some(editor.console),
            Some(editor.terminal),
        ),
        None => (
            super::publish::spawn_stdin_reader(),
            Out::Stdout(std::io::stdout()),
            None,
            None,
        ),
    };
    let mut c = Console {
        session,
        printer: super::message_printer_to(global, &args.out, Format::Toast, out)?,
        above,
        binary_hint: false,
    };

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
                if let Some(reason) = received(&mut c.printer, &incoming?)? {
                    c.status(format_args!("the server closed the connection ({reason})"));
                    return Ok(Outcome::Done);
                }
                c.flush()?;
            }
            chunk = input.recv() => {
                // Ctrl-C at the line editor, which reads it as a key.
                if let Some(Err(e)) = &chunk && e.kind() == ErrorKind::Interrupted {
                    c.finish().await?;
                    return Ok(Outcome::Interrupted);
                }
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
    /// Close with this code.
    Close(u16),
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
        ("close", "") => Line::Close(1000),
        ("close", code) => match code.parse() {
            Ok(code @ (1000..=1003 | 1007..=1011 | 3000..=4999)) => Line::Close(code),
            _ => Line::Refuse(format!(
                "/close {code}: a close code is 1000-1003, 1007-1011 or 3000-4999"
            )),
        },
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

/// A message or close from the server: Some(why) when the server closed
/// cleanly, an error when it did not.
fn received(printer: &mut Printer<Out>, incoming: &Incoming) -> Result<Option<String>> {
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
            Ok(Some(reason.clone()))
        }
    }
}

struct Console {
    session: Session,
    printer: Printer<Out>,
    /// The line editor's printer, for the console's own lines.
    above: Option<Box<dyn ExternalPrinter>>,
    /// A text line that was not UTF-8 went as binary: said once.
    binary_hint: bool,
}

impl Console {
    /// A command's answer or refusal, on stderr or above the line being
    /// typed. Not a status line: `-q` does not hide what the user asked for.
    fn say(&mut self, args: std::fmt::Arguments) {
        match &mut self.above {
            // A terminal that cannot take it has nowhere else to go.
            Some(printer) => drop(printer.print(format!("pubcat: {args}"))),
            None => crate::log::line(format_args!("pubcat: {args}")),
        }
    }

    /// [`Console::say`] for what `-q` hides.
    fn status(&mut self, args: std::fmt::Arguments) {
        if crate::log::level() >= 0 {
            self.say(args);
        }
    }

    async fn line(&mut self, line: Bytes) -> Result<Step> {
        match parse(line) {
            Line::Send(body) => self.send(body, false).await?,
            Line::Binary(bytes) => self.send(Bytes::from(bytes), true).await?,
            Line::Help => self.say(format_args!("{HELP}")),
            Line::Ping => {
                self.session.flush().await?;
                if self.session.ping().await? {
                    self.status(format_args!("ping sent"));
                } else {
                    self.say(format_args!("/ping: this transport has no pings"));
                }
            }
            Line::Topic(t) => {
                if self.session.send_to(&t) {
                    self.status(format_args!("sending to {t}"));
                } else {
                    self.say(format_args!(
                        "/topic: only STOMP, MQTT and NATS have destinations (raw ws: the URL's path is the topic)"
                    ));
                }
            }
            Line::Close(1000) => return Ok(Step::Close),
            Line::Close(code) => {
                if self.session.set_close_code(code) {
                    return Ok(Step::Close);
                }
                self.say(format_args!(
                    "/close {code}: only raw WebSocket closes with a code of its choice (/close closes with 1000)"
                ));
            }
            Line::Refuse(why) => self.say(format_args!("{why}")),
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
        self.status(format_args!("closed"));
        Ok(Outcome::Done)
    }
}

/// Where messages go: stdout, or above the line being typed.
enum Out {
    Stdout(std::io::Stdout),
    /// What is written is kept until the flush, then printed in one piece
    /// (a burst's cards) by the line editor.
    Above {
        pending: Vec<u8>,
        printer: Box<dyn ExternalPrinter>,
    },
}

impl Write for Out {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            Out::Stdout(out) => out.write(buf),
            Out::Above { pending, .. } => {
                pending.extend_from_slice(buf);
                Ok(buf.len())
            }
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Out::Stdout(out) => out.flush(),
            Out::Above { pending, printer } => {
                if pending.is_empty() {
                    return Ok(());
                }
                let text = String::from_utf8_lossy(pending).into_owned();
                pending.clear();
                printer.print(text).map_err(std::io::Error::other)
            }
        }
    }
}

/// The line editor, reading on a thread of its own.
struct Editor {
    /// Each line typed, with its newline; Err(Interrupted) for Ctrl-C.
    lines: mpsc::Receiver<std::io::Result<Bytes>>,
    /// Prints messages above the prompt.
    cards: Box<dyn ExternalPrinter>,
    /// Prints the console's own lines above the prompt.
    console: Box<dyn ExternalPrinter>,
    terminal: Terminal,
}

impl Editor {
    /// None when the terminal cannot be edited on (TERM=dumb): stdin is
    /// then read as lines, as when piped.
    fn start() -> Option<Editor> {
        let terminal = Terminal::save();
        let reading = terminal.reading.clone();
        let mut rl = rustyline::DefaultEditor::new().ok()?;
        let cards = Box::new(rl.create_external_printer().ok()?);
        let console = Box::new(rl.create_external_printer().ok()?);
        let (tx, lines) = mpsc::channel(8);
        std::thread::spawn(move || {
            // However it ends, the terminal is left on a line of its own.
            let _done = Done(reading);
            loop {
                let line = match rl.readline("> ") {
                    Ok(line) => line,
                    Err(ReadlineError::Eof) => return,
                    Err(ReadlineError::Interrupted) => {
                        let _ = tx.blocking_send(Err(ErrorKind::Interrupted.into()));
                        return;
                    }
                    Err(e) => {
                        let _ = tx.blocking_send(Err(std::io::Error::other(e)));
                        return;
                    }
                };
                if !line.is_empty() {
                    let _ = rl.add_history_entry(line.as_str());
                }
                let mut bytes = line.into_bytes();
                bytes.push(b'\n');
                if tx.blocking_send(Ok(bytes.into())).is_err() {
                    return;
                }
            }
        });
        Some(Editor {
            lines,
            cards,
            console,
            terminal,
        })
    }
}

/// The terminal's settings before the line editor changed them, put back
/// when the session ends: it may end (the server closed) while the editor
/// still holds the terminal in raw mode, in a read that is never finished.
struct Terminal {
    #[cfg(unix)]
    saved: Option<libc::termios>,
    /// The editor is still in a read, its prompt on the screen.
    reading: Arc<AtomicBool>,
}

/// Clears the flag it holds when dropped.
struct Done(Arc<AtomicBool>);

impl Drop for Done {
    fn drop(&mut self) {
        self.0.store(false, Ordering::SeqCst);
    }
}

impl Terminal {
    fn save() -> Terminal {
        #[cfg(unix)]
        {
            // SAFETY: tcgetattr fills the termios we own, on success only.
            let mut t: libc::termios = unsafe { std::mem::zeroed() };
            let ok = unsafe { libc::tcgetattr(libc::STDIN_FILENO, &mut t) } == 0;
            Terminal {
                saved: ok.then_some(t),
                reading: Arc::new(AtomicBool::new(true)),
            }
        }
        #[cfg(not(unix))]
        Terminal {
            reading: Arc::new(AtomicBool::new(true)),
        }
    }
}

impl Drop for Terminal {
    fn drop(&mut self) {
        #[cfg(unix)]
        if let Some(t) = &self.saved {
            // SAFETY: sets stdin's terminal to settings read from it.
            unsafe { libc::tcsetattr(libc::STDIN_FILENO, libc::TCSANOW, t) };
        }
        if self.reading.load(Ordering::SeqCst) {
            // Off the prompt's line, for what is said last.
            let _ = std::io::stdout().write_all(b"\n");
            let _ = std::io::stdout().flush();
        }
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
        assert_eq!(p("/close"), Line::Close(1000));
        assert_eq!(p("/close 4000"), Line::Close(4000));
        assert!(matches!(p("/close 1005"), Line::Refuse(_)));
        assert!(matches!(p("/close x"), Line::Refuse(_)));
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
