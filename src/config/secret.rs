//! A token from the configuration: compared in constant time, never shown. Its `Debug`
//! and error messages say only whether it is set, so a config printed in a log or an
//! error leaks nothing.

use serde::{Deserialize, Deserializer};
use subtle::ConstantTimeEq;

/// A bearer token; empty means unset.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(token: impl Into<String>) -> Self {
        Self(token.into())
    }

    pub fn is_set(&self) -> bool {
        !self.0.is_empty()
    }

    /// Whether `presented` is this token, in time that does not depend on where they
    /// first differ (only on their lengths). An unset secret matches nothing.
    pub fn matches(&self, presented: &str) -> bool {
        self.is_set() && bool::from(self.0.as_bytes().ct_eq(presented.as_bytes()))
    }

    /// The token itself, for the one place that sends it (a worker's own header).
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.is_set() { "<secret>" } else { "<unset>" })
    }
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(Secret)
    }
}

/// Reads a token from a file (a mounted Kubernetes Secret, say): its content without
/// surrounding whitespace, which must not be empty. The error names the file, never
/// its content.
pub fn read_token_file(path: &std::path::Path) -> Result<Secret, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read token file {}: {e}", path.display()))?;
    let token = text.trim();
    if token.is_empty() {
        return Err(format!("token file {} is empty", path.display()));
    }
    Ok(Secret::new(token))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_only_the_same_token_and_never_shows_it() {
        let secret = Secret::new("s3cret-token");
        assert!(secret.matches("s3cret-token"));
        assert!(!secret.matches("s3cret-tokeN"));
        assert!(!secret.matches("s3cret"));
        assert!(!secret.matches(""));
        assert!(!Secret::default().matches(""));
        assert_eq!(format!("{secret:?}"), "<secret>");
        assert_eq!(format!("{:?}", Secret::default()), "<unset>");
    }
}
