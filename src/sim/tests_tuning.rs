//! Tests of tuning offline: `--config`, `--set`, `--sweep`, `--plot`, replays with
//! measured times, the lower bound on loads, the copies over time and idle time skipped.

use super::*;
use crate::routing::{Policy, RoutingConfig};

fn small() -> SimulateArgs {
    SimulateArgs {
        requests: 300,
        ..SimulateArgs::default()
    }
}

fn temp_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("sr-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn config_file_then_set_overrides_reach_the_core() {
    let dir = temp_dir("sim-config");
    let path = dir.join("server.toml");
    std::fs::write(
        &path,
        "bind = \"127.0.0.1:0\"\n[routing]\npatience_loads = 3.0\nchurn_factor = 5.0\n",
    )
    .unwrap();
    let args = SimulateArgs {
        config: Some(path.clone()),
        set: vec!["churn_factor=1.5".into(), " reload_weight = 0 ".into()],
        ..small()
    };
    let routing = args.scenario().unwrap().routing;
    assert_eq!(routing.patience_loads, 3.0); // from the file
    assert_eq!(routing.churn_factor, 1.5); // --set over the file
    assert_eq!(routing.reload_weight, 0.0);
    assert_eq!(routing.demand_tau_s, RoutingConfig::default().demand_tau_s); // default kept
                                                                             // A setting changes the result: patience for holders changes affinity's misses.
    let misses = |set: Vec<String>| {
        report(&SimulateArgs {
            policy: "affinity".into(),
            set,
            ..small()
        })
        .unwrap()
        .results[0]
            .1
            .label_misses
    };
    assert!(misses(vec!["patience_loads=inf".into()]) < misses(vec!["patience_loads=0".into()]));
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn bad_settings_are_refused_with_their_name() {
    let cases: [(&[&str], &str); 4] = [
        (&["patience=2"], "no such [routing] setting"),
        (&["patience_loads"], "KEY=VALUE"),
        (&["patience_loads=soon"], "patience_loads"),
        (&["churn_factor=-1"], "non-negative"),
    ];
    for (set, needle) in cases {
        let err = run(&SimulateArgs {
            set: set.iter().map(|s| (*s).to_owned()).collect(),
            ..small()
        })
        .unwrap_err()
        .to_string();
        assert!(err.contains(needle), "{set:?}: {err}");
    }
    let err = run(&SimulateArgs {
        config: Some("/nonexistent/server.toml".into()),
        ..small()
    })
    .unwrap_err()
    .to_string();
    assert!(err.contains("cannot read config file"), "{err}");
    let err = run(&SimulateArgs {
        sweep: Some("patience_loads=".into()),
        ..small()
    })
    .unwrap_err()
    .to_string();
    assert!(err.contains("--sweep"), "{err}");
}

#[test]
fn a_sweep_prints_the_frontier_and_plots_it() {
    let dir = temp_dir("sim-sweep");
    let plot = dir.join("frontier.svg");
    let args = SimulateArgs {
        sweep: Some("patience_loads=0,1,inf".into()),
        policy: "affinity,original".into(),
        plot: Some(plot.clone()),
        json: true,
        ..small()
    };
    let json: serde_json::Value = serde_json::from_str(&run(&args).unwrap()).unwrap();
    let points = json["sweep"]["points"].as_array().unwrap();
    let values: Vec<&str> = points
        .iter()
        .map(|p| p["value"].as_str().unwrap())
        .collect();
    assert_eq!(values, ["0", "1", "inf"]);
    let misses: Vec<f64> = points
        .iter()
        .map(|p| p["label_misses"].as_f64().unwrap())
        .collect();
    assert!(
        misses[2] < misses[0],
        "more patience, fewer misses: {misses:?}"
    );
    assert!(
        json["results"]["original"]["label_misses"]
            .as_f64()
            .unwrap()
            > 0.0
    );
    assert!(json["results"].get("affinity").is_none());
    let svg = std::fs::read_to_string(&plot).unwrap();
    assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
    assert_eq!(
        svg.matches("<polyline").count(),
        2,
        "one sweep line per panel"
    );
    assert!(svg.contains("original") && svg.contains("patience_loads"));
    let table = run(&SimulateArgs {
        json: false,
        plot: None,
        ..args
    })
    .unwrap();
    assert!(table.contains("affinity patience_loads=inf"), "{table}");
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn an_output_file_that_cannot_be_written_is_refused_before_simulating() {
    let dir = temp_dir("sim-outputs");
    let cases = [
        (dir.join("missing").join("frontier.svg"), "does not exist"),
        (dir.clone(), "is a folder"),
    ];
    for (plot, problem) in cases {
        let err = run(&SimulateArgs {
            sweep: Some("patience_loads=0,1".into()),
            plot: Some(plot.clone()),
            ..small()
        })
        .unwrap_err();
        assert!(err.is_usage(), "{err}");
        let text = err.to_string();
        assert!(text.contains("--plot") && text.contains(problem), "{text}");
    }
    assert!(!dir.join("missing").exists(), "nothing created");
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn idle_virtual_time_is_skipped_without_ticking_through_it() {
    let dir = temp_dir("sim-gap");
    let path = dir.join("trace.jsonl");
    // Three tasks, then nothing for 29 days (25 million ticks of 0.1 s), then three more.
    let text = [0.0, 1.0, 2.0, 2.5e6, 2.5e6 + 1.0, 2.5e6 + 2.0]
        .iter()
        .map(|at| format!("{{\"at_s\": {at}, \"label\": \"m\", \"task_type\": \"embed\", \"run_s\": 0.5, \"load_s\": 1.0}}\n"))
        .collect::<String>();
    std::fs::write(&path, text).unwrap();
    let args = SimulateArgs {
        trace: vec![path],
        workers: Some(2),
        ..SimulateArgs::default()
    };
    let scenario = args.scenario().unwrap();
    for policy in Policy::ALL {
        let ticks = super::engine::ticks_given(&scenario, policy, 1).unwrap();
        assert!(ticks < 10_000, "{policy}: {ticks} ticks");
        let samples = simulate(&scenario, policy, 1).unwrap();
        assert_eq!(samples.latencies_s.len(), 6, "{policy}");
    }
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn replayed_run_and_load_times_are_the_traces_own() {
    let dir = temp_dir("sim-measured");
    let path = dir.join("trace.jsonl");
    // One worker, one label: one load of 3 s, then three tasks of exactly 2 s back to back.
    let text = (0..3)
        .map(|i| format!("{{\"at_s\": 0.0{i}, \"label\": \"m\", \"task_type\": \"embed\", \"run_s\": 2.0, \"load_s\": 3.0}}\n"))
        .collect::<String>();
    std::fs::write(&path, text).unwrap();
    let report = report(&SimulateArgs {
        trace: vec![path],
        workers: Some(1),
        policy: "affinity".into(),
        ..SimulateArgs::default()
    })
    .unwrap();
    let r = &report.results[0].1;
    assert_eq!((r.completed, r.label_misses), (3.0, 1.0));
    // Task runtimes: 3 + 2, 2, 2.
    assert!((r.mean_task_runtime_s - 3.0).abs() < 1e-9, "{r:?}");
    assert!((r.makespan_s - 9.0).abs() < 0.01, "{r:?}");
    assert_eq!(report.config["loads_lower_bound"], 1);
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn copies_follow_the_busiest_label_minute_by_minute() {
    let dir = temp_dir("sim-copies");
    let trace = dir.join("trace.jsonl");
    // `hot` needs ~4 copies in minute 1 (240 s of work) and one in minutes 0 and 2.
    let mut text = String::new();
    for i in 0..180 {
        let at = f64::from(i);
        let busy = (60..120).contains(&i);
        let run_s = if busy { 4.0 } else { 0.5 };
        text.push_str(&format!("{{\"at_s\": {at}, \"label\": \"hot\", \"task_type\": \"t\", \"run_s\": {run_s}, \"load_s\": 1.0}}\n"));
        if i % 20 == 0 {
            text.push_str(&format!("{{\"at_s\": {at}, \"label\": \"cold-{i}\", \"task_type\": \"t\", \"run_s\": 0.5, \"load_s\": 1.0}}\n"));
        }
    }
    std::fs::write(&trace, text).unwrap();
    let copies = dir.join("copies.csv");
    run(&SimulateArgs {
        trace: vec![trace],
        workers: Some(8),
        max_labels: Some(3),
        policy: "affinity".into(),
        copies: Some(copies.clone()),
        ..SimulateArgs::default()
    })
    .unwrap();
    let csv = std::fs::read_to_string(&copies).unwrap();
    let mut lines = csv.lines();
    assert_eq!(
        lines.next().unwrap(),
        "minute,hot_arrivals,affinity_copies,affinity_target,affinity_other_loads"
    );
    let rows: Vec<Vec<f64>> = lines
        .map(|l| l.split(',').map(|v| v.parse().unwrap()).collect())
        .collect();
    assert_eq!(rows.len(), 3);
    assert!(
        rows[1][2] > rows[0][2] + 1.0,
        "copies rise with demand: {rows:?}"
    );
    // The planner's target rises with the demand too, a time constant (2 minutes) later,
    // and falls back more slowly still.
    assert!(rows[0][3] >= 1.0, "{rows:?}");
    assert!(
        rows[1][3] > rows[0][3] && rows[2][3] > rows[0][3] + 1.0,
        "{rows:?}"
    );
    std::fs::remove_dir_all(dir).ok();
}
