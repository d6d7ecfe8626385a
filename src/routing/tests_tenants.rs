//! Tenants on a virtual clock: priority orders the queue, fair share splits a band,
//! and starvation protection still holds across priorities.

use super::tests::{done, runs, sched, task, worker, A, B};
use super::*;

fn of(key: u64, label: &str, tenant: u32, priority: i32, weight: f64) -> TaskSpec {
    TaskSpec {
        share: Share {
            tenant,
            priority,
            weight,
        },
        ..task(key, label)
    }
}

/// One worker, one slot, holding A (and room for B); task 0 runs on it.
fn busy(policy: Policy) -> Scheduler {
    let mut s = sched(policy, &[worker(1, 1, 2, &[A])]);
    assert_eq!(
        runs(&s.submit(task(0, A), 0.0).unwrap()),
        vec![(0, 1, false)]
    );
    s
}

#[test]
fn a_high_priority_task_behind_a_thousand_low_ones_starts_next() {
    for policy in Policy::ALL {
        for label in [A, B] {
            let mut s = busy(policy);
            for key in 1..=1000 {
                assert!(s.submit(of(key, A, 1, 0, 1.0), 0.1).unwrap().is_empty());
            }
            assert!(s
                .submit(of(5000, label, 2, 10, 1.0), 0.2)
                .unwrap()
                .is_empty());
            let next = s
                .task_finished(WorkerKey(1), TaskKey(0), done(None, 1.0), 1.0)
                .unwrap();
            assert_eq!(runs(&next)[0].0, 5000, "{policy}, high task for {label}");
            // Then the low ones, in arrival order.
            let after = s.task_finished(WorkerKey(1), TaskKey(5000), done(None, 1.0), 2.0);
            assert_eq!(runs(&after.unwrap())[0].0, 1, "{policy}");
        }
    }
}

#[test]
fn a_low_priority_task_waiting_past_the_starvation_bound_still_goes_first() {
    let mut s = busy(Policy::Affinity);
    assert!(s.submit(of(1, A, 1, 0, 1.0), 0.0).unwrap().is_empty());
    assert!(s.submit(of(2, A, 2, 10, 1.0), 100.0).unwrap().is_empty());
    // Task 1 has waited 1000 s, far past starvation_factor times its load and run.
    let next = s
        .task_finished(WorkerKey(1), TaskKey(0), done(None, 1.0), 1000.0)
        .unwrap();
    assert_eq!(runs(&next), vec![(1, 1, false)]);
}

#[test]
fn tenants_of_one_priority_share_a_saturated_pool_by_weight() {
    let mut s = busy(Policy::Affinity);
    // Tenant 1 (weight 3) queues 60 tasks before tenant 2 (weight 1) queues 60.
    for key in 1..=60 {
        s.submit(of(key, A, 1, 0, 3.0), 0.1).unwrap();
    }
    for key in 101..=160 {
        s.submit(of(key, A, 2, 0, 1.0), 0.2).unwrap();
    }
    let mut running = TaskKey(0);
    let mut served = Vec::new();
    for i in 0..40 {
        let now = 1.0 + f64::from(i);
        let next = s
            .task_finished(WorkerKey(1), running, done(None, 1.0), now)
            .unwrap();
        let (task, _, _) = runs(&next)[0];
        served.push(task);
        running = TaskKey(task);
    }
    let first = served.iter().filter(|t| **t <= 60).count();
    // Not first come, first served (that would be 40 and 0); about 3:1.
    assert!(
        (28..=32).contains(&first),
        "tenant 1 got {first} of 40: {served:?}"
    );
}

#[test]
fn one_tenant_is_served_as_before_in_arrival_order() {
    let mut s = busy(Policy::Affinity);
    for key in 1..=20 {
        s.submit(task(key, A), 0.1).unwrap();
    }
    let mut running = TaskKey(0);
    for expected in 1..=20 {
        let next = s
            .task_finished(
                WorkerKey(1),
                running,
                done(None, 1.0),
                f64::from(expected as u32),
            )
            .unwrap();
        assert_eq!(runs(&next)[0].0, expected);
        running = TaskKey(expected);
    }
}
