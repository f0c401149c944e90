//! Interop with real servers and clients we did not write, one test binary
//! with a module each: Nchan, RabbitMQ Web-STOMP, Mosquitto (MQTT),
//! nats-server's WebSocket listener, the socket.io server,
//! sockjs-node, a browser (headless Chromium) against `pubcat serve`, and
//! tools that read what pubcat writes (HdrHistogram's Python decoder,
//! kubernetes-validate). A test that needs its server carries
//! `#[ignore = "needs SERVER: tests/interop.sh starts it and runs these"]`;
//! `bash tests/interop.sh` starts the servers and runs
//! `cargo test --test interop -- --include-ignored`.

// The helpers of tests/it/, compiled into this binary too. These tests use
// only some of them (none of fault.rs), so dead code is allowed here and
// checked in the `it` binary, which uses them all.
#[path = "../it/common/mod.rs"]
#[allow(dead_code)]
mod common;

mod browser;
mod mqtt;
mod nats;
mod nchan;
mod rabbitmq;
mod socketio;
mod sockjs;
mod tools;

/// A name no other run uses: `name`, this process's id and the time in ns.
pub fn unique(name: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{name}-{}-{nanos}", std::process::id())
}
