//! Finding the installed `magi-*` tools and handing the command line to one of them.
//!
//! A tool is an executable named `magi-NAME` in the directory of this binary or on PATH, the first found
//! winning, as git finds its subcommands. The listing shows the family's tools with their one-line summary
//! from magi-core, and any other `magi-*` executable as an external tool. A shortcut of magi-core
//! (`errors`) stands for a tool's subcommand when no tool has its name.

use std::collections::BTreeSet;
use std::ffi::OsString;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;

use magi_core::cli::CommonArgs;
use magi_core::exit::UsageError;
use magi_core::tools::{self, TOOLS};

/// An installed tool.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tool {
    pub name: String,
    pub path: PathBuf,
}

/// The installed tools, in the family's order and then external ones by name.
pub fn installed_tools() -> Vec<Tool> {
    let mut seen = BTreeSet::new();
    let mut found = Vec::new();
    for dir in tools::search_dirs() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        let mut names: Vec<(String, PathBuf)> = entries
            .filter_map(Result::ok)
            .filter_map(|entry| {
                let file_name = entry.file_name().into_string().ok()?;
                let name = file_name.strip_prefix("magi-")?.to_owned();
                let valid = !name.is_empty()
                    && name
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
                (valid && tools::is_executable(&entry.path())).then(|| (name, entry.path()))
            })
            .collect();
        names.sort();
        for (name, path) in names {
            if seen.insert(name.clone()) {
                found.push(Tool { name, path });
            }
        }
    }
    let rank = |name: &str| {
        TOOLS
            .iter()
            .position(|t| t.name == name)
            .unwrap_or(TOOLS.len())
    };
    found.sort_by(|a, b| {
        rank(&a.name)
            .cmp(&rank(&b.name))
            .then_with(|| a.name.cmp(&b.name))
    });
    found
}

/// The tools section of `magi --help`.
pub fn listing(tools: &[Tool]) -> String {
    let mut text = String::from("Tools:\n");
    if tools.is_empty() {
        text.push_str("  (none installed: no magi-* executable next to magi or on PATH)\n");
    }
    let width = tools.iter().map(|t| t.name.len()).max().unwrap_or(0).max(6);
    for tool in tools {
        let about = magi_core::tools::about(&tool.name).unwrap_or("(external tool)");
        text.push_str(&format!("  {:width$}  {about}\n", tool.name));
    }
    let missing: Vec<&str> = TOOLS
        .iter()
        .map(|t| t.name)
        .filter(|n| !tools.iter().any(|t| t.name == *n))
        .collect();
    if !missing.is_empty() {
        text.push_str(&format!("  (not installed: {})\n", missing.join(", ")));
    }
    text.push_str("Shortcuts:\n");
    for shortcut in magi_core::tools::SHORTCUTS {
        text.push_str(&format!(
            "  {:width$}  magi {}\n",
            shortcut.name,
            shortcut.runs.join(" ")
        ));
    }
    text
}

/// Replaces this process with the tool, passing `-v`/`-q`/`--config` given before the tool name on through
/// the environment. Returns only if the tool cannot be run.
pub fn exec(
    tools: &[Tool],
    name: OsString,
    mut args: Vec<OsString>,
    common: &CommonArgs,
) -> anyhow::Result<u8> {
    let mut name = name.to_string_lossy().into_owned();
    if !tools.iter().any(|t| t.name == name)
        && let Some(shortcut) = magi_core::tools::shortcut(&name)
    {
        name = shortcut.runs[0].to_owned();
        args.splice(0..0, shortcut.runs[1..].iter().map(OsString::from));
    }
    let Some(tool) = tools.iter().find(|t| t.name == name) else {
        return Err(not_a_tool(&name, tools).into());
    };
    let mut command = std::process::Command::new(&tool.path);
    command.arg0(format!("magi-{name}")).args(args);
    if let Some(config) = &common.config {
        command.env("MAGI_CONFIG", config);
    }
    if common.quiet {
        command.env("MAGI_LOG", "error");
    } else if common.verbose > 0 {
        command.env(
            "MAGI_LOG",
            if common.verbose == 1 {
                "debug"
            } else {
                "trace"
            },
        );
    }
    let error = command.exec();
    Err(anyhow::Error::new(error).context(format!("cannot run {}", tool.path.display())))
}

fn not_a_tool(name: &str, tools: &[Tool]) -> UsageError {
    let installed: Vec<&str> = tools.iter().map(|t| t.name.as_str()).collect();
    let installed = if installed.is_empty() {
        "none".to_owned()
    } else {
        installed.join(", ")
    };
    let what = match magi_core::tools::about(name) {
        Some(_) => {
            format!("magi-{name} is part of MAGI ops but is not installed next to magi or on PATH")
        }
        None => format!("'{name}' is not a magi tool"),
    };
    UsageError(format!(
        "{what} (installed: {installed}; built in: config, event, logs, help; see magi --help)"
    ))
}
