//! A pure, incremental parser for `text/event-stream`, following the WHATWG
//! HTML "Server-sent events" processing model (§9.2.5–9.2.6): a BOM at the
//! start is skipped, lines end in CRLF, CR or LF (a CR ending one chunk and
//! an LF starting the next are one line end), `data` lines are joined with
//! LF, `id` containing NUL is ignored, `retry` takes ASCII digits only, and an
//! event is dispatched on a blank line only when its data is not empty.
//!
//! The parser is pulled: [`Parser::push`] hands it a chunk, and
//! [`Parser::next_event`] parses only as far as the next event. An event
//! whose data is one line inside one chunk (nearly all of them) gets that
//! slice of the chunk as its data, and short ids and types are kept inline,
//! so the common path does not allocate; only lines cut by a chunk boundary
//! and multi-line data are copied.

use std::time::Duration;

use bytes::{Bytes, BytesMut};

use super::lf::LfFinder;
use crate::message::{Body, Text};

const BOM: &[u8] = b"\xEF\xBB\xBF";

/// The type of an event that names none.
const MESSAGE: Text = Text::const_new("message");

/// One dispatched event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// The event type: the last `event:` field, or "message" when none was given.
    pub event: Text,
    /// The data buffer with the final LF removed; always valid UTF-8
    /// (invalid sequences are replaced with U+FFFD, as the spec decodes).
    pub data: Bytes,
    /// The stream's last event ID after this event (it persists across
    /// events, as the spec says); None if never set or set empty.
    pub id: Option<Text>,
}

/// Where [`Parser::next_into`] writes an event: the caller's own fields, so
/// that an event is built where it will be read instead of being moved
/// through every layer on its way there (those moves of a whole event, and
/// the stalls of reading back what was just written, cost a fifth of
/// receive time).
pub struct Slots<'a> {
    /// The event's data, as [`Event::data`].
    pub data: &'a mut Body,
    /// Always set to Some: the type, as [`Event::event`].
    pub event: &'a mut Option<Text>,
    /// As [`Event::id`].
    pub id: &'a mut Option<Text>,
}

/// The data lines of the event being read.
#[derive(Debug, Default)]
enum Data {
    /// No `data` line yet: a blank line dispatches nothing.
    #[default]
    None,
    /// One line, kept as it arrived (a slice of its chunk), and whether it
    /// is known to be UTF-8 already.
    One(Bytes, bool),
    /// Several lines, joined with LF.
    Many(BytesMut),
}

/// Where a complete line is: in the current chunk, or (cut by a chunk
/// boundary) in the parser's line buffer.
#[derive(Clone)]
enum Src {
    Chunk(usize, usize),
    Line(usize, usize),
}

impl Src {
    fn len(&self) -> usize {
        match *self {
            Src::Chunk(a, b) | Src::Line(a, b) => b - a,
        }
    }
}

#[derive(Debug)]
pub struct Parser {
    /// The chunk being parsed, from `pos` on.
    chunk: Bytes,
    pos: usize,
    /// The chunk is valid UTF-8 from `valid_from` up to `valid_to`: one
    /// check per chunk instead of one per field (which cost a fifth of the
    /// parse).
    valid_from: usize,
    valid_to: usize,
    /// The chunk holds a CR, so lines must be split on CR too; without one
    /// the cheaper search for LF alone does.
    has_cr: bool,
    /// The chunk holds a NUL, so ids must be checked for one.
    has_nul: bool,
    /// Where the chunk's next LFs are.
    lf: LfFinder,
    /// The last event came by the fast path, in this chunk: the state is
    /// still between events, without checking each part of it again.
    fast: bool,
    /// The start of a line that a chunk boundary cut.
    line: BytesMut,
    data: Data,
    /// The event type buffer; None or empty means "message".
    event: Option<Text>,
    /// The spec's "last event ID buffer": set by an `id:` line.
    id_buffer: Option<Text>,
    /// The spec's "last event ID string" is the buffer as of the last
    /// dispatch, so an `id:` of an event cut off mid-way is never claimed.
    /// Copying the buffer at every dispatch showed in the profile, so it is
    /// kept lazily: while `id_pending` is false it equals `id_buffer`; an
    /// `id:` line sets `id_pending` and moves the old buffer here.
    last_id: Option<Text>,
    id_pending: bool,
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

    /// A parser that drops any event whose data, or whose `id`, `event` or
    /// `retry` value, reaches `max_size` bytes (reported by
    /// [`Parser::take_overflow`]) instead of growing without end. Comments
    /// and unknown fields are skipped at any length. The outcome is the
    /// same however the stream is split.
    pub fn with_max_size(max_size: usize) -> Self {
        Parser {
            chunk: Bytes::new(),
            pos: 0,
            valid_from: 0,
            valid_to: 0,
            has_cr: false,
            has_nul: false,
            lf: LfFinder::default(),
            fast: false,
            line: BytesMut::new(),
            data: Data::None,
            event: None,
            id_buffer: None,
            last_id: None,
            id_pending: false,
            retry: None,
            started: false,
            skip_lf: false,
            max_size,
            discard: false,
            skip_line: false,
            overflow: false,
        }
    }

    /// Feed bytes as they arrive, in any split; returns the events they
    /// complete. A convenience over [`Parser::push`] and
    /// [`Parser::next_event`] that copies the bytes.
    pub fn feed(&mut self, chunk: &[u8]) -> Vec<Event> {
        self.push(Bytes::copy_from_slice(chunk));
        std::iter::from_fn(|| self.next_event()).collect()
    }

    /// The next event as a value: [`Parser::next_into`] for callers that do
    /// not keep their own slots.
    pub fn next_event(&mut self) -> Option<Event> {
        let (mut data, mut event, mut id) = (Body::new(), None, None);
        let out = &mut Slots {
            data: &mut data,
            event: &mut event,
            id: &mut id,
        };
        self.next_into(out).then(|| Event {
            event: event.unwrap_or(MESSAGE),
            data: data.to_bytes(),
            id,
        })
    }

    /// Hand the parser the next chunk of the stream. Call
    /// [`Parser::next_into`] until it answers false first; bytes of an
    /// earlier chunk not parsed yet are kept (copied) in front.
    pub fn push(&mut self, chunk: Bytes) {
        if self.pos < self.chunk.len() {
            let mut joined = BytesMut::with_capacity(self.chunk.len() - self.pos + chunk.len());
            joined.extend_from_slice(&self.chunk[self.pos..]);
            joined.extend_from_slice(&chunk);
            self.set_chunk(joined.freeze());
        } else {
            self.set_chunk(chunk);
        }
    }

    fn set_chunk(&mut self, chunk: Bytes) {
        // Servers send neither: one search rules both out; past the first
        // found, only the other one is looked for.
        (self.has_cr, self.has_nul) = match memchr::memchr2(b'\r', 0, &chunk) {
            None => (false, false),
            Some(i) if chunk[i] == b'\r' => (true, memchr::memchr(0, &chunk[i..]).is_some()),
            Some(i) => (memchr::memchr(b'\r', &chunk[i..]).is_some(), true),
        };
        self.lf.reset();
        self.fast = false;
        // A line cut by the last chunk boundary is copied and checked on its
        // own; it may end in the middle of a character, so the check starts
        // after its end.
        self.valid_from = if self.line.is_empty() {
            0
        } else {
            memchr::memchr2(b'\n', b'\r', &chunk).map_or(chunk.len(), |i| i + 1)
        };
        // ASCII (the usual case) is UTF-8, and cheaper to tell.
        let tail = &chunk[self.valid_from..];
        self.valid_to = if tail.is_ascii() {
            chunk.len()
        } else {
            match std::str::from_utf8(tail) {
                Ok(_) => chunk.len(),
                Err(e) => self.valid_from + e.valid_up_to(),
            }
        };
        self.chunk = chunk;
        self.pos = 0;
    }

    /// Parse up to the next dispatched event and write it to `out`; false
    /// (and `out` untouched) when the chunks pushed so far hold no further
    /// complete event.
    pub fn next_into(&mut self, out: &mut Slots) -> bool {
        if (self.fast || self.between_events()) && self.whole_event(out) {
            self.fast = true;
            return true;
        }
        self.fast = false;
        if !self.started && !self.skip_bom() {
            return false;
        }
        loop {
            let len = self.chunk.len();
            if self.skip_lf {
                if self.pos >= len {
                    return false;
                }
                self.skip_lf = false;
                if self.chunk[self.pos] == b'\n' {
                    self.pos += 1;
                }
            }
            let start = self.pos;
            let rest = &self.chunk[start..];
            let found = if self.has_cr {
                memchr::memchr2(b'\n', b'\r', rest)
            } else {
                self.lf.find(&self.chunk, start).map(|i| i - start)
            };
            let Some(off) = found else {
                self.keep_partial();
                return false;
            };
            let end = start + off;
            self.pos = end + 1;
            if self.chunk[end] == b'\r' {
                if self.pos < len {
                    if self.chunk[self.pos] == b'\n' {
                        self.pos += 1;
                    }
                } else {
                    self.skip_lf = true;
                }
            }
            if self.skip_line {
                self.skip_line = false;
                continue;
            }
            let dispatched = if self.line.is_empty() {
                self.on_line(Src::Chunk(start, end), out)
            } else {
                self.line.extend_from_slice(&self.chunk[start..end]);
                let n = self.line.len();
                let dispatched = self.on_line(Src::Line(0, n), out);
                self.line.clear();
                dispatched
            };
            if dispatched {
                return true;
            }
        }
    }

    /// True when nothing of the next event has been read and no line is
    /// cut: the state in which [`Parser::whole_event`] may start.
    fn between_events(&self) -> bool {
        self.started
            && !self.has_cr
            && !self.skip_lf
            && !self.skip_line
            && !self.discard
            && !self.id_pending
            && self.line.is_empty()
            && self.event.is_none()
            && matches!(self.data, Data::None)
    }

    /// The fast path, for an event wholly inside the chunk in the shape
    /// servers send: LF line ends, at most one `data` line, `id` and `event`
    /// fields, comments. It changes nothing unless it dispatches, so on
    /// anything else (no complete event left, several data lines, `retry`,
    /// unknown fields, bytes not yet known to be UTF-8, a NUL in an id, an
    /// event longer than the size limit) it answers false and the general
    /// parser reads the same bytes from the same place. Going through the
    /// general line handler cost three times as many instructions per event.
    fn whole_event(&mut self, out: &mut Slots) -> bool {
        let chunk = &self.chunk[..];
        let mut pos = self.pos;
        let mut data = None;
        let mut id = None;
        let mut event = None;
        loop {
            let Some(end) = self.lf.find(chunk, pos) else {
                return false;
            };
            let start = pos;
            pos = end + 1;
            let line = &chunk[start..end];
            let (field, value_at) = match line.first() {
                None if data.is_some() => break,
                // A blank line with no data before it: leave it to the
                // general parser, which knows what an id alone does.
                None => return false,
                Some(b':') => continue,
                // A second data line is joined to the first: not here.
                Some(b'd') if line.starts_with(b"data:") && data.is_none() => {
                    (&mut data, start + 5)
                }
                // A repeated id or event replaces the one before.
                Some(b'i') if line.starts_with(b"id:") => (&mut id, start + 3),
                Some(b'e') if line.starts_with(b"event:") => (&mut event, start + 6),
                Some(_) => return false,
            };
            let space = value_at < end && chunk[value_at] == b' ';
            *field = Some((value_at + usize::from(space), end));
        }
        let Some((data_from, data_to)) = data else {
            return false;
        };
        // Every field lies within the event's bytes, so one check of those
        // covers them all: known UTF-8, and each value shorter than the
        // limit (a value is shorter than its line).
        if self.pos < self.valid_from
            || pos > self.valid_to
            || pos - self.pos > self.max_size
            || id.is_some_and(|(a, b)| self.has_nul && chunk[a..b].contains(&0))
        {
            return false;
        }
        // SAFETY: inside the chunk's checked UTF-8, as `known_utf8`.
        let text = |(a, b): (usize, usize)| {
            Text::new(unsafe { std::str::from_utf8_unchecked(&chunk[a..b]) })
        };
        out.data.set_slice(&self.chunk, data_from, data_to);
        *out.event = Some(match event {
            Some((a, b)) if a < b => text((a, b)),
            _ => MESSAGE,
        });
        if let Some((a, b)) = id {
            self.id_buffer = Some(text((a, b)));
        }
        self.pos = pos;
        self.write_id(out);
        true
    }

    /// The event's id: the last event ID buffer, None when empty.
    #[inline]
    fn write_id(&self, out: &mut Slots) {
        *out.id = match &self.id_buffer {
            Some(id) if !id.is_empty() => Some(id.clone()),
            _ => None,
        };
    }

    /// Decide whether the stream opens with a BOM (which may itself be split
    /// across chunks) and skip it. False while too few bytes have come to
    /// tell.
    fn skip_bom(&mut self) -> bool {
        let rest = &self.chunk[self.pos..];
        let have = self.line.len() + rest.len();
        let mut head = self.line.to_vec();
        head.extend_from_slice(&rest[..rest.len().min(BOM.len())]);
        if have < BOM.len() && BOM.starts_with(&head) {
            self.line.extend_from_slice(rest);
            self.pos = self.chunk.len();
            return false;
        }
        self.started = true;
        if !self.line.is_empty() {
            // The first chunks were shorter than a BOM: parse them as one.
            let mut joined = std::mem::take(&mut self.line);
            joined.extend_from_slice(rest);
            self.set_chunk(joined.freeze());
        }
        if self.chunk[self.pos..].starts_with(BOM) {
            self.pos += BOM.len();
        }
        true
    }

    /// The chunk ended mid-line: keep that start for the next chunk.
    fn keep_partial(&mut self) {
        let rest = &self.chunk[self.pos..];
        self.pos = self.chunk.len();
        if self.skip_line {
            return;
        }
        // The longest line `on_line` could accept: "event: " and a value
        // one byte short of the limit. Past that, only the field name
        // matters: a comment or unknown field is ignored whatever its
        // length, a known one drops its event as `on_line` would.
        if self.line.len() + rest.len() > self.max_size + LONGEST_PREFIX {
            let mut head = [0u8; LONGEST_PREFIX];
            let n = self.line.len().min(LONGEST_PREFIX);
            head[..n].copy_from_slice(&self.line[..n]);
            let m = (LONGEST_PREFIX - n).min(rest.len());
            head[n..n + m].copy_from_slice(&rest[..m]);
            if Field::of_line(&head).is_some() {
                self.drop_event();
            }
            self.line.clear();
            self.skip_line = true;
            return;
        }
        self.line.extend_from_slice(rest);
    }

    /// The current event has a field too large to keep: drop it at its
    /// blank line, and say so.
    fn drop_event(&mut self) {
        self.data = Data::None;
        self.discard = true;
        self.overflow = true;
    }

    fn slice(&self, src: &Src) -> &[u8] {
        match *src {
            Src::Chunk(a, b) => &self.chunk[a..b],
            Src::Line(a, b) => &self.line[a..b],
        }
    }

    /// The bytes of `src`, shared with the chunk when they are in it.
    fn bytes(&self, src: &Src) -> Bytes {
        match *src {
            Src::Chunk(a, b) => self.chunk.slice(a..b),
            Src::Line(a, b) => Bytes::copy_from_slice(&self.line[a..b]),
        }
    }

    /// True when `src` is known to be UTF-8 without looking again. Field
    /// values start and end at ASCII bytes, so a slice of the chunk's valid
    /// part is itself valid.
    fn known_utf8(&self, src: &Src) -> bool {
        matches!(*src, Src::Chunk(start, end) if start >= self.valid_from && end <= self.valid_to)
    }

    /// The text of `src`, with U+FFFD for invalid UTF-8.
    fn text(&self, src: &Src) -> Text {
        let bytes = self.slice(src);
        if self.known_utf8(src) {
            // SAFETY: see `known_utf8`.
            return Text::new(unsafe { std::str::from_utf8_unchecked(bytes) });
        }
        match std::str::from_utf8(bytes) {
            Ok(s) => Text::new(s),
            Err(_) => Text::new(String::from_utf8_lossy(bytes)),
        }
    }

    /// Interpret one line; true when it dispatched an event to `out`.
    fn on_line(&mut self, src: Src, out: &mut Slots) -> bool {
        let line = self.slice(&src);
        if line.is_empty() {
            return self.dispatch(out);
        }
        let Some((field, value_start)) = Field::of_line(line) else {
            return false;
        };
        if line.len() - value_start >= self.max_size {
            self.drop_event();
            return false;
        }
        let value = match src {
            Src::Chunk(a, b) => Src::Chunk(a + value_start, b),
            Src::Line(a, b) => Src::Line(a + value_start, b),
        };
        match field {
            Field::Event => self.event = Some(self.text(&value)),
            Field::Data => self.push_data(&value),
            // An id containing NUL is ignored, per the spec.
            Field::Id if !self.slice(&value).contains(&0) => {
                let id = Some(self.text(&value));
                if self.id_pending {
                    self.id_buffer = id;
                } else {
                    self.last_id = std::mem::replace(&mut self.id_buffer, id);
                    self.id_pending = true;
                }
            }
            Field::Id => {}
            Field::Retry => {
                let digits = self.slice(&value);
                if !digits.is_empty() && digits.iter().all(u8::is_ascii_digit) {
                    // Absurdly long digit strings saturate rather than fail.
                    let ms = digits.iter().fold(0u64, |n, d| {
                        n.saturating_mul(10).saturating_add(u64::from(d - b'0'))
                    });
                    self.retry = Some(Duration::from_millis(ms));
                }
            }
        }
        false
    }

    fn push_data(&mut self, value: &Src) {
        if self.discard {
            return;
        }
        // The spec's buffer holds a LF after every line: count it.
        let held = match &self.data {
            Data::None => 0,
            Data::One(b, _) => b.len() + 1,
            Data::Many(m) => m.len() + 1,
        };
        if held + value.len() + 1 > self.max_size {
            self.drop_event();
            return;
        }
        match std::mem::take(&mut self.data) {
            Data::None => self.data = Data::One(self.bytes(value), self.known_utf8(value)),
            Data::One(first, _) => {
                let mut joined = BytesMut::with_capacity(first.len() + 1 + value.len());
                joined.extend_from_slice(&first);
                joined.extend_from_slice(b"\n");
                joined.extend_from_slice(self.slice(value));
                self.data = Data::Many(joined);
            }
            Data::Many(mut joined) => {
                joined.extend_from_slice(b"\n");
                joined.extend_from_slice(self.slice(value));
                self.data = Data::Many(joined);
            }
        }
    }

    fn dispatch(&mut self, out: &mut Slots) -> bool {
        self.id_pending = false;
        let event = self.event.take();
        let data = std::mem::take(&mut self.data);
        if std::mem::take(&mut self.discard) {
            return false;
        }
        *out.data = Body::from(match data {
            Data::None => return false,
            Data::One(b, true) => b,
            Data::One(b, false) => utf8(b),
            Data::Many(m) => utf8(m.freeze()),
        });
        *out.event = Some(event.filter(|e| !e.is_empty()).unwrap_or(MESSAGE));
        self.write_id(out);
        true
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
        if self.id_pending {
            self.last_id.as_deref()
        } else {
            self.id_buffer.as_deref()
        }
    }

    /// Start from this id (`--since`, a saved state) as if the stream had sent it.
    pub fn set_last_event_id(&mut self, id: Option<&str>) {
        self.id_buffer = id.map(Text::from);
        self.id_pending = false;
    }
}

enum Field {
    Event,
    Data,
    Id,
    Retry,
}

/// The longest field prefix with its colon and space: "event: ", "retry: ".
const LONGEST_PREFIX: usize = 7;

impl Field {
    /// The field a line sets and where its value starts; None for a
    /// comment or a field the spec ignores. Only the first
    /// [`LONGEST_PREFIX`] bytes of the line matter.
    fn of_line(line: &[u8]) -> Option<(Field, usize)> {
        if line.first() == Some(&b':') {
            return None;
        }
        let (name_end, value_start) = match memchr::memchr(b':', line) {
            Some(p) if line.get(p + 1) == Some(&b' ') => (p, p + 2),
            Some(p) => (p, p + 1),
            None => (line.len(), line.len()),
        };
        let field = match &line[..name_end] {
            b"event" => Field::Event,
            b"data" => Field::Data,
            b"id" => Field::Id,
            b"retry" => Field::Retry,
            _ => return None,
        };
        Some((field, value_start))
    }
}

/// The bytes as they are when they are UTF-8 (the usual case, and a fast
/// check), else a copy with U+FFFD for each bad sequence, as the spec
/// decodes the stream.
fn utf8(bytes: Bytes) -> Bytes {
    if std::str::from_utf8(&bytes).is_ok() {
        bytes
    } else {
        Bytes::from(String::from_utf8_lossy(&bytes).into_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(event: &str, data: &str, id: Option<&str>) -> Event {
        Event {
            event: event.into(),
            data: Bytes::copy_from_slice(data.as_bytes()),
            id: id.map(Text::from),
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
                ev("message", "second event", None),
                ev("message", " third event", None),
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
                ev("message", "c", None)
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
    fn fields_after_invalid_utf8_in_the_same_chunk_stay_exact() {
        // The chunk's one-time UTF-8 check stops at the bad byte; what
        // follows is checked field by field.
        assert_eq!(
            parse(b"data: a\xC3\xA9\n\ndata: \xFF\n\nid: \xC3\xA9\ndata: ok\n\n"),
            [
                ev("message", "a\u{e9}", None),
                ev("message", "\u{fffd}", None),
                ev("message", "ok", Some("\u{e9}")),
            ]
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
        // Cut anywhere in two, with a limit of 16: the events, the overflow.
        let cut_anywhere = |stream: &[u8], want: &str, overflow: bool| {
            for cut in 0..=stream.len() {
                let mut p = Parser::with_max_size(16);
                let mut got = p.feed(&stream[..cut]);
                got.extend(p.feed(&stream[cut..]));
                assert_eq!(got, [ev("message", want, None)], "cut at {cut}");
                assert_eq!(p.take_overflow(), overflow, "cut at {cut}");
            }
        };
        // A long comment or unknown field costs nothing.
        cut_anywhere(
            b"data: a\n: 0123456789abcdefXYZ\nx-pad: 0123456789abcdefXYZ\n\n",
            "a",
            false,
        );
        // A long id drops its event.
        cut_anywhere(
            b"id: 0123456789abcdefXYZ\ndata: a\n\ndata: b\n\n",
            "b",
            true,
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

/// The parser against a plain reading of the WHATWG algorithm, on streams
/// of the fields servers send and the ones they should not: whole (the
/// fast path takes most events), one byte at a time and in random splits
/// (the general parser takes them all).
#[cfg(test)]
mod differential {
    use super::*;
    use proptest::prelude::*;

    /// The spec's steps on the whole stream: decode, strip one BOM, split
    /// lines, interpret fields, dispatch on blank lines. Returns the
    /// events and the last event ID string at the end.
    fn reference(stream: &[u8]) -> (Vec<Event>, Option<String>) {
        let text = String::from_utf8_lossy(stream);
        let mut rest = text.strip_prefix('\u{feff}').unwrap_or(&text);
        let (mut events, mut data, mut kind) = (Vec::new(), String::new(), String::new());
        let (mut id_buffer, mut last_id) = (None::<String>, None::<String>);
        while let Some(end) = rest.find(['\r', '\n']) {
            let line = &rest[..end];
            rest = &rest[end
                + if rest[end..].starts_with("\r\n") {
                    2
                } else {
                    1
                }..];
            if line.is_empty() {
                last_id = id_buffer.clone();
                if !data.is_empty() {
                    data.pop();
                    events.push(Event {
                        event: if kind.is_empty() {
                            "message".into()
                        } else {
                            kind.as_str().into()
                        },
                        data: Bytes::from(std::mem::take(&mut data)),
                        id: last_id.as_deref().filter(|i| !i.is_empty()).map(Text::from),
                    });
                }
                data.clear();
                kind.clear();
                continue;
            }
            if line.starts_with(':') {
                continue;
            }
            let (field, value) = line.split_once(':').unwrap_or((line, ""));
            let value = value.strip_prefix(' ').unwrap_or(value);
            match field {
                "data" => {
                    data.push_str(value);
                    data.push('\n');
                }
                "event" => kind = value.to_string(),
                "id" if !value.contains('\0') => id_buffer = Some(value.to_string()),
                _ => {}
            }
        }
        (events, last_id)
    }

    /// Lines as servers write them, and as they should not.
    fn arb_line() -> impl Strategy<Value = Vec<u8>> {
        let value = proptest::collection::vec(
            prop_oneof![
                8 => proptest::sample::select(b"abz09 :-".to_vec()),
                1 => proptest::sample::select(vec![0u8, 0xC3, 0xA9, 0xFF, 0xE2, 0x82]),
            ],
            0..12,
        );
        let name = proptest::sample::select(vec![
            "data: ", "data:", "data", "id: ", "id:", "id", "event: ", "event:", "retry: ", ": ",
            "", "dat", "datax: ",
        ]);
        (name, value).prop_map(|(name, value)| {
            let mut line = name.as_bytes().to_vec();
            // A field named without a colon takes no value.
            if name.ends_with(':') || name.ends_with(' ') {
                line.extend(value);
            }
            line
        })
    }

    /// A stream of such lines, most ending in LF, some in CR or CRLF.
    fn arb_stream() -> impl Strategy<Value = Vec<u8>> {
        let ends =
            prop_oneof![8 => Just(&b"\n"[..]), 1 => Just(&b"\r"[..]), 1 => Just(&b"\r\n"[..])];
        (
            any::<bool>(),
            any::<bool>(),
            proptest::collection::vec((arb_line(), ends, any::<bool>()), 0..40),
        )
            .prop_map(|(bom, lf_only, lines)| {
                let mut s = if bom {
                    b"\xEF\xBB\xBF".to_vec()
                } else {
                    Vec::new()
                };
                for (line, end, blank) in lines {
                    let end = if lf_only { b"\n" } else { end };
                    s.extend(line);
                    s.extend(end);
                    // Events end in a blank line often enough to dispatch.
                    if blank {
                        s.extend(end);
                    }
                }
                s
            })
    }

    fn check(p: &mut Parser, got: &[Event], want: &(Vec<Event>, Option<String>), how: &str) {
        assert_eq!(got, &want.0[..], "{how}");
        assert_eq!(p.last_event_id(), want.1.as_deref(), "{how}: last event id");
    }

    proptest! {
        #[test]
        fn any_split_parses_as_the_spec_says(
            stream in arb_stream(),
            cuts in proptest::collection::vec(any::<proptest::sample::Index>(), 0..6),
        ) {
            let want = reference(&stream);
            let mut p = Parser::new();
            let got = p.feed(&stream);
            check(&mut p, &got, &want, "whole");

            let mut p = Parser::new();
            let got: Vec<Event> = stream.iter().flat_map(|b| p.feed(std::slice::from_ref(b))).collect();
            check(&mut p, &got, &want, "byte at a time");

            let mut cuts: Vec<usize> = cuts.iter().map(|c| c.index(stream.len() + 1)).collect();
            cuts.sort_unstable();
            let mut p = Parser::new();
            let (mut got, mut from) = (Vec::new(), 0);
            for cut in cuts.into_iter().chain([stream.len()]) {
                got.extend(p.feed(&stream[from..cut]));
                from = cut;
            }
            check(&mut p, &got, &want, "split");
        }
    }
}
