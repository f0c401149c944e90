//! Nchan's `ws+meta.nchan` WebSocket subprotocol: each frame is a message
//! with a small header block ahead of its body,
//!
//! ```text
//! id: 1795344492:1\n
//! content-type: text/plain\n
//! \n
//! <body, byte for byte>
//! ```
//!
//! which gives a raw WebSocket stream the ids a resumable `tail` needs.
//! `pubcat serve` speaks it too (with `id:` only). Header names are matched
//! without regard to case; unknown headers are skipped; a `\r` before a
//! line's `\n` is tolerated.

/// The subprotocol's name, as offered and chosen in the handshake.
pub const SUBPROTOCOL: &str = "ws+meta.nchan";

/// What the header block said, and where the body starts.
#[derive(Debug, PartialEq, Eq)]
pub struct Meta<'a> {
    pub id: Option<&'a str>,
    pub content_type: Option<&'a str>,
    /// The body is `frame[body..]`.
    pub body: usize,
}

/// Most header bytes we look through for the blank line: Nchan's block is
/// an id and a content type, well under this.
pub const MAX_HEADER: usize = 4096;

/// Why a frame is not a `ws+meta.nchan` message.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum MetaError {
    /// No blank line ends the header block (within [`MAX_HEADER`]).
    #[error("a frame has no header block ending in a blank line")]
    Unterminated,
    /// A header line is not `name: value` in UTF-8.
    #[error("a header line is not `name: value`")]
    BadLine,
}

/// Split one frame into its headers and body.
pub fn parse(frame: &[u8]) -> Result<Meta<'_>, MetaError> {
    let mut meta = Meta {
        id: None,
        content_type: None,
        body: 0,
    };
    let mut at = 0;
    loop {
        let rest = &frame[at..frame.len().min(MAX_HEADER)];
        let Some(lf) = rest.iter().position(|&b| b == b'\n') else {
            return Err(MetaError::Unterminated);
        };
        let line = &rest[..lf];
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        at += lf + 1;
        if line.is_empty() {
            meta.body = at;
            return Ok(meta);
        }
        let line = std::str::from_utf8(line).map_err(|_| MetaError::BadLine)?;
        let (name, value) = line.split_once(':').ok_or(MetaError::BadLine)?;
        let value = value.trim();
        if name.eq_ignore_ascii_case("id") {
            meta.id = Some(value);
        } else if name.eq_ignore_ascii_case("content-type") {
            meta.content_type = Some(value);
        }
    }
}

/// The header block `pubcat serve` puts ahead of message `id`'s body: the
/// id, and the content type when the publisher gave one (one that would
/// break the block is left out).
pub fn header(id: u64, content_type: Option<&str>) -> String {
    match content_type {
        Some(ct) if !ct.contains(['\r', '\n']) => format!("id: {id}\ncontent-type: {ct}\n\n"),
        _ => format!("id: {id}\n\n"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nchan_blocks_split_into_id_type_and_body() {
        let frame = b"id: 1795344492:1\ncontent-type: text/plain\n\nhello\n\nworld";
        let meta = parse(frame).unwrap();
        assert_eq!(meta.id, Some("1795344492:1"));
        assert_eq!(meta.content_type, Some("text/plain"));
        assert_eq!(&frame[meta.body..], b"hello\n\nworld");
    }

    #[test]
    fn an_empty_body_crlf_case_and_unknown_headers_are_fine() {
        let frame = b"ID: 7\r\nX-Other: y\r\n\r\n";
        let meta = parse(frame).unwrap();
        assert_eq!(meta.id, Some("7"));
        assert_eq!(meta.body, frame.len());
        let ours = header(42, None);
        assert_eq!(parse(ours.as_bytes()).unwrap().id, Some("42"));
        let typed = header(43, Some("application/json"));
        let meta = parse(typed.as_bytes()).unwrap();
        assert_eq!(
            (meta.id, meta.content_type),
            (Some("43"), Some("application/json"))
        );
        assert_eq!(header(44, Some("a\nb")), "id: 44\n\n");
    }

    #[test]
    fn frames_without_a_block_are_refused() {
        assert_eq!(parse(b"hello"), Err(MetaError::Unterminated));
        assert_eq!(parse(b"id: 1\nbody"), Err(MetaError::Unterminated));
        assert_eq!(parse(b"just text\n\n"), Err(MetaError::BadLine));
        assert_eq!(parse(b"id: \xff\n\n"), Err(MetaError::BadLine));
        let long = format!("id: {}\n\n", "1".repeat(MAX_HEADER));
        assert_eq!(parse(long.as_bytes()), Err(MetaError::Unterminated));
    }
}
