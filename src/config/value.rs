//! How a setting's value is read from text (environment variables and flags) and shown in
//! errors, for each type a setting has; and the config file's reading of the enums.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;

use serde::{Deserialize, Deserializer};

use super::secret::Secret;
use crate::routing::Policy;
use crate::store::Durability;

/// A type a setting can have.
pub trait Setting: Sized {
    /// The value from its text form, or why it is not one.
    fn parse(text: &str) -> Result<Self, String>;

    /// The value as an error message shows it.
    fn show(&self) -> String;
}

/// Types read with `FromStr` and shown with `Display`.
macro_rules! from_str_settings {
    ($($ty:ty),*) => {$(
        impl Setting for $ty {
            fn parse(text: &str) -> Result<Self, String> {
                text.parse().map_err(|e: <$ty as std::str::FromStr>::Err| e.to_string())
            }

            fn show(&self) -> String {
                self.to_string()
            }
        }
    )*};
}

from_str_settings!(usize, u64, u32, f64, bool, String, SocketAddr, Policy, Durability);

/// A token from the environment; shown only as set or not.
impl Setting for Secret {
    fn parse(text: &str) -> Result<Self, String> {
        Ok(Secret::new(text))
    }

    fn show(&self) -> String {
        format!("{self:?}")
    }
}

impl Setting for PathBuf {
    fn parse(text: &str) -> Result<Self, String> {
        Ok(PathBuf::from(text))
    }

    fn show(&self) -> String {
        self.display().to_string()
    }
}

impl<T: Setting> Setting for Option<T> {
    fn parse(text: &str) -> Result<Self, String> {
        T::parse(text).map(Some)
    }

    fn show(&self) -> String {
        self.as_ref().map_or_else(|| "unset".to_owned(), T::show)
    }
}

/// Tables such as `[max_run_s_by_type]` are given in the config file only.
impl<V: std::fmt::Debug> Setting for BTreeMap<String, V> {
    fn parse(_: &str) -> Result<Self, String> {
        Err("a table: set it in the config file".to_owned())
    }

    fn show(&self) -> String {
        format!("{self:?}")
    }
}

/// Reads an enum setting from its name in the config file, with the same message as
/// from the environment.
fn from_name<'de, D: Deserializer<'de>, T: Setting>(deserializer: D) -> Result<T, D::Error> {
    let name = String::deserialize(deserializer)?;
    T::parse(&name).map_err(serde::de::Error::custom)
}

impl<'de> Deserialize<'de> for Policy {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        from_name(deserializer)
    }
}

impl<'de> Deserialize<'de> for Durability {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        from_name(deserializer)
    }
}

/// A check that a number is at least `min`.
pub fn at_least<T: PartialOrd + std::fmt::Display + Copy>(
    min: T,
) -> impl Fn(&T) -> Result<(), String> {
    move |value| {
        if *value >= min {
            Ok(())
        } else {
            Err(format!("must be at least {min}"))
        }
    }
}

/// A check that a duration in seconds is above 0 (NaN is not).
pub fn positive_seconds(value: &f64) -> Result<(), String> {
    if value.is_nan() || *value <= 0.0 {
        return Err("must be a positive number of seconds".to_owned());
    }
    Ok(())
}

/// A check that a duration in seconds is 0 or more and finite.
pub fn finite_seconds(value: &f64) -> Result<(), String> {
    if *value >= 0.0 && value.is_finite() {
        Ok(())
    } else {
        Err("must be 0 or more seconds".to_owned())
    }
}

/// A share: from 0 to 1.
pub fn share(value: &f64) -> Result<(), String> {
    if (0.0..=1.0).contains(value) {
        Ok(())
    } else {
        Err("must be from 0 to 1".to_owned())
    }
}

/// A share above 0, up to 1.
pub fn positive_share(value: &f64) -> Result<(), String> {
    if *value > 0.0 && *value <= 1.0 {
        Ok(())
    } else {
        Err("must be above 0 and at most 1".to_owned())
    }
}

/// `[routing.copies]`: each label's minimum is at least one copy.
pub fn min_copies(copies: &BTreeMap<String, u32>) -> Result<(), String> {
    match copies.iter().find(|(_, n)| **n == 0) {
        Some((label, _)) => Err(format!(
            "label '{label}' has 0 copies: a minimum must be at least 1 (remove the line for none)"
        )),
        None => Ok(()),
    }
}

/// A percentage: from 0 to 100.
pub fn percent(value: &f64) -> Result<(), String> {
    if (0.0..=100.0).contains(value) {
        Ok(())
    } else {
        Err("must be from 0 to 100".to_owned())
    }
}

/// A `[routing]` knob: a number of 0 or more, `inf` included.
pub fn knob(value: &f64) -> Result<(), String> {
    if value.is_nan() || *value < 0.0 {
        return Err("must be a non-negative number".to_owned());
    }
    Ok(())
}

/// A prior: a knob that is also finite, since nothing is ever loaded while a load is
/// expected to take for ever.
pub fn prior(value: &f64) -> Result<(), String> {
    knob(value)?;
    if value.is_infinite() {
        return Err("must be a finite number of seconds".to_owned());
    }
    Ok(())
}

/// A time constant: a knob above 0.
pub fn time_constant(value: &f64) -> Result<(), String> {
    knob(value)?;
    if *value == 0.0 {
        return Err("must be above 0 seconds".to_owned());
    }
    Ok(())
}
