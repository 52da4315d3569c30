//! Decoding the client's request struct from one gob frame.
//!
//! Fields are matched by name like Go does, so the struct name (`GeneralWsReq`, ...) and field
//! order do not matter; fields we do not know are skipped whatever their (finite) type.

use super::prim::Reader;
use crate::error::WireError;
use crate::frame::{WsReq, WsResp};
use std::collections::HashMap;

// Gob's predefined type ids.
const T_BOOL: i64 = 1;
const T_INT: i64 = 2;
const T_UINT: i64 = 3;
const T_FLOAT: i64 = 4;
const T_BYTES: i64 = 5;
const T_STRING: i64 = 6;
const T_COMPLEX: i64 = 7;

/// Nesting limit when skipping unknown values, so hostile input cannot exhaust the stack.
const MAX_DEPTH: usize = 32;
/// Struct field indices beyond this are nonsense (and would overflow the delta arithmetic).
const MAX_FIELDS: u64 = 1 << 16;

/// A type defined in the frame.
enum WireType {
    Struct { fields: Vec<(String, i64)> },
    Slice { elem: i64 },
    Array { elem: i64 },
    Map { key: i64, elem: i64 },
}

/// Walks one gob frame: type definitions, then one struct value whose basic-typed fields are
/// handed to `f` by name.
fn decode_struct(
    frame: &[u8],
    mut f: impl FnMut(&str, &Val<'_>) -> Result<(), WireError>,
) -> Result<(), WireError> {
    let mut r = Reader::new(frame);
    let mut types: HashMap<i64, WireType> = HashMap::new();
    loop {
        if r.is_empty() {
            return Err(WireError::gob("frame ends before the value"));
        }
        let len = r.len()?;
        let mut m = Reader::new(r.take(len)?);
        let id = m.int()?;
        if id < 0 {
            let wt = read_wire_type(&mut m)?;
            types.insert(id.saturating_neg(), wt);
            continue;
        }
        let Some(WireType::Struct { fields }) = types.get(&id) else {
            return Err(WireError::gob(format!(
                "value of type {id} is not a defined struct"
            )));
        };
        for (name, v) in read_struct(&mut m, fields, &types)? {
            f(name, &v)?;
        }
        return Ok(());
    }
}

/// Calls `f(index, reader)` for every field present in a struct value (gob sends
/// `(delta, value)*` then 0). `f` must consume the value.
fn each_field<'a>(
    r: &mut Reader<'a>,
    mut f: impl FnMut(usize, &mut Reader<'a>) -> Result<(), WireError>,
) -> Result<(), WireError> {
    let mut index: u64 = 0;
    let mut first = true;
    loop {
        let delta = r.uint()?;
        if delta == 0 {
            return Ok(());
        }
        // Field numbers start at -1, so the first delta d means field d-1.
        index = if first {
            delta - 1
        } else {
            index.saturating_add(delta)
        };
        first = false;
        if index >= MAX_FIELDS {
            return Err(WireError::gob("struct field index out of range"));
        }
        f(index as usize, r)?;
    }
}

/// `CommonType{Name string; Id typeId}`: only the id matters here.
fn read_common(r: &mut Reader<'_>) -> Result<(), WireError> {
    each_field(r, |i, r| match i {
        0 => r.bytes().map(|_| ()),
        1 => r.int().map(|_| ()),
        _ => Err(WireError::gob("bad CommonType")),
    })
}

/// One `wireType` value: exactly one of ArrayT, SliceT, StructT, MapT is set.
fn read_wire_type(r: &mut Reader<'_>) -> Result<WireType, WireError> {
    let mut out = None;
    each_field(r, |i, r| {
        out = Some(match i {
            0 => {
                let (mut elem, mut len) = (0, 0);
                each_field(r, |j, r| match j {
                    0 => read_common(r),
                    1 => r.int().map(|v| elem = v),
                    2 => r.int().map(|v| len = v),
                    _ => Err(WireError::gob("bad arrayType")),
                })?;
                let _ = len; // the value carries its own count
                WireType::Array { elem }
            }
            1 => {
                let mut elem = 0;
                each_field(r, |j, r| match j {
                    0 => read_common(r),
                    1 => r.int().map(|v| elem = v),
                    _ => Err(WireError::gob("bad sliceType")),
                })?;
                WireType::Slice { elem }
            }
            2 => {
                let mut fields = Vec::new();
                each_field(r, |j, r| match j {
                    0 => read_common(r),
                    1 => {
                        let n = r.len()?;
                        for _ in 0..n {
                            let (mut name, mut id) = (String::new(), 0);
                            each_field(r, |k, r| match k {
                                0 => r.string().map(|s| name = s),
                                1 => r.int().map(|v| id = v),
                                _ => Err(WireError::gob("bad fieldType")),
                            })?;
                            fields.push((name, id));
                        }
                        Ok(())
                    }
                    _ => Err(WireError::gob("bad structType")),
                })?;
                WireType::Struct { fields }
            }
            3 => {
                let (mut key, mut elem) = (0, 0);
                each_field(r, |j, r| match j {
                    0 => read_common(r),
                    1 => r.int().map(|v| key = v),
                    2 => r.int().map(|v| elem = v),
                    _ => Err(WireError::gob("bad mapType")),
                })?;
                WireType::Map { key, elem }
            }
            _ => {
                return Err(WireError::gob(
                    "GobEncoder/Marshaler types are not supported",
                ));
            }
        });
        Ok(())
    })?;
    out.ok_or_else(|| WireError::gob("empty type definition"))
}

/// A basic-typed field value kept from a struct; other fields are skipped.
enum Val<'a> {
    Int(i64),
    Uint(u64),
    Bytes(&'a [u8]),
}

/// Reads a struct value, keeping the basic-typed fields by name.
fn read_struct<'a>(
    r: &mut Reader<'a>,
    fields: &'a [(String, i64)],
    types: &HashMap<i64, WireType>,
) -> Result<Vec<(&'a str, Val<'a>)>, WireError> {
    let mut out = Vec::with_capacity(fields.len());
    each_field(r, |i, r| {
        let (name, ty) = fields
            .get(i)
            .ok_or_else(|| WireError::gob("field index beyond the struct definition"))?;
        match *ty {
            T_INT => out.push((name.as_str(), Val::Int(r.int()?))),
            T_UINT => out.push((name.as_str(), Val::Uint(r.uint()?))),
            T_BYTES | T_STRING => out.push((name.as_str(), Val::Bytes(r.bytes()?))),
            other => skip(r, other, types, 0)?,
        }
        Ok(())
    })?;
    Ok(out)
}

fn mismatch(name: &str) -> WireError {
    WireError::gob(format!("field {name} has an unexpected type"))
}

fn int32(name: &str, v: &Val<'_>) -> Result<i32, WireError> {
    let wide = match *v {
        Val::Int(i) => i,
        Val::Uint(u) => i64::try_from(u).map_err(|_| mismatch(name))?,
        Val::Bytes(_) => return Err(mismatch(name)),
    };
    i32::try_from(wide).map_err(|_| WireError::gob(format!("{name} out of range")))
}

fn text(name: &str, v: &Val<'_>) -> Result<String, WireError> {
    match *v {
        Val::Bytes(b) => String::from_utf8(b.to_vec())
            .map_err(|_| WireError::gob(format!("{name} is not UTF-8"))),
        _ => Err(mismatch(name)),
    }
}

fn bytes(name: &str, v: &Val<'_>) -> Result<Vec<u8>, WireError> {
    match *v {
        Val::Bytes(b) => Ok(b.to_vec()),
        _ => Err(mismatch(name)),
    }
}

/// Decodes one gob frame (type definitions + one struct value) into a request. Fields are
/// matched by name; unknown ones are ignored.
pub fn decode_req(frame: &[u8]) -> Result<WsReq, WireError> {
    let mut req = WsReq::default();
    decode_struct(frame, |name, v| {
        match name {
            "ReqIdentifier" => req.req_identifier = int32(name, v)?,
            "Token" => req.token = text(name, v)?,
            "SendID" => req.send_id = text(name, v)?,
            "OperationID" => req.operation_id = text(name, v)?,
            "MsgIncr" => req.msg_incr = text(name, v)?,
            "Data" => req.data = bytes(name, v)?,
            _ => {}
        }
        Ok(())
    })?;
    Ok(req)
}

/// Decodes a server `Resp` frame (what a client does; used by Rill's own test and bench
/// clients).
pub fn decode_resp(frame: &[u8]) -> Result<WsResp, WireError> {
    let mut resp = WsResp::default();
    decode_struct(frame, |name, v| {
        match name {
            "ReqIdentifier" => resp.req_identifier = int32(name, v)?,
            "MsgIncr" => resp.msg_incr = text(name, v)?,
            "OperationID" => resp.operation_id = text(name, v)?,
            "ErrCode" => resp.err_code = int32(name, v)?,
            "ErrMsg" => resp.err_msg = text(name, v)?,
            "Data" => resp.data = bytes(name, v)?,
            _ => {}
        }
        Ok(())
    })?;
    Ok(resp)
}

/// Consumes one value of type `ty` without keeping it.
fn skip(
    r: &mut Reader<'_>,
    ty: i64,
    types: &HashMap<i64, WireType>,
    depth: usize,
) -> Result<(), WireError> {
    if depth > MAX_DEPTH {
        return Err(WireError::gob("values nested too deeply"));
    }
    match ty {
        T_BOOL | T_INT | T_UINT | T_FLOAT => r.uint().map(|_| ()),
        T_COMPLEX => r.uint().and_then(|_| r.uint()).map(|_| ()),
        T_BYTES | T_STRING => r.bytes().map(|_| ()),
        _ => match types.get(&ty) {
            Some(WireType::Struct { fields }) => each_field(r, |i, r| {
                let (_, fty) = fields
                    .get(i)
                    .ok_or_else(|| WireError::gob("field index beyond the struct definition"))?;
                skip(r, *fty, types, depth + 1)
            }),
            Some(WireType::Slice { elem }) | Some(WireType::Array { elem }) => {
                let n = r.len()?;
                for _ in 0..n {
                    skip(r, *elem, types, depth + 1)?;
                }
                Ok(())
            }
            Some(WireType::Map { key, elem }) => {
                let n = r.len()?;
                for _ in 0..n {
                    skip(r, *key, types, depth + 1)?;
                    skip(r, *elem, types, depth + 1)?;
                }
                Ok(())
            }
            None => Err(WireError::gob(format!("field of unsupported type {ty}"))),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gob::prim::{put_bytes, put_int, put_uint};

    /// Builds gob streams by hand for shapes our encoder never produces.
    struct Stream(Vec<u8>);

    impl Stream {
        fn msg(&mut self, id: i64, payload: &[u8]) -> &mut Self {
            let mut head = Vec::new();
            put_int(&mut head, id);
            put_uint(&mut self.0, (head.len() + payload.len()) as u64);
            self.0.extend_from_slice(&head);
            self.0.extend_from_slice(payload);
            self
        }

        fn common(p: &mut Vec<u8>, name: &str, id: i64) {
            p.extend([1, 1]);
            put_bytes(p, name.as_bytes());
            p.push(1);
            put_int(p, id);
            p.push(0);
        }

        fn def_struct(&mut self, id: i64, name: &str, fields: &[(&str, i64)]) -> &mut Self {
            let mut p = vec![3];
            Self::common(&mut p, name, id);
            p.push(1);
            put_uint(&mut p, fields.len() as u64);
            for (n, t) in fields {
                p.push(1);
                put_bytes(&mut p, n.as_bytes());
                p.push(1);
                put_int(&mut p, *t);
                p.push(0);
            }
            p.extend([0, 0]);
            self.msg(-id, &p)
        }

        fn def_slice(&mut self, id: i64, elem: i64) -> &mut Self {
            let mut p = vec![2];
            Self::common(&mut p, "", id);
            p.push(1);
            put_int(&mut p, elem);
            p.extend([0, 0]);
            self.msg(-id, &p)
        }

        fn def_map(&mut self, id: i64, key: i64, elem: i64) -> &mut Self {
            let mut p = vec![4];
            Self::common(&mut p, "", id);
            p.push(1);
            put_int(&mut p, key);
            p.push(1);
            put_int(&mut p, elem);
            p.extend([0, 0]);
            self.msg(-id, &p)
        }
    }

    #[test]
    fn fields_match_by_name_in_any_order_with_unknown_extras() {
        let mut s = Stream(Vec::new());
        s.def_slice(66, T_STRING)
            .def_struct(67, "Inner", &[("A", T_INT), ("B", T_STRING)])
            .def_map(68, T_STRING, T_INT)
            .def_struct(
                65,
                "SomeOtherReq",
                &[
                    ("Data", T_BYTES),
                    ("Flag", T_BOOL),
                    ("MsgIncr", T_STRING),
                    ("Count", T_UINT),
                    ("Tags", 66),
                    ("ReqIdentifier", T_INT),
                    ("Inner", 67),
                    ("Scores", 68),
                    ("Ratio", T_FLOAT),
                    ("Pair", T_COMPLEX),
                    ("SendID", T_STRING),
                ],
            );
        let mut v = Vec::new();
        v.push(1); // Data
        put_bytes(&mut v, &[9, 9]);
        v.push(1); // Flag
        put_uint(&mut v, 1);
        v.push(1); // MsgIncr
        put_bytes(&mut v, b"m1");
        v.push(1); // Count
        put_uint(&mut v, 300);
        v.push(1); // Tags
        put_uint(&mut v, 2);
        put_bytes(&mut v, b"a");
        put_bytes(&mut v, b"bc");
        v.push(1); // ReqIdentifier
        put_int(&mut v, 1003);
        v.push(1); // Inner{A: -5, B: "x"}
        v.push(1);
        put_int(&mut v, -5);
        v.push(1);
        put_bytes(&mut v, b"x");
        v.push(0);
        v.push(1); // Scores
        put_uint(&mut v, 1);
        put_bytes(&mut v, b"k");
        put_int(&mut v, 4);
        v.push(1); // Ratio
        put_uint(&mut v, 0x40f0);
        v.push(1); // Pair
        put_uint(&mut v, 1);
        put_uint(&mut v, 2);
        v.push(1); // SendID
        put_bytes(&mut v, b"u1");
        v.push(0);
        s.msg(65, &v);

        let req = decode_req(&s.0).unwrap();
        assert_eq!(req.req_identifier, 1003);
        assert_eq!(req.msg_incr, "m1");
        assert_eq!(req.send_id, "u1");
        assert_eq!(req.data, [9, 9]);
        assert_eq!(req.operation_id, "");
    }

    #[test]
    fn type_mismatch_is_an_error() {
        let mut s = Stream(Vec::new());
        s.def_struct(65, "R", &[("ReqIdentifier", T_STRING)]);
        let mut v = vec![1];
        put_bytes(&mut v, b"1001");
        v.push(0);
        s.msg(65, &v);
        assert!(decode_req(&s.0).is_err());
    }

    #[test]
    fn undefined_types_and_bad_indices_are_errors() {
        let mut s = Stream(Vec::new());
        s.def_struct(65, "R", &[("X", 99)]);
        s.msg(65, &[1, 0, 0]);
        assert!(decode_req(&s.0).is_err());

        let mut s = Stream(Vec::new());
        s.def_struct(65, "R", &[("ReqIdentifier", T_INT)]);
        s.msg(65, &[5, 2, 0]); // field 4 does not exist
        assert!(decode_req(&s.0).is_err());

        let mut s = Stream(Vec::new());
        s.msg(65, &[1, 2, 0]); // value before any definition
        assert!(decode_req(&s.0).is_err());
    }

    #[test]
    fn deep_recursive_values_are_rejected_not_overflowed() {
        // type 66 = []66; a value nested 10_000 levels deep.
        let mut s = Stream(Vec::new());
        s.def_slice(66, 66)
            .def_struct(65, "R", &[("Deep", 66), ("ReqIdentifier", T_INT)]);
        let mut v = vec![1];
        v.extend(std::iter::repeat_n(1u8, 10_000));
        v.extend(std::iter::repeat_n(0u8, 1));
        v.extend([1, 4, 0]);
        s.msg(65, &v);
        let err = decode_req(&s.0).unwrap_err();
        assert!(err.to_string().contains("nested"), "{err}");
    }

    #[test]
    fn huge_counts_are_bounded_by_the_frame() {
        let mut s = Stream(Vec::new());
        s.def_slice(66, T_STRING)
            .def_struct(65, "R", &[("Tags", 66)]);
        let mut v = vec![1];
        put_uint(&mut v, u64::MAX);
        s.msg(65, &v);
        assert!(decode_req(&s.0).is_err());
    }
}
