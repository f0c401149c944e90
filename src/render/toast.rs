//! `toast`: a small card per message, for people watching a terminal.
//!
//! ```text
//! ╭─ events · 14:05:46.123 · ws
//! │ {
//! │   "status": "ready"
//! │ }
//! ╰─
//! ```
//! The topic has a colour of its own, stable across runs, so interleaved
//! streams are easy to tell apart. JSON bodies are pretty-printed and
//! coloured; binary bodies are a hex dump. Every line fits the width.

use chrono::{DateTime, Local};
use colored::{Color, Colorize};
use serde_json::Value;

use crate::message::Message;

/// Colours that read well on dark and light backgrounds.
const PALETTE: [Color; 6] = [
    Color::Cyan,
    Color::Green,
    Color::Yellow,
    Color::Magenta,
    Color::Blue,
    Color::BrightRed,
];

/// Bytes of a binary body shown before "… N more bytes".
const HEX_LIMIT: usize = 256;

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

#[derive(Clone, Copy, PartialEq, Eq)]
enum Style {
    Plain,
    Key,
    Str,
    Num,
    Lit,
    Dim,
}

type Line = Vec<(String, Style)>;

pub fn card(out: &mut Vec<u8>, msg: &Message, color: bool, width: usize) {
    let tint = topic_color(&msg.topic);
    let paint = |s: &str, style: Style| -> String {
        if !color {
            return s.to_string();
        }
        match style {
            Style::Plain => s.to_string(),
            Style::Key => s.blue().bold().to_string(),
            Style::Str => s.green().to_string(),
            Style::Num => s.cyan().to_string(),
            Style::Lit => s.magenta().to_string(),
            Style::Dim => s.dimmed().to_string(),
        }
    };
    let border = |s: &str| {
        if color {
            s.color(tint).to_string()
        } else {
            s.to_string()
        }
    };

    // Header: ╭─ topic · event · #id · time · transport
    let time: DateTime<Local> = msg.received_at.into();
    let mut meta = Vec::new();
    if let Some(e) = &msg.event {
        meta.push(e.to_string());
    }
    if let Some(id) = &msg.id {
        meta.push(format!("#{id}"));
    }
    meta.push(time.format("%H:%M:%S%.3f").to_string());
    meta.push(msg.transport.to_string());
    let mut header: Line = vec![(msg.topic.to_string(), Style::Plain)];
    for m in meta {
        header.push((" · ".into(), Style::Dim));
        header.push((m, Style::Dim));
    }
    let header = wrap(&header, width.saturating_sub(3).max(8));
    for (i, line) in header.iter().enumerate() {
        out.extend_from_slice(border(if i == 0 { "╭─ " } else { "│  " }).as_bytes());
        for (j, (text, style)) in line.iter().enumerate() {
            let s = if i == 0 && j == 0 && color {
                text.color(tint).bold().to_string()
            } else {
                paint(text, *style)
            };
            out.extend_from_slice(s.as_bytes());
        }
        out.push(b'\n');
    }

    let body = if msg.binary {
        hex_dump(&msg.body)
    } else {
        let text = String::from_utf8_lossy(&msg.body);
        match serde_json::from_str::<Value>(&text) {
            Ok(v @ (Value::Object(_) | Value::Array(_))) => pretty(&v),
            _ => text
                .split('\n')
                .map(|l| vec![(l.trim_end_matches('\r').to_string(), Style::Plain)])
                .collect(),
        }
    };
    for line in body {
        for piece in wrap(&line, width.saturating_sub(2).max(8)) {
            out.extend_from_slice(border("│ ").as_bytes());
            for (text, style) in &piece {
                out.extend_from_slice(paint(text, *style).as_bytes());
            }
            out.push(b'\n');
        }
    }
    out.extend_from_slice(border("╰─").as_bytes());
    out.push(b'\n');
}

/// Split a styled line into lines of at most `width` characters. Control
/// characters are shown as `�` so they cannot move the cursor.
fn wrap(line: &Line, width: usize) -> Vec<Line> {
    let mut lines: Vec<Line> = vec![Vec::new()];
    let mut used = 0;
    for (text, style) in line {
        let mut piece = String::new();
        for c in text.chars() {
            let c = match c {
                '\t' => ' ',
                c if c.is_control() => '\u{fffd}',
                c => c,
            };
            if used == width {
                let full = std::mem::take(&mut piece);
                push_piece(&mut lines, full, *style);
                lines.push(Vec::new());
                used = 0;
            }
            piece.push(c);
            used += 1;
        }
        push_piece(&mut lines, piece, *style);
    }
    lines
}

fn push_piece(lines: &mut [Line], piece: String, style: Style) {
    if let Some(last) = lines.last_mut()
        && !piece.is_empty()
    {
        last.push((piece, style));
    }
}

/// JSON as 2-space indented lines of styled pieces.
fn pretty(v: &Value) -> Vec<Line> {
    let mut lines = Vec::new();
    let mut current: Line = Vec::new();
    emit(v, 0, &mut current, &mut lines);
    lines.push(current);
    lines
}

fn emit(v: &Value, indent: usize, cur: &mut Line, lines: &mut Vec<Line>) {
    let pad = |n: usize| ("  ".repeat(n), Style::Plain);
    let json = |s: &str| serde_json::to_string(s).unwrap_or_default();
    match v {
        Value::Object(map) if !map.is_empty() => {
            cur.push(("{".into(), Style::Plain));
            let n = map.len();
            for (i, (k, val)) in map.iter().enumerate() {
                lines.push(std::mem::take(cur));
                cur.push(pad(indent + 1));
                cur.push((json(k), Style::Key));
                cur.push((": ".into(), Style::Plain));
                emit(val, indent + 1, cur, lines);
                if i + 1 < n {
                    cur.push((",".into(), Style::Plain));
                }
            }
            lines.push(std::mem::take(cur));
            cur.push(pad(indent));
            cur.push(("}".into(), Style::Plain));
        }
        Value::Array(items) if !items.is_empty() => {
            cur.push(("[".into(), Style::Plain));
            let n = items.len();
            for (i, item) in items.iter().enumerate() {
                lines.push(std::mem::take(cur));
                cur.push(pad(indent + 1));
                emit(item, indent + 1, cur, lines);
                if i + 1 < n {
                    cur.push((",".into(), Style::Plain));
                }
            }
            lines.push(std::mem::take(cur));
            cur.push(pad(indent));
            cur.push(("]".into(), Style::Plain));
        }
        Value::Object(_) => cur.push(("{}".into(), Style::Plain)),
        Value::Array(_) => cur.push(("[]".into(), Style::Plain)),
        Value::String(s) => cur.push((json(s), Style::Str)),
        Value::Number(n) => cur.push((n.to_string(), Style::Num)),
        Value::Bool(b) => cur.push((b.to_string(), Style::Lit)),
        Value::Null => cur.push(("null".into(), Style::Lit)),
    }
}

/// `0000  00 01 … 0f  |................|`, 16 bytes a row.
fn hex_dump(bytes: &[u8]) -> Vec<Line> {
    let mut lines = Vec::new();
    for (row, chunk) in bytes[..bytes.len().min(HEX_LIMIT)].chunks(16).enumerate() {
        let hex: Vec<String> = chunk.iter().map(|b| format!("{b:02x}")).collect();
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
        lines.push(vec![
            (format!("{:04x}  ", row * 16), Style::Dim),
            (format!("{:<48}", hex.join(" ")), Style::Plain),
            (format!(" |{ascii}|"), Style::Dim),
        ]);
    }
    if bytes.len() > HEX_LIMIT {
        lines.push(vec![(
            format!("… {} more bytes", bytes.len() - HEX_LIMIT),
            Style::Dim,
        )]);
    }
    if bytes.is_empty() {
        lines.push(vec![("(empty binary message)".into(), Style::Dim)]);
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::Format;
    use crate::render::tests::{msg, render};

    fn strip_ansi(s: &str) -> String {
        let mut out = String::new();
        let mut in_esc = false;
        for c in s.chars() {
            match (in_esc, c) {
                (false, '\x1b') => in_esc = true,
                (true, 'm') => in_esc = false,
                (true, _) => {}
                (false, c) => out.push(c),
            }
        }
        out
    }

    #[test]
    fn json_bodies_are_pretty_printed_in_a_card() {
        let out = render(
            Format::Toast,
            false,
            80,
            &msg("events", br#"{"status":"ready","n":[1,true,null]}"#, false),
        );
        let s = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = s.lines().collect();
        assert!(
            lines[0].starts_with("╭─ events · ") && lines[0].ends_with(" · ws"),
            "{s}"
        );
        assert_eq!(
            &lines[1..],
            [
                "│ {",
                "│   \"status\": \"ready\",",
                "│   \"n\": [",
                "│     1,",
                "│     true,",
                "│     null",
                "│   ]",
                "│ }",
                "╰─"
            ]
        );
        assert!(!s.contains('\x1b'));
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
    fn no_line_is_wider_than_the_terminal() {
        let long = "word ".repeat(100) + "\n" + &"x".repeat(333);
        for width in [20, 41, 80] {
            for color in [false, true] {
                for body in [long.as_bytes(), &[7u8; 600][..]] {
                    let binary = body[0] == 7;
                    let s = String::from_utf8(render(
                        Format::Toast,
                        color,
                        width,
                        &msg("a-rather-long-topic-name/with/parts", body, binary),
                    ))
                    .unwrap();
                    for line in strip_ansi(&s).lines() {
                        assert!(line.chars().count() <= width, "{width}: {line:?}");
                    }
                }
            }
        }
    }

    #[test]
    fn binary_is_a_hex_dump() {
        let s = String::from_utf8(render(
            Format::Toast,
            false,
            100,
            &msg("b", b"AB\x00", true),
        ))
        .unwrap();
        assert!(s.contains("0000  41 42 00"), "{s}");
        assert!(s.contains("|AB.|"), "{s}");
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
