//! The command line of magi-limits: `serve` the gateway, and change or show its policy while it runs.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use magi_core::cli::CommonArgs;
use magi_core::config::parse_duration;

use magi_usage::policy::Priority;

const EXAMPLES: &str = "\
Examples:
  magi-limits serve                                  gateway on 127.0.0.1:4400 before LiteLLM on :4000
  magi-limits set gpt-4o --rpm 60 --tpm 100000       per-model limits; over them requests queue
  magi-limits set --user ann@example.org --rpm 20    per-user limits; over them 429 at once
  magi-limits quota set ann@example.org 100000       tokens per UTC day
  magi-limits budget set --daily 5 --monthly 100     overall budgets in USD
  magi-limits budget set --monthly 20 --user bob     one user's budget
  magi-limits show                                   limits beside current use
  magi-limits breakers --json                        circuit breakers, one JSON record a line
  magi-limits errors recent --since 1h               the last upstream failures, grouped

Point Open WebUI, n8n or Jupyter at the gateway instead of LiteLLM (OPENAI_API_BASE_URL=\
http://127.0.0.1:4400/v1). Changes reach a running gateway within a second, without a restart. The user is \
taken from Open WebUI's X-OpenWebUI-User-Email header (ENABLE_FORWARD_USER_INFO_HEADERS=true) or \
Remote-User (magi-users), else `anonymous`. Usage and policy live in usage.db in the state directory \
(/var/lib/magi as root); magi-costs reports from it.";

#[derive(Debug, Parser)]
#[command(
    name = "magi-limits",
    version,
    about = magi_core::tools::about("limits"),
    long_about = "An OpenAI-compatible gateway between the clients of the MAGI stack and LiteLLM: rate \
limits per model and per user with a priority queue, daily token quotas, daily and monthly cost budgets, \
circuit breakers with retries and timeouts, and a usage record of every request (tokens, cost, latency) \
for magi-costs. The other commands change and show its policy.",
    after_help = EXAMPLES
)]
pub struct Cli {
    #[command(flatten)]
    pub common: CommonArgs,

    /// The usage and policy database [default: usage.db in the state directory]
    #[arg(long, global = true, value_name = "FILE", env = "MAGI_LIMITS_DB")]
    pub db: Option<PathBuf>,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the gateway
    #[command(after_help = "Examples:
  magi-limits serve
  magi-limits serve --listen 127.0.0.1:4400 --upstream http://127.0.0.1:4000
  curl -s localhost:4400/metrics                 Prometheus text

Under systemd (Type=notify) it sends READY=1 once listening and WATCHDOG=1 when WatchdogSec= is set; \
started by magi-limits.socket it serves the socket systemd passes (LISTEN_FDS) instead of --listen. \
SIGTERM stops accepting, lets answers in flight finish (--grace) and writes the usage still queued.")]
    Serve(Box<ServeArgs>),
    /// Set requests and tokens per minute for a model (or a user with --user)
    #[command(after_help = "Examples:
  magi-limits set gpt-4o --rpm 60 --tpm 100000
  magi-limits set gpt-4 60                       60 requests per minute
  magi-limits set gpt-4o --tpm 50000             keeps --rpm as it was
  magi-limits set --user ann@example.org --rpm 10
  magi-limits set gpt-4o --clear                 no limits for gpt-4o

A model over its limit queues requests (interactive first) up to `serve --queue-wait`; a user over theirs \
gets 429 at once.")]
    Set(SetArgs),
    /// Show the limits, quotas and budgets beside current use
    Show(JsonArgs),
    /// Daily token quotas per user
    #[command(subcommand)]
    Quota(QuotaCommand),
    /// Daily and monthly cost budgets, overall or per user
    #[command(subcommand)]
    Budget(BudgetCommand),
    /// Queue priority of a user or API key prefix
    #[command(subcommand)]
    Priority(PriorityCommand),
    /// The circuit breakers as the gateway last recorded them
    Breakers(JsonArgs),
    /// Upstream failures
    #[command(subcommand)]
    Errors(ErrorsCommand),
}

#[derive(Debug, Clone, Args)]
pub struct JsonArgs {
    /// One JSON record a line instead of a table
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Where to listen
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:4400")]
    pub listen: SocketAddr,

    /// LiteLLM's base URL
    #[arg(long, value_name = "URL", default_value = "http://127.0.0.1:4000")]
    pub upstream: hyper::Uri,

    /// magi-users' database, for the holders of `Authorization: Bearer magi_...` API keys
    /// [default: users.db in the state directory]
    #[arg(long, value_name = "FILE", env = "MAGI_USERS_DB")]
    pub users_db: Option<PathBuf>,

    /// LiteLLM's config.yaml, for prices when LiteLLM sends no x-litellm-response-cost
    /// [default: $MAGI_HOME/config/litellm/config.yaml]
    #[arg(long, value_name = "FILE")]
    pub litellm_config: Option<PathBuf>,

    /// Requests waiting across all models at most; more get 429
    #[arg(long, value_name = "N", default_value_t = 256)]
    pub queue_max: usize,

    /// The longest a request waits for its model before 429 (0 = no queue)
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = duration)]
    pub queue_wait: Duration,

    /// Failures within --breaker-window that open a model's breaker
    #[arg(long, value_name = "N", default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..))]
    pub breaker_failures: u32,

    /// The span in which --breaker-failures failures open a breaker
    #[arg(long, value_name = "DURATION", default_value = "60s", value_parser = duration)]
    pub breaker_window: Duration,

    /// How long an open breaker refuses before it lets one probe through
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = duration)]
    pub breaker_cooldown: Duration,

    /// Retries of a failure that happened before anything reached the client
    #[arg(long, value_name = "N", default_value_t = 2)]
    pub retries: u32,

    /// The first retry's delay; doubles each time, with jitter
    #[arg(long, value_name = "DURATION", default_value = "250ms", value_parser = duration)]
    pub backoff: Duration,

    /// The longest wait for a connection to LiteLLM
    #[arg(long, value_name = "DURATION", default_value = "5s", value_parser = duration)]
    pub connect_timeout: Duration,

    /// The longest wait for LiteLLM's answer to begin
    #[arg(long, value_name = "DURATION", default_value = "5m", value_parser = duration)]
    pub first_byte_timeout: Duration,

    /// The longest silence in the middle of an answer
    #[arg(long, value_name = "DURATION", default_value = "2m", value_parser = duration)]
    pub idle_timeout: Duration,

    /// How often queued usage records are written (and their figures added to the metrics store)
    #[arg(long, value_name = "DURATION", default_value = "1s", value_parser = duration)]
    pub flush_interval: Duration,

    /// Do not add request, error, token, cost and latency figures to the metrics store (metrics/limits.db
    /// in the state directory)
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

    /// The largest request body, in bytes
    #[arg(long, value_name = "BYTES", default_value_t = 16 << 20)]
    pub max_body: usize,

    /// The longest a client may take to send a request's head, and to start the next one on a kept-alive
    /// connection; then the connection is closed
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = duration)]
    pub header_timeout: Duration,

    /// The longest a client may take to send a request's body (408 after it)
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = duration)]
    pub body_timeout: Duration,

    /// Connections served at once; more wait in the listen queue until one ends [default: the open-file
    /// limit less 64, at most 16384]
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub max_connections: Option<u32>,

    /// Threads serving requests (the work is waiting on sockets; 2 keep up with a busy LiteLLM)
    #[arg(long, value_name = "N", default_value_t = 2, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub threads: u16,

    /// How long a stop waits for answers in flight
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = duration)]
    pub grace: Duration,
}

#[derive(Debug, Clone, Args)]
#[command(group = clap::ArgGroup::new("what").required(true).multiple(true).args(["rpm", "rpm_given", "tpm", "clear"]))]
pub struct SetArgs {
    /// The model name clients ask for (LiteLLM's model_name)
    #[arg(
        value_name = "MODEL",
        required_unless_present = "user",
        conflicts_with = "user"
    )]
    pub model: Option<String>,

    /// Requests per minute, as `--rpm` (`set gpt-4 60`)
    #[arg(value_name = "RPM", requires = "model", conflicts_with_all = ["rpm", "clear"])]
    pub rpm_given: Option<u64>,

    /// Set a user's limits instead of a model's
    #[arg(long, value_name = "USER")]
    pub user: Option<String>,

    /// Requests per minute
    #[arg(long, value_name = "N")]
    pub rpm: Option<u64>,

    /// Tokens per minute (prompt + completion)
    #[arg(long, value_name = "N")]
    pub tpm: Option<u64>,

    /// Remove the limits
    #[arg(long, conflicts_with_all = ["rpm", "tpm"])]
    pub clear: bool,
}

#[derive(Debug, Subcommand)]
pub enum QuotaCommand {
    /// Set a user's tokens per UTC day
    #[command(after_help = "Example:\n  magi-limits quota set ann@example.org 100000")]
    Set {
        /// The user, as the gateway identifies them (an Open WebUI email, a magi-users account name)
        user: String,
        /// Prompt and completion tokens per UTC day
        #[arg(value_name = "TOKENS_PER_DAY")]
        tokens_per_day: u64,
    },
    /// Remove a user's quota
    Clear {
        /// The user whose quota goes
        user: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum BudgetCommand {
    /// Set the daily and/or monthly budget in USD
    #[command(
        group = clap::ArgGroup::new("period").required(true).multiple(true).args(["daily", "monthly"]),
        after_help = "Examples:\n  magi-limits budget set --daily 5 --monthly 100\n  magi-limits budget set --monthly 20 --user bob"
    )]
    Set {
        /// Dollars per UTC day
        #[arg(long, value_name = "USD", value_parser = usd)]
        daily: Option<f64>,
        /// Dollars per calendar month (UTC)
        #[arg(long, value_name = "USD", value_parser = usd)]
        monthly: Option<f64>,
        /// One user's budget instead of the overall one
        #[arg(long, value_name = "USER")]
        user: Option<String>,
    },
    /// Remove the overall budgets, or one user's
    Clear {
        /// One user's budget instead of the overall one
        #[arg(long, value_name = "USER")]
        user: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum PriorityCommand {
    /// Queue a user's or key prefix's requests as interactive or workflow
    #[command(
        after_help = "Examples:\n  magi-limits priority set n8n@example.org workflow\n  magi-limits priority set magi_0123abcd interactive\n\nWithout a rule, requests from Open WebUI are interactive and the rest are workflows."
    )]
    Set {
        /// A user, or an API key's visible prefix (magi_ and 8 hex digits, as `magi-users keys list` shows)
        who: String,
        /// interactive (served first) or workflow
        #[arg(value_enum)]
        priority: Priority,
    },
}

#[derive(Debug, Subcommand)]
pub enum ErrorsCommand {
    /// The last upstream failures, grouped by model, status and error
    Recent {
        /// How far back
        #[arg(long, value_name = "DURATION", default_value = "24h", value_parser = duration)]
        since: Duration,
        #[command(flatten)]
        json: JsonArgs,
    },
}

fn duration(text: &str) -> Result<Duration, String> {
    parse_duration(text)
}

fn usd(text: &str) -> Result<f64, String> {
    match text.trim_start_matches('$').parse::<f64>() {
        Ok(v) if v.is_finite() && v >= 0.0 => Ok(v),
        _ => Err(format!(
            "'{text}' is not an amount in USD (write e.g. 5 or 12.50)"
        )),
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
    fn set_needs_a_model_or_user_and_something_to_set() {
        assert!(Cli::try_parse_from(["magi-limits", "set", "gpt", "--rpm", "5"]).is_ok());
        assert!(Cli::try_parse_from(["magi-limits", "set", "--user", "ann", "--tpm", "5"]).is_ok());
        assert!(Cli::try_parse_from(["magi-limits", "set", "gpt"]).is_err());
        assert!(Cli::try_parse_from(["magi-limits", "set", "--rpm", "5"]).is_err());
        assert!(Cli::try_parse_from(["magi-limits", "budget", "set", "--user", "x"]).is_err());
        assert!(Cli::try_parse_from(["magi-limits", "budget", "set", "--daily", "-1"]).is_err());
    }
}
