//! `POST /{topic}`: publish the request body. It is published as binary
//! when the request says `Content-Type: application/octet-stream` or when
//! it is not valid UTF-8, otherwise as text (so `curl -d hi`, JSON and
//! plain text arrive as text frames); the answer is `200 {"id": N}`,
//! `413` over the broker's max message size, or `503` when it would create
//! a topic past `--max-topics`.

use axum::body::Body;
use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::{Bytes, BytesMut};
use futures_util::StreamExt;
use std::time::Duration;

use super::broker::Refused;
use super::topic::{topic_full, topic_of};
use super::{App, json, text};

pub(super) async fn topic_post(
    State(app): State<App>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    req: Request,
) -> Response {
    let topic = match topic_of(req.uri().path()) {
        Ok(t) => t.to_string(),
        Err(refusal) => return refusal.into_response(),
    };
    let max = app.0.cfg.max_message_size;
    // Refuse on the declared length before reading anything.
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > max as u64) {
        return BodyError::TooLarge.into_response(max);
    }
    let binary = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| {
            ct.split(';')
                .next()
                .is_some_and(|mime| mime.trim().eq_ignore_ascii_case("application/octet-stream"))
        });
    // The declared length sizes the buffer: one grown by doubling holds up
    // to twice the body for as long as the message is kept.
    let expected = declared.map_or(0, |n| n as usize);
    let stall = app.0.cfg.request_timeout;
    let body = match read_body(req.into_body(), max, expected, stall).await {
        Ok(b) => b,
        Err(e) => return e.into_response(max),
    };
    match app.0.broker.publish(&topic, body, binary, None).await {
        Ok(id) => json(format!("{{\"id\":{id}}}\n").into_bytes()),
        Err(Refused::Full(full)) => {
            topic_full(&app, peer, &format!("/{topic}"), full).into_response()
        }
        Err(Refused::Store(e)) => text(StatusCode::INSUFFICIENT_STORAGE, format!("{e}\n")),
    }
}

pub(super) enum BodyError {
    TooLarge,
    /// Nothing arrived for the request timeout (a slow-body attack, or a
    /// client gone quiet).
    Stalled,
    Read(axum::Error),
}

impl BodyError {
    /// The answer: 413, 408 or 400, one line.
    pub(super) fn into_response(self, max: usize) -> Response {
        match self {
            BodyError::TooLarge => text(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("body over the broker's max message size ({max} bytes)\n"),
            ),
            BodyError::Stalled => text(
                StatusCode::REQUEST_TIMEOUT,
                "the request body stopped arriving (serve --request-timeout)\n",
            ),
            BodyError::Read(e) => text(StatusCode::BAD_REQUEST, format!("reading the body: {e}\n")),
        }
    }
}

/// The whole body, at most `max` bytes (chunked bodies have no declared
/// length, so the limit is checked as it arrives), `expected` bytes long
/// if its sender said so, each chunk within `stall` of the one before. A
/// body in one chunk is not copied.
pub(super) async fn read_body(
    body: Body,
    max: usize,
    expected: usize,
    stall: Duration,
) -> Result<Bytes, BodyError> {
    let mut stream = body.into_data_stream();
    let mut first: Option<Bytes> = None;
    let mut rest = BytesMut::new();
    let mut total = 0usize;
    loop {
        let chunk = match tokio::time::timeout(stall, stream.next()).await {
            Ok(Some(chunk)) => chunk.map_err(BodyError::Read)?,
            Ok(None) => break,
            Err(_) => return Err(BodyError::Stalled),
        };
        total = total.saturating_add(chunk.len());
        if total > max {
            return Err(BodyError::TooLarge);
        }
        match first.take() {
            None if rest.is_empty() => first = Some(chunk),
            prev => {
                if rest.is_empty() {
                    rest.reserve(expected.max(total));
                }
                if let Some(prev) = prev {
                    rest.extend_from_slice(&prev);
                }
                rest.extend_from_slice(&chunk);
            }
        }
    }
    Ok(match first {
        Some(b) => b,
        None => rest.freeze(),
    })
}
