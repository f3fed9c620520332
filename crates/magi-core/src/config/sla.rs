//! The `[sla]` section of the configuration: the availability target of every service and the stack's
//! core, and a target of its own for any service (`[sla.targets] qdrant = 99.5`), which `magi-sla report`
//! and `magi-sla burn` measure against. 99.9 % by default.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize, Serializer};

/// An availability target, held in parts per million so the configuration stays comparable (`Eq`); shown
/// and written in percent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Target(u32);

impl Target {
    /// The target in percent (99.9).
    pub fn percent(self) -> f64 {
        f64::from(self.0) / 10_000.0
    }

    /// A percentage above 0 and below 100, to a ten-thousandth of a percent.
    pub fn from_percent(percent: f64) -> Option<Target> {
        (percent > 0.0 && percent < 100.0).then(|| Target((percent * 10_000.0).round() as u32))
    }
}

impl Serialize for Target {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_f64(self.percent())
    }
}

/// The effective `[sla]` configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SlaConfig {
    /// Every service's target, and the core's.
    pub target: Target,
    /// Services with a target of their own.
    pub targets: BTreeMap<String, Target>,
}

impl Default for SlaConfig {
    fn default() -> SlaConfig {
        SlaConfig {
            target: Target(999_000),
            targets: BTreeMap::new(),
        }
    }
}

impl SlaConfig {
    /// The target of `service`: its own, else everyone's.
    pub fn target_of(&self, service: &str) -> Target {
        self.targets.get(service).copied().unwrap_or(self.target)
    }

    /// Applies the file's `[sla]` table; `invalid` makes an error that names the dotted key.
    pub(super) fn apply(
        &mut self,
        file: FileSla,
        invalid: &dyn Fn(String, String) -> super::ConfigError,
    ) -> Result<(), super::ConfigError> {
        let target = |key: String, percent: f64| {
            Target::from_percent(percent).ok_or_else(|| {
                invalid(
                    key,
                    format!("a target is a percentage above 0 and below 100, not {percent}"),
                )
            })
        };
        if let Some(percent) = file.target {
            self.target = target("sla.target".into(), percent)?;
        }
        for (service, percent) in file.targets {
            let parsed = target(format!("sla.targets.{service}"), percent)?;
            self.targets.insert(service, parsed);
        }
        Ok(())
    }
}

/// The `[sla]` table as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FileSla {
    target: Option<f64>,
    #[serde(default)]
    targets: BTreeMap<String, f64>,
}

#[cfg(test)]
mod tests {
    use crate::config::tests::{invalid, load};

    #[test]
    fn targets_default_to_three_nines_and_are_read_back() {
        let config = load("").unwrap();
        assert_eq!(config.sla.target_of("qdrant").percent(), 99.9);
        let config = load("[sla]\ntarget = 99.5\n[sla.targets]\nlitellm = 99.95\n").unwrap();
        assert_eq!(config.sla.target_of("qdrant").percent(), 99.5);
        assert_eq!(config.sla.target_of("litellm").percent(), 99.95);
        let shown = config.to_toml();
        assert_eq!(load(&shown).unwrap().sla, config.sla, "{shown}");
        let (_, key, message) = invalid("[sla.targets]\nqdrant = 100\n");
        assert_eq!(key, "sla.targets.qdrant");
        assert!(message.contains("below 100"), "{message}");
        let (_, key, _) = invalid("[sla]\ntarget = 0\n");
        assert_eq!(key, "sla.target");
    }
}
