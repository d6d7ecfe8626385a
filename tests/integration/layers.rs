//! The layering of the crate, checked on its source: each top-level module may import
//! (`crate::...`) only the modules this table allows, and the routing core nothing outside
//! itself, no runtime, no protocol crate, no clock and no IO. The table is the
//! architecture of the README's "Layers"; a new arrow is a decision, made here.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Each top-level module and the modules of the crate it may import.
const ALLOWED: &[(&str, &[&str])] = &[
    // The pure core and the leaves: nothing of the crate.
    ("routing", &[]),
    ("clock", &[]),
    ("error_code", &[]),
    ("repository", &[]),
    ("protocol", &[]),
    ("workload", &[]),
    ("report", &[]),
    ("tls", &[]),
    // Plain data and its storage.
    ("tasks", &["routing", "error_code"]),
    ("store", &["tasks", "clock", "error_code", "metrics"]),
    ("metrics", &["tasks", "error_code"]),
    ("config", &["routing", "store", "tasks"]),
    ("engine", &["repository"]),
    // The remote worker client and the actors.
    (
        "worker",
        &[
            "protocol",
            "engine",
            "repository",
            "clock",
            "workload",
            "tls",
        ],
    ),
    (
        "actors",
        &[
            "routing",
            "tasks",
            "store",
            "protocol",
            "metrics",
            "clock",
            "error_code",
            "repository",
            "engine",
            "worker",
        ],
    ),
    ("shutdown", &["actors", "store"]),
    // What both transports share, then the transports: never each other.
    (
        "app",
        &[
            "actors",
            "config",
            "engine",
            "error_code",
            "metrics",
            "repository",
            "store",
            "tasks",
            "clock",
            "protocol",
        ],
    ),
    (
        "http",
        &[
            "app",
            "actors",
            "clock",
            "config",
            "engine",
            "error_code",
            "metrics",
            "tasks",
            "repository",
            "protocol",
        ],
    ),
    (
        "oip",
        &[
            "app",
            "actors",
            "engine",
            "error_code",
            "repository",
            "tasks",
            "config",
            "clock",
        ],
    ),
    // The simulator and the load generator run the core and the workload, not the server.
    ("sim", &["routing", "workload", "report", "config"]),
    ("bench", &["workload", "report", "clock", "tls"]),
];

/// The composition root and the command line may import anything.
const ROOTS: &[&str] = &["server", "cli", "lib", "main", "telemetry"];

/// What the routing core must not use, whatever the module path: a runtime, a protocol
/// crate, the clock, threads or IO.
const NOT_IN_CORE: &[&str] = &[
    "actix",
    "tokio",
    "ort::",
    "prost",
    "tonic",
    "Instant",
    "SystemTime",
    "std::fs",
    "std::net",
    "std::thread",
    "std::io",
    "thread_rng",
];

fn sources(dir: &Path, found: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            sources(&path, found);
        } else if path.extension().is_some_and(|e| e == "rs") {
            found.push(path);
        }
    }
}

/// The code of a file without its comments (a comment may name any module).
fn code(text: &str) -> String {
    text.lines()
        .map(|line| line.split("//").next().unwrap_or_default())
        .collect::<Vec<_>>()
        .join("\n")
}

/// The top-level modules a file's code names as `crate::x`, `crate::{x, y::z}`.
fn imports(code: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    let mut rest = code;
    while let Some(at) = rest.find("crate::") {
        rest = &rest[at + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            // Top-level names of the group: those at depth 0, before `::`, `,` or `}`.
            let mut depth = 0;
            let mut name = String::new();
            let mut at_start = true;
            for c in group.chars() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => at_start = true,
                    c if depth == 0 && at_start && (c.is_alphanumeric() || c == '_') => {
                        name.push(c)
                    }
                    _ if depth == 0 && at_start && !name.is_empty() => {
                        found.insert(std::mem::take(&mut name));
                        at_start = false;
                    }
                    _ => {}
                }
            }
            if !name.is_empty() {
                found.insert(name);
            }
        } else {
            let name: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            found.insert(name);
        }
    }
    found
}

/// Whether `word` occurs in `code` as a name of its own (not inside a longer one).
fn uses(code: &str, word: &str) -> bool {
    let is_name = |c: char| c.is_alphanumeric() || c == '_';
    code.match_indices(word).any(|(at, _)| {
        let before = code[..at].chars().next_back().is_none_or(|c| !is_name(c));
        let after = code[at + word.len()..].chars().next();
        let ends = word.ends_with(':') || after.is_none_or(|c| !is_name(c));
        before && ends
    })
}

#[test]
fn layers_import_only_what_the_architecture_allows() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&src, &mut files);
    let allowed: BTreeMap<&str, &[&str]> = ALLOWED.iter().copied().collect();
    let mut breaches = Vec::new();
    for file in &files {
        let relative = file.strip_prefix(&src).unwrap();
        let first = relative.components().next().unwrap().as_os_str();
        let module = first.to_str().unwrap().trim_end_matches(".rs");
        let code = code(&std::fs::read_to_string(file).unwrap());
        if ROOTS.contains(&module) {
            continue;
        }
        let Some(may) = allowed.get(module) else {
            breaches.push(format!(
                "{module}: a new top-level module; add it to ALLOWED"
            ));
            continue;
        };
        for import in imports(&code) {
            if import != module && !may.contains(&import.as_str()) {
                breaches.push(format!("{}: imports crate::{import}", relative.display()));
            }
        }
        if module == "routing" {
            for word in NOT_IN_CORE {
                if uses(&code, word) {
                    breaches.push(format!(
                        "{}: the routing core uses {word}",
                        relative.display()
                    ));
                }
            }
        }
    }
    assert!(
        breaches.is_empty(),
        "layer breaches:\n{}",
        breaches.join("\n")
    );
}

#[test]
fn the_core_check_sees_names_not_parts_of_names() {
    assert!(uses("use tokio::sync;", "tokio"));
    assert!(uses("let t = std::time::Instant::now();", "Instant"));
    assert!(!uses("Err(Misreport::NotAssigned)", "ort::"));
    assert!(!uses("InstantLike", "Instant"));
}

#[test]
fn the_import_reader_sees_groups_and_paths() {
    let found =
        imports("use crate::{app::{self, ApiError}, tasks::View, clock};\nlet x = crate::http::y;");
    let names: Vec<&str> = found.iter().map(String::as_str).collect();
    assert_eq!(names, ["app", "clock", "http", "tasks"]);
}
