//! The `[backup]` section of the configuration: the retention `magi-backup prune` applies when its command
//! line says nothing, how long `magi-restore` waits for the stack to come back before it rolls back, and the
//! age recipient archives are encrypted to (with the secret reference of the identity that decrypts them).
//!
//! Every field is optional in the file; what it does not name keeps its default.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::alert::{format_duration, parse_duration};

/// The effective `[backup]` configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BackupConfig {
    /// Retention in restic's terms: the newest N backups...
    pub keep_last: u32,
    /// ...the newest of each of the last N days that have one...
    pub keep_daily: u32,
    /// ...of each of the last N ISO weeks...
    pub keep_weekly: u32,
    /// ...and of each of the last N months.
    pub keep_monthly: u32,
    /// How long a restore waits for every core service to be ready before it restores the safety backup.
    #[serde(serialize_with = "duration")]
    pub restore_timeout: Duration,
    /// An age public key (`age1...`): archives are encrypted to it when set.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recipient: Option<String>,
    /// A secret reference (a file path or a systemd credential name) to the age identity
    /// (`AGE-SECRET-KEY-1...`) that decrypts the archives; needed to list, verify and restore them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub identity: Option<String>,
}

impl BackupConfig {
    /// A week of dailies, a month of weeklies, a year of monthlies, and always the newest three.
    pub fn defaults() -> BackupConfig {
        BackupConfig {
            keep_last: 3,
            keep_daily: 7,
            keep_weekly: 4,
            keep_monthly: 12,
            restore_timeout: Duration::from_secs(120),
            recipient: None,
            identity: None,
        }
    }

    /// Applies the file's `[backup]` table; `invalid` makes an error that names the dotted key.
    pub(super) fn apply(
        &mut self,
        file: FileBackup,
        invalid: &dyn Fn(String, String) -> super::ConfigError,
    ) -> Result<(), super::ConfigError> {
        if let Some(n) = file.keep_last {
            self.keep_last = n;
        }
        if let Some(n) = file.keep_daily {
            self.keep_daily = n;
        }
        if let Some(n) = file.keep_weekly {
            self.keep_weekly = n;
        }
        if let Some(n) = file.keep_monthly {
            self.keep_monthly = n;
        }
        if let Some(text) = file.restore_timeout {
            let timeout =
                parse_duration(&text).map_err(|m| invalid("backup.restore_timeout".into(), m))?;
            if timeout.is_zero() {
                return Err(invalid(
                    "backup.restore_timeout".into(),
                    "must be longer than 0s: a restore needs time to see the stack come back"
                        .into(),
                ));
            }
            self.restore_timeout = timeout;
        }
        if let Some(recipient) = file.recipient {
            if !valid_recipient(&recipient) {
                return Err(invalid(
                    "backup.recipient".into(),
                    "not an age public key (age1 followed by 58 lowercase letters and digits; `age-keygen -y` prints it)".into(),
                ));
            }
            self.recipient = Some(recipient);
        }
        if let Some(identity) = file.identity {
            if identity.trim().is_empty() {
                return Err(invalid(
                    "backup.identity".into(),
                    "an empty secret reference: give a file path or a credential name".into(),
                ));
            }
            self.identity = Some(identity);
        }
        Ok(())
    }
}

/// Whether `text` is an age X25519 public key: `age1` and 58 lowercase bech32 characters.
pub(super) fn valid_recipient(text: &str) -> bool {
    text.len() == 62
        && text.starts_with("age1")
        && text[4..]
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
}

fn duration<S: serde::Serializer>(d: &Duration, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&format_duration(*d))
}

/// The `[backup]` table as written: every field optional, every unknown key an error.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FileBackup {
    keep_last: Option<u32>,
    keep_daily: Option<u32>,
    keep_weekly: Option<u32>,
    keep_monthly: Option<u32>,
    restore_timeout: Option<String>,
    recipient: Option<String>,
    identity: Option<String>,
}

#[cfg(test)]
mod tests {
    use crate::config::ConfigError;
    use crate::config::tests::load;

    #[test]
    fn the_file_overrides_retention_and_the_restore_timeout() {
        let config = load(
            "[backup]\nkeep_daily = 14\nrestore_timeout = \"5s\"\n\
             recipient = \"age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p\"\n\
             identity = \"backup-identity\"\n",
        )
        .unwrap();
        assert_eq!(config.backup.keep_daily, 14);
        assert_eq!(
            config.backup.keep_last, 3,
            "unnamed fields keep their defaults"
        );
        assert_eq!(config.backup.restore_timeout.as_secs(), 5);
        assert_eq!(config.backup.identity.as_deref(), Some("backup-identity"));
        let shown = config.to_toml();
        assert_eq!(load(&shown).unwrap().backup, config.backup, "{shown}");
    }

    #[test]
    fn bad_values_name_the_key() {
        for (text, expected) in [
            ("[backup]\nkeep_dayly = 1\n", "backup.keep_dayly"),
            ("[backup]\nkeep_last = -1\n", "backup.keep_last"),
            (
                "[backup]\nrestore_timeout = \"soon\"\n",
                "backup.restore_timeout",
            ),
            (
                "[backup]\nrestore_timeout = \"0s\"\n",
                "backup.restore_timeout",
            ),
        ] {
            match load(text) {
                Err(ConfigError::Invalid { key, line, .. }) => {
                    assert_eq!((key.as_str(), line), (expected, 2), "{text}")
                }
                other => panic!("{text}: expected an invalid key, got {other:?}"),
            }
        }
    }
}
