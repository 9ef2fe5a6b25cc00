//! Per channel end counters (messages and bytes), and the snapshots the runtime reports as `stats`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use riffle_protocol::{EndStats, Role};

/// The counters of one channel end.
///
/// Only the end's owner writes them, so it keeps its own running totals and publishes them with plain
/// stores: an atomic store costs what an ordinary one does, whereas a `fetch_add` per message would be a
/// locked instruction on the hot path of every channel.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    messages: AtomicU64,
    bytes: AtomicU64,
    blocked_us: AtomicU64,
}

impl Counters {
    #[inline]
    pub(crate) fn publish(&self, messages: u64, bytes: u64) {
        self.messages.store(messages, Ordering::Relaxed);
        self.bytes.store(bytes, Ordering::Relaxed);
    }
}

/// A channel end's running totals, kept by the [`Reader`](crate::Reader) or [`Writer`](crate::Writer) that
/// owns it and published to the shared [`Counters`] after every message.
#[derive(Debug)]
pub(crate) struct Tally {
    messages: u64,
    bytes: u64,
    blocked_us: u64,
    shared: Arc<Counters>,
}

impl Tally {
    pub(crate) fn new(shared: Arc<Counters>) -> Self {
        Tally { messages: 0, bytes: 0, blocked_us: 0, shared }
    }

    /// A tally nobody reports, for ends made outside the runtime.
    pub(crate) fn detached() -> Self {
        Tally::new(Arc::default())
    }

    #[inline]
    pub(crate) fn count(&mut self, bytes: usize) {
        self.messages += 1;
        self.bytes += bytes as u64;
        self.shared.publish(self.messages, self.bytes);
    }

    /// A writer's total wait for room so far; published only when it grew, which is rare.
    #[inline]
    pub(crate) fn blocked(&mut self, total: std::time::Duration) {
        let us = total.as_micros() as u64;
        if us != self.blocked_us {
            self.blocked_us = us;
            self.shared.blocked_us.store(us, Ordering::Relaxed);
        }
    }
}

struct End {
    channel: String,
    processor: String,
    role: Role,
    counters: Arc<Counters>,
}

/// Every channel end of this runner, in the order they were registered.
#[derive(Clone, Default)]
pub(crate) struct StatsBoard {
    ends: Arc<Mutex<Vec<End>>>,
}

impl StatsBoard {
    /// Registers one end and returns the counters it publishes to.
    pub(crate) fn register(&self, channel: &str, processor: &str, role: Role) -> Arc<Counters> {
        let counters = Arc::new(Counters::default());
        let end = End { channel: channel.into(), processor: processor.into(), role, counters: counters.clone() };
        self.ends.lock().unwrap_or_else(|p| p.into_inner()).push(end);
        counters
    }

    /// The counters of every end so far.
    pub(crate) fn snapshot(&self) -> Vec<EndStats> {
        let ends = self.ends.lock().unwrap_or_else(|p| p.into_inner());
        ends.iter()
            .map(|end| EndStats {
                channel: end.channel.clone(),
                processor: end.processor.clone(),
                role: end.role,
                messages: end.counters.messages.load(Ordering::Relaxed),
                bytes: end.counters.bytes.load(Ordering::Relaxed),
                blocked_us: (end.role == Role::Writer).then(|| end.counters.blocked_us.load(Ordering::Relaxed)),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tallies_reach_the_snapshot() {
        let board = StatsBoard::default();
        let mut tally = Tally::new(board.register("urn:c", "urn:p", Role::Writer));
        tally.count(10);
        tally.count(5);
        let snapshot = board.snapshot();
        assert_eq!(snapshot.len(), 1);
        assert_eq!((snapshot[0].messages, snapshot[0].bytes), (2, 15));
        assert_eq!(snapshot[0].role, Role::Writer);
    }
}
