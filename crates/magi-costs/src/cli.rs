//! The command line of magi-costs: a report of tokens and cost by default, `check` for the budget
//! thresholds.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use jiff::civil::Date;
use magi_core::cli::CommonArgs;
use magi_usage::usage::{GroupBy, Period};

const EXAMPLES: &str = "\
Examples:
  magi-costs                            tokens and cost per day and model, all history
  magi-costs --by none                  one row a day, all models together
  magi-costs --weekly                   per ISO week (from Monday) and model
  magi-costs --monthly --by user --since 2026-01-01
  magi-costs --since 30d --csv > costs.csv
  magi-costs --daily --json | jq -s 'map(.cost_usd) | add'
  magi-costs check                      budget.threshold events at 80 % and 100 % of each budget
  magi-costs check --json | magi-alert  the same events as NDJSON, for magi-alert

Periods are UTC days, ISO weeks and calendar months. The figures come from the usage store of the magi-limits \
gateway (usage.db in the state directory, --db or $MAGI_LIMITS_DB); budgets are set with \
`magi-limits budget set --daily USD | --monthly USD [--user USER]`. `check` remembers what it sent (costs.db \
beside usage.db), so each threshold is reported once per budget period; magi-costs-check.timer runs it hourly.";

/// Report token use and cost by day, model or user; warn at budget thresholds
#[derive(Debug, Parser)]
#[command(
    name = "magi-costs",
    version,
    about = magi_core::tools::about("costs"),
    long_about = "Report the tokens and cost of every request that passed the magi-limits gateway, by day, \
ISO week or month, and by model (the default), by user or in all, as a table, NDJSON or CSV. `check` compares this day's and this \
month's spend with each budget and emits a budget.threshold event (warning at 80 %, critical at 100 %) once \
per period, and an ok event when a new period starts below the threshold again.",
    after_help = EXAMPLES
)]
pub struct Cli {
    #[command(flatten)]
    pub common: CommonArgs,

    /// The magi-limits usage database [default: usage.db in the state directory]
    #[arg(long, global = true, value_name = "FILE", env = "MAGI_LIMITS_DB")]
    pub db: Option<PathBuf>,

    #[command(flatten)]
    pub report: ReportArgs,

    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// One row per UTC day (the default)
    #[arg(long, group = "period")]
    pub daily: bool,

    /// One row per ISO week, Monday to Sunday
    #[arg(long, group = "period")]
    pub weekly: bool,

    /// One row per calendar month
    #[arg(long, group = "period")]
    pub monthly: bool,

    /// Split each period by model (the default), by user, or not at all (`none`: one row a period)
    #[arg(long, value_name = "model|user|none")]
    pub by: Option<Split>,

    /// From this UTC date (YYYY-MM-DD), or this long ago (30d, 12w); default: all history
    #[arg(long, value_name = "DATE", value_parser = parse_since)]
    pub since: Option<Since>,

    /// One JSON object a line
    #[arg(long, conflicts_with = "csv")]
    pub json: bool,

    /// Comma-separated values with a header line
    #[arg(long)]
    pub csv: bool,
}

impl ReportArgs {
    /// Whether any report flag was given (they mean nothing to `check`).
    pub fn any(&self) -> bool {
        self.daily
            || self.weekly
            || self.monthly
            || self.by.is_some()
            || self.since.is_some()
            || self.json
            || self.csv
    }

    /// What each period is split by: the model unless `--by` says otherwise.
    pub fn group(&self) -> Option<GroupBy> {
        match self.by.unwrap_or(Split::Model) {
            Split::Model => Some(GroupBy::Model),
            Split::User => Some(GroupBy::User),
            Split::None => None,
        }
    }

    /// The period the flags ask for.
    pub fn period(&self) -> Period {
        if self.weekly {
            Period::Week
        } else if self.monthly {
            Period::Month
        } else {
            Period::Day
        }
    }
}

/// What `--by` splits a period by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Split {
    Model,
    User,
    /// One row a period, all models and users together.
    None,
}

/// Where a report starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Since {
    Date(Date),
    /// This many whole days before today.
    DaysAgo(i64),
}

fn parse_since(text: &str) -> Result<Since, String> {
    if let Ok(date) = text.parse::<Date>() {
        return Ok(Since::Date(date));
    }
    magi_core::config::parse_duration(text)
        .map(|d| Since::DaysAgo(d.as_secs().div_ceil(86_400) as i64))
        .map_err(|_| format!("'{text}' is neither a date (2026-11-01) nor a duration (30d, 12w)"))
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Emit budget.threshold events for budgets at 80 % or 100 % of this day's or month's spend, once each
    #[command(after_help = "Examples:
  magi-costs check                      log the events (the journal under systemd), print one line each
  magi-costs check --json | magi-alert  NDJSON events on stdout

Severity: warning at 80 %, critical at 100 % (the gateway then refuses requests until the period resets), \
ok when a period that had crossed a threshold is over and the new one is below 80 %.")]
    Check(CheckArgs),
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Print the events as NDJSON on stdout (they are logged either way)
    #[arg(long)]
    pub json: bool,

    /// Where to remember the events sent [default: costs.db beside the usage database]
    #[arg(long, value_name = "FILE")]
    pub state: Option<PathBuf>,
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
    fn one_period_one_format() {
        assert!(Cli::try_parse_from(["magi-costs", "--daily", "--weekly"]).is_err());
        assert!(Cli::try_parse_from(["magi-costs", "--json", "--csv"]).is_err());
        assert!(Cli::try_parse_from(["magi-costs", "--by", "team"]).is_err());
        let cli = Cli::try_parse_from(["magi-costs", "--monthly", "--by", "user"]).unwrap();
        assert_eq!(cli.report.period(), Period::Month);
        assert_eq!(cli.report.group(), Some(GroupBy::User));
        let default = Cli::try_parse_from(["magi-costs"]).unwrap();
        assert_eq!(default.report.group(), Some(GroupBy::Model));
        let whole = Cli::try_parse_from(["magi-costs", "--by", "none"]).unwrap();
        assert_eq!(whole.report.group(), None);
        let cli = Cli::try_parse_from(["magi-costs", "--db", "u.db", "check", "--json"]).unwrap();
        assert!(matches!(
            cli.command,
            Some(Command::Check(CheckArgs { json: true, .. }))
        ));
        assert!(!cli.report.any());
    }

    #[test]
    fn since_is_a_date_or_a_duration() {
        assert_eq!(
            parse_since("2026-11-01"),
            Ok(Since::Date("2026-11-01".parse().unwrap()))
        );
        assert_eq!(parse_since("30d"), Ok(Since::DaysAgo(30)));
        assert!(
            parse_since("yesterday")
                .unwrap_err()
                .contains("neither a date")
        );
    }
}
