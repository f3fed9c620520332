//! What can go wrong with a repository, in terms a person can act on: the storage refused or could not be
//! reached (named by bucket and cause), an object is damaged (named by key), the key is wrong, the local
//! cache or a file cannot be read or written.

use std::path::{Path, PathBuf};

/// An error of the storage under a repository.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The server answered, and retrying will not help: a missing bucket, refused credentials, a bad
    /// request. `cause` is the server's own code and message.
    #[error("{target}: {cause}")]
    Refused { target: String, cause: String },
    /// The server could not be reached or kept failing for as long as retries last.
    #[error("{target}: still failing after {attempts} attempts over {seconds} s: {cause}")]
    Unavailable {
        target: String,
        attempts: u32,
        seconds: u64,
        cause: String,
    },
    /// An object is larger than anything this repository writes: damaged, or not ours.
    #[error(
        "{target}: {key} is {size} bytes, more than the {limit} any object of the repository has"
    )]
    TooLarge {
        target: String,
        key: String,
        size: u64,
        limit: u64,
    },
    /// A conditional write found the object already there.
    #[error("{target}: {key} already exists")]
    Exists { target: String, key: String },
    #[error("{}: cannot {action}: {source}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
}

/// An error of the repository.
#[derive(Debug, thiserror::Error)]
pub enum RepoError {
    #[error(transparent)]
    Store(#[from] StoreError),
    /// No repository at this location yet.
    #[error("{target}: no MAGI repository here (run `magi backup cloud configure`)")]
    Missing { target: String },
    /// An object does not decrypt with the identity given: the wrong key, or not this repository's.
    #[error(
        "{key}: cannot be decrypted with the [cloud] identity ({message}); is it the identity that belongs to [cloud] recipient?"
    )]
    WrongKey { key: String, message: String },
    /// The operation needs the identity and none is configured: a write-only host.
    #[error(
        "{action} needs the [cloud] identity, and this host has only the recipient (a write-only backup host)"
    )]
    NoIdentity { action: &'static str },
    /// A stored object is damaged or was changed: named by its key and, where known, the snapshot and file.
    #[error("{key}: {message}")]
    Damaged { key: String, message: String },
    #[error("snapshot {name} not found in {target}")]
    NoSnapshot { name: String, target: String },
    #[error("{}: cannot {action}: {source}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the local cache: {0}")]
    Cache(String),
}

impl RepoError {
    pub fn io(action: &'static str, path: &Path, source: std::io::Error) -> RepoError {
        RepoError::Io {
            action,
            path: path.to_owned(),
            source,
        }
    }

    pub fn damaged(key: &str, message: impl Into<String>) -> RepoError {
        RepoError::Damaged {
            key: key.to_owned(),
            message: message.into(),
        }
    }
}

impl From<magi_core::store::rusqlite::Error> for RepoError {
    fn from(e: magi_core::store::rusqlite::Error) -> RepoError {
        RepoError::Cache(e.to_string())
    }
}

impl From<magi_core::store::StoreError> for RepoError {
    fn from(e: magi_core::store::StoreError) -> RepoError {
        RepoError::Cache(e.to_string())
    }
}
