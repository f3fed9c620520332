//! The command line of magi-health: check once by default, or `watch`, `history`, `serve`, `validate`.

use std::net::SocketAddr;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use magi_core::cli::CommonArgs;
use magi_core::config::parse_duration;

const EXAMPLES: &str = "\
Exit codes (monitoring-plugin convention): 0 OK, 1 WARNING (degraded), 2 CRITICAL (down), 3 UNKNOWN (cannot check).

Examples:
  magi-health                           check every service once and print a table
  magi-health --service qdrant          check one service; the exit code is its verdict
  magi-health --json | magi-alert       one service.status event per service, then stack.status
  magi-health --nagios                  one plugin line with perfdata, for Nagios, Icinga or Zabbix
  magi-health watch --json --restart-unhealthy --listen 127.0.0.1:9092
                                        check every 5s, print each change, heal, serve /status
  magi-health history --since 7d        state changes and restarts of the last week
  magi-health serve                     /healthz, /status and /metrics on 127.0.0.1:9092
  docker compose up -d && magi-health validate --timeout 2m
                                        wait until every core service answers

The stack is described by the built-in catalog of the MAGI stack, or by --config, $MAGI_CONFIG or \
/etc/magi/magi.toml; `magi config show` prints it. Docker is reached through $DOCKER_HOST \
(default unix:///var/run/docker.sock).";

#[derive(Debug, Parser)]
#[command(
    name = "magi-health",
    version,
    about = magi_core::tools::about("health"),
    long_about = "Check the MAGI stack at a glance: each service's container (state, Docker health, restarts, \
uptime), its own endpoint (HTTP status and latency, Redis PING) and its resources (CPU, memory, data size), \
then a verdict per service and for the stack (ok, degraded, down) with what a failure costs the user. \
Without a command, checks once.",
    after_help = EXAMPLES,
    args_conflicts_with_subcommands = true
)]
pub struct Cli {
    #[command(flatten)]
    pub common: CommonArgs,

    #[command(flatten)]
    pub check: CheckArgs,

    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check every interval, report each change, keep the history, and optionally heal and serve
    #[command(after_help = "Examples:
  magi-health watch                                   check every 5s; changes go to the log
  magi-health watch --json | magi-alert               each change as an event on stdout
  magi-health watch --restart-unhealthy --after 3     restart a container ill for 3 checks in a row
  magi-health watch --listen 127.0.0.1:9092           also serve /healthz, /status and /metrics

Under systemd (Type=notify) it sends READY=1 after the first check, STATUS= after each, and WATCHDOG=1 \
when WatchdogSec= is set. A container an operator stopped (exit code 0 or `docker stop`) or paused is \
never restarted.")]
    Watch(WatchArgs),
    /// Show the state changes and restarts that watch recorded
    #[command(after_help = "Examples:
  magi-health history                       the last 24 hours
  magi-health history --service qdrant --since 7d
  magi-health history --json                one JSON record a line")]
    History(HistoryArgs),
    /// Serve /healthz, /status and /metrics, checking on demand
    #[command(after_help = "Examples:
  magi-health serve                         on 127.0.0.1:9092
  curl -s localhost:9092/healthz            application/health+json; 200 pass or warn, 503 fail
  curl -s localhost:9092/metrics            Prometheus text")]
    Serve(ServeArgs),
    /// Wait until every core service is healthy (after `docker compose up`)
    #[command(after_help = "Examples:
  docker compose up -d && magi-health validate
  magi-health validate --timeout 5m || journalctl -u docker

Exits 0 when every core service runs and answers, 2 when the timeout passes first. A container whose
Docker health check has not run yet counts once its own probe answers (Docker's first check waits for
its interval); a failing health check never does.")]
    Validate(ValidateArgs),
}

/// How each check is bounded and judged.
#[derive(Debug, Clone, Args)]
pub struct Limits {
    /// The most one service's check may take, probe included
    #[arg(long, value_name = "DURATION", default_value = "5s", value_parser = duration)]
    pub timeout: Duration,

    /// A probe slower than this makes the service slow (a warning)
    #[arg(long, value_name = "DURATION", default_value = "1s", value_parser = duration)]
    pub slow: Duration,
}

#[derive(Debug, Clone, Args)]
pub struct CheckArgs {
    /// Print NDJSON events: one service.status per service, then one stack.status
    #[arg(long, conflicts_with = "nagios")]
    pub json: bool,

    /// Print one monitoring-plugin line with perfdata
    #[arg(long)]
    pub nagios: bool,

    /// Check only this service (by service or container name); repeat for more
    #[arg(long, value_name = "NAME")]
    pub service: Vec<String>,

    #[command(flatten)]
    pub limits: Limits,
}

#[derive(Debug, Clone, Args)]
pub struct WatchArgs {
    /// Time between checks
    #[arg(long, value_name = "DURATION", default_value = "5s", value_parser = duration)]
    pub interval: Duration,

    /// Do not keep each round's figures in the metrics store (metrics/health.db in the state directory)
    #[arg(long)]
    pub no_metrics: bool,

    /// The metrics store directory [default: metrics/ in the state directory]
    #[arg(
        long,
        value_name = "DIR",
        env = "MAGI_METRICS_DIR",
        conflicts_with = "no_metrics"
    )]
    pub metrics_dir: Option<std::path::PathBuf>,

    /// Print each change as an NDJSON event on stdout
    #[arg(long)]
    pub json: bool,

    /// Restart a container that stayed unhealthy or exited with a failure for --after checks
    #[arg(long)]
    pub restart_unhealthy: bool,

    /// Checks in a row a container must be ill before it is restarted
    #[arg(long, value_name = "N", default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..))]
    pub after: u32,

    /// Wait after the first restart before another; doubles with each further restart
    #[arg(long, value_name = "DURATION", default_value = "1m", value_parser = duration)]
    pub backoff: Duration,

    /// The most restarts of one container in any hour
    #[arg(long, value_name = "N", default_value_t = 3)]
    pub max_restarts_per_hour: u32,

    /// Also serve /healthz, /status and /metrics at this address
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<SocketAddr>,

    #[command(flatten)]
    pub limits: Limits,
}

#[derive(Debug, Clone, Args)]
pub struct HistoryArgs {
    /// Only this service (or `stack`)
    #[arg(long, value_name = "NAME")]
    pub service: Option<String>,

    /// How far back
    #[arg(long, value_name = "DURATION", default_value = "24h", value_parser = duration)]
    pub since: Duration,

    /// One JSON record a line
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Address to listen on; only loopback unless you say otherwise
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:9092")]
    pub listen: SocketAddr,

    /// Reuse a check for this long before checking again
    #[arg(long, value_name = "DURATION", default_value = "5s", value_parser = duration)]
    pub max_age: Duration,

    #[command(flatten)]
    pub limits: Limits,
}

#[derive(Debug, Clone, Args)]
pub struct ValidateArgs {
    /// Give up after this long
    #[arg(long, value_name = "DURATION", default_value = "2m", value_parser = duration)]
    pub timeout: Duration,

    /// The most one service's check may take, probe included
    #[arg(long, value_name = "DURATION", default_value = "5s", value_parser = duration)]
    pub check_timeout: Duration,
}

fn duration(text: &str) -> Result<Duration, String> {
    parse_duration(text)
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn bad_durations_are_refused_in_words() {
        let err = Cli::try_parse_from(["magi-health", "watch", "--interval", "often"]).unwrap_err();
        assert!(
            err.to_string().contains("'often' is not a duration"),
            "{err}"
        );
    }
}
