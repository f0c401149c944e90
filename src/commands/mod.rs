//! One file, one subcommand.

pub mod bench;
pub mod completions;
pub mod connect;
pub mod publish;
pub mod request;
pub mod serve;
pub mod subscribe;
pub mod tail;

use std::io::IsTerminal;
use std::time::Duration;

use crate::cli::{
    ConnectArgs, Global, OutputArgs, ReachArgs, SocketIoSubscribeArgs, StompSubscribeArgs,
};
use crate::dialect::Dialect;
use crate::dialect::mqtt::{MqttOptions, WillOptions};
use crate::dialect::nats::NatsOptions;
use crate::dialect::socketio::{self, Emit, SocketIoOptions};
use crate::dialect::stomp::{AckMode, StompOptions};
use crate::endpoint::{Endpoint, Protocol, Role, Transport};
use crate::error::{Error, Kind, Result};
use crate::exec::Exec;
use crate::notify::Notifier;
use crate::render::{self, Format, Layout, Printer};
use crate::session::Connection;
use crate::tls::TlsOptions;
use crate::transport::engineio::Mode;
use crate::transport::sockjs::SockJsOptions;
use crate::transport::{Options, parse_headers};
use bytes::Bytes;
use http::header::{AUTHORIZATION, HeaderName, HeaderValue};
use regex::bytes::Regex;

/// What a command adds to the shared connection flags, so that every
/// setting of every layer is decided in [`connection`], once.
#[derive(Debug, Default)]
pub struct Wants {
    /// A STOMP subscriber's ack mode and prefetch.
    pub ack: Option<AckMode>,
    pub prefetch: Option<u32>,
    /// The Socket.IO events a subscriber takes (empty: all).
    pub events: Vec<String>,
    /// The Socket.IO event a publisher emits [default: message].
    pub emit: Option<String>,
    /// The Content-Type of what a publisher sends (HTTP POST, STOMP SEND).
    pub content_type: Option<String>,
    /// Message ids to resume from, where a raw WebSocket server can send
    /// them (`tail`).
    pub ids: bool,
}

impl Wants {
    /// What `subscribe` and `tail` add: the STOMP acks, the Socket.IO
    /// events to take.
    pub fn subscriber(stomp: &StompSubscribeArgs, socketio: &SocketIoSubscribeArgs) -> Wants {
        Wants {
            ack: stomp.ack,
            prefetch: stomp.prefetch,
            events: socketio.event.clone(),
            ..Wants::default()
        }
    }
}

/// Resolve the URL and connection flags of a client command.
pub fn connection(conn: &ConnectArgs, role: Role, wants: Wants) -> Result<Connection> {
    connection_to(&conn.url, &conn.reach, role, wants)
}

/// [`connection`] for a URL given apart from the other flags.
pub fn connection_to(url: &str, conn: &ReachArgs, role: Role, wants: Wants) -> Result<Connection> {
    let mut endpoint = Endpoint::parse(url, conn.transport, conn.protocol, role)?;
    if conn.sockjs.sockjs_transport.is_some() && endpoint.transport != Transport::Sockjs {
        return Err(Error::usage(
            "--sockjs-transport needs a SockJS endpoint: a sockjs+http:// URL or --transport sockjs",
        ));
    }
    if endpoint.protocol == Protocol::Raw && !conn.topic.is_empty() {
        crate::warn!(
            "-t {} is not used: raw messages go to the URL's path (for STOMP destinations, add --protocol stomp)",
            conn.topic.join(" -t ")
        );
    }
    let mut headers = parse_headers(&conn.headers)?;
    if let Some(token) = &conn.token {
        bearer(&mut headers, token.expose())?;
    }
    let mut dialect = if wants.ids && endpoint.transport == Transport::Ws {
        Dialect::RawWithIds
    } else {
        Dialect::Raw
    };
    if endpoint.protocol == Protocol::Stomp {
        if conn.topic.is_empty() {
            return Err(Error::usage(
                "STOMP needs a destination: -t /topic/NAME (or /queue/NAME, /exchange/NAME/KEY)",
            ));
        }
        // -H goes into SEND and SUBSCRIBE frames (durable, persistent,
        // x-queue-name...), except what only means something on the
        // WebSocket handshake.
        let (handshake, frame): (Vec<_>, Vec<_>) = headers.into_iter().partition(|(name, _)| {
            let name = name.as_str();
            matches!(name, "authorization" | "cookie" | "origin" | "user-agent")
                || name.starts_with("sec-websocket-")
        });
        headers = handshake;
        dialect = Dialect::Stomp(StompOptions {
            vhost: conn.stomp.vhost.clone(),
            login: conn.stomp.user.clone(),
            passcode: conn
                .stomp
                .password
                .clone()
                .or_else(|| conn.token.as_ref().map(|t| t.expose().to_string())),
            heartbeat: parse_heartbeat_flag(&conn.stomp.heartbeat)?,
            destinations: conn.topic.clone(),
            headers: frame
                .into_iter()
                .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or_default().to_string()))
                .collect(),
            subscribe: role == Role::Subscribe,
            ack: wants.ack,
            prefetch: wants.prefetch,
            content_type: wants.content_type.clone(),
        });
    }
    // The topic a dialect's session is about: its -t destinations, not
    // the URL's path (`sub -v` says what it subscribed to, bench's report
    // names it).
    if matches!(
        endpoint.protocol,
        Protocol::Stomp | Protocol::Mqtt | Protocol::Nats
    ) && !conn.topic.is_empty()
    {
        endpoint.topic = conn.topic.join(", ").into();
    }
    if endpoint.protocol == Protocol::Mqtt {
        dialect = Dialect::Mqtt(mqtt_options(conn, role, &wants, &mut headers)?);
    } else if conn.mqtt.retain || conn.mqtt.client_id.is_some() || conn.mqtt.will_topic.is_some() {
        return Err(Error::usage(
            "--retain, --client-id and --will-* are for MQTT: use an mqtt+ws:// URL or --protocol mqtt",
        ));
    }
    if endpoint.protocol == Protocol::Nats {
        (headers, dialect) = nats_dialect(conn, &endpoint.url, role, headers)?;
    } else if conn.nats.queue_group.is_some() {
        return Err(Error::usage(
            "--queue-group is for NATS: use a nats+ws:// URL or --protocol nats",
        ));
    }
    if endpoint.protocol == Protocol::SocketIo {
        let mut socketio = socketio_options(conn, &endpoint)?;
        endpoint.topic = socketio.namespace.as_str().into();
        socketio.events = wants.events;
        if let Some(event) = wants.emit {
            socketio::check_event_name(&event)?;
            socketio.event = event;
        }
        dialect = Dialect::SocketIo(socketio);
    } else if conn.socketio.namespace.is_some()
        || !conn.socketio.emit.is_empty()
        || conn.socketio.ack_reply.is_some()
    {
        return Err(Error::usage(
            "--namespace, --emit and --ack-reply are for Socket.IO: use a socketio+http:// URL or --protocol socketio",
        ));
    }
    let opts = Options {
        headers,
        subprotocols: conn.subprotocol.clone(),
        max_message_size: conn.max_message_size,
        connect_timeout: conn.connect_timeout,
        tls: TlsOptions {
            ca: conn.tls.ca.clone(),
            insecure: conn.tls.insecure,
            built: None,
        },
        content_type: wants.content_type,
        poll_timeout: conn.poll_timeout,
        resume_from: None,
        resume_epoch: None,
        ping_interval: conn.ping_interval,
        dead_after: conn.dead_after,
        ws_read_buffer: (role == Role::Publish).then_some(PUBLISH_READ_BUFFER),
        ws_write_buffer: None,
        sockjs: SockJsOptions {
            transport: conn.sockjs.sockjs_transport,
            heartbeat: conn.sockjs.sockjs_heartbeat.max(Duration::from_millis(1)),
        },
        local_address: None,
    };
    Ok(Connection {
        endpoint,
        transport: opts,
        dialect,
    })
}

/// The MQTT flags, checked: topics that cannot be used fail before any
/// connection is made. `-H` headers other than the handshake's become
/// MQTT 5 user properties (taken out of `headers`).
fn mqtt_options(
    conn: &ReachArgs,
    role: Role,
    wants: &Wants,
    headers: &mut Vec<(HeaderName, HeaderValue)>,
) -> Result<MqttOptions> {
    use crate::codec::mqtt::{QoS, Version, check_topic_filter, check_topic_name};
    let m = &conn.mqtt;
    if conn.topic.is_empty() {
        return Err(Error::usage(
            "MQTT needs a topic: -t TOPIC (to subscribe, filters with + and # too; repeatable)",
        ));
    }
    for t in &conn.topic {
        let checked = match role {
            Role::Publish => check_topic_name(t, false),
            Role::Subscribe => check_topic_filter(t),
        };
        checked.map_err(|e| Error::usage(format!("-t {t}: {e}")))?;
    }
    if (m.retain || m.message_expiry.is_some()) && role == Role::Subscribe {
        return Err(Error::usage(
            "--retain and --message-expiry are for publishing",
        ));
    }
    if !m.clean && m.client_id.is_none() {
        return Err(Error::usage(
            "--clean false resumes the session of a client id: give it with --client-id",
        ));
    }
    let version = if m.mqtt_version == "3.1.1" {
        Version::V311
    } else {
        Version::V5
    };
    let (handshake, properties): (Vec<_>, Vec<_>) =
        std::mem::take(headers).into_iter().partition(|(name, _)| {
            let name = name.as_str();
            matches!(name, "authorization" | "cookie" | "origin" | "user-agent")
                || name.starts_with("sec-websocket-")
        });
    *headers = handshake;
    if version == Version::V311 && (!properties.is_empty() || m.message_expiry.is_some()) {
        return Err(Error::usage(
            "-H (MQTT 5 user properties) and --message-expiry need MQTT 5, not 3.1.1",
        ));
    }
    let qos = |q: u8| QoS::from_u8(q).unwrap_or(QoS::AtMostOnce);
    let session_expiry = match m.session_expiry {
        Some(d) => Some(u32::try_from(d.as_secs()).unwrap_or(u32::MAX)),
        None if !m.clean => Some(3600),
        None => None,
    };
    let will = match (&m.will_topic, &m.will_message) {
        (Some(topic), Some(message)) => {
            check_topic_name(topic, false)
                .map_err(|e| Error::usage(format!("--will-topic {topic}: {e}")))?;
            Some(WillOptions {
                topic: topic.clone(),
                message: Bytes::from(message.clone()),
                qos: qos(m.will_qos),
                retain: m.will_retain,
            })
        }
        _ => None,
    };
    Ok(MqttOptions {
        version,
        client_id: m.client_id.clone(),
        username: conn.stomp.user.clone(),
        password: conn
            .stomp
            .password
            .clone()
            .or_else(|| conn.token.as_ref().map(|t| t.expose().to_string())),
        keep_alive: conn.ping_interval,
        clean: m.clean,
        session_expiry,
        will,
        qos: qos(m.qos),
        retain: m.retain,
        topics: conn.topic.clone(),
        subscribe: role == Role::Subscribe,
        headers: properties
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or_default().to_string()))
            .collect(),
        content_type: wants.content_type.clone(),
        message_expiry: m
            .message_expiry
            .map(|d| u32::try_from(d.as_secs().max(1)).unwrap_or(u32::MAX)),
        request: None,
        state: Default::default(),
    })
}

/// `--token`: `Authorization: Bearer TOKEN` on every HTTP request and
/// WebSocket handshake, unless `-H` gives an Authorization of its own.
fn bearer(headers: &mut Vec<(HeaderName, HeaderValue)>, token: &str) -> Result<()> {
    if headers.iter().any(|(name, _)| name == AUTHORIZATION) {
        return Ok(());
    }
    // The message never quotes the token.
    let mut value = HeaderValue::from_str(&format!("Bearer {token}")).map_err(|_| {
        Error::usage("--token has a character that cannot go in an HTTP header (a line break?)")
    })?;
    value.set_sensitive(true);
    headers.push((AUTHORIZATION, value));
    Ok(())
}

/// A publisher's WebSocket read buffer (see `Options::ws_read_buffer`): it
/// reads little, acknowledgements at the most.
const PUBLISH_READ_BUFFER: usize = 16 * 1024;

/// The Socket.IO flags, checked: a bad `--auth` or a reserved `--emit`
/// name fails before any connection is made.
fn socketio_options(conn: &ReachArgs, endpoint: &Endpoint) -> Result<SocketIoOptions> {
    if !conn.topic.is_empty() {
        return Err(Error::usage(
            "Socket.IO has no destinations: the namespace is the URL's path (or --namespace), and events are named with --event",
        ));
    }
    let slashed = |s: &str| {
        if s.starts_with('/') {
            s.to_string()
        } else {
            format!("/{s}")
        }
    };
    let namespace = match &conn.socketio.namespace {
        Some(n) => slashed(n),
        None => endpoint.topic.to_string(),
    };
    // socket.io-client adds the trailing slash too, and servers match on it.
    let mut path = slashed(&conn.socketio.path);
    if !path.ends_with('/') {
        path.push('/');
    }
    let mut emits = Vec::new();
    for pair in conn.socketio.emit.chunks(2) {
        let [event, arg] = pair else {
            return Err(Error::usage("--emit takes two values: EVENT and ARG"));
        };
        socketio::check_event_name(event)?;
        emits.push(Emit {
            event: event.clone(),
            args: socketio::args(arg),
        });
    }
    Ok(SocketIoOptions {
        namespace,
        auth: conn
            .socketio
            .auth
            .as_deref()
            .map(socketio::parse_auth)
            .transpose()?,
        path,
        mode: match (endpoint.transport_given, endpoint.transport) {
            (false, Transport::Poll) => Mode::Upgrade,
            (_, Transport::Ws) => Mode::WebSocket,
            _ => Mode::Polling,
        },
        emits,
        ack_reply: conn
            .socketio
            .ack_reply
            .as_deref()
            .map(socketio::args)
            .unwrap_or_default(),
        // What publish emits unless --event says otherwise (bench too).
        event: "message".to_string(),
        ..SocketIoOptions::default()
    })
}

/// The NATS dialect from the flags: -H splits as for STOMP (handshake
/// headers stay on the handshake, the rest are message headers, their
/// names as typed), --user/--password (else the URL's `user:password@`)
/// and --token go in CONNECT.
fn nats_dialect(
    conn: &ReachArgs,
    url: &url::Url,
    role: Role,
    headers: Vec<(HeaderName, HeaderValue)>,
) -> Result<(Vec<(HeaderName, HeaderValue)>, Dialect)> {
    let handshake_only = |name: &str| {
        let name = name.to_ascii_lowercase();
        matches!(
            name.as_str(),
            "authorization" | "cookie" | "origin" | "user-agent"
        ) || name.starts_with("sec-websocket-")
    };
    let headers = headers
        .into_iter()
        .filter(|(name, _)| handshake_only(name.as_str()))
        .collect();
    let message_headers = conn
        .headers
        .iter()
        .filter_map(|h| h.split_once(':'))
        .map(|(name, value)| (name.trim().to_string(), value.trim().to_string()))
        .filter(|(name, _)| !handshake_only(name))
        .collect();
    let nats = NatsOptions {
        subjects: conn.topic.clone(),
        queue_group: conn.nats.queue_group.clone(),
        user: conn.stomp.user.clone().or_else(|| userinfo(url.username())),
        pass: conn
            .stomp
            .password
            .clone()
            .or_else(|| url.password().and_then(userinfo)),
        token: conn.token.as_ref().map(|t| t.expose().to_string()),
        headers: message_headers,
        subscribe: role == Role::Subscribe,
        inbox: None,
        nkey: None,
        jwt: None,
    };
    let nats = nats_keys(nats, &conn.nats)?;
    nats.check()?;
    Ok((headers, Dialect::Nats(nats)))
}

/// `--nkey FILE` or `--creds FILE`, read: a file that cannot be read or
/// holds no valid key is a usage error (exit 2) that never quotes it.
fn nats_keys(mut nats: NatsOptions, args: &crate::cli::NatsArgs) -> Result<NatsOptions> {
    use crate::codec::nkey::{NKey, read_creds};
    let read = |flag: &str, path: &std::path::Path| {
        std::fs::read_to_string(path)
            .map_err(|e| Error::usage(format!("{flag} {}: {e}", path.display())))
    };
    if let Some(path) = &args.nkey {
        let key = NKey::from_seed(&read("--nkey", path)?)
            .map_err(|e| Error::usage(format!("--nkey {}: {e}", path.display())))?;
        nats.nkey = Some(std::sync::Arc::new(key));
    }
    if let Some(path) = &args.creds {
        let (jwt, key) = read_creds(&read("--creds", path)?)
            .map_err(|e| Error::usage(format!("--creds {}: {e}", path.display())))?;
        nats.jwt = Some(jwt);
        nats.nkey = Some(std::sync::Arc::new(key));
    }
    Ok(nats)
}

/// A percent-encoded part of a URL's userinfo, decoded; None when empty.
fn userinfo(part: &str) -> Option<String> {
    // form_urlencoded decodes %XX; a literal `+` is kept as one.
    let part = part.replace('+', "%2B");
    let decoded = url::form_urlencoded::parse(format!("x={part}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default();
    (!decoded.is_empty()).then_some(decoded)
}

/// `--heartbeat CX,CY` in milliseconds.
fn parse_heartbeat_flag(s: &str) -> Result<(u64, u64)> {
    let parsed = s
        .split_once(',')
        .and_then(|(x, y)| Some((x.trim().parse().ok()?, y.trim().parse().ok()?)));
    parsed.ok_or_else(|| {
        Error::usage(format!(
            "--heartbeat `{s}`: expected two numbers of milliseconds, like 10000,10000 (0,0 turns heart-beats off)"
        ))
    })
}

/// A write to stdout as commands take it: a closed pipe (`| head`) ends
/// the command quietly with exit 0 (the reader is done: going on would read
/// the stream for nobody); any other failure is exit 6.
#[inline]
pub fn stdout_ok(written: std::io::Result<()>) -> Result<()> {
    match written {
        Ok(()) => Ok(()),
        Err(e) => stdout_failed(e),
    }
}

#[cold]
fn stdout_failed(e: std::io::Error) -> Result<()> {
    if e.kind() == std::io::ErrorKind::BrokenPipe {
        return Err(Error::new(Kind::OutputClosed, "stdout was closed"));
    }
    Err(Error::local(format!("writing to stdout: {e}")))
}

/// Say on a terminal's stderr that the subscription is in place, so that a
/// quiet topic is not taken for a connection that hangs (`pub` says
/// "connected" for the same reason). Never on stdout, which is the
/// messages'.
pub fn say_listening(global: &Global, connection: &Connection) {
    // Asked only when stderr is a terminal: then colour is as on one.
    crate::log::tty_status(
        color(global, true),
        format_args!("{}", listening(connection)),
    );
}

/// `listening on ws://host/topic`, with what the dialect subscribed to.
/// Long-poll has asked nothing yet when its session starts: it says
/// `polling`.
fn listening(connection: &Connection) -> String {
    let endpoint = &connection.endpoint;
    let verb = match endpoint.transport {
        Transport::Poll => "polling",
        _ => "listening on",
    };
    let what = match &connection.dialect {
        Dialect::Stomp(stomp) => format!(" (STOMP {})", stomp.destinations.join(", ")),
        Dialect::Nats(nats) => format!(" (NATS {})", nats.subjects.join(", ")),
        Dialect::SocketIo(sio) if !sio.events.is_empty() => {
            format!(" (Socket.IO events {})", sio.events.join(", "))
        }
        _ => String::new(),
    };
    format!("{verb} {}{what}", crate::log::redact_url(&endpoint.url))
}

/// The stdout printer of `publish`'s replies (Socket.IO acknowledgements):
/// `-o`; without it, `on_tty` on a terminal and lines when piped.
pub fn printer(
    global: &Global,
    output: Option<Format>,
    on_tty: Format,
) -> Printer<std::io::Stdout> {
    let tty = std::io::stdout().is_terminal();
    let format = render::resolve_format(output, tty, on_tty);
    Printer::stdout(Layout::Format(format), color(global, tty))
}

/// The printer of `subscribe`, `tail` and `connect`, which also take
/// `--format`, `--exec` and `--notify` (see [`layout`]).
pub fn message_printer(
    global: &Global,
    out: &OutputArgs,
    on_tty: Format,
) -> Result<Printer<std::io::Stdout>> {
    message_printer_to(global, out, on_tty, std::io::stdout())
}

/// [`message_printer`] writing to `w`, which ends on stdout by another way.
pub fn message_printer_to<W: std::io::Write>(
    global: &Global,
    out: &OutputArgs,
    on_tty: Format,
    w: W,
) -> Result<Printer<W>> {
    let tty = std::io::stdout().is_terminal();
    let layout = layout(out, tty, on_tty)?;
    let notifier = notifier(out)?;
    Ok(Printer::like_stdout(w, layout, color(global, tty)).notifying(notifier))
}

/// `--format` is a layout of its own, so `-o` on the command line beside it
/// is a contradiction; PUBCAT_OUTPUT, a standing preference, gives way to
/// it. With `--exec`, the command's output is what the user reads: pubcat
/// prints messages too only when `-o` or `--format` asks.
fn layout(out: &OutputArgs, tty: bool, on_tty: Format) -> Result<Layout> {
    match &out.format {
        Some(_) if out.output_given => Err(Error::usage(
            "--format TEMPLATE and -o are two ways to print messages: give one of them",
        )),
        Some(template) => Ok(Layout::Template(template.clone())),
        None if out.exec.is_some() && !out.output_given => Ok(Layout::Nothing),
        None => Ok(Layout::Format(render::resolve_format(
            out.output, tty, on_tty,
        ))),
    }
}

/// The `--exec` runner, when one is asked for.
pub fn exec(out: &OutputArgs) -> Option<Exec> {
    out.exec
        .as_ref()
        .map(|command| Exec::new(command.clone(), out.exec_fail))
}

/// The `--notify` notifier, when one is asked for and has somewhere to
/// show notifications.
fn notifier(out: &OutputArgs) -> Result<Option<Notifier>> {
    let Some(kind) = out.notify else {
        return Ok(None);
    };
    Notifier::start(kind, notify_when(out)?)
}

fn notify_when(out: &OutputArgs) -> Result<Option<Regex>> {
    out.notify_when
        .as_deref()
        .map(|pattern| regex("--notify-when", pattern))
        .transpose()
}

/// The usage errors [`message_printer`] would give, without making one
/// (and starting its notifier): for a command that checks its flags
/// before connecting and prints later.
pub fn check_output(out: &OutputArgs, on_tty: Format) -> Result<()> {
    layout(out, std::io::stdout().is_terminal(), on_tty)?;
    notify_when(out).map(drop)
}

/// The regex of `flag`, or a usage error that says what is wrong with it.
pub fn regex(flag: &str, pattern: &str) -> Result<Regex> {
    Regex::new(pattern).map_err(|e| {
        // regex's message draws a caret under the pattern over several
        // lines; its last line says what is wrong.
        let why = e.to_string();
        let why = why
            .lines()
            .last()
            .unwrap_or_default()
            .trim_start_matches("error: ")
            .to_string();
        Error::usage(format!("{flag} `{pattern}` is not a valid regex: {why}"))
    })
}

/// Colour for output to a terminal (`tty`) or not, as `--color` and
/// `NO_COLOR` say.
pub(super) fn color(global: &Global, tty: bool) -> bool {
    let no_color = std::env::var_os("NO_COLOR");
    render::use_color(global.color, tty, no_color.as_deref())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::{Cli, Command};

    fn sub(args: &[&str]) -> crate::cli::SubscribeArgs {
        let cli = Cli::try_parse_args_from([&["pubcat", "sub"], args].concat()).unwrap();
        let Command::Subscribe(sub) = cli.command else {
            unreachable!()
        };
        sub
    }

    /// The layout of `sub ARGS` on a terminal (`tty`) or a pipe.
    fn layout_of(args: &[&str], tty: bool) -> Result<Layout> {
        layout(&sub(args).out, tty, Format::Toast)
    }

    #[test]
    fn format_and_exec_decide_what_is_printed() {
        let url = "ws://h/t";
        let template = Layout::Template(render::Template::parse("{id}").unwrap());
        let format = Layout::Format;
        assert_eq!(layout_of(&[url], true).unwrap(), format(Format::Toast));
        assert_eq!(layout_of(&[url], false).unwrap(), format(Format::Line));
        let given = layout_of(&[url, "--format", "{id}"], true).unwrap();
        assert_eq!(given, template);
        // --exec alone prints nothing; -o asks for messages too, and so
        // does --format.
        let exec = [url, "--exec", "true"];
        assert_eq!(layout_of(&exec, true).unwrap(), Layout::Nothing);
        let with_o = layout_of(&[&exec[..], &["-o", "json"]].concat(), true).unwrap();
        assert_eq!(with_o, format(Format::Json));
        // -o is the subcommand's: serve and completions have none.
        assert!(Cli::try_parse_args_from(["pubcat", "-o", "raw", "sub", url]).is_err());
        assert!(Cli::try_parse_args_from(["pubcat", "serve", "-o", "raw"]).is_err());
        let both = layout_of(&[&exec[..], &["--format", "{id}"]].concat(), true).unwrap();
        assert_eq!(both, template);
        // --format and -o together: a usage error.
        let err = layout_of(&[url, "--format", "{id}", "-o", "line"], true).unwrap_err();
        assert_eq!(err.kind, Kind::Usage);
        assert!(err.message.contains("give one of them"), "{}", err.message);
    }

    #[test]
    fn notify_when_needs_a_valid_regex() {
        let sub = sub(&["ws://h/t", "--notify", "bell", "--notify-when", "(x"]);
        let err = notifier(&sub.out).err().unwrap();
        assert_eq!(err.kind, Kind::Usage);
        assert!(
            err.message
                .starts_with("--notify-when `(x` is not a valid regex: "),
            "{}",
            err.message
        );
    }

    #[test]
    fn exec_fail_needs_exec_and_notify_when_notify() {
        for (flag, value, needs) in [
            ("--exec-fail", "stop", "--exec"),
            ("--notify-when", "x", "--notify"),
        ] {
            let err =
                Cli::try_parse_args_from(["pubcat", "sub", "ws://h/t", flag, value]).unwrap_err();
            assert_eq!(err.exit_code(), 2);
            assert!(err.to_string().contains(needs), "{err}");
        }
    }

    /// What `sub ARGS` says once connected.
    fn said(args: &[&str]) -> String {
        let cli = Cli::try_parse_args_from([&["pubcat", "sub"], args].concat()).unwrap();
        let Command::Subscribe(sub) = cli.command else {
            unreachable!()
        };
        let wants = Wants::subscriber(&sub.stomp_sub, &sub.socketio_sub);
        listening(&connection(&sub.conn, Role::Subscribe, wants).unwrap())
    }

    #[test]
    fn nats_takes_message_headers_as_typed_and_credentials_for_connect() {
        let cli = Cli::try_parse_args_from([
            "pubcat",
            "pub",
            "nats+ws://h:1",
            "-t",
            "a",
            "-H",
            "Origin: http://x",
            "-H",
            "X-Trace-Id: 7",
            "--user",
            "u",
            "--password",
            "p",
            "--token",
            "t",
        ])
        .unwrap();
        let Command::Publish(p) = cli.command else {
            unreachable!()
        };
        let c = connection(&p.conn, Role::Publish, Wants::default()).unwrap();
        let Dialect::Nats(nats) = &c.dialect else {
            panic!("{:?}", c.dialect)
        };
        assert_eq!(nats.headers, [("X-Trace-Id".into(), "7".into())]);
        assert_eq!(
            (
                nats.user.as_deref(),
                nats.pass.as_deref(),
                nats.token.as_deref()
            ),
            (Some("u"), Some("p"), Some("t"))
        );
        let from_url =
            Cli::try_parse_args_from(["pubcat", "pub", "nats+ws://al%40ce:p%2Bw+d@h:1", "-t", "a"])
                .unwrap();
        let Command::Publish(q) = from_url.command else {
            unreachable!()
        };
        let Dialect::Nats(n) = connection(&q.conn, Role::Publish, Wants::default())
            .unwrap()
            .dialect
        else {
            unreachable!()
        };
        assert_eq!(
            (n.user.as_deref(), n.pass.as_deref()),
            (Some("al@ce"), Some("p+w+d"))
        );
        let names: Vec<&str> = c
            .transport
            .headers
            .iter()
            .map(|(n, _)| n.as_str())
            .collect();
        assert!(
            names.contains(&"origin") && !names.contains(&"x-trace-id"),
            "{names:?}"
        );
    }

    #[test]
    fn listening_names_the_url_and_what_was_subscribed_to() {
        assert_eq!(
            said(&["ws://127.0.0.1:7878/events"]),
            "listening on ws://127.0.0.1:7878/events"
        );
        assert_eq!(
            said(&[
                "stomp+ws://broker:15674/ws",
                "-t",
                "/topic/a",
                "-t",
                "/queue/b"
            ]),
            "listening on ws://broker:15674/ws (STOMP /topic/a, /queue/b)"
        );
        assert_eq!(
            said(&["http://127.0.0.1:7878/t", "--transport", "poll"]),
            "polling http://127.0.0.1:7878/t"
        );
        assert_eq!(
            said(&["nats+ws://127.0.0.1:18085", "-t", "a.*", "-t", "b.>"]),
            "listening on ws://127.0.0.1:18085/ (NATS a.*, b.>)"
        );
        // The query, where tokens travel, is not shown without -v.
        assert_eq!(
            said(&["ws://h:1/t?token=hunter2"]),
            "listening on ws://h:1/t?…"
        );
    }
}
