//! Reading settings from the file, the environment and flags, and refusing bad ones.

use std::path::{Path, PathBuf};

use super::*;

/// A config file of its own (tests run in parallel).
fn write(text: &str) -> PathBuf {
    static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let path = std::env::temp_dir().join(format!("sr-config-{}-{n}.toml", std::process::id()));
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn file_then_env_then_flags() {
    let path = write(
        "bind = \"127.0.0.1:9000\"\nmax_queue = 7\npolicy = \"random\"\n[local]\nworkers = 0\n",
    );
    let env = vec![
        ("SMART_ROUTING_MAX_QUEUE".to_owned(), "9".to_owned()),
        ("SMART_ROUTING_PATIENCE_LOADS".to_owned(), "inf".to_owned()),
        ("UNRELATED".to_owned(), "x".to_owned()),
    ];
    let mut config = Config::load(Some(&path), env).unwrap();
    assert_eq!(config.server.bind.port(), 9000); // file over default
    assert_eq!(config.dispatch.max_queue, 9); // env over file
    assert_eq!(config.policy(), Policy::Random);
    config.set("policy", "original").unwrap(); // flag over file
    assert_eq!(config.policy(), Policy::Original);
    assert_eq!(config.dispatch.max_attempts, 3); // default kept
    assert_eq!(config.routing().patience_loads, f64::INFINITY); // a [routing] knob by env
}

#[test]
fn bad_settings_are_named_in_the_error() {
    let unknown = write("no_such_setting = 1\n");
    let error = Config::load(Some(&unknown), Vec::new())
        .unwrap_err()
        .to_string();
    assert!(error.contains("no_such_setting"), "{error}");
    let env = vec![("SMART_ROUTING_MAX_QUEUE".to_owned(), "lots".to_owned())];
    let error = Config::load(None, env).unwrap_err().to_string();
    assert!(error.contains("max_queue"), "{error}");
    let env = vec![("SMART_ROUTING_POLICY".to_owned(), "fastest".to_owned())];
    assert!(Config::load(None, env)
        .unwrap_err()
        .to_string()
        .contains("unknown policy"));
    let env = vec![("SMART_ROUTING_LOCAL_WORKERS".to_owned(), "2".to_owned())];
    assert!(Config::load(None, env)
        .unwrap_err()
        .to_string()
        .contains("--models"));
    let missing = Path::new("/nonexistent/config.toml");
    assert!(Config::load(Some(missing), Vec::new())
        .unwrap_err()
        .to_string()
        .contains("cannot read"));
}

#[test]
fn routing_knobs_are_checked_from_the_file_and_the_environment() {
    // An infinite prior would mean nothing is ever loaded; a negative or NaN knob has
    // no meaning. Each is refused with the knob's name, not silently used.
    for (text, name) in [
        ("[routing]\npatience_loads = -1\n", "patience_loads"),
        ("[routing]\nreload_weight = nan\n", "reload_weight"),
        ("[routing]\nprior_load_s = inf\n", "prior_load_s"),
        ("[routing]\ndemand_tau_s = 0\n", "demand_tau_s"),
    ] {
        let error = Config::load(Some(&write(text)), Vec::new())
            .unwrap_err()
            .to_string();
        assert!(error.contains(name), "{text}: {error}");
    }
    let env = vec![("SMART_ROUTING_PRIOR_RUN_S".to_owned(), "inf".to_owned())];
    let error = Config::load(None, env).unwrap_err().to_string();
    assert!(error.contains("prior_run_s"), "{error}");
    // An infinite knob other than a prior stays a meaningful value.
    let ok = write("[routing]\npatience_loads = inf\nchurn_factor = 0\n");
    assert!(Config::load(Some(&ok), Vec::new()).is_ok());
}

#[test]
fn the_shipped_config_file_is_the_defaults() {
    let shipped = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/default.toml");
    let config = Config::load(Some(&shipped), Vec::new()).unwrap();
    let defaults = Config::default();
    assert_eq!(format!("{config:?}"), format!("{defaults:?}"));
}

/// Every declared setting is documented in the shipped file (set, or commented out when
/// it has no value by default), and every flag names a setting.
#[test]
fn every_setting_is_in_the_shipped_file_and_every_flag_is_a_setting() {
    let shipped =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("config/default.toml"))
            .unwrap();
    let documented = |key: &str| {
        shipped.lines().any(|line| {
            let line = line.trim_start_matches(['#', ' ']);
            line.starts_with(&format!("{key} =")) || line == format!("[{key}]")
        })
    };
    let sections = RoutingSection::KEYS
        .iter()
        .chain(PlacementSection::KEYS)
        .chain(LocalSection::KEYS);
    for key in Config::KEYS.iter().chain(sections) {
        assert!(documented(key), "{key} is not in config/default.toml");
    }
    let mut config = Config::default();
    for flag in FLAGS {
        let value = match flag.key {
            "bind" | "grpc_bind" => "127.0.0.1:0",
            "policy" => "random",
            "local_workers" => "1",
            _ => "somewhere",
        };
        config.set(flag.key, value).unwrap();
    }
    assert_eq!(config.policy(), Policy::Random);
    assert_eq!(config.local.workers, 1);
}

#[test]
fn tls_takes_a_certificate_and_a_key_or_neither() {
    let env = |pairs: &[(&str, &str)]| {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect::<Vec<_>>()
    };
    let cert_only = env(&[("SMART_ROUTING_TLS_CERT", "cert.pem")]);
    let error = Config::load(None, cert_only).unwrap_err().to_string();
    assert!(error.contains("tls_key"), "{error}");
    let key_only = env(&[("SMART_ROUTING_TLS_KEY", "key.pem")]);
    let error = Config::load(None, key_only).unwrap_err().to_string();
    assert!(error.contains("tls_cert"), "{error}");
    let both = env(&[
        ("SMART_ROUTING_TLS_CERT", "cert.pem"),
        ("SMART_ROUTING_TLS_KEY", "key.pem"),
    ]);
    let config = Config::load(None, both).unwrap();
    let (cert, key) = config.server.tls().unwrap();
    assert_eq!((cert, key), (Path::new("cert.pem"), Path::new("key.pem")));
    assert!(Config::default().server.tls().is_none());
}

#[test]
fn operator_copies_and_the_planner_knobs_reach_the_routing_core() {
    let path = write(
        "[routing.copies]\nresnet = 2\n\"bert-base\" = 1\n[placement]\ninterval_s = 10\nload_budget = 3\n",
    );
    let env = vec![(
        "SMART_ROUTING_PLACEMENT_SPARE_SHARE".to_owned(),
        "0.25".to_owned(),
    )];
    let placement = Config::load(Some(&path), env).unwrap().routing().placement;
    assert_eq!(
        placement.min_copies,
        vec![("bert-base".to_owned(), 1), ("resnet".to_owned(), 2)]
    );
    assert_eq!((placement.interval_s, placement.load_budget), (10.0, 3));
    assert_eq!(placement.spare_share, 0.25);
    let off = vec![(
        "SMART_ROUTING_PLACEMENT_INTERVAL_S".to_owned(),
        "inf".to_owned(),
    )];
    assert!(!Config::load(None, off)
        .unwrap()
        .routing()
        .placement
        .enabled());
}

#[test]
fn a_zero_copy_minimum_and_a_bad_planner_knob_are_refused_by_name() {
    let zero = write("[routing.copies]\nresnet = 0\n");
    let error = Config::load(Some(&zero), Vec::new())
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("resnet") && error.contains("at least 1"),
        "{error}"
    );
    let negative = write("[routing.copies]\nresnet = -1\n");
    assert!(Config::load(Some(&negative), Vec::new()).is_err());
    for (key, value) in [
        ("SMART_ROUTING_PLACEMENT_COPY_UTILIZATION", "0"),
        ("SMART_ROUTING_PLACEMENT_SPARE_SHARE", "1.5"),
        ("SMART_ROUTING_PLACEMENT_INTERVAL_S", "0"),
    ] {
        let error = Config::load(None, vec![(key.to_owned(), value.to_owned())])
            .unwrap_err()
            .to_string();
        let name = key.trim_start_matches("SMART_ROUTING_").to_lowercase();
        assert!(
            error.contains(&name["placement_".len()..]),
            "{key}: {error}"
        );
    }
}
