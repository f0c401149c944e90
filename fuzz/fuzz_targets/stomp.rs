//! The STOMP frame decoder on arbitrary bytes: it never panics, gives the
//! same items however the bytes are split, and every frame it decodes
//! encodes back to bytes that decode to the same frame.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pubcat::codec::stomp::{Decoder, Frame, Item};

/// Items from `bytes` fed in pieces that end at `cuts`; the error ends it.
fn decode(bytes: &[u8], cuts: &[usize]) -> (Vec<Item>, bool) {
    let mut d = Decoder::new(1 << 16);
    let mut items = Vec::new();
    let mut from = 0;
    for &cut in cuts {
        d.feed(&bytes[from..cut]);
        from = cut;
        loop {
            match d.decode_next() {
                Ok(Some(item)) => items.push(item),
                Ok(None) => break,
                Err(_) => return (items, true),
            }
        }
    }
    (items, false)
}

/// Frames whose text an encoder can write back: headers of CONNECT and
/// CONNECTED are not escaped, so a CR there (or in a command) would be
/// read as part of the line end.
fn representable(f: &Frame) -> bool {
    let raw = matches!(f.command.as_str(), "CONNECT" | "CONNECTED");
    !f.command.contains('\r')
        && !(raw && f.headers.iter().any(|(k, v)| k.contains('\r') || v.contains('\r')))
}

fuzz_target!(|data: &[u8]| {
    let Some((&cut, bytes)) = data.split_first() else {
        return;
    };
    let cut = usize::from(cut) * bytes.len() / 255;
    let whole = decode(bytes, &[bytes.len()]);
    let split = decode(bytes, &[cut, bytes.len()]);
    assert_eq!(whole, split, "splitting at {cut} changed the items");
    for item in whole.0 {
        let Item::Frame(frame) = item else { continue };
        if !representable(&frame) {
            continue;
        }
        let mut out = Vec::new();
        frame.encode(&mut out);
        let (again, failed) = decode(&out, &[out.len()]);
        assert!(!failed, "re-encoded {frame:?} does not decode");
        let Some(Item::Frame(again)) = again.into_iter().next() else {
            panic!("re-encoded {frame:?} gave no frame");
        };
        assert_eq!(again.command, frame.command);
        assert_eq!(again.body, frame.body);
        // The encoder adds a content-length to a body that had none.
        let added = frame.get("content-length").is_none() && !frame.body.is_empty();
        let headers = &again.headers[..again.headers.len() - usize::from(added)];
        assert_eq!(headers, &frame.headers[..]);
    }
});
