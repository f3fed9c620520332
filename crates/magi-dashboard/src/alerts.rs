//! The alerts the dashboard shows and acknowledges, asked of magi-alert itself: `magi-alert list --json
//! --limit N` to read them and `magi-alert ack ID --note ...` to acknowledge one. The alert database stays
//! magi-alert's alone (one writer, one schema); the dashboard is one more caller of its command line, run
//! as the same user with the same state directory, found next to the dashboard's binary or on PATH.
//!
//! Each call is bounded: a deadline after which the child is killed, and at most [`MAX_OUTPUT`] bytes read
//! of what it prints.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use jiff::Timestamp;
use serde::Deserialize;
use tokio::io::AsyncReadExt as _;
use tokio::process::Command;

/// How long one call may take (a busy alert database waits its own busy timeout first).
const DEADLINE: Duration = Duration::from_secs(10);
/// The most output read from one call.
const MAX_OUTPUT: u64 = 1 << 20;
/// The longest acknowledgement note the dashboard writes.
const MAX_NOTE: usize = 200;

/// An alert as `magi-alert list --json` prints it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Alert {
    pub id: i64,
    pub rule: String,
    pub subject: String,
    pub severity: magi_core::Severity,
    pub message: String,
    pub started_at: Timestamp,
    pub resolved_at: Option<Timestamp>,
    pub acked_at: Option<Timestamp>,
    pub ack_note: Option<String>,
}

impl Alert {
    /// `firing`, `acknowledged` or `resolved`.
    pub fn state(&self) -> &'static str {
        match (self.resolved_at, self.acked_at) {
            (Some(_), _) => "resolved",
            (None, Some(_)) => "acknowledged",
            (None, None) => "firing",
        }
    }
}

/// Why magi-alert could not be asked.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum AlertsError {
    #[error("magi-alert is not installed next to magi-dashboard or on PATH")]
    NotInstalled,
    #[error("magi-alert could not be run: {0}")]
    Spawn(String),
    #[error("magi-alert did not answer within {} s", DEADLINE.as_secs())]
    Timeout,
    #[error("magi-alert: {0}")]
    Refused(String),
    #[error("magi-alert printed a line the dashboard cannot read: {0}")]
    Garbled(String),
}

/// Where magi-alert is: found once at start, or a path given (tests).
#[derive(Debug, Clone)]
pub struct AlertTool {
    program: Option<PathBuf>,
}

impl AlertTool {
    /// magi-alert next to this binary or on PATH.
    pub fn installed() -> AlertTool {
        AlertTool {
            program: magi_core::tools::locate("alert"),
        }
    }

    /// The newest `limit` alerts, active and resolved.
    pub async fn list(&self, limit: u32) -> Result<Vec<Alert>, AlertsError> {
        let out = self
            .run(&["list", "--json", "--limit", &limit.to_string()])
            .await?;
        out.lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| serde_json::from_str(l).map_err(|e| AlertsError::Garbled(e.to_string())))
            .collect()
    }

    /// Acknowledges alert `id`, noting who did it when the proxy said (`Remote-User`).
    pub async fn acknowledge(&self, id: i64, user: Option<&str>) -> Result<(), AlertsError> {
        let note = ack_note(user);
        self.run(&["ack", &id.to_string(), "--note", &note])
            .await
            .map(drop)
    }

    async fn run(&self, args: &[&str]) -> Result<String, AlertsError> {
        let program = self.program.as_ref().ok_or(AlertsError::NotInstalled)?;
        let mut child = Command::new(program)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| AlertsError::Spawn(e.to_string()))?;
        let mut stdout = child
            .stdout
            .take()
            .expect("stdout is piped")
            .take(MAX_OUTPUT);
        let mut stderr = child
            .stderr
            .take()
            .expect("stderr is piped")
            .take(MAX_OUTPUT);
        let finished = async {
            let mut out = Vec::new();
            let mut err = Vec::new();
            let (read_out, read_err) =
                tokio::join!(stdout.read_to_end(&mut out), stderr.read_to_end(&mut err));
            read_out.and(read_err).map_err(|e| e.to_string())?;
            let status = child.wait().await.map_err(|e| e.to_string())?;
            Ok::<_, String>((status, out, err))
        };
        let (status, out, err) = tokio::time::timeout(DEADLINE, finished)
            .await
            .map_err(|_| AlertsError::Timeout)?
            .map_err(AlertsError::Spawn)?;
        if !status.success() {
            let err = String::from_utf8_lossy(&err);
            let why = err
                .lines()
                .find(|l| !l.trim().is_empty())
                .unwrap_or("it failed without a word");
            return Err(AlertsError::Refused(
                why.trim_start_matches("magi-alert: ")
                    .trim_start_matches("error: ")
                    .to_owned(),
            ));
        }
        Ok(String::from_utf8_lossy(&out).into_owned())
    }
}

#[cfg(test)]
impl AlertTool {
    fn at(program: Option<PathBuf>) -> AlertTool {
        AlertTool { program }
    }
}

/// The note an acknowledgement from the dashboard carries: who, as the proxy named them, printable and
/// short (the header is only as trustworthy as the proxy in front).
fn ack_note(user: Option<&str>) -> String {
    let user: String = user
        .unwrap_or("")
        .chars()
        .filter(|c| !c.is_control())
        .take(64)
        .collect();
    let mut note = if user.trim().is_empty() {
        "acknowledged on the dashboard".to_owned()
    } else {
        format!("acknowledged on the dashboard by {}", user.trim())
    };
    note.truncate(MAX_NOTE);
    note
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_note_names_the_user_printably() {
        assert_eq!(ack_note(None), "acknowledged on the dashboard");
        assert_eq!(ack_note(Some("  ")), "acknowledged on the dashboard");
        assert_eq!(
            ack_note(Some("ada\r\nX-Evil: 1")),
            "acknowledged on the dashboard by adaX-Evil: 1"
        );
        assert!(ack_note(Some(&"x".repeat(10_000))).len() <= MAX_NOTE);
    }

    #[tokio::test]
    async fn a_missing_or_failing_tool_is_a_clear_error() {
        assert_eq!(
            AlertTool::at(None).list(5).await,
            Err(AlertsError::NotInstalled)
        );
        let failing = AlertTool::at(Some("/bin/false".into()));
        assert!(matches!(
            failing.list(5).await,
            Err(AlertsError::Refused(_))
        ));
        let garbled = AlertTool::at(Some("/bin/echo".into()));
        assert!(matches!(
            garbled.list(5).await,
            Err(AlertsError::Garbled(_))
        ));
    }
}
