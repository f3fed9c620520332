//! Secrets, read from files and never from the command line or the config text.
//!
//! A secret reference is either a path, or a bare name looked up as a systemd credential
//! (`$CREDENTIALS_DIRECTORY/NAME`, from `LoadCredential=`) and then in `/etc/magi/credentials/NAME`. A file that
//! anyone on the machine can read is refused. [`Secret`] prints as `********` in `Debug`, `Display` and
//! serialized config, so it cannot leak into logs or `magi config show`.

use std::fmt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use crate::paths::Paths;

/// A secret value. Only [`Secret::expose`] shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

const MASK: &str = "********";

impl Secret {
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(MASK)
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(MASK)
    }
}

impl serde::Serialize for Secret {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(MASK)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("secret '{name}' not found (looked in {}); give it with LoadCredential={name}:FILE or put it in a file", looked.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", "))]
    NotFound { name: String, looked: Vec<PathBuf> },
    #[error("{}: cannot read the secret: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}: the secret file is empty", path.display())]
    Empty { path: PathBuf },
    #[error("{}: the secret file is readable by every user (mode {mode:04o}); run: chmod 600 {}", path.display(), path.display())]
    WorldReadable { path: PathBuf, mode: u32 },
}

/// Reads the secret a reference names. Trailing newlines, which editors add, are not part of it.
pub fn read_secret(reference: &str, paths: &Paths) -> Result<Secret, SecretError> {
    let path = locate(
        reference,
        paths,
        std::env::var_os("CREDENTIALS_DIRECTORY").map(PathBuf::from),
    )?;
    read_file(&path)
}

fn locate(
    reference: &str,
    paths: &Paths,
    credentials: Option<PathBuf>,
) -> Result<PathBuf, SecretError> {
    if reference.contains('/') {
        return Ok(PathBuf::from(reference));
    }
    let looked: Vec<PathBuf> = credentials
        .into_iter()
        .map(|dir| dir.join(reference))
        .chain(std::iter::once(
            paths.config_dir.join("credentials").join(reference),
        ))
        .collect();
    looked
        .iter()
        .find(|p| p.exists())
        .cloned()
        .ok_or_else(|| SecretError::NotFound {
            name: reference.to_owned(),
            looked,
        })
}

fn read_file(path: &Path) -> Result<Secret, SecretError> {
    let read_err = |source| SecretError::Read {
        path: path.to_owned(),
        source,
    };
    let mode = std::fs::metadata(path)
        .map_err(read_err)?
        .permissions()
        .mode()
        & 0o7777;
    if mode & 0o004 != 0 {
        return Err(SecretError::WorldReadable {
            path: path.to_owned(),
            mode,
        });
    }
    let text = std::fs::read_to_string(path).map_err(read_err)?;
    let value = text.trim_end_matches(['\n', '\r']);
    if value.is_empty() {
        return Err(SecretError::Empty {
            path: path.to_owned(),
        });
    }
    Ok(Secret(value.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(path: &Path, text: &str, mode: u32) {
        std::fs::write(path, text).unwrap();
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
    }

    #[test]
    fn a_credential_name_is_found_in_the_credentials_directory_first() {
        let dir = tempfile::tempdir().unwrap();
        let paths = Paths::for_test(dir.path());
        let creds = dir.path().join("creds");
        std::fs::create_dir_all(&creds).unwrap();
        std::fs::create_dir_all(paths.config_dir.join("credentials")).unwrap();
        write(&creds.join("smtp-password"), "from-systemd\n", 0o400);
        write(
            &paths.config_dir.join("credentials/smtp-password"),
            "from-etc",
            0o600,
        );
        let found = locate("smtp-password", &paths, Some(creds.clone())).unwrap();
        assert_eq!(read_file(&found).unwrap().expose(), "from-systemd");
        let found = locate("smtp-password", &paths, None).unwrap();
        assert_eq!(read_file(&found).unwrap().expose(), "from-etc");
        let missing = locate("s3-key", &paths, Some(creds))
            .unwrap_err()
            .to_string();
        assert!(
            missing.starts_with("secret 's3-key' not found (looked in "),
            "{missing}"
        );
    }

    #[test]
    fn world_readable_and_empty_files_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let open = dir.path().join("open");
        write(&open, "hunter2", 0o644);
        assert!(matches!(
            read_file(&open),
            Err(SecretError::WorldReadable { mode: 0o644, .. })
        ));
        let empty = dir.path().join("empty");
        write(&empty, "\n", 0o600);
        assert!(matches!(read_file(&empty), Err(SecretError::Empty { .. })));
    }

    #[test]
    fn a_secret_never_prints() {
        let secret = Secret::new("hunter2");
        assert_eq!(format!("{secret} {secret:?}"), "******** ********");
        assert_eq!(serde_json::to_string(&secret).unwrap(), "\"********\"");
    }
}
