//! The `[metrics]` section of the configuration: the Prometheus text endpoints `magi-metrics scrape`
//! reads into the metrics store, each under a name (`[metrics.scrape.qdrant] url = "http://127.0.0.1:6333/metrics"`).
//! None by default: the stock stack's exporters need a setting on their side (LiteLLM's callbacks, for one).

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::alert::{FileDuration, duration};

/// The most scrape targets the section may name.
pub const MAX_TARGETS: usize = 64;

/// One endpoint to scrape.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ScrapeTarget {
    /// An `http://` URL of Prometheus text (plain HTTP: these are the stack's own loopback endpoints).
    pub url: String,
    /// Time between scrapes.
    #[serde(serialize_with = "duration")]
    pub interval: Duration,
}

/// The effective `[metrics]` configuration.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct MetricsConfig {
    /// The targets by name; the name becomes each scraped series' `job` label.
    pub scrape: BTreeMap<String, ScrapeTarget>,
}

impl MetricsConfig {
    /// Applies the file's `[metrics]` table; `invalid` makes an error that names the dotted key.
    pub(super) fn apply(
        &mut self,
        file: FileMetrics,
        invalid: &dyn Fn(String, String) -> super::ConfigError,
    ) -> Result<(), super::ConfigError> {
        if file.scrape.len() > MAX_TARGETS {
            return Err(invalid(
                "metrics.scrape".into(),
                format!("more than {MAX_TARGETS} targets"),
            ));
        }
        for (name, target) in file.scrape {
            let key = |field: &str| format!("metrics.scrape.{name}.{field}");
            let valid_name = !name.is_empty()
                && name.len() <= 32
                && name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
            if !valid_name {
                return Err(invalid(
                    format!("metrics.scrape.{name}"),
                    "a target's name is letters, digits, - and _, at most 32".into(),
                ));
            }
            let rest = target.url.strip_prefix("http://").unwrap_or_default();
            if rest.is_empty() || rest.starts_with('/') || target.url.len() > 512 {
                return Err(invalid(
                    key("url"),
                    format!("'{}' is not an http:// URL of a host", target.url),
                ));
            }
            let interval = target.interval.map_or(Duration::from_secs(15), |d| d.0);
            if interval < Duration::from_secs(1) {
                return Err(invalid(key("interval"), "at least 1s".into()));
            }
            self.scrape.insert(
                name,
                ScrapeTarget {
                    url: target.url,
                    interval,
                },
            );
        }
        Ok(())
    }
}

/// The `[metrics]` table as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FileMetrics {
    #[serde(default)]
    scrape: BTreeMap<String, FileTarget>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileTarget {
    url: String,
    interval: Option<FileDuration>,
}

#[cfg(test)]
mod tests {
    use crate::config::tests::{invalid, load};

    #[test]
    fn targets_are_read_back_and_checked() {
        let config = load(
            "[metrics.scrape.qdrant]\nurl = \"http://127.0.0.1:6333/metrics\"\ninterval = \"30s\"\n",
        )
        .unwrap();
        let target = &config.metrics.scrape["qdrant"];
        assert_eq!(target.url, "http://127.0.0.1:6333/metrics");
        assert_eq!(target.interval.as_secs(), 30);
        let shown = config.to_toml();
        assert_eq!(load(&shown).unwrap().metrics, config.metrics, "{shown}");
        let (_, key, message) = invalid("[metrics.scrape.q]\nurl = \"https://x/metrics\"\n");
        assert_eq!(key, "metrics.scrape.q.url");
        assert!(message.contains("not an http:// URL"), "{message}");
        let (_, key, _) = invalid("[metrics.scrape.q]\nurl = \"http://x/\"\ninterval = \"0s\"\n");
        assert_eq!(key, "metrics.scrape.q.interval");
    }
}
