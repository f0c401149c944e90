//! Who may use the broker: tokens. Without any (`--token`, `--token-sub`,
//! `--token-pub`) the broker is open, as it always was; with one, every
//! request but `GET /_/health` (for health checks) and CORS preflights
//! (`OPTIONS`, which browsers send without credentials and which read and
//! change nothing) must present one of them:
//!
//! - `Authorization: Bearer TOKEN`;
//! - `Authorization: Basic` with the token as the password, the user name
//!   ignored (`curl -u :TOKEN`, `ws://:TOKEN@host/…`);
//! - `?token=TOKEN`, for browsers' `EventSource` and `WebSocket`, which
//!   cannot set headers.
//!
//! None, or one the broker does not know: `401` with `WWW-Authenticate:
//! Bearer` and a line saying how to pass one. A token has rights:
//! `--token` both, `--token-sub` subscribe only (SSE, long-poll, STOMP
//! SUBSCRIBE, `/_/stats`), `--token-pub` publish only (`POST`, STOMP
//! SEND). A request its token has no right for gets `403` saying which.
//! A WebSocket on a topic path subscribes and publishes at once, so any
//! valid token opens one and its rights apply to what happens on it: a
//! subscribe-only connection's first frame is refused with close 1008
//! (nothing is published), and a publish-only connection is sent nothing
//! (no replay, no live messages), which is what `pubcat pub ws://…` needs.
//!
//! STOMP (`/_/stomp`, and `/_/sockjs/…`, which carries it) is also spoken
//! by browsers' SockJS and STOMP clients, which cannot set headers either:
//! there a request without a token is let through, and the connection is
//! authenticated by CONNECT's `passcode` (`login` ignored). A token on the
//! HTTP request authenticates the connection, and then the passcode is not
//! looked at. No token at all or a wrong one: an ERROR frame that says so,
//! then the close; SUBSCRIBE or SEND without the right: an ERROR too.
//!
//! Each presented token is compared with every configured one, each in
//! constant time (`subtle`), so how long a refusal takes tells nothing of
//! how much of a token was right. Tokens never reach the log: refusals are
//! logged with the method and path only, never the query.

use std::fmt;

use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::Response;
use base64::Engine;
use subtle::{Choice, ConstantTimeEq};

use super::upgrade::header_has_token;
use super::{App, ServerConfig, text};
use crate::log::Secret;

/// What a connection or request may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Rights {
    pub(crate) subscribe: bool,
    pub(crate) publish: bool,
}

impl Rights {
    /// An open broker's, and a `--token`'s.
    pub(crate) const ALL: Rights = Rights {
        subscribe: true,
        publish: true,
    };
    /// A connection not authenticated yet.
    pub(crate) const NONE: Rights = Rights {
        subscribe: false,
        publish: false,
    };
}

/// What a refusal says to a token without the right to publish.
pub(super) const MAY_NOT_PUBLISH: &str = "this token may subscribe but not publish";
/// What a refusal says to a token without the right to subscribe.
pub(super) const MAY_NOT_SUBSCRIBE: &str = "this token may publish but not subscribe";

/// The tokens the broker takes, by what each may do; none at all: the
/// broker is open. Its `Debug` shows how many, never what.
#[derive(Clone, Default)]
pub struct Tokens {
    full: Vec<Secret>,
    subscribe: Vec<Secret>,
    publish: Vec<Secret>,
}

impl Tokens {
    pub fn new(full: Vec<Secret>, subscribe: Vec<Secret>, publish: Vec<Secret>) -> Tokens {
        Tokens {
            full,
            subscribe,
            publish,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.full.is_empty() && self.subscribe.is_empty() && self.publish.is_empty()
    }

    /// What `presented` may do; None when it is none of ours. Every
    /// configured token is compared, each in constant time; a token given
    /// in two lists has the rights of both.
    pub(crate) fn rights(&self, presented: &str) -> Option<Rights> {
        let presented = presented.as_bytes();
        let any = |list: &[Secret]| {
            let hit = list.iter().fold(Choice::from(0), |hit, t| {
                hit | t.expose().as_bytes().ct_eq(presented)
            });
            bool::from(hit)
        };
        let full = any(&self.full);
        let subscribe = any(&self.subscribe);
        let publish = any(&self.publish);
        let rights = Rights {
            subscribe: full || subscribe,
            publish: full || publish,
        };
        (rights.subscribe || rights.publish).then_some(rights)
    }
}

impl fmt::Debug for Tokens {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Tokens {{ full: {}, subscribe: {}, publish: {} }}",
            self.full.len(),
            self.subscribe.len(),
            self.publish.len()
        )
    }
}

impl ServerConfig {
    /// Whether any token is configured, i.e. whether the broker asks
    /// clients for one (no token: anyone who reaches it may use it).
    pub fn has_tokens(&self) -> bool {
        !self.tokens.is_empty()
    }
}

/// What a request must be allowed to do to get through.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Need {
    /// `/_/health`, a CORS preflight.
    Nothing,
    /// STOMP's paths: a token if the request has one, else CONNECT's
    /// passcode later.
    Connect,
    /// Any valid token (`/_/stats`; a WebSocket, whose rights travel
    /// with it).
    Token,
    Subscribe,
    Publish,
}

fn need(method: &Method, path: &str, websocket: bool) -> Need {
    if *method == Method::OPTIONS || path == "/_/health" {
        Need::Nothing
    } else if path == "/_/stomp" || path == "/_/sockjs" || path.starts_with("/_/sockjs/") {
        Need::Connect
    } else if path == "/_/stats" || path == "/_/metrics" || websocket {
        Need::Token
    } else if *method == Method::POST {
        Need::Publish
    } else {
        Need::Subscribe
    }
}

/// What the check decided.
#[derive(Debug, PartialEq, Eq)]
enum Decision {
    /// Let it through, with the rights its token has (None: no token yet,
    /// which only STOMP's paths and the open ones allow).
    Pass(Option<Rights>),
    /// No token: 401.
    Missing,
    /// A token none of ours: 401.
    Wrong,
    /// A valid token without the right to publish, which the request
    /// needs: 403.
    MayNotPublish,
    /// Likewise to subscribe.
    MayNotSubscribe,
}

fn decide(tokens: &Tokens, need: Need, presented: Option<&str>) -> Decision {
    if tokens.is_empty() {
        return Decision::Pass(Some(Rights::ALL));
    }
    let presented = match (need, presented) {
        (Need::Nothing, _) | (Need::Connect, None) => return Decision::Pass(None),
        (_, None) => return Decision::Missing,
        (_, Some(p)) => p,
    };
    let Some(rights) = tokens.rights(presented) else {
        return Decision::Wrong;
    };
    match need {
        Need::Subscribe if !rights.subscribe => Decision::MayNotSubscribe,
        Need::Publish if !rights.publish => Decision::MayNotPublish,
        _ => Decision::Pass(Some(rights)),
    }
}

/// The token a request presents: `Authorization: Bearer`, the password
/// of `Authorization: Basic`, or `?token=`.
fn presented(req: &Request) -> Option<String> {
    let authorization = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().split_once(' '));
    if let Some((scheme, credential)) = authorization {
        let credential = credential.trim();
        if scheme.eq_ignore_ascii_case("bearer") {
            return Some(credential.to_string());
        }
        if scheme.eq_ignore_ascii_case("basic")
            && let Some(password) = basic_password(credential)
        {
            return Some(password);
        }
    }
    url::form_urlencoded::parse(req.uri().query()?.as_bytes())
        .find(|(k, _)| k == "token")
        .map(|(_, v)| v.into_owned())
}

/// The password of a Basic credential (`base64(user:password)`).
fn basic_password(credential: &str) -> Option<String> {
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(credential)
        .ok()?;
    let decoded = String::from_utf8(decoded).ok()?;
    decoded.split_once(':').map(|(_, p)| p.to_string())
}

/// The rights the check found for this request (None: no token, on
/// STOMP's paths; CONNECT's passcode decides).
pub(super) fn rights_of(req: &Request) -> Option<Rights> {
    req.extensions().get::<Rights>().copied()
}

/// The check, as a layer in front of every route (behind the origin check).
pub(super) async fn check(State(app): State<App>, mut req: Request, next: Next) -> Response {
    let websocket = header_has_token(req.headers(), header::UPGRADE, "websocket");
    let need = need(req.method(), req.uri().path(), websocket);
    let decision = decide(&app.0.cfg.tokens, need, presented(&req).as_deref());
    let (status, why, answer) = match decision {
        Decision::Pass(rights) => {
            if let Some(rights) = rights {
                req.extensions_mut().insert(rights);
            }
            return next.run(req).await;
        }
        Decision::Missing => (
            StatusCode::UNAUTHORIZED,
            "no token",
            "a token is required: send Authorization: Bearer TOKEN or add ?token=TOKEN to the URL\n"
                .to_string(),
        ),
        Decision::Wrong => (
            StatusCode::UNAUTHORIZED,
            "wrong token",
            "wrong token: this broker does not know the one given\n".to_string(),
        ),
        Decision::MayNotPublish => (
            StatusCode::FORBIDDEN,
            "token may not publish",
            format!("{MAY_NOT_PUBLISH}\n"),
        ),
        Decision::MayNotSubscribe => (
            StatusCode::FORBIDDEN,
            "token may not subscribe",
            format!("{MAY_NOT_SUBSCRIBE} (publish with POST or over a WebSocket)\n"),
        ),
    };
    app.log(format_args!(
        "refused {} {}: {why}",
        req.method(),
        req.uri().path()
    ));
    let mut response = text(status, answer);
    if status == StatusCode::UNAUTHORIZED {
        let challenge = if decision == Decision::Wrong {
            "Bearer error=\"invalid_token\""
        } else {
            "Bearer"
        };
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static(challenge),
        );
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens() -> Tokens {
        let s = |v: &str| vec![Secret::new(v.to_string())];
        Tokens::new(s("full-1"), s("read-1"), s("write-1"))
    }

    #[test]
    fn each_token_has_its_rights_and_nothing_else_has_any() {
        let t = tokens();
        assert_eq!(t.rights("full-1"), Some(Rights::ALL));
        let read = Rights {
            subscribe: true,
            publish: false,
        };
        let write = Rights {
            subscribe: false,
            publish: true,
        };
        assert_eq!(t.rights("read-1"), Some(read));
        assert_eq!(t.rights("write-1"), Some(write));
        for wrong in ["", "full-", "full-10", "FULL-1", "read-1 ", "x"] {
            assert_eq!(t.rights(wrong), None, "{wrong:?}");
        }
        // In two lists: the rights of both.
        let both = Tokens::new(
            vec![],
            vec![Secret::new("t".into())],
            vec![Secret::new("t".into())],
        );
        assert_eq!(both.rights("t"), Some(Rights::ALL));
        assert!(Tokens::default().is_empty() && !t.is_empty());
        assert_eq!(
            format!("{t:?}"),
            "Tokens { full: 1, subscribe: 1, publish: 1 }"
        );
    }

    #[test]
    fn what_each_request_needs() {
        let get = &Method::GET;
        let post = &Method::POST;
        assert_eq!(need(get, "/_/health", false), Need::Nothing);
        assert_eq!(need(&Method::OPTIONS, "/t", false), Need::Nothing);
        assert_eq!(need(get, "/_/stats", false), Need::Token);
        assert_eq!(need(get, "/_/metrics", false), Need::Token);
        assert_eq!(need(get, "/_/stomp", true), Need::Connect);
        assert_eq!(need(post, "/_/sockjs/1/a/xhr_send", false), Need::Connect);
        assert_eq!(need(get, "/_/sockjs", false), Need::Connect);
        assert_eq!(need(get, "/_/sockjsx", false), Need::Subscribe);
        assert_eq!(need(get, "/t", true), Need::Token);
        assert_eq!(need(get, "/t", false), Need::Subscribe);
        assert_eq!(need(&Method::HEAD, "/t", false), Need::Subscribe);
        assert_eq!(need(post, "/t", false), Need::Publish);
    }

    #[test]
    fn decisions() {
        let t = tokens();
        let read = Rights {
            subscribe: true,
            publish: false,
        };
        // Open broker: everything, with every right.
        let open = Tokens::default();
        assert_eq!(
            decide(&open, Need::Publish, None),
            Decision::Pass(Some(Rights::ALL))
        );
        assert_eq!(decide(&t, Need::Nothing, None), Decision::Pass(None));
        assert_eq!(decide(&t, Need::Nothing, Some("bad")), Decision::Pass(None));
        assert_eq!(decide(&t, Need::Connect, None), Decision::Pass(None));
        assert_eq!(decide(&t, Need::Connect, Some("bad")), Decision::Wrong);
        assert_eq!(
            decide(&t, Need::Connect, Some("read-1")),
            Decision::Pass(Some(read))
        );
        assert_eq!(decide(&t, Need::Token, None), Decision::Missing);
        assert_eq!(decide(&t, Need::Subscribe, Some("bad")), Decision::Wrong);
        assert_eq!(
            decide(&t, Need::Subscribe, Some("write-1")),
            Decision::MayNotSubscribe
        );
        assert_eq!(
            decide(&t, Need::Publish, Some("read-1")),
            Decision::MayNotPublish
        );
        assert_eq!(
            decide(&t, Need::Token, Some("write-1")),
            Decision::Pass(Some(Rights {
                subscribe: false,
                publish: true
            }))
        );
        assert_eq!(
            decide(&t, Need::Publish, Some("full-1")),
            Decision::Pass(Some(Rights::ALL))
        );
    }

    fn request(uri: &str, authorization: Option<&str>) -> Request {
        let mut b = Request::builder().uri(uri);
        if let Some(a) = authorization {
            b = b.header(header::AUTHORIZATION, a);
        }
        b.body(axum::body::Body::empty()).unwrap()
    }

    #[test]
    fn the_token_comes_from_bearer_basic_or_the_query() {
        let got = |uri, auth| presented(&request(uri, auth));
        assert_eq!(got("/t", Some("Bearer s3cret")), Some("s3cret".into()));
        assert_eq!(got("/t", Some("bearer  s3cret ")), Some("s3cret".into()));
        // base64("anyone:s3cret")
        assert_eq!(
            got("/t", Some("Basic YW55b25lOnMzY3JldA==")),
            Some("s3cret".into())
        );
        // base64(":s3cret"): curl -u :s3cret
        assert_eq!(got("/t", Some("Basic OnMzY3JldA==")), Some("s3cret".into()));
        assert_eq!(got("/t?since=1&token=a%2Bb", None), Some("a+b".into()));
        // The header wins over the query.
        assert_eq!(got("/t?token=q", Some("Bearer h")), Some("h".into()));
        // A scheme we do not read: the query, if any.
        assert_eq!(got("/t?token=q", Some("Digest x")), Some("q".into()));
        assert_eq!(got("/t", Some("Digest x")), None);
        assert_eq!(got("/t", Some("Basic !!")), None);
        assert_eq!(got("/t?tokens=x", None), None);
        assert_eq!(got("/t", None), None);
    }
}
