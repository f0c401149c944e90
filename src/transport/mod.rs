//! Transports move frames and bytes; they know nothing of protocols.

pub mod duplex;
pub mod engineio;
pub mod http;
pub mod poll;
pub mod sockjs;
pub mod sse;
pub mod ws;

use std::time::Duration;

use ::http::{HeaderName, HeaderValue};

use crate::error::{Error, Result};
use crate::tls::TlsOptions;

/// How to connect: every transport's settings, and the dialect's.
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
    /// How transports that reconnect by themselves (SSE) wait between tries.
    pub backoff: Backoff,
    /// The STOMP session, when the endpoint's protocol is STOMP.
    pub stomp: crate::dialect::stomp::StompOptions,
    /// The Socket.IO session, when the endpoint's protocol is Socket.IO.
    pub socketio: crate::dialect::socketio::SocketIoOptions,
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
}

/// Exponential backoff with full jitter: the n-th wait is a random time up
/// to `min * 2^n`, capped at `max`, so many clients cut off at once do not
/// come back at once.
#[derive(Clone, Copy, Debug)]
pub struct Backoff {
    pub min: Duration,
    pub max: Duration,
    /// Give up after this many failed attempts in a row (None: never).
    pub max_retries: Option<u32>,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff {
            min: Duration::from_millis(500),
            max: Duration::from_secs(30),
            max_retries: None,
        }
    }
}

impl Backoff {
    /// The wait before attempt `attempt` (1-based), or None when out of tries.
    pub fn delay(&self, attempt: u32) -> Option<Duration> {
        if self.max_retries.is_some_and(|m| attempt > m) {
            return None;
        }
        let ceiling = self
            .min
            .saturating_mul(1u32 << attempt.saturating_sub(1).min(20))
            .min(self.max)
            .max(self.min);
        // Jitter between half and all of the ceiling: never zero, so a
        // server refusing at once is not hammered.
        let spread = ceiling.as_secs_f64() * 0.5 * jitter();
        Some(Duration::from_secs_f64(
            ceiling.as_secs_f64() * 0.5 + spread,
        ))
    }
}

/// A number in [0, 1) good enough for jitter, without a random-number crate:
/// the clock's nanoseconds mixed through a xorshift.
fn jitter() -> f64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos() as u64 ^ d.as_secs())
        .unwrap_or(0x9e37_79b9);
    let mut x = nanos ^ 0x2545_f491_4f6c_dd1d ^ (std::process::id() as u64) << 32;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    (x >> 11) as f64 / (1u64 << 53) as f64
}

/// Parse `-H 'Name: value'` flags.
/// Sleep until `at`, or for ever without one: a `select!` arm for a timer
/// that is not always set.
pub async fn sleep_until_some(at: Option<tokio::time::Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_with_jitter_and_stops_at_max_retries() {
        let b = Backoff {
            min: Duration::from_millis(100),
            max: Duration::from_secs(1),
            max_retries: Some(5),
        };
        for attempt in 1..=5 {
            let d = b.delay(attempt).unwrap();
            let ceiling =
                Duration::from_millis(100 * (1 << (attempt - 1))).min(Duration::from_secs(1));
            assert!(d >= ceiling / 2 && d <= ceiling, "attempt {attempt}: {d:?}");
        }
        assert_eq!(b.delay(6), None);
        assert!(Backoff::default().delay(1000).unwrap() <= Duration::from_secs(30));
    }
}
