//! Building a processor from its JSON arguments: the live channel ends waiting to replace
//! `{"@reader": id}` and `{"@writer": id}`.
//!
//! Serde gives a `Deserialize` impl no way to receive extra context, so the runtime puts the processor's ends
//! in a thread-local table for the duration of one synchronous `serde_json::from_value` call, and
//! [`Reader`]'s and [`Writer`]'s `Deserialize` impls take their end out of it. The table is per thread and
//! per call, so two processors can never see each other's ends.

use std::cell::RefCell;
use std::collections::{HashMap, VecDeque};

use crate::{Reader, Writer};

/// The live ends assigned to one processor, by channel id. A processor may hold several ends of one
/// channel (unusual, but legal); they are handed out in assignment order.
#[derive(Default)]
pub(crate) struct Ends {
    pub(crate) processor: String,
    readers: HashMap<String, VecDeque<Reader>>,
    writers: HashMap<String, VecDeque<Writer>>,
    /// Channels of which an end was already taken, to tell "taken twice" from "never assigned".
    taken_readers: Vec<String>,
    taken_writers: Vec<String>,
}

impl Ends {
    pub(crate) fn new(processor: &str) -> Self {
        Ends { processor: processor.to_owned(), ..Ends::default() }
    }

    pub(crate) fn add_reader(&mut self, channel: &str, reader: Reader) {
        self.readers.entry(channel.to_owned()).or_default().push_back(reader);
    }

    pub(crate) fn add_writer(&mut self, channel: &str, writer: Writer) {
        self.writers.entry(channel.to_owned()).or_default().push_back(writer);
    }

    pub(crate) fn has_readers(&self) -> bool {
        !self.readers.is_empty()
    }

    /// The ends the processor's arguments did not claim.
    pub(crate) fn into_unclaimed(self) -> (Vec<Reader>, Vec<Writer>) {
        (self.readers.into_values().flatten().collect(), self.writers.into_values().flatten().collect())
    }

    fn take_reader(&mut self, channel: &str) -> Result<Reader, String> {
        match self.readers.get_mut(channel).and_then(VecDeque::pop_front) {
            Some(reader) => {
                if self.readers.get(channel).is_some_and(VecDeque::is_empty) {
                    self.readers.remove(channel);
                }
                self.taken_readers.push(channel.to_owned());
                Ok(reader)
            }
            None if self.taken_readers.iter().any(|c| c == channel) => Err(format!(
                "the reader of channel {channel} is used twice in the arguments of processor {}",
                self.processor
            )),
            None => Err(format!(
                "channel {channel} has no reader end for processor {} in this runner's assignment",
                self.processor
            )),
        }
    }

    fn take_writer(&mut self, channel: &str) -> Result<Writer, String> {
        match self.writers.get_mut(channel).and_then(VecDeque::pop_front) {
            Some(writer) => {
                if self.writers.get(channel).is_some_and(VecDeque::is_empty) {
                    self.writers.remove(channel);
                }
                self.taken_writers.push(channel.to_owned());
                Ok(writer)
            }
            None if self.taken_writers.iter().any(|c| c == channel) => Err(format!(
                "the writer of channel {channel} is used twice in the arguments of processor {}",
                self.processor
            )),
            None => Err(format!(
                "channel {channel} has no writer end for processor {} in this runner's assignment",
                self.processor
            )),
        }
    }
}

thread_local! {
    static SCOPE: RefCell<Option<Ends>> = const { RefCell::new(None) };
}

/// Runs `build` with `ends` available to the `Deserialize` impls of [`Reader`] and [`Writer`], and returns
/// what it built together with the ends it left.
pub(crate) fn with_ends<T>(ends: Ends, build: impl FnOnce() -> T) -> (T, Ends) {
    /// Empties the table even if `build` panics, so that a later construction on this thread never sees a
    /// stale one.
    struct ClearOnDrop;
    impl Drop for ClearOnDrop {
        fn drop(&mut self) {
            SCOPE.with(|scope| scope.borrow_mut().take());
        }
    }
    SCOPE.with(|scope| *scope.borrow_mut() = Some(ends));
    let _clear = ClearOnDrop;
    let built = build();
    let ends = SCOPE.with(|scope| scope.borrow_mut().take()).unwrap_or_default();
    (built, ends)
}

const OUTSIDE: &str = "live channel ends are only deserialised by the Riffle runtime while it builds a processor \
                       from its arguments";

pub(crate) fn take_reader(channel: &str) -> Result<Reader, String> {
    SCOPE.with(|scope| match scope.borrow_mut().as_mut() {
        Some(ends) => ends.take_reader(channel),
        None => Err(OUTSIDE.to_owned()),
    })
}

pub(crate) fn take_writer(channel: &str) -> Result<Writer, String> {
    SCOPE.with(|scope| match scope.borrow_mut().as_mut() {
        Some(ends) => ends.take_writer(channel),
        None => Err(OUTSIDE.to_owned()),
    })
}
