//! The flood guard: the set of connections an endpoint has accepted that have not finished their hello.
//!
//! A writer sends its hello as soon as it is connected, so a connection that has sent nothing for a while is a
//! stranger. The set holds at most [`MAX_PENDING_HANDSHAKES`]. When a new connection arrives and the set is
//! full, the oldest connection that has been silent for half the hello timeout (not a single byte) is closed to make room;
//! if there is none, the endpoint stops accepting until a pending connection settles or one has been silent
//! that long, and new arrivals wait in the kernel's listen backlog ([`LISTEN_BACKLOG`]). So a flood of silent
//! strangers costs at most the bound and holds a writer up by at most half the hello timeout, and thousands of writers
//! connecting at once all get in, 256 at a time.

use std::collections::VecDeque;
use std::os::fd::{AsRawFd, RawFd};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;

use tokio::net::TcpStream;
use tokio::sync::{oneshot, Notify};

/// Connections still in their handshake at once (the same bound in every runner; `docs/protocol.md`).
pub const MAX_PENDING_HANDSHAKES: usize = 256;

/// The listen backlog asked for; the kernel caps it at `net.core.somaxconn` (4096 by default since Linux 5.4).
pub const LISTEN_BACKLOG: u32 = 4096;

pub(crate) struct Pending {
    set: Mutex<Set>,
    freed: Notify,
    /// How long a connection may stay silent before it may be closed to make room: half the hello timeout.
    /// Less is not safe: a writer on a loaded machine (several runners opening thousands of connections) can
    /// be a second or more late with the hello of a connection the kernel completed for it.
    silence: Duration,
}

#[derive(Default)]
struct Set {
    next: u64,
    /// Oldest first.
    entries: VecDeque<Entry>,
}

struct Entry {
    id: u64,
    since: Instant,
    /// Valid while the entry is here and has not spoken: its task keeps the socket open until then.
    fd: RawFd,
    spoke: bool,
    evict: Option<oneshot::Sender<()>>,
}

/// One connection's place in the set; dropping it frees the place.
pub(crate) struct Slot {
    pending: Arc<Pending>,
    id: u64,
    evicted: Option<oneshot::Receiver<()>>,
}

/// How the wait for a connection's first byte ended.
pub(crate) enum FirstByte {
    Spoke,
    /// Closed to make room for a newer connection.
    Evicted,
}

impl Pending {
    pub(crate) fn new(hello_timeout: Duration) -> Arc<Pending> {
        let silence = hello_timeout / 2;
        Arc::new(Pending { set: Mutex::new(Set::default()), freed: Notify::new(), silence })
    }

    /// A place for `stream`, once there is room: waits while no pending connection may be closed for it.
    pub(crate) async fn admit(self: &Arc<Pending>, stream: &TcpStream) -> Slot {
        loop {
            let freed = self.freed.notified();
            match self.try_admit(stream.as_raw_fd()) {
                Ok(slot) => return slot,
                Err(Some(silent_enough)) => {
                    tokio::select! {
                        _ = freed => {}
                        _ = tokio::time::sleep_until(silent_enough) => {}
                    }
                }
                Err(None) => freed.await,
            }
        }
    }

    /// The slot, or when the oldest silent connection may be closed for it (`None`: none is silent).
    fn try_admit(self: &Arc<Pending>, fd: RawFd) -> Result<Slot, Option<Instant>> {
        let mut set = self.set.lock().unwrap_or_else(|p| p.into_inner());
        if set.entries.len() >= MAX_PENDING_HANDSHAKES {
            set.evict_oldest_silent(Instant::now(), self.silence)?;
        }
        set.next += 1;
        let id = set.next;
        let (evict, evicted) = oneshot::channel();
        set.entries.push_back(Entry { id, since: Instant::now(), fd, spoke: false, evict: Some(evict) });
        Ok(Slot { pending: self.clone(), id, evicted: Some(evicted) })
    }
}

impl Set {
    /// Closes the oldest connection silent for `silence`; or says when the oldest silent one will have been.
    fn evict_oldest_silent(&mut self, now: Instant, silence: Duration) -> Result<(), Option<Instant>> {
        for index in 0..self.entries.len() {
            let entry = &mut self.entries[index];
            if entry.spoke {
                continue;
            }
            if now < entry.since + silence {
                return Err(Some(entry.since + silence));
            }
            // Its task may not have looked yet: ask the socket itself whether bytes are waiting.
            if has_spoken(entry.fd) {
                entry.spoke = true;
                continue;
            }
            if let Some(entry) = self.entries.remove(index) {
                if let Some(evict) = entry.evict {
                    let _ = evict.send(());
                }
            }
            return Ok(());
        }
        Err(None)
    }
}

/// Whether bytes (or an end of stream) wait on the socket, without taking them.
fn has_spoken(fd: RawFd) -> bool {
    let mut byte = 0u8;
    // SAFETY: `fd` is an open socket (see `Entry::fd`) and the buffer is one valid byte.
    let n = unsafe { libc::recv(fd, (&mut byte as *mut u8).cast(), 1, libc::MSG_PEEK | libc::MSG_DONTWAIT) };
    // 0 is an orderly close: that connection is gone anyway, so it may as well be evicted.
    n > 0
}

impl Slot {
    /// Waits for the connection's first byte (not taking it), or for its eviction.
    pub(crate) async fn first_byte(&mut self, stream: &TcpStream) -> FirstByte {
        let mut first = [0u8; 1];
        let Some(evicted) = self.evicted.take() else { return FirstByte::Evicted };
        tokio::select! {
            _ = evicted => FirstByte::Evicted,
            _ = stream.peek(&mut first) => {
                let mut set = self.pending.set.lock().unwrap_or_else(|p| p.into_inner());
                match set.entries.iter_mut().find(|e| e.id == self.id) {
                    Some(entry) => {
                        entry.spoke = true;
                        entry.evict = None;
                        FirstByte::Spoke
                    }
                    // Evicted between the byte's arrival and now.
                    None => FirstByte::Evicted,
                }
            }
        }
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut set = self.pending.set.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(index) = set.entries.iter().position(|e| e.id == self.id) {
            set.entries.remove(index);
        }
        drop(set);
        self.pending.freed.notify_one();
    }
}
