//! Tests of the core's time and size bounds on a virtual clock: running deadlines and
//! run-time limits, the grace for departed workers, forgetting, the admission estimate.

use super::tests::{done, fails, runs, task, worker, A, B, T1};
use super::*;

fn bounded(bounds: Bounds, workers: &[WorkerSpec]) -> Scheduler {
    let config = RoutingConfig {
        max_attempts: 2,
        bounds,
        ..RoutingConfig::default()
    };
    let mut s = Scheduler::new(Policy::Affinity, config, 7);
    for w in workers {
        s.worker_joined(w.clone(), 0.0).unwrap();
    }
    s
}

fn abandons(actions: &[Action]) -> Vec<(u64, u32)> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Abandon { task, worker } => Some((task.0, worker.0)),
            _ => None,
        })
        .collect()
}

#[test]
fn a_running_task_past_its_deadline_fails_and_keeps_its_slot_until_reported() {
    let mut s = bounded(Bounds::default(), &[worker(1, 1, 2, &[A])]);
    let mut late = task(1, A);
    late.deadline = Some(5.0);
    assert_eq!(runs(&s.submit(late, 0.0).unwrap()), vec![(1, 1, false)]);
    assert!(s.submit(task(2, A), 1.0).unwrap().is_empty()); // waits: one slot
    assert!(abandons(&s.tick(4.9)).is_empty());
    let actions = s.tick(5.0);
    assert_eq!(abandons(&actions), vec![(1, 1)]);
    assert_eq!(fails(&actions), vec![(1, Reject::DeadlineWhileRunning)]);
    assert!(
        runs(&actions).is_empty(),
        "the slot is busy until the worker reports"
    );
    assert_eq!(s.running(), 0);
    // The worker's late report frees the slot; it is not a result for anything.
    let actions = s.release_abandoned(WorkerKey(1), TaskKey(1), 6.0).unwrap();
    assert_eq!(runs(&actions), vec![(2, 1, false)]);
    assert!(s.release_abandoned(WorkerKey(1), TaskKey(1), 6.0).is_none());
}

#[test]
fn a_task_past_its_run_time_limit_is_retried_then_given_up() {
    let bounds = Bounds {
        max_run_s: 100.0,
        max_run_s_by_type: vec![(T1.to_owned(), 10.0)],
        ..Bounds::default()
    };
    let mut s = bounded(bounds, &[worker(1, 1, 2, &[A]), worker(2, 1, 2, &[A])]);
    assert_eq!(runs(&s.submit(task(1, A), 0.0).unwrap()).len(), 1);
    let actions = s.tick(10.0);
    assert_eq!(abandons(&actions).len(), 1);
    assert!(fails(&actions).is_empty());
    // Attempt two goes to the other worker (the first one's slot is still busy).
    let (_, second, _) = runs(&actions)[0];
    let actions = s.tick(20.0);
    assert_eq!(abandons(&actions), vec![(1, second)]);
    assert_eq!(
        fails(&actions),
        vec![(1, Reject::AttemptsExhausted { attempts: 2 })]
    );
}

#[test]
fn tasks_wait_the_grace_period_for_a_departed_worker_then_fail() {
    let bounds = Bounds {
        worker_grace_s: 10.0,
        ..Bounds::default()
    };
    let mut s = bounded(bounds, &[worker(1, 1, 2, &[A])]);
    s.submit(task(1, A), 0.0).unwrap();
    assert!(fails(&s.worker_left(WorkerKey(1), 1.0)).is_empty());
    assert_eq!(s.queued(), 1, "the running task waits for a worker again");
    assert!(
        s.submit(task(2, A), 2.0).is_ok(),
        "so does a new submission"
    );
    // The worker comes back in time: both run there.
    let actions = s.worker_joined(worker(3, 2, 2, &[A]), 3.0).unwrap();
    assert_eq!(runs(&actions).len(), 2);
    // It leaves again, for good this time: task 1 has used its two attempts.
    let failed = fails(&s.worker_left(WorkerKey(3), 4.0));
    assert_eq!(failed, vec![(1, Reject::AttemptsExhausted { attempts: 2 })]);
    assert!(fails(&s.tick(13.9)).is_empty());
    let failed = fails(&s.tick(14.0));
    assert_eq!(failed.len(), 1);
    assert!(matches!(failed[0], (2, Reject::NoCapableWorker { .. })));
    assert!(matches!(
        s.submit(task(3, A), 15.0),
        Err(Reject::NoCapableWorker { .. })
    ));
}

#[test]
fn task_types_nobody_accepts_are_forgotten_so_others_can_join() {
    let mut s = bounded(Bounds::default(), &[]);
    let mut greedy = worker(1, 1, 2, &[]);
    greedy.task_types = (0..64).map(|i| format!("made-up-{i}")).collect();
    s.worker_joined(greedy, 0.0).unwrap();
    assert!(s.worker_joined(worker(2, 1, 2, &[]), 0.0).is_err());
    s.worker_left(WorkerKey(1), 1.0);
    s.tick(1.0);
    assert!(s.worker_joined(worker(2, 1, 2, &[]), 2.0).is_ok());
    assert!(s.has_capable_worker(T1));
}

#[test]
fn the_estimate_uses_measured_times_and_the_queue() {
    let mut s = bounded(Bounds::default(), &[worker(1, 1, 2, &[A])]);
    assert_eq!(s.estimate_s(A, T1, 0.0), None, "nothing measured: no guess");
    s.submit(task(1, A), 0.0).unwrap();
    s.task_finished(WorkerKey(1), TaskKey(1), done(None, 4.0), 4.0)
        .unwrap();
    assert_eq!(s.estimate_s(A, T1, 5.0), Some(4.0));
    assert_eq!(s.estimate_s(A, "unknown-type", 5.0), None);
    // Busy worker, one task queued: wait for the slot, then the queue ahead, then run.
    s.submit(task(2, A), 5.0).unwrap();
    s.submit(task(3, A), 5.0).unwrap();
    let estimate = s.estimate_s(A, T1, 5.0).unwrap();
    assert!((estimate - (4.0 + 4.0 + 4.0)).abs() < 1e-9, "{estimate}");
}

#[test]
fn idle_labels_are_forgotten_and_their_ids_reused() {
    let bounds = Bounds {
        label_idle_s: 10.0,
        ..Bounds::default()
    };
    let mut s = bounded(bounds, &[worker(1, 1, 1, &[A])]);
    s.submit(task(1, B), 0.0).unwrap(); // evicts A, loads B
    s.task_finished(WorkerKey(1), TaskKey(1), done(Some(1.0), 1.0), 2.0)
        .unwrap();
    assert!(s.forget_idle_labels(2.0).is_empty());
    assert!(s.forget_idle_labels(11.9).is_empty());
    assert_eq!(s.forget_idle_labels(12.0), vec![A.to_owned()]);
    assert_eq!(s.known_labels(), 1, "B is held, so kept");
    let reused = s.label_id("label-c");
    assert_eq!(s.label_name(reused), "label-c");
    assert!(
        s.forget_idle_labels(13.0).is_empty(),
        "label-c just became idle"
    );
}
