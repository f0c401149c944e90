//! A URL the user typed, resolved into what to connect to and how.

use std::sync::Arc;

use url::Url;

use crate::error::{Error, Result};

/// Which transport carries the messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transport {
    Ws,
}

#[derive(Clone, Debug)]
pub struct Endpoint {
    pub url: Url,
    pub transport: Transport,
    /// The topic as shown to the user: for raw WebSocket, the URL path.
    pub topic: Arc<str>,
    /// The name the transport is shown under ("ws", "wss").
    pub transport_name: &'static str,
}

impl Endpoint {
    /// Parse what the user typed. `:7878/events` is shorthand for
    /// `ws://127.0.0.1:7878/events`; a URL without a scheme gets `ws://`.
    pub fn parse(input: &str) -> Result<Endpoint> {
        let input = input.trim();
        if input.is_empty() {
            return Err(Error::usage(
                "empty URL: give one like ws://127.0.0.1:7878/events",
            ));
        }
        let full = if input.starts_with(':') {
            format!("ws://127.0.0.1{input}")
        } else if !input.contains("://") {
            format!("ws://{input}")
        } else {
            input.to_string()
        };
        let url = Url::parse(&full).map_err(|e| {
            Error::usage(format!(
                "invalid URL `{input}`: {e} (expected e.g. ws://127.0.0.1:7878/events)"
            ))
        })?;
        let (transport, transport_name) = match url.scheme() {
            "ws" => (Transport::Ws, "ws"),
            "wss" => (Transport::Ws, "wss"),
            "http" | "https" => {
                return Err(Error::usage(format!(
                    "`{}` URLs (SSE, long-poll, HTTP publish) are not supported yet; use ws:// or wss://",
                    url.scheme()
                )));
            }
            other => {
                return Err(Error::usage(format!(
                    "unknown scheme `{other}://` in `{input}`: use ws:// or wss://"
                )));
            }
        };
        if url.host_str().is_none_or(str::is_empty) {
            return Err(Error::usage(format!("URL `{input}` has no host")));
        }
        let path = url.path().trim_start_matches('/');
        let topic: Arc<str> = if path.is_empty() {
            "/".into()
        } else {
            path.into()
        };
        Ok(Endpoint {
            url,
            transport,
            topic,
            transport_name,
        })
    }

    pub fn is_tls(&self) -> bool {
        matches!(self.url.scheme(), "wss" | "https")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shorthand_and_schemes() {
        let e = Endpoint::parse(":7878/events").unwrap();
        assert_eq!(e.url.as_str(), "ws://127.0.0.1:7878/events");
        assert_eq!(&*e.topic, "events");
        let e = Endpoint::parse("localhost:1/a/b").unwrap();
        assert_eq!(e.url.as_str(), "ws://localhost:1/a/b");
        assert_eq!(&*e.topic, "a/b");
        let e = Endpoint::parse("wss://example.com").unwrap();
        assert!(e.is_tls());
        assert_eq!(&*e.topic, "/");
        assert_eq!(e.transport_name, "wss");
    }

    #[test]
    fn bad_urls_are_usage_errors() {
        for bad in ["", "ftp://x/y", "ws://", "ws://[::1/x", "http://x/y"] {
            let err = Endpoint::parse(bad).unwrap_err();
            assert_eq!(err.kind, crate::error::Kind::Usage, "{bad}: {err}");
        }
    }
}
