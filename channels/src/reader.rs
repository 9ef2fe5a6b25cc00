//! The receiving end of a channel, whatever transports its writers use.

use std::collections::HashSet;
use std::future::poll_fn;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use bytes::Bytes;
use tokio::sync::{mpsc, OwnedSemaphorePermit, Semaphore};
use tokio_tungstenite::tungstenite::Utf8Bytes;

use crate::memory::MemorySink;
use crate::writer::{Sink, Writer};
use crate::{ChannelError, Limits, Message};

/// What one writer's lane carries to the reader. Network connections deliver in batches so that the reader
/// pays one synchronisation per socket read, not one per message.
pub(crate) enum Item {
    One(Message),
    Frames(FrameBatch),
    /// The last item of a lane that ended badly; the lane counts as finished.
    Failed(Box<ChannelError>),
}

/// Messages as they came off a network connection: one shared chunk and where each message lies in it.
/// Messages are sliced out by the reader, on the reader's thread.
pub(crate) struct FrameBatch {
    pub(crate) data: Bytes,
    pub(crate) index: Vec<Entry>,
    /// Released when the reader has handed out the whole batch.
    pub(crate) budget: OwnedSemaphorePermit,
}

pub(crate) struct Entry {
    pub(crate) start: usize,
    pub(crate) len: usize,
    /// Text messages were checked to be UTF-8 by the connection task.
    pub(crate) text: bool,
}

/// The batch the reader is part-way through handing out, and the share of the lane's byte budget it holds.
/// The share is returned as soon as the last message has been handed out.
struct Pending {
    data: Bytes,
    index: std::vec::IntoIter<Entry>,
    budget: Option<OwnedSemaphorePermit>,
}

impl Pending {
    fn empty() -> Self {
        Pending { data: Bytes::new(), index: Vec::new().into_iter(), budget: None }
    }

    #[inline]
    fn next(&mut self, channel: &str) -> Option<Result<Message, ChannelError>> {
        let item = self.index.next().map(|e| {
            let payload = self.data.slice(e.start..e.start + e.len);
            if e.text {
                Utf8Bytes::try_from(payload).map(Message::from_utf8_bytes).map_err(|err| ChannelError::Protocol {
                    channel: channel.to_owned(),
                    peer: "connection".into(),
                    reason: format!("text frame is not UTF-8: {err}"),
                })
            } else {
                Ok(Message::bytes(payload))
            }
        });
        if self.index.len() == 0 {
            self.budget = None;
        }
        item
    }
}

/// Items queued per network writer; the byte budget, not this, is what normally bounds a network lane.
const NET_LANE_ITEMS: usize = 64;
/// Payload bytes a network writer may have queued at the reader (a bigger single message takes the whole
/// budget, so at most one such message is queued).
pub(crate) const NET_LANE_BYTES: usize = 1 << 20;

/// The sending side of a network writer's lane. Batches are sized by what one socket read brought, which
/// varies; bounding the lane by items alone would let a handful of tiny batches fill it. So each batch also
/// holds a share of a byte budget, returned when the reader has handed the batch out.
pub(crate) struct NetLane {
    tx: mpsc::Sender<Item>,
    budget: Arc<Semaphore>,
}

impl NetLane {
    fn new(tx: mpsc::Sender<Item>) -> Self {
        NetLane { tx, budget: Arc::new(Semaphore::new(NET_LANE_BYTES)) }
    }

    /// Waits until the lane can take a batch of `bytes` payload bytes; `None` once the reader is gone.
    pub(crate) async fn room(&self, bytes: usize) -> Option<OwnedSemaphorePermit> {
        // Clamped so that a message bigger than the whole budget can still pass, alone.
        let cost = bytes.clamp(1, NET_LANE_BYTES) as u32;
        tokio::select! {
            permit = self.budget.clone().acquire_many_owned(cost) => permit.ok(),
            _ = self.tx.closed() => None,
        }
    }

    pub(crate) async fn send(&self, item: Item) -> Result<(), ()> {
        self.tx.send(item).await.map_err(|_| ())
    }

    pub(crate) async fn closed(&self) {
        self.tx.closed().await
    }
}

/// One writer's lane into the reader: order is kept per lane, and the lane ends when its sender is dropped.
pub(crate) struct Lane {
    rx: mpsc::Receiver<Item>,
}

/// The state a reader shares with whatever attaches writers to it (its endpoint, its [`Channel`] handles).
pub(crate) struct Shared {
    pub(crate) channel: Arc<str>,
    pub(crate) limits: Limits,
    expected: usize,
    admitted: Mutex<HashSet<String>>,
    lanes: mpsc::Sender<Lane>,
}

impl Shared {
    /// Admits one more writer, returning the sending side of its lane. Refuses a duplicate writer id, a
    /// writer beyond the expected count, or any writer once the reader is gone.
    pub(crate) fn admit_net(&self, writer: &str) -> Result<NetLane, String> {
        self.admit(writer, NET_LANE_ITEMS).map(NetLane::new)
    }

    fn admit(&self, writer: &str, depth: usize) -> Result<mpsc::Sender<Item>, String> {
        let mut admitted = self.admitted.lock().unwrap_or_else(|p| p.into_inner());
        if admitted.contains(writer) {
            return Err(format!("writer id {writer} is already connected"));
        }
        if admitted.len() >= self.expected {
            return Err(format!("all {} expected writers are already connected", self.expected));
        }
        let (tx, rx) = mpsc::channel(depth.max(1));
        // The lane queue holds `expected` entries and at most `expected` writers are admitted, so it can only
        // fail because the reader is gone.
        self.lanes.try_send(Lane { rx }).map_err(|_| "the reader is gone".to_owned())?;
        admitted.insert(writer.to_owned());
        Ok(tx)
    }
}

/// A cloneable handle on a reader, used to attach in-process writers to it.
#[derive(Clone)]
pub struct Channel {
    shared: Arc<Shared>,
}

impl Channel {
    /// The channel id.
    pub fn id(&self) -> &str {
        &self.shared.channel
    }

    /// A writer in this process: messages go to the reader by reference, never copied or serialised.
    ///
    /// It counts as one of the reader's expected writers. Closing or dropping it ends its lane.
    pub fn memory_writer(&self, writer_id: &str) -> Result<Writer, ChannelError> {
        let tx = self
            .shared
            .admit(writer_id, self.shared.limits.memory_queue)
            .map_err(|reason| ChannelError::Setup { channel: self.shared.channel.to_string(), reason })?;
        let sink = Sink::Memory(MemorySink::new(self.shared.channel.clone(), tx));
        Ok(Writer::from_sink(self.shared.channel.clone(), writer_id.into(), sink, self.shared.limits.max_message))
    }
}

/// The receiving end of a channel.
///
/// It expects a fixed number of writers (fan-in) and ends, returning `None`, once every one of them has closed
/// or failed. Messages from one writer arrive in the order sent; lanes are served round-robin.
pub struct Reader {
    shared: Arc<Shared>,
    new_lanes: mpsc::Receiver<Lane>,
    lanes: Vec<Lane>,
    ended: usize,
    expected: usize,
    next: usize,
    pending: Pending,
}

impl Reader {
    /// A reader expecting `expected_writers` writers, to be attached with [`Channel::memory_writer`] (or,
    /// through [`Endpoint::register_reader`](crate::Endpoint::register_reader), over the network).
    pub fn new(channel_id: &str, expected_writers: usize, limits: Limits) -> Reader {
        let (lanes_tx, new_lanes) = mpsc::channel(expected_writers.max(1));
        let shared = Arc::new(Shared {
            channel: channel_id.into(),
            limits,
            expected: expected_writers,
            admitted: Mutex::new(HashSet::new()),
            lanes: lanes_tx,
        });
        Reader {
            shared,
            new_lanes,
            lanes: Vec::new(),
            ended: 0,
            expected: expected_writers,
            next: 0,
            pending: Pending::empty(),
        }
    }

    pub(crate) fn shared(&self) -> &Arc<Shared> {
        &self.shared
    }

    /// The channel id.
    pub fn id(&self) -> &str {
        &self.shared.channel
    }

    /// A handle for attaching in-process writers.
    pub fn channel(&self) -> Channel {
        Channel { shared: self.shared.clone() }
    }

    /// The next message; `None` once every expected writer has ended.
    ///
    /// A writer that ended badly (vanished, broke the protocol, declared an oversized frame) yields one `Err`,
    /// after everything it sent before; it then counts as ended. Cancel-safe: dropping the future loses nothing.
    pub async fn recv(&mut self) -> Option<Result<Message, ChannelError>> {
        if let Some(item) = self.pending.next(&self.shared.channel) {
            return Some(item);
        }
        poll_fn(|cx| self.poll_recv(cx)).await
    }

    fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<Message, ChannelError>>> {
        loop {
            while let Poll::Ready(Some(lane)) = self.new_lanes.poll_recv(cx) {
                self.lanes.push(lane);
            }
            if self.ended >= self.expected {
                return Poll::Ready(None);
            }
            let n = self.lanes.len();
            let mut lane_ended = false;
            for i in 0..n {
                let idx = (self.next + i) % n;
                match self.lanes[idx].rx.poll_recv(cx) {
                    Poll::Pending => continue,
                    Poll::Ready(Some(Item::One(msg))) => {
                        self.next = idx + 1;
                        return Poll::Ready(Some(Ok(msg)));
                    }
                    Poll::Ready(Some(Item::Frames(FrameBatch { data, index, budget }))) => {
                        self.next = idx + 1;
                        self.pending = Pending { data, index: index.into_iter(), budget: Some(budget) };
                        if let Some(item) = self.pending.next(&self.shared.channel) {
                            return Poll::Ready(Some(item));
                        }
                    }
                    Poll::Ready(Some(Item::Failed(err))) => {
                        self.lanes.swap_remove(idx);
                        self.ended += 1;
                        return Poll::Ready(Some(Err(*err)));
                    }
                    Poll::Ready(None) => {
                        self.lanes.swap_remove(idx);
                        self.ended += 1;
                        lane_ended = true;
                        break;
                    }
                }
            }
            if !lane_ended {
                return Poll::Pending;
            }
        }
    }
}

impl std::fmt::Debug for Reader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reader")
            .field("channel", &self.shared.channel)
            .field("expected", &self.expected)
            .field("ended", &self.ended)
            .finish()
    }
}
