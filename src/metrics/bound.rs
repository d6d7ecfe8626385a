//! Bounded series: the first `max` distinct values of a metric label keep their own
//! series, every later one is summed under [`OTHER`], so `/metrics` stays small
//! whatever the number of labels or workers.

use std::collections::HashSet;
use std::sync::Mutex;

/// The value that sums every value past the bound.
pub const OTHER: &str = "_other";

pub struct Bound {
    max: usize,
    kept: Mutex<HashSet<String>>,
}

impl Bound {
    pub fn new(max: usize) -> Self {
        Self {
            max,
            kept: Mutex::new(HashSet::new()),
        }
    }

    /// The series value for `value`: itself while there is room, else [`OTHER`].
    pub fn series(&self, value: &str) -> String {
        // A panic while holding this lock leaves the set valid; keep using it.
        let mut kept = self
            .kept
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if kept.contains(value) {
            return value.to_owned();
        }
        if kept.len() < self.max {
            kept.insert(value.to_owned());
            return value.to_owned();
        }
        OTHER.to_owned()
    }

    /// Frees `value`'s own series for another value; true if it had one.
    pub fn forget(&self, value: &str) -> bool {
        self.kept
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_past_the_bound_share_one_series() {
        let bound = Bound::new(2);
        assert_eq!(bound.series("a"), "a");
        assert_eq!(bound.series("b"), "b");
        assert_eq!(bound.series("c"), OTHER);
        assert_eq!(bound.series("a"), "a"); // kept values keep their series
        assert_eq!(bound.series("d"), OTHER);
    }

    #[test]
    fn a_forgotten_value_makes_room_for_another() {
        let bound = Bound::new(1);
        assert_eq!(bound.series("a"), "a");
        assert_eq!(bound.series("b"), OTHER);
        assert!(bound.forget("a"));
        assert!(!bound.forget("a"));
        assert_eq!(bound.series("b"), "b");
    }

    #[test]
    fn zero_sends_everything_to_other() {
        assert_eq!(Bound::new(0).series("a"), OTHER);
    }
}
