//! A small Go `encoding/gob` codec for exactly the two structs of OpenIM's WebSocket: the client's
//! request (`decode_req`, fields matched by name) and the server's `Resp` (`encode_resp`). The
//! reverse pair (`encode_req`, `decode_resp`) lets Rill's own test and bench clients speak gob.
//!
//! Every frame is a complete gob stream (the Go SDK and OpenIM's gateway use a fresh encoder per
//! frame): one or more type-definition messages, then one value message. A message is
//! `[uint length][int typeId][payload]`; a negative id defines a type, a positive id carries a
//! value of that type. Type ids are per-process in Go, so the decoder always reads them from the
//! definitions in the frame (the SDK's request struct is id 64 or 65 depending on the process).

mod decode;
mod encode;
mod prim;

pub use decode::{decode_req, decode_resp};
pub use encode::{RESP_TYPE_ID, encode_req, encode_resp};
