//! Random numbers for what only needs to differ between runs and
//! processes (ids, jitter, a broker's epoch): the operating system's
//! source, or, where it has none, the clock and the process id, which
//! still differ between processes more than nothing does.

use std::time::SystemTime;

pub fn u64() -> u64 {
    let mut bytes = [0u8; 8];
    if getrandom::fill(&mut bytes).is_ok() {
        return u64::from_le_bytes(bytes);
    }
    let nanos = SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    nanos ^ u64::from(std::process::id()).rotate_left(32)
}

/// `digits` random lowercase hex digits (at most 16).
pub fn hex(digits: usize) -> String {
    let n = u64();
    let full = format!("{n:016x}");
    full[..digits.min(16)].to_string()
}

#[cfg(test)]
mod tests {
    #[test]
    fn numbers_differ_and_hex_has_its_length() {
        assert_ne!(super::u64(), super::u64());
        let h = super::hex(12);
        assert_eq!(h.len(), 12);
        assert!(h.bytes().all(|b| b.is_ascii_hexdigit()));
    }
}
