//! The alert rules as pure functions: whether an event is bad, good or neither for a rule, and how one
//! subject's [`Track`] moves when an event arrives ([`observe`]) or time passes ([`tick`]).
//!
//! Nothing here reads a clock, a file or the database: the caller passes `now`, so every timing rule (fire
//! after a duration, remind every interval, silences that expire) is tested by handing in timestamps.
//! A matching event at the rule's severity or worse is bad; an `ok` event is good; anything between
//! (an `info` for a `critical` rule) changes nothing.

use std::time::Duration;

use jiff::Timestamp;
use magi_core::config::AlertRule;
use magi_core::{Event, Severity, Tier};
use serde::{Deserialize, Serialize};

/// What an event means for a rule that matches it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Bad,
    Good,
    Neutral,
}

/// Whether the rule watches this event, and if so what it says. `tier_of` looks a subject up in the catalog.
pub fn judge(
    rule: &AlertRule,
    event: &Event,
    tier_of: &dyn Fn(&str) -> Option<Tier>,
) -> Option<Verdict> {
    if !glob(&rule.kind, &event.kind) || !glob(&rule.subject, &event.subject) {
        return None;
    }
    if let Some(tier) = rule.tier {
        let event_tier = tier_of(&event.subject).or_else(|| {
            event
                .data
                .get("tier")
                .and_then(|t| t.as_str())
                .and_then(Tier::from_name)
        });
        if event_tier != Some(tier) {
            return None;
        }
    }
    for (key, want) in &rule.data {
        let matches = match event.data.get(key) {
            Some(serde_json::Value::String(s)) => s == want,
            Some(other) => serde_json::to_string(other).is_ok_and(|text| text == *want),
            None => false,
        };
        if !matches {
            return None;
        }
    }
    Some(if event.severity >= rule.severity {
        Verdict::Bad
    } else if event.severity == Severity::Ok {
        Verdict::Good
    } else {
        Verdict::Neutral
    })
}

/// `*` matches any run of characters, everything else itself.
pub fn glob(pattern: &str, text: &str) -> bool {
    let mut parts = pattern.split('*');
    let first = parts.next().unwrap_or("");
    let Some(mut rest) = text.strip_prefix(first) else {
        return false;
    };
    let parts: Vec<&str> = parts.collect();
    let Some((last, middle)) = parts.split_last() else {
        return rest.is_empty();
    };
    for part in middle {
        match rest.find(part) {
            Some(i) => rest = &rest[i + part.len()..],
            None => return false,
        }
    }
    rest.len() >= last.len() && rest.ends_with(last)
}

/// An alert that is firing, as the rules see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Firing {
    pub since: Timestamp,
    /// The worst severity seen while firing.
    pub severity: Severity,
    /// When a notice last went out; `None` if it fired under a silence and nobody has been told yet.
    pub notified_at: Option<Timestamp>,
    /// Acknowledged: no reminders until it resolves.
    pub acked: bool,
}

/// What a rule remembers about one subject.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Track {
    /// Bad events in a row.
    pub bad: u32,
    /// Good events in a row while firing.
    pub good: u32,
    /// When the current run of bad events began.
    pub bad_since: Option<Timestamp>,
    /// The newest event time seen: an event no newer (a journal replayed after a restart) is ignored.
    pub last_event: Option<Timestamp>,
    pub firing: Option<Firing>,
}

impl Track {
    /// A track with nothing to remember can be forgotten.
    pub fn is_idle(&self) -> bool {
        self.bad == 0 && self.firing.is_none()
    }
}

/// Why a notice is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NoticeKind {
    /// The alert started (or, if it started under a silence, the silence ended while it still fires).
    Firing,
    /// It got worse while firing (warning to critical).
    Escalated,
    /// Still firing, not acknowledged, and the reminder interval has passed.
    Reminder,
    Resolved,
    /// `magi-alert test`.
    Test,
}

impl NoticeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            NoticeKind::Firing => "firing",
            NoticeKind::Escalated => "escalated",
            NoticeKind::Reminder => "reminder",
            NoticeKind::Resolved => "resolved",
            NoticeKind::Test => "test",
        }
    }
}

/// What a track's change asks the caller to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Nothing,
    /// A new alert; tell the channels unless silenced.
    Open {
        notify: bool,
    },
    /// Tell the channels about an alert that goes on.
    Notify(NoticeKind),
    /// The alert resolved; tell the channels if the rule sends resolves and they heard it fire.
    Close {
        notify: bool,
    },
}

/// Moves `track` for one event the rule judged; `silenced` says whether a silence covers the subject now.
pub fn observe(
    rule: &AlertRule,
    track: &mut Track,
    verdict: Verdict,
    severity: Severity,
    now: Timestamp,
    silenced: bool,
) -> Step {
    match verdict {
        Verdict::Neutral => Step::Nothing,
        Verdict::Bad => {
            track.good = 0;
            track.bad = track.bad.saturating_add(1);
            let since = *track.bad_since.get_or_insert(now);
            match &mut track.firing {
                None if track.bad >= rule.fire_after || lasted(rule.fire_for, since, now) => {
                    open(track, since, severity, now, silenced)
                }
                None => Step::Nothing,
                Some(firing) if severity > firing.severity => {
                    firing.severity = severity;
                    if silenced {
                        Step::Nothing
                    } else {
                        firing.notified_at = Some(now);
                        Step::Notify(NoticeKind::Escalated)
                    }
                }
                Some(_) => Step::Nothing,
            }
        }
        Verdict::Good => {
            track.bad = 0;
            track.bad_since = None;
            let Some(firing) = track.firing else {
                return Step::Nothing;
            };
            track.good = track.good.saturating_add(1);
            if track.good < rule.resolve_after {
                return Step::Nothing;
            }
            track.good = 0;
            track.firing = None;
            Step::Close {
                notify: rule.send_resolved && firing.notified_at.is_some() && !silenced,
            }
        }
    }
}

/// Moves `track` as time passes: fires a rule whose bad run has lasted `for`, tells about an alert whose
/// silence ended, reminds about an unacknowledged one.
pub fn tick(rule: &AlertRule, track: &mut Track, now: Timestamp, silenced: bool) -> Step {
    match &mut track.firing {
        None => match track.bad_since {
            Some(since) if lasted(rule.fire_for, since, now) => {
                let severity = rule.severity;
                open(track, since, severity, now, silenced)
            }
            _ => Step::Nothing,
        },
        Some(_) if silenced => Step::Nothing,
        Some(firing) => match firing.notified_at {
            None => {
                firing.notified_at = Some(now);
                Step::Notify(NoticeKind::Firing)
            }
            Some(last) if !firing.acked && lasted(rule.remind, last, now) => {
                firing.notified_at = Some(now);
                Step::Notify(NoticeKind::Reminder)
            }
            Some(_) => Step::Nothing,
        },
    }
}

fn open(
    track: &mut Track,
    since: Timestamp,
    severity: Severity,
    now: Timestamp,
    silenced: bool,
) -> Step {
    track.firing = Some(Firing {
        since,
        severity,
        notified_at: (!silenced).then_some(now),
        acked: false,
    });
    Step::Open { notify: !silenced }
}

fn lasted(interval: Option<Duration>, since: Timestamp, now: Timestamp) -> bool {
    interval.is_some_and(|d| now.duration_since(since).unsigned_abs() >= d && now >= since)
}

#[cfg(test)]
mod tests {
    use super::*;
    use magi_core::config::AlertConfig;

    fn rule() -> AlertRule {
        AlertConfig::defaults().rule("core-down").unwrap().clone()
    }

    fn at(seconds: i64) -> Timestamp {
        Timestamp::from_second(1_800_000_000 + seconds).unwrap()
    }

    fn event(subject: &str, severity: Severity, tier: Option<&str>) -> Event {
        let e = Event::new("magi-health", "service.status", subject, severity, "x");
        match tier {
            Some(t) => e.with("tier", t),
            None => e,
        }
    }

    fn catalog(subject: &str) -> Option<Tier> {
        match subject {
            "qdrant" | "magi-memory" => Some(Tier::Core),
            "searxng" => Some(Tier::Optional),
            _ => None,
        }
    }

    /// Feeds `(second, verdict)` pairs and returns the steps that were not `Nothing`, with their times.
    fn run(rule: &AlertRule, feed: &[(i64, Verdict)]) -> Vec<(i64, Step)> {
        let mut track = Track::default();
        feed.iter()
            .map(|(t, v)| {
                (
                    *t,
                    observe(rule, &mut track, *v, Severity::Critical, at(*t), false),
                )
            })
            .filter(|(_, s)| *s != Step::Nothing)
            .collect()
    }

    #[test]
    fn globs_match_kinds_and_subjects() {
        assert!(glob("*", "anything"));
        assert!(glob("backup.*", "backup.failed"));
        assert!(!glob("backup.*", "backups.failed"));
        assert!(glob("*.status", "service.status"));
        assert!(glob("a*b*c", "a-b-b-c"));
        assert!(!glob("a*b*c", "a-c"));
        assert!(glob("qdrant", "qdrant"));
        assert!(!glob("qdrant", "qdrant2"));
        assert!(!glob("ab*ba", "aba"));
    }

    #[test]
    fn core_down_judges_by_the_catalog_then_the_event() {
        let rule = rule();
        let judged = |e: &Event| judge(&rule, e, &catalog);
        assert_eq!(
            judged(&event("qdrant", Severity::Critical, None)),
            Some(Verdict::Bad)
        );
        assert_eq!(
            judged(&event("magi-memory", Severity::Ok, None)),
            Some(Verdict::Good)
        );
        assert_eq!(
            judged(&event("qdrant", Severity::Warning, None)),
            Some(Verdict::Neutral)
        );
        assert_eq!(
            judged(&event("searxng", Severity::Critical, Some("core"))),
            None,
            "the catalog wins"
        );
        assert_eq!(
            judged(&event("ollama", Severity::Critical, Some("core"))),
            Some(Verdict::Bad)
        );
        assert_eq!(judged(&event("ollama", Severity::Critical, None)), None);
        let mut other = event("qdrant", Severity::Critical, None);
        other.kind = "backup.failed".into();
        assert_eq!(judged(&other), None);
    }

    #[test]
    fn data_fields_must_match_as_text() {
        let mut rule = rule();
        rule.tier = None;
        rule.data.insert("exit".into(), "137".into());
        let e = event("x", Severity::Critical, None).with("exit", 137);
        assert_eq!(judge(&rule, &e, &catalog), Some(Verdict::Bad));
        let e = event("x", Severity::Critical, None).with("exit", "1");
        assert_eq!(judge(&rule, &e, &catalog), None);
    }

    #[test]
    fn fires_after_n_bad_and_resolves_after_m_good() {
        let mut rule = rule();
        rule.fire_after = 3;
        rule.resolve_after = 2;
        use Verdict::{Bad, Good, Neutral};
        let steps = run(
            &rule,
            &[
                (0, Bad),
                (1, Bad),
                (2, Good),
                (3, Bad),
                (4, Bad),
                (5, Neutral),
                (6, Bad),
                (7, Bad),
                (8, Good),
                (9, Bad),
                (10, Good),
                (11, Good),
                (12, Good),
            ],
        );
        assert_eq!(
            steps,
            [
                (6, Step::Open { notify: true }),
                (11, Step::Close { notify: true })
            ],
            "a good event breaks the bad run; a bad one breaks the good run; neutral changes nothing"
        );
    }

    #[test]
    fn fires_after_a_duration_even_without_more_events() {
        let mut rule = rule();
        rule.fire_after = 100;
        rule.fire_for = Some(Duration::from_secs(60));
        let mut track = Track::default();
        assert_eq!(
            observe(
                &rule,
                &mut track,
                Verdict::Bad,
                Severity::Critical,
                at(0),
                false
            ),
            Step::Nothing
        );
        assert_eq!(tick(&rule, &mut track, at(59), false), Step::Nothing);
        assert_eq!(
            tick(&rule, &mut track, at(60), false),
            Step::Open { notify: true }
        );
        assert_eq!(
            track.firing.unwrap().since,
            at(0),
            "the alert started when the subject went bad"
        );
        let mut track = Track::default();
        observe(
            &rule,
            &mut track,
            Verdict::Bad,
            Severity::Critical,
            at(0),
            false,
        );
        assert_eq!(
            observe(
                &rule,
                &mut track,
                Verdict::Bad,
                Severity::Critical,
                at(61),
                false
            ),
            Step::Open { notify: true }
        );
    }

    #[test]
    fn reminds_at_the_interval_until_acknowledged() {
        let rule = rule(); // remind 4h
        let mut track = Track::default();
        observe(
            &rule,
            &mut track,
            Verdict::Bad,
            Severity::Critical,
            at(0),
            false,
        );
        assert_eq!(
            tick(&rule, &mut track, at(4 * 3600 - 1), false),
            Step::Nothing
        );
        assert_eq!(
            tick(&rule, &mut track, at(4 * 3600), false),
            Step::Notify(NoticeKind::Reminder)
        );
        assert_eq!(
            tick(&rule, &mut track, at(4 * 3600 + 10), false),
            Step::Nothing,
            "no more often than the interval"
        );
        track.firing.as_mut().unwrap().acked = true;
        assert_eq!(tick(&rule, &mut track, at(24 * 3600), false), Step::Nothing);
        assert_eq!(
            observe(
                &rule,
                &mut track,
                Verdict::Good,
                Severity::Ok,
                at(25 * 3600),
                false
            ),
            Step::Close { notify: true },
            "an acknowledged alert still says when it resolves"
        );
        let mut never = rule.clone();
        never.remind = None;
        let mut track = Track::default();
        observe(
            &never,
            &mut track,
            Verdict::Bad,
            Severity::Critical,
            at(0),
            false,
        );
        assert_eq!(
            tick(&never, &mut track, at(100 * 86400), false),
            Step::Nothing
        );
    }

    #[test]
    fn a_silence_holds_notices_and_the_first_one_goes_out_when_it_ends() {
        let rule = rule();
        let mut track = Track::default();
        assert_eq!(
            observe(
                &rule,
                &mut track,
                Verdict::Bad,
                Severity::Critical,
                at(0),
                true
            ),
            Step::Open { notify: false }
        );
        assert_eq!(tick(&rule, &mut track, at(5 * 3600), true), Step::Nothing);
        assert_eq!(
            tick(&rule, &mut track, at(5 * 3600 + 1), false),
            Step::Notify(NoticeKind::Firing)
        );
        let mut quiet = Track::default();
        observe(
            &rule,
            &mut quiet,
            Verdict::Bad,
            Severity::Critical,
            at(0),
            true,
        );
        assert_eq!(
            observe(
                &rule,
                &mut quiet,
                Verdict::Good,
                Severity::Ok,
                at(10),
                false
            ),
            Step::Close { notify: false },
            "nobody heard it fire, so nobody hears it resolve"
        );
    }

    #[test]
    fn getting_worse_while_firing_is_news() {
        let rule = AlertConfig::defaults().rule("budget").unwrap().clone();
        let mut track = Track::default();
        assert_eq!(
            observe(
                &rule,
                &mut track,
                Verdict::Bad,
                Severity::Warning,
                at(0),
                false
            ),
            Step::Open { notify: true }
        );
        assert_eq!(
            observe(
                &rule,
                &mut track,
                Verdict::Bad,
                Severity::Warning,
                at(1),
                false
            ),
            Step::Nothing
        );
        assert_eq!(
            observe(
                &rule,
                &mut track,
                Verdict::Bad,
                Severity::Critical,
                at(2),
                false
            ),
            Step::Notify(NoticeKind::Escalated)
        );
        assert_eq!(
            observe(
                &rule,
                &mut track,
                Verdict::Bad,
                Severity::Critical,
                at(3),
                false
            ),
            Step::Nothing
        );
    }

    #[test]
    fn send_resolved_off_closes_quietly() {
        let mut rule = rule();
        rule.send_resolved = false;
        let steps = run(&rule, &[(0, Verdict::Bad), (1, Verdict::Good)]);
        assert_eq!(
            steps,
            [
                (0, Step::Open { notify: true }),
                (1, Step::Close { notify: false })
            ]
        );
    }
}
