//! The command line of magi-pitr. Point-in-time recovery is being built (issue 21); so far it has `check`.

use clap::{Args, Parser, Subcommand};
use magi_core::cli::CommonArgs;

const EXAMPLES: &str = "\
Examples:
  magi-pitr check                      every SQLite database of the stack: its journal mode and log size
  magi-pitr check --service n8n --json
  magi pitr check                      the same, through the dispatcher

Exit status: 0 when every database found is in WAL mode (a missing one is listed, not counted), 1 when one \
is not (its advice says how to switch it), 2 on a usage or configuration error.";

/// Point-in-time recovery of the stack's SQLite databases: which of them it can follow
#[derive(Debug, Parser)]
#[command(
    name = "magi-pitr",
    version,
    about = magi_core::tools::about("pitr"),
    long_about = "Point-in-time recovery follows the write-ahead log of every SQLite database of the stack \
(Open WebUI's webui.db and Chroma store, n8n's database). `check` reads each database's header and says \
whether it is in WAL mode, which recovery can follow, or in rollback-journal mode, with what switching means \
for its application and the commands that switch it safely.",
    after_help = EXAMPLES
)]
pub struct Cli {
    #[command(flatten)]
    pub common: CommonArgs,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Each SQLite database of the stack: its journal mode, size and log, and how to switch it to WAL
    Check(CheckArgs),
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Only this service's databases (repeatable; by service or container name)
    #[arg(long = "service", value_name = "NAME")]
    pub services: Vec<String>,
    /// One JSON object per database, one per line
    #[arg(long)]
    pub json: bool,
}
