//! Status, handshake and frame logging on stderr, at the verbosity the user
//! asked for (`-q`, default, `-v`, `-vv`). stdout never sees any of it.
//!
//! Anything that may carry a secret goes through [`redact_header`] or
//! [`redact_url`] first.

use std::sync::atomic::{AtomicI8, Ordering};

static LEVEL: AtomicI8 = AtomicI8::new(0);

/// -1 quiet, 0 default, 1 `-v` (handshakes, closes), 2 `-vv` (every frame).
pub fn set_level(level: i8) {
    LEVEL.store(level, Ordering::Relaxed);
}

pub fn level() -> i8 {
    LEVEL.load(Ordering::Relaxed)
}

/// Write one line to stderr. A closed or full stderr loses the line and
/// nothing else: `eprintln!` would panic there, and a status line must never
/// end a command (or, in `serve`, drop the connection it is about).
pub fn line(args: std::fmt::Arguments) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr().lock(), "{args}");
}

/// A status line (connected, listening, closed); hidden by `-q`.
#[macro_export]
macro_rules! status {
    ($($arg:tt)*) => {
        if $crate::log::level() >= 0 {
            $crate::log::line(format_args!("pubcat: {}", format_args!($($arg)*)));
        }
    };
}

/// A status line for someone watching a terminal ("listening on …"): only
/// when stderr is one (in a log file or a pipe it would be noise), hidden
/// by `-q`, and dimmed when `dim`, as it is not a message.
pub fn tty_status(dim: bool, args: std::fmt::Arguments) {
    use std::io::IsTerminal;
    if level() < 0 || !std::io::stderr().is_terminal() {
        return;
    }
    if dim {
        line(format_args!("\x1b[2mpubcat: {args}\x1b[0m"));
    } else {
        line(format_args!("pubcat: {args}"));
    }
}

/// A warning; hidden only by `-q`.
#[macro_export]
macro_rules! warn {
    ($($arg:tt)*) => {
        if $crate::log::level() >= 0 {
            $crate::log::line(format_args!("pubcat: warning: {}", format_args!($($arg)*)));
        }
    };
}

/// A `-v` line: handshakes, negotiated options, close codes.
#[macro_export]
macro_rules! verbose {
    ($($arg:tt)*) => {
        if $crate::log::level() >= 1 {
            $crate::log::line(format_args!("* {}", format_args!($($arg)*)));
        }
    };
}

/// A `-vv` line: every frame.
#[macro_export]
macro_rules! trace {
    ($($arg:tt)*) => {
        if $crate::log::level() >= 2 {
            $crate::log::line(format_args!("> {}", format_args!($($arg)*)));
        }
    };
}

/// A value never shown: a token or a password in a struct that derives
/// `Debug` prints as `[redacted]`, and there is no `Display` to print it by
/// mistake; [`Secret::expose`] is the one way to its text.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: String) -> Secret {
        Secret(value)
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[redacted]")
    }
}

/// A header or query parameter whose name contains one of these may carry
/// a credential (`X-ApiKey`, `X-Auth`, `?jwt=`, `X-Amz-Signature`,
/// `session_id`, an OAuth `code`...): its value is never shown. A pattern,
/// not a list of names: a name nobody listed is the one that leaks.
const SECRET_PARTS: [&str; 11] = [
    "key",
    "token",
    "auth",
    "secret",
    "pass",
    "sig",
    "jwt",
    "session",
    "credential",
    "code",
    "cookie",
];

fn is_secret_name(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    // The WebSocket key and accept are a nonce and its hash, not
    // credentials, and are useful to see.
    if name.starts_with("sec-websocket-") {
        return false;
    }
    SECRET_PARTS.iter().any(|w| name.contains(w))
}

/// The value to show for a header in `-v` output.
pub fn redact_header<'a>(name: &str, value: &'a str) -> &'a str {
    if is_secret_name(name) {
        "[redacted]"
    } else {
        value
    }
}

/// A URL fit to print: the password hidden, and the query left out (it is
/// where tokens travel) unless `-v` asked for detail, and then with every
/// secret-looking value hidden.
pub fn redact_url(url: &url::Url) -> String {
    shown_url(url, level() >= 1)
}

fn shown_url(url: &url::Url, verbose: bool) -> String {
    let mut url = url.clone();
    if url.password().is_some() {
        let _ = url.set_password(Some("[redacted]"));
    }
    if url.query().is_some() {
        if !verbose {
            url.set_query(None);
            return format!("{url}?…").replace("%5Bredacted%5D", "[redacted]");
        }
        let pairs: Vec<(String, String)> = url
            .query_pairs()
            .map(|(k, v)| {
                let v = if is_secret_name(&k) {
                    "[redacted]".to_string()
                } else {
                    v.into_owned()
                };
                (k.into_owned(), v)
            })
            .collect();
        url.query_pairs_mut().clear().extend_pairs(pairs);
    }
    url.to_string().replace("%5Bredacted%5D", "[redacted]")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_headers_are_redacted() {
        assert_eq!(redact_header("Authorization", "Bearer x"), "[redacted]");
        assert_eq!(redact_header("X-Api-Key", "k"), "[redacted]");
        assert_eq!(redact_header("Cookie", "a=b"), "[redacted]");
        assert_eq!(redact_header("passcode", "guest"), "[redacted]");
        assert_eq!(redact_header("Sec-WebSocket-Key", "abc=="), "abc==");
        assert_eq!(redact_header("Content-Type", "text/plain"), "text/plain");
    }

    #[test]
    fn a_secret_is_never_debug_printed() {
        let s = Secret::new("hunter2".into());
        assert_eq!(format!("{s:?}"), "[redacted]");
        assert_eq!(format!("{:?}", Some(vec![s.clone()])), "Some([[redacted]])");
        assert_eq!(s.expose(), "hunter2");
    }

    #[test]
    fn secrets_are_found_by_pattern_not_by_a_list_of_names() {
        for name in [
            "X-ApiKey",
            "X-Auth",
            "X-Amz-Signature",
            "jwt",
            "session_id",
            "code",
            "client_credentials",
            "Set-Cookie",
            "X-Pass",
        ] {
            assert_eq!(redact_header(name, "v"), "[redacted]", "{name}");
        }
        for name in ["Content-Type", "Sec-WebSocket-Accept", "room", "since"] {
            assert_eq!(redact_header(name, "v"), "v", "{name}");
        }
    }

    #[test]
    fn url_password_and_token_are_redacted() {
        let u =
            url::Url::parse("wss://bob:hunter2@host/x?token=abc&room=1&X-Amz-Signature=s").unwrap();
        let shown = shown_url(&u, true);
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(!shown.contains("abc"), "{shown}");
        assert!(!shown.contains("=s"), "{shown}");
        assert!(shown.contains("room=1"), "{shown}");
        assert!(shown.contains("bob"), "{shown}");
        // Without -v, no query at all.
        assert_eq!(shown_url(&u, false), "wss://bob:[redacted]@host/x?…");
    }
}
