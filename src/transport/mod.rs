//! Transports move frames and bytes; they know nothing of protocols.

pub mod duplex;
pub mod engineio;
pub mod http;
pub mod message;
pub mod poll;
pub mod sockjs;
pub mod sse;
pub mod ws;

use std::time::Duration;

use ::http::{HeaderName, HeaderValue};

use crate::error::{Error, Result};
use crate::tls::TlsOptions;

/// How to connect: the transport's settings. The dialect's are
/// `crate::dialect::Dialect`, beside these (the transport layer imports no
/// dialect and no CLI type).
#[derive(Clone, Debug, Default)]
pub struct Options {
    pub headers: Vec<(HeaderName, HeaderValue)>,
    pub subprotocols: Vec<String>,
    pub max_message_size: usize,
    pub connect_timeout: Duration,
    pub tls: TlsOptions,
    /// Content-Type of HTTP-published messages.
    pub content_type: Option<String>,
    /// How long a long-poll request may be held by the server.
    pub poll_timeout: Duration,
    /// Ask the server to replay what came after this message id.
    pub resume_from: Option<String>,
    /// The server run `resume_from` came from, as it named it
    /// ([`http::EPOCH`]), sent back with the cursor.
    pub resume_epoch: Option<String>,
    /// Send a keep-alive ping this often where the transport has pings (a
    /// peer silent that long after one is dead); zero turns it off.
    pub ping_interval: Duration,
    /// SSE and long-poll: nothing at all for this long is a dead connection.
    pub dead_after: Option<Duration>,
    /// WebSocket read and write buffer sizes; None: tungstenite's 128 KiB,
    /// which is what a busy connection wants. An idle one is cheaper small,
    /// and so is a publisher's read buffer: tungstenite zeroes the whole
    /// free part of it before every read, and a publisher tries a read
    /// every few hundred messages that mostly finds nothing (128 KiB
    /// zeroed each time was 4% of the bench generator's time).
    pub ws_read_buffer: Option<usize>,
    pub ws_write_buffer: Option<usize>,
    /// The SockJS session, when the transport is SockJS.
    pub sockjs: sockjs::SockJsOptions,
    /// Connect from this local address (bench's `--bind`).
    pub local_address: Option<std::net::IpAddr>,
}

/// Sleep until `at`, or for ever without one: a `select!` arm for a timer
/// that is not always set.
pub async fn sleep_until_some(at: Option<tokio::time::Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// Parse `-H 'Name: value'` flags.
pub fn parse_headers(raw: &[String]) -> Result<Vec<(HeaderName, HeaderValue)>> {
    raw.iter()
        .map(|h| {
            let (name, value) = h
                .split_once(':')
                .ok_or_else(|| Error::usage(format!("header `{h}` is not `Name: value`")))?;
            let name = HeaderName::from_bytes(name.trim().as_bytes())
                .map_err(|_| Error::usage(format!("header name `{}` is not valid", name.trim())))?;
            let value = HeaderValue::from_str(value.trim()).map_err(|_| {
                Error::usage(format!("header `{}` has a value that is not valid", name))
            })?;
            Ok((name, value))
        })
        .collect()
}
