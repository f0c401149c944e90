//! pubcat: a command-line pub/sub client and toolkit.
//!
//! Layers, each knowing only the one below it:
//! `cli` → `commands` → `session` → `dialect` → `transport`; `codec` is
//! pure parsing; `render` owns stdout;
//! `server` is the embedded broker.

pub mod bench;
pub mod cli;
pub mod codec;
pub mod commands;
pub mod dialect;
pub mod endpoint;
pub mod error;
pub mod limits;
pub mod log;
pub mod message;
pub mod render;
pub mod retry;
pub mod server;
pub mod session;
pub mod shutdown;
pub mod tls;
pub mod transport;
