//! The one error type commands return, and the exit codes it maps to.
//!
//! Every failure becomes one line on stderr that says what failed and what to
//! try, and a documented exit code (see the README's table).

use std::fmt;
use std::process::ExitCode;

/// What kind of failure, which decides the exit code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// `--timeout` passed before the condition held (exit 1).
    Timeout,
    /// Bad flag, bad URL, unusable input (exit 2).
    Usage,
    /// Could not connect, DNS, TLS, connection lost (exit 3).
    Connect,
    /// The server refused or errored: HTTP status on the handshake, an error
    /// close code, a protocol ERROR frame (exit 4).
    Server,
    /// A message was not confirmed, or data was lost (exit 5).
    Lost,
    /// Interrupted by Ctrl-C, after a clean close (exit 130).
    Interrupted,
    /// Something on this machine failed (stdout, a file, an `--exec`
    /// command under `--exec-fail stop`): exit 1 would lie, so it gets its
    /// own code (exit 6).
    Local,
    /// Whoever read stdout is gone (`| head -1`): the command is done, so
    /// it ends at once, quietly, with exit 0.
    OutputClosed,
}

impl Kind {
    pub fn code(self) -> u8 {
        match self {
            Kind::Timeout => 1,
            Kind::Usage => 2,
            Kind::Connect => 3,
            Kind::Server => 4,
            Kind::Lost => 5,
            Kind::Local => 6,
            Kind::OutputClosed => 0,
            Kind::Interrupted => 130,
        }
    }
}

/// A failure with the one line to show the user.
#[derive(Debug)]
pub struct Error {
    pub kind: Kind,
    pub message: String,
    /// Worth trying again later (the retry policy's business): a lost
    /// connection, or a server answer that says "not now" (HTTP 5xx, 408,
    /// 429). A refusal that would be the same next time is not.
    pub transient: bool,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn new(kind: Kind, message: impl Into<String>) -> Self {
        Error {
            kind,
            message: message.into(),
            transient: kind == Kind::Connect,
        }
    }
    pub fn usage(message: impl Into<String>) -> Self {
        Self::new(Kind::Usage, message)
    }
    pub fn connect(message: impl Into<String>) -> Self {
        Self::new(Kind::Connect, message)
    }
    pub fn server(message: impl Into<String>) -> Self {
        Self::new(Kind::Server, message)
    }
    pub fn local(message: impl Into<String>) -> Self {
        Self::new(Kind::Local, message)
    }
    /// A server's answer by HTTP status: exit 4, and worth retrying when
    /// the status says "not now" (5xx, 408 Request Timeout, 429 Too Many
    /// Requests) rather than "never" (the other 4xx).
    pub fn http_status(status: u16, message: impl Into<String>) -> Self {
        let mut e = Self::server(message);
        e.transient = status >= 500 || status == 408 || status == 429;
        e
    }
    /// The same failure, saying what was being done.
    pub fn context(self, doing: &str) -> Self {
        Error {
            message: format!("{doing}: {}", self.message),
            ..self
        }
    }

    pub fn exit_code(&self) -> ExitCode {
        ExitCode::from(self.kind.code())
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

/// How a command ended when it did not fail: most end `Done`; a few end in a
/// state that is not an error but still has its own exit code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    Done,
    Interrupted,
}
