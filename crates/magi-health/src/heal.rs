//! Healing: when `watch --restart-unhealthy` restarts a container. A container is ill when it runs but its
//! Docker health check fails or its endpoint does not answer, or when it exited with a failure that nobody
//! asked for. It is restarted once it stayed ill for N checks in a row, then again only after an exponentially
//! growing wait, and never more than a cap per hour. A container an operator stopped (exit code 0, a recorded
//! `docker stop`, or a restart policy Docker itself left alone) or paused is left alone. All decisions are pure.

use std::collections::VecDeque;
use std::time::Duration;

use jiff::Timestamp;
use magi_check::{Condition, ServiceReport};
use magi_core::backoff::Backoff;
use magi_docker::State;

/// How eagerly to heal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    /// Checks in a row a container must be ill before it is restarted.
    pub after: u32,
    /// The wait after the first restart of an episode; it doubles with each further restart.
    pub backoff: Duration,
    /// The most restarts of one container in any hour.
    pub max_per_hour: u32,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            after: 3,
            backoff: Duration::from_secs(60),
            max_per_hour: 3,
        }
    }
}

/// What a check says about a container, for healing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sickness {
    Well,
    /// Ill, and healing may restart it.
    Ill(String),
    /// Not well, but not ours to restart.
    LeftAlone(String),
}

/// Reads a service's report for healing. `on_purpose` says whether an exited container was stopped on
/// purpose (see [`magi_docker::Container::stopped_on_purpose`]).
pub fn sickness(report: &ServiceReport, on_purpose: bool) -> Sickness {
    let Ok(container) = &report.observation.container else {
        return Sickness::LeftAlone("Docker did not describe it".into());
    };
    match container.state {
        State::Running => match report.verdict.condition {
            Condition::Unhealthy | Condition::Down => Sickness::Ill(report.verdict.because()),
            _ => Sickness::Well,
        },
        State::Exited { .. } | State::OomKilled { .. } | State::Dead if on_purpose => {
            Sickness::LeftAlone("stopped on purpose".into())
        }
        State::Exited { .. } | State::OomKilled { .. } | State::Dead => {
            Sickness::Ill(report.verdict.because())
        }
        State::Paused => Sickness::LeftAlone("paused on purpose".into()),
        State::Missing => Sickness::LeftAlone("no such container".into()),
        State::Restarting => Sickness::LeftAlone("Docker is restarting it".into()),
        State::Created | State::Stopping | State::Removing => {
            Sickness::LeftAlone(format!("{}", container.state))
        }
    }
}

/// The healing record of one container.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Patient {
    /// Ill checks in a row.
    pub ill_checks: u32,
    /// Restarts since it was last well.
    pub attempts: u32,
    pub last_restart: Option<Timestamp>,
    /// Restarts within the last hour.
    pub recent: VecDeque<Timestamp>,
    /// Whether the cap has been announced in this episode.
    pub cap_announced: bool,
}

/// What to do about a container now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    Nothing,
    /// Ill, but not for long enough yet.
    Watching {
        ill_checks: u32,
        after: u32,
    },
    Restart {
        reason: String,
        attempt: u32,
    },
    /// Ill long enough, but the backoff since the last restart has not passed.
    Backoff {
        until: Timestamp,
    },
    /// The hourly cap is reached; `announce` is true the first time in an episode.
    Capped {
        restarts: u32,
        announce: bool,
    },
}

const HOUR: Duration = Duration::from_secs(3600);

impl Policy {
    /// The wait after the `attempt`-th restart of an episode: backoff, 2 × backoff, 4 × backoff, …
    pub fn wait_after(&self, attempt: u32) -> Duration {
        Backoff {
            initial: self.backoff,
            max: self.backoff.saturating_mul(1 << 16),
        }
        .wait(attempt)
    }

    /// Decides, and updates the patient's record as if the decision is carried out.
    pub fn decide(&self, patient: &mut Patient, now: Timestamp, sickness: &Sickness) -> Decision {
        while patient
            .recent
            .front()
            .is_some_and(|t| now.duration_since(*t).as_secs() >= HOUR.as_secs() as i64)
        {
            patient.recent.pop_front();
        }
        let reason = match sickness {
            Sickness::Well => {
                patient.ill_checks = 0;
                patient.attempts = 0;
                patient.cap_announced = false;
                return Decision::Nothing;
            }
            Sickness::LeftAlone(_) => {
                patient.ill_checks = 0;
                return Decision::Nothing;
            }
            Sickness::Ill(reason) => reason,
        };
        patient.ill_checks += 1;
        if patient.ill_checks < self.after {
            return Decision::Watching {
                ill_checks: patient.ill_checks,
                after: self.after,
            };
        }
        if patient.recent.len() as u32 >= self.max_per_hour {
            let announce = !patient.cap_announced;
            patient.cap_announced = true;
            return Decision::Capped {
                restarts: patient.recent.len() as u32,
                announce,
            };
        }
        if let Some(last) = patient.last_restart
            && patient.attempts > 0
        {
            let until = last
                .checked_add(self.wait_after(patient.attempts))
                .unwrap_or(last);
            if now < until {
                return Decision::Backoff { until };
            }
        }
        patient.attempts += 1;
        patient.ill_checks = 0;
        patient.last_restart = Some(now);
        patient.recent.push_back(now);
        Decision::Restart {
            reason: reason.clone(),
            attempt: patient.attempts,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(seconds: i64) -> Timestamp {
        Timestamp::from_second(1_800_000_000 + seconds).unwrap()
    }

    fn ill() -> Sickness {
        Sickness::Ill("running, but the probe failed: HTTP 503".into())
    }

    fn policy() -> Policy {
        Policy {
            after: 3,
            backoff: Duration::from_secs(60),
            max_per_hour: 3,
        }
    }

    #[test]
    fn restarts_after_n_ill_checks() {
        let mut p = Patient::default();
        assert_eq!(
            policy().decide(&mut p, at(0), &ill()),
            Decision::Watching {
                ill_checks: 1,
                after: 3
            }
        );
        assert_eq!(
            policy().decide(&mut p, at(15), &ill()),
            Decision::Watching {
                ill_checks: 2,
                after: 3
            }
        );
        assert!(matches!(
            policy().decide(&mut p, at(30), &ill()),
            Decision::Restart { attempt: 1, .. }
        ));
    }

    #[test]
    fn a_well_check_resets_the_count() {
        let mut p = Patient::default();
        policy().decide(&mut p, at(0), &ill());
        policy().decide(&mut p, at(15), &ill());
        assert_eq!(
            policy().decide(&mut p, at(30), &Sickness::Well),
            Decision::Nothing
        );
        assert!(matches!(
            policy().decide(&mut p, at(45), &ill()),
            Decision::Watching { ill_checks: 1, .. }
        ));
    }

    #[test]
    fn backoff_doubles_and_the_hourly_cap_holds() {
        let policy = Policy {
            after: 1,
            ..policy()
        };
        let mut p = Patient::default();
        let mut restarts = Vec::new();
        let mut decisions = Vec::new();
        for t in (0..3600).step_by(15) {
            match policy.decide(&mut p, at(t), &ill()) {
                Decision::Restart { .. } => restarts.push(t),
                d @ Decision::Capped { .. } => decisions.push(d),
                _ => {}
            }
        }
        assert_eq!(
            restarts,
            [0, 60, 180],
            "waits of 60 s then 120 s, then the cap of 3 per hour"
        );
        assert_eq!(
            decisions.first(),
            Some(&Decision::Capped {
                restarts: 3,
                announce: true
            })
        );
        assert!(decisions[1..].iter().all(|d| *d
            == Decision::Capped {
                restarts: 3,
                announce: false
            }));
        assert!(
            matches!(
                policy.decide(&mut p, at(3600), &ill()),
                Decision::Restart { attempt: 4, .. }
            ),
            "an hour after the first restart, one more is allowed (after a backoff of 480 s has long passed)"
        );
    }

    #[test]
    fn left_alone_is_never_restarted() {
        let policy = Policy {
            after: 1,
            ..policy()
        };
        let mut p = Patient::default();
        for t in 0..10 {
            assert_eq!(
                policy.decide(
                    &mut p,
                    at(t * 15),
                    &Sickness::LeftAlone("stopped on purpose".into())
                ),
                Decision::Nothing
            );
        }
    }

    #[test]
    fn the_wait_grows_exponentially() {
        let p = policy();
        assert_eq!(
            [1, 2, 3, 4].map(|a| p.wait_after(a).as_secs()),
            [60, 120, 240, 480]
        );
    }
}
