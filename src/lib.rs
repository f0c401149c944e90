//! pubcat: a command-line pub/sub client and toolkit.
//!
//! Layers, each knowing only the one below it:
//! `cli` → `commands` → `session` → `dialect` → `transport`; `codec` is
//! pure parsing; `render` owns stdout;
//! `server` is the embedded broker.

pub mod app;
pub(crate) mod bench;
pub(crate) mod cli;
pub mod codec;
pub(crate) mod commands;
pub(crate) mod dialect;
pub(crate) mod endpoint;
pub(crate) mod error;
pub(crate) mod exec;
pub(crate) mod limits;
pub(crate) mod log;
pub(crate) mod message;
pub(crate) mod notify;
pub(crate) mod random;
pub(crate) mod render;
pub(crate) mod retry;
pub(crate) mod server;
pub(crate) mod session;
pub(crate) mod shutdown;
pub(crate) mod tls;
pub(crate) mod transport;
