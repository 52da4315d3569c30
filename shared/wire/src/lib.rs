//! OpenIM wire formats: prost messages from our own .proto files (with serde reproducing
//! OpenIM's JSON), the gob codec for the WS `Req`/`Resp` structs, JSON frames, gzip, and the
//! REST envelope.
//!
//! - [`pb`]: `pb::sdkws::MsgData`, `pb::msg::SendMsgResp`, ... (one module per OpenIM package).
//! - [`frame`]: `decode_req` / `encode_resp` for WS binary frames, text ping/pong, connect ack.
//! - [`gzip`]: whole-frame gzip (stored blocks for small frames, libdeflate to read).
//! - [`envelope`]: the REST `ApiResponse`.
//! - [`convert`]: `MsgData` ⇄ `rill_core::Message`.

#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod convert;
pub mod envelope;
pub mod error;
pub mod frame;
pub mod gob;
pub mod gzip;
pub mod json;
pub mod pb;

pub use envelope::ApiResponse;
pub use error::WireError;
pub use frame::{
    Compression, Encoding, WsReq, WsResp, decode_req, decode_resp, encode_req, encode_resp,
};
