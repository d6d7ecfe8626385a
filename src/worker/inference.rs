//! The inference thread of an ONNX worker: one OS thread that owns the worker's loaded
//! models and runs jobs in order, off every async executor and actor. Runs for one label
//! that wait together are batched into one session call (dynamic batching): up to the
//! model's `max_batch_size` items, waiting at most `max_queue_delay_us` to fill.

use std::collections::hash_map::Entry;
use std::collections::{HashMap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use tokio::sync::oneshot;

use crate::engine::{parse_params, LoadedModel, TaskInput};
use crate::repository::Label;

enum Job {
    Load {
        label: String,
        reply: oneshot::Sender<Result<(), String>>,
    },
    Evict {
        label: String,
    },
    Run {
        label: String,
        task_type: String,
        input: TaskInput,
        reply: oneshot::Sender<Result<String, String>>,
    },
}

/// A handle to one inference thread; the thread ends when the handle is dropped.
pub struct InferenceHost {
    jobs: mpsc::Sender<Job>,
}

impl InferenceHost {
    /// Starts the thread; models are loaded from `repository/<label>/`.
    pub fn start(repository: PathBuf, name: &str) -> std::io::Result<Self> {
        let (jobs, rx) = mpsc::channel();
        std::thread::Builder::new()
            .name(format!("inference-{name}"))
            .spawn(move || serve(&repository, &rx))?;
        Ok(Self { jobs })
    }

    pub async fn load(&self, label: &str) -> Result<(), String> {
        let (reply, answer) = oneshot::channel();
        self.submit(Job::Load {
            label: label.to_owned(),
            reply,
        })?;
        answer
            .await
            .map_err(|_| "the inference thread stopped".to_owned())?
    }

    pub fn evict(&self, label: &str) {
        let _ = self.submit(Job::Evict {
            label: label.to_owned(),
        });
    }

    /// Runs one task; its result JSON or the error message.
    pub async fn run(
        &self,
        label: &str,
        task_type: &str,
        parameters_json: &str,
    ) -> Result<String, String> {
        let input = parse_params(task_type, parameters_json).map_err(|e| e.to_string())?;
        let (reply, answer) = oneshot::channel();
        self.submit(Job::Run {
            label: label.to_owned(),
            task_type: task_type.to_owned(),
            input,
            reply,
        })?;
        answer
            .await
            .map_err(|_| "the inference thread stopped".to_owned())?
    }

    fn submit(&self, job: Job) -> Result<(), String> {
        self.jobs
            .send(job)
            .map_err(|_| "the inference thread stopped".to_owned())
    }
}

fn serve(repository: &Path, jobs: &mpsc::Receiver<Job>) {
    let mut models: HashMap<String, LoadedModel> = HashMap::new();
    let mut pending: VecDeque<Job> = VecDeque::new();
    loop {
        let job = match pending.pop_front() {
            Some(job) => job,
            None => match jobs.recv() {
                Ok(job) => job,
                Err(_) => return, // the host was dropped
            },
        };
        match job {
            Job::Load { label, reply } => {
                let result = match models.entry(label) {
                    Entry::Occupied(_) => Ok(()),
                    Entry::Vacant(slot) => load(repository, slot.key()).map(|model| {
                        slot.insert(model);
                    }),
                };
                let _ = reply.send(result);
            }
            Job::Evict { label } => {
                models.remove(&label);
            }
            Job::Run {
                label,
                task_type,
                input,
                reply,
            } => {
                let Some(model) = models.get_mut(&label) else {
                    let _ =
                        reply.send(Err(format!("label '{label}' is not loaded on this worker")));
                    continue;
                };
                let max_items = model.config().max_batch_size.max(1);
                let delay = Duration::from_micros(model.config().max_queue_delay_us);
                let mut batch = vec![(input, reply)];
                collect(
                    &label,
                    &task_type,
                    max_items,
                    delay,
                    &mut batch,
                    &mut pending,
                    jobs,
                );
                let (inputs, replies): (Vec<TaskInput>, Vec<_>) = batch.into_iter().unzip();
                let results = model.run_batch(&task_type, &inputs);
                for (result, reply) in results.into_iter().zip(replies) {
                    let _ = reply.send(result.map(|v| v.to_json()).map_err(|e| e.to_string()));
                }
            }
        }
    }
}

/// Adds to `batch` the waiting runs of the same label and task type, first from
/// `pending`, then from the channel until `max_items` or `delay` is reached. Other jobs
/// go to `pending` in order.
fn collect(
    label: &str,
    task_type: &str,
    max_items: usize,
    delay: Duration,
    batch: &mut Vec<(TaskInput, oneshot::Sender<Result<String, String>>)>,
    pending: &mut VecDeque<Job>,
    jobs: &mpsc::Receiver<Job>,
) {
    let mut items: usize = batch.iter().map(|(input, _)| input.len()).sum();
    let mut kept = VecDeque::new();
    let mut take = |job: Job, items: &mut usize, kept: &mut VecDeque<Job>| match job {
        Job::Run {
            label: l,
            task_type: t,
            input,
            reply,
        } if l == label && t == task_type && *items + input.len() <= max_items => {
            *items += input.len();
            batch.push((input, reply));
        }
        other => kept.push_back(other),
    };
    while let Some(job) = pending.pop_front() {
        take(job, &mut items, &mut kept);
    }
    let deadline = Instant::now() + delay;
    while items < max_items {
        let left = deadline.saturating_duration_since(Instant::now());
        let job = if left.is_zero() {
            match jobs.try_recv() {
                Ok(job) => job,
                Err(_) => break,
            }
        } else {
            match jobs.recv_timeout(left) {
                Ok(job) => job,
                Err(_) => break,
            }
        };
        take(job, &mut items, &mut kept);
    }
    *pending = kept;
}

fn load(repository: &Path, label: &str) -> Result<LoadedModel, String> {
    if Label::new(label).is_err() {
        return Err(format!("'{label}' is not a valid model label"));
    }
    let dir = repository.join(label);
    if !dir.is_dir() {
        return Err(format!(
            "no model '{label}' in the repository {}",
            repository.display()
        ));
    }
    Ok(LoadedModel::load(&dir)
        .map_err(|e| e.to_string())?
        .with_label(label))
}

#[cfg(test)]
mod tests {
    use super::*;

    type Reply = oneshot::Receiver<Result<String, String>>;

    fn run_job(label: &str, task_type: &str, rows: usize) -> (Job, Reply) {
        let (reply, answer) = oneshot::channel();
        let job = Job::Run {
            label: label.to_owned(),
            task_type: task_type.to_owned(),
            input: TaskInput::Rows(vec![vec![0.0; 4]; rows]),
            reply,
        };
        (job, answer)
    }

    fn first(
        label: &str,
        rows: usize,
    ) -> Vec<(TaskInput, oneshot::Sender<Result<String, String>>)> {
        match run_job(label, "infer", rows).0 {
            Job::Run { input, reply, .. } => vec![(input, reply)],
            _ => unreachable!("run_job makes runs"),
        }
    }

    #[test]
    fn waiting_runs_of_one_label_join_the_batch_up_to_its_size() {
        let (tx, rx) = mpsc::channel();
        let mut answers = Vec::new();
        for (label, rows) in [("a", 2), ("b", 1), ("a", 3), ("a", 4), ("a", 1)] {
            let (job, answer) = run_job(label, "infer", rows);
            tx.send(job).unwrap();
            answers.push(answer);
        }
        let mut batch = first("a", 1);
        let mut pending = VecDeque::new();
        collect(
            "a",
            "infer",
            8,
            Duration::ZERO,
            &mut batch,
            &mut pending,
            &rx,
        );
        // 1 + 2 + 3 fit in 8; the 4-row run would not, the 1-row run after it does.
        let sizes: Vec<usize> = batch.iter().map(|(input, _)| input.len()).collect();
        assert_eq!(sizes, [1, 2, 3, 1]);
        // What did not join keeps its order for later.
        let left: Vec<(String, usize)> = pending
            .iter()
            .map(|job| match job {
                Job::Run { label, input, .. } => (label.clone(), input.len()),
                _ => unreachable!("only runs were sent"),
            })
            .collect();
        assert_eq!(left, [("b".to_owned(), 1), ("a".to_owned(), 4)]);
    }

    #[test]
    fn the_batcher_waits_up_to_its_delay_for_more_work() {
        let (tx, rx) = mpsc::channel();
        let sender = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(20));
            let (job, answer) = run_job("a", "infer", 1);
            tx.send(job).unwrap();
            answer
        });
        let mut batch = first("a", 1);
        let mut pending = VecDeque::new();
        collect(
            "a",
            "infer",
            8,
            Duration::from_secs(5),
            &mut batch,
            &mut pending,
            &rx,
        );
        let _answer = sender.join().unwrap();
        // Returned once the sender hung up, with the late run in the batch.
        assert_eq!(batch.len(), 2);
        assert!(pending.is_empty());
    }

    #[test]
    fn other_task_types_and_evictions_are_not_batched() {
        let (tx, rx) = mpsc::channel();
        let (job, _a) = run_job("a", "embed_texts", 1);
        tx.send(job).unwrap();
        tx.send(Job::Evict {
            label: "a".to_owned(),
        })
        .unwrap();
        let mut batch = first("a", 1);
        let mut pending = VecDeque::new();
        collect(
            "a",
            "infer",
            8,
            Duration::ZERO,
            &mut batch,
            &mut pending,
            &rx,
        );
        assert_eq!(batch.len(), 1);
        assert_eq!(pending.len(), 2);
    }
}
