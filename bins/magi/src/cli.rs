//! The dispatcher's command line: built-in commands (`config`, `event`, `logs`, `help`) and any other word
//! taken as a tool's name. It lives in the library so that `cargo xtask gen` builds completions and the
//! man page from this very definition.

use std::ffi::OsString;
use std::path::PathBuf;

use clap::{CommandFactory, Parser, Subcommand};
use magi_core::cli::CommonArgs;

use crate::{event, logs};

pub const EXAMPLES: &str = "\
Examples:
  magi health                  check the stack once (runs magi-health)
  magi health --json | magi alert --to ntfy://ntfy.sh/my-magi
  magi config show             the configuration in effect, defaults included
  magi config check new.toml   validate a config file before installing it
  magi event emit --kind unit.failed --subject magi-backup --severity critical 'backup failed'
  magi logs --service qdrant --since 1h --level warning
  journalctl -o json -u 'magi-*' | magi event validate
  magi help backup             the manual of one tool";

/// Run the MAGI ops tools: `magi TOOL [ARGS]` runs magi-TOOL
#[derive(Debug, Parser)]
#[command(
    name = "magi",
    version,
    disable_help_subcommand = true,
    long_about = "Run the MAGI ops tools: `magi TOOL [ARGS]` runs magi-TOOL, found next to magi or on PATH, \
as git runs its subcommands. Built in: `config` shows and checks the configuration every tool reads, `event` \
emits and validates the NDJSON events the tools exchange, `logs` reads our units' and the stack's \
containers' records from journald."
)]
pub struct Cli {
    #[command(flatten)]
    pub common: CommonArgs,

    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Show or check the configuration
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Emit an event from a script, or validate an event stream
    #[command(subcommand)]
    Event(event::EventCommand),
    /// Show the logs of our units and the stack's containers (journalctl underneath)
    Logs(logs::LogsArgs),
    /// Show the help of magi or of one tool
    Help {
        /// The tool, e.g. `health`
        tool: Option<String>,
    },
    #[command(external_subcommand)]
    Tool(Vec<OsString>),
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Print the configuration in effect: built-in defaults, the config file and the environment combined
    Show {
        /// One JSON object instead of TOML
        #[arg(long)]
        json: bool,
    },
    /// Validate a config file (default: the one the tools would read); exit 2 if it is invalid
    Check {
        /// The file to check
        file: Option<PathBuf>,
    },
}

/// The parser with the examples after the options; `magi --help` adds the installed tools before them.
pub fn command() -> clap::Command {
    Cli::command().after_help(EXAMPLES)
}
