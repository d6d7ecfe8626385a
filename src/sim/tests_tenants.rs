//! Replaying a trace with tenants: each tenant's latency is reported, and a priority
//! given with `--tenant` moves a tenant ahead of a backlog, as `serve` would.

use super::*;

/// One worker, one label; a batch tenant floods the queue, a live one sends a task a
/// second, all 0.5 s long: 300 s of batch work against 100 s of capacity.
fn trace(dir: &std::path::Path) -> std::path::PathBuf {
    let path = dir.join("trace.jsonl");
    let mut text = String::new();
    for i in 0..600 {
        let at = f64::from(i) * 0.05;
        text.push_str(&format!("{{\"at_s\": {at}, \"label\": \"m\", \"task_type\": \"embed\", \"run_s\": 0.5, \"load_s\": 1.0, \"tenant\": \"batch\"}}\n"));
    }
    for i in 0..60 {
        let at = f64::from(i) * 1.0 + 0.01;
        text.push_str(&format!("{{\"at_s\": {at}, \"label\": \"m\", \"task_type\": \"embed\", \"run_s\": 0.5, \"load_s\": 1.0, \"tenant\": \"live\"}}\n"));
    }
    std::fs::write(&path, text).unwrap();
    path
}

fn run_with(tenants: &[&str]) -> crate::report::PolicyResult {
    let dir = std::env::temp_dir().join(format!(
        "sr-sim-tenants-{}-{}",
        std::process::id(),
        tenants.len()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let report = report(&SimulateArgs {
        trace: vec![trace(&dir)],
        workers: Some(1),
        policy: "affinity".into(),
        tenant: tenants.iter().map(|t| (*t).to_owned()).collect(),
        ..SimulateArgs::default()
    })
    .unwrap();
    std::fs::remove_dir_all(dir).ok();
    report.results[0].1.clone()
}

#[test]
fn a_priority_moves_a_tenant_ahead_of_a_backlog_and_each_tenant_is_reported() {
    let equal = run_with(&[]);
    let live_first = run_with(&["live=10"]);
    for r in [&equal, &live_first] {
        assert_eq!(r.tenants.keys().collect::<Vec<_>>(), ["batch", "live"]);
        assert_eq!(
            (r.tenants["batch"].completed, r.tenants["live"].completed),
            (600.0, 60.0)
        );
    }
    // Without priorities the live tenant waits in the backlog like everyone...
    assert!(equal.tenants["live"].mean_s > 20.0, "{:?}", equal.tenants);
    // ...with one it waits for little more than the task running (and, now and then,
    // a batch task that waited past its starvation bound).
    let live = &live_first.tenants["live"];
    assert!(
        live.mean_s < 1.5 && live.p99_s < 2.5,
        "{:?}",
        live_first.tenants
    );
    assert!(live_first.tenants["batch"].mean_s > equal.tenants["batch"].mean_s);
    let json = crate::report::Report {
        config: Default::default(),
        results: vec![("affinity".into(), live_first)],
    }
    .to_json();
    assert!(json["results"]["affinity"]["tenants"]["live"]["latency_p99_s"].is_number());
}

#[test]
fn bad_tenant_flags_are_refused_with_their_text() {
    let dir = std::env::temp_dir().join(format!("sr-sim-tenants-bad-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for (flag, expected) in [
        ("live", "NAME=PRIORITY"),
        ("live=high", "integer"),
        ("live=1:0", "above 0"),
        ("=1", "a name"),
    ] {
        let error = report(&SimulateArgs {
            trace: vec![trace(&dir)],
            tenant: vec![flag.to_owned()],
            ..SimulateArgs::default()
        })
        .unwrap_err()
        .to_string();
        assert!(
            error.contains(flag) && error.contains(expected),
            "{flag}: {error}"
        );
    }
    std::fs::remove_dir_all(dir).ok();
}
