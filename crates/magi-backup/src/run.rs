//! The commands as the binaries run them: start-up, the lock, the async runtime that Docker needs with a
//! signal handler that unpauses containers and removes a partial archive, events, output and exit codes.

use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use crate::transaction::{self, Outcome, Phases};
use anyhow::Context as _;
use jiff::Timestamp;
use magi_core::cli::Context as Start;
use magi_core::config::Config;
use magi_core::daemon::StopSignals;
use magi_core::event::{Event, EventWriter, Severity};
use magi_core::exit::UsageError;
use magi_core::format::human_bytes;
use magi_core::logging::log_event;
use magi_core::table::Table;
use magi_docker::Engine;
use serde_json::json;

use crate::archive::Archive;
use crate::cli::{
    AutoArgs, BackupCli, BackupCommand, CreateArgs, ListArgs, PruneArgs, RestoreCli, VerifyArgs,
};
use crate::containers::{Docker, Pauser};
use crate::create::{self, Created, Request, Scratch, Setup};
use crate::engine::Context;
use crate::error::BackupError;
use crate::listing;
use crate::lock::Lock;
use crate::name::Kind;
use crate::progress::Progress;
use crate::records::{self, Verification};
use crate::restore;
use crate::retention::{self, Policy};
use crate::safety::Safety;
use crate::schedule;

/// What a signal must undo: paused containers, a partial archive, the lock.
struct Cleanup {
    pauser: Pauser,
    partial: Mutex<Option<PathBuf>>,
    lock: Mutex<Option<PathBuf>>,
}

impl Cleanup {
    fn interrupt(&self) {
        self.pauser.interrupt();
        for slot in [&self.partial, &self.lock] {
            if let Some(path) = slot.lock().unwrap_or_else(|e| e.into_inner()).take() {
                let _ = std::fs::remove_file(path);
            }
        }
    }
}

/// What the work of a command gets inside the runtime.
struct Work {
    docker: Option<Docker>,
    cleanup: Arc<Cleanup>,
}

/// Runs `work` on a worker thread of a current-thread runtime whose main thread drives Docker's I/O and
/// waits for SIGINT and SIGTERM; on a signal, undoes what [`Cleanup`] holds and exits 130 or 143.
fn with_runtime(
    program: &str,
    backup_dir: &Path,
    work: impl FnOnce(Work) -> anyhow::Result<u8> + Send + 'static,
) -> anyhow::Result<u8> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let backup_dir = backup_dir.to_owned();
    let program = program.to_owned();
    runtime.block_on(async move {
        let docker = match Engine::connect().await {
            Ok(engine) => Some(Docker::new(engine, tokio::runtime::Handle::current())),
            Err(e) => {
                log::warn!("{e}; targets that need Docker will fail");
                None
            }
        };
        let cleanup = Arc::new(Cleanup {
            pauser: Pauser::new(docker.clone(), &backup_dir),
            partial: Mutex::new(None),
            lock: Mutex::new(None),
        });
        let mut signals = StopSignals::install().context("cannot watch for SIGTERM and SIGINT")?;
        let handed = Work {
            docker,
            cleanup: Arc::clone(&cleanup),
        };
        let task = tokio::task::spawn_blocking(move || work(handed));
        let code = tokio::select! {
            result = task => return result.context("the worker thread failed")?,
            signal = signals.recv() => signal.exit_code(),
        };
        tokio::task::spawn_blocking(move || cleanup.interrupt()).await.ok();
        eprintln!("{program}: interrupted; paused containers were unpaused and the partial archive removed");
        std::process::exit(code.into());
    })
}

pub(crate) fn emit(event: Event, json: bool) -> anyhow::Result<()> {
    log_event(&event);
    if json {
        EventWriter::new(std::io::stdout().lock()).write(&event)?;
    }
    Ok(())
}

fn subject(services: &[String], config: &Config) -> String {
    if create::resolve(config, &[]).is_ok_and(|all| all == services) {
        "stack".into()
    } else {
        services.join(",")
    }
}

/// The age keys of the `[backup]` section: the recipient archives are encrypted to, the identity that
/// decrypts them.
struct Keys {
    recipient: Option<age::x25519::Recipient>,
    identity: Option<Arc<age::x25519::Identity>>,
}

fn keys(start: &Start) -> anyhow::Result<Keys> {
    let section = &start.config.backup;
    let recipient = section
        .recipient
        .as_deref()
        .map(|r| {
            r.parse::<age::x25519::Recipient>()
                .map_err(|e| UsageError(format!("[backup] recipient: {e}")))
        })
        .transpose()?;
    let identity = match &section.identity {
        None => None,
        Some(reference) => {
            let secret = magi_core::secret::read_secret(reference, &start.paths)?;
            let identity = crate::archive::parse_identity(
                secret.expose(),
                &format!("[backup] identity '{reference}'"),
            )
            .map_err(UsageError)?;
            Some(Arc::new(identity))
        }
    };
    Ok(Keys {
        recipient,
        identity,
    })
}

/// The `[backup]` identity that decrypts local archives, if one is configured.
pub fn backup_identity(start: &Start) -> anyhow::Result<Option<Arc<age::x25519::Identity>>> {
    Ok(keys(start)?.identity)
}

/// Takes the lock and repairs what a killed run left: paused containers, partial files.
fn prepare(config: &Config, work: &Work) -> anyhow::Result<Lock> {
    let dir = create::backup_dir(config)?;
    let lock = Lock::acquire(dir)?;
    *work.cleanup.lock.lock().unwrap_or_else(|e| e.into_inner()) = Some(lock.path().to_owned());
    work.cleanup.pauser.recover()?;
    create::clean_leftovers(dir);
    Ok(lock)
}

/// Runs magi-backup.
pub fn backup(cli: BackupCli) -> anyhow::Result<u8> {
    let start = cli.common.start("magi-backup")?;
    let quiet = cli.common.quiet;
    match cli.command {
        BackupCommand::Create(args) => create_command(start, args, quiet),
        BackupCommand::List(args) => list_command(&start, &args),
        BackupCommand::Verify(args) => verify_command(&start, &args),
        BackupCommand::Prune(args) => prune_command(&start, &args),
        BackupCommand::Auto(args) => auto_command(&args),
        BackupCommand::Cloud(command) => crate::cloud_commands::run(start, command, quiet),
    }
}

/// One backup with its events; shared by `create` and restore's safety backup.
fn take_backup(
    config: &Config,
    work: &Work,
    request: &Request,
    recipient: Option<&age::x25519::Recipient>,
    json: bool,
    quiet: bool,
) -> anyhow::Result<Created> {
    let subject = subject(&request.services, config);
    emit(
        Event::new(
            "magi-backup",
            "backup.started",
            &subject,
            Severity::Info,
            format!(
                "{} backup of {} started",
                request.kind.as_str(),
                request.services.join(", ")
            ),
        )
        .with("services", json!(request.services))
        .with("kind", request.kind.as_str()),
        json,
    )?;
    let cleanup = Arc::clone(&work.cleanup);
    let on_partial = move |path: Option<PathBuf>| {
        *cleanup.partial.lock().unwrap_or_else(|e| e.into_inner()) = path;
    };
    let setup = Setup {
        config,
        docker: work.docker.as_ref(),
        pauser: &work.cleanup.pauser,
        recipient,
        on_partial: &on_partial,
    };
    let mut progress = Progress::new(quiet);
    match create::create(&setup, request, &mut progress) {
        Ok(created) => {
            let m = &created.manifest;
            let base = |kind: &str, severity, message: String| {
                Event::new("magi-backup", kind, &subject, severity, message)
                    .with("name", created.name.as_str())
                    .with("path", created.path.display().to_string())
                    .with("kind", request.kind.as_str())
                    .with("bytes", created.size)
                    .with("content_bytes", m.content_bytes())
                    .with("entries", m.entries.len())
                    .with("duration_ms", created.duration.as_millis() as u64)
                    .with("services", json!(m.services))
            };
            let event = if m.is_complete() {
                base(
                    "backup.completed",
                    Severity::Ok,
                    format!(
                        "backup {} written: {} in {:.1}s",
                        created.name,
                        human_bytes(created.size),
                        created.duration.as_secs_f64()
                    ),
                )
            } else {
                let failed: Vec<String> = m
                    .failed
                    .iter()
                    .map(|f| format!("{} ({}: {})", f.service, f.target, f.error))
                    .collect();
                base(
                    "backup.failed",
                    Severity::Critical,
                    format!(
                        "backup {} is partial: {} failed; the other targets were backed up",
                        created.name,
                        failed.join("; ")
                    ),
                )
                .with("failed", json!(m.failed))
                .with(
                    "failed_services",
                    json!(
                        m.failed
                            .iter()
                            .map(|f| f.service.clone())
                            .collect::<Vec<_>>()
                    ),
                )
            };
            emit(event, json)?;
            Ok(created)
        }
        Err(e) => {
            emit(
                Event::new(
                    "magi-backup",
                    "backup.failed",
                    &subject,
                    Severity::Critical,
                    format!("backup failed, nothing was kept: {e}"),
                )
                .with("error", e.to_string())
                .with("services", json!(request.services)),
                json,
            )?;
            Err(e.into())
        }
    }
}

fn create_command(start: Start, args: CreateArgs, quiet: bool) -> anyhow::Result<u8> {
    let services = create::resolve(&start.config, &args.services)?;
    let keys = keys(&start)?;
    let backup_dir = start.config.stack.backup_dir.clone();
    with_runtime("magi-backup", &backup_dir, move |work| {
        let _lock = prepare(&start.config, &work)?;
        let request = Request {
            services,
            note: args.note,
            kind: Kind::Regular,
        };
        let taken = take_backup(
            &start.config,
            &work,
            &request,
            keys.recipient.as_ref(),
            args.json,
            quiet,
        );
        mark_on_charts(&start.paths.state_dir, taken.as_ref());
        let created = taken?;
        if !args.json && !quiet {
            println!("{}", created.name);
        }
        Ok(if created.manifest.is_complete() { 0 } else { 1 })
    })
}

/// Marks the backup on the dashboard's charts: an annotation, and its duration and size as figures, in the
/// `backup` shard of the metrics store. Best effort: a store that cannot be written costs the charts a
/// mark, never the backup.
fn mark_on_charts(state_dir: &Path, taken: Result<&Created, &anyhow::Error>) {
    let dir = magi_tsdb::dir_from_env(state_dir);
    let now = jiff::Timestamp::now().as_millisecond();
    let marked = magi_tsdb::Writer::open(
        &dir,
        "backup",
        magi_tsdb::Tiers::default(),
        magi_tsdb::store::Limits::default(),
    )
    .and_then(|mut writer| match taken {
        Ok(created) => {
            let gauge = |name: &str, value: f64| magi_tsdb::Sample {
                key: magi_tsdb::SeriesKey::of(name, &[]).expect("a valid name"),
                kind: magi_tsdb::Kind::Gauge,
                ts_ms: now,
                value,
            };
            writer.append(
                &[
                    gauge("backup_bytes", created.size as f64),
                    gauge("backup_duration_seconds", created.duration.as_secs_f64()),
                ],
                now,
            )?;
            let state = if created.manifest.is_complete() {
                "backup"
            } else {
                "backup (partial)"
            };
            writer.annotate(
                now,
                "backup",
                None,
                &format!(
                    "{state} {}: {} in {:.1}s",
                    created.name,
                    human_bytes(created.size),
                    created.duration.as_secs_f64()
                ),
            )
        }
        Err(e) => writer.annotate(now, "backup", None, &format!("backup failed: {e}")),
    });
    if let Err(e) = marked {
        log::warn!("the backup is not marked on the dashboard's charts: {e}");
    }
}

fn list_command(start: &Start, args: &ListArgs) -> anyhow::Result<u8> {
    let keys = keys(start)?;
    let listed = listing::archives(&start.config.stack.backup_dir, keys.identity.as_ref())?;
    let verified = records::last(&start.config.stack.backup_dir).unwrap_or_else(|e| {
        log::warn!("cannot read the verification records: {e}");
        Default::default()
    });
    let uploaded = records::uploads(&start.config.stack.backup_dir).unwrap_or_else(|e| {
        log::warn!("cannot read the upload records: {e}");
        Default::default()
    });
    let mut out = std::io::stdout().lock();
    let mut table = Table::new([
        "NAME", "SIZE", "STATUS", "SERVICES", "VERIFIED", "CLOUD", "NOTE",
    ])
    .right([1]);
    for item in &listed {
        let stem = item.name.stem();
        let verification = verified.get(&stem);
        let (status, services, note, failed): (&str, Vec<&str>, Option<&str>, Vec<&str>) =
            match &item.archive {
                Ok(a) => (
                    if a.manifest.is_complete() {
                        "complete"
                    } else {
                        "partial"
                    },
                    a.manifest.captured_services(),
                    a.manifest.note.as_deref(),
                    a.manifest
                        .failed
                        .iter()
                        .map(|f| f.service.as_str())
                        .collect(),
                ),
                Err(_) if keys.identity.is_none() && Archive::is_encrypted(&item.path) => {
                    ("locked", Vec::new(), None, Vec::new())
                }
                Err(_) => ("damaged", Vec::new(), None, Vec::new()),
            };
        if args.json {
            let record = json!({
                "name": stem,
                "time": item.name.time,
                "kind": item.name.kind,
                "size": item.size,
                "status": status,
                "services": services,
                "failed": failed,
                "note": note,
                "error": item.archive.as_ref().err().map(ToString::to_string),
                "verified": verification,
                "uploaded": uploaded.get(&stem),
                "path": item.path,
            });
            writeln!(out, "{record}")?;
        } else {
            let verified = match verification {
                None => "never".to_owned(),
                Some(v) => format!(
                    "{} {}{}",
                    if v.ok { "ok" } else { "FAILED" },
                    magi_core::format::minute(v.at),
                    if v.deep { " deep" } else { "" }
                ),
            };
            let status = if item.name.kind == Kind::Safety {
                format!("{status}*")
            } else {
                status.to_owned()
            };
            let cloud = uploaded
                .get(&stem)
                .map_or_else(|| "-".to_owned(), |at| magi_core::format::minute(*at));
            table.row([
                stem,
                human_bytes(item.size),
                status,
                services.join(","),
                verified,
                cloud,
                magi_core::printable::printable(note.unwrap_or("")).into_owned(),
            ]);
        }
    }
    let copies: Vec<Safety> = Safety::leftovers(&start.config.stack.home)
        .into_iter()
        .filter_map(|s| s.inspect_err(|e| log::warn!("{e}")).ok())
        .collect();
    for copy in &copies {
        let note = format!(
            "what restoring {} replaced; kept until the stack is confirmed healthy, rolled back by the next magi-restore if it never is",
            copy.journal.archive
        );
        if args.json {
            let record = json!({
                "name": copy.name,
                "time": copy.journal.started,
                "kind": "safety",
                "size": copy.size(),
                "status": "unconfirmed",
                "services": copy.journal.services,
                "failed": [],
                "note": note,
                "error": null,
                "verified": null,
                "uploaded": null,
                "path": copy.dir,
            });
            writeln!(out, "{record}")?;
        } else {
            table.row([
                copy.name.clone(),
                human_bytes(copy.size()),
                "unconfirmed*".to_owned(),
                copy.journal.services.join(","),
                "-".to_owned(),
                "-".to_owned(),
                note,
            ]);
        }
    }
    if !args.json {
        table.write(&mut out)?;
    }
    if !args.json && (!copies.is_empty() || listed.iter().any(|l| l.name.kind == Kind::Safety)) {
        writeln!(
            out,
            "* a safety backup, taken by magi-restore before it replaced data"
        )?;
    }
    Ok(0)
}

fn verify_command(start: &Start, args: &VerifyArgs) -> anyhow::Result<u8> {
    let dir = create::backup_dir(&start.config)?;
    let keys = keys(start)?;
    let archive = listing::find(dir, &args.name, keys.identity.as_ref());
    let stem = crate::name::ArchiveName::parse(&args.name)
        .map(|n| n.stem())
        .unwrap_or_default();
    let outcome = archive.and_then(|archive| {
        let scratch = Scratch::new(dir)?;
        crate::verify::verify(&archive, args.deep, scratch.path()).map(|()| archive)
    });
    let record = |ok: bool, detail: String| {
        if stem.is_empty() {
            return;
        }
        let v = Verification {
            at: Timestamp::now(),
            ok,
            deep: args.deep,
            detail,
        };
        if let Err(e) = records::record(&start.config.stack.backup_dir, &stem, &v) {
            log::warn!("cannot record the verification: {e}");
        }
    };
    match outcome {
        Ok(archive) => {
            record(true, String::new());
            println!(
                "{}: ok, {} entries{}",
                archive.name,
                archive.manifest.entries.len(),
                if args.deep { ", deep" } else { "" }
            );
            Ok(0)
        }
        Err(e @ BackupError::NotFound { .. }) => Err(UsageError(e.to_string()).into()),
        Err(e) => {
            record(false, e.to_string());
            Err(e.into())
        }
    }
}

fn prune_command(start: &Start, args: &PruneArgs) -> anyhow::Result<u8> {
    let defaults = &start.config.backup;
    let policy = args.policy(Policy {
        last: defaults.keep_last,
        daily: defaults.keep_daily,
        weekly: defaults.keep_weekly,
        monthly: defaults.keep_monthly,
    })?;
    let dir = create::backup_dir(&start.config)?;
    let _lock = Lock::acquire(dir)?;
    let listed = listing::files(dir)?;
    let tz = jiff::tz::TimeZone::system();
    let mut out = std::io::stdout().lock();
    let mut removed = 0;
    for kind in [Kind::Regular, Kind::Safety] {
        let group: Vec<&listing::ArchiveFile> =
            listed.iter().filter(|l| l.name.kind == kind).collect();
        let times: Vec<Timestamp> = group.iter().map(|l| l.name.time).collect();
        for (item, decision) in group.iter().zip(retention::decide(&times, policy, &tz)) {
            let stem = item.name.stem();
            if decision.keep {
                writeln!(out, "keep   {stem} ({})", decision.reasons.join(", "))?;
            } else if args.dry_run {
                writeln!(out, "would remove {stem}")?;
            } else {
                std::fs::remove_file(&item.path)
                    .map_err(|e| BackupError::io("remove", &item.path, e))?;
                writeln!(out, "remove {stem}")?;
                removed += 1;
            }
        }
    }
    log::info!("pruned {removed} backups");
    Ok(0)
}

fn auto_command(args: &AutoArgs) -> anyhow::Result<u8> {
    let expression = schedule::expression(&args.schedule);
    let normalized = schedule::validate(&expression)?;
    let path = schedule::write(&args.unit_dir, &normalized)?;
    println!("{}: OnCalendar={normalized}", path.display());
    let systemd = Path::new("/run/systemd/system").is_dir()
        && args.unit_dir == Path::new("/etc/systemd/system");
    if systemd {
        let status = std::process::Command::new("systemctl")
            .arg("daemon-reload")
            .status();
        if !status.is_ok_and(|s| s.success()) {
            log::warn!(
                "systemctl daemon-reload failed; run it yourself for the schedule to take effect"
            );
        }
    } else {
        println!("run `systemctl daemon-reload` for systemd to read it");
    }
    Ok(0)
}

/// Runs magi-restore.
pub fn restore(cli: RestoreCli) -> anyhow::Result<u8> {
    let begun = std::time::Instant::now();
    let start = cli.common.start("magi-restore")?;
    let dir = create::backup_dir(&start.config)?.to_owned();
    let keys = keys(&start)?;
    if let (Some(timestamp), Some(to)) = (&cli.timestamp, &cli.to) {
        return pitr_to_dir(timestamp, &cli.services, to);
    }
    if cli.to.is_some() && !cli.from_cloud {
        return Err(UsageError("--to goes with --from-cloud or --timestamp".into()).into());
    }
    if let Some(to) = &cli.to {
        let at = cli.at.as_deref().map(parse_local_time).transpose()?;
        return crate::cloud_commands::fetch_to(
            &start,
            cli.name.as_deref(),
            at,
            &cli.services,
            to,
            cli.common.quiet,
        );
    }
    let fetched = if cli.from_cloud {
        let at = cli.at.as_deref().map(parse_local_time).transpose()?;
        Some(crate::cloud_commands::fetch(
            &start,
            cli.name.as_deref(),
            at,
            &cli.services,
            cli.common.quiet,
        )?)
    } else {
        None
    };
    let archive = match (&cli.name, &cli.at) {
        _ if fetched.is_some() => fetched.as_ref().expect("checked").archive.clone(),
        (Some(name), _) => {
            listing::find(&dir, name, keys.identity.as_ref()).map_err(|e| match e {
                BackupError::NotFound { .. } => anyhow::Error::from(UsageError(e.to_string())),
                other => other.into(),
            })?
        }
        (None, Some(at)) => {
            let time = parse_local_time(at)?;
            listing::newest_at(&dir, time, keys.identity.as_ref())?.ok_or_else(|| {
                UsageError(format!("no readable backup was taken at or before {at}"))
            })?
        }
        (None, None) => match &cli.timestamp {
            Some(at) => {
                let time = magi_core::format::parse_local_time(at)
                    .map_err(|why| UsageError(format!("--timestamp {why}")))?;
                listing::newest_at(&dir, time, keys.identity.as_ref())?.ok_or_else(|| {
                    UsageError(format!(
                        "no readable backup was taken at or before {at}: a point-in-time restore lays \
                         the databases over the newest backup taken by then"
                    ))
                })?
            }
            None => return Err(UsageError("name a backup, or give --at TIME".into()).into()),
        },
    };
    let plan = restore::plan(&archive, &start.config, &cli.services)?;
    let rebuilds = match &cli.timestamp {
        Some(timestamp) => Some(crate::point_in_time::rebuild(
            &start.config.stack.home,
            timestamp,
            &plan.services,
        )?),
        None => None,
    };
    let mut out: Box<dyn Write> = if cli.json {
        Box::new(std::io::stderr().lock())
    } else {
        Box::new(std::io::stdout().lock())
    };
    writeln!(
        out,
        "{} (taken {} on {}{}) replaces:",
        archive.name,
        magi_core::format::time(archive.manifest.started),
        archive.manifest.host,
        archive
            .manifest
            .note
            .as_deref()
            .map(|n| format!(", \"{}\"", magi_core::printable::printable(n)))
            .unwrap_or_default()
    )?;
    for line in restore::describe(&archive, &plan) {
        writeln!(out, "  {line}")?;
    }
    if let Some(rebuilds) = &rebuilds {
        for rebuilt in &rebuilds.databases {
            writeln!(
                out,
                "  {} {} as of {}: its last transaction at or before {}; {}",
                rebuilt.service,
                rebuilt.database.display(),
                rebuilt.point(),
                cli.timestamp.as_deref().unwrap_or_default(),
                rebuilt.rows_check()
            )?;
        }
        let points: Vec<i64> = rebuilds.databases.iter().map(|r| r.seen).collect();
        if let (Some(low), Some(high)) = (points.iter().min(), points.iter().max())
            && points.len() > 1
        {
            writeln!(
                out,
                "  the databases' points are {:.3} s apart",
                (high - low) as f64 / 1e9
            )?;
        }
    }
    if !plan.containers.is_empty() {
        writeln!(out, "  stops and starts {}", plan.containers.join(", "))?;
    }
    drop(out);
    if !cli.dry_run && !cli.yes {
        if !std::io::stdin().is_terminal() {
            return Err(UsageError(
                "not restoring without --yes when nobody can be asked (stdin is not a terminal)"
                    .into(),
            )
            .into());
        }
        eprint!("A safety backup of this is taken first. Restore? [y/N] ");
        let mut answer = String::new();
        std::io::stdin().lock().read_line(&mut answer)?;
        if !matches!(answer.trim(), "y" | "Y" | "yes") {
            eprintln!("magi-restore: nothing was changed");
            return Ok(1);
        }
    }
    let timeout = cli.timeout.unwrap_or(start.config.backup.restore_timeout);
    let backup_dir = start.config.stack.backup_dir.clone();
    let json = cli.json;
    let dry_run = cli.dry_run;
    with_runtime("magi-restore", &backup_dir, move |work| {
        let _lock = prepare(&start.config, &work)?;
        let scratch = Scratch::new(&dir)?;
        let context = Context {
            config: &start.config,
            scratch: scratch.path(),
            docker: work.docker.as_ref(),
        };
        if dry_run {
            log::info!("verifying {}", archive.name);
            crate::verify::verify(&archive, false, scratch.path())?;
            restore::preflight(&archive, &plan, &context)?;
            eprintln!("{}: verified; --dry-run, nothing was changed", archive.name);
            return Ok(0);
        }
        recover(&context, timeout)?;
        let mut phases = Phases::default();
        phases.0.push(("open", begun.elapsed()));
        let mut live =
            restore::Live::new(&archive, &plan, &context, timeout).with_rebuilds(rebuilds.as_ref());
        let outcome = transaction::run(&mut live, &mut phases);
        let (safety_name, safety_bytes) = live.safety_copy();
        let subject = plan.services.join(",");
        let failed = |why: &str, outcome: String, rolled_back: bool| {
            Event::new(
                "magi-restore",
                "restore.failed",
                &subject,
                Severity::Critical,
                format!("restoring {} failed ({why}); {outcome}", archive.name),
            )
            .with("name", archive.name.as_str())
            .with("safety", safety_name.as_str())
            .with("rolled_back", rolled_back)
            .with("services", json!(plan.services))
        };
        match outcome {
            Outcome::Restored { waited, leftover } => {
                if let Some(e) = leftover {
                    log::warn!(
                        "the restore is done, but its safety copy could not be removed: {e}"
                    );
                }
                log::info!("phases: {}", phases.describe());
                emit(
                    Event::new("magi-restore", "restore.completed", &subject, Severity::Ok, format!(
                        "restored {} from {}; the stack was ready after {:.1}s; the safety copy {} ({}) is removed",
                        plan.services.join(", "), archive.name, waited.as_secs_f64(), safety_name, human_bytes(safety_bytes)
                    ))
                    .with("name", archive.name.as_str())
                    .with("safety", safety_name.as_str())
                    .with("safety_bytes", safety_bytes)
                    .with("waited_ms", waited.as_millis() as u64)
                    .with("phases_ms", phases_json(&phases))
                    .with("services", json!(plan.services))
                    .with("points", points_json(rebuilds.as_ref())),
                    json,
                )?;
                Ok(0)
            }
            Outcome::Unchanged { error, leftover } => {
                if let Some(e) = leftover {
                    log::warn!("cannot remove the staging directory {safety_name}: {e}");
                }
                Err(anyhow::Error::from(error).context(format!(
                    "{}: nothing was restored, the data are as they were",
                    archive.name
                )))
            }
            Outcome::RolledBack {
                why,
                ready,
                leftover,
            } => {
                if let Some(e) = leftover {
                    log::warn!("rolled back, but the safety copy could not be removed: {e}");
                }
                let outcome = match ready {
                    Ok(_) => "rolled back to what was there before; the stack is ready".to_owned(),
                    Err(e) => format!(
                        "rolled back to what was there before, but the stack is not ready either ({e})"
                    ),
                };
                emit(failed(&why, outcome, true), json)?;
                Ok(1)
            }
            Outcome::Stranded { why, error } => {
                let kept = context
                    .home()
                    .join(crate::safety::WORK_DIR)
                    .join(&safety_name);
                let outcome = format!(
                    "the rollback failed ({error}); the replaced files are kept in {}",
                    kept.display()
                );
                emit(failed(&why, outcome, false), json)?;
                Ok(1)
            }
        }
    })
}

/// Each phase's milliseconds, for the `restore.completed` event.
fn phases_json(phases: &Phases) -> serde_json::Value {
    phases
        .0
        .iter()
        .map(|(n, d)| ((*n).to_owned(), json!(d.as_millis() as u64)))
        .collect::<serde_json::Map<_, _>>()
        .into()
}

/// Finishes what an interrupted restore left under the home: a staging area is removed, a safety copy that
/// was swapped in but never confirmed is rolled back.
fn recover(context: &Context, timeout: std::time::Duration) -> anyhow::Result<()> {
    Safety::remove_confirmed(context.home());
    for leftover in Safety::leftovers(context.home()) {
        let safety =
            leftover.context("an interrupted restore left a safety copy that cannot be read")?;
        if safety.journal.stage == crate::safety::Stage::Swapping {
            log::warn!(
                "the restore of {} was interrupted before the stack was confirmed healthy; rolling back to its safety copy {}",
                safety.journal.archive,
                safety.name
            );
            restore::roll_back(&safety, context).with_context(|| {
                format!(
                    "cannot roll back to the safety copy {}",
                    safety.dir.display()
                )
            })?;
            if let Some(docker) = context.docker {
                restore::wait_ready(docker, context.config, timeout, &[]).map_err(|why| {
                    anyhow::anyhow!(
                        "rolled back to {}, but the stack is not ready: {why}",
                        safety.name
                    )
                })?;
            }
        } else {
            log::info!(
                "removing {}, the staging area of an interrupted restore",
                safety.name
            );
        }
        safety.discard()?;
    }
    Ok(())
}

/// The point each database of a point-in-time restore reached, by service: `{"n8n": "2026-...Z"}`.
fn points_json(rebuilds: Option<&crate::point_in_time::Rebuilds>) -> serde_json::Value {
    let points: serde_json::Map<String, serde_json::Value> = rebuilds
        .map(|r| {
            r.databases
                .iter()
                .map(|d| (d.service.clone(), json!(d.point())))
                .collect()
        })
        .unwrap_or_default();
    serde_json::Value::Object(points)
}

/// `--timestamp T --to DIR`: the databases rebuilt to T into DIR by magi-pitr, which says what it did.
fn pitr_to_dir(timestamp: &str, services: &[String], to: &std::path::Path) -> anyhow::Result<u8> {
    let mut command = std::process::Command::new(crate::point_in_time::magi_pitr()?);
    command
        .args(["restore", "--timestamp", timestamp, "--to"])
        .arg(to);
    for service in services {
        command.args(["--service", service]);
    }
    let status = command.status()?;
    Ok(status
        .code()
        .and_then(|c| u8::try_from(c).ok())
        .unwrap_or(1))
}

/// `--at TIME`, read as the core reads a time a person writes.
fn parse_local_time(text: &str) -> anyhow::Result<Timestamp> {
    magi_core::format::parse_local_time(text)
        .map_err(|why| UsageError(format!("--at {why}")).into())
}
