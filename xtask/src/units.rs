//! What the man pages say about the shipped systemd units, read from `units/` itself: each unit's
//! `Description=`, and which binary each service runs, so a page lists the units that run its binary.

use std::path::Path;

use anyhow::Context as _;

/// Where the packages install the units.
pub const UNIT_DIR: &str = "/usr/lib/systemd/system";

/// A shipped unit, as the man pages describe it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unit {
    /// The file name: `magi-backup.timer`.
    pub name: String,
    pub description: String,
    /// The binaries its `ExecStart=` lines run (services only): `magi-backup`.
    pub runs: Vec<String>,
}

impl Unit {
    /// The name without its suffix: a timer or socket goes with the service of the same stem.
    pub fn stem(&self) -> &str {
        self.name
            .rsplit_once('.')
            .map_or(&self.name, |(stem, _)| stem)
    }
}

/// The services, sockets and timers in `dir`, by name.
pub fn read(dir: &Path) -> anyhow::Result<Vec<Unit>> {
    let mut units = Vec::new();
    for entry in std::fs::read_dir(dir).with_context(|| format!("cannot list {}", dir.display()))? {
        let path = entry?.path();
        let Some(suffix) = path.extension().and_then(|e| e.to_str()) else {
            continue;
        };
        if !["service", "socket", "timer"].contains(&suffix) {
            continue;
        }
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        units.push(parse(
            &path.file_name().unwrap_or_default().to_string_lossy(),
            &text,
        ));
    }
    units.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(units)
}

fn parse(name: &str, text: &str) -> Unit {
    let runs = values(text, "ExecStart")
        .filter_map(|cmd| {
            let program = cmd.trim_start_matches(['-', '@', ':', '+', '!']);
            let program = program.split_whitespace().next()?;
            Some(program.rsplit('/').next()?.to_owned())
        })
        .collect();
    Unit {
        name: name.to_owned(),
        description: values(text, "Description")
            .next()
            .unwrap_or_default()
            .to_owned(),
        runs,
    }
}

/// The `KEY=VALUE` settings of the journald drop-in `units/journald/magi.conf`.
pub fn journald(units_dir: &Path) -> anyhow::Result<Vec<String>> {
    let path = units_dir.join("journald/magi.conf");
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("cannot read {}", path.display()))?;
    Ok(text
        .lines()
        .map(str::trim)
        .filter(|l| l.contains('=') && !l.starts_with('#'))
        .map(str::to_owned)
        .collect())
}

/// The values of `key=` lines, in order.
fn values<'a>(text: &'a str, key: &'a str) -> impl Iterator<Item = &'a str> {
    text.lines()
        .filter_map(move |l| l.trim().strip_prefix(key)?.strip_prefix('='))
        .map(str::trim)
}

/// The units that run `binary`, with the timers and sockets that start them.
pub fn running<'a>(units: &'a [Unit], binary: &str) -> Vec<&'a Unit> {
    let stems: Vec<&str> = units
        .iter()
        .filter(|u| u.runs.iter().any(|r| r == binary))
        .map(Unit::stem)
        .collect();
    units.iter().filter(|u| stems.contains(&u.stem())).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_service_names_what_it_runs_and_its_timer_goes_with_it() {
        let units = vec![
            parse(
                "magi-backup.service",
                "[Unit]\nDescription=MAGI backup\n[Service]\nExecStart=-/usr/bin/magi-backup create\n",
            ),
            parse("magi-backup.timer", "[Unit]\nDescription=Daily\n"),
            parse(
                "magi-backup-failed.service",
                "[Service]\nExecStart=/usr/bin/magi event emit\n",
            ),
        ];
        assert_eq!(units[0].runs, ["magi-backup"]);
        assert_eq!(units[0].description, "MAGI backup");
        let names: Vec<&str> = running(&units, "magi-backup")
            .iter()
            .map(|u| u.name.as_str())
            .collect();
        assert_eq!(names, ["magi-backup.service", "magi-backup.timer"]);
        assert_eq!(
            running(&units, "magi")[0].name,
            "magi-backup-failed.service"
        );
    }
}
