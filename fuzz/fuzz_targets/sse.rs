//! The SSE parser on arbitrary bytes: no input may panic, every event's
//! data is UTF-8 and within the size limit, and the events and the last
//! event id are the same whole, one byte at a time and cut where the first
//! input bytes say (the whole stream takes the parser's fast path where it
//! can, the cuts its general one).
#![no_main]

use libfuzzer_sys::fuzz_target;
use pubcat::codec::sse::{Event, Parser};

const MAX: usize = 48;

fn run(stream: &[u8], cuts: &[usize]) -> (Vec<Event>, Option<String>, bool) {
    let mut p = Parser::with_max_size(MAX);
    let (mut events, mut from, mut overflow) = (Vec::new(), 0, false);
    for &cut in cuts.iter().chain([&stream.len()]) {
        events.extend(p.feed(&stream[from..cut]));
        overflow |= p.take_overflow();
        from = cut;
    }
    (events, p.last_event_id().map(String::from), overflow)
}

fuzz_target!(|data: &[u8]| {
    let (head, stream) = data.split_at(data.len().min(4));
    let mut cuts: Vec<usize> = head.iter().map(|&b| usize::from(b) % (stream.len() + 1)).collect();
    cuts.sort_unstable();
    let whole = run(stream, &[]);
    for e in &whole.0 {
        assert!(std::str::from_utf8(&e.data).is_ok(), "data is UTF-8");
        assert!(e.data.len() < MAX, "data within the limit");
    }
    assert_eq!(run(stream, &cuts), whole, "cut at {cuts:?}");
    let every: Vec<usize> = (1..stream.len()).collect();
    assert_eq!(run(stream, &every), whole, "one byte at a time");
});
