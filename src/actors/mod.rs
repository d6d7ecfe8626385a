//! The actors: dispatcher (decides), label registry (read side), worker sessions (one per
//! remote worker), local ONNX workers, log sink (JSONL on disk). Messages shared between
//! them live in `messages`. Depends on the routing core, the task table, the store, the
//! protocol, the engine and the worker executors; never on `app`, `http`, `oip` or
//! `server`.

mod admission;
pub mod board;
mod catalog;
mod dispatcher;
mod local_worker;
pub mod log_file;
pub mod log_limit;
mod log_sink;
pub mod messages;
pub mod registry;
mod relay;
mod session;
mod task_spans;
mod tenants;

pub use admission::DispatcherBounds;
pub use dispatcher::Dispatcher;
pub use local_worker::{LocalWorker, LocalWorkerSpec};
pub use log_sink::LogSink;
pub use registry::LabelRegistry;
pub use session::{close_frame, WorkerSession};
pub use tenants::{TenantPolicy, Tenants};
