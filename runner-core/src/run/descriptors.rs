//! Open files for thousands of channels: riffle raises its soft `RLIMIT_NOFILE` to the hard limit, which
//! every runner it starts inherits, and refuses a plan whose busiest runner would need more sockets than that.

use crate::plan::Plan;
use std::collections::HashMap;

/// Descriptors a runner needs besides its channel sockets: its program, libraries, pipes, control link.
const HEADROOM: u64 = 256;

/// Raises the limit and checks the plan against it; the error names the runner, the limit and the fix.
pub fn check(plan: &Plan) -> Result<(), String> {
    let Some(limit) = riffle_channels::raise_open_file_limit() else { return Ok(()) };
    let runner_of: HashMap<&str, &str> = plan.processors.iter().map(|p| (p.id.as_str(), p.runner.as_str())).collect();
    let mut sockets: HashMap<&str, u64> = HashMap::new();
    for channel in plan.channels.iter().filter(|c| c.crosses_runners) {
        // A writer holds a socket to each reader on another runner, and that reader holds the other end.
        for writer in &channel.writers {
            for reader in &channel.readers {
                let (Some(w), Some(r)) =
                    (runner_of.get(writer.processor.as_str()), runner_of.get(reader.processor.as_str()))
                else {
                    continue;
                };
                if w != r {
                    *sockets.entry(w).or_default() += 1;
                    *sockets.entry(r).or_default() += 1;
                }
            }
        }
    }
    let Some((runner, count)) = sockets.into_iter().max_by_key(|(runner, count)| (*count, std::cmp::Reverse(*runner)))
    else {
        return Ok(());
    };
    match riffle_channels::too_few_descriptors(
        limit,
        count + HEADROOM,
        &format!("runner {runner}'s {count} network channel ends"),
    ) {
        Some(why) => Err(why),
        None => Ok(()),
    }
}
