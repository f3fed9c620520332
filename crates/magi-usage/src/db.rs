//! The one SQLite file of magi-limits, `usage.db` in the state directory: its schema and where it lives.
//!
//! Usage records and the policy (limits, quotas, budgets, priorities) share this file on purpose: magi-costs
//! reads spend and budgets in one place, a backup takes one consistent file, and a budget check is one query.
//! WAL mode lets the CLI change the policy while the gateway writes usage; the gateway notices a change by the
//! `policy_version` counter that every policy write bumps in the same transaction (see [`crate::policy`]).
//! Only [`crate::usage`] and [`crate::policy`] write SQL against it.

use std::path::{Path, PathBuf};

use magi_core::paths::Paths;
use magi_core::store::{self, StoreError, rusqlite::Connection};

/// The file name under the state directory.
pub const FILE: &str = "usage.db";

/// Where the database lives: `/var/lib/magi/usage.db` for root, `$XDG_STATE_HOME/magi/usage.db` otherwise.
pub fn default_path(paths: &Paths) -> PathBuf {
    paths.state_dir.join(FILE)
}

const MIGRATIONS: &[&str] = &[
    r#"
CREATE TABLE usage (
    id INTEGER PRIMARY KEY,
    ts TEXT NOT NULL,
    user TEXT NOT NULL,
    model TEXT NOT NULL,
    prompt_tokens INTEGER NOT NULL,
    completion_tokens INTEGER NOT NULL,
    cost_usd REAL NOT NULL,
    latency_ms INTEGER NOT NULL,
    status INTEGER NOT NULL,
    disconnected INTEGER NOT NULL,
    key_prefix TEXT,
    path TEXT NOT NULL,
    error TEXT
);
CREATE INDEX usage_ts ON usage (ts);
CREATE INDEX usage_user_ts ON usage (user, ts);
CREATE TABLE rate_limits (
    kind TEXT NOT NULL CHECK (kind IN ('model', 'user')),
    name TEXT NOT NULL,
    rpm INTEGER,
    tpm INTEGER,
    PRIMARY KEY (kind, name)
);
CREATE TABLE quotas (
    user TEXT PRIMARY KEY,
    tokens_per_day INTEGER NOT NULL
);
CREATE TABLE budgets (
    user TEXT PRIMARY KEY,
    daily_usd REAL,
    monthly_usd REAL
);
CREATE TABLE priorities (
    who TEXT PRIMARY KEY,
    priority TEXT NOT NULL CHECK (priority IN ('interactive', 'workflow'))
);
CREATE TABLE breakers (
    model TEXT PRIMARY KEY,
    state TEXT NOT NULL,
    failures INTEGER NOT NULL,
    since TEXT NOT NULL,
    last_error TEXT
);
CREATE TABLE policy_version (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    version INTEGER NOT NULL
);
INSERT INTO policy_version (id, version) VALUES (1, 0);
"#,
    // Every request inserts a usage row, and each index is a B-tree descent per insert: the (user, ts) index
    // cost a third of the writer's time and served only queries that run at start-up or from the CLI, which
    // the ts index serves well enough.
    "DROP INDEX usage_user_ts;",
];

/// Opens (creating, 0600, and migrating) the database at `path`.
pub fn open(path: &Path) -> Result<Connection, StoreError> {
    store::open(path, MIGRATIONS)
}

/// An in-memory database with the same schema, for unit tests.
#[cfg(test)]
pub fn open_in_memory() -> Connection {
    store::open_in_memory(MIGRATIONS).expect("the schema applies")
}
