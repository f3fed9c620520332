//! The commands of magi-alert, run from a parsed command line: the daemon (without a subcommand) with its
//! signal handling and its input (stdin, a file, a FIFO, or the FIFO systemd passes), and `list`, `ack`,
//! `silence`, `test` and `history`, which print what the store holds.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::os::fd::AsFd;
use std::os::unix::fs::FileTypeExt;
use std::path::Path;
use std::sync::Arc;

use anyhow::Context as _;
use jiff::Timestamp;
use magi_core::config::format_duration;
use magi_core::exit::{self, UsageError};
use magi_core::format;
use magi_core::printable::printable;
use magi_core::table::Table;

use crate::cli::{Cli, Command, SilenceCommand};
use crate::daemon::{self, Options};
use crate::delivery::Wake;
use crate::store::Store;

/// Runs the command line: the daemon without a subcommand, else one of the commands that look after the
/// alerts. The exit code on success; errors carry their context for [`magi_core::exit::finish`].
pub fn run(cli: Cli) -> anyhow::Result<u8> {
    let context = cli.common.start("magi-alert")?;
    let db = cli
        .db
        .clone()
        .unwrap_or_else(|| context.paths.state_dir.join("alert.db"));
    let now = Timestamp::now();
    let targets = cli.to.iter().chain(match &cli.command {
        Some(Command::Test { target }) => Some(target),
        _ => None,
    });
    for target in targets {
        if context.config.alert.channels.contains_key(target) {
            continue;
        }
        if let Some(why) = crate::channel::secret_on_command_line(target) {
            return Err(UsageError(format!(
                "{}: {why}, and the command line is readable by every user (ps): put the URL in \
                 [alert.channels.NAME] of the config (mode 0600) and give --to or test the NAME",
                crate::channel::redact(target)
            ))
            .into());
        }
    }
    let mut out = std::io::stdout().lock();
    match cli.command {
        None => {
            let stop = Arc::new(Wake::default());
            let on_stop = stop.clone();
            magi_core::daemon::on_stop_signal(move |signal| {
                log::info!("{signal}: finishing the delivery in flight, then stopping");
                on_stop.stop();
            })
            .context("watching for SIGTERM")?;
            let input = open_input(cli.input.as_deref())?;
            let options = Options {
                db,
                extra: cli.to,
                drain: cli.drain,
                marks: magi_tsdb::dir_from_env(&context.paths.state_dir),
            };
            let summary = daemon::run(&context.config, &context.paths, &options, input, stop)?;
            log::info!(
                "{} events read, {} lines skipped, {} alerts fired",
                summary.events,
                summary.skipped,
                summary.alerts
            );
            if summary.left > 0 {
                log::warn!(
                    "{} deliveries still queued in {}; the next run sends them",
                    summary.left,
                    options.db.display()
                );
            }
            Ok(exit::SUCCESS)
        }
        Some(Command::List {
            active,
            limit,
            json,
        }) => {
            let store = open_store(&db)?;
            let alerts = store.alerts(active, limit)?;
            if json {
                for a in &alerts {
                    writeln!(out, "{}", serde_json::to_string(a)?)?;
                }
            } else if alerts.is_empty() {
                writeln!(out, "no {}alerts", if active { "active " } else { "" })?;
            } else {
                let mut table = Table::new([
                    "ID", "STATE", "RULE", "SUBJECT", "SEVERITY", "SINCE", "MESSAGE",
                ])
                .right([0]);
                for a in &alerts {
                    let state = match (a.resolved_at, a.acked_at) {
                        (Some(_), _) => "resolved",
                        (None, Some(_)) => "acked",
                        (None, None) => "firing",
                    };
                    table.row([
                        a.id.to_string(),
                        state.to_owned(),
                        a.rule.clone(),
                        printable(&a.subject).to_string(),
                        a.severity.as_str().to_owned(),
                        format::time(a.started_at),
                        printable(&a.message).to_string(),
                    ]);
                }
                table.write(&mut out)?;
            }
            Ok(exit::SUCCESS)
        }
        Some(Command::Ack { id, note }) => {
            let mut store = open_store(&db)?;
            let alert = store.ack(id, note.as_deref(), now)?;
            // The daemon marks firing and resolving in the `alert` shard; an ack comes from another process.
            magi_tsdb::mark(
                &magi_tsdb::dir_from_env(&context.paths.state_dir),
                "alert-ack",
                "alert",
                Some(&alert.subject),
                &format!(
                    "{} acknowledged #{}{}",
                    alert.rule,
                    alert.id,
                    note.as_deref()
                        .map(|n| format!(": {n}"))
                        .unwrap_or_default()
                ),
            );
            writeln!(
                out,
                "acknowledged #{}: {} {} ({}); no reminders until it resolves",
                alert.id, alert.rule, alert.subject, alert.message
            )?;
            Ok(exit::SUCCESS)
        }
        Some(Command::Silence(SilenceCommand::Add {
            subject,
            duration,
            note,
        })) => {
            let until = now
                .checked_add(
                    jiff::SignedDuration::try_from(duration)
                        .map_err(|_| UsageError("--for is too long".into()))?,
                )
                .map_err(|_| UsageError("--for is too long".into()))?;
            let id = open_store(&db)?.silence_add(&subject, until, note.as_deref(), now)?;
            // A silence is planned maintenance for the SLA report: a window from now to its end.
            if let Some(service) = maintenance_subject(&subject) {
                let dir = magi_tsdb::dir_from_env(&context.paths.state_dir);
                let text = format!("silence #{id}: {}", note.as_deref().unwrap_or(""));
                let at = |t: Timestamp| t.as_millisecond();
                magi_tsdb::mark_at(
                    &dir,
                    "alert",
                    at(now),
                    magi_tsdb::MAINTENANCE_START,
                    service,
                    &text,
                );
                magi_tsdb::mark_at(
                    &dir,
                    "alert",
                    at(until),
                    magi_tsdb::MAINTENANCE_END,
                    service,
                    &text,
                );
            }
            writeln!(
                out,
                "silence #{id}: no notices about '{}' for {} (until {})",
                printable(&subject),
                format_duration(duration),
                format::time(until)
            )?;
            Ok(exit::SUCCESS)
        }
        Some(Command::Silence(SilenceCommand::List { json })) => {
            let silences = open_store(&db)?.silences(now)?;
            if json {
                for s in &silences {
                    writeln!(out, "{}", serde_json::to_string(s)?)?;
                }
            } else if silences.is_empty() {
                writeln!(out, "no silences in force")?;
            } else {
                let mut table = Table::new(["ID", "SUBJECT", "UNTIL", "NOTE"]).right([0]);
                for s in &silences {
                    table.row([
                        s.id.to_string(),
                        printable(&s.subject).to_string(),
                        format::time(s.until),
                        printable(s.note.as_deref().unwrap_or("")).to_string(),
                    ]);
                }
                table.write(&mut out)?;
            }
            Ok(exit::SUCCESS)
        }
        Some(Command::Silence(SilenceCommand::Remove { target })) => {
            let ended = open_store(&db)?.silence_remove(&target, now)?;
            let dir = magi_tsdb::dir_from_env(&context.paths.state_dir);
            for subject in &ended {
                if let Some(service) = maintenance_subject(subject) {
                    magi_tsdb::mark(
                        &dir,
                        "alert",
                        magi_tsdb::MAINTENANCE_END,
                        service,
                        "silence ended early",
                    );
                }
            }
            writeln!(out, "{} silence(s) ended", ended.len())?;
            Ok(exit::SUCCESS)
        }
        Some(Command::Test { target }) => {
            let (name, answer) = daemon::test(&context.config, &context.paths, &target)?;
            match answer {
                Ok(answer) => {
                    writeln!(
                        out,
                        "{}: sent; the server answered: {answer}",
                        crate::channel::redact(&name)
                    )?;
                    Ok(exit::SUCCESS)
                }
                Err(e) => Err(anyhow::Error::new(e).context(format!(
                    "{}: the test notice was not delivered",
                    crate::channel::redact(&name)
                ))),
            }
        }
        Some(Command::History { since, json }) => {
            let from = now
                .checked_sub(
                    jiff::SignedDuration::try_from(since)
                        .map_err(|_| UsageError("--since is too long".into()))?,
                )
                .unwrap_or(Timestamp::UNIX_EPOCH);
            let rows = open_store(&db)?.history(from)?;
            if json {
                for h in &rows {
                    writeln!(out, "{}", serde_json::to_string(h)?)?;
                }
            } else if !rows.is_empty() {
                let mut table = Table::new(["AT", "ALERT", "WHAT", "SUBJECT", "DETAIL"]).right([1]);
                for h in &rows {
                    table.row([
                        format::time(h.at),
                        h.alert.map(|a| format!("#{a}")).unwrap_or_default(),
                        h.what.clone(),
                        printable(&h.subject).to_string(),
                        printable(&h.detail).to_string(),
                    ]);
                }
                table.write(&mut out)?;
            }
            if rows.is_empty() && !json {
                writeln!(
                    out,
                    "nothing happened in the last {}",
                    format_duration(since)
                )?;
            }
            Ok(exit::SUCCESS)
        }
    }
}

fn open_store(db: &Path) -> anyhow::Result<Store> {
    Store::open(db).with_context(|| format!("opening {}", db.display()))
}

/// The event stream: stdin, a file, or a FIFO opened read-write so writers may come and go without ending
/// it. Under socket activation (`magi-alert.socket`, `ListenFIFO=`), the FIFO systemd passes as fd 3.
fn open_input(path: Option<&Path>) -> anyhow::Result<Box<dyn BufRead + Send>> {
    let path = match path {
        Some(p) if p != Path::new("-") => Some(p.to_owned()),
        _ => magi_core::daemon::passed_fifo(),
    };
    let file = match path {
        None => File::from(
            std::io::stdin()
                .as_fd()
                .try_clone_to_owned()
                .context("reading stdin")?,
        ),
        Some(path) => {
            let fifo = std::fs::metadata(&path)
                .with_context(|| format!("{}: cannot read the events", path.display()))?
                .file_type()
                .is_fifo();
            OpenOptions::new()
                .read(true)
                .write(fifo)
                .open(&path)
                .with_context(|| format!("{}: cannot open the events", path.display()))?
        }
    };
    Ok(Box::new(BufReader::with_capacity(1 << 16, file)))
}

/// The service a silence's subject stands for as planned maintenance: a plain name is that service, `*` the
/// whole stack (`Some(None)`); any other glob (units, `magi-*`) is no service's maintenance.
fn maintenance_subject(subject: &str) -> Option<Option<&str>> {
    match subject {
        "*" => Some(None),
        s if s.chars().any(|c| matches!(c, '*' | '?' | '[')) || s.ends_with(".service") => None,
        s => Some(Some(s)),
    }
}
