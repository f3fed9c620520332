//! `magi-backup auto`: when `magi-backup.timer` runs, as a drop-in that replaces the timer's `OnCalendar=`,
//! checked with `systemd-analyze calendar` before it is written.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use magi_core::exit::UsageError;

/// The drop-in's directory and file under a unit directory.
pub const DROP_IN: &str = "magi-backup.timer.d/schedule.conf";

/// The calendar expression for `daily`, `weekly` or one of systemd's own.
pub fn expression(schedule: &str) -> String {
    match schedule.trim() {
        "daily" => "*-*-* 03:00:00".into(),
        "weekly" => "Sun *-*-* 03:00:00".into(),
        other => other.into(),
    }
}

/// Asks `systemd-analyze calendar` whether systemd accepts the expression, and returns its normalized form.
pub fn validate(expression: &str) -> anyhow::Result<String> {
    let output = Command::new("systemd-analyze")
        .args(["calendar", expression])
        .output()
        .map_err(|e| anyhow::anyhow!("cannot run systemd-analyze to check the schedule: {e}"))?;
    if !output.status.success() {
        let reason = String::from_utf8_lossy(&output.stderr);
        let reason = reason
            .lines()
            .next()
            .unwrap_or("not a calendar expression")
            .trim();
        return Err(UsageError(format!(
            "'{expression}' is not a schedule systemd accepts ({reason}); write daily, weekly or an OnCalendar= expression such as 'Mon..Fri 02:30'"
        ))
        .into());
    }
    let text = String::from_utf8_lossy(&output.stdout);
    Ok(text
        .lines()
        .find_map(|l| l.trim().strip_prefix("Normalized form:"))
        .map(|s| s.trim().to_owned())
        .unwrap_or_else(|| expression.to_owned()))
}

/// The drop-in's text.
pub fn drop_in(normalized: &str) -> String {
    format!(
        "# Written by `magi-backup auto`; run it again to change the schedule.\n[Timer]\nOnCalendar=\nOnCalendar={normalized}\nPersistent=true\n"
    )
}

/// Writes the drop-in under `unit_dir` and returns its path.
pub fn write(unit_dir: &Path, normalized: &str) -> anyhow::Result<PathBuf> {
    let path = unit_dir.join(DROP_IN);
    let dir = path.parent().expect("the drop-in has a directory");
    fs::create_dir_all(dir).map_err(|e| anyhow::anyhow!("cannot create {}: {e}", dir.display()))?;
    let temp = path.with_extension("conf.tmp");
    fs::write(&temp, drop_in(normalized))
        .and_then(|()| fs::rename(&temp, &path))
        .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn have_systemd_analyze() -> bool {
        Command::new("systemd-analyze")
            .arg("--version")
            .output()
            .is_ok()
    }

    #[test]
    fn shortcuts_become_night_time_expressions() {
        assert_eq!(expression("daily"), "*-*-* 03:00:00");
        assert_eq!(expression("weekly"), "Sun *-*-* 03:00:00");
        assert_eq!(expression("Mon..Fri 02:30"), "Mon..Fri 02:30");
        assert!(drop_in("*-*-* 03:00:00").contains("OnCalendar=\nOnCalendar=*-*-* 03:00:00\n"));
    }

    #[test]
    fn systemd_analyze_accepts_and_refuses() {
        if !have_systemd_analyze() {
            eprintln!("systemd-analyze is not installed here; skipped");
            return;
        }
        assert_eq!(
            validate("Mon..Fri 02:30").unwrap(),
            "Mon..Fri *-*-* 02:30:00"
        );
        let err = validate("every full moon").unwrap_err();
        assert!(magi_core::exit::is_usage(&err), "{err}");
        assert!(
            err.to_string()
                .contains("'every full moon' is not a schedule"),
            "{err}"
        );
    }
}
