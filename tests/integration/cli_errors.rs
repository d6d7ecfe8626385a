//! Mistakes on the command line: one clear line on stderr and exit status 2, with or
//! without `RUST_BACKTRACE`.

use crate::common::BIN;

fn run(args: &[&str]) -> (Option<i32>, String) {
    let output = std::process::Command::new(BIN)
        .args(args)
        .env("RUST_BACKTRACE", "full")
        .env("RUST_LOG", "off")
        .output()
        .unwrap();
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
    for (args, expected) in [
        (vec!["serve", "--bind", "nowhere"], "bind"),
        (vec!["serve", "--config", &config], "invalid config file"),
        (vec!["serve", "--policy", "fastest"], "policy"),
        (
            vec![
                "worker",
                "--dispatcher",
                "ws://127.0.0.1:1",
                "--worker-id",
                "w",
                "--simulate",
                "--time-scale=-1",
            ],
            "--time-scale",
        ),
    ] {
        let (code, stderr) = run(&args);
        assert_eq!(code, Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
        assert_eq!(stderr.trim().lines().count(), 1, "{args:?}: {stderr}");
        assert!(!stderr.contains("backtrace"), "{args:?}: {stderr}");
    }
}
