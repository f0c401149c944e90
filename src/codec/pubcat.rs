//! The headers `pubcat serve` sends beyond the standards, which pubcat's
//! own clients read: one list, so the broker and the client cannot drift.
//!
//! | header | on | meaning |
//! |---|---|---|
//! | `X-Pubcat-Ids: sequence` | SSE, long-poll, a `ws+meta.nchan` `101` | ids are consecutive per topic: a jump is a gap |
//! | `X-Pubcat-Epoch: RUN` | every topic answer; sent back by a resuming client | the run of the topic's ids: the broker's (ids start at 1 again after a restart), or for a topic re-made without its tombstone the broker's and a generation |
//! | `X-Pubcat-Cursor: N` | a `ws+meta.nchan` `101` with nothing to replay | where the stream starts |
//! | `X-Pubcat-Batch: 1` | a long-poll answer | the body is a JSON array of messages |
//! | `X-Pubcat-Gap: A-B` | a long-poll answer | ids A..B are no longer kept |

use http::HeaderName;

pub const IDS: HeaderName = HeaderName::from_static("x-pubcat-ids");
/// The value of [`IDS`] for consecutive ids.
pub const SEQUENCE: &str = "sequence";
pub const EPOCH: HeaderName = HeaderName::from_static("x-pubcat-epoch");
pub const CURSOR: HeaderName = HeaderName::from_static("x-pubcat-cursor");
pub const BATCH: HeaderName = HeaderName::from_static("x-pubcat-batch");
pub const GAP: HeaderName = HeaderName::from_static("x-pubcat-gap");

/// Every header above, as a CORS `Access-Control-Expose-Headers` value, so
/// a page can read them.
pub const ALL: &str = "X-Pubcat-Ids, X-Pubcat-Epoch, X-Pubcat-Cursor, X-Pubcat-Batch, X-Pubcat-Gap";

#[cfg(test)]
mod tests {
    #[test]
    fn all_names_every_header() {
        let all: Vec<String> = super::ALL
            .split(", ")
            .map(str::to_ascii_lowercase)
            .collect();
        let names = [
            super::IDS,
            super::EPOCH,
            super::CURSOR,
            super::BATCH,
            super::GAP,
        ];
        assert_eq!(all.len(), names.len());
        for name in names {
            assert!(all.iter().any(|a| a == name.as_str()), "{name}");
        }
    }
}
