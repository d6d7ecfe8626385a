//! The ONNX engine: loads model folders with ort (ONNX Runtime loaded at run time) and runs
//! `embed_texts` and `infer` tasks, batched. Pure synchronous code meant for a blocking
//! thread; must not depend on actix, tokio, the routing core or the HTTP layer (the
//! repository layout, `crate::repository`, names its files).
//!
//! - `runtime`: find and load the ONNX Runtime library, once per process.
//! - `config`: a model folder's `model.toml`.
//! - `model`: load a folder into a session (`LoadedModel`, `validate`).
//! - `inspect`: describe a session's inputs and outputs; check they fit the task types.
//! - `tasks`: task types, `parameters_json` parsing with bounds, result JSON.
//! - `exec`: one session call (tokenise, run, pool).
//! - `batch`: many tasks as few session calls (`LoadedModel::run_batch`).

mod batch;
mod config;
mod error;
mod exec;
mod inspect;
mod model;
mod runtime;
mod tasks;
#[cfg(test)]
mod tests;

pub use config::{Device, ModelConfig, Pooling};
pub use error::EngineError;
pub use model::{validate, LoadedModel, ModelInfo, TensorInfo};
pub use runtime::{
    init_runtime, locate_runtime, runtime_path, DEFAULT_LIB_DIR, DEFAULT_LIB_FILE, ORT_DYLIB_ENV,
};
pub use tasks::{
    parse_params, TaskInput, TaskResult, EMBED_TEXTS, INFER, MAX_ITEMS_PER_TASK, MAX_ROW_WIDTH,
    MAX_TEXT_CHARS, TASK_TYPES,
};
