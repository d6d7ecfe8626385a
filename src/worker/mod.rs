//! The remote worker (`smart-routing worker`): a WebSocket client of the dispatcher that
//! keeps up to K labels and runs tasks with an [`Executor`]: simulated tasks for
//! benchmarks and tests, or ONNX models with ort. Depends on the protocol, the engine,
//! the repository, the workload and `tls`; never on the actors or the server.

mod client;
mod connector;
pub mod inference;
mod labels;
mod onnx;
pub mod runner;
mod simulated;

pub use client::{run, WorkerError, WorkerOptions};
pub use onnx::Onnx;
pub use simulated::Simulated;

use crate::protocol::RunTask;

/// What actually loads labels and runs tasks on a worker.
#[allow(async_fn_in_trait)] // used with concrete types on one thread only
pub trait Executor: 'static {
    /// The task types to announce.
    fn task_types(&self) -> Vec<String>;
    /// The labels it can load, to announce; `None`: any label.
    fn catalog(&self) -> Option<Vec<String>> {
        None
    }
    /// Makes `label` ready to run tasks.
    async fn load(&self, label: &str) -> Result<(), String>;
    /// Drops `label`.
    fn evict(&self, label: &str);
    /// Runs a task on a loaded label; the result is a JSON document.
    async fn run(&self, task: &RunTask) -> Result<String, String>;
    /// Runs a task that may send pieces of its output through `chunks` before its
    /// result; by default, [`Executor::run`].
    async fn run_streaming(
        &self,
        task: &RunTask,
        chunks: &runner::Chunks,
    ) -> Result<String, String> {
        let _ = chunks;
        self.run(task).await
    }
}
