//! Inputs found by fuzzing (`scripts/fuzz.sh`), kept in `tests/fixtures/fuzz/<target>/`
//! and replayed through the fuzz targets' own checks, plus the committed seeds.

use std::path::Path;

#[allow(dead_code)]
mod checks {
    include!(concat!(env!("CARGO_MANIFEST_DIR"), "/fuzz/checks.rs"));
}

/// Every file of `dirs`, read; at least one must exist.
fn inputs(target: &str) -> Vec<(String, Vec<u8>)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    for dir in [
        root.join("tests/fixtures/fuzz").join(target),
        root.join("fuzz/seeds").join(target),
    ] {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_file() && !path.ends_with("README.md") {
                files.push((path.display().to_string(), std::fs::read(&path).unwrap()));
            }
        }
    }
    assert!(!files.is_empty(), "no inputs for {target}");
    files
}

#[test]
fn worker_frames_found_by_fuzzing_stay_fixed() {
    for (name, frame) in inputs("worker_frame") {
        eprintln!("{name}");
        checks::check_worker_frame(&frame);
    }
}

#[test]
fn task_submissions_found_by_fuzzing_stay_fixed() {
    for (name, body) in inputs("task_submission") {
        eprintln!("{name}");
        checks::check_task_submission(&body);
    }
}
