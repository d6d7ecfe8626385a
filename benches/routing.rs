//! The cost of one routing decision as the pool grows: 10, 100 and 1,000 workers (two
//! labels each, one slot) over 10,000 known labels. Each measured iteration is a pair of
//! entry points that leaves the scheduler as it found it:
//!
//! - `submit_placed+finish`: a task arrives for a label an idle worker holds and is
//!   placed there; the worker reports it done and, with nothing waiting, stays idle.
//! - `finish_picks_next+submit_queued`: a busy worker reports its task done and takes the
//!   next task waiting for its label; a new task for that label then queues behind it.
//!
//! Both pairs are two decisions each; the target is flat in the pool size and well under
//! a microsecond per decision.
//!
//! - `tick_plans`: one periodic tick that makes a placement plan, at 1,000 workers
//!   holding 16 labels each and 10,000 active labels (every worker busy, so the tick
//!   plans and loads nothing). The target is under a millisecond.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use smart_routing::routing::{
    Action, Outcome, Policy, RoutingConfig, Scheduler, TaskKey, TaskSpec, WorkerKey, WorkerSpec,
};

const LABELS: usize = 10_000;
const POOLS: [u32; 3] = [10, 100, 1_000];
const TASK_TYPE: &str = "sample_task_1";

fn label(i: usize) -> String {
    format!("label-{}", i % LABELS + 1)
}

fn task(key: u64, label: String) -> TaskSpec {
    TaskSpec {
        key: TaskKey(key),
        label,
        task_type: TASK_TYPE.to_owned(),
        deadline: None,
        share: Default::default(),
    }
}

/// A pool of `workers` idle workers; worker `w` holds labels 2w and 2w+1. All 10,000
/// labels are known, and run times have been measured.
fn pool(workers: u32) -> (Scheduler, f64) {
    let mut s = Scheduler::new(Policy::Affinity, RoutingConfig::default(), 1);
    for w in 0..workers {
        let i = 2 * w as usize;
        let spec = WorkerSpec {
            key: WorkerKey(w),
            slots: 1,
            max_labels: 2,
            task_types: vec![TASK_TYPE.to_owned()],
            labels: vec![label(i), label(i + 1)],
        };
        s.worker_joined(spec, 0.0).expect("a valid worker");
    }
    for i in 0..LABELS {
        s.label_id(&label(i));
    }
    // Measure run times on a few held labels.
    let mut now = 0.0;
    for w in 0..workers.min(8) {
        now += 0.01;
        let key = TaskKey(1_000_000 + u64::from(w));
        let actions = s
            .submit(task(key.0, label(2 * w as usize)), now)
            .expect("capable");
        let (t, worker) = run_of(&actions).expect("placed on its holder");
        let outcome = Outcome {
            load_s: None,
            run_s: 1.0,
        };
        s.task_finished(worker, t, outcome, now).expect("assigned");
    }
    (s, now + 100.0)
}

fn run_of(actions: &[Action]) -> Option<(TaskKey, WorkerKey)> {
    actions.iter().find_map(|a| match a {
        Action::Run { task, worker, .. } => Some((*task, *worker)),
        _ => None,
    })
}

fn submit_placed_then_finish(c: &mut Criterion) {
    let mut group = c.benchmark_group("submit_placed+finish");
    for workers in POOLS {
        let (mut s, mut now) = pool(workers);
        let mut key = 0u64;
        group.bench_with_input(BenchmarkId::from_parameter(workers), &workers, |b, &w| {
            b.iter(|| {
                key += 1;
                now += 1e-4;
                // A label held by an idle worker, spread over the whole pool.
                let held = 2 * (key as usize * 7919 % w as usize);
                let actions = s.submit(task(key, label(held)), now).expect("placed");
                let (t, worker) = run_of(&actions).expect("placed on its holder");
                let outcome = Outcome {
                    load_s: None,
                    run_s: 1.0,
                };
                black_box(s.task_finished(worker, t, outcome, now).expect("assigned"));
            });
        });
    }
    group.finish();
}

fn finish_picks_next_then_submit_queued(c: &mut Criterion) {
    let mut group = c.benchmark_group("finish_picks_next+submit_queued");
    for workers in POOLS {
        let (mut s, mut now) = pool(workers);
        // Worker 0 is busy with label 0 and one more task for it waits.
        let mut key = 0u64;
        let actions = s.submit(task(key, label(0)), now).expect("placed");
        let (mut running, worker) = run_of(&actions).expect("placed on worker 0");
        key += 1;
        assert!(s
            .submit(task(key, label(0)), now)
            .expect("queued")
            .is_empty());
        group.bench_with_input(BenchmarkId::from_parameter(workers), &workers, |b, _| {
            b.iter(|| {
                now += 1e-4;
                let outcome = Outcome {
                    load_s: None,
                    run_s: 1.0,
                };
                let actions = s
                    .task_finished(worker, running, outcome, now)
                    .expect("assigned");
                running = run_of(&actions).expect("the waiting task").0;
                key += 1;
                black_box(s.submit(task(key, label(0)), now).expect("queued"));
            });
        });
    }
    group.finish();
}

/// 1,000 one-slot workers with room for 16 labels each, worker `w` holding labels
/// 10w..10w+9; each of the 10,000 labels had a task, and every worker is running one.
fn planned_pool() -> (Scheduler, f64) {
    const WORKERS: u32 = 1_000;
    let mut config = RoutingConfig::default();
    // A plan on every tick the bench makes.
    config.placement.interval_s = 1e-4;
    let mut s = Scheduler::new(Policy::Affinity, config, 1);
    for w in 0..WORKERS {
        let first = 10 * w as usize;
        let spec = WorkerSpec {
            key: WorkerKey(w),
            slots: 1,
            max_labels: 16,
            task_types: vec![TASK_TYPE.to_owned()],
            labels: (first..first + 10).map(label).collect(),
        };
        s.worker_joined(spec, 0.0).expect("a valid worker");
    }
    let mut now = 0.0;
    for i in 0..LABELS {
        now += 1e-3;
        let actions = s.submit(task(i as u64, label(i)), now).expect("capable");
        let (t, worker) = run_of(&actions).expect("placed on its holder");
        let outcome = Outcome {
            load_s: None,
            run_s: 0.5 + (i % 7) as f64,
        };
        s.task_finished(worker, t, outcome, now).expect("assigned");
    }
    for w in 0..WORKERS {
        let key = (LABELS + w as usize) as u64;
        let actions = s
            .submit(task(key, label(10 * w as usize)), now)
            .expect("capable");
        run_of(&actions).expect("placed on its holder");
    }
    (s, now)
}

fn tick_plans(c: &mut Criterion) {
    let (mut s, mut now) = planned_pool();
    let mut group = c.benchmark_group("tick_plans");
    group.bench_function("1000_workers_10000_labels", |b| {
        b.iter(|| {
            now += 1e-4;
            black_box(s.tick(now));
        });
    });
    group.finish();
}

criterion_group!(
    benches,
    submit_placed_then_finish,
    finish_picks_next_then_submit_queued,
    tick_plans
);
criterion_main!(benches);
