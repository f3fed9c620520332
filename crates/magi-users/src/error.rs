//! The errors of magi-users: each names the thing (a user, a role, a key, the database) and says what to do.

use std::path::PathBuf;

use magi_core::store::{StoreError, rusqlite};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Open(#[from] StoreError),
    #[error("{}: {source}", path.display())]
    Query {
        path: PathBuf,
        source: rusqlite::Error,
    },
    #[error(
        "{}: no user database yet; create the first account with `magi-users add NAME --email EMAIL --role admin`",
        path.display()
    )]
    Missing { path: PathBuf },
    #[error("no user named '{0}' (see `magi-users list`)")]
    NoUser(String),
    #[error("a user named '{0}' already exists")]
    UserExists(String),
    #[error("no role named '{0}' (see `magi-users roles list`)")]
    NoRole(String),
    #[error("a role named '{0}' already exists")]
    RoleExists(String),
    #[error("role '{role}' is still held by {users}; give them another role first")]
    RoleInUse { role: String, users: String },
    #[error("'{0}' is a built-in role and cannot be changed or removed")]
    BuiltInRole(String),
    #[error("no team named '{0}' (create it with `magi-users teams add {0}`)")]
    NoTeam(String),
    #[error("a team named '{0}' already exists")]
    TeamExists(String),
    #[error("no API key with prefix '{0}' (see `magi-users keys list`)")]
    NoKey(String),
    #[error("{0}")]
    Invalid(String),
    #[error("cannot hash the password: {0}")]
    Hash(String),
    #[error("the operating system gave no random bytes: {0}")]
    Random(String),
}

impl Error {
    /// Whether the caller named something wrong (exit code 2) rather than the store failing (1).
    pub fn is_usage(&self) -> bool {
        !matches!(
            self,
            Error::Open(_) | Error::Query { .. } | Error::Hash(_) | Error::Random(_)
        )
    }
}
