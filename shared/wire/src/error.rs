//! Errors of the wire layer. Any of them on a WS frame means "close the connection" (OpenIM does
//! the same for an undecodable frame); on HTTP they map to ArgsError.

/// A frame or payload that could not be decoded.
#[derive(Debug, thiserror::Error)]
pub enum WireError {
    #[error("gob: {0}")]
    Gob(String),
    #[error("json frame: {0}")]
    Json(#[from] serde_json::Error),
    #[error("gzip: {0}")]
    Gzip(String),
    #[error("frame too large after decompression (limit {limit} bytes)")]
    TooLarge { limit: usize },
    #[error("base64: {0}")]
    Base64(String),
    #[error("protobuf: {0}")]
    Protobuf(#[from] prost::DecodeError),
}

impl WireError {
    pub(crate) fn gob(msg: impl Into<String>) -> Self {
        WireError::Gob(msg.into())
    }
}
