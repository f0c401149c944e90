//! The integration tests, one test binary with a module per area: the real
//! `pubcat` binary against the embedded broker and scripted servers on
//! 127.0.0.1. One area alone: `cargo test --test it lifecycle::`. The
//! tests against real servers we did not write are tests/interop/.

mod common;

mod auth;
mod bench;
mod chaos;
mod cli;
mod connect;
mod durable;
mod exec;
mod format;
mod http_transports;
mod lifecycle;
mod notify;
mod serve_bounds;
mod serve_connections;
mod slow_subscribers;
mod socketio;
mod stomp_broker;
mod tail;
mod terminal;
mod tls;
