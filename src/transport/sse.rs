//! Server-Sent Events over reqwest's byte stream, with the WHATWG failure
//! rules: a non-200 status or a wrong Content-Type fails for good (no
//! retry); 204 means "stop, do not reconnect"; a dropped connection or the
//! end of the stream reconnects after the server's `retry:` (or a backoff),
//! sending `Last-Event-ID` so the server can resume.
//!
//! eventsource-client is not used: it retries non-2xx answers, treats 204 as
//! success and skips the Content-Type check, and it brings a second
//! HTTP/TLS stack; the parser in `codec::sse` follows the spec exactly.

use std::time::Duration;

use http::header::{ACCEPT, CACHE_CONTROL, CONTENT_TYPE};
use url::Url;

use super::http::{body_excerpt, client, log_exchange, request_error};
use super::{Backoff, Options};
use crate::codec::sse::{Parser, Slots};
use crate::error::{Error, Result};
use crate::log::redact_url;
use crate::{status, trace, verbose};

pub struct SseLink {
    client: reqwest::Client,
    url: Url,
    parser: Parser,
    response: Option<reqwest::Response>,
    retry: Duration,
    /// Set while the connection is down and must be reopened: `next` can be
    /// cancelled mid-reconnect (a timer fired in the caller's select), and
    /// the next call must carry on reconnecting rather than see an end.
    reconnecting: bool,
    backoff: Backoff,
}

impl SseLink {
    /// Open the stream; a failure here is final (the caller reports it).
    pub async fn connect(url: &Url, opts: &Options) -> Result<SseLink> {
        let mut link = SseLink {
            client: client(url, opts)?,
            url: url.clone(),
            parser: Parser::with_max_size(opts.max_message_size),
            response: None,
            // Until the server sends `retry:`, the backoff's first step.
            retry: opts.backoff.min,
            reconnecting: false,
            backoff: opts.backoff,
        };
        link.parser.set_last_event_id(opts.resume_from.as_deref());
        link.response = link.open(opts.resume_from.clone()).await?;
        Ok(link)
    }

    /// GET the stream. `Ok(None)`: the server answered 204, "do not reconnect".
    async fn open(&mut self, last_id: Option<String>) -> Result<Option<reqwest::Response>> {
        let mut request = self
            .client
            .get(self.url.clone())
            .header(ACCEPT, "text/event-stream")
            .header(CACHE_CONTROL, "no-cache");
        if let Some(id) = &last_id {
            request = request.header("Last-Event-ID", id.as_str());
        }
        let response = request
            .send()
            .await
            .map_err(|e| request_error(&self.url, e))?;
        log_exchange("GET", &self.url, &response);
        let status_code = response.status();
        if status_code == http::StatusCode::NO_CONTENT {
            verbose!("server answered 204: the stream is over, no reconnect");
            return Ok(None);
        }
        if status_code != http::StatusCode::OK {
            let body = body_excerpt(response).await;
            return Err(Error::server(format!(
                "{} answered HTTP {status_code} instead of an event stream{body}",
                redact_url(&self.url)
            )));
        }
        let content_type = response
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        let essence = content_type.split(';').next().unwrap_or("").trim();
        if !essence.eq_ignore_ascii_case("text/event-stream") {
            return Err(Error::server(format!(
                "{} answered with Content-Type `{content_type}`, not text/event-stream (is this an SSE endpoint? try --transport poll or ws)",
                redact_url(&self.url)
            )));
        }
        // Later requests go where redirects led.
        self.url = response.url().clone();
        self.parser.reset_connection();
        Ok(Some(response))
    }

    /// Write the next event already received to `out`, without waiting;
    /// false when there is none.
    #[inline]
    pub fn next_buffered(&mut self, out: &mut Slots) -> bool {
        self.parser.next_into(out)
    }

    /// Write the next event to `out`; `Ok(false)` when the server ended the
    /// stream for good.
    pub async fn next(&mut self, out: &mut Slots<'_>) -> Result<bool> {
        loop {
            if self.parser.next_into(out) {
                return Ok(true);
            }
            // The chunks so far are parsed: note what they asked for.
            if let Some(retry) = self.parser.take_retry() {
                verbose!("server asks for reconnects after {retry:?}");
                self.retry = retry;
            }
            if self.parser.take_overflow() {
                status!("dropped an event with a field larger than --max-message-size");
            }
            if self.reconnecting {
                self.reconnect().await?;
            }
            let Some(response) = self.response.as_mut() else {
                return Ok(false);
            };
            match response.chunk().await {
                Ok(Some(chunk)) => {
                    trace!("recv {} bytes", chunk.len());
                    self.parser.push(chunk);
                }
                Ok(None) => {
                    verbose!("the server ended the stream");
                    self.response = None;
                    self.reconnecting = true;
                }
                Err(e) => {
                    verbose!("stream broke: {e}");
                    self.response = None;
                    self.reconnecting = true;
                }
            }
        }
    }

    /// Reconnect with Last-Event-ID, retrying network failures with a
    /// growing delay; HTTP refusals end it (no retry, per the spec).
    async fn reconnect(&mut self) -> Result<()> {
        let mut attempt = 0;
        let mut why = "connection lost".to_string();
        loop {
            // The server's `retry:` first; after a failed try, the backoff.
            let delay = if attempt == 0 {
                self.retry
            } else {
                self.backoff.delay(attempt).ok_or_else(|| {
                    Error::connect(format!("{why} (gave up after {attempt} attempts)"))
                })?
            };
            attempt += 1;
            let last = self.parser.last_event_id().map(str::to_string);
            status!(
                "{why}; reconnecting in {:.1}s (attempt {attempt}){}",
                delay.as_secs_f64(),
                last.as_deref()
                    .map(|id| format!(", Last-Event-ID: {id}"))
                    .unwrap_or_default()
            );
            tokio::time::sleep(delay).await;
            match self.open(last).await {
                Ok(response) => {
                    self.response = response;
                    self.reconnecting = false;
                    if self.response.is_some() {
                        status!("reconnected");
                    }
                    return Ok(());
                }
                Err(e) if e.kind == crate::error::Kind::Connect => why = e.to_string(),
                Err(e) => return Err(e),
            }
        }
    }
}
