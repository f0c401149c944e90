//! The NATS client protocol: the server's operations decoded, the client's
//! encoded, no I/O; subject, queue group and header rules and the
//! subscription matcher. The NATS dialect (issue 19) comes next and is the
//! first user.
//!
//! ```text
//! INFO {json}                      CONNECT {json}
//! MSG <subject> <sid> [reply] <#bytes>\r\n<payload>\r\n
//! HMSG <subject> <sid> [reply] <#header bytes> <#total bytes>\r\n<headers><payload>\r\n
//! PING  PONG  +OK  -ERR '<message>'
//! PUB/HPUB <subject> [reply] …     SUB <subject> [queue] <sid>    UNSUB <sid> [max]
//! ```
//! Over WebSocket a binary message may hold several operations or part of
//! one, so [`ServerOp::decode`] takes the bytes that have arrived and
//! answers `Ok(None)` until a whole operation is there. Operation names are
//! case-insensitive and a control line may end in a bare LF, as the
//! protocol allows; the payload must be followed by CRLF.
//!
//! The decoder never panics and is bounded before it waits for more: a
//! control line over [`MAX_CONTROL_LINE`] (over [`MAX_INFO_LINE`] for INFO)
//! or a payload over the caller's `max_payload` is an error as soon as the
//! line or its size is seen. The encoders refuse what the wire cannot carry
//! (whitespace in a subject, CR/LF in a header value …) rather than send a
//! broken frame.

use bytes::Bytes;
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// The longest control line (MSG, HMSG, PING, -ERR …) accepted, CRLF
/// excluded: nats-server's own default `max_control_line`, the bound it
/// holds clients to. A MSG line is a subject, a sid, a reply subject and
/// numbers, so one that long is not a NATS server talking, and waiting for
/// its end would buffer without limit.
pub const MAX_CONTROL_LINE: usize = 4096;

/// The longest INFO line accepted. The server bounds nothing it sends, and
/// INFO lists every `connect_urls` entry of the cluster, which can pass
/// 4 KiB; 64 KiB is still a bound.
pub const MAX_INFO_LINE: usize = 64 * 1024;

/// The server's `max_payload` when INFO does not say (nats-server's default).
pub const DEFAULT_MAX_PAYLOAD: usize = 1024 * 1024;

/// The first line of a header block.
const HEADER_VERSION: &str = "NATS/1.0";

/// What the server's INFO says that a client needs; other fields are
/// ignored.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(default)]
pub struct Info {
    pub server_id: String,
    pub version: String,
    pub max_payload: usize,
    /// Whether the server understands HPUB/HMSG.
    pub headers: bool,
    pub auth_required: bool,
    pub tls_required: bool,
    /// For NKey/JWT signing.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nonce: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub connect_urls: Vec<String>,
}

impl Default for Info {
    fn default() -> Info {
        Info {
            server_id: String::new(),
            version: String::new(),
            max_payload: DEFAULT_MAX_PAYLOAD,
            headers: false,
            auth_required: false,
            tls_required: false,
            nonce: None,
            connect_urls: Vec::new(),
        }
    }
}

/// A header block: the optional status of its `NATS/1.0` line (503 = no
/// responders, 408 = request timeout …) and its fields in wire order;
/// names may repeat.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Headers {
    pub status: Option<u16>,
    pub description: Option<String>,
    pub fields: Vec<(String, String)>,
}

/// A message the server delivers: MSG, or HMSG when it has headers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Msg {
    pub subject: String,
    pub sid: u64,
    pub reply: Option<String>,
    pub headers: Option<Headers>,
    pub payload: Bytes,
}

/// The server's `-ERR`, its message unquoted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServerError(pub String);

impl std::fmt::Display for ServerError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "NATS server error: {}", self.0)
    }
}

impl std::error::Error for ServerError {}

/// What the server says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ServerOp {
    Info(Box<Info>),
    Msg(Msg),
    Ping,
    Pong,
    Ok,
    Err(ServerError),
}

/// The client's CONNECT. `Connect::default()` is what pubcat sends: not
/// verbose, not pedantic, headers and no-responders on, echo on.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Connect {
    pub verbose: bool,
    pub pedantic: bool,
    pub tls_required: bool,
    pub name: String,
    pub lang: String,
    pub version: String,
    pub protocol: u8,
    /// Whether the server sends us our own messages.
    pub echo: bool,
    pub headers: bool,
    pub no_responders: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auth_token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pass: Option<String>,
    /// NKey authentication: the user's public key, or its JWT, and the
    /// signature of the INFO's nonce.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nkey: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jwt: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sig: Option<String>,
}

impl Default for Connect {
    fn default() -> Connect {
        Connect {
            verbose: false,
            pedantic: false,
            tls_required: false,
            name: "pubcat".into(),
            lang: "rust".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            protocol: 1,
            echo: true,
            headers: true,
            no_responders: true,
            auth_token: None,
            user: None,
            pass: None,
            nkey: None,
            jwt: None,
            sig: None,
        }
    }
}

#[derive(Clone, Debug, Error, PartialEq, Eq)]
pub enum Error {
    #[error("a control line is over {max} bytes")]
    LineTooLong { max: usize },
    #[error("a payload of {size} bytes is over the limit of {max}")]
    TooLarge { size: usize, max: usize },
    #[error("a control line is not UTF-8")]
    NotUtf8,
    #[error("a control line holds a CR before its end")]
    StrayCr,
    #[error("unknown operation `{0}`")]
    UnknownOp(String),
    #[error("{op} has the wrong arguments: `{line}`")]
    Args { op: &'static str, line: String },
    #[error("`{0}` is not a byte count or sid")]
    Number(String),
    #[error("HMSG header size {header} is over its total size {total}")]
    HeaderSize { header: usize, total: usize },
    #[error("the payload of {0} is not followed by CRLF")]
    MissingCrlf(&'static str),
    #[error("INFO is not the JSON expected: {0}")]
    Info(String),
    #[error("header block: {0}")]
    Headers(&'static str),
    #[error("subject `{subject}`: {why}")]
    Subject { subject: String, why: &'static str },
    #[error("queue group `{0}` is empty or holds whitespace")]
    QueueGroup(String),
    #[error("header name `{0}` is empty or holds `:`, whitespace or a control character")]
    HeaderName(String),
    #[error("header value `{0}` holds CR or LF or starts or ends with whitespace")]
    HeaderValue(String),
    #[error("status {0} is not three digits")]
    Status(u16),
    #[error("the -ERR message holds CR or LF")]
    ErrMessage,
}

impl ServerOp {
    /// Decodes the operation at the start of `buf`: `Ok(None)` until it is
    /// all there, else the operation and the bytes it used. A MSG/HMSG
    /// payload over `max_payload` is refused from its control line.
    pub fn decode(buf: &[u8], max_payload: usize) -> Result<Option<(ServerOp, usize)>, Error> {
        let is_info = buf.len() >= 5
            && buf[..4].eq_ignore_ascii_case(b"INFO")
            && matches!(buf[4], b' ' | b'\t');
        let max_line = if is_info {
            MAX_INFO_LINE
        } else {
            MAX_CONTROL_LINE
        };
        // The line, its CR, its LF.
        let window = &buf[..buf.len().min(max_line + 2)];
        let Some(lf) = window.iter().position(|&b| b == b'\n') else {
            if window.len() == max_line + 2 {
                return Err(Error::LineTooLong { max: max_line });
            }
            return Ok(None);
        };
        let line = &buf[..lf];
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.len() > max_line {
            return Err(Error::LineTooLong { max: max_line });
        }
        if line.contains(&b'\r') {
            return Err(Error::StrayCr);
        }
        let line = std::str::from_utf8(line).map_err(|_| Error::NotUtf8)?;
        let after = lf + 1;
        let (op, rest) = match line.find([' ', '\t']) {
            Some(i) => (&line[..i], &line[i + 1..]),
            None => (line, ""),
        };
        let args: Vec<&str> = words(rest).collect();
        let bare = |op: ServerOp, name| {
            if args.is_empty() {
                Ok(Some((op, after)))
            } else {
                Err(args_error(name, line))
            }
        };
        if op.eq_ignore_ascii_case("PING") {
            bare(ServerOp::Ping, "PING")
        } else if op.eq_ignore_ascii_case("PONG") {
            bare(ServerOp::Pong, "PONG")
        } else if op.eq_ignore_ascii_case("+OK") {
            bare(ServerOp::Ok, "+OK")
        } else if op.eq_ignore_ascii_case("-ERR") {
            Ok(Some((ServerOp::Err(ServerError(unquote(rest))), after)))
        } else if op.eq_ignore_ascii_case("INFO") {
            let info: Info =
                serde_json::from_str(rest).map_err(|e| Error::Info(shorten(&e.to_string())))?;
            Ok(Some((ServerOp::Info(Box::new(info)), after)))
        } else if op.eq_ignore_ascii_case("MSG") {
            let (subject, sid, reply, sizes) = match args[..] {
                [s, sid, n] => (s, sid, None, [n]),
                [s, sid, r, n] => (s, sid, Some(r), [n]),
                _ => return Err(args_error("MSG", line)),
            };
            let total = size(sizes[0], max_payload)?;
            let sid = number(sid)?;
            let Some(payload) = payload(buf, after, total, "MSG")? else {
                return Ok(None);
            };
            let msg = Msg {
                subject: subject.into(),
                sid,
                reply: reply.map(str::to_string),
                headers: None,
                payload: Bytes::copy_from_slice(payload),
            };
            Ok(Some((ServerOp::Msg(msg), after + total + 2)))
        } else if op.eq_ignore_ascii_case("HMSG") {
            let (subject, sid, reply, h, n) = match args[..] {
                [s, sid, h, n] => (s, sid, None, h, n),
                [s, sid, r, h, n] => (s, sid, Some(r), h, n),
                _ => return Err(args_error("HMSG", line)),
            };
            let total = size(n, max_payload)?;
            let header = size(h, max_payload)?;
            if header > total {
                return Err(Error::HeaderSize { header, total });
            }
            let sid = number(sid)?;
            let Some(body) = payload(buf, after, total, "HMSG")? else {
                return Ok(None);
            };
            let msg = Msg {
                subject: subject.into(),
                sid,
                reply: reply.map(str::to_string),
                headers: Some(Headers::parse(&body[..header])?),
                payload: Bytes::copy_from_slice(&body[header..]),
            };
            Ok(Some((ServerOp::Msg(msg), after + total + 2)))
        } else {
            Err(Error::UnknownOp(shorten(op)))
        }
    }

    /// Encodes the operation as a server would send it (for tests, and for
    /// a broker speaking NATS one day).
    pub fn encode(&self, out: &mut Vec<u8>) -> Result<(), Error> {
        match self {
            ServerOp::Info(info) => {
                let line = [b"INFO ".as_slice(), &json(info)].concat();
                put_line(out, &line, MAX_INFO_LINE)?;
            }
            ServerOp::Msg(m) => {
                check_wire_token(&m.subject)?;
                if let Some(r) = &m.reply {
                    check_wire_token(r)?;
                }
                let op = if m.headers.is_some() { "HMSG" } else { "MSG" };
                let sid = m.sid.to_string();
                message(
                    out,
                    op,
                    &m.subject,
                    Some(&sid),
                    m.reply.as_deref(),
                    m.headers.as_ref(),
                    &m.payload,
                )?;
            }
            ServerOp::Ping => out.extend_from_slice(PING),
            ServerOp::Pong => out.extend_from_slice(PONG),
            ServerOp::Ok => out.extend_from_slice(b"+OK\r\n"),
            ServerOp::Err(ServerError(text)) => {
                if text.contains(['\r', '\n']) {
                    return Err(Error::ErrMessage);
                }
                put_line(out, format!("-ERR '{text}'").as_bytes(), MAX_CONTROL_LINE)?;
            }
        }
        Ok(())
    }
}

/// The client's PING (also a flush: its PONG says every earlier operation
/// was processed).
pub const PING: &[u8] = b"PING\r\n";
/// The answer to the server's PING.
pub const PONG: &[u8] = b"PONG\r\n";

impl Connect {
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(b"CONNECT ");
        out.extend_from_slice(&json(self));
        out.extend_from_slice(b"\r\n");
    }
}

/// `PUB <subject> [reply-to] <#bytes>\r\n<payload>\r\n`, or HPUB with the
/// header block when `headers` is given. The subject is concrete (no
/// wildcards); the reply subject too.
pub fn encode_pub(
    subject: &str,
    reply: Option<&str>,
    headers: Option<&Headers>,
    payload: &[u8],
    out: &mut Vec<u8>,
) -> Result<(), Error> {
    check_subject(subject, false)?;
    if let Some(r) = reply {
        check_subject(r, false)?;
    }
    let op = if headers.is_some() { "HPUB" } else { "PUB" };
    message(out, op, subject, None, reply, headers, payload)
}

/// `SUB <subject> [queue group] <sid>`; the subject may hold wildcards.
pub fn encode_sub(
    subject: &str,
    queue: Option<&str>,
    sid: u64,
    out: &mut Vec<u8>,
) -> Result<(), Error> {
    check_subject(subject, true)?;
    if let Some(q) = queue {
        check_queue_group(q)?;
    }
    out.extend_from_slice(b"SUB ");
    out.extend_from_slice(subject.as_bytes());
    if let Some(q) = queue {
        out.push(b' ');
        out.extend_from_slice(q.as_bytes());
    }
    out.extend_from_slice(format!(" {sid}\r\n").as_bytes());
    Ok(())
}

/// `UNSUB <sid> [max_msgs]`: with `max`, the server unsubscribes by itself
/// after that many messages.
pub fn encode_unsub(sid: u64, max: Option<u64>, out: &mut Vec<u8>) {
    match max {
        Some(m) => out.extend_from_slice(format!("UNSUB {sid} {m}\r\n").as_bytes()),
        None => out.extend_from_slice(format!("UNSUB {sid}\r\n").as_bytes()),
    }
}

impl Headers {
    /// The values of a field, in order (names compare exactly, as sent).
    pub fn get_all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.fields
            .iter()
            .filter(move |(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// `NATS/1.0[ <status>[ <description>]]\r\n(<name>: <value>\r\n)*\r\n`.
    pub fn encode(&self, out: &mut Vec<u8>) -> Result<(), Error> {
        out.extend_from_slice(HEADER_VERSION.as_bytes());
        match (self.status, &self.description) {
            (None, None) => {}
            (None, Some(_)) => return Err(Error::Headers("a description without a status")),
            (Some(s), d) => {
                if !(100..=999).contains(&s) {
                    return Err(Error::Status(s));
                }
                out.extend_from_slice(format!(" {s}").as_bytes());
                if let Some(d) = d {
                    if d.is_empty() || !trimmed(d) || d.contains(['\r', '\n']) {
                        return Err(Error::Headers(
                            "the description is empty, holds CR/LF or has edge whitespace",
                        ));
                    }
                    out.push(b' ');
                    out.extend_from_slice(d.as_bytes());
                }
            }
        }
        out.extend_from_slice(b"\r\n");
        for (name, value) in &self.fields {
            check_header_name(name)?;
            check_header_value(value)?;
            out.extend_from_slice(name.as_bytes());
            out.extend_from_slice(b": ");
            out.extend_from_slice(value.as_bytes());
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(b"\r\n");
        Ok(())
    }

    /// Parses a whole header block (it ends with an empty line).
    pub fn parse(block: &[u8]) -> Result<Headers, Error> {
        let block = std::str::from_utf8(block).map_err(|_| Error::Headers("it is not UTF-8"))?;
        let body = block
            .strip_suffix("\r\n\r\n")
            .ok_or(Error::Headers("it does not end with an empty line"))?;
        let mut lines = body.split("\r\n");
        let first = lines.next().unwrap_or_default();
        let status_part = first
            .strip_prefix(HEADER_VERSION)
            .ok_or(Error::Headers("it does not start with NATS/1.0"))?;
        let mut headers = Headers::default();
        if !status_part.is_empty() {
            let rest = status_part
                .strip_prefix([' ', '\t'])
                .ok_or(Error::Headers("its version is not NATS/1.0"))?
                .trim_matches([' ', '\t']);
            if !rest.is_empty() {
                let (code, description) = match rest.find([' ', '\t']) {
                    Some(i) => (&rest[..i], rest[i + 1..].trim_matches([' ', '\t'])),
                    None => (rest, ""),
                };
                if code.len() != 3
                    || !code.bytes().all(|b| b.is_ascii_digit())
                    || code.starts_with('0')
                {
                    return Err(Error::Headers("the status is not three digits"));
                }
                headers.status = code.parse().ok();
                if !description.is_empty() {
                    headers.description = Some(description.into());
                }
            }
        }
        for line in lines {
            let (name, value) = line
                .split_once(':')
                .ok_or(Error::Headers("a line is not `name: value`"))?;
            let value = value.trim_matches([' ', '\t']);
            check_header_name(name)?;
            check_header_value(value)?;
            headers.fields.push((name.into(), value.into()));
        }
        if headers
            .description
            .as_deref()
            .is_some_and(|d| d.contains(['\r', '\n']))
        {
            return Err(Error::Headers("the status line holds CR or LF"));
        }
        Ok(headers)
    }
}

/// A subject: non-empty tokens separated by `.`, no whitespace or control
/// characters. With `wildcards` (SUB), a token may be `*` (one token) or,
/// last, `>` (the rest).
pub fn check_subject(subject: &str, wildcards: bool) -> Result<(), Error> {
    let bad = |why| {
        Err(Error::Subject {
            subject: shorten(subject),
            why,
        })
    };
    if subject.is_empty() {
        return bad("it is empty");
    }
    if subject.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return bad("it holds whitespace or a control character");
    }
    let mut tokens = subject.split('.').peekable();
    while let Some(token) = tokens.next() {
        if token.is_empty() {
            return bad("it has an empty token");
        }
        if (token == "*" || token == ">") && !wildcards {
            return bad("a wildcard is only for SUB");
        }
        if token == ">" && tokens.peek().is_some() {
            return bad("`>` must be the last token");
        }
    }
    Ok(())
}

/// A queue group name: not empty, no whitespace or control characters.
pub fn check_queue_group(queue: &str) -> Result<(), Error> {
    if queue.is_empty() || queue.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(Error::QueueGroup(shorten(queue)));
    }
    Ok(())
}

/// A header name: not empty, no `:`, whitespace or control characters.
pub fn check_header_name(name: &str) -> Result<(), Error> {
    if name.is_empty()
        || name
            .chars()
            .any(|c| c == ':' || c.is_whitespace() || c.is_control())
    {
        return Err(Error::HeaderName(shorten(name)));
    }
    Ok(())
}

/// A header value: no CR or LF, and no space or tab at either end (the
/// reader trims them, so they would not arrive).
pub fn check_header_value(value: &str) -> Result<(), Error> {
    if value.contains(['\r', '\n']) || !trimmed(value) {
        return Err(Error::HeaderValue(shorten(value)));
    }
    Ok(())
}

/// Whether a (valid) subscription subject matches a concrete subject: `*`
/// is one token, a last `>` one or more tokens.
pub fn subject_matches(pattern: &str, subject: &str) -> bool {
    let mut tokens = subject.split('.');
    for p in pattern.split('.') {
        if p == ">" {
            return tokens.next().is_some();
        }
        match tokens.next() {
            Some(t) if p == "*" || p == t => {}
            _ => return false,
        }
    }
    tokens.next().is_none()
}

/// `<op> <subject> [sid] [reply] [<#header bytes>] <#total bytes>\r\n
/// [headers]<payload>\r\n`, for PUB/HPUB (no sid) and MSG/HMSG.
fn message(
    out: &mut Vec<u8>,
    op: &str,
    subject: &str,
    sid: Option<&str>,
    reply: Option<&str>,
    headers: Option<&Headers>,
    payload: &[u8],
) -> Result<(), Error> {
    let mut block = Vec::new();
    if let Some(h) = headers {
        h.encode(&mut block)?;
    }
    let mut line = format!("{op} {subject}");
    for arg in [sid, reply].into_iter().flatten() {
        line.push(' ');
        line.push_str(arg);
    }
    if headers.is_some() {
        line.push_str(&format!(" {}", block.len()));
    }
    line.push_str(&format!(" {}", block.len() + payload.len()));
    put_line(out, line.as_bytes(), MAX_CONTROL_LINE)?;
    out.extend_from_slice(&block);
    out.extend_from_slice(payload);
    out.extend_from_slice(b"\r\n");
    Ok(())
}

/// A control line and its CRLF, refused over `max` (the reader would refuse
/// it, and so would nats-server).
fn put_line(out: &mut Vec<u8>, line: &[u8], max: usize) -> Result<(), Error> {
    if line.len() > max {
        return Err(Error::LineTooLong { max });
    }
    out.extend_from_slice(line);
    out.extend_from_slice(b"\r\n");
    Ok(())
}

/// What a MSG line may carry as a subject: no space, tab, CR or LF, not
/// empty (the server delivers subjects a pedantic check would refuse).
fn check_wire_token(s: &str) -> Result<(), Error> {
    if s.is_empty() || s.contains([' ', '\t', '\r', '\n']) {
        return Err(Error::Subject {
            subject: shorten(s),
            why: "it is empty or holds whitespace",
        });
    }
    Ok(())
}

fn words(s: &str) -> impl Iterator<Item = &str> {
    s.split([' ', '\t']).filter(|w| !w.is_empty())
}

fn args_error(op: &'static str, line: &str) -> Error {
    Error::Args {
        op,
        line: shorten(line),
    }
}

fn number(s: &str) -> Result<u64, Error> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Error::Number(shorten(s)));
    }
    s.parse().map_err(|_| Error::Number(shorten(s)))
}

/// A byte count, refused over `max` before anything waits for it.
fn size(s: &str, max: usize) -> Result<usize, Error> {
    let n = number(s)?;
    match usize::try_from(n) {
        Ok(n) if n <= max => Ok(n),
        _ => Err(Error::TooLarge {
            size: usize::try_from(n).unwrap_or(usize::MAX),
            max,
        }),
    }
}

/// The `len` bytes at `at` and the CRLF after them; `None` until all there.
fn payload<'a>(
    buf: &'a [u8],
    at: usize,
    len: usize,
    op: &'static str,
) -> Result<Option<&'a [u8]>, Error> {
    // `at` is within `buf`; `len` may be anything up to the caller's limit.
    if buf.len() - at < len.saturating_add(2) {
        return Ok(None);
    }
    let end = at + len;
    if &buf[end..end + 2] != b"\r\n" {
        return Err(Error::MissingCrlf(op));
    }
    Ok(Some(&buf[at..end]))
}

/// The -ERR text without its surrounding spaces and single quotes.
fn unquote(s: &str) -> String {
    let s = s.trim_matches([' ', '\t']);
    match s.strip_prefix('\'').and_then(|s| s.strip_suffix('\'')) {
        Some(inner) => inner.into(),
        None => s.into(),
    }
}

fn trimmed(s: &str) -> bool {
    s.trim_matches([' ', '\t']).len() == s.len()
}

fn json<T: Serialize>(value: &T) -> Vec<u8> {
    // Plain structs of strings, numbers and bools always serialize.
    serde_json::to_vec(value).unwrap_or_default()
}

fn shorten(s: &str) -> String {
    s.chars().take(60).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const MAX: usize = DEFAULT_MAX_PAYLOAD;

    fn dec(buf: &[u8]) -> Result<Option<(ServerOp, usize)>, Error> {
        ServerOp::decode(buf, MAX)
    }

    fn enc(op: &ServerOp) -> Vec<u8> {
        let mut out = Vec::new();
        op.encode(&mut out).unwrap();
        out
    }

    fn pubs(
        subject: &str,
        reply: Option<&str>,
        headers: Option<&Headers>,
        payload: &[u8],
    ) -> Vec<u8> {
        let mut out = Vec::new();
        encode_pub(subject, reply, headers, payload, &mut out).unwrap();
        out
    }

    fn msg(
        subject: &str,
        sid: u64,
        reply: Option<&str>,
        headers: Option<Headers>,
        payload: &'static [u8],
    ) -> ServerOp {
        ServerOp::Msg(Msg {
            subject: subject.into(),
            sid,
            reply: reply.map(str::to_string),
            headers,
            payload: Bytes::from_static(payload),
        })
    }

    fn fields(pairs: &[(&str, &str)]) -> Headers {
        Headers {
            fields: pairs
                .iter()
                .map(|(n, v)| (n.to_string(), v.to_string()))
                .collect(),
            ..Headers::default()
        }
    }

    /// The operation encodes to exactly `bytes` and `bytes` decodes to it.
    fn both_ways(op: ServerOp, bytes: &[u8]) {
        assert_eq!(enc(&op), bytes, "{op:?}");
        assert_eq!(dec(bytes), Ok(Some((op, bytes.len()))));
    }

    #[test]
    fn client_operations_have_the_documented_bytes() {
        assert_eq!(
            pubs("FOO", None, None, b"Hello NATS!"),
            b"PUB FOO 11\r\nHello NATS!\r\n"
        );
        assert_eq!(
            pubs("FRONT.DOOR", Some("JOKE.22"), None, b"Knock Knock"),
            b"PUB FRONT.DOOR JOKE.22 11\r\nKnock Knock\r\n"
        );
        assert_eq!(pubs("NOTIFY", None, None, b""), b"PUB NOTIFY 0\r\n\r\n");
        assert_eq!(
            pubs(
                "FOO",
                None,
                Some(&fields(&[("Bar", "Baz")])),
                b"Hello NATS!"
            ),
            b"HPUB FOO 22 33\r\nNATS/1.0\r\nBar: Baz\r\n\r\nHello NATS!\r\n"
        );
        assert_eq!(
            pubs(
                "FRONT.DOOR",
                Some("JOKE.22"),
                Some(&fields(&[("BREAKFAST", "donut"), ("LUNCH", "burger")])),
                b"Knock Knock"
            ),
            b"HPUB FRONT.DOOR JOKE.22 45 56\r\nNATS/1.0\r\nBREAKFAST: donut\r\nLUNCH: burger\r\n\r\nKnock Knock\r\n"
        );
        assert_eq!(
            pubs("MORNING.MENU", None, Some(&fields(&[("BREAKFAST", "donut"), ("BREAKFAST", "eggs")])), b"Yum!"),
            b"HPUB MORNING.MENU 47 51\r\nNATS/1.0\r\nBREAKFAST: donut\r\nBREAKFAST: eggs\r\n\r\nYum!\r\n"
        );
        let mut out = Vec::new();
        encode_sub("FOO", None, 1, &mut out).unwrap();
        encode_sub("BAR", Some("G1"), 44, &mut out).unwrap();
        encode_sub("time.*.east", None, 2, &mut out).unwrap();
        encode_sub("time.us.>", Some("q.workers"), 3, &mut out).unwrap();
        encode_unsub(1, None, &mut out);
        encode_unsub(1, Some(5), &mut out);
        out.extend_from_slice(PING);
        out.extend_from_slice(PONG);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "SUB FOO 1\r\nSUB BAR G1 44\r\nSUB time.*.east 2\r\nSUB time.us.> q.workers 3\r\n\
             UNSUB 1\r\nUNSUB 1 5\r\nPING\r\nPONG\r\n"
        );
    }

    #[test]
    fn connect_says_what_pubcat_is_and_only_the_credentials_given() {
        let mut out = Vec::new();
        Connect::default().encode(&mut out);
        let expected = format!(
            "CONNECT {{\"verbose\":false,\"pedantic\":false,\"tls_required\":false,\"name\":\"pubcat\",\
             \"lang\":\"rust\",\"version\":\"{}\",\"protocol\":1,\"echo\":true,\"headers\":true,\
             \"no_responders\":true}}\r\n",
            env!("CARGO_PKG_VERSION")
        );
        assert_eq!(String::from_utf8(out).unwrap(), expected);

        let with = |c: Connect| {
            let mut out = Vec::new();
            c.encode(&mut out);
            let line = String::from_utf8(out).unwrap();
            assert!(line.ends_with("}\r\n") && !line[..line.len() - 2].contains(['\r', '\n']));
            serde_json::from_str::<serde_json::Value>(
                line.strip_prefix("CONNECT ").unwrap().trim_end(),
            )
            .unwrap()
        };
        let token = with(Connect {
            auth_token: Some("s3cr\"et\r\n".into()),
            echo: false,
            ..Connect::default()
        });
        assert_eq!(token["auth_token"], "s3cr\"et\r\n");
        assert_eq!(token["echo"], false);
        assert!(token.get("user").is_none() && token.get("pass").is_none());
        let user = with(Connect {
            user: Some("derek".into()),
            pass: Some("pw".into()),
            ..Connect::default()
        });
        assert_eq!(
            (&user["user"], &user["pass"]),
            (&"derek".into(), &"pw".into())
        );
        assert!(user.get("auth_token").is_none());
    }

    #[test]
    fn server_operations_decode_from_the_documented_bytes() {
        both_ways(
            msg("FOO.BAR", 9, None, None, b"Hello World"),
            b"MSG FOO.BAR 9 11\r\nHello World\r\n",
        );
        both_ways(
            msg("FOO.BAR", 9, Some("GREETING.34"), None, b"Hello World"),
            b"MSG FOO.BAR 9 GREETING.34 11\r\nHello World\r\n",
        );
        both_ways(
            msg(
                "FOO.BAR",
                9,
                None,
                Some(fields(&[("FoodGroup", "vegetable")])),
                b"Hello World",
            ),
            b"HMSG FOO.BAR 9 34 45\r\nNATS/1.0\r\nFoodGroup: vegetable\r\n\r\nHello World\r\n",
        );
        both_ways(
            msg("FOO.BAR", 9, Some("BAZ.69"), Some(fields(&[("FoodGroup", "vegetable")])), b"Hello World"),
            b"HMSG FOO.BAR 9 BAZ.69 34 45\r\nNATS/1.0\r\nFoodGroup: vegetable\r\n\r\nHello World\r\n",
        );
        // No responders: a status, no fields, no payload.
        let no_responders = Headers {
            status: Some(503),
            ..Headers::default()
        };
        both_ways(
            msg("_INBOX.abc", 2, None, Some(no_responders), b""),
            b"HMSG _INBOX.abc 2 16 16\r\nNATS/1.0 503\r\n\r\n\r\n",
        );
        let timeout = Headers {
            status: Some(408),
            description: Some("Request Timeout".into()),
            fields: vec![("Nats-Pending-Messages".into(), "1".into())],
        };
        both_ways(
            msg("_INBOX.abc", 2, None, Some(timeout), b""),
            b"HMSG _INBOX.abc 2 58 58\r\nNATS/1.0 408 Request Timeout\r\nNats-Pending-Messages: 1\r\n\r\n\r\n",
        );
        both_ways(ServerOp::Ping, b"PING\r\n");
        both_ways(ServerOp::Pong, b"PONG\r\n");
        both_ways(ServerOp::Ok, b"+OK\r\n");
        both_ways(
            ServerOp::Err(ServerError("Unknown Protocol Operation".into())),
            b"-ERR 'Unknown Protocol Operation'\r\n",
        );
    }

    #[test]
    fn info_keeps_what_a_client_needs_and_ignores_the_rest() {
        let line = b"INFO {\"server_id\":\"NCXMJZYQEWUDJFLYLSTTE745I2WUNCVG3LJJ3NRKSFJXEG6RGK7753DJ\",\
            \"server_name\":\"n1\",\"version\":\"2.10.4\",\"proto\":1,\"go\":\"go1.21.3\",\"host\":\"0.0.0.0\",\
            \"port\":4222,\"headers\":true,\"auth_required\":true,\"max_payload\":1048576,\"client_id\":5,\
            \"nonce\":\"abc\",\"connect_urls\":[\"10.0.0.1:4222\",\"10.0.0.2:4222\"],\"xkey\":\"X\"} \r\n";
        let (op, used) = dec(line).unwrap().unwrap();
        assert_eq!(used, line.len());
        let ServerOp::Info(info) = op else {
            panic!("{op:?}")
        };
        assert_eq!(
            *info,
            Info {
                server_id: "NCXMJZYQEWUDJFLYLSTTE745I2WUNCVG3LJJ3NRKSFJXEG6RGK7753DJ".into(),
                version: "2.10.4".into(),
                max_payload: 1048576,
                headers: true,
                auth_required: true,
                tls_required: false,
                nonce: Some("abc".into()),
                connect_urls: vec!["10.0.0.1:4222".into(), "10.0.0.2:4222".into()],
            }
        );
        // Missing fields take the defaults, max_payload nats-server's.
        let (op, _) = dec(b"INFO {}\r\n").unwrap().unwrap();
        assert_eq!(op, ServerOp::Info(Box::default()));
        assert!(matches!(
            dec(b"INFO {\"max_payload\":-1}\r\n"),
            Err(Error::Info(_))
        ));
        assert!(matches!(dec(b"INFO not json\r\n"), Err(Error::Info(_))));
        both_ways(ServerOp::Info(info), &enc(&dec(line).unwrap().unwrap().0));
    }

    #[test]
    fn operation_names_are_case_insensitive_and_lines_may_end_in_lf() {
        assert_eq!(dec(b"ping\r\n"), Ok(Some((ServerOp::Ping, 6))));
        assert_eq!(dec(b"PoNg\n"), Ok(Some((ServerOp::Pong, 5))));
        assert_eq!(dec(b"+ok\r\nPING\r\n"), Ok(Some((ServerOp::Ok, 5))));
        assert_eq!(
            dec(b"msg\tFOO  7\t3\r\nabc\r\n"),
            Ok(Some((msg("FOO", 7, None, None, b"abc"), 19)))
        );
        assert_eq!(
            dec(b"-err Authorization Violation\r\n"),
            Ok(Some((
                ServerOp::Err(ServerError("Authorization Violation".into())),
                30
            )))
        );
        let (op, _) = dec(b"info {\"max_payload\":64}\n").unwrap().unwrap();
        assert_eq!(
            op,
            ServerOp::Info(Box::new(Info {
                max_payload: 64,
                ..Info::default()
            }))
        );
        let ServerOp::Err(e) = dec(b"-ERR 'Maximum Payload Violation'\r\n")
            .unwrap()
            .unwrap()
            .0
        else {
            panic!()
        };
        assert_eq!(
            e.to_string(),
            "NATS server error: Maximum Payload Violation"
        );
    }

    #[test]
    fn limits_are_checked_before_waiting_for_the_bytes() {
        // A payload size over the limit is refused from the line alone.
        assert_eq!(
            ServerOp::decode(b"MSG a 1 65\r\n", 64),
            Err(Error::TooLarge { size: 65, max: 64 })
        );
        assert_eq!(ServerOp::decode(b"MSG a 1 64\r\n", 64), Ok(None));
        let huge = format!("HMSG a 1 0 {}\r\n", usize::MAX);
        assert_eq!(ServerOp::decode(huge.as_bytes(), usize::MAX), Ok(None));
        assert_eq!(
            ServerOp::decode(b"HMSG a 1 10 65\r\n", 64),
            Err(Error::TooLarge { size: 65, max: 64 })
        );
        assert!(matches!(
            dec(b"MSG a 1 99999999999999999999999\r\n"),
            Err(Error::TooLarge { .. } | Error::Number(_))
        ));
        // A control line without its end is refused at the bound.
        let mut long = b"MSG ".to_vec();
        long.resize(MAX_CONTROL_LINE + 1, b'a');
        assert_eq!(dec(&long), Ok(None));
        long.push(b'a');
        assert_eq!(
            dec(&long),
            Err(Error::LineTooLong {
                max: MAX_CONTROL_LINE
            })
        );
        // INFO may be longer, up to its own bound.
        let mut info = b"INFO {\"server_id\":\"".to_vec();
        info.resize(MAX_CONTROL_LINE * 2, b'x');
        assert_eq!(dec(&info), Ok(None));
        info.extend_from_slice(b"\"}\r\n");
        assert!(matches!(dec(&info), Ok(Some((ServerOp::Info(_), _)))));
        info.truncate(MAX_CONTROL_LINE * 2);
        info.resize(MAX_INFO_LINE + 2, b'x');
        assert_eq!(dec(&info), Err(Error::LineTooLong { max: MAX_INFO_LINE }));
    }

    #[test]
    fn malformed_operations_are_errors() {
        assert_eq!(
            dec(b"MSG a 1 3\r\nabcX\r\n"),
            Err(Error::MissingCrlf("MSG"))
        );
        assert_eq!(dec(b"MSG a 1 3\r\nabc\n\n"), Err(Error::MissingCrlf("MSG")));
        assert_eq!(
            dec(b"HMSG a 1 12 12\r\nNATS/1.0\r\n\r\nX\r\n"),
            Err(Error::MissingCrlf("HMSG"))
        );
        assert_eq!(
            dec(b"HMSG a 1 5 3\r\n"),
            Err(Error::HeaderSize {
                header: 5,
                total: 3
            })
        );
        assert!(matches!(
            dec(b"MSG a 1\r\n"),
            Err(Error::Args { op: "MSG", .. })
        ));
        assert!(matches!(
            dec(b"MSG a 1 b c 3\r\n"),
            Err(Error::Args { op: "MSG", .. })
        ));
        assert!(matches!(
            dec(b"HMSG a 1 3\r\n"),
            Err(Error::Args { op: "HMSG", .. })
        ));
        assert!(matches!(
            dec(b"PING now\r\n"),
            Err(Error::Args { op: "PING", .. })
        ));
        assert_eq!(dec(b"MSG a x 3\r\n"), Err(Error::Number("x".into())));
        assert_eq!(dec(b"MSG a 1 +3\r\n"), Err(Error::Number("+3".into())));
        assert_eq!(dec(b"PUB a 3\r\n"), Err(Error::UnknownOp("PUB".into())));
        assert_eq!(dec(b"\r\n"), Err(Error::UnknownOp(String::new())));
        assert_eq!(dec(b"PI\rNG\r\n"), Err(Error::StrayCr));
        assert_eq!(dec(b"-ERR \xff\r\n"), Err(Error::NotUtf8));
        let hmsg = |block: &str| {
            let line = format!("HMSG a 1 {0} {0}\r\n{block}\r\n", block.len());
            dec(line.as_bytes())
        };
        assert!(hmsg("NATS/1.0\r\n\r\n").is_ok());
        let h = Error::Headers;
        for (block, error) in [
            ("NATS/1.01\r\n\r\n", h("its version is not NATS/1.0")),
            ("HTTP/1.0\r\n\r\n", h("it does not start with NATS/1.0")),
            (
                "NATS/1.0\r\nA: b\r\n",
                h("it does not end with an empty line"),
            ),
            ("NATS/1.0\r\nA b\r\n\r\n", h("a line is not `name: value`")),
            ("NATS/1.0 50\r\n\r\n", h("the status is not three digits")),
            ("NATS/1.0 050\r\n\r\n", h("the status is not three digits")),
            (
                "NATS/1.0\r\nA B: c\r\n\r\n",
                Error::HeaderName("A B".into()),
            ),
            (
                "NATS/1.0\r\nA: b\rc\r\n\r\n",
                Error::HeaderValue("b\rc".into()),
            ),
        ] {
            assert_eq!(hmsg(block), Err(error), "{block:?}");
        }
        // Spaces around a value are not part of it; empty values are kept.
        let (op, _) = hmsg("NATS/1.0\r\nA:b\r\nC:  \t\r\nA: \td \r\n\r\n")
            .unwrap()
            .unwrap();
        let ServerOp::Msg(Msg {
            headers: Some(h), ..
        }) = op
        else {
            panic!("{op:?}")
        };
        assert_eq!(h.get_all("A").collect::<Vec<_>>(), ["b", "d"]);
        assert_eq!((h.get("C"), h.get("a")), (Some(""), None));
    }

    #[test]
    fn encoding_refuses_what_the_wire_cannot_carry() {
        let mut out = Vec::new();
        let subject = |s: &str, wildcards| check_subject(s, wildcards).map_err(|e| e.to_string());
        for (s, why) in [
            ("", "it is empty"),
            ("a b", "it holds whitespace or a control character"),
            ("a\r\nPUB", "it holds whitespace or a control character"),
            ("a..b", "it has an empty token"),
            (".a", "it has an empty token"),
            ("a.", "it has an empty token"),
            ("a.*", "a wildcard is only for SUB"),
            (">", "a wildcard is only for SUB"),
        ] {
            assert_eq!(
                subject(s, false),
                Err(format!("subject `{s}`: {why}")),
                "{s:?}"
            );
            assert!(encode_pub(s, None, None, b"", &mut out).is_err());
            assert!(encode_pub("ok", Some(s), None, b"", &mut out).is_err());
        }
        assert_eq!(
            subject("a.>.b", true),
            Err("subject `a.>.b`: `>` must be the last token".into())
        );
        assert!(encode_sub("a.>.b", None, 1, &mut out).is_err());
        for s in ["a", "a.*.c", "*", ">", "a.>", "*.*.>", "a*b.c>", "ünï.cödé"] {
            assert_eq!(subject(s, true), Ok(()), "{s}");
        }
        for q in ["", "a b", "a\n"] {
            assert_eq!(
                encode_sub("a", Some(q), 1, &mut out),
                Err(Error::QueueGroup(q.into()))
            );
        }
        let hpub = |h: Headers| encode_pub("a", None, Some(&h), b"", &mut Vec::new());
        for name in ["", "A:B", "A B", "A\r", "A\n"] {
            assert_eq!(
                hpub(fields(&[(name, "v")])),
                Err(Error::HeaderName(name.into()))
            );
        }
        for value in ["a\r\nb", "a\n", " a", "a\t"] {
            assert_eq!(
                hpub(fields(&[("A", value)])),
                Err(Error::HeaderValue(value.into()))
            );
        }
        assert_eq!(
            hpub(Headers {
                status: Some(42),
                ..Headers::default()
            }),
            Err(Error::Status(42))
        );
        assert!(
            hpub(Headers {
                description: Some("x".into()),
                ..Headers::default()
            })
            .is_err()
        );
        assert!(
            hpub(Headers {
                status: Some(503),
                description: Some("a\r\n".into()),
                ..Headers::default()
            })
            .is_err()
        );
        assert_eq!(
            ServerOp::Err(ServerError("a\nb".into())).encode(&mut out),
            Err(Error::ErrMessage)
        );
        let long = "a".repeat(MAX_CONTROL_LINE);
        let too_long = Err(Error::LineTooLong {
            max: MAX_CONTROL_LINE,
        });
        assert_eq!(encode_pub(&long, None, None, b"", &mut out), too_long);
        assert_eq!(ServerOp::Err(ServerError(long)).encode(&mut out), too_long);
        assert!(out.is_empty(), "nothing half-written: {out:?}");
    }

    #[test]
    fn subject_matching_per_the_docs_examples() {
        for (pattern, subject, matches) in [
            ("time.us.east", "time.us.east", true),
            ("time.us.east", "time.us.west", false),
            ("time.*.east", "time.us.east", true),
            ("time.*.east", "time.eu.east", true),
            ("time.*.east", "time.us.east.atlanta", false),
            ("time.us.*", "time.us.east", true),
            ("time.us.*", "time.us", false),
            ("time.us.>", "time.us.east", true),
            ("time.us.>", "time.us.east.atlanta", true),
            ("time.us.>", "time.us", false),
            ("time.>", "time.us.east.atlanta", true),
            (">", "a", true),
            (">", "a.b.c", true),
            ("*", "a", true),
            ("*", "a.b", false),
            ("*.*", "a.b", true),
            ("a*b", "axb", false),
            ("a*b", "a*b", true),
        ] {
            assert_eq!(
                subject_matches(pattern, subject),
                matches,
                "{pattern} vs {subject}"
            );
        }
    }

    fn arb_token() -> impl Strategy<Value = String> {
        "[a-zA-Z0-9_$-]{1,6}"
    }

    fn arb_subject() -> impl Strategy<Value = String> {
        prop::collection::vec(arb_token(), 1..5).prop_map(|t| t.join("."))
    }

    fn arb_pattern() -> impl Strategy<Value = String> {
        (
            prop::collection::vec(prop_oneof!["[ab]", Just("*".to_string())], 1..4),
            any::<bool>(),
        )
            .prop_map(|(mut t, tail)| {
                if tail {
                    t.push(">".into());
                }
                t.join(".")
            })
    }

    fn arb_headers() -> impl Strategy<Value = Headers> {
        (
            prop::option::of((
                100u16..1000,
                prop::option::of("[A-Za-z][A-Za-z ]{0,10}[a-z]"),
            )),
            prop::collection::vec(("[!-9;-~]{1,12}", "([!-~]([ -~]{0,10}[!-~])?)?"), 0..4),
        )
            .prop_map(|(status, fields)| Headers {
                status: status.as_ref().map(|(s, _)| *s),
                description: status.and_then(|(_, d)| d),
                fields,
            })
    }

    fn arb_server_op() -> impl Strategy<Value = ServerOp> {
        prop_oneof![
            Just(ServerOp::Ping),
            Just(ServerOp::Pong),
            Just(ServerOp::Ok),
            "[ -~]{0,20}"
                .prop_map(|s| ServerOp::Err(ServerError(s.trim_matches([' ', '\t']).to_string()))),
            (
                ".{0,10}",
                "[0-9.]{0,8}",
                0usize..1 << 30,
                any::<bool>(),
                prop::option::of(".{0,8}"),
                prop::collection::vec("[a-z0-9:.]{1,12}", 0..3)
            )
                .prop_map(
                    |(server_id, version, max_payload, headers, nonce, connect_urls)| {
                        ServerOp::Info(Box::new(Info {
                            server_id,
                            version,
                            max_payload,
                            headers,
                            auth_required: !headers,
                            tls_required: false,
                            nonce,
                            connect_urls,
                        }))
                    }
                ),
            (
                arb_subject(),
                any::<u64>(),
                prop::option::of(arb_subject()),
                prop::option::of(arb_headers()),
                prop::collection::vec(any::<u8>(), 0..40),
            )
                .prop_map(|(subject, sid, reply, headers, payload)| ServerOp::Msg(
                    Msg {
                        subject,
                        sid,
                        reply,
                        headers,
                        payload: payload.into(),
                    }
                )),
        ]
    }

    proptest! {
        #[test]
        fn server_operations_round_trip(ops in prop::collection::vec(arb_server_op(), 1..4)) {
            let mut stream = Vec::new();
            for op in &ops {
                op.encode(&mut stream).unwrap();
            }
            let mut at = 0;
            let mut got = Vec::new();
            while at < stream.len() {
                let (op, used) = dec(&stream[at..]).unwrap().unwrap();
                got.push(op);
                at += used;
            }
            prop_assert_eq!(got, ops);
        }

        #[test]
        fn every_prefix_of_an_operation_asks_for_more(op in arb_server_op()) {
            let bytes = enc(&op);
            for cut in 0..bytes.len() {
                prop_assert_eq!(dec(&bytes[..cut]), Ok(None), "cut at {}", cut);
            }
        }

        #[test]
        fn header_blocks_round_trip(h in arb_headers()) {
            let mut block = Vec::new();
            h.encode(&mut block).unwrap();
            prop_assert_eq!(Headers::parse(&block), Ok(h));
        }

        #[test]
        fn published_messages_read_back_as_delivered(
            subject in arb_subject(),
            reply in prop::option::of(arb_subject()),
            headers in prop::option::of(arb_headers()),
            payload in prop::collection::vec(any::<u8>(), 0..40),
        ) {
            // What the server forwards is the PUB with a sid added.
            let sent = pubs(&subject, reply.as_deref(), headers.as_ref(), &payload);
            let line_end = sent.iter().position(|&b| b == b'\n').unwrap();
            let line = std::str::from_utf8(&sent[..line_end]).unwrap();
            let (op, rest) = line.split_once(' ').unwrap();
            let (subj, rest) = rest.split_once(' ').unwrap();
            let delivered = [
                format!("{} {subj} 7 {rest}\n", if op == "HPUB" { "HMSG" } else { "MSG" }).as_bytes(),
                &sent[line_end + 1..],
            ]
            .concat();
            let expected = ServerOp::Msg(Msg { subject, sid: 7, reply, headers, payload: payload.into() });
            prop_assert_eq!(dec(&delivered), Ok(Some((expected, delivered.len()))));
        }

        #[test]
        fn any_bytes_decode_without_panic(buf in prop::collection::vec(any::<u8>(), 0..128), max in 0usize..64) {
            if let Ok(Some((op, used))) = ServerOp::decode(&buf, max) {
                prop_assert!(used > 0 && used <= buf.len());
                let again = enc(&op);
                prop_assert_eq!(ServerOp::decode(&again, usize::MAX), Ok(Some((op, again.len()))));
            }
        }

        #[test]
        fn operation_shaped_bytes_decode_without_panic(
            op in prop::sample::select(vec!["MSG", "HMSG", "INFO", "-ERR", "PING", "+OK"]),
            args in "[ a-z0-9.\t]{0,20}",
            body in prop::collection::vec(prop::sample::select(b"NATS/1.0 \r\n:ab5".to_vec()), 0..60),
        ) {
            let buf = [format!("{op} {args}\r\n").as_bytes(), &body].concat();
            if let Ok(Some((op, used))) = dec(&buf) {
                prop_assert!(used <= buf.len());
                let again = enc(&op);
                prop_assert_eq!(dec(&again), Ok(Some((op, again.len()))));
            }
        }

        #[test]
        fn matching_agrees_with_a_reference_reading(p in arb_pattern(), s in "[ab]{1,2}(\\.[ab]{1,2}){0,4}") {
            // Token by token: `*` any one, `>` one or more at the end.
            fn reference(p: &[&str], s: &[&str]) -> bool {
                match (p.split_first(), s.split_first()) {
                    (Some((&">", _)), _) => !s.is_empty(),
                    (Some((pt, pr)), Some((st, sr))) => (*pt == "*" || pt == st) && reference(pr, sr),
                    (None, None) => true,
                    _ => false,
                }
            }
            let pt: Vec<&str> = p.split('.').collect();
            let st: Vec<&str> = s.split('.').collect();
            prop_assert_eq!(subject_matches(&p, &s), reference(&pt, &st), "{} vs {}", p, s);
        }
    }
}
