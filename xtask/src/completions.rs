//! Shell completions for bash, zsh and fish, from the clap definitions. `magi`'s completions include every
//! tool of the registry as a subcommand with its full command line, so `magi backup prune --<TAB>` completes
//! as `magi-backup prune --<TAB>` does.

use clap_complete::Shell;

use crate::registry::{BINARIES, Binary, Exit};

/// The shells, each with where its file goes under `completions/` (the same layout the packages install).
pub const SHELLS: &[(Shell, &str)] = &[
    (Shell::Bash, "bash/{}"),
    (Shell::Zsh, "zsh/_{}"),
    (Shell::Fish, "fish/{}.fish"),
];

/// The command completions are generated from.
fn command(binary: &Binary) -> clap::Command {
    let mut cmd = (binary.command)();
    if binary.exit == Exit::Dispatcher {
        for tool in BINARIES {
            if let Some(name) = tool.tool_name() {
                cmd = cmd.subcommand((tool.command)().name(name));
            }
        }
    }
    cmd
}

/// The completion script of `binary` for `shell`.
pub fn script(binary: &Binary, shell: Shell) -> String {
    if shell == Shell::Bash {
        return bash(binary);
    }
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut command(binary), binary.name, &mut out);
    String::from_utf8(out).expect("clap_complete writes UTF-8")
}

/// clap_complete's bash script names its cases inconsistently when the binary's name has a `-`
/// (`magi__backup` where it walks the words, `magi__subcmd__backup` where it completes), so no subcommand's
/// options would complete. Generated under the name with `_` instead, the script is consistent; then only
/// the `complete` lines that register it take the real name.
fn bash(binary: &Binary) -> String {
    let plain = binary.name.replace('-', "_");
    let mut out = Vec::new();
    clap_complete::generate(Shell::Bash, &mut command(binary), &plain, &mut out);
    let text = String::from_utf8(out).expect("clap_complete writes UTF-8");
    let suffix = format!(" {plain}");
    let mut registered = 0;
    let fixed: String = text
        .lines()
        .map(|line| {
            let line = match line.strip_suffix(&suffix) {
                Some(head) if line.trim_start().starts_with("complete -F ") => {
                    registered += 1;
                    format!("{head} {}", binary.name)
                }
                _ => line.to_owned(),
            };
            line + "\n"
        })
        .collect();
    assert!(
        registered > 0,
        "clap_complete's bash script for {} has no `complete -F ... {plain}` line to rename",
        binary.name
    );
    fixed
}
