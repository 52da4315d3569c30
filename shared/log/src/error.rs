//! Errors of the log layer.

#[derive(Debug, thiserror::Error)]
pub enum LogError {
    #[error("redis: {0}")]
    Redis(#[from] redis::RedisError),
    #[error("streams.yaml: {0}")]
    Config(String),
    #[error("event encoding: {0}")]
    Encode(String),
    #[error("event decoding: {0}")]
    Decode(String),
    #[error(
        "this deployment was created with {recorded} partitions but streams.yaml says {configured}; \
         partitions cannot change after creation"
    )]
    PartitionMismatch { recorded: u32, configured: u32 },
    #[error("unexpected reply from redis: {0}")]
    Reply(String),
}
