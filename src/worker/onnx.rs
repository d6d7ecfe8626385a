//! The ONNX executor: labels are model folders of a repository, loaded into ort sessions
//! on the worker's inference thread.

use std::path::PathBuf;

use super::inference::InferenceHost;
use super::Executor;
use crate::engine::TASK_TYPES;
use crate::protocol::RunTask;

pub struct Onnx {
    repository: PathBuf,
    host: InferenceHost,
    task_types: Vec<String>,
}

impl Onnx {
    /// `task_types` empty means every task type the engine serves.
    pub fn start(
        repository: PathBuf,
        name: &str,
        task_types: Vec<String>,
    ) -> std::io::Result<Self> {
        let task_types = if task_types.is_empty() {
            TASK_TYPES.iter().map(|t| (*t).to_owned()).collect()
        } else {
            task_types
        };
        Ok(Self {
            host: InferenceHost::start(repository.clone(), name)?,
            repository,
            task_types,
        })
    }
}

impl Executor for Onnx {
    fn task_types(&self) -> Vec<String> {
        self.task_types.clone()
    }

    /// The repository's labels as they are now (read at each connection).
    fn catalog(&self) -> Option<Vec<String>> {
        Some(crate::repository::labels(&self.repository))
    }

    async fn load(&self, label: &str) -> Result<(), String> {
        self.host.load(label).await
    }

    fn evict(&self, label: &str) {
        self.host.evict(label);
    }

    async fn run(&self, task: &RunTask) -> Result<String, String> {
        self.host
            .run(&task.label, &task.task_type, &task.parameters_json)
            .await
    }
}
