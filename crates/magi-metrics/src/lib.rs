//! magi-metrics: the command line over MAGI's metrics store ([`magi_tsdb`]).
//!
//! The binary parses [`cli::Cli`] and calls [`run`]. [`line`] reads the NDJSON metric lines `push` stores;
//! [`export`] writes ranges as JSON, CSV or OpenMetrics. Everything else (tiers, blocks, queries) is the
//! store's.

pub mod cli;
pub mod export;
pub mod line;
pub mod rules;
pub mod scrape;

use std::fs::File;
use std::io::{self, BufRead, BufReader, Write};
use std::path::Path;

use jiff::Timestamp;
use magi_core::exit;
use magi_core::format;
use magi_core::lines::{BoundedLines, Line};
use magi_core::table::Table;
use magi_tsdb::store::Limits;
use magi_tsdb::{Reader, Sample, Selector, Tiers, Writer};

use crate::cli::{
    AlertsCommand, AlertsWatchArgs, Cli, Command, ConfigureCommand, ExportArgs, Format, ListArgs,
    PushArgs, QueryArgs, RuleSeverity, ScrapeArgs,
};
use crate::line::{LineError, MAX_LINE_BYTES};
use crate::rules::{Evaluator, Rule, RulesFile, StoredRule};

/// The rules file's name in the config directory.
pub const RULES_FILE: &str = "alert-rules.toml";
/// How many lines `push` stores in one transaction.
const BATCH: usize = 5000;
/// How many skipped lines `push` names one by one; the rest are counted.
const NAMED_SKIPS: usize = 20;

/// Runs the command line; returns the exit code.
pub fn run(cli: Cli) -> anyhow::Result<u8> {
    let context = cli.common.start("magi-metrics")?;
    let dir = cli
        .dir
        .clone()
        .unwrap_or_else(|| magi_tsdb::default_dir(&context.paths.state_dir));
    match cli.command {
        Command::Push(args) => push(&dir, &args),
        Command::List(args) => list(&dir, &args),
        Command::Query(args) => query(&dir, &args),
        Command::Export(args) => export(&dir, &args),
        Command::Scrape(args) => scrape_command(&dir, &context.config.metrics.scrape, &args),
        Command::Alerts(args) => {
            let rules = args
                .rules
                .clone()
                .unwrap_or_else(|| context.paths.config_dir.join(RULES_FILE));
            match args.command {
                AlertsCommand::Configure(command) => configure(&rules, command),
                AlertsCommand::Watch(watch) => alerts_watch(&dir, &rules, &watch),
            }
        }
    }
}

fn now_ms() -> i64 {
    Timestamp::now().as_millisecond()
}

fn push(dir: &Path, args: &PushArgs) -> anyhow::Result<u8> {
    let input: Box<dyn BufRead> = match &args.file {
        None => Box::new(io::stdin().lock()),
        Some(p) if p == Path::new("-") => Box::new(io::stdin().lock()),
        Some(p) => Box::new(BufReader::new(File::open(p).map_err(|e| {
            anyhow::anyhow!("{}: cannot read the metric lines: {e}", p.display())
        })?)),
    };
    let mut writer = Writer::open(dir, &args.shard, Tiers::default(), Limits::default())?;
    let mut lines = BoundedLines::new(input, MAX_LINE_BYTES);
    let mut batch: Vec<(u64, Sample)> = Vec::with_capacity(BATCH);
    let (mut number, mut stored, mut skipped) = (0u64, 0usize, 0usize);
    loop {
        let line = lines.next_line()?;
        let done = line.is_none();
        if let Some(line) = line {
            number += 1;
            let parsed = match line {
                Line::TooLong(bytes) => Err(LineError::TooLong {
                    line: number,
                    bytes,
                }),
                Line::Text(text) => line::parse(text, number, now_ms()),
            };
            match parsed {
                Ok(Some(sample)) => batch.push((number, sample)),
                Ok(None) => {}
                Err(e) => {
                    skipped += 1;
                    if skipped <= NAMED_SKIPS {
                        log::warn!("{e}");
                    }
                }
            }
        }
        if batch.len() >= BATCH || (done && !batch.is_empty()) {
            let samples: Vec<Sample> = batch.iter().map(|(_, s)| s.clone()).collect();
            let appended = writer.append(&samples, now_ms())?;
            stored += appended.stored;
            for (index, why) in appended.refused {
                skipped += 1;
                if skipped <= NAMED_SKIPS {
                    log::warn!("line {}: {why}", batch[index].0);
                }
            }
            batch.clear();
        }
        if done {
            break;
        }
    }
    log::info!(
        "stored {stored} point(s) in {}{}",
        writer.path().display(),
        if skipped > NAMED_SKIPS {
            format!("; skipped {skipped} line(s), the first {NAMED_SKIPS} named above")
        } else if skipped > 0 {
            format!("; skipped {skipped} line(s)")
        } else {
            String::new()
        }
    );
    Ok(if skipped > 0 {
        exit::FAILURE
    } else {
        exit::SUCCESS
    })
}

fn reader(dir: &Path) -> Reader {
    Reader::new(dir, Tiers::default())
}

fn list(dir: &Path, args: &ListArgs) -> anyhow::Result<u8> {
    let series = reader(dir).series()?;
    let mut out = io::stdout().lock();
    if args.json {
        for s in &series {
            serde_json::to_writer(
                &mut out,
                &serde_json::json!({
                    "series": s.key.to_string(),
                    "metric": s.key.name,
                    "labels": s.key.labels,
                    "kind": s.kind,
                    "shard": s.shard,
                }),
            )?;
            writeln!(out)?;
        }
        return Ok(exit::SUCCESS);
    }
    if series.is_empty() {
        writeln!(out, "no series in {} yet", dir.display())?;
        return Ok(exit::SUCCESS);
    }
    let mut table = Table::new(["SERIES", "KIND", "SHARD"]);
    for s in &series {
        table.row(vec![
            s.key.to_string(),
            s.kind.as_str().into(),
            s.shard.clone(),
        ]);
    }
    table.write(&mut out)?;
    Ok(exit::SUCCESS)
}

fn range_ms(range: std::time::Duration) -> (i64, i64) {
    let now = now_ms();
    (now - range.as_millis() as i64, now + 1)
}

fn query(dir: &Path, args: &QueryArgs) -> anyhow::Result<u8> {
    let selector = Selector::parse(&args.selector)?;
    let (from, to) = range_ms(args.range);
    let reader = reader(dir);
    let mut out = io::stdout().lock();
    if let Some(q) = args.quantile {
        let quantiles = reader.quantile(&selector, q, from, to, args.points as usize, to)?;
        if args.json {
            serde_json::to_writer(&mut out, &quantiles)?;
            writeln!(out)?;
            return Ok(exit::SUCCESS);
        }
        let mut table = Table::new(["AT", "QUANTILE"]).right([1]);
        for (t, v) in &quantiles.points {
            table.row(vec![time(*t), v.map_or("-".into(), |v| format!("{v:.4}"))]);
        }
        table.write(&mut out)?;
        match quantiles.overall {
            Some(v) => writeln!(out, "over the whole range: {v:.4}")?,
            None => writeln!(out, "no observations of {} in the range", selector.name)?,
        }
        return Ok(exit::SUCCESS);
    }
    let answers = reader.query(&selector, from, to, args.points as usize, to)?;
    if args.json {
        export::json(&mut out, &answers)?;
        return Ok(exit::SUCCESS);
    }
    if answers.is_empty() {
        writeln!(out, "no series matches {}", args.selector)?;
        return Ok(exit::SUCCESS);
    }
    for a in &answers {
        writeln!(
            out,
            "{} ({}, {} s a point)",
            a.key,
            a.kind.as_str(),
            a.step_ms / 1000
        )?;
        let mut table = Table::new(["AT", "VALUE", "MIN", "MAX", "POINTS"]).right([1, 2, 3, 4]);
        for b in &a.buckets {
            table.row(vec![
                time(b.start_ms),
                figure(export::value(a.kind, b)),
                figure(b.min),
                figure(b.max),
                format::thousands(b.count),
            ]);
        }
        table.write(&mut out)?;
    }
    Ok(exit::SUCCESS)
}

fn export(dir: &Path, args: &ExportArgs) -> anyhow::Result<u8> {
    let (from, to) = range_ms(args.range);
    let reader = reader(dir);
    // The finest tier still holding the start of the range: the most detail there is.
    let tier = reader.tiers().finest_holding(from, to);
    let mut names: Vec<String> = reader
        .series()?
        .into_iter()
        .map(|s| s.key.name)
        .filter(|n| args.metric.as_ref().is_none_or(|m| m == n))
        .collect();
    names.dedup();
    let mut answers = Vec::new();
    for name in names {
        let mut selector = Selector::name(&name);
        if let Some(service) = &args.service {
            selector = selector.with("service", service);
        }
        answers.extend(reader.read_tier(&selector, tier, from, to)?);
    }
    let mut out = io::BufWriter::new(io::stdout().lock());
    match args.format {
        Format::Json => export::json(&mut out, &answers)?,
        Format::Csv => export::csv(&mut out, &answers)?,
        Format::Openmetrics => export::openmetrics(&mut out, &answers)?,
    }
    out.flush()?;
    Ok(exit::SUCCESS)
}

fn time(ms: i64) -> String {
    Timestamp::from_millisecond(ms).map_or_else(|_| ms.to_string(), format::time)
}

/// A figure to four significant decimals, without trailing zeros.
fn figure(v: f64) -> String {
    let text = format!("{v:.4}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    if text == "-0" {
        "0".into()
    } else {
        text.into()
    }
}

fn configure(path: &Path, command: ConfigureCommand) -> anyhow::Result<u8> {
    let mut file = RulesFile::load(path)?;
    match command {
        ConfigureCommand::Add {
            rule,
            name,
            severity,
        } => {
            let parsed = Rule::parse(&rule).map_err(|e| exit::UsageError(e.to_string()))?;
            let name = name.unwrap_or_else(|| Rule::default_name(&rule));
            let valid = !name.is_empty()
                && name.len() <= 64
                && name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
            if !valid {
                return Err(exit::UsageError(format!(
                    "'{name}' is not a rule name (letters, digits, - and _, at most 64)"
                ))
                .into());
            }
            if file.rules.iter().any(|r| r.name == name) {
                return Err(exit::UsageError(format!(
                    "a rule named '{name}' exists: remove it first, or give --name"
                ))
                .into());
            }
            if file.rules.len() >= rules::MAX_RULES {
                return Err(exit::UsageError(format!(
                    "{} holds {} rules already",
                    path.display(),
                    rules::MAX_RULES
                ))
                .into());
            }
            file.rules.push(StoredRule {
                name: name.clone(),
                rule: parsed.text,
                severity: match severity {
                    RuleSeverity::Warning => magi_core::Severity::Warning,
                    RuleSeverity::Critical => magi_core::Severity::Critical,
                },
            });
            file.save(path)?;
            log::info!("added rule {name} to {}", path.display());
        }
        ConfigureCommand::List { json } => {
            let mut out = io::stdout().lock();
            if json {
                for r in &file.rules {
                    serde_json::to_writer(&mut out, r)?;
                    writeln!(out)?;
                }
            } else if file.rules.is_empty() {
                log::info!(
                    "no rules in {} (add one: magi alerts configure add 'cpu > 90% for 5m on qdrant')",
                    path.display()
                );
            } else {
                let mut table = Table::new(["NAME", "SEVERITY", "RULE"]);
                for r in &file.rules {
                    table.row([
                        r.name.clone(),
                        r.severity.as_str().to_owned(),
                        r.rule.clone(),
                    ]);
                }
                table.write(&mut out)?;
            }
        }
        ConfigureCommand::Remove { name } => {
            let before = file.rules.len();
            file.rules.retain(|r| r.name != name);
            if file.rules.len() == before {
                return Err(exit::UsageError(format!(
                    "no rule named '{name}' in {} (see: magi alerts configure list)",
                    path.display()
                ))
                .into());
            }
            file.save(path)?;
            log::info!("removed rule {name} from {}", path.display());
        }
    }
    Ok(exit::SUCCESS)
}

fn alerts_watch(dir: &Path, path: &Path, args: &AlertsWatchArgs) -> anyhow::Result<u8> {
    let (stop, stopped) = std::sync::mpsc::channel::<()>();
    if !args.once {
        magi_core::daemon::on_stop_signal(move |_| {
            stop.send(()).ok();
        })?;
    }
    let reader = reader(dir);
    let mut evaluator = Evaluator::default();
    let mut events = magi_core::event::EventWriter::new(io::stdout().lock());
    let mut first = true;
    loop {
        // The file is read each round: a rule added or removed takes effect without a restart.
        let file = match RulesFile::load(path) {
            Ok(file) => file,
            Err(e) if first => return Err(e.into()),
            Err(e) => {
                log::warn!("{e}; keeping to the rules as they were read before");
                RulesFile::default()
            }
        };
        for event in evaluator.round(&reader, &file.rules, now_ms()) {
            events.write(&event)?;
        }
        if first {
            magi_core::daemon::ready(&format!(
                "checking {} rule(s) every {}s",
                file.rules.len(),
                args.interval.as_secs()
            ));
            first = false;
        }
        if args.once {
            return Ok(exit::SUCCESS);
        }
        match stopped.recv_timeout(args.interval) {
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
            _ => {
                magi_core::daemon::stopping();
                return Ok(exit::SUCCESS);
            }
        }
    }
}

fn scrape_command(
    dir: &Path,
    targets: &std::collections::BTreeMap<String, magi_core::config::ScrapeTarget>,
    args: &ScrapeArgs,
) -> anyhow::Result<u8> {
    if targets.is_empty() {
        log::info!("the config names no [metrics.scrape.NAME] targets: nothing to scrape");
        return Ok(exit::SUCCESS);
    }
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    if !args.once {
        let stop = std::sync::Arc::clone(&stop);
        magi_core::daemon::on_stop_signal(move |_| {
            stop.store(true, std::sync::atomic::Ordering::SeqCst)
        })?;
    }
    let mut writer = Writer::open(dir, scrape::SHARD, Tiers::default(), Limits::default())?;
    let (to, from) = std::sync::mpsc::channel();
    scrape::start(targets, &to, args.once)?;
    drop(to);
    magi_core::daemon::ready(&format!("scraping {} target(s)", targets.len()));
    // The last word said of each target: a failure is logged when it starts and when it ends, not every round.
    let mut last: std::collections::BTreeMap<String, Option<String>> =
        std::collections::BTreeMap::new();
    let mut failed = false;
    loop {
        match from.recv_timeout(std::time::Duration::from_secs(1)) {
            Ok((name, got)) => {
                let said = match got {
                    Ok(samples) => {
                        let appended = writer.append(&samples, now_ms())?;
                        log::debug!("{name}: {} point(s) stored", appended.stored);
                        None
                    }
                    Err(e) => {
                        failed = true;
                        Some(e.to_string())
                    }
                };
                let before = last.insert(name.clone(), said.clone()).flatten();
                match (&before, &said) {
                    (before, Some(now)) if before.as_ref() != Some(now) => {
                        log::warn!("{name}: {now}")
                    }
                    (Some(_), None) => log::info!("{name}: scraped again"),
                    _ => {}
                }
            }
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => break,
        }
        if stop.load(std::sync::atomic::Ordering::SeqCst) {
            magi_core::daemon::stopping();
            break;
        }
    }
    Ok(if args.once && failed {
        exit::FAILURE
    } else {
        exit::SUCCESS
    })
}
