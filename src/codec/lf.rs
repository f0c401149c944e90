//! Finding line feeds in a chunk, one after another, for line-based
//! streams whose lines are short (SSE: an event is two or three lines of a
//! few dozen bytes). A call to `memchr` per line pays its setup for a few
//! bytes of search; this keeps a bit mask of the LFs in a 64-byte window
//! and answers most searches from it with a few instructions.

const WINDOW: usize = 64;

/// The LFs of one window of a chunk. It knows nothing of which chunk:
/// [`LfFinder::reset`] it when the chunk changes.
#[derive(Debug, Default)]
pub struct LfFinder {
    /// The window is `start..end` of the chunk; bit i of `mask` is set when
    /// byte `start + i` is an LF.
    start: usize,
    end: usize,
    mask: u64,
}

impl LfFinder {
    /// Forget the window (the chunk it was taken from is gone).
    pub fn reset(&mut self) {
        *self = LfFinder::default();
    }

    /// The position of the first LF at or after `from` in `chunk`.
    #[inline]
    pub fn find(&mut self, chunk: &[u8], mut from: usize) -> Option<usize> {
        loop {
            if from >= self.start && from < self.end {
                let mask = self.mask & (u64::MAX << (from - self.start));
                if mask != 0 {
                    return Some(self.start + mask.trailing_zeros() as usize);
                }
                from = self.end;
            }
            if from >= chunk.len() {
                return None;
            }
            self.start = from;
            self.end = chunk.len().min(from + WINDOW);
            self.mask = window_mask(&chunk[from..self.end]);
        }
    }
}

/// The LF mask of up to 64 bytes.
fn window_mask(bytes: &[u8]) -> u64 {
    match <&[u8; WINDOW]>::try_from(bytes) {
        Ok(full) => full_mask(full),
        Err(_) => {
            // The end of the chunk: pad with bytes that are not LF.
            let mut padded = [0u8; WINDOW];
            padded[..bytes.len()].copy_from_slice(bytes);
            full_mask(&padded)
        }
    }
}

#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
fn full_mask(w: &[u8; WINDOW]) -> u64 {
    use std::arch::x86_64::{
        __m128i, _mm_cmpeq_epi8, _mm_loadu_si128, _mm_movemask_epi8, _mm_set1_epi8,
    };
    let mut mask = 0u64;
    // SAFETY: the build enables SSE2 (the x86_64 baseline), and each load
    // reads the 16 bytes of `part`; loadu needs no alignment.
    unsafe {
        let lf = _mm_set1_epi8(b'\n' as i8);
        for (k, part) in w.chunks_exact(16).enumerate() {
            let v = _mm_loadu_si128(part.as_ptr().cast::<__m128i>());
            let bits = _mm_movemask_epi8(_mm_cmpeq_epi8(v, lf)) as u16;
            mask |= u64::from(bits) << (16 * k);
        }
    }
    mask
}

#[cfg(not(all(target_arch = "x86_64", target_feature = "sse2")))]
fn full_mask(w: &[u8; WINDOW]) -> u64 {
    scalar_mask(w)
}

#[cfg_attr(all(target_arch = "x86_64", target_feature = "sse2"), allow(dead_code))]
fn scalar_mask(w: &[u8; WINDOW]) -> u64 {
    w.iter()
        .enumerate()
        .fold(0, |m, (i, &b)| m | (u64::from(b == b'\n') << i))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn all(chunk: &[u8]) -> Vec<usize> {
        let mut f = LfFinder::default();
        let mut out = Vec::new();
        let mut from = 0;
        while let Some(i) = f.find(chunk, from) {
            out.push(i);
            from = i + 1;
        }
        out
    }

    #[test]
    fn finds_every_lf_across_windows() {
        let mut chunk = vec![b'x'; 300];
        for i in [0, 1, 63, 64, 65, 127, 128, 200, 299] {
            chunk[i] = b'\n';
        }
        assert_eq!(all(&chunk), [0, 1, 63, 64, 65, 127, 128, 200, 299]);
        assert_eq!(all(b""), Vec::<usize>::new());
        assert_eq!(all(b"no line feed"), Vec::<usize>::new());
    }

    #[test]
    fn the_mask_is_the_scalar_mask() {
        let mut w = [0u8; WINDOW];
        for (i, b) in w.iter_mut().enumerate() {
            *b = if i % 7 == 3 || i == 63 {
                b'\n'
            } else {
                i as u8
            };
        }
        assert_eq!(full_mask(&w), scalar_mask(&w));
    }

    proptest! {
        #[test]
        fn matches_memchr_from_any_start(
            chunk in proptest::collection::vec(prop_oneof![Just(b'\n'), any::<u8>()], 0..300),
            starts in proptest::collection::vec(0usize..310, 1..20),
        ) {
            let mut f = LfFinder::default();
            for from in starts {
                let want = chunk.get(from..).and_then(|r| memchr::memchr(b'\n', r)).map(|i| from + i);
                prop_assert_eq!(f.find(&chunk, from), want, "from {}", from);
            }
        }
    }
}
