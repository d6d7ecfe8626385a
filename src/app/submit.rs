//! Submitting a task and waiting for its final view, the same way for every transport:
//! accepted means stored (the answer to a submission that does not wait comes after the
//! store's commit), a waiting client that goes away cancels its task (not while the
//! server drains: the task is kept for after the restart), and a final view is answered
//! only once it is committed.

use actix::Addr;

use super::{ApiError, AppState};
use crate::actors::messages::{CancelTask, NewTask, SubmitTask, Submitted};
use crate::actors::Dispatcher;
use crate::tasks::stream::{sse_event, ChunkStream};
use crate::tasks::TaskView;
use bytes::Bytes;
use std::convert::Infallible;

/// Why waiting for a task's final view ended without one.
#[derive(Debug)]
pub enum WaitError {
    /// Refused, or the store could not commit.
    Api(ApiError),
    /// The server drains: the task is kept in the store and runs after the restart.
    ShuttingDown { task_id: String },
    /// The dispatcher let go of the task without a final view.
    Dropped,
}

impl From<ApiError> for WaitError {
    fn from(error: ApiError) -> Self {
        WaitError::Api(error)
    }
}

/// Submits `task`; with `wait`, `Submitted::done` gives its final view.
pub async fn submit(state: &AppState, task: NewTask, wait: bool) -> Result<Submitted, ApiError> {
    let stream = false;
    let submitted = state
        .dispatcher
        .send(SubmitTask { task, wait, stream })
        .await??;
    // Accepted means stored: the answer waits for the commit. (A waiting submission is
    // answered only with the final result, whose commit comes after this one.)
    if wait {
        return Ok(submitted);
    }
    if let Err(e) = state.committed().await {
        state.dispatcher.do_send(CancelTask {
            tenant: None,
            task_id: submitted.view.task_id.clone(),
        });
        return Err(e);
    }
    Ok(submitted)
}

/// Submits `task` and waits for its final view, committed.
pub async fn submit_and_wait(state: &AppState, task: NewTask) -> Result<TaskView, WaitError> {
    let submitted = submit(state, task, true).await?;
    let mut guard = CancelOnDrop {
        task_id: Some(submitted.view.task_id.clone()),
        dispatcher: state.dispatcher.clone(),
        draining: state.draining.clone(),
    };
    let done = submitted
        .done
        .ok_or_else(|| ApiError::internal("no result channel"))?;
    let Ok(view) = done.await else {
        guard.task_id = None;
        if state.is_draining() {
            state.committed().await?;
            return Err(WaitError::ShuttingDown {
                task_id: submitted.view.task_id,
            });
        }
        return Err(WaitError::Dropped);
    };
    guard.task_id = None;
    // The final result is queued for the store before waiters hear of it.
    state.committed().await?;
    Ok(view)
}

/// How a stream's pieces are framed for its protocol: each chunk's JSON, then the final
/// view (with the chunks sent before it); `None` sends nothing for it. The pieces are
/// bytes for an HTTP body, messages for a gRPC stream.
pub struct Framing<T = Bytes> {
    pub chunk: FrameChunk<T>,
    pub result: FrameResult<T>,
}

/// Frames one chunk's JSON.
pub type FrameChunk<T = Bytes> = Box<dyn Fn(&[u8]) -> T + Send>;
/// Frames the final view, after this many chunks.
pub type FrameResult<T = Bytes> = Box<dyn Fn(&TaskView, u64) -> Option<T> + Send>;

impl Framing {
    /// `/run-task`'s: `event: chunk` with each chunk, then `event: result` with the view.
    pub fn task_events() -> Self {
        Self {
            chunk: Box::new(|json| sse_event("chunk", &String::from_utf8_lossy(json))),
            result: Box::new(|view, _| {
                let json = serde_json::to_string(view).ok()?;
                Some(sse_event("result", &json))
            }),
        }
    }
}

/// Submits `task` and streams it: each chunk as it comes, then the final view, committed,
/// as `framing` frames them. A client that hangs up cancels the task, as a waiting one
/// does.
pub async fn submit_streaming<T: 'static>(
    state: actix_web::web::Data<AppState>,
    task: NewTask,
    framing: Framing<T>,
) -> Result<impl futures_util::Stream<Item = Result<T, Infallible>>, ApiError> {
    let wait = true;
    let stream = true;
    let submitted = state
        .dispatcher
        .send(SubmitTask { task, wait, stream })
        .await??;
    let (Some(chunks), Some(done)) = (submitted.chunks, submitted.done) else {
        return Err(ApiError::internal("no stream channel"));
    };
    let guard = CancelOnDrop {
        task_id: Some(submitted.view.task_id.clone()),
        dispatcher: state.dispatcher.clone(),
        draining: state.draining.clone(),
    };
    let open = Open {
        chunks,
        done,
        guard,
        state,
        framing,
        sent: 0,
    };
    Ok(futures_util::stream::unfold(
        Some(open),
        |open| async move {
            let mut open = open?;
            if let Some(chunk) = open.chunks.next().await {
                open.sent += 1;
                let event = (open.framing.chunk)(&chunk);
                return Some((Ok(event), Some(open)));
            }
            // The task is final: its view follows its last chunk.
            let view = open.done.await.ok();
            open.guard.task_id = None;
            let view = view?;
            open.state.committed().await.ok()?;
            let event = (open.framing.result)(&view, open.sent)?;
            Some((Ok(event), None))
        },
    ))
}

/// The `200 text/event-stream` response carrying `events`.
pub fn event_stream(
    events: impl futures_util::Stream<Item = Result<Bytes, Infallible>> + 'static,
) -> actix_web::HttpResponse {
    actix_web::HttpResponse::Ok()
        .content_type("text/event-stream")
        .insert_header(("Cache-Control", "no-cache"))
        .streaming(events)
}

/// A stream under way.
struct Open<T> {
    chunks: ChunkStream,
    done: tokio::sync::oneshot::Receiver<TaskView>,
    guard: CancelOnDrop,
    state: actix_web::web::Data<AppState>,
    framing: Framing<T>,
    /// Chunks sent so far.
    sent: u64,
}

/// Cancels the task if the client goes away before its result is ready.
/// Not while the server drains: the client was cut off by the shutdown, and the task
/// stays for after the restart.
struct CancelOnDrop {
    task_id: Option<String>,
    dispatcher: Addr<Dispatcher>,
    draining: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        if self.draining.load(std::sync::atomic::Ordering::SeqCst) {
            return;
        }
        if let Some(task_id) = self.task_id.take() {
            tracing::info!(task_id = %task_id, "client went away; cancelling its task");
            self.dispatcher.do_send(CancelTask {
                task_id,
                tenant: None,
            });
        }
    }
}
