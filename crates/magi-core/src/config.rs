//! Configuration and the service catalog.
//!
//! The built-in defaults describe the real MAGI stack (container names, probes, data paths, tiers and the
//! dependency map), so a MAGI host needs no config file. A TOML file overrides any of it field by field, adds
//! services, or disables them with `enabled = false`. Loading is strict: an unknown key, a wrong type or a bad
//! value is a [`ConfigError`] that names the file, the line and the dotted key.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Component, Path, PathBuf};
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::paths::Paths;

mod alert;
mod backup;
mod cloud;
mod health;
mod metrics;
mod sla;
mod users;
pub use alert::{
    AlertChannel, AlertConfig, AlertDefaults, AlertRule, CHANNEL_SCHEMES, format_duration,
    parse_duration,
};
pub use backup::BackupConfig;
pub use cloud::CloudConfig;
pub use health::HealthConfig;
pub use metrics::{MetricsConfig, ScrapeTarget};
pub use sla::{SlaConfig, Target as SlaTarget};
pub use users::UsersConfig;

/// Whether the stack works without a service. A core service down takes the stack down; an optional one
/// only degrades it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Tier {
    Core,
    Optional,
}

impl Tier {
    pub fn as_str(self) -> &'static str {
        match self {
            Tier::Core => "core",
            Tier::Optional => "optional",
        }
    }

    /// The tier a name (`core`, `optional`) stands for.
    pub fn from_name(name: &str) -> Option<Tier> {
        match name {
            "core" => Some(Tier::Core),
            "optional" => Some(Tier::Optional),
            _ => None,
        }
    }
}

impl<'de> Deserialize<'de> for Tier {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = String::deserialize(deserializer)?;
        Tier::from_name(&name).ok_or_else(|| {
            serde::de::Error::custom(format!("unknown tier '{name}' (core or optional)"))
        })
    }
}

/// How to ask a service whether it answers: its own health endpoint.
///
/// Written in the config as a URL: `http://` or `https://` for an HTTP GET that must answer 2xx, `redis://`
/// for a Redis `PING`, `tcp://` for a bare connect. A host equal to a container name of the catalog means that
/// container's address on its Docker network, as inside Compose (Redis publishes no host port).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Probe {
    Http { url: String },
    Redis { host: String, port: u16 },
    Tcp { host: String, port: u16 },
}

impl Probe {
    /// The host the probe connects to, as written in the config.
    pub fn host(&self) -> &str {
        match self {
            Probe::Http { url } => split_url(url).map(|u| u.host).unwrap_or_default(),
            Probe::Redis { host, .. } | Probe::Tcp { host, .. } => host,
        }
    }

    /// The port the probe connects to (the scheme's default when the URL names none).
    pub fn port(&self) -> u16 {
        match self {
            Probe::Http { url } => split_url(url).map(|u| u.port).unwrap_or(80),
            Probe::Redis { port, .. } | Probe::Tcp { port, .. } => *port,
        }
    }

    /// `scheme://host:port`, the base that API clients of the service (Qdrant snapshots) build on.
    pub fn origin(&self) -> String {
        match self {
            Probe::Http { url } => match split_url(url) {
                Some(u) => format!("{}://{}", u.scheme, u.authority),
                None => url.clone(),
            },
            Probe::Redis { host, port } => format!("redis://{}", join_host_port(host, *port)),
            Probe::Tcp { host, port } => format!("tcp://{}", join_host_port(host, *port)),
        }
    }
}

impl fmt::Display for Probe {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Probe::Http { url } => f.write_str(url),
            _ => f.write_str(&self.origin()),
        }
    }
}

struct UrlParts<'a> {
    scheme: &'a str,
    authority: &'a str,
    host: &'a str,
    port: u16,
}

fn split_url(url: &str) -> Option<UrlParts<'_>> {
    let (scheme, rest) = url.split_once("://")?;
    let authority = &rest[..rest.find('/').unwrap_or(rest.len())];
    let default_port = match scheme {
        "https" => 443,
        "http" => 80,
        _ => 0,
    };
    let (host, port) = split_host_port(authority, default_port).ok()?;
    Some(UrlParts {
        scheme,
        authority,
        host,
        port,
    })
}

fn split_host_port(authority: &str, default_port: u16) -> Result<(&str, u16), String> {
    let (host, port) = if let Some(rest) = authority.strip_prefix('[') {
        let (host, after) = rest
            .split_once(']')
            .ok_or("unclosed '[' in an IPv6 address")?;
        (host, after.strip_prefix(':'))
    } else {
        match authority.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        }
    };
    if host.is_empty() {
        return Err("the URL names no host".into());
    }
    let port = match port {
        Some(p) => p
            .parse::<u16>()
            .ok()
            .filter(|p| *p != 0)
            .ok_or_else(|| format!("'{p}' is not a port number"))?,
        None if default_port != 0 => default_port,
        None => return Err("the URL names no port".into()),
    };
    Ok((host, port))
}

fn join_host_port(host: &str, port: u16) -> String {
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

impl FromStr for Probe {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (scheme, rest) = s
            .split_once("://")
            .ok_or_else(|| format!("'{s}' is not a URL (write http://HOST:PORT/PATH, redis://HOST:PORT or tcp://HOST:PORT)"))?;
        let authority = &rest[..rest.find('/').unwrap_or(rest.len())];
        if authority.contains('@') {
            return Err("credentials do not belong in a probe URL: the probe needs none".into());
        }
        match scheme {
            "http" | "https" => {
                split_host_port(authority, if scheme == "https" { 443 } else { 80 })?;
                Ok(Probe::Http { url: s.to_owned() })
            }
            "redis" | "tcp" => {
                if rest.len() > authority.len() && &rest[authority.len()..] != "/" {
                    return Err(format!(
                        "a {scheme}:// probe takes no path: write {scheme}://HOST:PORT"
                    ));
                }
                let (host, port) = split_host_port(authority, 0)?;
                let host = host.to_owned();
                Ok(if scheme == "redis" {
                    Probe::Redis { host, port }
                } else {
                    Probe::Tcp { host, port }
                })
            }
            other => Err(format!(
                "unsupported probe scheme '{other}' (use http, https, redis or tcp)"
            )),
        }
    }
}

impl Serialize for Probe {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Probe {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// One thing a backup captures, and how its engine wants it captured. Paths are relative to the MAGI home.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase", deny_unknown_fields)]
pub enum Target {
    /// A SQLite database, copied with the online backup API.
    Sqlite { path: PathBuf },
    /// Redis: `BGSAVE`, then the dump file. The server is the service's probe address unless `url` is given.
    Redis {
        dump: PathBuf,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        url: Option<Probe>,
    },
    /// Qdrant: one snapshot per collection through its HTTP API, at the service's probe origin unless `url`.
    Qdrant {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        url: Option<Probe>,
    },
    /// Files that can only be copied; `pause` freezes the owning container while they are read.
    Copy {
        path: PathBuf,
        #[serde(default)]
        pause: bool,
    },
}

impl Target {
    /// The path under the MAGI home this target reads, if it reads one.
    pub fn path(&self) -> Option<&Path> {
        match self {
            Target::Sqlite { path } | Target::Copy { path, .. } => Some(path),
            Target::Redis { dump, .. } => Some(dump),
            Target::Qdrant { .. } => None,
        }
    }
}

/// A service of the stack, as the catalog describes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Service {
    /// The compose service name, used on the command line (`--service qdrant`); the key of its table.
    #[serde(skip)]
    pub name: String,
    /// The fixed container name.
    pub container: String,
    pub tier: Tier,
    /// What the service does for the user, in a few words ("chat", "vector memory").
    pub role: String,
    /// The compose profile that must be active for the service to exist; absent without it is normal.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub profile: Option<String>,
    /// `None` is a service with no endpoint to ask; shown as `probe = false`.
    #[serde(serialize_with = "probe_or_false")]
    pub probe: Option<Probe>,
    /// Services this one needs, each with what this one loses when it is down ("cannot reach any model").
    pub depends_on: BTreeMap<String, String>,
    /// Directories or files under the MAGI home that hold the service's data.
    pub data: Vec<PathBuf>,
    pub backup: Vec<Target>,
}

fn probe_or_false<S: serde::Serializer>(
    probe: &Option<Probe>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    match probe {
        Some(p) => p.serialize(serializer),
        None => serializer.serialize_bool(false),
    }
}

/// Stack-wide settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Stack {
    /// The MAGI checkout that holds `docker-compose.yml`, `.env`, `config/` and `data/` (`MAGI_HOME`).
    pub home: PathBuf,
    /// Where backup archives are written.
    pub backup_dir: PathBuf,
    /// Configuration and secrets of the whole stack, backed up as files (relative to `home`).
    pub config_paths: Vec<PathBuf>,
}

/// The effective configuration: defaults, overridden by a file and the environment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Config {
    /// The file the configuration was read from, if any.
    #[serde(skip)]
    pub source: Option<PathBuf>,
    pub stack: Stack,
    /// The catalog, in a stable order: the built-in services first, then added ones by name.
    #[serde(serialize_with = "services_as_table")]
    pub services: Vec<Service>,
    /// The `[alert]` section: rules and channels of `magi-alert`.
    pub alert: AlertConfig,
    /// The `[backup]` section: retention defaults of `magi-backup` and the restore timeout of `magi-restore`.
    pub backup: BackupConfig,
    /// The `[cloud]` section: the off-site repository of `magi-backup cloud`; absent, cloud backup is off.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cloud: Option<CloudConfig>,
    /// The `[users]` section: the forward-auth server of `magi-users`.
    pub users: UsersConfig,
    /// The `[health]` section: the thresholds of `magi-health`.
    pub health: HealthConfig,
    /// The `[metrics]` section: the endpoints `magi-metrics scrape` reads.
    pub metrics: MetricsConfig,
    /// The `[sla]` section: the availability targets `magi-sla` measures against.
    pub sla: SlaConfig,
}

fn services_as_table<S: serde::Serializer>(
    services: &[Service],
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.collect_map(services.iter().map(|s| (&s.name, s)))
}

/// A configuration that cannot be used, with what a person needs to fix it.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{}: cannot read the config file: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}:{line}: {key}: {message}", path.display())]
    Invalid {
        path: PathBuf,
        line: usize,
        key: String,
        message: String,
    },
    #[error("{}: {message}", path.display())]
    Syntax {
        path: PathBuf,
        line: usize,
        message: String,
    },
    #[error("MAGI_HOME={value}: {message}")]
    Environment { value: String, message: String },
}

/// Where a config came from and what to read: the layered lookup of `--config`, `MAGI_CONFIG` and the
/// default file.
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// `--config FILE`: must exist.
    pub explicit: Option<PathBuf>,
}

impl Config {
    /// The built-in description of the MAGI stack.
    pub fn defaults(paths: &Paths) -> Config {
        Config {
            source: None,
            stack: default_stack(paths),
            services: default_services(),
            alert: AlertConfig::defaults(),
            backup: BackupConfig::defaults(),
            cloud: None,
            users: UsersConfig::defaults(),
            health: HealthConfig::defaults(),
            metrics: MetricsConfig::default(),
            sla: SlaConfig::default(),
        }
    }

    /// Loads the effective configuration: `--config`, else `MAGI_CONFIG`, else the default file if it exists,
    /// over the built-in defaults; then `MAGI_HOME` from the environment.
    pub fn load(options: &LoadOptions, paths: &Paths) -> Result<Config, ConfigError> {
        let env_file = std::env::var_os("MAGI_CONFIG")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from);
        let mut config = match options.explicit.clone().or(env_file) {
            Some(path) => Config::from_file(&path, paths)?,
            None if paths.config_file.exists() => Config::from_file(&paths.config_file, paths)?,
            None => Config::defaults(paths),
        };
        if let Some(home) = std::env::var_os("MAGI_HOME").filter(|v| !v.is_empty()) {
            let home = PathBuf::from(home);
            if !home.is_absolute() {
                return Err(ConfigError::Environment {
                    value: home.display().to_string(),
                    message: "must be an absolute path".into(),
                });
            }
            config.stack.home = home;
        }
        Ok(config)
    }

    /// Reads one file over the defaults.
    pub fn from_file(path: &Path, paths: &Paths) -> Result<Config, ConfigError> {
        let text = read_bounded(path).map_err(|source| ConfigError::Read {
            path: path.into(),
            source,
        })?;
        let mut config = Config::from_toml(&text, path, paths)?;
        config.source = Some(path.to_owned());
        Ok(config)
    }

    /// Parses TOML text over the defaults; `path` is only used to name the file in errors.
    pub fn from_toml(text: &str, path: &Path, paths: &Paths) -> Result<Config, ConfigError> {
        let file = parse_file(text, path)?;
        let mut config = Config::defaults(paths);
        config.apply(file, text, path)?;
        Ok(config)
    }

    /// Finds a service by its name or its container name.
    pub fn service(&self, name: &str) -> Option<&Service> {
        self.services
            .iter()
            .find(|s| s.name == name || s.container == name)
    }

    /// Resolves the names given with `--service`, each by service or container name; empty means all.
    pub fn select(&self, names: &[String]) -> Result<Vec<&Service>, UnknownService> {
        if names.is_empty() {
            return Ok(self.services.iter().collect());
        }
        names
            .iter()
            .map(|name| {
                self.service(name).ok_or_else(|| UnknownService {
                    name: name.clone(),
                    known: self.services.iter().map(|s| s.name.clone()).collect(),
                })
            })
            .collect()
    }

    /// The services that depend on `name`, with what each loses.
    pub fn dependents<'a>(
        &'a self,
        name: &'a str,
    ) -> impl Iterator<Item = (&'a Service, &'a str)> + 'a {
        self.services
            .iter()
            .filter_map(move |s| s.depends_on.get(name).map(|why| (s, why.as_str())))
    }

    /// An absolute path for a path of the catalog, which is relative to the MAGI home.
    pub fn resolve(&self, path: &Path) -> PathBuf {
        self.stack.home.join(path)
    }

    fn apply(&mut self, file: FileConfig, text: &str, path: &Path) -> Result<(), ConfigError> {
        let invalid = |key: String, message: String| {
            let segments: Vec<&str> = key.split('.').collect();
            ConfigError::Invalid {
                path: path.into(),
                line: locate(text, &segments).unwrap_or(1),
                key,
                message,
            }
        };
        if let Some(stack) = file.stack {
            if let Some(home) = stack.home {
                if !home.is_absolute() {
                    return Err(invalid(
                        "stack.home".into(),
                        "must be an absolute path".into(),
                    ));
                }
                self.stack.home = home;
            }
            if let Some(dir) = stack.backup_dir {
                if !dir.is_absolute() {
                    return Err(invalid(
                        "stack.backup_dir".into(),
                        "must be an absolute path".into(),
                    ));
                }
                self.stack.backup_dir = dir;
            }
            if let Some(config_paths) = stack.config_paths {
                for (i, p) in config_paths.iter().enumerate() {
                    check_relative(p).map_err(|m| invalid(format!("stack.config_paths.{i}"), m))?;
                }
                self.stack.config_paths = config_paths;
            }
        }
        for (name, overlay) in file.services {
            let key = |field: &str| format!("services.{name}.{field}");
            let created = || {
                let container = overlay
                    .container
                    .clone()
                    .ok_or("a service that is not built in needs `container = \"NAME\"`")?;
                Ok(Service {
                    name: name.clone(),
                    container,
                    tier: Tier::Optional,
                    role: name.clone(),
                    profile: None,
                    probe: None,
                    depends_on: BTreeMap::new(),
                    data: Vec::new(),
                    backup: Vec::new(),
                })
            };
            let found = overlay_entry(
                &mut self.services,
                &name,
                overlay.enabled,
                "service",
                |s| &s.name,
                created,
            )
            .map_err(|m| invalid(format!("services.{name}"), m))?;
            let Some(service) = found else { continue };
            if let Some(container) = overlay.container {
                if !valid_container_name(&container) {
                    return Err(invalid(
                        key("container"),
                        format!("'{container}' is not a valid container name"),
                    ));
                }
                service.container = container;
            }
            if let Some(tier) = overlay.tier {
                service.tier = tier;
            }
            if let Some(role) = overlay.role {
                service.role = role;
            }
            if let Some(profile) = overlay.profile {
                service.profile = Some(profile).filter(|p| !p.is_empty());
            }
            if let Some(probe) = overlay.probe {
                service.probe = probe.into_probe().map_err(|m| invalid(key("probe"), m))?;
            }
            if let Some(depends_on) = overlay.depends_on {
                service.depends_on = depends_on;
            }
            if let Some(data) = overlay.data {
                for (i, p) in data.iter().enumerate() {
                    check_relative(p)
                        .map_err(|m| invalid(format!("services.{name}.data.{i}"), m))?;
                }
                service.data = data;
            }
            if let Some(backup) = overlay.backup {
                for (i, target) in backup.iter().enumerate() {
                    if let Some(p) = target.path() {
                        check_relative(p)
                            .map_err(|m| invalid(format!("services.{name}.backup.{i}"), m))?;
                    }
                }
                service.backup = backup;
            }
        }
        if let Some(alert) = file.alert {
            self.alert.apply(alert, &invalid)?;
        }
        if let Some(backup) = file.backup {
            self.backup.apply(backup, &invalid)?;
        }
        if let Some(cloud) = file.cloud {
            self.cloud = Some(CloudConfig::from_file(cloud, &invalid)?);
        }
        if let Some(users) = file.users {
            self.users.apply(users, &invalid)?;
        }
        if let Some(health) = file.health {
            self.health.apply(health, &invalid)?;
        }
        if let Some(metrics) = file.metrics {
            self.metrics.apply(metrics, &invalid)?;
        }
        if let Some(sla) = file.sla {
            self.sla.apply(sla, &invalid)?;
        }
        let written = |key: &str| {
            locate_key(text, &key.split('.').collect::<Vec<_>>()).is_some_and(|(_, all)| all)
        };
        self.validate(&written)
            .map_err(|(key, message)| invalid(key, message))
    }

    /// Checks what only the whole catalog can tell: dependencies name services, containers are unique.
    /// `written` tells whether a key appears in the file, so a clash is reported where the file caused it.
    fn validate(&self, written: &dyn Fn(&str) -> bool) -> Result<(), (String, String)> {
        for service in &self.services {
            for dependency in service.depends_on.keys() {
                if dependency == &service.name {
                    return Err((
                        format!("services.{}.depends_on.{dependency}", service.name),
                        "a service cannot depend on itself".into(),
                    ));
                }
                if !self.services.iter().any(|s| &s.name == dependency) {
                    return Err((
                        format!("services.{}.depends_on.{dependency}", service.name),
                        format!(
                            "no service named '{dependency}' (known: {})",
                            self.names().join(", ")
                        ),
                    ));
                }
            }
            if let Some(other) = self
                .services
                .iter()
                .find(|o| o.name != service.name && o.container == service.container)
            {
                let (service, other) = if written(&format!("services.{}.container", service.name)) {
                    (service, other)
                } else {
                    (other, service)
                };
                return Err((
                    format!("services.{}.container", service.name),
                    format!(
                        "container '{}' is already used by service '{}'",
                        service.container, other.name
                    ),
                ));
            }
        }
        Ok(())
    }

    fn names(&self) -> Vec<&str> {
        self.services.iter().map(|s| s.name.as_str()).collect()
    }

    /// The effective configuration as TOML, the form `magi config show` prints.
    pub fn to_toml(&self) -> String {
        toml::to_string(self)
            .unwrap_or_else(|e| format!("# the configuration cannot be shown as TOML: {e}\n"))
    }
}

/// A `--service` name that the catalog does not know.
#[derive(Debug, thiserror::Error)]
#[error("no service named '{name}' in the catalog (known: {})", known.join(", "))]
pub struct UnknownService {
    pub name: String,
    pub known: Vec<String>,
}

/// What a named table of the file (`[services.NAME]`, `[alert.rules.NAME]`) does to the list it overlays:
/// checks the name, removes the entry on `enabled = false` (`None` back), else finds it, or appends what
/// `created` makes of a name that is not built in. Errors are messages about the table itself.
fn overlay_entry<'a, T>(
    list: &'a mut Vec<T>,
    name: &str,
    enabled: Option<bool>,
    what: &str,
    name_of: impl Fn(&T) -> &str,
    created: impl FnOnce() -> Result<T, &'static str>,
) -> Result<Option<&'a mut T>, String> {
    if !valid_name(name) {
        return Err(format!(
            "a {what} name is lowercase letters, digits and '-'"
        ));
    }
    if enabled == Some(false) {
        list.retain(|entry| name_of(entry) != name);
        return Ok(None);
    }
    let index = match list.iter().position(|entry| name_of(entry) == name) {
        Some(i) => i,
        None => {
            list.push(created()?);
            list.len() - 1
        }
    };
    Ok(Some(&mut list[index]))
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// Docker's rule for container names: `[a-zA-Z0-9][a-zA-Z0-9_.-]*`.
fn valid_container_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    bytes.next().is_some_and(|b| b.is_ascii_alphanumeric())
        && bytes.all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
}

fn check_relative(path: &Path) -> Result<(), String> {
    if path.as_os_str().is_empty() {
        return Err("an empty path".into());
    }
    if path.is_absolute() {
        return Err(format!(
            "'{}' must be relative to the MAGI home",
            path.display()
        ));
    }
    if path.components().any(|c| matches!(c, Component::ParentDir)) {
        return Err(format!(
            "'{}' must stay inside the MAGI home (no '..')",
            path.display()
        ));
    }
    Ok(())
}

/// The TOML file as written: every field optional, every unknown key an error.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    stack: Option<FileStack>,
    #[serde(default)]
    services: BTreeMap<String, FileService>,
    alert: Option<alert::FileAlert>,
    backup: Option<backup::FileBackup>,
    cloud: Option<cloud::FileCloud>,
    users: Option<users::FileUsers>,
    health: Option<health::FileHealth>,
    metrics: Option<metrics::FileMetrics>,
    sla: Option<sla::FileSla>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileStack {
    home: Option<PathBuf>,
    backup_dir: Option<PathBuf>,
    config_paths: Option<Vec<PathBuf>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileService {
    enabled: Option<bool>,
    container: Option<String>,
    tier: Option<Tier>,
    role: Option<String>,
    profile: Option<String>,
    probe: Option<FileProbe>,
    depends_on: Option<BTreeMap<String, String>>,
    data: Option<Vec<PathBuf>>,
    backup: Option<Vec<Target>>,
}

/// `probe = "URL"`, or `probe = false` for a service that has no endpoint to ask.
#[derive(Debug)]
enum FileProbe {
    Url(Probe),
    Off(bool),
}

impl<'de> Deserialize<'de> for FileProbe {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = FileProbe;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a probe URL (http://, https://, redis://, tcp://) or false")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<FileProbe, E> {
                v.parse().map(FileProbe::Url).map_err(E::custom)
            }
            fn visit_bool<E: serde::de::Error>(self, v: bool) -> Result<FileProbe, E> {
                Ok(FileProbe::Off(v))
            }
        }
        deserializer.deserialize_any(Visitor)
    }
}

impl FileProbe {
    fn into_probe(self) -> Result<Option<Probe>, String> {
        match self {
            FileProbe::Url(p) => Ok(Some(p)),
            FileProbe::Off(false) => Ok(None),
            FileProbe::Off(true) => {
                Err("`probe = true` names no endpoint: give a URL, or false for none".into())
            }
        }
    }
}

/// The largest config file read: a MAGI config is a few KiB; a bigger file is a mistake (or `/dev/zero`).
const MAX_CONFIG_BYTES: u64 = 1 << 20;

/// Reads a config file of at most [`MAX_CONFIG_BYTES`], refusing what is not a regular file before reading.
fn read_bounded(path: &Path) -> std::io::Result<String> {
    use std::io::Read as _;
    let file = std::fs::File::open(path)?;
    if !file.metadata()?.is_file() {
        return Err(std::io::Error::other(
            "not a regular file (a config is a TOML file)",
        ));
    }
    let mut text = String::new();
    file.take(MAX_CONFIG_BYTES + 1).read_to_string(&mut text)?;
    if text.len() as u64 > MAX_CONFIG_BYTES {
        return Err(std::io::Error::other(
            "larger than 1 MiB; a MAGI config is a few KiB",
        ));
    }
    Ok(text)
}

/// The dotted key of the first string in `table` that holds a NUL: no setting can use one (a path with a
/// NUL cannot be opened, and a name with one would be cut short by the C library).
fn nul_key(table: &toml::Table, prefix: &str) -> Option<String> {
    fn walk(value: &toml::Value, key: String) -> Option<String> {
        match value {
            toml::Value::String(s) if s.contains('\0') => Some(key),
            toml::Value::Table(t) => nul_key(t, &key),
            toml::Value::Array(items) => items.iter().find_map(|v| walk(v, key.clone())),
            _ => None,
        }
    }
    table.iter().find_map(|(k, v)| {
        let key = if prefix.is_empty() {
            k.clone()
        } else {
            format!("{prefix}.{k}")
        };
        if k.contains('\0') {
            return Some(key);
        }
        walk(v, key)
    })
}

fn parse_file(text: &str, path: &Path) -> Result<FileConfig, ConfigError> {
    let deserializer = match toml::Deserializer::parse(text) {
        Ok(d) => d,
        Err(e) => return Err(syntax_error(&e, text, path)),
    };
    if let Some(key) = text
        .parse::<toml::Table>()
        .ok()
        .and_then(|t| nul_key(&t, ""))
    {
        let segments: Vec<&str> = key.split('.').collect();
        return Err(ConfigError::Invalid {
            path: path.into(),
            line: locate(text, &segments).unwrap_or(1),
            key,
            message: "holds a NUL character, which no setting can use".into(),
        });
    }
    serde_path_to_error::deserialize::<_, FileConfig>(deserializer).map_err(|e| {
        let key = e.path().to_string();
        let inner = e.into_inner();
        let segments: Vec<String> = key.split('.').map(str::to_owned).collect();
        let segments: Vec<&str> = segments.iter().map(String::as_str).collect();
        let line = inner
            .span()
            .map(|span| line_of(text, span.start))
            .or_else(|| locate(text, &segments))
            .unwrap_or(1);
        let message = inner.message().trim().to_owned();
        if key == "." || key.is_empty() {
            ConfigError::Syntax {
                path: path.into(),
                line,
                message: format!("line {line}: {message}"),
            }
        } else {
            ConfigError::Invalid {
                path: path.into(),
                line,
                key,
                message,
            }
        }
    })
}

fn syntax_error(e: &toml::de::Error, text: &str, path: &Path) -> ConfigError {
    let line = e.span().map(|s| line_of(text, s.start)).unwrap_or(1);
    let message = e.message().trim().replace('\n', " ");
    ConfigError::Syntax {
        path: path.into(),
        line,
        message: format!("line {line}: {message}"),
    }
}

fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|b| **b == b'\n')
        .count()
        + 1
}

/// The line where a dotted key is written, or where its nearest written ancestor is.
fn locate(text: &str, segments: &[&str]) -> Option<usize> {
    locate_key(text, segments).map(|(line, _)| line)
}

/// Walks the parsed document with its spans: the line of the deepest segment found, and whether all were.
fn locate_key(text: &str, segments: &[&str]) -> Option<(usize, bool)> {
    let document = toml::de::DeTable::parse(text).ok()?;
    let mut table = Some(document.get_ref());
    let mut array: Option<&toml::de::DeArray> = None;
    let mut found = None;
    let mut matched = 0;
    for segment in segments {
        let next = if let Some(t) = table {
            t.iter()
                .find(|(k, _)| k.get_ref() == segment)
                .map(|(k, v)| (k.span().start, v))
        } else {
            let index = segment.parse::<usize>().ok()?;
            array
                .and_then(|a| a.get(index))
                .map(|v| (v.span().start, v))
        };
        let Some((offset, value)) = next else { break };
        found = Some(offset);
        matched += 1;
        table = value.get_ref().as_table();
        array = value.get_ref().as_array();
    }
    found.map(|offset| (line_of(text, offset), matched == segments.len()))
}

fn default_stack(paths: &Paths) -> Stack {
    Stack {
        home: PathBuf::from("/opt/magi"),
        backup_dir: paths.backup_dir.clone(),
        config_paths: [".env", "config", "workflows", "docker-compose.yml"]
            .map(PathBuf::from)
            .to_vec(),
    }
}

fn default_services() -> Vec<Service> {
    struct Spec {
        name: &'static str,
        container: &'static str,
        tier: Tier,
        role: &'static str,
        profile: Option<&'static str>,
        probe: Option<&'static str>,
        depends_on: &'static [(&'static str, &'static str)],
        data: &'static [&'static str],
        backup: fn() -> Vec<Target>,
    }
    fn path(p: &str) -> PathBuf {
        PathBuf::from(p)
    }
    let specs = [
        Spec {
            name: "open-webui",
            container: "magi-cortex",
            tier: Tier::Core,
            role: "chat",
            profile: None,
            probe: Some("http://127.0.0.1:3000/health"),
            depends_on: &[
                ("litellm", "cannot reach any model"),
                ("qdrant", "loses its vector memory"),
                ("searxng", "cannot search the web"),
            ],
            data: &["data/open-webui"],
            backup: || {
                vec![
                    Target::Sqlite {
                        path: path("data/open-webui/webui.db"),
                    },
                    Target::Sqlite {
                        path: path("data/open-webui/vector_db/chroma.sqlite3"),
                    },
                    Target::Copy {
                        path: path("data/open-webui"),
                        pause: true,
                    },
                ]
            },
        },
        Spec {
            name: "litellm",
            container: "magi-router",
            tier: Tier::Core,
            role: "model routing",
            profile: None,
            probe: Some("http://127.0.0.1:4000/health/liveliness"),
            depends_on: &[("redis", "loses its cache")],
            data: &["config/litellm"],
            backup: Vec::new,
        },
        Spec {
            name: "qdrant",
            container: "magi-memory",
            tier: Tier::Core,
            role: "vector memory",
            profile: None,
            probe: Some("http://127.0.0.1:6333/readyz"),
            depends_on: &[],
            data: &["data/qdrant"],
            backup: || vec![Target::Qdrant { url: None }],
        },
        Spec {
            name: "redis",
            container: "magi-nervous-system",
            tier: Tier::Core,
            role: "cache and queues",
            profile: None,
            probe: Some("redis://magi-nervous-system:6379"),
            depends_on: &[],
            data: &["data/redis"],
            backup: || {
                vec![Target::Redis {
                    dump: path("data/redis/dump.rdb"),
                    url: None,
                }]
            },
        },
        Spec {
            name: "searxng",
            container: "magi-vision",
            tier: Tier::Optional,
            role: "web search",
            profile: None,
            probe: Some("http://127.0.0.1:8080/healthz"),
            depends_on: &[],
            data: &["config/searxng"],
            backup: Vec::new,
        },
        Spec {
            name: "n8n",
            container: "magi-reflex-automation",
            tier: Tier::Optional,
            role: "workflows",
            profile: None,
            probe: Some("http://127.0.0.1:5678/healthz"),
            depends_on: &[],
            data: &["data/n8n"],
            backup: || {
                vec![
                    Target::Sqlite {
                        path: path("data/n8n/database.sqlite"),
                    },
                    Target::Copy {
                        path: path("data/n8n"),
                        pause: true,
                    },
                ]
            },
        },
        Spec {
            name: "firecrawl",
            container: "magi-digestion",
            tier: Tier::Optional,
            role: "web scraping",
            profile: Some("firecrawl"),
            probe: Some("http://127.0.0.1:3002/v0/health/liveness"),
            depends_on: &[
                ("redis", "loses its job queue"),
                ("playwright", "cannot render pages"),
            ],
            data: &[],
            backup: Vec::new,
        },
        Spec {
            name: "playwright",
            container: "magi-browser",
            tier: Tier::Optional,
            role: "page rendering",
            profile: Some("firecrawl"),
            probe: None,
            depends_on: &[],
            data: &[],
            backup: Vec::new,
        },
        Spec {
            name: "mcpo",
            container: "magi-mcp-bridge",
            tier: Tier::Optional,
            role: "MCP tools",
            profile: None,
            probe: Some("http://127.0.0.1:9000/openapi.json"),
            depends_on: &[],
            data: &[],
            backup: Vec::new,
        },
        Spec {
            name: "youtube-mcp",
            container: "magi-youtube-mcp",
            tier: Tier::Optional,
            role: "YouTube tools",
            profile: None,
            probe: Some("http://127.0.0.1:9001/openapi.json"),
            depends_on: &[],
            data: &[],
            backup: Vec::new,
        },
        Spec {
            name: "jupyter",
            container: "magi-jupyter",
            tier: Tier::Optional,
            role: "notebooks",
            profile: None,
            probe: Some("http://127.0.0.1:8888/api"),
            depends_on: &[],
            data: &["data/jupyter/notebooks"],
            backup: || {
                vec![Target::Copy {
                    path: path("data/jupyter/notebooks"),
                    pause: true,
                }]
            },
        },
        Spec {
            name: "caddy",
            container: "magi-caddy",
            tier: Tier::Optional,
            role: "HTTPS",
            profile: Some("caddy"),
            probe: Some("http://127.0.0.1:2019/config/"),
            depends_on: &[("open-webui", "cannot serve chat over HTTPS")],
            data: &["data/caddy"],
            backup: || {
                vec![Target::Copy {
                    path: path("data/caddy"),
                    pause: true,
                }]
            },
        },
    ];
    specs
        .into_iter()
        .map(|s| Service {
            name: s.name.into(),
            container: s.container.into(),
            tier: s.tier,
            role: s.role.into(),
            profile: s.profile.map(Into::into),
            probe: s
                .probe
                .map(|p| p.parse().expect("built-in probe URLs are valid")),
            depends_on: s
                .depends_on
                .iter()
                .map(|(k, v)| ((*k).into(), (*v).into()))
                .collect(),
            data: s.data.iter().map(PathBuf::from).collect(),
            backup: (s.backup)(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paths() -> Paths {
        Paths::for_test(Path::new("/tmp/magi-test"))
    }

    /// The config a file with `text` gives; the sections' own test modules use it too.
    pub(super) fn load(text: &str) -> Result<Config, ConfigError> {
        Config::from_toml(text, Path::new("/etc/magi/magi.toml"), &paths())
    }

    /// The line, key and message of the invalid-key error that `text` must give.
    pub(super) fn invalid(text: &str) -> (usize, String, String) {
        match load(text) {
            Err(ConfigError::Invalid {
                line, key, message, ..
            }) => (line, key, message),
            other => panic!("expected an invalid-key error, got {other:?}"),
        }
    }

    #[test]
    fn defaults_describe_the_magi_stack() {
        let config = Config::defaults(&paths());
        assert_eq!(config.services.len(), 12);
        let core: Vec<&str> = config
            .services
            .iter()
            .filter(|s| s.tier == Tier::Core)
            .map(|s| s.container.as_str())
            .collect();
        assert_eq!(
            core,
            [
                "magi-cortex",
                "magi-router",
                "magi-memory",
                "magi-nervous-system"
            ]
        );
        assert_eq!(config.service("magi-memory").unwrap().name, "qdrant");
        let router_dependents: Vec<_> = config
            .dependents("litellm")
            .map(|(s, why)| (s.container.as_str(), why))
            .collect();
        assert_eq!(
            router_dependents,
            [("magi-cortex", "cannot reach any model")]
        );
        assert_eq!(
            config.service("redis").unwrap().probe,
            Some(Probe::Redis {
                host: "magi-nervous-system".into(),
                port: 6379
            })
        );
    }

    #[test]
    fn an_empty_file_is_the_defaults() {
        let config = load("").unwrap();
        assert_eq!(config.services, Config::defaults(&paths()).services);
    }

    #[test]
    fn a_file_overrides_fields_adds_and_disables_services() {
        let config = load(
            r#"
[stack]
home = "/srv/magi"

[services.qdrant]
probe = "http://127.0.0.1:16333/readyz"

[services.caddy]
enabled = false

[services.ollama]
container = "magi-ollama"
tier = "core"
probe = "tcp://127.0.0.1:11434"
"#,
        )
        .unwrap();
        assert_eq!(config.stack.home, Path::new("/srv/magi"));
        let qdrant = config.service("qdrant").unwrap();
        assert_eq!(qdrant.probe.as_ref().unwrap().port(), 16333);
        assert_eq!(
            qdrant.container, "magi-memory",
            "fields not named keep their defaults"
        );
        assert!(config.service("caddy").is_none());
        let ollama = config.service("ollama").unwrap();
        assert_eq!(
            (ollama.tier, ollama.probe.as_ref().unwrap().port()),
            (Tier::Core, 11434)
        );
        assert_eq!(config.services.last().unwrap().name, "ollama");
    }

    #[test]
    fn an_unknown_key_names_file_line_and_key() {
        let (line, key, message) =
            invalid("[stack]\nhome = \"/srv\"\n\n[services.qdrant]\nprobee = \"x\"\n");
        assert_eq!((line, key.as_str()), (5, "services.qdrant.probee"));
        assert!(message.contains("unknown field"), "{message}");
    }

    #[test]
    fn a_wrong_type_names_the_key() {
        let (line, key, message) = invalid("[services.redis]\ntier = 3\n");
        assert_eq!((line, key.as_str()), (2, "services.redis.tier"));
        assert!(message.contains("invalid type"), "{message}");
    }

    #[test]
    fn a_bad_value_names_the_key() {
        let (line, key, message) = invalid("\n[services.redis]\nprobe = \"ftp://x:1\"\n");
        assert_eq!((line, key.as_str()), (3, "services.redis.probe"));
        assert!(
            message.contains("unsupported probe scheme 'ftp'"),
            "{message}"
        );
        let (_, key, message) = invalid("[services.redis]\ntier = \"critical\"\n");
        assert_eq!(key, "services.redis.tier");
        assert_eq!(message, "unknown tier 'critical' (core or optional)");
        let (line, key, _) = invalid(
            "[services.n8n]\nbackup = [\n  { kind = \"sqlite\", path = \"/abs.db\" },\n]\n",
        );
        assert_eq!((line, key.as_str()), (3, "services.n8n.backup.0"));
    }

    #[test]
    fn cross_references_are_checked() {
        let (line, key, message) =
            invalid("[services.litellm]\ndepends_on = { postgres = \"loses keys\" }\n");
        assert_eq!(
            (line, key.as_str()),
            (2, "services.litellm.depends_on.postgres")
        );
        assert!(
            message.starts_with("no service named 'postgres'"),
            "{message}"
        );
        let (_, key, message) = invalid("[services.redis]\ncontainer = \"magi-memory\"\n");
        assert_eq!(key, "services.redis.container");
        assert!(
            message.contains("already used by service 'qdrant'"),
            "{message}"
        );
        let (_, key, _) = invalid("[services.extra]\nprobe = \"tcp://127.0.0.1:1\"\n");
        assert_eq!(key, "services.extra");
    }

    #[test]
    fn a_syntax_error_names_the_line() {
        match load("[stack]\nhome = \"/srv\n") {
            Err(ConfigError::Syntax { line, .. }) => assert_eq!(line, 2),
            other => panic!("expected a syntax error, got {other:?}"),
        }
    }

    #[test]
    fn probes_parse_and_print() {
        let p: Probe = "redis://[::1]:6380".parse().unwrap();
        assert_eq!(
            p,
            Probe::Redis {
                host: "::1".into(),
                port: 6380
            }
        );
        assert_eq!(p.to_string(), "redis://[::1]:6380");
        let p: Probe = "https://example.org/health".parse().unwrap();
        assert_eq!(
            (p.host(), p.port(), p.origin().as_str()),
            ("example.org", 443, "https://example.org")
        );
        assert!(
            "redis://host"
                .parse::<Probe>()
                .unwrap_err()
                .contains("no port")
        );
        assert!(
            "http://user:pw@host:1/"
                .parse::<Probe>()
                .unwrap_err()
                .contains("credentials")
        );
        assert!(
            "tcp://host:99999"
                .parse::<Probe>()
                .unwrap_err()
                .contains("not a port")
        );
        assert!(
            "localhost:80"
                .parse::<Probe>()
                .unwrap_err()
                .contains("not a URL")
        );
    }

    #[test]
    fn shown_config_reads_back_as_the_same_config() {
        let config =
            load("[services.qdrant]\nprobe = \"http://127.0.0.1:16333/readyz\"\n").unwrap();
        let shown = config.to_toml();
        let again = load(&shown).unwrap_or_else(|e| panic!("{e}\n{shown}"));
        assert_eq!(again.services, config.services);
        assert_eq!(again.stack, config.stack);
    }
}
