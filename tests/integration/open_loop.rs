//! `smart-routing bench --rate` against the real binary: an open-loop run of two seconds
//! sends about rate × duration requests, answers every one, and reports latency
//! quantiles in order, the server's added latency never above the total; the store wrote
//! each task twice.

use serde_json::Value;

use crate::common::{serve, BIN};

#[tokio::test]
async fn an_open_loop_run_reports_sane_quantiles() {
    let server = serve(&[], &[]);
    let _w = server.sim_worker("w-1", 4, 0.0);
    server.wait_workers(1).await;
    let output = std::process::Command::new(BIN)
        .args(["bench", "--url", &server.url, "--json"])
        .args(["--rate", "200", "--duration", "2", "--seed", "3"])
        .env("RUST_LOG", "off")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report: Value = serde_json::from_str(&stdout).unwrap();
    let count = |field: &str| {
        report[field]
            .as_u64()
            .unwrap_or_else(|| panic!("{field}: {report}"))
    };
    // 400 expected; a Poisson count's standard deviation is 20.
    assert!((280..=520).contains(&count("sent")), "{report}");
    assert_eq!(count("completed"), count("sent"), "{report}");
    assert_eq!(count("failed"), 0, "{report}");
    assert!(
        report["completed_per_s"].as_f64().unwrap() > 0.0,
        "{report}"
    );
    let quantiles = |name: &str| -> Vec<f64> {
        ["p50_ms", "p99_ms", "p999_ms", "max_ms"]
            .iter()
            .map(|q| {
                report[name][q]
                    .as_f64()
                    .unwrap_or_else(|| panic!("{name}.{q}: {report}"))
            })
            .collect()
    };
    let (latency, added) = (quantiles("latency"), quantiles("added"));
    for q in [&latency, &added] {
        assert!(
            q[0] >= 0.0 && q.windows(2).all(|w| w[0] <= w[1]),
            "{report}"
        );
    }
    assert!(latency[0] > 0.0, "{report}");
    for (added, total) in added.iter().zip(&latency) {
        assert!(added <= total, "{report}");
    }
    // Two store writes per task (accepted, final), none per attempt.
    let writes = (2 * count("sent")) as f64;
    let mut sum = None;
    for _ in 0..100 {
        sum = server
            .metric("smart_routing_store_commit_batch_size_sum")
            .await
            .and_then(|v| v.parse::<f64>().ok());
        if sum == Some(writes) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(
        sum,
        Some(writes),
        "store writes for {} tasks",
        count("sent")
    );
}
