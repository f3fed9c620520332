//! The connection to the Docker engine and the calls the tools make on it.
//!
//! Connecting checks the socket first, so that a missing socket, a refused permission or a stopped engine is
//! one sentence with a fix rather than a transport error, then negotiates the API version (the engine here may
//! be as old as 20.10, API 1.41). Every call is bounded by the caller; none of them retries.

use std::collections::HashMap;
use std::io;
use std::time::Duration;

use bollard::Docker;
use bollard::query_parameters::{
    EventsOptions, RestartContainerOptions, StartContainerOptions, StatsOptions,
    StopContainerOptions,
};
use futures_util::StreamExt;
use jiff::Timestamp;

use crate::container::Container;
use crate::stats::Sample;

/// Where Docker listens when `DOCKER_HOST` says nothing.
pub const DEFAULT_HOST: &str = "unix:///var/run/docker.sock";

/// How long connecting and agreeing on the API version may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// What can go wrong talking to Docker, each with what to do about it.
#[derive(Debug, thiserror::Error)]
pub enum DockerError {
    #[error("cannot reach the Docker engine at {host}: {reason}")]
    Unreachable { host: String, reason: String },
    #[error("container {container}: cannot {action}: {message}")]
    Container {
        container: String,
        action: &'static str,
        message: String,
    },
}

/// A connected Docker engine. Cheap to clone; clones share the connection pool.
#[derive(Debug, Clone)]
pub struct Engine {
    pub(crate) docker: Docker,
    host: String,
}

/// `DOCKER_HOST`, or the local socket.
pub fn docker_host() -> String {
    std::env::var("DOCKER_HOST")
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| DEFAULT_HOST.to_owned())
}

/// The sentence for a socket that cannot be connected to.
fn socket_reason(err: &io::Error) -> String {
    match err.kind() {
        io::ErrorKind::NotFound => {
            "no socket there; is the Docker engine running? (systemctl start docker)".into()
        }
        io::ErrorKind::PermissionDenied => {
            "permission denied; add this user to the docker group or run as root".into()
        }
        io::ErrorKind::ConnectionRefused => {
            "connection refused; is the Docker engine running? (systemctl start docker)".into()
        }
        _ => err.to_string(),
    }
}

impl Engine {
    /// Connects to the engine named by `DOCKER_HOST` (default [`DEFAULT_HOST`]).
    pub async fn connect() -> Result<Engine, DockerError> {
        Engine::connect_to(&docker_host()).await
    }

    /// Connects to the engine at `host` (`unix:///path` or `tcp://host:port`).
    pub async fn connect_to(host: &str) -> Result<Engine, DockerError> {
        let unreachable = |reason: String| DockerError::Unreachable {
            host: host.to_owned(),
            reason,
        };
        if let Some(path) = host.strip_prefix("unix://") {
            std::os::unix::net::UnixStream::connect(path)
                .map_err(|e| unreachable(socket_reason(&e)))?;
        }
        let docker = Docker::connect_with_host(host).map_err(|e| unreachable(e.to_string()))?;
        let docker = tokio::time::timeout(CONNECT_TIMEOUT, docker.negotiate_version())
            .await
            .map_err(|_| {
                unreachable(format!(
                    "no answer within {}s; is the engine hung?",
                    CONNECT_TIMEOUT.as_secs()
                ))
            })?
            .map_err(|e| unreachable(describe(&e)))?;
        Ok(Engine {
            docker,
            host: host.to_owned(),
        })
    }

    pub(crate) fn failed(
        &self,
        container: &str,
        action: &'static str,
        err: bollard::errors::Error,
    ) -> DockerError {
        match err {
            bollard::errors::Error::DockerResponseServerError { message, .. } => {
                DockerError::Container {
                    container: container.to_owned(),
                    action,
                    message,
                }
            }
            other => DockerError::Unreachable {
                host: self.host.clone(),
                reason: describe(&other),
            },
        }
    }

    /// Where the engine keeps images, containers and volumes (`DockerRootDir`), when the engine is on this
    /// machine (a remote engine's directory is not ours to measure); `None` when it does not say in `timeout`.
    pub async fn root_dir(&self, timeout: Duration) -> Option<std::path::PathBuf> {
        if !self.host.starts_with("unix://") {
            return None;
        }
        let info = tokio::time::timeout(timeout, self.docker.info())
            .await
            .ok()?
            .ok()?;
        info.docker_root_dir.map(std::path::PathBuf::from)
    }

    /// Inspects a container; one the engine does not know is [`crate::State::Missing`].
    pub async fn inspect(&self, name: &str) -> Result<Container, DockerError> {
        match self.docker.inspect_container(name, None).await {
            Ok(answer) => Ok(Container::from_inspect(name, &answer)),
            Err(bollard::errors::Error::DockerResponseServerError {
                status_code: 404, ..
            }) => Ok(Container::missing(name)),
            Err(e) => Err(self.failed(name, "inspect", e)),
        }
    }

    /// One resource sample of a running container: from its cgroup files when the engine is on this machine
    /// (microseconds), else from the engine's stats endpoint (which may wait up to a second, see [`crate::cgroup`]).
    pub async fn sample(&self, container: &Container) -> Result<Sample, DockerError> {
        if self.host.starts_with("unix://")
            && let Some(sample) = crate::cgroup::sample(container.pid)
        {
            return Ok(sample);
        }
        self.engine_sample(&container.name).await
    }

    /// One stats sample from the engine, taken at once (the engine's `one-shot`, API 1.41).
    pub async fn engine_sample(&self, name: &str) -> Result<Sample, DockerError> {
        let options = StatsOptions {
            stream: false,
            one_shot: true,
        };
        let mut stream = self.docker.stats(name, Some(options));
        match stream.next().await {
            Some(Ok(stats)) => Ok(Sample::from_stats(&stats)),
            Some(Err(e)) => Err(self.failed(name, "read the stats of", e)),
            None => Err(DockerError::Container {
                container: name.to_owned(),
                action: "read the stats of",
                message: "the engine sent no sample".into(),
            }),
        }
    }

    /// Whether the engine recorded a `stop` of the container (an operator's `docker stop` or
    /// `docker compose stop`) since `since`. A crash or `docker kill` records `die` and `kill` only.
    pub async fn stop_requested(&self, name: &str, since: Timestamp) -> Result<bool, DockerError> {
        let options = EventsOptions {
            since: Some(since.as_second().to_string()),
            until: Some((Timestamp::now().as_second() + 1).to_string()),
            filters: Some(HashMap::from([
                ("type".to_owned(), vec!["container".to_owned()]),
                ("container".to_owned(), vec![name.to_owned()]),
                ("event".to_owned(), vec!["stop".to_owned()]),
            ])),
        };
        let mut events = self.docker.events(Some(options));
        match events.next().await {
            Some(Ok(_)) => Ok(true),
            Some(Err(e)) => Err(self.failed(name, "read the events of", e)),
            None => Ok(false),
        }
    }

    pub async fn pause(&self, name: &str) -> Result<(), DockerError> {
        self.docker
            .pause_container(name)
            .await
            .map_err(|e| self.failed(name, "pause", e))
    }

    pub async fn unpause(&self, name: &str) -> Result<(), DockerError> {
        self.docker
            .unpause_container(name)
            .await
            .map_err(|e| self.failed(name, "unpause", e))
    }

    pub async fn start(&self, name: &str) -> Result<(), DockerError> {
        self.docker
            .start_container(name, None::<StartContainerOptions>)
            .await
            .map_err(|e| self.failed(name, "start", e))
    }

    /// Stops the container, killing it after `grace` if it has not exited.
    pub async fn stop(&self, name: &str, grace: Duration) -> Result<(), DockerError> {
        let options = StopContainerOptions {
            signal: None,
            t: Some(grace.as_secs().min(i32::MAX as u64) as i32),
        };
        self.docker
            .stop_container(name, Some(options))
            .await
            .map_err(|e| self.failed(name, "stop", e))
    }

    /// Restarts the container, killing it after `grace` if it has not exited.
    pub async fn restart(&self, name: &str, grace: Duration) -> Result<(), DockerError> {
        let options = RestartContainerOptions {
            signal: None,
            t: Some(grace.as_secs().min(i32::MAX as u64) as i32),
        };
        self.docker
            .restart_container(name, Some(options))
            .await
            .map_err(|e| self.failed(name, "restart", e))
    }
}

/// A transport error as a person reads it: the innermost I/O cause, in words, if there is one.
fn describe(err: &bollard::errors::Error) -> String {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = cause {
        if let Some(io) = e.downcast_ref::<io::Error>() {
            return socket_reason(io);
        }
        cause = e.source();
    }
    err.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
    }

    #[test]
    fn a_missing_socket_is_one_sentence_with_a_fix() {
        let dir = tempfile::tempdir().unwrap();
        let host = format!("unix://{}/docker.sock", dir.path().display());
        let err = runtime().block_on(Engine::connect_to(&host)).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "cannot reach the Docker engine at {host}: no socket there; is the Docker engine running? (systemctl start docker)"
            )
        );
    }

    #[test]
    fn a_dead_socket_says_the_engine_is_not_running() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("docker.sock");
        drop(std::os::unix::net::UnixListener::bind(&path).unwrap());
        let host = format!("unix://{}", path.display());
        let err = runtime().block_on(Engine::connect_to(&host)).unwrap_err();
        assert!(
            err.to_string().ends_with(
                "connection refused; is the Docker engine running? (systemctl start docker)"
            ),
            "{err}"
        );
    }

    #[test]
    fn permission_denied_names_the_docker_group() {
        let err = io::Error::from(io::ErrorKind::PermissionDenied);
        assert_eq!(
            socket_reason(&err),
            "permission denied; add this user to the docker group or run as root"
        );
    }
}
