//! A two-way message transport: a WebSocket or a SockJS session. Dialects
//! (raw messages, STOMP) are handed one and never open sockets themselves,
//! which is what makes STOMP over SockJS a composition, not a copy.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_util::FutureExt;
use tokio_tungstenite::tungstenite::Message;
use url::Url;

use super::Options;
pub use super::message::{Data, Received};
use super::sockjs::SockJs;
use super::ws::{self, WsLink};
use crate::error::Result;

pub enum Duplex {
    Ws(WsLink),
    SockJs(Box<SockJs>),
}

/// The future of [`Duplex::feed`]. A plain enum rather than an `async fn`:
/// feeding a WebSocket is the hot path of bulk publishing, and this keeps
/// the sink's own future one call from the caller. SockJS queues without
/// waiting (`Queued`) and sends a full batch in a boxed future (large, and
/// once per batch).
pub enum Feed<'a> {
    Ws {
        link: &'a mut WsLink,
        frame: Option<Message>,
    },
    Queued(Option<Result<()>>),
    SockJs(Pin<Box<dyn Future<Output = Result<()>> + Send + 'a>>),
}

impl Future for Feed<'_> {
    type Output = Result<()>;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<()>> {
        match self.get_mut() {
            Feed::Ws { link, frame } => link.poll_feed(cx, frame),
            Feed::Queued(done) => Poll::Ready(done.take().unwrap_or(Ok(()))),
            Feed::SockJs(f) => f.as_mut().poll(cx),
        }
    }
}

fn message(data: Data) -> Message {
    match data {
        Data::Text(t) => Message::Text(t),
        Data::Binary(b) => Message::Binary(b),
    }
}

impl Duplex {
    /// Open a WebSocket to `url`, offering the `subprotocols` a dialect
    /// speaks.
    pub async fn ws(url: &Url, opts: &Options, subprotocols: &[&str]) -> Result<Duplex> {
        let (socket, answer) = ws::connect_offering(url, opts, subprotocols).await?;
        Ok(Duplex::Ws(WsLink::answered(socket, url, answer)))
    }

    /// Open a SockJS session at `url` (its base URL).
    pub async fn sockjs(url: &Url, opts: &Options) -> Result<Duplex> {
        Ok(Duplex::SockJs(Box::new(SockJs::connect(url, opts).await?)))
    }

    /// A header of the WebSocket server's `101` (SockJS has none to read).
    pub fn answer_header(&self, name: &str) -> Option<&str> {
        match self {
            Duplex::Ws(ws) => ws.answer_header(name),
            Duplex::SockJs(_) => None,
        }
    }

    /// The next message or close. Cancel-safe: a caller may race it
    /// against timers and call it again.
    pub async fn next(&mut self) -> Result<Received> {
        match self {
            Duplex::Ws(ws) => ws.next().await,
            // Boxed: SockJS's futures (timers, HTTP requests) are large,
            // and inline they would make every WebSocket call move them.
            Duplex::SockJs(s) => Box::pin(s.next()).await,
        }
    }

    /// The next message if one is already buffered, without waiting.
    /// Inlined into the receive loops, SockJS kept out of line.
    #[inline(always)]
    pub fn next_ready(&mut self) -> Option<Result<Received>> {
        match self {
            Duplex::Ws(ws) => ws.next_ready(),
            Duplex::SockJs(s) => sockjs_ready(s),
        }
    }

    /// Queue a message; [`Duplex::flush`] pushes out what is queued.
    pub fn feed(&mut self, data: Data) -> Feed<'_> {
        match self {
            Duplex::Ws(link) => Feed::Ws {
                link,
                frame: Some(message(data)),
            },
            Duplex::SockJs(s) => match s.push(data) {
                Ok(true) => Feed::SockJs(Box::pin(s.send_batch())),
                queued => Feed::Queued(Some(queued.map(drop))),
            },
        }
    }

    /// Queue every frame in one future, counting in `fed` those queued.
    pub async fn feed_all(
        &mut self,
        mut frames: impl Iterator<Item = Data>,
        fed: &mut u64,
    ) -> Result<()> {
        let Duplex::Ws(link) = self else {
            for data in frames {
                self.feed(data).await?;
                *fed += 1;
            }
            return Ok(());
        };
        let mut frame = None;
        std::future::poll_fn(|cx| {
            loop {
                if frame.is_none() {
                    match frames.next() {
                        Some(data) => frame = Some(message(data)),
                        None => return Poll::Ready(Ok(())),
                    }
                }
                match link.poll_feed(cx, &mut frame) {
                    Poll::Ready(Ok(())) => *fed += 1,
                    other => return other,
                }
            }
        })
        .await
    }

    pub async fn flush(&mut self) -> Result<()> {
        match self {
            Duplex::Ws(ws) => ws.flush().await,
            Duplex::SockJs(s) => Box::pin(s.flush()).await,
        }
    }

    /// Send a keep-alive ping where the transport has one; false when it
    /// does not (SockJS: the server's heartbeats are checked instead).
    pub async fn ping(&mut self) -> Result<bool> {
        match self {
            Duplex::Ws(ws) => ws.ping().await.map(|()| true),
            Duplex::SockJs(_) => Ok(false),
        }
    }

    /// Begin a clean close; [`Duplex::next`] then yields what was still on
    /// its way, and [`Received::Closed`] once the server has answered.
    pub async fn start_close(&mut self) -> Result<()> {
        match self {
            Duplex::Ws(ws) => ws.start_close().await,
            Duplex::SockJs(s) => Box::pin(s.start_close()).await,
        }
    }

    /// A dialect's last step: begin a clean close and read to the
    /// server's answer (what still arrives is dropped: the dialect has
    /// said goodbye already), giving up at `deadline`. Whether the server
    /// answered with a clean close.
    pub async fn close_by(&mut self, deadline: tokio::time::Instant) -> bool {
        if let Err(e) = self.start_close().await {
            crate::verbose!("close not sent: {e}");
            return false;
        }
        tokio::time::timeout_at(deadline, async {
            while let Ok(received) = self.next().await {
                if let Received::Closed { clean, .. } = received {
                    return clean;
                }
            }
            false
        })
        .await
        .unwrap_or(false)
    }

    /// Close with `code` rather than 1000; false where the transport
    /// cannot (SockJS).
    pub fn set_close_code(&mut self, code: u16) -> bool {
        match self {
            Duplex::Ws(ws) => {
                ws.set_close_code(code);
                true
            }
            Duplex::SockJs(_) => false,
        }
    }

    /// True when anything at all arrived since the last call.
    pub fn take_heard(&mut self) -> bool {
        match self {
            Duplex::Ws(ws) => ws.take_heard(),
            Duplex::SockJs(s) => s.take_heard(),
        }
    }

    /// Whether the transport's own heartbeats are checked (SockJS `h`
    /// frames). A dialect with heart-beats of its own turns them off: Spring
    /// stops sending `h` once STOMP heart-beats are negotiated.
    pub fn check_heartbeats(&mut self, on: bool) {
        if let Duplex::SockJs(s) = self {
            s.check_heartbeats(on);
        }
    }
}
/// What a SockJS session already has, out of the receive loops' way.
#[inline(never)]
fn sockjs_ready(s: &mut SockJs) -> Option<Result<Received>> {
    Box::pin(s.next()).now_or_never()
}
