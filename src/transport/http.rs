//! HTTP on reqwest, for SSE, long-poll and POST publishing: one client
//! builder so the TLS settings (`--ca`, `--insecure`), headers and timeouts
//! mean the same as for WebSocket.

use std::error::Error as _;
use std::io;
use std::time::Duration;

use bytes::Bytes;
use http::HeaderMap;
use url::Url;

use super::Options;
use crate::codec::pubcat;
use crate::error::{Error, Result};
use crate::log::{redact_header, redact_url};
use crate::{tls, verbose};

/// A client for `url`, with the user's headers on every request.
pub fn client(url: &Url, opts: &Options) -> Result<reqwest::Client> {
    let mut headers = HeaderMap::new();
    for (name, value) in &opts.headers {
        headers.append(name.clone(), value.clone());
    }
    let tls = if url.scheme() == "https" {
        tls::client_config(&opts.tls, &[b"http/1.1"])?
    } else {
        tls::plain_config()?
    };
    reqwest::Client::builder()
        .connect_timeout(opts.connect_timeout)
        .local_address(opts.local_address)
        .tcp_nodelay(true)
        .default_headers(headers)
        .tls_backend_preconfigured((*tls).clone())
        .build()
        .map_err(|e| Error::local(format!("cannot set up the HTTP client: {e}")))
}

/// Log a request and its response headers at `-v`.
pub fn log_exchange(method: &str, url: &Url, response: &reqwest::Response) {
    if crate::log::level() < 1 {
        return;
    }
    verbose!("{method} {} -> HTTP {}", redact_url(url), response.status());
    for (name, value) in response.headers() {
        verbose!(
            "  {name}: {}",
            redact_header(name.as_str(), value.to_str().unwrap_or("<binary>"))
        );
    }
}

/// One line for a failed request: what failed and what to try.
pub fn request_error(url: &Url, err: reqwest::Error) -> Error {
    let shown = redact_url(url);
    let host = url.host_str().unwrap_or_default();
    // The useful part is at the bottom of the source chain.
    let mut source = err.source();
    while let Some(s) = source {
        if let Some(io) = s.downcast_ref::<io::Error>() {
            if io.kind() == io::ErrorKind::ConnectionRefused {
                return Error::connect(format!(
                    "connection refused by {shown} (is the server running? `pubcat serve` starts one)"
                ));
            }
            if io.get_ref().is_some_and(|e| e.is::<rustls::Error>()) {
                return Error::connect(tls::describe_failure(host, io));
            }
            // hyper-util wraps rustls's io::Error in another one, and
            // io::Error::source skips the inner error, so look inside.
            if let Some(inner) = io.get_ref().and_then(|e| e.downcast_ref::<io::Error>())
                && inner.get_ref().is_some_and(|e| e.is::<rustls::Error>())
            {
                return Error::connect(tls::describe_failure(host, inner));
            }
        }
        if let Some(tls_err) = s.downcast_ref::<rustls::Error>() {
            let io = io::Error::other(tls_err.clone());
            return Error::connect(tls::describe_failure(host, &io));
        }
        source = s.source();
    }
    if err.is_timeout() {
        return Error::connect(format!(
            "timed out talking to {shown} (raise --connect-timeout?)"
        ));
    }
    if err.is_connect() {
        let why = err
            .source()
            .map(|s| s.to_string())
            .unwrap_or_else(|| err.to_string());
        return Error::connect(format!("could not connect to {shown}: {why}"));
    }
    Error::connect(format!("request to {shown} failed: {}", cause(&err)))
}

/// The innermost cause of a failed request or read: reqwest's own line
/// ("error sending request for url (…)", "error decoding response body")
/// says nothing of what happened.
pub fn cause(err: &reqwest::Error) -> String {
    let mut last: &dyn std::error::Error = err;
    while let Some(inner) = last.source() {
        last = inner;
    }
    last.to_string()
}

/// Send `request` and wait for the answer's headers, `within` at the most:
/// reqwest's connect timeout covers TCP and TLS only, and a server that
/// accepts and never answers would otherwise hold the command for ever.
pub async fn send(
    request: reqwest::RequestBuilder,
    url: &Url,
    within: Duration,
) -> Result<reqwest::Response> {
    match tokio::time::timeout(within, request.send()).await {
        Ok(sent) => sent.map_err(|e| request_error(url, e)),
        Err(_) => Err(timed_out("the response headers", url, within)),
    }
}

/// The error for `what` (headers, a body) not coming from `url` in time.
pub fn timed_out(what: &str, url: &Url, within: Duration) -> Error {
    Error::connect(format!(
        "timed out waiting for {what} from {} after {} (raise --connect-timeout?)",
        authority(url),
        humantime::format_duration(within)
    ))
}

/// `host:port`, what an error line names: never the path or query, which
/// may carry secrets.
pub fn authority(url: &Url) -> String {
    let host = url.host_str().unwrap_or_default();
    match url.port_or_known_default() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_string(),
    }
}

/// True when the server says its ids are consecutive per stream
/// (`X-Pubcat-Ids: sequence`, as `pubcat serve` does): only then does a
/// jump in them prove a gap.
pub fn sequence_ids(headers: &http::HeaderMap) -> bool {
    headers.get(pubcat::IDS).is_some_and(|v| {
        v.as_bytes()
            .eq_ignore_ascii_case(pubcat::SEQUENCE.as_bytes())
    })
}

/// The run the server names ([`pubcat::EPOCH`]: `pubcat serve` numbers
/// from 1 again after a restart, so a resuming client sends back the run
/// its cursor came from), if it does.
pub fn epoch(headers: &http::HeaderMap) -> Option<String> {
    headers
        .get(pubcat::EPOCH)
        .and_then(|v| v.to_str().ok())
        .map(String::from)
}

/// Most of an error answer's body shown on the error line.
const EXCERPT: usize = 200;
/// Longest wait for that much of it.
const EXCERPT_WAIT: Duration = Duration::from_secs(2);

/// The first part of a response body, for an error line: at most a few KB
/// are read, however much the server sends, and control characters (a
/// hostile server's escape sequences) are replaced.
pub async fn body_excerpt(response: reqwest::Response) -> String {
    let text = excerpt(&error_body(response).await, EXCERPT);
    if text.is_empty() {
        String::new()
    } else {
        format!(": {text}")
    }
}

/// The start of an error answer's body: a few KB at the most, read within
/// one bound for the whole (a server dripping a byte at a time must not
/// hold the error line a few seconds per chunk).
pub async fn error_body(mut response: reqwest::Response) -> Vec<u8> {
    let mut body = Vec::new();
    let _ = tokio::time::timeout(EXCERPT_WAIT, async {
        while body.len() < 4 * EXCERPT {
            match response.chunk().await {
                Ok(Some(chunk)) => body.extend_from_slice(&chunk),
                _ => break,
            }
        }
    })
    .await;
    body
}

/// What a server sent, fit for an error line: at most `max` characters,
/// trimmed, control characters (a hostile server's escape sequences)
/// replaced by spaces.
pub fn excerpt(bytes: &[u8], max: usize) -> String {
    let text: String = String::from_utf8_lossy(bytes)
        .trim()
        .chars()
        .take(max)
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    text.trim().to_string()
}

/// The most a body holding several messages (a long-poll batch, an
/// Engine.IO polling payload) may take: six times the per-message limit
/// (escaping and base64 grow a message) and a megabyte of framing. Each
/// message in it is checked against the limit itself.
pub fn batch_limit(max_message_size: usize) -> usize {
    max_message_size.saturating_mul(6).saturating_add(1 << 20)
}

/// What to try after a refusal with this status, for the error line
/// (the WebSocket handshake's and every HTTP request's).
pub fn status_hint(status: u16) -> &'static str {
    match status {
        401 => {
            " (credentials needed: --token TOKEN, -H 'Authorization: …' or user:pass@ in the URL)"
        }
        403 => " (forbidden: check credentials and what the server allows, e.g. its Origin rules)",
        404 => " (check the path)",
        426 => " (the server wants another protocol version)",
        _ => "",
    }
}

/// An answer that is not the success it should be, as the error to end
/// with: `URL answered HTTP STATUS{to}: EXCERPT{hint}`, its exit code
/// decided by the status ([`Error::http_status`]), the body quoted as
/// [`body_excerpt`] reads it (bounded in size and time, controls
/// replaced). Without a `hint`, and on a 401 (which only credentials
/// answer), the status's own ([`status_hint`]).
pub async fn refused(response: reqwest::Response, url: &Url, to: &str, hint: &str) -> Error {
    let status = response.status();
    let hint = if hint.is_empty() || status == reqwest::StatusCode::UNAUTHORIZED {
        status_hint(status.as_u16())
    } else {
        hint
    };
    let body = body_excerpt(response).await;
    Error::http_status(
        status.as_u16(),
        format!("{} answered HTTP {status}{to}{body}{hint}", redact_url(url)),
    )
}

/// A whole response body, refused (exit 4) past `max` bytes: a server's
/// answer never costs more memory than `--max-message-size`.
pub async fn body_limited(mut response: reqwest::Response, url: &Url, max: usize) -> Result<Bytes> {
    if response.content_length().is_some_and(|n| n > max as u64) {
        return Err(too_large(url, max));
    }
    let mut body = bytes::BytesMut::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| {
        if e.is_timeout() {
            Error::connect(format!(
                "timed out reading the answer from {}",
                redact_url(url)
            ))
        } else {
            Error::connect(format!(
                "the answer from {} was cut short: {e}",
                redact_url(url)
            ))
        }
    })? {
        if body.len() + chunk.len() > max {
            return Err(too_large(url, max));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}

fn too_large(url: &Url, max: usize) -> Error {
    Error::server(format!(
        "{} sent an answer larger than --max-message-size ({max} bytes)",
        redact_url(url)
    ))
}

/// POST one message; the server's id for it when it gives one ([`posted_id`]).
pub async fn post(
    client: &reqwest::Client,
    url: &Url,
    body: Bytes,
    content_type: &str,
    within: Duration,
) -> Result<Option<String>> {
    let request = client
        .post(url.clone())
        .header(http::header::CONTENT_TYPE, content_type)
        .body(body);
    let response = send(request, url, within).await?;
    log_exchange("POST", url, &response);
    if !response.status().is_success() {
        return Err(refused(response, url, " to the POST", "").await);
    }
    // The answer only matters for its id: a few KB are plenty, and the
    // message is delivered already, so a body that does not come in time
    // costs only the id.
    let body = tokio::time::timeout(within, body_limited(response, url, 64 * 1024))
        .await
        .ok()
        .and_then(Result::ok)
        .unwrap_or_default();
    Ok(posted_id(&body))
}

/// The id a server gave the message just posted, from its answer: JSON
/// `{"id": …}` (pubcat serve, ntfy) or `{"last_message_id": …}` (Nchan
/// when asked for JSON), or Nchan's plain-text answer, a `last message id:`
/// line. Nchan's is the channel's newest id when it answered: with other
/// publishers on the channel at the same moment it may be one of theirs.
/// Control characters are replaced, as the id is printed on a terminal.
fn posted_id(body: &[u8]) -> Option<String> {
    let id = match serde_json::from_slice::<serde_json::Value>(body) {
        Ok(v) => ["id", "last_message_id"]
            .iter()
            .find_map(|key| match &v[key] {
                serde_json::Value::Number(n) => Some(n.to_string()),
                serde_json::Value::String(s) if !s.is_empty() => Some(s.clone()),
                _ => None,
            }),
        Err(_) => std::str::from_utf8(body)
            .ok()?
            .lines()
            .find_map(|line| line.strip_prefix("last message id:"))
            .map(str::trim)
            .filter(|id| !id.is_empty())
            .map(str::to_string),
    };
    id.map(|id| id.replace(char::is_control, "\u{fffd}"))
}

#[cfg(test)]
mod tests {
    use super::posted_id;

    #[test]
    fn the_posted_id_is_read_from_the_answers_servers_give() {
        // pubcat serve
        assert_eq!(posted_id(br#"{"id": 42}"#).as_deref(), Some("42"));
        // ntfy
        assert_eq!(
            posted_id(br#"{"id":"hwQ2YpKdmg","time":1635528741,"event":"message"}"#).as_deref(),
            Some("hwQ2YpKdmg")
        );
        // Nchan, asked for JSON and not
        let json = br#"{"messages": 2, "requested": -1, "subscribers": 0, "last_message_id": "1796399137:1" }"#;
        assert_eq!(posted_id(json).as_deref(), Some("1796399137:1"));
        let text = b"queued messages: 1\r\nlast requested: -1 sec. ago\r\nactive subscribers: 0\r\nlast message id: 1796399137:0";
        assert_eq!(posted_id(text).as_deref(), Some("1796399137:0"));
        // An id is one line of text on stderr, whatever the server sent.
        assert_eq!(
            posted_id(br#"{"id": "a\u001b[2Jb\nc"}"#).as_deref(),
            Some("a\u{fffd}[2Jb\u{fffd}c")
        );
        // Nothing to report
        for body in [
            &b""[..],
            b"OK",
            b"{}",
            br#"{"id": null}"#,
            b"\xff\xfe",
            b"last message id: ",
        ] {
            assert_eq!(posted_id(body), None, "{:?}", String::from_utf8_lossy(body));
        }
    }
}
