//! A server process the rig started on loopback: its own process group, its output in a log file, waited
//! for until it is ready, and ended on drop (SIGTERM to the group, SIGKILL if it lingers).

use std::fs::File;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;

/// A running server process.
#[derive(Debug)]
pub(crate) struct Daemon {
    name: String,
    child: Child,
    log: PathBuf,
}

/// Why a server did not become ready.
#[derive(Debug)]
pub(crate) enum NotReady {
    /// It exited; the log tail says why.
    Exited(String),
    /// It was still not ready at the deadline.
    TimedOut(String),
}

impl Daemon {
    /// Starts `command` with stdout and stderr appended to `log`.
    pub(crate) fn spawn(name: &str, command: Command, log: &Path) -> Daemon {
        Daemon::spawn_with_stdin(name, command, log, Stdio::null())
    }

    /// Like [`Daemon::spawn`], but the server's stdin is a pipe whose write end this `Daemon` holds: it
    /// closes when the `Daemon` drops or when the test process ends however it ends. A server that exits at
    /// end of stdin (`openai-standin --exit-with-stdin`, the LiteLLM wrapper) therefore never outlives the
    /// tests, even when it is kept in a `static` shared by all the tests of a binary.
    pub(crate) fn spawn_with_lifeline(name: &str, command: Command, log: &Path) -> Daemon {
        Daemon::spawn_with_stdin(name, command, log, Stdio::piped())
    }

    fn spawn_with_stdin(name: &str, mut command: Command, log: &Path, stdin: Stdio) -> Daemon {
        let out = File::create(log)
            .unwrap_or_else(|e| panic!("cannot create the log {}: {e}", log.display()));
        let err = out
            .try_clone()
            .unwrap_or_else(|e| panic!("cannot share the log {}: {e}", log.display()));
        command
            .stdin(stdin)
            .stdout(out)
            .stderr(err)
            .process_group(0);
        let child = command
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {name} ({command:?}): {e}"));
        Daemon {
            name: name.to_owned(),
            child,
            log: log.to_owned(),
        }
    }

    /// Polls `ready` until it holds, the process exits, or `timeout` passes.
    pub(crate) fn wait_ready(
        &mut self,
        timeout: Duration,
        mut ready: impl FnMut() -> bool,
    ) -> Result<(), NotReady> {
        let deadline = Instant::now() + timeout;
        loop {
            if ready() {
                return Ok(());
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(NotReady::Exited(format!(
                    "{} exited ({status}) before it was ready; its log {}:\n{}",
                    self.name,
                    self.log.display(),
                    self.log_tail()
                )));
            }
            if Instant::now() > deadline {
                return Err(NotReady::TimedOut(format!(
                    "{} was not ready after {timeout:?}; its log {}:\n{}",
                    self.name,
                    self.log.display(),
                    self.log_tail()
                )));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The last lines of the log, for messages.
    pub(crate) fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }
}

impl NotReady {
    pub(crate) fn message(&self) -> &str {
        match self {
            NotReady::Exited(m) | NotReady::TimedOut(m) => m,
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if let Ok(Some(_)) = self.child.try_wait() {
            return;
        }
        let group = Pid::from_raw(self.child.id() as i32);
        // The group may already be gone; there is nothing else to end then.
        let _ = killpg(group, Signal::SIGTERM);
        let deadline = Instant::now() + Duration::from_secs(3);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                let _ = killpg(group, Signal::SIGKILL);
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = killpg(group, Signal::SIGKILL);
        let _ = self.child.wait();
    }
}
