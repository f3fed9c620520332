//! MAGI's point-in-time recovery (issue 21), built up from its foundation: [`wal`] reads a SQLite database's
//! write-ahead log as SQLite's own recovery does (salts and cumulative checksums, committed transactions
//! only) and replays it onto a copy of the database up to a chosen commit; [`check`] finds which of the
//! stack's databases are in WAL mode, so that it can follow them. The capture daemon that ships WAL frames
//! into the backup repository, and `magi restore --timestamp`, build on these.

pub mod capture;
pub mod check;
pub mod cli;
pub mod restore;
pub mod segment;
pub mod timeline;
pub mod wal;

use std::io::Write;

use magi_core::exit::{FAILURE, SUCCESS, UsageError};
use magi_core::format::human_bytes;
use magi_core::table::Table;

use crate::cli::{CheckArgs, Cli, Command};

/// Runs the command line; the exit code on success.
pub fn run(cli: Cli) -> anyhow::Result<u8> {
    let context = cli.common.start("magi-pitr")?;
    match cli.command {
        Command::Check(args) => check_command(&context.config, &args),
    }
}

fn check_command(config: &magi_core::config::Config, args: &CheckArgs) -> anyhow::Result<u8> {
    let services = config
        .select(&args.services)
        .map_err(|e| UsageError(e.to_string()))?;
    let databases = check::databases(config, &services)?;
    let mut out = std::io::stdout().lock();
    if args.json {
        for database in &databases {
            writeln!(out, "{}", serde_json::to_string(database)?)?;
        }
    } else if databases.is_empty() {
        writeln!(out, "no SQLite database is named for these services")?;
    } else {
        let mut table = Table::new(["SERVICE", "DATABASE", "MODE", "SIZE", "LOG"]).right([3, 4]);
        let size = |bytes: Option<u64>| bytes.map_or_else(|| "-".to_owned(), human_bytes);
        for database in &databases {
            table.row([
                database.service.clone(),
                database.path.display().to_string(),
                database.mode.label().to_owned(),
                size(database.bytes),
                size(database.wal_bytes),
            ]);
        }
        table.write(&mut out)?;
        for advice in databases.iter().filter_map(|d| d.advice.as_deref()) {
            writeln!(out, "\n{advice}")?;
        }
    }
    Ok(if databases.iter().any(|d| d.mode.needs_action()) {
        FAILURE
    } else {
        SUCCESS
    })
}
