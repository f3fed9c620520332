//! The `[cloud]` section: where `magi-backup cloud` keeps the off-site copy (an S3-compatible bucket, or a
//! directory on another disk), the secret references of its credentials and age identity, the recipient
//! it encrypts to, and its own retention, separate from the local one.
//!
//! Absent, cloud backup is off. Credentials are never in this file, only the names of the files or
//! systemd credentials that hold them.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::backup::valid_recipient;

/// The effective `[cloud]` configuration, when the section is present.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CloudConfig {
    /// The S3 endpoint (`https://s3.eu-west-1.amazonaws.com`); absent for a directory repository.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bucket: Option<String>,
    pub region: String,
    /// Keys in the bucket start with this.
    pub prefix: String,
    /// aws, b2, wasabi, r2, minio or generic; detected from the endpoint when absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    /// Secret references (a file path or a systemd credential name) of the access key and its secret.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub access_key: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret_key: Option<String>,
    /// A directory repository (a USB disk, an NFS mount) instead of a bucket.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub directory: Option<PathBuf>,
    /// The age public key everything is encrypted to.
    pub recipient: String,
    /// The secret reference of the age identity; absent on a write-only backup host.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub identity: Option<String>,
    /// Uploads and downloads at once.
    pub parallel: u32,
    /// Object Lock: days each object written is retained (COMPLIANCE mode), so the backup's own credentials
    /// cannot delete it before then; the bucket must have Object Lock enabled. Absent: off.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lock_days: Option<u32>,
    pub keep_last: u32,
    pub keep_daily: u32,
    pub keep_weekly: u32,
    pub keep_monthly: u32,
}

impl CloudConfig {
    /// Builds the section from the file's table; `invalid` makes an error that names the dotted key.
    pub(super) fn from_file(
        file: FileCloud,
        invalid: &dyn Fn(String, String) -> super::ConfigError,
    ) -> Result<CloudConfig, super::ConfigError> {
        let recipient = file.recipient.ok_or_else(|| {
            invalid(
                "cloud.recipient".into(),
                "missing: the age public key backups are encrypted to (`magi backup cloud configure` writes it)"
                    .into(),
            )
        })?;
        if !valid_recipient(&recipient) {
            return Err(invalid(
                "cloud.recipient".into(),
                "not an age public key (age1 followed by 58 lowercase letters and digits)".into(),
            ));
        }
        match (&file.endpoint, &file.directory) {
            (Some(_), Some(_)) => {
                return Err(invalid(
                    "cloud.directory".into(),
                    "give an endpoint and bucket, or a directory, not both".into(),
                ));
            }
            (None, None) => {
                return Err(invalid(
                    "cloud.endpoint".into(),
                    "missing: an S3 endpoint and bucket, or a directory".into(),
                ));
            }
            (Some(endpoint), None) => {
                if !(endpoint.starts_with("https://") || endpoint.starts_with("http://")) {
                    return Err(invalid(
                        "cloud.endpoint".into(),
                        "an http:// or https:// URL".into(),
                    ));
                }
                for (key, value) in [
                    ("cloud.bucket", &file.bucket),
                    ("cloud.access_key", &file.access_key),
                    ("cloud.secret_key", &file.secret_key),
                ] {
                    if value.as_deref().is_none_or(|v| v.trim().is_empty()) {
                        return Err(invalid(
                            key.into(),
                            "missing: a bucket needs its name and the secret references of its credentials".into(),
                        ));
                    }
                }
            }
            (None, Some(directory)) => {
                if !directory.is_absolute() {
                    return Err(invalid(
                        "cloud.directory".into(),
                        "must be an absolute path".into(),
                    ));
                }
            }
        }
        const PROVIDERS: [&str; 6] = ["aws", "b2", "wasabi", "r2", "minio", "generic"];
        if let Some(provider) = &file.provider
            && !PROVIDERS.contains(&provider.as_str())
        {
            return Err(invalid(
                "cloud.provider".into(),
                format!("one of {}", PROVIDERS.join(", ")),
            ));
        }
        if let Some(days) = file.lock_days
            && !(1..=3650).contains(&days)
        {
            return Err(invalid(
                "cloud.lock_days".into(),
                "from 1 to 3650 days; leave it out to turn Object Lock off".into(),
            ));
        }
        if file.lock_days.is_some() && file.directory.is_some() {
            return Err(invalid(
                "cloud.lock_days".into(),
                "Object Lock is a bucket's; a directory repository has none".into(),
            ));
        }
        let parallel = file.parallel.unwrap_or(4);
        if !(1..=32).contains(&parallel) {
            return Err(invalid("cloud.parallel".into(), "from 1 to 32".into()));
        }
        Ok(CloudConfig {
            endpoint: file.endpoint,
            bucket: file.bucket,
            region: file.region.unwrap_or_else(|| "us-east-1".into()),
            prefix: file.prefix.unwrap_or_else(|| "magi".into()),
            provider: file.provider,
            access_key: file.access_key,
            secret_key: file.secret_key,
            directory: file.directory,
            recipient,
            identity: file.identity,
            parallel,
            lock_days: file.lock_days,
            keep_last: file.keep_last.unwrap_or(3),
            keep_daily: file.keep_daily.unwrap_or(14),
            keep_weekly: file.keep_weekly.unwrap_or(8),
            keep_monthly: file.keep_monthly.unwrap_or(24),
        })
    }
}

/// The `[cloud]` table as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FileCloud {
    endpoint: Option<String>,
    bucket: Option<String>,
    region: Option<String>,
    prefix: Option<String>,
    provider: Option<String>,
    access_key: Option<String>,
    secret_key: Option<String>,
    directory: Option<PathBuf>,
    recipient: Option<String>,
    identity: Option<String>,
    parallel: Option<u32>,
    lock_days: Option<u32>,
    keep_last: Option<u32>,
    keep_daily: Option<u32>,
    keep_weekly: Option<u32>,
    keep_monthly: Option<u32>,
}

#[cfg(test)]
mod tests {
    use crate::config::ConfigError;
    use crate::config::tests::load;

    const RECIPIENT: &str = "age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p";

    #[test]
    fn a_bucket_or_a_directory_with_defaults_for_the_rest() {
        let config = load(&format!(
            "[cloud]\nendpoint = \"https://s3.eu-west-1.amazonaws.com\"\nbucket = \"b\"\n\
             access_key = \"cloud-access\"\nsecret_key = \"cloud-secret\"\nrecipient = \"{RECIPIENT}\"\n"
        ))
        .unwrap();
        let cloud = config.cloud.clone().unwrap();
        assert_eq!(
            (cloud.prefix.as_str(), cloud.parallel, cloud.keep_daily),
            ("magi", 4, 14)
        );
        let shown = config.to_toml();
        assert_eq!(load(&shown).unwrap().cloud, config.cloud, "{shown}");
        let dir = load(&format!(
            "[cloud]\ndirectory = \"/mnt/usb/magi\"\nrecipient = \"{RECIPIENT}\"\n"
        ))
        .unwrap();
        assert!(dir.cloud.unwrap().directory.is_some());
        assert_eq!(load("").unwrap().cloud, None, "off unless configured");
    }

    #[test]
    fn what_is_missing_or_wrong_is_named() {
        for (text, key) in [
            (
                "[cloud]\ndirectory = \"/x\"\n".to_owned(),
                "cloud.recipient",
            ),
            (
                format!("[cloud]\nrecipient = \"{RECIPIENT}\"\n"),
                "cloud.endpoint",
            ),
            (
                format!("[cloud]\nendpoint = \"https://x\"\nrecipient = \"{RECIPIENT}\"\n"),
                "cloud.bucket",
            ),
            (
                format!("[cloud]\ndirectory = \"rel\"\nrecipient = \"{RECIPIENT}\"\n"),
                "cloud.directory",
            ),
            (
                format!(
                    "[cloud]\ndirectory = \"/x\"\nrecipient = \"{RECIPIENT}\"\nprovider = \"dropbox\"\n"
                ),
                "cloud.provider",
            ),
            (
                format!("[cloud]\ndirectory = \"/x\"\nrecipient = \"{RECIPIENT}\"\nparallel = 0\n"),
                "cloud.parallel",
            ),
            (
                format!(
                    "[cloud]\ndirectory = \"/x\"\nrecipient = \"{RECIPIENT}\"\nlock_days = 30\n"
                ),
                "cloud.lock_days",
            ),
        ] {
            match load(&text) {
                Err(ConfigError::Invalid { key: found, .. }) => assert_eq!(found, key, "{text}"),
                other => panic!("{text}: expected an invalid key, got {other:?}"),
            }
        }
    }
}
