//! The `ws+meta.nchan` header parser on arbitrary bytes: no input may
//! panic, the body starts within the frame after a blank line, and what
//! `pubcat serve` writes ahead of a body always parses back to its id with
//! the body intact.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pubcat::codec::meta::{self, MAX_HEADER};

fuzz_target!(|data: &[u8]| {
    if let Ok(m) = meta::parse(data) {
        assert!(m.body <= data.len() && m.body <= MAX_HEADER + 1);
        assert_eq!(data[m.body - 1], b'\n');
    }
    let id = data.iter().fold(0u64, |n, &b| n.wrapping_mul(31).wrapping_add(u64::from(b)));
    let mut frame = meta::header(id, None).into_bytes();
    frame.extend_from_slice(data);
    let m = meta::parse(&frame).expect("our own block parses");
    assert_eq!(m.id, Some(id.to_string().as_str()));
    assert_eq!(&frame[m.body..], data);
});
