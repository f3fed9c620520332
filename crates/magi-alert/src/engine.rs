//! The decide step of the pipeline: every rule's [`Track`] of every subject, fed events and ticks, giving
//! back [`Decision`]s for the store to record. Still pure: no clock, no I/O; silences and acknowledgements
//! are handed in by the caller, which reads them from the store.

use std::collections::HashMap;

use jiff::Timestamp;
use magi_core::config::AlertRule;
use magi_core::{Config, Event, Tier};

use crate::rule::{self, Step, Track, Verdict};

/// A silence: no notices for subjects matching `subject` (a glob) until `until`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Silence {
    pub subject: String,
    pub until: Timestamp,
}

/// A track that changed, and what its change asks for.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    pub rule: String,
    pub subject: String,
    pub track: Track,
    pub step: Step,
    /// The event that moved the track; `None` when time did.
    pub event: Option<Event>,
}

/// The rules and what they remember.
pub struct Engine {
    rules: Vec<AlertRule>,
    tiers: HashMap<String, Tier>,
    tracks: HashMap<(usize, String), Track>,
    silences: Vec<Silence>,
}

impl Engine {
    pub fn new(config: &Config) -> Engine {
        let mut tiers = HashMap::new();
        for service in &config.services {
            tiers.insert(service.name.clone(), service.tier);
            tiers.insert(service.container.clone(), service.tier);
        }
        Engine {
            rules: config.alert.rules.clone(),
            tiers,
            tracks: HashMap::new(),
            silences: Vec::new(),
        }
    }

    pub fn rules(&self) -> &[AlertRule] {
        &self.rules
    }

    /// Restores a track saved by the store. Tracks of rules no longer configured are dropped.
    pub fn restore(&mut self, rule: &str, subject: &str, track: Track) {
        if let Some(index) = self.rules.iter().position(|r| r.name == rule) {
            self.tracks.insert((index, subject.to_owned()), track);
        }
    }

    /// Replaces the active silences.
    pub fn set_silences(&mut self, silences: Vec<Silence>) {
        self.silences = silences;
    }

    /// Marks which firing alerts are acknowledged, by rule and subject.
    pub fn set_acked(&mut self, acked: &dyn Fn(&str, &str) -> bool) {
        for ((index, subject), track) in &mut self.tracks {
            if let Some(firing) = &mut track.firing {
                firing.acked = acked(&self.rules[*index].name, subject);
            }
        }
    }

    /// Whether a silence covers `subject` at `now`.
    #[cfg(test)]
    pub fn silenced(&self, subject: &str, now: Timestamp) -> bool {
        covered(&self.silences, subject, now)
    }

    /// Feeds one event to every rule. Only tracks that changed come back.
    pub fn observe(&mut self, event: &Event, now: Timestamp) -> Vec<Decision> {
        let mut decisions = Vec::new();
        let tiers = &self.tiers;
        let tier_of = |subject: &str| tiers.get(subject).copied();
        for (index, rule) in self.rules.iter().enumerate() {
            let Some(verdict) = rule::judge(rule, event, &tier_of) else {
                continue;
            };
            let key = (index, event.subject.clone());
            let before = self.tracks.get(&key).copied().unwrap_or_default();
            if before.last_event.is_some_and(|last| event.ts <= last) {
                log::debug!(
                    "{}: event of {} is not newer than the last one seen; a replay, ignored",
                    event.subject,
                    event.ts
                );
                continue;
            }
            if verdict == Verdict::Neutral || (verdict == Verdict::Good && before.is_idle()) {
                continue;
            }
            let silenced = covered(&self.silences, &event.subject, now);
            let mut track = before;
            track.last_event = Some(event.ts);
            let step = rule::observe(rule, &mut track, verdict, event.severity, now, silenced);
            // An idle track is kept for its `last_event`, so a replay of the outage cannot raise it again.
            self.tracks.insert(key, track);
            decisions.push(Decision {
                rule: rule.name.clone(),
                subject: event.subject.clone(),
                track,
                step,
                event: Some(event.clone()),
            });
        }
        decisions
    }

    /// Lets time pass for every remembered track.
    pub fn tick(&mut self, now: Timestamp) -> Vec<Decision> {
        let mut decisions = Vec::new();
        for ((index, subject), track) in &mut self.tracks {
            let silenced = covered(&self.silences, subject, now);
            let rule = &self.rules[*index];
            let step = rule::tick(rule, track, now, silenced);
            if step != Step::Nothing {
                decisions.push(Decision {
                    rule: rule.name.clone(),
                    subject: subject.clone(),
                    track: *track,
                    step,
                    event: None,
                });
            }
        }
        decisions
    }
}

fn covered(silences: &[Silence], subject: &str, now: Timestamp) -> bool {
    silences
        .iter()
        .any(|s| s.until > now && rule::glob(&s.subject, subject))
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use magi_core::Severity;
    use magi_core::paths::Paths;

    use super::*;
    use crate::rule::NoticeKind;

    fn engine() -> Engine {
        Engine::new(&Config::defaults(&Paths::for_test(Path::new("/tmp/x"))))
    }

    fn at(seconds: i64) -> Timestamp {
        Timestamp::from_second(1_800_000_000 + seconds).unwrap()
    }

    fn status(subject: &str, severity: Severity, ts: i64) -> Event {
        let mut e = Event::new("magi-health", "service.status", subject, severity, "x");
        e.ts = at(ts);
        e
    }

    fn steps(decisions: &[Decision]) -> Vec<(&str, &str, Step)> {
        decisions
            .iter()
            .map(|d| (d.rule.as_str(), d.subject.as_str(), d.step))
            .collect()
    }

    #[test]
    fn one_alert_per_subject_and_healthy_streams_remember_nothing() {
        let mut engine = engine();
        for t in 0..1000 {
            assert!(
                engine
                    .observe(&status("qdrant", Severity::Ok, t), at(t))
                    .is_empty()
            );
        }
        assert!(engine.tracks.is_empty());
        let d = engine.observe(&status("qdrant", Severity::Critical, 1000), at(1000));
        assert_eq!(
            steps(&d),
            [("core-down", "qdrant", Step::Open { notify: true })]
        );
        let d = engine.observe(&status("redis", Severity::Critical, 1001), at(1001));
        assert_eq!(
            steps(&d),
            [("core-down", "redis", Step::Open { notify: true })]
        );
        let d = engine.observe(&status("qdrant", Severity::Critical, 1002), at(1002));
        assert_eq!(steps(&d), [("core-down", "qdrant", Step::Nothing)]);
        let d = engine.observe(&status("searxng", Severity::Critical, 1003), at(1003));
        assert!(
            d.is_empty(),
            "an optional service is not core-down's business"
        );
        let d = engine.observe(&status("qdrant", Severity::Ok, 1004), at(1004));
        assert_eq!(
            steps(&d),
            [("core-down", "qdrant", Step::Close { notify: true })]
        );
        let firing: Vec<&str> = engine
            .tracks
            .iter()
            .filter(|(_, t)| t.firing.is_some())
            .map(|((_, s), _)| s.as_str())
            .collect();
        assert_eq!(firing, ["redis"]);
    }

    #[test]
    fn replayed_events_change_nothing() {
        let mut engine = engine();
        engine.observe(&status("qdrant", Severity::Critical, 10), at(10));
        engine.observe(&status("qdrant", Severity::Ok, 20), at(20));
        let replay = [
            status("qdrant", Severity::Critical, 10),
            status("qdrant", Severity::Ok, 20),
        ];
        for e in &replay {
            assert!(engine.observe(e, at(30)).is_empty());
        }
    }

    #[test]
    fn a_restored_track_goes_on_where_it_stopped() {
        let mut first = engine();
        let d = first.observe(&status("qdrant", Severity::Critical, 10), at(10));
        let mut second = engine();
        second.restore("core-down", "qdrant", d[0].track);
        second.restore("no-such-rule", "qdrant", d[0].track);
        assert_eq!(
            steps(&second.observe(&status("qdrant", Severity::Critical, 11), at(11))),
            [("core-down", "qdrant", Step::Nothing)],
            "no second alert after a restart"
        );
        assert_eq!(
            steps(&second.observe(&status("qdrant", Severity::Ok, 12), at(12))),
            [("core-down", "qdrant", Step::Close { notify: true })]
        );
    }

    #[test]
    fn silences_expire_and_acks_stop_reminders() {
        let mut engine = engine();
        engine.set_silences(vec![Silence {
            subject: "q*".into(),
            until: at(3600),
        }]);
        assert!(engine.silenced("qdrant", at(0)) && !engine.silenced("redis", at(0)));
        let d = engine.observe(&status("qdrant", Severity::Critical, 0), at(0));
        assert_eq!(d[0].step, Step::Open { notify: false });
        assert!(engine.tick(at(3599)).is_empty());
        assert_eq!(
            steps(&engine.tick(at(3600))),
            [("core-down", "qdrant", Step::Notify(NoticeKind::Firing))]
        );
        engine.set_acked(&|rule, subject| rule == "core-down" && subject == "qdrant");
        assert!(engine.tick(at(10 * 3600)).is_empty());
    }
}
