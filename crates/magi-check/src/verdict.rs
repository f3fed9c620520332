//! Deciding: what an observation means for a service, and what the services mean for the stack.
//!
//! A service is ok, warning or critical. The stack is ok; degraded when an optional service is down, a core
//! one is slow or unhealthy but answering, or disk space runs low; down when a core service is down. Impact
//! comes from the catalog's dependency map: each service that is down names what its dependents lose, in the
//! catalog's own words ("magi-router is down: chat in magi-cortex cannot reach any model"). All functions here
//! are pure.

use std::fmt;
use std::time::Duration;

use magi_core::format::human_bytes;
use magi_core::{Config, Service, Severity, Tier};
use magi_docker::{HealthStatus, State};
use serde::Serialize;

use crate::check::Observation;
use crate::probe::ProbeOutcome;
use crate::resources::Disk;

/// Where a figure turns from fine into a warning.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Thresholds {
    /// A probe answering slower than this makes the service slow.
    pub slow: Duration,
    /// Memory used over the container's limit, 0 to 1.
    pub memory: f64,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            slow: Duration::from_secs(1),
            memory: 0.9,
        }
    }
}

/// The one-word condition of a service, which `watch` compares between checks to find changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Condition {
    /// Running and answering.
    Up,
    /// Answering, but slower than the threshold.
    Slow,
    /// Docker's health check fails, yet the endpoint answers.
    Unhealthy,
    /// Docker's health check has not passed yet.
    Starting,
    /// Answering, but close to its memory limit.
    MemoryPressure,
    /// Not answering, not running, or not there.
    Down,
    /// Not deployed, and that is normal: its compose profile is not active.
    Absent,
    /// Docker did not say in time.
    Unknown,
}

impl Condition {
    /// Every condition, in the order of [`Condition::code`].
    pub const ALL: [Condition; 8] = [
        Condition::Up,
        Condition::Slow,
        Condition::Unhealthy,
        Condition::Starting,
        Condition::MemoryPressure,
        Condition::Down,
        Condition::Absent,
        Condition::Unknown,
    ];

    /// A small number for the metrics store's `service_condition` series, which the dashboard reads back
    /// with [`Condition::from_code`]: the position in [`Condition::ALL`].
    pub fn code(self) -> u8 {
        Condition::ALL
            .iter()
            .position(|c| *c == self)
            .map_or(0, |i| i as u8)
    }

    /// The condition of a stored code; `None` for a value no version of us wrote.
    pub fn from_code(code: f64) -> Option<Condition> {
        if code.fract() != 0.0 || code < 0.0 {
            return None;
        }
        Condition::ALL.get(code as usize).copied()
    }

    /// How serious the condition is, as the verdict rates it: what a tile's colour says.
    pub fn severity(self) -> Severity {
        match self {
            Condition::Up | Condition::Absent => Severity::Ok,
            Condition::Slow
            | Condition::Unhealthy
            | Condition::Starting
            | Condition::MemoryPressure
            | Condition::Unknown => Severity::Warning,
            Condition::Down => Severity::Critical,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Condition::Up => "up",
            Condition::Slow => "slow",
            Condition::Unhealthy => "unhealthy",
            Condition::Starting => "starting",
            Condition::MemoryPressure => "memory_pressure",
            Condition::Down => "down",
            Condition::Absent => "absent",
            Condition::Unknown => "unknown",
        }
    }
}

impl fmt::Display for Condition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name().replace('_', " "))
    }
}

/// What one service's observation means.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Verdict {
    pub severity: Severity,
    pub condition: Condition,
    /// Why, in a few words each ("exited with code 3", "HTTP 503").
    pub reasons: Vec<String>,
    /// Whether the service's own probe answered.
    #[serde(skip)]
    pub answered: bool,
}

impl Verdict {
    /// Whether the service does its job: running and answering (slow or pressed for memory still counts).
    /// A container whose Docker health check has not run yet counts once its own probe answers: Docker runs
    /// the first check only after the check's interval (30 s for some images), and a probe that answers is
    /// the better word on a service that has just started.
    pub fn is_ready(&self) -> bool {
        match self.condition {
            Condition::Up | Condition::Slow | Condition::MemoryPressure => true,
            Condition::Starting => self.answered,
            _ => false,
        }
    }

    /// The reasons joined for one line.
    pub fn because(&self) -> String {
        self.reasons.join("; ")
    }
}

/// The stack as a whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum StackStatus {
    Ok,
    Degraded,
    Down,
}

impl StackStatus {
    pub fn name(self) -> &'static str {
        match self {
            StackStatus::Ok => "ok",
            StackStatus::Degraded => "degraded",
            StackStatus::Down => "down",
        }
    }

    pub fn severity(self) -> Severity {
        match self {
            StackStatus::Ok => Severity::Ok,
            StackStatus::Degraded => Severity::Warning,
            StackStatus::Down => Severity::Critical,
        }
    }
}

impl fmt::Display for StackStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The stack's verdict: its status, the problems that make it so, and what they cost the user.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StackVerdict {
    pub status: StackStatus,
    /// One entry per service or disk that is not ok ("redis (core) is down").
    pub problems: Vec<String>,
    /// What users lose, from the dependency map.
    pub impacts: Vec<String>,
}

impl StackVerdict {
    /// One line: "degraded: searxng is down; qdrant is slow".
    pub fn summary(&self) -> String {
        if self.problems.is_empty() {
            format!("stack is {}: every service is up", self.status)
        } else {
            format!("stack is {}: {}", self.status, self.problems.join("; "))
        }
    }
}

/// Decides what one observation means for its service.
pub fn judge(service: &Service, observation: &Observation, thresholds: &Thresholds) -> Verdict {
    let verdict = |severity, condition, reason: String| Verdict {
        severity,
        condition,
        reasons: vec![reason],
        answered: false,
    };
    let container = match &observation.container {
        Err(why) => return verdict(Severity::Warning, Condition::Unknown, why.clone()),
        Ok(c) => c,
    };
    let down = |reason: String| verdict(Severity::Critical, Condition::Down, reason);
    match container.state {
        State::Running => {}
        State::Missing => {
            return match &service.profile {
                Some(profile) => verdict(
                    Severity::Ok,
                    Condition::Absent,
                    format!("not deployed (compose profile '{profile}' not active)"),
                ),
                None => down(format!("container {} does not exist", service.container)),
            };
        }
        State::Paused => return down("paused".into()),
        State::Restarting => {
            return down(format!(
                "restarting (restarted {} times)",
                container.restart_count
            ));
        }
        State::Exited { code } => return down(format!("exited with code {code}")),
        State::OomKilled { code } => {
            let limit = observation
                .memory
                .map(|m| format!(", limit {}", human_bytes(m.limit)))
                .unwrap_or_default();
            return down(format!(
                "killed for running out of memory (code {code}{limit})"
            ));
        }
        other => return down(other.to_string()),
    }
    let health = container.health.as_ref();
    let mut reasons = Vec::new();
    let mut condition = Condition::Up;
    let mut severity = Severity::Ok;
    let mut worsen = |s: Severity, c: Condition, reason: String, reasons: &mut Vec<String>| {
        if s > severity || (s == severity && condition == Condition::Up) {
            severity = severity.max(s);
            condition = c;
        }
        reasons.push(reason);
    };
    match &observation.probe {
        Some(ProbeOutcome::Answered { latency, detail }) => {
            if *latency > thresholds.slow {
                worsen(
                    Severity::Warning,
                    Condition::Slow,
                    format!(
                        "{detail} in {} ms, slower than {} ms",
                        latency.as_millis(),
                        thresholds.slow.as_millis()
                    ),
                    &mut reasons,
                );
            } else {
                reasons.push(format!("{detail} in {} ms", latency.as_millis()));
            }
        }
        Some(ProbeOutcome::Failed { reason }) => {
            return down(format!("running, but the probe failed: {reason}"));
        }
        Some(ProbeOutcome::TimedOut { after }) => {
            return down(format!(
                "running, but the probe got no answer within {} ms",
                after.as_millis()
            ));
        }
        Some(ProbeOutcome::Skipped { .. }) | None => {}
    }
    let answering = matches!(observation.probe, Some(ProbeOutcome::Answered { .. }));
    match health.map(|h| h.status) {
        Some(HealthStatus::Unhealthy) => {
            let h = health.expect("matched a health status");
            let output = h
                .last_output
                .as_deref()
                .map(|o| format!(": {o}"))
                .unwrap_or_default();
            let reason = format!(
                "Docker health check failing ({} in a row{output})",
                h.failing_streak
            );
            if answering {
                worsen(
                    Severity::Warning,
                    Condition::Unhealthy,
                    format!("{reason}, but the endpoint answers"),
                    &mut reasons,
                );
            } else {
                return down(reason);
            }
        }
        Some(HealthStatus::Starting) => worsen(
            Severity::Warning,
            Condition::Starting,
            "Docker health check has not passed yet".into(),
            &mut reasons,
        ),
        Some(HealthStatus::Healthy) | None => {}
    }
    if let Some(fraction) = observation.memory.and_then(|m| m.fraction())
        && fraction >= thresholds.memory
    {
        let m = observation.memory.expect("fraction came from memory");
        worsen(
            Severity::Warning,
            Condition::MemoryPressure,
            format!(
                "memory {} of {} ({:.0} %)",
                human_bytes(m.used),
                human_bytes(m.limit),
                fraction * 100.0
            ),
            &mut reasons,
        );
    }
    if reasons.is_empty() {
        reasons.push("running".into());
    }
    Verdict {
        severity,
        condition,
        reasons,
        answered: answering,
    }
}

/// Decides what the services' verdicts and the disks mean for the stack.
pub fn judge_stack<'a>(
    config: &Config,
    verdicts: impl IntoIterator<Item = (&'a Service, &'a Verdict)> + Clone,
    disks: &[Disk],
) -> StackVerdict {
    let mut status = StackStatus::Ok;
    let mut problems = Vec::new();
    for (service, verdict) in verdicts.clone() {
        if verdict.severity == Severity::Ok {
            continue;
        }
        let tier = service.tier.as_str();
        let is_down = service.tier == Tier::Core && verdict.severity == Severity::Critical;
        status = status.max_with(if is_down {
            StackStatus::Down
        } else {
            StackStatus::Degraded
        });
        problems.push(format!(
            "{} ({tier}) is {}: {}",
            service.name,
            verdict.condition,
            verdict.because()
        ));
    }
    for disk in disks {
        if let Some(fraction) = disk.free_fraction()
            && fraction < config.health.disk_free_fraction()
        {
            status = status.max_with(StackStatus::Degraded);
            problems.push(format!(
                "{} ({}) has only {} free ({:.0} %)",
                disk.role,
                disk.path.display(),
                human_bytes(disk.free),
                fraction * 100.0
            ));
        }
    }
    StackVerdict {
        status,
        problems,
        impacts: impacts(config, verdicts),
    }
}

impl StackStatus {
    fn max_with(self, other: StackStatus) -> StackStatus {
        let rank = |s: StackStatus| match s {
            StackStatus::Ok => 0,
            StackStatus::Degraded => 1,
            StackStatus::Down => 2,
        };
        if rank(other) > rank(self) {
            other
        } else {
            self
        }
    }
}

/// What users lose because services are down, from the dependency map, one sentence per dependent.
pub fn impacts<'a>(
    config: &Config,
    verdicts: impl IntoIterator<Item = (&'a Service, &'a Verdict)> + Clone,
) -> Vec<String> {
    let condition_of = |name: &str| {
        verdicts
            .clone()
            .into_iter()
            .find(|(s, _)| s.name == name)
            .map(|(_, v)| v.condition)
    };
    let mut sentences = Vec::new();
    for (service, verdict) in verdicts.clone() {
        if verdict.condition != Condition::Down {
            continue;
        }
        for (dependent, loss) in config.dependents(&service.name) {
            if condition_of(&dependent.name) == Some(Condition::Absent) {
                continue;
            }
            sentences.push(format!(
                "{} is down: {} in {} {loss}",
                service.container, dependent.role, dependent.container
            ));
        }
    }
    sentences
}

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    use magi_core::paths::Paths;
    use magi_docker::{Container, Health, Memory};

    use super::*;

    fn config() -> Config {
        Config::defaults(&Paths::for_test(Path::new("/tmp/magi-verdict")))
    }

    fn service(name: &str) -> Service {
        config().service(name).unwrap().clone()
    }

    fn running(name: &str) -> Container {
        Container {
            state: State::Running,
            ..Container::missing(name)
        }
    }

    fn answered(ms: u64) -> Option<ProbeOutcome> {
        Some(ProbeOutcome::Answered {
            latency: Duration::from_millis(ms),
            detail: "HTTP 200".into(),
        })
    }

    fn observe(container: Container, probe: Option<ProbeOutcome>) -> Observation {
        Observation {
            container: Ok(container),
            probe,
            cpu_percent: None,
            memory: None,
            network: None,
            block_io: None,
            data_bytes: None,
            elapsed: Duration::from_millis(5),
        }
    }

    fn judged(name: &str, observation: &Observation) -> Verdict {
        judge(&service(name), observation, &Thresholds::default())
    }

    fn with_health(status: HealthStatus, streak: u64) -> Container {
        Container {
            health: Some(Health {
                status,
                failing_streak: streak,
                last_output: Some("curl: (7) refused".into()),
            }),
            ..running("magi-memory")
        }
    }

    #[test]
    fn every_condition_survives_its_code_and_nothing_else_decodes() {
        for c in Condition::ALL {
            assert_eq!(Condition::from_code(f64::from(c.code())), Some(c));
        }
        for bad in [-1.0, 0.5, 8.0, f64::NAN, f64::INFINITY] {
            assert_eq!(Condition::from_code(bad), None, "{bad}");
        }
    }

    #[test]
    fn a_running_answering_service_is_up() {
        let v = judged("qdrant", &observe(running("magi-memory"), answered(3)));
        assert_eq!((v.severity, v.condition), (Severity::Ok, Condition::Up));
        assert_eq!(v.because(), "HTTP 200 in 3 ms");
        assert!(v.is_ready());
    }

    #[test]
    fn every_container_state_but_running_is_down() {
        let cases = [
            (State::Paused, "paused"),
            (State::Restarting, "restarting (restarted 0 times)"),
            (State::Exited { code: 3 }, "exited with code 3"),
            (
                State::OomKilled { code: 137 },
                "killed for running out of memory (code 137)",
            ),
            (State::Dead, "dead"),
            (State::Created, "created"),
            (State::Missing, "container magi-memory does not exist"),
        ];
        for (state, reason) in cases {
            let c = Container {
                state,
                ..Container::missing("magi-memory")
            };
            let v = judged("qdrant", &observe(c, None));
            assert_eq!(
                (v.severity, v.condition),
                (Severity::Critical, Condition::Down),
                "{state}"
            );
            assert_eq!(v.because(), reason);
            assert!(!v.is_ready());
        }
    }

    #[test]
    fn a_missing_container_of_an_inactive_profile_is_absent_and_fine() {
        let v = judged("caddy", &observe(Container::missing("magi-caddy"), None));
        assert_eq!((v.severity, v.condition), (Severity::Ok, Condition::Absent));
        assert_eq!(
            v.because(),
            "not deployed (compose profile 'caddy' not active)"
        );
    }

    #[test]
    fn a_failed_or_hung_probe_is_down_even_when_running() {
        let failed = Some(ProbeOutcome::Failed {
            reason: "HTTP 503".into(),
        });
        let v = judged("qdrant", &observe(running("magi-memory"), failed));
        assert_eq!(v.condition, Condition::Down);
        assert_eq!(v.because(), "running, but the probe failed: HTTP 503");
        let hung = Some(ProbeOutcome::TimedOut {
            after: Duration::from_secs(2),
        });
        let v = judged("qdrant", &observe(running("magi-memory"), hung));
        assert_eq!(
            v.because(),
            "running, but the probe got no answer within 2000 ms"
        );
    }

    #[test]
    fn slow_unhealthy_starting_and_memory_are_warnings() {
        let v = judged("qdrant", &observe(running("magi-memory"), answered(1500)));
        assert_eq!(
            (v.severity, v.condition),
            (Severity::Warning, Condition::Slow)
        );
        assert_eq!(v.because(), "HTTP 200 in 1500 ms, slower than 1000 ms");

        let v = judged(
            "qdrant",
            &observe(with_health(HealthStatus::Unhealthy, 4), answered(2)),
        );
        assert_eq!(
            (v.severity, v.condition),
            (Severity::Warning, Condition::Unhealthy)
        );
        assert!(v.because().ends_with("Docker health check failing (4 in a row: curl: (7) refused), but the endpoint answers"), "{}", v.because());

        let v = judged(
            "qdrant",
            &observe(with_health(HealthStatus::Starting, 0), answered(2)),
        );
        assert_eq!(v.condition, Condition::Starting);
        assert!(v.is_ready(), "answering while Docker's first check is due");
        let v = judged(
            "qdrant",
            &observe(with_health(HealthStatus::Starting, 0), None),
        );
        assert_eq!(v.condition, Condition::Starting);
        assert!(!v.is_ready(), "no probe: only Docker's check can say");

        let mut o = observe(running("magi-memory"), answered(2));
        o.memory = Some(Memory {
            used: 95,
            limit: 100,
        });
        let v = judged("qdrant", &o);
        assert_eq!(
            (v.severity, v.condition),
            (Severity::Warning, Condition::MemoryPressure)
        );
        assert!(v.is_ready());
    }

    #[test]
    fn unhealthy_without_an_answering_probe_is_down() {
        let v = judged(
            "playwright",
            &observe(with_health(HealthStatus::Unhealthy, 2), None),
        );
        assert_eq!(
            (v.severity, v.condition),
            (Severity::Critical, Condition::Down)
        );
    }

    #[test]
    fn an_unknown_container_is_a_warning() {
        let o = Observation {
            container: Err("Docker did not answer within 5000 ms".into()),
            ..observe(running("x"), None)
        };
        let v = judged("qdrant", &o);
        assert_eq!(
            (v.severity, v.condition),
            (Severity::Warning, Condition::Unknown)
        );
    }

    fn stack(verdicts: &[(&str, Severity, Condition)], disks: &[Disk]) -> StackVerdict {
        let config = config();
        let pairs: Vec<(Service, Verdict)> = config
            .services
            .iter()
            .map(|s| {
                let (severity, condition) = verdicts
                    .iter()
                    .find(|(n, _, _)| *n == s.name)
                    .map(|(_, sev, c)| (*sev, *c))
                    .unwrap_or(if s.profile.is_some() {
                        (Severity::Ok, Condition::Absent)
                    } else {
                        (Severity::Ok, Condition::Up)
                    });
                (
                    s.clone(),
                    Verdict {
                        severity,
                        condition,
                        reasons: vec!["x".into()],
                        answered: true,
                    },
                )
            })
            .collect();
        judge_stack(&config, pairs.iter().map(|(s, v)| (s, v)), disks)
    }

    #[test]
    fn the_stack_is_ok_degraded_or_down() {
        let all_up = stack(&[], &[]);
        assert_eq!(all_up.status, StackStatus::Ok);
        assert_eq!(all_up.summary(), "stack is ok: every service is up");

        let optional_down = stack(&[("searxng", Severity::Critical, Condition::Down)], &[]);
        assert_eq!(optional_down.status, StackStatus::Degraded);
        assert_eq!(optional_down.problems, ["searxng (optional) is down: x"]);

        let core_slow = stack(&[("qdrant", Severity::Warning, Condition::Slow)], &[]);
        assert_eq!(core_slow.status, StackStatus::Degraded);

        let core_down = stack(
            &[
                ("litellm", Severity::Critical, Condition::Down),
                ("searxng", Severity::Critical, Condition::Down),
            ],
            &[],
        );
        assert_eq!(core_down.status, StackStatus::Down);
        assert_eq!(core_down.problems.len(), 2);
    }

    #[test]
    fn low_disk_space_degrades_the_stack() {
        let disk = Disk {
            role: "backups".into(),
            path: PathBuf::from("/var/backups/magi"),
            free: 5,
            total: 100,
        };
        let v = stack(&[], std::slice::from_ref(&disk));
        assert_eq!(v.status, StackStatus::Degraded);
        assert_eq!(
            v.problems,
            ["backups (/var/backups/magi) has only 5 B free (5 %)"]
        );
        let mut config = config();
        config.health.disk_free_percent = 4;
        let v = judge_stack(&config, std::iter::empty(), std::slice::from_ref(&disk));
        assert_eq!(
            v.status,
            StackStatus::Ok,
            "5 % free is above a 4 % threshold"
        );
        config.health.disk_free_percent = 0;
        let empty = Disk { free: 0, ..disk };
        let v = judge_stack(&config, std::iter::empty(), &[empty]);
        assert_eq!(v.status, StackStatus::Ok, "0 turns the disk check off");
    }

    #[test]
    fn impact_comes_from_the_dependency_map() {
        let v = stack(&[("litellm", Severity::Critical, Condition::Down)], &[]);
        assert_eq!(
            v.impacts,
            ["magi-router is down: chat in magi-cortex cannot reach any model"]
        );
        let v = stack(&[("redis", Severity::Critical, Condition::Down)], &[]);
        assert_eq!(
            v.impacts,
            ["magi-nervous-system is down: model routing in magi-router loses its cache"],
            "firecrawl's profile is inactive, so its loss is not news"
        );
        let v = stack(&[("qdrant", Severity::Warning, Condition::Slow)], &[]);
        assert!(v.impacts.is_empty(), "slow is not down");
    }
}
