//! A label that can name a folder of the repository: no path tricks.

use std::fmt;

/// A model label that is safe as a folder name: 1-128 letters, digits, '-', '_' or '.',
/// not starting with '.'.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Label(String);

/// A name that cannot be a repository label.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("must be 1-128 characters of letters, digits, '-', '_' or '.', not starting with '.'")]
pub struct InvalidLabel;

impl Label {
    pub fn new(name: &str) -> Result<Self, InvalidLabel> {
        let valid = !name.is_empty()
            && name.len() <= 128
            && !name.starts_with('.')
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
        valid.then(|| Label(name.to_owned())).ok_or(InvalidLabel)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Label {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
