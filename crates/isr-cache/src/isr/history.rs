//! The cache's hit rate over time: its counters sampled at a fixed interval
//! (the app samples once a minute), the last [`HISTORY_SAMPLES`] kept.

use std::collections::VecDeque;

use super::metrics::Metrics;

/// How many samples are kept (an hour of one-minute samples).
pub const HISTORY_SAMPLES: usize = 60;

/// What the cache did between one sample and the one before.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sample {
    /// When it was taken, in clock milliseconds.
    pub at: u64,
    pub hits: u64,
    pub stale: u64,
    pub misses: u64,
}

impl Sample {
    /// Requests answered from the cache (fresh or stale) in percent; `None`
    /// when there were none.
    pub fn hit_rate(&self) -> Option<u64> {
        crate::hit_rate(self.hits, self.stale, self.misses)
    }
}

/// The samples so far, and the totals at the last one.
#[derive(Debug, Default)]
pub(super) struct History {
    samples: VecDeque<Sample>,
    /// hits, stale, misses when the last sample was taken.
    totals: (u64, u64, u64),
}

impl History {
    /// Takes a sample of `metrics` at `at`.
    pub(super) fn sample(&mut self, metrics: &Metrics, at: u64) {
        let totals = (metrics.hits.get(), metrics.stale.get(), metrics.misses.get());
        let (hits, stale, misses) = self.totals;
        self.samples.push_back(Sample {
            at,
            hits: totals.0.saturating_sub(hits),
            stale: totals.1.saturating_sub(stale),
            misses: totals.2.saturating_sub(misses),
        });
        self.totals = totals;
        while self.samples.len() > HISTORY_SAMPLES {
            self.samples.pop_front();
        }
    }

    /// Oldest first.
    pub(super) fn samples(&self) -> Vec<Sample> {
        self.samples.iter().copied().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_count_what_happened_since_the_last_and_keep_an_hour() {
        let metrics = Metrics::default();
        let mut history = History::default();
        metrics.hits.inc_by(3);
        metrics.misses.inc();
        history.sample(&metrics, 60_000);
        metrics.stale.inc();
        history.sample(&metrics, 120_000);
        history.sample(&metrics, 180_000);
        let samples = history.samples();
        assert_eq!(
            samples.iter().map(|s| (s.at, s.hits, s.stale, s.misses)).collect::<Vec<_>>(),
            [(60_000, 3, 0, 1), (120_000, 0, 1, 0), (180_000, 0, 0, 0)]
        );
        assert_eq!(
            samples.iter().map(Sample::hit_rate).collect::<Vec<_>>(),
            [Some(75), Some(100), None]
        );
        for minute in 4..=100 {
            history.sample(&metrics, minute * 60_000);
        }
        let samples = history.samples();
        assert_eq!(samples.len(), HISTORY_SAMPLES);
        assert_eq!(samples.last().map(|s| s.at), Some(100 * 60_000));
    }
}
