//! Tokens from files, per-worker tokens and tenants: read, checked, and never shown.

use std::path::PathBuf;

use super::*;

fn dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("sr-trust-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn load(dir: &std::path::Path, toml: &str) -> Result<Config, ConfigError> {
    let path = dir.join("config.toml");
    std::fs::write(&path, toml).unwrap();
    Config::load(Some(&path), Vec::new())
}

#[test]
fn tokens_come_from_files_and_a_secret_directory() {
    let dir = dir("files");
    std::fs::write(dir.join("client"), "client-secret\n").unwrap();
    let tokens = dir.join("workers");
    std::fs::create_dir_all(tokens.join("..2026_12_02")).unwrap();
    std::fs::write(tokens.join("gpu-1"), "gpu-1-secret").unwrap();
    std::fs::write(tokens.join(".hidden"), "ignored").unwrap();
    std::fs::write(dir.join("batch"), " batch-secret ").unwrap();
    let toml = format!(
        "client_token_file = {:?}\nworker_tokens_dir = {:?}\n\
         [worker_tokens]\ngpu-2 = \"gpu-2-secret\"\n\
         [tenants.batch]\ntoken_file = {:?}\nmax_in_flight = 3\nweight = 2.5\n\
         [tenants.live]\ntoken = \"live-secret\"\npriority = 10\n",
        dir.join("client"),
        tokens,
        dir.join("batch"),
    );
    let config = load(&dir, &toml).unwrap();
    assert!(config.api.client_token.matches("client-secret"));
    let workers = &config.workers.worker_tokens;
    assert_eq!(workers.keys().collect::<Vec<_>>(), ["gpu-1", "gpu-2"]);
    assert!(workers["gpu-1"].matches("gpu-1-secret"));
    let batch = &config.api.tenants["batch"];
    assert!(batch.token.matches("batch-secret"));
    assert_eq!(
        (batch.max_in_flight, batch.priority, batch.weight),
        (Some(3), 0, 2.5)
    );
    assert_eq!(config.api.tenants["live"].priority, 10);
    // A printed config shows no token.
    let printed = format!("{config:?}");
    for secret in [
        "client-secret",
        "gpu-1-secret",
        "gpu-2-secret",
        "batch-secret",
        "live-secret",
    ] {
        assert!(!printed.contains(secret), "{secret} in {printed}");
    }
}

#[test]
fn bad_tokens_and_tenants_are_named_without_their_secret() {
    let dir = dir("bad");
    std::fs::write(dir.join("empty"), "\n").unwrap();
    let cases = [
        (
            format!(
                "client_token = \"abc-secret\"\nclient_token_file = {:?}\n",
                dir.join("empty")
            ),
            "not both",
        ),
        (
            format!("client_token_file = {:?}\n", dir.join("empty")),
            "is empty",
        ),
        (
            format!("worker_token_file = {:?}\n", dir.join("missing")),
            "cannot read token file",
        ),
        (
            "worker_token = \"same-secret\"\nclient_token = \"same-secret\"\n".to_owned(),
            "same token as worker_token",
        ),
        (
            "[tenants.a]\ntoken = \"t-secret\"\n[tenants.b]\ntoken = \"t-secret\"\n".to_owned(),
            "tenants.b",
        ),
        (
            "[tenants.a]\nmax_in_flight = 2\n".to_owned(),
            "needs a token",
        ),
        (
            "[tenants.a]\ntoken = \"x-secret\"\nweight = 0\n".to_owned(),
            "weight",
        ),
        (
            "[tenants.a]\ntoken = \"x-secret\"\nmax_in_flight = 0\n".to_owned(),
            "max_in_flight",
        ),
        (
            "[tenants.anonymous]\ntoken = \"x-secret\"\n".to_owned(),
            "anonymous",
        ),
        (
            "[tenants.a]\ntoken = \"x-secret\"\ncolour = \"red\"\n".to_owned(),
            "colour",
        ),
        (
            "[worker_tokens]\nw1 = \"\"\n".to_owned(),
            "worker_tokens.w1",
        ),
    ];
    for (toml, expected) in cases {
        let error = load(&dir, &toml).unwrap_err().to_string();
        assert!(error.contains(expected), "{toml}: {error}");
        assert!(!error.contains("-secret"), "a token in the error: {error}");
    }
}
