//! The command line of magi-dashboard: `start`, which serves the dashboard until stopped.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use magi_core::cli::CommonArgs;

const EXAMPLES: &str = "\
Examples:
  magi-dashboard start                             serve on http://127.0.0.1:9090 until stopped
  magi-dashboard start --listen 0.0.0.0:8090       on every address (put magi-users forward-auth before it)
  systemctl enable --now magi-dashboard.service    the shipped unit, as user magi

The figures come from the metrics store (metrics/ in the state directory, --metrics-dir or \
$MAGI_METRICS_DIR): magi-health watch writes the services' figures and conditions every 5 s, the magi-limits \
gateway the models' requests, latency, tokens and cost. Every view is a URL (/?range=7d, /service/qdrant, \
/models?range=30d&end=2026-12-01T00:00:00Z) and works with JavaScript off; with it on, an open tab updates \
within seconds of each new sample over server-sent events (/live).

/alerts lists the active and recent alerts and acknowledges one with a button: the dashboard runs `magi-alert list` and `magi-alert ack` (found next to it or on PATH) as its own user, so they share magi-alert's database; behind magi-users forward-auth the acknowledgement names the signed-in user. A form posted from another site is refused.

Port 9090 is also Prometheus' default: give one of them another with --listen.";

/// The web dashboard: service tiles, 30 days of charts, model usage and cost, live
#[derive(Debug, Parser)]
#[command(
    name = "magi-dashboard",
    version,
    about = magi_core::tools::about("dashboard"),
    long_about = "Serve MAGI's web dashboard: a tile per service that agrees with `magi health`, CPU, memory, \
disk and probe latency per container, requests, errors, latency percentiles, tokens and cost per model and \
user, and the restarts marked on the charts, over any range the metrics store holds (30 days and more).",
    after_help = EXAMPLES
)]
pub struct Cli {
    #[command(flatten)]
    pub common: CommonArgs,

    /// The metrics store directory [default: metrics/ in the state directory]
    #[arg(long, global = true, value_name = "DIR", env = "MAGI_METRICS_DIR")]
    pub metrics_dir: Option<PathBuf>,

    /// The gateway's usage database, for the budget lines [default: usage.db in the state directory]
    #[arg(long, global = true, value_name = "FILE", env = "MAGI_LIMITS_DB")]
    pub usage_db: Option<PathBuf>,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the dashboard in the foreground until SIGTERM or Ctrl-C
    #[command(
        long_about = "Serve the dashboard in the foreground until SIGTERM or Ctrl-C. Under systemd it takes \
the socket systemd passes (socket activation), says READY=1 once it listens, and logs to the journal."
    )]
    Start(StartArgs),
}

#[derive(Debug, Args)]
pub struct StartArgs {
    /// The address to serve on (loopback unless you say otherwise)
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:9090")]
    pub listen: SocketAddr,

    /// Open live streams (tabs) served at once; more are asked to retry
    #[arg(long, value_name = "N", default_value_t = 64, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub max_live: u32,
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }
}
