//! HTTP long-poll in the Nchan convention: a GET the server holds until a
//! message newer than the client's cursor exists. The cursor is the
//! response's `Etag` and `Last-Modified`, sent back byte for byte as
//! `If-None-Match` and `If-Modified-Since`; 304, 408 and 204 mean "nothing
//! yet, ask again".
//!
//! Nchan answers one message per request, its body as is; its id is
//! `SECONDS:TAG` (the `Last-Modified` time and the `Etag`), the same form as
//! Nchan's SSE ids, so one saved id resumes either transport. `pubcat serve`
//! answers every message it has after the cursor at once, as a JSON array,
//! marked by the `X-Pubcat-Batch: 1` header (a JSON message published to
//! Nchan is never taken for a batch).
//!
//! Like every link, it follows one server: a failed request ends it, and
//! `tail` (through `crate::retry`) starts a new one from the same cursor.

use std::collections::VecDeque;
use std::time::Duration;

use base64::Engine;
use bytes::Bytes;
use http::HeaderValue;
use http::header::{CONTENT_TYPE, ETAG, IF_MODIFIED_SINCE, IF_NONE_MATCH, LAST_MODIFIED};
use url::Url;

use tokio::time::Instant;

use super::Options;
use super::http::{self as h, body_limited, client, log_exchange, request_error, sequence_ids};
use crate::codec::pubcat;
use crate::error::{Error, Result};
use crate::log::redact_url;
use crate::verbose;

/// Asked again at once, a server that answers "nothing yet" without holding
/// the request would be polled thousands of times a second: an empty answer
/// quicker than this is followed by a wait for the rest of it.
const MIN_EMPTY_ROUND: Duration = Duration::from_secs(1);

/// A message as a long-poll answer carried it.
#[derive(Debug)]
pub struct Polled {
    pub id: Option<String>,
    pub body: Bytes,
    pub binary: bool,
}

pub struct PollLink {
    client: reqwest::Client,
    url: Url,
    etag: Option<HeaderValue>,
    last_modified: Option<HeaderValue>,
    pending: VecDeque<Polled>,
    poll_timeout: Duration,
    max_message_size: usize,
    /// What the last answer said of its ids ([`sequence_ids`]); None
    /// before the first answer.
    sequence: Option<bool>,
    /// No answer at all for this long is a dead server (`--dead-after`).
    dead_after: Option<Duration>,
    /// When the server last answered anything.
    heard: Instant,
    /// The server run the cursor came from ([`pubcat::EPOCH`]): sent with it,
    /// and taken from every answer (a server restarted between two
    /// requests then knows the cursor is not its own).
    epoch: Option<HeaderValue>,
}

impl PollLink {
    pub fn new(url: &Url, opts: &Options) -> Result<PollLink> {
        let (etag, last_modified) = opts
            .resume_from
            .as_deref()
            .map(cursor_of)
            .unwrap_or_default();
        Ok(PollLink {
            client: client(url, opts)?,
            url: url.clone(),
            etag,
            last_modified,
            pending: VecDeque::new(),
            poll_timeout: opts.poll_timeout,
            max_message_size: opts.max_message_size,
            sequence: None,
            dead_after: opts.dead_after,
            heard: Instant::now(),
            epoch: opts
                .resume_epoch
                .as_deref()
                .and_then(|e| HeaderValue::from_str(e).ok()),
        })
    }

    /// The next message an answer already brought, without asking again.
    pub fn next_buffered(&mut self) -> Option<Polled> {
        self.pending.pop_front()
    }

    /// The next message, waiting as long as it takes.
    pub async fn next(&mut self) -> Result<Polled> {
        loop {
            if let Some(m) = self.pending.pop_front() {
                return Ok(m);
            }
            let asked = Instant::now();
            let before = self.etag.clone();
            if !self.poll_once().await? && self.etag == before {
                tokio::time::sleep_until(asked + MIN_EMPTY_ROUND).await;
            }
            if let Some(limit) = self.dead_after
                && self.heard.elapsed() >= limit
            {
                return Err(Error::connect(format!(
                    "no answer from the server for {} (--dead-after): connection considered dead",
                    humantime::format_duration(limit)
                )));
            }
        }
    }

    /// The server says its ids are consecutive, so a jump is a gap.
    pub fn sequence_ids(&self) -> Option<bool> {
        self.sequence
    }

    /// The server's run, as its last answer named it ([`pubcat::EPOCH`]).
    pub fn epoch(&self) -> Option<String> {
        self.epoch.as_ref()?.to_str().ok().map(String::from)
    }

    /// Where to resume: the last answer's cursor, as an id (see [`id_of`]).
    pub fn cursor(&self) -> Option<String> {
        id_of(self.etag.as_ref(), self.last_modified.as_ref())
    }

    /// One request; false when it brought nothing ("not yet").
    async fn poll_once(&mut self) -> Result<bool> {
        // A request held past --dead-after would prove the server dead
        // only once --poll-timeout ends it: end it there.
        let hold = match self.dead_after {
            Some(limit) => self
                .poll_timeout
                .min(limit.saturating_sub(self.heard.elapsed())),
            None => self.poll_timeout,
        };
        let mut request = self.client.get(self.url.clone()).timeout(hold);
        if let Some(etag) = &self.etag {
            request = request.header(IF_NONE_MATCH, etag.clone());
        }
        if let Some(lm) = &self.last_modified {
            request = request.header(IF_MODIFIED_SINCE, lm.clone());
        }
        if let (Some(epoch), Some(_)) = (&self.epoch, &self.etag) {
            request = request.header(pubcat::EPOCH, epoch.clone());
        }
        let response = match request.send().await {
            Ok(r) => r,
            // Only a request that connected can have been held.
            Err(e) if e.is_timeout() && !e.is_connect() => {
                verbose!("long-poll held past --poll-timeout; asking again");
                return Ok(false);
            }
            Err(e) => return Err(request_error(&self.url, e)),
        };
        log_exchange("GET", &self.url, &response);
        self.heard = Instant::now();
        self.sequence = Some(sequence_ids(response.headers()));
        let status = response.status().as_u16();
        match status {
            200 => {}
            // Nothing yet; the answer may still move the cursor (pubcat
            // serve tells a client without one where to ask from).
            304 | 408 | 204 => {
                self.take_cursor(response.headers());
                return Ok(false);
            }
            _ => return Err(h::refused(response, &self.url, " to the long-poll", "").await),
        }
        let headers = response.headers().clone();
        // Cut short, the cursor has not moved yet: asking again gets the
        // same message, so nothing is lost. A pubcat serve batch holds
        // several messages (each checked below), JSON-escaped.
        let batch = headers.contains_key(pubcat::BATCH);
        let limit = if batch {
            super::http::batch_limit(self.max_message_size)
        } else {
            self.max_message_size
        };
        let body = body_limited(response, &self.url, limit).await?;
        self.take_cursor(&headers);
        if batch {
            // The batch's own ids are the cursor, not Nchan's time form.
            self.last_modified = None;
            let polled = parse_batch(&body).map_err(|why| {
                Error::server(format!(
                    "{} sent a broken batch: {why}",
                    redact_url(&self.url)
                ))
            })?;
            if polled.iter().any(|p| p.body.len() > self.max_message_size) {
                return Err(Error::server(format!(
                    "{} sent a message larger than --max-message-size ({} bytes)",
                    redact_url(&self.url),
                    self.max_message_size
                )));
            }
            self.pending.extend(polled);
        } else {
            let content_type = headers
                .get(CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            let binary = content_type.starts_with("application/octet-stream")
                || std::str::from_utf8(&body).is_err();
            let id = id_of(headers.get(ETAG), headers.get(LAST_MODIFIED));
            self.pending.push_back(Polled { id, body, binary });
        }
        Ok(true)
    }
}

impl PollLink {
    fn take_cursor(&mut self, headers: &http::HeaderMap) {
        if let Some(epoch) = headers.get(pubcat::EPOCH) {
            self.epoch = Some(epoch.clone());
        }
        if let Some(etag) = headers.get(ETAG) {
            self.etag = Some(etag.clone());
        }
        if let Some(lm) = headers.get(LAST_MODIFIED) {
            self.last_modified = Some(lm.clone());
        }
    }
}

/// A message's id from its answer's cursor: `SECONDS:TAG` when it has both
/// a `Last-Modified` and an `Etag` (Nchan's own id form), else the `Etag`.
fn id_of(etag: Option<&HeaderValue>, last_modified: Option<&HeaderValue>) -> Option<String> {
    let tag = etag?.to_str().ok()?.trim_matches('"');
    let secs = last_modified
        .and_then(|v| v.to_str().ok())
        .and_then(|v| httpdate::parse_http_date(v).ok())
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok());
    Some(match secs {
        Some(secs) => format!("{}:{tag}", secs.as_secs()),
        None => tag.to_string(),
    })
}

/// The cursor headers that resume after message `id` (see [`id_of`]).
fn cursor_of(id: &str) -> (Option<HeaderValue>, Option<HeaderValue>) {
    // Up to the end of year 9999, which is all an HTTP date can say (and
    // httpdate panics past it): an id from a hostile server is data.
    const LAST_HTTP_DATE: u64 = 253_402_300_799;
    if let Some((secs, tag)) = id.split_once(':')
        && let Ok(secs) = secs.parse::<u64>()
        && secs <= LAST_HTTP_DATE
    {
        let time = std::time::UNIX_EPOCH + Duration::from_secs(secs);
        let date = HeaderValue::from_str(&httpdate::fmt_http_date(time)).ok();
        return (HeaderValue::from_str(tag).ok(), date);
    }
    (HeaderValue::from_str(id).ok(), None)
}

/// `[{"id": N, "body": "…"} | {"id": N, "body_base64": "…"}, …]`
fn parse_batch(body: &[u8]) -> std::result::Result<Vec<Polled>, String> {
    let items: Vec<serde_json::Value> = serde_json::from_slice(body).map_err(|e| e.to_string())?;
    items
        .into_iter()
        .map(|item| {
            let id = match &item["id"] {
                serde_json::Value::Number(n) => Some(n.to_string()),
                serde_json::Value::String(s) => Some(s.clone()),
                _ => None,
            };
            if let Some(text) = item["body"].as_str() {
                return Ok(Polled {
                    id,
                    body: Bytes::from(text.to_string()),
                    binary: false,
                });
            }
            let b64 = item["body_base64"]
                .as_str()
                .ok_or("an item has neither body nor body_base64")?;
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(b64)
                .map_err(|e| format!("bad base64: {e}"))?;
            Ok(Polled {
                id,
                body: Bytes::from(bytes),
                binary: true,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nchan_cursors_and_ids_round_trip() {
        // A time no HTTP date can hold is a plain tag, not a panic.
        let far = cursor_of("253402300800:1");
        assert_eq!(far, (HeaderValue::from_str("253402300800:1").ok(), None));
        let lm = HeaderValue::from_static("Sun, 22 Nov 2026 18:09:30 GMT");
        let id = id_of(Some(&HeaderValue::from_static("1")), Some(&lm)).unwrap();
        assert_eq!(id, "1795370970:1");
        assert_eq!(
            cursor_of(&id),
            (Some(HeaderValue::from_static("1")), Some(lm))
        );
        assert_eq!(
            id_of(Some(&HeaderValue::from_static("\"7\"")), None).unwrap(),
            "7"
        );
        assert_eq!(cursor_of("7"), (Some(HeaderValue::from_static("7")), None));
    }

    #[test]
    fn batches_parse_text_and_binary() {
        let got =
            parse_batch(br#"[{"id":1,"body":"a\nb"},{"id":2,"body_base64":"AAH/"}]"#).unwrap();
        assert_eq!(got.len(), 2);
        assert_eq!(
            (got[0].id.as_deref(), &got[0].body[..], got[0].binary),
            (Some("1"), &b"a\nb"[..], false)
        );
        assert_eq!(
            (got[1].id.as_deref(), &got[1].body[..], got[1].binary),
            (Some("2"), &[0u8, 1, 255][..], true)
        );
        assert!(parse_batch(b"{}").is_err());
        assert!(parse_batch(br#"[{"id":1}]"#).is_err());
    }
}
