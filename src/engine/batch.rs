//! Runs several tasks of one task type as few session calls: their texts or rows are
//! concatenated, cut into chunks of `max_batch_size`, run, and split back per task. What
//! the dynamic batcher calls; synchronous, must not depend on actix or tokio.

use std::collections::BTreeMap;
use std::time::Instant;

use super::error::EngineError;
use super::model::LoadedModel;
use super::tasks::{parse_params, TaskInput, TaskResult, EMBED_TEXTS, INFER};

/// Each item's output vector, or the error of the chunk it ran in.
type ItemResults = Vec<Result<Vec<f32>, EngineError>>;

impl LoadedModel {
    /// Runs one task.
    pub fn run(&mut self, task_type: &str, input: &TaskInput) -> Result<TaskResult, EngineError> {
        let mut results = self.run_batch(task_type, std::slice::from_ref(input));
        results
            .pop()
            .unwrap_or_else(|| Err(EngineError::Inference("no result".into())))
    }

    /// Parses `parameters_json` and runs one task.
    pub fn run_json(
        &mut self,
        task_type: &str,
        parameters_json: &str,
    ) -> Result<TaskResult, EngineError> {
        let input = parse_params(task_type, parameters_json)?;
        self.run(task_type, &input)
    }

    /// Runs several tasks' inputs together; one result per input, in order. A task whose
    /// input does not fit the model fails alone; a failed session call fails only the tasks
    /// that had items in it.
    pub fn run_batch(
        &mut self,
        task_type: &str,
        inputs: &[TaskInput],
    ) -> Vec<Result<TaskResult, EngineError>> {
        if !self.serves(task_type) {
            let err = EngineError::UnsupportedTask {
                task_type: task_type.to_string(),
                served: self.config.task_types.join(", "),
            };
            return vec![Err(err); inputs.len()];
        }
        let checks: Vec<Result<(), EngineError>> = inputs
            .iter()
            .map(|i| self.check_input(task_type, i))
            .collect();
        let accepted: Vec<usize> = (0..inputs.len()).filter(|&i| checks[i].is_ok()).collect();
        let started = Instant::now();
        let items = match task_type {
            EMBED_TEXTS => self.run_texts(inputs, &accepted),
            _ => self.run_rows(inputs, &accepted),
        };
        tracing::debug!(
            label = %self.label,
            task_type,
            tasks = accepted.len(),
            items = items.len(),
            elapsed_us = started.elapsed().as_micros() as u64,
            "ran batch"
        );

        // Split the flat item results back into tasks, in the order they were flattened.
        let mut items = items.into_iter();
        let mut results = Vec::with_capacity(inputs.len());
        for (input, check) in inputs.iter().zip(checks) {
            if let Err(e) = check {
                results.push(Err(e));
                continue;
            }
            let vectors: Result<Vec<Vec<f32>>, EngineError> =
                items.by_ref().take(input.len()).collect();
            results.push(vectors.map(|v| match task_type {
                EMBED_TEXTS => TaskResult::embeddings(&self.label, v),
                _ => TaskResult::outputs(v),
            }));
        }
        results
    }

    /// Checks an input is of the task type's kind and fits the model's input shape.
    fn check_input(&self, task_type: &str, input: &TaskInput) -> Result<(), EngineError> {
        match (task_type, input) {
            (EMBED_TEXTS, TaskInput::Texts(_)) => Ok(()),
            (INFER, TaskInput::Rows(rows)) => {
                let model_input = &self.info.inputs[0];
                let expected = model_input.dims.get(1).copied().unwrap_or(-1);
                let width = rows.first().map_or(0, Vec::len);
                if expected >= 0 && width as i64 != expected {
                    return Err(EngineError::InvalidParams(format!(
                        "rows have {width} numbers but model input `{}` takes {expected} per row",
                        model_input.name
                    )));
                }
                if rows.iter().any(|r| r.len() != width) {
                    return Err(EngineError::InvalidParams(
                        "all rows must be as wide".into(),
                    ));
                }
                Ok(())
            }
            _ => Err(EngineError::InvalidParams(format!(
                "parameters for {} were given to a {task_type} task",
                input.task_type()
            ))),
        }
    }

    /// Embeds the accepted tasks' texts, longest first so each chunk pads little.
    fn run_texts(&mut self, inputs: &[TaskInput], accepted: &[usize]) -> ItemResults {
        let texts: Vec<&str> = accepted
            .iter()
            .flat_map(|&i| match &inputs[i] {
                TaskInput::Texts(t) => t.iter().map(String::as_str).collect(),
                TaskInput::Rows(_) => Vec::new(), // check_input let only texts through
            })
            .collect();
        let mut order: Vec<usize> = (0..texts.len()).collect();
        order.sort_by_key(|&i| std::cmp::Reverse(texts[i].len()));
        let chunk = self.config.max_batch_size;
        run_chunked(&[order], chunk, |idx| {
            let batch: Vec<&str> = idx.iter().map(|&i| texts[i]).collect();
            self.embed_chunk(&batch)
        })
    }

    /// Runs the accepted tasks' rows, grouped by width (a dynamic input may see several).
    fn run_rows(&mut self, inputs: &[TaskInput], accepted: &[usize]) -> ItemResults {
        let rows: Vec<&[f32]> = accepted
            .iter()
            .flat_map(|&i| match &inputs[i] {
                TaskInput::Rows(r) => r.iter().map(Vec::as_slice).collect(),
                TaskInput::Texts(_) => Vec::new(), // check_input let only rows through
            })
            .collect();
        let mut by_width: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
        for (i, row) in rows.iter().enumerate() {
            by_width.entry(row.len()).or_default().push(i);
        }
        let groups: Vec<Vec<usize>> = by_width.into_values().collect();
        let chunk = self.config.max_batch_size;
        run_chunked(&groups, chunk, |idx| {
            let batch: Vec<&[f32]> = idx.iter().map(|&i| rows[i]).collect();
            self.infer_chunk(&batch)
        })
    }
}

/// Runs each group's item indices in chunks of at most `chunk` through `run`, and returns
/// every item's result at its index. `groups` must cover each index exactly once.
fn run_chunked(
    groups: &[Vec<usize>],
    chunk: usize,
    mut run: impl FnMut(&[usize]) -> Result<Vec<Vec<f32>>, EngineError>,
) -> ItemResults {
    let total = groups.iter().map(Vec::len).sum();
    let mut results: ItemResults = vec![Err(EngineError::Inference("not run".into())); total];
    for part in groups.iter().flat_map(|g| g.chunks(chunk.max(1))) {
        match run(part) {
            Ok(vectors) if vectors.len() == part.len() => {
                for (&i, v) in part.iter().zip(vectors) {
                    results[i] = Ok(v);
                }
            }
            Ok(vectors) => {
                let e = EngineError::Inference(format!(
                    "{} results for {} items",
                    vectors.len(),
                    part.len()
                ));
                part.iter().for_each(|&i| results[i] = Err(e.clone()));
            }
            Err(e) => part.iter().for_each(|&i| results[i] = Err(e.clone())),
        }
    }
    results
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_chunked_respects_chunk_size_and_puts_results_back() {
        let mut calls = Vec::new();
        let results = run_chunked(&[vec![4, 0, 2], vec![1, 3]], 2, |idx| {
            calls.push(idx.to_vec());
            Ok(idx.iter().map(|&i| vec![i as f32]).collect())
        });
        assert_eq!(calls, vec![vec![4, 0], vec![2], vec![1, 3]]);
        let values: Vec<f32> = results.into_iter().map(|r| r.unwrap()[0]).collect();
        assert_eq!(values, vec![0., 1., 2., 3., 4.]);
    }

    #[test]
    fn a_failed_chunk_fails_only_its_items() {
        let results = run_chunked(&[vec![0, 1, 2]], 2, |idx| {
            if idx.contains(&2) {
                Err(EngineError::Inference("boom".into()))
            } else {
                Ok(idx.iter().map(|_| vec![1.0]).collect())
            }
        });
        assert!(results[0].is_ok() && results[1].is_ok());
        assert_eq!(results[2], Err(EngineError::Inference("boom".into())));
    }
}
