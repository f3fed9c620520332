//! The `cloud` commands of magi-backup (configure, upload, list, verify, prune) and the cloud half of
//! `magi-restore --from-cloud`: parsing done, they open the repository, print, and emit events.

use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use jiff::Timestamp;
use magi_core::cli::Context as Start;
use magi_core::event::{Event, Severity};
use magi_core::exit::UsageError;
use magi_core::format::human_bytes;
use magi_core::table::Table;
use magi_repo::RepoError;
use magi_repo::s3::{Drill, Provider};
use serde_json::json;

use crate::archive::Archive;
use crate::cli::{
    CloudCommand, CloudPruneArgs, CloudVerifyArgs, ConfigureArgs, ListArgs, UploadArgs,
};
use crate::cloud;
use crate::create;
use crate::listing;
use crate::lock::Lock;
use crate::name::{ArchiveName, Kind};
use crate::progress::Progress;
use crate::records;
use crate::retention::{self, Policy};
use crate::run::emit;

/// How long a pack no index names is left alone by prune: a running upload's packs are younger.
const GRACE: Duration = Duration::from_secs(6 * 3600);
/// Packs a plain `verify` downloads and checks.
const SAMPLE: usize = 8;

pub fn run(start: Start, command: CloudCommand, quiet: bool) -> anyhow::Result<u8> {
    match command {
        CloudCommand::Configure(args) => configure(&start, args),
        CloudCommand::Upload(args) => upload(&start, &args, quiet),
        CloudCommand::List(args) => list(&start, &args),
        CloudCommand::Verify(args) => verify(&start, &args),
        CloudCommand::Prune(args) => prune(&start, &args),
    }
}

/// Asks on the terminal; an empty answer is `None`.
fn ask(question: &str) -> anyhow::Result<Option<String>> {
    eprint!("{question}: ");
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    let answer = answer.trim().to_owned();
    Ok((!answer.is_empty()).then_some(answer))
}

/// Reads a credential file given on the command line: one line, not empty.
fn credential(path: &Path, what: &str) -> anyhow::Result<String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| UsageError(format!("{what} file {}: {e}", path.display())))?;
    let value = text.trim().to_owned();
    if value.is_empty() || value.contains('\n') {
        return Err(UsageError(format!(
            "{what} file {}: must hold the key alone, on one line",
            path.display()
        ))
        .into());
    }
    Ok(value)
}

/// The config file text with its `[cloud]` table replaced by `section` (or added).
pub fn with_cloud_section(text: &str, section: &str) -> String {
    let mut out = String::new();
    let mut skipping = false;
    for line in text.lines() {
        let header = line.trim_start();
        if header.starts_with('[') {
            skipping = header.starts_with("[cloud]")
                || header.starts_with("[cloud.")
                || header.starts_with("[ cloud ]");
        }
        if !skipping {
            out.push_str(line);
            out.push('\n');
        }
    }
    while out.ends_with("\n\n") {
        out.pop();
    }
    if !out.is_empty() {
        out.push('\n');
    }
    out.push_str(section);
    out
}

/// A TOML basic string: JSON's string escapes are all valid TOML ones.
fn toml_string(value: &str) -> String {
    serde_json::to_string(value).expect("a string serializes")
}

fn configure(start: &Start, args: ConfigureArgs) -> anyhow::Result<u8> {
    let interactive = std::io::stdin().is_terminal();
    let (mut endpoint, mut bucket, mut key_file, mut secret_file, mut directory) = (
        args.endpoint,
        args.bucket,
        args.access_key_file,
        args.secret_key_file,
        args.directory,
    );
    if endpoint.is_none() && directory.is_none() {
        if !interactive {
            return Err(UsageError(
                "give --endpoint URL --bucket NAME --access-key-file F --secret-key-file F, or --directory DIR".into(),
            )
            .into());
        }
        endpoint = ask("S3 endpoint (https://..., empty for a directory repository)")?;
        if endpoint.is_none() {
            directory = ask("Directory of the repository")?.map(PathBuf::from);
        }
    }
    if endpoint.is_some() && interactive {
        if bucket.is_none() {
            bucket = ask("Bucket")?;
        }
        if key_file.is_none() {
            key_file = ask("File holding the access key ID")?.map(PathBuf::from);
        }
        if secret_file.is_none() {
            secret_file = ask("File holding the secret access key")?.map(PathBuf::from);
        }
    }
    let credentials_dir = start.paths.config_dir.join("credentials");
    let mut lines = vec!["[cloud]".to_owned()];
    let mut pending_secrets: Vec<(PathBuf, String)> = Vec::new();
    if let Some(endpoint) = &endpoint {
        let (Some(bucket), Some(key_file), Some(secret_file)) = (&bucket, &key_file, &secret_file)
        else {
            return Err(UsageError(
                "a bucket needs --bucket, --access-key-file and --secret-key-file".into(),
            )
            .into());
        };
        let url: url::Url = endpoint
            .parse()
            .map_err(|e| UsageError(format!("--endpoint '{endpoint}': {e}")))?;
        let provider = match &args.provider {
            Some(name) => Provider::parse(name).ok_or_else(|| {
                UsageError(format!(
                    "--provider '{name}': one of aws, b2, wasabi, r2, minio, generic"
                ))
            })?,
            None => Provider::detect(&url),
        };
        lines.push(format!("endpoint = {}", toml_string(endpoint)));
        lines.push(format!("bucket = {}", toml_string(bucket)));
        lines.push(format!("provider = {}", toml_string(provider.name())));
        if let Some(region) = &args.region {
            lines.push(format!("region = {}", toml_string(region)));
        }
        lines.push("access_key = \"cloud-access-key\"".into());
        lines.push("secret_key = \"cloud-secret-key\"".into());
        pending_secrets.push((
            credentials_dir.join("cloud-access-key"),
            credential(key_file, "access key")?,
        ));
        pending_secrets.push((
            credentials_dir.join("cloud-secret-key"),
            credential(secret_file, "secret key")?,
        ));
    } else if let Some(directory) = &directory {
        let absolute = std::path::absolute(directory)?;
        lines.push(format!(
            "directory = {}",
            toml_string(&absolute.display().to_string())
        ));
    }
    if let Some(days) = args.lock_days {
        lines.push(format!("lock_days = {days}"));
    }
    if let Some(prefix) = &args.prefix {
        lines.push(format!("prefix = {}", toml_string(prefix)));
    }
    let identity_path = credentials_dir.join("cloud-identity");
    let (recipient, new_identity) = match (&args.recipient, &start.config.cloud) {
        (Some(recipient), _) => (recipient.clone(), None),
        (None, Some(existing)) if existing.identity.is_some() => (existing.recipient.clone(), None),
        (None, _) if identity_path.exists() => {
            let keys = std::fs::read_to_string(&identity_path)?;
            let identity =
                crate::archive::parse_identity(&keys, &identity_path.display().to_string())
                    .map_err(anyhow::Error::msg)?;
            (identity.to_public().to_string(), None)
        }
        (None, _) => {
            let identity = age::x25519::Identity::generate();
            let recipient = identity.to_public().to_string();
            let text = format!(
                "# MAGI cloud backup key, created {}\n# public key: {recipient}\n{}\n",
                Timestamp::now(),
                age::secrecy::ExposeSecret::expose_secret(&identity.to_string())
            );
            (recipient, Some(text))
        }
    };
    lines.push(format!("recipient = {}", toml_string(&recipient)));
    if args.recipient.is_none() {
        let reference = start
            .config
            .cloud
            .as_ref()
            .and_then(|c| c.identity.clone())
            .unwrap_or_else(|| "cloud-identity".into());
        lines.push(format!("identity = {}", toml_string(&reference)));
    }
    let section = lines.join("\n") + "\n";

    // Check the section parses and the store answers before anything is written.
    let config_file = start
        .config
        .source
        .clone()
        .unwrap_or_else(|| start.paths.config_file.clone());
    let old_text = match std::fs::read_to_string(&config_file) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(anyhow::anyhow!("{}: {e}", config_file.display())),
    };
    let new_text = with_cloud_section(&old_text, &section);
    let parsed = magi_core::config::Config::from_toml(&new_text, &config_file, &start.paths)?;
    let cloud_section = parsed.cloud.clone().expect("the section was just written");
    let store: std::sync::Arc<dyn magi_repo::store::Store> = match &cloud_section.directory {
        Some(dir) => std::sync::Arc::new(magi_repo::store::DirStore::new(dir)?),
        None => {
            let mut config = cloud::s3_config_with(
                &cloud_section,
                pending_secrets[0].1.clone(),
                pending_secrets[1].1.clone(),
            )?;
            // A person is waiting: a bucket that does not answer is said so in seconds.
            config.retry.deadline = Duration::from_secs(20);
            std::sync::Arc::new(magi_repo::s3::S3Store::new(&config)?)
        }
    };
    let probe = format!("probe-{}", std::process::id());
    let body = b"magi-backup cloud configure: a write-read-delete check";
    store.put(&probe, body, false)?;
    let read = store.get(&probe)?;
    store.delete(&probe)?;
    if read.as_deref() != Some(&body[..]) {
        return Err(anyhow::anyhow!(
            "{}: an object written was not read back the same",
            store.describe()
        ));
    }
    let created = magi_repo::repo::init(store.as_ref())?;

    for (path, value) in &pending_secrets {
        magi_core::file::replace(path, format!("{value}\n").as_bytes(), 0o600)?;
    }
    if let Some(text) = &new_identity {
        magi_core::file::replace(&identity_path, text.as_bytes(), 0o600)?;
    }
    let mode = std::fs::metadata(&config_file)
        .map(|m| std::os::unix::fs::PermissionsExt::mode(&m.permissions()) & 0o777)
        .unwrap_or(0o640);
    magi_core::file::replace(&config_file, new_text.as_bytes(), mode)?;
    println!(
        "{}: {} (write, read and delete checked); [cloud] written to {}",
        store.describe(),
        if created {
            "a new repository"
        } else {
            "the repository that was there"
        },
        config_file.display()
    );
    if new_identity.is_some() {
        println!(
            "created the key {}\nKEEP AN OFFLINE COPY OF IT (print it, or store it in a password manager): without it no backup in the repository can be restored.",
            identity_path.display()
        );
    }
    if cloud::provider(&cloud_section) == Some(Provider::Wasabi) {
        println!(
            "Wasabi bills every object for at least 90 days, deleted or not; prune says what a deletion costs."
        );
    }
    Ok(0)
}

/// Whether to stop at once, successfully: `--if-configured` and no `[cloud]` section.
fn not_configured(start: &Start, if_configured: bool) -> bool {
    let off = if_configured && start.config.cloud.is_none();
    if off {
        log::info!("no [cloud] section in the config: nothing to do");
    }
    off
}

fn upload(start: &Start, args: &UploadArgs, quiet: bool) -> anyhow::Result<u8> {
    if not_configured(start, args.if_configured) {
        return Ok(0);
    }
    let began = Instant::now();
    let dir = create::backup_dir(&start.config)?.to_owned();
    let mut repo = cloud::open(&start.config, &start.paths)?;
    let identity = crate::run::backup_identity(start)?;
    let archive = match &args.name {
        Some(name) => listing::find(&dir, name, identity.as_ref())?,
        None => listing::archives(&dir, identity.as_ref())?
            .into_iter()
            .rev()
            .filter(|l| l.name.kind == Kind::Regular)
            .find_map(|l| l.archive.ok())
            .ok_or_else(|| UsageError(format!("no readable backup in {}", dir.display())))?,
    };
    if repo.has_snapshot(&archive.name)? {
        println!("{}: already in {}", archive.name, repo.store().describe());
        return Ok(0);
    }
    let _lock = Lock::acquire(&dir)?;
    let target = repo.store().describe();
    emit(
        Event::new(
            "magi-backup",
            "backup.cloud.started",
            &archive.name,
            Severity::Info,
            format!("uploading {} to {target}", archive.name),
        ),
        args.json,
    )?;
    let mut progress = Progress::new(quiet);
    let outcome = cloud::upload(&mut repo, &archive, &mut |bytes, current| {
        progress.update(bytes, current)
    });
    progress.done();
    let counters = repo.store().counters();
    match outcome {
        Ok(snapshot) => {
            let s = &snapshot.stats;
            let seconds = began.elapsed().as_secs_f64();
            let message = format!(
                "uploaded {}: {} read, {} new in {} chunks, {} sent in {} packs and {} requests, {seconds:.1} s",
                archive.name,
                human_bytes(s.bytes),
                human_bytes(s.new_bytes),
                s.new_chunks,
                human_bytes(s.packed_bytes + s.metadata_bytes),
                s.packs,
                counters.requests(),
            );
            if let Err(e) = records::record_upload(&dir, &archive.name, Timestamp::now()) {
                log::warn!("cannot record the upload: {e}");
            }
            emit(
                Event::new(
                    "magi-backup",
                    "backup.cloud.uploaded",
                    &archive.name,
                    Severity::Info,
                    message.clone(),
                )
                .with("name", archive.name.as_str())
                .with("target", target)
                .with("bytes", s.bytes)
                .with("new_bytes", s.new_bytes)
                .with("sent_bytes", s.packed_bytes + s.metadata_bytes)
                .with("packs", s.packs)
                .with("requests", counters.requests())
                .with("duration_ms", began.elapsed().as_millis() as u64),
                args.json,
            )?;
            if !args.json {
                println!("{message}");
            }
            Ok(0)
        }
        Err(e) => {
            emit(
                Event::new(
                    "magi-backup",
                    "backup.cloud.failed",
                    &archive.name,
                    Severity::Critical,
                    format!("uploading {} failed: {e}", archive.name),
                )
                .with("name", archive.name.as_str())
                .with("target", target)
                .with("error", e.to_string()),
                args.json,
            )?;
            Err(e.into())
        }
    }
}

fn list(start: &Start, args: &ListArgs) -> anyhow::Result<u8> {
    let repo = cloud::open(&start.config, &start.paths)?;
    let dir = &start.config.stack.backup_dir;
    let local: Vec<String> = listing::files(dir)?.iter().map(|f| f.name.stem()).collect();
    let mut out = std::io::stdout().lock();
    let mut table = Table::new(["NAME", "SIZE", "SERVICES", "LOCAL", "NOTE"]).right([1]);
    for name in repo.snapshots()? {
        let here = local.contains(&name);
        let snapshot = match repo.snapshot(&name) {
            Ok(s) => Some(s),
            Err(RepoError::NoIdentity { .. }) => None,
            Err(e) => return Err(e.into()),
        };
        let manifest = snapshot.as_ref().and_then(|s| cloud::manifest_of(s).ok());
        let services = manifest
            .as_ref()
            .map(|m| m.captured_services().join(","))
            .unwrap_or_default();
        let note = manifest.as_ref().and_then(|m| m.note.clone());
        let size = snapshot.as_ref().map(|s| s.stats.bytes);
        if args.json {
            writeln!(
                out,
                "{}",
                json!({
                    "name": name,
                    "time": snapshot.as_ref().map(|s| s.time),
                    "bytes": size,
                    "services": services.split(',').filter(|s| !s.is_empty()).collect::<Vec<_>>(),
                    "local": here,
                    "note": note,
                    "stats": snapshot.as_ref().map(|s| &s.stats),
                })
            )?;
        } else {
            table.row([
                name,
                size.map(human_bytes).unwrap_or_else(|| "-".into()),
                if services.is_empty() {
                    "(needs the identity)".into()
                } else {
                    services
                },
                if here { "yes" } else { "no" }.into(),
                magi_core::printable::printable(note.as_deref().unwrap_or("")).into_owned(),
            ]);
        }
    }
    if !args.json {
        table.write(&mut out)?;
    }
    Ok(0)
}

fn verify(start: &Start, args: &CloudVerifyArgs) -> anyhow::Result<u8> {
    if not_configured(start, args.if_configured) {
        return Ok(0);
    }
    let mut repo = cloud::open(&start.config, &start.paths)?;
    let target = repo.store().describe();
    let mut report = repo.verify(args.deep, SAMPLE)?;
    let mut restored = None;
    if args.restore && report.problems.is_empty() {
        drop(repo);
        let began = Instant::now();
        let outcome = fetch(start, None, Some(Timestamp::now()), &[], true).and_then(|fetched| {
            let scratch = create::Scratch::new(create::backup_dir(&start.config)?)?;
            crate::verify::verify(&fetched.archive, true, scratch.path())?;
            Ok(fetched.archive.name.clone())
        });
        match outcome {
            Ok(name) => restored = Some((name, began.elapsed())),
            Err(e) => report.problems.push(format!("the restore test: {e}")),
        }
    }
    let mut drilled = None;
    if args.drill {
        let section = start.config.cloud.as_ref().expect("opened above");
        match cloud::drill(section, &start.paths)? {
            Drill::Refused(code) => drilled = Some(format!("the bucket refused to delete a locked backup ({code})")),
            Drill::Deleted => report.problems.push(
                "ransomware drill: these credentials deleted a locked object: the bucket does not protect its backups (is Object Lock on, in COMPLIANCE mode?)".into(),
            ),
            Drill::NoLock(why) => report.problems.push(format!(
                "ransomware drill: a locked write failed, so Object Lock is not on for the bucket: {why}"
            )),
            Drill::NotConfigured => report.problems.push(
                "ransomware drill: no [cloud] lock_days, so anyone holding these credentials can delete every backup; enable Object Lock on the bucket and set lock_days".into(),
            ),
        }
    }
    let ok = report.problems.is_empty();
    let message = if ok {
        format!(
            "{target}: ok, {} snapshots, {} packs, {} read{}{}",
            report.snapshots,
            report.packs,
            report.read_packs,
            if args.deep { ", deep" } else { "" },
            restored
                .as_ref()
                .map(|(name, took)| format!(
                    "; {name} restored from the bucket and checked in {:.1} s",
                    took.as_secs_f64()
                ))
                .unwrap_or_default()
        ) + &drilled
            .as_ref()
            .map(|d| format!("; ransomware drill: {d}"))
            .unwrap_or_default()
    } else {
        format!(
            "{target}: {} problems: {}",
            report.problems.len(),
            report.problems.join("; ")
        )
    };
    magi_core::logging::log_event(
        &Event::new(
            "magi-backup",
            if ok {
                "backup.cloud.verified"
            } else {
                "backup.cloud.damaged"
            },
            "cloud",
            if ok {
                Severity::Info
            } else {
                Severity::Critical
            },
            message.clone(),
        )
        .with("problems", json!(report.problems))
        .with(
            "restore_test_ms",
            json!(restored.as_ref().map(|(_, took)| took.as_millis() as u64)),
        ),
    );
    if args.json {
        let mut value = serde_json::to_value(&report)?;
        value["drill"] = json!(drilled);
        value["restored"] = json!(restored.as_ref().map(|(name, took)| json!({
            "name": name, "ms": took.as_millis() as u64
        })));
        println!("{value}");
    } else if ok {
        println!("{message}");
    } else {
        for problem in &report.problems {
            println!("{}", magi_core::printable::printable(problem));
        }
    }
    Ok(if ok { 0 } else { 1 })
}

fn prune(start: &Start, cloud_args: &CloudPruneArgs) -> anyhow::Result<u8> {
    let args = &cloud_args.retention;
    let section = start.config.cloud.as_ref().ok_or_else(|| {
        UsageError(
            "no [cloud] section in the config: run `magi backup cloud configure` first".into(),
        )
    })?;
    let policy = args.policy(Policy {
        last: section.keep_last,
        daily: section.keep_daily,
        weekly: section.keep_weekly,
        monthly: section.keep_monthly,
    })?;
    let dir = create::backup_dir(&start.config)?;
    let _lock = Lock::acquire(dir)?;
    let mut repo = cloud::open(&start.config, &start.paths)?;
    let names: Vec<(String, Timestamp)> = repo
        .snapshots()?
        .into_iter()
        .filter_map(|n| {
            let time = ArchiveName::parse(&format!("{n}.tar.zst"))?.time;
            Some((n, time))
        })
        .collect();
    let times: Vec<Timestamp> = names.iter().map(|n| n.1).collect();
    let tz = jiff::tz::TimeZone::system();
    let mut forget = Vec::new();
    let mut out = std::io::stdout().lock();
    let locked_since = section.lock_days.map(|days| {
        Timestamp::now()
            .checked_sub(jiff::SignedDuration::from_hours(24 * i64::from(days)))
            .unwrap_or(Timestamp::MIN)
    });
    for ((name, time), mut decision) in names.iter().zip(retention::decide(&times, policy, &tz)) {
        // A backup still under Object Lock cannot be deleted; forgetting it would only hide it.
        if !decision.keep && locked_since.is_some_and(|since| *time > since) {
            decision.keep = true;
            decision.reasons.push("locked");
        }
        if decision.keep {
            if !args.json {
                writeln!(out, "keep   {name} ({})", decision.reasons.join(", "))?;
            }
        } else {
            if !args.json {
                writeln!(
                    out,
                    "{} {name}",
                    if args.dry_run {
                        "would forget"
                    } else {
                        "forget"
                    }
                )?;
            }
            forget.push(name.clone());
        }
    }
    if !args.dry_run {
        repo.forget(&forget)?;
    }
    let report = repo.prune(
        GRACE,
        f64::from(cloud_args.max_unused) / 100.0,
        &forget,
        args.dry_run,
    )?;
    let provider = cloud::provider(section);
    let minimum = provider.map_or(0, Provider::minimum_storage_days);
    if args.json {
        writeln!(
            out,
            "{}",
            json!({ "forgotten": forget, "dry_run": args.dry_run, "report": report,
                    "minimum_storage_days": minimum })
        )?;
    } else {
        writeln!(
            out,
            "{} {} packs ({}); {} kept, {} of them partly used",
            if args.dry_run {
                "would delete"
            } else {
                "deleted"
            },
            report.deleted_packs,
            human_bytes(report.deleted_bytes),
            report.kept_packs,
            report.partly_used_packs
        )?;
        if report.repacked_packs > 0 {
            if args.dry_run {
                writeln!(
                    out,
                    "would repack {} of those packs, over {}% unused",
                    report.repacked_packs, cloud_args.max_unused
                )?;
            } else {
                writeln!(
                    out,
                    "repacked {} of those packs, over {}% unused, into {} new ({})",
                    report.repacked_packs,
                    cloud_args.max_unused,
                    report.written_packs,
                    human_bytes(report.written_bytes)
                )?;
            }
        }
        if minimum > 0 && report.deleted_packs > 0 {
            writeln!(
                out,
                "{} bills objects for at least {minimum} days: those deleted younger are billed until then",
                provider.map(Provider::name).unwrap_or_default()
            )?;
        }
    }
    Ok(0)
}

/// `magi-restore --from-cloud --to DIR`: the files of the backup written into a directory.
pub fn fetch_to(
    start: &Start,
    name: Option<&str>,
    at: Option<Timestamp>,
    services: &[String],
    to: &Path,
    quiet: bool,
) -> anyhow::Result<u8> {
    let began = Instant::now();
    let mut repo = cloud::open(&start.config, &start.paths)?;
    let chosen = choose_snapshot(&repo, name, at)?;
    let snapshot = repo.snapshot(&chosen)?;
    let progress = Fetching::new(quiet);
    let (files, links) =
        cloud::download_to(&mut repo, &snapshot, &start.config, services, to, &|n| {
            progress.add(n)
        })?;
    progress.done();
    println!(
        "{chosen}: {files} files written under {} in {:.1} s; the stack was not touched",
        to.display(),
        began.elapsed().as_secs_f64()
    );
    for link in links {
        println!(
            "  not made (a symlink): {}",
            magi_core::printable::printable(&link)
        );
    }
    Ok(0)
}

/// The snapshot named (a backup's name, with or without its extension), or the newest taken by `at`.
fn choose_snapshot(
    repo: &magi_repo::Repository,
    name: Option<&str>,
    at: Option<Timestamp>,
) -> anyhow::Result<String> {
    let names = repo.snapshots()?;
    Ok(match (name, at) {
        (Some(name), _) => {
            let stem = ArchiveName::parse(name)
                .map(|n| n.stem())
                .unwrap_or_else(|| name.to_owned());
            names.into_iter().find(|n| *n == stem).ok_or_else(|| {
                UsageError(format!(
                    "no backup named '{name}' in {} (`magi backup cloud list` shows them)",
                    repo.store().describe()
                ))
            })?
        }
        (None, Some(at)) => names
            .into_iter()
            .rfind(|n| ArchiveName::parse(&format!("{n}.tar.zst")).is_some_and(|a| a.time <= at))
            .ok_or_else(|| UsageError("no backup in the repository was taken by then".into()))?,
        (None, None) => return Err(UsageError("name a backup, or give --at TIME".into()).into()),
    })
}

/// The progress line of a fetch, fed by the download threads with the bytes each wrote.
struct Fetching(std::sync::Mutex<(Progress, u64)>);

impl Fetching {
    fn new(quiet: bool) -> Fetching {
        Fetching(std::sync::Mutex::new((Progress::new(quiet), 0)))
    }

    fn add(&self, bytes: u64) {
        let mut line = self.0.lock().unwrap_or_else(|e| e.into_inner());
        line.1 += bytes;
        let done = line.1;
        line.0.update(done, "fetching from the repository");
    }

    fn done(&self) {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).0.done();
    }
}

/// A directory removed when dropped.
struct Removed(PathBuf);

impl Drop for Removed {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A rebuilt archive for `magi-restore --from-cloud`, removed with its directory when dropped.
pub struct Fetched {
    pub archive: Archive,
    _dir: Removed,
}

/// Fetches the backup `name` (or the newest at or before `at`) of the services asked for from the
/// repository, and rebuilds it as an archive in a hidden directory beside the local ones.
pub fn fetch(
    start: &Start,
    name: Option<&str>,
    at: Option<Timestamp>,
    services: &[String],
    quiet: bool,
) -> anyhow::Result<Fetched> {
    let mut repo = cloud::open(&start.config, &start.paths)?;
    let chosen = choose_snapshot(&repo, name, at)?;
    let snapshot = repo.snapshot(&chosen)?;
    let dir =
        create::backup_dir(&start.config)?.join(format!(".cloud-restore-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    std::fs::set_permissions(&dir, std::os::unix::fs::PermissionsExt::from_mode(0o700))?;
    let removed = Removed(dir.clone());
    let progress = Fetching::new(quiet);
    let archive = cloud::download(&mut repo, &snapshot, &start.config, services, &dir, &|n| {
        progress.add(n)
    })?;
    progress.done();
    Ok(Fetched {
        archive,
        _dir: removed,
    })
}
