//! Who may use the broker from a browser. A page on any site can open a
//! WebSocket or send a simple POST to `127.0.0.1` (binding to loopback
//! keeps other machines out, not other sites): without this check, a page
//! the developer opens could read every topic's history, publish, and take
//! STOMP queue jobs. Browsers always send `Origin` on those requests, and a
//! page cannot forge it, so every request that carries one is checked:
//!
//! - no `Origin` (curl, pubcat, any CLI or server-side client): allowed;
//! - a loopback origin, `http(s)://localhost`, `127.0.0.1` or `[::1]` on
//!   any port (the developer's own dev server): allowed;
//! - one given with `--allow-origin` (exact, `scheme://host[:port]`), or
//!   any when `--allow-origin '*'` is given: allowed;
//! - anything else, `null` included: `403`, before anything is read,
//!   published or replayed.
//!
//! A page can also reach loopback under its own name (DNS rebinding:
//! `attacker.example` made to resolve to 127.0.0.1), where its GETs are
//! same-origin and carry no `Origin`. So a broker listening on loopback
//! also checks `Host`: a loopback name or address (any port), or one given
//! with `--allow-host`; anything else gets `403`. A broker listening on
//! another address (`--listen 0.0.0.0:PORT`) is reached by names it cannot
//! know, and does not check `Host`.
//!
//! A page that is allowed gets CORS on every route, so `EventSource`,
//! `fetch` and long-poll work from the developer's dev server: a preflight
//! (`OPTIONS` with `Access-Control-Request-Method`) is answered `204`
//! here, allowing `GET`, `POST`, and the request headers a client of this
//! broker sends (`Last-Event-ID`, `If-None-Match`, `If-Modified-Since`,
//! `Content-Type`, `Authorization`, `X-Pubcat-Epoch`); every answer names
//! the origin and exposes the headers a resuming client reads (`Etag`,
//! `Last-Modified`, the `X-Pubcat-*` ones). No credentials (cookies) are
//! involved. SockJS answers its own CORS, as its protocol says.

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::{App, text};

/// The check, as a layer in front of every route.
pub(super) async fn check(State(app): State<App>, req: Request, next: Next) -> Response {
    let cfg = &app.0.cfg;
    if app.0.loopback_only
        && let Some(host) = req.headers().get(header::HOST)
    {
        let host = host.to_str().unwrap_or("");
        if !host_allowed(host, &cfg.allow_hosts) {
            app.log(format_args!(
                "refused {} {}: Host {} is not this broker's",
                req.method(),
                req.uri().path(),
                host.replace(char::is_control, "?")
            ));
            return text(
                StatusCode::FORBIDDEN,
                "this broker listens on loopback and answers only to localhost, 127.0.0.1 and [::1]: start it with --allow-host NAME for another name\n",
            );
        }
    }
    let Some(origin) = req.headers().get(header::ORIGIN).cloned() else {
        return next.run(req).await;
    };
    let origin_str = origin.to_str().unwrap_or("");
    if allowed(origin_str, &app.0.cfg.allow_origins) {
        if req.uri().path().starts_with("/_/sockjs") {
            return next.run(req).await;
        }
        let mut response = if is_preflight(&req) {
            preflight("GET, POST, OPTIONS")
        } else {
            next.run(req).await
        };
        cors(response.headers_mut(), origin);
        return response;
    }
    let origin = origin_str;
    app.log(format_args!(
        "refused {} {}: Origin {} is not allowed",
        req.method(),
        req.uri().path(),
        origin.replace(char::is_control, "?")
    ));
    text(
        StatusCode::FORBIDDEN,
        "this page's origin may not use this broker: pubcat serve allows pages from localhost; start it with --allow-origin ORIGIN for others\n",
    )
}

fn is_preflight(req: &Request) -> bool {
    req.method() == Method::OPTIONS
        && req
            .headers()
            .contains_key(header::ACCESS_CONTROL_REQUEST_METHOD)
}

/// The request headers a page may send, and the answer headers it may read.
const ALLOW_HEADERS: &str =
    "Last-Event-ID, If-None-Match, If-Modified-Since, Content-Type, Authorization, X-Pubcat-Epoch";

/// `204` allowing `methods` and the request headers a client sends.
pub(super) fn preflight(methods: &'static str) -> Response {
    let mut response = StatusCode::NO_CONTENT.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static(methods),
    );
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_HEADERS,
        HeaderValue::from_static(ALLOW_HEADERS),
    );
    headers.insert(
        header::ACCESS_CONTROL_MAX_AGE,
        HeaderValue::from_static("600"),
    );
    response
}

fn concat_expose() -> HeaderValue {
    static EXPOSE: std::sync::OnceLock<HeaderValue> = std::sync::OnceLock::new();
    EXPOSE
        .get_or_init(|| {
            let all = format!("Etag, Last-Modified, {}", crate::codec::pubcat::ALL);
            HeaderValue::try_from(all).unwrap_or(HeaderValue::from_static("Etag"))
        })
        .clone()
}

fn cors(headers: &mut HeaderMap, origin: HeaderValue) {
    headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
    let expose = concat_expose();
    headers.insert(header::ACCESS_CONTROL_EXPOSE_HEADERS, expose);
    headers.append(header::VARY, HeaderValue::from_static("Origin"));
}

/// Whether a page from `origin` may use the broker.
fn allowed(origin: &str, allow: &[String]) -> bool {
    if allow
        .iter()
        .any(|a| a == "*" || a.eq_ignore_ascii_case(origin))
    {
        return true;
    }
    origin
        .strip_prefix("http://")
        .or_else(|| origin.strip_prefix("https://"))
        .is_some_and(is_loopback_authority)
}

/// Whether a request's `Host` names this loopback broker (or one the user
/// allowed with `--allow-host`, with or without its port).
fn host_allowed(host: &str, allow: &[String]) -> bool {
    let name = match host.rsplit_once(':') {
        Some((name, port)) if port.parse::<u16>().is_ok() && !name.ends_with(']') => name,
        _ => host,
    };
    is_loopback_authority(host)
        || allow
            .iter()
            .any(|a| a.eq_ignore_ascii_case(host) || a.eq_ignore_ascii_case(name))
}

/// `localhost`, `127.0.0.1` or `[::1]`, with an optional port.
fn is_loopback_authority(rest: &str) -> bool {
    let host = if let Some(v6) = rest.strip_prefix('[') {
        match v6.split_once(']') {
            Some((addr, port)) => (addr == "::1" && is_port(port)).then_some("::1"),
            None => None,
        }
    } else {
        let (host, port) = rest.split_once(':').map_or((rest, ""), |(h, p)| (h, p));
        (port.is_empty() || port.parse::<u16>().is_ok()).then_some(host)
    };
    matches!(host, Some(h) if h.eq_ignore_ascii_case("localhost") || h == "127.0.0.1" || h == "::1")
}

/// `""` or `:N` with N a port number.
fn is_port(s: &str) -> bool {
    s.is_empty()
        || s.strip_prefix(':')
            .is_some_and(|p| p.parse::<u16>().is_ok())
}

#[cfg(test)]
mod tests {
    use super::{allowed, host_allowed};

    #[test]
    fn only_loopback_names_and_allowed_hosts_reach_a_loopback_broker() {
        for ok in [
            "127.0.0.1:7878",
            "localhost:7878",
            "localhost",
            "[::1]:7878",
            "LOCALHOST",
        ] {
            assert!(host_allowed(ok, &[]), "{ok}");
        }
        for refused in [
            "attacker.example",
            "attacker.example:7878",
            "127.0.0.1.attacker.example:7878",
            "localhost:7878:1",
            "",
        ] {
            assert!(!host_allowed(refused, &[]), "{refused}");
        }
        let mine = ["dev.box".to_string()];
        assert!(host_allowed("dev.box:7878", &mine));
        assert!(host_allowed("dev.box", &mine));
    }

    #[test]
    fn loopback_pages_are_allowed_and_others_are_not() {
        for ok in [
            "http://localhost:3000",
            "http://localhost",
            "https://LOCALHOST:8443",
            "http://127.0.0.1:5173",
            "http://[::1]:8080",
            "http://[::1]",
        ] {
            assert!(allowed(ok, &[]), "{ok}");
        }
        for refused in [
            "http://evil.example",
            "null",
            "http://localhost.evil.example",
            "http://127.0.0.1.evil.example:80",
            "http://localhost:3000@evil.example",
            "http://[::2]:80",
            "file://",
            "",
        ] {
            assert!(!allowed(refused, &[]), "{refused}");
        }
        let mine = ["https://app.example:8443".to_string()];
        assert!(allowed("https://app.example:8443", &mine));
        assert!(!allowed("https://app.example", &mine));
        assert!(allowed("http://evil.example", &["*".to_string()]));
    }
}
