//! The Engine.IO decoders on arbitrary bytes: a polling body, one text
//! packet, the open packet's JSON. None may panic, and a body that decodes
//! must encode back to one that decodes to the same packets.
#![no_main]

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use pubcat::codec::engineio::{Handshake, decode_payload, decode_text, encode_payload_part};

fuzz_target!(|data: &[u8]| {
    let body = Bytes::copy_from_slice(data);
    let _ = decode_text(body.clone());
    let _ = Handshake::parse(data);
    if let Ok(packets) = decode_payload(&body) {
        let mut again = Vec::new();
        for p in &packets {
            encode_payload_part(p, &mut again);
        }
        let decoded = decode_payload(&Bytes::from(again)).expect("re-encoded body decodes");
        assert_eq!(decoded, packets);
    }
});
