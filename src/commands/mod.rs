//! One file, one subcommand.

pub mod completions;
pub mod publish;
pub mod serve;
pub mod subscribe;
pub mod tail;

use std::io::IsTerminal;

use crate::cli::{ConnectArgs, Global};
use crate::endpoint::{Endpoint, Role};
use crate::error::Result;
use crate::render::{self, Format, Printer};
use crate::tls::TlsOptions;
use crate::transport::{Options, parse_headers};

/// Resolve the URL and connection flags of a client command.
pub fn connection(global: &Global, conn: &ConnectArgs, role: Role) -> Result<(Endpoint, Options)> {
    let endpoint = Endpoint::parse(&conn.url, conn.transport, role)?;
    let opts = Options {
        headers: parse_headers(&global.headers)?,
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
    };
    Ok((endpoint, opts))
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
