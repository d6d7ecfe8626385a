//! The retry budget (as Finagle's `RetryBudget`): retries may spend a share of the recent
//! submissions plus a small reserve per second, so a bad input or a pool-wide fault
//! cannot double the load. Counted in one-second buckets over a sliding window, on the
//! caller's clock.

use std::collections::VecDeque;

use super::types::Time;

#[derive(Debug, Clone)]
pub struct RetryBudget {
    window_s: f64,
    ratio: f64,
    min_per_s: f64,
    /// (second, submissions, retries), oldest first.
    buckets: VecDeque<(i64, u64, u64)>,
}

impl RetryBudget {
    /// At most `ratio` retries per submission over the last `window_s` seconds, plus
    /// `min_per_s` retries a second whatever the submissions.
    pub fn new(window_s: f64, ratio: f64, min_per_s: f64) -> Self {
        Self {
            window_s: window_s.max(1.0),
            ratio,
            min_per_s,
            buckets: VecDeque::new(),
        }
    }

    fn bucket(&mut self, now: Time) -> &mut (i64, u64, u64) {
        let second = now.floor() as i64;
        let oldest = second - self.window_s.ceil() as i64;
        while self.buckets.front().is_some_and(|b| b.0 <= oldest) {
            self.buckets.pop_front();
        }
        if self.buckets.back().is_none_or(|b| b.0 != second) {
            self.buckets.push_back((second, 0, 0));
        }
        self.buckets.back_mut().expect("pushed above")
    }

    /// A task was submitted.
    pub fn deposit(&mut self, now: Time) {
        self.bucket(now).1 += 1;
    }

    /// Takes one retry if the budget allows; whether it did.
    pub fn withdraw(&mut self, now: Time) -> bool {
        self.bucket(now);
        let (submitted, retried) = self
            .buckets
            .iter()
            .fold((0u64, 0u64), |(s, r), b| (s + b.1, r + b.2));
        let allowed = self.min_per_s * self.window_s + self.ratio * submitted as f64;
        if (retried as f64) + 1.0 > allowed {
            return false;
        }
        self.bucket(now).2 += 1;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_spend_a_share_of_recent_submissions_plus_a_reserve() {
        // 20% of submissions, plus 0.5 a second over 10 s: a reserve of 5.
        let mut budget = RetryBudget::new(10.0, 0.2, 0.5);
        for _ in 0..100 {
            budget.deposit(0.5);
        }
        let granted = (0..100).filter(|_| budget.withdraw(1.0)).count();
        assert_eq!(granted, 25, "20 of 100 submissions plus the reserve of 5");
        // Once the window has passed, the spent retries no longer count; the old
        // submissions neither.
        let granted = (0..100).filter(|_| budget.withdraw(12.0)).count();
        assert_eq!(granted, 5);
    }

    #[test]
    fn no_reserve_and_no_submissions_allow_no_retry() {
        let mut budget = RetryBudget::new(10.0, 0.2, 0.0);
        assert!(!budget.withdraw(0.0));
        for _ in 0..5 {
            budget.deposit(0.0);
        }
        assert!(budget.withdraw(0.0));
        assert!(!budget.withdraw(0.0));
    }
}
