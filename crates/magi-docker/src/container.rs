//! A container as the engine describes it, read into typed values: its [`State`] (with the exit code and the
//! OOM kill folded in), its Docker health check, restart count, start time and addresses.
//!
//! [`Container::from_inspect`] is a pure conversion of the engine's inspect answer, so every state can be
//! tested from a literal answer without an engine.

use std::fmt;
use std::time::Duration;

use bollard::models::{
    ContainerInspectResponse, ContainerStateStatusEnum, HealthStatusEnum, RestartPolicyNameEnum,
};
use jiff::Timestamp;
use serde::Serialize;

/// What a container is doing. A container that does not exist is [`State::Missing`], not an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum State {
    Running,
    Paused,
    Restarting,
    /// Created but never started.
    Created,
    Exited {
        code: i64,
    },
    /// Exited because the kernel killed it for exceeding its memory limit.
    OomKilled {
        code: i64,
    },
    Dead,
    /// Being stopped (newer engines report this while the stop signal takes effect).
    Stopping,
    Removing,
    Missing,
}

impl State {
    /// The one-word name used in tables, events and metrics labels.
    pub fn name(self) -> &'static str {
        match self {
            State::Running => "running",
            State::Paused => "paused",
            State::Restarting => "restarting",
            State::Created => "created",
            State::Exited { .. } => "exited",
            State::OomKilled { .. } => "oom_killed",
            State::Dead => "dead",
            State::Stopping => "stopping",
            State::Removing => "removing",
            State::Missing => "missing",
        }
    }

    /// Every state name, for metrics that export one series per state.
    pub const NAMES: [&'static str; 10] = [
        "running",
        "paused",
        "restarting",
        "created",
        "exited",
        "oom_killed",
        "dead",
        "stopping",
        "removing",
        "missing",
    ];
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            State::Exited { code } => write!(f, "exited ({code})"),
            State::OomKilled { code } => write!(f, "OOM-killed ({code})"),
            other => f.write_str(other.name()),
        }
    }
}

/// The result of the container's own Docker health check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum HealthStatus {
    Starting,
    Healthy,
    Unhealthy,
}

impl HealthStatus {
    pub fn name(self) -> &'static str {
        match self {
            HealthStatus::Starting => "starting",
            HealthStatus::Healthy => "healthy",
            HealthStatus::Unhealthy => "unhealthy",
        }
    }
}

/// A container's Docker health check, present only when its image or compose file defines one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Health {
    pub status: HealthStatus,
    /// Consecutive failed checks.
    pub failing_streak: u64,
    /// What the last check printed, trimmed to one line.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_output: Option<String>,
}

/// An address of the container on one of its networks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Address {
    pub network: String,
    pub ip: String,
}

/// One container, as inspected.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Container {
    pub name: String,
    pub state: State,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub health: Option<Health>,
    pub restart_count: u64,
    /// The container's main process on this machine (0 when it is not running).
    #[serde(skip)]
    pub pid: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub started_at: Option<Timestamp>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<Timestamp>,
    /// The restart policy Docker applies by itself (`no`, `always`, `unless-stopped`, `on-failure`).
    pub restart_policy: String,
    pub addresses: Vec<Address>,
}

impl Container {
    /// The value for a container the engine does not know.
    pub fn missing(name: &str) -> Container {
        Container {
            name: name.to_owned(),
            state: State::Missing,
            health: None,
            restart_count: 0,
            pid: 0,
            started_at: None,
            finished_at: None,
            restart_policy: String::new(),
            addresses: Vec::new(),
        }
    }

    /// Reads the engine's inspect answer.
    pub fn from_inspect(name: &str, inspect: &ContainerInspectResponse) -> Container {
        let state = inspect.state.as_ref();
        let flag = |get: fn(&bollard::models::ContainerState) -> Option<bool>| {
            state.and_then(get).unwrap_or(false)
        };
        let code = state.and_then(|s| s.exit_code).unwrap_or(0);
        let typed = match state.and_then(|s| s.status) {
            Some(ContainerStateStatusEnum::RUNNING) if flag(|s| s.paused) => State::Paused,
            Some(ContainerStateStatusEnum::RUNNING) => State::Running,
            Some(ContainerStateStatusEnum::PAUSED) => State::Paused,
            Some(ContainerStateStatusEnum::RESTARTING) => State::Restarting,
            Some(ContainerStateStatusEnum::CREATED) => State::Created,
            Some(ContainerStateStatusEnum::REMOVING) => State::Removing,
            Some(ContainerStateStatusEnum::DEAD) => State::Dead,
            Some(ContainerStateStatusEnum::STOPPING) => State::Stopping,
            Some(ContainerStateStatusEnum::EXITED) if flag(|s| s.oom_killed) => {
                State::OomKilled { code }
            }
            Some(ContainerStateStatusEnum::EXITED) => State::Exited { code },
            Some(ContainerStateStatusEnum::EMPTY) | None => {
                if flag(|s| s.running) {
                    State::Running
                } else {
                    State::Exited { code }
                }
            }
        };
        let health = state.and_then(|s| s.health.as_ref()).and_then(|h| {
            let status = match h.status? {
                HealthStatusEnum::STARTING => HealthStatus::Starting,
                HealthStatusEnum::HEALTHY => HealthStatus::Healthy,
                HealthStatusEnum::UNHEALTHY => HealthStatus::Unhealthy,
                HealthStatusEnum::NONE | HealthStatusEnum::EMPTY => return None,
            };
            let last_output = h
                .log
                .as_ref()
                .and_then(|log| log.last())
                .and_then(|r| r.output.as_deref())
                .map(|o| o.split_whitespace().collect::<Vec<_>>().join(" "))
                .filter(|o| !o.is_empty());
            Some(Health {
                status,
                failing_streak: h.failing_streak.unwrap_or(0).max(0) as u64,
                last_output,
            })
        });
        let time = |t: Option<&String>| {
            t.and_then(|t| t.parse::<Timestamp>().ok())
                // Docker writes 0001-01-01T00:00:00Z for "never".
                .filter(|t| t.as_second() > 0)
        };
        let mut addresses: Vec<Address> = inspect
            .network_settings
            .as_ref()
            .and_then(|n| n.networks.as_ref())
            .map(|networks| {
                networks
                    .iter()
                    .filter_map(|(network, endpoint)| {
                        let ip = endpoint.ip_address.as_deref().filter(|ip| !ip.is_empty())?;
                        Some(Address {
                            network: network.clone(),
                            ip: ip.to_owned(),
                        })
                    })
                    .collect()
            })
            .unwrap_or_default();
        addresses.sort_by(|a, b| a.network.cmp(&b.network));
        let restart_policy = inspect
            .host_config
            .as_ref()
            .and_then(|h| h.restart_policy.as_ref())
            .and_then(|p| p.name)
            .map(|p| match p {
                RestartPolicyNameEnum::ALWAYS => "always",
                RestartPolicyNameEnum::UNLESS_STOPPED => "unless-stopped",
                RestartPolicyNameEnum::ON_FAILURE => "on-failure",
                RestartPolicyNameEnum::NO | RestartPolicyNameEnum::EMPTY => "no",
            })
            .unwrap_or("no")
            .to_owned();
        Container {
            name: name.to_owned(),
            state: typed,
            health,
            restart_count: inspect.restart_count.unwrap_or(0).max(0) as u64,
            pid: state.and_then(|s| s.pid).unwrap_or(0),
            started_at: time(state.and_then(|s| s.started_at.as_ref())),
            finished_at: time(state.and_then(|s| s.finished_at.as_ref())),
            restart_policy,
            addresses,
        }
    }

    /// How long the container has been running, if it is running.
    pub fn uptime(&self, now: Timestamp) -> Option<Duration> {
        match self.state {
            State::Running | State::Paused => self
                .started_at
                .and_then(|t| Duration::try_from(now.duration_since(t)).ok()),
            _ => None,
        }
    }

    /// The address other containers reach this one at: the first network's, by network name.
    pub fn ip(&self) -> Option<&str> {
        self.addresses.first().map(|a| a.ip.as_str())
    }

    /// Whether the container ended in a way that says someone meant it: a clean exit (code 0), or an exit that
    /// Docker's own restart policy leaves alone because it was stopped through the API (`always` and
    /// `unless-stopped` restart every other exit). `stop_requested` says whether the engine recorded a `stop`
    /// since the container last started (see [`crate::Engine::stop_requested`]).
    pub fn stopped_on_purpose(&self, stop_requested: bool) -> bool {
        match self.state {
            State::Exited { code: 0 } => true,
            State::Exited { .. } | State::OomKilled { .. } | State::Dead => {
                stop_requested
                    || matches!(self.restart_policy.as_str(), "always" | "unless-stopped")
            }
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inspect(json: serde_json::Value) -> ContainerInspectResponse {
        serde_json::from_value(json).unwrap()
    }

    fn state_of(state: serde_json::Value) -> Container {
        Container::from_inspect(
            "magi-memory",
            &inspect(serde_json::json!({ "State": state })),
        )
    }

    #[test]
    fn every_state_is_read() {
        let cases = [
            (
                serde_json::json!({"Status": "running", "Running": true}),
                State::Running,
            ),
            (
                serde_json::json!({"Status": "paused", "Running": true, "Paused": true}),
                State::Paused,
            ),
            (
                serde_json::json!({"Status": "restarting", "Restarting": true}),
                State::Restarting,
            ),
            (
                serde_json::json!({"Status": "exited", "ExitCode": 3}),
                State::Exited { code: 3 },
            ),
            (
                serde_json::json!({"Status": "exited", "ExitCode": 137, "OOMKilled": true}),
                State::OomKilled { code: 137 },
            ),
            (
                serde_json::json!({"Status": "dead", "Dead": true}),
                State::Dead,
            ),
            (serde_json::json!({"Status": "created"}), State::Created),
        ];
        for (json, expected) in cases {
            assert_eq!(state_of(json.clone()).state, expected, "{json}");
        }
    }

    #[test]
    fn health_addresses_and_times_are_read() {
        let container = Container::from_inspect(
            "magi-nervous-system",
            &inspect(serde_json::json!({
                "RestartCount": 4,
                "HostConfig": {"RestartPolicy": {"Name": "unless-stopped"}},
                "State": {
                    "Status": "running", "Running": true,
                    "StartedAt": "2026-11-24T03:00:00.5Z",
                    "FinishedAt": "0001-01-01T00:00:00Z",
                    "Health": {"Status": "unhealthy", "FailingStreak": 3,
                               "Log": [{"ExitCode": 1, "Output": "redis-cli: \n connection refused\n"}]}
                },
                "NetworkSettings": {"Networks": {
                    "zz": {"IPAddress": "10.9.0.2"},
                    "magi": {"IPAddress": "172.18.0.5"},
                    "none": {"IPAddress": ""}
                }}
            })),
        );
        assert_eq!(
            container.health,
            Some(Health {
                status: HealthStatus::Unhealthy,
                failing_streak: 3,
                last_output: Some("redis-cli: connection refused".into())
            })
        );
        assert_eq!(container.restart_count, 4);
        assert_eq!(container.restart_policy, "unless-stopped");
        assert_eq!(container.ip(), Some("172.18.0.5"));
        assert_eq!(container.addresses.len(), 2);
        assert_eq!(container.finished_at, None, "the zero time means never");
        let now: Timestamp = "2026-11-24T03:01:00.5Z".parse().unwrap();
        assert_eq!(container.uptime(now), Some(Duration::from_secs(60)));
    }

    #[test]
    fn on_purpose_is_a_clean_exit_a_recorded_stop_or_a_policy_docker_left_alone() {
        let exited = |code, policy: &str| Container {
            state: State::Exited { code },
            restart_policy: policy.into(),
            ..Container::missing("magi-vision")
        };
        assert!(exited(0, "no").stopped_on_purpose(false));
        assert!(
            !exited(137, "no").stopped_on_purpose(false),
            "a kill or crash"
        );
        assert!(exited(137, "no").stopped_on_purpose(true), "docker stop");
        assert!(exited(143, "unless-stopped").stopped_on_purpose(false));
        assert!(!exited(1, "on-failure").stopped_on_purpose(false));
        let running = Container {
            state: State::Running,
            ..Container::missing("magi-vision")
        };
        assert!(!running.stopped_on_purpose(true));
        assert!(!Container::missing("x").stopped_on_purpose(true));
    }
}
