//! `pubcat serve`: run the embedded broker until Ctrl-C, SIGTERM or SIGHUP,
//! then close every client and exit 130.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use crate::cli::{FsyncArg, Global, ServeArgs};
use crate::error::{Error, Outcome, Result};
use crate::server::store::Fsync;
use crate::server::{self, Chaos, ServerConfig, Tokens};
use crate::shutdown::Interrupt;
use crate::{status, verbose, warn};

/// File descriptors kept back from connections: for the listeners, the
/// log, and answering `503` to the connection over the cap.
const FD_RESERVE: u64 = 64;

pub async fn run(args: ServeArgs, global: &Global, mut interrupt: Interrupt) -> Result<Outcome> {
    let quiet = global.quiet;
    let listen = resolve(&args.listen).await?;
    // Each connection is a file descriptor; the default soft limit (often
    // 1024) would refuse connections long before memory runs out.
    let fd_limit = crate::limits::raise_open_files();
    if let Some(limit) = fd_limit {
        verbose!("open-file limit: {limit}");
    }
    let tls = tls(&args)?;
    let config = ServerConfig {
        listen,
        history: args.history,
        history_bytes: args.history_bytes,
        history_total: args.history_total,
        retain_for: (!args.retain_for.is_zero()).then_some(args.retain_for),
        max_topics: args.max_topics,
        transaction_bytes: args.transaction_bytes,
        queue: args.queue,
        slow_timeout: args.slow_timeout,
        max_message_size: args.max_message_size,
        quiet,
        poll_timeout: args.poll_timeout,
        sockjs_heartbeat: args.sockjs_heartbeat,
        allow_origins: args.allow_origin,
        allow_hosts: args.allow_host,
        request_timeout: args.request_timeout,
        max_connections_per_ip: args.max_connections_per_ip,
        max_connections: fd_limit.map_or(0, |n| {
            usize::try_from(n.saturating_sub(FD_RESERVE).max(1)).unwrap_or(usize::MAX)
        }),
        tls: tls.as_ref().map(|(config, _)| Arc::clone(config)),
        tokens: Tokens::new(args.token, args.token_sub, args.token_pub),
        data_dir: args.data_dir.clone().map(|dir| {
            let fsync = match args.fsync {
                FsyncArg::Always => Fsync::Always,
                FsyncArg::Interval => Fsync::Interval(std::time::Duration::from_secs(1)),
                FsyncArg::Never => Fsync::Never,
            };
            (dir, fsync)
        }),
        summary: (!quiet).then(|| super::color(global, true)),
        chaos: Chaos {
            cut: args.chaos_cut,
            delay: args.chaos_delay,
            drop_close: args.chaos_drop_close,
        },
    };
    let tokens = config.has_tokens();
    let chaos = config.chaos.banner();
    let bound = server::bind(config).await.map_err(|e| {
        let hint = if e.kind() == std::io::ErrorKind::AddrInUse {
            " (another server is there: pick another --listen port, or 0 for any)"
        } else {
            ""
        };
        match &args.data_dir {
            Some(dir)
                if e.kind() != std::io::ErrorKind::AddrInUse
                    && e.kind() != std::io::ErrorKind::AddrNotAvailable =>
            {
                Error::local(format!(
                    "cannot start with --data-dir {}: {e}",
                    dir.display()
                ))
            }
            _ => Error::local(format!("cannot listen on {}: {e}{hint}", args.listen)),
        }
    })?;
    if let Some(dir) = &args.data_dir {
        let r = bound.restored();
        for w in &r.warnings {
            warn!("{w}");
        }
        status!(
            "data in {} (--fsync {}): {} topics with {} messages, {} queued messages restored",
            dir.display(),
            match args.fsync {
                FsyncArg::Always => "always",
                FsyncArg::Interval => "interval",
                FsyncArg::Never => "never",
            },
            r.topics,
            r.messages,
            r.queued
        );
    }
    let addrs = bound.local_addrs();
    // Tests and scripts read this line to learn the port of `--listen :0`.
    let (shown, each) = if let [addr] = addrs {
        (addr.to_string(), String::new())
    } else {
        let host = args.listen.rsplit_once(':').map_or("", |(h, _)| h);
        let all: Vec<String> = addrs
            .iter()
            .map(|a| SocketAddr::new(a.ip(), 0).to_string().replace(":0", ""))
            .collect();
        (
            format!("{host}:{}", addrs[0].port()),
            format!("{}; ", all.join(" and ")),
        )
    };
    let (ws, http) = if tls.is_some() {
        ("wss", "https")
    } else {
        ("ws", "http")
    };
    status!("listening on {ws}://{shown}/{{topic}} ({each}health: {http}://{shown}/_/health)");
    status!("STOMP on {ws}://{shown}/_/stomp and SockJS {http}://{shown}/_/sockjs");
    if let Some((_, Some(ca))) = &tls {
        status!(
            "TLS certificate made for this run: clients trust it with --ca {}",
            ca.display()
        );
    }
    if let Some(chaos) = chaos {
        status!("chaos: {chaos}");
    }
    if tokens {
        status!(
            "clients need a token: Authorization: Bearer TOKEN, ?token=TOKEN, or STOMP's passcode"
        );
    } else if let Some(open) = addrs.iter().find(|a| !a.ip().is_loopback()) {
        warn!(
            "listening on {} without --token: anyone who can reach this machine can read and publish every topic; give --token SECRET (or PUBCAT_TOKEN)",
            open.ip()
        );
    }
    bound
        .run(async move { interrupt.wait().await })
        .await
        .map_err(|e| Error::local(format!("server failed: {e}")))?;
    status!("shut down");
    // Only a signal ends the broker; it closed every client first.
    Ok(Outcome::Interrupted)
}

/// The TLS configuration asked for, and where a self-signed run's CA
/// certificate was written.
fn tls(args: &ServeArgs) -> Result<Option<(Arc<rustls::ServerConfig>, Option<PathBuf>)>> {
    if let (Some(cert), Some(key)) = (&args.tls_cert, &args.tls_key) {
        return Ok(Some((
            crate::tls::server_config_from_files(cert, key)?,
            None,
        )));
    }
    if !args.tls_self_signed {
        return Ok(None);
    }
    let (config, ca_pem) = crate::tls::self_signed_server_config()?;
    let path = args.tls_ca_out.clone().unwrap_or_else(|| {
        std::env::temp_dir().join(format!("pubcat-serve-ca-{}.pem", std::process::id()))
    });
    std::fs::write(&path, ca_pem).map_err(|e| {
        Error::local(format!(
            "cannot write the CA certificate to {}: {e}",
            path.display()
        ))
    })?;
    Ok(Some((config, Some(path))))
}

/// Every address `listen` names, each once, in the resolver's order.
/// `localhost` is both loopback addresses whatever the hosts file says
/// (RFC 6761; many list only 127.0.0.1), since clients differ in which
/// one they try.
async fn resolve(listen: &str) -> Result<Vec<SocketAddr>> {
    if let Ok(addr) = listen.parse::<SocketAddr>() {
        return Ok(vec![addr]);
    }
    if let Some((host, port)) = listen.rsplit_once(':')
        && host.eq_ignore_ascii_case("localhost")
        && let Ok(port) = port.parse::<u16>()
    {
        return Ok(vec![
            SocketAddr::from((std::net::Ipv4Addr::LOCALHOST, port)),
            SocketAddr::from((std::net::Ipv6Addr::LOCALHOST, port)),
        ]);
    }
    let found = tokio::net::lookup_host(listen)
        .await
        .map_err(|e| Error::local(format!("cannot listen on {listen}: {e}")))?;
    let mut addrs: Vec<SocketAddr> = Vec::new();
    for addr in found {
        if !addrs.contains(&addr) {
            addrs.push(addr);
        }
    }
    if addrs.is_empty() {
        return Err(Error::local(format!(
            "cannot listen on {listen}: the name has no address"
        )));
    }
    Ok(addrs)
}
