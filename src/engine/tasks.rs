//! The task types the engine serves and their `parameters_json`: parsing with bounds,
//! and the JSON results. Pure data; must not depend on ort, actix or tokio, so the HTTP
//! layer can validate parameters (422) before dispatching a task.

use serde_json::{Map, Value};

use super::error::EngineError;

/// Sentence embeddings: `{"texts": [...]}` → `{"embeddings": [[...]], "model", "dim"}`.
pub const EMBED_TEXTS: &str = "embed_texts";
/// Raw inference on a model with one float input `[N, d]`:
/// `{"inputs": [[...]]}` → `{"outputs": [[...]]}`.
pub const INFER: &str = "infer";
/// Every task type the engine serves.
pub const TASK_TYPES: &[&str] = &[EMBED_TEXTS, INFER];

/// Most texts (embed_texts) or rows (infer) in one task.
pub const MAX_ITEMS_PER_TASK: usize = 256;
/// Longest text, in characters.
pub const MAX_TEXT_CHARS: usize = 10_000;
/// Most numbers in one infer row.
pub const MAX_ROW_WIDTH: usize = 65_536;

/// A task's parsed parameters.
#[derive(Debug, Clone, PartialEq)]
pub enum TaskInput {
    /// `embed_texts`: non-empty, bounded texts.
    Texts(Vec<String>),
    /// `infer`: non-empty rows of finite numbers, all the same width.
    Rows(Vec<Vec<f32>>),
}

impl TaskInput {
    /// How many texts or rows the task carries (its share of a batch).
    pub fn len(&self) -> usize {
        match self {
            TaskInput::Texts(t) => t.len(),
            TaskInput::Rows(r) => r.len(),
        }
    }

    /// Always false for a parsed input (parsing rejects empty lists).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The task type this input belongs to.
    pub fn task_type(&self) -> &'static str {
        match self {
            TaskInput::Texts(_) => EMBED_TEXTS,
            TaskInput::Rows(_) => INFER,
        }
    }
}

fn invalid(msg: impl Into<String>) -> EngineError {
    EngineError::InvalidParams(msg.into())
}

/// Parses and bounds-checks a task's `parameters_json` for `task_type`. Does not need a
/// model: row widths are checked against the model when the task runs.
pub fn parse_params(task_type: &str, parameters_json: &str) -> Result<TaskInput, EngineError> {
    let value: Value = serde_json::from_str(parameters_json)
        .map_err(|e| invalid(format!("parameters_json is not valid JSON: {e}")))?;
    let Value::Object(object) = value else {
        return Err(invalid("parameters_json must be a JSON object"));
    };
    match task_type {
        EMBED_TEXTS => parse_texts(object).map(TaskInput::Texts),
        INFER => parse_rows(object).map(TaskInput::Rows),
        other => Err(EngineError::UnsupportedTask {
            task_type: other.to_string(),
            served: TASK_TYPES.join(", "),
        }),
    }
}

/// The single field `key` of `object` as a non-empty, bounded array.
fn only_list(mut object: Map<String, Value>, key: &str) -> Result<Vec<Value>, EngineError> {
    let value = object
        .remove(key)
        .ok_or_else(|| invalid(format!("missing field `{key}`")))?;
    if let Some(other) = object.keys().next() {
        return Err(invalid(format!(
            "unknown field `{other}` (expected only `{key}`)"
        )));
    }
    let Value::Array(items) = value else {
        return Err(invalid(format!("`{key}` must be an array")));
    };
    if items.is_empty() {
        return Err(invalid(format!("`{key}` must not be empty")));
    }
    if items.len() > MAX_ITEMS_PER_TASK {
        return Err(invalid(format!(
            "`{key}` has {} items; at most {MAX_ITEMS_PER_TASK} are allowed per task",
            items.len()
        )));
    }
    Ok(items)
}

fn parse_texts(object: Map<String, Value>) -> Result<Vec<String>, EngineError> {
    let items = only_list(object, "texts")?;
    items
        .into_iter()
        .enumerate()
        .map(|(i, item)| match item {
            Value::String(text) => {
                let chars = text.chars().count();
                if chars > MAX_TEXT_CHARS {
                    Err(invalid(format!(
                        "texts[{i}] has {chars} characters; at most {MAX_TEXT_CHARS} are allowed"
                    )))
                } else {
                    Ok(text)
                }
            }
            other => Err(invalid(format!(
                "texts[{i}] must be a string, not {}",
                kind(&other)
            ))),
        })
        .collect()
}

fn parse_rows(object: Map<String, Value>) -> Result<Vec<Vec<f32>>, EngineError> {
    let items = only_list(object, "inputs")?;
    let mut rows = Vec::with_capacity(items.len());
    for (i, item) in items.into_iter().enumerate() {
        let Value::Array(numbers) = item else {
            return Err(invalid(format!("inputs[{i}] must be an array of numbers")));
        };
        if numbers.is_empty() || numbers.len() > MAX_ROW_WIDTH {
            return Err(invalid(format!(
                "inputs[{i}] has {} numbers; a row needs 1 to {MAX_ROW_WIDTH}",
                numbers.len()
            )));
        }
        let row = numbers
            .iter()
            .enumerate()
            .map(|(j, n)| match n.as_f64().map(|v| v as f32) {
                Some(v) if v.is_finite() => Ok(v),
                _ => Err(invalid(format!(
                    "inputs[{i}][{j}] must be a finite 32-bit number"
                ))),
            })
            .collect::<Result<Vec<f32>, _>>()?;
        if let Some(first) = rows.first().map(Vec::len) {
            if row.len() != first {
                return Err(invalid(format!(
                    "inputs[{i}] has {} numbers but inputs[0] has {first}; all rows must be as wide",
                    row.len()
                )));
            }
        }
        rows.push(row);
    }
    Ok(rows)
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// A task's result: `embed_texts`' embeddings (`{"embeddings", "model", "dim"}`) or
/// `infer`'s outputs (`{"outputs"}`). Written as JSON with each number as f32 text, the
/// shortest that reads back as the same f32 (widened to f64 it would be about 70% longer).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(untagged)]
pub enum TaskResult {
    Embeddings {
        embeddings: Vec<Vec<f32>>,
        model: String,
        dim: usize,
    },
    Outputs {
        outputs: Vec<Vec<f32>>,
    },
}

impl TaskResult {
    /// The `embed_texts` result.
    pub fn embeddings(label: &str, embeddings: Vec<Vec<f32>>) -> Self {
        let dim = embeddings.first().map_or(0, Vec::len);
        TaskResult::Embeddings {
            embeddings,
            model: label.to_owned(),
            dim,
        }
    }

    /// The `infer` result.
    pub fn outputs(outputs: Vec<Vec<f32>>) -> Self {
        TaskResult::Outputs { outputs }
    }

    /// The result JSON a worker sends.
    pub fn to_json(&self) -> String {
        // Plain vectors of finite f32 and strings: serialising cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }

    /// The result JSON as a tree (for tests and tools).
    pub fn to_value(&self) -> Value {
        serde_json::to_value(self).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn results_write_f32_text_that_reads_back_exactly() {
        let x = 0.090_926_07_f32;
        let result = TaskResult::embeddings("m", vec![vec![x, -1.5], vec![0.1, 2.0]]);
        let text = result.to_json();
        assert_eq!(
            text,
            r#"{"embeddings":[[0.09092607,-1.5],[0.1,2.0]],"model":"m","dim":2}"#
        );
        let back: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(back["embeddings"][0][0].as_f64().unwrap() as f32, x);
        assert_eq!(
            TaskResult::outputs(vec![vec![1.25]]).to_json(),
            r#"{"outputs":[[1.25]]}"#
        );
    }

    fn err(task_type: &str, params: &str) -> String {
        match parse_params(task_type, params) {
            Err(e) => e.to_string(),
            Ok(v) => panic!("{params} parsed as {v:?}"),
        }
    }

    #[test]
    fn good_params_parse() {
        assert_eq!(
            parse_params(EMBED_TEXTS, r#"{"texts":["a","b c"]}"#).unwrap(),
            TaskInput::Texts(vec!["a".into(), "b c".into()])
        );
        assert_eq!(
            parse_params(INFER, r#"{"inputs":[[1,2.5],[-3,0]]}"#).unwrap(),
            TaskInput::Rows(vec![vec![1.0, 2.5], vec![-3.0, 0.0]])
        );
        let empty_text = parse_params(EMBED_TEXTS, r#"{"texts":[""]}"#).unwrap();
        assert_eq!(empty_text.len(), 1);
    }

    #[test]
    fn bad_params_get_clear_messages() {
        let long = "x".repeat(MAX_TEXT_CHARS + 1);
        let many = format!(
            r#"{{"texts":[{}]}}"#,
            vec!["\"a\""; MAX_ITEMS_PER_TASK + 1].join(",")
        );
        let cases: Vec<(&str, String, &str)> = vec![
            (EMBED_TEXTS, "not json".into(), "not valid JSON"),
            (EMBED_TEXTS, "[\"a\"]".into(), "must be a JSON object"),
            (EMBED_TEXTS, "{}".into(), "missing field `texts`"),
            (
                EMBED_TEXTS,
                r#"{"texts":"a"}"#.into(),
                "`texts` must be an array",
            ),
            (EMBED_TEXTS, r#"{"texts":[]}"#.into(), "must not be empty"),
            (
                EMBED_TEXTS,
                r#"{"texts":["a",1]}"#.into(),
                "texts[1] must be a string, not a number",
            ),
            (EMBED_TEXTS, r#"{"texts":[null]}"#.into(), "not null"),
            (
                EMBED_TEXTS,
                r#"{"texts":["a"],"x":1}"#.into(),
                "unknown field `x`",
            ),
            (
                EMBED_TEXTS,
                format!(r#"{{"texts":["{long}"]}}"#),
                "at most 10000",
            ),
            (EMBED_TEXTS, many, "at most 256"),
            (INFER, r#"{"inputs":[]}"#.into(), "must not be empty"),
            (
                INFER,
                r#"{"inputs":[1,2]}"#.into(),
                "inputs[0] must be an array",
            ),
            (INFER, r#"{"inputs":[[]]}"#.into(), "a row needs 1 to"),
            (
                INFER,
                r#"{"inputs":[[1,"a"]]}"#.into(),
                "inputs[0][1] must be a finite",
            ),
            (INFER, r#"{"inputs":[[1e39]]}"#.into(), "finite 32-bit"),
            (
                INFER,
                r#"{"inputs":[[1,2],[3]]}"#.into(),
                "all rows must be as wide",
            ),
            (INFER, r#"{"texts":["a"]}"#.into(), "missing field `inputs`"),
        ];
        for (task_type, params, needle) in cases {
            let msg = err(task_type, &params);
            assert!(msg.contains(needle), "{params}: {msg}");
            assert!(msg.starts_with("invalid parameters: "), "{msg}");
        }
    }

    #[test]
    fn unknown_task_type_is_its_own_error() {
        let e = parse_params("translate", r#"{"texts":["a"]}"#).unwrap_err();
        assert_eq!(e.code(), "unsupported_task_type");
        assert!(e.to_string().contains("embed_texts, infer"), "{e}");
    }

    #[test]
    fn character_limit_counts_chars_not_bytes() {
        let text = "é".repeat(MAX_TEXT_CHARS);
        let params = serde_json::to_string(&json!({ "texts": [text] })).unwrap();
        assert!(parse_params(EMBED_TEXTS, &params).is_ok());
    }
}
