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
/// are kept, invalid UTF-8 replaced).
pub fn line(out: &mut impl Write, msg: &Message) -> io::Result<()> {
    if msg.binary {
        write_hex(out, &msg.body)?;
        return out.write_all(b"\n");
    }
    let body = &msg.body[..];
    if std::str::from_utf8(body).is_ok() {
        escape_newlines(out, body)?;
    } else {
        escape_newlines(out, String::from_utf8_lossy(body).as_bytes())?;
    }
    out.write_all(b"\n")
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

fn write_hex(out: &mut impl Write, bytes: &[u8]) -> io::Result<()> {
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
}
