//! Exit codes, and turning a failed run into one line a person can act on and the right code.
//!
//! Tools exit 0 on success, 1 on failure, 2 on a usage or configuration error. `magi-health` follows the
//! monitoring-plugin convention instead ([`PluginStatus`]), where anything that stops the check is UNKNOWN.

use std::process::ExitCode;

use crate::config::{ConfigError, UnknownService};

pub const SUCCESS: u8 = 0;
pub const FAILURE: u8 = 1;
pub const USAGE: u8 = 2;

/// The monitoring-plugin convention (Nagios, Icinga, Zabbix), so a check can be called directly.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
#[repr(u8)]
pub enum PluginStatus {
    Ok = 0,
    Warning = 1,
    Critical = 2,
    Unknown = 3,
}

impl PluginStatus {
    pub fn code(self) -> u8 {
        self as u8
    }

    pub fn label(self) -> &'static str {
        match self {
            PluginStatus::Ok => "OK",
            PluginStatus::Warning => "WARNING",
            PluginStatus::Critical => "CRITICAL",
            PluginStatus::Unknown => "UNKNOWN",
        }
    }
}

/// A mistake in how the tool was called, reported with exit code [`USAGE`].
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

/// Which codes a tool uses for a failure and for a usage error.
#[derive(Debug, Clone, Copy)]
pub struct Codes {
    pub failure: u8,
    pub usage: u8,
}

impl Codes {
    /// Every tool but the health check.
    pub const TOOL: Codes = Codes {
        failure: FAILURE,
        usage: USAGE,
    };
    /// The health check: whatever stops it from checking is UNKNOWN.
    pub const PLUGIN: Codes = Codes {
        failure: PluginStatus::Unknown as u8,
        usage: PluginStatus::Unknown as u8,
    };
}

/// Whether the error is the caller's to fix: a bad config, an unknown service, a bad argument.
pub fn is_usage(err: &anyhow::Error) -> bool {
    err.chain()
        .any(|e| e.is::<ConfigError>() || e.is::<UnknownService>() || e.is::<UsageError>())
}

/// Writing to a closed pipe (`magi-health --json | head -1`) is how a reader says it has enough.
pub fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|e| {
        e.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

/// The error chain as one line, each cause after a colon, without repeating a cause that a context already
/// quoted.
pub fn one_line(err: &anyhow::Error) -> String {
    let mut line = String::new();
    for cause in err.chain() {
        let text = cause.to_string();
        if line.contains(&text) {
            continue;
        }
        if !line.is_empty() {
            line.push_str(": ");
        }
        line.push_str(&text);
    }
    line
}

/// Ends `main`: the code of a successful run, or the error reported in one line and its code.
pub fn finish(program: &str, result: anyhow::Result<u8>, codes: Codes) -> ExitCode {
    match result {
        Ok(code) => ExitCode::from(code),
        Err(err) if is_broken_pipe(&err) => ExitCode::SUCCESS,
        Err(err) => {
            let message = one_line(&err);
            if systemd_journal_logger::connected_to_journal()
                && log::max_level() >= log::LevelFilter::Error
            {
                log::error!("{message}");
            } else {
                eprintln!("{program}: error: {message}");
            }
            ExitCode::from(if is_usage(&err) {
                codes.usage
            } else {
                codes.failure
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use anyhow::Context;

    #[test]
    fn the_chain_reads_as_one_line_without_repeats() {
        let io = std::io::Error::new(std::io::ErrorKind::NotFound, "no such file");
        let err = anyhow::Error::new(io).context("cannot open /var/lib/magi/health.db");
        assert_eq!(
            one_line(&err),
            "cannot open /var/lib/magi/health.db: no such file"
        );
        let repeated = anyhow::anyhow!("disk full").context("writing the archive: disk full");
        assert_eq!(one_line(&repeated), "writing the archive: disk full");
    }

    #[test]
    fn usage_and_broken_pipe_are_recognised_through_context() {
        let usage: anyhow::Error = UsageError("--keep-last needs a number".into()).into();
        assert!(is_usage(&usage.context("prune")));
        let pipe = std::io::Error::from(std::io::ErrorKind::BrokenPipe);
        let pipe: anyhow::Result<()> = Err(pipe).context("writing events");
        assert!(is_broken_pipe(&pipe.unwrap_err()));
    }
}
