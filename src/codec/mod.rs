//! Pure protocol codecs: bytes in, frames out, no I/O.

pub mod engineio;
pub mod lf;
pub mod log;
pub mod meta;
pub mod mqtt;
pub mod nats;
pub mod nkey;
pub mod pubcat;
pub mod socketio;
pub mod sockjs;
pub mod sse;
pub mod stomp;
