//! The simulated executor: the original benchmark's `sample_task_1`/`sample_task_2`,
//! sleeping for times drawn from `workload`, scaled by a time scale.

use std::cell::RefCell;
use std::time::Duration;

use rand::rngs::StdRng;
use rand::SeedableRng;
use serde_json::json;

use super::Executor;
use crate::protocol::RunTask;
use crate::workload;

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

    /// Sleeps for `seconds` scaled; with a time scale of 0 it does not sleep at all.
    async fn sleep(&self, seconds: f64) {
        if self.time_scale > 0.0 {
            tokio::time::sleep(Duration::from_secs_f64(seconds * self.time_scale)).await;
        }
    }
}

impl Executor for Simulated {
    fn task_types(&self) -> Vec<String> {
        self.task_types.clone()
    }

    async fn load(&self, _label: &str) -> Result<(), String> {
        let seconds = workload::load_time_s(&mut *self.rng.borrow_mut());
        self.sleep(seconds).await;
        Ok(())
    }

    fn evict(&self, _label: &str) {}

    async fn run(&self, task: &RunTask) -> Result<String, String> {
        if !self.task_types.contains(&task.task_type) {
            return Err(format!("task type '{}' is not served here", task.task_type));
        }
        let seconds = workload::run_time_s(&task.task_type, &mut *self.rng.borrow_mut())
            .ok_or_else(|| format!("unknown simulated task type '{}'", task.task_type))?;
        self.sleep(seconds).await;
        Ok(json!({
            "task_type": task.task_type,
            "label": task.label,
            "simulated_s": seconds,
        })
        .to_string())
    }
}
