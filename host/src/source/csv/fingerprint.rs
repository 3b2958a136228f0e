//! What a saved CSV position was taken from: checksums of a file's first bytes and of
//! the bytes just before the position, so a resumed load can tell the same file grown
//! from another file under the same name (vector's file source fingerprints the same way).

use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;

use sha2::{Digest, Sha256};

/// Bytes each checksum covers (fewer when the file, or the part before the position, is
/// shorter).
pub const SPAN: u64 = 4096;

/// `sha256` of `len` bytes of `file` from `start`, as 32 hex digits (the first 16 bytes).
pub fn checksum(file: &File, start: u64, len: u64) -> io::Result<String> {
    let mut buf = vec![0u8; len as usize];
    file.read_exact_at(&mut buf, start)?;
    let digest = Sha256::digest(&buf);
    Ok(digest[..16].iter().map(|b| format!("{b:02x}")).collect())
}

/// The checksum of the file's first bytes (up to [`SPAN`]) and how many it covers.
pub fn head(file: &File, len: u64) -> io::Result<(u64, String)> {
    let n = len.min(SPAN);
    Ok((n, checksum(file, 0, n)?))
}

/// The checksum of the bytes that end at `offset` (up to [`SPAN`] of them).
pub fn before(file: &File, offset: u64) -> io::Result<String> {
    let n = offset.min(SPAN);
    checksum(file, offset - n, n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksums_cover_the_span_before_the_offset() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        let content: Vec<u8> = (0..10_000u32).map(|i| (i % 251) as u8).collect();
        std::fs::write(&path, &content).unwrap();
        let f = File::open(&path).unwrap();
        let (n, h) = head(&f, content.len() as u64).unwrap();
        assert_eq!(n, SPAN);
        assert_eq!(h.len(), 32);
        assert_eq!(h, checksum(&f, 0, SPAN).unwrap());
        assert_eq!(before(&f, SPAN).unwrap(), h);
        assert_ne!(before(&f, 5000).unwrap(), h);
        // Short spans: the first bytes only.
        assert_eq!(before(&f, 10).unwrap(), checksum(&f, 0, 10).unwrap());
        assert_eq!(head(&f, 3).unwrap(), (3, checksum(&f, 0, 3).unwrap()));
        // Past the end is an error, not a short read.
        assert!(before(&f, 20_000).is_err());
    }
}
