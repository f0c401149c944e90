//! One file, one subcommand.

pub mod completions;
pub mod publish;
pub mod serve;
pub mod subscribe;

use std::io::IsTerminal;

use crate::cli::{ConnectArgs, Global};
use crate::endpoint::Endpoint;
use crate::error::Result;
use crate::render::{self, Format, Printer};
use crate::tls::TlsOptions;
use crate::transport::ws::{WsOptions, parse_headers};

/// Resolve the URL and connection flags of a client command.
pub fn connection(global: &Global, conn: &ConnectArgs) -> Result<(Endpoint, WsOptions)> {
    let endpoint = Endpoint::parse(&conn.url)?;
    let opts = WsOptions {
        headers: parse_headers(&global.headers)?,
        subprotocols: conn.subprotocol.clone(),
        max_message_size: conn.max_message_size,
        connect_timeout: global.connect_timeout,
        tls: TlsOptions {
            ca: global.ca.clone(),
            insecure: global.insecure,
        },
    };
    Ok((endpoint, opts))
}

/// The stdout printer the user asked for.
pub fn printer(global: &Global) -> Printer<std::io::Stdout> {
    let tty = std::io::stdout().is_terminal();
    let format: Format = render::resolve_format(global.output, tty);
    let no_color = std::env::var_os("NO_COLOR");
    let color = render::use_color(global.color, tty, no_color.as_deref());
    Printer::stdout(format, color)
}
