//! The mini MAGI stack: the real container names on a user-defined Docker network, data bind-mounted from a
//! temporary MAGI home, a generated `magi.toml` whose probes point at the ports Docker published, and the
//! levers tests pull to break it (stop, kill, pause, unhealthy, broken probe, removed).
//!
//! The HTTP services are busybox `httpd` answering their real probe path; Qdrant is the stand-in; Redis is
//! the real `redis-server`. Only one mini stack can exist on a machine at a time (the names are real), so
//! [`MiniStack::up`] takes a machine-wide turn that [`Drop`] gives back after removing everything.

use std::ffi::OsString;
use std::fs;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use magi_core::Probe;
use magi_core::config::Config;
use magi_core::paths::Paths;
use serde_json::json;

use crate::component::Component;
use crate::docker::{ContainerState, DockerError, docker, inspect, must};
use crate::lock::Turn;
use crate::port::free_ports;
use crate::{image, seed};

/// The label every container and network of the rig carries, so a leftover of a killed run is found.
pub const LABEL: &str = "magi.test=1";
/// The prefix of the mini stack's Docker network. Each stack makes its own network (prefix, process id and
/// time), so a network that Docker cannot remove (a stale endpoint, moby#23302) never blocks the next stack.
const NETWORK_PREFIX: &str = "magi-test-net";
/// Where each container sees its control directory (probe files and the markers below).
const CONTROL: &str = "/magi-test";

/// How long a service may take to become healthy before a test fails.
const HEALTHY_TIMEOUT: Duration = Duration::from_secs(60);

/// How the service answers inside its container.
#[derive(Debug)]
enum Kind {
    /// busybox `httpd` serving `body` at the catalog's probe path.
    Httpd { body: &'static str },
    /// The Qdrant stand-in.
    Qdrant,
    /// The real Redis server.
    Redis,
}

/// One service of the mini stack.
#[derive(Debug)]
struct Fixture {
    /// The catalog (compose) name.
    service: &'static str,
    /// The port the service listens on inside its container.
    port: u16,
    kind: Kind,
    /// Bind mounts: (path under the MAGI home, path in the container, read-only).
    mounts: &'static [(&'static str, &'static str, bool)],
    /// Whether the real service has a Docker HEALTHCHECK.
    healthcheck: bool,
}

/// The services the mini stack starts: all but the compose profiles' playwright and caddy.
const FIXTURES: [Fixture; 10] = [
    Fixture {
        service: "open-webui",
        port: 8080,
        kind: Kind::Httpd {
            body: r#"{"status":true}"#,
        },
        mounts: &[("data/open-webui", "/app/backend/data", false)],
        healthcheck: true,
    },
    Fixture {
        service: "litellm",
        port: 4000,
        kind: Kind::Httpd {
            body: r#""I'm alive!""#,
        },
        mounts: &[("config/litellm/config.yaml", "/app/config.yaml", true)],
        healthcheck: true,
    },
    Fixture {
        service: "qdrant",
        port: 6333,
        kind: Kind::Qdrant,
        mounts: &[("data/qdrant", "/qdrant/storage", false)],
        healthcheck: true,
    },
    Fixture {
        service: "redis",
        port: 6379,
        kind: Kind::Redis,
        mounts: &[("data/redis", "/data", false)],
        healthcheck: true,
    },
    Fixture {
        service: "searxng",
        port: 8080,
        kind: Kind::Httpd { body: "OK" },
        mounts: &[("config/searxng", "/etc/searxng", false)],
        healthcheck: false,
    },
    Fixture {
        service: "n8n",
        port: 5678,
        kind: Kind::Httpd {
            body: r#"{"status":"ok"}"#,
        },
        mounts: &[("data/n8n", "/home/node/.n8n", false)],
        healthcheck: true,
    },
    Fixture {
        service: "firecrawl",
        port: 3002,
        kind: Kind::Httpd {
            body: r#"{"status":"healthy"}"#,
        },
        mounts: &[],
        healthcheck: false,
    },
    Fixture {
        service: "mcpo",
        port: 9000,
        kind: Kind::Httpd {
            body: r#"{"openapi":"3.1.0","info":{"title":"mcpo","version":"0.0.17"},"paths":{}}"#,
        },
        mounts: &[],
        healthcheck: false,
    },
    Fixture {
        service: "youtube-mcp",
        port: 9001,
        kind: Kind::Httpd {
            body: r#"{"openapi":"3.1.0","info":{"title":"youtube-mcp","version":"0.0.17"},"paths":{}}"#,
        },
        mounts: &[],
        healthcheck: false,
    },
    Fixture {
        service: "jupyter",
        port: 8888,
        kind: Kind::Httpd {
            body: r#"{"version":"2.14.2"}"#,
        },
        mounts: &[("data/jupyter/notebooks", "/home/jovyan/work", false)],
        healthcheck: false,
    },
];

/// Whether this machine's host reaches container addresses on a Docker network, found out once per process.
static CONTAINER_IPS_REACHABLE: OnceLock<bool> = OnceLock::new();

/// What a probe of a service saw, asked the way our tools ask (HTTP GET, Redis PING).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProbeOutcome {
    /// The HTTP status of the probe URL.
    Http(u16),
    /// Redis's reply to PING (`PONG`, or an error such as `NOAUTH ...`).
    Redis(String),
    /// No answer: refused, reset or timed out.
    Unreachable(String),
}

impl ProbeOutcome {
    /// Whether the service answered as a healthy one does: a 2xx, or `PONG`.
    pub fn is_ok(&self) -> bool {
        match self {
            ProbeOutcome::Http(status) => (200..300).contains(status),
            ProbeOutcome::Redis(reply) => reply == "PONG",
            ProbeOutcome::Unreachable(_) => false,
        }
    }
}

/// A started service.
#[derive(Debug)]
struct Member {
    fixture: &'static Fixture,
    container: String,
    /// The port published on 127.0.0.1, if any (Redis publishes none when container addresses are reachable).
    host_port: Option<u16>,
    /// The probe path from the catalog (HTTP services).
    probe_path: String,
    /// The control directory, mounted at `/magi-test`.
    control: PathBuf,
    /// The stack's network.
    network: String,
}

/// A running mini MAGI stack; dropped, it removes its containers, network and temporary directory, in
/// that order, then gives the turn back.
#[derive(Debug)]
pub struct MiniStack {
    /// First, so the containers go before their bind-mounted directories, and the turn last.
    _cleanup: Cleanup,
    members: Vec<Member>,
    catalog: Config,
    home: PathBuf,
    config_path: PathBuf,
    root: tempfile::TempDir,
    redis_via_container_ip: bool,
    _turn: Turn,
}

impl MiniStack {
    /// Whether a mini stack can run here: Docker, busybox and Redis (the fixture images are made of them),
    /// through [`require`](crate::require), so a test returns early on a developer machine that lacks one:
    /// `if !MiniStack::available() { return; }`.
    pub fn available() -> bool {
        [Component::Docker, Component::Busybox, Component::Redis]
            .into_iter()
            .all(crate::require)
    }

    /// Brings the stack up and returns when every service is healthy: builds the fixture images if needed,
    /// removes a leftover stack of a killed run, writes the MAGI home and `magi.toml`, starts the containers
    /// together, and seeds Qdrant and Redis through their own protocols. Waits for its turn if another test
    /// (in this process or another) holds a stack.
    pub fn up() -> MiniStack {
        let asked = Instant::now();
        let turn = Turn::take("stack");
        let started = Instant::now();
        let (busybox, redis, qdrant) = std::thread::scope(|s| {
            let busybox = s.spawn(image::busybox);
            let redis = s.spawn(image::redis);
            let qdrant = s.spawn(image::qdrant_standin);
            (join(busybox), join(redis), join(qdrant))
        });
        remove_leftovers();
        let cleanup = Cleanup;

        let root = tempfile::Builder::new()
            .prefix("magi-stack-")
            .tempdir()
            .unwrap_or_else(|e| panic!("cannot create a temp dir for the mini stack: {e}"));
        let home = root.path().join("home");
        seed::write_home(&home);
        for dir in ["user", "state", "run", "backups"] {
            create_dir(&root.path().join(dir));
        }
        let catalog = Config::defaults(&Paths::for_test(root.path()));
        let owner = fs::metadata(&home)
            .map(|m| format!("{}:{}", m.uid(), m.gid()))
            .unwrap_or_else(|e| panic!("cannot stat {}: {e}", home.display()));
        let network = format!(
            "{NETWORK_PREFIX}-{}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_millis())
        );
        must(&[
            "network", "create", "--label", LABEL, "--driver", "bridge", &network,
        ]);

        let reachable = CONTAINER_IPS_REACHABLE.get().copied();
        let ports = free_ports(FIXTURES.len());
        let mut members: Vec<Member> = FIXTURES
            .iter()
            .zip(ports)
            .map(|(fixture, port)| {
                let service = catalog
                    .service(fixture.service)
                    .unwrap_or_else(|| panic!("the catalog has no service '{}'", fixture.service));
                let control = root.path().join("control").join(&service.container);
                let publish = !matches!(fixture.kind, Kind::Redis) || reachable == Some(false);
                Member {
                    fixture,
                    container: service.container.clone(),
                    host_port: publish.then_some(port),
                    probe_path: probe_path(service.probe.as_ref()),
                    control,
                    network: network.clone(),
                }
            })
            .collect();
        for member in &members {
            member.write_control();
        }
        let images = Images {
            busybox: &busybox,
            redis: &redis,
            qdrant: &qdrant,
        };
        std::thread::scope(|s| {
            let runs: Vec<_> = members
                .iter_mut()
                .map(|member| {
                    let (images, home, owner) = (&images, &home, &owner);
                    s.spawn(move || member.run(images, home, owner))
                })
                .collect();
            runs.into_iter().for_each(join);
        });

        let mut stack = MiniStack {
            _cleanup: cleanup,
            members,
            catalog,
            config_path: root.path().join("magi.toml"),
            home,
            root,
            redis_via_container_ip: reachable != Some(false),
            _turn: turn,
        };
        let deadline = Instant::now() + HEALTHY_TIMEOUT;
        for member in &stack.members {
            stack.wait_healthy(
                &member.container,
                deadline.saturating_duration_since(Instant::now()),
            );
        }
        if reachable.is_none() {
            stack.find_out_reachability(&images, &owner);
        }
        stack.write_config();
        stack.seed_qdrant();
        stack.seed_redis();
        eprintln!(
            "mini stack up in {:.1}s after {:.1}s waiting for its turn ({})",
            started.elapsed().as_secs_f64(),
            (started - asked).as_secs_f64(),
            stack.root.path().display()
        );
        stack
    }

    /// Redis publishes no port in MAGI: our tools reach it at its container address. Where the host cannot
    /// reach container addresses, Redis is started again with a port published on 127.0.0.1 instead.
    fn find_out_reachability(&mut self, images: &Images, owner: &str) {
        let reachable = self
            .container_address("redis")
            .map(|addr| redis_ping(&addr).is_ok())
            .unwrap_or(false);
        CONTAINER_IPS_REACHABLE.get_or_init(|| reachable);
        if reachable {
            return;
        }
        self.redis_via_container_ip = false;
        let home = self.home.clone();
        let member = self.member_mut("redis");
        member.host_port = Some(free_ports(1)[0]);
        must(&["rm", "-f", "-v", &member.container]);
        member.run(images, &home, owner);
        self.wait_healthy("redis", HEALTHY_TIMEOUT);
    }

    /// The MAGI home (`MAGI_HOME`): `.env`, `docker-compose.yml`, `config/`, `workflows/`, `data/`.
    pub fn home(&self) -> &Path {
        &self.home
    }

    /// The backup directory `magi.toml` names (`backup_dir`).
    pub fn backups(&self) -> PathBuf {
        self.root.path().join("backups")
    }

    /// The generated `magi.toml`: the built-in catalog with every probe pointed at the published port.
    pub fn config_path(&self) -> &Path {
        &self.config_path
    }

    /// The environment for running our binaries against this stack: `MAGI_CONFIG`, `MAGI_HOME`, and a
    /// `HOME`, XDG directories and systemd unit directories (`STATE_DIRECTORY`, `RUNTIME_DIRECTORY`) under
    /// the temporary directory, so no state reaches the real system even when the tests run as root.
    pub fn env(&self) -> Vec<(&'static str, OsString)> {
        let root = self.root.path();
        let path = |p: PathBuf| p.into_os_string();
        vec![
            ("MAGI_CONFIG", path(self.config_path.clone())),
            ("MAGI_HOME", path(self.home.clone())),
            ("HOME", path(root.join("user"))),
            ("XDG_CONFIG_HOME", path(root.join("user/.config"))),
            ("XDG_STATE_HOME", path(root.join("user/.local/state"))),
            ("XDG_DATA_HOME", path(root.join("user/.local/share"))),
            ("XDG_CACHE_HOME", path(root.join("user/.cache"))),
            ("XDG_RUNTIME_DIR", path(root.join("run"))),
            ("STATE_DIRECTORY", path(root.join("state"))),
            ("RUNTIME_DIRECTORY", path(root.join("run/magi"))),
        ]
    }

    /// A [`Command`] for one of our binaries with [`MiniStack::env`] set and no journal connection.
    pub fn command(&self, binary: &str) -> Command {
        let mut command = crate::bin(binary);
        command.envs(self.env()).env_remove("JOURNAL_STREAM");
        command
    }

    /// The catalog names of the services the stack started.
    pub fn services(&self) -> Vec<&'static str> {
        self.members.iter().map(|m| m.fixture.service).collect()
    }

    /// The host port (on 127.0.0.1) a service's port is published on. Panics for a service that publishes
    /// none (Redis, when the host reaches container addresses: see [`MiniStack::redis_addr`]).
    pub fn published_port(&self, service: &str) -> u16 {
        let member = self.member(service);
        member.host_port.unwrap_or_else(|| {
            panic!(
                "{} publishes no port: the host reaches it at its container address",
                member.container
            )
        })
    }

    /// The base URL of the Qdrant stand-in, e.g. `http://127.0.0.1:32801`.
    pub fn qdrant_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.published_port("qdrant"))
    }

    /// Where Redis answers for the tools: the container's current address on the stack's network when the
    /// config says `redis://magi-nervous-system:6379`, else the published loopback port.
    pub fn redis_addr(&self) -> String {
        if self.redis_via_container_ip {
            self.container_address("redis").unwrap_or_else(|| {
                panic!("magi-nervous-system has no address on the stack's network: is it running?")
            })
        } else {
            format!("127.0.0.1:{}", self.published_port("redis"))
        }
    }

    fn container_address(&self, service: &str) -> Option<String> {
        let member = self.member(service);
        self.container_state(&member.container)?
            .addresses
            .into_iter()
            .find(|(network, _)| *network == member.network)
            .map(|(_, ip)| format!("{ip}:{}", member.fixture.port))
    }

    /// The container's state from `docker inspect`; `None` when it does not exist (removed, or a compose
    /// profile's service such as `caddy`).
    pub fn container_state(&self, service: &str) -> Option<ContainerState> {
        let container = self.container_name(service);
        inspect(&[container])
            .unwrap_or_else(|e| panic!("{e}"))
            .into_iter()
            .next()
    }

    /// Asks the service's probe once, as our tools would, with a 2 s timeout.
    pub fn probe(&self, service: &str) -> ProbeOutcome {
        let member = self.member(service);
        match member.fixture.kind {
            Kind::Redis => {
                let addr = if self.redis_via_container_ip {
                    match self.container_address("redis") {
                        Some(addr) => addr,
                        None => {
                            return ProbeOutcome::Unreachable(format!(
                                "{} has no address on {} (not running)",
                                member.container, member.network
                            ));
                        }
                    }
                } else {
                    self.redis_addr()
                };
                match redis_ping(&addr) {
                    Ok(reply) => ProbeOutcome::Redis(reply),
                    Err(e) => ProbeOutcome::Unreachable(e),
                }
            }
            Kind::Httpd { .. } | Kind::Qdrant => {
                let url = format!(
                    "http://127.0.0.1:{}{}",
                    self.published_port(service),
                    member.probe_path
                );
                http_status(&url)
            }
        }
    }

    /// `docker stop`: SIGTERM, then the container exits.
    pub fn stop(&self, service: &str) {
        must(&["stop", "--time", "5", self.container_name(service)]);
    }

    /// `docker start` of a stopped or killed container; its published port stays the same.
    pub fn start(&self, service: &str) {
        must(&["start", self.container_name(service)]);
    }

    /// `docker kill`: SIGKILL; the container exits with 137.
    pub fn kill(&self, service: &str) {
        must(&["kill", "--signal", "KILL", self.container_name(service)]);
    }

    /// `docker pause`: the container is frozen; its probe times out.
    pub fn pause(&self, service: &str) {
        must(&["pause", self.container_name(service)]);
    }

    /// `docker unpause`.
    pub fn unpause(&self, service: &str) {
        must(&["unpause", self.container_name(service)]);
    }

    /// `docker rm -f`: the container is gone ("missing" to our tools).
    pub fn remove(&self, service: &str) {
        must(&["rm", "--force", "--volumes", self.container_name(service)]);
    }

    /// Makes Docker's healthcheck fail while the probe still answers. Panics for a service whose real image
    /// has no healthcheck.
    pub fn make_unhealthy(&self, service: &str) {
        let member = self.member_with_healthcheck(service);
        touch(&member.control.join("unhealthy"));
    }

    /// Undoes [`MiniStack::make_unhealthy`]; Docker reports healthy again after the next check.
    pub fn make_healthy(&self, service: &str) {
        let member = self.member_with_healthcheck(service);
        remove_file(&member.control.join("unhealthy"));
    }

    /// Makes the probe endpoint fail while the container keeps running: HTTP services answer 404, Qdrant
    /// answers 503 on `/readyz` (not ready), Redis answers PING with `NOAUTH` (a password was set).
    pub fn break_probe(&self, service: &str) {
        let member = self.member(service);
        match member.fixture.kind {
            Kind::Httpd { .. } => remove_file(&member.www_file()),
            Kind::Qdrant => touch(&member.control.join("unready")),
            Kind::Redis => {
                must(&[
                    "exec",
                    &member.container,
                    "redis-cli",
                    "CONFIG",
                    "SET",
                    "requirepass",
                    "magi-broken-probe",
                ]);
            }
        }
    }

    /// Undoes [`MiniStack::break_probe`].
    pub fn fix_probe(&self, service: &str) {
        let member = self.member(service);
        match member.fixture.kind {
            Kind::Httpd { .. } => member.write_control(),
            Kind::Qdrant => remove_file(&member.control.join("unready")),
            Kind::Redis => {
                must(&[
                    "exec",
                    &member.container,
                    "redis-cli",
                    "-a",
                    "magi-broken-probe",
                    "--no-auth-warning",
                    "CONFIG",
                    "SET",
                    "requirepass",
                    "",
                ]);
            }
        }
    }

    /// Waits until the service is healthy: Docker reports `healthy` where the service has a healthcheck,
    /// else it runs and its probe answers. Panics at the timeout with the last state seen.
    pub fn wait_healthy(&self, service: &str, timeout: Duration) {
        let member = self.member(service);
        let deadline = Instant::now() + timeout;
        loop {
            let state = self.container_state(&member.container);
            let healthy = match &state {
                Some(s) if member.fixture.healthcheck => s.health.as_deref() == Some("healthy"),
                Some(s) => s.running && !s.paused && self.probe(service).is_ok(),
                None => false,
            };
            if healthy {
                return;
            }
            if Instant::now() > deadline {
                panic!(
                    "{} is not healthy after {timeout:?}; last state: {state:?}; probe: {:?}",
                    member.container,
                    self.probe(service)
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Waits until `condition` holds for the container's state (`None`: missing) and returns that state.
    /// Panics at the timeout, naming `what` was awaited and the last state seen.
    pub fn wait_for(
        &self,
        service: &str,
        what: &str,
        timeout: Duration,
        condition: impl Fn(Option<&ContainerState>) -> bool,
    ) -> Option<ContainerState> {
        let deadline = Instant::now() + timeout;
        loop {
            let state = self.container_state(service);
            if condition(state.as_ref()) {
                return state;
            }
            if Instant::now() > deadline {
                panic!(
                    "{} did not become {what} within {timeout:?}; last state: {state:?}",
                    self.container_name(service)
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The container name of a service named by catalog or container name (`qdrant` or `magi-memory`),
    /// including the compose profiles' services the stack does not start.
    fn container_name(&self, service: &str) -> &str {
        match self.catalog.service(service) {
            Some(s) => &s.container,
            None => panic!(
                "no service '{service}' in the catalog (known: {})",
                self.catalog
                    .services
                    .iter()
                    .map(|s| s.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }
    }

    fn member(&self, service: &str) -> &Member {
        let container = self.container_name(service);
        self.members
            .iter()
            .find(|m| m.container == container)
            .unwrap_or_else(|| {
                panic!("{container} is not started by the mini stack (a compose profile's service)")
            })
    }

    fn member_mut(&mut self, service: &str) -> &mut Member {
        let container = self.container_name(service).to_owned();
        self.members
            .iter_mut()
            .find(|m| m.container == container)
            .unwrap_or_else(|| panic!("{container} is not started by the mini stack"))
    }

    fn member_with_healthcheck(&self, service: &str) -> &Member {
        let member = self.member(service);
        if !member.fixture.healthcheck {
            panic!(
                "{} has no Docker healthcheck (the real image has none): use break_probe or stop",
                member.container
            );
        }
        member
    }

    fn write_config(&self) {
        let mut text = format!(
            "# Written by magi-testkit for the mini MAGI stack: the built-in catalog, with every probe\n\
             # pointed at the port Docker published on 127.0.0.1.\n\n\
             [stack]\nhome = {:?}\nbackup_dir = {:?}\n\n\
             # The host's own free space must not decide the stack's verdict in a test.\n\
             [health]\ndisk_free_percent = 0\n\n",
            self.home.display().to_string(),
            self.root.path().join("backups").display().to_string()
        );
        for member in &self.members {
            let probe = match (&member.fixture.kind, self.redis_via_container_ip) {
                (Kind::Redis, true) => {
                    format!("redis://{}:{}", member.container, member.fixture.port)
                }
                (Kind::Redis, false) => {
                    format!("redis://127.0.0.1:{}", self.published_port("redis"))
                }
                _ => format!(
                    "http://127.0.0.1:{}{}",
                    self.published_port(member.fixture.service),
                    member.probe_path
                ),
            };
            text.push_str(&format!(
                "\n[services.{}]\nprobe = {probe:?}\n",
                member.fixture.service
            ));
        }
        fs::write(&self.config_path, text)
            .unwrap_or_else(|e| panic!("cannot write {}: {e}", self.config_path.display()));
    }

    /// Two collections with a few points each, through the stand-in's HTTP API.
    fn seed_qdrant(&self) {
        let base = self.qdrant_url();
        let collections = [
            ("open-webui_knowledge", "Cosine", 3),
            ("magi_memories", "Dot", 4),
        ];
        for (name, distance, count) in collections {
            qdrant_put(
                &format!("{base}/collections/{name}"),
                &json!({ "vectors": { "size": 4, "distance": distance } }),
            );
            let points: Vec<_> = (1..=count)
                .map(|i| {
                    let x = i as f32 / 10.0;
                    json!({
                        "id": i,
                        "vector": [x, 1.0 - x, x / 2.0, 0.5],
                        "payload": { "text": format!("{name} memory {i}"), "user": "ada@magi.test" }
                    })
                })
                .collect();
            qdrant_put(
                &format!("{base}/collections/{name}/points?wait=true"),
                &json!({ "points": points }),
            );
        }
    }

    /// Keys of several types, then `SAVE`, so `data/redis/dump.rdb` exists.
    fn seed_redis(&self) {
        let script = "redis-cli SET magi:greeting hello >/dev/null \
            && redis-cli HSET magi:user:ada name Ada role admin >/dev/null \
            && redis-cli RPUSH bull:scrape:wait job-1 job-2 job-3 >/dev/null \
            && redis-cli SADD magi:tags backup health alert >/dev/null \
            && redis-cli ZADD magi:spend 3.2 gpt-4o-mini 11.75 claude-sonnet >/dev/null \
            && redis-cli SET magi:session:abc token EX 86400 >/dev/null \
            && redis-cli SAVE";
        let member = self.member("redis");
        let reply = must(&["exec", &member.container, "sh", "-c", script]);
        assert_eq!(reply, "OK", "redis SAVE answered {reply:?}");
    }
}

/// Removes the stack's containers and network when dropped: held from the start of [`MiniStack::up`], so a
/// bring-up that fails half-way leaves nothing running either.
#[derive(Debug)]
struct Cleanup;

impl Drop for Cleanup {
    /// Removes every labelled container (a test's own extra ones included: the turn is ours) and the
    /// network.
    fn drop(&mut self) {
        if let Err(e) = remove_labelled() {
            eprintln!("cleaning up the mini stack: {e}");
        }
    }
}

/// `docker rm -f` of every container with the rig's label, then the network.
fn remove_labelled() -> Result<(), DockerError> {
    let ids = docker(&[
        "ps",
        "--all",
        "--quiet",
        "--filter",
        &format!("label={LABEL}"),
    ])?;
    let ids: Vec<&str> = ids.split_whitespace().collect();
    if !ids.is_empty() {
        let mut args = vec!["rm", "--force", "--volumes"];
        args.extend(ids);
        docker(&args)?;
    }
    let networks = docker(&[
        "network",
        "ls",
        "--quiet",
        "--filter",
        &format!("label={LABEL}"),
    ])?;
    for network in networks.split_whitespace() {
        remove_network(network);
    }
    Ok(())
}

/// Removes a network of the rig. Docker sometimes keeps an endpoint of a removed container (moby#23302):
/// those are disconnected by force, and a network that still will not go is left with a warning, since the
/// next stack makes a network of its own.
fn remove_network(network: &str) {
    if docker(&["network", "rm", network]).is_ok() {
        return;
    }
    if let Ok(endpoints) = docker(&[
        "network",
        "inspect",
        "--format",
        "{{range .Containers}}{{.Name}} {{end}}",
        network,
    ]) {
        for endpoint in endpoints.split_whitespace() {
            let _ = docker(&["network", "disconnect", "--force", network, endpoint]);
        }
    }
    if let Err(e) = docker(&["network", "rm", network]) {
        eprintln!("leaving the mini stack's old network {network} behind: {e}");
    }
}

struct Images<'a> {
    busybox: &'a str,
    redis: &'a str,
    qdrant: &'a str,
}

impl Member {
    fn www_file(&self) -> PathBuf {
        self.control
            .join("www")
            .join(self.probe_path.trim_start_matches('/'))
    }

    /// The control directory: the probe file for `httpd`, no markers.
    fn write_control(&self) {
        create_dir(&self.control);
        if let Kind::Httpd { body } = self.fixture.kind {
            let file = self.www_file();
            if let Some(parent) = file.parent() {
                create_dir(parent);
            }
            fs::write(&file, body)
                .unwrap_or_else(|e| panic!("cannot write {}: {e}", file.display()));
        }
    }

    /// `docker run -d` of this service; a published port that another process took meanwhile is replaced.
    fn run(&mut self, images: &Images, home: &Path, owner: &str) {
        for attempt in 1.. {
            match docker(&self.run_args(images, home, owner)) {
                Ok(_) => return,
                Err(e) if attempt < 3 && is_port_clash(&e) => {
                    // The half-created container holds the name; it must go before the next try.
                    let _ = docker(&["rm", "--force", &self.container]);
                    self.host_port = Some(free_ports(1)[0]);
                }
                Err(e) => panic!("{e}"),
            }
        }
    }

    fn run_args(&self, images: &Images, home: &Path, owner: &str) -> Vec<String> {
        let f = self.fixture;
        let mut args: Vec<String> = [
            "run",
            "--detach",
            "--init",
            "--name",
            &self.container,
            "--network",
            &self.network,
            "--network-alias",
            f.service,
            "--label",
            LABEL,
            "--label",
            "com.docker.compose.project=magi",
            "--user",
            owner,
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
        args.push("--label".into());
        args.push(format!("com.docker.compose.service={}", f.service));
        if let Some(port) = self.host_port {
            args.push("--publish".into());
            args.push(format!("127.0.0.1:{port}:{}", f.port));
        }
        args.push("--volume".into());
        args.push(format!("{}:{CONTROL}", self.control.display()));
        for (host, inside, read_only) in f.mounts {
            args.push("--volume".into());
            let mode = if *read_only { ":ro" } else { "" };
            args.push(format!("{}:{inside}{mode}", home.join(host).display()));
        }
        if f.healthcheck {
            let check = match f.kind {
                Kind::Redis => "redis-cli ping | grep -q PONG".to_owned(),
                _ => format!(
                    "wget -q -O /dev/null http://127.0.0.1:{}{}",
                    f.port, self.probe_path
                ),
            };
            args.extend([
                "--health-cmd".to_owned(),
                format!("test ! -e {CONTROL}/unhealthy && {check}"),
                "--health-interval".to_owned(),
                "1s".to_owned(),
                "--health-timeout".to_owned(),
                "3s".to_owned(),
                "--health-retries".to_owned(),
                "2".to_owned(),
            ]);
        }
        let command: Vec<String> = match f.kind {
            Kind::Httpd { .. } => vec![
                images.busybox.into(),
                "httpd".into(),
                "-f".into(),
                "-p".into(),
                f.port.to_string(),
                "-h".into(),
                format!("{CONTROL}/www"),
            ],
            Kind::Qdrant => vec![
                images.qdrant.into(),
                "/usr/local/bin/qdrant-standin".into(),
                "--storage".into(),
                "/qdrant/storage".into(),
                "--listen".into(),
                format!("0.0.0.0:{}", f.port),
                "--unready-flag".into(),
                format!("{CONTROL}/unready"),
            ],
            Kind::Redis => vec![
                images.redis.into(),
                "redis-server".into(),
                "--dir".into(),
                "/data".into(),
                "--port".into(),
                f.port.to_string(),
                "--protected-mode".into(),
                "no".into(),
                "--appendonly".into(),
                "no".into(),
            ],
        };
        args.extend(command);
        args
    }
}

fn is_port_clash(e: &DockerError) -> bool {
    e.stderr.contains("port is already allocated") || e.stderr.contains("address already in use")
}

/// Removes what a killed run left behind, and refuses to touch containers that are not the rig's.
fn remove_leftovers() {
    remove_labelled().unwrap_or_else(|e| panic!("removing a leftover mini stack: {e}"));
    let catalog = Config::defaults(&Paths::for_test(Path::new("/nonexistent")));
    let names: Vec<&str> = catalog
        .services
        .iter()
        .map(|s| s.container.as_str())
        .collect();
    let foreign = inspect(&names).unwrap_or_else(|e| panic!("{e}"));
    if let Some(other) = foreign.first() {
        panic!(
            "a container named {} exists and is not a test container: the mini stack needs the real MAGI \
             container names; stop or remove your MAGI stack on this machine first",
            other.name
        );
    }
}

fn probe_path(probe: Option<&Probe>) -> String {
    match probe {
        Some(Probe::Http { url }) => {
            let rest = url.split_once("://").map_or(url.as_str(), |(_, r)| r);
            rest.find('/')
                .map_or("/".to_owned(), |i| rest[i..].to_owned())
        }
        _ => "/".to_owned(),
    }
}

fn join<T>(handle: std::thread::ScopedJoinHandle<'_, T>) -> T {
    handle
        .join()
        .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
}

fn create_dir(path: &Path) {
    fs::create_dir_all(path).unwrap_or_else(|e| panic!("cannot create {}: {e}", path.display()));
}

fn touch(path: &Path) {
    fs::write(path, b"").unwrap_or_else(|e| panic!("cannot create {}: {e}", path.display()));
}

fn remove_file(path: &Path) {
    match fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            panic!("cannot remove {}: {e}", path.display())
        }
        _ => {}
    }
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(2)))
        .build()
        .into()
}

fn http_status(url: &str) -> ProbeOutcome {
    match agent().get(url).call() {
        Ok(response) => ProbeOutcome::Http(response.status().as_u16()),
        Err(e) => ProbeOutcome::Unreachable(format!("GET {url}: {e}")),
    }
}

fn qdrant_put(url: &str, body: &serde_json::Value) {
    let mut response = agent()
        .put(url)
        .send_json(body)
        .unwrap_or_else(|e| panic!("PUT {url}: {e}"));
    let status = response.status();
    let text = response.body_mut().read_to_string().unwrap_or_default();
    assert!(status.is_success(), "PUT {url} answered {status}: {text}");
}

/// Sends `PING` in RESP and returns the reply line (`PONG`, or an error's text).
fn redis_ping(addr: &str) -> Result<String, String> {
    let socket: SocketAddr = addr
        .parse()
        .map_err(|e| format!("'{addr}' is not an address: {e}"))?;
    let timeout = Duration::from_secs(2);
    let mut stream =
        TcpStream::connect_timeout(&socket, timeout).map_err(|e| format!("connect {addr}: {e}"))?;
    stream
        .set_read_timeout(Some(timeout))
        .map_err(|e| format!("{addr}: {e}"))?;
    stream
        .write_all(b"*1\r\n$4\r\nPING\r\n")
        .map_err(|e| format!("send PING to {addr}: {e}"))?;
    let mut reply = Vec::new();
    let mut byte = [0u8; 1];
    while !reply.ends_with(b"\r\n") {
        match stream.read(&mut byte) {
            Ok(0) => return Err(format!("{addr} closed the connection")),
            Ok(_) => reply.push(byte[0]),
            Err(e) => return Err(format!("read PING reply from {addr}: {e}")),
        }
    }
    let line = String::from_utf8_lossy(&reply[..reply.len() - 2]).into_owned();
    Ok(line
        .strip_prefix('+')
        .or_else(|| line.strip_prefix('-'))
        .unwrap_or(&line)
        .to_owned())
}
