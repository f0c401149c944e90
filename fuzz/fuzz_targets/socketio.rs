//! The Socket.IO decoders on arbitrary bytes: one packet, and a sequence of
//! text and binary messages through the reassembler (each message's first
//! byte says which: odd = binary). None may panic, and a packet that
//! decodes must encode back to the same packet.
#![no_main]

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use pubcat::codec::socketio::{Packet, Reassembler};

fuzz_target!(|data: &[u8]| {
    if let Ok(p) = Packet::decode(data) {
        let mut text = String::new();
        p.encode(&mut text);
        let again = Packet::decode(text.as_bytes()).expect("re-encoded packet decodes");
        assert_eq!(again, p, "{text}");
    }
    let mut r = Reassembler::default();
    for message in data.split(|&b| b == 0x1e) {
        match message.split_first() {
            Some((kind, rest)) if kind % 2 == 1 => {
                let _ = r.binary(Bytes::copy_from_slice(rest));
            }
            Some((_, rest)) => {
                let _ = r.text(rest);
            }
            None => {}
        }
    }
});
