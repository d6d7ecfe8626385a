//! The model repository on disk: one folder per label holding `model.onnx` (and, when the
//! model needs them, `tokenizer.json` and `model.toml`). Which names are labels, which
//! folders hold a model, and installing a model atomically (staged in a hidden folder,
//! then renamed into place, one upload per label at a time). Plain files: depends on
//! nothing else in the crate; what the files mean is the engine's.

mod install;
mod label;

use std::fs;
use std::path::{Path, PathBuf};

pub use install::{copy_model, Claim, CommitError, CopyError, Staging, UploadInProgress};
pub use label::{InvalidLabel, Label};

/// The ONNX file's name inside a model folder.
pub const MODEL_FILE: &str = "model.onnx";
/// The tokenizer file's name inside a model folder.
pub const TOKENIZER_FILE: &str = "tokenizer.json";
/// The config file's name inside a model folder.
pub const CONFIG_FILE: &str = "model.toml";
/// Every file a model folder may hold.
pub const MODEL_FILES: [&str; 3] = [MODEL_FILE, TOKENIZER_FILE, CONFIG_FILE];

/// A model repository: a directory of model folders, and the uploads in progress in it.
#[derive(Debug)]
pub struct Repository {
    dir: PathBuf,
    claims: install::Claims,
}

/// One model folder, as `GET /models` lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub label: String,
    /// The files it holds, sorted.
    pub files: Vec<String>,
    /// Their total size.
    pub bytes: u64,
}

impl Repository {
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self {
            dir: dir.into(),
            claims: install::Claims::default(),
        }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Labels of the repository as it is now: its folders that hold a `model.onnx`, sorted.
    pub fn labels(&self) -> Vec<String> {
        labels(&self.dir)
    }

    /// The folder of `label`, whether or not it exists; `None` for a name that is not a label.
    pub fn folder(&self, label: &str) -> Option<PathBuf> {
        Label::new(label)
            .ok()
            .map(|label| self.dir.join(label.as_str()))
    }

    /// The folder of `label` when it holds a model.
    pub fn model_dir(&self, label: &str) -> Option<PathBuf> {
        self.folder(label)
            .filter(|dir| dir.join(MODEL_FILE).is_file())
    }

    /// Whether anything (a folder, a file, a link) has the label's name.
    pub fn exists(&self, label: &Label) -> bool {
        self.dir.join(label.as_str()).symlink_metadata().is_ok()
    }

    /// Every model folder with its files and total size.
    pub fn entries(&self) -> Vec<Entry> {
        self.labels()
            .into_iter()
            .map(|label| {
                let dir = self.dir.join(&label);
                let mut files = Vec::new();
                let mut bytes = 0;
                for entry in fs::read_dir(&dir).into_iter().flatten().flatten() {
                    if let Some(meta) = fs::metadata(entry.path()).ok().filter(|m| m.is_file()) {
                        bytes += meta.len();
                        files.push(entry.file_name().to_string_lossy().into_owned());
                    }
                }
                files.sort();
                Entry {
                    label,
                    files,
                    bytes,
                }
            })
            .collect()
    }

    /// This caller's claim on uploading `label`; refused while another upload of it runs.
    pub fn claim(&self, label: &Label) -> Result<Claim<'_>, UploadInProgress> {
        self.claims.take(label)
    }

    /// A new hidden folder inside the repository to write an upload of `label` into.
    pub fn stage(&self, label: &Label) -> std::io::Result<Staging> {
        Staging::create(&self.dir, label)
    }

    /// Moves a checked staging folder to the label's place; whether it replaced a model.
    /// On failure the staging folder is still there: remove it.
    pub fn commit(
        &self,
        staging: &mut Staging,
        label: &Label,
        overwrite: bool,
    ) -> Result<bool, CommitError> {
        install::commit(staging, &self.dir, label, overwrite)
    }
}

/// Labels of the repository in `dir`: its folders that hold a `model.onnx`, sorted.
pub fn labels(dir: &Path) -> Vec<String> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut labels: Vec<String> = entries
        .filter_map(Result::ok)
        .filter(|e| e.path().join(MODEL_FILE).is_file())
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|name| Label::new(name).is_ok())
        .collect();
    labels.sort();
    labels
}

#[cfg(test)]
mod tests;
