//! A pure, incremental parser for `text/event-stream`, following the WHATWG
//! HTML "Server-sent events" processing model (§9.2.5–9.2.6): a BOM at the
//! start is skipped, lines end in CRLF, CR or LF (a CR ending one chunk and
//! an LF starting the next are one line end), `data` lines are joined with
//! LF, `id` containing NUL is ignored, `retry` takes ASCII digits only, and an
//! event is dispatched on a blank line only when its data is not empty.
//!
//! Complete lines are parsed straight from the chunk; only a line split
//! across chunks is copied, so the parser does no per-line allocation on the
//! common path.

use std::time::Duration;

const BOM: &[u8] = b"\xEF\xBB\xBF";

/// One dispatched event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// The event type: the last `event:` field, or "message" when none was given.
    pub event: String,
    /// The data buffer with the final LF removed.
    pub data: String,
    /// The stream's last event ID after this event (it persists across
    /// events, as the spec says); None if never set.
    pub id: Option<String>,
}

#[derive(Debug)]
pub struct Parser {
    /// The start of a line that a chunk boundary cut.
    line: Vec<u8>,
    data: String,
    event: String,
    /// The spec's "last event ID buffer": set by an `id:` line.
    id_buffer: Option<String>,
    /// The spec's "last event ID string": the buffer as of the last
    /// dispatch, so an `id:` of an event cut off mid-way is never claimed.
    last_id: Option<String>,
    retry: Option<Duration>,
    /// False until the stream's first bytes have been checked for a BOM.
    started: bool,
    /// The previous chunk ended in CR: an LF first in the next one belongs to it.
    skip_lf: bool,
    /// Bytes kept for one line or one event's data at the most.
    max_size: usize,
    /// The current event grew too large: drop it at its blank line.
    discard: bool,
    /// The current line grew too large: ignore it up to its end.
    skip_line: bool,
    overflow: bool,
}

impl Default for Parser {
    fn default() -> Self {
        Self::with_max_size(16 << 20)
    }
}

impl Parser {
    pub fn new() -> Self {
        Self::default()
    }

    /// A parser that drops any line or event larger than `max_size` bytes
    /// (reported by [`Parser::take_overflow`]) instead of growing without end.
    pub fn with_max_size(max_size: usize) -> Self {
        Parser {
            line: Vec::new(),
            data: String::new(),
            event: String::new(),
            id_buffer: None,
            last_id: None,
            retry: None,
            started: false,
            skip_lf: false,
            max_size,
            discard: false,
            skip_line: false,
            overflow: false,
        }
    }

    /// Feed bytes as they arrive, in any split; returns the events they complete.
    pub fn feed(&mut self, chunk: &[u8]) -> Vec<Event> {
        let mut out = Vec::new();
        self.feed_into(chunk, &mut out);
        out
    }

    /// [`Parser::feed`] into the caller's vector.
    pub fn feed_into(&mut self, mut chunk: &[u8], out: &mut Vec<Event>) {
        if !self.started {
            // Collect up to three bytes to decide whether the stream opens
            // with a BOM; a BOM may itself be split across chunks.
            let take = (BOM.len() - self.line.len()).min(chunk.len());
            self.line.extend_from_slice(&chunk[..take]);
            chunk = &chunk[take..];
            if self.line.len() < BOM.len() && BOM.starts_with(&self.line) {
                return;
            }
            self.started = true;
            if self.line == BOM {
                self.line.clear();
            } else {
                let head = std::mem::take(&mut self.line);
                self.process(&head, out);
            }
        }
        self.process(chunk, out);
    }

    fn process(&mut self, s: &[u8], out: &mut Vec<Event>) {
        let mut i = 0;
        if self.skip_lf && !s.is_empty() {
            self.skip_lf = false;
            if s[0] == b'\n' {
                i = 1;
            }
        }
        while i < s.len() {
            let Some(off) = memchr::memchr2(b'\n', b'\r', &s[i..]) else {
                self.keep_partial(&s[i..]);
                return;
            };
            let end = i + off;
            if self.skip_line {
                self.skip_line = false;
            } else if self.line.is_empty() {
                self.on_line(&s[i..end], out);
            } else {
                let mut line = std::mem::take(&mut self.line);
                line.extend_from_slice(&s[i..end]);
                self.on_line(&line, out);
                // Keep the allocation for the next split line.
                line.clear();
                self.line = line;
            }
            i = end + 1;
            if s[end] == b'\r' {
                if i < s.len() {
                    if s[i] == b'\n' {
                        i += 1;
                    }
                } else {
                    self.skip_lf = true;
                }
            }
        }
    }

    fn keep_partial(&mut self, rest: &[u8]) {
        if self.skip_line {
            return;
        }
        if self.line.len() + rest.len() > self.max_size {
            self.line.clear();
            self.skip_line = true;
            self.discard = true;
            self.overflow = true;
            return;
        }
        self.line.extend_from_slice(rest);
    }

    fn on_line(&mut self, line: &[u8], out: &mut Vec<Event>) {
        if line.is_empty() {
            self.dispatch(out);
            return;
        }
        if line[0] == b':' {
            return;
        }
        let (field, value) = match memchr::memchr(b':', line) {
            Some(p) => {
                let v = &line[p + 1..];
                (&line[..p], v.strip_prefix(b" ").unwrap_or(v))
            }
            None => (line, &b""[..]),
        };
        match field {
            b"event" => {
                self.event.clear();
                push_utf8(&mut self.event, value);
            }
            b"data" => {
                if self.discard {
                    return;
                }
                if self.data.len() + value.len() + 1 > self.max_size {
                    self.data.clear();
                    self.discard = true;
                    self.overflow = true;
                    return;
                }
                push_utf8(&mut self.data, value);
                self.data.push('\n');
            }
            // An id containing NUL is ignored, per the spec.
            b"id" if !value.contains(&0) => {
                // Reuse the buffer: most streams send an id with every event.
                let id = self.id_buffer.get_or_insert_with(String::new);
                id.clear();
                push_utf8(id, value);
            }
            b"retry" if !value.is_empty() && value.iter().all(u8::is_ascii_digit) => {
                // Absurdly long digit strings saturate rather than fail.
                let ms = value.iter().fold(0u64, |n, d| {
                    n.saturating_mul(10).saturating_add(u64::from(d - b'0'))
                });
                self.retry = Some(Duration::from_millis(ms));
            }
            _ => {}
        }
    }

    fn dispatch(&mut self, out: &mut Vec<Event>) {
        self.last_id.clone_from(&self.id_buffer);
        if self.discard {
            self.discard = false;
            self.data.clear();
            self.event.clear();
            return;
        }
        if self.data.is_empty() {
            self.event.clear();
            return;
        }
        if self.data.ends_with('\n') {
            self.data.pop();
        }
        let event = if self.event.is_empty() {
            "message".to_string()
        } else {
            std::mem::take(&mut self.event)
        };
        out.push(Event {
            event,
            data: std::mem::take(&mut self.data),
            id: self.last_id.clone(),
        });
    }

    /// The reconnection time the stream asked for since the last call.
    pub fn take_retry(&mut self) -> Option<Duration> {
        self.retry.take()
    }

    /// True once after an event or line was dropped for being too large.
    pub fn take_overflow(&mut self) -> bool {
        std::mem::take(&mut self.overflow)
    }

    /// The last event ID string, to send as `Last-Event-ID` on reconnect.
    pub fn last_event_id(&self) -> Option<&str> {
        self.last_id.as_deref()
    }

    /// Start from this id (`--since`, a saved state) as if the stream had sent it.
    pub fn set_last_event_id(&mut self, id: Option<String>) {
        self.id_buffer.clone_from(&id);
        self.last_id = id;
    }

    /// Forget the partial state of a connection that ended; the last event
    /// ID stays, as the spec keeps it across reconnects, but an `id:` of an
    /// event that never completed is dropped with the event.
    pub fn reset_connection(&mut self) {
        self.id_buffer.clone_from(&self.last_id);
        self.line.clear();
        self.data.clear();
        self.event.clear();
        self.started = false;
        self.skip_lf = false;
        self.discard = false;
        self.skip_line = false;
    }
}

/// Append bytes as text: as is when they are UTF-8 (the usual case, and a
/// fast check), else with U+FFFD for each bad sequence, as the spec says.
fn push_utf8(dst: &mut String, bytes: &[u8]) {
    match std::str::from_utf8(bytes) {
        Ok(s) => dst.push_str(s),
        Err(_) => dst.push_str(&String::from_utf8_lossy(bytes)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(event: &str, data: &str, id: Option<&str>) -> Event {
        Event {
            event: event.into(),
            data: data.into(),
            id: id.map(str::to_string),
        }
    }

    fn parse(s: &[u8]) -> Vec<Event> {
        Parser::new().feed(s)
    }

    #[test]
    fn spec_example_stock_ticker() {
        let got = parse(b"data: YHOO\ndata: +2\ndata: 10\n\n");
        assert_eq!(got, [ev("message", "YHOO\n+2\n10", None)]);
    }

    #[test]
    fn spec_example_ids_persist() {
        let s = b": test stream\n\ndata: first event\nid: 1\n\ndata:second event\nid\n\ndata:  third event\n\n";
        assert_eq!(
            parse(s),
            [
                ev("message", "first event", Some("1")),
                ev("message", "second event", Some("")),
                ev("message", " third event", Some("")),
            ]
        );
    }

    #[test]
    fn spec_example_empty_data_and_no_colon() {
        let got = parse(b"data\n\ndata\ndata\n\ndata:\n");
        // The first is "", the second "\n"; the third is never finished.
        assert_eq!(got, [ev("message", "", None), ev("message", "\n", None)]);
        assert_eq!(
            parse(b"data:test\n\ndata: test\n\n"),
            [ev("message", "test", None), ev("message", "test", None)]
        );
    }

    #[test]
    fn blank_line_without_data_dispatches_nothing_and_resets_the_type() {
        assert_eq!(
            parse(b"event: x\n\ndata: a\n\n"),
            [ev("message", "a", None)]
        );
        assert_eq!(
            parse(b"event: x\ndata: a\n\ndata: b\n\n"),
            [ev("x", "a", None), ev("message", "b", None)]
        );
    }

    #[test]
    fn line_ends_cr_lf_crlf() {
        let want = [ev("message", "a\nb", None), ev("message", "c", None)];
        assert_eq!(parse(b"data: a\rdata: b\r\rdata: c\r\r"), want);
        assert_eq!(parse(b"data: a\r\ndata: b\r\n\r\ndata: c\r\n\r\n"), want);
        assert_eq!(parse(b"data: a\ndata: b\n\ndata: c\n\n"), want);
    }

    #[test]
    fn cr_at_chunk_end_then_lf_is_one_line_end() {
        let mut p = Parser::new();
        assert!(p.feed(b"data: a\r").is_empty());
        assert!(p.feed(b"\n").is_empty());
        assert_eq!(p.feed(b"\r\n"), [ev("message", "a", None)]);
    }

    #[test]
    fn bom_only_at_the_start() {
        assert_eq!(
            parse(b"\xEF\xBB\xBFdata: a\n\n"),
            [ev("message", "a", None)]
        );
        let mut p = Parser::new();
        assert!(p.feed(b"\xEF").is_empty());
        assert!(p.feed(b"\xBB").is_empty());
        assert_eq!(p.feed(b"\xBFdata: a\n\n"), [ev("message", "a", None)]);
        // A second BOM is content: it makes the field name unknown.
        assert!(parse(b"\xEF\xBB\xBF\xEF\xBB\xBFdata: a\n\n").is_empty());
        assert_eq!(
            parse(b"data: \xEF\xBB\xBFx\n\n"),
            [ev("message", "\u{feff}x", None)]
        );
    }

    #[test]
    fn id_with_nul_is_ignored_and_empty_id_clears() {
        let got = parse(b"id: 7\ndata: a\n\nid: 8\0x\ndata: b\n\nid\ndata: c\n\n");
        assert_eq!(
            got,
            [
                ev("message", "a", Some("7")),
                ev("message", "b", Some("7")),
                ev("message", "c", Some(""))
            ]
        );
    }

    #[test]
    fn retry_takes_digits_only() {
        let mut p = Parser::new();
        p.feed(b"retry: 1500\n");
        assert_eq!(p.take_retry(), Some(Duration::from_millis(1500)));
        assert_eq!(p.take_retry(), None);
        for bad in [
            &b"retry: 12a\n"[..],
            b"retry:\n",
            b"retry:  5\n",
            b"retry: -5\n",
            b"retry: 1.5\n",
        ] {
            p.feed(bad);
            assert_eq!(p.take_retry(), None, "{:?}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn comments_unknown_fields_and_incomplete_events() {
        assert_eq!(
            parse(b": hi\nfoo: bar\ndata: a\n\n"),
            [ev("message", "a", None)]
        );
        assert!(parse(b"data: never finished\n").is_empty());
        assert!(parse(b"data: never finished").is_empty());
    }

    #[test]
    fn invalid_utf8_is_replaced() {
        assert_eq!(
            parse(b"data: a\xFFb\n\n"),
            [ev("message", "a\u{fffd}b", None)]
        );
    }

    #[test]
    fn oversized_events_are_dropped_and_reported() {
        let mut p = Parser::with_max_size(16);
        let got = p.feed(b"data: 0123456789abcdefXYZ\n\ndata: ok\n\n");
        assert_eq!(got, [ev("message", "ok", None)]);
        assert!(p.take_overflow());
        assert!(!p.take_overflow());
        // A long line split over chunks is dropped too.
        let mut p = Parser::with_max_size(16);
        assert!(p.feed(b"data: 0123456789").is_empty());
        assert!(p.feed(b"abcdefXYZ").is_empty());
        assert_eq!(p.feed(b"\n\ndata: ok\n\n"), [ev("message", "ok", None)]);
        assert!(p.take_overflow());
    }

    #[test]
    fn reset_keeps_the_last_id() {
        let mut p = Parser::new();
        p.feed(b"id: 5\ndata: a\n\nid: 6\ndata: partial");
        assert_eq!(p.last_event_id(), Some("5"), "event 6 was not dispatched");
        p.reset_connection();
        assert_eq!(p.last_event_id(), Some("5"));
        assert_eq!(
            p.feed(b"\xEF\xBB\xBFdata: b\n\n"),
            [ev("message", "b", Some("5"))]
        );
    }

    /// Every split point, and one byte at a time, gives the same events.
    #[test]
    fn a_stream_split_at_every_byte_boundary_parses_the_same() {
        let stream: &[u8] = b"\xEF\xBB\xBF: comment\r\nretry: 100\nid: 1\r\nevent: greet\ndata: h\xC3\xA9llo\r\ndata\n\n\
            data: second\r\rid: 2\0\ndata: third\r\n\r\nfield-without-colon\ndata:x\n\n";
        let want = Parser::new().feed(stream);
        assert_eq!(
            want,
            [
                ev("greet", "h\u{e9}llo\n", Some("1")),
                ev("message", "second", Some("1")),
                ev("message", "third", Some("1")),
                ev("message", "x", Some("1")),
            ]
        );
        for i in 0..=stream.len() {
            let mut p = Parser::new();
            let mut got = p.feed(&stream[..i]);
            got.extend(p.feed(&stream[i..]));
            assert_eq!(got, want, "split at {i}");
        }
        let mut p = Parser::new();
        let got: Vec<Event> = stream
            .iter()
            .flat_map(|b| p.feed(std::slice::from_ref(b)))
            .collect();
        assert_eq!(got, want, "byte at a time");
    }
}
