//! The client half of the gob framing the OpenIM Go SDK core speaks (protocol.md §2.2): encode
//! one `GeneralWsReq` per frame (type definition, then the value, as a fresh Go encoder does) and
//! decode the server's `Resp` by reading its type definition (the server's type id is not fixed).
//!
//! Only what these two structs need: structs of int, string and []byte fields (plus bool/uint so
//! a server adding such a field does not break the tool).

use std::collections::HashMap;

/// Built-in gob type ids.
const T_BOOL: i64 = 1;
const T_INT: i64 = 2;
const T_UINT: i64 = 3;
const T_BYTES: i64 = 5;
const T_STRING: i64 = 6;

/// The type id this encoder gives `GeneralWsReq` (the first user type id of a Go process).
const REQ_TYPE_ID: i64 = 65;

#[derive(Debug, thiserror::Error)]
pub enum GobError {
    #[error("gob: truncated input")]
    Truncated,
    #[error("gob: {0}")]
    Malformed(String),
}

/// A WS request as the Go SDK sends it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Req {
    pub req_identifier: i32,
    pub token: String,
    pub send_id: String,
    pub operation_id: String,
    pub msg_incr: String,
    pub data: Vec<u8>,
}

/// A WS response or push as the server sends it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Resp {
    pub req_identifier: i32,
    pub msg_incr: String,
    pub operation_id: String,
    pub err_code: i32,
    pub err_msg: String,
    pub data: Vec<u8>,
}

/// The `GeneralWsReq` field list in the SDK's order, with gob type ids.
const REQ_FIELDS: [(&str, i64); 6] = [
    ("ReqIdentifier", T_INT),
    ("Token", T_STRING),
    ("SendID", T_STRING),
    ("OperationID", T_STRING),
    ("MsgIncr", T_STRING),
    ("Data", T_BYTES),
];

/// Encodes `req` as one self-contained gob stream (type definition message + value message).
pub fn encode_req(req: &Req, out: &mut Vec<u8>) {
    let mut def = Vec::with_capacity(128);
    put_int(&mut def, -REQ_TYPE_ID);
    // wireType{StructT: structType{CommonType{Name, Id}, Field: [...]}}
    put_uint(&mut def, 3); // field 2 of wireType: StructT
    put_uint(&mut def, 1); // field 0 of structType: CommonType
    put_uint(&mut def, 1); // CommonType.Name
    put_str(&mut def, b"GeneralWsReq");
    put_uint(&mut def, 1); // CommonType.Id
    put_int(&mut def, REQ_TYPE_ID);
    def.push(0); // end CommonType
    put_uint(&mut def, 1); // structType.Field
    put_uint(&mut def, REQ_FIELDS.len() as u64);
    for (name, id) in REQ_FIELDS {
        put_uint(&mut def, 1);
        put_str(&mut def, name.as_bytes());
        put_uint(&mut def, 1);
        put_int(&mut def, id);
        def.push(0);
    }
    def.push(0); // end structType
    def.push(0); // end wireType
    put_uint(out, def.len() as u64);
    out.extend_from_slice(&def);

    let mut val = Vec::with_capacity(64 + req.data.len());
    put_int(&mut val, REQ_TYPE_ID);
    let mut last: i64 = -1;
    let mut field = |val: &mut Vec<u8>, index: i64, write: &dyn Fn(&mut Vec<u8>)| {
        put_uint(val, (index - last) as u64);
        write(val);
        last = index;
    };
    if req.req_identifier != 0 {
        field(&mut val, 0, &|v| put_int(v, i64::from(req.req_identifier)));
    }
    for (index, s) in [
        (1, &req.token),
        (2, &req.send_id),
        (3, &req.operation_id),
        (4, &req.msg_incr),
    ] {
        if !s.is_empty() {
            field(&mut val, index, &|v| put_str(v, s.as_bytes()));
        }
    }
    if !req.data.is_empty() {
        field(&mut val, 5, &|v| put_str(v, &req.data));
    }
    val.push(0);
    put_uint(out, val.len() as u64);
    out.extend_from_slice(&val);
}

/// A struct field as declared in a type definition.
#[derive(Debug, Clone)]
struct FieldDef {
    name: String,
    type_id: i64,
}

/// Decodes the first struct value of a gob stream into a `Resp` (fields matched by name, as Go
/// does; unknown fields are skipped).
pub fn decode_resp(bytes: &[u8]) -> Result<Resp, GobError> {
    let mut r = Reader { buf: bytes, pos: 0 };
    let mut types: HashMap<i64, Vec<FieldDef>> = HashMap::new();
    while r.pos < r.buf.len() {
        let len = r.uint()? as usize;
        let end = r
            .pos
            .checked_add(len)
            .filter(|&e| e <= r.buf.len())
            .ok_or(GobError::Truncated)?;
        let mut m = Reader {
            buf: &r.buf[..end],
            pos: r.pos,
        };
        r.pos = end;
        let id = m.int()?;
        if id < 0 {
            let (tid, fields) = read_type_def(&mut m)?;
            if tid != -id {
                return Err(GobError::Malformed(format!(
                    "type definition {} names id {tid}",
                    -id
                )));
            }
            types.insert(tid, fields);
            continue;
        }
        let fields = types
            .get(&id)
            .ok_or_else(|| GobError::Malformed(format!("value of undefined type {id}")))?;
        return read_resp(&mut m, fields);
    }
    Err(GobError::Malformed("no value in the stream".into()))
}

fn read_type_def(m: &mut Reader<'_>) -> Result<(i64, Vec<FieldDef>), GobError> {
    // wireType: only StructT (field 2) is expected for Resp.
    let delta = m.uint()?;
    if delta != 3 {
        return Err(GobError::Malformed(format!(
            "wireType field delta {delta}: not a struct"
        )));
    }
    let mut name = String::new();
    let mut id = 0;
    let mut fields = Vec::new();
    let mut st_field: i64 = -1;
    loop {
        let d = m.uint()? as i64;
        if d == 0 {
            break;
        }
        st_field += d;
        match st_field {
            0 => {
                let mut ct_field: i64 = -1;
                loop {
                    let d = m.uint()? as i64;
                    if d == 0 {
                        break;
                    }
                    ct_field += d;
                    match ct_field {
                        0 => name = m.string()?,
                        1 => id = m.int()?,
                        f => return Err(GobError::Malformed(format!("CommonType field {f}"))),
                    }
                }
            }
            1 => {
                let n = m.uint()?;
                for _ in 0..n {
                    let mut f = FieldDef {
                        name: String::new(),
                        type_id: 0,
                    };
                    let mut ff: i64 = -1;
                    loop {
                        let d = m.uint()? as i64;
                        if d == 0 {
                            break;
                        }
                        ff += d;
                        match ff {
                            0 => f.name = m.string()?,
                            1 => f.type_id = m.int()?,
                            x => return Err(GobError::Malformed(format!("fieldType field {x}"))),
                        }
                    }
                    fields.push(f);
                }
            }
            f => return Err(GobError::Malformed(format!("structType field {f}"))),
        }
    }
    // Ends wireType.
    if m.uint()? != 0 {
        return Err(GobError::Malformed(format!(
            "wireType of {name} has more fields"
        )));
    }
    Ok((id, fields))
}

fn read_resp(m: &mut Reader<'_>, fields: &[FieldDef]) -> Result<Resp, GobError> {
    let mut resp = Resp::default();
    let mut index: i64 = -1;
    loop {
        let d = m.uint()? as i64;
        if d == 0 {
            return Ok(resp);
        }
        index += d;
        let f = usize::try_from(index)
            .ok()
            .and_then(|i| fields.get(i))
            .ok_or_else(|| GobError::Malformed(format!("field {index} out of range")))?;
        match f.type_id {
            T_INT => {
                let v = m.int()?;
                let v32 = i32::try_from(v)
                    .map_err(|_| GobError::Malformed(format!("{} = {v}", f.name)))?;
                match f.name.as_str() {
                    "ReqIdentifier" => resp.req_identifier = v32,
                    "ErrCode" => resp.err_code = v32,
                    _ => {}
                }
            }
            T_STRING => {
                let s = m.string()?;
                match f.name.as_str() {
                    "MsgIncr" => resp.msg_incr = s,
                    "OperationID" => resp.operation_id = s,
                    "ErrMsg" => resp.err_msg = s,
                    _ => {}
                }
            }
            T_BYTES => {
                let b = m.bytes()?;
                if f.name == "Data" {
                    resp.data = b.to_vec();
                }
            }
            T_BOOL | T_UINT => {
                m.uint()?;
            }
            t => {
                return Err(GobError::Malformed(format!(
                    "field {} has unsupported type {t}",
                    f.name
                )));
            }
        }
    }
}

struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn byte(&mut self) -> Result<u8, GobError> {
        let b = *self.buf.get(self.pos).ok_or(GobError::Truncated)?;
        self.pos += 1;
        Ok(b)
    }

    fn uint(&mut self) -> Result<u64, GobError> {
        let b = self.byte()?;
        if b < 0x80 {
            return Ok(u64::from(b));
        }
        let n = (b as i8).unsigned_abs() as usize;
        if n > 8 {
            return Err(GobError::Malformed(format!("uint of {n} bytes")));
        }
        let mut v: u64 = 0;
        for _ in 0..n {
            v = (v << 8) | u64::from(self.byte()?);
        }
        Ok(v)
    }

    fn int(&mut self) -> Result<i64, GobError> {
        let u = self.uint()?;
        Ok(if u & 1 == 1 {
            !((u >> 1) as i64)
        } else {
            (u >> 1) as i64
        })
    }

    fn bytes(&mut self) -> Result<&'a [u8], GobError> {
        let n = self.uint()? as usize;
        let end = self
            .pos
            .checked_add(n)
            .filter(|&e| e <= self.buf.len())
            .ok_or(GobError::Truncated)?;
        let s = &self.buf[self.pos..end];
        self.pos = end;
        Ok(s)
    }

    fn string(&mut self) -> Result<String, GobError> {
        let b = self.bytes()?;
        String::from_utf8(b.to_vec()).map_err(|_| GobError::Malformed("string is not UTF-8".into()))
    }
}

fn put_uint(out: &mut Vec<u8>, v: u64) {
    if v < 0x80 {
        out.push(v as u8);
        return;
    }
    let bytes = v.to_be_bytes();
    let skip = bytes.iter().take_while(|&&b| b == 0).count();
    out.push((-((8 - skip) as i8)) as u8);
    out.extend_from_slice(&bytes[skip..]);
}

fn put_int(out: &mut Vec<u8>, v: i64) {
    let u = if v < 0 {
        ((!v as u64) << 1) | 1
    } else {
        (v as u64) << 1
    };
    put_uint(out, u);
}

fn put_str(out: &mut Vec<u8>, s: &[u8]) {
    put_uint(out, s.len() as u64);
    out.extend_from_slice(s);
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn unhex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    /// protocol.md §2.2: the SDK's GeneralWsReq{1001, "u1", "op1", "u1_1", 0a027531}.
    #[test]
    fn encodes_the_documented_request_bytes() {
        let req = Req {
            req_identifier: 1001,
            send_id: "u1".into(),
            operation_id: "op1".into(),
            msg_incr: "u1_1".into(),
            data: vec![0x0a, 0x02, 0x75, 0x31],
            ..Req::default()
        };
        let mut out = Vec::new();
        encode_req(&req, &mut out);
        let mut want = vec![0x66, 0xff, 0x81, 0x03, 0x01, 0x01, 0x0c];
        want.extend_from_slice(b"GeneralWsReq");
        want.extend_from_slice(&[0x01, 0xff, 0x82, 0x00, 0x01, 0x06]);
        for (name, id) in REQ_FIELDS {
            want.extend_from_slice(&[0x01, name.len() as u8]);
            want.extend_from_slice(name.as_bytes());
            want.extend_from_slice(&[0x01, (id * 2) as u8, 0x00]);
        }
        want.extend_from_slice(&[0x00, 0x00]);
        want.extend_from_slice(&[0x1c, 0xff, 0x82, 0x01, 0xfe, 0x07, 0xd2, 0x02, 0x02]);
        want.extend_from_slice(b"u1");
        want.extend_from_slice(&[0x01, 0x03]);
        want.extend_from_slice(b"op1");
        want.extend_from_slice(&[0x01, 0x04]);
        want.extend_from_slice(b"u1_1");
        want.extend_from_slice(&[0x01, 0x04, 0x0a, 0x02, 0x75, 0x31, 0x00]);
        assert_eq!(out, want);
    }

    /// clients.md §1: the Resp the native core accepted (type 65, 1001, "u7_1", "op1").
    #[test]
    fn decodes_a_server_resp() {
        let bytes = unhex(
            "60ff81030101045265737001ff82000106010d5265714964656e74696669657201040001074d7367496e6372010c00010b4f7065726174696f6e4944010c000107457272436f646501040001064572724d7367010c00010444617461010a00000012ff8201fe07d2010475375f3101036f703100",
        );
        let resp = decode_resp(&bytes).unwrap();
        assert_eq!(
            resp,
            Resp {
                req_identifier: 1001,
                msg_incr: "u7_1".into(),
                operation_id: "op1".into(),
                ..Resp::default()
            }
        );
    }

    /// A type id other than 65 (the server's is process-global), negative ErrCode, data.
    #[test]
    fn decodes_any_type_id_and_all_fields() {
        let fields = [
            ("ReqIdentifier", T_INT),
            ("MsgIncr", T_STRING),
            ("OperationID", T_STRING),
            ("ErrCode", T_INT),
            ("ErrMsg", T_STRING),
            ("Data", T_BYTES),
        ];
        let tid = 300;
        let mut def = Vec::new();
        put_int(&mut def, -tid);
        def.extend_from_slice(&[3, 1, 1]);
        put_str(&mut def, b"Resp");
        put_uint(&mut def, 1);
        put_int(&mut def, tid);
        def.extend_from_slice(&[0, 1, 6]);
        for (n, t) in fields {
            put_uint(&mut def, 1);
            put_str(&mut def, n.as_bytes());
            put_uint(&mut def, 1);
            put_int(&mut def, t);
            def.push(0);
        }
        def.extend_from_slice(&[0, 0]);
        let mut val = Vec::new();
        put_int(&mut val, tid);
        put_uint(&mut val, 1);
        put_int(&mut val, 2001);
        put_uint(&mut val, 3); // skip MsgIncr and OperationID
        put_int(&mut val, -7);
        put_uint(&mut val, 1);
        put_str(&mut val, b"bad");
        put_uint(&mut val, 1);
        put_str(&mut val, &[9; 300]);
        val.push(0);
        let mut stream = Vec::new();
        put_uint(&mut stream, def.len() as u64);
        stream.extend_from_slice(&def);
        put_uint(&mut stream, val.len() as u64);
        stream.extend_from_slice(&val);
        let resp = decode_resp(&stream).unwrap();
        assert_eq!(resp.req_identifier, 2001);
        assert_eq!(resp.err_code, -7);
        assert_eq!(resp.err_msg, "bad");
        assert_eq!(resp.data, vec![9; 300]);
        assert!(resp.msg_incr.is_empty());
    }

    #[test]
    fn rejects_truncated_input() {
        let mut out = Vec::new();
        encode_req(
            &Req {
                req_identifier: 1003,
                ..Req::default()
            },
            &mut out,
        );
        assert!(decode_resp(&out[..out.len() - 3]).is_err());
    }
}
