//! The shipped systemd units, checked by systemd's own tools: `systemd-analyze verify` on every unit staged
//! under a root with our built binaries (any complaint fails), `systemd-analyze security` on every service
//! (exposure 2.0 or less), `systemd-analyze calendar` on every timer's schedule, and the journald retention
//! drop-in read through `systemd-analyze cat-config` and `timespan`.

use std::path::{Path, PathBuf};
use std::process::Command;

use magi_testkit::{Component, bin_path, require};

fn units_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../units")
}

fn units(suffix: &str) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(units_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == suffix))
        .collect();
    found.sort();
    found
}

fn name(path: &Path) -> String {
    path.file_name().unwrap().to_string_lossy().into_owned()
}

/// A root holding systemd's own units, ours in /etc/systemd/system and our binaries in /usr/bin.
fn staged_root() -> tempfile::TempDir {
    let root = tempfile::tempdir().unwrap();
    let system = root.path().join("etc/systemd/system");
    std::fs::create_dir_all(&system).unwrap();
    std::fs::create_dir_all(root.path().join("usr/bin")).unwrap();
    std::fs::create_dir_all(root.path().join("lib/systemd")).unwrap();
    let status = Command::new("cp")
        .arg("-r")
        .arg("/lib/systemd/system")
        .arg(root.path().join("lib/systemd/"))
        .status()
        .unwrap();
    assert!(
        status.success(),
        "cannot copy systemd's units into the staged root"
    );
    let tools = magi_core::tools::TOOLS
        .iter()
        .map(|t| format!("magi-{}", t.name));
    for binary in std::iter::once("magi".to_owned()).chain(tools) {
        let binary = binary.as_str();
        std::fs::copy(bin_path(binary), root.path().join("usr/bin").join(binary)).unwrap();
    }
    for unit in ["service", "socket", "timer"].iter().flat_map(|s| units(s)) {
        std::fs::copy(&unit, system.join(name(&unit))).unwrap();
    }
    root
}

#[test]
fn units_every_unit_verifies_without_a_word_of_complaint() {
    if !require(Component::SystemdAnalyze) {
        return;
    }
    let root = staged_root();
    let names: Vec<String> = ["service", "socket", "timer"]
        .iter()
        .flat_map(|s| units(s))
        .map(|p| name(&p))
        .collect();
    assert!(names.len() >= 6, "{names:?}");
    let out = Command::new("systemd-analyze")
        .arg("verify")
        .arg(format!("--root={}", root.path().display()))
        .arg("--man=no")
        .args(&names)
        .current_dir(root.path().join("etc/systemd/system"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stderr.trim().is_empty(),
        "systemd-analyze verify: {stderr}"
    );
}

#[test]
fn units_every_service_is_hardened() {
    if !require(Component::SystemdAnalyze) {
        return;
    }
    for service in units("service") {
        // systemd 252 takes the threshold in tenths of the exposure level it prints: 20 is 2.0.
        let threshold = "20";
        let out = Command::new("systemd-analyze")
            .args([
                "security",
                "--offline=yes",
                "--no-pager",
                &format!("--threshold={threshold}"),
            ])
            .arg(&service)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        let score = stdout
            .lines()
            .find(|l| l.contains("Overall exposure level"))
            .unwrap_or("no score");
        assert!(
            out.status.success(),
            "{}: {score} (threshold {threshold} tenths)",
            name(&service)
        );
        println!("{}: {}", name(&service), score.trim());
    }
}

#[test]
fn units_every_timer_schedule_is_a_valid_calendar() {
    if !require(Component::SystemdAnalyze) {
        return;
    }
    let timers = units("timer");
    assert!(!timers.is_empty());
    for timer in timers {
        let text = std::fs::read_to_string(&timer).unwrap();
        let calendars: Vec<&str> = text
            .lines()
            .filter_map(|l| l.strip_prefix("OnCalendar="))
            .collect();
        assert!(!calendars.is_empty(), "{} has no OnCalendar=", name(&timer));
        for calendar in calendars {
            let out = Command::new("systemd-analyze")
                .args(["calendar", calendar])
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{}: OnCalendar={calendar}: {}",
                name(&timer),
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
}

#[test]
fn units_every_timer_catches_up_after_downtime_and_spreads_its_start() {
    for timer in units("timer") {
        let text = std::fs::read_to_string(&timer).unwrap();
        assert!(
            text.lines().any(|l| l == "Persistent=true"),
            "{}: a run missed while the machine was off must happen at boot (Persistent=true)",
            name(&timer)
        );
        assert!(
            text.lines().any(|l| l.starts_with("RandomizedDelaySec=")),
            "{}: no RandomizedDelaySec=",
            name(&timer)
        );
    }
}

/// The microseconds `systemd-analyze timespan` makes of a journald time value.
fn timespan_us(value: &str) -> u64 {
    let out = Command::new("systemd-analyze")
        .args(["timespan", value])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "systemd-analyze timespan {value}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    stdout
        .lines()
        .find_map(|l| l.trim().strip_prefix("μs:"))
        .and_then(|us| us.trim().parse().ok())
        .unwrap_or_else(|| panic!("no μs in: {stdout}"))
}

#[test]
fn units_journald_keeps_records_between_a_week_and_three_months() {
    if !require(Component::SystemdAnalyze) {
        return;
    }
    let dropin = units_dir().join("journald/magi.conf");
    let text = std::fs::read_to_string(&dropin).unwrap();
    let mut section = None;
    let mut retention = None;
    for line in text.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            section = Some(name.to_owned());
            continue;
        }
        let (key, value) = line.split_once('=').expect("KEY=VALUE");
        assert_eq!(
            section.as_deref(),
            Some("Journal"),
            "{key}= is outside [Journal]"
        );
        if key == "MaxRetentionSec" {
            retention = Some(value.to_owned());
        }
    }
    let retention = retention.expect("MaxRetentionSec= is set");
    let day = 86_400_000_000_u64;
    let us = timespan_us(&retention);
    assert!(
        (7 * day..=90 * day).contains(&us),
        "MaxRetentionSec={retention} is {} days, not 7 to 90",
        us / day
    );

    // Installed where the packages put it, journald's own configuration search finds it.
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("usr/lib/systemd/journald.conf.d");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy(&dropin, dir.join("magi.conf")).unwrap();
    let out = Command::new("systemd-analyze")
        .arg(format!("--root={}", root.path().display()))
        .args(["cat-config", "--no-pager", "systemd/journald.conf"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success()
            && stdout.contains("/usr/lib/systemd/journald.conf.d/magi.conf")
            && stdout.contains(&format!("MaxRetentionSec={retention}")),
        "systemd-analyze cat-config: {stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
