//! The repository's rules on plain folders: which names are labels, which folders hold a
//! model, one upload per label, and installs that leave a whole model or none.

use std::fs;
use std::path::PathBuf;

use super::*;

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("sr-repo-{name}-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn labels_that_could_escape_the_repository_are_refused() {
    for label in [
        "",
        ".",
        "..",
        "../x",
        "a/b",
        ".hidden",
        "a b",
        &"x".repeat(129),
    ] {
        assert!(Label::new(label).is_err(), "{label:?}");
    }
    for label in ["all-MiniLM-L6-v2", "tiny_a", "v1.2", &"x".repeat(128)] {
        assert!(Label::new(label).is_ok(), "{label:?}");
    }
}

#[test]
fn only_folders_with_a_model_and_a_label_name_are_listed() {
    let dir = scratch("list");
    for (folder, file) in [("b", MODEL_FILE), ("a", MODEL_FILE), ("empty", "x.txt")] {
        fs::create_dir(dir.join(folder)).unwrap();
        fs::write(dir.join(folder).join(file), b"12345").unwrap();
    }
    fs::create_dir(dir.join(".upload-c-1")).unwrap();
    fs::write(dir.join(".upload-c-1").join(MODEL_FILE), b"1").unwrap();
    let repository = Repository::new(&dir);
    assert_eq!(repository.labels(), ["a", "b"]);
    assert_eq!(repository.model_dir("a"), Some(dir.join("a")));
    assert_eq!(repository.model_dir("empty"), None);
    assert_eq!(repository.model_dir("../a"), None);
    let entries = repository.entries();
    assert_eq!(entries.len(), 2);
    assert_eq!(entries[0].files, [MODEL_FILE]);
    assert_eq!(entries[0].bytes, 5);
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn one_upload_per_label_at_a_time() {
    let repository = Repository::new(scratch("claims"));
    let a = Label::new("a").unwrap();
    let claim = repository.claim(&a).unwrap();
    assert_eq!(
        repository.claim(&a).unwrap_err(),
        UploadInProgress("a".into())
    );
    assert!(repository.claim(&Label::new("b").unwrap()).is_ok());
    drop(claim);
    assert!(repository.claim(&a).is_ok());
}

#[test]
fn a_commit_installs_whole_replaces_on_request_and_a_dropped_upload_leaves_nothing() {
    let dir = scratch("commit");
    let repository = Repository::new(&dir);
    let label = Label::new("m").unwrap();
    let mut staging = repository.stage(&label).unwrap();
    fs::write(staging.path().join(MODEL_FILE), b"v1").unwrap();
    assert!(!repository.commit(&mut staging, &label, false).unwrap());
    drop(staging); // committed: nothing to remove, the model stays
    assert_eq!(fs::read(dir.join("m").join(MODEL_FILE)).unwrap(), b"v1");

    let mut again = repository.stage(&label).unwrap();
    fs::write(again.path().join(MODEL_FILE), b"v2").unwrap();
    let refused = repository.commit(&mut again, &label, false).unwrap_err();
    assert!(matches!(refused, CommitError::LabelExists(_)), "{refused}");
    assert!(repository.commit(&mut again, &label, true).unwrap());
    assert_eq!(fs::read(dir.join("m").join(MODEL_FILE)).unwrap(), b"v2");

    let dropped = repository.stage(&label).unwrap();
    let staged = dropped.path().to_owned();
    drop(dropped); // outside a runtime: removed at once
    assert!(!staged.exists());
    // Only the model is left: no staging or replaced folders.
    let names: Vec<_> = fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert_eq!(names, ["m"]);
    let _ = fs::remove_dir_all(&dir);
}
