//! Whole-frame gzip (`compression=gzip`, protocol.md §2.2), in and out.
//!
//! Out: a frame shorter than [`COMPRESS_FROM`] is written as one gzip member of stored
//! (uncompressed) deflate blocks, a larger one is deflated at the default level, byte for byte
//! as Go's `gzip.NewWriter` (and a fresh `flate2::write::GzEncoder`) writes it. Every gzip reader
//! takes both. Why small frames are stored: almost every frame (acks, single-message pushes,
//! heartbeat replies) is a few hundred bytes, and deflating one costs 10–20 µs whatever its
//! size (the compressor clears its hash tables first), the largest single cost of the gateway
//! under load, to save a couple of hundred bytes of a frame that fits one TCP segment anyway.
//!
//! In: libdeflate's whole-buffer decompressor (no per-frame state to allocate and clear: about
//! 1 µs per frame against 20 µs for a streaming inflater), sized by the member's ISIZE trailer
//! and bounded by the caller's limit; input it does not take as a single member (concatenated
//! members, which Go's reader accepts) goes to flate2's multi-member reader.

use crate::error::WireError;
use libdeflater::{CompressionLvl, Compressor, DecompressionError, Decompressor};
use std::cell::RefCell;
use std::io::Read;

/// Frames from this many bytes on are deflated; shorter ones are stored. About one Ethernet
/// segment's payload: below it, compressing saves bytes but not packets.
pub const COMPRESS_FROM: usize = 1400;

/// The gzip header flate2 and Go write at the default level: no name, mtime 0, XFL 0, OS 255.
const GZIP_HEADER: [u8; 10] = [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff];

thread_local! {
    /// One raw-deflate state per thread, reset between frames: a fresh `GzEncoder` per frame
    /// allocated and zeroed the whole deflate state every time.
    static DEFLATE: RefCell<flate2::Compress> =
        RefCell::new(flate2::Compress::new(flate2::Compression::default(), false));
    /// Level 0: stored blocks, no match finder to clear.
    static STORE: RefCell<Compressor> = RefCell::new(Compressor::new(CompressionLvl::new(0).unwrap_or_default()));
    static INFLATE: RefCell<Decompressor> = RefCell::new(Decompressor::new());
}

/// `data` as one gzip member: stored blocks below [`COMPRESS_FROM`] bytes, else deflated at
/// the default level.
pub fn gzip(data: &[u8]) -> Vec<u8> {
    if data.len() < COMPRESS_FROM
        && let Some(out) = stored(data)
    {
        return out;
    }
    deflated(data)
}

fn stored(data: &[u8]) -> Option<Vec<u8>> {
    STORE.with(|cell| {
        let mut store = cell.borrow_mut();
        let mut out = vec![0u8; store.gzip_compress_bound(data.len())];
        let n = store.gzip_compress(data, &mut out).ok()?;
        out.truncate(n);
        Some(out)
    })
}

/// Deflated at the default level, byte for byte what a fresh `flate2::write::GzEncoder` writes.
fn deflated(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() / 2 + 64);
    out.extend_from_slice(&GZIP_HEADER);
    DEFLATE.with(|cell| {
        let mut deflate = cell.borrow_mut();
        deflate.reset();
        loop {
            if out.capacity() - out.len() < 64 {
                out.reserve(out.capacity().max(256));
            }
            let consumed = deflate.total_in() as usize;
            let input = data.get(consumed..).unwrap_or_default();
            match deflate.compress_vec(input, &mut out, flate2::FlushCompress::Finish) {
                Ok(flate2::Status::StreamEnd) => break,
                Ok(_) => {}
                // Raw deflate into a growing Vec has no failure mode; never loop on one.
                Err(_) => break,
            }
        }
    });
    let mut crc = flate2::Crc::new();
    crc.update(data);
    out.extend_from_slice(&crc.sum().to_le_bytes());
    out.extend_from_slice(&(data.len() as u32).to_le_bytes());
    out
}

/// Gunzips `data`, failing once the output would exceed `limit` bytes.
pub fn gunzip(data: &[u8], limit: usize) -> Result<Vec<u8>, WireError> {
    // The trailer: CRC-32 and ISIZE (the length mod 2^32) of the last member. ISIZE sizes the
    // buffer; the sender wrote it, so it is only a hint: libdeflate never writes past the
    // buffer, and `limit` caps it.
    let trailer = data
        .len()
        .checked_sub(8)
        .and_then(|at| data.get(at..))
        .and_then(|t| <[u8; 8]>::try_from(t).ok())
        .unwrap_or_default();
    let [c0, c1, c2, c3, i0, i1, i2, i3] = trailer;
    let (crc, isize) = (
        u32::from_le_bytes([c0, c1, c2, c3]),
        u32::from_le_bytes([i0, i1, i2, i3]),
    );
    let mut capacity = (isize as usize).min(limit);
    loop {
        let mut out = vec![0u8; capacity];
        let result = INFLATE.with(|cell| cell.borrow_mut().gzip_decompress(data, &mut out));
        match result {
            // libdeflate reads the first member and ignores what follows it. When that member
            // is the last one, the buffer's trailer is its own (libdeflate checked it); anything
            // else means more members followed (a frame of several members whose last one has
            // the first one's CRC and length would read as the first; no client writes
            // several members).
            Ok(n) if n as u32 == isize && libdeflater::crc32(&out[..n]) == crc => {
                out.truncate(n);
                return Ok(out);
            }
            Ok(_) | Err(DecompressionError::BadData) => return gunzip_members(data, limit),
            Err(DecompressionError::InsufficientSpace) if capacity < limit => capacity = limit,
            Err(DecompressionError::InsufficientSpace) => {
                return Err(WireError::TooLarge { limit });
            }
        }
    }
}

/// Concatenated members, or anything libdeflate does not take as one member.
fn gunzip_members(data: &[u8], limit: usize) -> Result<Vec<u8>, WireError> {
    let dec = flate2::read::MultiGzDecoder::new(data);
    let mut out = Vec::with_capacity(data.len().saturating_mul(4).min(limit));
    dec.take(limit as u64 + 1)
        .read_to_end(&mut out)
        .map_err(|e| WireError::Gzip(e.to_string()))?;
    if out.len() > limit {
        return Err(WireError::TooLarge { limit });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::{COMPRESS_FROM, gunzip, gzip};
    use crate::error::WireError;
    use std::io::{Read, Write};

    fn reference(data: &[u8]) -> Vec<u8> {
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        enc.write_all(data).unwrap();
        enc.finish().unwrap()
    }

    /// What any gzip reader (flate2's, like Go's) makes of `z`.
    fn standard_gunzip(z: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(z)
            .read_to_end(&mut out)
            .unwrap();
        out
    }

    fn pseudo_random(len: usize) -> Vec<u8> {
        let mut x: u32 = 7;
        (0..len)
            .map(|_| {
                x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
                if x.is_multiple_of(3) {
                    b'a'
                } else {
                    (x >> 24) as u8
                }
            })
            .collect()
    }

    #[test]
    fn large_frames_are_deflated_as_a_fresh_encoder_does() {
        let big = pseudo_random(200_000);
        let inputs: [&[u8]; 2] = [&big[..COMPRESS_FROM], &big];
        // Twice, so the second round runs on a reset (not fresh) state.
        for _ in 0..2 {
            for data in inputs {
                let z = gzip(data);
                assert_eq!(z, reference(data), "len {}", data.len());
                assert_eq!(gunzip(&z, 1 << 20).unwrap(), data);
            }
        }
    }

    #[test]
    fn small_frames_are_stored_blocks_any_reader_takes() {
        let text = b"hello hello hello hello hello hello".repeat(40);
        for data in [&b""[..], b"x", &text[..COMPRESS_FROM - 1]] {
            let z = gzip(data);
            // Header, then BFINAL=1 BTYPE=00 (stored) for the one block.
            assert_eq!(&z[..3], &[0x1f, 0x8b, 8]);
            assert_eq!(z[10] & 0b111, 1, "len {}", data.len());
            assert_eq!(standard_gunzip(&z), data);
            assert_eq!(gunzip(&z, 1 << 20).unwrap(), data);
        }
    }

    #[test]
    fn frames_of_other_writers_are_read() {
        let data = b"a gob frame with some text in it ".repeat(10);
        assert_eq!(gunzip(&reference(&data), 1 << 20).unwrap(), data);
        // Two members, as Go's reader and flate2's MultiGzDecoder accept.
        let mut two = reference(b"first ");
        two.extend_from_slice(&gzip(b"second"));
        assert_eq!(gunzip(&two, 1 << 20).unwrap(), b"first second");
    }

    #[test]
    fn limits_hold_whatever_isize_claims() {
        let data = vec![0u8; 10_000];
        let z = gzip(&data);
        assert!(matches!(
            gunzip(&z, 9_999),
            Err(WireError::TooLarge { limit: 9_999 })
        ));
        // A trailer that understates the length: the buffer grows to the limit, no further.
        let mut lying = z.clone();
        let n = lying.len();
        lying[n - 4..].copy_from_slice(&10u32.to_le_bytes());
        assert!(gunzip(&lying, 1 << 20).is_err());
        assert!(matches!(
            gunzip(&lying, 5_000),
            Err(WireError::TooLarge { .. })
        ));
        // Garbage and truncation are errors, never panics.
        assert!(gunzip(b"\x1f\x8b garbage", 100).is_err());
        assert!(gunzip(&z[..z.len() - 3], 1 << 20).is_err());
        assert!(gunzip(b"", 100).is_err());
    }
}
