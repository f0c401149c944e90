//! `toast`: a small card per message, for people watching a terminal.
//!
//! ```text
//! ╭─ events · 14:05:46.123 · ws
//! │ {"status": "ready", "n": [1, true, null]}
//! ╰─
//! ```
//! The topic has a colour of its own, stable across runs, so interleaved
//! streams are easy to tell apart; no JSON token is drawn in a topic's
//! colour. A JSON value that fits on one line is printed on one line, a
//! larger one indented (its small parts still on one line each). An empty
//! body says `(empty)`, a binary one `binary, N bytes` above a hex dump as
//! wide as the terminal allows.
//!
//! Every line fits the width in display columns ([`super::wrap`]): long
//! lines are word-wrapped with a hanging indent, a JSON string inside its
//! indent. There is no right border: where a terminal draws a glyph
//! narrower than it was counted (see `wrap::cluster_width`) a right border
//! would be ragged, and a left one never is.
//!
//! [`card`] is a pure function of the message, the width and colour on or
//! off (and the local time zone), so every layout is a unit test.

use chrono::{DateTime, Local};
use colored::{Color, Colorize};
use serde_json::Value;

use super::wrap::{self, Row};
use crate::message::Message;

/// Topic colours: they read on dark and light backgrounds, and none is a
/// colour [`Style`] gives a JSON token (blue, green, cyan), so a border
/// is never mistaken for a key or a string.
const PALETTE: [Color; 6] = [
    Color::Yellow,
    Color::Magenta,
    Color::Red,
    Color::BrightYellow,
    Color::BrightMagenta,
    Color::BrightRed,
];

/// Bytes of a binary body shown before "… N more bytes".
const HEX_LIMIT: usize = 256;

/// The narrowest card laid out; narrower terminals wrap it.
pub const MIN_WIDTH: usize = 20;

/// How much further in than its line a wrapped row starts.
const HANG: usize = 2;

/// The topic's colour: FNV-1a of its bytes, so it is the same in every run
/// (std's hasher is seeded randomly).
pub fn topic_color(topic: &str) -> Color {
    let mut h: u32 = 0x811c_9dc5;
    for b in topic.bytes() {
        h ^= u32::from(b);
        h = h.wrapping_mul(0x0100_0193);
    }
    PALETTE[(h % PALETTE.len() as u32) as usize]
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Style {
    Plain,
    /// The topic's name, in its colour.
    Topic,
    Key,
    Str,
    /// Numbers, true, false and null.
    Num,
    Dim,
}

impl Style {
    /// The colour a JSON token is drawn in (see [`PALETTE`]).
    fn color(self) -> Option<Color> {
        match self {
            Style::Key => Some(Color::Blue),
            Style::Str => Some(Color::Green),
            Style::Num => Some(Color::Cyan),
            Style::Plain | Style::Topic | Style::Dim => None,
        }
    }
}

type Line = Vec<wrap::Piece<Style>>;

/// Render `msg` as a card `width` columns wide (at least [`MIN_WIDTH`]).
pub fn card(out: &mut Vec<u8>, msg: &Message, color: bool, width: usize) {
    let width = width.max(MIN_WIDTH);
    let tint = topic_color(&msg.topic);
    let border = |out: &mut Vec<u8>, s: &str| {
        if color {
            out.extend_from_slice(s.color(tint).to_string().as_bytes());
        } else {
            out.extend_from_slice(s.as_bytes());
        }
    };
    let row = |out: &mut Vec<u8>, row: &Row<Style>| {
        out.resize(out.len() + row.indent, b' ');
        for (text, style) in &row.pieces {
            paint(out, text, *style, color, tint);
        }
        out.push(b'\n');
    };

    // ╭─ topic · event · #id · retained · time · transport; continued after "│  ".
    for (i, r) in header(msg, width - 3).iter().enumerate() {
        border(out, if i == 0 { "╭─ " } else { "│  " });
        row(out, r);
    }
    let inside = width - 2;
    for line in body(msg, inside) {
        for r in wrap::wrap(&line, inside, HANG) {
            border(out, "│ ");
            row(out, &r);
        }
    }
    border(out, "╰─");
    out.push(b'\n');
}

fn paint(out: &mut Vec<u8>, text: &str, style: Style, color: bool, tint: Color) {
    if !color {
        out.extend_from_slice(text.as_bytes());
        return;
    }
    let painted = match (style, style.color()) {
        (Style::Topic, _) => text.color(tint).bold(),
        (Style::Dim, _) => text.dimmed(),
        (Style::Key, Some(c)) => text.color(c).bold(),
        (_, Some(c)) => text.color(c),
        (_, None) => text.normal(),
    };
    out.extend_from_slice(painted.to_string().as_bytes());
}

/// topic · event · #id · retained · time · transport, in rows of `width`: an item
/// goes on the next row when it does not fit after a ` · `, and only an
/// item wider than a whole row (a long topic) is broken.
fn header(msg: &Message, width: usize) -> Vec<Row<Style>> {
    let time: DateTime<Local> = msg.received_at.into();
    let mut items = vec![(msg.topic.to_string(), Style::Topic)];
    if let Some(e) = &msg.event {
        items.push((e.to_string(), Style::Dim));
    }
    if let Some(id) = &msg.id {
        items.push((format!("#{id}"), Style::Dim));
    }
    // An MQTT retained message is the broker's last one, not news.
    if msg
        .headers
        .iter()
        .any(|(k, v)| k == "retain" && v == "true")
    {
        items.push(("retained".to_string(), Style::Dim));
    }
    items.push((time.format("%H:%M:%S%.3f").to_string(), Style::Dim));
    items.push((msg.transport.to_string(), Style::Dim));

    let mut rows: Vec<Row<Style>> = Vec::new();
    let mut used = 0;
    for item in items {
        // Wrapped alone, so that a control character in an event name is
        // escaped and a long topic broken.
        let mut parts = wrap::wrap(&[item], width, 0);
        let w = |r: &Row<Style>| -> usize { r.pieces.iter().map(|(t, _)| wrap::width(t)).sum() };
        match (rows.last_mut(), parts.as_slice()) {
            (Some(last), [one]) if used + 3 + w(one) <= width => {
                used += 3 + w(one);
                last.pieces.push((" · ".into(), Style::Dim));
                last.pieces.extend(parts.remove(0).pieces);
            }
            _ => {
                used = parts.last().map_or(0, w);
                rows.extend(parts);
            }
        }
    }
    rows
}

/// The body's lines, before wrapping, for rows `inside` columns wide.
fn body(msg: &Message, inside: usize) -> Vec<Line> {
    if msg.binary {
        return hex_dump(&msg.body, inside);
    }
    if msg.body.is_empty() {
        return vec![vec![("(empty)".into(), Style::Dim)]];
    }
    let text = String::from_utf8_lossy(&msg.body);
    // Only an object or an array is laid out: text that cannot start one
    // is not parsed at all.
    let structured = text
        .trim_start()
        .starts_with(['{', '['])
        .then(|| serde_json::from_str::<Value>(&text).ok())
        .flatten();
    match structured {
        Some(v @ (Value::Object(_) | Value::Array(_))) => json(&v, inside),
        // A file sent whole ends with a line feed: not a line of its own.
        _ => text
            .strip_suffix('\n')
            .unwrap_or(&text)
            .split('\n')
            .map(|l| vec![(l.trim_end_matches('\r').to_string(), Style::Plain)])
            .collect(),
    }
}

/// JSON as 2-space indented lines of styled pieces; an object or array
/// that fits on the rest of its line stays on it.
fn json(v: &Value, inside: usize) -> Vec<Line> {
    let mut lines = Vec::new();
    let mut current: Line = Vec::new();
    emit(v, 0, &mut current, &mut lines, inside);
    lines.push(current);
    lines
}

fn emit(v: &Value, indent: usize, cur: &mut Line, lines: &mut Vec<Line>, inside: usize) {
    let used: usize = cur.iter().map(|(t, _)| wrap::width(t)).sum();
    // Room for a comma after it.
    if flat_width(v, inside.saturating_sub(used + 1)).is_some() {
        flat(v, cur);
        return;
    }
    let pad = |n: usize| ("  ".repeat(n), Style::Plain);
    let (open, close, items): (_, _, Vec<(Option<&String>, &Value)>) = match v {
        Value::Object(map) => ("{", "}", map.iter().map(|(k, v)| (Some(k), v)).collect()),
        Value::Array(items) => ("[", "]", items.iter().map(|v| (None, v)).collect()),
        _ => return flat(v, cur),
    };
    cur.push((open.into(), Style::Plain));
    let n = items.len();
    for (i, (key, item)) in items.into_iter().enumerate() {
        lines.push(std::mem::take(cur));
        cur.push(pad(indent + 1));
        if let Some(k) = key {
            cur.push((quoted(k), Style::Key));
            cur.push((": ".into(), Style::Plain));
        }
        emit(item, indent + 1, cur, lines, inside);
        if i + 1 < n {
            cur.push((",".into(), Style::Plain));
        }
    }
    lines.push(std::mem::take(cur));
    cur.push(pad(indent));
    cur.push((close.into(), Style::Plain));
}

/// `v` on one line: `{"a": 1, "b": [true, null]}`.
fn flat(v: &Value, cur: &mut Line) {
    match v {
        Value::Object(map) => {
            cur.push(("{".into(), Style::Plain));
            for (i, (k, val)) in map.iter().enumerate() {
                if i > 0 {
                    cur.push((", ".into(), Style::Plain));
                }
                cur.push((quoted(k), Style::Key));
                cur.push((": ".into(), Style::Plain));
                flat(val, cur);
            }
            cur.push(("}".into(), Style::Plain));
        }
        Value::Array(items) => {
            cur.push(("[".into(), Style::Plain));
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    cur.push((", ".into(), Style::Plain));
                }
                flat(item, cur);
            }
            cur.push(("]".into(), Style::Plain));
        }
        Value::String(s) => cur.push((quoted(s), Style::Str)),
        Value::Number(n) => cur.push((n.to_string(), Style::Num)),
        Value::Bool(b) => cur.push((b.to_string(), Style::Num)),
        Value::Null => cur.push(("null".into(), Style::Num)),
    }
}

/// The columns [`flat`] takes for `v`, or None when more than `room`. It
/// stops as soon as `room` is used up, so checking every level of a large
/// document costs no more than a line's worth of each.
fn flat_width(v: &Value, room: usize) -> Option<usize> {
    let w = match v {
        Value::Object(map) => {
            let mut w = 2 + 2 * map.len().saturating_sub(1);
            for (k, val) in map {
                w += string_width(k, room.checked_sub(w)?)? + 2;
                w += flat_width(val, room.checked_sub(w)?)?;
            }
            w
        }
        Value::Array(items) => {
            let mut w = 2 + 2 * items.len().saturating_sub(1);
            for item in items {
                w += flat_width(item, room.checked_sub(w)?)?;
            }
            w
        }
        Value::String(s) => string_width(s, room)?,
        Value::Number(n) => n.to_string().len(),
        Value::Bool(b) => b.to_string().len(),
        Value::Null => 4,
    };
    (w <= room).then_some(w)
}

/// The columns of `s` quoted, or None when more than `room`. A string of
/// more than four bytes a column cannot fit (zero-width characters aside,
/// which then only cost it a line of its own).
fn string_width(s: &str, room: usize) -> Option<usize> {
    if s.len() > 4 * room {
        return None;
    }
    Some(wrap::width(&quoted(s))).filter(|&w| w <= room)
}

/// A JSON string literal (escaped; no control character is left raw).
fn quoted(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_default()
}

/// `binary, N bytes`, then `0000 00 01 … 0f  ................`: 16 bytes a
/// row, 8 or 4 where the card is narrower (below 22 columns inside, 4
/// without the text column).
fn hex_dump(bytes: &[u8], inside: usize) -> Vec<Line> {
    let plural = if bytes.len() == 1 { "" } else { "s" };
    let mut lines = vec![vec![(
        format!("binary, {} byte{plural}", bytes.len()),
        Style::Dim,
    )]];
    // A row: offset, space, 3 columns a byte less one, 2 spaces, a column a byte.
    let (per_row, text) = [16, 8, 4]
        .into_iter()
        .find(|n| 4 * n + 6 <= inside)
        .map_or((4, false), |n| (n, true));
    let shown = &bytes[..bytes.len().min(HEX_LIMIT)];
    for (row, chunk) in shown.chunks(per_row).enumerate() {
        let hex: Vec<String> = chunk.iter().map(|b| format!("{b:02x}")).collect();
        let mut line = vec![
            (format!("{:04x} ", row * per_row), Style::Dim),
            (hex.join(" "), Style::Plain),
        ];
        if text {
            let ascii: String = chunk
                .iter()
                .map(|&b| {
                    if b.is_ascii_graphic() || b == b' ' {
                        b as char
                    } else {
                        '.'
                    }
                })
                .collect();
            let pad = 3 * (per_row - chunk.len()) + 2;
            line.push((" ".repeat(pad), Style::Plain));
            line.push((ascii, Style::Dim));
        }
        lines.push(line);
    }
    if bytes.len() > HEX_LIMIT {
        lines.push(vec![(
            format!("… {} more bytes", bytes.len() - HEX_LIMIT),
            Style::Dim,
        )]);
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::Format;
    use crate::render::tests::{msg, render};
    use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

    /// The text and the SGR parameters it was drawn with.
    fn spans(s: &str) -> Vec<(String, String)> {
        let mut out = vec![(String::new(), String::new())];
        let mut rest = s;
        while let Some(c) = rest.chars().next() {
            if let Some(seq) = rest.strip_prefix("\x1b[") {
                let end = seq.find('m').unwrap();
                out.push((seq[..end].to_string(), String::new()));
                rest = &seq[end + 1..];
            } else {
                out.last_mut().unwrap().1.push(c);
                rest = &rest[c.len_utf8()..];
            }
        }
        out
    }

    fn strip_ansi(s: &str) -> String {
        spans(s).into_iter().map(|(_, text)| text).collect()
    }

    /// The most columns any terminal draws `line` in: unicode-width's
    /// count for the string or the sum of its characters', whichever is
    /// larger (terminals that do not join emoji sequences draw the sum).
    fn columns(line: &str) -> usize {
        let sum: usize = line.chars().map(|c| c.width().unwrap_or(0)).sum();
        sum.max(line.width())
    }

    fn card_text(width: usize, m: &Message) -> String {
        String::from_utf8(render(Format::Toast, false, width, m)).unwrap()
    }

    /// The card's lines after its header (which ends with the transport,
    /// `ws`), without the bottom border.
    fn body_lines(card: &str) -> Vec<&str> {
        let lines: Vec<&str> = card.lines().collect();
        let start = lines.iter().position(|l| l.ends_with(" ws")).unwrap() + 1;
        lines[start..lines.len() - 1].to_vec()
    }

    /// What the issue measured, and what cards must survive: every line
    /// within the width in display columns, and every line between the
    /// top and the bottom border carrying the left border.
    #[test]
    fn every_line_fits_the_width_and_carries_the_border() {
        let long_word = format!("see https://example.com/{}", "a".repeat(150));
        let nested = r#"{"user":{"名前":"山田太郎","tags":["管理者","开发者"],"bio":"A long biography that goes on and on, with words enough to wrap at any width at all","deep":{"a":[1,2,{"b":[true,null,"x"]}]}},"emoji":"👨‍👩‍👧 family 🇫🇷🇯🇵 flags"}"#;
        let bodies: [(&str, Vec<u8>, bool); 12] = [
            (
                "ascii",
                "The quick brown fox jumps over the lazy dog. ".repeat(5).into(),
                false,
            ),
            (
                "cjk",
                "日本語のテキストは二列の幅で表示されます。中文文本也是如此。한국어도 마찬가지입니다."
                    .repeat(2)
                    .into(),
                false,
            ),
            (
                "emoji",
                "family 👨‍👩‍👧‍👦👩‍💻🧑🏽‍🚀 flags 🇫🇷🇯🇵🇺🇸🏴󠁧󠁢󠁳󠁣󠁴󠁿 hearts ❤️❤️❤️ thumbs 👍🏽👍🏿"
                    .repeat(3)
                    .into(),
                false,
            ),
            (
                "combining",
                "e\u{301}e\u{301}a\u{308}o\u{302}n\u{303} Zalgo: Z\u{36b}\u{343}a\u{36a}\u{302}l\u{35b}g\u{34c}o\u{33e} "
                    .repeat(6)
                    .into(),
                false,
            ),
            ("tabs", b"col1\tcol2\tcol3\tcol4\tcol5\tcol6\tcol7\tcol8\tcol9\n\t\t\t\t\t\tdeep".to_vec(), false),
            ("long word", long_word.into(), false),
            ("unbroken cjk", "漢".repeat(120).into(), false),
            ("nested json", nested.into(), false),
            ("binary", (0..=255u8).cycle().take(300).collect(), true),
            ("controls", b"\x1b[2J\x1b]0;title\x07bell\x08\x7f\r\nnext".to_vec(), false),
            ("empty", Vec::new(), false),
            ("zwj chain", "👨‍👩‍👧‍👦‍".repeat(40).into(), false),
        ];
        for width in [20, 40, 80] {
            for color in [false, true] {
                for (what, body, binary) in &bodies {
                    let mut m = msg("a-rather-long-topic-name/with/parts", body, *binary);
                    m.event = Some("update".into());
                    m.id = Some("1234567".into());
                    let out = String::from_utf8(render(Format::Toast, color, width, &m)).unwrap();
                    let plain = strip_ansi(&out);
                    let lines: Vec<&str> = plain.lines().collect();
                    assert!(lines[0].starts_with("╭─ "), "{what} at {width}: {plain}");
                    assert_eq!(lines[lines.len() - 1], "╰─", "{what} at {width}: {plain}");
                    for line in &lines {
                        assert!(
                            columns(line) <= width,
                            "{what} at {width}: {} columns: {line:?}",
                            columns(line)
                        );
                        assert!(
                            !line.chars().any(char::is_control),
                            "{what} at {width}: a raw control character: {line:?}"
                        );
                    }
                    for line in &lines[1..lines.len() - 1] {
                        assert!(line.starts_with("│ "), "{what} at {width}: {line:?}");
                    }
                }
            }
        }
    }

    #[test]
    fn a_retained_message_says_so_in_the_header() {
        let mut m = msg("config/mode", b"eco", false);
        let plain = card_text(80, &m);
        assert!(!plain.contains("retained"), "{plain}");
        m.headers.push(("retain".into(), "true".into()));
        let plain = card_text(80, &m);
        let header = plain.lines().next().unwrap();
        assert!(
            header.starts_with("╭─ config/mode · retained · "),
            "{plain}"
        );
    }

    #[test]
    fn small_json_is_printed_on_one_line() {
        let m = msg("events", br#"{"status":"ready","n":[1,true,null]}"#, false);
        assert_eq!(
            body_lines(&card_text(80, &m)),
            [r#"│ {"status": "ready", "n": [1, true, null]}"#]
        );
    }

    /// JSON after leading space is laid out; text that only looks like it,
    /// and a JSON scalar, stay text as they came.
    #[test]
    fn only_an_object_or_array_is_laid_out_as_json() {
        let card = |body: &[u8]| body_lines(&card_text(80, &msg("t", body, false))).join("\n");
        assert_eq!(card(b" \n{\"a\":1}"), r#"│ {"a": 1}"#);
        assert_eq!(card(b"{not json"), "│ {not json");
        assert_eq!(card(b"\"quoted\""), r#"│ "quoted""#);
        assert_eq!(card(b"42"), "│ 42");
    }

    #[test]
    fn larger_json_is_indented_with_its_small_parts_on_one_line() {
        let m = msg(
            "events",
            br#"{"status":"ready","n":[1,true,null],"nested":{"a":{"b":"c"}},"e":[],"o":{}}"#,
            false,
        );
        assert_eq!(
            body_lines(&card_text(40, &m)),
            [
                "│ {",
                "│   \"status\": \"ready\",",
                "│   \"n\": [1, true, null],",
                "│   \"nested\": {\"a\": {\"b\": \"c\"}},",
                "│   \"e\": [],",
                "│   \"o\": {}",
                "│ }",
            ]
        );
        // Narrower, the inner values open up too.
        assert_eq!(
            body_lines(&card_text(20, &m))[..8],
            [
                "│ {",
                "│   \"status\":",
                "│     \"ready\",",
                "│   \"n\": [",
                "│     1,",
                "│     true,",
                "│     null",
                "│   ],",
            ]
        );
    }

    #[test]
    fn a_json_string_wraps_inside_its_indent() {
        let m = msg(
            "t",
            br#"{"list":[{"text":"one two three four five six seven eight nine ten"}]}"#,
            false,
        );
        assert_eq!(
            body_lines(&card_text(30, &m)),
            [
                "│ {",
                "│   \"list\": [",
                "│     {",
                "│       \"text\": \"one two three",
                "│         four five six seven",
                "│         eight nine ten\"",
                "│     }",
                "│   ]",
                "│ }",
            ]
        );
    }

    #[test]
    fn long_text_wraps_at_words_with_a_hanging_indent() {
        let m = msg("t", b"the quick brown fox jumps over the lazy dog", false);
        assert_eq!(
            body_lines(&card_text(20, &m)),
            [
                "│ the quick brown",
                "│   fox jumps over",
                "│   the lazy dog",
            ]
        );
    }

    #[test]
    fn cjk_wraps_by_columns_not_characters() {
        // 20 ideographs, 40 columns: two rows of 9 (18 columns) and one of 2.
        let m = msg("t", "漢".repeat(20).as_bytes(), false);
        let lines = card_text(20, &m);
        let body = body_lines(&lines);
        assert_eq!(body[0], format!("│ {}", "漢".repeat(9)));
        assert_eq!(body[1], format!("│   {}", "漢".repeat(8)));
        assert_eq!(body[2], format!("│   {}", "漢".repeat(3)));
    }

    #[test]
    fn a_final_line_feed_is_not_a_line() {
        let m = msg("t", b"one\r\ntwo\r\n", false);
        assert_eq!(body_lines(&card_text(40, &m)), ["│ one", "│ two"]);
        assert_eq!(body_lines(&card_text(40, &msg("t", b"\n", false))), ["│ "]);
    }

    #[test]
    fn tabs_go_to_tab_stops() {
        let m = msg("t", b"a\tb\n\tc", false);
        assert_eq!(
            body_lines(&card_text(40, &m)),
            ["│ a       b", "│         c"]
        );
    }

    #[test]
    fn control_characters_are_escaped() {
        let m = msg("t", b"\x1b[2Jhi\x07", false);
        assert_eq!(body_lines(&card_text(40, &m)), [r"│ \x1b[2Jhi\x07"]);
    }

    #[test]
    fn empty_and_binary_bodies_say_so() {
        assert_eq!(
            body_lines(&card_text(40, &msg("t", b"", false))),
            ["│ (empty)"]
        );
        assert_eq!(
            body_lines(&card_text(40, &msg("t", b"", true))),
            ["│ binary, 0 bytes"]
        );
        let one = card_text(40, &msg("t", b"A", true));
        assert_eq!(body_lines(&one)[0], "│ binary, 1 byte");
        let many = card_text(80, &msg("t", &[0u8; 37], true));
        assert_eq!(body_lines(&many)[0], "│ binary, 37 bytes");
    }

    #[test]
    fn hex_dump_rows_fit_the_width() {
        let bytes: Vec<u8> = (0x41..0x41 + 20).collect();
        let m = msg("b", &bytes, true);
        let rows = |width| -> Vec<String> {
            body_lines(&card_text(width, &m))[1..]
                .iter()
                .map(|s| s.to_string())
                .collect()
        };
        assert_eq!(
            rows(80),
            [
                "│ 0000 41 42 43 44 45 46 47 48 49 4a 4b 4c 4d 4e 4f 50  ABCDEFGHIJKLMNOP",
                "│ 0010 51 52 53 54                                      QRST",
            ]
        );
        assert_eq!(
            rows(40),
            [
                "│ 0000 41 42 43 44 45 46 47 48  ABCDEFGH",
                "│ 0008 49 4a 4b 4c 4d 4e 4f 50  IJKLMNOP",
                "│ 0010 51 52 53 54              QRST",
            ]
        );
        assert_eq!(rows(20)[..2], ["│ 0000 41 42 43 44", "│ 0004 45 46 47 48"]);
        // Control bytes are dots in the text column.
        let dots = card_text(80, &msg("b", b"AB\x00\x1b", true));
        assert!(dots.contains("0000 41 42 00 1b"), "{dots}");
        assert!(dots.contains("  AB.."), "{dots}");
    }

    #[test]
    fn a_topics_colour_is_never_a_json_tokens() {
        let body = br#"{"key":"string","n":1,"t":true,"z":null}"#;
        let colours = |params: &str| -> Vec<String> {
            params
                .split(';')
                .filter(|p| matches!(p.parse::<u8>(), Ok(30..=37 | 90..=97)))
                .map(String::from)
                .collect()
        };
        for topic in ["a", "b", "c", "d", "e", "f", "g", "h", "events", "jobs"] {
            let out = String::from_utf8(render(Format::Toast, true, 80, &msg(topic, body, false)))
                .unwrap();
            let (mut borders, mut tokens) = (Vec::new(), Vec::new());
            for (params, text) in spans(&out) {
                if text.starts_with(['╭', '│', '╰']) || text == topic {
                    borders.extend(colours(&params));
                } else {
                    tokens.extend(colours(&params));
                }
            }
            assert!(!borders.is_empty() && !tokens.is_empty(), "{out:?}");
            for b in &borders {
                assert!(
                    !tokens.contains(b),
                    "{topic}: border colour {b} is a token's: {out:?}"
                );
            }
        }
    }

    #[test]
    fn colour_only_when_asked() {
        let m = msg("events", br#"{"a":1}"#, false);
        assert!(
            String::from_utf8(render(Format::Toast, true, 80, &m))
                .unwrap()
                .contains('\x1b')
        );
        assert!(
            !String::from_utf8(render(Format::Toast, false, 80, &m))
                .unwrap()
                .contains('\x1b')
        );
    }

    #[test]
    fn topic_colour_is_stable() {
        assert_eq!(topic_color("events"), topic_color("events"));
        let distinct: std::collections::HashSet<String> = ["a", "b", "c", "d", "e", "f", "g", "h"]
            .iter()
            .map(|t| format!("{:?}", topic_color(t)))
            .collect();
        assert!(distinct.len() > 1);
    }
}
