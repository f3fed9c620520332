//! The command line of magi-sla: `report` (availability, budgets, incidents, requests) and `maintenance`
//! (planned windows, left out of the figures).

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};
use magi_core::cli::CommonArgs;
use magi_core::config::{SlaConfig, parse_duration};

const EXAMPLES: &str = "\
Examples:
  magi-sla report                                  the last 30 days, every service and the stack's core
  magi-sla report --since 7d --service qdrant      one service over a week
  magi-sla report --target 99.5 --target-of litellm=99.95   (or [sla] target and [sla.targets] in the config)
  magi-sla report --html > sla.html                a self-contained page (prints to PDF as it shows)
  magi-sla report --json | jq '.services[] | {name, availability_percent}'
  magi-sla burn --json | magi-alert                error-budget burn-rate alerts (a shipped timer does it)
  magi-sla trends                                  each model's week against the week before
  magi-sla anomalies --hours 48                    unusual hours of requests, tokens and cost
  magi-sla capacity                                when disks, data and memory fill (`magi capacity`)
  magi-sla maintenance start --service qdrant --note 'moving to a bigger disk'
  magi-sla maintenance end --service qdrant

Time is counted three ways and never guessed: up and down as magi-health watch saw them, and unknown where \
nothing saw the service (the watch was stopped, the box was off): an observation vouches for three watch \
intervals at most. Availability is up over up and down; the worst case also counts the unknown time as down. \
Planned maintenance (between `maintenance start` and `maintenance end`) is listed and left out. Requests are \
counted from the magi-limits gateway's usage records: those that failed their caller (a 5xx, an upstream \
failure) over all, per model; a request refused on purpose (429, 403) is no failure.";

/// Availability against targets, error budgets, incidents, request availability
#[derive(Debug, Parser)]
#[command(
    name = "magi-sla",
    version,
    about = magi_core::tools::about("sla"),
    long_about = "Report each service's and the stack core's availability over a window, time-weighted to the \
second from the metrics store that magi-health watch writes, with up, down, unknown and planned maintenance \
kept apart; the error budget of a target spent and left; the incidents with their cause, MTTR and MTBF; and the \
share of LLM requests that succeeded, per model, from the gateway's usage records.",
    after_help = EXAMPLES
)]
pub struct Cli {
    #[command(flatten)]
    pub common: CommonArgs,

    /// The metrics store directory [default: metrics/ in the state directory]
    #[arg(long, global = true, value_name = "DIR", env = "MAGI_METRICS_DIR")]
    pub metrics_dir: Option<PathBuf>,

    /// The gateway's usage database [default: usage.db in the state directory]
    #[arg(long, global = true, value_name = "FILE", env = "MAGI_LIMITS_DB")]
    pub usage_db: Option<PathBuf>,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Availability, error budget, incidents and request availability over a window
    Report(ReportArgs),
    /// Error-budget burn rates now, on the multiwindow thresholds: `sla.burn` events for magi-alert
    #[command(
        long_about = "How fast each service (and the core) is burning its error budget, over the standard \
pairs of windows: 14.4× over 1 h and 5 min (fast, critical), 6× over 6 h and 30 min (medium, critical), 1× over \
3 days and 6 h (slow, warning); a level fires when both of its windows reach its factor. With --json, one \
sla.burn event per service, at the fastest level firing or ok, for magi-alert (the shipped timer runs it every \
5 minutes into magi-alert's FIFO)."
    )]
    Burn(BurnArgs),
    /// Each model's and service's trailing week against the week before: error rate, p95 latency, p95 TTFT
    #[command(
        long_about = "Each model's error rate, p95 of whole answers and p95 of time to the first token, and each \
service's p95 probe latency (from magi-health's samples), \
over the last 7 days against the 7 before, from the gateway's figures in the metrics store, and whether the week \
is significantly worse: a one-sided test at z ≥ 3 and a change of at least 1.2× (two-proportion z-test for the \
error rate; for a p95, how many answers were slower than last week's p95 against the 5 % expected). At least 100 \
requests a week. With --json, one sla.trend event per model (warning when worse, else ok), for magi-alert."
    )]
    Trends {
        /// One sla.trend event a line, for magi-alert
        #[arg(long)]
        json: bool,
    },
    /// Unusual hours of requests, tokens and cost against the same hour of the four weeks before
    #[command(
        long_about = "Each of the last --hours hours' requests, tokens and cost through the gateway, against \
the same hour of the same weekday in the four weeks before, by a robust (modified) z-score: 0.6745 × (value − \
median) / MAD of the earlier weeks. Unusual at |z| ≥ 3.5 and a change of at least 10 %; three earlier weeks at \
least. With --json, one usage.anomaly event per figure for the latest complete hour (warning when unusual, else \
ok), for magi-alert."
    )]
    Anomalies {
        /// How many complete hours back to look
        #[arg(long, value_name = "N", default_value_t = 24, value_parser = clap::value_parser!(u32).range(1..=24 * 28))]
        hours: u32,
        /// One usage.anomaly event a line (the latest hour), for magi-alert
        #[arg(long)]
        json: bool,
    },
    /// When each disk, data directory and container's memory reaches its limit at the trend; the month's
    /// tokens and cost against the budget (`magi capacity`)
    #[command(
        long_about = "When each disk fills, each service's data directory runs out of room on its file \
system and each container reaches its memory limit, at the trend over --trend: a linear fit and a daily seasonal \
one (trend plus a mean by hour of day, used when it explains clearly more), with the fit's R² and a band from \
the slope's standard error (about 95 %). Then the month's tokens and cost so far, where they are heading by the \
month's end at this pace, and the share of everyone's monthly budget that makes."
    )]
    Capacity(CapacityArgs),
    /// Mark planned maintenance: its time is listed and left out of availability
    #[command(subcommand)]
    Maintenance(MaintenanceCommand),
}

#[derive(Debug, Args)]
pub struct CapacityArgs {
    /// The history the trends are fitted over
    #[arg(long, value_name = "DURATION", default_value = "7d", value_parser = parse_duration)]
    pub trend: Duration,

    /// One JSON document
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct BurnArgs {
    /// Only this service (repeatable) [default: every service of the catalog with figures]
    #[arg(long = "service", value_name = "NAME")]
    pub services: Vec<String>,

    #[command(flatten)]
    pub targets: Targets,

    /// One sla.burn event a line, for magi-alert
    #[arg(long)]
    pub json: bool,
}

/// The targets, and the watch's interval the observations are counted with.
#[derive(Debug, Args)]
pub struct Targets {
    /// The availability target, in percent [default: [sla] target in the config, else 99.9]
    #[arg(long, value_name = "PERCENT", value_parser = percent)]
    pub target: Option<f64>,

    /// Another target for one service, as SERVICE=PERCENT (repeatable) [default: [sla.targets]]
    #[arg(long = "target-of", value_name = "SERVICE=PERCENT", value_parser = service_target)]
    pub targets_of: Vec<(String, f64)>,

    /// The interval magi-health watch samples at: an observation vouches for three of them at most
    #[arg(long, value_name = "DURATION", default_value = "5s", value_parser = parse_duration)]
    pub interval: Duration,
}

impl Targets {
    /// The target of `service`, in percent: its own from the command line, else from the config's
    /// `[sla.targets]`, else everyone's (`--target`, else the config's `[sla] target`).
    pub fn of(&self, service: &str, config: &SlaConfig) -> f64 {
        if let Some((_, t)) = self
            .targets_of
            .iter()
            .rev()
            .find(|(name, _)| name == service)
        {
            return *t;
        }
        match (config.targets.get(service), self.target) {
            (Some(own), _) => own.percent(),
            (None, Some(everyone)) => everyone,
            (None, None) => config.target.percent(),
        }
    }

    /// The core's target, in percent.
    pub fn core(&self, config: &SlaConfig) -> f64 {
        self.target.unwrap_or(config.target.percent())
    }
}

/// How a report is printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Text,
    Json,
    Html,
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// The window: this long before now (e.g. 24h, 7d, 30d, 90d)
    #[arg(long, value_name = "DURATION", default_value = "30d", value_parser = parse_duration)]
    pub since: Duration,

    /// Only this service (repeatable) [default: every service of the catalog with figures]
    #[arg(long = "service", value_name = "NAME")]
    pub services: Vec<String>,

    #[command(flatten)]
    pub targets: Targets,

    /// One JSON document
    #[arg(long, conflicts_with = "html")]
    pub json: bool,

    /// A self-contained HTML page
    #[arg(long)]
    pub html: bool,
}

impl ReportArgs {
    pub fn format(&self) -> Format {
        if self.json {
            Format::Json
        } else if self.html {
            Format::Html
        } else {
            Format::Text
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum MaintenanceCommand {
    /// Planned maintenance begins now
    Start(MaintenanceArgs),
    /// The planned maintenance ends now
    End(MaintenanceArgs),
    /// The maintenance windows over a time, newest last
    List {
        /// This long before now
        #[arg(long, value_name = "DURATION", default_value = "30d", value_parser = parse_duration)]
        since: Duration,
        /// One JSON object a line
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Args)]
pub struct MaintenanceArgs {
    /// The service under maintenance [default: the whole stack]
    #[arg(long, value_name = "NAME")]
    pub service: Option<String>,

    /// Why, shown in the report
    #[arg(long, value_name = "TEXT", default_value = "")]
    pub note: String,
}

fn percent(text: &str) -> Result<f64, String> {
    let value: f64 = text
        .trim_end_matches('%')
        .parse()
        .map_err(|_| format!("'{text}' is not a percentage"))?;
    if (0.0..100.0).contains(&value) && value > 0.0 {
        Ok(value)
    } else {
        Err(format!(
            "a target is above 0 and below 100 percent, not {value}"
        ))
    }
}

fn service_target(text: &str) -> Result<(String, f64), String> {
    let (service, value) = text
        .split_once('=')
        .ok_or_else(|| format!("'{text}' is not SERVICE=PERCENT"))?;
    if service.is_empty() {
        return Err(format!("'{text}' names no service"));
    }
    Ok((service.to_owned(), percent(value)?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory as _;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn targets_are_percentages_below_a_hundred() {
        assert_eq!(percent("99.9"), Ok(99.9));
        assert_eq!(percent("99.5%"), Ok(99.5));
        assert!(percent("100").is_err());
        assert!(percent("0").is_err());
        assert!(percent("lots").is_err());
        assert_eq!(service_target("qdrant=99"), Ok(("qdrant".into(), 99.0)));
        assert!(service_target("=99").is_err());
        assert!(service_target("qdrant").is_err());
    }
}
