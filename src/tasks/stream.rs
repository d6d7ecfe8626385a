//! A streaming task's chunks on their way to its client: the dispatcher pushes each one
//! and the HTTP response takes them in order, framing them as its protocol says. The
//! bytes pushed and not yet taken are bounded; past the bound the client is too slow and
//! its task is ended, so neither the worker's connection nor the server's memory waits
//! on a reader that stopped.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use tokio::sync::mpsc;

/// The dispatcher's end.
#[derive(Debug)]
pub struct ChunkSink {
    tx: mpsc::UnboundedSender<Bytes>,
    pending: Arc<AtomicUsize>,
    max_bytes: usize,
}

/// The client's end: the chunk events, in order, until the task is final.
#[derive(Debug)]
pub struct ChunkStream {
    rx: mpsc::UnboundedReceiver<Bytes>,
    pending: Arc<AtomicUsize>,
}

/// What became of a pushed chunk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pushed {
    Sent,
    /// More than the bound waits for the client: the task must end.
    Overflow,
    /// The client went away.
    Gone,
}

/// A sink and its stream, holding at most `max_bytes` not yet taken.
pub fn channel(max_bytes: usize) -> (ChunkSink, ChunkStream) {
    let (tx, rx) = mpsc::unbounded_channel();
    let pending = Arc::new(AtomicUsize::new(0));
    let sink = ChunkSink {
        tx,
        pending: pending.clone(),
        max_bytes,
    };
    (sink, ChunkStream { rx, pending })
}

/// One Server-Sent Event. `data` is JSON, whose only line breaks are whitespace between
/// tokens (inside strings they are escaped), so they can become spaces.
pub fn sse_event(event: &str, data: &str) -> Bytes {
    let data = data.replace(['\n', '\r'], " ");
    Bytes::from(format!("event: {event}\ndata: {data}\n\n"))
}

impl ChunkSink {
    /// Queues one chunk for the client.
    pub fn push(&self, chunk_json: &str) -> Pushed {
        let event = Bytes::copy_from_slice(chunk_json.as_bytes());
        let size = event.len();
        if self.pending.load(Ordering::Acquire) + size > self.max_bytes {
            return Pushed::Overflow;
        }
        self.pending.fetch_add(size, Ordering::AcqRel);
        match self.tx.send(event) {
            Ok(()) => Pushed::Sent,
            Err(_) => Pushed::Gone,
        }
    }
}

impl ChunkStream {
    /// The next chunk (its JSON); `None` once the task is final (its sink dropped) and
    /// every chunk was taken.
    pub async fn next(&mut self) -> Option<Bytes> {
        let event = self.rx.recv().await?;
        self.pending.fetch_sub(event.len(), Ordering::AcqRel);
        Some(event)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn chunks_arrive_in_order_within_the_bound_and_end_with_the_sink() {
        let (sink, mut stream) = channel(200);
        assert_eq!(sink.push("{\"a\":1}"), Pushed::Sent);
        assert_eq!(sink.push("[2]"), Pushed::Sent);
        assert_eq!(stream.next().await.unwrap(), "{\"a\":1}");
        // 200 bytes at most wait: 3 + 160 do, and 40 more would not.
        assert_eq!(sink.push(&"3".repeat(160)), Pushed::Sent);
        assert_eq!(sink.push(&"4".repeat(40)), Pushed::Overflow);
        drop(sink);
        assert_eq!(stream.next().await.unwrap(), "[2]");
        assert!(stream.next().await.unwrap().starts_with(b"333"));
        assert!(stream.next().await.is_none());
    }

    #[test]
    fn an_event_keeps_its_json_on_one_data_line() {
        let event = sse_event("chunk", "{\"a\":\n1}");
        assert_eq!(event, "event: chunk\ndata: {\"a\": 1}\n\n");
    }

    #[tokio::test]
    async fn a_stream_that_went_away_is_told() {
        let (sink, stream) = channel(100);
        drop(stream);
        assert_eq!(sink.push("1"), Pushed::Gone);
    }
}
