//! magi-sla: service levels from what MAGI already records.
//!
//! The binary parses [`cli::Cli`] and calls [`run`]. [`ledger`] does the time accounting (up, down, unknown,
//! maintenance) as pure functions, [`burn`] the error budget's burn rates, [`trends`] this week against the
//! last, [`anomaly`] unusual hours of usage, [`forecast`] and [`capacity`] the dates limits are reached; [`report`] reads the metrics store (written by magi-health watch) and the
//! gateway's usage records ([`magi_usage::usage::UsageStore::outcomes`]), and prints the result. Planned
//! maintenance is two marks in the store (`maintenance.start`, `maintenance.end`), written by
//! `magi-sla maintenance` here and, later, by the tools that do the maintenance.

pub mod anomaly;
pub mod burn;
pub mod capacity;
pub mod cli;
pub mod forecast;
pub mod ledger;
pub mod report;
pub mod trends;

use std::io::Write as _;
use std::path::Path;

use anyhow::Context as _;
use magi_core::config::SlaConfig;
use magi_core::exit;
use magi_tsdb::{Reader, Tiers, Writer};
use magi_usage::usage::UsageStore;

use crate::cli::{
    BurnArgs, CapacityArgs, Cli, Command, Format, MaintenanceArgs, MaintenanceCommand, ReportArgs,
};

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
    let services = |asked: &[String]| -> Vec<String> {
        if asked.is_empty() {
            context
                .config
                .services
                .iter()
                .map(|s| s.name.clone())
                .collect()
        } else {
            asked.to_vec()
        }
    };
    match cli.command {
        Command::Report(args) => report(
            &dir,
            &usage_db,
            &services(&args.services),
            &args,
            &context.config.sla,
            now,
        ),
        Command::Burn(args) => burn_rates(
            &dir,
            &services(&args.services),
            &args,
            &context.config.sla,
            now,
        ),
        Command::Trends { json } => {
            let reader = Reader::new(&dir, Tiers::default());
            let mut comparisons = trends::compare(&reader, now.as_millisecond())?;
            comparisons.extend(trends::compare_services(
                &reader,
                &services(&[]),
                now.as_millisecond(),
            )?);
            let mut out = std::io::stdout().lock();
            if json {
                let mut models: Vec<&str> = comparisons.iter().map(|c| c.model.as_str()).collect();
                models.dedup();
                for model in models {
                    let of: Vec<&trends::Comparison> =
                        comparisons.iter().filter(|c| c.model == model).collect();
                    writeln!(out, "{}", trends::event(model, &of, now).to_line())?;
                }
            } else {
                write!(out, "{}", report::trends_text(&comparisons))?;
            }
            Ok(exit::SUCCESS)
        }
        Command::Anomalies { hours, json } => {
            let checked = anomaly::scan(
                &Reader::new(&dir, Tiers::default()),
                now.as_millisecond(),
                i64::from(hours),
            )?;
            let mut out = std::io::stdout().lock();
            if json {
                // The latest hour of each figure: a warning while it is unusual, ok once it is not.
                let latest = checked.iter().map(|h| h.hour).max();
                for h in checked.iter().filter(|h| Some(h.hour) == latest) {
                    writeln!(out, "{}", anomaly::event(h, now).to_line())?;
                }
            } else {
                write!(out, "{}", report::anomalies_text(&checked))?;
            }
            Ok(exit::SUCCESS)
        }
        Command::Capacity(args) => {
            let data: std::collections::BTreeMap<String, Vec<std::path::PathBuf>> = context
                .config
                .services
                .iter()
                .map(|s| {
                    let paths = s.data.iter().map(|p| context.config.resolve(p)).collect();
                    (s.name.clone(), paths)
                })
                .collect();
            capacity(&dir, &usage_db, &data, &args, now)
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
                writeln!(
                    out,
                    "no maintenance in the last {}",
                    report::show_seconds(since.as_secs_f64())
                )?;
            }
            Ok(exit::SUCCESS)
        }
    }
}

fn report(
    dir: &Path,
    usage_db: &Path,
    services: &[String],
    args: &ReportArgs,
    config: &SlaConfig,
    now: jiff::Timestamp,
) -> anyhow::Result<u8> {
    let to_ms = now.as_millisecond();
    let from_ms = to_ms - i64::try_from(args.since.as_millis()).unwrap_or(i64::MAX / 2);
    let window = report::Window {
        from_ms,
        to_ms,
        now_ms: to_ms,
        interval_ms: interval_ms(args.targets.interval),
    };
    let targets: Vec<(String, f64)> = services
        .iter()
        .map(|s| (s.clone(), args.targets.of(s, config)))
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
    let core = args.targets.core(config);
    let report = report::build(&reader, &targets, core, &outcomes, &window)?;
    let mut out = std::io::stdout().lock();
    match args.format() {
        Format::Json => writeln!(out, "{}", serde_json::to_string_pretty(&report)?)?,
        Format::Html => write!(out, "{}", report::html(&report))?,
        Format::Text => write!(out, "{}", report::text(&report))?,
    }
    Ok(exit::SUCCESS)
}

fn interval_ms(interval: std::time::Duration) -> i64 {
    i64::try_from(interval.as_millis()).unwrap_or(5_000).max(1)
}

/// Each service's (and the core's) burn rates now: a table, or one `sla.burn` event each.
fn burn_rates(
    dir: &Path,
    services: &[String],
    args: &BurnArgs,
    config: &SlaConfig,
    now: jiff::Timestamp,
) -> anyhow::Result<u8> {
    let now_ms = now.as_millisecond();
    let longest = burn::LEVELS
        .iter()
        .map(|l| l.long.as_millis() as i64)
        .max()
        .unwrap_or(0);
    let window = report::Window {
        from_ms: now_ms - longest,
        to_ms: now_ms,
        now_ms,
        interval_ms: interval_ms(args.targets.interval),
    };
    let reader = Reader::new(dir, Tiers::default());
    let maintenance = report::maintenance(&reader, window.from_ms, now_ms)?;
    let subjects = std::iter::once((None, "core".to_owned(), args.targets.core(config))).chain(
        services
            .iter()
            .map(|s| (Some(s.as_str()), s.clone(), args.targets.of(s, config))),
    );
    let mut table = magi_core::table::Table::new([
        "SERVICE",
        "TARGET",
        "FAST 1h",
        "FAST 5m",
        "MEDIUM 6h",
        "MEDIUM 30m",
        "SLOW 3d",
        "SLOW 6h",
        "FIRING",
    ])
    .right([1, 2, 3, 4, 5, 6, 7]);
    let mut out = std::io::stdout().lock();
    for (service, name, target) in subjects {
        let slices = report::observed(&reader, service, &window)?;
        if slices.is_empty() {
            continue;
        }
        let windows = report::windows_for(&maintenance, service, now_ms);
        let burns = burn::evaluate(
            |span| {
                ledger::account(&slices, &windows, now_ms - span.as_millis() as i64, now_ms)
                    .error_rate()
            },
            target,
        );
        if args.json {
            writeln!(out, "{}", burn::event(&name, target, &burns, now).to_line())?;
        } else {
            let show = |r: Option<f64>| r.map_or("-".to_owned(), |r| format!("{r:.1}×"));
            let mut row = vec![name.clone(), format!("{target} %")];
            for b in &burns {
                row.push(show(b.long));
                row.push(show(b.short));
            }
            row.push(
                burns
                    .iter()
                    .find(|b| b.firing())
                    .map_or("-".to_owned(), |b| b.level.name.to_owned()),
            );
            table.row(row);
        }
    }
    if !args.json {
        if table.is_empty() {
            writeln!(
                out,
                "No service has figures in the last 3 days: is magi-health watch writing the metrics store?"
            )?;
        } else {
            table.write(&mut out)?;
        }
    }
    Ok(exit::SUCCESS)
}

/// `magi capacity`.
fn capacity(
    dir: &Path,
    usage_db: &Path,
    data: &std::collections::BTreeMap<String, Vec<std::path::PathBuf>>,
    args: &CapacityArgs,
    now: jiff::Timestamp,
) -> anyhow::Result<u8> {
    let now_ms = now.as_millisecond();
    let trend_ms = i64::try_from(args.trend.as_millis()).unwrap_or(i64::MAX / 2);
    let reader = Reader::new(dir, Tiers::default());
    let room = |service: &str| data.get(service).and_then(|p| capacity::free_space(p));
    let headroom = capacity::headrooms(&reader, trend_ms, now_ms, &room)?;
    // The usage database and the budgets are the gateway's: read when they exist, never created here.
    let month = if usage_db.exists() {
        let spent = UsageStore::open(usage_db)
            .and_then(|u| u.spent(None, magi_usage::clock::month_start(now), now))
            .with_context(|| format!("reading the usage records in {}", usage_db.display()))?;
        let budget = magi_usage::policy::Policy::open(usage_db)
            .and_then(|p| p.budgets())
            .with_context(|| format!("reading the budgets in {}", usage_db.display()))?
            .into_iter()
            .find(|b| b.user.is_none())
            .and_then(|b| b.monthly_usd);
        Some(capacity::month(&spent, budget, now))
    } else {
        None
    };
    let answer = capacity::Capacity {
        at: now,
        trend_seconds: args.trend.as_secs(),
        headroom,
        month,
    };
    let mut out = std::io::stdout().lock();
    if args.json {
        writeln!(out, "{}", serde_json::to_string_pretty(&answer)?)?;
    } else {
        write!(out, "{}", capacity::text(&answer))?;
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
