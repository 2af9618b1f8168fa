//! MIL blob storage (`weights/weight.bin` in an `.mlpackage`), as written by coremltools'
//! `mlmodel/src/MILBlob/Blob/StorageWriter.cpp` (format in `StorageFormat.hpp`):
//!
//! - a 64-byte `storage_header`: `u32 count`, `u32 version` (= 2), reserved;
//! - per blob, at a 64-byte aligned offset, a 64-byte `blob_metadata`: `u32 sentinel`
//!   (`0xDEADBEEF`), `u32 mil_dtype`, `u64 sizeInBytes`, `u64 offset` (absolute, of the
//!   data), `u64 padding_size_in_bits` (sub-byte types), reserved; then the data. The next
//!   metadata follows the data, rounded up to 64 bytes.
//!
//! All little-endian. Only headers are read (files can be gigabytes), and every offset is
//! checked against the file length before it is used.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

const HEADER_SIZE: u64 = 64;
const METADATA_SIZE: u64 = 64;
const ALIGNMENT: u64 = 64;
const SENTINEL: u32 = 0xDEAD_BEEF;
const VERSION: u32 = 2;

/// What a weight file holds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BlobStats {
    pub blobs: u64,
    pub elements: u64,
    pub bytes: u64,
}

/// Bits per element of a `BlobDataType` (`BlobDataType.hpp`).
fn dtype_bits(dtype: u32) -> Option<u64> {
    Some(match dtype {
        1 => 16,  // Float16
        2 => 32,  // Float32
        3 => 8,   // UInt8
        4 => 8,   // Int8
        5 => 16,  // BFloat16
        6 => 16,  // Int16
        7 => 16,  // UInt16
        8 => 4,   // Int4
        9 => 1,   // UInt1
        10 => 2,  // UInt2
        11 => 4,  // UInt4
        12 => 3,  // UInt3
        13 => 6,  // UInt6
        14 => 32, // Int32
        15 => 32, // UInt32
        16 => 8,  // Float8E4M3FN
        17 => 8,  // Float8E5M2
        _ => return None,
    })
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

fn u64_at(b: &[u8], at: usize) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[at..at + 8]);
    u64::from_le_bytes(a)
}

/// Counts the blobs of a weight file, their elements and data bytes.
pub fn read_stats(path: &Path) -> Result<BlobStats, String> {
    let mut file = File::open(path).map_err(|e| format!("cannot open: {e}"))?;
    let len = file
        .metadata()
        .map_err(|e| format!("cannot stat: {e}"))?
        .len();
    let mut read_at = |pos: u64, buf: &mut [u8; 64]| -> Result<(), String> {
        file.seek(SeekFrom::Start(pos))
            .map_err(|e| format!("cannot seek to {pos}: {e}"))?;
        file.read_exact(buf)
            .map_err(|e| format!("cannot read at {pos}: {e}"))
    };
    stats(len, &mut read_at)
}

/// Reads 64 bytes at an offset.
type ReadAt<'a> = dyn FnMut(u64, &mut [u8; 64]) -> Result<(), String> + 'a;

/// The parser proper, over a [`ReadAt`], so tests need no files.
fn stats(len: u64, read_at: &mut ReadAt<'_>) -> Result<BlobStats, String> {
    if len < HEADER_SIZE {
        return Err(format!(
            "{len} bytes is shorter than the 64-byte storage header"
        ));
    }
    let mut buf = [0u8; 64];
    read_at(0, &mut buf)?;
    let count = u64::from(u32_at(&buf, 0));
    let version = u32_at(&buf, 4);
    if version != VERSION {
        return Err(format!("storage version {version}, expected {VERSION}"));
    }
    // Each blob takes at least its metadata record: a larger count cannot be genuine, and
    // would otherwise make us loop for a long time on a tiny file.
    if count > (len - HEADER_SIZE) / METADATA_SIZE {
        return Err(format!(
            "header claims {count} blobs, more than {len} bytes can hold"
        ));
    }
    let mut out = BlobStats::default();
    let mut pos = HEADER_SIZE;
    for i in 0..count {
        let end = pos.checked_add(METADATA_SIZE).filter(|e| *e <= len);
        if end.is_none() {
            return Err(format!(
                "blob {i}: metadata at {pos} is past the end ({len} bytes)"
            ));
        }
        read_at(pos, &mut buf)?;
        let sentinel = u32_at(&buf, 0);
        if sentinel != SENTINEL {
            return Err(format!("blob {i}: bad sentinel {sentinel:#x} at {pos}"));
        }
        let dtype = u32_at(&buf, 4);
        let size = u64_at(&buf, 8);
        let offset = u64_at(&buf, 16);
        let padding = u64_at(&buf, 24);
        let bits =
            dtype_bits(dtype).ok_or_else(|| format!("blob {i}: unknown data type {dtype}"))?;
        if offset < pos + METADATA_SIZE {
            return Err(format!(
                "blob {i}: data offset {offset} overlaps its metadata at {pos}"
            ));
        }
        let data_end = offset
            .checked_add(size)
            .filter(|e| *e <= len)
            .ok_or_else(|| {
                format!("blob {i}: {size} bytes at {offset} run past the end ({len} bytes)")
            })?;
        let total_bits = size
            .checked_mul(8)
            .and_then(|b| b.checked_sub(padding))
            .filter(|_| padding < 8)
            .ok_or_else(|| format!("blob {i}: invalid padding of {padding} bits"))?;
        out.blobs += 1;
        out.elements += total_bits / bits;
        out.bytes += size;
        pos = data_end.div_ceil(ALIGNMENT) * ALIGNMENT;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A storage file laid out as StorageWriter does, with `blobs` of (dtype, data bytes).
    fn storage(blobs: &[(u32, usize)]) -> Vec<u8> {
        let mut f = vec![0u8; 64];
        f[0..4].copy_from_slice(&(blobs.len() as u32).to_le_bytes());
        f[4..8].copy_from_slice(&2u32.to_le_bytes());
        for &(dtype, size) in blobs {
            while !f.len().is_multiple_of(64) {
                f.push(0);
            }
            let data_at = f.len() as u64 + 64;
            let mut m = vec![0u8; 64];
            m[0..4].copy_from_slice(&SENTINEL.to_le_bytes());
            m[4..8].copy_from_slice(&dtype.to_le_bytes());
            m[8..16].copy_from_slice(&(size as u64).to_le_bytes());
            m[16..24].copy_from_slice(&data_at.to_le_bytes());
            f.extend_from_slice(&m);
            f.extend(std::iter::repeat_n(0xab, size));
        }
        f
    }

    fn parse(bytes: &[u8]) -> Result<BlobStats, String> {
        let mut read_at = |pos: u64, buf: &mut [u8; 64]| -> Result<(), String> {
            let pos = pos as usize;
            let src = bytes.get(pos..pos + 64).ok_or("short read")?;
            buf.copy_from_slice(src);
            Ok(())
        };
        stats(bytes.len() as u64, &mut read_at)
    }

    #[test]
    fn counts_elements_per_dtype() {
        let f = storage(&[(1, 216), (2, 80), (4, 7)]);
        let s = parse(&f).unwrap();
        assert_eq!(
            s,
            BlobStats {
                blobs: 3,
                elements: 108 + 20 + 7,
                bytes: 216 + 80 + 7
            }
        );
    }

    #[test]
    fn rejects_bad_files_without_panicking() {
        let good = storage(&[(1, 216), (2, 80)]);
        for n in 0..good.len() {
            // The last blob's data ends the file: any cut loses part of it.
            assert!(parse(&good[..n]).is_err(), "prefix of {n} bytes");
        }
        let mut bad = good.clone();
        bad[64] ^= 1; // sentinel
        assert!(parse(&bad).unwrap_err().contains("sentinel"));
        let mut bad = good.clone();
        bad[4] = 1; // version
        assert!(parse(&bad).unwrap_err().contains("version"));
        let mut bad = good.clone();
        bad[0..4].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(parse(&bad).unwrap_err().contains("blobs"));
        let mut bad = good.clone();
        bad[64 + 8..64 + 16].copy_from_slice(&u64::MAX.to_le_bytes()); // size
        assert!(parse(&bad).is_err());
        let mut bad = good.clone();
        bad[64 + 16..64 + 24].copy_from_slice(&u64::MAX.to_le_bytes()); // offset
        assert!(parse(&bad).is_err());
        let mut bad = good.clone();
        bad[64 + 4] = 99; // dtype
        assert!(parse(&bad).unwrap_err().contains("data type"));
        let mut bad = good;
        bad[64 + 24] = 9; // padding bits
        assert!(parse(&bad).unwrap_err().contains("padding"));
    }
}
