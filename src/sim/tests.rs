//! Whole-simulation tests: determinism, conservation of requests, every policy runs.

use super::*;
use crate::routing::Policy;

fn small() -> SimulateArgs {
    SimulateArgs {
        requests: 300,
        ..SimulateArgs::default()
    }
}

#[test]
fn the_same_seed_gives_the_same_report() {
    let a = run(&SimulateArgs {
        json: true,
        ..small()
    })
    .unwrap();
    let b = run(&SimulateArgs {
        json: true,
        ..small()
    })
    .unwrap();
    assert_eq!(a, b);
    let other = run(&SimulateArgs {
        json: true,
        seed: 2,
        ..small()
    })
    .unwrap();
    assert_ne!(a, other);
}

#[test]
fn every_request_completes_for_every_policy() {
    let report = report(&SimulateArgs {
        workers: Some(3),
        labels: 8,
        seeds: 2,
        ..small()
    })
    .unwrap();
    assert_eq!(report.results.len(), Policy::ALL.len());
    for (name, r) in &report.results {
        assert_eq!(r.requests, 300.0, "{name}");
        assert_eq!(r.completed + r.failed, 300.0, "{name}");
        assert_eq!(r.failed, 0.0, "{name}");
        assert!(r.loads.unwrap() >= r.label_misses, "{name}");
        assert!(r.label_misses >= 1.0, "{name}: the first task must load");
        assert!(r.latency_p50_s <= r.latency_p99_s, "{name}");
    }
}

#[test]
fn results_are_reported_in_original_seconds_whatever_the_time_scale() {
    let at = |time_scale: f64| {
        report(&SimulateArgs {
            policy: "affinity".into(),
            time_scale,
            ..small()
        })
        .unwrap()
        .results[0]
            .1
            .clone()
    };
    let (one, tenth) = (at(1.0), at(0.1));
    assert_eq!(one.label_misses, tenth.label_misses);
    assert!((one.latency_mean_s - tenth.latency_mean_s).abs() < 1e-6 * one.latency_mean_s.max(1.0));
}

#[test]
fn the_json_report_has_a_result_per_policy_with_the_documented_keys() {
    let text = run(&SimulateArgs {
        json: true,
        policy: "affinity,random".into(),
        ..small()
    })
    .unwrap();
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    let results = json["results"].as_object().unwrap();
    assert_eq!(results.len(), 2);
    for key in [
        "requests",
        "completed",
        "failed",
        "label_misses",
        "loads",
        "mean_task_runtime_s",
        "latency_mean_s",
        "latency_p50_s",
        "latency_p95_s",
        "latency_p99_s",
        "makespan_s",
    ] {
        assert!(results["affinity"].get(key).is_some(), "{key}");
    }
    assert_eq!(json["config"]["workers"], 2);
}

#[test]
fn a_trace_replays_open_loop_and_unknown_types_fail() {
    let dir = std::env::temp_dir().join(format!("sr-trace-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("trace.jsonl");
    let mut text = String::new();
    for i in 0..40 {
        let task_type = if i == 7 {
            "embed_texts"
        } else {
            "sample_task_1"
        };
        text.push_str(&format!(
            "{{\"at_s\": {}, \"label\": \"m-{}\", \"task_type\": \"{task_type}\"}}\n",
            f64::from(i) * 0.5,
            i % 3
        ));
    }
    std::fs::write(&path, text).unwrap();
    let report = report(&SimulateArgs {
        trace: vec![path.clone()],
        ..SimulateArgs::default()
    })
    .unwrap();
    for (name, r) in &report.results {
        assert_eq!(
            (r.requests, r.completed, r.failed),
            (40.0, 39.0, 1.0),
            "{name}"
        );
    }
    // Accepted by the workers but with no run time to draw: it would run for no time.
    let err = run(&SimulateArgs {
        trace: vec![path.clone()],
        task_types: vec!["sample_task_1".into(), "embed_texts".into()],
        ..SimulateArgs::default()
    })
    .unwrap_err();
    assert!(err.is_usage(), "{err}");
    let message = err.to_string();
    assert!(
        message.contains("'embed_texts'") && message.contains("at 3.5 s"),
        "{message}"
    );
    std::fs::write(&path, "{\"at_s\": 1, \"label\": \"a\"\n").unwrap();
    let err = run(&SimulateArgs {
        trace: vec![path],
        ..SimulateArgs::default()
    })
    .unwrap_err();
    assert!(err.to_string().contains("trace line 1"), "{err}");
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn bad_arguments_are_refused_clearly() {
    let err = run(&SimulateArgs {
        policy: "fastest".into(),
        ..small()
    })
    .unwrap_err();
    assert!(err.to_string().contains("unknown policy"), "{err}");
    let err = run(&SimulateArgs {
        task_types: vec!["embed_texts".into()],
        ..small()
    })
    .unwrap_err();
    assert!(err.to_string().contains("embed_texts"), "{err}");
}
