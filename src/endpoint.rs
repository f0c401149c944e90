//! A URL the user typed, resolved into what to connect to and how.

use std::sync::Arc;

use url::Url;

use crate::error::{Error, Result};

/// Which transport carries the messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Transport {
    /// WebSocket (ws://, wss://).
    Ws,
    /// Server-Sent Events: a GET with `Accept: text/event-stream` (receive only).
    Sse,
    /// HTTP long-poll, in the Nchan convention (receive only).
    Poll,
    /// HTTP POST, one request per message (publish only).
    Http,
    /// SockJS (sockjs+http:// URLs): WebSocket, falling back to
    /// xhr-streaming and xhr-polling; see --sockjs-transport.
    Sockjs,
}

/// The protocol spoken over the transport.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Protocol {
    /// Each WebSocket message, SSE event or HTTP body is one message.
    Raw,
    /// STOMP 1.2 frames (RabbitMQ Web-STOMP, Spring); destinations with -t.
    Stomp,
    /// Socket.IO v4 (Engine.IO long-polling, upgraded to WebSocket); the
    /// URL's path is the namespace.
    #[value(name = "socketio")]
    SocketIo,
    /// MQTT 3.1.1 or 5.0 over WebSocket (Mosquitto, EMQX, HiveMQ);
    /// topics and filters with -t.
    Mqtt,
    /// NATS over WebSocket (nats-server's websocket block); subjects with
    /// -t.
    Nats,
}

impl Protocol {
    /// MQTT and NATS: spoken over a WebSocket alone.
    fn ws_only(self) -> bool {
        matches!(self, Protocol::Mqtt | Protocol::Nats)
    }
}

/// What the command does with the endpoint, which picks the default
/// transport for http(s) URLs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    Publish,
    Subscribe,
}

#[derive(Clone, Debug)]
pub struct Endpoint {
    /// The URL with the scheme the transport needs (ws(s) or http(s)).
    pub url: Url,
    pub transport: Transport,
    pub protocol: Protocol,
    /// The topic as shown to the user: the URL path.
    pub topic: Arc<str>,
    /// The name the transport is shown under ("ws", "wss", "sse", ...).
    pub transport_name: &'static str,
    /// The user chose the transport (`--transport`); else it is the URL's
    /// default, which for Socket.IO means polling upgraded to WebSocket.
    pub transport_given: bool,
}

impl Endpoint {
    /// Parse what the user typed. `:7878/events` is shorthand for
    /// `ws://127.0.0.1:7878/events`; a URL without a scheme (`host:port/path`)
    /// gets `ws://`. http(s) URLs default to SSE for receiving and POST for
    /// publishing; `transport` overrides that, switching the scheme to match
    /// (one Nchan or pubcat-serve URL serves every transport). A `stomp+` or
    /// `socketio+` scheme prefix (`stomp+ws://`, `socketio+http://`) picks
    /// the protocol, as `protocol` does, and a `sockjs+` one
    /// (`sockjs+http://`, `stomp+sockjs+https://`) the SockJS transport.
    ///
    /// Anything else is refused rather than guessed at: a scheme pubcat
    /// does not speak (`mailto:`, `ftp://`), a known one missing its `//`
    /// (`ws:/host`), a URL without a host, and `sockjs+ws://` (SockJS
    /// starts over HTTP, whichever transport it goes on to use).
    pub fn parse(
        input: &str,
        transport: Option<Transport>,
        protocol: Option<Protocol>,
        role: Role,
    ) -> Result<Endpoint> {
        let typed = input.trim();
        let (input, protocol) = if let Some(rest) = typed.strip_prefix("stomp+") {
            (rest, protocol.or(Some(Protocol::Stomp)))
        } else if let Some(rest) = typed.strip_prefix("socketio+") {
            (rest, protocol.or(Some(Protocol::SocketIo)))
        } else if let Some(rest) = typed.strip_prefix("mqtt+") {
            (rest, protocol.or(Some(Protocol::Mqtt)))
        } else if let Some(rest) = typed.strip_prefix("nats+") {
            (rest, protocol.or(Some(Protocol::Nats)))
        } else {
            (typed, protocol)
        };
        let (input, sockjs) = match input.strip_prefix("sockjs+") {
            Some(rest) => (rest, true),
            None => (input, false),
        };
        let transport = transport.or(sockjs.then_some(Transport::Sockjs));
        let protocol = protocol.unwrap_or(Protocol::Raw);
        if input.is_empty() {
            return Err(Error::usage(
                "empty URL: give one like ws://127.0.0.1:7878/events",
            ));
        }
        let full = if input.starts_with(':') {
            format!("ws://127.0.0.1{input}")
        } else {
            match split_scheme(input) {
                Some((scheme, rest)) => {
                    check_scheme(typed, input, scheme, rest, sockjs)?;
                    input.to_string()
                }
                None => format!("ws://{input}"),
            }
        };
        let mut url = Url::parse(&full).map_err(|e| {
            Error::usage(format!(
                "invalid URL `{}`: {e} (expected e.g. ws://127.0.0.1:7878/events)",
                redact_typed(typed)
            ))
        })?;
        let tls = match url.scheme() {
            "ws" | "http" => false,
            "wss" | "https" => true,
            other => return Err(unknown_scheme(typed, other)),
        };
        if url.host_str().is_none_or(str::is_empty) {
            return Err(Error::usage(format!(
                "URL `{}` has no host (expected e.g. ws://127.0.0.1:7878/events)",
                redact_typed(typed)
            )));
        }
        let is_ws = url.scheme().starts_with("ws");
        if protocol == Protocol::SocketIo {
            return socketio(url, transport, tls, is_ws);
        }
        if protocol == Protocol::Stomp
            && transport.is_some_and(|t| !matches!(t, Transport::Ws | Transport::Sockjs))
        {
            return Err(Error::usage(
                "STOMP runs over WebSocket or SockJS: use --transport ws or sockjs",
            ));
        }
        if protocol.ws_only() && transport.is_some_and(|t| t != Transport::Ws) {
            let name = if protocol == Protocol::Mqtt {
                "MQTT"
            } else {
                "NATS"
            };
            return Err(Error::usage(format!(
                "pubcat speaks {name} over WebSocket only: use --transport ws (and the server's WebSocket port)"
            )));
        }
        let transport_given = transport.is_some();
        let transport = transport.unwrap_or(match (is_ws, role) {
            _ if protocol == Protocol::Stomp || protocol.ws_only() => Transport::Ws,
            (true, _) => Transport::Ws,
            (false, Role::Subscribe) => Transport::Sse,
            (false, Role::Publish) => Transport::Http,
        });
        match (transport, role) {
            (Transport::Sse | Transport::Poll, Role::Publish) => {
                return Err(Error::usage(
                    "SSE and long-poll only receive: publish with --transport http or ws",
                ));
            }
            (Transport::Http, Role::Subscribe) => {
                return Err(Error::usage(
                    "--transport http only publishes: subscribe with sse, poll or ws",
                ));
            }
            _ => {}
        }
        let scheme = match (transport, tls) {
            (Transport::Ws, false) => "ws",
            (Transport::Ws, true) => "wss",
            (_, false) => "http",
            (_, true) => "https",
        };
        if url.scheme() != scheme {
            // Url refuses some scheme changes (special to non-special); all
            // four here are special, so this only fails on a bug.
            url.set_scheme(scheme)
                .map_err(|()| Error::usage(format!("cannot use {scheme}:// for `{input}`")))?;
        }
        let transport_name = match (transport, tls) {
            (Transport::Ws, false) if protocol == Protocol::Stomp => "stomp+ws",
            (Transport::Ws, true) if protocol == Protocol::Stomp => "stomp+wss",
            (Transport::Ws, false) if protocol == Protocol::Mqtt => "mqtt+ws",
            (Transport::Ws, true) if protocol == Protocol::Mqtt => "mqtt+wss",
            (Transport::Ws, false) if protocol == Protocol::Nats => "nats+ws",
            (Transport::Ws, true) if protocol == Protocol::Nats => "nats+wss",
            (Transport::Ws, false) => "ws",
            (Transport::Ws, true) => "wss",
            (Transport::Sockjs, _) if protocol == Protocol::Stomp => "stomp+sockjs",
            (Transport::Sockjs, _) => "sockjs",
            (Transport::Sse, _) => "sse",
            (Transport::Poll, _) => "poll",
            (Transport::Http, _) => "http",
        };
        let path = url.path().trim_start_matches('/');
        let topic: Arc<str> = if path.is_empty() {
            "/".into()
        } else {
            path.into()
        };
        Ok(Endpoint {
            url,
            transport,
            protocol,
            topic,
            transport_name,
            transport_given,
        })
    }
}

/// The schemes pubcat speaks, for error messages.
const SCHEMES: &str = "ws://, wss://, http://, https://, sockjs+http://, sockjs+https://, socketio+http://, socketio+https://, stomp+ws://, stomp+wss://, stomp+sockjs+http://, stomp+sockjs+https://, and mqtt+ws://, mqtt+wss://, nats+ws://, nats+wss://";

/// `scheme:rest` when `s` starts with something shaped like a scheme
/// (a letter, then letters, digits, `+`, `-` or `.`, then `:`) that is not
/// a bare `host:port`: `mailto:x@y` and `ws:/h` are schemes, `localhost:80/x`
/// and `example.com:8080` are not.
fn split_scheme(s: &str) -> Option<(&str, &str)> {
    let (scheme, rest) = s.split_once(':')?;
    let mut chars = scheme.chars();
    let shaped = chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    if !shaped {
        return None;
    }
    // A port is digits up to the path: then the "scheme" was a host.
    let port = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if rest.is_empty() || (!port.is_empty() && port.bytes().all(|b| b.is_ascii_digit())) {
        return None;
    }
    // `user:password@host:port/…`: userinfo, when what follows the `@`
    // looks like a host (a port, a dot, an IPv6 address, localhost), where
    // `mailto:x@y` does not.
    if let Some((_, host)) = port.rsplit_once('@')
        && (host.contains([':', '.']) || host.starts_with('[') || host == "localhost")
    {
        return None;
    }
    Some((scheme, rest))
}

/// Is `scheme:rest` (`input` with the `stomp+`/`socketio+`/`sockjs+`
/// prefixes of `typed` taken off) a URL pubcat can use? Known schemes
/// need their `//` and a host after it; SockJS needs an http(s) URL.
fn check_scheme(typed: &str, input: &str, scheme: &str, rest: &str, sockjs: bool) -> Result<()> {
    let scheme = scheme.to_ascii_lowercase();
    let prefix = &typed[..typed.len() - input.len()];
    // What the lines below show of the URL: never its password or query.
    let (typed, rest) = (redact_typed(typed), redact_typed(rest));
    let typed = typed.as_str();
    if !matches!(scheme.as_str(), "ws" | "wss" | "http" | "https") {
        return Err(unknown_scheme(typed, &scheme));
    }
    let Some(after) = rest.strip_prefix("//") else {
        let host = rest.trim_start_matches('/');
        return Err(Error::usage(format!(
            "`{typed}` needs // after the scheme: did you mean {prefix}{scheme}://{host}?"
        )));
    };
    // Url reads `ws:///x` as host `x`: a URL whose host is empty is refused here.
    if after.is_empty() || after.starts_with(['/', '?', '#']) {
        return Err(Error::usage(format!(
            "URL `{typed}` has no host (expected e.g. {prefix}{scheme}://127.0.0.1:7878/events)"
        )));
    }
    if sockjs && scheme.starts_with("ws") {
        let http = if scheme == "wss" { "https" } else { "http" };
        return Err(Error::usage(format!(
            "`{typed}`: SockJS always starts over HTTP, whichever transport it then uses: use {prefix}{http}://{after} (add --sockjs-transport websocket to use only its WebSocket transport)"
        )));
    }
    Ok(())
}

fn unknown_scheme(typed: &str, scheme: &str) -> Error {
    let shown = typed.split_once(':').map_or(scheme, |(before, _)| before);
    if let Some(name) = match shown.to_ascii_lowercase().as_str() {
        "mqtt" | "mqtts" => Some("mqtt"),
        "nats" => Some("nats"),
        _ => None,
    } {
        return Error::usage(format!(
            "`{}`: pubcat speaks {} over WebSocket, not plain TCP: use the server's WebSocket listener, as {name}+ws://HOST:PORT (or {name}+wss://)",
            redact_typed(typed),
            name.to_ascii_uppercase()
        ));
    }
    Error::usage(format!(
        "unknown scheme `{shown}:` in `{}`: pubcat speaks {SCHEMES}",
        redact_typed(typed)
    ))
}

/// A URL as typed, fit for an error line: a password in it (`user:pw@`)
/// and its query (where tokens travel) hidden, as `log::redact_url` does
/// for a parsed one.
fn redact_typed(typed: &str) -> String {
    let (head, query) = match typed.split_once('?') {
        Some((head, _)) => (head, "?…"),
        None => (typed, ""),
    };
    // The userinfo runs from the last `/` (or the start) to the `@`: a
    // password is what follows its first `:`.
    let shown = match head.find('@') {
        Some(at) => {
            let start = head[..at].rfind('/').map_or(0, |i| i + 1);
            match head[start..at].find(':') {
                Some(colon) => format!("{}[redacted]{}", &head[..start + colon + 1], &head[at..]),
                None => head.to_string(),
            }
        }
        None => head.to_string(),
    };
    shown + query
}

/// A Socket.IO endpoint: Engine.IO starts with an HTTP request (polling)
/// unless it goes straight to WebSocket (`--transport ws`, or a ws(s)://
/// URL), so the URL keeps its http(s) scheme; the path is the namespace.
fn socketio(
    mut url: Url,
    transport: Option<Transport>,
    tls: bool,
    is_ws: bool,
) -> Result<Endpoint> {
    let transport_given = transport.is_some();
    let transport = match transport {
        None if is_ws => Transport::Ws,
        None | Some(Transport::Poll) => Transport::Poll,
        Some(Transport::Ws) => Transport::Ws,
        Some(Transport::Sse | Transport::Http | Transport::Sockjs) => {
            return Err(Error::usage(
                "Socket.IO runs over long-polling and WebSocket: use --transport poll or ws (or neither: polling, upgraded to WebSocket)",
            ));
        }
    };
    let _ = url.set_scheme(if tls { "https" } else { "http" });
    let transport_name = match (transport, tls) {
        (Transport::Ws, false) => "socketio+ws",
        (Transport::Ws, true) => "socketio+wss",
        (_, false) => "socketio+http",
        (_, true) => "socketio+https",
    };
    let topic: Arc<str> = if url.path().is_empty() {
        "/".into()
    } else {
        url.path().into()
    };
    Ok(Endpoint {
        url,
        transport,
        protocol: Protocol::SocketIo,
        topic,
        transport_name,
        transport_given,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sub(s: &str) -> Result<Endpoint> {
        Endpoint::parse(s, None, None, Role::Subscribe)
    }

    #[test]
    fn shorthand_and_schemes() {
        let e = sub(":7878/events").unwrap();
        assert_eq!(e.url.as_str(), "ws://127.0.0.1:7878/events");
        assert_eq!(&*e.topic, "events");
        let e = sub("localhost:1/a/b").unwrap();
        assert_eq!(e.url.as_str(), "ws://localhost:1/a/b");
        assert_eq!(&*e.topic, "a/b");
        let e = sub("wss://example.com").unwrap();
        assert_eq!(&*e.topic, "/");
        assert_eq!(e.transport_name, "wss");
    }

    #[test]
    fn http_urls_pick_a_transport_by_role_and_flag() {
        let e = sub("http://h/x").unwrap();
        assert_eq!((e.transport, e.transport_name), (Transport::Sse, "sse"));
        let e = Endpoint::parse("https://h/x", None, None, Role::Publish).unwrap();
        assert_eq!((e.transport, e.url.scheme()), (Transport::Http, "https"));
        let e = Endpoint::parse("http://h/x", Some(Transport::Ws), None, Role::Subscribe).unwrap();
        assert_eq!(e.url.as_str(), "ws://h/x");
        let e = Endpoint::parse("wss://h/x", Some(Transport::Poll), None, Role::Subscribe).unwrap();
        assert_eq!(e.url.as_str(), "https://h/x");
        assert!(Endpoint::parse("http://h/x", Some(Transport::Sse), None, Role::Publish).is_err());
        assert!(
            Endpoint::parse("http://h/x", Some(Transport::Http), None, Role::Subscribe).is_err()
        );
    }

    #[test]
    fn mqtt_and_nats_go_over_websocket_only() {
        for (typed, protocol, name, url) in [
            (
                "mqtt+ws://127.0.0.1:18083/mqtt",
                Protocol::Mqtt,
                "mqtt+ws",
                "ws://127.0.0.1:18083/mqtt",
            ),
            (
                "mqtt+wss://h:8884/mqtt",
                Protocol::Mqtt,
                "mqtt+wss",
                "wss://h:8884/mqtt",
            ),
            (
                "nats+ws://127.0.0.1:18085",
                Protocol::Nats,
                "nats+ws",
                "ws://127.0.0.1:18085/",
            ),
            ("nats+wss://h", Protocol::Nats, "nats+wss", "wss://h/"),
        ] {
            for role in [Role::Publish, Role::Subscribe] {
                let e = Endpoint::parse(typed, None, None, role).unwrap();
                assert_eq!(
                    (e.protocol, e.transport_name, e.url.as_str()),
                    (protocol, name, url)
                );
            }
        }
        let e = Endpoint::parse("http://h/mqtt", None, Some(Protocol::Mqtt), Role::Publish);
        assert_eq!(e.unwrap().url.as_str(), "ws://h/mqtt");
        let e = Endpoint::parse("mqtt+ws://h", Some(Transport::Sse), None, Role::Subscribe);
        assert!(e.unwrap_err().message.contains("MQTT over WebSocket only"));
        for typed in ["mqtt://127.0.0.1:1883", "nats://127.0.0.1:4222"] {
            let e = sub(typed).unwrap_err();
            assert!(
                e.message.contains("WebSocket, not plain TCP"),
                "{}",
                e.message
            );
        }
    }

    #[test]
    fn stomp_scheme_prefix_picks_the_protocol() {
        let e = sub("stomp+ws://127.0.0.1:15674/ws").unwrap();
        assert_eq!(
            (e.protocol, e.url.as_str()),
            (Protocol::Stomp, "ws://127.0.0.1:15674/ws")
        );
        assert_eq!(e.transport_name, "stomp+ws");
        let e =
            Endpoint::parse("https://h/ws", None, Some(Protocol::Stomp), Role::Publish).unwrap();
        assert_eq!((e.transport, e.url.scheme()), (Transport::Ws, "wss"));
        let bad = Endpoint::parse(
            "stomp+ws://h/ws",
            Some(Transport::Sse),
            None,
            Role::Subscribe,
        );
        assert!(bad.is_err());
    }

    #[test]
    fn socketio_urls_keep_http_and_name_the_namespace() {
        let e = sub("socketio+http://127.0.0.1:18087/chat").unwrap();
        assert_eq!(
            (e.protocol, e.url.as_str(), &*e.topic, e.transport),
            (
                Protocol::SocketIo,
                "http://127.0.0.1:18087/chat",
                "/chat",
                Transport::Poll
            )
        );
        assert_eq!(e.transport_name, "socketio+http");
        let e = Endpoint::parse("socketio+https://h", None, None, Role::Publish).unwrap();
        assert_eq!((&*e.topic, e.url.scheme()), ("/", "https"));
        let e = sub("socketio+wss://h/x").unwrap();
        assert_eq!(
            (e.transport, e.url.scheme(), e.transport_name),
            (Transport::Ws, "https", "socketio+wss")
        );
        let e = Endpoint::parse(
            "http://h/",
            Some(Transport::Ws),
            Some(Protocol::SocketIo),
            Role::Publish,
        )
        .unwrap();
        assert_eq!((e.transport, e.url.scheme()), (Transport::Ws, "http"));
        for t in [Transport::Sse, Transport::Http] {
            let err =
                Endpoint::parse("socketio+http://h/", Some(t), None, Role::Subscribe).unwrap_err();
            assert_eq!(err.kind, crate::error::Kind::Usage);
        }
    }

    #[test]
    fn sockjs_scheme_prefix_picks_the_transport() {
        let e = sub("sockjs+http://127.0.0.1:18088/echo").unwrap();
        assert_eq!(
            (e.transport, e.protocol, e.url.as_str(), e.transport_name),
            (
                Transport::Sockjs,
                Protocol::Raw,
                "http://127.0.0.1:18088/echo",
                "sockjs"
            )
        );
        let e = Endpoint::parse("stomp+sockjs+https://h/ws", None, None, Role::Publish).unwrap();
        assert_eq!(
            (e.transport, e.protocol, e.url.scheme(), e.transport_name),
            (Transport::Sockjs, Protocol::Stomp, "https", "stomp+sockjs")
        );
        // --transport sockjs on a ws:// URL: the scheme follows.
        let e = Endpoint::parse(
            "ws://h/x",
            Some(Transport::Sockjs),
            Some(Protocol::Stomp),
            Role::Subscribe,
        )
        .unwrap();
        assert_eq!(e.url.as_str(), "http://h/x");
    }

    #[test]
    fn bad_urls_are_usage_errors() {
        for bad in [
            "",
            "ftp://x/y",
            "ws://",
            "ws://[::1/x",
            "ws:///events",
            "http://?x",
            "ws://:7878/x",
            "socketio+ftp://h/x",
        ] {
            let err = sub(bad).unwrap_err();
            assert_eq!(err.kind, crate::error::Kind::Usage, "{bad}: {err}");
        }
    }

    #[test]
    fn a_scheme_pubcat_does_not_speak_is_named_with_the_ones_it_does() {
        for (bad, named) in [
            ("mailto:x@y", "`mailto:`"),
            ("ftp://h/x", "`ftp:`"),
            ("stomp+ftp://h/x", "`stomp+ftp:`"),
            ("user:secret@h/x", "`user:`"),
        ] {
            let err = sub(bad).unwrap_err().to_string();
            assert!(err.contains(named), "{bad}: {err}");
            for scheme in ["ws://", "https://", "sockjs+http://", "socketio+https://"] {
                assert!(err.contains(scheme), "{bad}: {err}");
            }
        }
    }

    #[test]
    fn a_known_scheme_without_its_slashes_suggests_them() {
        for (bad, meant) in [
            ("ws:/host", "ws://host"),
            ("http:host/x", "http://host/x"),
            ("WSS:/h:1/x", "wss://h:1/x"),
            ("stomp+ws:/h/ws", "stomp+ws://h/ws"),
            ("socketio+http:h", "socketio+http://h"),
        ] {
            let err = sub(bad).unwrap_err();
            assert_eq!(err.kind, crate::error::Kind::Usage);
            assert!(
                err.to_string().contains(&format!("did you mean {meant}?")),
                "{bad}: {err}"
            );
        }
    }

    #[test]
    fn sockjs_over_a_ws_scheme_is_refused_with_the_http_url() {
        let err = sub("sockjs+ws://h:1/echo").unwrap_err().to_string();
        assert!(err.contains("sockjs+http://h:1/echo"), "{err}");
        assert!(err.contains("--sockjs-transport websocket"), "{err}");
        let err = sub("stomp+sockjs+wss://h/ws").unwrap_err().to_string();
        assert!(err.contains("stomp+sockjs+https://h/ws"), "{err}");
    }

    #[test]
    fn hosts_with_ports_are_not_taken_for_schemes() {
        for (ok, want) in [
            ("localhost:1/a", "ws://localhost:1/a"),
            ("example.com:8080", "ws://example.com:8080/"),
            ("example.com", "ws://example.com/"),
            ("[::1]:7878/x", "ws://[::1]:7878/x"),
            ("127.0.0.1:7878/x?a=b", "ws://127.0.0.1:7878/x?a=b"),
            ("  ws://h/x  ", "ws://h/x"),
        ] {
            assert_eq!(sub(ok).unwrap().url.as_str(), want, "{ok}");
        }
        let e = sub("stomp+:7878/_/stomp").unwrap();
        assert_eq!(
            (e.protocol, e.url.as_str()),
            (Protocol::Stomp, "ws://127.0.0.1:7878/_/stomp")
        );
    }
}
