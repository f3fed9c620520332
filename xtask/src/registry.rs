//! The one list of shipped binaries whose completions and man pages are generated. Adding a tool is one line
//! in [`BINARIES`]; a test fails when a crate in `bins/` has no line here.

use clap::CommandFactory as _;

/// What a binary's exit status means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// 0 success, 1 failure, 2 usage or configuration error.
    Tool,
    /// The monitoring-plugin convention: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.
    Plugin,
    /// `magi` itself: its own commands as [`Exit::Tool`], and `magi TOOL` the tool's status.
    Dispatcher,
}

/// A shipped binary and where its clap definition lives.
#[derive(Debug, Clone, Copy)]
pub struct Binary {
    /// The executable's name, which is also its directory in `bins/`.
    pub name: &'static str,
    /// Its full command line, exactly as the binary parses it.
    pub command: fn() -> clap::Command,
    pub exit: Exit,
}

const fn tool(name: &'static str, command: fn() -> clap::Command) -> Binary {
    Binary {
        name,
        command,
        exit: Exit::Tool,
    }
}

const fn plugin(name: &'static str, command: fn() -> clap::Command) -> Binary {
    Binary {
        name,
        command,
        exit: Exit::Plugin,
    }
}

const fn dispatcher(name: &'static str, command: fn() -> clap::Command) -> Binary {
    Binary {
        name,
        command,
        exit: Exit::Dispatcher,
    }
}

/// Every binary in `bins/`, the dispatcher first.
pub const BINARIES: &[Binary] = &[
    dispatcher("magi", magi::cli::command),
    plugin("magi-health", magi_health_lib::cli::Cli::command),
    tool("magi-backup", magi_backup::cli::BackupCli::command),
    tool("magi-restore", magi_backup::cli::RestoreCli::command),
    tool("magi-alert", magi_alert::cli::Cli::command),
    tool("magi-users", magi_users::cli::Cli::command),
    tool("magi-limits", magi_limits::cli::Cli::command),
    tool("magi-costs", magi_costs::cli::Cli::command),
    tool("magi-metrics", magi_metrics::cli::Cli::command),
    tool("magi-dashboard", magi_dashboard::cli::Cli::command),
    tool("magi-sla", magi_sla::cli::Cli::command),
    tool("magi-pitr", magi_pitr::cli::Cli::command),
];

impl Binary {
    /// The name `magi` knows it by (`health` for magi-health), if it is one of the dispatcher's tools.
    pub fn tool_name(&self) -> Option<&'static str> {
        self.name.strip_prefix("magi-")
    }
}
