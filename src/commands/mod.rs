//! One file, one subcommand.

pub mod completions;
pub mod publish;
pub mod serve;
pub mod subscribe;
pub mod tail;

use std::io::IsTerminal;
use std::time::Duration;

use crate::cli::{ConnectArgs, Global};
use crate::dialect::stomp::StompOptions;
use crate::endpoint::{Endpoint, Protocol, Role, Transport};
use crate::error::{Error, Result};
use crate::render::{self, Format, Printer};
use crate::tls::TlsOptions;
use crate::transport::sockjs::SockJsOptions;
use crate::transport::{Options, parse_headers};

/// Resolve the URL and connection flags of a client command.
pub fn connection(global: &Global, conn: &ConnectArgs, role: Role) -> Result<(Endpoint, Options)> {
    let endpoint = Endpoint::parse(&conn.url, conn.transport, conn.protocol, role)?;
    if conn.sockjs.sockjs_transport.is_some() && endpoint.transport != Transport::Sockjs {
        return Err(Error::usage(
            "--sockjs-transport needs a SockJS endpoint: a sockjs+http:// URL or --transport sockjs",
        ));
    }
    let mut headers = parse_headers(&global.headers)?;
    let mut stomp = StompOptions::default();
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
        stomp = StompOptions {
            vhost: conn.stomp.vhost.clone(),
            login: conn.stomp.user.clone(),
            passcode: conn.stomp.password.clone(),
            heartbeat: parse_heartbeat_flag(&conn.stomp.heartbeat)?,
            destinations: conn.topic.clone(),
            headers: frame
                .into_iter()
                .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or_default().to_string()))
                .collect(),
            subscribe: role == Role::Subscribe,
            ..StompOptions::default()
        };
    }
    let opts = Options {
        headers,
        subprotocols: conn.subprotocol.clone(),
        max_message_size: conn.max_message_size,
        connect_timeout: global.connect_timeout,
        tls: TlsOptions {
            ca: global.ca.clone(),
            insecure: global.insecure,
        },
        content_type: None,
        poll_timeout: conn.poll_timeout,
        resume_from: None,
        backoff: Default::default(),
        stomp,
        sockjs: SockJsOptions {
            transport: conn.sockjs.sockjs_transport,
            heartbeat: conn.sockjs.sockjs_heartbeat.max(Duration::from_millis(1)),
        },
    };
    Ok((endpoint, opts))
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

/// The stdout printer the user asked for.
/// The printer for `-o`; without it, `on_tty` on a terminal (toasts for
/// `subscribe`, compact lines for `tail`) and lines when piped.
pub fn printer(global: &Global, on_tty: Format) -> Printer<std::io::Stdout> {
    let tty = std::io::stdout().is_terminal();
    let format = render::resolve_format(global.output, tty, on_tty);
    let no_color = std::env::var_os("NO_COLOR");
    let color = render::use_color(global.color, tty, no_color.as_deref());
    Printer::stdout(format, color)
}
