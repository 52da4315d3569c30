//! A connection's bounded write queue: many producers (the reader, pushes, kicks), one consumer
//! (the connection's writer task).
//!
//! Not a tokio mpsc channel on purpose: one of those allocates its first block of 32 slots and
//! its cache-padded state when created, about 2 KiB that every idle connection would carry. This
//! queue holds no buffer while empty, so an idle connection costs a few words here.

use crate::conn::Outbound;
use std::collections::VecDeque;
use std::sync::Mutex;
use tokio::sync::Notify;

/// Why [`WriteQueue::push`] did not queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PushError {
    /// `capacity` items are waiting: the client is not reading.
    Full,
    /// The writer has ended.
    Closed,
}

pub struct WriteQueue {
    state: Mutex<State>,
    /// Wakes the writer; `notify_one` keeps a permit when it is not waiting, so no push is missed.
    ready: Notify,
    capacity: usize,
}

struct State {
    items: VecDeque<Outbound>,
    closed: bool,
}

impl WriteQueue {
    pub fn new(capacity: usize) -> Self {
        WriteQueue {
            state: Mutex::new(State {
                items: VecDeque::new(),
                closed: false,
            }),
            ready: Notify::new(),
            capacity: capacity.max(1),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // Every edit is a single call; a panic elsewhere leaves the queue consistent.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Queues `out` without waiting.
    pub fn push(&self, out: Outbound) -> Result<(), PushError> {
        {
            let mut s = self.lock();
            if s.closed {
                return Err(PushError::Closed);
            }
            if s.items.len() >= self.capacity {
                return Err(PushError::Full);
            }
            s.items.push_back(out);
        }
        self.ready.notify_one();
        Ok(())
    }

    /// The next item, in order, waiting for one. For the one writer only.
    pub async fn pop(&self) -> Outbound {
        loop {
            if let Some(out) = self.try_pop() {
                return out;
            }
            self.ready.notified().await;
        }
    }

    /// The next item if one is queued, without waiting. For the one writer only.
    pub fn try_pop(&self) -> Option<Outbound> {
        let mut s = self.lock();
        let out = s.items.pop_front();
        if s.items.is_empty() && s.items.capacity() > 0 {
            // Idle connections keep no buffer.
            s.items = VecDeque::new();
        }
        out
    }

    /// The writer has ended: later pushes fail and what is queued is dropped.
    pub fn close(&self) {
        let mut s = self.lock();
        s.closed = true;
        s.items = VecDeque::new();
    }

    /// Closes the queue when dropped (the writer ends, however it ends).
    pub fn close_on_drop(&self) -> CloseOnDrop<'_> {
        CloseOnDrop(self)
    }
}

pub struct CloseOnDrop<'a>(&'a WriteQueue);

impl Drop for CloseOnDrop<'_> {
    fn drop(&mut self) {
        self.0.close();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::extract::ws::Message;
    use std::sync::Arc;
    use std::time::Duration;

    fn text(s: &str) -> Outbound {
        Outbound::Frame(Message::Text(s.into()))
    }

    fn is_text(out: &Outbound, want: &str) -> bool {
        matches!(out, Outbound::Frame(Message::Text(t)) if t.as_str() == want)
    }

    #[tokio::test]
    async fn in_order_bounded_and_closed() {
        let q = WriteQueue::new(2);
        assert_eq!(q.push(text("a")), Ok(()));
        assert_eq!(q.push(text("b")), Ok(()));
        assert_eq!(q.push(text("c")), Err(PushError::Full));
        assert!(is_text(&q.pop().await, "a"));
        assert!(is_text(&q.pop().await, "b"));
        assert_eq!(q.lock().items.capacity(), 0);
        assert_eq!(q.push(Outbound::Close), Ok(()));
        {
            let _writer = q.close_on_drop();
        }
        assert_eq!(q.push(text("d")), Err(PushError::Closed));
        assert!(q.lock().items.is_empty());
    }

    #[tokio::test]
    async fn a_waiting_writer_is_woken() {
        let q = Arc::new(WriteQueue::new(4));
        let writer = tokio::spawn({
            let q = q.clone();
            async move {
                let mut got = Vec::new();
                for _ in 0..3 {
                    got.push(q.pop().await);
                }
                got
            }
        });
        for s in ["x", "y", "z"] {
            tokio::time::sleep(Duration::from_millis(5)).await;
            assert_eq!(q.push(text(s)), Ok(()));
        }
        let got = tokio::time::timeout(Duration::from_secs(5), writer)
            .await
            .expect("writer woken")
            .expect("writer ran");
        assert!(is_text(&got[0], "x") && is_text(&got[1], "y") && is_text(&got[2], "z"));
    }
}
