//! The records of `pubcat serve --data-dir`'s files: what the broker keeps
//! on disk, one record at a time, each framed so that a torn or corrupt
//! tail (a crash in the middle of a write) is found and cut off.
//!
//! A frame is `len: u32 LE`, `crc32(payload): u32 LE`, then `len` bytes of
//! payload; the payload is a tag byte and the record's fields. Integers are
//! little-endian, a string or byte string is its length (`u32`) then its
//! bytes, headers are a count (`u32`) then name/value pairs.
//!
//! | tag | record | fields |
//! |---|---|---|
//! | 1 | [`Record::Epoch`] | `epoch: u64` |
//! | 2 | [`Record::Publish`] | `topic`, `id: u64`, `at_ms: u64`, `binary: u8`, headers, `body` |
//! | 3 | [`Record::Head`] | `topic`, `last_id: u64` |
//! | 4 | [`Record::Enqueue`] | `queue`, `id: u64`, `binary: u8`, headers, `body` |
//! | 5 | [`Record::Ack`] | `queue`, `id: u64` |
//!
//! Replaying the records in order is idempotent (a publish at or below a
//! topic's last id, an enqueue of an id already there, an ack of an id not
//! there change nothing), which is what lets compaction overlap appends.

use bytes::Bytes;
use thiserror::Error;

/// The frame's header: length and checksum.
pub const FRAME_HEADER: usize = 8;

/// The largest record accepted when reading (the broker never writes one
/// larger than its max message size plus headers): a corrupt length
/// cannot make the reader allocate gigabytes.
pub const MAX_RECORD: usize = 1 << 30;

#[derive(Clone, Debug, PartialEq)]
pub enum Record {
    /// The broker's run: kept so that ids that go on after a restart are
    /// still the same run's to clients' cursors.
    Epoch(u64),
    /// A message published on a topic.
    Publish {
        topic: String,
        id: u64,
        /// Wall-clock time of the publish, ms since the Unix epoch (for
        /// `--retain-for` across restarts).
        at_ms: u64,
        binary: bool,
        headers: Vec<(String, String)>,
        body: Bytes,
    },
    /// A topic's last id, whether or not it keeps messages (a removed
    /// topic's tombstone, or a topic's head in a snapshot).
    Head { topic: String, last_id: u64 },
    /// A message put on a work queue.
    Enqueue {
        queue: String,
        id: u64,
        binary: bool,
        headers: Vec<(String, String)>,
        body: Bytes,
    },
    /// A queue message acknowledged: gone for good.
    Ack { queue: String, id: u64 },
}

#[derive(Debug, Error, PartialEq)]
pub enum DecodeError {
    #[error("record of {0} bytes is over the limit")]
    TooLarge(usize),
    #[error("checksum mismatch")]
    Checksum,
    #[error("unknown record tag {0}")]
    Tag(u8),
    #[error("record ends early")]
    Short,
    #[error("record has {0} bytes left over")]
    Trailing(usize),
    #[error("a name is not UTF-8")]
    Utf8,
    #[error("a flag is {0}, not 0 or 1")]
    Flag(u8),
}

impl Record {
    /// Append this record's frame to `out`.
    pub fn encode(&self, out: &mut Vec<u8>) {
        let start = out.len();
        out.extend_from_slice(&[0u8; FRAME_HEADER]);
        match self {
            Record::Epoch(epoch) => {
                out.push(1);
                put_u64(out, *epoch);
            }
            Record::Publish {
                topic,
                id,
                at_ms,
                binary,
                headers,
                body,
            } => {
                out.push(2);
                put_bytes(out, topic.as_bytes());
                put_u64(out, *id);
                put_u64(out, *at_ms);
                put_message(out, *binary, headers, body);
            }
            Record::Head { topic, last_id } => {
                out.push(3);
                put_bytes(out, topic.as_bytes());
                put_u64(out, *last_id);
            }
            Record::Enqueue {
                queue,
                id,
                binary,
                headers,
                body,
            } => {
                out.push(4);
                put_bytes(out, queue.as_bytes());
                put_u64(out, *id);
                put_message(out, *binary, headers, body);
            }
            Record::Ack { queue, id } => {
                out.push(5);
                put_bytes(out, queue.as_bytes());
                put_u64(out, *id);
            }
        }
        let payload = &out[start + FRAME_HEADER..];
        let len = u32::try_from(payload.len()).unwrap_or(u32::MAX);
        let crc = crc32fast::hash(payload);
        out[start..start + 4].copy_from_slice(&len.to_le_bytes());
        out[start + 4..start + 8].copy_from_slice(&crc.to_le_bytes());
    }

    /// The first record in `buf` and the bytes it took; `Ok(None)` when
    /// `buf` holds only part of one (the end of a file cut by a crash, or
    /// more to read).
    pub fn decode(buf: &[u8]) -> Result<Option<(Record, usize)>, DecodeError> {
        if buf.len() < FRAME_HEADER {
            return Ok(None);
        }
        let len = u32::from_le_bytes([buf[0], buf[1], buf[2], buf[3]]) as usize;
        if len > MAX_RECORD {
            return Err(DecodeError::TooLarge(len));
        }
        let crc = u32::from_le_bytes([buf[4], buf[5], buf[6], buf[7]]);
        let Some(payload) = buf.get(FRAME_HEADER..FRAME_HEADER + len) else {
            return Ok(None);
        };
        if crc32fast::hash(payload) != crc {
            return Err(DecodeError::Checksum);
        }
        let mut r = Reader(payload);
        let record = match r.u8()? {
            1 => Record::Epoch(r.u64()?),
            2 => {
                let (topic, id, at_ms) = (r.string()?, r.u64()?, r.u64()?);
                let (binary, headers, body) = r.message()?;
                Record::Publish {
                    topic,
                    id,
                    at_ms,
                    binary,
                    headers,
                    body,
                }
            }
            3 => Record::Head {
                topic: r.string()?,
                last_id: r.u64()?,
            },
            4 => {
                let (queue, id) = (r.string()?, r.u64()?);
                let (binary, headers, body) = r.message()?;
                Record::Enqueue {
                    queue,
                    id,
                    binary,
                    headers,
                    body,
                }
            }
            5 => Record::Ack {
                queue: r.string()?,
                id: r.u64()?,
            },
            tag => return Err(DecodeError::Tag(tag)),
        };
        if !r.0.is_empty() {
            return Err(DecodeError::Trailing(r.0.len()));
        }
        Ok(Some((record, FRAME_HEADER + len)))
    }
}

fn put_u64(out: &mut Vec<u8>, v: u64) {
    out.extend_from_slice(&v.to_le_bytes());
}

fn put_bytes(out: &mut Vec<u8>, b: &[u8]) {
    let len = u32::try_from(b.len()).unwrap_or(u32::MAX);
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(b);
}

/// What a publish and an enqueue both end with: kind, headers, body.
fn put_message(out: &mut Vec<u8>, binary: bool, headers: &[(String, String)], body: &[u8]) {
    out.push(u8::from(binary));
    put_headers(out, headers);
    put_bytes(out, body);
}

fn put_headers(out: &mut Vec<u8>, headers: &[(String, String)]) {
    let n = u32::try_from(headers.len()).unwrap_or(u32::MAX);
    out.extend_from_slice(&n.to_le_bytes());
    for (name, value) in headers {
        put_bytes(out, name.as_bytes());
        put_bytes(out, value.as_bytes());
    }
}

/// A message's kind, headers and body, as [`put_message`] wrote them.
type Message = (bool, Vec<(String, String)>, Bytes);

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        if self.0.len() < n {
            return Err(DecodeError::Short);
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
    }

    fn u8(&mut self) -> Result<u8, DecodeError> {
        Ok(self.take(1)?[0])
    }

    fn flag(&mut self) -> Result<bool, DecodeError> {
        match self.u8()? {
            0 => Ok(false),
            1 => Ok(true),
            other => Err(DecodeError::Flag(other)),
        }
    }

    fn u32(&mut self) -> Result<u32, DecodeError> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn u64(&mut self) -> Result<u64, DecodeError> {
        let b = self.take(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(u64::from_le_bytes(a))
    }

    fn bytes(&mut self) -> Result<&'a [u8], DecodeError> {
        let n = self.u32()? as usize;
        self.take(n)
    }

    fn string(&mut self) -> Result<String, DecodeError> {
        String::from_utf8(self.bytes()?.to_vec()).map_err(|_| DecodeError::Utf8)
    }

    /// [`put_message`]'s fields.
    fn message(&mut self) -> Result<Message, DecodeError> {
        Ok((
            self.flag()?,
            self.headers()?,
            Bytes::copy_from_slice(self.bytes()?),
        ))
    }

    fn headers(&mut self) -> Result<Vec<(String, String)>, DecodeError> {
        let n = self.u32()? as usize;
        // Each pair takes at least 8 bytes: a count the payload cannot
        // hold is corrupt, and must not size an allocation.
        if n > self.0.len() / 8 {
            return Err(DecodeError::Short);
        }
        let mut headers = Vec::with_capacity(n);
        for _ in 0..n {
            headers.push((self.string()?, self.string()?));
        }
        Ok(headers)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn samples() -> Vec<Record> {
        vec![
            Record::Epoch(0xdead_beef),
            Record::Publish {
                topic: "news/é".into(),
                id: 7,
                at_ms: 1_796_000_000_000,
                binary: false,
                headers: vec![("content-type".into(), "text/plain".into())],
                body: Bytes::from_static(b"hello\n"),
            },
            Record::Head {
                topic: "gone".into(),
                last_id: 42,
            },
            Record::Enqueue {
                queue: "jobs".into(),
                id: 3,
                binary: true,
                headers: vec![],
                body: Bytes::from_static(b"\x00\xff"),
            },
            Record::Ack {
                queue: "jobs".into(),
                id: 3,
            },
        ]
    }

    #[test]
    fn records_read_back_as_written_one_after_another() {
        let mut file = Vec::new();
        for r in samples() {
            r.encode(&mut file);
        }
        let mut at = 0;
        let mut read = Vec::new();
        while let Some((r, used)) = Record::decode(&file[at..]).unwrap() {
            read.push(r);
            at += used;
        }
        assert_eq!(at, file.len());
        assert_eq!(read, samples());
    }

    #[test]
    fn a_torn_tail_is_incomplete_and_a_flipped_bit_is_corrupt() {
        let mut file = Vec::new();
        samples()[1].encode(&mut file);
        for cut in 0..file.len() {
            assert_eq!(Record::decode(&file[..cut]), Ok(None), "cut at {cut}");
        }
        for bit in FRAME_HEADER * 8..file.len() * 8 {
            let mut bad = file.clone();
            bad[bit / 8] ^= 1 << (bit % 8);
            assert_eq!(
                Record::decode(&bad),
                Err(DecodeError::Checksum),
                "bit {bit}"
            );
        }
        let mut huge = file.clone();
        huge[3] = 0xff;
        assert!(matches!(
            Record::decode(&huge),
            Err(DecodeError::TooLarge(_))
        ));
    }

    fn arb_headers() -> impl Strategy<Value = Vec<(String, String)>> {
        prop::collection::vec((".{0,8}", ".{0,8}"), 0..4)
    }

    fn arb_record() -> impl Strategy<Value = Record> {
        prop_oneof![
            any::<u64>().prop_map(Record::Epoch),
            (
                ".{0,16}",
                any::<u64>(),
                any::<u64>(),
                any::<bool>(),
                arb_headers(),
                prop::collection::vec(any::<u8>(), 0..64)
            )
                .prop_map(|(topic, id, at_ms, binary, headers, body)| {
                    Record::Publish {
                        topic,
                        id,
                        at_ms,
                        binary,
                        headers,
                        body: body.into(),
                    }
                }),
            (".{0,16}", any::<u64>()).prop_map(|(topic, last_id)| Record::Head { topic, last_id }),
            (
                ".{0,16}",
                any::<u64>(),
                any::<bool>(),
                arb_headers(),
                prop::collection::vec(any::<u8>(), 0..64)
            )
                .prop_map(|(queue, id, binary, headers, body)| Record::Enqueue {
                    queue,
                    id,
                    binary,
                    headers,
                    body: body.into(),
                }),
            (".{0,16}", any::<u64>()).prop_map(|(queue, id)| Record::Ack { queue, id }),
        ]
    }

    proptest! {
        #[test]
        fn any_record_round_trips(r in arb_record()) {
            let mut buf = Vec::new();
            r.encode(&mut buf);
            let (back, used) = Record::decode(&buf).unwrap().unwrap();
            prop_assert_eq!(used, buf.len());
            prop_assert_eq!(back, r);
        }

        #[test]
        fn any_bytes_decode_without_panic(buf in prop::collection::vec(any::<u8>(), 0..256)) {
            let _ = Record::decode(&buf);
        }
    }
}
