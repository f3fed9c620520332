//! MAGI's point-in-time recovery (issue 21): [`wal`] reads a SQLite database's write-ahead log as SQLite's
//! own recovery does; [`check`] finds which of the stack's databases are in WAL mode; [`capture`] follows
//! one database's log and ships each committed transaction, with the time it was seen, as [`segment`]s
//! into the store [`timeline`] lays out, with the [`rows`] per table it counted now and then; [`daemon`]
//! runs a capture per database; [`restore`] rebuilds a database as of a time from that store and checks it
//! against those counts; [`ship`] copies the store into the cloud repository and back.
//! The commands (`check`, `capture`, `list`, `restore`, `ship`, `drill`) are below.

pub mod capture;
pub mod check;
pub mod cli;
pub mod daemon;
pub mod drill;
pub mod restore;
pub mod rows;
pub mod segment;
pub mod ship;
pub mod timeline;
pub mod wal;

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use magi_core::config::Config;
use magi_core::event::{EventWriter, Severity};
use magi_core::exit::{FAILURE, SUCCESS, UsageError};
use magi_core::format::human_bytes;
use magi_core::paths::Paths;
use magi_core::table::Table;
use serde::Serialize;

use crate::check::Database;
use crate::cli::{
    CaptureArgs, CheckArgs, Cli, Command, DrillArgs, ListArgs, RestoreArgs, ShipArgs,
};

/// Runs the command line; the exit code on success.
pub fn run(cli: Cli) -> anyhow::Result<u8> {
    let context = cli.common.start("magi-pitr")?;
    let config = &context.config;
    match cli.command {
        Command::Check(args) => check_command(config, &context.paths, &args),
        Command::Capture(args) => capture_command(config, &context.paths, &args),
        Command::List(args) => list_command(config, &context.paths, &args),
        Command::Restore(args) => restore_command(config, &context.paths, &args),
        Command::Ship(args) => ship_command(config, &context.paths, &args),
        Command::Drill(args) => drill_command(config, &context.paths, &args),
    }
}

/// The point-in-time store of this configuration.
pub fn store_root(config: &Config) -> PathBuf {
    config.stack.backup_dir.join("pitr")
}

/// The databases of the services `names` (all, with MAGI ops' own stores, when empty; `magi` names the own
/// stores).
fn databases_of(config: &Config, paths: &Paths, names: &[String]) -> anyhow::Result<Vec<Database>> {
    let services: Vec<String> = names
        .iter()
        .filter(|n| n.as_str() != check::OWN)
        .cloned()
        .collect();
    let mut found = Vec::new();
    if names.is_empty() || !services.is_empty() {
        let services = config
            .select(&services)
            .map_err(|e| UsageError(e.to_string()))?;
        found = check::databases(config, &services)?;
    }
    if names.is_empty() || names.len() != services.len() {
        found.extend(check::own_stores(&paths.state_dir)?);
    }
    Ok(found)
}

fn check_command(config: &Config, paths: &Paths, args: &CheckArgs) -> anyhow::Result<u8> {
    let databases = databases_of(config, paths, &args.services)?;
    let mut out = std::io::stdout().lock();
    if args.json {
        for database in &databases {
            writeln!(out, "{}", serde_json::to_string(database)?)?;
        }
    } else if databases.is_empty() {
        writeln!(out, "no SQLite database is named for these services")?;
    } else {
        let mut table = Table::new(["SERVICE", "DATABASE", "MODE", "SIZE", "LOG"]).right([3, 4]);
        let size = |bytes: Option<u64>| bytes.map_or_else(|| "-".to_owned(), human_bytes);
        for database in &databases {
            table.row([
                database.service.clone(),
                database.path.display().to_string(),
                database.mode.label().to_owned(),
                size(database.bytes),
                size(database.wal_bytes),
            ]);
        }
        table.write(&mut out)?;
        for advice in databases.iter().filter_map(|d| d.advice.as_deref()) {
            writeln!(out, "\n{advice}")?;
        }
    }
    Ok(if databases.iter().any(|d| d.mode.needs_action()) {
        FAILURE
    } else {
        SUCCESS
    })
}

fn capture_command(config: &Config, paths: &Paths, args: &CaptureArgs) -> anyhow::Result<u8> {
    if args.interval < Duration::from_millis(1) {
        return Err(UsageError("--interval must be at least 1ms".into()).into());
    }
    let databases = databases_of(config, paths, &args.services)?;
    if databases.is_empty() {
        return Err(UsageError("no SQLite database is named for these services".into()).into());
    }
    let settings = daemon::Settings {
        root: store_root(config),
        interval: args.interval,
        options: capture::Options {
            checkpoint_frames: args.checkpoint_frames.max(1),
            snapshot_every: args.snapshot_every,
            keep: args.keep,
            ..capture::Options::default()
        },
    };
    let stop = Arc::new(AtomicBool::new(false));
    {
        let stop = Arc::clone(&stop);
        magi_core::daemon::on_stop_signal(move |_| stop.store(true, Ordering::SeqCst))?;
    }
    let names: Vec<String> = databases
        .iter()
        .map(|d| d.path.display().to_string())
        .collect();
    log::info!(
        "following {} database(s) into {}: {}",
        names.len(),
        settings.root.display(),
        names.join(", ")
    );
    magi_core::daemon::ready(&format!("following {} database(s)", names.len()));
    daemon::run(databases, &settings, &stop);
    magi_core::daemon::stopping();
    Ok(SUCCESS)
}

/// One database's line of `list`.
#[derive(Debug, Serialize)]
struct Listed {
    service: String,
    database: PathBuf,
    #[serde(flatten)]
    summary: timeline::Summary,
    /// The times of the complete local backups holding the service (from `magi-backup list --json`), on
    /// the same timeline: a restore to a second lays the database over the newest of them before it.
    backups: Vec<String>,
}

/// One line of `magi-backup list --json`, the fields read here.
#[derive(Debug, serde::Deserialize)]
struct BackupLine {
    time: String,
    #[serde(default)]
    services: Vec<String>,
    #[serde(default)]
    status: String,
}

/// The complete local backups by service, from magi-backup (the family's tools talk NDJSON over pipes);
/// none when it is not installed or says nothing readable.
fn backups_by_service() -> std::collections::BTreeMap<String, Vec<String>> {
    let mut found = std::collections::BTreeMap::<String, Vec<String>>::new();
    let Some(backup) = magi_core::tools::locate("backup") else {
        return found;
    };
    let Ok(output) = std::process::Command::new(backup)
        .args(["list", "--json"])
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .output()
    else {
        return found;
    };
    for line in String::from_utf8_lossy(&output.stdout).lines() {
        let Ok(backup) = serde_json::from_str::<BackupLine>(line) else {
            continue;
        };
        if backup.status == "complete" {
            for service in backup.services {
                found.entry(service).or_default().push(backup.time.clone());
            }
        }
    }
    for times in found.values_mut() {
        times.sort();
    }
    found
}

fn list_command(config: &Config, paths: &Paths, args: &ListArgs) -> anyhow::Result<u8> {
    let root = store_root(config);
    let backups = backups_by_service();
    let mut listed = Vec::new();
    for database in databases_of(config, paths, &args.services)? {
        let store = timeline::database_store(&root, &database.service, &database.path);
        listed.push(Listed {
            summary: timeline::summarise(&store)?,
            backups: backups.get(&database.service).cloned().unwrap_or_default(),
            service: database.service,
            database: database.path,
        });
    }
    let mut out = std::io::stdout().lock();
    if args.json {
        for line in &listed {
            writeln!(out, "{}", serde_json::to_string(line)?)?;
        }
        return Ok(SUCCESS);
    }
    let mut table = Table::new([
        "SERVICE",
        "DATABASE",
        "BACKUPS",
        "TO THE SECOND FROM (UTC)",
        "TO (UTC)",
        "GENERATIONS",
        "SIZE",
    ])
    .right([2, 5, 6]);
    let time = |t: Option<i64>| t.map_or_else(|| "-".to_owned(), restore::show_time);
    for line in &listed {
        table.row([
            line.service.clone(),
            line.database.display().to_string(),
            line.backups.len().to_string(),
            time(line.summary.earliest),
            time(line.summary.latest),
            line.summary.generations.to_string(),
            human_bytes(line.summary.bytes),
        ]);
    }
    table.write(&mut out)?;
    for line in &listed {
        if let Some(damage) = &line.summary.damage {
            writeln!(out, "\n{}: {damage}", line.service)?;
        }
    }
    for line in listed.iter().filter(|l| l.summary.earliest.is_some()) {
        let earliest = line.summary.earliest.unwrap_or_default();
        let oldest = line
            .backups
            .first()
            .and_then(|t| t.parse::<jiff::Timestamp>().ok())
            .and_then(|t| i64::try_from(t.as_nanosecond()).ok());
        match oldest {
            Some(oldest) => writeln!(
                out,
                "\n{}: `magi restore --timestamp T` reaches any second from {}, laying the database over \
                 the newest of its {} backups before T{}",
                line.service,
                restore::show_time(earliest.max(oldest)),
                line.backups.len(),
                if oldest > earliest {
                    " (before its oldest backup, `magi-pitr restore --to DIR` rebuilds the database alone)"
                } else {
                    ""
                }
            )?,
            None => writeln!(
                out,
                "\n{}: no local backup holds it yet; `magi restore --timestamp` needs one taken before the \
                 time (`magi-pitr restore --to DIR` does not)",
                line.service
            )?,
        }
    }
    if listed.iter().all(|l| l.summary.generations == 0) {
        writeln!(
            out,
            "\nNothing captured yet: magi-pitr.service (`magi-pitr capture`) follows the databases in WAL mode."
        )?;
    }
    Ok(SUCCESS)
}

/// One database's line of `restore`.
#[derive(Debug, Serialize)]
struct RestoredLine {
    service: String,
    #[serde(flatten)]
    restored: restore::Restored,
}

fn restore_command(config: &Config, paths: &Paths, args: &RestoreArgs) -> anyhow::Result<u8> {
    let at = magi_core::format::parse_local_time(&args.timestamp)
        .map_err(|why| UsageError(format!("--timestamp {why}")))?;
    let at_nanos = i64::try_from(at.as_nanosecond())
        .map_err(|_| UsageError(format!("--timestamp '{}' is out of range", args.timestamp)))?;
    let databases = databases_of(config, paths, &args.services)?;
    if databases.is_empty() {
        return Err(UsageError("no SQLite database is named for these services".into()).into());
    }
    let occupied = std::fs::read_dir(&args.to).is_ok_and(|mut entries| entries.next().is_some());
    if occupied {
        return Err(UsageError(format!(
            "{} is not empty; restore into a new or empty directory",
            args.to.display()
        ))
        .into());
    }
    // From the cloud: the newest shipped copy of the store, fetched into a scratch directory first.
    let fetched = if args.from_cloud {
        let mut repo = cloud_repository(config, paths)?;
        std::fs::create_dir_all(&config.stack.backup_dir)?;
        let scratch = tempfile::Builder::new()
            .prefix(".pitr-fetched-")
            .tempdir_in(&config.stack.backup_dir)?;
        let name = ship::download(&mut repo, scratch.path())?;
        log::info!("restoring from {name}, the newest copy shipped to the cloud repository");
        Some(scratch)
    } else {
        None
    };
    let root = fetched
        .as_ref()
        .map_or_else(|| store_root(config), |d| d.path().to_owned());
    let mut restored = Vec::new();
    let mut failed = Vec::new();
    for database in &databases {
        let store = timeline::database_store(&root, &database.service, &database.path);
        if database.mode == check::Mode::Missing && timeline::generations(&store)?.is_empty() {
            log::info!(
                "{}: {} does not exist and was never captured; skipped",
                database.service,
                database.path.display()
            );
            continue;
        }
        let file = database.path.file_name().unwrap_or_default();
        let dir = args.to.join(&database.service);
        std::fs::create_dir_all(&dir)?;
        match restore::restore(&store, at_nanos, &dir.join(file)) {
            Ok(done) => restored.push(RestoredLine {
                service: database.service.clone(),
                restored: done,
            }),
            Err(e) => {
                log::error!("{}: {e}", database.service);
                failed.push(database.service.clone());
            }
        }
    }
    let mut out = std::io::stdout().lock();
    if args.json {
        for line in &restored {
            writeln!(out, "{}", serde_json::to_string(line)?)?;
        }
    } else if !restored.is_empty() {
        let mut table = Table::new([
            "SERVICE",
            "DATABASE",
            "POINT (UTC)",
            "TRANSACTIONS",
            "ROWS",
            "ROWS CHECKED",
        ])
        .right([3, 4]);
        for line in &restored {
            let checked = match line.restored.rows_checked {
                Some(checked) if checked.exact => "at the point".to_owned(),
                Some(checked) => format!("at {}", restore::show_time(checked.seen)),
                None => "-".to_owned(),
            };
            table.row([
                line.service.clone(),
                line.restored.output.display().to_string(),
                restore::show_time(line.restored.seen),
                line.restored.transactions.to_string(),
                line.restored.tables.values().sum::<u64>().to_string(),
                checked,
            ]);
        }
        table.write(&mut out)?;
        let points: Vec<i64> = restored.iter().map(|l| l.restored.seen).collect();
        if let (Some(low), Some(high)) = (points.iter().min(), points.iter().max()) {
            writeln!(
                out,
                "\nEach database is at its last transaction seen at or before {}; between them the skew is {:.3} s.",
                restore::show_time(at_nanos),
                (high - low) as f64 / 1e9
            )?;
        }
        writeln!(
            out,
            "Nothing of the stack was touched; `magi restore --timestamp` puts them in place."
        )?;
    }
    let damaged = restored.iter().filter(|l| l.restored.damage.is_some());
    for line in damaged {
        log::error!(
            "{}: stopped short of {}: {}",
            line.service,
            restore::show_time(at_nanos),
            line.restored.damage.as_deref().unwrap_or_default()
        );
    }
    let short = restored.iter().any(|l| l.restored.damage.is_some());
    Ok(if failed.is_empty() && !short {
        SUCCESS
    } else {
        FAILURE
    })
}

/// The configured cloud repository, opened; no [cloud] section is a usage error.
fn cloud_repository(config: &Config, paths: &Paths) -> anyhow::Result<magi_repo::Repository> {
    magi_repo::configured::open(config, paths).map_err(|e| match e {
        magi_repo::configured::ConfiguredError::NotConfigured => UsageError(e.to_string()).into(),
        other => anyhow::Error::from(other),
    })
}

fn ship_command(config: &Config, paths: &Paths, args: &ShipArgs) -> anyhow::Result<u8> {
    if config.cloud.is_none() && args.if_configured {
        log::debug!("no [cloud] section: nothing to ship to");
        return Ok(SUCCESS);
    }
    let began = std::time::Instant::now();
    let mut repo = cloud_repository(config, paths)?;
    let shipped = ship::upload(&mut repo, &store_root(config))?;
    let stats = &shipped.snapshot.stats;
    if args.json {
        println!(
            "{}",
            serde_json::json!({
                "snapshot": shipped.snapshot.name,
                "files": shipped.snapshot.files.len(),
                "bytes": stats.bytes,
                "new_bytes": stats.new_bytes,
                "uploaded_bytes": stats.packed_bytes,
                "forgotten": shipped.forgotten,
                "seconds": began.elapsed().as_secs_f64(),
            })
        );
    } else {
        println!(
            "{}: {} files, {} of which {} new, {} uploaded in {:.1} s; {} older point-in-time snapshot(s) forgotten",
            shipped.snapshot.name,
            shipped.snapshot.files.len(),
            human_bytes(stats.bytes),
            human_bytes(stats.new_bytes),
            human_bytes(stats.packed_bytes),
            began.elapsed().as_secs_f64(),
            shipped.forgotten
        );
    }
    Ok(SUCCESS)
}

fn drill_command(config: &Config, paths: &Paths, args: &DrillArgs) -> anyhow::Result<u8> {
    let root = store_root(config);
    if args.clean {
        let removed = drill::clean(&root)?;
        println!(
            "removed {removed} container(s), network(s) and scratch director(ies) of earlier drills"
        );
        return Ok(SUCCESS);
    }
    std::fs::create_dir_all(&root)?;
    let scratch = tempfile::Builder::new()
        .prefix(drill::SCRATCH_PREFIX)
        .tempdir_in(&root)?;
    // The services with something captured, each with its databases.
    let mut services: std::collections::BTreeMap<String, (String, Vec<Database>)> =
        std::collections::BTreeMap::new();
    for database in databases_of(config, paths, &args.services)? {
        let store = timeline::database_store(&root, &database.service, &database.path);
        if timeline::generations(&store)?.is_empty() {
            continue;
        }
        services
            .entry(database.service.clone())
            .or_insert_with(|| (database.container.clone(), Vec::new()))
            .1
            .push(database);
    }
    if services.is_empty() {
        log::warn!(
            "nothing is captured yet: magi-pitr.service (`magi-pitr capture`) follows the databases"
        );
        return Ok(FAILURE);
    }
    let mut stack = drill::Stack::connect()?;
    let settings = drill::Settings {
        timeout: args.timeout,
    };
    let mut failed = false;
    for (service, (container, databases)) in &services {
        let event = drill::service(
            &mut stack,
            &root,
            scratch.path(),
            service,
            container,
            databases,
            settings,
        );
        failed |= event.severity == Severity::Critical;
        magi_core::logging::log_event(&event);
        if args.json {
            EventWriter::new(std::io::stdout().lock()).write(&event)?;
        }
    }
    if args.keep {
        let kept = scratch.keep();
        match stack.keep() {
            Some(network) => eprintln!(
                "left running on network {network}, with their data in {}: `docker ps --filter \
                 label=magi.sandbox={}` lists them; `magi-pitr drill --clean` removes them",
                kept.display(),
                drill::PURPOSE
            ),
            None => eprintln!(
                "the restored files are in {}; `magi-pitr drill --clean` removes them",
                kept.display()
            ),
        }
    } else {
        stack.remove()?;
    }
    Ok(if failed { FAILURE } else { SUCCESS })
}
