//! The engines a backup knows, one module each, owning what is particular to that engine: how it is
//! captured ([`Capture`], one implementation per kind of target of the catalog), how a captured copy is
//! checked ([`sqlite::integrity`], [`redis::is_rdb_header`]), and what its restore needs beyond putting
//! files back ([`qdrant`]'s collections). Files are put back the same way for every engine, by
//! [`crate::restore`].
//!
//! Capturing has two phases. [`Capture::stage`] takes the engine-consistent copy (SQLite's online backup,
//! Redis's `BGSAVE`, Qdrant's snapshots) into open files; stages of different targets run in parallel. Then
//! the archive writer streams the staged files, and walks the directories a target names ([`Walk`]) while
//! their container is paused, for the shortest time: only while those files are read.

pub mod copy;
pub mod qdrant;
pub mod redis;
pub mod sqlite;

use std::fs::File;
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use magi_core::{Config, Probe, Service, Target};
use magi_docker::DockerError;

use crate::archive::EntryMeta;
use crate::containers::Docker;
use crate::manifest::{CONFIG_SERVICE, Method, TargetRecord};

/// Why an engine's capture, check or restore step failed, with what was being done and the cause beneath.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("cannot {action} {}: {source}", path.display())]
    File {
        action: &'static str,
        path: PathBuf,
        source: io::Error,
    },
    #[error("{doing}: {source}")]
    Sqlite {
        doing: String,
        source: rusqlite::Error,
    },
    /// Talking to an engine's server over a socket.
    #[error("{doing}: {source}")]
    Io { doing: String, source: io::Error },
    #[error("{request}: {source}")]
    Http {
        request: String,
        source: Box<ureq::Error>,
    },
    /// The engine answered, but not as it should: a refusal, an unexpected reply, a copy that fails its
    /// check.
    #[error("{0}")]
    Answer(String),
    #[error("collection {collection}: {source}")]
    Collection {
        collection: String,
        source: Box<EngineError>,
    },
    #[error("Docker cannot be reached to find the address of {0}")]
    NoDocker(String),
    #[error("container {name} {why}")]
    Container { name: String, why: String },
    #[error(transparent)]
    Docker(#[from] DockerError),
}

impl EngineError {
    pub(crate) fn answer(text: impl Into<String>) -> EngineError {
        EngineError::Answer(text.into())
    }

    pub(crate) fn sqlite(doing: impl Into<String>) -> impl FnOnce(rusqlite::Error) -> EngineError {
        let doing = doing.into();
        move |source| EngineError::Sqlite { doing, source }
    }

    pub(crate) fn io(doing: impl Into<String>) -> impl FnOnce(io::Error) -> EngineError {
        let doing = doing.into();
        move |source| EngineError::Io { doing, source }
    }

    pub(crate) fn http(request: impl Into<String>) -> impl FnOnce(ureq::Error) -> EngineError {
        let request = request.into();
        move |source| EngineError::Http {
            request,
            source: Box::new(source),
        }
    }

    pub(crate) fn collection(collection: &str) -> impl FnOnce(EngineError) -> EngineError {
        let collection = collection.to_owned();
        move |source| EngineError::Collection {
            collection,
            source: Box::new(source),
        }
    }

    pub(crate) fn file(action: &'static str, path: &Path) -> impl FnOnce(io::Error) -> EngineError {
        let path = path.to_owned();
        move |source| EngineError::File {
            action,
            path,
            source,
        }
    }
}

/// What every capture may use.
pub struct Context<'a> {
    pub config: &'a Config,
    /// A private directory on the backup disk for staged copies; removed after the backup.
    pub scratch: &'a Path,
    pub docker: Option<&'a Docker>,
}

impl Context<'_> {
    pub fn home(&self) -> &Path {
        &self.config.stack.home
    }

    /// `host:port` for a probe, with a catalog container name replaced by that container's address.
    pub fn address(&self, probe: &Probe) -> Result<(String, u16), EngineError> {
        let host = probe.host();
        if !self.config.services.iter().any(|s| s.container == host) {
            return Ok((host.to_owned(), probe.port()));
        }
        let docker = self
            .docker
            .ok_or_else(|| EngineError::NoDocker(host.to_owned()))?;
        Ok((docker.ip(host)?, probe.port()))
    }
}

/// A staged file: open (its name may already be gone) with the metadata of what it copies.
pub struct StagedFile {
    pub meta: EntryMeta,
    pub file: File,
    pub size: u64,
}

/// A directory (or file) under the MAGI home to copy while writing, skipping what other targets capture.
#[derive(Debug, Clone)]
pub struct Walk {
    pub service: String,
    pub root: PathBuf,
    pub exclude: Vec<PathBuf>,
    /// The container to pause while it is read.
    pub pause: Option<String>,
    pub method: Method,
}

/// What a stage produced.
pub struct Staged {
    pub files: Vec<StagedFile>,
    pub walk: Option<Walk>,
    pub record: TargetRecord,
}

/// One kind of target.
pub trait Capture: Send + Sync {
    /// The service the target belongs to.
    fn service(&self) -> &str;
    /// The target in a person's words: `sqlite data/open-webui/webui.db`.
    fn label(&self) -> String;
    /// What the manifest records of the target (Qdrant adds its collections when staged).
    fn record(&self) -> TargetRecord;
    /// Takes the engine-consistent copy.
    fn stage(&self, context: &Context) -> Result<Staged, EngineError>;
}

/// A database path with one of SQLite's sidecar suffixes.
pub fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut p = path.to_owned().into_os_string();
    p.push(suffix);
    PathBuf::from(p)
}

/// SQLite's sidecar files of a database.
pub const SQLITE_SIDECARS: [&str; 3] = ["-wal", "-shm", "-journal"];

/// The metadata of a file under the home, for the entry that copies it.
pub fn meta_of(
    path: &Path,
    archive_path: String,
    service: &str,
    method: Method,
) -> Result<EntryMeta, EngineError> {
    let m = std::fs::symlink_metadata(path).map_err(EngineError::file("read", path))?;
    Ok(meta_from(&m, archive_path, service, method))
}

/// The entry metadata (mode, owner, mtime) of a file whose metadata is at hand.
pub fn meta_from(
    m: &std::fs::Metadata,
    archive_path: String,
    service: &str,
    method: Method,
) -> EntryMeta {
    EntryMeta {
        path: archive_path,
        service: service.to_owned(),
        method,
        engine: None,
        collection: None,
        mode: m.mode() & 0o7777,
        uid: m.uid(),
        gid: m.gid(),
        mtime: m.mtime(),
    }
}

/// The paths under the home that targets capture through their engine: a copy of a directory skips them.
pub fn engine_paths(config: &Config) -> Vec<PathBuf> {
    let mut paths = Vec::new();
    for service in &config.services {
        for target in &service.backup {
            match target {
                Target::Sqlite { path } => {
                    paths.push(path.clone());
                    paths.extend(SQLITE_SIDECARS.iter().map(|s| with_suffix(path, s)));
                }
                Target::Redis { dump, .. } => paths.push(dump.clone()),
                Target::Qdrant { .. } | Target::Copy { .. } => {}
            }
        }
    }
    paths
}

/// The captures of a service, in catalog order.
pub fn captures_of(service: &Service, config: &Config) -> Vec<Box<dyn Capture>> {
    let exclude = engine_paths(config);
    service
        .backup
        .iter()
        .map(|target| -> Box<dyn Capture> {
            match target {
                Target::Sqlite { path } => Box::new(sqlite::SqliteTarget {
                    service: service.name.clone(),
                    path: path.clone(),
                }),
                Target::Redis { dump, url } => Box::new(redis::RedisTarget {
                    service: service.name.clone(),
                    dump: dump.clone(),
                    probe: url.clone().or_else(|| service.probe.clone()),
                }),
                Target::Qdrant { url } => Box::new(qdrant::QdrantTarget {
                    service: service.name.clone(),
                    probe: url.clone().or_else(|| service.probe.clone()),
                }),
                Target::Copy { path, pause } => Box::new(copy::CopyTarget {
                    walk: Walk {
                        service: service.name.clone(),
                        root: path.clone(),
                        exclude: exclude.clone(),
                        pause: pause.then(|| service.container.clone()),
                        method: Method::Copy,
                    },
                }),
            }
        })
        .collect()
}

/// The captures of the stack's configuration files.
pub fn config_captures(config: &Config) -> Vec<Box<dyn Capture>> {
    config
        .stack
        .config_paths
        .iter()
        .map(|path| -> Box<dyn Capture> {
            Box::new(copy::CopyTarget {
                walk: Walk {
                    service: CONFIG_SERVICE.to_owned(),
                    root: path.clone(),
                    exclude: Vec::new(),
                    pause: None,
                    method: Method::Config,
                },
            })
        })
        .collect()
}

/// Opens a staged copy and removes its name, so nothing is left behind whatever happens next.
pub fn open_staged(path: &Path) -> Result<(File, u64), EngineError> {
    let file = File::open(path).map_err(EngineError::file("open the copy", path))?;
    let size = file
        .metadata()
        .map_err(EngineError::file("read", path))?
        .len();
    let _ = std::fs::remove_file(path);
    Ok((file, size))
}
