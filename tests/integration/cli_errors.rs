//! Mistakes on the command line: one clear line on stderr and exit status 2, with or
//! without `RUST_BACKTRACE`.

use crate::common::BIN;

/// Runs the binary; a run that outlasts 30 s is killed and fails the test (some mistakes
/// used to hang it).
pub fn run(args: &[&str]) -> (Option<i32>, String) {
    let mut child = std::process::Command::new(BIN)
        .args(args)
        .env("RUST_BACKTRACE", "full")
        .env("RUST_LOG", "off")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while child.try_wait().unwrap().is_none() {
        if std::time::Instant::now() > deadline {
            child.kill().unwrap();
            panic!("{args:?} still running after 30 s");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let output = child.wait_with_output().unwrap();
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn user_errors_print_one_line_and_exit_2() {
    let config = std::env::temp_dir().join(format!("sr-bad-config-{}.toml", std::process::id()));
    std::fs::write(&config, "max_queue = \"lots\"\n").unwrap();
    let config = config.display().to_string();
    let garbage = std::env::temp_dir().join(format!("sr-garbage-{}.toml", std::process::id()));
    std::fs::write(&garbage, "garbage\n").unwrap();
    let garbage = garbage.display().to_string();
    let trace = std::env::temp_dir().join(format!("sr-bad-trace-{}.jsonl", std::process::id()));
    std::fs::write(&trace, "{\"at_s\": \"soon\", \"label\": \"a\"}\n").unwrap();
    let trace = trace.display().to_string();
    let sim = |extra: &[&'static str]| [&["simulate", "--requests", "10"], extra].concat();
    let worker = |flag: &'static str| {
        let base = [
            "worker",
            "--dispatcher",
            "ws://127.0.0.1:1",
            "--worker-id",
            "w",
        ];
        [&base[..], &["--simulate", flag]].concat()
    };
    for (args, expected) in [
        (vec!["simulate", "--config", &config], "invalid config file"),
        (
            vec!["simulate", "--config", &garbage],
            "invalid config file",
        ),
        (
            vec!["simulate", "--config", "/nonexistent/sr.toml"],
            "cannot read config file",
        ),
        (
            vec!["simulate", "--trace", "/nonexistent/t.jsonl"],
            "cannot read trace",
        ),
        (vec!["simulate", "--trace", &trace], "trace line 1"),
        (sim(&["--set", "patience_loads=soon"]), "patience_loads"),
        (sim(&["--sweep", "no_such_knob=1,2"]), "no_such_knob"),
        (sim(&["--workers", "0"]), "--workers"),
        // Values that would keep virtual time stepping for hours.
        (sim(&["--tick", "1e-300"]), "--tick"),
        (sim(&["--wait-avg", "1e300"]), "--wait-avg"),
        // Values that would not fit a real sleep or timeout (a panic before).
        (
            vec![
                "bench",
                "--url",
                "http://127.0.0.1:1",
                "--request-timeout",
                "1e300",
            ],
            "--request-timeout",
        ),
        (
            vec![
                "bench",
                "--url",
                "http://127.0.0.1:1",
                "--time-scale",
                "1e300",
            ],
            "--time-scale",
        ),
        (
            vec![
                "bench",
                "--url",
                "http://127.0.0.1:1",
                "--wait-avg",
                "1e300",
            ],
            "--wait-avg",
        ),
        (vec!["bench", "--url", "ftp://127.0.0.1:1"], "--url"),
        (
            vec!["bench", "--url", "http://127.0.0.1:1", "--rate", "0"],
            "--rate",
        ),
        (
            vec![
                "bench",
                "--url",
                "http://127.0.0.1:1",
                "--rate",
                "1e9",
                "--duration",
                "60",
            ],
            "--rate",
        ),
        (vec!["serve", "--bind", "nowhere"], "bind"),
        (vec!["serve", "--config", &config], "invalid config file"),
        (vec!["serve", "--policy", "fastest"], "policy"),
        (worker("--time-scale=-1"), "--time-scale"),
        (worker("--time-scale=1e300"), "--time-scale"),
    ] {
        let (code, stderr) = run(&args);
        assert_eq!(code, Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
        assert_eq!(stderr.trim().lines().count(), 1, "{args:?}: {stderr}");
        assert!(!stderr.contains("backtrace"), "{args:?}: {stderr}");
        // The cause is said once, not repeated by the error chain.
        assert!(
            stderr.matches("os error").count() <= 1,
            "{args:?}: {stderr}"
        );
    }
}

#[test]
fn an_unreachable_dispatcher_is_one_line_with_each_cause_once() {
    let port = crate::common::free_port();
    let url = format!("http://127.0.0.1:{port}");
    let (code, stderr) = run(&["bench", "--url", &url, "--requests", "1"]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("cannot reach the dispatcher"), "{stderr}");
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert_eq!(
        stderr.matches("error sending request").count(),
        1,
        "{stderr}"
    );
}
