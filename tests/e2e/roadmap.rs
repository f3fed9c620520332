//! Every command line the MAGI roadmap prints, typed through `magi` as a user types it: each must parse
//! (run with `--help` after it, which clap answers only once the words before it are accepted), and those
//! that can run without a stack run for real and do what the roadmap says. A rename that breaks the
//! documented interface fails here, naming the line. Each new issue adds its own lines.

use std::process::Output;

use magi_testkit::bin;

/// The command lines, as the roadmap and the issues print them (after `magi `).
const ROADMAP: &[&str] = &[
    "health",
    "health --json",
    "health watch",
    "health serve",
    "backup create",
    "backup create --now",
    "backup list",
    "backup verify magi-2026-11-24T03-00-00.000Z",
    "restore magi-2026-11-24T03-00-00.000Z",
    "restore --at 2026-11-24T03:00:00Z",
    "alert --to ntfy://ntfy.sh/my-magi",
    "limits set gpt-4 60",
    "limits show",
    "errors recent",
    "costs",
    "costs --by user",
    "users add ann",
    "logs --service qdrant --since 1h --level warning",
    "metrics push",
    "metrics export --range 7d --format openmetrics",
    "metrics export --range 7d --service qdrant --format csv",
    "dashboard start",
    "alerts configure list",
    "alerts configure add",
];

fn magi(line: &str, extra: &[&str], db: &std::path::Path) -> Output {
    bin("magi")
        .args(line.split(' '))
        .args(extra)
        .env("MAGI_LIMITS_DB", db)
        .env_remove("MAGI_CONFIG")
        .output()
        .expect("magi runs")
}

#[test]
fn roadmap_every_command_line_parses_as_written() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("usage.db");
    let failed: Vec<String> = ROADMAP
        .iter()
        .filter_map(|line| {
            let output = magi(line, &["--help"], &db);
            (!output.status.success()).then(|| {
                format!(
                    "magi {line}: {}",
                    String::from_utf8_lossy(&output.stderr).trim()
                )
            })
        })
        .collect();
    assert!(failed.is_empty(), "{}", failed.join("\n"));
}

#[test]
fn roadmap_limits_set_and_errors_recent_do_what_they_say() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("usage.db");
    let set = magi("limits set gpt-4 60", &[], &db);
    assert!(
        set.status.success(),
        "{}",
        String::from_utf8_lossy(&set.stderr)
    );
    let shown = magi("limits show --json", &[], &db);
    let limit: serde_json::Value = String::from_utf8_lossy(&shown.stdout)
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .find(|r| r["name"] == "gpt-4")
        .expect("a limit for gpt-4");
    assert_eq!(
        (limit["rpm"].as_u64(), limit["tpm"].as_u64()),
        (Some(60), None)
    );

    let shortcut = magi("errors recent --json", &[], &db);
    let long = magi("limits errors recent --json", &[], &db);
    assert!(
        shortcut.status.success(),
        "{}",
        String::from_utf8_lossy(&shortcut.stderr)
    );
    assert_eq!(shortcut.stdout, long.stdout);
    let table = magi("errors recent", &[], &db);
    assert!(
        String::from_utf8_lossy(&table.stdout).starts_with("no upstream failures since "),
        "{}",
        String::from_utf8_lossy(&table.stdout)
    );
}
