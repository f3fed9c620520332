//! The family of tools: each binary's name and the one line that says what it is for. The dispatcher lists
//! them and each binary uses its line as its `--help` summary, so the two never disagree.

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
];

/// The shortcut named `name`, if there is one.
pub fn shortcut(name: &str) -> Option<&'static Shortcut> {
    SHORTCUTS.iter().find(|s| s.name == name)
}

/// The summary line of a tool of the family, by its short name.
pub fn about(name: &str) -> Option<&'static str> {
    TOOLS.iter().find(|t| t.name == name).map(|t| t.about)
}
