//! WebSocket application frames (protocol.md §2.2): gob (native SDKs) or JSON (`sdkType=js`),
//! optionally gzip'd as a whole (`compression=gzip`), plus the JSON text-frame heartbeat and the
//! connect ack of `isMsgResp=true` clients.

use crate::error::WireError;
use crate::gob;
pub use crate::gzip::{gunzip, gzip};
use serde::{Deserialize, Serialize};

/// How the payload of a binary frame is encoded (query `sdkType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Encoding {
    /// Go encoding/gob, the default (`sdkType=go` or absent).
    #[default]
    Gob,
    /// UTF-8 JSON with `data` as base64 (`sdkType=js`).
    Json,
}

/// Whole-frame compression (query or header `compression`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Compression {
    #[default]
    None,
    Gzip,
}

/// Largest decompressed frame accepted. The gateway's read limit applies to the compressed
/// bytes; this bounds what a small gzip bomb can expand to.
pub const MAX_DECOMPRESSED: usize = 1 << 20;

/// A client request: `data` is the protobuf request of `req_identifier` (see §2.3).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WsReq {
    pub req_identifier: i32,
    pub token: String,
    pub send_id: String,
    pub operation_id: String,
    pub msg_incr: String,
    pub data: Vec<u8>,
}

/// A server reply or push: `data` is the protobuf response (empty on error).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WsResp {
    pub req_identifier: i32,
    pub msg_incr: String,
    pub operation_id: String,
    pub err_code: i32,
    pub err_msg: String,
    pub data: Vec<u8>,
}

impl WsResp {
    /// The success reply to `req` carrying `data`.
    pub fn reply(req: &WsReq, data: Vec<u8>) -> Self {
        WsResp {
            req_identifier: req.req_identifier,
            msg_incr: req.msg_incr.clone(),
            operation_id: req.operation_id.clone(),
            data,
            ..Default::default()
        }
    }

    /// The error reply to `req` (no data; WS replies carry no errDlt).
    pub fn error(req: &WsReq, code: rill_core::ErrCode, msg: impl Into<String>) -> Self {
        WsResp {
            req_identifier: req.req_identifier,
            msg_incr: req.msg_incr.clone(),
            operation_id: req.operation_id.clone(),
            err_code: code.code(),
            err_msg: msg.into(),
            data: Vec::new(),
        }
    }

    /// A server push (2001 messages, 2002 kick, 2005 status) with no correlation id.
    pub fn push(req_identifier: i32, data: Vec<u8>) -> Self {
        WsResp {
            req_identifier,
            data,
            ..Default::default()
        }
    }
}

/// Decodes one binary frame from a client.
pub fn decode_req(bytes: &[u8], enc: Encoding, comp: Compression) -> Result<WsReq, WireError> {
    let plain;
    let body = match comp {
        Compression::None => bytes,
        Compression::Gzip => {
            plain = gunzip(bytes, MAX_DECOMPRESSED)?;
            &plain[..]
        }
    };
    match enc {
        Encoding::Gob => gob::decode_req(body),
        Encoding::Json => decode_json_req(body),
    }
}

/// Encodes one binary frame for a client.
pub fn encode_resp(resp: &WsResp, enc: Encoding, comp: Compression) -> Vec<u8> {
    let body = match enc {
        Encoding::Gob => gob::encode_resp(resp),
        Encoding::Json => encode_json_resp(resp),
    };
    match comp {
        Compression::None => body,
        Compression::Gzip => gzip(&body),
    }
}

/// Encodes a request frame as a client would (Rill's own test and bench clients).
pub fn encode_req(req: &WsReq, enc: Encoding, comp: Compression) -> Vec<u8> {
    let body = match enc {
        Encoding::Gob => gob::encode_req(req),
        Encoding::Json => encode_json_req(req),
    };
    match comp {
        Compression::None => body,
        Compression::Gzip => gzip(&body),
    }
}

/// Decodes a server frame as a client would (Rill's own test and bench clients).
pub fn decode_resp(bytes: &[u8], enc: Encoding, comp: Compression) -> Result<WsResp, WireError> {
    let plain;
    let body = match comp {
        Compression::None => bytes,
        Compression::Gzip => {
            plain = gunzip(bytes, MAX_DECOMPRESSED)?;
            &plain[..]
        }
    };
    match enc {
        Encoding::Gob => gob::decode_resp(body),
        Encoding::Json => decode_json_resp(body),
    }
}

// ---------------------------------------------------------------- JSON frames

#[derive(Deserialize, Default)]
#[serde(default)]
struct JsonReq {
    #[serde(rename = "reqIdentifier", deserialize_with = "crate::json::int")]
    req_identifier: i32,
    #[serde(deserialize_with = "crate::json::null_default")]
    token: String,
    #[serde(rename = "sendID", deserialize_with = "crate::json::null_default")]
    send_id: String,
    #[serde(rename = "operationID", deserialize_with = "crate::json::null_default")]
    operation_id: String,
    #[serde(rename = "msgIncr", deserialize_with = "crate::json::null_default")]
    msg_incr: String,
    #[serde(with = "crate::json::base64")]
    data: Vec<u8>,
}

#[derive(Serialize)]
struct JsonResp<'a> {
    #[serde(rename = "reqIdentifier")]
    req_identifier: i32,
    #[serde(rename = "msgIncr")]
    msg_incr: &'a str,
    #[serde(rename = "operationID")]
    operation_id: &'a str,
    #[serde(rename = "errCode")]
    err_code: i32,
    #[serde(rename = "errMsg")]
    err_msg: &'a str,
    /// Go writes a nil `[]byte` as null; that is what the JS SDK sees from OpenIM.
    data: Option<String>,
}

fn decode_json_req(body: &[u8]) -> Result<WsReq, WireError> {
    let j: JsonReq = serde_json::from_slice(body)?;
    Ok(WsReq {
        req_identifier: j.req_identifier,
        token: j.token,
        send_id: j.send_id,
        operation_id: j.operation_id,
        msg_incr: j.msg_incr,
        data: j.data,
    })
}

fn encode_json_resp(resp: &WsResp) -> Vec<u8> {
    use base64::Engine as _;
    let j = JsonResp {
        req_identifier: resp.req_identifier,
        msg_incr: &resp.msg_incr,
        operation_id: &resp.operation_id,
        err_code: resp.err_code,
        err_msg: &resp.err_msg,
        data: (!resp.data.is_empty())
            .then(|| base64::engine::general_purpose::STANDARD.encode(&resp.data)),
    };
    // Serializing plain strings and integers cannot fail.
    serde_json::to_vec(&j).unwrap_or_default()
}

#[derive(Serialize)]
struct JsonReqOut<'a> {
    #[serde(rename = "reqIdentifier")]
    req_identifier: i32,
    token: &'a str,
    #[serde(rename = "sendID")]
    send_id: &'a str,
    #[serde(rename = "operationID")]
    operation_id: &'a str,
    #[serde(rename = "msgIncr")]
    msg_incr: &'a str,
    #[serde(with = "crate::json::base64")]
    data: &'a [u8],
}

fn encode_json_req(req: &WsReq) -> Vec<u8> {
    let j = JsonReqOut {
        req_identifier: req.req_identifier,
        token: &req.token,
        send_id: &req.send_id,
        operation_id: &req.operation_id,
        msg_incr: &req.msg_incr,
        data: &req.data,
    };
    serde_json::to_vec(&j).unwrap_or_default()
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct JsonRespIn {
    #[serde(rename = "reqIdentifier", deserialize_with = "crate::json::int")]
    req_identifier: i32,
    #[serde(rename = "msgIncr", deserialize_with = "crate::json::null_default")]
    msg_incr: String,
    #[serde(rename = "operationID", deserialize_with = "crate::json::null_default")]
    operation_id: String,
    #[serde(rename = "errCode", deserialize_with = "crate::json::int")]
    err_code: i32,
    #[serde(rename = "errMsg", deserialize_with = "crate::json::null_default")]
    err_msg: String,
    #[serde(with = "crate::json::base64")]
    data: Vec<u8>,
}

fn decode_json_resp(body: &[u8]) -> Result<WsResp, WireError> {
    let j: JsonRespIn = serde_json::from_slice(body)?;
    Ok(WsResp {
        req_identifier: j.req_identifier,
        msg_incr: j.msg_incr,
        operation_id: j.operation_id,
        err_code: j.err_code,
        err_msg: j.err_msg,
        data: j.data,
    })
}

// ---------------------------------------------------------------- text frames

/// What to do with a text frame from a JSON client.
#[derive(Debug, Clone, PartialEq)]
pub enum TextAction {
    /// Reply with this text frame (`{"type":"pong","body":<same>}`).
    Reply(String),
    /// A pong from the client: nothing to send.
    Ignore,
}

#[derive(Deserialize)]
struct TextIn {
    #[serde(rename = "type", default)]
    kind: String,
    #[serde(default)]
    body: serde_json::Value,
}

#[derive(Serialize)]
struct TextOut<'a> {
    #[serde(rename = "type")]
    kind: &'a str,
    body: &'a serde_json::Value,
}

/// Handles a text frame: `ping` gets a `pong` with the same body, `pong` is ignored, and anything
/// else is an error (OpenIM closes the connection).
pub fn handle_text(text: &str) -> Result<TextAction, WireError> {
    let t: TextIn = serde_json::from_str(text)?;
    match t.kind.as_str() {
        "ping" => {
            let out = TextOut {
                kind: "pong",
                body: &t.body,
            };
            Ok(TextAction::Reply(serde_json::to_string(&out)?))
        }
        "pong" => Ok(TextAction::Ignore),
        other => Err(WireError::Json(serde::de::Error::custom(format!(
            "unexpected text frame type {other:?}"
        )))),
    }
}

/// The text frame sent right after the upgrade to `isMsgResp=true` clients, and (with a non-zero
/// code) the one sent before closing on an auth failure. Also the body of a refused upgrade.
pub fn connect_ack(err_code: i32, err_msg: &str, err_dlt: &str) -> String {
    #[derive(Serialize)]
    struct Ack<'a> {
        #[serde(rename = "errCode")]
        err_code: i32,
        #[serde(rename = "errMsg")]
        err_msg: &'a str,
        #[serde(rename = "errDlt")]
        err_dlt: &'a str,
    }
    serde_json::to_string(&Ack {
        err_code,
        err_msg,
        err_dlt,
    })
    .unwrap_or_default()
}

/// `{"errCode":0,"errMsg":"","errDlt":""}`.
pub fn connect_ack_ok() -> String {
    connect_ack(0, "", "")
}
