//! magi-dashboard: MAGI's web dashboard over the metrics store ([`magi_tsdb`]).
//!
//! The binary parses [`cli::Cli`] and calls [`run`]. [`view`] reads what a URL asks to see, [`data`] reads
//! it from the store, [`alerts`] asks magi-alert for its alerts and [`tool`] runs it (and magi-sla for its report), [`chart`] draws it as SVG with words and a table beside it, [`page`] lays out the
//! HTML, and [`server`] answers HTTP and tells open tabs when the store changed. It runs on a
//! current-thread runtime: its work is waiting on sockets, and reads go to a small blocking pool.

pub mod alerts;
pub mod chart;
pub mod cli;
pub mod data;
pub mod page;
pub mod server;
pub mod tool;
pub mod view;

use anyhow::Context as _;
use magi_core::exit::UsageError;

use crate::cli::{Cli, Command};

/// Blocking threads for store reads: pages wait their turn rather than multiply threads.
const READERS: usize = 4;

/// Runs the command line; returns the exit code.
pub fn run(cli: Cli) -> anyhow::Result<u8> {
    let context = cli.common.start("magi-dashboard")?;
    let dir = cli
        .metrics_dir
        .clone()
        .unwrap_or_else(|| magi_tsdb::default_dir(&context.paths.state_dir));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .max_blocking_threads(READERS)
        .build()
        .context("cannot start the async runtime")?;
    match cli.command {
        Command::Start(args) => runtime.block_on(async {
            let listener = magi_core::daemon::listener(args.listen)
                .await
                .map_err(|e| UsageError(e.to_string()))?;
            let address = listener
                .local_addr()
                .map_or_else(|_| args.listen.to_string(), |a| a.to_string());
            log::info!(
                "serving the dashboard on http://{address} from {}",
                dir.display()
            );
            magi_core::daemon::ready(&format!("serving on {address}"));
            let settings = server::Settings {
                dir,
                usage_db: cli
                    .usage_db
                    .clone()
                    .unwrap_or_else(|| magi_usage::db::default_path(&context.paths)),
                services: context
                    .config
                    .services
                    .iter()
                    .map(|s| s.name.clone())
                    .collect(),
                max_live: args.max_live as usize,
                alerts: alerts::AlertTool::installed(),
                sla: tool::Tool::installed("sla"),
            };
            server::serve(listener, settings, magi_core::daemon::stop_signal()).await;
            magi_core::daemon::stopping();
            Ok(0)
        }),
    }
}
