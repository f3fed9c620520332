//! The `[alert]` section of the configuration: alert rules, delivery channels and their defaults.
//!
//! With no file at all `magi-alert` alerts on a core service down, a failed backup, a budget threshold
//! (warning at 80 %, critical at 100 %), magi-metrics' threshold rules, magi-sla's error-budget burn rates
//! a model's week significantly worse than the one before and an unusual hour of usage, to every channel
//! given on its command line. A file overrides the
//! defaults field by field, overrides or disables (`enabled = false`) a built-in rule, adds rules, and names
//! channels by URL. Rules here are resolved: each carries its effective values, defaults applied.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::Tier;
use crate::event::Severity;

/// The effective `[alert]` configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AlertConfig {
    pub defaults: AlertDefaults,
    /// In a stable order: the built-in rules first, then added ones by name.
    #[serde(serialize_with = "rules_as_table")]
    pub rules: Vec<AlertRule>,
    pub channels: BTreeMap<String, AlertChannel>,
}

/// What a rule or a delivery uses when it says nothing itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AlertDefaults {
    /// Channel names a rule without `to` sends to; empty means every channel.
    pub to: Vec<String>,
    pub fire_after: u32,
    pub resolve_after: u32,
    /// How often a firing, unacknowledged alert is repeated; `None` is never.
    #[serde(serialize_with = "optional_duration")]
    pub remind: Option<Duration>,
    pub send_resolved: bool,
    /// The first retry of a failed delivery waits this long; each next one twice as long, up to `retry_max`.
    #[serde(serialize_with = "duration")]
    pub retry_initial: Duration,
    #[serde(serialize_with = "duration")]
    pub retry_max: Duration,
    /// A delivery still failing this long after it was queued is given up and recorded as failed.
    #[serde(serialize_with = "duration")]
    pub give_up_after: Duration,
}

/// One rule: which events it watches, which of them are bad, and when it fires, reminds and resolves.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AlertRule {
    /// The key of its table; alerts are grouped by rule and subject.
    #[serde(skip)]
    pub name: String,
    /// Glob (`*` matches any run of characters) over the event kind.
    pub kind: String,
    /// Glob over the event subject.
    pub subject: String,
    /// Only subjects that are services of this tier in the catalog (or events whose `data.tier` says so).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tier: Option<Tier>,
    /// `data` fields that must be equal, compared as text.
    pub data: BTreeMap<String, String>,
    /// A matching event at this severity or worse is bad; anything less is good.
    pub severity: Severity,
    /// Fire after this many bad events in a row...
    pub fire_after: u32,
    /// ...or once the subject has been bad for this long, whichever comes first.
    #[serde(
        rename = "for",
        serialize_with = "optional_duration",
        skip_serializing_if = "Option::is_none"
    )]
    pub fire_for: Option<Duration>,
    pub resolve_after: u32,
    #[serde(serialize_with = "optional_duration")]
    pub remind: Option<Duration>,
    pub send_resolved: bool,
    /// Channel names; empty means the defaults' `to`.
    pub to: Vec<String>,
}

/// A named channel: the same URL syntax `magi-alert --to` takes, and where its password is kept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AlertChannel {
    pub url: String,
    /// A secret reference (a file path or a systemd credential name) for an SMTP password.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
    /// A PEM file of CA certificates an SMTP channel trusts beside the public roots (a private CA, a
    /// self-signed server); the same as `ca=FILE` in the URL.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ca: Option<String>,
}

impl AlertConfig {
    /// The built-in alerting of the MAGI stack.
    pub fn defaults() -> AlertConfig {
        let defaults = AlertDefaults {
            to: Vec::new(),
            fire_after: 1,
            resolve_after: 1,
            remind: Some(Duration::from_secs(4 * 3600)),
            send_resolved: true,
            retry_initial: Duration::from_secs(5),
            retry_max: Duration::from_secs(600),
            give_up_after: Duration::from_secs(3 * 24 * 3600),
        };
        let rule = |name: &str, kind: &str, tier: Option<Tier>, severity: Severity| AlertRule {
            name: name.into(),
            kind: kind.into(),
            subject: "*".into(),
            tier,
            data: BTreeMap::new(),
            severity,
            fire_after: defaults.fire_after,
            fire_for: None,
            resolve_after: defaults.resolve_after,
            remind: defaults.remind,
            send_resolved: defaults.send_resolved,
            to: Vec::new(),
        };
        let rules = vec![
            rule(
                "core-down",
                "service.status",
                Some(Tier::Core),
                Severity::Critical,
            ),
            rule("backup-failed", "backup.*", None, Severity::Critical),
            rule("budget", "budget.threshold", None, Severity::Warning),
            // magi-metrics' threshold rules: each event carries its rule's own severity.
            rule("threshold", "metric.threshold", None, Severity::Warning),
            // magi-sla's error-budget burn rates: critical at the fast and medium levels, warning at the slow.
            rule("sla-burn", "sla.burn", None, Severity::Warning),
            // magi-sla's week-over-week comparisons: a warning when a model's week is significantly worse.
            rule("sla-trend", "sla.trend", None, Severity::Warning),
            // magi-sla's unusual hours of requests, tokens or cost.
            rule("usage-anomaly", "usage.anomaly", None, Severity::Warning),
            // magi-pitr's monthly drill: a database its capture cannot restore whole.
            rule("pitr-drill", "pitr.drill", None, Severity::Critical),
        ];
        AlertConfig {
            defaults,
            rules,
            channels: BTreeMap::new(),
        }
    }

    /// The rule of this name.
    pub fn rule(&self, name: &str) -> Option<&AlertRule> {
        self.rules.iter().find(|r| r.name == name)
    }

    /// Applies the file's `[alert]` table; `invalid` makes an error that names the dotted key.
    pub(super) fn apply(
        &mut self,
        file: FileAlert,
        invalid: &dyn Fn(String, String) -> super::ConfigError,
    ) -> Result<(), super::ConfigError> {
        let mut defaults_changed = FileRuleDefaults::default();
        if let Some(d) = file.defaults {
            let key = |f: &str| format!("alert.defaults.{f}");
            if let Some(to) = d.to {
                self.defaults.to = to;
            }
            if let Some(n) = d.fire_after {
                self.defaults.fire_after =
                    at_least_one(n).map_err(|m| invalid(key("fire_after"), m))?;
                defaults_changed.fire_after = true;
            }
            if let Some(n) = d.resolve_after {
                self.defaults.resolve_after =
                    at_least_one(n).map_err(|m| invalid(key("resolve_after"), m))?;
                defaults_changed.resolve_after = true;
            }
            if let Some(r) = d.remind {
                self.defaults.remind = r.0;
                defaults_changed.remind = true;
            }
            if let Some(s) = d.send_resolved {
                self.defaults.send_resolved = s;
                defaults_changed.send_resolved = true;
            }
            if let Some(t) = d.retry_initial {
                self.defaults.retry_initial =
                    positive(t).map_err(|m| invalid(key("retry_initial"), m))?;
            }
            if let Some(t) = d.retry_max {
                self.defaults.retry_max = positive(t).map_err(|m| invalid(key("retry_max"), m))?;
            }
            if let Some(t) = d.give_up_after {
                self.defaults.give_up_after =
                    positive(t).map_err(|m| invalid(key("give_up_after"), m))?;
            }
            if self.defaults.retry_max < self.defaults.retry_initial {
                return Err(invalid(
                    key("retry_max"),
                    "must not be shorter than retry_initial".into(),
                ));
            }
        }
        // Built-in rules follow changed defaults unless the file sets the field on the rule itself.
        for rule in &mut self.rules {
            if defaults_changed.fire_after {
                rule.fire_after = self.defaults.fire_after;
            }
            if defaults_changed.resolve_after {
                rule.resolve_after = self.defaults.resolve_after;
            }
            if defaults_changed.remind {
                rule.remind = self.defaults.remind;
            }
            if defaults_changed.send_resolved {
                rule.send_resolved = self.defaults.send_resolved;
            }
        }
        for (name, channel) in file.channels {
            let key = |f: &str| format!("alert.channels.{name}.{f}");
            if !super::valid_name(&name) {
                return Err(invalid(
                    format!("alert.channels.{name}"),
                    "a channel name is lowercase letters, digits and '-'".into(),
                ));
            }
            check_channel_url(&channel.url).map_err(|m| invalid(key("url"), m))?;
            if let Some(ca) = &channel.ca {
                check_channel_ca(&channel.url, ca).map_err(|m| invalid(key("ca"), m))?;
            }
            self.channels.insert(
                name,
                AlertChannel {
                    url: channel.url,
                    password: channel.password,
                    ca: channel.ca,
                },
            );
        }
        for (name, overlay) in file.rules {
            let key = |f: &str| format!("alert.rules.{name}.{f}");
            let defaults = &self.defaults;
            let created = || {
                let kind = overlay
                    .kind
                    .clone()
                    .ok_or("a rule that is not built in needs `kind = \"GLOB\"`")?;
                Ok(AlertRule {
                    name: name.clone(),
                    kind,
                    subject: "*".into(),
                    tier: None,
                    data: BTreeMap::new(),
                    severity: Severity::Warning,
                    fire_after: defaults.fire_after,
                    fire_for: None,
                    resolve_after: defaults.resolve_after,
                    remind: defaults.remind,
                    send_resolved: defaults.send_resolved,
                    to: Vec::new(),
                })
            };
            let found = super::overlay_entry(
                &mut self.rules,
                &name,
                overlay.enabled,
                "rule",
                |r| &r.name,
                created,
            )
            .map_err(|m| invalid(format!("alert.rules.{name}"), m))?;
            let Some(rule) = found else { continue };
            if let Some(kind) = overlay.kind {
                rule.kind = non_empty(kind).map_err(|m| invalid(key("kind"), m))?;
            }
            if let Some(subject) = overlay.subject {
                rule.subject = non_empty(subject).map_err(|m| invalid(key("subject"), m))?;
            }
            if let Some(tier) = overlay.tier {
                rule.tier = match tier.as_str() {
                    "any" => None,
                    name => Some(Tier::from_name(name).ok_or_else(|| {
                        invalid(
                            key("tier"),
                            format!("unknown tier '{name}' (core, optional or any)"),
                        )
                    })?),
                };
            }
            if let Some(data) = overlay.data {
                rule.data = data;
            }
            if let Some(severity) = overlay.severity {
                if severity == Severity::Ok {
                    return Err(invalid(
                        key("severity"),
                        "`ok` cannot be bad: use info, warning or critical".into(),
                    ));
                }
                rule.severity = severity;
            }
            if let Some(n) = overlay.fire_after {
                rule.fire_after = at_least_one(n).map_err(|m| invalid(key("fire_after"), m))?;
            }
            if let Some(d) = overlay.fire_for {
                rule.fire_for = Some(positive(d).map_err(|m| invalid(key("for"), m))?);
            }
            if let Some(n) = overlay.resolve_after {
                rule.resolve_after =
                    at_least_one(n).map_err(|m| invalid(key("resolve_after"), m))?;
            }
            if let Some(r) = overlay.remind {
                rule.remind = r.0;
            }
            if let Some(s) = overlay.send_resolved {
                rule.send_resolved = s;
            }
            if let Some(to) = overlay.to {
                rule.to = to;
            }
        }
        let known = || self.channels.keys().cloned().collect::<Vec<_>>().join(", ");
        for (i, name) in self.defaults.to.iter().enumerate() {
            if !self.channels.contains_key(name) {
                return Err(invalid(
                    format!("alert.defaults.to.{i}"),
                    format!("no channel named '{name}' (known: {})", known()),
                ));
            }
        }
        for rule in &self.rules {
            for (i, name) in rule.to.iter().enumerate() {
                if !self.channels.contains_key(name) {
                    return Err(invalid(
                        format!("alert.rules.{}.to.{i}", rule.name),
                        format!("no channel named '{name}' (known: {})", known()),
                    ));
                }
            }
        }
        Ok(())
    }
}

/// The channel URL schemes `magi-alert` knows, checked here so a typo is a config error with its line.
pub const CHANNEL_SCHEMES: &[&str] = &[
    "http",
    "https",
    "ntfy",
    "ntfys",
    "slack",
    "slack+http",
    "slack+https",
    "discord",
    "discord+http",
    "discord+https",
    "smtp",
    "smtps",
    "exec",
];

fn check_channel_url(url: &str) -> Result<(), String> {
    let Some((scheme, rest)) = url.split_once("://") else {
        return Err(format!("'{url}' is not a URL (e.g. ntfy://ntfy.sh/TOPIC)"));
    };
    if !CHANNEL_SCHEMES.contains(&scheme) {
        return Err(format!(
            "unknown channel scheme '{scheme}' (known: {})",
            CHANNEL_SCHEMES.join(", ")
        ));
    }
    let authority = &rest[..rest.find(['/', '?']).unwrap_or(rest.len())];
    if let Some((userinfo, _)) = authority.rsplit_once('@')
        && userinfo.contains(':')
    {
        return Err(
            "a password does not belong in a URL: give `password = \"FILE-OR-CREDENTIAL\"` instead"
                .into(),
        );
    }
    Ok(())
}

/// `ca` is for email channels, whose TLS is ours to set up, and names a file by its absolute path (deliveries
/// queued with it are sent by later runs, from whatever directory).
fn check_channel_ca(url: &str, ca: &str) -> Result<(), String> {
    let scheme = url.split_once("://").map_or("", |(s, _)| s);
    if !matches!(scheme, "smtp" | "smtps") {
        return Err(format!(
            "`ca` applies to smtp:// and smtps:// channels, not {scheme}://"
        ));
    }
    if !ca.starts_with('/') {
        return Err(format!(
            "'{ca}' is not an absolute path: give the PEM file as /PATH/TO/ca.pem"
        ));
    }
    Ok(())
}

fn at_least_one(n: u32) -> Result<u32, String> {
    if n == 0 {
        Err("must be 1 or more".into())
    } else {
        Ok(n)
    }
}

fn positive(d: FileDuration) -> Result<Duration, String> {
    if d.0.is_zero() {
        Err("must be longer than 0s".into())
    } else {
        Ok(d.0)
    }
}

fn non_empty(s: String) -> Result<String, String> {
    if s.is_empty() {
        Err("must not be empty (use \"*\" for any)".into())
    } else {
        Ok(s)
    }
}

/// Parses a duration as people write it: `90s`, `5m`, `2h`, `1h30m`, `7d` (a day is 24 hours).
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let bad = || format!("'{text}' is not a duration (write e.g. 30s, 5m, 2h, 7d)");
    let signed = match text.parse::<jiff::SignedDuration>() {
        Ok(d) => d,
        Err(_) => text
            .parse::<jiff::Span>()
            .ok()
            .and_then(|s| {
                s.to_duration(jiff::SpanRelativeTo::days_are_24_hours())
                    .ok()
            })
            .ok_or_else(bad)?,
    };
    let duration = Duration::try_from(signed).map_err(|_| format!("'{text}' is negative"))?;
    if duration > LONGEST_DURATION {
        return Err(format!(
            "'{text}' is longer than 10 years (3650d), which no setting of MAGI ops needs"
        ));
    }
    Ok(duration)
}

/// The longest duration accepted anywhere: past it, adding the duration to a time overflows or means never.
const LONGEST_DURATION: Duration = Duration::from_secs(3650 * 86400);

/// A duration printed the way [`parse_duration`] reads it back (`4h`, `1m 30s`).
pub fn format_duration(d: Duration) -> String {
    match jiff::SignedDuration::try_from(d) {
        Ok(s) => format!("{s:#}"),
        Err(_) => format!("{}s", d.as_secs()),
    }
}

pub(super) fn duration<S: serde::Serializer>(
    d: &Duration,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&format_duration(*d))
}

fn optional_duration<S: serde::Serializer>(
    d: &Option<Duration>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    match d {
        Some(d) => duration(d, serializer),
        None => serializer.serialize_str("never"),
    }
}

fn rules_as_table<S: serde::Serializer>(
    rules: &[AlertRule],
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.collect_map(rules.iter().map(|r| (&r.name, r)))
}

/// `[alert]` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FileAlert {
    defaults: Option<FileDefaults>,
    #[serde(default)]
    rules: BTreeMap<String, FileRule>,
    #[serde(default)]
    channels: BTreeMap<String, FileChannel>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileDefaults {
    to: Option<Vec<String>>,
    fire_after: Option<u32>,
    resolve_after: Option<u32>,
    remind: Option<FileRemind>,
    send_resolved: Option<bool>,
    retry_initial: Option<FileDuration>,
    retry_max: Option<FileDuration>,
    give_up_after: Option<FileDuration>,
}

#[derive(Default)]
struct FileRuleDefaults {
    fire_after: bool,
    resolve_after: bool,
    remind: bool,
    send_resolved: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileRule {
    enabled: Option<bool>,
    kind: Option<String>,
    subject: Option<String>,
    tier: Option<String>,
    data: Option<BTreeMap<String, String>>,
    severity: Option<Severity>,
    fire_after: Option<u32>,
    #[serde(rename = "for")]
    fire_for: Option<FileDuration>,
    resolve_after: Option<u32>,
    remind: Option<FileRemind>,
    send_resolved: Option<bool>,
    to: Option<Vec<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileChannel {
    url: String,
    password: Option<String>,
    ca: Option<String>,
}

/// A duration written as text (`"5m"`).
#[derive(Debug)]
pub(super) struct FileDuration(pub(super) Duration);

impl<'de> Deserialize<'de> for FileDuration {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        parse_duration(&text)
            .map(FileDuration)
            .map_err(serde::de::Error::custom)
    }
}

/// A reminder interval, or `"never"`.
#[derive(Debug)]
struct FileRemind(Option<Duration>);

impl<'de> Deserialize<'de> for FileRemind {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        if text == "never" {
            return Ok(FileRemind(None));
        }
        match parse_duration(&text) {
            Ok(d) if d.is_zero() => Err(serde::de::Error::custom(
                "a reminder interval of 0 would repeat forever: write \"never\" for no reminders",
            )),
            Ok(d) => Ok(FileRemind(Some(d))),
            Err(m) => Err(serde::de::Error::custom(format!("{m}, or \"never\""))),
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::config::tests::{invalid, load};

    use super::*;

    #[test]
    fn without_a_file_core_down_failed_backups_budgets_and_thresholds_alert() {
        let alert = load("").unwrap().alert;
        let names: Vec<&str> = alert.rules.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "core-down",
                "backup-failed",
                "budget",
                "threshold",
                "sla-burn",
                "sla-trend",
                "usage-anomaly",
                "pitr-drill"
            ]
        );
        let core = alert.rule("core-down").unwrap();
        assert_eq!(
            (core.tier, core.severity, core.fire_after),
            (Some(Tier::Core), Severity::Critical, 1)
        );
        assert_eq!(alert.defaults.remind, Some(Duration::from_secs(4 * 3600)));
        assert!(alert.channels.is_empty());
    }

    #[test]
    fn a_file_overrides_disables_and_adds_rules_and_channels() {
        let alert = load(
            r#"
[alert.defaults]
remind = "never"
retry_initial = "200ms"
to = ["ops"]

[alert.channels.ops]
url = "smtp://alerts@mail.example.org:587?to=ops@example.org"
password = "smtp-password"
ca = "/etc/magi/mail-ca.pem"

[alert.rules.budget]
enabled = false

[alert.rules.core-down]
fire_after = 3
for = "2m"

[alert.rules.disk]
kind = "host.disk"
severity = "critical"
data = { mount = "/" }
remind = "30m"
"#,
        )
        .unwrap()
        .alert;
        assert!(alert.rule("budget").is_none());
        let core = alert.rule("core-down").unwrap();
        assert_eq!(
            (core.fire_after, core.fire_for, core.remind),
            (3, Some(Duration::from_secs(120)), None)
        );
        let disk = alert.rule("disk").unwrap();
        assert_eq!(disk.remind, Some(Duration::from_secs(1800)));
        assert_eq!(disk.data.get("mount").map(String::as_str), Some("/"));
        assert_eq!(alert.defaults.retry_initial, Duration::from_millis(200));
        assert_eq!(
            alert.channels["ops"].password.as_deref(),
            Some("smtp-password")
        );
        assert_eq!(
            alert.channels["ops"].ca.as_deref(),
            Some("/etc/magi/mail-ca.pem")
        );
    }

    #[test]
    fn mistakes_name_the_line_and_key() {
        let (line, key, message) = invalid("[alert.rules.core-down]\nfire_afterr = 2\n");
        assert_eq!(
            (line, key.as_str()),
            (2, "alert.rules.core-down.fire_afterr")
        );
        assert!(message.contains("unknown field"), "{message}");
        let (line, key, message) = invalid("\n[alert.defaults]\nremind = \"soon\"\n");
        assert_eq!((line, key.as_str()), (3, "alert.defaults.remind"));
        assert!(message.contains("not a duration"), "{message}");
        let (_, key, message) = invalid("[alert.rules.x]\nseverity = \"critical\"\n");
        assert_eq!(key, "alert.rules.x");
        assert!(message.contains("needs `kind"), "{message}");
        let (line, key, message) =
            invalid("[alert.channels.pager]\nurl = \"smtp://u:hunter2@h:587?to=a@b\"\n");
        assert_eq!((line, key.as_str()), (2, "alert.channels.pager.url"));
        assert!(message.contains("password does not belong"), "{message}");
        let (_, key, message) = invalid("[alert.rules.core-down]\nto = [\"nowhere\"]\n");
        assert_eq!(key, "alert.rules.core-down.to.0");
        assert!(
            message.starts_with("no channel named 'nowhere'"),
            "{message}"
        );
        let (_, key, _) = invalid("[alert.channels.x]\nurl = \"gopher://x\"\n");
        assert_eq!(key, "alert.channels.x.url");
        let (line, key, message) = invalid(
            "[alert.channels.hook]\nurl = \"https://example.org/h\"\nca = \"/etc/magi/ca.pem\"\n",
        );
        assert_eq!((line, key.as_str()), (3, "alert.channels.hook.ca"));
        assert!(message.contains("smtp:// and smtps://"), "{message}");
        let (_, key, message) =
            invalid("[alert.channels.mail]\nurl = \"smtps://h?to=a@b\"\nca = \"ca.pem\"\n");
        assert_eq!(key, "alert.channels.mail.ca");
        assert!(message.contains("not an absolute path"), "{message}");
    }

    #[test]
    fn durations_read_as_people_write_them_and_print_back() {
        assert_eq!(parse_duration("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("2h"), Ok(Duration::from_secs(7200)));
        assert_eq!(parse_duration("7d"), Ok(Duration::from_secs(7 * 86400)));
        assert_eq!(parse_duration("1h30m"), Ok(Duration::from_secs(5400)));
        assert!(parse_duration("soon").is_err());
        for d in [90, 7200, 4 * 3600, 5400] {
            let d = Duration::from_secs(d);
            assert_eq!(parse_duration(&format_duration(d)), Ok(d));
        }
    }

    #[test]
    fn the_shown_alert_section_reads_back() {
        let config = load("[alert.channels.ops]\nurl = \"ntfy://ntfy.sh/magi\"\n[alert.channels.mail]\nurl = \"smtps://mail.example.org?to=a@b.c\"\nca = \"/etc/magi/ca.pem\"\n[alert.rules.core-down]\nremind = \"never\"\n").unwrap();
        let shown = config.to_toml();
        let again = load(&shown).unwrap_or_else(|e| panic!("{e}\n{shown}"));
        assert_eq!(again.alert, config.alert);
    }
}
