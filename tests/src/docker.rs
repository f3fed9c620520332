//! The `docker` CLI as the rig drives it: one function that runs a command and turns a failure into an error
//! naming the command and its stderr, and the container state read from `docker inspect`.

use std::fmt;
use std::process::{Command, Stdio};

use serde::Deserialize;

/// A `docker` command that could not be run or did not succeed.
#[derive(Debug)]
pub struct DockerError {
    /// The command line, as a person would type it.
    pub command: String,
    /// The exit code, `None` when the command could not be started or died of a signal.
    pub code: Option<i32>,
    /// What the command printed on stderr (or why it could not be started).
    pub stderr: String,
}

impl fmt::Display for DockerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let code = match self.code {
            Some(code) => format!("exit code {code}"),
            None => "no exit code".into(),
        };
        write!(
            f,
            "`{}` failed ({code}): {}",
            self.command,
            self.stderr.trim()
        )
    }
}

impl std::error::Error for DockerError {}

/// Runs `docker ARGS` and returns its stdout, trimmed.
pub fn docker<S: AsRef<str>>(args: &[S]) -> Result<String, DockerError> {
    let args: Vec<&str> = args.iter().map(AsRef::as_ref).collect();
    let command = format!("docker {}", args.join(" "));
    let output = Command::new("docker")
        .args(&args)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| DockerError {
            command: command.clone(),
            code: None,
            stderr: format!("cannot run docker: {e}"),
        })?;
    if output.status.success() {
        Ok(String::from_utf8_lossy(&output.stdout).trim().to_owned())
    } else {
        Err(DockerError {
            command,
            code: output.status.code(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        })
    }
}

/// Like [`docker`], for the rig's own steps where a failure ends the test: panics with the error.
pub(crate) fn must<S: AsRef<str>>(args: &[S]) -> String {
    docker(args).unwrap_or_else(|e| panic!("{e}"))
}

/// A container as `docker inspect` reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerState {
    pub name: String,
    /// `created`, `running`, `paused`, `restarting`, `exited` or `dead`.
    pub status: String,
    pub running: bool,
    pub paused: bool,
    /// The exit code of the last run (137 after SIGKILL).
    pub exit_code: i64,
    pub oom_killed: bool,
    pub restart_count: u64,
    /// `starting`, `healthy` or `unhealthy`; `None` for a container without a healthcheck.
    pub health: Option<String>,
    /// Consecutive failed healthchecks.
    pub failing_streak: u64,
    /// The output of the last healthcheck, for messages.
    pub last_health_output: Option<String>,
    /// The container's address on each network it is attached to, by network name.
    pub addresses: Vec<(String, String)>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Inspect {
    name: String,
    restart_count: u64,
    state: InspectState,
    network_settings: InspectNetworks,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct InspectState {
    status: String,
    running: bool,
    paused: bool,
    #[serde(rename = "OOMKilled")]
    oom_killed: bool,
    exit_code: i64,
    health: Option<InspectHealth>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct InspectHealth {
    status: String,
    failing_streak: u64,
    #[serde(default)]
    log: Option<Vec<InspectHealthLog>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct InspectHealthLog {
    output: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct InspectNetworks {
    #[serde(default)]
    networks: Option<std::collections::BTreeMap<String, InspectEndpoint>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct InspectEndpoint {
    #[serde(rename = "IPAddress")]
    ip_address: String,
}

/// The state of each named container that exists; missing ones are left out.
pub fn inspect(containers: &[&str]) -> Result<Vec<ContainerState>, DockerError> {
    if containers.is_empty() {
        return Ok(Vec::new());
    }
    let mut args = vec!["container", "inspect"];
    args.extend_from_slice(containers);
    let json = match docker(&args) {
        Ok(json) => json,
        // Docker prints the containers it found and fails for the rest: take what it found.
        Err(e) if e.stderr.contains("No such container") => {
            let found: Vec<&str> = containers
                .iter()
                .copied()
                .filter(|c| docker(&["container", "inspect", "--format", "{{.Id}}", c]).is_ok())
                .collect();
            if found.is_empty() {
                return Ok(Vec::new());
            }
            let mut args = vec!["container", "inspect"];
            args.extend_from_slice(&found);
            docker(&args)?
        }
        Err(e) => return Err(e),
    };
    let parsed: Vec<Inspect> = serde_json::from_str(&json).map_err(|e| DockerError {
        command: format!("docker {}", args.join(" ")),
        code: Some(0),
        stderr: format!("unexpected output: {e}"),
    })?;
    Ok(parsed
        .into_iter()
        .map(|i| ContainerState {
            name: i.name.trim_start_matches('/').to_owned(),
            status: i.state.status,
            running: i.state.running,
            paused: i.state.paused,
            exit_code: i.state.exit_code,
            oom_killed: i.state.oom_killed,
            restart_count: i.restart_count,
            failing_streak: i.state.health.as_ref().map_or(0, |h| h.failing_streak),
            last_health_output: i
                .state
                .health
                .as_ref()
                .and_then(|h| h.log.as_ref())
                .and_then(|log| log.last())
                .map(|l| l.output.trim().to_owned()),
            health: i.state.health.map(|h| h.status),
            addresses: i
                .network_settings
                .networks
                .unwrap_or_default()
                .into_iter()
                .filter(|(_, e)| !e.ip_address.is_empty())
                .map(|(n, e)| (n, e.ip_address))
                .collect(),
        })
        .collect())
}
