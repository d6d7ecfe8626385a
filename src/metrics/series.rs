//! Queue depth over the last minutes: one sample per `every_s`, at most `len` kept.
//! Plain data; the caller supplies the time.

use std::collections::VecDeque;

#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, utoipa::ToSchema)]
pub struct QueueSample {
    pub unix_ms: u64,
    pub queued: usize,
    pub running: usize,
}

pub struct QueueHistory {
    every_ms: u64,
    len: usize,
    samples: VecDeque<QueueSample>,
}

impl QueueHistory {
    pub fn new(every_ms: u64, len: usize) -> Self {
        Self {
            every_ms,
            len,
            samples: VecDeque::new(),
        }
    }

    /// Keeps `sample` if `every_ms` passed since the last kept one.
    pub fn offer(&mut self, sample: QueueSample) {
        if self
            .samples
            .back()
            .is_some_and(|last| sample.unix_ms < last.unix_ms + self.every_ms)
        {
            return;
        }
        self.samples.push_back(sample);
        while self.samples.len() > self.len {
            self.samples.pop_front();
        }
    }

    pub fn samples(&self) -> Vec<QueueSample> {
        self.samples.iter().copied().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(unix_ms: u64, queued: usize) -> QueueSample {
        QueueSample {
            unix_ms,
            queued,
            running: 0,
        }
    }

    #[test]
    fn one_sample_per_period_and_a_bounded_length() {
        let mut history = QueueHistory::new(1000, 3);
        for (t, q) in [(0, 1), (500, 2), (1000, 3), (2100, 4), (2500, 5), (3100, 6)] {
            history.offer(at(t, q));
        }
        let kept: Vec<usize> = history.samples().iter().map(|s| s.queued).collect();
        assert_eq!(kept, vec![3, 4, 6]);
    }
}
