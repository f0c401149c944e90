//! Transports move frames and bytes; they know nothing of protocols.

pub mod http;
pub mod poll;
pub mod sse;
pub mod ws;

use std::time::Duration;

use ::http::{HeaderName, HeaderValue};

use crate::error::{Error, Result};
use crate::tls::TlsOptions;

/// How to connect, for every transport.
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
