//! The MQTT packet decoder on arbitrary bytes, as 3.1.1 and as 5.0: no
//! input may panic or claim more bytes than it was given (or than the
//! limit), and whatever decodes encodes back to bytes that decode to the
//! same packet.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pubcat::codec::mqtt::{Packet, Version};

const MAX: usize = 4096;

fuzz_target!(|data: &[u8]| {
    for version in [Version::V311, Version::V5] {
        let mut at = 0;
        while let Ok(Some((packet, used))) = Packet::decode(&data[at..], version, MAX) {
            assert!(used > 0 && used <= MAX && at + used <= data.len());
            let mut again = Vec::new();
            packet.encode(version, &mut again).expect("a decoded packet encodes");
            let back = Packet::decode(&again, version, usize::MAX).expect("re-encoded packet decodes");
            assert_eq!(back, Some((packet, again.len())));
            at += used;
        }
    }
});
