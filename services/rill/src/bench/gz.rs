//! Whole-frame gzip for the client: stored-block members out (cheap to make), a reused inflate
//! state in. The tool shares two cores with the server it measures, so its own cost matters.

use flate2::{Crc, Decompress, FlushDecompress, Status};

const MAGIC: [u8; 2] = [0x1f, 0x8b];
/// Deflate, no flags, no mtime, no extra flags, OS unknown.
const HEADER: [u8; 10] = [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff];

const FHCRC: u8 = 2;
const FEXTRA: u8 = 4;
const FNAME: u8 = 8;
const FCOMMENT: u8 = 16;

#[derive(Debug, thiserror::Error)]
pub enum GzError {
    #[error("gzip: not a gzip member")]
    NotGzip,
    #[error("gzip: truncated")]
    Truncated,
    #[error("gzip: {0}")]
    Deflate(String),
}

/// Largest stored deflate block.
const STORED_MAX: usize = 65_535;

/// One connection's gzip state: the inflater, created on first use (a receive-only connection
/// of the connections scenario never gets a frame).
#[derive(Default)]
pub struct Gz {
    decompress: Option<Box<Decompress>>,
}

impl Gz {
    /// `raw` as one gzip member of stored (uncompressed) deflate blocks. Valid gzip that the
    /// server must inflate like any other, but free to produce: a deflate compressor's reset
    /// alone (clearing its hash tables) cost more CPU than the rest of the client, and the tool
    /// shares the machine with the server it measures.
    pub fn compress(&mut self, raw: &[u8]) -> Vec<u8> {
        let blocks = raw.len().div_ceil(STORED_MAX).max(1);
        let mut out = Vec::with_capacity(HEADER.len() + raw.len() + blocks * 5 + 8);
        out.extend_from_slice(&HEADER);
        let mut chunks = raw.chunks(STORED_MAX).peekable();
        if chunks.peek().is_none() {
            out.extend_from_slice(&[1, 0, 0, 0xff, 0xff]);
        }
        while let Some(chunk) = chunks.next() {
            let last = chunks.peek().is_none();
            let len = chunk.len() as u16;
            out.push(u8::from(last)); // BFINAL, BTYPE=00 (stored)
            out.extend_from_slice(&len.to_le_bytes());
            out.extend_from_slice(&(!len).to_le_bytes());
            out.extend_from_slice(chunk);
        }
        let mut crc = Crc::new();
        crc.update(raw);
        out.extend_from_slice(&crc.sum().to_le_bytes());
        out.extend_from_slice(&(raw.len() as u32).to_le_bytes());
        out
    }

    /// The payload of the gzip member in `frame` (trailer not verified: loopback, and the
    /// server's own CRC is not what is measured).
    pub fn decompress(&mut self, frame: &[u8]) -> Result<Vec<u8>, GzError> {
        let body = skip_header(frame)?;
        let decompress = self
            .decompress
            .get_or_insert_with(|| Box::new(Decompress::new(false)));
        decompress.reset(false);
        let mut out = Vec::with_capacity(body.len() * 4 + 64);
        loop {
            let consumed = decompress.total_in() as usize;
            if out.capacity() - out.len() < 256 {
                out.reserve(out.capacity().max(1024));
            }
            let before = (decompress.total_in(), decompress.total_out());
            let status = decompress
                .decompress_vec(
                    &body[consumed.min(body.len())..],
                    &mut out,
                    FlushDecompress::None,
                )
                .map_err(|e| GzError::Deflate(e.to_string()))?;
            match status {
                Status::StreamEnd => return Ok(out),
                _ if (decompress.total_in(), decompress.total_out()) == before
                    && out.capacity() > out.len() =>
                {
                    return Err(GzError::Truncated);
                }
                _ => {}
            }
        }
    }
}

fn skip_header(frame: &[u8]) -> Result<&[u8], GzError> {
    if frame.len() < 18 || frame[..2] != MAGIC || frame[2] != 8 {
        return Err(GzError::NotGzip);
    }
    let flags = frame[3];
    let mut pos = 10;
    if flags & FEXTRA != 0 {
        let n = usize::from(*frame.get(pos).ok_or(GzError::Truncated)?)
            | usize::from(*frame.get(pos + 1).ok_or(GzError::Truncated)?) << 8;
        pos += 2 + n;
    }
    for flag in [FNAME, FCOMMENT] {
        if flags & flag != 0 {
            let rest = frame.get(pos..).ok_or(GzError::Truncated)?;
            let nul = rest
                .iter()
                .position(|&b| b == 0)
                .ok_or(GzError::Truncated)?;
            pos += nul + 1;
        }
    }
    if flags & FHCRC != 0 {
        pos += 2;
    }
    frame.get(pos..).ok_or(GzError::Truncated)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use std::io::{Read as _, Write as _};

    fn payload(n: usize) -> Vec<u8> {
        (0..n).map(|i| (i * 7 % 251) as u8).collect()
    }

    #[test]
    fn our_frames_are_standard_gzip() {
        let mut gz = Gz::default();
        for n in [0, 1, 300, 65_535, 65_536, 140_000] {
            let raw = payload(n);
            let frame = gz.compress(&raw);
            let mut back = Vec::new();
            flate2::read::GzDecoder::new(&frame[..])
                .read_to_end(&mut back)
                .unwrap();
            assert_eq!(back, raw, "size {n}");
        }
    }

    #[test]
    fn standard_gzip_decompresses_with_reuse() {
        let mut gz = Gz::default();
        for n in [0, 5, 4096, 200_000] {
            let raw = payload(n);
            let mut enc = flate2::GzBuilder::new()
                .filename("x.bin")
                .write(Vec::new(), flate2::Compression::default());
            enc.write_all(&raw).unwrap();
            let frame = enc.finish().unwrap();
            assert_eq!(gz.decompress(&frame).unwrap(), raw, "size {n}");
        }
    }

    #[test]
    fn garbage_is_an_error() {
        let mut gz = Gz::default();
        assert!(gz.decompress(b"not gzip at all, no no no").is_err());
        let frame = gz.compress(&payload(5000));
        assert!(gz.decompress(&frame[..frame.len() / 2]).is_err());
    }
}
