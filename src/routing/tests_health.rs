//! Misbehaving workers on a virtual clock: failed loads, retries elsewhere, ejection and
//! its cap, probes, stuck tasks, and bad input that must not eject anyone.

use super::tests::{done, fails, runs, sched, task, worker, A, B};
use super::*;

/// Two workers with one slot each, both holding A.
fn pair() -> Scheduler {
    sched(
        Policy::Affinity,
        &[worker(1, 1, 2, &[A]), worker(2, 1, 2, &[A])],
    )
}

fn state(s: &Scheduler, key: u32) -> HealthState {
    s.worker_health(0.0)
        .into_iter()
        .find(|r| r.worker == WorkerKey(key))
        .map(|r| r.state)
        .expect("a connected worker")
}

/// Submits task `key` and returns the worker it runs on.
fn start(s: &mut Scheduler, key: u64, label: &str, now: f64) -> u32 {
    let actions = s.submit(task(key, label), now).unwrap();
    runs(&actions).first().expect("the task starts").1
}

#[test]
fn a_failed_load_runs_the_task_elsewhere_and_backs_the_worker_off_the_label() {
    let mut s = sched(
        Policy::Affinity,
        &[worker(1, 1, 2, &[]), worker(2, 1, 2, &[])],
    );
    let first = start(&mut s, 1, B, 0.0);
    let (actions, verdict) = s
        .task_failed(WorkerKey(first), TaskKey(1), Fault::Load, 1.0)
        .unwrap();
    assert_eq!(verdict, Verdict::Retried);
    let other = 3 - first;
    assert_eq!(
        runs(&actions),
        vec![(1, other, true)],
        "loaded on the other worker"
    );
    // The first worker is free, but is not given B while it backs off.
    s.task_finished(WorkerKey(other), TaskKey(1), done(Some(1.0), 1.0), 3.0)
        .unwrap();
    let report = &s.worker_health(3.0)[first as usize - 1];
    assert_eq!(report.load_backoff.len(), 1);
    assert_eq!(
        report.state,
        HealthState::Healthy,
        "a failed load is not a failure of health"
    );
}

#[test]
fn a_label_no_worker_can_load_fails_its_tasks_with_load_failed() {
    let mut s = sched(
        Policy::Affinity,
        &[worker(1, 1, 2, &[]), worker(2, 1, 2, &[])],
    );
    let first = start(&mut s, 1, B, 0.0);
    let (actions, _) = s
        .task_failed(WorkerKey(first), TaskKey(1), Fault::Load, 1.0)
        .unwrap();
    let other = runs(&actions)[0].1;
    let (actions, verdict) = s
        .task_failed(WorkerKey(other), TaskKey(1), Fault::Load, 2.0)
        .unwrap();
    assert_eq!(verdict, Verdict::Failed);
    assert_eq!(
        fails(&actions),
        vec![(
            1,
            Reject::LoadFailed {
                label: B.to_owned()
            }
        )]
    );
    // A new task of B fails once the scheduler sees nobody may load it.
    s.submit(task(2, B), 2.5).unwrap();
    assert_eq!(
        fails(&s.tick(2.6)),
        vec![(
            2,
            Reject::LoadFailed {
                label: B.to_owned()
            }
        )]
    );
    // After the backoff, B may be tried again.
    let actions = s.submit(task(3, B), 60.0).unwrap();
    assert_eq!(runs(&actions).len(), 1);
}

#[test]
fn an_unexplained_failure_runs_once_more_on_another_worker() {
    let mut s = pair();
    let first = start(&mut s, 1, A, 0.0);
    let (actions, verdict) = s
        .task_failed(WorkerKey(first), TaskKey(1), Fault::Ambiguous, 0.1)
        .unwrap();
    assert_eq!(verdict, Verdict::Retried);
    let other = 3 - first;
    assert_eq!(runs(&actions), vec![(1, other, false)]);
    // A second failure elsewhere is the task's: it fails, and nobody's health counts it.
    let (_, verdict) = s
        .task_failed(WorkerKey(other), TaskKey(1), Fault::Ambiguous, 0.2)
        .unwrap();
    assert_eq!(verdict, Verdict::Failed);
    for report in s.worker_health(0.3) {
        assert_eq!(
            report.consecutive_failures, 0,
            "bad input counts against no worker"
        );
    }
}

#[test]
fn bad_input_never_ejects_a_healthy_worker() {
    // Every task fails on every worker: each fails after two attempts, nobody is ejected.
    let mut s = pair();
    let mut now = 0.0;
    for key in 0..200 {
        now += 0.05;
        let mut on = start(&mut s, key, A, now);
        loop {
            let (actions, verdict) = s
                .task_failed(WorkerKey(on), TaskKey(key), Fault::Ambiguous, now)
                .unwrap();
            if verdict == Verdict::Failed {
                break;
            }
            on = runs(&actions)
                .first()
                .expect("retried on the other worker")
                .1;
        }
    }
    assert_eq!(state(&s, 1), HealthState::Healthy);
    assert_eq!(state(&s, 2), HealthState::Healthy);
}

/// Worker 1 fails every task without saying why; worker 2 runs them. Returns the time.
fn sick_first(s: &mut Scheduler, tasks: u64) -> f64 {
    let mut now = 0.0;
    for key in 0..tasks {
        now += 0.1;
        let on = start(s, key, A, now);
        let on = if on == 1 {
            let (actions, _) = s
                .task_failed(WorkerKey(1), TaskKey(key), Fault::Ambiguous, now)
                .unwrap();
            runs(&actions).first().expect("retried on worker 2").1
        } else {
            on
        };
        assert_eq!(on, 2);
        s.task_finished(WorkerKey(2), TaskKey(key), done(None, 0.05), now + 0.05)
            .unwrap();
    }
    now
}

#[test]
fn a_worker_whose_failures_are_confirmed_elsewhere_is_ejected_then_probed_and_returns() {
    let mut s = pair();
    let now = sick_first(&mut s, 40);
    assert_eq!(state(&s, 1), HealthState::Ejected);
    assert_eq!(
        s.take_health_events().first().map(|e| (e.worker, e.state)),
        Some((WorkerKey(1), HealthState::Ejected))
    );
    // While ejected it gets nothing, even when it is the only free worker.
    let on = start(&mut s, 100, A, now + 1.0);
    assert_eq!(on, 2);
    assert!(runs(&s.submit(task(101, A), now + 1.0).unwrap()).is_empty());
    s.task_finished(WorkerKey(2), TaskKey(100), done(None, 0.05), now + 1.1)
        .unwrap();
    s.task_finished(WorkerKey(2), TaskKey(101), done(None, 0.05), now + 1.2)
        .unwrap();
    // After the base ejection time it is probed with one task; a success brings it back.
    s.tick(now + 31.0);
    assert_eq!(state(&s, 1), HealthState::Probing);
    s.submit(task(102, A), now + 31.0).unwrap(); // to worker 2 or the probe
    let actions = s.submit(task(103, A), now + 31.0).unwrap();
    let probe = runs(&actions)
        .into_iter()
        .chain([(102, 0, false)])
        .find(|r| r.1 == 1);
    let probe_task = probe.map(|r| r.0).unwrap_or(102);
    s.task_finished(
        WorkerKey(1),
        TaskKey(probe_task),
        done(None, 0.05),
        now + 31.1,
    )
    .unwrap();
    assert_eq!(state(&s, 1), HealthState::Healthy);
}

#[test]
fn a_failed_probe_ejects_again_for_twice_as_long() {
    let mut s = pair();
    let now = sick_first(&mut s, 40);
    s.tick(now + 31.0);
    assert_eq!(state(&s, 1), HealthState::Probing);
    let on = start(&mut s, 200, A, now + 31.0);
    assert!(on == 1 || on == 2);
    if on == 2 {
        let on = start(&mut s, 201, A, now + 31.0);
        assert_eq!(on, 1, "the probe takes the next task");
        s.task_failed(WorkerKey(1), TaskKey(201), Fault::Worker, now + 31.1)
            .unwrap();
    } else {
        s.task_failed(WorkerKey(1), TaskKey(200), Fault::Worker, now + 31.1)
            .unwrap();
    }
    assert_eq!(state(&s, 1), HealthState::Ejected);
    let report = s.worker_health(now + 31.1)[0].clone();
    assert_eq!(report.ejections, 2);
    let left = report.probe_in_s.unwrap();
    assert!((left - 60.0).abs() < 1e-6, "doubled: {left}");
}

#[test]
fn ejection_never_passes_the_cap_nor_leaves_no_worker() {
    // Both workers fail by their own fault: only one may be ejected (50% of 2).
    let mut s = pair();
    for key in 0..40 {
        let now = key as f64 * 0.1;
        let Some(&(_, on, _)) = runs(&s.submit(task(key, A), now).unwrap()).first() else {
            continue;
        };
        let (actions, _) = s
            .task_failed(WorkerKey(on), TaskKey(key), Fault::Worker, now)
            .unwrap();
        if let Some(&(_, again, _)) = runs(&actions).first() {
            s.task_failed(WorkerKey(again), TaskKey(key), Fault::Worker, now)
                .unwrap();
        }
    }
    let ejected = s
        .worker_health(5.0)
        .iter()
        .filter(|r| r.state != HealthState::Healthy)
        .count();
    assert_eq!(ejected, 1);
}

#[test]
fn a_stuck_task_is_taken_off_its_worker_and_run_elsewhere() {
    let mut s = pair();
    // Teach the core that A runs for 0.1 s.
    for key in 0..40 {
        let now = key as f64;
        let on = start(&mut s, key, A, now);
        s.task_finished(WorkerKey(on), TaskKey(key), done(None, 0.1), now + 0.1)
            .unwrap();
    }
    let on = start(&mut s, 100, A, 100.0);
    assert!(
        s.tick(110.0).is_empty(),
        "10 s is long, but under the 30 s floor"
    );
    let actions = s.tick(131.0);
    assert!(actions.contains(&Action::Abandon {
        task: TaskKey(100),
        worker: WorkerKey(on),
    }));
    assert_eq!(runs(&actions), vec![(100, 3 - on, false)], "run elsewhere");
}
