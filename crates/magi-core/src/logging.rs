//! Logging: native journald records with structured fields when stderr really is the journal, plain human
//! lines on stderr otherwise, never both.
//!
//! "Really is the journal" means `JOURNAL_STREAM` names the device and inode of our stderr, as systemd.exec(5)
//! says to check; an inherited variable with stderr redirected elsewhere does not count. The level comes from
//! `--verbose`/`--quiet`, else `MAGI_LOG`, else `info`. Events go through [`log_event`], which adds the fields
//! `MAGI_KIND`, `MAGI_SUBJECT`, `MAGI_SEVERITY` and `MAGI_EVENT` (the JSON line) in the journal.

use std::io::Write;

use log::{Level, LevelFilter, Log, Metadata, Record};

use crate::event::{Event, Severity};

/// The target of records that carry an event.
const EVENT_TARGET: &str = "magi::event";

/// Where log records went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sink {
    Journal,
    Stderr,
}

/// How chatty to be, from the command line. Flags win over `MAGI_LOG`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Verbosity {
    /// `-v` once for debug, twice for trace.
    pub verbose: u8,
    /// `-q`: errors only.
    pub quiet: bool,
}

impl Verbosity {
    /// The level these flags and the environment's `MAGI_LOG` give, and a complaint if `MAGI_LOG` is bad.
    pub fn level(self, magi_log: Option<&str>) -> (LevelFilter, Option<String>) {
        if self.quiet {
            return (LevelFilter::Error, None);
        }
        match self.verbose {
            0 => {}
            1 => return (LevelFilter::Debug, None),
            _ => return (LevelFilter::Trace, None),
        }
        match magi_log.map(str::trim).filter(|v| !v.is_empty()) {
            None => (LevelFilter::Info, None),
            Some(value) => match value.parse::<LevelFilter>() {
                Ok(level) => (level, None),
                Err(_) => (
                    LevelFilter::Info,
                    Some(format!(
                        "MAGI_LOG={value} is not a level (off, error, warn, info, debug, trace); using info"
                    )),
                ),
            },
        }
    }
}

/// Installs the process-wide logger for `program`. Call once, first thing in `main`.
pub fn init(program: &'static str, verbosity: Verbosity) -> Sink {
    let (level, complaint) = verbosity.level(std::env::var("MAGI_LOG").ok().as_deref());
    let sink = if systemd_journal_logger::connected_to_journal() {
        match systemd_journal_logger::JournalLog::new() {
            Ok(journal) => journal
                .with_syslog_identifier(program.to_owned())
                .install()
                .map(|_| Sink::Journal),
            Err(_) => log::set_boxed_logger(Box::new(StderrLog { program })).map(|_| Sink::Stderr),
        }
    } else {
        log::set_boxed_logger(Box::new(StderrLog { program })).map(|_| Sink::Stderr)
    }
    .unwrap_or(Sink::Stderr);
    log::set_max_level(level);
    if let Some(complaint) = complaint {
        log::warn!("{complaint}");
    }
    sink
}

/// The log level an event of this severity is recorded at.
pub fn level_of(severity: Severity) -> Level {
    match severity {
        Severity::Ok | Severity::Info => Level::Info,
        Severity::Warning => Level::Warn,
        Severity::Critical => Level::Error,
    }
}

/// Records an event in the log: in the journal with its structured fields, on stderr as one line.
pub fn log_event(event: &Event) {
    let json = event.to_line();
    log::log!(
        target: EVENT_TARGET,
        level_of(event.severity),
        magi_kind = event.kind.as_str(),
        magi_subject = event.subject.as_str(),
        magi_severity = event.severity.as_str(),
        magi_event = json.as_str();
        "{}", event.message
    );
}

/// Plain lines on stderr: `magi-health: warning: qdrant: probe timed out after 5s`.
struct StderrLog {
    program: &'static str,
}

impl Log for StderrLog {
    fn enabled(&self, metadata: &Metadata) -> bool {
        metadata.level() <= log::max_level()
    }

    fn log(&self, record: &Record) {
        if !self.enabled(record.metadata()) {
            return;
        }
        let label = match record.level() {
            Level::Error => "error: ",
            Level::Warn => "warning: ",
            Level::Info => "",
            Level::Debug => "debug: ",
            Level::Trace => "trace: ",
        };
        let subject = if record.target() == EVENT_TARGET {
            record
                .key_values()
                .get("magi_subject".into())
                .map(|s| format!("{s}: "))
                .unwrap_or_default()
        } else {
            String::new()
        };
        // A log line often quotes text from outside (an event's subject, a user name, a server's answer):
        // control characters are spelled out so one line stays one line and the terminal runs nothing.
        let text = format!("{subject}{}", record.args());
        let line = format!(
            "{}: {label}{}\n",
            self.program,
            crate::printable::printable(&text)
        );
        // One write per line so concurrent threads do not interleave; a closed stderr is not our problem.
        let _ = std::io::stderr().lock().write_all(line.as_bytes());
    }

    fn flush(&self) {}
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_win_over_the_environment() {
        let quiet = Verbosity {
            verbose: 0,
            quiet: true,
        };
        assert_eq!(quiet.level(Some("debug")).0, LevelFilter::Error);
        assert_eq!(
            Verbosity {
                verbose: 2,
                quiet: false
            }
            .level(Some("warn"))
            .0,
            LevelFilter::Trace
        );
        assert_eq!(
            Verbosity::default().level(Some("warn")),
            (LevelFilter::Warn, None)
        );
        assert_eq!(Verbosity::default().level(None), (LevelFilter::Info, None));
    }

    #[test]
    fn a_bad_magi_log_is_named_and_info_is_used() {
        let (level, complaint) = Verbosity::default().level(Some("loud"));
        assert_eq!(level, LevelFilter::Info);
        assert!(
            complaint
                .unwrap()
                .starts_with("MAGI_LOG=loud is not a level")
        );
    }
}
