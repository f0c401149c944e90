//! Server-Sent Events over reqwest's byte stream, with the WHATWG failure
//! rules: a non-200 status or a wrong Content-Type is a refusal; 204 means
//! "stop, do not reconnect". The link follows one connection: when the
//! stream ends or breaks, so does the link, and whoever follows the stream
//! across connections (`tail`, through `crate::retry`) reconnects with the
//! last event id and the server's `retry:` wish, which the link keeps.
//!
//! eventsource-client is not used: it retries non-2xx answers, treats 204 as
//! success and skips the Content-Type check, it reconnects by itself (so no
//! one policy could govern it), and it brings a second HTTP/TLS stack; the
//! parser in `codec::sse` follows the spec exactly.

use std::time::Duration;

use http::header::{ACCEPT, CACHE_CONTROL, CONTENT_TYPE};
use url::Url;

use super::Options;
use super::http::{self as h, cause, client, log_exchange, send, sequence_ids};
use crate::codec::pubcat;
use crate::codec::sse::{Parser, Slots};
use crate::error::{Error, Result};
use crate::log::redact_url;
use crate::{status, trace, verbose};

pub struct SseLink {
    parser: Parser,
    /// None once the stream is over, or when the server answered 204.
    response: Option<reqwest::Response>,
    /// The server answered 204: it wants no reconnect.
    stopped: bool,
    /// What the server's last `retry:` asked for.
    retry: Option<Duration>,
    /// The server says its ids are consecutive ([`sequence_ids`]).
    sequence: bool,
    /// The server's run ([`pubcat::EPOCH`]).
    epoch: Option<String>,
    /// Nothing at all for this long is a dead connection (`--dead-after`).
    dead_after: Option<Duration>,
    /// The server ended the stream with an overflow event (see
    /// [`SseLink::overflowed`]): its data.
    overflowed: Option<String>,
}

impl SseLink {
    /// Open the stream, after `resume_from` when given (`Last-Event-ID`).
    /// The response headers must come within the connect timeout.
    pub async fn connect(url: &Url, opts: &Options) -> Result<SseLink> {
        let client = client(url, opts)?;
        let mut request = client
            .get(url.clone())
            .header(ACCEPT, "text/event-stream")
            .header(CACHE_CONTROL, "no-cache");
        if let Some(id) = &opts.resume_from {
            request = request.header("Last-Event-ID", id.as_str());
            if let Some(epoch) = &opts.resume_epoch {
                request = request.header(pubcat::EPOCH, epoch.as_str());
            }
        }
        let response = send(request, url, opts.connect_timeout).await?;
        log_exchange("GET", url, &response);
        let mut parser = Parser::with_max_size(opts.max_message_size);
        parser.set_last_event_id(opts.resume_from.as_deref());
        let mut link = SseLink {
            parser,
            response: None,
            stopped: false,
            retry: None,
            sequence: sequence_ids(response.headers()),
            epoch: h::epoch(response.headers()),
            dead_after: opts.dead_after,
            overflowed: None,
        };
        let status_code = response.status();
        if status_code == http::StatusCode::NO_CONTENT {
            verbose!("server answered 204: the stream is over, no reconnect");
            link.stopped = true;
            return Ok(link);
        }
        if status_code != http::StatusCode::OK {
            return Err(h::refused(response, url, " instead of an event stream", "").await);
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
                "{} answered with Content-Type `{}`, not text/event-stream (is this an SSE endpoint? try --transport poll or ws)",
                redact_url(url),
                content_type.replace(char::is_control, " ")
            )));
        }
        link.response = Some(response);
        Ok(link)
    }

    /// True when the server answered 204, "do not reconnect".
    pub fn stopped(&self) -> bool {
        self.stopped
    }

    /// Where to resume after this connection: the last event ID, which the
    /// server may also set without an event (a block of only `id:`).
    pub fn cursor(&self) -> Option<&str> {
        self.parser.last_event_id()
    }

    /// The server says its ids are consecutive, so a jump is a gap.
    pub fn sequence_ids(&self) -> bool {
        self.sequence
    }

    /// The server's run, when it names it ([`pubcat::EPOCH`]).
    pub fn epoch(&self) -> Option<&str> {
        self.epoch.as_deref()
    }

    /// The reconnection time the server asked for with `retry:`.
    pub fn retry(&self) -> Option<Duration> {
        self.retry
    }

    /// Why the server dropped this subscriber, when it did: `pubcat serve`
    /// ends the stream of a subscriber too slow to keep up with an `event:
    /// overflow` whose `id:` is where to resume and whose data says so.
    /// Only a server that says it is one (`X-Pubcat-Ids`) is taken at its
    /// word: elsewhere `overflow` is an event type like any other.
    pub fn overflowed(&self) -> Option<&str> {
        self.overflowed.as_deref()
    }

    /// True when `out` is the server's overflow event, which ends the link.
    #[inline]
    fn overflow(&mut self, out: &Slots) -> bool {
        self.sequence && out.event.as_deref() == Some("overflow") && self.end_with_overflow(out)
    }

    #[cold]
    #[inline(never)]
    fn end_with_overflow(&mut self, out: &Slots) -> bool {
        let why = String::from_utf8_lossy(out.data.as_ref()).into_owned();
        verbose!("the server ended the stream: overflow: {why}");
        self.overflowed = Some(format!("overflow: {why}"));
        self.response = None;
        true
    }

    /// Write the next event already received to `out`, without waiting;
    /// false when there is none.
    #[inline]
    pub fn next_buffered(&mut self, out: &mut Slots) -> bool {
        self.overflowed.is_none() && self.parser.next_into(out) && !self.overflow(out)
    }

    /// Write the next event to `out`; `Ok(false)` when the server ended the
    /// stream (or answered 204, or dropped this subscriber: see
    /// [`SseLink::overflowed`]); an error when the connection broke.
    pub async fn next(&mut self, out: &mut Slots<'_>) -> Result<bool> {
        loop {
            if self.overflowed.is_some() {
                return Ok(false);
            }
            if self.parser.next_into(out) {
                return Ok(!self.overflow(out));
            }
            // The chunks so far are parsed: note what they asked for.
            if let Some(retry) = self.parser.take_retry() {
                verbose!("server asks for reconnects after {retry:?}");
                self.retry = Some(retry);
            }
            if self.parser.take_overflow() {
                status!("dropped an event with a field larger than --max-message-size");
            }
            let Some(response) = self.response.as_mut() else {
                return Ok(false);
            };
            let chunk = match self.dead_after {
                None => response.chunk().await,
                Some(limit) => match tokio::time::timeout(limit, response.chunk()).await {
                    Ok(chunk) => chunk,
                    Err(_) => {
                        self.response = None;
                        return Err(Error::connect(format!(
                            "nothing from the server for {} (--dead-after): connection considered dead",
                            humantime::format_duration(limit)
                        )));
                    }
                },
            };
            match chunk {
                Ok(Some(chunk)) => {
                    trace!("recv {} bytes", chunk.len());
                    self.parser.push(chunk);
                }
                Ok(None) => {
                    verbose!("the server ended the stream");
                    self.response = None;
                }
                Err(e) => {
                    self.response = None;
                    return Err(Error::connect(format!(
                        "the event stream broke: {}",
                        cause(&e)
                    )));
                }
            }
        }
    }
}
