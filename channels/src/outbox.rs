//! The bounded hand-off between a network writer's `send` and the task that owns its socket.
//!
//! `send` appends under a short lock; the socket task swaps the whole queue out in O(1), writes it, and only
//! goes idle when it finds the queue empty. That is what batches writes: every message that arrives while a
//! write is in progress goes out in the next single write, and nothing is ever flushed per message.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};

use bytes::Bytes;
use tokio::sync::Notify;

use crate::frame::{put_header, Kind};
use crate::Message;

/// Per-message bookkeeping charged on top of the payload, so that a flood of empty messages is bounded too.
const PER_MESSAGE_COST: usize = 32;

/// Upper bound on [`Outbox::linger`]'s yields, so a trickling sender cannot hold a write back for long. Each
/// yield makes the runtime poll its I/O driver, so more is not better: 64 measured best here.
const MAX_LINGER_YIELDS: usize = 64;

/// What a socket task drains: a queue of outgoing messages in some transport-specific shape.
pub(crate) trait Queue: Default + Send + Sync + 'static {
    fn push(&mut self, msg: Message);
    fn is_empty(&self) -> bool;
    fn clear(&mut self);
}

/// Payloads at least this long are queued by reference instead of being copied into the frame buffer.
const BIG: usize = 16 * 1024;

/// How a transport puts a message on the wire: the header before it, and the payload (copied, for the small
/// ones) after it.
pub(crate) trait Wire: Default + Send + Sync + 'static {
    fn put_header(&mut self, buf: &mut Vec<u8>, text: bool, len: usize);
    fn put_payload(&mut self, buf: &mut Vec<u8>, payload: &[u8]);
}

/// TCP frames (FRAMING.md): a length and a kind byte, then the payload as it is.
#[derive(Default)]
pub(crate) struct TcpWire;

impl Wire for TcpWire {
    #[inline]
    fn put_header(&mut self, buf: &mut Vec<u8>, text: bool, len: usize) {
        // The writer checked the size against a limit that is at most u32::MAX.
        put_header(buf, if text { Kind::Text } else { Kind::Bytes }, len as u32);
    }

    #[inline]
    fn put_payload(&mut self, buf: &mut Vec<u8>, payload: &[u8]) {
        buf.extend_from_slice(payload);
    }
}

/// A network writer's queue: small messages are encoded straight into one contiguous buffer (so the writer
/// task does one `write` for thousands of them, and each message's `Bytes` is released on the sending
/// thread); big payloads are kept by reference, after their header, and spliced in at their offset by the
/// socket task.
#[derive(Default)]
pub(crate) struct Frames<W> {
    pub(crate) buf: Vec<u8>,
    /// (offset in `buf` after which the payload goes, payload)
    pub(crate) big: Vec<(usize, Bytes)>,
    wire: W,
}

impl<W: Wire> Queue for Frames<W> {
    #[inline]
    fn push(&mut self, msg: Message) {
        self.wire.put_header(&mut self.buf, msg.is_text(), msg.len());
        if msg.len() >= BIG {
            self.big.push((self.buf.len(), msg.into_bytes()));
        } else {
            self.wire.put_payload(&mut self.buf, msg.as_bytes());
        }
    }

    fn is_empty(&self) -> bool {
        // Every message adds a header to `buf`.
        self.buf.is_empty()
    }

    fn clear(&mut self) {
        self.buf.clear();
        self.big.clear();
    }
}

struct State<Q> {
    queue: Q,
    /// Bytes charged for what is in `queue` (not what the task is currently writing).
    bytes: usize,
    closing: bool,
    failure: Option<String>,
    task_idle: bool,
    sender_waiting: bool,
}

#[repr(align(128))]
struct Padded(AtomicUsize);

pub(crate) struct Outbox<Q> {
    state: Mutex<State<Q>>,
    /// Mirror of `State::bytes` that the socket task can watch without taking the lock. On its own cache line,
    /// so that the socket task watching it does not steal the lock's line from the sender on every push.
    queued: Padded,
    capacity: usize,
    wake_task: Notify,
    wake_sender: Notify,
}

/// Why [`Outbox::try_push`] did not queue a message.
pub(crate) enum Full {
    /// The queue is full; the message is handed back.
    Yes(Message),
    /// The socket task failed, for this reason.
    Failed(String),
}

/// What the socket task found when it took the queue.
pub(crate) struct Taken {
    pub(crate) closing: bool,
}

impl<Q: Queue> Outbox<Q> {
    pub(crate) fn new(capacity: usize) -> Self {
        Outbox {
            state: Mutex::new(State {
                queue: Q::default(),
                bytes: 0,
                closing: false,
                failure: None,
                task_idle: false,
                sender_waiting: false,
            }),
            queued: Padded(AtomicUsize::new(0)),
            capacity: capacity.max(1),
            wake_task: Notify::new(),
            wake_sender: Notify::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State<Q>> {
        // A panic while holding this lock cannot leave the queue half-updated in a way that matters more than
        // the panic itself, so poisoning is ignored rather than propagated as a second panic.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Queues a message, waiting while the queue is full. Fails with the socket task's reason once it failed.
    pub(crate) async fn push(&self, msg: Message) -> Result<(), String> {
        let mut msg = msg;
        loop {
            match self.try_push(msg) {
                Ok(()) => return Ok(()),
                Err(Full::Failed(reason)) => return Err(reason),
                // notify_one stores a permit if it fires before we get here, so no wake-up is lost.
                Err(Full::Yes(back)) => msg = back,
            }
            self.wake_sender.notified().await;
        }
    }

    /// Queues a message if there is room, without waiting. The sender's hot path: kept synchronous so the
    /// message is not moved through layers of future state.
    #[inline]
    pub(crate) fn try_push(&self, msg: Message) -> Result<(), Full> {
        let cost = msg.len().saturating_add(PER_MESSAGE_COST);
        let mut st = self.lock();
        if let Some(reason) = &st.failure {
            return Err(Full::Failed(reason.clone()));
        }
        // An empty queue always admits one message, however big, or a message above the capacity could
        // never be sent.
        if st.bytes != 0 && st.bytes + cost > self.capacity {
            st.sender_waiting = true;
            return Err(Full::Yes(msg));
        }
        st.queue.push(msg);
        st.bytes += cost;
        self.queued.0.store(st.bytes, Ordering::Relaxed);
        let wake = std::mem::take(&mut st.task_idle);
        drop(st);
        if wake {
            self.wake_task.notify_one();
        }
        Ok(())
    }

    /// Socket task: swaps the queue with `spare` (which must be empty) and frees its space for the sender.
    pub(crate) fn take(&self, spare: &mut Q) -> Taken {
        let mut st = self.lock();
        std::mem::swap(&mut st.queue, spare);
        st.bytes = 0;
        self.queued.0.store(0, Ordering::Relaxed);
        let closing = st.closing;
        let wake = std::mem::take(&mut st.sender_waiting);
        if spare.is_empty() {
            st.task_idle = true;
        }
        drop(st);
        if wake {
            self.wake_sender.notify_one();
        }
        Taken { closing }
    }

    /// Socket task: if a little is queued and the sender is still adding, let it go on for a moment, so that
    /// the next write carries a buffer's worth instead of the few messages that arrived during the last write.
    ///
    /// "A moment" is a few scheduler yields, never a timer: as soon as the queue stops growing between two
    /// looks (the sender paused, i.e. its queue ran empty) or reaches `enough`, the task goes on and writes.
    /// Without this, a socket task that is faster than its sender writes a few dozen small messages per
    /// syscall, and the syscalls, not the bytes, become the cost.
    pub(crate) async fn linger(&self, enough: usize) {
        let mut last = self.queued.0.load(Ordering::Relaxed);
        for _ in 0..MAX_LINGER_YIELDS {
            if last == 0 || last >= enough {
                return;
            }
            tokio::task::yield_now().await;
            let now = self.queued.0.load(Ordering::Relaxed);
            if now == last {
                return;
            }
            last = now;
        }
    }

    /// Socket task, queue found empty: keeps looking for a few scheduler yields before parking.
    ///
    /// Parking means the next `push` wakes this task onto the sender's own worker thread (tokio's "run next"
    /// slot, which other workers cannot steal), after which sender and socket take turns on one core; a
    /// sender that is merely between two sends finds the task still running on its own worker instead.
    /// Returns whether something arrived.
    pub(crate) async fn linger_idle(&self) -> bool {
        for _ in 0..MAX_LINGER_YIELDS {
            tokio::task::yield_now().await;
            if self.queued.0.load(Ordering::Relaxed) != 0 {
                return true;
            }
        }
        false
    }

    /// Socket task: waits until `push` or `close` has something for it (after a `take` that found nothing).
    pub(crate) async fn work(&self) {
        self.wake_task.notified().await;
    }

    /// Asks the socket task to finish: drain, then close the connection properly.
    pub(crate) fn close(&self) {
        let mut st = self.lock();
        st.closing = true;
        st.task_idle = false;
        drop(st);
        self.wake_task.notify_one();
    }

    /// Socket task: records why it stopped, so that a waiting or later `push` fails instead of hanging.
    pub(crate) fn fail(&self, reason: String) {
        let mut st = self.lock();
        st.failure.get_or_insert(reason);
        drop(st);
        self.wake_sender.notify_one();
    }
}
