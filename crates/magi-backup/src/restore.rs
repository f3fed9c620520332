//! Restoring an archive: plan what is replaced (whole paths: each file target's directory or file, a
//! SQLite database with its sidecars), stage those entries from the archive into the restore's safety
//! directory on the MAGI home's file system — verified on the stream, on two threads — stop the affected
//! containers, swap the staged paths in by rename (the replaced ones move into the safety directory, see
//! [`crate::safety`]), start the containers, and wait for the stack with `magi-check`'s start-up
//! validation, the same `magi-health validate` uses ([`wait_ready`]). What an engine restores through its
//! own API (Qdrant's collections) is its module's ([`crate::engine::qdrant`]). [`Live`] is these steps on a
//! real stack; their order, and what undoes each, is [`crate::transaction`]'s.
use std::collections::HashSet;
use std::fs::{self, File, OpenOptions};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, UNIX_EPOCH};

use magi_check::validate::{Outcome, pause_after, validate};
use magi_check::{Checker, Options};
use magi_core::Config;
use magi_core::exit::UsageError;
use magi_core::format::human_bytes;
use magi_docker::State;

use crate::archive::{Archive, Source};
use crate::containers::Docker;
use crate::engine::qdrant;
use crate::engine::{Context, SQLITE_SIDECARS, with_suffix};
use crate::error::{BackupError, io_at};
use crate::manifest::{CONFIG_SERVICE, Entry, EntryType, Method};
use crate::safety::{Root, Safety, Stage};

/// What a restore of some services of an archive replaces.
#[derive(Debug, Clone)]
pub struct Plan {
    pub services: Vec<String>,
    /// Indexes of the entries written under the MAGI home.
    pub files: Vec<usize>,
    /// Indexes of the Qdrant snapshot entries.
    pub snapshots: Vec<usize>,
    /// Containers stopped while their files are replaced.
    pub containers: Vec<String>,
    /// The paths under the home swapped as a whole: every file target's path (a SQLite database with
    /// its sidecars), and any entry outside them.
    pub roots: Vec<Root>,
}

/// Plans the restore of `wanted` services (catalog or container names; empty: all the archive holds).
pub fn plan(archive: &Archive, config: &Config, wanted: &[String]) -> anyhow::Result<Plan> {
    let held: Vec<&str> = archive.manifest.captured_services();
    let mut services = Vec::new();
    if wanted.is_empty() {
        services = held.iter().map(|s| (*s).to_owned()).collect();
    } else {
        for name in wanted {
            let service = config
                .service(name)
                .map_or(name.as_str(), |s| s.name.as_str());
            if !held.contains(&service) {
                return Err(UsageError(format!(
                    "{} holds nothing of '{name}' (it holds: {})",
                    archive.name,
                    held.join(", ")
                ))
                .into());
            }
            if !services.iter().any(|s| s == service) {
                services.push(service.to_owned());
            }
        }
    }
    let mut plan = Plan {
        services,
        files: Vec::new(),
        snapshots: Vec::new(),
        containers: Vec::new(),
        roots: Vec::new(),
    };
    for (index, entry) in archive.manifest.entries.iter().enumerate() {
        if !plan.services.contains(&entry.service) {
            continue;
        }
        if entry.method == Method::QdrantSnapshot {
            plan.snapshots.push(index);
            continue;
        }
        plan.files.push(index);
        if entry.service != CONFIG_SERVICE
            && let Some(service) = config.service(&entry.service)
            && !plan.containers.contains(&service.container)
        {
            plan.containers.push(service.container.clone());
        }
    }
    plan.roots = roots(archive, &plan, config);
    Ok(plan)
}

/// The roots of a plan, none under another, each with what it carries over: an engine's database the
/// archive does not restore (with its sidecars) stays as it is.
fn roots(archive: &Archive, plan: &Plan, config: &Config) -> Vec<Root> {
    let entries = &archive.manifest.entries;
    let mut paths: Vec<PathBuf> = Vec::new();
    for record in &archive.manifest.targets {
        if !plan.services.contains(&record.service) {
            continue;
        }
        let Some(path) = &record.path else { continue };
        let path = Path::new(path);
        if record.service == CONFIG_SERVICE {
            // Running containers bind-mount these directories and are not restarted for them: their files
            // are swapped one by one (below) and what the backup lacks is moved aside, the directories stay.
            extras(&config.stack.home, path, archive, &mut paths);
            continue;
        }
        paths.push(path.to_owned());
        if record.kind == "sqlite" {
            paths.extend(SQLITE_SIDECARS.iter().map(|s| with_suffix(path, s)));
        }
    }
    let under =
        |path: &Path, paths: &[PathBuf]| paths.iter().any(|p| p != path && path.starts_with(p));
    for index in &plan.files {
        let path = Path::new(entries[*index].path.trim_end_matches('/'));
        if entries[*index].entry_type != EntryType::Dir
            && !under(path, &paths)
            && !paths.iter().any(|p| p == path)
        {
            paths.push(path.to_owned());
        }
    }
    paths.sort();
    paths.dedup();
    let tops: Vec<PathBuf> = paths
        .iter()
        .filter(|p| !under(p, &paths))
        .cloned()
        .collect();
    let written: HashSet<&str> = plan
        .files
        .iter()
        .map(|i| entries[*i].path.trim_end_matches('/'))
        .collect();
    let mut carried: Vec<PathBuf> = Vec::new();
    for service in &config.services {
        for target in &service.backup {
            let (path, sidecars) = match target {
                magi_core::Target::Sqlite { path } => (path, &SQLITE_SIDECARS[..]),
                magi_core::Target::Redis { dump, .. } => (dump, &[][..]),
                _ => continue,
            };
            if !written.contains(path.to_string_lossy().as_ref()) {
                carried.push(path.clone());
                carried.extend(sidecars.iter().map(|s| with_suffix(path, s)));
            }
        }
    }
    tops.into_iter()
        .map(|top| Root {
            carry: carried
                .iter()
                .filter(|c| c.starts_with(&top) && **c != top)
                .map(|c| c.display().to_string())
                .collect(),
            path: top.display().to_string(),
            existed: false,
        })
        .collect()
}

/// The files and links under `root` in the home that the archive does not hold.
fn extras(home: &Path, root: &Path, archive: &Archive, paths: &mut Vec<PathBuf>) {
    let Ok(metadata) = fs::symlink_metadata(home.join(root)) else {
        return;
    };
    if metadata.is_dir() {
        for child in fs::read_dir(home.join(root))
            .into_iter()
            .flatten()
            .flatten()
        {
            extras(home, &root.join(child.file_name()), archive, paths);
        }
    } else {
        let held = archive
            .manifest
            .entries
            .iter()
            .any(|e| Path::new(&e.path) == root);
        if !held {
            paths.push(root.to_owned());
        }
    }
}

/// The plan in a person's words, one line per service.
pub fn describe(archive: &Archive, plan: &Plan) -> Vec<String> {
    let entries = &archive.manifest.entries;
    plan.services
        .iter()
        .map(|service| {
            let files: Vec<&Entry> = plan
                .files
                .iter()
                .map(|i| &entries[*i])
                .filter(|e| &e.service == service && e.entry_type == EntryType::File)
                .collect();
            let bytes: u64 = files.iter().map(|e| e.size).sum();
            let collections: Vec<&str> = plan
                .snapshots
                .iter()
                .map(|i| &entries[*i])
                .filter(|e| &e.service == service)
                .filter_map(|e| e.collection.as_deref())
                .collect();
            let mut line = format!("{service:<12}");
            if !files.is_empty() {
                line.push_str(&format!(
                    " {} file{}, {}",
                    files.len(),
                    if files.len() == 1 { "" } else { "s" },
                    human_bytes(bytes)
                ));
            }
            if !collections.is_empty() {
                line.push_str(&format!(
                    " collections {} (replaced; collections the backup lacks are deleted)",
                    collections.join(", ")
                ));
            }
            if files.is_empty() && collections.is_empty() {
                line.push_str(" nothing captured");
            }
            line
        })
        .collect()
}

/// Checks what can be checked before anything is touched: today, that Qdrant can take the snapshots.
pub fn preflight(archive: &Archive, plan: &Plan, context: &Context) -> Result<(), BackupError> {
    qdrant::check_versions(archive, plan, context)
}

/// Extracts the plan's entries into the safety directory's staging area, verifying each on the stream (the
/// SHA-256 of its stored bytes, zstd's checksum, its tar header and the SHA-256 of its content) on two
/// threads, each reading its own half of the archive in order; then gives directories their owners and
/// modes and syncs the file system, so every staged file and directory is on disk before anything is
/// swapped. A bad entry stops it with nothing under the home touched.
pub fn stage(archive: &Archive, plan: &Plan, safety: &Safety) -> Result<(), BackupError> {
    archive.check_layout(archive.reader()?.as_mut())?;
    let entries = &archive.manifest.entries;
    let mut order: Vec<usize> = plan.files.iter().chain(&plan.snapshots).copied().collect();
    order.sort_by_key(|i| entries[*i].frame.offset);
    let total: u64 = order.iter().map(|i| entries[*i].frame.len).sum();
    let mut split = 0;
    let mut acc = 0;
    while split < order.len() && acc < total / 2 {
        acc += entries[order[split]].frame.len;
        split += 1;
    }
    let staging = safety.staging();
    let owners = Owners::of(archive, safety.home());
    let owners = &owners;
    let (first, second) = order.split_at(split);
    std::thread::scope(|scope| {
        let workers: Vec<_> = [first, second]
            .into_iter()
            .map(|part| {
                let staging = &staging;
                scope.spawn(move || -> Result<(), BackupError> {
                    let mut reader = archive.reader()?;
                    for index in part {
                        let entry = &entries[*index];
                        if entry.method == Method::QdrantSnapshot {
                            let dir = safety.new_snapshots(&entry.service);
                            fs::create_dir_all(&dir).map_err(io_at("create", &dir))?;
                            let collection = entry.collection.clone().unwrap_or_default();
                            let path = dir.join(format!("{collection}.snapshot"));
                            let mut out = File::create(&path).map_err(io_at("create", &path))?;
                            archive.extract(reader.as_mut(), entry, &mut out)?;
                        } else {
                            stage_entry(archive, reader.as_mut(), entry, staging, owners)?;
                        }
                    }
                    Ok(())
                })
            })
            .collect();
        workers
            .into_iter()
            .try_for_each(|w| w.join().expect("a staging thread does not panic"))
    })?;
    let mut dirs: Vec<&Entry> = plan
        .files
        .iter()
        .map(|i| &entries[*i])
        .filter(|e| e.entry_type == EntryType::Dir)
        .collect();
    dirs.sort_by(|a, b| b.path.cmp(&a.path));
    for entry in dirs {
        let path = staging.join(entry.path.trim_end_matches('/'));
        // O_NOFOLLOW: the mode and owner go to the directory staged here, never through a link.
        let dir = OpenOptions::new()
            .read(true)
            .custom_flags(libc_flags::DIRECTORY | libc_flags::NOFOLLOW)
            .open(&path)
            .map_err(io_at("open", &path))?;
        set_owner_and_mode(&dir, &path, entry, owners)?;
    }
    let root = File::open(&staging).map_err(io_at("open", &staging))?;
    nix::unistd::syncfs(&root).map_err(|e| BackupError::io("sync", &staging, e.into()))
}

fn stage_entry(
    archive: &Archive,
    file: &mut dyn Source,
    entry: &Entry,
    staging: &Path,
    owners: &Owners,
) -> Result<(), BackupError> {
    let dest = staging.join(entry.path.trim_end_matches('/'));
    let parent = dest.parent().unwrap_or(staging).to_owned();
    fs::create_dir_all(&parent).map_err(io_at("create", &parent))?;
    match entry.entry_type {
        EntryType::Dir => {
            fs::create_dir_all(&dest).map_err(io_at("create", &dest))?;
            archive.extract(file, entry, &mut std::io::sink())?;
        }
        EntryType::File => {
            let out = OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&dest)
                .map_err(io_at("create", &dest))?;
            let mut writeback = Writeback {
                file: out,
                written: 0,
                started: 0,
            };
            archive.extract(file, entry, &mut writeback)?;
            writeback.start_writeback(true);
            let out = writeback.file;
            out.set_modified(UNIX_EPOCH + Duration::from_secs(entry.mtime.max(0) as u64))
                .map_err(io_at("write", &dest))?;
            set_owner_and_mode(&out, &dest, entry, owners)?;
        }
        EntryType::Symlink => {
            archive.extract(file, entry, &mut std::io::sink())?;
            let link = entry.link.clone().unwrap_or_default();
            std::os::unix::fs::symlink(&link, &dest).map_err(io_at("create", &dest))?;
            let (uid, gid) = owners.for_entry(entry);
            let _ = std::os::unix::fs::lchown(&dest, Some(uid), Some(gid));
        }
    }
    Ok(())
}

/// A staged file that asks the kernel to start writing its pages back every [`WRITEBACK`] bytes (Linux's
/// `POSIX_FADV_DONTNEED` starts the writeback of a dirty range without waiting for it), so the disk works
/// while the next entries are decompressed and the final sync finds little left to write.
struct Writeback {
    file: File,
    written: u64,
    started: u64,
}

/// How many bytes are written before their writeback is started.
const WRITEBACK: u64 = 8 << 20;

impl Writeback {
    fn start_writeback(&mut self, all: bool) {
        if self.written - self.started >= WRITEBACK || (all && self.written > self.started) {
            let _ = nix::fcntl::posix_fadvise(
                &self.file,
                self.started as i64,
                (self.written - self.started) as i64,
                nix::fcntl::PosixFadviseAdvice::POSIX_FADV_DONTNEED,
            );
            self.started = self.written;
        }
    }
}

impl std::io::Write for Writeback {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.file.write(buf)?;
        self.written += n as u64;
        self.start_writeback(false);
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.file.flush()
    }
}

/// The containers of a plan that are running now; [`swap`] stops them and [`start`] starts them again.
pub fn running(plan: &Plan, docker: Option<&Docker>) -> Result<Vec<String>, BackupError> {
    if plan.containers.is_empty() {
        return Ok(Vec::new());
    }
    let docker = docker.ok_or_else(|| no_docker(&plan.containers))?;
    let mut running = Vec::new();
    for container in &plan.containers {
        let state = docker.inspect(container)?.state;
        if matches!(state, State::Running | State::Paused | State::Restarting) {
            running.push(container.clone());
        }
    }
    Ok(running)
}

fn no_docker(containers: &[String]) -> BackupError {
    BackupError::Io {
        action: "stop or start",
        path: PathBuf::from(containers.join(", ")),
        source: std::io::Error::other("Docker cannot be reached"),
    }
}

/// Stops `containers`, swaps the staged paths in (the replaced ones into the safety directory).
pub fn swap(
    plan: &Plan,
    containers: &[String],
    docker: Option<&Docker>,
    safety: &mut Safety,
) -> Result<(), BackupError> {
    stop(containers, docker)?;
    safety.swap(plan.roots.clone())
}

/// Stops `containers`.
pub fn stop(containers: &[String], docker: Option<&Docker>) -> Result<(), BackupError> {
    if containers.is_empty() {
        return Ok(());
    }
    let docker = docker.ok_or_else(|| no_docker(containers))?;
    for container in containers {
        log::info!("stopping {container}");
        docker.stop(container)?;
    }
    Ok(())
}

/// Starts every one of `containers` that exists.
pub fn start(containers: &[String], docker: Option<&Docker>) -> Result<(), BackupError> {
    if containers.is_empty() {
        return Ok(());
    }
    let docker = docker.ok_or_else(|| no_docker(containers))?;
    for container in containers {
        if docker.inspect(container)?.state == State::Missing {
            log::warn!("{container} does not exist; its files are restored but nothing is started");
            continue;
        }
        log::info!("starting {container}");
        docker.start(container)?;
    }
    Ok(())
}

/// Puts back everything a restore replaced, from its safety directory: stop, move back, start, and the
/// saved collections.
pub fn roll_back(safety: &Safety, context: &Context) -> Result<(), BackupError> {
    let containers = &safety.journal.containers;
    if safety.journal.stage == Stage::Swapping {
        let docker = context.docker;
        if let Some(docker) = docker {
            for container in containers {
                if matches!(
                    docker.inspect(container)?.state,
                    State::Running | State::Paused | State::Restarting
                ) {
                    log::info!("stopping {container}");
                    docker.stop(container)?;
                }
            }
        } else if !containers.is_empty() {
            return Err(no_docker(containers));
        }
        safety.roll_back()?;
        start(containers, docker)?;
        for (service, collections) in &safety.journal.collections {
            qdrant::load_collections(
                service,
                &safety.old_snapshots(service),
                collections,
                context,
            )?;
        }
    }
    Ok(())
}

/// The `open` flags staging needs beyond std's: a directory, and never through a symlink.
mod libc_flags {
    pub const DIRECTORY: i32 = nix::fcntl::OFlag::O_DIRECTORY.bits();
    pub const NOFOLLOW: i32 = nix::fcntl::OFlag::O_NOFOLLOW.bits();
}

/// The setuid and setgid bits: never restored. No service of the stack keeps a set-id program in its data,
/// and one written by a crafted archive would be a way to root for any local user who can reach it.
const SET_ID: u32 = 0o6000;

/// Who restored entries belong to. An entry keeps the owner the archive records when that owner is root or
/// owns the entry's data directory on this machine now (the service's captured target, or the MAGI home
/// for what no target holds); any other owner is foreign to this host and becomes the directory's. Where
/// that directory does not exist yet (a restore onto a new machine), the archive's owners are all there is
/// to go by and are kept.
struct Owners {
    /// Per service, its target paths under the home and their owner now (`None`: not there).
    anchors: Vec<(String, PathBuf, Option<Owner>)>,
    home: Option<Owner>,
}

/// A uid and gid.
type Owner = (u32, u32);

impl Owners {
    fn of(archive: &Archive, home: &Path) -> Owners {
        use std::os::unix::fs::MetadataExt;
        let owner = |path: &Path| {
            fs::symlink_metadata(path)
                .ok()
                .filter(|m| !m.file_type().is_symlink())
                .map(|m| (m.uid(), m.gid()))
        };
        Owners {
            anchors: archive
                .manifest
                .targets
                .iter()
                .filter_map(|t| {
                    let path = PathBuf::from(t.path.as_ref()?);
                    let now = owner(&home.join(&path));
                    Some((t.service.clone(), path, now))
                })
                .collect(),
            home: owner(home),
        }
    }

    fn for_entry(&self, entry: &Entry) -> (u32, u32) {
        let path = Path::new(entry.path.trim_end_matches('/'));
        let anchor = self
            .anchors
            .iter()
            .filter(|(service, root, _)| *service == entry.service && path.starts_with(root))
            .max_by_key(|(_, root, _)| root.components().count())
            .map_or(self.home, |(_, _, now)| *now);
        match anchor {
            None => (entry.uid, entry.gid),
            Some((uid, gid)) => (
                if entry.uid == 0 || entry.uid == uid {
                    entry.uid
                } else {
                    uid
                },
                if entry.gid == 0 || entry.gid == gid {
                    entry.gid
                } else {
                    gid
                },
            ),
        }
    }
}

/// Gives a staged file or directory, already open (so no link is followed), its owner and mode: the mode
/// without the set-id bits, the owner as [`Owners`] allows.
fn set_owner_and_mode(
    file: &File,
    path: &Path,
    entry: &Entry,
    owners: &Owners,
) -> Result<(), BackupError> {
    use std::os::unix::fs::PermissionsExt;
    let (uid, gid) = owners.for_entry(entry);
    match std::os::unix::fs::fchown(file, Some(uid), Some(gid)) {
        Err(e)
            if e.kind() == std::io::ErrorKind::PermissionDenied
                && !nix::unistd::geteuid().is_root() =>
        {
            log::debug!(
                "{}: cannot give it to {uid}:{gid} without root",
                path.display()
            );
        }
        other => other.map_err(io_at("change the owner of", path))?,
    }
    file.set_permissions(fs::Permissions::from_mode(entry.mode & 0o7777 & !SET_ID))
        .map_err(io_at("change the mode of", path))
}

/// Waits with `magi-check`'s start-up validation (the same as `magi-health validate`) until every core
/// service is ready, then until each of `also` (the optional services a restore replaced) is ready too,
/// all within `timeout`; the error lists what was not.
pub fn wait_ready(
    docker: &Docker,
    config: &Config,
    timeout: Duration,
    also: &[String],
) -> Result<Duration, String> {
    let started = Instant::now();
    let checker = Checker::new(docker.engine().clone(), config.clone(), Options::default());
    let outcome = docker.block_on(validate(&checker, timeout, |waiting| {
        let names: Vec<String> = waiting
            .iter()
            .map(|w| format!("{} ({})", w.service, w.reason))
            .collect();
        log::info!("waiting for {}", names.join(", "));
    }));
    if let Outcome::TimedOut { waiting, .. } = outcome {
        return Err(waiting
            .iter()
            .map(|w| format!("{}: {}", w.service, w.reason))
            .collect::<Vec<_>>()
            .join("; "));
    }
    if also.is_empty() {
        return Ok(started.elapsed());
    }
    let mut round = 0;
    loop {
        let report = docker.block_on(checker.check(Some(also)));
        let waiting: Vec<String> = report
            .services
            .iter()
            .filter(|s| !s.verdict.is_ready())
            .map(|s| {
                format!(
                    "{}: {}: {}",
                    s.service.name,
                    s.verdict.condition,
                    s.verdict.because()
                )
            })
            .collect();
        if waiting.is_empty() {
            return Ok(started.elapsed());
        }
        if started.elapsed() >= timeout {
            return Err(waiting.join("; "));
        }
        log::info!("waiting for {}", waiting.join(", "));
        std::thread::sleep(pause_after(round).min(timeout.saturating_sub(started.elapsed())));
        round = round.saturating_add(1);
    }
}

/// The optional services of a plan whose containers exist: a restore waits for them as for the core.
pub fn optional_services(plan: &Plan, config: &Config, docker: &Docker) -> Vec<String> {
    plan.services
        .iter()
        .filter_map(|name| config.service(name))
        .filter(|s| s.tier == magi_core::Tier::Optional)
        .filter(|s| {
            docker
                .inspect(&s.container)
                .is_ok_and(|c| c.state != State::Missing)
        })
        .map(|s| s.name.clone())
        .collect()
}

/// The restore's steps carried out on the real stack: the archive's entries staged under the home, the
/// containers stopped and started through Docker, Qdrant's collections saved and loaded through its API,
/// and readiness judged by `magi-check`'s validation. [`crate::transaction::run`] orders them.
pub struct Live<'a> {
    pub archive: &'a Archive,
    pub plan: &'a Plan,
    pub context: &'a Context<'a>,
    /// How long to wait for the stack after the swap and after a rollback.
    pub timeout: Duration,
    /// The plan's containers that were running, taken when staging starts.
    containers: Vec<String>,
    safety: Option<Safety>,
    /// The safety copy's name and size, kept after it is removed, for the report.
    safety_seen: (String, u64),
    /// Databases rebuilt to a point in time, laid over the archive's copies once staged.
    rebuilds: Option<&'a crate::point_in_time::Rebuilds>,
}

impl<'a> Live<'a> {
    pub fn new(
        archive: &'a Archive,
        plan: &'a Plan,
        context: &'a Context<'a>,
        timeout: Duration,
    ) -> Live<'a> {
        Live {
            archive,
            plan,
            context,
            timeout,
            containers: Vec::new(),
            safety: None,
            safety_seen: (String::new(), 0),
            rebuilds: None,
        }
    }

    /// Lays these rebuilt databases over the archive's copies before the swap (`--timestamp`).
    pub fn with_rebuilds(
        mut self,
        rebuilds: Option<&'a crate::point_in_time::Rebuilds>,
    ) -> Live<'a> {
        self.rebuilds = rebuilds;
        self
    }

    /// The safety copy's name and size (what the swap replaced), as last seen: empty before staging.
    pub fn safety_copy(&self) -> (String, u64) {
        match &self.safety {
            Some(safety) => (safety.name.clone(), safety.size()),
            None => self.safety_seen.clone(),
        }
    }

    /// Takes the safety copy out, remembering its name and size.
    fn take_safety(&mut self) -> Option<Safety> {
        self.safety_seen = self.safety_copy();
        self.safety.take()
    }

    fn safety_mut(&mut self) -> Result<&mut Safety, BackupError> {
        self.safety.as_mut().ok_or_else(|| BackupError::Io {
            action: "use the safety copy of",
            path: self.context.home().to_owned(),
            source: std::io::Error::other("the restore has not staged anything yet"),
        })
    }
}

impl crate::transaction::Steps for Live<'_> {
    fn preflight(&mut self) -> Result<(), BackupError> {
        preflight(self.archive, self.plan, self.context)
    }

    fn stage(&mut self) -> Result<(), BackupError> {
        self.containers = running(self.plan, self.context.docker)?;
        let safety = Safety::create(
            self.context.home(),
            &self.archive.name,
            &self.plan.services,
            &self.containers,
        )?;
        let safety = self.safety.insert(safety);
        safety.check_same_file_system(&self.plan.roots)?;
        log::info!("staging and verifying {}", self.archive.name);
        stage(self.archive, self.plan, safety)?;
        if let Some(rebuilds) = self.rebuilds {
            let staging = safety.staging();
            crate::point_in_time::lay_over(rebuilds, self.context.home(), &staging)
                .map_err(|e| BackupError::io("stage", &staging, e))?;
        }
        Ok(())
    }

    fn save(&mut self) -> Result<(), BackupError> {
        let (archive, plan, context) = (self.archive, self.plan, self.context);
        qdrant::save_collections(archive, plan, context, self.safety_mut()?)
    }

    fn discard(&mut self) -> Result<(), BackupError> {
        match self.take_safety() {
            Some(safety) => safety.discard(),
            None => Ok(()),
        }
    }

    fn swap(&mut self) -> Result<(), BackupError> {
        let (plan, docker) = (self.plan, self.context.docker);
        let containers = self.containers.clone();
        swap(plan, &containers, docker, self.safety_mut()?)
    }

    fn start(&mut self) -> Result<(), BackupError> {
        start(&self.containers, self.context.docker)
    }

    fn load(&mut self) -> Result<(), BackupError> {
        let safety = self.safety.as_ref().ok_or_else(|| BackupError::Io {
            action: "load collections from",
            path: self.context.home().to_owned(),
            source: std::io::Error::other("the restore has not staged anything yet"),
        })?;
        qdrant::load_archive_collections(self.archive, self.plan, self.context, safety)
    }

    fn wait(&mut self) -> Result<Duration, String> {
        let Some(docker) = self.context.docker else {
            return Err("Docker cannot be reached to see whether the stack came back".into());
        };
        let optional = optional_services(self.plan, self.context.config, docker);
        wait_ready(docker, self.context.config, self.timeout, &optional)
    }

    fn confirm(&mut self) -> Result<(), BackupError> {
        match self.take_safety() {
            Some(safety) => safety.confirm(),
            None => Ok(()),
        }
    }

    fn roll_back(&mut self) -> Result<(), BackupError> {
        match &self.safety {
            Some(safety) => roll_back(safety, self.context),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_sizes() {
        assert_eq!(human_bytes(512), "512 B");
        assert_eq!(human_bytes(3 * 1024 * 1024 + 1024 * 1024 / 2), "3.5 MiB");
    }
}
