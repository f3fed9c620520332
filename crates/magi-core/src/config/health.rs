//! The `[health]` section of the configuration: where `magi-health` turns a figure of the host into a
//! warning. Today that is the free space on the disks the stack writes to (the MAGI home and the backup
//! directory), below which the stack is called degraded.
//!
//! Every field is optional in the file; what it does not name keeps its default.

use serde::{Deserialize, Serialize};

/// The effective `[health]` configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HealthConfig {
    /// Free space, in percent of the disk, below which the MAGI home or the backup directory makes the
    /// stack degraded; 0 turns the disk check off.
    pub disk_free_percent: u8,
}

impl HealthConfig {
    /// Degraded below 10 % free: room for one more nightly backup on most hosts.
    pub fn defaults() -> HealthConfig {
        HealthConfig {
            disk_free_percent: 10,
        }
    }

    /// The free-space threshold as a fraction of the disk, 0 to 1.
    pub fn disk_free_fraction(&self) -> f64 {
        f64::from(self.disk_free_percent) / 100.0
    }

    /// Applies the file's `[health]` table; `invalid` makes an error that names the dotted key.
    pub(super) fn apply(
        &mut self,
        file: FileHealth,
        invalid: &dyn Fn(String, String) -> super::ConfigError,
    ) -> Result<(), super::ConfigError> {
        if let Some(percent) = file.disk_free_percent {
            self.disk_free_percent = u8::try_from(percent)
                .ok()
                .filter(|p| *p <= 100)
                .ok_or_else(|| {
                    invalid(
                        "health.disk_free_percent".into(),
                        format!("{percent} is not a percentage from 0 to 100"),
                    )
                })?;
        }
        Ok(())
    }
}

/// The `[health]` table as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FileHealth {
    disk_free_percent: Option<i64>,
}

#[cfg(test)]
mod tests {
    use crate::config::tests::{invalid, load};

    #[test]
    fn the_disk_threshold_is_read_back_and_bounded() {
        let config = load("[health]\ndisk_free_percent = 25\n").unwrap();
        assert_eq!(config.health.disk_free_percent, 25);
        assert_eq!(config.health.disk_free_fraction(), 0.25);
        let shown = config.to_toml();
        assert_eq!(load(&shown).unwrap().health, config.health, "{shown}");
        for text in [
            "[health]\ndisk_free_percent = 101\n",
            "[health]\ndisk_free_percent = -1\n",
        ] {
            let (line, key, message) = invalid(text);
            assert_eq!(
                (line, key.as_str()),
                (2, "health.disk_free_percent"),
                "{text}"
            );
            assert!(
                message.ends_with("is not a percentage from 0 to 100"),
                "{message}"
            );
        }
    }
}
