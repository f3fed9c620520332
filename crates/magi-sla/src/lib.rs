//! magi-sla: service levels from what MAGI already records.
//!
//! The binary parses [`cli::Cli`] and calls [`run`]. [`ledger`] does the time accounting (up, down, unknown,
//! maintenance) as pure functions; [`report`] reads the metrics store (written by magi-health watch) and the
//! gateway's usage records ([`magi_usage::usage::UsageStore::outcomes`]), and prints the result. Planned
//! maintenance is two marks in the store (`maintenance.start`, `maintenance.end`), written by
//! `magi-sla maintenance` here and, later, by the tools that do the maintenance.

pub mod cli;
pub mod ledger;
pub mod report;

use std::io::Write as _;
use std::path::Path;

use anyhow::Context as _;
use magi_core::exit;
use magi_tsdb::{Reader, Tiers, Writer};
use magi_usage::usage::UsageStore;

use crate::cli::{Cli, Command, Format, MaintenanceArgs, MaintenanceCommand, ReportArgs};

/// The shard `magi-sla maintenance` writes its marks to.
pub const SHARD: &str = "sla";

/// Runs the command line; returns the exit code.
pub fn run(cli: Cli) -> anyhow::Result<u8> {
    let context = cli.common.start("magi-sla")?;
    let dir = cli
        .metrics_dir
        .clone()
        .unwrap_or_else(|| magi_tsdb::default_dir(&context.paths.state_dir));
    let usage_db = cli
        .usage_db
        .clone()
        .unwrap_or_else(|| magi_usage::db::default_path(&context.paths));
    let now = jiff::Timestamp::now();
    match cli.command {
        Command::Report(args) => {
            let services: Vec<String> = if args.services.is_empty() {
                context
                    .config
                    .services
                    .iter()
                    .map(|s| s.name.clone())
                    .collect()
            } else {
                args.services.clone()
            };
            report(&dir, &usage_db, &services, &args, now)
        }
        Command::Maintenance(MaintenanceCommand::Start(m)) => {
            mark(&dir, report::MAINTENANCE_START, &m, now)
        }
        Command::Maintenance(MaintenanceCommand::End(m)) => {
            mark(&dir, report::MAINTENANCE_END, &m, now)
        }
        Command::Maintenance(MaintenanceCommand::List { since, json }) => {
            let to = now.as_millisecond();
            let from = to - since.as_millis() as i64;
            let windows = report::maintenance(&Reader::new(&dir, Tiers::default()), from, to)?;
            let mut out = std::io::stdout().lock();
            for m in &windows {
                if json {
                    writeln!(out, "{}", serde_json::to_string(m)?)?;
                } else {
                    writeln!(
                        out,
                        "{}  {} to {}  {}",
                        m.service.as_deref().unwrap_or("the whole stack"),
                        magi_core::format::time(m.start),
                        m.end
                            .map_or("now (open)".to_owned(), magi_core::format::time),
                        magi_core::printable::printable(&m.note)
                    )?;
                }
            }
            if windows.is_empty() && !json {
                writeln!(out, "no maintenance in the last {}", humantime(since))?;
            }
            Ok(exit::SUCCESS)
        }
    }
}

fn humantime(d: std::time::Duration) -> String {
    report::show_seconds(d.as_secs_f64())
}

fn report(
    dir: &Path,
    usage_db: &Path,
    services: &[String],
    args: &ReportArgs,
    now: jiff::Timestamp,
) -> anyhow::Result<u8> {
    let to_ms = now.as_millisecond();
    let from_ms = to_ms - i64::try_from(args.since.as_millis()).unwrap_or(i64::MAX / 2);
    let window = report::Window {
        from_ms,
        to_ms,
        now_ms: to_ms,
        interval_ms: i64::try_from(args.interval.as_millis())
            .unwrap_or(5_000)
            .max(1),
    };
    let targets: Vec<(String, f64)> = services
        .iter()
        .map(|s| {
            let target = args
                .targets_of
                .iter()
                .rev()
                .find(|(name, _)| name == s)
                .map_or(args.target, |(_, t)| *t);
            (s.clone(), target)
        })
        .collect();
    // The usage database is the gateway's: read when it exists, never created here.
    let outcomes = if usage_db.exists() {
        UsageStore::open(usage_db)
            .and_then(|u| {
                u.outcomes(
                    jiff::Timestamp::from_millisecond(from_ms).unwrap_or(now),
                    now,
                )
            })
            .with_context(|| format!("reading the usage records in {}", usage_db.display()))?
    } else {
        Vec::new()
    };
    let reader = Reader::new(dir, Tiers::default());
    let report = report::build(&reader, &targets, args.target, &outcomes, &window)?;
    let mut out = std::io::stdout().lock();
    match args.format() {
        Format::Json => writeln!(out, "{}", serde_json::to_string_pretty(&report)?)?,
        Format::Html => write!(out, "{}", report::html(&report))?,
        Format::Text => write!(out, "{}", report::text(&report))?,
    }
    Ok(exit::SUCCESS)
}

/// Writes a maintenance mark now.
fn mark(dir: &Path, kind: &str, m: &MaintenanceArgs, now: jiff::Timestamp) -> anyhow::Result<u8> {
    let mut writer = Writer::open(dir, SHARD, Tiers::default(), Default::default())
        .with_context(|| format!("opening the metrics store in {}", dir.display()))?;
    writer.annotate(now.as_millisecond(), kind, m.service.as_deref(), &m.note)?;
    let what = m.service.as_deref().unwrap_or("the whole stack");
    if kind == report::MAINTENANCE_START {
        log::info!("maintenance of {what} begins");
        println!("maintenance of {what} begins now; `magi-sla maintenance end` closes it");
    } else {
        log::info!("maintenance of {what} ends");
        println!("maintenance of {what} ends now");
    }
    Ok(exit::SUCCESS)
}
