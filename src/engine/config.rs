//! A model folder's `model.toml`: how the engine serves that model (tasks, batching,
//! pooling, threads, device). Pure parsing; must not depend on ort, actix or tokio.
//!
//! Every field is optional:
//! ```toml
//! task_types = ["embed_texts"]  # default: ["embed_texts"] with tokenizer.json, else ["infer"]
//! max_batch_size = 32           # texts or rows per session call
//! max_queue_delay_us = 0        # how long the batcher may wait to fill a batch (0: take what waits)
//! pooling = "mean"              # "mean" or "cls" (embed_texts)
//! normalize = true              # L2-normalise embeddings
//! max_length = 256              # tokens per text, special tokens included
//! output = "last_hidden_state"  # model output to use; default: the first one
//! intra_op_threads = 1          # ONNX Runtime threads per session; 0 = ONNX Runtime's default
//! device = "cpu"                # "cpu", "cuda" (= "cuda:0") or "cuda:N"
//! allow_cpu_fallback = false    # run on CPU when the CUDA provider cannot be registered
//! ```

use std::fmt;
use std::path::Path;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::error::EngineError;
use super::tasks::{EMBED_TEXTS, INFER, TASK_TYPES};

use crate::repository::{CONFIG_FILE, TOKENIZER_FILE};

/// Upper bound for `max_length`, far above what BERT-style encoders accept.
const MAX_LENGTH_LIMIT: usize = 8192;
/// Upper bound for `max_batch_size`.
const MAX_BATCH_LIMIT: usize = 4096;

/// How token embeddings become one sentence embedding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Pooling {
    /// Mean over the tokens the attention mask keeps (sentence-transformers' default).
    Mean,
    /// The first token's (`[CLS]`) vector.
    Cls,
}

/// Where a session runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum Device {
    Cpu,
    /// A CUDA device by ordinal.
    Cuda(i32),
}

impl FromStr for Device {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || {
            format!(
                "invalid device `{s}`: expected \"cpu\", \"cuda\" or \"cuda:N\" (N = 0, 1, ...)"
            )
        };
        match s {
            "cpu" => Ok(Device::Cpu),
            "cuda" => Ok(Device::Cuda(0)),
            _ => {
                let ordinal = s.strip_prefix("cuda:").ok_or_else(bad)?;
                match ordinal.parse::<i32>() {
                    Ok(n) if n >= 0 && !ordinal.starts_with('+') => Ok(Device::Cuda(n)),
                    _ => Err(bad()),
                }
            }
        }
    }
}

impl TryFrom<String> for Device {
    type Error = String;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<Device> for String {
    fn from(device: Device) -> String {
        device.to_string()
    }
}

impl fmt::Display for Device {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Device::Cpu => f.write_str("cpu"),
            Device::Cuda(n) => write!(f, "cuda:{n}"),
        }
    }
}

/// A model folder's serving configuration (`model.toml`), defaults filled in.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelConfig {
    pub task_types: Vec<String>,
    pub max_batch_size: usize,
    pub max_queue_delay_us: u64,
    pub pooling: Pooling,
    pub normalize: bool,
    pub max_length: usize,
    pub output: Option<String>,
    pub intra_op_threads: usize,
    pub device: Device,
    pub allow_cpu_fallback: bool,
}

/// `model.toml` as written: every field optional, unknown fields rejected.
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct RawConfig {
    task_types: Option<Vec<String>>,
    max_batch_size: Option<usize>,
    max_queue_delay_us: Option<u64>,
    pooling: Option<Pooling>,
    normalize: Option<bool>,
    max_length: Option<usize>,
    output: Option<String>,
    intra_op_threads: Option<usize>,
    device: Option<Device>,
    allow_cpu_fallback: Option<bool>,
}

impl ModelConfig {
    /// The defaults for a folder with (`has_tokenizer`) or without a `tokenizer.json`.
    pub fn defaults(has_tokenizer: bool) -> ModelConfig {
        let task = if has_tokenizer { EMBED_TEXTS } else { INFER };
        ModelConfig {
            task_types: vec![task.to_string()],
            max_batch_size: 32,
            max_queue_delay_us: 0,
            pooling: Pooling::Mean,
            normalize: true,
            max_length: 256,
            output: None,
            intra_op_threads: 1,
            device: Device::Cpu,
            allow_cpu_fallback: false,
        }
    }

    /// Reads `dir/model.toml` when present; defaults otherwise.
    pub fn load(dir: &Path) -> Result<ModelConfig, EngineError> {
        let has_tokenizer = dir.join(TOKENIZER_FILE).is_file();
        let path = dir.join(CONFIG_FILE);
        if !path.exists() {
            return Ok(ModelConfig::defaults(has_tokenizer));
        }
        let text = std::fs::read_to_string(&path).map_err(|e| EngineError::Config {
            path: path.clone(),
            reason: e.to_string(),
        })?;
        ModelConfig::parse(&text, has_tokenizer)
            .map_err(|reason| EngineError::Config { path, reason })
    }

    /// Parses the text of a `model.toml`; the error is a human-readable reason.
    pub fn parse(text: &str, has_tokenizer: bool) -> Result<ModelConfig, String> {
        let raw: RawConfig = toml::from_str(text).map_err(|e| e.message().to_string())?;
        let d = ModelConfig::defaults(has_tokenizer);
        let config = ModelConfig {
            task_types: raw.task_types.unwrap_or(d.task_types),
            max_batch_size: raw.max_batch_size.unwrap_or(d.max_batch_size),
            max_queue_delay_us: raw.max_queue_delay_us.unwrap_or(d.max_queue_delay_us),
            pooling: raw.pooling.unwrap_or(d.pooling),
            normalize: raw.normalize.unwrap_or(d.normalize),
            max_length: raw.max_length.unwrap_or(d.max_length),
            output: raw.output,
            intra_op_threads: raw.intra_op_threads.unwrap_or(d.intra_op_threads),
            device: raw.device.unwrap_or(d.device),
            allow_cpu_fallback: raw.allow_cpu_fallback.unwrap_or(d.allow_cpu_fallback),
        };
        config.check()?;
        Ok(config)
    }

    /// Rejects values the engine cannot serve with.
    fn check(&self) -> Result<(), String> {
        if self.task_types.is_empty() {
            return Err("task_types must name at least one task type".into());
        }
        if let Some(t) = self
            .task_types
            .iter()
            .find(|t| !TASK_TYPES.contains(&t.as_str()))
        {
            return Err(format!(
                "unknown task type `{t}` in task_types (the engine serves: {})",
                TASK_TYPES.join(", ")
            ));
        }
        if !(1..=MAX_BATCH_LIMIT).contains(&self.max_batch_size) {
            return Err(format!(
                "max_batch_size must be between 1 and {MAX_BATCH_LIMIT}"
            ));
        }
        if !(2..=MAX_LENGTH_LIMIT).contains(&self.max_length) {
            return Err(format!(
                "max_length must be between 2 and {MAX_LENGTH_LIMIT}"
            ));
        }
        if self.output.as_deref() == Some("") {
            return Err("output must not be empty (leave it out to use the first output)".into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_file_gives_defaults_by_tokenizer_presence() {
        let with = ModelConfig::parse("", true).unwrap();
        assert_eq!(with, ModelConfig::defaults(true));
        assert_eq!(with.task_types, vec!["embed_texts"]);
        assert_eq!(with.max_batch_size, 32);
        assert_eq!(with.max_queue_delay_us, 0);
        assert_eq!(with.pooling, Pooling::Mean);
        assert!(with.normalize);
        assert_eq!(with.max_length, 256);
        assert_eq!(with.output, None);
        assert_eq!(with.intra_op_threads, 1);
        assert_eq!(with.device, Device::Cpu);
        assert!(!with.allow_cpu_fallback);
        assert_eq!(
            ModelConfig::parse("", false).unwrap().task_types,
            vec!["infer"]
        );
    }

    #[test]
    fn every_field_parses() {
        let text = r#"
            task_types = ["embed_texts", "infer"]
            max_batch_size = 8
            max_queue_delay_us = 500
            pooling = "cls"
            normalize = false
            max_length = 128
            output = "pooled"
            intra_op_threads = 2
            device = "cuda:1"
            allow_cpu_fallback = true
        "#;
        let c = ModelConfig::parse(text, false).unwrap();
        assert_eq!(c.task_types, vec!["embed_texts", "infer"]);
        assert_eq!(c.max_batch_size, 8);
        assert_eq!(c.max_queue_delay_us, 500);
        assert_eq!(c.pooling, Pooling::Cls);
        assert!(!c.normalize);
        assert_eq!(c.max_length, 128);
        assert_eq!(c.output.as_deref(), Some("pooled"));
        assert_eq!(c.intra_op_threads, 2);
        assert_eq!(c.device, Device::Cuda(1));
        assert!(c.allow_cpu_fallback);
    }

    #[test]
    fn devices_parse_and_print() {
        for (text, device) in [
            ("cpu", Device::Cpu),
            ("cuda", Device::Cuda(0)),
            ("cuda:0", Device::Cuda(0)),
            ("cuda:3", Device::Cuda(3)),
        ] {
            assert_eq!(text.parse::<Device>().unwrap(), device, "{text}");
        }
        assert_eq!(Device::Cuda(2).to_string(), "cuda:2");
        assert_eq!(Device::Cpu.to_string(), "cpu");
    }

    #[test]
    fn bad_devices_are_rejected_clearly() {
        for text in [
            "gpu", "CPU", "cuda:", "cuda:x", "cuda:-1", "cuda:+1", "cuda:1.5", "cuda0", "", "tpu:0",
        ] {
            let err = text.parse::<Device>().unwrap_err();
            assert!(err.contains("expected \"cpu\""), "{text}: {err}");
            let toml_err = ModelConfig::parse(&format!("device = \"{text}\""), false).unwrap_err();
            assert!(toml_err.contains("invalid device"), "{text}: {toml_err}");
        }
    }

    #[test]
    fn bad_values_are_rejected() {
        for (text, needle) in [
            ("max_batch_size = 0", "max_batch_size"),
            ("max_length = 1", "max_length"),
            ("max_length = 100000", "max_length"),
            ("task_types = []", "at least one"),
            (
                "task_types = [\"translate\"]",
                "unknown task type `translate`",
            ),
            ("pooling = \"max\"", "unknown variant"),
            ("output = \"\"", "output"),
            ("max_batch_size = -1", "invalid value"),
            ("batch = 3", "unknown field"),
            ("normalize = \"yes\"", "invalid type"),
            ("this is not toml", "expected"),
        ] {
            let err = ModelConfig::parse(text, true).unwrap_err();
            assert!(err.contains(needle), "{text}: {err}");
        }
    }

    #[test]
    fn load_reads_the_folder() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/models/tiny");
        let c = ModelConfig::load(&dir).unwrap();
        assert_eq!(c.task_types, vec!["infer"]);
        assert_eq!(c.max_batch_size, 8);
        let missing = ModelConfig::load(Path::new("/nonexistent/model/dir")).unwrap();
        assert_eq!(missing, ModelConfig::defaults(false));
    }
}
