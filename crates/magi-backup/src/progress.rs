//! Progress on a terminal: one line on stderr, rewritten at most five times a second, and only when stderr
//! is a TTY (never under systemd, in a pipe or in a test).

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

/// A progress line, or nothing when stderr is not a terminal.
pub struct Progress {
    enabled: bool,
    last: Option<Instant>,
    started: Instant,
}

impl Progress {
    pub fn new(quiet: bool) -> Progress {
        Progress {
            enabled: !quiet && std::io::stderr().is_terminal(),
            last: None,
            started: Instant::now(),
        }
    }

    /// Shows `bytes` written so far and what is being read.
    pub fn update(&mut self, bytes: u64, current: &str) {
        if !self.enabled
            || self
                .last
                .is_some_and(|t| t.elapsed() < Duration::from_millis(200))
        {
            return;
        }
        self.last = Some(Instant::now());
        let line = progress_line(bytes, self.started.elapsed(), current);
        let _ = write!(std::io::stderr().lock(), "\r\x1b[2K{line}");
    }

    /// Clears the line.
    pub fn done(&mut self) {
        if self.enabled && self.last.is_some() {
            let _ = write!(std::io::stderr().lock(), "\r\x1b[2K");
        }
    }
}

/// The line shown: size, rate and the name being read, at most [`WIDTH`] characters, with control
/// characters in the name escaped (a name in an archive is the archive writer's to choose).
fn progress_line(bytes: u64, elapsed: Duration, current: &str) -> String {
    let seconds = elapsed.as_secs_f64().max(0.001);
    let mib = bytes as f64 / (1024.0 * 1024.0);
    let current = magi_core::printable::printable(current);
    format!("{mib:9.1} MiB  {:6.1} MiB/s  {current}", mib / seconds)
        .chars()
        .take(WIDTH)
        .collect()
}

/// The widest progress line, in characters.
const WIDTH: usize = 100;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_name_is_cut_at_a_character_not_inside_one() {
        // The prefix is 29 bytes; 70 ASCII bytes then a two-byte 'é' puts byte 100 inside it, where
        // `String::truncate(100)` panicked.
        let name = format!("{}é{}", "a".repeat(70), "b".repeat(50));
        let old = format!("      3.0 MiB     3.0 MiB/s  {name}");
        assert!(!old.is_char_boundary(100));
        let line = progress_line(3 << 20, Duration::from_secs(1), &name);
        assert_eq!(line.chars().count(), WIDTH);
        assert!(
            line.starts_with("      3.0 MiB     3.0 MiB/s  aaa"),
            "{line}"
        );
        assert!(line.contains('é'), "{line}");
    }

    #[test]
    fn control_characters_in_a_name_are_escaped() {
        let line = progress_line(0, Duration::from_secs(1), "data/\x1b[2Jx");
        assert!(!line.contains('\x1b'), "{line:?}");
    }
}
