//! The SockJS frame decoders on arbitrary bytes: they never panic, a
//! message frame they accept encodes back to itself, and the line decoder
//! of xhr bodies gives the same frames however the bytes are split.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pubcat::codec::sockjs::{Batch, Frame, LineDecoder, decode, decode_client, encode};

fn lines(bytes: &[u8], cuts: &[usize]) -> (Vec<Frame>, bool) {
    let mut d = LineDecoder::new(1 << 16);
    let mut frames = Vec::new();
    let mut from = 0;
    for &cut in cuts {
        d.feed(&bytes[from..cut]);
        from = cut;
        loop {
            match d.next_frame() {
                Ok(Some(f)) => frames.push(f),
                Ok(None) => break,
                Err(_) => return (frames, true),
            }
        }
    }
    (frames, false)
}

fuzz_target!(|data: &[u8]| {
    if let Ok(frame) = decode(data) {
        let mut out = String::new();
        encode(&frame, &mut out);
        assert_eq!(decode(out.as_bytes()), Ok(frame));
    }
    if let Ok(messages) = decode_client(data) {
        let mut batch = Batch::default();
        for m in &messages {
            batch.push(m);
        }
        assert_eq!(decode_client(batch.take().as_bytes()), Ok(messages));
    }
    let Some((&cut, bytes)) = data.split_first() else {
        return;
    };
    let cut = usize::from(cut) * bytes.len() / 255;
    assert_eq!(lines(bytes, &[bytes.len()]), lines(bytes, &[cut, bytes.len()]));
});
