//! A count's rate over the last second. Runners report on their own clocks, and a channel's count
//! comes from its writers' runner or its readers', so a rate between two reports jumps about; one
//! over a window stays steady.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

const WINDOW: Duration = Duration::from_secs(1);

#[derive(Debug, Clone)]
pub struct RateMeter {
    /// (when, count), oldest first; the oldest kept is the last one at least WINDOW old.
    samples: VecDeque<(Instant, u64)>,
}

impl RateMeter {
    /// A meter that counts from zero at `start`.
    pub fn new(start: Instant) -> RateMeter {
        RateMeter { samples: VecDeque::from([(start, 0)]) }
    }

    pub fn record(&mut self, at: Instant, count: u64) {
        self.samples.push_back((at, count));
        while self.samples.len() > 2 && self.samples.get(1).is_some_and(|(t, _)| at.duration_since(*t) >= WINDOW) {
            self.samples.pop_front();
        }
    }

    /// The latest count.
    pub fn count(&self) -> u64 {
        self.samples.back().map_or(0, |(_, count)| *count)
    }

    /// As [`rate`](Self::rate), but 0 once nothing has been recorded for a whole window before `now`:
    /// a channel whose counts stopped coming (its run ended) is not moving.
    pub fn rate_at(&self, now: Instant) -> f64 {
        match self.samples.back() {
            Some((at, _)) if now.saturating_duration_since(*at) <= WINDOW => self.rate(),
            _ => 0.0,
        }
    }

    /// Per second, between the oldest sample kept and the latest.
    pub fn rate(&self) -> f64 {
        match (self.samples.front(), self.samples.back()) {
            (Some((first_at, first)), Some((last_at, last))) if last_at > first_at => {
                last.saturating_sub(*first) as f64 / last_at.duration_since(*first_at).as_secs_f64()
            }
            _ => 0.0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rate_covers_the_last_second() {
        let start = Instant::now();
        let mut meter = RateMeter::new(start);
        assert_eq!(meter.rate(), 0.0);
        meter.record(start + Duration::from_millis(500), 1_000);
        assert_eq!(meter.rate(), 2_000.0);
        meter.record(start + Duration::from_millis(1_500), 1_500);
        meter.record(start + Duration::from_millis(2_500), 4_500);
        // Samples older than a second before the latest are dropped, but one at the window's edge stays.
        assert_eq!(meter.rate(), 3_000.0);
        assert_eq!(meter.count(), 4_500);
        assert_eq!(meter.rate_at(start + Duration::from_millis(3_000)), 3_000.0);
        assert_eq!(meter.rate_at(start + Duration::from_millis(3_600)), 0.0);
    }
}
