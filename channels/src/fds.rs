//! The open-file limit: every network channel end is a socket, so a pipeline of 5,000 channels needs 5,000
//! descriptors on each side, above the usual soft limit of 1,024.

/// The soft and hard `RLIMIT_NOFILE` after [`raise_open_file_limit`] raised the soft one as far as it goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OpenFileLimit {
    pub soft: u64,
    pub hard: u64,
}

/// Raises the soft limit on open files to the hard limit (what Node and the JVM do at start-up on their
/// own). Returns the limits in force afterwards, or `None` when they cannot be read.
pub fn raise_open_file_limit() -> Option<OpenFileLimit> {
    let mut limit = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: `limit` is a valid rlimit to fill in.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 {
        return None;
    }
    if limit.rlim_cur < limit.rlim_max {
        let raised = libc::rlimit { rlim_cur: limit.rlim_max, rlim_max: limit.rlim_max };
        // SAFETY: as above; raising the soft limit up to the hard one needs no privilege.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) } == 0 {
            limit = raised;
        }
    }
    Some(OpenFileLimit { soft: limit.rlim_cur, hard: limit.rlim_max })
}

/// Why `needed` descriptors do not fit under `limit`, naming the limit and how to raise it; `None` if
/// they fit. `what` says who needs them (`this runner's 5000 channel ends`).
pub fn too_few_descriptors(limit: OpenFileLimit, needed: u64, what: &str) -> Option<String> {
    (needed > limit.soft).then(|| {
        format!(
            "{what} need about {needed} open files, above the open-file limit of {} (RLIMIT_NOFILE, hard limit {}); \
             raise it with `ulimit -n {needed}` (or `ulimit -Hn` as root, or LimitNOFILE= in a systemd unit) and run again",
            limit.soft, limit.hard
        )
    })
}
