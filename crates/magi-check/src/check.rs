//! Collecting: one [`Observation`] per service of the catalog, all services in parallel, each bounded by the
//! timeout as a whole, and the stack's [`Report`] with its verdicts.
//!
//! For each service the container is inspected; if it runs, two resource samples a short window apart give
//! its CPU figure, then its endpoint is probed (a probe host equal to a catalog container name means that
//! container's IP address, as inside Compose), while its data directories are measured. A checker that lives
//! on (`watch`) keeps each container's last sample, so later checks need one sample only.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use jiff::Timestamp;
use magi_core::{Config, Service};
use magi_docker::stats::cpu_percent;
use magi_docker::{Container, Engine, Memory, Sample, State, TransferRate};
use tokio::time::timeout_at;

use crate::probe::{self, ProbeOutcome};
use crate::resources::{self, Disk};
use crate::verdict::{self, StackVerdict, Thresholds, Verdict};

/// How a check is run.
#[derive(Debug, Clone)]
pub struct Options {
    /// The most one service's check may take, probe included.
    pub timeout: Duration,
    pub thresholds: Thresholds,
    /// The shortest span between the two stats samples of a container seen for the first time.
    pub cpu_window: Duration,
    /// How long a data directory's measured size is reused before it is measured again.
    pub size_ttl: Duration,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            timeout: Duration::from_secs(5),
            thresholds: Thresholds::default(),
            cpu_window: Duration::from_millis(100),
            size_ttl: Duration::from_secs(300),
        }
    }
}

/// What was seen of one service.
#[derive(Debug, Clone, PartialEq)]
pub struct Observation {
    /// The container, or why Docker could not say.
    pub container: Result<Container, String>,
    /// `None` for a service without a probe.
    pub probe: Option<ProbeOutcome>,
    /// Percent of one CPU.
    pub cpu_percent: Option<f64>,
    pub memory: Option<Memory>,
    /// Bytes a second received and sent on the container's network since the last sample.
    pub network: Option<TransferRate>,
    /// Bytes a second read from and written to block devices since the last sample.
    pub block_io: Option<TransferRate>,
    /// The size of the service's data directories.
    pub data_bytes: Option<u64>,
    /// How long observing took.
    pub elapsed: Duration,
}

/// One service's part of a report.
#[derive(Debug, Clone)]
pub struct ServiceReport {
    pub service: Service,
    pub observation: Observation,
    pub verdict: Verdict,
}

/// The result of one check of the stack.
#[derive(Debug, Clone)]
pub struct Report {
    pub at: Timestamp,
    pub services: Vec<ServiceReport>,
    pub disks: Vec<Disk>,
    pub stack: StackVerdict,
    pub duration: Duration,
}

/// Checks the stack; reusable, so that CPU baselines and data sizes carry from one check to the next.
pub struct Checker {
    engine: Engine,
    config: Config,
    options: Options,
    /// Each running container's last sample and when it was taken: the start of the next CPU and I/O window.
    baselines: Mutex<HashMap<String, (Sample, tokio::time::Instant)>>,
    sizes: Mutex<HashMap<String, (Instant, Option<u64>)>>,
    /// The engine's root directory, asked once (it does not move while the engine runs).
    docker_root: tokio::sync::OnceCell<Option<std::path::PathBuf>>,
}

impl Checker {
    pub fn new(engine: Engine, config: Config, options: Options) -> Checker {
        Checker {
            engine,
            config,
            options,
            baselines: Mutex::new(HashMap::new()),
            sizes: Mutex::new(HashMap::new()),
            docker_root: tokio::sync::OnceCell::new(),
        }
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// Checks every service of the catalog, or only those named in `only`.
    pub async fn check(&self, only: Option<&[String]>) -> Report {
        let started = Instant::now();
        let at = Timestamp::now();
        let services: Vec<&Service> = self
            .config
            .services
            .iter()
            .filter(|s| only.is_none_or(|names| names.contains(&s.name)))
            .collect();
        let observations =
            futures_util::future::join_all(services.iter().map(|s| self.observe(s))).await;
        let services: Vec<ServiceReport> = services
            .into_iter()
            .zip(observations)
            .map(|(service, observation)| ServiceReport {
                verdict: verdict::judge(service, &observation, &self.options.thresholds),
                service: service.clone(),
                observation,
            })
            .collect();
        let docker_root = self
            .docker_root
            .get_or_init(|| self.engine.root_dir(self.options.timeout))
            .await;
        let disks: Vec<Disk> = [
            ("MAGI home", Some(&self.config.stack.home)),
            ("backups", Some(&self.config.stack.backup_dir)),
            ("Docker", docker_root.as_ref()),
        ]
        .into_iter()
        .filter_map(|(role, path)| Some((role, path?)))
        .filter_map(|(role, path)| Disk::measure(role, path))
        .collect();
        let stack = verdict::judge_stack(
            &self.config,
            services.iter().map(|s| (&s.service, &s.verdict)),
            &disks,
        );
        Report {
            at,
            services,
            disks,
            stack,
            duration: started.elapsed(),
        }
    }

    async fn observe(&self, service: &Service) -> Observation {
        let started = tokio::time::Instant::now();
        let deadline = started + self.options.timeout;
        let name = service.container.as_str();
        let baseline = self
            .baselines
            .lock()
            .expect("not poisoned")
            .get(name)
            .copied();
        let late = |what: &str| {
            format!(
                "Docker did not {what} within {} ms",
                self.options.timeout.as_millis()
            )
        };
        let container = match timeout_at(deadline, self.engine.inspect(name)).await {
            Ok(Ok(c)) => c,
            Ok(Err(e)) => return unknown(e.to_string(), started),
            Err(_) => return unknown(late("describe the container"), started),
        };
        if container.state != State::Running {
            self.baselines.lock().expect("not poisoned").remove(name);
            let probe = service.probe.as_ref().map(|_| ProbeOutcome::Skipped {
                reason: format!("the container is {}", container.state),
            });
            return Observation {
                container: Ok(container),
                probe,
                cpu_percent: None,
                memory: None,
                network: None,
                block_io: None,
                data_bytes: self.data_size(service, deadline).await,
                elapsed: started.elapsed(),
            };
        }
        let probe = async {
            let probe = service.probe.as_ref()?;
            let address = self.address_for(probe.host(), &container, deadline).await;
            let budget = deadline.saturating_duration_since(tokio::time::Instant::now());
            Some(match address {
                Ok(address) => match probe::run(probe, address.as_deref(), budget).await {
                    // The probe had what was left of the service's time; the limit a person set is the timeout.
                    ProbeOutcome::TimedOut { .. } => ProbeOutcome::TimedOut {
                        after: self.options.timeout,
                    },
                    outcome => outcome,
                },
                Err(reason) => ProbeOutcome::Failed { reason },
            })
        };
        let first = match baseline {
            Some(b) => Some(b),
            None => timeout_at(deadline, self.engine.sample(&container))
                .await
                .ok()
                .and_then(Result::ok)
                .map(|s| (s, tokio::time::Instant::now())),
        };
        let second_sample = async {
            if baseline.is_none()
                && let Some((_, taken)) = first
            {
                let ready = taken + self.options.cpu_window;
                tokio::time::sleep_until(ready.min(deadline)).await;
            }
            timeout_at(deadline, self.engine.sample(&container))
                .await
                .ok()
                .and_then(Result::ok)
                .map(|s| (s, tokio::time::Instant::now()))
        };
        // The CPU window closes before the probe, so the figure is the service's own load, not our request's.
        let sampled_then_probed = async {
            let second = second_sample.await;
            (second, probe.await)
        };
        let ((second, probe), data_bytes) =
            tokio::join!(sampled_then_probed, self.data_size(service, deadline));
        let (cpu_percent, network, block_io) = match (&first, &second) {
            (Some((a, at)), Some((b, bt))) => {
                let seconds = bt.duration_since(*at).as_secs_f64();
                let rate = |before: Option<magi_docker::Transfer>,
                            after: Option<magi_docker::Transfer>| {
                    after?.rate(&before?, seconds)
                };
                (
                    a.cpu.zip(b.cpu).and_then(|(a, b)| cpu_percent(&a, &b)),
                    rate(a.network, b.network),
                    rate(a.block, b.block),
                )
            }
            _ => (None, None, None),
        };
        let memory = second.and_then(|(s, _)| s.memory);
        if let Some(second) = second {
            self.baselines
                .lock()
                .expect("not poisoned")
                .insert(name.to_owned(), second);
        }
        Observation {
            container: Ok(container),
            probe,
            cpu_percent,
            memory,
            network,
            block_io,
            data_bytes,
            elapsed: started.elapsed(),
        }
    }

    /// The address to probe for `host`: a catalog container's IP, or `None` to resolve the host as written.
    async fn address_for(
        &self,
        host: &str,
        own: &Container,
        deadline: tokio::time::Instant,
    ) -> Result<Option<String>, String> {
        if !self.config.services.iter().any(|s| s.container == host) {
            return Ok(None);
        }
        let other;
        let container = if own.name == host {
            own
        } else {
            other = timeout_at(deadline, self.engine.inspect(host))
                .await
                .map_err(|_| format!("Docker did not describe {host} in time"))?
                .map_err(|e| e.to_string())?;
            &other
        };
        container
            .ip()
            .map(|ip| Some(ip.to_owned()))
            .ok_or_else(|| format!("container {host} has no IP address on any network"))
    }

    async fn data_size(&self, service: &Service, deadline: tokio::time::Instant) -> Option<u64> {
        if service.data.is_empty() {
            return None;
        }
        if let Some((at, size)) = self.sizes.lock().expect("not poisoned").get(&service.name)
            && at.elapsed() < self.options.size_ttl
        {
            return *size;
        }
        let paths: Vec<_> = service
            .data
            .iter()
            .map(|p| self.config.resolve(p))
            .collect();
        let measured = timeout_at(
            deadline,
            tokio::task::spawn_blocking(move || resources::size_of(&paths)),
        )
        .await
        .ok()?
        .ok()?;
        self.sizes
            .lock()
            .expect("not poisoned")
            .insert(service.name.clone(), (Instant::now(), measured));
        measured
    }
}

fn unknown(reason: String, started: tokio::time::Instant) -> Observation {
    Observation {
        container: Err(reason),
        probe: None,
        cpu_percent: None,
        memory: None,
        network: None,
        block_io: None,
        data_bytes: None,
        elapsed: started.elapsed(),
    }
}
