//! The store on a real SQLite file: what was committed comes back after reopening.

use super::*;
use crate::tasks::{ErrorBody, Status, Timings};

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("sr-store-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn task(id: &str) -> StoredTask {
    StoredTask {
        task_id: id.to_owned(),
        task_type: "sample_task_1".to_owned(),
        label: "a".to_owned(),
        parameters_json: "{\"x\":1}".to_owned(),
        tenant: if id == "t2" { "batch" } else { "anonymous" }.to_owned(),
        deadline_unix_ms: (id == "t2").then_some(123),
        submitted_unix_ms: 1000,
    }
}

fn final_view(id: &str) -> TaskView {
    TaskView {
        task_id: id.to_owned(),
        status: Status::Failed,
        label: "a".to_owned(),
        task_type: "sample_task_1".to_owned(),
        tenant: "anonymous".to_owned(),
        worker: Some("w1".to_owned()),
        label_miss: true,
        attempts: 1,
        result: None,
        error: Some(ErrorBody {
            code: crate::error_code::ErrorCode::TaskFailed,
            message: "boom".to_owned(),
        }),
        timings: Timings::default(),
    }
}

const KEEP: Retention = Retention {
    age: Duration::from_secs(3600),
    max_finished: 100,
};

fn open(
    dir: &Path,
    durability: Durability,
    retention: Retention,
) -> Result<(Journal, Recovered), StoreError> {
    Journal::open(dir, durability, retention, Arc::new(Metrics::default()))
}

fn block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(future)
}

#[test]
fn committed_tasks_and_results_come_back_after_reopening() {
    let dir = temp_dir("reopen");
    let (journal, recovered) = open(&dir, Durability::Os, KEEP).unwrap();
    assert!(recovered.pending.is_empty() && recovered.finished.is_empty());
    for id in ["t1", "t2", "t3"] {
        journal.accepted(task(id));
    }
    journal.finished(&final_view("t3"));
    // A second final result for the same task is not recorded over the first.
    let mut late = final_view("t3");
    late.status = Status::Completed;
    journal.finished(&late);
    block_on(journal.sync()).unwrap();
    drop(journal);

    let (_journal, recovered) = open(&dir, Durability::Fsync, KEEP).unwrap();
    let pending: Vec<_> = recovered
        .pending
        .iter()
        .map(|p| (p.task.task_id.as_str(), p.attempts))
        .collect();
    // Each counts the attempt that may have been running when the process stopped.
    assert_eq!(pending, vec![("t1", 1), ("t2", 1)]);
    assert_eq!(recovered.pending[1].task, task("t2"));
    assert_eq!(recovered.finished.len(), 1);
    assert_eq!(recovered.finished[0].view, final_view("t3"));
}

#[test]
fn every_restart_before_a_result_counts_one_attempt() {
    let dir = temp_dir("restarts");
    let (journal, _) = open(&dir, Durability::Os, KEEP).unwrap();
    journal.accepted(task("t1"));
    journal.accepted(task("t2"));
    journal.finished(&final_view("t2"));
    block_on(journal.sync()).unwrap();
    drop(journal);
    for expected in 1..=3 {
        let (journal, recovered) = open(&dir, Durability::Os, KEEP).unwrap();
        let pending: Vec<_> = recovered
            .pending
            .iter()
            .map(|p| (p.task.task_id.as_str(), p.attempts))
            .collect();
        assert_eq!(pending, vec![("t1", expected)]);
        assert_eq!(
            recovered.finished[0].view.attempts, 1,
            "a final task keeps its own"
        );
        drop(journal);
    }
}

/// The release of 2026-12-02 wrote each attempt as it started: a task it was running
/// counts that one attempt after the restart, one it had only queued counts one too.
#[test]
fn attempts_written_as_they_started_are_counted_once() {
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/data-2026-12-02");
    let dir = temp_dir("earlier");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy(fixture.join(sqlite::FILE), dir.join(sqlite::FILE)).unwrap();
    let forever = Retention {
        age: Duration::from_secs(3_000_000_000),
        max_finished: 100,
    };
    for expected in 1..=2 {
        let (journal, recovered) = open(&dir, Durability::Os, forever).unwrap();
        let mut pending: Vec<_> = recovered
            .pending
            .iter()
            .map(|p| (p.task.task_id.as_str(), p.attempts))
            .collect();
        pending.sort();
        assert_eq!(
            pending,
            vec![("queued-1", expected), ("running-1", expected)]
        );
        drop(journal);
    }
}

#[test]
fn a_reused_id_replaces_the_final_task() {
    let dir = temp_dir("reuse");
    let (journal, _) = open(&dir, Durability::Os, KEEP).unwrap();
    journal.accepted(task("t1"));
    journal.finished(&final_view("t1"));
    journal.accepted(task("t1"));
    block_on(journal.sync()).unwrap();
    drop(journal);
    let (_journal, recovered) = open(&dir, Durability::Os, KEEP).unwrap();
    assert_eq!(recovered.pending.len(), 1);
    assert!(recovered.finished.is_empty());
}

#[test]
fn final_tasks_beyond_the_bound_are_pruned() {
    let dir = temp_dir("prune");
    let small = Retention {
        age: Duration::from_secs(3600),
        max_finished: 2,
    };
    let (journal, _) = open(&dir, Durability::Os, small).unwrap();
    for id in ["t1", "t2", "t3", "t4"] {
        journal.accepted(task(id));
        journal.finished(&final_view(id));
    }
    journal.accepted(task("t5"));
    block_on(journal.sync()).unwrap();
    drop(journal);
    let (_journal, recovered) = open(&dir, Durability::Os, small).unwrap();
    assert_eq!(recovered.finished.len(), 2);
    assert_eq!(
        recovered.pending.len(),
        1,
        "tasks not final are never pruned"
    );
    let expired = Retention {
        age: Duration::ZERO,
        max_finished: 100,
    };
    std::thread::sleep(Duration::from_millis(5));
    let (_journal, recovered) = open(&dir, Durability::Os, expired).unwrap();
    assert!(recovered.finished.is_empty());
    assert_eq!(recovered.pending.len(), 1);
}

#[test]
fn a_data_dir_that_is_a_file_is_a_clear_error() {
    let dir = temp_dir("file");
    std::fs::write(&dir, b"not a directory").unwrap();
    let error = open(&dir, Durability::Os, KEEP).err().unwrap();
    let message = error.to_string();
    assert!(message.contains("cannot open the task store"), "{message}");
    assert!(message.contains(&dir.display().to_string()), "{message}");
    assert!(
        "power".parse::<Durability>().is_err() && "fsync".parse::<Durability>().is_ok(),
        "durability names"
    );
}
