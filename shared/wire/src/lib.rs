//! OpenIM wire formats: prost messages from our own .proto files (with serde reproducing
//! OpenIM's JSON), the gob codec for the WS `Req`/`Resp` structs, JSON frames, gzip, and the
//! REST envelope.

pub mod convert;
pub mod json;
pub mod pb;
