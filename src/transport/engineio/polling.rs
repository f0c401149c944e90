//! The Engine.IO session's HTTP long-polling wire, after the handshake:
//! one task holds the receiving GET and another sends POSTs, so there is
//! never more than one of each in flight (a second one makes the server
//! kill the session). Outgoing packets queue up and go in as few POSTs as
//! maxPayload allows.
//!
//! It is apart from the session because it is the one wire with tasks of
//! its own: the reader answers pings and keeps the ping clock itself, and
//! the writer batches; the session only sees packets and flushes.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http::header::CONTENT_TYPE;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio::time::Instant;
use url::Url;

use super::{Received, dead, http_failure};
use crate::codec::engineio::{self, Handshake, Packet};
use crate::error::{Error, Kind, Result};
use crate::log::redact_url;
use crate::transport::http::{body_limited, excerpt, log_exchange, request_error};
use crate::{trace, verbose};

/// Outgoing packets queued for the polling writer: it takes them in
/// batches, so this only bounds memory.
const OUTGOING_QUEUE: usize = 4096;

pub(super) struct Polling {
    incoming: mpsc::Receiver<Result<Vec<Packet>>>,
    pending: VecDeque<Packet>,
    outgoing: mpsc::Sender<Outgoing>,
    /// Why the writer stopped, once it has.
    failed: Arc<Mutex<Option<(Kind, String)>>>,
    reader: JoinHandle<()>,
    writer: JoinHandle<()>,
}

impl Drop for Polling {
    fn drop(&mut self) {
        self.reader.abort();
        self.writer.abort();
    }
}

enum Outgoing {
    Packet(Part),
    /// Answered once everything queued before it has been POSTed.
    Flush(oneshot::Sender<Result<(), (Kind, String)>>),
}

/// One packet of a polling body.
enum Part {
    /// A text packet in its text form (`4…`).
    Text(Vec<u8>),
    Binary(Bytes),
}

/// `b` + base64 of `n` bytes.
pub(super) fn binary_part_len(n: usize) -> usize {
    base64::encoded_len(n, true).map_or(usize::MAX, |l| l.saturating_add(1))
}

impl Part {
    /// Its length in the body.
    fn len(&self) -> usize {
        match self {
            Part::Text(t) => t.len(),
            Part::Binary(b) => binary_part_len(b.len()),
        }
    }

    fn append_to(self, body: &mut Vec<u8>) {
        match self {
            Part::Text(t) => body.extend_from_slice(&t),
            Part::Binary(b) => Packet::Binary(b).encode_text(body),
        }
    }
}

impl Polling {
    /// Start polling session `url`; `early` are the packets that came
    /// with the handshake.
    pub(super) fn start(
        http: reqwest::Client,
        url: Url,
        handshake: &Handshake,
        early: VecDeque<Packet>,
        max_body: usize,
    ) -> Polling {
        let (in_tx, incoming) = mpsc::channel(64);
        let (outgoing, out_rx) = mpsc::channel(OUTGOING_QUEUE);
        let failed = Arc::new(Mutex::new(None));
        let reader = tokio::spawn(read_loop(
            http.clone(),
            url.clone(),
            handshake.clone(),
            max_body,
            in_tx,
            outgoing.clone(),
        ));
        let writer = tokio::spawn(write_loop(
            http,
            url,
            handshake.clone(),
            out_rx,
            failed.clone(),
        ));
        Polling {
            incoming,
            pending: early,
            outgoing,
            failed,
            reader,
            writer,
        }
    }

    /// [`super::EngineIo::next`] on polling; `shown` names the session.
    pub(super) async fn next(&mut self, shown: &str) -> Result<Received> {
        loop {
            match self.pending.pop_front() {
                Some(Packet::Message(m)) => return Ok(Received::Message(m)),
                Some(Packet::Binary(b)) => return Ok(Received::Binary(b)),
                Some(Packet::Close) => return Ok(Received::session_closed()),
                Some(other) => trace!("ignoring Engine.IO {other:?}"),
                None => match self.incoming.recv().await {
                    Some(Ok(batch)) => self.pending.extend(batch),
                    Some(Err(e)) => return Err(e),
                    None => return Err(Error::connect(format!("polling of {shown} stopped"))),
                },
            }
        }
    }

    /// Queue a text packet (`4…`) for the writer.
    pub(super) async fn feed_text(&mut self, text: String) -> Result<()> {
        self.queue(Outgoing::Packet(Part::Text(text.into_bytes())))
            .await
    }

    /// Queue a binary packet for the writer, which sends it as `b` + base64.
    pub(super) async fn feed_binary(&mut self, bytes: Bytes) -> Result<()> {
        self.queue(Outgoing::Packet(Part::Binary(bytes))).await
    }

    async fn queue(&mut self, item: Outgoing) -> Result<()> {
        if self.outgoing.send(item).await.is_err() {
            return Err(self.writer_error());
        }
        Ok(())
    }

    /// Wait until everything queued has been POSTed and answered `ok`.
    pub(super) async fn flush(&mut self) -> Result<()> {
        let (tx, rx) = oneshot::channel();
        self.queue(Outgoing::Flush(tx)).await?;
        match rx.await {
            Ok(Ok(())) => Ok(()),
            Ok(Err((kind, message))) => Err(Error::new(kind, message)),
            Err(_) => Err(self.writer_error()),
        }
    }

    /// POST the close packet after what is queued. True when every POST
    /// was answered.
    pub(super) async fn close(&mut self) -> Result<bool> {
        self.queue(Outgoing::Packet(Part::Text(b"1".to_vec())))
            .await?;
        match self.flush().await {
            Ok(()) => Ok(true),
            Err(e) => {
                verbose!("while closing: {e}");
                Ok(false)
            }
        }
    }

    fn writer_error(&self) -> Error {
        match self.failed.lock().ok().and_then(|f| f.clone()) {
            Some((kind, message)) => Error::new(kind, message),
            None => Error::connect("the polling writer stopped"),
        }
    }
}

/// Hold one GET at a time (its body at most `max_body` bytes); answer
/// pings; hand the rest to the session.
async fn read_loop(
    http: reqwest::Client,
    url: Url,
    handshake: Handshake,
    max_body: usize,
    to_session: mpsc::Sender<Result<Vec<Packet>>>,
    to_server: mpsc::Sender<Outgoing>,
) {
    let shown = redact_url(&url);
    let mut last_ping = Instant::now();
    loop {
        let dead_at = last_ping + handshake.ping_interval + handshake.ping_timeout;
        let wait = dead_at.saturating_duration_since(Instant::now());
        let result = async {
            if wait.is_zero() {
                return Err(dead(&shown, &handshake));
            }
            let response = match http.get(url.clone()).timeout(wait).send().await {
                Ok(r) => r,
                Err(e) if e.is_timeout() => return Err(dead(&shown, &handshake)),
                Err(e) => return Err(request_error(&url, e)),
            };
            log_exchange("GET", &url, &response);
            if !response.status().is_success() {
                return Err(http_failure(&shown, "a polling GET", response).await);
            }
            body_limited(response, &url, max_body).await
        }
        .await;
        let body = match result {
            Ok(body) => body,
            Err(e) => {
                let _ = to_session.send(Err(e)).await;
                return;
            }
        };
        trace!("polled {} bytes", body.len());
        let packets = match engineio::decode_payload(&body) {
            Ok(p) => p,
            Err(e) => {
                let _ = to_session
                    .send(Err(Error::server(format!("{shown} sent {e}"))))
                    .await;
                return;
            }
        };
        let mut batch = Vec::with_capacity(packets.len());
        let mut closed = false;
        for packet in packets {
            match packet {
                Packet::Ping(_) => {
                    trace!("recv ping; send pong");
                    last_ping = Instant::now();
                    if to_server
                        .send(Outgoing::Packet(Part::Text(b"3".to_vec())))
                        .await
                        .is_err()
                    {
                        return;
                    }
                }
                Packet::Noop => {}
                Packet::Close => {
                    closed = true;
                    batch.push(Packet::Close);
                    break;
                }
                other => batch.push(other),
            }
        }
        if !batch.is_empty() && to_session.send(Ok(batch)).await.is_err() {
            return;
        }
        if closed {
            return;
        }
    }
}

/// POST what is queued, one request at a time, as few as maxPayload allows.
async fn write_loop(
    http: reqwest::Client,
    url: Url,
    handshake: Handshake,
    mut queue: mpsc::Receiver<Outgoing>,
    failed: Arc<Mutex<Option<(Kind, String)>>>,
) {
    let max_payload = handshake.max_payload;
    // A server that sits on a POST this long has stopped answering.
    let post_wait = handshake.ping_interval + handshake.ping_timeout;
    let mut carry: Option<Part> = None;
    let mut body = Vec::new();
    let mut flushes = Vec::new();
    loop {
        let mut next = match carry.take() {
            Some(part) => Some(Outgoing::Packet(part)),
            None => match queue.recv().await {
                Some(item) => Some(item),
                None => return,
            },
        };
        while let Some(item) = next.take() {
            match item {
                Outgoing::Flush(tx) => flushes.push(tx),
                Outgoing::Packet(part) => {
                    let separator = usize::from(!body.is_empty());
                    if separator == 1 && body.len() + separator + part.len() > max_payload {
                        // Over the limit: this packet opens the next POST.
                        carry = Some(part);
                        break;
                    }
                    if separator == 1 {
                        body.push(engineio::SEPARATOR);
                    }
                    part.append_to(&mut body);
                }
            }
            next = queue.try_recv().ok();
        }
        if !body.is_empty() {
            let sent = std::mem::take(&mut body);
            if let Err(e) = post(&http, &url, sent, post_wait).await {
                let failure = (e.kind, e.message);
                if let Ok(mut f) = failed.lock() {
                    *f = Some(failure.clone());
                }
                for tx in flushes.drain(..) {
                    let _ = tx.send(Err(failure.clone()));
                }
                return;
            }
        }
        for tx in flushes.drain(..) {
            let _ = tx.send(Ok(()));
        }
    }
}

async fn post(http: &reqwest::Client, url: &Url, body: Vec<u8>, wait: Duration) -> Result<()> {
    let shown = redact_url(url);
    trace!("POST {} bytes", body.len());
    let response = http
        .post(url.clone())
        .header(CONTENT_TYPE, "text/plain;charset=UTF-8")
        .timeout(wait)
        .body(body)
        .send()
        .await
        .map_err(|e| request_error(url, e))?;
    log_exchange("POST", url, &response);
    if !response.status().is_success() {
        return Err(http_failure(&shown, "a polling POST", response).await);
    }
    // The answer is `ok`: a server that sends more is not read further.
    let answer = body_limited(response, url, 4096).await?;
    if &answer[..] != b"ok" {
        let excerpt = excerpt(&answer, 80);
        return Err(Error::server(format!(
            "{shown} answered a polling POST with `{excerpt}` instead of `ok`"
        )));
    }
    Ok(())
}
