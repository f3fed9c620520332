//! The alerts the dashboard shows and acknowledges, asked of magi-alert itself (through [`Tool`]):
//! `magi-alert list --json --limit N` to read them and `magi-alert ack ID --note ...` to acknowledge one.
//! The alert database stays magi-alert's alone (one writer, one schema); the dashboard is one more caller
//! of its command line.

use jiff::Timestamp;
use serde::Deserialize;

use crate::tool::{Tool, ToolError};

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

/// magi-alert, asked for the alerts and told of acknowledgements.
#[derive(Debug, Clone)]
pub struct AlertTool(Tool);

impl AlertTool {
    /// magi-alert next to this binary or on PATH.
    pub fn installed() -> AlertTool {
        AlertTool(Tool::installed("alert"))
    }

    /// The newest `limit` alerts, active and resolved.
    pub async fn list(&self, limit: u32) -> Result<Vec<Alert>, ToolError> {
        let out = self
            .0
            .run(&["list", "--json", "--limit", &limit.to_string()])
            .await?;
        out.lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| {
                serde_json::from_str(l).map_err(|e| ToolError::Garbled {
                    tool: "magi-alert",
                    reason: e.to_string(),
                })
            })
            .collect()
    }

    /// Acknowledges alert `id`, noting who did it when the proxy said (`Remote-User`).
    pub async fn acknowledge(&self, id: i64, user: Option<&str>) -> Result<(), ToolError> {
        let note = ack_note(user);
        self.0
            .run(&["ack", &id.to_string(), "--note", &note])
            .await
            .map(drop)
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
}
