//! Installing a model folder atomically: a hidden staging folder inside the repository
//! that is renamed into place once checked (and removed otherwise, also when the request
//! is dropped half-way), and one claim per label so two uploads of it cannot race.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};

use super::{Label, CONFIG_FILE, MODEL_FILE, TOKENIZER_FILE};

/// Another upload of this label is in progress.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("model '{0}' is being uploaded by another request")]
pub struct UploadInProgress(pub String);

/// Why a staged model could not be moved into place.
#[derive(Debug, thiserror::Error)]
pub enum CommitError {
    #[error("model '{0}' already exists; pass overwrite=true to replace it")]
    LabelExists(String),
    #[error("{context}: {error}")]
    Io {
        context: &'static str,
        error: std::io::Error,
    },
}

/// Why a model given by path could not be copied; the message names the path.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct CopyError(pub String);

/// Labels being uploaded; one upload per label at a time.
#[derive(Debug, Default)]
pub(super) struct Claims(Mutex<BTreeSet<String>>);

impl Claims {
    pub(super) fn take(&self, label: &Label) -> Result<Claim<'_>, UploadInProgress> {
        let mut uploading = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if !uploading.insert(label.as_str().to_owned()) {
            return Err(UploadInProgress(label.as_str().to_owned()));
        }
        Ok(Claim {
            claims: self,
            label: label.as_str().to_owned(),
        })
    }
}

/// A request's claim on a label, released when dropped.
#[derive(Debug)]
pub struct Claim<'a> {
    claims: &'a Claims,
    label: String,
}

impl Drop for Claim<'_> {
    fn drop(&mut self) {
        self.claims
            .0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&self.label);
    }
}

fn unique() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    format!(
        "{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// A hidden folder in the repository that an upload is written to; removed unless the
/// upload is committed, also when the request is dropped half-way.
#[derive(Debug)]
pub struct Staging {
    dir: PathBuf,
    armed: bool,
}

impl Staging {
    pub(super) fn create(repository: &Path, label: &Label) -> std::io::Result<Staging> {
        let dir = repository.join(format!(".upload-{label}-{}", unique()));
        fs::create_dir(&dir)?;
        Ok(Staging { dir, armed: true })
    }

    pub fn path(&self) -> &Path {
        &self.dir
    }

    /// Removes the folder now (blocking: call it off the async threads).
    pub fn remove(mut self) {
        self.armed = false;
        remove_staging(&self.dir);
    }
}

fn remove_staging(dir: &Path) {
    if let Err(error) = fs::remove_dir_all(dir) {
        tracing::warn!(dir = %dir.display(), %error, "cannot remove an upload's staging folder");
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        let dir = self.dir.clone();
        match tokio::runtime::Handle::try_current() {
            Ok(handle) => drop(handle.spawn_blocking(move || remove_staging(&dir))),
            Err(_) => remove_staging(&dir),
        }
    }
}

/// Moves the checked folder to `repository/label` (nothing is left to remove then); whether
/// it replaced one. When it does,
/// the old folder is renamed away first and removed last, so a failure puts it back.
pub(super) fn commit(
    staging: &mut Staging,
    repository: &Path,
    label: &Label,
    overwrite: bool,
) -> Result<bool, CommitError> {
    let staged = staging.path().to_owned();
    let label = label.as_str();
    let target = repository.join(label);
    let io = |context: &'static str| move |error| CommitError::Io { context, error };
    let exists = target.symlink_metadata().is_ok();
    if exists && !overwrite {
        return Err(CommitError::LabelExists(label.to_owned()));
    }
    if !exists {
        return match fs::rename(&staged, &target) {
            Ok(()) => {
                staging.armed = false;
                Ok(false)
            }
            // Created meanwhile by something other than this server.
            Err(_) if target.symlink_metadata().is_ok() => {
                Err(CommitError::LabelExists(label.to_owned()))
            }
            Err(e) => Err(io("cannot move the model into place")(e)),
        };
    }
    let old = repository.join(format!(".replaced-{label}-{}", unique()));
    fs::rename(&target, &old).map_err(io("cannot move the old model aside"))?;
    if let Err(e) = fs::rename(&staged, &target) {
        if let Err(back) = fs::rename(&old, &target) {
            tracing::error!(label = %label, old = %old.display(), error = %back, "cannot restore the old model");
        }
        return Err(io("cannot move the model into place")(e));
    }
    staging.armed = false;
    if let Err(error) = fs::remove_dir_all(&old) {
        tracing::warn!(label = %label, old = %old.display(), %error, "cannot remove the replaced model");
    }
    Ok(true)
}

/// Copies a model folder's files, or one ONNX file, into `dir`.
pub fn copy_model(source: &Path, dir: &Path) -> Result<(), CopyError> {
    let unreadable =
        |e: std::io::Error| CopyError(format!("cannot read {}: {e}", source.display()));
    let meta = fs::metadata(source).map_err(unreadable)?;
    let files: Vec<(PathBuf, &str)> = if meta.is_dir() {
        if !source.join(MODEL_FILE).is_file() {
            return Err(CopyError(format!(
                "{} has no {MODEL_FILE}",
                source.display()
            )));
        }
        [MODEL_FILE, TOKENIZER_FILE, CONFIG_FILE]
            .into_iter()
            .map(|name| (source.join(name), name))
            .filter(|(path, _)| path.is_file())
            .collect()
    } else if meta.is_file() {
        vec![(source.to_owned(), MODEL_FILE)]
    } else {
        return Err(CopyError(format!(
            "{} is not a file or folder",
            source.display()
        )));
    };
    for (from, name) in files {
        fs::copy(&from, dir.join(name)).map_err(unreadable)?;
    }
    Ok(())
}
