//! Gob's primitive encodings: unsigned and signed integers and length-prefixed byte strings.
//!
//! Unsigned: < 128 is one byte; otherwise a byte holding minus the byte count, then the value
//! big-endian in that many bytes. Signed: zig-zag-like (`i < 0 ? (!i << 1) | 1 : i << 1`), then
//! as unsigned.

use crate::error::WireError;

/// A cursor over one frame. Every length read from the input is checked against what remains,
/// so a hostile length can never make us allocate more than the frame itself.
pub(crate) struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }

    pub(crate) fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.remaining() == 0
    }

    fn byte(&mut self) -> Result<u8, WireError> {
        let b = *self
            .buf
            .get(self.pos)
            .ok_or_else(|| WireError::gob("unexpected end of data"))?;
        self.pos += 1;
        Ok(b)
    }

    pub(crate) fn take(&mut self, n: usize) -> Result<&'a [u8], WireError> {
        if n > self.remaining() {
            return Err(WireError::gob(format!(
                "length {n} exceeds the {} bytes left",
                self.remaining()
            )));
        }
        let s = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    pub(crate) fn uint(&mut self) -> Result<u64, WireError> {
        let b = self.byte()?;
        if b < 0x80 {
            return Ok(u64::from(b));
        }
        let n = 256 - usize::from(b);
        if n > 8 {
            return Err(WireError::gob(format!("invalid uint length byte {b:#x}")));
        }
        let mut v = 0u64;
        for &x in self.take(n)? {
            v = (v << 8) | u64::from(x);
        }
        Ok(v)
    }

    pub(crate) fn int(&mut self) -> Result<i64, WireError> {
        let u = self.uint()?;
        Ok(if u & 1 == 1 {
            !((u >> 1) as i64)
        } else {
            (u >> 1) as i64
        })
    }

    /// A count or length, bounded by the bytes left (each element takes at least one byte).
    pub(crate) fn len(&mut self) -> Result<usize, WireError> {
        let n = self.uint()?;
        if n > self.remaining() as u64 {
            return Err(WireError::gob(format!(
                "length {n} exceeds the {} bytes left",
                self.remaining()
            )));
        }
        Ok(n as usize)
    }

    pub(crate) fn bytes(&mut self) -> Result<&'a [u8], WireError> {
        let n = self.len()?;
        self.take(n)
    }

    pub(crate) fn string(&mut self) -> Result<String, WireError> {
        let b = self.bytes()?;
        String::from_utf8(b.to_vec()).map_err(|_| WireError::gob("string is not UTF-8"))
    }
}

pub(crate) fn put_uint(out: &mut Vec<u8>, v: u64) {
    if v < 0x80 {
        out.push(v as u8);
        return;
    }
    let be = v.to_be_bytes();
    let skip = be.iter().take_while(|&&b| b == 0).count();
    let n = be.len() - skip;
    out.push((256 - n) as u8);
    out.extend_from_slice(&be[skip..]);
}

pub(crate) fn put_int(out: &mut Vec<u8>, i: i64) {
    let u = if i < 0 {
        ((!i as u64) << 1) | 1
    } else {
        (i as u64) << 1
    };
    put_uint(out, u);
}

pub(crate) fn put_bytes(out: &mut Vec<u8>, b: &[u8]) {
    put_uint(out, b.len() as u64);
    out.extend_from_slice(b);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_match_go() {
        let mut v = Vec::new();
        put_int(&mut v, 1001);
        assert_eq!(v, [0xfe, 0x07, 0xd2]);
        v.clear();
        put_int(&mut v, -65);
        assert_eq!(v, [0xff, 0x81]);
        v.clear();
        put_int(&mut v, 65);
        assert_eq!(v, [0xff, 0x82]);
        v.clear();
        put_uint(&mut v, 7);
        assert_eq!(v, [7]);
        for x in [0i64, 1, -1, 63, 64, -64, 1001, i64::MAX, i64::MIN] {
            let mut b = Vec::new();
            put_int(&mut b, x);
            assert_eq!(Reader::new(&b).int().unwrap(), x);
        }
        for x in [0u64, 127, 128, 255, 256, u64::MAX] {
            let mut b = Vec::new();
            put_uint(&mut b, x);
            assert_eq!(Reader::new(&b).uint().unwrap(), x);
        }
    }

    #[test]
    fn hostile_lengths_are_errors() {
        assert!(Reader::new(&[0xf7]).uint().is_err()); // 9-byte uint
        assert!(Reader::new(&[0xfe, 0x01]).uint().is_err()); // truncated
        assert!(
            Reader::new(&[0xf8, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff])
                .len()
                .is_err()
        );
        assert!(Reader::new(&[0x05, b'a']).bytes().is_err());
    }
}
