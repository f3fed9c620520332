//! Sandboxes: copies of the stack's containers started beside the real ones, for a drill or a trial, that
//! can reach nothing of the stack and that nothing outside can reach. A sandbox is one Docker network of
//! its own, `internal` (no route out, no published port), and containers created from a live container's
//! image, command, environment, user and health check, with the bind mounts the caller replaces pointed at
//! the caller's copies and every other bind mount made read-only, so a sandboxed application cannot write
//! the stack's files. Named volumes are not carried over (the image's own declare fresh anonymous ones),
//! nor ports, restart policy or other networks. Everything carries the label [`SANDBOX_LABEL`] with the
//! sandbox's purpose, so what a killed run left is found and removed by [`Sandbox::remove_leftovers`].

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use bollard::models::{ContainerCreateBody, HostConfig, Mount, MountType, NetworkCreateRequest};
use bollard::query_parameters::{
    CreateContainerOptions, ListContainersOptions, ListNetworksOptions, RemoveContainerOptions,
};

use crate::container::{HealthStatus, State};
use crate::engine::{DockerError, Engine};

/// The label of every sandbox network and container; its value is the sandbox's purpose.
pub const SANDBOX_LABEL: &str = "magi.sandbox";

/// How long a sandboxed container without a health check must stay running to count as up.
const STAYS_UP: Duration = Duration::from_secs(5);

/// How often a starting container is looked at.
const LOOK_EVERY: Duration = Duration::from_millis(250);

/// A sandbox: its network and the containers created in it.
#[derive(Debug)]
pub struct Sandbox {
    engine: Engine,
    purpose: String,
    network: String,
    containers: Vec<String>,
}

/// How a sandboxed container came up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Up {
    /// Its Docker health check passed this long after it was started.
    Healthy(Duration),
    /// It has no health check, and was still running this long after it was started.
    Running(Duration),
}

impl Up {
    pub fn after(self) -> Duration {
        match self {
            Up::Healthy(after) | Up::Running(after) => after,
        }
    }
}

impl Sandbox {
    /// Creates the sandbox's network, `magi-PURPOSE-PID`, internal and labelled.
    pub async fn create(engine: &Engine, purpose: &str) -> Result<Sandbox, DockerError> {
        let network = format!("magi-{purpose}-{}", std::process::id());
        let request = NetworkCreateRequest {
            name: network.clone(),
            driver: Some("bridge".into()),
            internal: Some(true),
            labels: Some(HashMap::from([(SANDBOX_LABEL.into(), purpose.into())])),
            ..NetworkCreateRequest::default()
        };
        engine
            .docker
            .create_network(request)
            .await
            .map_err(|e| engine.failed(&network, "create the sandbox network", e))?;
        Ok(Sandbox {
            engine: engine.clone(),
            purpose: purpose.to_owned(),
            network,
            containers: Vec::new(),
        })
    }

    /// The sandbox's network.
    pub fn network(&self) -> &str {
        &self.network
    }

    /// Creates (not starts) a copy of the container `live` in the sandbox, named `magi-PURPOSE-LIVE`,
    /// with each bind mount whose source is a key of `replace` mounted from its value instead (read-write
    /// as the live one is) and every other bind mount read-only. The name of the copy.
    pub async fn copy(
        &mut self,
        live: &str,
        replace: &HashMap<PathBuf, PathBuf>,
    ) -> Result<String, DockerError> {
        let docker = &self.engine.docker;
        let inspected = docker
            .inspect_container(live, None)
            .await
            .map_err(|e| self.engine.failed(live, "inspect", e))?;
        let config = inspected.config.unwrap_or_default();
        let mut mounts = Vec::new();
        for point in inspected.mounts.unwrap_or_default() {
            let (Some(source), Some(target)) = (point.source, point.destination) else {
                continue;
            };
            if point.typ.as_deref() != Some("bind") {
                continue;
            }
            let (source, read_only) = match replace.get(Path::new(&source)) {
                Some(copy) => (copy.display().to_string(), point.rw == Some(false)),
                None => (source, true),
            };
            mounts.push(Mount {
                target: Some(target),
                source: Some(source),
                typ: Some(MountType::BIND),
                read_only: Some(read_only),
                ..Mount::default()
            });
        }
        let name = format!("magi-{}-{}", self.purpose, live.trim_start_matches('/'));
        let body = ContainerCreateBody {
            image: inspected.image.or(config.image),
            user: config.user,
            env: config.env,
            cmd: config.cmd,
            entrypoint: config.entrypoint,
            working_dir: config.working_dir,
            healthcheck: config.healthcheck,
            stop_signal: config.stop_signal,
            labels: Some(HashMap::from([
                (SANDBOX_LABEL.into(), self.purpose.clone()),
                ("magi.sandbox.copy-of".into(), live.to_owned()),
            ])),
            host_config: Some(HostConfig {
                mounts: Some(mounts),
                network_mode: Some(self.network.clone()),
                init: inspected.host_config.and_then(|h| h.init),
                ..HostConfig::default()
            }),
            ..ContainerCreateBody::default()
        };
        let options = CreateContainerOptions {
            name: Some(name.clone()),
            ..CreateContainerOptions::default()
        };
        docker
            .create_container(Some(options), body)
            .await
            .map_err(|e| self.engine.failed(&name, "create", e))?;
        self.containers.push(name.clone());
        Ok(name)
    }

    /// Starts a copy and waits until it is up: its health check passed, or, with none, it kept running
    /// for a few seconds. An exit, a failed health check or `timeout` is an error that says which.
    pub async fn start_and_wait(&self, name: &str, timeout: Duration) -> Result<Up, DockerError> {
        let started = Instant::now();
        self.engine.start(name).await?;
        let failed = |message: String| DockerError::Container {
            container: name.to_owned(),
            action: "come up in the sandbox",
            message,
        };
        loop {
            let container = self.engine.inspect(name).await?;
            let after = started.elapsed();
            match (container.state, &container.health) {
                (State::Running, Some(health)) if health.status == HealthStatus::Healthy => {
                    return Ok(Up::Healthy(after));
                }
                (State::Running, Some(health)) if health.status == HealthStatus::Unhealthy => {
                    let said = health.last_output.clone().unwrap_or_default();
                    return Err(failed(format!(
                        "its health check failed {} time(s) after {:.1} s: {said}",
                        health.failing_streak,
                        after.as_secs_f64()
                    )));
                }
                (State::Running, None) if after >= STAYS_UP => return Ok(Up::Running(after)),
                (State::Running | State::Created | State::Restarting, _) => {}
                (state, _) => {
                    return Err(failed(format!(
                        "it is {state} after {:.1} s",
                        after.as_secs_f64()
                    )));
                }
            }
            if after >= timeout {
                return Err(failed(format!(
                    "not up after {:.0} s",
                    timeout.as_secs_f64()
                )));
            }
            tokio::time::sleep(LOOK_EVERY).await;
        }
    }

    /// Removes the sandbox's containers (with their anonymous volumes) and its network.
    pub async fn remove(self) -> Result<(), DockerError> {
        for name in &self.containers {
            remove_container(&self.engine, name).await?;
        }
        remove_network(&self.engine, &self.network).await
    }

    /// Removes every container and network labelled as a sandbox of `purpose` (a killed run's); how many.
    pub async fn remove_leftovers(engine: &Engine, purpose: &str) -> Result<usize, DockerError> {
        let filters = HashMap::from([(
            "label".to_owned(),
            vec![format!("{SANDBOX_LABEL}={purpose}")],
        )]);
        let containers = engine
            .docker
            .list_containers(Some(ListContainersOptions {
                all: true,
                filters: Some(filters.clone()),
                ..ListContainersOptions::default()
            }))
            .await
            .map_err(|e| engine.failed(purpose, "list the sandbox containers", e))?;
        let networks = engine
            .docker
            .list_networks(Some(ListNetworksOptions {
                filters: Some(filters),
            }))
            .await
            .map_err(|e| engine.failed(purpose, "list the sandbox networks", e))?;
        let mut removed = 0;
        for id in containers.into_iter().filter_map(|c| c.id) {
            remove_container(engine, &id).await?;
            removed += 1;
        }
        for id in networks.into_iter().filter_map(|n| n.id) {
            remove_network(engine, &id).await?;
            removed += 1;
        }
        Ok(removed)
    }
}

/// The sources of the bind mounts of the container `name`; `None` when there is no such container.
pub async fn bind_sources(
    engine: &Engine,
    name: &str,
) -> Result<Option<Vec<PathBuf>>, DockerError> {
    match engine.docker.inspect_container(name, None).await {
        Ok(inspected) => Ok(Some(
            inspected
                .mounts
                .unwrap_or_default()
                .into_iter()
                .filter(|m| m.typ.as_deref() == Some("bind"))
                .filter_map(|m| m.source.map(PathBuf::from))
                .collect(),
        )),
        Err(bollard::errors::Error::DockerResponseServerError {
            status_code: 404, ..
        }) => Ok(None),
        Err(e) => Err(engine.failed(name, "inspect", e)),
    }
}

async fn remove_container(engine: &Engine, name: &str) -> Result<(), DockerError> {
    let options = RemoveContainerOptions {
        force: true,
        v: true,
        ..RemoveContainerOptions::default()
    };
    match engine.docker.remove_container(name, Some(options)).await {
        Ok(()) => Ok(()),
        Err(bollard::errors::Error::DockerResponseServerError {
            status_code: 404, ..
        }) => Ok(()),
        Err(e) => Err(engine.failed(name, "remove", e)),
    }
}

async fn remove_network(engine: &Engine, name: &str) -> Result<(), DockerError> {
    match engine.docker.remove_network(name).await {
        Ok(()) => Ok(()),
        Err(bollard::errors::Error::DockerResponseServerError {
            status_code: 404, ..
        }) => Ok(()),
        Err(e) => Err(engine.failed(name, "remove the sandbox network", e)),
    }
}
