//! One network writer's socket task, for both network transports: it takes what `send` queued in the
//! [`Outbox`], writes it, and while there is nothing to write watches the connection for a reader that went
//! away. What differs between TCP and WebSocket is a [`Connection`].

use std::future::Future;
use std::io;
use std::sync::Arc;

use crate::outbox::{Outbox, Queue};
use crate::ChannelError;

/// The socket task waits for the sender to queue this much (see `Outbox::linger`) before writing.
const LINGER_UNTIL: usize = 128 * 1024;

/// A writer's side of one connection, once the reader accepted it.
pub(crate) trait Connection: Send + 'static {
    type Queue: Queue;

    /// Writes one batch taken from the outbox.
    fn write(&mut self, batch: &Self::Queue) -> impl Future<Output = Result<(), String>> + Send;

    /// Reads what the reader sends. Raced against new messages, so it must lose nothing when dropped.
    fn read(&mut self) -> impl Future<Output = io::Result<usize>> + Send;

    /// Handles what [`Connection::read`] brought. The reader says nothing before the writer's close, so
    /// anything the protocol does not expect (end of stream, a refusal, data) means it went away.
    fn heard(&mut self, read: io::Result<usize>) -> impl Future<Output = Result<(), String>> + Send;

    /// After the last batch: closes properly and waits for the reader's acknowledgement, which it sends
    /// once it has read everything before it.
    fn finish(&mut self) -> impl Future<Output = Result<(), String>> + Send;
}

/// The socket task. Its failure is recorded in the outbox, so that a waiting or later `send` fails with it.
pub(crate) async fn write_loop<C: Connection>(
    mut conn: C,
    outbox: Arc<Outbox<C::Queue>>,
    channel: Arc<str>,
) -> Result<(), ChannelError> {
    let result = drive(&mut conn, &outbox).await;
    if let Err(reason) = &result {
        outbox.fail(reason.clone());
    }
    result.map_err(|reason| ChannelError::ReaderVanished { channel: channel.to_string(), reason })
}

async fn drive<C: Connection>(conn: &mut C, outbox: &Outbox<C::Queue>) -> Result<(), String> {
    let mut batch = C::Queue::default();
    loop {
        outbox.linger(LINGER_UNTIL).await;
        let taken = outbox.take(&mut batch);
        if batch.is_empty() {
            if taken.closing {
                return conn.finish().await;
            }
            if outbox.linger_idle().await {
                continue;
            }
            // Idle: watch the connection too, to notice a reader that went away now rather than at the next
            // send.
            let heard = tokio::select! {
                _ = outbox.work() => None,
                r = conn.read() => Some(r),
            };
            if let Some(read) = heard {
                conn.heard(read).await?;
            }
            continue;
        }
        conn.write(&batch).await?;
        batch.clear();
    }
}
