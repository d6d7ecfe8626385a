//! The simulated executor: the original benchmark's `sample_task_1`/`sample_task_2`,
//! sleeping for times drawn from `workload`, scaled by a time scale.

use std::cell::RefCell;
use std::time::Duration;

use rand::rngs::StdRng;
use rand::SeedableRng;
use serde_json::json;

use super::runner::Chunks;
use super::Executor;
use crate::clock::unix_ms;
use crate::protocol::RunTask;
use crate::workload;

/// At most this many chunks per `sample_stream` task.
const MAX_CHUNKS: u64 = 100_000;
/// ...and at most this much padding in each.
const MAX_PAD: usize = 1 << 20;

/// `sample_stream`'s parameters.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct StreamParams {
    #[serde(default = "five")]
    chunks: u64,
    #[serde(default)]
    interval_ms: u64,
    /// Bytes of padding in each chunk (for tests of slow readers).
    #[serde(default)]
    pad: usize,
}

fn five() -> u64 {
    5
}

pub struct Simulated {
    time_scale: f64,
    task_types: Vec<String>,
    rng: RefCell<StdRng>,
}

impl Simulated {
    /// `task_types` empty means both sample task types.
    pub fn new(time_scale: f64, seed: u64, task_types: Vec<String>) -> Self {
        let task_types = if task_types.is_empty() {
            vec!["sample_task_1".to_owned(), "sample_task_2".to_owned()]
        } else {
            task_types
        };
        Self {
            time_scale,
            task_types,
            rng: RefCell::new(StdRng::seed_from_u64(seed)),
        }
    }

    fn scaled(&self, seconds: f64) -> Duration {
        Duration::from_secs_f64(seconds * self.time_scale)
    }

    /// Sleeps for the scaled time; a time scale of 0 never sleeps (a true no-op worker).
    async fn pause(&self, seconds: f64) {
        if self.time_scale > 0.0 {
            tokio::time::sleep(self.scaled(seconds)).await;
        }
    }
}

impl Executor for Simulated {
    fn task_types(&self) -> Vec<String> {
        self.task_types.clone()
    }

    async fn load(&self, _label: &str) -> Result<(), String> {
        let seconds = workload::load_time_s(&mut *self.rng.borrow_mut());
        self.pause(seconds).await;
        Ok(())
    }

    fn evict(&self, _label: &str) {}

    async fn run_streaming(&self, task: &RunTask, chunks: &Chunks) -> Result<String, String> {
        if task.task_type != workload::SAMPLE_STREAM || !self.task_types.contains(&task.task_type) {
            return self.run(task).await;
        }
        let params: StreamParams = serde_json::from_str(&task.parameters_json)
            .map_err(|e| format!("{} parameters: {e}", workload::SAMPLE_STREAM))?;
        if params.chunks > MAX_CHUNKS || params.pad > MAX_PAD {
            return Err(format!(
                "at most {MAX_CHUNKS} chunks of at most {MAX_PAD} bytes of pad"
            ));
        }
        for seq in 0..params.chunks {
            self.pause(params.interval_ms as f64 / 1000.0).await;
            let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH);
            let unix_us = now.map_or(0, |d| d.as_micros() as u64);
            let pad = "x".repeat(params.pad);
            let chunk = json!({ "seq": seq, "unix_ms": unix_ms(), "unix_us": unix_us, "pad": pad });
            if !chunks.send(chunk.to_string()) {
                return Err("the connection is gone".to_owned());
            }
        }
        Ok(
            json!({ "task_type": task.task_type, "label": task.label, "chunks": params.chunks })
                .to_string(),
        )
    }

    async fn run(&self, task: &RunTask) -> Result<String, String> {
        if !self.task_types.contains(&task.task_type) {
            return Err(format!("task type '{}' is not served here", task.task_type));
        }
        let seconds = workload::run_time_s(&task.task_type, &mut *self.rng.borrow_mut())
            .ok_or_else(|| format!("unknown simulated task type '{}'", task.task_type))?;
        self.pause(seconds).await;
        Ok(json!({
            "task_type": task.task_type,
            "label": task.label,
            "simulated_s": seconds,
        })
        .to_string())
    }
}
