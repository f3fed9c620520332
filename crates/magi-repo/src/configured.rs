//! The repository a configuration's `[cloud]` section names, opened: its store (an S3 bucket with its
//! credentials read from their secret references, or a directory), its keys (the age recipient, and the
//! identity where this host has one) and its index cache beside the local backups. Every tool that uses
//! the cloud repository opens it here, so they all read `[cloud]` the same way.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use magi_core::config::{CloudConfig, Config};
use magi_core::paths::Paths;

use crate::repo::{Keys, Options, Repository};
use crate::s3::{Drill, Provider, Retry, S3Config, S3Store};
use crate::store::{DirStore, Store};
use crate::{RepoError, StoreError};

/// Why the configured repository cannot be opened.
#[derive(Debug, thiserror::Error)]
pub enum ConfiguredError {
    #[error("no [cloud] section in the config: run `magi backup cloud configure` first")]
    NotConfigured,
    #[error("[cloud] {0}")]
    Invalid(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Repo(#[from] RepoError),
}

/// Reads a secret reference of the `[cloud]` section as one trimmed line.
fn secret(reference: &str, key: &str, paths: &Paths) -> Result<String, ConfiguredError> {
    let secret = magi_core::secret::read_secret(reference, paths)
        .map_err(|e| ConfiguredError::Invalid(format!("{key} '{reference}': {e}")))?;
    Ok(secret.expose().trim().to_owned())
}

/// The age identity in a secret's text (its `AGE-SECRET-KEY-` line; comments and blank lines around it
/// are allowed); `source` names the secret in errors.
pub fn parse_identity(text: &str, source: &str) -> Result<age::x25519::Identity, String> {
    text.lines()
        .map(str::trim)
        .find(|l| l.starts_with("AGE-SECRET-KEY-"))
        .ok_or_else(|| format!("{source}: the secret holds no AGE-SECRET-KEY- line"))?
        .parse::<age::x25519::Identity>()
        .map_err(|e| format!("{source}: {e}"))
}

/// The provider a `[cloud]` section means: as written, else detected from its endpoint.
pub fn provider(section: &CloudConfig) -> Option<Provider> {
    let endpoint = section.endpoint.as_deref()?.parse::<url::Url>().ok()?;
    Some(
        section
            .provider
            .as_deref()
            .and_then(Provider::parse)
            .unwrap_or_else(|| Provider::detect(&endpoint)),
    )
}

/// The bucket of a `[cloud]` section that names one, with its credentials read.
fn s3_config(section: &CloudConfig, paths: &Paths) -> Result<S3Config, ConfiguredError> {
    s3_config_with(
        section,
        secret(
            section.access_key.as_deref().unwrap_or_default(),
            "access_key",
            paths,
        )?,
        secret(
            section.secret_key.as_deref().unwrap_or_default(),
            "secret_key",
            paths,
        )?,
    )
}

/// The bucket of a `[cloud]` section with the credentials given (`configure` has them before they are
/// written anywhere).
pub fn s3_config_with(
    section: &CloudConfig,
    access_key: String,
    secret_key: String,
) -> Result<S3Config, ConfiguredError> {
    let endpoint = section.endpoint.as_deref().unwrap_or_default();
    Ok(S3Config {
        endpoint: endpoint
            .parse()
            .map_err(|e| ConfiguredError::Invalid(format!("endpoint '{endpoint}': {e}")))?,
        bucket: section.bucket.clone().unwrap_or_default(),
        region: section.region.clone(),
        prefix: section.prefix.clone(),
        provider: provider(section).unwrap_or(Provider::Generic),
        access_key,
        secret_key,
        retry: Retry::default(),
        lock_days: section.lock_days,
    })
}

/// The store a `[cloud]` section names.
pub fn store(section: &CloudConfig, paths: &Paths) -> Result<Arc<dyn Store>, ConfiguredError> {
    if let Some(directory) = &section.directory {
        return Ok(Arc::new(DirStore::new(directory)?));
    }
    Ok(Arc::new(S3Store::new(&s3_config(section, paths)?)?))
}

/// The ransomware drill of the `[cloud]` bucket ([`S3Store::drill`]); a directory has no Object Lock.
pub fn drill(section: &CloudConfig, paths: &Paths) -> Result<Drill, ConfiguredError> {
    if section.directory.is_some() {
        return Ok(Drill::NotConfigured);
    }
    Ok(S3Store::new(&s3_config(section, paths)?)?.drill()?)
}

/// The keys of a `[cloud]` section: its recipient, and its identity where this host has one.
pub fn keys(section: &CloudConfig, paths: &Paths) -> Result<Keys, ConfiguredError> {
    let recipient = section
        .recipient
        .parse::<age::x25519::Recipient>()
        .map_err(|e| ConfiguredError::Invalid(format!("recipient: {e}")))?;
    let identity = match &section.identity {
        None => None,
        Some(reference) => {
            let text = secret(reference, "identity", paths)?;
            let identity = parse_identity(&text, &format!("identity '{reference}'"))
                .map_err(ConfiguredError::Invalid)?;
            Some(Arc::new(identity))
        }
    };
    Ok(Keys {
        recipient,
        identity,
    })
}

/// Opens the repository of the `[cloud]` section, its cache beside the local backups.
pub fn open(config: &Config, paths: &Paths) -> Result<Repository, ConfiguredError> {
    let section = config
        .cloud
        .as_ref()
        .ok_or(ConfiguredError::NotConfigured)?;
    let store = store(section, paths)?;
    let keys = keys(section, paths)?;
    let options = Options {
        parallel: section.parallel as usize,
        ..Options::default()
    };
    Ok(Repository::open(
        store,
        keys,
        &cache_dir(&config.stack.backup_dir),
        options,
    )?)
}

/// Where the index cache lives: beside the local backups, like their verification records, because the
/// backup runs as root and the records belong with what they describe.
pub fn cache_dir(backup_dir: &Path) -> PathBuf {
    backup_dir.join(".cloud-cache")
}
