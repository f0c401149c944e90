//! The NATS server-operation decoder on arbitrary bytes: no input may
//! panic or claim more bytes than it was given, a payload never passes the
//! limit, and whatever decodes encodes back to bytes that decode to the
//! same operation (but a -ERR too long for its quotes).
#![no_main]

use libfuzzer_sys::fuzz_target;
use pubcat::codec::nats::{Error, ServerOp, ServerOp::Msg};

const MAX: usize = 4096;

fuzz_target!(|data: &[u8]| {
    let mut at = 0;
    while let Ok(Some((op, used))) = ServerOp::decode(&data[at..], MAX) {
        assert!(used > 0 && at + used <= data.len());
        if let Msg(m) = &op {
            assert!(m.payload.len() <= MAX);
        }
        let mut again = Vec::new();
        match op.encode(&mut again) {
            Ok(()) => {}
            // A -ERR line at the bound has no room for the quotes we add.
            Err(Error::LineTooLong { .. }) if matches!(op, ServerOp::Err(_)) => {
                at += used;
                continue;
            }
            Err(e) => panic!("a decoded operation does not encode: {e}"),
        }
        let back = ServerOp::decode(&again, usize::MAX).expect("re-encoded operation decodes");
        assert_eq!(back, Some((op, again.len())));
        at += used;
    }
});
