//! One WS frame of the client: encoding (gob as the Go SDK core, JSON as `sdkType=js`) and the
//! optional whole-frame gzip (protocol.md §2.2).

use super::gob::{self, Req, Resp};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

/// How requests and responses are encoded inside a binary frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Codec {
    /// Go `encoding/gob`, as the native SDK core (sdkType=go).
    Gob,
    /// JSON with base64 `data`, as the pure-JS SDK (sdkType=js, isMsgResp=true).
    Json,
}

impl Codec {
    pub fn name(self) -> &'static str {
        match self {
            Codec::Gob => "gob",
            Codec::Json => "json",
        }
    }
}

/// The wire settings of one connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Wire {
    pub codec: Codec,
    pub gzip: bool,
}

impl Wire {
    /// What the real clients do: gob+gzip for the Go core, plain JSON for the JS SDK.
    pub fn like_sdk(codec: Codec) -> Self {
        Self {
            codec,
            gzip: codec == Codec::Gob,
        }
    }

    pub fn label(self) -> String {
        format!(
            "{}{}",
            self.codec.name(),
            if self.gzip { "+gzip" } else { "" }
        )
    }

    /// A per-connection encoder/decoder for these settings.
    pub fn codec(self) -> FrameCodec {
        FrameCodec { wire: self }
    }
}

/// Encodes requests and decodes responses of one connection. Gzip is rill-wire's (stored
/// blocks for small frames, libdeflate to read): the tool shares the machine with the server
/// it measures, so its own cost matters.
pub struct FrameCodec {
    wire: Wire,
}

impl FrameCodec {
    pub fn wire(&self) -> Wire {
        self.wire
    }

    pub fn encode(&mut self, req: &Req) -> Vec<u8> {
        let mut raw = Vec::with_capacity(192 + req.data.len() * 4 / 3);
        match self.wire.codec {
            Codec::Gob => gob::encode_req(req, &mut raw),
            Codec::Json => encode_json(req, &mut raw),
        }
        if self.wire.gzip {
            rill_wire::gzip::gzip(&raw)
        } else {
            raw
        }
    }

    pub fn decode(&mut self, frame: &[u8]) -> Result<Resp, FrameError> {
        let inflated;
        let raw = if self.wire.gzip {
            inflated = rill_wire::gzip::gunzip(frame, rill_wire::frame::MAX_DECOMPRESSED)?;
            &inflated[..]
        } else {
            frame
        };
        match self.wire.codec {
            Codec::Gob => gob::decode_resp(raw).map_err(FrameError::Gob),
            Codec::Json => decode_json(raw),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum FrameError {
    #[error(transparent)]
    Gzip(#[from] rill_wire::WireError),
    #[error(transparent)]
    Gob(#[from] gob::GobError),
    #[error("json frame: {0}")]
    Json(String),
}

#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct JsonReq<'a> {
    req_identifier: i32,
    token: &'a str,
    #[serde(rename = "sendID")]
    send_id: &'a str,
    #[serde(rename = "operationID")]
    operation_id: &'a str,
    msg_incr: &'a str,
    data: String,
}

#[derive(serde::Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct JsonResp {
    req_identifier: i32,
    msg_incr: Option<String>,
    #[serde(rename = "operationID")]
    operation_id: Option<String>,
    err_code: i32,
    err_msg: Option<String>,
    data: Option<String>,
}

fn encode_json(req: &Req, out: &mut Vec<u8>) {
    let j = JsonReq {
        req_identifier: req.req_identifier,
        token: &req.token,
        send_id: &req.send_id,
        operation_id: &req.operation_id,
        msg_incr: &req.msg_incr,
        data: STANDARD.encode(&req.data),
    };
    // Serializing plain strings and ints into a Vec cannot fail.
    let _ = serde_json::to_writer(out, &j);
}

fn decode_json(raw: &[u8]) -> Result<Resp, FrameError> {
    let j: JsonResp = serde_json::from_slice(raw).map_err(|e| FrameError::Json(e.to_string()))?;
    let data = match j.data.as_deref() {
        None | Some("") => Vec::new(),
        Some(s) => STANDARD
            .decode(s)
            .map_err(|e| FrameError::Json(format!("data: {e}")))?,
    };
    Ok(Resp {
        req_identifier: j.req_identifier,
        msg_incr: j.msg_incr.unwrap_or_default(),
        operation_id: j.operation_id.unwrap_or_default(),
        err_code: j.err_code,
        err_msg: j.err_msg.unwrap_or_default(),
        data,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn json_request_has_the_js_sdk_keys() {
        let req = Req {
            req_identifier: 1001,
            send_id: "u1".into(),
            operation_id: "op1".into(),
            msg_incr: "u1_1".into(),
            data: vec![0x0a, 0x02, 0x75, 0x31],
            ..Req::default()
        };
        let bytes = Wire::like_sdk(Codec::Json).codec().encode(&req);
        let v: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"reqIdentifier":1001,"token":"","sendID":"u1","operationID":"op1","msgIncr":"u1_1","data":"CgJ1MQ=="})
        );
    }

    #[test]
    fn json_response_with_null_data_decodes() {
        let r = Wire::like_sdk(Codec::Json)
            .codec()
            .decode(br#"{"reqIdentifier":1003,"msgIncr":"m","operationID":"o","errCode":1001,"errMsg":"ArgsError","data":null}"#)
            .unwrap();
        assert_eq!(
            (r.req_identifier, r.err_code, r.err_msg.as_str()),
            (1003, 1001, "ArgsError")
        );
        assert!(r.data.is_empty());
    }

    #[test]
    fn gzip_frames_inflate() {
        let req = Req {
            req_identifier: 1003,
            msg_incr: "x".into(),
            ..Req::default()
        };
        let frame = Wire::like_sdk(Codec::Gob).codec().encode(&req);
        assert_eq!(&frame[..2], &[0x1f, 0x8b]);
        let mut raw = Vec::new();
        std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&frame[..]), &mut raw)
            .unwrap();
        let mut plain = Vec::new();
        gob::encode_req(&req, &mut plain);
        assert_eq!(raw, plain);
    }

    /// The server decodes what the tool sends, and the tool decodes what the server sends, for
    /// every wire setting (the server side is rill-wire's codec).
    #[test]
    fn interoperates_with_the_servers_codec() {
        use rill_wire::frame::{self as server, Compression, Encoding, WsResp};
        for (codec, gzip) in [
            (Codec::Gob, true),
            (Codec::Gob, false),
            (Codec::Json, false),
            (Codec::Json, true),
        ] {
            let wire = Wire { codec, gzip };
            let (enc, comp) = (
                if codec == Codec::Gob {
                    Encoding::Gob
                } else {
                    Encoding::Json
                },
                if gzip {
                    Compression::Gzip
                } else {
                    Compression::None
                },
            );
            let mut c = wire.codec();
            let req = Req {
                req_identifier: 1003,
                token: String::new(),
                send_id: "u1".into(),
                operation_id: "op".into(),
                msg_incr: "123456789".into(),
                data: (0..=255u8).collect(),
            };
            let got = server::decode_req(&c.encode(&req), enc, comp).unwrap();
            assert_eq!(
                (
                    got.req_identifier,
                    got.send_id.as_str(),
                    got.msg_incr.as_str(),
                    &got.data
                ),
                (1003, "u1", "123456789", &req.data),
                "{wire:?}"
            );
            let resp = WsResp {
                req_identifier: 2001,
                msg_incr: String::new(),
                operation_id: "op".into(),
                err_code: 1001,
                err_msg: "ArgsError".into(),
                data: vec![7; 1000],
            };
            // Twice: the second frame reuses the connection's inflate state.
            for _ in 0..2 {
                let back = c.decode(&server::encode_resp(&resp, enc, comp)).unwrap();
                assert_eq!(
                    (
                        back.req_identifier,
                        back.err_code,
                        back.err_msg.as_str(),
                        &back.data
                    ),
                    (2001, 1001, "ArgsError", &resp.data),
                    "{wire:?}"
                );
            }
        }
    }
}
