//! The command line of magi-metrics: `push`, `list`, `query` and `export` over the metrics store.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};
use magi_core::cli::CommonArgs;
use magi_core::config::parse_duration;

const EXAMPLES: &str = "\
Examples:
  magi-metrics list                                   every series, its kind and the shard that writes it
  magi-metrics query 'container_cpu_percent{service=\"qdrant\"}' --range 24h
  magi-metrics query request_latency_seconds --quantile 0.95 --range 7d
  echo '{\"metric\":\"queue_depth\",\"value\":3}' | magi-metrics push
  magi-metrics export --range 7d --service qdrant --format csv > qdrant.csv
  magi-metrics export --range 30d --format openmetrics > magi.om
  promtool tsdb create-blocks-from openmetrics magi.om ./data   # hand the history to Prometheus
  magi-metrics alerts configure add 'cpu > 90% for 5m on qdrant' --severity critical
  magi-metrics alerts watch | magi-alert                     # threshold rules into alerts

The store is a directory of SQLite shards (metrics/ in the state directory, --dir or $MAGI_METRICS_DIR), one \
per writer: magi-health watch writes health.db, the magi-limits gateway limits.db, push push.db. Series are \
kept raw (5 s) for 48 h, as 1-minute rollups for 14 days, 5-minute for 90 days and hourly for 2 years; each \
rollup keeps min, max, sum, count and last, so a short spike still shows in a month's chart. A query reads the \
coarsest tier that still gives --points points over its range.";

/// Push figures into the metrics store; list, query and export its series
#[derive(Debug, Parser)]
#[command(
    name = "magi-metrics",
    version,
    about = magi_core::tools::about("metrics"),
    long_about = "Push figures into MAGI's metrics store as NDJSON metric lines, list the series it holds, \
query one over a range (mean, min, max, or a latency percentile from a histogram's summed buckets), and export \
ranges as JSON, CSV or OpenMetrics for Prometheus.",
    after_help = EXAMPLES
)]
pub struct Cli {
    #[command(flatten)]
    pub common: CommonArgs,

    /// The store directory [default: metrics/ in the state directory]
    #[arg(long, global = true, value_name = "DIR", env = "MAGI_METRICS_DIR")]
    pub dir: Option<PathBuf>,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Store NDJSON metric lines from FILE or stdin
    #[command(
        long_about = "Store NDJSON metric lines from FILE or stdin, one object a line:\n\n  \
{\"metric\":\"queue_depth\",\"labels\":{\"service\":\"n8n\"},\"value\":3}\n\n\
`metric` and `value` are required, `labels` optional; `kind` is gauge (a reading, the default) or delta (an amount during the \
interval: requests, tokens, cost); `time` (RFC 3339) or `ts_ms` (Unix milliseconds) default to now. A line \
that does not parse is reported with its number and skipped, the others are stored, and the exit code is 1. \
Sending the same point (series and time) twice stores it once."
    )]
    Push(PushArgs),
    /// List every series in the store
    List(ListArgs),
    /// Show one metric's series over a range
    Query(QueryArgs),
    /// Write a range of series as JSON, CSV or OpenMetrics
    #[command(
        long_about = "Write every series (or one service's) over a range, at the finest tier that \
still holds the range's start, as NDJSON, CSV or OpenMetrics text. A rollup bucket is exported at its start \
time with its mean for a gauge and its sum for a delta (JSON and CSV carry min, max, sum, count and last as \
well). The OpenMetrics output imports into Prometheus with `promtool tsdb create-blocks-from openmetrics`."
    )]
    Export(ExportArgs),
    /// Threshold rules on the stored series: configure them, and watch them into alerts
    #[command(
        long_about = "Threshold rules on the stored series, written as people say them:\n\n  \
cpu > 90% for 5m on qdrant\n  disk > 85%\n  p95 latency > 10s on model gpt-4o\n  p95 ttft > 2s on model gpt-4o   (time to the first token)\n  p95 latency > 500ms for 1h on searxng   (a service's probe latency)\n  error rate > 5% for 10m\n  \
memory > 90% on redis\n  queue_depth{service=\"n8n\"} > 100 for 2m\n\n\
Known figures: cpu, memory (a size or a % of the limit), disk (% used), latency (the probe's), pNN latency, pNN ttft and \
error rate (the models', through the gateway); anything else is a series selector. A gauge breaches when every \
point of the `for` window does; a percentile or an error rate is computed over the window (5 minutes by \
default). `watch` checks every rule each round and prints a metric.threshold event when a breach begins \
(the rule's severity) and ends (ok), for magi-alert; the shipped magi-metrics-alerts.service does that into \
magi-alert's FIFO. The rules live in alert-rules.toml in the config directory (/etc/magi as root)."
    )]
    Alerts(AlertsArgs),
    /// Read the Prometheus text endpoints of the config's [metrics.scrape.NAME] into the store
    #[command(
        long_about = "Read the Prometheus text endpoints the config names into the store's scrape shard, each \
series labelled job=NAME, every target at its own interval (15s by default):\n\n  \
[metrics.scrape.qdrant]\n  url = \"http://127.0.0.1:6333/metrics\"\n  interval = \"30s\"\n\n\
Each target is read on its own thread within 5 s and 4 MiB: one that hangs or sends garbage is logged and \
costs nothing else. Counters are stored as their running totals. The shipped magi-metrics-scrape.service runs \
it; --once reads each target one time (exit 1 if any failed)."
    )]
    Scrape(ScrapeArgs),
}

#[derive(Debug, Args)]
pub struct ScrapeArgs {
    /// Read each target once, then exit
    #[arg(long)]
    pub once: bool,
}

#[derive(Debug, Args)]
pub struct AlertsArgs {
    /// The rules file [default: alert-rules.toml in the config directory]
    #[arg(long, global = true, value_name = "FILE")]
    pub rules: Option<PathBuf>,

    #[command(subcommand)]
    pub command: AlertsCommand,
}

#[derive(Debug, Subcommand)]
pub enum AlertsCommand {
    /// Add, list and remove threshold rules
    #[command(subcommand)]
    Configure(ConfigureCommand),
    /// Check every rule each interval; print a metric.threshold event when a breach begins or ends
    Watch(AlertsWatchArgs),
}

#[derive(Debug, Subcommand)]
pub enum ConfigureCommand {
    /// Add a rule (checked before it is kept)
    Add {
        /// The rule, e.g. 'cpu > 90% for 5m on qdrant' (quote it)
        #[arg(value_name = "RULE")]
        rule: String,
        /// Its name [default: made of its words]
        #[arg(long, value_name = "NAME")]
        name: Option<String>,
        /// The severity of its alert
        #[arg(long, value_enum, default_value_t = RuleSeverity::Warning)]
        severity: RuleSeverity,
    },
    /// List the rules
    List {
        /// One JSON object a line
        #[arg(long)]
        json: bool,
    },
    /// Remove a rule by its name
    Remove {
        /// The rule's name, from `list`
        #[arg(value_name = "NAME")]
        name: String,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RuleSeverity {
    Warning,
    Critical,
}

#[derive(Debug, Args)]
pub struct AlertsWatchArgs {
    /// Time between rounds
    #[arg(long, value_name = "DURATION", default_value = "15s", value_parser = duration)]
    pub interval: Duration,

    /// One round, then exit
    #[arg(long)]
    pub once: bool,
}

#[derive(Debug, Args)]
pub struct PushArgs {
    /// The file of metric lines; `-` or nothing for stdin
    #[arg(value_name = "FILE")]
    pub file: Option<PathBuf>,

    /// The shard to write (a store has one writer per shard)
    #[arg(long, value_name = "NAME", default_value = "push", value_parser = shard_name)]
    pub shard: String,
}

#[derive(Debug, Args)]
pub struct ListArgs {
    /// One JSON object a line
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct QueryArgs {
    /// The series: `name` or `name{label="value",...}` (labels not given match anything)
    #[arg(value_name = "SERIES")]
    pub selector: String,

    /// How far back from now
    #[arg(long, value_name = "DURATION", default_value = "1h", value_parser = duration)]
    pub range: Duration,

    /// At most this many points per series
    #[arg(long, value_name = "N", default_value_t = 60, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub points: u32,

    /// For a histogram (SERIES names its base, without _bucket): this quantile, 0 to 1, from summed buckets
    #[arg(long, value_name = "Q", value_parser = quantile)]
    pub quantile: Option<f64>,

    /// One JSON object a line
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// How far back from now
    #[arg(long, value_name = "DURATION", default_value = "24h", value_parser = duration)]
    pub range: Duration,

    /// Only the series of this service (their `service` label)
    #[arg(long, value_name = "SERVICE")]
    pub service: Option<String>,

    /// Only series of this metric name
    #[arg(long, value_name = "NAME")]
    pub metric: Option<String>,

    /// The output format
    #[arg(long, value_enum, default_value_t = Format::Json)]
    pub format: Format,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// One JSON object a bucket
    Json,
    /// Comma-separated values with a header line
    Csv,
    /// OpenMetrics text, for `promtool tsdb create-blocks-from openmetrics`
    Openmetrics,
}

fn duration(text: &str) -> Result<Duration, String> {
    parse_duration(text)
}

fn quantile(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(q) if (0.0..=1.0).contains(&q) => Ok(q),
        _ => Err(format!(
            "'{text}' is not a quantile between 0 and 1 (write e.g. 0.95)"
        )),
    }
}

fn shard_name(text: &str) -> Result<String, String> {
    let ok = !text.is_empty()
        && text.len() <= 32
        && text
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
    if ok {
        Ok(text.to_owned())
    } else {
        Err(format!(
            "'{text}' is not a shard name (lower-case letters, digits, - and _, at most 32)"
        ))
    }
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
    fn a_shard_cannot_name_a_path() {
        let err = Cli::try_parse_from(["magi-metrics", "push", "--shard", "../etc"]).unwrap_err();
        assert!(err.to_string().contains("is not a shard name"), "{err}");
    }
}
