//! The original benchmark's workload: how long the simulated tasks and label loads take,
//! how long a producer thinks between requests, and which label and task type it asks
//! for. Shared by the simulator, the live load generator and the simulated worker.
//!
//! Pure: no clock, no IO; the random generator comes in as an argument. All durations are
//! in unscaled seconds; callers multiply by their time scale.

use rand::Rng;
use rand_distr::StandardNormal;

/// The original's short simulated task: max(0.1, N(1.0, 0.5)) s.
pub const SAMPLE_TASK_1: &str = "sample_task_1";
/// The original's long simulated task: max(0.5, N(5.0, 1.0)) s.
pub const SAMPLE_TASK_2: &str = "sample_task_2";
/// The task types the original benchmark sends, uniformly.
pub const DEFAULT_TASK_TYPES: [&str; 2] = [SAMPLE_TASK_1, SAMPLE_TASK_2];
/// The simulated worker's streaming task (announced only when asked for with
/// `--task-types`): `{"chunks": N, "interval_ms": MS}` sends N chunks, one every MS
/// milliseconds (scaled), each `{"seq", "unix_ms"}` with the time the worker made it.
pub const SAMPLE_STREAM: &str = "sample_stream";

/// Think time never drops below this (seconds), as in the original producer.
pub const MIN_THINK_S: f64 = 0.05;

/// The largest `--time-scale` of anything that really sleeps (the simulated workers, the
/// live benchmark): beyond it a sleep no longer fits a `Duration`, or outlasts any run.
pub const MAX_TIME_SCALE: f64 = 1000.0;

/// The longest mean think time or its deviation a producer accepts (unscaled seconds).
pub const MAX_THINK_S: f64 = 3600.0;

/// Checks `--wait-avg` and `--wait-stddev` (both `bench` and `simulate` take them).
pub fn check_think_times(wait_avg: f64, wait_stddev: f64) -> Result<(), &'static str> {
    let fits = |v: f64| v.abs() <= MAX_THINK_S;
    if fits(wait_avg) && fits(wait_stddev) {
        Ok(())
    } else {
        Err("--wait-avg and --wait-stddev must be numbers of seconds up to 3600")
    }
}

/// max(floor, N(mean, std_dev)); a negative `std_dev` counts as its absolute value.
pub fn clamped_normal<R: Rng + ?Sized>(rng: &mut R, mean: f64, std_dev: f64, floor: f64) -> f64 {
    let z: f64 = rng.sample(StandardNormal);
    (mean + std_dev.abs() * z).max(floor)
}

/// Seconds a simulated task of `task_type` runs once its label is loaded; `None` for a
/// type the simulated worker does not know.
pub fn run_time_s<R: Rng + ?Sized>(task_type: &str, rng: &mut R) -> Option<f64> {
    match task_type {
        SAMPLE_TASK_1 => Some(clamped_normal(rng, 1.0, 0.5, 0.1)),
        SAMPLE_TASK_2 => Some(clamped_normal(rng, 5.0, 1.0, 0.5)),
        _ => None,
    }
}

/// Whether [`run_time_s`] knows `task_type`.
pub fn is_simulated_type(task_type: &str) -> bool {
    DEFAULT_TASK_TYPES.contains(&task_type)
}

/// Seconds a simulated worker takes to load a label: max(0.2, N(2.0, 0.25)).
pub fn load_time_s<R: Rng + ?Sized>(rng: &mut R) -> f64 {
    clamped_normal(rng, 2.0, 0.25, 0.2)
}

/// Seconds a producer waits between a response and its next request:
/// max(0.05, N(wait_avg, wait_stddev)).
pub fn think_time_s<R: Rng + ?Sized>(wait_avg: f64, wait_stddev: f64, rng: &mut R) -> f64 {
    clamped_normal(rng, wait_avg, wait_stddev, MIN_THINK_S)
}

/// The name of label `index` (zero-based): `label-1`, `label-2`, ...
pub fn label_name(index: usize) -> String {
    format!("label-{}", index + 1)
}

/// A label chosen uniformly among `label-1..label-{labels}`; `labels` must be non-zero.
pub fn pick_label<R: Rng + ?Sized>(labels: usize, rng: &mut R) -> String {
    label_name(rng.random_range(0..labels.max(1)))
}

/// A task type chosen uniformly among `types`, which must not be empty.
pub fn pick_task_type<'a, R: Rng + ?Sized>(types: &'a [String], rng: &mut R) -> &'a str {
    &types[rng.random_range(0..types.len())]
}

/// One closed-loop producer's request: a label and a task type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub label: String,
    pub task_type: String,
}

/// What a closed-loop producer sends: `labels` labels and `task_types` drawn uniformly,
/// thinking max(0.05, N(wait_avg, wait_stddev)) s between requests.
#[derive(Debug, Clone, PartialEq)]
pub struct ProducerModel {
    pub labels: usize,
    pub task_types: Vec<String>,
    pub wait_avg: f64,
    pub wait_stddev: f64,
}

impl ProducerModel {
    pub fn next_request<R: Rng + ?Sized>(&self, rng: &mut R) -> Request {
        Request {
            label: pick_label(self.labels, rng),
            task_type: pick_task_type(&self.task_types, rng).to_owned(),
        }
    }

    pub fn think_s<R: Rng + ?Sized>(&self, rng: &mut R) -> f64 {
        think_time_s(self.wait_avg, self.wait_stddev, rng)
    }
}

/// The task types as given on a command line, defaulting to the original's two.
pub fn task_types_or_default(given: &[String]) -> Vec<String> {
    if given.is_empty() {
        DEFAULT_TASK_TYPES.iter().map(|t| (*t).to_owned()).collect()
    } else {
        given.to_vec()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::SmallRng;
    use rand::SeedableRng;

    fn mean(samples: &[f64]) -> f64 {
        samples.iter().sum::<f64>() / samples.len() as f64
    }

    fn draw(n: usize, mut f: impl FnMut(&mut SmallRng) -> f64) -> Vec<f64> {
        let mut rng = SmallRng::seed_from_u64(42);
        (0..n).map(|_| f(&mut rng)).collect()
    }

    #[test]
    fn durations_respect_their_floors_and_centre_on_their_means() {
        type Case = (&'static str, fn(&mut SmallRng) -> f64, f64, f64);
        let cases: [Case; 4] = [
            (
                "task 1",
                |r| run_time_s(SAMPLE_TASK_1, r).unwrap(),
                0.1,
                1.0,
            ),
            (
                "task 2",
                |r| run_time_s(SAMPLE_TASK_2, r).unwrap(),
                0.5,
                5.0,
            ),
            ("load", load_time_s, 0.2, 2.0),
            ("think", |r| think_time_s(0.75, 1.0, r), MIN_THINK_S, 0.75),
        ];
        for (name, sample, floor, centre) in cases {
            let samples = draw(20_000, sample);
            let lowest = samples.iter().copied().fold(f64::INFINITY, f64::min);
            assert!(lowest >= floor, "{name}: {lowest} below {floor}");
            // The floor only lifts the mean; it stays near the distribution's centre.
            let m = mean(&samples);
            assert!(m >= centre - 0.05 && m < centre + 0.5, "{name}: mean {m}");
        }
    }

    #[test]
    fn the_floor_applies_when_the_normal_goes_negative() {
        let samples = draw(5_000, |r| think_time_s(0.0, 1.0, r));
        assert!(samples.iter().all(|s| *s >= MIN_THINK_S));
        assert!(samples.contains(&MIN_THINK_S));
    }

    #[test]
    fn unknown_task_types_have_no_run_time() {
        let mut rng = SmallRng::seed_from_u64(1);
        assert_eq!(run_time_s("embed_texts", &mut rng), None);
        assert!(is_simulated_type(SAMPLE_TASK_2));
    }

    #[test]
    fn labels_and_types_are_uniform_over_their_range() {
        let model = ProducerModel {
            labels: 4,
            task_types: task_types_or_default(&[]),
            wait_avg: 1.0,
            wait_stddev: 0.5,
        };
        let mut rng = SmallRng::seed_from_u64(9);
        let mut labels = [0usize; 4];
        let mut long = 0;
        for _ in 0..8_000 {
            let req = model.next_request(&mut rng);
            let n: usize = req.label.strip_prefix("label-").unwrap().parse().unwrap();
            labels[n - 1] += 1;
            long += usize::from(req.task_type == SAMPLE_TASK_2);
        }
        assert!(
            labels.iter().all(|c| (1_700..2_300).contains(c)),
            "{labels:?}"
        );
        assert!((3_600..4_400).contains(&long), "{long}");
    }

    #[test]
    fn same_seed_same_draws() {
        let a = draw(10, load_time_s);
        let b = draw(10, load_time_s);
        assert_eq!(a, b);
    }
}
