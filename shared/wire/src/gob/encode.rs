//! Encoding a flat struct of ints, strings and byte slices as one self-contained gob stream
//! (type definition + value), as a fresh Go `gob.Encoder` writes it.

use super::prim::{put_bytes, put_int, put_uint};
use crate::frame::{WsReq, WsResp};

/// The type id our definitions use. Go assigns ids per process (65 is the first user id);
/// decoders read it from the definition, so any id ≥ 65 would do.
pub const RESP_TYPE_ID: i64 = 65;

const T_INT: i64 = 2;
const T_BYTES: i64 = 5;
const T_STRING: i64 = 6;

/// One field value; zero values are omitted from the encoding like Go does.
enum Field<'a> {
    Int(i64),
    Str(&'a str),
    Bytes(&'a [u8]),
}

impl Field<'_> {
    fn type_id(&self) -> i64 {
        match self {
            Field::Int(_) => T_INT,
            Field::Str(_) => T_STRING,
            Field::Bytes(_) => T_BYTES,
        }
    }

    fn is_zero(&self) -> bool {
        match self {
            Field::Int(i) => *i == 0,
            Field::Str(s) => s.is_empty(),
            Field::Bytes(b) => b.is_empty(),
        }
    }
}

/// Appends one gob message: length, then type id and payload.
fn message(out: &mut Vec<u8>, type_id: i64, payload: &[u8]) {
    let mut head = Vec::with_capacity(4);
    put_int(&mut head, type_id);
    put_uint(out, (head.len() + payload.len()) as u64);
    out.extend_from_slice(&head);
    out.extend_from_slice(payload);
}

/// The `wireType{StructT: structType{CommonType{Name, Id}, Field: [...]}}` payload.
fn type_definition(name: &str, id: i64, fields: &[(&str, Field<'_>)]) -> Vec<u8> {
    let mut p = Vec::with_capacity(96);
    p.push(3); // wireType.StructT (field 2: delta 3 from -1)
    p.push(1); // structType.CommonType
    p.push(1); // CommonType.Name
    put_bytes(&mut p, name.as_bytes());
    p.push(1); // CommonType.Id
    put_int(&mut p, id);
    p.push(0); // end CommonType
    p.push(1); // structType.Field
    put_uint(&mut p, fields.len() as u64);
    for (fname, v) in fields {
        p.push(1); // fieldType.Name
        put_bytes(&mut p, fname.as_bytes());
        p.push(1); // fieldType.Id
        put_int(&mut p, v.type_id());
        p.push(0); // end fieldType
    }
    p.push(0); // end structType
    p.push(0); // end wireType
    p
}

fn encode_struct(name: &str, fields: &[(&str, Field<'_>)]) -> Vec<u8> {
    let data_len: usize = fields
        .iter()
        .map(|(_, f)| match f {
            Field::Bytes(b) => b.len(),
            _ => 0,
        })
        .sum();
    let mut out = Vec::with_capacity(160 + data_len);
    message(
        &mut out,
        -RESP_TYPE_ID,
        &type_definition(name, RESP_TYPE_ID, fields),
    );

    let mut v = Vec::with_capacity(48 + data_len);
    let mut last: i64 = -1;
    for (index, (_, f)) in (0i64..).zip(fields) {
        if f.is_zero() {
            continue;
        }
        put_uint(&mut v, (index - last) as u64);
        last = index;
        match f {
            Field::Int(i) => put_int(&mut v, *i),
            Field::Str(s) => put_bytes(&mut v, s.as_bytes()),
            Field::Bytes(b) => put_bytes(&mut v, b),
        }
    }
    v.push(0);
    message(&mut out, RESP_TYPE_ID, &v);
    out
}

/// Encodes `resp` as OpenIM's gateway does: struct `Resp` with fields ReqIdentifier, MsgIncr,
/// OperationID, ErrCode, ErrMsg, Data in that order (third-party clients rely on the order).
pub fn encode_resp(resp: &WsResp) -> Vec<u8> {
    encode_struct(
        "Resp",
        &[
            ("ReqIdentifier", Field::Int(i64::from(resp.req_identifier))),
            ("MsgIncr", Field::Str(&resp.msg_incr)),
            ("OperationID", Field::Str(&resp.operation_id)),
            ("ErrCode", Field::Int(i64::from(resp.err_code))),
            ("ErrMsg", Field::Str(&resp.err_msg)),
            ("Data", Field::Bytes(&resp.data)),
        ],
    )
}

/// Encodes `req` as the Go SDK does (struct `GeneralWsReq`); used by Rill's own test and bench
/// clients.
pub fn encode_req(req: &WsReq) -> Vec<u8> {
    encode_struct(
        "GeneralWsReq",
        &[
            ("ReqIdentifier", Field::Int(i64::from(req.req_identifier))),
            ("Token", Field::Str(&req.token)),
            ("SendID", Field::Str(&req.send_id)),
            ("OperationID", Field::Str(&req.operation_id)),
            ("MsgIncr", Field::Str(&req.msg_incr)),
            ("Data", Field::Bytes(&req.data)),
        ],
    )
}
