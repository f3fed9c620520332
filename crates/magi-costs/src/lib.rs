//! magi-costs: tokens and cost from the magi-limits usage store, and budget threshold events.
//!
//! The binary parses [`cli::Cli`] and calls [`run`]. The figures come from the gateway's own stores,
//! [`magi_usage::usage`] (totals per period, spend over an interval) and [`magi_usage::policy`] (the
//! budgets), on the same clock ([`magi_usage::clock`], whose `MAGI_LIMITS_NOW` lets tests cross a period
//! boundary). [`report`] renders the totals; [`check`] decides which budget is news and makes its event;
//! [`sent`] remembers what was sent.

pub mod check;
pub mod cli;
pub mod report;
pub mod sent;

use std::io::Write as _;
use std::path::{Path, PathBuf};

use jiff::ToSpan as _;
use jiff::civil::Date;
use magi_core::event::EventWriter;
use magi_core::exit::{self, UsageError};
use magi_core::logging::log_event;
use magi_usage::clock;
use magi_usage::policy::Policy;
use magi_usage::usage::UsageStore;

use crate::check::{Standing, Step, Window};
use crate::cli::{CheckArgs, Cli, Command, ReportArgs, Since};
use crate::sent::SentStore;

/// The state file of `check`, beside the usage database.
pub const SENT_FILE: &str = "costs.db";

/// Runs the command line; returns the exit code.
pub fn run(cli: Cli) -> anyhow::Result<u8> {
    let context = cli.common.start("magi-costs")?;
    magi_usage::clock::start();
    let db = cli
        .db
        .clone()
        .unwrap_or_else(|| magi_usage::db::default_path(&context.paths));
    match cli.command {
        None => report(&db, &cli.report),
        Some(Command::Check(_)) if cli.report.any() => Err(UsageError(
            "--daily, --weekly, --monthly, --by, --since, --json and --csv before `check` belong to the \
             report; `magi-costs check --json` prints the events as NDJSON"
                .into(),
        )
        .into()),
        Some(Command::Check(args)) => check(&db, &args),
    }
}

fn since_date(since: Since) -> Date {
    match since {
        Since::Date(date) => date,
        Since::DaysAgo(days) => clock::day_of(clock::now()).saturating_sub(days.days()),
    }
}

fn report(db: &Path, args: &ReportArgs) -> anyhow::Result<u8> {
    let mut out = std::io::stdout().lock();
    if !db.exists() {
        if !args.json && !args.csv {
            writeln!(
                out,
                "no usage recorded yet: {} does not exist (magi-limits serve creates it)",
                db.display()
            )?;
        }
        return Ok(exit::SUCCESS);
    }
    let period = args.period();
    let since = args.since.map(since_date);
    let group = args.group();
    let totals = UsageStore::open(db)?.totals(period, group, since)?;
    let rows = report::rows(totals, period, group);
    if args.json {
        report::json(&mut out, &rows)?;
    } else if args.csv {
        report::csv(&mut out, &rows, group)?;
    } else if rows.is_empty() {
        match since {
            Some(date) => writeln!(out, "no usage recorded since {date}")?,
            None => writeln!(out, "no usage recorded yet")?,
        }
    } else {
        report::table(&mut out, &rows, group)?;
    }
    Ok(exit::SUCCESS)
}

fn check(db: &Path, args: &CheckArgs) -> anyhow::Result<u8> {
    if !db.exists() {
        log::info!(
            "no budgets to check: {} does not exist (magi-limits creates it)",
            db.display()
        );
        return Ok(exit::SUCCESS);
    }
    let state: PathBuf = args
        .state
        .clone()
        .unwrap_or_else(|| db.with_file_name(SENT_FILE));
    let budgets = Policy::open(db)?.budgets()?;
    let usage = UsageStore::open(db)?;
    let sent = SentStore::open(&state)?;
    let now = clock::now();
    let mut out = std::io::stdout().lock();
    let mut checked = 0;
    for budget in &budgets {
        let user = budget.user.as_deref();
        for (window, limit) in [
            (Window::Daily, budget.daily_usd),
            (Window::Monthly, budget.monthly_usd),
        ] {
            let Some(budget_usd) = limit else { continue };
            checked += 1;
            let (from, resets_at) = window.bounds(now);
            let standing = Standing {
                user: budget.user.clone(),
                window,
                budget_usd,
                spent_usd: usage.spent(user, from, resets_at)?.cost_usd,
                period: clock::day_of(from),
                resets_at,
            };
            let subject = standing.subject();
            let step = check::decide(&standing, sent.last(&subject)?);
            if let Some(step) = step {
                let event = check::event(&standing, step, now);
                log_event(&event);
                if args.json {
                    EventWriter::new(&mut out).write(&event)?;
                }
                sent.remember(
                    &subject,
                    check::remembered(&standing, step),
                    standing.spent_usd,
                    now,
                )?;
            }
            if !args.json {
                let news = match step {
                    Some(Step::Cross(threshold)) => format!("{threshold} % reached: event sent"),
                    Some(Step::Clear) => "back under: event sent".to_owned(),
                    None => "no news".to_owned(),
                };
                writeln!(
                    out,
                    "{subject}: {} of {} ({:.1} %), {news}",
                    report::dollars(standing.spent_usd),
                    report::dollars(budget_usd),
                    standing.percent()
                )?;
            }
        }
    }
    if checked == 0 && !args.json {
        writeln!(
            out,
            "no budgets set (magi-limits budget set --daily USD | --monthly USD [--user USER])"
        )?;
    }
    Ok(exit::SUCCESS)
}
