//! `pubcat serve`: run the embedded broker until Ctrl-C, SIGTERM or SIGHUP,
//! then close every client and exit 130.

use crate::cli::ServeArgs;
use crate::error::{Error, Outcome, Result};
use crate::server::{self, ServerConfig};
use crate::shutdown::Interrupt;
use crate::{status, verbose};

pub async fn run(args: ServeArgs, quiet: bool, mut interrupt: Interrupt) -> Result<Outcome> {
    let config = ServerConfig {
        listen: args.listen,
        history: args.history,
        queue: args.queue,
        slow_timeout: args.slow_timeout,
        max_message_size: args.max_message_size,
        quiet,
        poll_timeout: args.poll_timeout,
        sockjs_heartbeat: args.sockjs_heartbeat,
        allow_origins: args.allow_origin,
        allow_hosts: args.allow_host,
    };
    let bound = server::bind(config).await.map_err(|e| {
        let hint = if e.kind() == std::io::ErrorKind::AddrInUse {
            " (another server is there: pick another --listen port, or 0 for any)"
        } else {
            ""
        };
        Error::local(format!("cannot listen on {}: {e}{hint}", args.listen))
    })?;
    let addr = bound.local_addr();
    // Each connection is a file descriptor; the default soft limit (often
    // 1024) would refuse connections long before memory runs out.
    if let Some(limit) = crate::limits::raise_open_files() {
        verbose!("open-file limit: {limit}");
    }
    // Tests and scripts read this line to learn the port of `--listen :0`.
    status!("listening on ws://{addr}/{{topic}} (health: http://{addr}/_/health)");
    status!("STOMP on ws://{addr}/_/stomp and SockJS http://{addr}/_/sockjs");
    bound
        .run(async move { interrupt.wait().await })
        .await
        .map_err(|e| Error::local(format!("server failed: {e}")))?;
    status!("shut down");
    // Only a signal ends the broker; it closed every client first.
    Ok(Outcome::Interrupted)
}
