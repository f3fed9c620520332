//! The command line of magi-pitr: `check`, `capture` (the daemon), `list` and `restore`.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use magi_core::cli::CommonArgs;
use magi_core::config::parse_duration;

const EXAMPLES: &str = "\
Examples:
  magi-pitr check                      every SQLite database of the stack: its journal mode and log size
  magi-pitr capture                    the daemon (magi-pitr.service): follow every database in WAL mode
  magi-pitr list                       what can be restored, per database: from when, to when
  magi-pitr restore --timestamp '2026-11-20 14:29:30' --to /tmp/look
  magi-pitr restore --from-cloud --timestamp '2026-11-20 14:29:30' --to /tmp/look
  magi-pitr ship                       the store into the [cloud] repository (magi-pitr-ship.timer)
  magi-pitr drill --json | magi-alert  the monthly drill: newest points restored, checked, started, timed
  magi-pitr drill --service n8n --keep   the same, the scratch n8n left running to look at
  magi-pitr drill --clean              remove what --keep (or a killed drill) left
  magi pitr list --json                the same through the dispatcher

Exit status: 0 on success; 1 when a database cannot be followed or restored (check: one is not in WAL \
mode; restore: one stopped short of the time, or has no point before it); 2 on a usage or configuration \
error.";

/// Point-in-time recovery of the stack's SQLite databases: which of them it can follow
#[derive(Debug, Parser)]
#[command(
    name = "magi-pitr",
    version,
    about = magi_core::tools::about("pitr"),
    long_about = "Point-in-time recovery follows the write-ahead log of every SQLite database of the stack \
(Open WebUI's webui.db and Chroma store, n8n's database, and MAGI ops' own stores in the state directory, \
as the service `magi`) and keeps each committed transaction with the time \
it was seen, so a database can be rebuilt as it was at any second. `check` says which databases are in WAL \
mode, which recovery needs, and how to switch one that is not. `capture` is the daemon that follows them \
into <backup dir>/pitr, and counts each database's rows per table every second while writes come. `list` \
shows what can be restored. `restore --timestamp T --to DIR` rebuilds each database as of T into DIR without \
touching the stack, checked by SQLite's integrity check and against the capture's last count of rows at or \
before T; `magi restore --timestamp T` puts them in place.",
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
    /// Follow every database in WAL mode and keep its transactions (the daemon of magi-pitr.service)
    Capture(CaptureArgs),
    /// What can be restored, per database: the earliest and latest points, generations and size
    List(ListArgs),
    /// Rebuild each database as it was at a time into a directory, checked, touching nothing of the stack
    Restore(RestoreArgs),
    /// Upload the store into the cloud repository ([cloud]): encrypted, only what changed
    /// (magi-pitr-ship.timer, every minute)
    Ship(ShipArgs),
    /// The failover drill (magi-pitr-drill.timer, monthly): each service's databases restored to their
    /// newest point and checked, then the service started from them in a scratch stack (an internal
    /// Docker network, no ports, the live data untouched) and timed until healthy; a pitr.drill event each
    Drill(DrillArgs),
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Only this service's databases (repeatable; by service or container name; `magi` names MAGI ops'
    /// own stores)
    #[arg(long = "service", value_name = "NAME")]
    pub services: Vec<String>,
    /// One JSON object per database, one per line
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct CaptureArgs {
    /// Only this service's databases (repeatable; `magi` names MAGI ops' own stores)
    #[arg(long = "service", value_name = "NAME")]
    pub services: Vec<String>,
    /// Time between reads of each log: a transaction is shipped at most this long after it commits
    #[arg(long, value_name = "DURATION", default_value = "100ms", value_parser = parse_duration)]
    pub interval: Duration,
    /// Begin a new generation (a fresh copy of each database) this often, so a restore replays at most
    /// this much log
    #[arg(long, value_name = "DURATION", default_value = "24h", value_parser = parse_duration)]
    pub snapshot_every: Duration,
    /// Keep what is needed to restore to any time this far back
    #[arg(long, value_name = "DURATION", default_value = "7d", value_parser = parse_duration)]
    pub keep: Duration,
    /// Checkpoint a log once it holds this many frames (pages)
    #[arg(long, value_name = "FRAMES", default_value_t = 1000)]
    pub checkpoint_frames: u64,
}

#[derive(Debug, Args)]
pub struct ListArgs {
    /// Only this service's databases (repeatable; `magi` names MAGI ops' own stores)
    #[arg(long = "service", value_name = "NAME")]
    pub services: Vec<String>,
    /// One JSON object per database, one per line
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct RestoreArgs {
    /// The time to restore to: each database as of its last transaction committed at or before it
    /// ('2026-11-20 14:29:30' in local time, or RFC 3339)
    #[arg(long, value_name = "TIME")]
    pub timestamp: String,
    /// Write the databases here, as DIR/SERVICE/FILE (DIR absent or empty)
    #[arg(long, value_name = "DIR")]
    pub to: PathBuf,
    /// Restore from the copy shipped to the cloud repository ([cloud]), not the local store
    #[arg(long)]
    pub from_cloud: bool,
    /// Only this service's databases (repeatable; `magi` names MAGI ops' own stores)
    #[arg(long = "service", value_name = "NAME")]
    pub services: Vec<String>,
    /// One JSON object per database, one per line
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct DrillArgs {
    /// Only this service's databases (repeatable; `magi` names MAGI ops' own stores)
    #[arg(long = "service", value_name = "NAME")]
    pub services: Vec<String>,
    /// The events as NDJSON on stdout (for magi-alert)
    #[arg(long)]
    pub json: bool,
    /// How long a service may take to come up healthy in the scratch stack
    #[arg(long, value_name = "DURATION", default_value = "5m", value_parser = parse_duration)]
    pub timeout: Duration,
    /// Leave the scratch stack running and its data in place, to look at (`drill --clean` removes them)
    #[arg(long, conflicts_with = "clean")]
    pub keep: bool,
    /// Remove what earlier drills left (kept, or killed midway) and do nothing else
    #[arg(long)]
    pub clean: bool,
}

#[derive(Debug, Args)]
pub struct ShipArgs {
    /// Do nothing, successfully, when the config has no [cloud] section (what the timer runs)
    #[arg(long)]
    pub if_configured: bool,
    /// One JSON object: the snapshot stored and its figures
    #[arg(long)]
    pub json: bool,
}
