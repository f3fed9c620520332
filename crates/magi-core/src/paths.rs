//! Where files live: configuration, state, runtime files and backups.
//!
//! Root uses the system locations (`/etc/magi`, `/var/lib/magi`, `/run/magi`, `/var/backups/magi`); anyone else
//! the XDG equivalents. Under systemd the directories it made for the unit (`STATE_DIRECTORY`,
//! `RUNTIME_DIRECTORY`, `CONFIGURATION_DIRECTORY`) win, because they are the ones the sandbox lets us write.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// The directories and the default config file for this process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Paths {
    pub config_dir: PathBuf,
    pub config_file: PathBuf,
    pub state_dir: PathBuf,
    pub runtime_dir: PathBuf,
    pub backup_dir: PathBuf,
}

impl Paths {
    /// The paths for the current user and environment.
    pub fn detect() -> Paths {
        let env = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
        let base = if nix::unistd::geteuid().is_root() {
            Paths::system()
        } else {
            Paths::user(&env)
        };
        base.with_systemd_dirs(&env)
    }

    /// The system locations, used when running as root.
    pub fn system() -> Paths {
        Paths::rooted(
            Path::new("/etc/magi"),
            Path::new("/var/lib/magi"),
            Path::new("/run/magi"),
            "/var/backups/magi",
        )
    }

    /// The XDG locations for a non-root user, from the given environment lookup.
    pub fn user(env: &dyn Fn(&str) -> Option<OsString>) -> Paths {
        let home = env("HOME")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("/"));
        let xdg = |name: &str, fallback: &str| {
            env(name)
                .map(PathBuf::from)
                .unwrap_or_else(|| home.join(fallback))
        };
        let uid = nix::unistd::getuid();
        let runtime = env("XDG_RUNTIME_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(format!("/tmp/magi-{uid}")));
        Paths {
            config_dir: xdg("XDG_CONFIG_HOME", ".config").join("magi"),
            config_file: xdg("XDG_CONFIG_HOME", ".config").join("magi/magi.toml"),
            state_dir: xdg("XDG_STATE_HOME", ".local/state").join("magi"),
            runtime_dir: runtime.join("magi"),
            backup_dir: xdg("XDG_DATA_HOME", ".local/share").join("magi/backups"),
        }
    }

    /// Every directory under one root, for tests.
    pub fn for_test(root: &Path) -> Paths {
        Paths::rooted(
            &root.join("etc"),
            &root.join("state"),
            &root.join("run"),
            root.join("backups"),
        )
    }

    fn rooted(config: &Path, state: &Path, runtime: &Path, backups: impl Into<PathBuf>) -> Paths {
        Paths {
            config_dir: config.to_owned(),
            config_file: config.join("magi.toml"),
            state_dir: state.to_owned(),
            runtime_dir: runtime.to_owned(),
            backup_dir: backups.into(),
        }
    }

    /// systemd passes colon-separated lists; the first entry is the unit's own directory.
    fn with_systemd_dirs(mut self, env: &dyn Fn(&str) -> Option<OsString>) -> Paths {
        let first = |name: &str| {
            env(name).and_then(|v| {
                v.to_str()
                    .and_then(|s| s.split(':').next())
                    .map(PathBuf::from)
            })
        };
        if let Some(dir) = first("STATE_DIRECTORY") {
            self.state_dir = dir;
        }
        if let Some(dir) = first("RUNTIME_DIRECTORY") {
            self.runtime_dir = dir;
        }
        if let Some(dir) = first("CONFIGURATION_DIRECTORY") {
            self.config_file = dir.join("magi.toml");
            self.config_dir = dir;
        }
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env_of(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<OsString> {
        move |name| {
            pairs
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| OsString::from(v))
        }
    }

    #[test]
    fn non_root_uses_xdg_with_home_fallbacks() {
        let paths = Paths::user(&env_of(&[
            ("HOME", "/home/ops"),
            ("XDG_STATE_HOME", "/xdg/state"),
        ]));
        assert_eq!(
            paths.config_file,
            Path::new("/home/ops/.config/magi/magi.toml")
        );
        assert_eq!(paths.state_dir, Path::new("/xdg/state/magi"));
        assert_eq!(
            paths.backup_dir,
            Path::new("/home/ops/.local/share/magi/backups")
        );
    }

    #[test]
    fn systemd_directories_win() {
        let paths = Paths::system().with_systemd_dirs(&env_of(&[
            ("STATE_DIRECTORY", "/var/lib/magi-health:/var/lib/other"),
            ("RUNTIME_DIRECTORY", "/run/magi-health"),
        ]));
        assert_eq!(paths.state_dir, Path::new("/var/lib/magi-health"));
        assert_eq!(paths.runtime_dir, Path::new("/run/magi-health"));
        assert_eq!(paths.config_file, Path::new("/etc/magi/magi.toml"));
    }
}
