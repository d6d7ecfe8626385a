//! Placement on a virtual clock: targets that follow demand up at once and down slowly,
//! surplus copies evicted first, last copies and operator minimums kept, a failing load
//! backed off, and no change at all when the labels outnumber the slots.

use super::placement::{Planner, Pool};
use super::tests::{done, runs, task, worker, A, B};
use super::*;

const C: &str = "label-c";
const D: &str = "label-d";

fn config(min_copies: &[(&str, u32)]) -> RoutingConfig {
    let mut config = RoutingConfig::default();
    config.placement.min_copies = min_copies
        .iter()
        .map(|(label, n)| ((*label).to_owned(), *n))
        .collect();
    config
}

fn sched_with(config: RoutingConfig, workers: &[WorkerSpec]) -> Scheduler {
    let mut s = Scheduler::new(Policy::Affinity, config, 7);
    for w in workers {
        s.worker_joined(w.clone(), 0.0).unwrap();
    }
    s
}

/// The labels the actions load ahead of demand, by worker.
fn loads(s: &Scheduler, actions: &[Action]) -> Vec<(u32, String)> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Load { worker, label } => Some((worker.0, s.label_name(*label).to_owned())),
            _ => None,
        })
        .collect()
}

fn evicted(s: &Scheduler, actions: &[Action]) -> Vec<String> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Evict { label, .. } => Some(s.label_name(*label).to_owned()),
            _ => None,
        })
        .collect()
}

/// Task `key` of each pair runs at 100 + key s on the worker it is given, 0.1 s long.
fn run_each(s: &mut Scheduler, tasks: &[(u64, &str)]) {
    for (key, label) in tasks {
        let t = 100.0 + *key as f64;
        let actions = s.submit(task(*key, label), t).unwrap();
        let (_, on, _) = runs(&actions)[0];
        s.task_finished(WorkerKey(on), TaskKey(*key), done(None, 0.1), t + 0.1)
            .unwrap();
    }
}

/// Ticks every 0.5 s for 50 s, each load ahead of demand done 0.1 s after it starts;
/// the labels loaded, in order.
fn tick_and_load(s: &mut Scheduler) -> Vec<String> {
    let mut loaded = Vec::new();
    for step in 0..100 {
        let now = f64::from(step) * 0.5;
        let actions = s.tick(now);
        for (on, label) in loads(s, &actions) {
            s.label_loaded(WorkerKey(on), &label, now + 0.1);
            loaded.push(label);
        }
    }
    loaded
}

const POOL: Pool = Pool {
    label_slots: 48,
    slots_per_worker: 1.0,
};

/// `per_s` arrivals a second of `run_s` tasks for `label`, from `from` to `to`.
fn arrivals(p: &mut Planner, label: LabelId, per_s: f64, run_s: f64, from: f64, to: f64) {
    let mut t = from;
    while t < to {
        p.arrived(label, 0, run_s, t);
        t += 1.0 / per_s;
    }
}

#[test]
fn a_target_grows_at_once_with_demand_and_shrinks_one_copy_per_window() {
    let mut p = Planner::new(Placement::default());
    let hot = LabelId(0);
    // 4 tasks a second of 1 s: 4 busy slots, at copy_utilization 0.5 eight copies.
    arrivals(&mut p, hot, 4.0, 1.0, 0.0, 600.0);
    p.plan(POOL, |_| 8, 600.0);
    assert_eq!(p.target(hot), 8);
    // The demand falls to a quarter; the target follows one copy per shrink_after_s.
    arrivals(&mut p, hot, 1.0, 1.0, 600.0, 1200.0);
    p.plan(POOL, |_| 8, 1200.0);
    assert_eq!(
        p.target(hot),
        8,
        "the first plan above the need only starts the clock"
    );
    p.plan(POOL, |_| 8, 1230.0);
    assert_eq!(p.target(hot), 8, "not before shrink_after_s");
    p.plan(POOL, |_| 8, 1260.0);
    assert_eq!(p.target(hot), 7);
    p.plan(POOL, |_| 7, 1290.0);
    assert_eq!(p.target(hot), 7);
    p.plan(POOL, |_| 7, 1320.0);
    assert_eq!(p.target(hot), 6);
    // It rises again: all the way at once.
    arrivals(&mut p, hot, 8.0, 1.0, 1320.0, 1800.0);
    p.plan(POOL, |_| 6, 1800.0);
    assert!(p.target(hot) >= 12, "target {}", p.target(hot));
}

#[test]
fn spare_slots_go_to_second_copies_of_the_labels_most_often_blocked() {
    let mut p = Planner::new(Placement::default());
    let (often, rarely, never) = (LabelId(0), LabelId(1), LabelId(2));
    for label in [often, rarely, never] {
        arrivals(&mut p, label, 0.05, 0.1, 0.0, 100.0);
    }
    for i in 0..20 {
        p.blocked(often, f64::from(i));
    }
    p.blocked(rarely, 50.0);
    p.blocked(rarely, 60.0);
    // Three labels, one copy each, and one spare slot to plan (spare_share 0.5 of 2).
    let pool = Pool {
        label_slots: 5,
        slots_per_worker: 1.0,
    };
    p.plan(pool, |_| 1, 100.0);
    assert_eq!(
        [p.target(often), p.target(rarely), p.target(never)],
        [2, 1, 1]
    );
    // A second copy is not loaded by the planner: short() lists no one.
    assert!(p.short(|_| 1, 100.0).is_empty());
}

#[test]
fn without_room_for_every_active_label_there_is_no_plan() {
    let mut p = Planner::new(Placement::default());
    for i in 0..6 {
        arrivals(&mut p, LabelId(i), 2.0, 1.0, 0.0, 60.0);
    }
    let pool = Pool {
        label_slots: 5,
        slots_per_worker: 1.0,
    };
    p.plan(pool, |_| 1, 60.0);
    assert!((0..6).all(|i| p.target(LabelId(i)) == 0));
}

#[test]
fn a_miss_evicts_an_operator_minimum_last() {
    // A on both workers and used the most; C used once; B, never used, is the copy
    // recency gives up, unless it is an operator's minimum.
    for planned in [true, false] {
        let mins: &[(&str, u32)] = if planned { &[(B, 1)] } else { &[] };
        let mut s = sched_with(
            config(mins),
            &[worker(1, 1, 2, &[A, B]), worker(2, 1, 2, &[A, C])],
        );
        run_each(&mut s, &[(1, A), (2, A), (3, C), (4, A), (5, A)]);
        s.tick(106.0);
        let actions = s.submit(task(9, D), 110.0).unwrap();
        assert_eq!(runs(&actions).len(), 1);
        let gone = evicted(&s, &actions);
        if planned {
            assert_eq!(gone.len(), 1);
            assert_ne!(gone, vec![B.to_owned()], "B is kept");
        } else {
            assert_eq!(
                gone,
                vec![B.to_owned()],
                "without a minimum, the unused copy goes"
            );
        }
    }
}

#[test]
fn following_demand_a_miss_evicts_a_copy_above_its_target_first() {
    // A on both workers with a target of one copy; C is the last copy of a label in use
    // and used more recently than A.
    let mut config = config(&[]);
    config.placement.follow_demand = true;
    let mut s = sched_with(
        config,
        &[worker(1, 1, 2, &[A, B]), worker(2, 1, 2, &[A, C])],
    );
    run_each(&mut s, &[(1, A), (2, B), (3, C), (4, C), (5, B)]);
    s.tick(106.0);
    let a = s
        .placements(106.0)
        .into_iter()
        .find(|p| p.label == A)
        .unwrap();
    assert_eq!((a.target, a.copies), (1, 2));
    let actions = s.submit(task(9, D), 110.0).unwrap();
    assert_eq!(evicted(&s, &actions), vec![A.to_owned()]);
}

#[test]
fn operator_minimums_are_loaded_on_idle_workers_and_kept() {
    let workers = [
        worker(1, 1, 2, &[]),
        worker(2, 1, 2, &[]),
        worker(3, 1, 2, &[]),
    ];
    let mut s = sched_with(config(&[(A, 2)]), &workers);
    let loaded = tick_and_load(&mut s);
    assert_eq!(loaded, vec![A.to_owned(), A.to_owned()]);
    // Other labels come and go; A stays at two copies.
    for key in 1..=30u64 {
        let now = 60.0 + key as f64;
        let label = [B, C, D][key as usize % 3];
        let actions = s.submit(task(key, label), now).unwrap();
        assert!(!evicted(&s, &actions).contains(&A.to_owned()));
        for (_, on, _) in runs(&actions) {
            s.task_finished(WorkerKey(on), TaskKey(key), done(Some(1.0), 0.2), now + 0.5)
                .unwrap();
        }
        s.tick(now + 0.6);
    }
    let a = s.placements(90.0).into_iter().find(|p| p.label == A);
    assert_eq!(a.map(|p| (p.target, p.copies)), Some((2, 2)));
}

#[test]
fn a_label_never_seen_loads_when_every_slot_is_reserved_over_a_copy_kept_elsewhere() {
    let workers = [
        worker(1, 1, 1, &[]),
        worker(2, 1, 1, &[]),
        worker(3, 1, 1, &[]),
    ];
    let mut s = sched_with(config(&[(A, 2), (C, 1)]), &workers);
    tick_and_load(&mut s);
    let actions = s.submit(task(1, B), 60.0).unwrap();
    assert_eq!(runs(&actions).len(), 1, "B runs, with a load");
    assert!(runs(&actions)[0].2);
    assert_eq!(
        evicted(&s, &actions),
        vec![A.to_owned()],
        "not C's only copy"
    );
}

#[test]
fn a_planned_load_that_fails_is_not_retried_on_that_worker_every_tick() {
    let mut s = sched_with(config(&[(A, 1)]), &[worker(1, 1, 2, &[])]);
    let mut tries = 0;
    for step in 0..600 {
        let now = f64::from(step) * 0.1;
        let actions = s.tick(now);
        for (on, label) in loads(&s, &actions) {
            tries += 1;
            // The worker cannot load it.
            s.label_evicted(WorkerKey(on), &label, now + 0.05);
        }
    }
    // Backed off 5, 10, 20 s...: a few tries in a minute, not one per tick.
    assert!((2..=4).contains(&tries), "{tries} tries");
    // Another worker takes it at once.
    s.worker_joined(worker(2, 1, 2, &[]), 60.0).unwrap();
    let actions = s.tick(61.0);
    assert_eq!(loads(&s, &actions), vec![(2, A.to_owned())]);
}

/// Every action of 200 tasks over `labels` (one every 0.7 s, 0.9 s each) on two
/// one-slot workers of K=2; `planned: false` turns the planner off.
fn replay(labels: &[&str], follow_demand: bool, planned: bool) -> Vec<Action> {
    let mut config = RoutingConfig::default();
    config.placement.follow_demand = follow_demand;
    if !planned {
        config.placement.interval_s = f64::INFINITY;
    }
    let mut s = sched_with(config, &[worker(1, 1, 2, &[]), worker(2, 1, 2, &[])]);
    let mut all = Vec::new();
    let mut running: Vec<(u32, u64, bool)> = Vec::new();
    for key in 0..200u64 {
        let now = key as f64 * 0.7;
        for (on, t, load) in std::mem::take(&mut running) {
            let outcome = done(load.then_some(1.0), 0.9);
            all.extend(
                s.task_finished(WorkerKey(on), TaskKey(t), outcome, now)
                    .unwrap(),
            );
        }
        let label = labels[(key * 7 % 11) as usize % labels.len()];
        let actions = s.submit(task(key, label), now).unwrap();
        running.extend(runs(&actions).into_iter().map(|(t, w, l)| (w, t, l)));
        let ticked = s.tick(now + 0.1);
        running.extend(runs(&ticked).into_iter().map(|(t, w, l)| (w, t, l)));
        all.extend(actions);
        all.extend(ticked);
    }
    all
}

#[test]
fn with_more_active_labels_than_slots_routing_is_what_it_was_without_a_plan() {
    let labels = ["l1", "l2", "l3", "l4", "l5"];
    let planned = replay(&labels, true, true);
    assert!(planned.len() > 200);
    assert_eq!(planned, replay(&labels, true, false));
}

#[test]
fn without_following_demand_or_minimums_routing_is_what_it_was_without_a_plan() {
    // Room for every label: the planner makes targets, and routing ignores them.
    let labels = ["l1", "l2", "l3"];
    assert_eq!(replay(&labels, false, true), replay(&labels, false, false));
    // Following them changes what happens: `l1`, with three quarters of the work,
    // wants a second copy and the planner loads it.
    let skewed = ["l1", "l1", "l1", "l2"];
    assert_ne!(replay(&skewed, true, true), replay(&skewed, false, false));
}
