//! `magi logs`: one view over journald of our own units and the stack's containers (Docker's journald log
//! driver tags their records with `CONTAINER_NAME=`), translating our words into journalctl's.
//!
//! The translation is a pure function of the options and the catalog, so it is tested without a journal;
//! the command then execs journalctl, which owns paging, following and output formats.

use std::os::unix::process::CommandExt;

use anyhow::Context as _;
use magi_core::config::Config;
use magi_core::exit::UsageError;
use magi_core::tools::TOOLS;

#[derive(Debug, Clone, Default, clap::Args)]
pub struct LogsArgs {
    /// Only this service: its container's output and our tools' records about it (repeatable; service or
    /// container name). Default: every MAGI unit and container
    #[arg(long, value_name = "NAME")]
    pub service: Vec<String>,
    /// Only records at least this severe: critical, error, warning, notice, info, debug
    #[arg(long, value_name = "LEVEL")]
    pub level: Option<String>,
    /// Start this far back (24h, 30m, 7d) or at a time ("2026-11-20 14:30")
    #[arg(long, value_name = "WHEN")]
    pub since: Option<String>,
    /// Only messages matching this pattern (a case-insensitive regular expression unless it has capitals)
    #[arg(long, value_name = "TEXT")]
    pub grep: Option<String>,
    /// Keep printing new records as they arrive
    #[arg(short, long)]
    pub follow: bool,
    /// Print the newest N records (default: all in range; with --follow, 10)
    #[arg(short = 'n', long, value_name = "N")]
    pub lines: Option<u32>,
    /// journalctl's JSON records, one per line (they carry MAGI_EVENT for `magi event validate` or magi-alert)
    #[arg(long)]
    pub json: bool,
}

/// The journal priority (0 emerg … 7 debug) for a level word.
fn priority(level: &str) -> Option<u8> {
    Some(match level.to_ascii_lowercase().as_str() {
        "emerg" | "emergency" => 0,
        "alert" => 1,
        "crit" | "critical" => 2,
        "err" | "error" => 3,
        "warning" | "warn" => 4,
        "notice" => 5,
        "info" => 6,
        "debug" => 7,
        _ => return None,
    })
}

/// journalctl accepts `-24h`; people write `24h`.
fn since(text: &str) -> String {
    let relative = text.len() > 1
        && text.chars().next().is_some_and(|c| c.is_ascii_digit())
        && text
            .trim_end_matches(|c: char| c.is_ascii_alphabetic())
            .chars()
            .all(|c| c.is_ascii_digit())
        && text.chars().any(|c| c.is_ascii_alphabetic());
    if relative {
        format!("-{text}")
    } else {
        text.to_owned()
    }
}

/// The journalctl arguments for these options over this catalog.
pub fn journalctl_args(args: &LogsArgs, config: &Config) -> Result<Vec<String>, UsageError> {
    let mut out = vec!["--no-pager".to_owned()];
    if let Some(level) = &args.level {
        let p = priority(level).ok_or_else(|| {
            UsageError(format!(
                "--level {level}: not a level (critical, error, warning, notice, info, debug)"
            ))
        })?;
        // A critical event is recorded at priority 3 (the log crate has no higher level), so `critical`
        // selects what our tools mark critical along with errors.
        out.push(format!("--priority={}", p.max(3)));
    }
    if let Some(when) = &args.since {
        out.push(format!("--since={}", since(when)));
    }
    if let Some(pattern) = &args.grep {
        out.push(format!("--grep={pattern}"));
    }
    if args.follow {
        out.push("--follow".into());
    }
    if let Some(n) = args.lines {
        out.push(format!("--lines={n}"));
    }
    out.push(
        if args.json {
            "--output=json"
        } else {
            "--output=short-iso"
        }
        .into(),
    );
    let services = config
        .select(&args.service)
        .map_err(|e| UsageError(e.to_string()))?;
    let mut matches = Vec::new();
    if args.service.is_empty() {
        matches.extend(
            TOOLS
                .iter()
                .map(|t| format!("_SYSTEMD_UNIT=magi-{}.service", t.name)),
        );
        // Our tools' own records wherever they ran (magi-backup under magi-backup-prune.service, magi
        // under magi-backup-failed.service): each logs with its program name as SYSLOG_IDENTIFIER.
        matches.push("SYSLOG_IDENTIFIER=magi".to_owned());
        matches.extend(
            TOOLS
                .iter()
                .map(|t| format!("SYSLOG_IDENTIFIER=magi-{}", t.name)),
        );
    }
    for service in services {
        matches.push(format!("CONTAINER_NAME={}", service.container));
        if !args.service.is_empty() {
            matches.push(format!("MAGI_SUBJECT={}", service.name));
        }
    }
    for (i, m) in matches.into_iter().enumerate() {
        if i > 0 {
            out.push("+".into());
        }
        out.push(m);
    }
    Ok(out)
}

/// Replaces this process with journalctl; returns only if it cannot be run.
pub fn run(args: &LogsArgs, config: &Config) -> anyhow::Result<u8> {
    let argv = journalctl_args(args, config)?;
    log::debug!("journalctl {}", argv.join(" "));
    let error = std::process::Command::new("journalctl").args(&argv).exec();
    Err(error).context("cannot run journalctl (is systemd's journal installed?)")
}

#[cfg(test)]
mod tests {
    use super::*;
    use magi_core::paths::Paths;

    fn config() -> Config {
        Config::defaults(&Paths::for_test(std::path::Path::new("/tmp")))
    }

    #[test]
    fn everything_is_our_units_or_the_containers() {
        let argv = journalctl_args(&LogsArgs::default(), &config()).unwrap();
        assert_eq!(
            &argv[..3],
            [
                "--no-pager",
                "--output=short-iso",
                "_SYSTEMD_UNIT=magi-health.service"
            ]
        );
        assert!(argv.contains(&"CONTAINER_NAME=magi-memory".to_owned()));
        assert!(argv.contains(&"SYSLOG_IDENTIFIER=magi-backup".to_owned()));
        let terms = argv
            .iter()
            .filter(|a| a.contains('=') && !a.starts_with("--"))
            .count();
        assert_eq!(
            argv.iter().filter(|a| *a == "+").count(),
            terms - 1,
            "terms are ORed"
        );
    }

    #[test]
    fn one_service_is_its_container_and_our_records_about_it() {
        let args = LogsArgs {
            service: vec!["magi-memory".into()],
            level: Some("warning".into()),
            since: Some("24h".into()),
            grep: Some("snapshot".into()),
            json: true,
            ..LogsArgs::default()
        };
        assert_eq!(
            journalctl_args(&args, &config()).unwrap(),
            [
                "--no-pager",
                "--priority=4",
                "--since=-24h",
                "--grep=snapshot",
                "--output=json",
                "CONTAINER_NAME=magi-memory",
                "+",
                "MAGI_SUBJECT=qdrant"
            ]
        );
    }

    #[test]
    fn times_levels_and_names_are_checked() {
        assert_eq!(since("2026-11-20 14:30"), "2026-11-20 14:30");
        assert_eq!(since("7d"), "-7d");
        assert_eq!(since("yesterday"), "yesterday");
        let critical = LogsArgs {
            level: Some("critical".into()),
            ..LogsArgs::default()
        };
        assert!(
            journalctl_args(&critical, &config())
                .unwrap()
                .contains(&"--priority=3".to_owned())
        );
        let bad = LogsArgs {
            level: Some("loud".into()),
            ..LogsArgs::default()
        };
        assert!(
            journalctl_args(&bad, &config())
                .unwrap_err()
                .0
                .starts_with("--level loud: not a level")
        );
        let unknown = LogsArgs {
            service: vec!["mongo".into()],
            ..LogsArgs::default()
        };
        assert!(
            journalctl_args(&unknown, &config())
                .unwrap_err()
                .0
                .starts_with("no service named 'mongo'")
        );
    }
}
