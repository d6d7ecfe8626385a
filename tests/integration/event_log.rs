//! Bounded worker input: close reasons that fit a close frame, and the event log (records
//! cut and rate-limited per worker, rotation by size, reopening after logrotate, switched
//! off, `GET /logs` read from the tail).

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use serde_json::Value;
use smart_routing::protocol::{FromWorker, LogRecord, Registration};

use crate::common::{serve, RawWorker, Server};

fn log(message: String) -> FromWorker {
    FromWorker::Log(LogRecord {
        level: "info".into(),
        message,
        fields: BTreeMap::from([("big".to_owned(), "f".repeat(100_000))]),
        unix_ms: 1,
    })
}

fn lines(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

async fn registered(server: &Server, id: &str) -> RawWorker {
    let mut worker = RawWorker::connect(server, id).await.unwrap();
    worker.register(id, &["sample_task_1"], &[]).await;
    server.wait_workers(1).await;
    worker
}

#[tokio::test]
async fn close_reasons_fit_in_a_close_frame() {
    let server = serve(&[], &[]);
    let mut liar = RawWorker::connect(&server, "header-id").await.unwrap();
    // The refusal quotes the 3,000-byte id; the frame may carry 123 bytes of reason.
    liar.send(&FromWorker::Register(Registration {
        worker_id: "é".repeat(1500),
        max_labels: 1,
        slots: 1,
        task_types: vec!["t".into()],
        labels: vec![],
        catalog: None,
    }))
    .await;
    // tungstenite refuses control frames over 125 bytes, so a reason read is one that fit.
    let reason = liar.next_command().await.unwrap_err();
    assert!(reason.starts_with("bad register"), "{reason}");
    assert!(reason.len() <= 123, "{} bytes", reason.len());
    assert!(reason.len() >= 120, "cut to fit, not dropped: {reason}");
}

#[tokio::test]
async fn worker_log_records_are_cut_and_rate_limited() {
    let server = serve(&[], &[("SMART_ROUTING_LOG_RATE_PER_WORKER", "5")]);
    let mut worker = registered(&server, "chatty").await;
    for i in 0..100 {
        worker
            .send(&log(format!("{i} {}", "m".repeat(1 << 20))))
            .await;
    }
    drop(worker);
    server.wait_workers(0).await;
    let path = server.log_dir.join("events.jsonl");
    // Drops are reported when the rate window admits a record again and when the session
    // stops, so a slow send can give several reports: wait until all 100 are accounted for.
    let count = |records: &[Value]| {
        let written = records
            .iter()
            .filter(|r| r["event"] == "worker_log")
            .count();
        let dropped: u64 = records
            .iter()
            .filter(|r| r["event"] == "worker_log_dropped")
            .map(|r| r["dropped"].as_u64().unwrap())
            .sum();
        (written, dropped)
    };
    let mut records = Vec::new();
    for _ in 0..100 {
        records = lines(&path);
        let (written, dropped) = count(&records);
        if written as u64 + dropped >= 100 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (written, dropped) = count(&records);
    assert!(dropped > 0, "no worker_log_dropped record");
    assert!((5..100).contains(&written), "{written} written");
    assert_eq!(
        written as u64 + dropped,
        100,
        "every record written or counted"
    );
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(
        text.lines().all(|l| l.len() <= 16 * 1024),
        "a record over 16 KiB"
    );
    assert!(
        text.len() < written * 16 * 1024 + 4096,
        "{} bytes",
        text.len()
    );
    let first = records.iter().find(|r| r["event"] == "worker_log").unwrap();
    assert_eq!(first["fields"]["truncated"], "true");

    // GET /logs reads the tail: the newest records, bounded by limit.
    let (status, body) = server.get("/logs?limit=2").await;
    assert_eq!(status, 200);
    let tail = body["records"].as_array().unwrap();
    assert_eq!(tail.len(), 2);
    let now = lines(&path);
    assert_eq!(tail[1], now[now.len() - 1]);
}

#[tokio::test]
async fn the_event_log_rotates_by_size_and_keeps_n_files() {
    let server = serve(
        &[],
        &[
            ("SMART_ROUTING_LOG_MAX_BYTES", "8192"),
            ("SMART_ROUTING_LOG_KEEP", "2"),
            ("SMART_ROUTING_LOG_RATE_PER_WORKER", "1000"),
            ("SMART_ROUTING_LOG_RECORD_MAX_BYTES", "1024"),
        ],
    );
    let mut worker = registered(&server, "w").await;
    for i in 0..200 {
        worker.send(&log(format!("record {i}"))).await;
    }
    let dir = &server.log_dir;
    for _ in 0..100 {
        if lines(&dir.join("events.jsonl"))
            .iter()
            .any(|r| r["message"] == "record 199")
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    for name in ["events.jsonl", "events.jsonl.1", "events.jsonl.2"] {
        let size = std::fs::metadata(dir.join(name)).unwrap().len();
        assert!(size <= 8192, "{name} is {size} bytes");
    }
    assert!(!dir.join("events.jsonl.3").exists());
    let (_, body) = server.get("/logs?limit=1").await;
    assert_eq!(body["records"][0]["message"], "record 199");
}

#[tokio::test]
async fn a_renamed_event_log_is_reopened() {
    let server = serve(&[], &[]);
    let mut worker = registered(&server, "w").await;
    let (current, moved) = (
        server.log_dir.join("events.jsonl"),
        server.log_dir.join("events.jsonl.old"),
    );
    worker.send(&log("before".into())).await;
    for _ in 0..100 {
        if lines(&current).iter().any(|r| r["message"] == "before") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    std::fs::rename(&current, &moved).unwrap();
    let mut reopened = false;
    for i in 0..60 {
        worker.send(&log(format!("after {i}"))).await;
        tokio::time::sleep(Duration::from_millis(100)).await;
        if lines(&current).iter().any(|r| r["event"] == "worker_log") {
            reopened = true;
            break;
        }
    }
    assert!(reopened, "nothing written to a new events.jsonl");
    let old = lines(&moved).len();
    worker.send(&log("later".into())).await;
    for _ in 0..100 {
        if lines(&current).iter().any(|r| r["message"] == "later") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(lines(&current).iter().any(|r| r["message"] == "later"));
    assert_eq!(lines(&moved).len(), old, "the renamed file still grows");
}

#[tokio::test]
async fn the_event_log_can_be_switched_off() {
    let server = serve(&[], &[("SMART_ROUTING_EVENT_LOG", "false")]);
    let mut worker = registered(&server, "w").await;
    worker.send(&log("nowhere".into())).await;
    let (status, body) = server.get("/logs").await;
    assert_eq!(status, 200);
    assert_eq!(body["records"], serde_json::json!([]));
    assert!(!server.log_dir.join("events.jsonl").exists());
}
