//! The family of tools: each binary's name and the one line that says what it is for. The dispatcher lists
//! them and each binary uses its line as its `--help` summary, so the two never disagree. Where a tool's
//! executable is found ([`search_dirs`], [`locate`]) is here too, for the dispatcher and for a tool that runs
//! another (the dashboard acknowledging an alert through `magi-alert`).

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// A tool of the family.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tool {
    /// The name after `magi-`: `health` for `magi-health`.
    pub name: &'static str,
    pub about: &'static str,
}

pub const TOOLS: &[Tool] = &[
    Tool {
        name: "health",
        about: "Check the stack's containers and endpoints at a glance; watch them and heal them",
    },
    Tool {
        name: "backup",
        about: "Take consistent, checksummed backups of the stack; list, verify and prune them",
    },
    Tool {
        name: "restore",
        about: "Restore a backup, keeping a safety copy and rolling back if the stack does not come back",
    },
    Tool {
        name: "alert",
        about: "Turn events into alerts by email, ntfy, Slack, Discord or webhook, once each",
    },
    Tool {
        name: "limits",
        about: "Gateway before LiteLLM: rate limits, quotas, budgets, circuit breakers, usage records",
    },
    Tool {
        name: "costs",
        about: "Report token use and cost by day, model or user; warn at budget thresholds",
    },
    Tool {
        name: "metrics",
        about: "Push figures into the metrics store; list, query and export its series",
    },
    Tool {
        name: "dashboard",
        about: "The web dashboard: service tiles, 30 days of charts, model usage and cost, live",
    },
    Tool {
        name: "users",
        about: "Accounts, roles, sessions and API keys; forward-auth for the reverse proxy",
    },
    Tool {
        name: "sla",
        about: "SLA report: availability against targets, error budgets, incidents, request availability",
    },
    Tool {
        name: "pitr",
        about: "Point-in-time recovery of the stack's SQLite databases: which of them it can follow",
    },
];

/// A word `magi` takes for a tool's subcommand: `magi errors recent` runs `magi-limits errors recent`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shortcut {
    pub name: &'static str,
    /// The tool and the words put before the rest of the command line.
    pub runs: &'static [&'static str],
}

/// The shortcuts, for command lines the roadmap prints that name no tool.
pub const SHORTCUTS: &[Shortcut] = &[
    Shortcut {
        name: "errors",
        runs: &["limits", "errors"],
    },
    Shortcut {
        name: "alerts",
        runs: &["metrics", "alerts"],
    },
    Shortcut {
        name: "capacity",
        runs: &["sla", "capacity"],
    },
];

/// The shortcut named `name`, if there is one.
pub fn shortcut(name: &str) -> Option<&'static Shortcut> {
    SHORTCUTS.iter().find(|s| s.name == name)
}

/// The summary line of a tool of the family, by its short name.
pub fn about(name: &str) -> Option<&'static str> {
    TOOLS.iter().find(|t| t.name == name).map(|t| t.about)
}

/// Where `magi-*` executables are looked for, in order: the directory of the running binary, then PATH
/// (as git finds its subcommands, so an installed family finds its own members first).
pub fn search_dirs() -> Vec<PathBuf> {
    let own_dir = std::env::current_exe()
        .ok()
        .and_then(|p| p.parent().map(Path::to_path_buf));
    let path_dirs = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .unwrap_or_default();
    own_dir.into_iter().chain(path_dirs).collect()
}

/// The executable `magi-NAME`, the first found in [`search_dirs`].
pub fn locate(name: &str) -> Option<PathBuf> {
    search_dirs()
        .into_iter()
        .map(|dir| dir.join(format!("magi-{name}")))
        .find(|path| is_executable(path))
}

/// A regular file someone may execute.
pub fn is_executable(path: &Path) -> bool {
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}
