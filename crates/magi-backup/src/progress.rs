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
        let seconds = self.started.elapsed().as_secs_f64().max(0.001);
        let mib = bytes as f64 / (1024.0 * 1024.0);
        let mut line = format!("{mib:9.1} MiB  {:6.1} MiB/s  {current}", mib / seconds);
        line.truncate(100);
        let _ = write!(std::io::stderr().lock(), "\r\x1b[2K{line}");
    }

    /// Clears the line.
    pub fn done(&mut self) {
        if self.enabled && self.last.is_some() {
            let _ = write!(std::io::stderr().lock(), "\r\x1b[2K");
        }
    }
}
