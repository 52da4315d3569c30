//! Telling a Mongo outage from bad data. Projection workers wait out the first (the batch is
//! retried until Mongo answers, so a long outage never turns entries into dead letters) and
//! report the second per entry.

use crate::StoreError;
use mongodb::error::{ErrorKind, WriteFailure};
use std::time::Duration;

/// Server codes that mean "the server is shutting down, stepping down or unreachable", not
/// "this document is wrong".
const TRANSIENT_CODES: &[i32] = &[
    6,     // HostUnreachable
    7,     // HostNotFound
    89,    // NetworkTimeout
    91,    // ShutdownInProgress
    189,   // PrimarySteppedDown
    262,   // ExceededTimeLimit
    9001,  // SocketException
    10107, // NotWritablePrimary
    11600, // InterruptedAtShutdown
    11602, // InterruptedDueToReplStateChange
    13435, // NotPrimaryNoSecondaryOk
    13436, // NotPrimaryOrSecondary
    64,    // WriteConcernFailed (wtimeout)
];

/// True when `e` says nothing about the data: the server is down, unreachable, restarting or
/// overloaded. Retrying the same operation later is the right answer.
pub fn is_transient(e: &StoreError) -> bool {
    match e {
        StoreError::Mongo(e) => is_transient_mongo(e),
        StoreError::Write { code, .. } => TRANSIENT_CODES.contains(code),
        StoreError::Bson(_) | StoreError::DuplicateKey => false,
    }
}

/// [`is_transient`] for a driver error.
pub fn is_transient_mongo(e: &mongodb::error::Error) -> bool {
    if e.contains_label("RetryableWriteError")
        || e.contains_label("TransientTransactionError")
        || e.contains_label("SystemOverloadedError")
    {
        return true;
    }
    match e.kind.as_ref() {
        ErrorKind::Io(_)
        | ErrorKind::ServerSelection { .. }
        | ErrorKind::ConnectionPoolCleared { .. }
        | ErrorKind::DnsResolve { .. }
        | ErrorKind::Shutdown => true,
        ErrorKind::Command(c) => TRANSIENT_CODES.contains(&c.code),
        ErrorKind::Write(WriteFailure::WriteConcernError(_)) => true,
        ErrorKind::Write(WriteFailure::WriteError(w)) => TRANSIENT_CODES.contains(&w.code),
        ErrorKind::InsertMany(ime) => {
            ime.write_concern_error.is_some()
                || ime
                    .write_errors
                    .iter()
                    .flatten()
                    .any(|w| TRANSIENT_CODES.contains(&w.code))
        }
        _ => false,
    }
}

/// Exponential back-off for waiting out an outage: 100 ms doubling to `max`.
#[derive(Debug, Clone)]
pub struct Backoff {
    next: Duration,
    max: Duration,
}

impl Backoff {
    pub fn new(max: Duration) -> Self {
        Self {
            next: Duration::from_millis(100),
            max,
        }
    }

    /// The delay to wait now; each call doubles the following one up to `max`.
    pub fn next_delay(&mut self) -> Duration {
        let d = self.next;
        self.next = (self.next * 2).min(self.max);
        d
    }
}

impl Default for Backoff {
    fn default() -> Self {
        Self::new(Duration::from_secs(5))
    }
}
