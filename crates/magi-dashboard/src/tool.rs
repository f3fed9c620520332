//! The family's other tools, run by the dashboard for what they own: magi-alert's alerts, magi-sla's report.
//! A tool is found once, next to the dashboard's binary or on PATH ([`magi_core::tools::locate`]), and run
//! as the dashboard's own user with its environment, so it reads the same state directory.
//!
//! Each call is bounded: a deadline after which the child is killed, and at most [`MAX_OUTPUT`] bytes read
//! of what it prints.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use tokio::io::AsyncReadExt as _;
use tokio::process::Command;

/// How long one call may take (a busy database waits its own busy timeout first).
const DEADLINE: Duration = Duration::from_secs(10);
/// The most output read from one call.
const MAX_OUTPUT: u64 = 4 << 20;

/// Why a tool could not be asked.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ToolError {
    #[error("{0} is not installed next to magi-dashboard or on PATH")]
    NotInstalled(String),
    #[error("{tool} could not be run: {reason}")]
    Spawn { tool: String, reason: String },
    #[error("{0} did not answer within {secs} s", secs = DEADLINE.as_secs())]
    Timeout(String),
    #[error("{tool}: {reason}")]
    Refused { tool: String, reason: String },
    #[error("{tool} printed what the dashboard cannot read: {reason}")]
    Garbled { tool: &'static str, reason: String },
}

/// One tool of the family.
#[derive(Debug, Clone)]
pub struct Tool {
    /// `magi-alert`.
    name: String,
    program: Option<PathBuf>,
}

impl Tool {
    /// `magi-NAME`, where it is installed.
    pub fn installed(name: &str) -> Tool {
        Tool {
            name: format!("magi-{name}"),
            program: magi_core::tools::locate(name),
        }
    }

    /// Runs the tool with `args`; its standard output, or why not.
    pub async fn run(&self, args: &[&str]) -> Result<String, ToolError> {
        let tool = || self.name.clone();
        let program = self
            .program
            .as_ref()
            .ok_or_else(|| ToolError::NotInstalled(tool()))?;
        let mut child = Command::new(program)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| ToolError::Spawn {
                tool: tool(),
                reason: e.to_string(),
            })?;
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
            .map_err(|_| ToolError::Timeout(tool()))?
            .map_err(|reason| ToolError::Spawn {
                tool: tool(),
                reason,
            })?;
        if !status.success() {
            let err = String::from_utf8_lossy(&err);
            let why = err
                .lines()
                .find(|l| !l.trim().is_empty())
                .unwrap_or("it failed without a word");
            let prefix = format!("{}: ", self.name);
            return Err(ToolError::Refused {
                tool: tool(),
                reason: why
                    .trim_start_matches(prefix.as_str())
                    .trim_start_matches("error: ")
                    .to_owned(),
            });
        }
        Ok(String::from_utf8_lossy(&out).into_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(program: &str) -> Tool {
        Tool {
            name: "magi-test".into(),
            program: Some(program.into()),
        }
    }

    #[tokio::test]
    async fn a_missing_or_failing_tool_is_a_clear_error() {
        let missing = Tool {
            name: "magi-nothing".into(),
            program: None,
        };
        assert_eq!(
            missing.run(&[]).await,
            Err(ToolError::NotInstalled("magi-nothing".into()))
        );
        assert!(matches!(
            at("/bin/false").run(&[]).await,
            Err(ToolError::Refused { .. })
        ));
        assert_eq!(at("/bin/echo").run(&["hi"]).await, Ok("hi\n".to_owned()));
    }
}
