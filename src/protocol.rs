//! The worker protocol's domain types and their protobuf encoding. prost types stay in
//! here: the rest of the crate speaks `FromWorker` and `WorkerCommand`. Depends on
//! nothing else in the crate.

use std::collections::BTreeMap;

use prost::Message;

/// The generated protobuf types of `proto/smart_routing/v1/worker.proto`.
pub mod pb {
    include!(concat!(env!("OUT_DIR"), "/smart_routing.v1.rs"));
}

/// A frame that is not a valid protocol message.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ProtocolError {
    #[error("frame is not a valid protobuf message: {0}")]
    Decode(String),
    #[error("frame holds no message")]
    Empty,
    #[error("invalid {field}: {reason}")]
    Invalid { field: &'static str, reason: String },
}

/// What a worker sends.
#[derive(Debug, Clone, PartialEq)]
pub enum FromWorker {
    Register(Registration),
    TaskResult(TaskReport),
    LabelLoaded {
        label: String,
    },
    LabelEvicted {
        label: String,
    },
    Log(LogRecord),
    Heartbeat,
    /// A piece of a running task's output, before its result.
    TaskChunk(Chunk),
}

/// One chunk of a streaming task's output.
#[derive(Debug, Clone, PartialEq)]
pub struct Chunk {
    pub task_id: String,
    /// From 0, in the order the worker made them.
    pub seq: u64,
    /// A JSON document (checked by the dispatcher).
    pub chunk_json: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Registration {
    pub worker_id: String,
    pub max_labels: u32,
    pub slots: u32,
    pub task_types: Vec<String>,
    pub labels: Vec<String>,
    /// The labels it can load; `None`: any label.
    pub catalog: Option<Vec<String>>,
}

/// What kind of failure a worker reports (`TaskResult.error_code`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum FailureKind {
    /// The task itself failed (or the worker does not say).
    #[default]
    Failed,
    /// The worker gave up at the task's deadline.
    DeadlineExceeded,
    /// The worker stopped the task when told to cancel it.
    Cancelled,
    /// The label could not be loaded on this worker; the task is not at fault.
    LoadFailed,
    /// The worker knows it is broken; the task is not at fault.
    WorkerFault,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TaskReport {
    pub task_id: String,
    /// The result JSON, or the worker's error.
    pub outcome: Result<String, String>,
    pub label_miss: bool,
    pub load_ms: u64,
    pub run_ms: u64,
    /// When the outcome is an error: its kind.
    pub failure: FailureKind,
}

#[derive(Debug, Clone, PartialEq)]
pub struct LogRecord {
    pub level: String,
    pub message: String,
    pub fields: BTreeMap<String, String>,
    pub unix_ms: u64,
}

/// What the dispatcher tells a worker.
#[derive(Debug, Clone, PartialEq)]
pub enum WorkerCommand {
    Run(RunTask),
    Cancel { task_id: String },
    Load { label: String },
    Evict { label: String },
    Drain,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RunTask {
    pub task_id: String,
    pub task_type: String,
    pub label: String,
    pub parameters_json: String,
    pub deadline_unix_ms: Option<u64>,
}

/// Largest slots or max_labels a worker may announce.
pub const MAX_CAPACITY: u32 = 4096;

/// Most task types one worker may announce (the dispatcher tells 64 apart in all).
pub const MAX_TASK_TYPES: usize = 64;

/// Most labels one worker may announce in its catalog.
pub const MAX_CATALOG: usize = 100_000;

/// Longest label name in a catalog, in bytes.
pub const MAX_LABEL_LEN: usize = 256;

impl Registration {
    /// Checks a worker's register frame, against the id in its `Worker-Id` header.
    pub fn validate(&self, header_id: &str) -> Result<(), ProtocolError> {
        let invalid = |field, reason: &str| ProtocolError::Invalid {
            field,
            reason: reason.to_owned(),
        };
        if self.worker_id != header_id {
            return Err(invalid(
                "worker_id",
                &format!(
                    "'{}' does not match the Worker-Id header '{header_id}'",
                    self.worker_id
                ),
            ));
        }
        if !(1..=MAX_CAPACITY).contains(&self.max_labels) {
            return Err(invalid(
                "max_labels",
                &format!("must be 1..={MAX_CAPACITY}"),
            ));
        }
        if !(1..=MAX_CAPACITY).contains(&self.slots) {
            return Err(invalid("slots", &format!("must be 1..={MAX_CAPACITY}")));
        }
        if self.task_types.is_empty()
            || self
                .task_types
                .iter()
                .any(|t| t.is_empty() || t.len() > 256)
        {
            return Err(invalid(
                "task_types",
                "need at least one, each 1..=256 bytes",
            ));
        }
        if self.task_types.len() > MAX_TASK_TYPES {
            return Err(invalid(
                "task_types",
                &format!("at most {MAX_TASK_TYPES} per worker"),
            ));
        }
        if self.labels.len() > self.max_labels as usize || self.labels.iter().any(|l| l.is_empty())
        {
            return Err(invalid("labels", "at most max_labels non-empty labels"));
        }
        if let Some(catalog) = &self.catalog {
            if catalog.len() > MAX_CATALOG
                || catalog
                    .iter()
                    .any(|l| l.is_empty() || l.len() > MAX_LABEL_LEN)
            {
                return Err(invalid(
                    "catalog",
                    &format!("at most {MAX_CATALOG} labels, each 1..={MAX_LABEL_LEN} bytes"),
                ));
            }
        }
        Ok(())
    }
}

pub fn decode_from_worker(frame: &[u8]) -> Result<FromWorker, ProtocolError> {
    use pb::worker_message::Msg;
    let message =
        pb::WorkerMessage::decode(frame).map_err(|e| ProtocolError::Decode(e.to_string()))?;
    Ok(match message.msg.ok_or(ProtocolError::Empty)? {
        Msg::Register(r) => FromWorker::Register(Registration {
            worker_id: r.worker_id,
            max_labels: r.max_labels,
            slots: r.slots,
            task_types: r.task_types,
            labels: r.labels,
            catalog: r.catalog.map(|c| c.labels),
        }),
        Msg::TaskResult(r) => FromWorker::TaskResult(TaskReport {
            task_id: r.task_id,
            outcome: if r.ok {
                Ok(r.result_json)
            } else {
                Err(r.error)
            },
            label_miss: r.label_miss,
            load_ms: r.load_ms,
            run_ms: r.run_ms,
            failure: match pb::ErrorCode::try_from(r.error_code) {
                Ok(pb::ErrorCode::DeadlineExceeded) => FailureKind::DeadlineExceeded,
                Ok(pb::ErrorCode::Cancelled) => FailureKind::Cancelled,
                Ok(pb::ErrorCode::LoadFailed) => FailureKind::LoadFailed,
                Ok(pb::ErrorCode::WorkerFault) => FailureKind::WorkerFault,
                // Unknown codes from newer workers read as plain failures.
                Ok(pb::ErrorCode::Unspecified) | Err(_) => FailureKind::Failed,
            },
        }),
        Msg::LabelLoaded(l) => FromWorker::LabelLoaded { label: l.label },
        Msg::LabelEvicted(l) => FromWorker::LabelEvicted { label: l.label },
        Msg::Log(l) => FromWorker::Log(LogRecord {
            level: l.level,
            message: l.message,
            fields: l.fields.into_iter().collect(),
            unix_ms: l.unix_ms,
        }),
        Msg::Heartbeat(_) => FromWorker::Heartbeat,
        Msg::TaskChunk(c) => FromWorker::TaskChunk(Chunk {
            task_id: c.task_id,
            seq: c.seq,
            chunk_json: c.chunk_json,
        }),
    })
}

pub fn encode_from_worker(message: &FromWorker) -> Vec<u8> {
    use pb::worker_message::Msg;
    let msg = match message.clone() {
        FromWorker::Register(r) => Msg::Register(pb::Register {
            worker_id: r.worker_id,
            max_labels: r.max_labels,
            slots: r.slots,
            task_types: r.task_types,
            labels: r.labels,
            catalog: r.catalog.map(|labels| pb::LabelCatalog { labels }),
        }),
        FromWorker::TaskResult(r) => {
            let ok = r.outcome.is_ok();
            let (result_json, error) = match r.outcome {
                Ok(json) => (json, String::new()),
                Err(error) => (String::new(), error),
            };
            Msg::TaskResult(pb::TaskResult {
                task_id: r.task_id,
                ok,
                result_json,
                error,
                label_miss: r.label_miss,
                load_ms: r.load_ms,
                run_ms: r.run_ms,
                error_code: match r.failure {
                    FailureKind::Failed => pb::ErrorCode::Unspecified,
                    FailureKind::DeadlineExceeded => pb::ErrorCode::DeadlineExceeded,
                    FailureKind::Cancelled => pb::ErrorCode::Cancelled,
                    FailureKind::LoadFailed => pb::ErrorCode::LoadFailed,
                    FailureKind::WorkerFault => pb::ErrorCode::WorkerFault,
                } as i32,
            })
        }
        FromWorker::LabelLoaded { label } => Msg::LabelLoaded(pb::LabelLoaded { label }),
        FromWorker::LabelEvicted { label } => Msg::LabelEvicted(pb::LabelEvicted { label }),
        FromWorker::Log(l) => Msg::Log(pb::Log {
            level: l.level,
            message: l.message,
            fields: l.fields.into_iter().collect(),
            unix_ms: l.unix_ms,
        }),
        FromWorker::Heartbeat => Msg::Heartbeat(pb::Heartbeat {}),
        FromWorker::TaskChunk(c) => Msg::TaskChunk(pb::TaskChunk {
            task_id: c.task_id,
            seq: c.seq,
            chunk_json: c.chunk_json,
        }),
    };
    pb::WorkerMessage { msg: Some(msg) }.encode_to_vec()
}

pub fn decode_command(frame: &[u8]) -> Result<WorkerCommand, ProtocolError> {
    use pb::dispatcher_message::Msg;
    let message =
        pb::DispatcherMessage::decode(frame).map_err(|e| ProtocolError::Decode(e.to_string()))?;
    Ok(match message.msg.ok_or(ProtocolError::Empty)? {
        Msg::RunTask(r) => WorkerCommand::Run(RunTask {
            task_id: r.task_id,
            task_type: r.task_type,
            label: r.label,
            parameters_json: r.parameters_json,
            deadline_unix_ms: (r.deadline_unix_ms > 0).then_some(r.deadline_unix_ms),
        }),
        Msg::CancelTask(c) => WorkerCommand::Cancel { task_id: c.task_id },
        Msg::LoadLabel(l) => WorkerCommand::Load { label: l.label },
        Msg::EvictLabel(l) => WorkerCommand::Evict { label: l.label },
        Msg::Drain(_) => WorkerCommand::Drain,
    })
}

pub fn encode_command(command: &WorkerCommand) -> Vec<u8> {
    use pb::dispatcher_message::Msg;
    let msg = match command.clone() {
        WorkerCommand::Run(r) => Msg::RunTask(pb::RunTask {
            task_id: r.task_id,
            task_type: r.task_type,
            label: r.label,
            parameters_json: r.parameters_json,
            deadline_unix_ms: r.deadline_unix_ms.unwrap_or(0),
        }),
        WorkerCommand::Cancel { task_id } => Msg::CancelTask(pb::CancelTask { task_id }),
        WorkerCommand::Load { label } => Msg::LoadLabel(pb::LoadLabel { label }),
        WorkerCommand::Evict { label } => Msg::EvictLabel(pb::EvictLabel { label }),
        WorkerCommand::Drain => Msg::Drain(pb::Drain {}),
    };
    pb::DispatcherMessage { msg: Some(msg) }.encode_to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_survive_a_round_trip() {
        let report = FromWorker::TaskResult(TaskReport {
            task_id: "t".into(),
            outcome: Err("boom".into()),
            label_miss: true,
            load_ms: 3,
            run_ms: 4,
            failure: FailureKind::DeadlineExceeded,
        });
        assert_eq!(decode_from_worker(&encode_from_worker(&report)), Ok(report));
        let run = WorkerCommand::Run(RunTask {
            task_id: "t".into(),
            task_type: "x".into(),
            label: "l".into(),
            parameters_json: "{}".into(),
            deadline_unix_ms: None,
        });
        assert_eq!(decode_command(&encode_command(&run)), Ok(run));
    }

    #[test]
    fn every_failure_kind_survives_a_round_trip() {
        for failure in [
            FailureKind::Failed,
            FailureKind::DeadlineExceeded,
            FailureKind::Cancelled,
            FailureKind::LoadFailed,
            FailureKind::WorkerFault,
        ] {
            let report = FromWorker::TaskResult(TaskReport {
                task_id: "t".into(),
                outcome: Err("boom".into()),
                label_miss: false,
                load_ms: 0,
                run_ms: 0,
                failure,
            });
            assert_eq!(decode_from_worker(&encode_from_worker(&report)), Ok(report));
        }
    }

    #[test]
    fn a_result_without_error_code_is_a_plain_failure() {
        // What a worker built before `error_code` existed sends.
        let old = pb::WorkerMessage {
            msg: Some(pb::worker_message::Msg::TaskResult(pb::TaskResult {
                task_id: "t".into(),
                error: "boom".into(),
                ..Default::default()
            })),
        };
        let Ok(FromWorker::TaskResult(report)) = decode_from_worker(&old.encode_to_vec()) else {
            panic!("expected a task result");
        };
        assert_eq!(report.failure, FailureKind::Failed);
        assert_eq!(report.outcome, Err("boom".into()));
    }

    #[test]
    fn garbage_and_empty_frames_are_errors() {
        assert!(matches!(
            decode_from_worker(&[0xff, 0xff, 0xff]),
            Err(ProtocolError::Decode(_))
        ));
        assert_eq!(decode_from_worker(&[]), Err(ProtocolError::Empty));
    }

    #[test]
    fn registration_must_match_the_header_and_be_sane() {
        let good = Registration {
            worker_id: "w".into(),
            max_labels: 2,
            slots: 1,
            task_types: vec!["sample_task_1".into()],
            labels: vec![],
            catalog: Some(vec!["label-1".into()]),
        };
        let frame = encode_from_worker(&FromWorker::Register(good.clone()));
        assert_eq!(
            decode_from_worker(&frame),
            Ok(FromWorker::Register(good.clone()))
        );
        assert!(good.validate("w").is_ok());
        assert!(good.validate("other").is_err());
        let mut bad = good.clone();
        bad.slots = 0;
        assert!(bad.validate("w").is_err());
        let mut bad = good.clone();
        bad.task_types.clear();
        assert!(bad.validate("w").is_err());
        let mut bad = good.clone();
        bad.labels = vec!["a".into(), "b".into(), "c".into()];
        assert!(bad.validate("w").is_err());
        let mut bad = good.clone();
        bad.task_types = (0..65).map(|i| format!("t{i}")).collect();
        let error = bad.validate("w").unwrap_err().to_string();
        assert!(error.contains("at most 64 per worker"), "{error}");
        let mut bad = good;
        bad.catalog = Some(vec![String::new()]);
        assert!(bad.validate("w").is_err());
    }
}
