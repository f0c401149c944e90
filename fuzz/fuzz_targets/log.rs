//! `serve --data-dir`'s record decoder on arbitrary bytes: no input may
//! panic or claim more bytes than it was given, and whatever decodes
//! encodes back to the same frame.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pubcat::codec::log::Record;

fuzz_target!(|data: &[u8]| {
    let mut at = 0;
    while let Ok(Some((record, used))) = Record::decode(&data[at..]) {
        assert!(used > 0 && at + used <= data.len());
        let mut again = Vec::new();
        record.encode(&mut again);
        assert_eq!(again, &data[at..at + used]);
        at += used;
    }
});
