//! `riffle run`: resolve the pipeline, then start its runners, connect its channels, and report.

use super::{refused, resolved_with};
use crate::args::{ProgressChoice, RunArgs};
use riffle_core::live::{self, server, Live};
use riffle_core::problem::Severity;
use riffle_core::resolve::{Options, Resolution};
use riffle_core::run::{Outcome, Reporter, RunOptions};
use std::io::IsTerminal;
use std::process::ExitCode;
use std::time::Duration;

/// `--transport`: every channel on one transport. Memory cannot join runner instances, which is a
/// problem to report before anything starts.
pub fn run(args: RunArgs) -> anyhow::Result<ExitCode> {
    let RunArgs {
        pipeline,
        transport,
        listen,
        quiet,
        log_format,
        progress,
        connect_timeout,
        stop_grace,
        heartbeat_timeout,
        secret_file,
        tls,
        advertise,
        external,
        sparql,
        dashboard,
        keep_serving,
        query_timeout,
        query_max_rows,
        query_max_mib,
    } = args;
    let limits = server::Limits {
        timeout: Duration::try_from_secs_f64(query_timeout)
            .ok()
            .filter(|t| !t.is_zero())
            .ok_or_else(|| anyhow::anyhow!("--query-timeout {query_timeout}: give a number of seconds above 0"))?,
        max_rows: query_max_rows,
        max_bytes: query_max_mib.saturating_mul(1024 * 1024),
        ..server::Limits::default()
    };
    // A run checks its runners' files but does not ask their interpreters' versions (validate does).
    let options = Options { check_runner: &riffle_core::runners::check_files, ..Options::default() };
    let Resolution { loaded, mut plan, mut problems, notices: found } = resolved_with(&pipeline, &options)?;
    if problems.is_empty() {
        if let Some(forced) = transport {
            problems.extend(plan.force_transport(forced.into(), &loaded.names));
        }
    }
    if let Some(unknown) = external.iter().find(|id| !plan.runners.iter().any(|r| &r.id == *id)) {
        let ids: Vec<&str> = plan.runners.iter().map(|r| r.id.as_str()).collect();
        eprintln!("error: --external {unknown}: the plan has no such runner instance (it has: {})", ids.join(", "));
        return Ok(ExitCode::from(2));
    }
    if let Some(code) = refused(&problems) {
        return Ok(code);
    }
    let secret = match secret_file.as_deref().map(riffle_core::run::GivenSecret::read).transpose() {
        Ok(secret) => secret,
        Err(why) => {
            eprintln!("error: {why}");
            return Ok(ExitCode::from(2));
        }
    };
    let progress_line = match progress {
        ProgressChoice::Auto => std::io::stderr().is_terminal(),
        ProgressChoice::Always => true,
        ProgressChoice::Never => false,
    };
    let mut reporter = Reporter::new(log_format.into(), quiet, progress_line, loaded.names.clone());
    for warning in found.iter().filter(|n| n.kind.severity() == Severity::Warning) {
        reporter.warn(&format!("{} ({})", warning.kind, warning.kind.code()));
    }
    let live = (sparql.is_some() || dashboard.is_some()).then(Live::default);
    let options = RunOptions {
        listen,
        connect_timeout: Duration::from_secs(connect_timeout),
        stop_grace: Duration::try_from_secs_f64(stop_grace)
            .map_err(|_| anyhow::anyhow!("--stop-grace {stop_grace}: give a number of seconds, 0 or more"))?,
        external,
        live: live.clone(),
        heartbeat: (!heartbeat_timeout.is_zero()).then_some(heartbeat_timeout),
        advertise,
        secret,
        tls,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let outcome = runtime.block_on(async {
        let mut serving = Vec::new();
        if let Some(live) = live {
            let mut listeners = Vec::new();
            for (address, site) in [(sparql, server::Site::Endpoint), (dashboard, server::Site::Dashboard)] {
                let Some(address) = address else { continue };
                let listener = match server::bind(address).await {
                    Ok(listener) => listener,
                    Err(why) => return Outcome::Failed(format!("{why}; nothing was started")),
                };
                let local = listener.local_addr().map(|a| a.to_string()).unwrap_or_else(|_| address.to_string());
                if !address.ip().is_loopback() {
                    reporter.warn(&format!(
                        "the {} listens on {address}: anyone who reaches it can read the pipeline, its arguments \
and its state",
                        if site == server::Site::Dashboard { "dashboard" } else { "SPARQL endpoint" }
                    ));
                }
                match site {
                    server::Site::Endpoint => reporter
                        .status(&format!("SPARQL endpoint http://{local}/sparql, metrics at http://{local}/metrics")),
                    server::Site::Dashboard => reporter.announce(&format!("dashboard: http://{local}/")),
                }
                serving.push(match site {
                    server::Site::Endpoint => format!("http://{local}/sparql"),
                    server::Site::Dashboard => format!("the dashboard at http://{local}/"),
                });
                listeners.push((listener, site));
            }
            let plan_json = live::dashboard::plan_json(&plan, &loaded.names);
            let served = server::Served { store: loaded.store, names: loaded.names, plan: plan_json, live, limits };
            server::serve(listeners, served);
        } else {
            // The store is not needed while the pipeline runs.
            drop(loaded);
        }
        let report = riffle_core::run::run(&plan, &options, &mut reporter).await;
        reporter.summary(&report, &plan);
        if keep_serving && !serving.is_empty() {
            reporter.status(&format!("the run has ended; still serving {} until Ctrl-C", serving.join(" and ")));
            wait_for_a_signal().await;
        }
        report.outcome
    });
    if let Outcome::Failed(why) = &outcome {
        eprintln!("error: {why}");
    }
    Ok(ExitCode::from(outcome.exit_code()))
}

/// SIGINT, SIGTERM or SIGHUP.
async fn wait_for_a_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    // Without signal handlers nothing could end the wait: stop serving now.
    let signals = (signal(SignalKind::interrupt()), signal(SignalKind::terminate()), signal(SignalKind::hangup()));
    if let (Ok(mut interrupt), Ok(mut terminate), Ok(mut hangup)) = signals {
        tokio::select! {
            _ = interrupt.recv() => {}
            _ = terminate.recv() => {}
            _ = hangup.recv() => {}
        }
    }
}
