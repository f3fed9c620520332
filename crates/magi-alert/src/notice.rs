//! What a channel is told: a [`Notice`] about one alert, and its renderings: a headline and a text body
//! (email, exec), and the JSON bodies of the generic webhook, ntfy, Slack and Discord.
//!
//! A notice is stored with its delivery, so a delivery retried after a restart says exactly what the first
//! attempt said. Each carries a delivery key that receivers can use to drop a duplicate (see `delivery`).

use jiff::Timestamp;
use magi_core::{Event, Severity};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::rule::NoticeKind;

/// One notice about one alert.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Notice {
    pub kind: NoticeKind,
    /// The alert's id (`magi-alert ack ID`); 0 for a test notice.
    pub alert: i64,
    pub rule: String,
    pub subject: String,
    pub severity: Severity,
    pub message: String,
    /// When the alert began.
    pub since: Timestamp,
    /// When this notice was decided.
    pub at: Timestamp,
    /// The event behind it: the one that fired, escalated or resolved it, or the latest bad one.
    pub event: Event,
}

impl Notice {
    /// `[FIRING] qdrant: qdrant is down`
    pub fn headline(&self) -> String {
        let label = match self.kind {
            NoticeKind::Firing => "FIRING",
            NoticeKind::Escalated => "ESCALATED",
            NoticeKind::Reminder => "STILL FIRING",
            NoticeKind::Resolved => "RESOLVED",
            NoticeKind::Test => "TEST",
        };
        format!("[{label}] {}: {}", self.subject, self.message)
    }

    /// A few lines a person reads in a mail or a push.
    pub fn body(&self) -> String {
        let mut lines = vec![self.message.clone(), String::new()];
        let lasted = self.at.duration_since(self.since).unsigned_abs();
        let lasted =
            magi_core::config::format_duration(std::time::Duration::from_secs(lasted.as_secs()));
        match self.kind {
            NoticeKind::Resolved => {
                lines.push(format!("Resolved after {lasted} (since {}).", self.since))
            }
            NoticeKind::Test => {
                lines.push("This is a test notice from magi-alert: the channel works.".into())
            }
            _ => lines.push(format!("Firing since {} ({lasted}).", self.since)),
        }
        lines.push(format!("Subject:  {}", self.subject));
        lines.push(format!("Severity: {}", self.severity));
        lines.push(format!("Rule:     {}", self.rule));
        lines.push(format!(
            "Event:    {} from {} on {}",
            self.event.kind, self.event.source, self.event.host
        ));
        if self.alert > 0 {
            lines.push(format!("Alert:    #{}", self.alert));
            if matches!(
                self.kind,
                NoticeKind::Firing | NoticeKind::Escalated | NoticeKind::Reminder
            ) {
                lines.push(String::new());
                lines.push(format!(
                    "Acknowledge to stop reminders: magi-alert ack {}",
                    self.alert
                ));
            }
        }
        lines.join("\n")
    }

    fn colour(&self) -> u32 {
        match (self.kind, self.severity) {
            (NoticeKind::Resolved, _) | (_, Severity::Ok) => 0x2a9d8f,
            (_, Severity::Critical) => 0xd62828,
            (_, Severity::Warning) => 0xf4a261,
            _ => 0x457b9d,
        }
    }

    /// The generic webhook body: the alert, its status and the event, for any receiver.
    pub fn generic_json(&self, key: &str) -> Value {
        json!({
            "version": 1,
            "status": self.kind.as_str(),
            "title": self.headline(),
            "delivery": key,
            "alert": {
                "id": self.alert,
                "rule": self.rule,
                "subject": self.subject,
                "severity": self.severity,
                "message": self.message,
                "since": self.since,
            },
            "event": self.event,
        })
    }

    /// ntfy's JSON publishing body (POST to the server's root).
    pub fn ntfy_json(&self, topic: &str) -> Value {
        let (priority, tag) = match (self.kind, self.severity) {
            (NoticeKind::Resolved, _) => (3, "white_check_mark"),
            (NoticeKind::Test, _) => (3, "test_tube"),
            (_, Severity::Critical) => (5, "rotating_light"),
            (_, Severity::Warning) => (4, "warning"),
            _ => (3, "information_source"),
        };
        json!({
            "topic": topic,
            "title": self.headline(),
            "message": self.body(),
            "priority": priority,
            "tags": [tag, "magi", self.rule],
        })
    }

    /// A Slack incoming-webhook body.
    pub fn slack_json(&self) -> Value {
        json!({
            "text": self.headline(),
            "attachments": [{
                "color": format!("#{:06x}", self.colour()),
                "text": self.body(),
                "footer": format!("magi-alert on {}", self.event.host),
                "ts": self.at.as_second(),
            }],
        })
    }

    /// A Discord webhook body.
    pub fn discord_json(&self) -> Value {
        json!({
            "username": "MAGI",
            "content": "",
            "embeds": [{
                "title": truncate(&self.headline(), 256),
                "description": truncate(&self.body(), 4096),
                "color": self.colour(),
                "timestamp": self.at,
            }],
        })
    }
}

fn truncate(text: &str, max_chars: usize) -> String {
    match text.char_indices().nth(max_chars) {
        Some((i, _)) => text[..i].to_owned(),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn notice(kind: NoticeKind) -> Notice {
        let event = Event::new(
            "magi-health",
            "service.status",
            "qdrant",
            Severity::Critical,
            "qdrant is down",
        );
        Notice {
            kind,
            alert: 7,
            rule: "core-down".into(),
            subject: "qdrant".into(),
            severity: Severity::Critical,
            message: "qdrant is down".into(),
            since: Timestamp::from_second(1_800_000_000).unwrap(),
            at: Timestamp::from_second(1_800_000_000 + 150).unwrap(),
            event,
        }
    }

    #[test]
    fn headlines_and_bodies_say_what_happened() {
        let firing = notice(NoticeKind::Firing);
        assert_eq!(firing.headline(), "[FIRING] qdrant: qdrant is down");
        assert!(
            firing.body().contains("magi-alert ack 7"),
            "{}",
            firing.body()
        );
        let resolved = notice(NoticeKind::Resolved);
        assert!(
            resolved.body().contains("Resolved after 2m 30s"),
            "{}",
            resolved.body()
        );
        assert!(!resolved.body().contains("ack"));
    }

    #[test]
    fn each_format_has_its_fields() {
        let n = notice(NoticeKind::Firing);
        let g = n.generic_json("k1");
        assert_eq!(
            (
                g["status"].as_str(),
                g["alert"]["id"].as_i64(),
                g["delivery"].as_str()
            ),
            (Some("firing"), Some(7), Some("k1"))
        );
        assert_eq!(g["event"]["subject"], "qdrant");
        let ntfy = n.ntfy_json("ops");
        assert_eq!(
            (ntfy["topic"].as_str(), ntfy["priority"].as_i64()),
            (Some("ops"), Some(5))
        );
        assert_eq!(ntfy["tags"][0], "rotating_light");
        assert_eq!(n.slack_json()["attachments"][0]["color"], "#d62828");
        assert_eq!(n.discord_json()["embeds"][0]["color"], 0xd62828);
        assert_eq!(notice(NoticeKind::Resolved).ntfy_json("ops")["priority"], 3);
        assert_eq!(truncate("ééé", 2), "éé");
    }

    #[test]
    fn a_notice_survives_the_store() {
        let n = notice(NoticeKind::Escalated);
        let text = serde_json::to_string(&n).unwrap();
        assert_eq!(serde_json::from_str::<Notice>(&text).unwrap(), n);
    }
}
