//! The errors of backing up, verifying and restoring, each carrying what a person needs to act: the target
//! and its service for a capture, the archive and the entry for a bad archive, the path for a file.

use std::io;
use std::path::{Path, PathBuf};

use magi_docker::DockerError;

/// Why a backup, a verification or a restore failed.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error("cannot {action} {}: {source}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        source: io::Error,
    },
    #[error(
        "the disk holding {} is full ({action}); nothing was kept: free space there or remove old backups with `magi-backup prune`",
        path.display()
    )]
    DiskFull { action: &'static str, path: PathBuf },
    #[error("{service}: {target}: {source}")]
    Engine {
        service: String,
        target: String,
        source: Box<crate::engine::EngineError>,
    },
    #[error("{service}: {target}: {message}")]
    Target {
        service: String,
        target: String,
        message: String,
    },
    /// The entry's name comes from the archive, which may have been crafted: it is shown escaped.
    #[error(
        "{archive}: entry {}: {message}",
        magi_core::printable::printable(entry)
    )]
    BadEntry {
        archive: String,
        entry: String,
        message: String,
    },
    #[error("{archive}: {message}")]
    BadArchive { archive: String, message: String },
    #[error(
        "{}: another magi-backup or magi-restore (pid {pid}) is running; wait for it to finish",
        path.display()
    )]
    Locked { path: PathBuf, pid: u32 },
    #[error("no backup named '{name}' in {} (`magi-backup list` shows them)", dir.display())]
    NotFound { name: String, dir: PathBuf },
    #[error(transparent)]
    Docker(#[from] DockerError),
    #[error("the cloud repository: {0}")]
    Cloud(#[from] magi_repo::RepoError),
    #[error("interrupted by a signal")]
    Interrupted,
}

impl BackupError {
    /// An I/O error on `path`; a full disk becomes [`BackupError::DiskFull`].
    pub fn io(action: &'static str, path: &Path, source: io::Error) -> BackupError {
        if source.kind() == io::ErrorKind::StorageFull || source.raw_os_error() == Some(28) {
            return BackupError::DiskFull {
                action,
                path: path.to_owned(),
            };
        }
        BackupError::Io {
            action,
            path: path.to_owned(),
            source,
        }
    }

    /// A failed capture of one target of one service.
    pub fn target(service: &str, target: &str, message: impl Into<String>) -> BackupError {
        BackupError::Target {
            service: service.to_owned(),
            target: target.to_owned(),
            message: message.into(),
        }
    }
}

impl BackupError {
    /// A closure that turns an engine's error in a step of one target of one service into a
    /// [`BackupError`], for `map_err`; called once per failure.
    pub fn engine(
        service: &str,
        target: &str,
    ) -> impl Fn(crate::engine::EngineError) -> BackupError {
        let (service, target) = (service.to_owned(), target.to_owned());
        move |source| BackupError::Engine {
            service: service.clone(),
            target: target.clone(),
            source: Box::new(source),
        }
    }
}

/// A closure that turns an I/O error on `path` into a [`BackupError`], for `map_err`.
pub fn io_at<'a>(action: &'static str, path: &'a Path) -> impl Fn(io::Error) -> BackupError + 'a {
    move |e| BackupError::io(action, path, e)
}
