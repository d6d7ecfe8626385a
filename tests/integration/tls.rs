//! TLS against the real binary: `serve --tls-cert --tls-key` answers HTTPS to a client
//! that trusts the test CA and fails the handshake of one that does not; a worker joins
//! over `wss://` with `--ca-cert` and runs a task, one without it cannot join; `bench`
//! loads the server over HTTPS; a missing, invalid or mismatched certificate or key is
//! one clear line and exit 2. Certificates are made fresh for each test (rcgen).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose};
use serde_json::{json, Value};

use crate::cli_errors::run;
use crate::common::{serve, task, Proc, Server, BIN};

/// A test CA and a server certificate it signed for `localhost` and `127.0.0.1`.
struct Certs {
    ca: PathBuf,
    cert: PathBuf,
    key: PathBuf,
    /// A key that is not the certificate's.
    other_key: PathBuf,
    ca_pem: String,
}

impl Certs {
    fn new() -> Self {
        use std::sync::atomic::{AtomicU32, Ordering};
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("sr-tls-{}-{n}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "smart-routing test CA");
        ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let ca_key = KeyPair::generate().unwrap();
        let ca_cert = ca_params.self_signed(&ca_key).unwrap();
        let issuer = Issuer::new(ca_params, ca_key);
        let names = vec!["localhost".to_owned(), "127.0.0.1".to_owned()];
        let mut params = CertificateParams::new(names).unwrap();
        params
            .distinguished_name
            .push(DnType::CommonName, "localhost");
        let key = KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &issuer).unwrap();
        let write = |name: &str, text: &str| {
            let path = dir.join(name);
            std::fs::write(&path, text).unwrap();
            path
        };
        Certs {
            ca: write("ca.pem", &ca_cert.pem()),
            cert: write("server.pem", &cert.pem()),
            key: write("server-key.pem", &key.serialize_pem()),
            other_key: write(
                "other-key.pem",
                &KeyPair::generate().unwrap().serialize_pem(),
            ),
            ca_pem: ca_cert.pem(),
        }
    }

    /// `serve` with this certificate, its HTTP client trusting only the test CA.
    fn serve(&self, args: &[&str]) -> Server {
        let tls = ["--tls-cert", path(&self.cert), "--tls-key", path(&self.key)];
        let mut server = serve(&[&tls[..], args].concat(), &[]);
        let ca = reqwest::Certificate::from_pem(self.ca_pem.as_bytes()).unwrap();
        server.http = reqwest::Client::builder()
            .tls_built_in_root_certs(false)
            .add_root_certificate(ca)
            .build()
            .unwrap();
        server
    }
}

fn path(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// The error and its causes, lowercased: reqwest puts the TLS reason in a cause.
fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text.to_lowercase()
}

#[tokio::test]
async fn https_answers_a_client_that_trusts_the_ca_and_no_other() {
    let certs = Certs::new();
    let server = certs.serve(&[]);
    assert!(
        server.url.starts_with("https://127.0.0.1:"),
        "{}",
        server.url
    );
    assert_eq!(server.get("/health").await, (200, json!({"message": "OK"})));

    // The webpki roots alone do not trust the test CA: the handshake fails.
    let stranger = reqwest::Client::new();
    let error = stranger
        .get(format!("{}/health", server.url))
        .send()
        .await
        .unwrap_err();
    let reason = chain(&error);
    assert!(reason.contains("certificate"), "{reason}");
    // Plain HTTP on the TLS port gets no HTTP answer.
    let plain = reqwest::Client::new()
        .get(format!("http://127.0.0.1:{}/health", server.port))
        .send()
        .await;
    assert!(plain.is_err(), "{plain:?}");
}

#[tokio::test]
async fn a_worker_joins_over_wss_with_the_ca_and_bench_loads_over_https() {
    let certs = Certs::new();
    let server = certs.serve(&[]);
    let wss = format!("wss://localhost:{}/worker-listen", server.port);
    let worker = |id: &str| {
        let mut command = Command::new(BIN);
        command
            .args(["worker", "--dispatcher", &wss, "--worker-id", id])
            .args(["--simulate", "--time-scale", "0", "--slots", "4"])
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null());
        command
    };
    let _trusted = Proc(
        worker("w-tls")
            .args(["--ca-cert", path(&certs.ca)])
            .spawn()
            .unwrap(),
    );
    server.wait_workers(1).await;
    let (status, view) = server
        .post("/run-task", &task("t-1", "sample_task_1", "label-1"))
        .await;
    assert_eq!(status, 200, "{view}");
    assert_eq!(view["status"], "completed", "{view}");
    assert_eq!(view["worker"], "w-tls", "{view}");

    // Without the CA the worker's handshake fails, and it gives up naming the certificate.
    let (code, stderr) = run(&[
        "worker",
        "--dispatcher",
        &wss,
        "--worker-id",
        "w-stranger",
        "--simulate",
        "--max-retries",
        "0",
    ]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.to_lowercase().contains("certificate"), "{stderr}");
    assert_eq!(server.workers().await, ["w-tls"]);

    let output = Command::new(BIN)
        .args(["bench", "--url", &server.url, "--ca-cert", path(&certs.ca)])
        .args(["--json", "--rate", "50", "--duration", "1", "--labels", "1"])
        .args(["--request-timeout", "60"])
        .env("RUST_LOG", "off")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stdout}{stderr}");
    let report: Value = serde_json::from_str(&stdout).unwrap();
    let sent = report["sent"].as_u64().unwrap();
    assert!(sent > 0, "{report}");
    assert_eq!(report["completed"].as_u64(), Some(sent), "{report}");
}

#[test]
fn bad_certificates_and_keys_are_one_clear_line_and_exit_2() {
    let certs = Certs::new();
    let garbage = certs.ca.with_file_name("garbage.pem");
    std::fs::write(&garbage, "not PEM at all\n").unwrap();
    let (cert, key, other_key) = (path(&certs.cert), path(&certs.key), path(&certs.other_key));
    let missing = "/nonexistent/server.pem";
    let serve = |tls: &[&str]| {
        let dir = std::env::temp_dir().join(format!("sr-tls-bad-{}", std::process::id()));
        let mut args: Vec<String> = ["serve", "--bind", "127.0.0.1:0"].map(String::from).into();
        for (flag, sub) in [("--data-dir", "data"), ("--log-dir", "logs")] {
            args.push(flag.to_owned());
            args.push(dir.join(sub).display().to_string());
        }
        args.extend(tls.iter().map(|s| s.to_string()));
        args
    };
    let garbage = path(&garbage);
    for (tls, expected) in [
        (vec!["--tls-cert", missing, "--tls-key", key], missing),
        (vec!["--tls-cert", cert, "--tls-key", missing], missing),
        (vec!["--tls-cert", garbage, "--tls-key", key], garbage),
        (vec!["--tls-cert", cert, "--tls-key", garbage], garbage),
        (vec!["--tls-cert", cert, "--tls-key", other_key], other_key),
        (vec!["--tls-cert", cert], "tls_key"),
        (vec!["--tls-key", key], "tls_cert"),
    ] {
        let args = serve(&tls);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let (code, stderr) = run(&args);
        assert_eq!(code, Some(2), "{tls:?}: {stderr}");
        assert!(stderr.contains(expected), "{tls:?}: {stderr}");
        assert_eq!(stderr.trim().lines().count(), 1, "{tls:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{tls:?}: {stderr}");
    }
    // The worker's --ca-cert likewise.
    let worker = [
        "worker",
        "--dispatcher",
        "wss://127.0.0.1:1/worker-listen",
        "--worker-id",
        "w",
        "--simulate",
        "--ca-cert",
        garbage,
    ];
    let (code, stderr) = run(&worker);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains(garbage), "{stderr}");
}
