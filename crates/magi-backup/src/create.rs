//! Taking a backup: choose the targets, stage the engine-consistent copies in parallel (one thread per
//! service), then stream everything into one archive, pausing a container only while its directory is read.
//!
//! A target that fails is recorded in the manifest and the backup goes on with the others; only a failure
//! to write the archive itself (a full disk) abandons it, leaving no file behind.

use std::fs::{self, DirBuilder, File};
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use jiff::Timestamp;
use magi_core::Config;
use magi_core::config::UnknownService;

use crate::archive::ArchiveWriter;
use crate::containers::{Docker, Pauser};
use crate::engine::{self, Capture, Context, EngineError, Staged, Walk, meta_from};
use crate::error::{BackupError, io_at};
use crate::manifest::{CONFIG_SERVICE, FORMAT, Failure, Frame, Manifest, Method, TargetRecord};
use crate::name::{ArchiveName, Kind};
use crate::progress::Progress;

/// What to back up.
#[derive(Debug, Clone)]
pub struct Request {
    /// Service names as [`resolve`] gives them.
    pub services: Vec<String>,
    pub note: Option<String>,
    pub kind: Kind,
}

/// A finished backup.
#[derive(Debug)]
pub struct Created {
    pub path: PathBuf,
    pub name: String,
    pub manifest: Manifest,
    pub size: u64,
    pub duration: Duration,
}

/// What a backup needs from its surroundings.
pub struct Setup<'a> {
    pub config: &'a Config,
    pub docker: Option<&'a Docker>,
    pub pauser: &'a Pauser,
    /// Encrypt the archive to this age recipient.
    pub recipient: Option<&'a age::x25519::Recipient>,
    /// Told the temporary archive path while it exists, so a signal handler can remove it.
    pub on_partial: &'a (dyn Fn(Option<PathBuf>) + Sync),
}

/// Makes the backup directory (0700) if needed.
pub fn backup_dir(config: &Config) -> Result<&Path, BackupError> {
    let dir = config.stack.backup_dir.as_path();
    if !dir.is_dir() {
        DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(io_at("create the backup directory", dir))?;
    }
    Ok(dir)
}

/// The service names a request resolves to, in catalog order, `config` last.
pub fn resolve(config: &Config, names: &[String]) -> Result<Vec<String>, UnknownService> {
    if names.is_empty() {
        let mut all: Vec<String> = config
            .services
            .iter()
            .filter(|s| !s.backup.is_empty())
            .map(|s| s.name.clone())
            .collect();
        all.push(CONFIG_SERVICE.to_owned());
        return Ok(all);
    }
    let wants_config = names.iter().any(|n| n == CONFIG_SERVICE);
    let others: Vec<String> = names
        .iter()
        .filter(|n| *n != CONFIG_SERVICE)
        .cloned()
        .collect();
    let mut chosen: Vec<String> = if others.is_empty() {
        Vec::new()
    } else {
        let selected = config.select(&others).map_err(|mut e| {
            e.known.push(CONFIG_SERVICE.to_owned());
            e
        })?;
        config
            .services
            .iter()
            .filter(|s| selected.iter().any(|t| t.name == s.name))
            .map(|s| s.name.clone())
            .collect()
    };
    if wants_config {
        chosen.push(CONFIG_SERVICE.to_owned());
    }
    Ok(chosen)
}

/// Removes what killed runs left in the backup directory: temporary archives and scratch directories.
/// Call with the lock held.
pub fn clean_leftovers(dir: &Path) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let path = entry.path();
        let removed = if crate::archive::is_partial(&name) {
            fs::remove_file(&path)
        } else if name.starts_with(".scratch-") {
            fs::remove_dir_all(&path)
        } else {
            continue;
        };
        match removed {
            Ok(()) => log::info!("removed {}, left by an interrupted run", path.display()),
            Err(e) => log::warn!("cannot remove {}: {e}", path.display()),
        }
    }
}

/// A scratch directory on the backup disk, removed when dropped.
pub struct Scratch(PathBuf);

impl Scratch {
    pub fn new(dir: &Path) -> Result<Scratch, BackupError> {
        static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let path = dir.join(format!(".scratch-{}-{n}", std::process::id()));
        if path.exists() {
            fs::remove_dir_all(&path).map_err(io_at("clear", &path))?;
        }
        DirBuilder::new()
            .mode(0o700)
            .create(&path)
            .map_err(io_at("create", &path))?;
        Ok(Scratch(path))
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// Takes a backup. Call with the lock held.
pub fn create(
    setup: &Setup,
    request: &Request,
    progress: &mut Progress,
) -> Result<Created, BackupError> {
    let started_at = Instant::now();
    let config = setup.config;
    let dir = backup_dir(config)?;
    let services = request.services.clone();
    let mut name = ArchiveName::new(Timestamp::now(), request.kind);
    while dir.join(name.file_name()).exists() || dir.join(name.encrypted_file_name()).exists() {
        name = ArchiveName::new(name.time + Duration::from_millis(1), request.kind);
    }
    let scratch = Scratch::new(dir)?;
    let captures: Vec<Box<dyn Capture>> = services
        .iter()
        .flat_map(|s| match config.service(s) {
            Some(service) if s != CONFIG_SERVICE => engine::captures_of(service, config),
            _ => engine::config_captures(config),
        })
        .collect();
    let context = Context {
        config,
        scratch: scratch.path(),
        docker: setup.docker,
    };
    let file_name = if setup.recipient.is_some() {
        name.encrypted_file_name()
    } else {
        name.file_name()
    };
    let mut writer = ArchiveWriter::create(dir, &file_name, setup.recipient)?;
    (setup.on_partial)(Some(writer.temp_path().to_owned()));
    let mut outcome = Outcome {
        failed: Vec::new(),
        targets: Vec::new(),
    };
    // Every target is staged on its own thread; the writer takes each as soon as it is staged, so the
    // directories (staged at once) are written while the databases are still being copied.
    std::thread::scope(|scope| -> Result<(), BackupError> {
        let (tx, rx) = std::sync::mpsc::channel();
        for (index, capture) in captures.iter().enumerate() {
            let tx = tx.clone();
            let context = &context;
            scope.spawn(move || {
                let _ = tx.send((index, capture.stage(context)));
            });
        }
        drop(tx);
        for (index, result) in rx {
            let capture = captures[index].as_ref();
            write_capture(&mut writer, capture, result, setup, progress, &mut outcome)?;
        }
        Ok(())
    })?;
    let Outcome { failed, targets } = outcome;
    drop(scratch);
    progress.done();
    let manifest = Manifest {
        format: FORMAT,
        tool: format!("magi-backup {}", env!("CARGO_PKG_VERSION")),
        host: magi_core::event::hostname(),
        kind: request.kind,
        started: name.time,
        finished: Timestamp::now(),
        note: request.note.clone(),
        home: config.stack.home.clone(),
        services,
        targets,
        failed,
        entries: Vec::new(),
        end: Frame {
            offset: 0,
            len: 0,
            sha256: String::new(),
        },
    };
    let finished = writer.finish(manifest);
    (setup.on_partial)(None);
    let (path, manifest, size) = finished?;
    Ok(Created {
        path,
        name: name.stem(),
        manifest,
        size,
        duration: started_at.elapsed(),
    })
}

/// What the targets written so far came to.
struct Outcome {
    failed: Vec<Failure>,
    targets: Vec<TargetRecord>,
}

/// Writes one staged target into the archive. A failure of the target is recorded in `outcome`; the error
/// returned abandons the backup.
fn write_capture(
    writer: &mut ArchiveWriter,
    capture: &dyn Capture,
    result: Result<Staged, EngineError>,
    setup: &Setup,
    progress: &mut Progress,
    outcome: &mut Outcome,
) -> Result<(), BackupError> {
    let home = setup.config.stack.home.as_path();
    let fail = |outcome: &mut Outcome, error: String| {
        log::error!("{}: {}: {error}", capture.service(), capture.label());
        outcome.failed.push(Failure {
            service: capture.service().to_owned(),
            target: capture.label(),
            error,
        });
    };
    let staged = match result {
        Ok(s) => s,
        Err(error) => {
            fail(outcome, error.to_string());
            return Ok(());
        }
    };
    let Staged {
        files,
        walk,
        record,
    } = staged;
    let mut target_ok = Ok(());
    for mut staged_file in files {
        progress.update(writer.written(), &staged_file.meta.path);
        match writer.add_file(staged_file.meta, staged_file.size, &mut staged_file.file) {
            Ok(()) => {}
            Err(BackupError::BadEntry { entry, message, .. }) => {
                target_ok = Err(format!("{entry}: {message}"));
            }
            Err(e) => return Err(e),
        }
    }
    if let (Ok(()), Some(walk)) = (&target_ok, walk) {
        target_ok = write_walk(writer, &walk, home, setup.pauser, progress)?;
    }
    match target_ok {
        Ok(()) => outcome.targets.push(record),
        Err(error) => fail(outcome, error),
    }
    Ok(())
}

/// Copies a walk into the archive with its container paused. The outer error abandons the backup; the
/// inner one fails this target only.
fn write_walk(
    writer: &mut ArchiveWriter,
    walk: &Walk,
    home: &Path,
    pauser: &Pauser,
    progress: &mut Progress,
) -> Result<Result<(), String>, BackupError> {
    let guard = match &walk.pause {
        Some(container) => match pauser.pause(container) {
            Ok(guard) => Some(guard),
            Err(BackupError::Interrupted) => return Err(BackupError::Interrupted),
            Err(e) => return Ok(Err(format!("cannot pause {container}: {e}"))),
        },
        None => None,
    };
    let method = if guard.as_ref().is_some_and(|g| g.paused()) {
        Method::CopyPaused
    } else {
        walk.method
    };
    let outcome = visit(writer, walk, home, &walk.root, method, progress);
    drop(guard);
    outcome
}

fn visit(
    writer: &mut ArchiveWriter,
    walk: &Walk,
    home: &Path,
    relative: &Path,
    method: Method,
    progress: &mut Progress,
) -> Result<Result<(), String>, BackupError> {
    if walk.exclude.iter().any(|e| e == relative) {
        return Ok(Ok(()));
    }
    let absolute = home.join(relative);
    let metadata = match fs::symlink_metadata(&absolute) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Ok(())),
        Err(e) => return Ok(Err(format!("{}: {e}", absolute.display()))),
    };
    let meta = meta_from(
        &metadata,
        relative.display().to_string(),
        &walk.service,
        method,
    );
    let kind = metadata.file_type();
    if kind.is_dir() {
        writer.add_dir(meta)?;
        let mut children: Vec<PathBuf> = match fs::read_dir(&absolute) {
            Ok(entries) => entries
                .flatten()
                .map(|e| relative.join(e.file_name()))
                .collect(),
            Err(e) => return Ok(Err(format!("{}: {e}", absolute.display()))),
        };
        children.sort();
        for child in children {
            if let Err(e) = visit(writer, walk, home, &child, method, progress)? {
                return Ok(Err(e));
            }
        }
    } else if kind.is_file() {
        let mut file = match File::open(&absolute) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Ok(())),
            Err(e) => return Ok(Err(format!("{}: {e}", absolute.display()))),
        };
        progress.update(writer.written(), &meta.path);
        match writer.add_file(meta, metadata.len(), &mut file) {
            Ok(()) => {}
            Err(BackupError::BadEntry { entry, message, .. }) => {
                return Ok(Err(format!("{entry}: {message}")));
            }
            Err(e) => return Err(e),
        }
    } else if kind.is_symlink() {
        let target = match fs::read_link(&absolute) {
            Ok(t) => t,
            Err(e) => return Ok(Err(format!("{}: {e}", absolute.display()))),
        };
        writer.add_symlink(meta, &target.to_string_lossy())?;
    }
    Ok(Ok(()))
}
