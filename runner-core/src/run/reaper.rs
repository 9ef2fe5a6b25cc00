//! Leaving no process behind, however deep (Linux).
//!
//! - Each runner starts in its own process group, and a kill goes to the whole group, so what a processor
//!   starts and leaves in the group goes with it.
//! - riffle is a child subreaper (`PR_SET_CHILD_SUBREAPER`): a process of the run that leaves its group
//!   (`setsid`) or daemonises is re-parented to riffle instead of to init, so it stays a descendant; when the
//!   run ends, however it ends, [`sweep`] kills every descendant still alive and reaps it.
//! - Each runner gets `PR_SET_PDEATHSIG` = SIGKILL: if riffle itself is SIGKILLed (nothing of riffle runs
//!   any more), the kernel kills the runners. What the runners started is not covered then: only a cgroup
//!   could take that along, and riffle does not require one.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

/// Makes riffle the reaper of its orphaned descendants. Harmless to call more than once.
pub fn become_subreaper() {
    // SAFETY: prctl with integer arguments only.
    unsafe {
        libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
    }
}

/// In the child between fork and exec: die with the parent. Async-signal-safe calls only.
pub fn die_with_parent(parent: libc::pid_t) -> std::io::Result<()> {
    // SAFETY: prctl and getppid are async-signal-safe and take integers.
    unsafe {
        if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0) != 0 {
            return Err(std::io::Error::last_os_error());
        }
        // The parent may have died before the prctl: then nothing would send the signal.
        if libc::getppid() != parent {
            libc::_exit(1);
        }
    }
    Ok(())
}

/// SIGKILL to the process group `group` (a runner's: its pid).
pub fn kill_group(group: u32) {
    if let Ok(group) = libc::pid_t::try_from(group) {
        // SAFETY: kill takes integers; a negative pid names the group.
        unsafe {
            libc::kill(-group, libc::SIGKILL);
        }
    }
}

/// Kills every descendant of this process that is still alive and reaps the ones that became its
/// children, until none is left (or `patience` runs out). Returns how many it killed.
pub fn sweep(patience: Duration) -> usize {
    let me = std::process::id();
    let deadline = Instant::now() + patience;
    let mut killed = HashSet::new();
    loop {
        let descendants = descendants_of(me);
        if descendants.is_empty() {
            return killed.len();
        }
        for (pid, parent) in descendants {
            // SAFETY: kill and waitpid take integers; `pid` was a descendant a moment ago, and a pid whose
            // parent is riffle cannot be reused before riffle reaps it.
            unsafe {
                libc::kill(pid as libc::pid_t, libc::SIGKILL);
                if parent == me {
                    libc::waitpid(pid as libc::pid_t, std::ptr::null_mut(), libc::WNOHANG);
                }
            }
            killed.insert(pid);
        }
        if Instant::now() >= deadline {
            return killed.len();
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Every process below `root` (pid, parent pid), from /proc.
fn descendants_of(root: u32) -> Vec<(u32, u32)> {
    let mut children: HashMap<u32, Vec<u32>> = HashMap::new();
    let Ok(entries) = std::fs::read_dir("/proc") else { return Vec::new() };
    for entry in entries.flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) else { continue };
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else { continue };
        // `pid (comm) state ppid ...`; comm may hold spaces and parentheses, so split after the last ')'.
        let Some(ppid) = stat.rsplit_once(')').and_then(|(_, rest)| rest.split_whitespace().nth(1)?.parse().ok())
        else {
            continue;
        };
        children.entry(ppid).or_default().push(pid);
    }
    let mut found = Vec::new();
    let mut stack = vec![root];
    while let Some(parent) = stack.pop() {
        for &child in children.get(&parent).map(Vec::as_slice).unwrap_or_default() {
            found.push((child, parent));
            stack.push(child);
        }
    }
    found
}
