//! Liveness of data connections: a peer whose host or link goes silent must fail the connection within
//! the run's heartbeat deadline, not after the hours TCP waits by default. The kernel's keepalive probes
//! do that for an idle connection (a reader waiting for its writer, a writer with nothing to send), and
//! `TCP_USER_TIMEOUT` for one whose sent bytes go unacknowledged, without a byte of the channel protocol
//! and without cost while data flows.

use std::io;
use std::net::IpAddr;
use std::os::fd::AsRawFd;
use std::time::Duration;

/// Probes sent, one interval apart, after the connection has been idle for an interval: an unanswered
/// link fails after three intervals, so an interval is a third of the deadline (at least the 1 s the
/// kernel counts in).
const PROBES: u32 = 2;

/// The keepalive interval that makes an unanswered connection fail after about `silence`.
pub(crate) fn interval(silence: Duration) -> u32 {
    (silence.as_secs_f64() / f64::from(PROBES + 1)).ceil().max(1.0) as u32
}

/// Makes `socket` fail with `TimedOut` once its peer has been silent for about `silence`.
pub(crate) fn watch(socket: &impl AsRawFd, silence: Duration) -> io::Result<()> {
    let fd = socket.as_raw_fd();
    let every = interval(silence) as libc::c_int;
    set(fd, libc::SOL_SOCKET, libc::SO_KEEPALIVE, 1)?;
    set(fd, libc::IPPROTO_TCP, libc::TCP_KEEPIDLE, every)?;
    set(fd, libc::IPPROTO_TCP, libc::TCP_KEEPINTVL, every)?;
    set(fd, libc::IPPROTO_TCP, libc::TCP_KEEPCNT, PROBES as libc::c_int)?;
    let unacknowledged = silence.as_millis().clamp(1, libc::c_int::MAX as u128) as libc::c_int;
    set(fd, libc::IPPROTO_TCP, libc::TCP_USER_TIMEOUT, unacknowledged)
}

/// What a failed read or write on a connection with `peer` says: a timeout is the peer's silence.
pub(crate) fn reason(e: &io::Error, peer: IpAddr) -> String {
    if e.kind() == io::ErrorKind::TimedOut {
        format!("the link to {peer} went silent: no answer to keepalive probes within the heartbeat deadline ({e})")
    } else {
        e.to_string()
    }
}

fn set(fd: libc::c_int, level: libc::c_int, name: libc::c_int, value: libc::c_int) -> io::Result<()> {
    // SAFETY: `value` outlives the call, and its size is the one passed.
    let done = unsafe {
        libc::setsockopt(
            fd,
            level,
            name,
            (&value as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if done == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn three_intervals_make_the_deadline_in_whole_seconds() {
        assert_eq!(interval(Duration::from_secs(3)), 1);
        assert_eq!(interval(Duration::from_millis(200)), 1);
        assert_eq!(interval(Duration::from_secs(10)), 4);
        assert_eq!(interval(Duration::from_secs(30)), 10);
    }

    #[test]
    fn a_watched_socket_carries_the_options() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let stream = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        watch(&stream, Duration::from_secs(6)).unwrap();
        let get = |level, name| {
            let (mut value, mut len) = (0 as libc::c_int, std::mem::size_of::<libc::c_int>() as libc::socklen_t);
            let rc = unsafe {
                libc::getsockopt(stream.as_raw_fd(), level, name, (&mut value as *mut libc::c_int).cast(), &mut len)
            };
            assert_eq!(rc, 0);
            value
        };
        assert_eq!(get(libc::SOL_SOCKET, libc::SO_KEEPALIVE), 1);
        assert_eq!(get(libc::IPPROTO_TCP, libc::TCP_KEEPIDLE), 2);
        assert_eq!(get(libc::IPPROTO_TCP, libc::TCP_KEEPINTVL), 2);
        assert_eq!(get(libc::IPPROTO_TCP, libc::TCP_KEEPCNT), 2);
        assert_eq!(get(libc::IPPROTO_TCP, libc::TCP_USER_TIMEOUT), 6000);
    }
}
