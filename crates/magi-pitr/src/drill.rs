//! `magi-pitr drill`, the monthly failover drill: each service's databases restored to their newest point
//! and checked (integrity, the capture's count of rows), then the service started from them in a scratch
//! stack and timed until healthy. The scratch stack is a [`Sandbox`]: a copy of the service's container on
//! an internal network of its own with no published port, its data directory a copy of the live one (files
//! copied as they are, owners and modes kept; the captured databases the restored ones instead) and every
//! other mount read-only, so nothing of the stack is touched. A service whose container is not there, or
//! does not mount its databases, or a host where Docker cannot be reached, is drilled on the files alone,
//! and the event says so.
//!
//! A drill killed midway leaves its sandbox and scratch copy; the next drill, or `drill --clean`, removes
//! them (found by the sandbox's label and the `.drill-` prefix). `drill --keep` leaves them on purpose, to
//! look at the restored service before deciding on a restore.

use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::io;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use magi_core::event::{Event, Severity};
use magi_docker::sandbox::{Sandbox, Up};
use magi_docker::{DockerError, Engine};

use crate::check::Database;
use crate::restore::{self, Restored};
use crate::timeline;

/// The sandbox purpose, in its network's and containers' names and labels.
pub const PURPOSE: &str = "drill";
/// The prefix of a drill's scratch directory under the point-in-time store.
pub const SCRATCH_PREFIX: &str = ".drill-";

/// How the drill runs.
#[derive(Debug, Clone, Copy)]
pub struct Settings {
    /// How long a service may take to come up in the scratch stack.
    pub timeout: Duration,
}

/// The Docker side of a drill: the engine (or why there is none), the runtime that drives it, and the
/// sandbox once a service needs it.
pub struct Stack {
    runtime: tokio::runtime::Runtime,
    engine: Result<Engine, String>,
    sandbox: Option<Sandbox>,
}

impl Stack {
    /// Connects to Docker, removing what a killed drill left; without Docker, services are drilled on
    /// their files alone.
    pub fn connect() -> io::Result<Stack> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let engine = runtime.block_on(async {
            let engine = Engine::connect().await.map_err(|e| e.to_string())?;
            match Sandbox::remove_leftovers(&engine, PURPOSE).await {
                Ok(0) => {}
                Ok(n) => {
                    log::info!("removed {n} container(s) and network(s) an earlier drill left")
                }
                Err(e) => log::warn!("what an earlier drill left could not be removed: {e}"),
            }
            Ok(engine)
        });
        Ok(Stack {
            runtime,
            engine,
            sandbox: None,
        })
    }

    /// The sandbox's containers and network, left running (`--keep`): their names.
    pub fn keep(mut self) -> Option<String> {
        self.sandbox.take().map(|s| s.network().to_owned())
    }

    /// Removes the sandbox.
    pub fn remove(mut self) -> Result<(), DockerError> {
        match self.sandbox.take() {
            Some(sandbox) => self.runtime.block_on(sandbox.remove()),
            None => Ok(()),
        }
    }

    /// The bind mounts of the container `name`: `None` when it does not exist, or why they cannot be read.
    fn bind_sources(&self, name: &str) -> Result<Option<Vec<PathBuf>>, String> {
        let engine = self.engine.as_ref().map_err(Clone::clone)?;
        self.runtime
            .block_on(magi_docker::sandbox::bind_sources(engine, name))
            .map_err(|e| e.to_string())
    }

    /// Copies `live` into the sandbox with `replace`d mounts, starts it and waits until it is up.
    fn start(
        &mut self,
        live: &str,
        replace: &HashMap<PathBuf, PathBuf>,
        timeout: Duration,
    ) -> Result<Up, DockerError> {
        let engine = self.engine.as_ref().expect("a sandbox needs the engine");
        self.runtime.block_on(async {
            if self.sandbox.is_none() {
                self.sandbox = Some(Sandbox::create(engine, PURPOSE).await?);
            }
            let sandbox = self.sandbox.as_mut().expect("created");
            let name = sandbox.copy(live, replace).await?;
            sandbox.start_and_wait(&name, timeout).await
        })
    }
}

/// Removes what drills left: sandboxes, and scratch directories under `root`; how many things.
pub fn clean(root: &Path) -> anyhow::Result<usize> {
    let stack = Stack::connect()?;
    let mut removed = 0;
    if let Ok(engine) = &stack.engine {
        removed += stack
            .runtime
            .block_on(Sandbox::remove_leftovers(engine, PURPOSE))?;
    }
    if let Ok(entries) = fs::read_dir(root) {
        for entry in entries.flatten() {
            if entry
                .file_name()
                .to_string_lossy()
                .starts_with(SCRATCH_PREFIX)
            {
                fs::remove_dir_all(entry.path())?;
                removed += 1;
            }
        }
    }
    Ok(removed)
}

/// Drills one service: its `databases` (each with a store under `root`) restored into `scratch`, then
/// the service started from them in the stack's sandbox. The event that reports it.
pub fn service(
    stack: &mut Stack,
    root: &Path,
    scratch: &Path,
    service: &str,
    container: &str,
    databases: &[Database],
    settings: Settings,
) -> Event {
    let began = Instant::now();
    let dir = scratch.join(service);
    let place = match locate(stack, container, databases) {
        Ok(sources) => match copy_mounts(&dir, &sources, databases) {
            Ok(copies) => Place::Sandbox { sources, copies },
            Err(e) => return failed(service, format!("the scratch copy of its data: {e}")),
        },
        Err((why, severity)) => Place::Files { why, severity },
    };
    let mut restored = Vec::new();
    for (n, database) in databases.iter().enumerate() {
        let store = timeline::database_store(root, &database.service, &database.path);
        let out = match &place {
            Place::Sandbox { sources, copies } => {
                let source = &sources[n];
                let relative = database.path.strip_prefix(source).unwrap_or(&database.path);
                copies[source].join(relative)
            }
            Place::Files { .. } => dir.join(database.path.file_name().unwrap_or_default()),
        };
        let done = fs::create_dir_all(out.parent().unwrap_or(&dir))
            .map_err(|e| e.to_string())
            .and_then(|()| {
                restore::restore(&store, crate::capture::now(), &out).map_err(|e| e.to_string())
            })
            .and_then(|done| {
                keep_owner(&database.path, &out).map_err(|e| e.to_string())?;
                Ok(done)
            });
        match done {
            Ok(done) => restored.push(done),
            Err(e) => {
                return failed(
                    service,
                    format!("{} could not be restored: {e}", database.path.display()),
                );
            }
        }
    }
    let restore_seconds = began.elapsed().as_secs_f64();
    if let Some(damage) = restored.iter().find_map(|r| r.damage.clone()) {
        return failed(
            service,
            format!("stopped short of the newest point: {damage}"),
        );
    }
    let checked = describe(&restored);
    let (severity, outcome, up) = match place {
        Place::Sandbox { copies, .. } => {
            let replace: HashMap<PathBuf, PathBuf> = copies.into_iter().collect();
            match stack.start(container, &replace, settings.timeout) {
                Ok(up) => {
                    let how = match up {
                        Up::Healthy(after) => format!("healthy in {:.1} s", after.as_secs_f64()),
                        Up::Running(after) => format!(
                            "running after {:.1} s (it has no health check)",
                            after.as_secs_f64()
                        ),
                    };
                    (
                        Severity::Ok,
                        format!("started in a scratch stack from them: {how}"),
                        Some(up),
                    )
                }
                Err(e) => (
                    Severity::Critical,
                    format!("restored, but the service does not come up from them: {e}"),
                    None,
                ),
            }
        }
        Place::Files { why, severity } => (severity, why, None),
    };
    let rows: u64 = restored.iter().flat_map(|r| r.tables.values()).sum();
    let tables: usize = restored.iter().map(|r| r.tables.len()).sum();
    let newest = restored.iter().map(|r| r.seen).max().unwrap_or_default();
    Event::new(
        "magi-pitr",
        "pitr.drill",
        service,
        severity,
        format!(
            "{service}: restored to its newest point ({}) in {restore_seconds:.1} s, {checked}; {outcome}",
            restore::show_time(newest)
        ),
    )
    .with("seconds", restore_seconds)
    .with("point", restore::show_time(newest))
    .with("databases", restored.len())
    .with("tables", tables)
    .with("rows", rows)
    .with(
        "rows_checked",
        restored.iter().all(|r| r.rows_checked.is_some()),
    )
    .with("scratch_stack", up.is_some())
    .with(
        "seconds_to_healthy",
        up.map_or(serde_json::Value::Null, |up| up.after().as_secs_f64().into()),
    )
}

/// Where a service's databases are restored to.
enum Place {
    /// Into copies of the container's bind mounts (by source), for the sandbox: `sources` is each
    /// database's mount.
    Sandbox {
        sources: Vec<PathBuf>,
        copies: BTreeMap<PathBuf, PathBuf>,
    },
    /// Into the scratch directory alone, for the reason given: `Ok` when there is nothing to start (MAGI
    /// ops' own stores, a service not installed), else a drill not done whole.
    Files { why: String, severity: Severity },
}

/// The bind mount of `container` each database lies under, or why the service is drilled on its files
/// alone.
fn locate(
    stack: &Stack,
    container: &str,
    databases: &[Database],
) -> Result<Vec<PathBuf>, (String, Severity)> {
    let nothing_to_start = |why: String| Err((why, Severity::Ok));
    if container.is_empty() {
        return nothing_to_start(
            "MAGI ops' own stores, not a container's: checked on the files".into(),
        );
    }
    let sources = match stack.bind_sources(container) {
        Ok(Some(sources)) => sources,
        Ok(None) => {
            return nothing_to_start(format!(
                "no container {container}: drilled on the files alone"
            ));
        }
        Err(why) => {
            return Err((
                format!("{why}: drilled on the files alone"),
                Severity::Warning,
            ));
        }
    };
    databases
        .iter()
        .map(|d| mount_of(&sources, &d.path))
        .collect::<Option<Vec<_>>>()
        .ok_or_else(|| {
            let paths: Vec<String> = databases
                .iter()
                .map(|d| d.path.display().to_string())
                .collect();
            (
                format!(
                    "container {container} does not mount {}: drilled on the files alone",
                    paths.join(", ")
                ),
                Severity::Warning,
            )
        })
}

fn failed(service: &str, why: String) -> Event {
    Event::new(
        "magi-pitr",
        "pitr.drill",
        service,
        Severity::Critical,
        format!("{service}: {why}"),
    )
}

/// The integrity check and the rows, in words.
fn describe(restored: &[Restored]) -> String {
    let rows: Vec<String> = restored.iter().map(Restored::rows_check).collect();
    let same = rows.windows(2).all(|w| w[0] == w[1]);
    format!(
        "integrity check passed, rows {}",
        if same {
            rows.first().cloned().unwrap_or_default()
        } else {
            rows.join("; ")
        }
    )
}

/// The bind mount source under which `database` lies (the longest, should they nest).
fn mount_of(sources: &[PathBuf], database: &Path) -> Option<PathBuf> {
    let canonical = |p: &Path| fs::canonicalize(p).unwrap_or_else(|_| p.to_owned());
    let database = canonical(database);
    sources
        .iter()
        .filter(|source| database.starts_with(canonical(source)))
        .max_by_key(|source| source.as_os_str().len())
        .cloned()
}

/// Copies each distinct mount source in `sources` into `dir` (numbered), without the captured databases
/// and their sidecar files; the copies by source.
fn copy_mounts(
    dir: &Path,
    sources: &[PathBuf],
    databases: &[Database],
) -> io::Result<BTreeMap<PathBuf, PathBuf>> {
    let mut skip = Vec::new();
    for database in databases {
        for suffix in ["", "-wal", "-shm", "-journal"] {
            let mut path = database.path.clone().into_os_string();
            path.push(suffix);
            skip.push(PathBuf::from(path));
        }
    }
    let mut copies = BTreeMap::new();
    for source in sources {
        if copies.contains_key(source) {
            continue;
        }
        let copy = dir.join(copies.len().to_string());
        fs::create_dir_all(dir)?;
        copy_tree(source, &copy, &skip)?;
        copies.insert(source.clone(), copy);
    }
    Ok(copies)
}

/// Copies the directory `from` to `to` (which must not exist): files (by the kernel's copy, a reflink
/// where the file system can), directories and symbolic links (as links, never followed), with their
/// owners and modes; sockets, pipes and devices are left out, as are the paths in `skip`.
fn copy_tree(from: &Path, to: &Path, skip: &[PathBuf]) -> io::Result<()> {
    let meta = fs::symlink_metadata(from)?;
    fs::create_dir(to)?;
    for entry in fs::read_dir(from)? {
        let entry = entry?;
        let path = entry.path();
        if skip.contains(&path) {
            continue;
        }
        let target = to.join(entry.file_name());
        let kind = entry.file_type()?;
        if kind.is_dir() {
            copy_tree(&path, &target, skip)?;
        } else if kind.is_symlink() {
            std::os::unix::fs::symlink(fs::read_link(&path)?, &target)?;
            let link = fs::symlink_metadata(&path)?;
            std::os::unix::fs::lchown(&target, Some(link.uid()), Some(link.gid()))?;
        } else if kind.is_file() {
            fs::copy(&path, &target)?;
            keep_owner(&path, &target)?;
        }
    }
    // The directory's own owner and mode last: once it is another user's, root may no longer write in it
    // without the capability to override that.
    fs::set_permissions(to, fs::Permissions::from_mode(meta.mode() & 0o7777))?;
    std::os::unix::fs::chown(to, Some(meta.uid()), Some(meta.gid()))
}

/// Gives `copy` the owner and mode of `original` (a restored database its live file's: the application
/// must be able to write it). Nothing when the original is gone.
fn keep_owner(original: &Path, copy: &Path) -> io::Result<()> {
    let Ok(meta) = fs::metadata(original) else {
        return Ok(());
    };
    // The mode first, while the file is still root's: changing another user's needs one more capability.
    fs::set_permissions(copy, fs::Permissions::from_mode(meta.mode() & 0o7777))?;
    std::os::unix::fs::chown(copy, Some(meta.uid()), Some(meta.gid()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_copied_tree_keeps_owners_modes_and_links_and_leaves_out_what_is_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let from = dir.path().join("live");
        fs::create_dir_all(from.join("sub")).unwrap();
        fs::write(from.join("config.json"), "{}").unwrap();
        fs::set_permissions(from.join("config.json"), fs::Permissions::from_mode(0o640)).unwrap();
        fs::write(from.join("sub/upload.bin"), [7u8; 10_000]).unwrap();
        fs::write(from.join("app.db"), "live database").unwrap();
        fs::write(from.join("app.db-wal"), "live log").unwrap();
        std::os::unix::fs::symlink("/etc/passwd", from.join("link")).unwrap();
        let owner = fs::metadata(&from).unwrap().uid();
        let to = dir.path().join("copy");
        let skip = [from.join("app.db"), from.join("app.db-wal")];
        copy_tree(&from, &to, &skip).unwrap();
        assert_eq!(fs::read(to.join("sub/upload.bin")).unwrap(), [7u8; 10_000]);
        assert_eq!(
            fs::metadata(to.join("config.json")).unwrap().mode() & 0o777,
            0o640
        );
        assert_eq!(
            fs::read_link(to.join("link")).unwrap(),
            Path::new("/etc/passwd"),
            "a link is copied as a link, not followed"
        );
        assert!(!to.join("app.db").exists() && !to.join("app.db-wal").exists());
        assert_eq!(fs::metadata(to.join("sub")).unwrap().uid(), owner);
        assert!(
            copy_tree(&from, &to, &skip).is_err(),
            "never into an existing directory"
        );
    }

    #[test]
    fn a_database_belongs_to_the_deepest_mount_above_it() {
        let sources = [
            PathBuf::from("/opt/magi/data"),
            PathBuf::from("/opt/magi/data/n8n"),
        ];
        assert_eq!(
            mount_of(&sources, Path::new("/opt/magi/data/n8n/database.sqlite")),
            Some(PathBuf::from("/opt/magi/data/n8n"))
        );
        assert_eq!(
            mount_of(&sources, Path::new("/opt/magi/data/open-webui/webui.db")),
            Some(PathBuf::from("/opt/magi/data"))
        );
        assert_eq!(mount_of(&sources, Path::new("/srv/other.db")), None);
    }
}
