//! `raw` and `line`: the hot paths, so they write slices straight into the
//! buffer and allocate nothing for ordinary text.

use std::io::{self, Write};

use crate::message::Message;

/// The body byte-exact, then `\n`.
pub fn raw(out: &mut impl Write, msg: &Message) -> io::Result<()> {
    out.write_all(&msg.body)?;
    out.write_all(b"\n")
}

/// One line: binary as lowercase hex; text with `\r` and `\n` written as the
/// two characters `\r` and `\n` so one message stays one line (other bytes
/// are kept, invalid UTF-8 replaced). On a `terminal`, other control
/// characters but tab are written as `\xNN` too: a server's escape
/// sequences must not move the cursor, retitle the window or worse.
pub fn line(out: &mut impl Write, msg: &Message, terminal: bool) -> io::Result<()> {
    if msg.binary {
        write_hex(out, &msg.body)?;
    } else {
        text(out, &msg.body, terminal)?;
    }
    out.write_all(b"\n")
}

/// Text as `line` writes a body: `\r` and `\n` escaped, invalid UTF-8
/// replaced, and on a `terminal` other control characters as `\xNN`.
/// `--format` writes every field it substitutes this way.
/// ASCII is checked first, as `session::is_text` does: for short bodies it
/// is cheaper than `from_utf8` alone, whose fast path wants aligned words.
#[inline]
pub fn text(out: &mut impl Write, body: &[u8], terminal: bool) -> io::Result<()> {
    if !terminal && is_plain(body) {
        return out.write_all(body);
    }
    if !body.is_ascii() && std::str::from_utf8(body).is_err() {
        return not_utf8(out, body, terminal);
    }
    if terminal && has_controls(body) {
        return escape_controls(out, &String::from_utf8_lossy(body));
    }
    escape_newlines(out, body)
}

/// ASCII without a line break: nothing to escape off a terminal. One pass
/// without an early exit, which the compiler vectorises: for short bodies,
/// cheaper than the ASCII check and then a search for line breaks.
#[inline]
fn is_plain(body: &[u8]) -> bool {
    !body.iter().fold(false, |not, &b| {
        not | (b >= 0x80) | (b == b'\n') | (b == b'\r')
    })
}

/// Invalid UTF-8 replaced, then escaped as valid text is.
#[cold]
fn not_utf8(out: &mut impl Write, body: &[u8], terminal: bool) -> io::Result<()> {
    let text = String::from_utf8_lossy(body);
    if terminal {
        escape_controls(out, &text)
    } else {
        escape_newlines(out, text.as_bytes())
    }
}

/// A C0 control but tab and the line breaks (escaped anyway), DEL, or a
/// C1 control (U+0080 to U+009F, `C2 80` to `C2 9F` in UTF-8).
fn has_controls(body: &[u8]) -> bool {
    body.iter().enumerate().any(|(i, &b)| {
        (b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r'))
            || b == 0x7f
            || (b == 0xc2 && body.get(i + 1).is_some_and(|n| (0x80..0xa0).contains(n)))
    })
}

#[cold]
fn escape_controls(out: &mut impl Write, text: &str) -> io::Result<()> {
    let mut buf = [0u8; 4];
    for c in text.chars() {
        match c {
            '\n' => out.write_all(b"\\n")?,
            '\r' => out.write_all(b"\\r")?,
            '\t' => out.write_all(b"\t")?,
            c if c.is_control() => write!(out, "\\x{:02x}", c as u32)?,
            c => out.write_all(c.encode_utf8(&mut buf).as_bytes())?,
        }
    }
    Ok(())
}

fn escape_newlines(out: &mut impl Write, body: &[u8]) -> io::Result<()> {
    let mut start = 0;
    for i in memchr::memchr2_iter(b'\n', b'\r', body) {
        out.write_all(&body[start..i])?;
        out.write_all(if body[i] == b'\n' { b"\\n" } else { b"\\r" })?;
        start = i + 1;
    }
    out.write_all(&body[start..])
}

pub fn write_hex(out: &mut impl Write, bytes: &[u8]) -> io::Result<()> {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut buf = [0u8; 512];
    for chunk in bytes.chunks(buf.len() / 2) {
        for (i, b) in chunk.iter().enumerate() {
            buf[2 * i] = HEX[(b >> 4) as usize];
            buf[2 * i + 1] = HEX[(b & 15) as usize];
        }
        out.write_all(&buf[..chunk.len() * 2])?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::render::Format;
    use crate::render::tests::{msg, render};

    #[test]
    fn raw_is_byte_exact() {
        let bytes: Vec<u8> = (0..=255).collect();
        let mut want = bytes.clone();
        want.push(b'\n');
        assert_eq!(
            render(Format::Raw, false, 80, &msg("t", &bytes, true)),
            want
        );
        assert_eq!(
            render(Format::Raw, false, 80, &msg("t", b"a\nb", false)),
            b"a\nb\n"
        );
    }

    #[test]
    fn line_escapes_newlines_and_hexes_binary() {
        assert_eq!(
            render(Format::Line, false, 80, &msg("t", b"a\r\nb\\n", false)),
            b"a\\r\\nb\\n\n"
        );
        assert_eq!(
            render(Format::Line, false, 80, &msg("t", &[0, 0xab, 0xff], true)),
            b"00abff\n"
        );
        assert_eq!(
            render(Format::Line, false, 80, &msg("t", b"", false)),
            b"\n"
        );
        assert_eq!(
            render(Format::Line, false, 80, &msg("t", b"\xffx", false)),
            "\u{fffd}x\n".as_bytes()
        );
    }

    #[test]
    fn piped_text_is_written_as_it_is_only_when_nothing_needs_escaping() {
        let long = "x".repeat(100);
        let piped = |body: &str| render(Format::Line, false, 80, &msg("t", body.as_bytes(), false));
        // Plain ASCII, short and past a vector's width, control characters
        // included (piped, they stay).
        for body in ["", "a", "tab\tbell\x07", &long] {
            assert_eq!(piped(body), format!("{body}\n").as_bytes(), "{body:?}");
        }
        // A line break or a non-ASCII byte anywhere takes the careful path.
        assert_eq!(
            piped(&format!("{long}\n")),
            format!("{long}\\n\n").as_bytes()
        );
        assert_eq!(
            piped(&format!("\r{long}")),
            format!("\\r{long}\n").as_bytes()
        );
        assert_eq!(piped(&format!("{long}é")), format!("{long}é\n").as_bytes());
    }

    #[test]
    fn on_a_terminal_line_output_shows_control_characters_instead_of_sending_them() {
        let hostile = "a\x1b[2J\x1b]0;owned\x07\tb\u{9b}31m\x7f\ré\n";
        let on_tty = |body: &[u8]| {
            let mut out = Vec::new();
            let mut p =
                crate::render::Printer::new(&mut out, Format::Line, false, 80).on_terminal(true);
            p.print(&msg("t", body, false)).unwrap();
            p.flush().unwrap();
            drop(p);
            String::from_utf8(out).unwrap()
        };
        assert_eq!(
            on_tty(hostile.as_bytes()),
            "a\\x1b[2J\\x1b]0;owned\\x07\tb\\x9b31m\\x7f\\ré\\n\n"
        );
        // Invalid UTF-8 with an escape in it: replaced, then escaped.
        assert_eq!(on_tty(b"\xff\x1bx"), "\u{fffd}\\x1bx\n");
        // Piped, the bytes stay (only line breaks are escaped).
        assert_eq!(
            render(Format::Line, false, 80, &msg("t", b"\x1b[1m", false)),
            b"\x1b[1m\n"
        );
    }
}
