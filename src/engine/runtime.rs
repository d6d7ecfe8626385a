//! Finds and loads the ONNX Runtime shared library (ort's `load-dynamic`) once per process.
//! Must not depend on actix, tokio or any other engine module but the error type.
//!
//! Search order: the explicit path (`--ort-lib`), `ORT_DYLIB_PATH`, then
//! `.cache/onnxruntime/libonnxruntime.so.1.31.1` (what `scripts/setup.sh` installs) in the
//! current directory and its ancestors, then in the ancestors of the running executable.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock, PoisonError};

use ort::environment::Environment;

use super::error::EngineError;

/// The environment variable that names the library (the same one ort itself reads).
pub const ORT_DYLIB_ENV: &str = "ORT_DYLIB_PATH";
/// Where `scripts/setup.sh` puts the library, relative to the repository root.
pub const DEFAULT_LIB_DIR: &str = ".cache/onnxruntime";
/// The library file `scripts/setup.sh` installs.
pub const DEFAULT_LIB_FILE: &str = "libonnxruntime.so.1.31.1";

/// The loaded runtime: where it came from and the process-wide ort environment.
struct Runtime {
    path: PathBuf,
    env: Environment,
}

/// Set once, on the first successful initialisation.
static RUNTIME: OnceLock<Runtime> = OnceLock::new();
/// Serialises initialisation so two threads cannot load the library twice.
static INIT: Mutex<()> = Mutex::new(());

/// Loads ONNX Runtime (see the module doc for where it looks) and creates the process's
/// ort environment. The first success is kept: later calls return the same path whatever
/// they pass. A failure is not kept, so a later call with a correct path can succeed.
pub fn init_runtime(explicit: Option<&Path>) -> Result<PathBuf, EngineError> {
    runtime(explicit).map(|rt| rt.path.clone())
}

/// The library path in use, if the runtime is initialised.
pub fn runtime_path() -> Option<PathBuf> {
    RUNTIME.get().map(|rt| rt.path.clone())
}

/// The process's ort environment, initialising the runtime from the default locations
/// when `init_runtime` has not run yet.
pub(crate) fn environment() -> Result<Environment, EngineError> {
    runtime(None).map(|rt| rt.env.clone())
}

fn runtime(explicit: Option<&Path>) -> Result<&'static Runtime, EngineError> {
    if let Some(rt) = RUNTIME.get() {
        return Ok(rt);
    }
    // A panic while holding the guard cannot leave partial state: RUNTIME is set last.
    let _guard = INIT.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(rt) = RUNTIME.get() {
        return Ok(rt);
    }
    let path = locate_runtime(explicit)?;
    let load_err = |reason: String| EngineError::RuntimeLoad {
        path: path.clone(),
        reason,
    };
    let env = ort::init_from(&path)
        .map_err(|e| load_err(e.to_string()))?
        .with_name("smart-routing")
        .with_telemetry(false)
        .build()
        .map_err(|e| load_err(e.to_string()))?;
    tracing::info!(path = %path.display(), "loaded ONNX Runtime");
    Ok(RUNTIME.get_or_init(|| Runtime { path, env }))
}

/// Finds the library without loading it. An explicit path or `ORT_DYLIB_PATH` that names a
/// missing file is an error (no silent fallback); otherwise the default locations are tried.
pub fn locate_runtime(explicit: Option<&Path>) -> Result<PathBuf, EngineError> {
    let env_value = std::env::var_os(ORT_DYLIB_ENV).filter(|v| !v.is_empty());
    let cwd = std::env::current_dir().ok();
    let exe = std::env::current_exe().ok();
    locate_in(
        explicit,
        env_value.as_deref().map(Path::new),
        cwd.as_deref(),
        exe.as_deref(),
    )
}

fn locate_in(
    explicit: Option<&Path>,
    env_value: Option<&Path>,
    cwd: Option<&Path>,
    exe: Option<&Path>,
) -> Result<PathBuf, EngineError> {
    let hint = format!(
        "run scripts/setup.sh to fetch it, or pass --ort-lib PATH or set {ORT_DYLIB_ENV} \
         to a libonnxruntime shared library (1.{} or newer)",
        ort::MINOR_VERSION
    );
    if let Some(path) = explicit {
        return existing(path).ok_or_else(|| {
            EngineError::RuntimeMissing(format!(
                "ONNX Runtime library not found at --ort-lib {}; {hint}",
                path.display()
            ))
        });
    }
    if let Some(path) = env_value {
        return existing(path).ok_or_else(|| {
            EngineError::RuntimeMissing(format!(
                "ONNX Runtime library not found at {ORT_DYLIB_ENV}={}; {hint}",
                path.display()
            ))
        });
    }
    let mut tried = Vec::new();
    let starts = [cwd, exe.and_then(Path::parent)];
    for start in starts.into_iter().flatten() {
        for dir in start.ancestors() {
            let candidate = dir.join(DEFAULT_LIB_DIR).join(DEFAULT_LIB_FILE);
            if let Some(found) = existing(&candidate) {
                return Ok(found);
            }
            if !tried.contains(&candidate) {
                tried.push(candidate);
            }
        }
    }
    let tried: Vec<String> = tried.iter().map(|p| p.display().to_string()).collect();
    Err(EngineError::RuntimeMissing(format!(
        "ONNX Runtime library not found: no --ort-lib given, {ORT_DYLIB_ENV} not set, \
         and none of [{}] exists; {hint}",
        tried.join(", ")
    )))
}

/// The absolute path of `path` when it is an existing file.
fn existing(path: &Path) -> Option<PathBuf> {
    if path.is_file() {
        // Absolute, so that ort does not resolve it against the executable's folder.
        std::fs::canonicalize(path).ok()
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_explicit_path_is_a_documented_error() {
        let err = locate_runtime(Some(Path::new("/nonexistent/libonnxruntime.so"))).unwrap_err();
        let msg = err.to_string();
        assert_eq!(err.code(), "runtime_missing");
        assert!(
            msg.contains("--ort-lib /nonexistent/libonnxruntime.so"),
            "{msg}"
        );
        assert!(msg.contains("scripts/setup.sh"), "{msg}");
        assert!(msg.contains(ORT_DYLIB_ENV), "{msg}");
        // init_runtime reports the same error rather than panicking, unless the runtime
        // was already initialised by another test (then the first success is kept).
        if runtime_path().is_none() {
            let err = init_runtime(Some(Path::new("/nonexistent/libonnxruntime.so")));
            assert!(err.is_err() || runtime_path().is_some());
        }
    }

    #[test]
    fn missing_env_path_is_an_error_not_a_fallback() {
        let err = locate_in(None, Some(Path::new("/nope/libort.so")), None, None).unwrap_err();
        assert!(
            err.to_string().contains("ORT_DYLIB_PATH=/nope/libort.so"),
            "{err}"
        );
    }

    #[test]
    fn default_search_lists_what_it_tried() {
        let err = locate_in(
            None,
            None,
            Some(Path::new("/a/b")),
            Some(Path::new("/x/y/bin")),
        )
        .unwrap_err()
        .to_string();
        for tried in [
            "/a/b/.cache/onnxruntime/libonnxruntime.so.1.31.1",
            "/a/.cache/onnxruntime/libonnxruntime.so.1.31.1",
            "/x/y/.cache/onnxruntime/libonnxruntime.so.1.31.1",
        ] {
            assert!(err.contains(tried), "{err}");
        }
        assert!(err.contains("scripts/setup.sh"), "{err}");
    }

    #[test]
    fn default_search_finds_the_setup_location_from_a_subfolder() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let lib = root.join(DEFAULT_LIB_DIR).join(DEFAULT_LIB_FILE);
        if !lib.is_file() {
            eprintln!(
                "skipping: {} is absent (run scripts/setup.sh)",
                lib.display()
            );
            return;
        }
        let found = locate_in(None, None, Some(&root.join("src/engine")), None).unwrap();
        assert_eq!(found, std::fs::canonicalize(lib).unwrap());
    }
}
