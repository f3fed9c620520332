//! The committed completions work in the real shells: bash, fish and zsh complete a subcommand and an
//! option from a prefix, `magi TOOL` completes as the tool does, and zsh registers every function.

use std::path::PathBuf;
use std::process::Command;

use magi_testkit::{Component, require};
use xtask::registry::BINARIES;

fn completions(shell: &str) -> PathBuf {
    xtask::root().join("completions").join(shell)
}

/// Runs `shell -c script` and returns its stdout, failing on a non-zero exit.
fn run(shell: &str, script: &str) -> String {
    let out = Command::new(shell).arg("-c").arg(script).output().unwrap();
    assert!(
        out.status.success(),
        "{shell} -c {script}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// What bash's completion function for `binary` offers for the words typed so far.
fn bash_complete(binary: &str, words: &[&str]) -> Vec<String> {
    let file = completions("bash").join(binary);
    let words_list = words.join(" ");
    let current = words.last().unwrap();
    let previous = words[words.len() - 2];
    let script = format!(
        "source {}; function=$(complete -p {binary} | sed -E 's/.* -F ([^ ]+) .*/\\1/'); \
         COMP_WORDS=({words_list}); COMP_CWORD={}; COMP_LINE='{words_list}'; COMP_POINT=${{#COMP_LINE}}; \
         $function {binary} '{current}' '{previous}'; printf '%s\\n' \"${{COMPREPLY[@]}}\"",
        file.display(),
        words.len() - 1,
    );
    run("bash", &script).lines().map(str::to_owned).collect()
}

#[test]
fn bash_completes_commands_options_and_the_tools_behind_magi() {
    assert_eq!(
        bash_complete("magi-backup", &["magi-backup", "pr"]),
        ["prune"]
    );
    let options = bash_complete("magi-backup", &["magi-backup", "prune", "--keep-"]);
    for option in [
        "--keep-last",
        "--keep-daily",
        "--keep-weekly",
        "--keep-monthly",
    ] {
        assert!(options.iter().any(|o| o == option), "{options:?}");
    }
    assert_eq!(bash_complete("magi", &["magi", "backup", "ve"]), ["verify"]);
    assert_eq!(bash_complete("magi", &["magi", "con"]), ["config"]);
    for binary in BINARIES {
        let offered = bash_complete(binary.name, &[binary.name, "--"]);
        assert!(
            offered.iter().any(|o| o == "--help"),
            "{}: {offered:?}",
            binary.name
        );
    }
}

#[test]
fn fish_completes_commands_with_their_summary() {
    if !require(Component::Shells) {
        return;
    }
    let dir = completions("fish");
    let script = format!(
        "for f in {}/*.fish; source $f; end; complete -C 'magi-backup pr'; complete -C 'magi health wa'; \
         complete -C 'magi-alert silence a'",
        dir.display()
    );
    let out = run("fish", &script);
    let first = |prefix: &str| {
        out.lines()
            .find(|l| l.starts_with(prefix))
            .unwrap_or_else(|| panic!("no {prefix} in {out}"))
            .to_owned()
    };
    assert!(first("prune\t").contains("retention policy"), "{out}");
    assert!(first("watch\t").starts_with("watch\tCheck every interval"));
    assert!(first("add\t").contains("Silence SUBJECT"));
}

/// Drives an interactive zsh in a pseudo-terminal (zpty): types `$2` and a tab with the completions in
/// `$1` on fpath, and prints each candidate compadd receives, one a line.
const ZSH_CAPTURE: &str = r#"
zmodload zsh/zpty
zpty z zsh -f -i
zpty -w z "fpath=($1 \$fpath); autoload -U compinit; compinit -u -D"
zpty -w z 'bindkey "^I" complete-word'
zpty -w z 'null-line () { echo -n $'"'"'\0'"'"' }'
zpty -w z 'compprefuncs=( null-line )'
zpty -w z 'comppostfuncs=( null-line exit )'
zpty -w z 'compadd () {
  if [[ ${@[1,(i)(-|--)]} == *-(O|A|D)\ * ]]; then builtin compadd "$@"; return $?; fi
  typeset -a __hits
  builtin compadd -A __hits "$@"
  (( $#__hits == 0 )) && return 1
  print -l -- "${__hits[@]}"
}'
zpty -w z "$2"$'\t'
integer seen=0
while zpty -r z; do :; done | while IFS= read -r -d $'\0' line; do
  if (( seen )); then print -r -- "$line"; break; fi
  seen=1
done
"#;

/// What zsh offers for `line` and a tab.
fn zsh_complete(line: &str) -> Vec<String> {
    let out = Command::new("timeout")
        .args(["30", "zsh", "-c", ZSH_CAPTURE, "zsh"])
        .arg(completions("zsh"))
        .arg(line)
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| l.trim_end_matches('\r').to_owned())
        .filter(|l| !l.is_empty())
        .collect()
}

#[test]
fn zsh_completes_options_of_subcommands_and_the_tools_behind_magi() {
    if !require(Component::Shells) {
        return;
    }
    assert_eq!(
        zsh_complete("magi-backup prune --keep-"),
        [
            "--keep-last",
            "--keep-daily",
            "--keep-weekly",
            "--keep-monthly"
        ]
    );
    assert!(zsh_complete("magi backup ve").contains(&"verify".to_owned()));
}

#[test]
fn zsh_loads_and_registers_every_completion() {
    if !require(Component::Shells) {
        return;
    }
    for binary in BINARIES {
        let file = completions("zsh").join(format!("_{}", binary.name));
        let out = run(
            "zsh",
            &format!(
                "autoload -U compinit && compinit -u -D && source {} && print -r -- $_comps[{}]",
                file.display(),
                binary.name
            ),
        );
        assert_eq!(
            out.trim(),
            format!("_{}", binary.name),
            "{}",
            file.display()
        );
    }
}
