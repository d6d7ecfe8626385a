//! The task table's transitions and bounds.

use super::*;

fn record(table: &mut TaskTable, id: &str, parameters: &str, now: Instant) -> TaskKey {
    let key = table.next_key();
    table.insert(TaskRecord::queued(
        key,
        NewRecord {
            task_id: id.to_owned(),
            task_type: "t".into(),
            label: "l".into(),
            tenant: "anonymous".into(),
            parameters_json: parameters.to_owned(),
            deadline: None,
            submitted: now,
            attempts: 0,
        },
    ));
    key
}

#[test]
fn a_task_runs_goes_back_to_the_queue_and_ends_once() {
    let now = Instant::now();
    let mut table = TaskTable::new(Duration::from_secs(3600), 1000);
    let key = record(&mut table, "a", "{}", now);
    let later = now + Duration::from_millis(7);
    let started = table.start(key, "w-1", later).unwrap().view().clone();
    assert_eq!(started.status, Status::Running);
    assert_eq!(started.worker.as_deref(), Some("w-1"));
    assert_eq!((started.attempts, started.timings.queue_ms), (1, 7));
    table.requeue(key);
    let view = table.get_key(key).unwrap().view();
    assert_eq!(
        (view.status, view.worker.as_deref()),
        (Status::Queued, None)
    );
    table.start(key, "w-2", later).unwrap();
    let ran = Ran {
        label_miss: true,
        load_ms: 3,
        run_ms: 4,
    };
    let result = RawJson::parse("{\"x\":1}".into()).unwrap();
    let done = table
        .finish(key, later, Ending::Completed { result, ran })
        .unwrap();
    assert_eq!(done.status, Status::Completed);
    assert_eq!((done.attempts, done.label_miss), (2, true));
    assert_eq!((done.timings.load_ms, done.timings.run_ms), (3, 4));
    // Final is final: no second ending, no restart, no requeue.
    assert!(table.finish(key, later, Ending::Cancelled).is_none());
    assert!(table.start(key, "w-3", later).is_none());
    table.requeue(key);
    assert_eq!(table.get_key(key).unwrap().view().status, Status::Completed);
    assert_eq!(table.totals().completed, 1);
}

#[test]
fn finished_tasks_drop_their_parameters_and_stay_within_the_byte_bound() {
    let now = Instant::now();
    let mut table = TaskTable::new(Duration::from_secs(3600), 1000);
    table.set_max_bytes(3 * 1024);
    let big = "x".repeat(1000);
    for i in 0..5 {
        let key = record(&mut table, &format!("t{i}"), &format!("\"{big}\""), now);
        let result = RawJson::parse(format!("\"{big}\"")).unwrap();
        let ran = Ran {
            label_miss: false,
            load_ms: 0,
            run_ms: 1,
        };
        table.finish(key, now, Ending::Completed { result, ran });
        let kept = table.get_key(key).expect("the newest task is kept");
        assert!(kept.parameters_json().is_empty());
        assert!(table.retained_bytes() <= 3 * 1024);
    }
    // Each holds about 1.3 KB: the oldest went, the newest stay.
    assert!(table.get("t0").is_none() && table.get("t2").is_none());
    assert!(table.get("t3").is_some() && table.get("t4").is_some());
}
