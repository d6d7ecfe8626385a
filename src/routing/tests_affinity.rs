//! Scenario tests of the affinity policy's cost model on a virtual clock: patience
//! that weighs the reload a load would cause, replication of a backlogged label, and
//! preloading by idle workers.

use super::tests::{done, runs, sched, task, worker, A, B, T1};
use super::*;

const T2: &str = "sample_task_2";
const C: &str = "label-c";
const D: &str = "label-d";

fn two_type_worker(key: u32, max_labels: u32, labels: &[&str]) -> WorkerSpec {
    WorkerSpec {
        task_types: vec![T1.to_owned(), T2.to_owned()],
        ..worker(key, 1, max_labels, labels)
    }
}

fn typed(key: u64, label: &str, task_type: &str) -> TaskSpec {
    TaskSpec {
        task_type: task_type.to_owned(),
        ..task(key, label)
    }
}

/// Worker 1 holds A, worker 2 holds B (one label each); B is in steady demand, A's short
/// tasks take 1 s and long ones 5 s. At t=6 a long A task starts on worker 1.
fn busy_holder_with_a_wanted_neighbour() -> Scheduler {
    busy_holder_with(RoutingConfig::default())
}

fn busy_holder_with(config: RoutingConfig) -> Scheduler {
    let mut s = Scheduler::new(Policy::Affinity, config, 3);
    s.worker_joined(two_type_worker(1, 1, &[A]), 0.0).unwrap();
    s.worker_joined(two_type_worker(2, 1, &[B]), 0.0).unwrap();
    s.submit(typed(1, A, T1), 0.0).unwrap();
    s.task_finished(WorkerKey(1), TaskKey(1), done(None, 1.0), 1.0)
        .unwrap();
    s.submit(typed(2, A, T2), 1.0).unwrap();
    s.task_finished(WorkerKey(1), TaskKey(2), done(None, 5.0), 6.0)
        .unwrap();
    for i in 0..4u64 {
        let now = i as f64;
        s.submit(typed(10 + i, B, T1), now).unwrap();
        s.task_finished(WorkerKey(2), TaskKey(10 + i), done(None, 1.0), now + 1.0)
            .unwrap();
    }
    assert_eq!(
        runs(&s.submit(typed(3, A, T2), 6.0).unwrap()),
        vec![(3, 1, false)]
    );
    s
}

#[test]
fn patience_decides_wait_or_load_by_task_length_and_knob() {
    // The holder of A (worker 1) frees at 11; a load takes 2 s (the prior) and would
    // evict B from worker 2, which is in demand (a reload cost of ~2 s). A short task
    // (1 s) may wait `patience_loads` loads plus at most its own run time to spare that
    // reload; a long one (5 s) only `patience_loads` loads.
    let inf = f64::INFINITY;
    let cases = [
        // (patience_loads, submitted at (wait = 11 - t), task type, waits)
        (0.75, 8.6, T1, true),  // 2.4 s < 1.5 + 1: past the load time, spares B
        (0.75, 8.6, T2, false), // 2.4 s > 1.5: the tail never waits for B's sake
        (0.75, 8.0, T1, false), // 3 s > 1.5 + 1: never more than its own run extra
        (0.75, 10.0, T2, true), // 1 s < 1.5
        (0.0, 10.5, T2, false), // no patience: any wait loads
        (3.0, 8.0, T2, true),   // 3 s < 6: the low-miss end of the knob
        (inf, 6.5, T2, true),   // never reload a held label
    ];
    for (patience_loads, at, task_type, waits) in cases {
        let mut s = busy_holder_with(RoutingConfig {
            patience_loads,
            ..RoutingConfig::default()
        });
        let actions = s.submit(typed(4, A, task_type), at).unwrap();
        let case = format!("patience {patience_loads}, t={at}, {task_type}");
        if waits {
            assert!(actions.is_empty(), "{case}: {actions:?}");
            assert_eq!(s.queued(), 1, "{case}");
        } else {
            assert_eq!(runs(&actions), vec![(4, 2, true)], "{case}");
        }
    }
}

#[test]
fn an_infinitely_patient_task_is_not_preloaded_for() {
    // A task waits behind a busy holder while worker 2 idles with room: with finite
    // patience the idle worker eventually preloads the label; with infinite patience the
    // task is content to wait, so nothing loads.
    for (patience_loads, loads_expected) in [(0.0, true), (f64::INFINITY, false)] {
        let mut s = Scheduler::new(
            Policy::Affinity,
            RoutingConfig {
                patience_loads,
                reload_weight: 0.0,
                ..RoutingConfig::default()
            },
            5,
        );
        s.worker_joined(two_type_worker(1, 2, &[A]), 0.0).unwrap();
        s.submit(typed(1, A, T2), 0.0).unwrap();
        s.worker_joined(two_type_worker(2, 2, &[]), 0.0).unwrap();
        let waiting = s.submit(typed(2, A, T2), 0.5).unwrap();
        let mut loads = runs(&waiting).len();
        for tick in 1..8 {
            loads += s
                .tick(f64::from(tick))
                .iter()
                .filter(|a| matches!(a, Action::Load { .. } | Action::Run { load: true, .. }))
                .count();
        }
        assert_eq!(loads > 0, loads_expected, "patience {patience_loads}");
    }
}

#[test]
fn a_long_task_never_waits_past_the_load_time() {
    // Long tasks make the latency tail: the same wait makes it load on worker 2, even
    // when the prior run time is longer than any measured one (a live server whose
    // workers run at time scale 0.1 keeps its 1 s prior).
    for prior_run_s in [1.0, 60.0] {
        let config = RoutingConfig {
            priors: Priors {
                load_s: 2.0,
                run_s: prior_run_s,
            },
            ..RoutingConfig::default()
        };
        let mut s = busy_holder_with(config);
        let actions = s.submit(typed(4, A, T2), 8.0).unwrap();
        assert_eq!(runs(&actions), vec![(4, 2, true)], "prior {prior_run_s}");
    }
    let mut s = busy_holder_with_a_wanted_neighbour();
    let actions = s.submit(typed(4, A, T2), 8.0).unwrap();
    let b = s.label_id(B);
    assert_eq!(
        actions[0],
        Action::Evict {
            worker: WorkerKey(2),
            label: b
        }
    );
    assert_eq!(runs(&actions), vec![(4, 2, true)]);
}

#[test]
fn a_backlogged_label_gets_a_second_copy_and_a_single_task_does_not() {
    for (backlog, replicated) in [(4u64, true), (1, false)] {
        let mut s = sched(backlog);
        let actions = s
            .task_finished(WorkerKey(2), TaskKey(100), done(None, 1.0), 1.0)
            .unwrap();
        let expected = if replicated {
            vec![(2, 2, true)]
        } else {
            vec![]
        };
        assert_eq!(runs(&actions), expected, "backlog {backlog}");
    }

    /// Worker 1 runs A; worker 2 runs B; `backlog` more A tasks wait.
    fn sched(backlog: u64) -> Scheduler {
        let mut s = super::tests::sched(
            Policy::Affinity,
            &[worker(1, 1, 2, &[A]), worker(2, 1, 2, &[B])],
        );
        s.submit(task(1, A), 0.0).unwrap();
        s.submit(task(100, B), 0.0).unwrap();
        for key in 2..2 + backlog {
            assert!(s.submit(task(key, A), 0.1).unwrap().is_empty());
        }
        s
    }
}

#[test]
fn an_idle_worker_preloads_a_label_that_lost_its_last_holder() {
    let mut s = Scheduler::new(Policy::Affinity, RoutingConfig::default(), 5);
    s.worker_joined(worker(1, 1, 1, &[C]), 0.0).unwrap();
    s.worker_joined(worker(2, 1, 2, &[]), 0.0).unwrap();
    // C is in demand on worker 1.
    for i in 0..3u64 {
        let now = i as f64;
        assert_eq!(
            runs(&s.submit(task(i, C), now).unwrap()),
            vec![(i, 1, false)]
        );
        s.task_finished(WorkerKey(1), TaskKey(i), done(None, 1.0), now + 1.0)
            .unwrap();
    }
    // Worker 2 is busy with E; D then takes worker 1's only place, evicting C.
    assert_eq!(
        runs(&s.submit(task(10, "label-e"), 3.0).unwrap()),
        vec![(10, 2, true)]
    );
    assert_eq!(
        runs(&s.submit(task(11, D), 4.0).unwrap()),
        vec![(11, 1, true)]
    );
    let c = s.label_id(C);
    // Worker 2 frees at 6 with room for one more label; after a second idle it
    // preloads C, which it reports loaded 2 s later.
    s.task_finished(WorkerKey(2), TaskKey(10), done(Some(2.0), 1.0), 6.0)
        .unwrap();
    assert!(s.tick(6.5).is_empty());
    assert_eq!(
        s.tick(7.1),
        vec![Action::Load {
            worker: WorkerKey(2),
            label: c
        }]
    );
    // A task for C meanwhile waits for the preload rather than loading elsewhere.
    assert!(s.submit(task(12, C), 7.5).unwrap().is_empty());
    assert_eq!(
        runs(&s.label_loaded(WorkerKey(2), C, 9.1)),
        vec![(12, 2, false)]
    );
}

/// C, in demand on worker 1 (one label), loses its copy to D at 4 s while worker 2 (two
/// labels) runs a task for E: tasks 11 (D, on worker 1) and 10 (E, on worker 2) run.
fn c_evicted_while_in_demand() -> Scheduler {
    let mut s = Scheduler::new(Policy::Affinity, RoutingConfig::default(), 5);
    s.worker_joined(worker(1, 1, 1, &[C]), 0.0).unwrap();
    s.worker_joined(worker(2, 1, 2, &[]), 0.0).unwrap();
    for i in 0..3u64 {
        s.submit(task(i, C), i as f64).unwrap();
        s.task_finished(WorkerKey(1), TaskKey(i), done(None, 1.0), i as f64 + 1.0)
            .unwrap();
    }
    s.submit(task(10, "label-e"), 3.0).unwrap();
    s.submit(task(11, D), 4.0).unwrap();
    s
}

#[test]
fn a_failed_preload_gives_its_slot_back() {
    let mut s = c_evicted_while_in_demand();
    s.task_finished(WorkerKey(2), TaskKey(10), done(Some(2.0), 1.0), 6.0)
        .unwrap();
    assert_eq!(s.tick(7.1).len(), 1);
    s.label_evicted(WorkerKey(2), C, 7.15);
    // The slot is free again: a task for E runs there at once.
    assert_eq!(
        runs(&s.submit(task(12, "label-e"), 7.2).unwrap()),
        vec![(12, 2, false)]
    );
}

#[test]
fn tasks_behind_a_load_under_way_wait_for_it_unless_their_backlog_outlasts_a_load() {
    // A's first task loads it on an empty worker (2 s). Half a second later three more
    // arrive: their wait (the rest of that load, its task, and the tasks ahead of them,
    // at A's run time) is past the base patience (1.5 s) but, for 0.1 s tasks, under a
    // load, and a load elsewhere could not be ready sooner. For 1 s tasks the wait
    // outlasts a load, so they get copies on both free workers.
    for (run_s, loads_at_once) in [(0.1, 0), (1.0, 2)] {
        let config = RoutingConfig {
            priors: Priors { load_s: 2.0, run_s },
            ..RoutingConfig::default()
        };
        let mut s = Scheduler::new(Policy::Affinity, config, 3);
        for key in 1..=3 {
            s.worker_joined(worker(key, 1, 2, &[]), 0.0).unwrap();
        }
        let first = runs(&s.submit(task(1, A), 0.0).unwrap());
        let [(1, holder, true)] = first[..] else {
            panic!("the first task should load A: {first:?}");
        };
        let started: Vec<_> = (2..=4)
            .flat_map(|key| runs(&s.submit(task(key, A), 0.5).unwrap()))
            .collect();
        assert_eq!(started.len(), loads_at_once, "run {run_s} s: {started:?}");
        assert!(started.iter().all(|&(_, w, load)| w != holder && load));
        if loads_at_once == 0 {
            let next = s
                .task_finished(WorkerKey(holder), TaskKey(1), done(Some(2.0), run_s), 2.1)
                .unwrap();
            assert_eq!(runs(&next), vec![(2, holder, false)]);
        }
    }
}

#[test]
fn a_backlog_is_priced_at_its_own_labels_run_time() {
    // A's tasks take 0.1 s and B's 5 s, all of one task type (whose mean run time is
    // then seconds). Eight A tasks queue behind A's busy holder: spread at A's own run
    // time they all start within a second, under the base patience (1.5 s), so none
    // makes a copy on the empty worker; priced at the type's mean, most would.
    let mut s = sched(
        Policy::Affinity,
        &[
            worker(1, 1, 2, &[A]),
            worker(2, 1, 2, &[B]),
            worker(3, 1, 2, &[]),
        ],
    );
    let mut now = 0.0;
    for key in 0..5u64 {
        s.submit(task(key, A), now).unwrap();
        s.task_finished(WorkerKey(1), TaskKey(key), done(None, 0.1), now + 0.1)
            .unwrap();
        now += 0.1;
    }
    for key in 10..15u64 {
        s.submit(task(key, B), now).unwrap();
        now += 5.0;
        s.task_finished(WorkerKey(2), TaskKey(key), done(None, 5.0), now)
            .unwrap();
    }
    assert_eq!(
        runs(&s.submit(task(20, A), now).unwrap()),
        vec![(20, 1, false)]
    );
    let started: Vec<_> = (21..29)
        .flat_map(|key| runs(&s.submit(task(key, A), now).unwrap()))
        .collect();
    assert!(started.is_empty(), "{started:?}");
    let next = s
        .task_finished(WorkerKey(1), TaskKey(20), done(None, 0.1), now + 0.1)
        .unwrap();
    assert_eq!(runs(&next), vec![(21, 1, false)]);
}

#[test]
fn a_holder_owes_another_labels_backlog_only_its_share() {
    // Worker 1 holds A and B, workers 2 and 3 hold B; all three run a 1 s B task and six
    // more B tasks wait. An A task behind them waits for worker 1's B task (1 s) plus its
    // share of the older B backlog: six tasks at B's run time (1 s) over B's three
    // holders, 2 s. Counting the whole backlog against worker 1 would make it 7 s.
    let mut s = sched(
        Policy::Affinity,
        &[
            worker(1, 1, 2, &[A, B]),
            worker(2, 1, 2, &[B]),
            worker(3, 1, 2, &[B]),
        ],
    );
    s.submit(task(1, A), 0.0).unwrap();
    s.task_finished(WorkerKey(1), TaskKey(1), done(None, 0.2), 0.2)
        .unwrap();
    s.submit(task(2, B), 0.2).unwrap();
    s.task_finished(WorkerKey(1), TaskKey(2), done(None, 1.0), 1.2)
        .unwrap();
    let now = 1.2;
    let started: Vec<_> = (10..19u64)
        .flat_map(|key| runs(&s.submit(task(key, B), now).unwrap()))
        .collect();
    assert_eq!(started.len(), 3, "{started:?}");
    assert!(runs(&s.submit(task(20, A), now).unwrap()).is_empty());
    let waiting = s.queue.get(TaskKey(20)).unwrap();
    let wait = s.wait_s(waiting, 0, now);
    assert!((wait - 3.0).abs() < 1e-9, "{wait}");
}

#[test]
fn ticks_are_idle_once_nothing_runs_and_no_preload_can_pass_its_margin() {
    // C was in demand, then lost its only copy to D; nothing runs or waits afterwards.
    let setup = || {
        let mut s = c_evicted_while_in_demand();
        assert!(!s.tick_is_idle(4.5), "tasks run");
        s.task_finished(WorkerKey(1), TaskKey(11), done(Some(2.0), 0.5), 5.0)
            .unwrap();
        s.task_finished(WorkerKey(2), TaskKey(10), done(Some(2.0), 1.0), 6.0)
            .unwrap();
        s
    };
    // Soon after, C may well be asked for again: a tick preloads it.
    let mut s = setup();
    assert!(!s.tick_is_idle(6.0));
    assert!(!s.tick(7.1).is_empty());
    // Much later its demand has decayed: no tick does anything, however late.
    let mut s = setup();
    assert!(s.tick_is_idle(600.0));
    for now in [600.0, 601.0, 7_200.0, 1e7] {
        assert!(s.tick(now).is_empty(), "tick at {now}");
    }
    // A waiting task makes ticks matter again.
    s.submit(task(20, "label-f"), 1e7).unwrap();
    s.submit(task(21, "label-g"), 1e7).unwrap();
    s.submit(task(22, "label-h"), 1e7).unwrap();
    assert!(!s.tick_is_idle(1e7));
}
