//! magi-users: share MAGI safely.
//!
//! The binary parses [`cli::Cli`] and calls [`run`]. Accounts, roles, teams, sessions, API keys, failed-login
//! counters and the audit log live in one SQLite file ([`store`]); passwords are argon2id ([`password`]) and
//! handed-out secrets are stored hashed ([`token`]). [`command`] carries out the command line; [`server`] is
//! the forward-auth server, reading requests with [`request`] and guarding logins with [`throttle`]. Other
//! tools (the magi-limits gateway) identify API keys through the read-only [`Lookup`].

pub mod cli;
pub mod command;
pub mod error;
pub mod lookup;
pub mod password;
pub mod request;
pub mod server;
pub mod store;
pub mod throttle;
pub mod token;

use std::path::PathBuf;

pub use error::Error;
pub use lookup::{Identity, Lookup, gateway_keys};

/// `users.db` in the state directory: `/var/lib/magi` as root or under systemd's `StateDirectory=magi`,
/// `~/.local/state/magi` otherwise.
pub fn default_db_path() -> PathBuf {
    magi_core::paths::Paths::detect().state_dir.join("users.db")
}

/// Runs the command line; 0 on success, failures as errors (usage mistakes carry `UsageError`).
pub fn run(cli: cli::Cli) -> anyhow::Result<u8> {
    let context = cli.common.start("magi-users")?;
    let db = cli
        .db
        .clone()
        .unwrap_or_else(|| context.paths.state_dir.join("users.db"));
    command::run(&context, &db, cli.command)
}
