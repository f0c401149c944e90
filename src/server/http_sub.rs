//! SSE and long-poll subscribers on the broker's topic paths. Every answer
//! carries `X-Pubcat-Ids: sequence`: ids are consecutive integers per
//! topic, so a client may take a jump for a gap (another server's ids may
//! be global, or times: a client must not guess).
//!
//! **SSE** (`GET /{topic}` with `Accept: text/event-stream`): a `retry: 500`
//! hint, then one event per message, `id: N` then the body as `data:` lines
//! (a body's CR, LF and CRLF are all SSE line breaks, so each becomes a new
//! `data:` line and comes back as LF). A binary message is `event: binary`
//! with its body in base64. `: keep-alive` comments flow every 15 s of
//! silence. Replay: `Last-Event-ID`, `?last_event_id=N` or `?since=N` send
//! the kept history after N first, then live messages, with no gap or
//! duplicate in between; when part of it is no longer kept, a comment
//! `: gap: ids A..B are no longer kept` comes first. When there is nothing
//! to replay, the stream starts with a block of only `id: HEAD` (the
//! topic's last id; 0 for none yet), which sets the client's last event id
//! without an event: a client cut before its first message then resumes
//! from there and misses nothing published in between.
//!
//! **Long-poll** (any other `GET /{topic}`), in the Nchan convention: the
//! cursor is `If-None-Match` (the `Etag` of the last answer, sent back as is)
//! or `?since=N`. Messages after it are answered at once, all of them (up to
//! 1000), as `[{"id":N,"body":"…"} | {"id":N,"body_base64":"…"}, …]` with
//! `Content-Type: application/json`, `X-Pubcat-Batch: 1`, `Etag: <last id>`
//! and `Last-Modified`. With none yet the request is held until one comes or
//! the poll timeout passes (`304`, cursor unchanged). A request without a
//! cursor is answered at once with `304` and `Etag: HEAD` (the topic's last
//! id), the cursor to ask with: so a first answer lost on the way (a cut
//! connection) loses no message. A cursor older than the oldest kept id
//! gets what is kept and `X-Pubcat-Gap: A-B`.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::time::Duration;

use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use bytes::Bytes;

use super::broker::{Stored, Subscription};
use super::shutdown::Shutdown;
use super::{App, OpenGuard};
use crate::codec::pubcat;

/// Silence after which an SSE stream gets a keep-alive comment.
const KEEP_ALIVE: Duration = Duration::from_secs(15);
/// How ids are made, for clients that check for gaps.
const SEQUENCE: HeaderValue = HeaderValue::from_static(pubcat::SEQUENCE);
/// Most messages in one long-poll answer.
const POLL_BATCH: usize = 1000;
/// Most message bytes in one long-poll answer (one message at least): a
/// client's limit is per message, and a backlog of large ones must come
/// in answers it can take.
const POLL_BATCH_BYTES: usize = 1 << 20;

/// The id to resume after: `Last-Event-ID`, then `?last_event_id`, `?since`.
/// A value that is not an id of ours (another server's) is ignored.
pub fn cursor(headers: &HeaderMap, query: Option<&str>, header_name: &str) -> Option<u64> {
    if let Some(v) = headers.get(header_name).and_then(|v| v.to_str().ok()) {
        let v = v.trim().trim_start_matches("W/").trim_matches('"');
        if let Ok(id) = v.parse() {
            return Some(id);
        }
    }
    let query = query?;
    url::form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == "last_event_id" || k == "since")
        .and_then(|(_, v)| v.parse().ok())
}

struct SseState {
    sub: Subscription,
    started: bool,
    buf: Vec<std::sync::Arc<Stored>>,
    shutdown: Shutdown,
    log: SseLog,
}

/// Logs the end of an SSE stream whenever it ends, client gone included.
struct SseLog {
    app: App,
    peer: SocketAddr,
    path: String,
    out: u64,
    _open: OpenGuard,
}

impl Drop for SseLog {
    fn drop(&mut self) {
        self.app.log(format_args!(
            "sse close {} {} (out {})",
            self.peer, self.path, self.out
        ));
    }
}

pub fn sse(app: App, peer: SocketAddr, topic: &str, since: Option<u64>) -> Response {
    let sub = app.0.broker.subscribe(topic, since);
    let path = format!("/{topic}");
    match since {
        Some(s) => app.log(format_args!("sse connect {peer} {path} (since {s})")),
        None => app.log(format_args!("sse connect {peer} {path}")),
    }
    let state = SseState {
        sub,
        started: false,
        buf: Vec::new(),
        shutdown: app.0.shutdown.clone(),
        log: SseLog {
            app: app.clone(),
            peer,
            path,
            out: 0,
            _open: OpenGuard::new(&app.0.open),
        },
    };
    let stream = futures_util::stream::unfold(state, |mut st| async move {
        let mut out = String::new();
        if !st.started {
            st.started = true;
            out.push_str("retry: 500\n\n");
            if let Some(g) = st.sub.gap() {
                out.push_str(&format!(
                    ": gap: ids {}..{} are no longer kept\n\n",
                    g.first, g.last
                ));
            }
            let backlog = st.sub.take_backlog();
            if backlog.is_empty() {
                out.push_str(&format!("id: {}\n\n", st.sub.head()));
            }
            for m in backlog {
                event(&mut out, &m);
                st.log.out += 1;
            }
            return Some((Ok::<_, Infallible>(Bytes::from(out)), st));
        }
        tokio::select! {
            n = st.sub.recv_many(&mut st.buf, 1024) => {
                if n == 0 {
                    // The broker dropped a subscriber too slow to keep up;
                    // it reconnects with Last-Event-ID and resumes.
                    return None;
                }
                for m in st.buf.drain(..) {
                    event(&mut out, &m);
                    st.log.out += 1;
                }
            }
            _ = tokio::time::sleep(KEEP_ALIVE) => out.push_str(": keep-alive\n\n"),
            _ = st.shutdown.recv() => return None,
        }
        Some((Ok(Bytes::from(out)), st))
    });
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/event-stream"),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
            (
                header::HeaderName::from_static("x-accel-buffering"),
                HeaderValue::from_static("no"),
            ),
            (pubcat::IDS, SEQUENCE),
        ],
        Body::from_stream(stream),
    )
        .into_response()
}

/// One SSE event for a stored message.
fn event(out: &mut String, m: &Stored) {
    out.push_str("id: ");
    out.push_str(&m.id.to_string());
    out.push('\n');
    if m.binary() {
        out.push_str("event: binary\ndata: ");
        out.push_str(&base64::engine::general_purpose::STANDARD.encode(m.body()));
        out.push_str("\n\n");
        return;
    }
    let text = String::from_utf8_lossy(m.body());
    let mut rest = &text[..];
    loop {
        let end = rest.find(['\r', '\n']).unwrap_or(rest.len());
        out.push_str("data: ");
        out.push_str(&rest[..end]);
        out.push('\n');
        if end == rest.len() {
            break;
        }
        let skip = if rest[end..].starts_with("\r\n") {
            2
        } else {
            1
        };
        rest = &rest[end + skip..];
    }
    out.push('\n');
}

pub async fn poll(app: App, peer: SocketAddr, topic: &str, since: Option<u64>) -> Response {
    match since {
        Some(s) => app.log(format_args!("poll {peer} /{topic} (since {s})")),
        None => app.log(format_args!("poll {peer} /{topic}")),
    }
    let mut sub = app.0.broker.subscribe(topic, since);
    let gap = sub.gap();
    let mut batch = sub.take_backlog();
    batch.truncate(POLL_BATCH);
    if batch.is_empty() && since.is_some() {
        let mut shutdown = app.0.shutdown.clone();
        tokio::select! {
            _ = sub.recv_many(&mut batch, POLL_BATCH) => {}
            _ = tokio::time::sleep(app.0.cfg.poll_timeout) => {}
            _ = shutdown.recv() => {}
        }
    }
    let mut bytes = 0;
    let fits = batch
        .iter()
        .position(|m| {
            bytes += m.body().len();
            bytes > POLL_BATCH_BYTES
        })
        .unwrap_or(batch.len())
        .max(1);
    batch.truncate(fits);
    let Some(last) = batch.last().map(|m| m.id) else {
        // Nothing in time: the cursor stays where it was.
        let etag = since.unwrap_or_else(|| sub.head());
        return (
            StatusCode::NOT_MODIFIED,
            [
                (header::ETAG, HeaderValue::from(etag)),
                (pubcat::IDS, SEQUENCE),
            ],
        )
            .into_response();
    };
    let items: Vec<serde_json::Value> = batch
        .iter()
        .map(|m| {
            if m.binary() {
                serde_json::json!({
                    "id": m.id,
                    "body_base64": base64::engine::general_purpose::STANDARD.encode(m.body()),
                })
            } else {
                serde_json::json!({"id": m.id, "body": String::from_utf8_lossy(m.body())})
            }
        })
        .collect();
    let body = serde_json::to_vec(&items).unwrap_or_default();
    let last_modified = chrono::Utc::now()
        .format("%a, %d %b %Y %H:%M:%S GMT")
        .to_string();
    let mut resp = (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
            (header::ETAG, HeaderValue::from(last)),
            (pubcat::IDS, SEQUENCE),
        ],
        body,
    )
        .into_response();
    let headers = resp.headers_mut();
    headers.insert(pubcat::BATCH, HeaderValue::from_static("1"));
    if let Ok(v) = HeaderValue::from_str(&last_modified) {
        headers.insert(header::LAST_MODIFIED, v);
    }
    if let Some(g) = gap
        && let Ok(v) = HeaderValue::from_str(&format!("{}-{}", g.first, g.last))
    {
        headers.insert(pubcat::GAP, v);
    }
    resp
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::broker::Payload;

    fn stored(id: u64, body: &[u8], binary: bool) -> Stored {
        Stored {
            id,
            payload: Payload::new(Bytes::copy_from_slice(body), binary),
            headers: Vec::new(),
        }
    }

    #[test]
    fn events_split_bodies_into_data_lines() {
        let mut out = String::new();
        event(&mut out, &stored(3, b"a\r\nb\rc\nd", false));
        assert_eq!(out, "id: 3\ndata: a\ndata: b\ndata: c\ndata: d\n\n");
        out.clear();
        event(&mut out, &stored(4, b"", false));
        assert_eq!(out, "id: 4\ndata: \n\n");
        out.clear();
        event(&mut out, &stored(5, &[0, 255], true));
        assert_eq!(out, "id: 5\nevent: binary\ndata: AP8=\n\n");
    }

    #[test]
    fn cursors_come_from_headers_then_the_query() {
        let mut h = HeaderMap::new();
        assert_eq!(cursor(&h, Some("since=4"), "last-event-id"), Some(4));
        assert_eq!(
            cursor(&h, Some("last_event_id=5&x=1"), "last-event-id"),
            Some(5)
        );
        h.insert("last-event-id", HeaderValue::from_static("7"));
        assert_eq!(cursor(&h, Some("since=4"), "last-event-id"), Some(7));
        h.insert("if-none-match", HeaderValue::from_static("W/\"9\""));
        assert_eq!(cursor(&h, None, "if-none-match"), Some(9));
        h.insert("if-none-match", HeaderValue::from_static("1795344492:1"));
        assert_eq!(cursor(&h, None, "if-none-match"), None);
    }
}
