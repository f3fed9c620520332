//! The magi .deb and .rpm (packaging/build, metadata in bins/magi/Cargo.toml): built once from the debug
//! binaries of the test build (stripped; a release build with fat LTO would add many minutes to CI), then
//! checked by lintian and rpmlint, listed against the repository (every binary of bins/, unit, journald
//! drop-in, man page, completion, the conffile), and installed with dpkg into a Debian container that runs
//! systemd as PID 1 (a debootstrap image, cached by a tag of its recipe), where the timer is enabled, a
//! backup is taken and verified, its journal fields read, magi-health's readiness and watchdog watched,
//! and the package purged; then the .rpm is installed and erased there too, to run its scriptlets.

use std::collections::BTreeSet;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use magi_testkit::{Component, bin, bin_path, require};
use sha2::{Digest, Sha256};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Runs `command`, panicking with its output unless it succeeds.
fn run(command: &mut Command) -> Output {
    let out = command
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("{command:?}: {e}"));
    assert!(
        out.status.success(),
        "{command:?}: {}\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The two packages, built once per test binary by `packaging/build --debug`.
struct Packages {
    deb: PathBuf,
    rpm: PathBuf,
}

fn packages() -> &'static Packages {
    static BUILT: OnceLock<Packages> = OnceLock::new();
    BUILT.get_or_init(|| {
        // The target dir of this test build: its debug binaries are what gets packaged.
        let target = bin_path("magi")
            .parent()
            .and_then(Path::parent)
            .expect("target/debug/magi")
            .to_owned();
        let out = run(Command::new(repo().join("packaging/build"))
            .arg("--debug")
            .env("CARGO_TARGET_DIR", &target));
        let built: Vec<PathBuf> = stdout(&out).lines().map(PathBuf::from).collect();
        let find = |suffix: &str| {
            built
                .iter()
                .find(|p| p.to_string_lossy().ends_with(suffix))
                .unwrap_or_else(|| panic!("packaging/build made no {suffix}: {built:?}"))
                .clone()
        };
        Packages {
            deb: find(".deb"),
            rpm: find(".rpm"),
        }
    })
}

/// File names in `dir` (relative to the repository) that end with `suffix`, sorted.
fn repo_files(dir: &str, suffix: &str) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(repo().join(dir)) else {
        return Vec::new();
    };
    let mut names: Vec<String> = entries
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(suffix) && !n.starts_with('.') && n != "README.md")
        .collect();
    names.sort();
    names
}

/// Every path the packages must hold, derived from the repository so that a new binary, unit, page or
/// completion that the asset lists miss fails here. `zsh` is where the format puts zsh completions.
fn expected_paths(zsh: &str, man_suffix: &str) -> Vec<String> {
    let mut paths = Vec::new();
    for binary in repo_files("bins", "") {
        paths.push(format!("/usr/bin/{binary}"));
    }
    for suffix in [".service", ".socket", ".timer"] {
        for unit in repo_files("units", suffix) {
            paths.push(format!("/usr/lib/systemd/system/{unit}"));
        }
    }
    for dropin in repo_files("units/journald", ".conf") {
        paths.push(format!("/usr/lib/systemd/journald.conf.d/{dropin}"));
    }
    for (dir, dest) in [
        ("completions/bash", "/usr/share/bash-completion/completions"),
        ("completions/zsh", zsh),
        ("completions/fish", "/usr/share/fish/vendor_completions.d"),
    ] {
        for file in repo_files(dir, "") {
            paths.push(format!("{dest}/{file}"));
        }
    }
    for (suffix, section) in [(".1", "man1"), (".7", "man7")] {
        for page in repo_files("man", suffix) {
            paths.push(format!("/usr/share/man/{section}/{page}{man_suffix}"));
        }
    }
    paths.extend(
        [
            "/etc/magi/magi.toml",
            "/usr/lib/sysusers.d/magi.conf",
            "/usr/lib/tmpfiles.d/magi.conf",
        ]
        .map(String::from),
    );
    paths
}

#[test]
fn package_deb_passes_lintian_and_rpm_passes_rpmlint() {
    if !require(Component::Packaging) {
        return;
    }
    let packages = packages();
    let lintian = run(Command::new("lintian")
        .args(["--fail-on", "error,warning", "--info"])
        .arg(&packages.deb));
    let said = stdout(&lintian);
    println!(
        "lintian: {}",
        if said.trim().is_empty() {
            "no errors, no warnings"
        } else {
            said.trim()
        }
    );
    let rpmlint = run(Command::new("rpmlint")
        .arg("--config")
        .arg(repo().join("packaging/rpmlint.toml"))
        .arg(&packages.rpm));
    let summary = stdout(&rpmlint);
    println!("rpmlint: {}", summary.trim());
    assert!(summary.contains("0 errors"), "rpmlint: {summary}");
}

#[test]
fn package_holds_every_binary_unit_page_completion_and_the_conffile() {
    if !require(Component::Packaging) {
        return;
    }
    let packages = packages();

    let listing = stdout(&run(Command::new("dpkg-deb")
        .arg("--contents")
        .arg(&packages.deb)));
    let in_deb: BTreeSet<String> = listing
        .lines()
        .filter_map(|l| l.split_whitespace().nth(5))
        .map(|p| p.trim_start_matches('.').to_owned())
        .collect();
    let expected = expected_paths("/usr/share/zsh/vendor-completions", ".gz");
    assert!(expected.len() >= 13, "{expected:?}");
    let missing: Vec<&String> = expected.iter().filter(|p| !in_deb.contains(*p)).collect();
    assert!(missing.is_empty(), "the .deb lacks {missing:?}");
    let conffiles = stdout(&run(Command::new("dpkg-deb")
        .arg("--info")
        .arg(&packages.deb)
        .arg("conffiles")));
    assert_eq!(conffiles.trim(), "/etc/magi/magi.toml");
    let changelog = std::fs::read_to_string(repo().join("packaging/debian/changelog")).unwrap();
    let version = format!("magi ({}-1)", env!("CARGO_PKG_VERSION"));
    assert!(
        changelog.starts_with(&version),
        "packaging/debian/changelog needs an entry for {version}"
    );
    for script in ["postinst", "prerm", "postrm"] {
        let text = stdout(&run(Command::new("dpkg-deb")
            .arg("--info")
            .arg(&packages.deb)
            .arg(script)));
        assert!(text.starts_with("#!/bin/sh"), "{script}: {text}");
    }

    // The maintainer scripts name the units to disable and stop; a unit added to units/ must be named too.
    let postrm = std::fs::read_to_string(repo().join("packaging/debian/postrm")).unwrap();
    let preun = std::fs::read_to_string(repo().join("packaging/rpm/preun.sh")).unwrap();
    for suffix in [".service", ".socket", ".timer"] {
        for unit in repo_files("units", suffix) {
            let text = std::fs::read_to_string(repo().join("units").join(&unit)).unwrap();
            if text.contains("[Install]") {
                assert!(
                    postrm.contains(&unit) && preun.contains(&unit),
                    "{unit} can be enabled but postrm or preun.sh does not name it"
                );
            }
        }
    }

    let in_rpm: BTreeSet<String> = stdout(&run(Command::new("rpm")
        .args(["-qp", "--list"])
        .arg(&packages.rpm)))
    .lines()
    .map(str::to_owned)
    .collect();
    let expected = expected_paths("/usr/share/zsh/site-functions", ".gz");
    let missing: Vec<&String> = expected.iter().filter(|p| !in_rpm.contains(*p)).collect();
    assert!(missing.is_empty(), "the .rpm lacks {missing:?}");
    let config = stdout(&run(Command::new("rpm")
        .args(["-qp", "--configfiles"])
        .arg(&packages.rpm)));
    assert_eq!(config.trim(), "/etc/magi/magi.toml");
    let scripts = stdout(&run(Command::new("rpm")
        .args(["-qp", "--scripts"])
        .arg(&packages.rpm)));
    for part in [
        "postinstall scriptlet",
        "preuninstall scriptlet",
        "postuninstall scriptlet",
    ] {
        assert!(scripts.contains(part), "the .rpm has no {part}: {scripts}");
    }
    assert!(
        !scripts.contains("%systemd_")
            && !scripts.contains("%{")
            && scripts
                .contains("systemctl --no-reload enable magi-health.service magi-backup.timer"),
        "{scripts}"
    );

    let size = stdout(&run(Command::new("dpkg-deb")
        .args(["--field"])
        .arg(&packages.deb)
        .arg("Installed-Size")));
    let kib: u64 = size.trim().parse().unwrap();
    println!(
        "installed size of {}: {kib} KiB ({:.1} MiB; debug binaries, stripped)",
        packages.deb.file_name().unwrap().to_string_lossy(),
        kib as f64 / 1024.0
    );
}

#[test]
fn package_example_config_is_valid_as_shipped_and_uncommented() {
    let example = repo().join("packaging/etc/magi.toml");
    let out = bin("magi")
        .args(["config", "check", "--config"])
        .arg(&example)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Every `#key = value` / `#[table]` line (a `#` straight before the text) is an example setting;
    // uncommented together they must still be a valid file, so the examples cannot rot.
    let text = std::fs::read_to_string(&example).unwrap();
    let settings: String = text
        .lines()
        .filter_map(|l| l.strip_prefix('#'))
        .filter(|l| !l.is_empty() && !l.starts_with([' ', '#']))
        .map(|l| format!("{l}\n"))
        .collect();
    assert!(settings.lines().count() >= 20, "{settings}");
    let dir = tempfile::tempdir().unwrap();
    let uncommented = dir.path().join("magi.toml");
    std::fs::write(&uncommented, &settings).unwrap();
    let out = bin("magi")
        .args(["config", "check", "--config"])
        .arg(&uncommented)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "the uncommented examples: {}\n{settings}",
        String::from_utf8_lossy(&out.stderr)
    );
    let shown = bin("magi")
        .args(["config", "show", "--config"])
        .arg(&uncommented)
        .output()
        .unwrap();
    let shown = String::from_utf8_lossy(&shown.stdout);
    assert!(
        shown.contains("container = \"my-open-webui\"") && !shown.contains("[services.jupyter]"),
        "{shown}"
    );
}

/// How the systemd image is made; its hash is the image tag, so a changed recipe makes a new image and an
/// unchanged one is reused (one debootstrap per machine, not per run).
const SUITE: &str = "bookworm";
const MIRROR: &str = "http://deb.debian.org/debian";
/// systemd as PID 1; libssl3 for magi-alert; rpm, whose Debian build installs the .rpm too, so that its
/// hand-written scriptlets run under a real systemd as well.
const INCLUDE: &str = "systemd,systemd-sysv,dbus,libssl3,init-system-helpers,rpm";

fn systemd_image() -> String {
    static IMAGE: OnceLock<String> = OnceLock::new();
    IMAGE
        .get_or_init(|| {
            let recipe =
                format!("debootstrap --variant=minbase {SUITE} {MIRROR} include={INCLUDE}");
            let tag: String = Sha256::digest(recipe.as_bytes())[..8]
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect();
            let image = format!("magi-test/debian-systemd:{tag}");
            let present = Command::new("docker")
                .args(["image", "inspect", "--format", "{{.Id}}", &image])
                .output()
                .unwrap();
            if present.status.success() {
                return image;
            }
            let started = Instant::now();
            let dir = tempfile::tempdir().unwrap();
            let rootfs = dir.path().join("rootfs");
            run(Command::new("debootstrap")
                .args(["--variant=minbase", &format!("--include={INCLUDE}"), SUITE])
                .arg(&rootfs)
                .arg(MIRROR));
            run(Command::new("sh").arg("-c").arg(format!(
                "tar -C '{}' -c . | docker import -c 'CMD [\"/sbin/init\"]' - '{image}'",
                rootfs.display()
            )));
            println!(
                "built {image} with debootstrap in {:.0}s",
                started.elapsed().as_secs_f64()
            );
            image
        })
        .clone()
}

/// A container running systemd as PID 1; removed when dropped.
struct Machine {
    name: String,
}

impl Machine {
    fn boot(image: &str, packages: &Packages) -> Machine {
        // One name per machine: tests of this binary boot theirs side by side.
        static BOOTED: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let name = format!(
            "magi-test-systemd-{}-{}",
            std::process::id(),
            BOOTED.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        );
        let _ = Command::new("docker").args(["rm", "-f", &name]).output();
        // Docker 20.10 on cgroup v1: systemd needs the cgroup tree (read-only is enough, with the host's
        // cgroup namespace), tmpfs on /run, and CAP_SYS_ADMIN with no seccomp filter for the namespaces of
        // our hardened units. --privileged is refused here (the engine itself lacks CAP_SYS_RESOURCE).
        // The host's Docker socket is for magi-health, which cannot start without an engine to ask.
        run(Command::new("docker")
            .args(["run", "-d", "--name", &name])
            .args([
                "--cap-add",
                "SYS_ADMIN",
                "--security-opt",
                "seccomp=unconfined",
            ])
            .args(["--cgroupns=host", "-v", "/sys/fs/cgroup:/sys/fs/cgroup:ro"])
            .args(["--tmpfs", "/run", "--tmpfs", "/run/lock"])
            .args(["-v", "/var/run/docker.sock:/run/docker.sock"])
            .arg("-v")
            .arg(format!("{}:/root/magi.deb:ro", packages.deb.display()))
            .arg("-v")
            .arg(format!("{}:/root/magi.rpm:ro", packages.rpm.display()))
            .args([image, "/sbin/init"]));
        let machine = Machine { name };
        // Right after `docker run`, systemctl may find no manager yet ("offline"), which --wait does not
        // wait out; then it waits for the boot to finish.
        machine.wait_for("systemd to boot", Duration::from_secs(60), |m| {
            let state = stdout(&m.sh("systemctl is-system-running --wait"));
            matches!(state.trim(), "running" | "degraded")
        });
        machine
    }

    /// Runs a shell line inside, whatever its exit status.
    fn sh(&self, line: &str) -> Output {
        Command::new("docker")
            .args(["exec", &self.name, "sh", "-c", line])
            .stdin(Stdio::null())
            .output()
            .unwrap()
    }

    /// Runs a shell line inside, panicking unless it succeeds.
    fn ok(&self, line: &str) -> String {
        let out = self.sh(line);
        assert!(
            out.status.success(),
            "in the container, `{line}`: {}\n{}{}",
            out.status,
            stdout(&out),
            String::from_utf8_lossy(&out.stderr)
        );
        stdout(&out)
    }

    /// `systemctl show -p NAME` of a unit, as NAME=value pairs.
    fn show(&self, unit: &str, properties: &str) -> String {
        self.ok(&format!("systemctl show -p {properties} {unit}"))
    }

    fn wait_for(&self, what: &str, timeout: Duration, check: impl Fn(&Machine) -> bool) {
        let started = Instant::now();
        while !check(self) {
            assert!(started.elapsed() < timeout, "timed out waiting for {what}");
            std::thread::sleep(Duration::from_millis(250));
        }
    }
}

impl Drop for Machine {
    fn drop(&mut self) {
        let _ = Command::new("docker")
            .args(["rm", "-f", &self.name])
            .output();
    }
}

/// The configuration inside the container: a small MAGI home whose backup is only its configuration
/// files (no service has data targets), so the backup needs no container of the stack.
const CONTAINER_CONFIG: &str = r#"[stack]
home = "/opt/magi"
[services.open-webui]
backup = []
[services.qdrant]
backup = []
[services.redis]
backup = []
[services.n8n]
backup = []
[services.jupyter]
backup = []
[services.caddy]
backup = []
"#;

#[test]
fn package_installs_and_runs_under_systemd_as_pid_1() {
    if !require(Component::Packaging) || !require(Component::Docker) {
        return;
    }
    if !require(Component::Debootstrap) {
        return;
    }
    let image = systemd_image();
    let machine = Machine::boot(&image, packages());

    // The docker group of a Docker host, with the gid of the socket handed in: magi-health's unit asks
    // for it (SupplementaryGroups=docker), and postinst starts magi-health only where it exists.
    let gid = std::fs::metadata("/var/run/docker.sock").unwrap().gid();
    machine.ok(&format!("groupadd --system --gid {gid} docker"));
    machine.ok("mkdir -p /opt/magi/config/litellm /opt/magi/workflows && \
         printf 'OPENAI_API_KEY=sk-test\\n' > /opt/magi/.env && \
         printf 'model_list: []\\n' > /opt/magi/config/litellm/config.yaml && \
         printf '{\"name\": \"digest\"}\\n' > /opt/magi/workflows/digest.json && \
         printf 'services: {}\\n' > /opt/magi/docker-compose.yml");

    let installed = machine.ok("dpkg -i /root/magi.deb 2>&1");
    println!("dpkg -i: {}", installed.trim());
    for binary in repo_files("bins", "") {
        machine.ok(&format!("{binary} --help >/dev/null"));
    }
    assert_eq!(
        machine.ok("id -nG magi").trim(),
        "magi",
        "magi is in no other group"
    );
    for (unit, state) in [
        ("magi-health.service", "enabled"),
        ("magi-backup.timer", "enabled"),
        ("magi-alert.socket", "disabled"),
        ("magi-alert.service", "disabled"),
    ] {
        let out = machine.sh(&format!("systemctl is-enabled {unit}"));
        assert_eq!(stdout(&out).trim(), state, "{unit}");
    }
    assert_eq!(
        machine.ok("stat -c '%a %U' /var/backups/magi").trim(),
        "700 root"
    );
    machine.ok("systemctl is-active magi-backup.timer");

    // The backup: the timer accepted, then the service run by hand; the archive verifies.
    machine.ok(&format!(
        "cat > /etc/magi/magi.toml <<'EOF'\n{CONTAINER_CONFIG}EOF"
    ));
    machine.ok("magi config check");
    machine.ok("systemctl enable --now magi-backup.timer");
    machine.ok("systemctl start magi-backup.service");
    let list = machine.ok("magi-backup list --json");
    let name = list
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find_map(|v| v["name"].as_str().map(str::to_owned))
        .unwrap_or_else(|| panic!("no backup listed: {list}"));
    machine.ok(&format!("magi-backup verify {name}"));
    // The unit's records, and the completion however journald filed it: a process that has exited before
    // journald reads its /proc entry leaves its last records without _SYSTEMD_UNIT (or _COMM).
    let kinds_in_journal = |machine: &Machine| -> BTreeSet<String> {
        machine
            .ok(
                "journalctl -o json --no-pager _SYSTEMD_UNIT=magi-backup.service + \
                 MAGI_KIND=backup.completed",
            )
            .lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .filter_map(|v| v["MAGI_KIND"].as_str().map(str::to_owned))
            .collect()
    };
    machine.wait_for(
        "backup.completed in the journal",
        Duration::from_secs(15),
        |m| kinds_in_journal(m).contains("backup.completed"),
    );
    let kinds = kinds_in_journal(&machine);
    println!("backup {name} verified; MAGI_KIND in the journal: {kinds:?}");

    // magi-health: started by postinst (the docker group exists), READY after its first round. A short
    // watchdog shows it pinging across several rounds, then a frozen process being killed by it. Short,
    // but longer than a round may wait on a Docker busy with the other tests (--timeout, 5 s).
    machine.ok(
        "mkdir -p /etc/systemd/system/magi-health.service.d && \
         printf '[Service]\\nWatchdogSec=8s\\n' > /etc/systemd/system/magi-health.service.d/watchdog.conf && \
         systemctl daemon-reload && systemctl restart magi-health.service",
    );
    let ready = machine.show(
        "magi-health.service",
        "ActiveState,SubState,WatchdogUSec,StatusText",
    );
    assert!(
        ready.contains("ActiveState=active") && ready.contains("WatchdogUSec=8s"),
        "{ready}\n{}",
        machine.ok("journalctl -u magi-health.service --no-pager | tail -30")
    );
    let pinged = |m: &Machine| m.show("magi-health.service", "WatchdogTimestampMonotonic");
    let first = pinged(&machine);
    std::thread::sleep(Duration::from_secs(17));
    let after = machine.show("magi-health.service", "ActiveState,NRestarts");
    assert!(
        after.contains("ActiveState=active")
            && after.contains("NRestarts=0")
            && first != pinged(&machine),
        "magi-health after two watchdog intervals and three rounds: {after} (first ping {first})\n{}",
        machine.ok("journalctl -u magi-health.service --no-pager | tail -30")
    );
    println!(
        "magi-health under systemd: {}",
        ready.trim().replace('\n', ", ")
    );
    machine.ok("kill -STOP $(systemctl show -p MainPID --value magi-health.service)");
    machine.wait_for(
        "the watchdog to kill a frozen magi-health",
        Duration::from_secs(25),
        |m| {
            stdout(&m.sh("journalctl -u magi-health.service --no-pager"))
                .contains("Watchdog timeout (limit 8s)")
        },
    );
    machine.wait_for(
        "systemd to restart magi-health after the watchdog",
        Duration::from_secs(30),
        |m| {
            m.show("magi-health.service", "NRestarts,ActiveState")
                == "NRestarts=1\nActiveState=active\n"
        },
    );

    // The exposure of each installed service as this systemd loads it (the figure to print).
    for service in repo_files("units", ".service") {
        let line = machine.ok(&format!(
            "systemd-analyze security --no-pager {service} | tail -n 1"
        ));
        println!("{}", line.trim());
    }

    // An upgrade (the same package again) keeps the admin's choices: a disabled timer stays disabled, the
    // edited conffile stays, and the running magi-health is restarted on the new binary.
    let pid = |m: &Machine| m.show("magi-health.service", "MainPID");
    machine.wait_for("magi-health to run again", Duration::from_secs(30), |m| {
        m.sh("systemctl is-active magi-health.service")
            .status
            .success()
    });
    let before = pid(&machine);
    machine.ok("systemctl disable --now magi-backup.timer");
    machine.ok("dpkg -i /root/magi.deb");
    assert_eq!(
        stdout(&machine.sh("systemctl is-enabled magi-backup.timer")).trim(),
        "disabled"
    );
    assert!(
        machine
            .ok("cat /etc/magi/magi.toml")
            .contains("[services.caddy]\nbackup = []")
    );
    assert_ne!(
        pid(&machine),
        before,
        "magi-health was not restarted on upgrade"
    );
    machine.ok("systemctl is-active magi-health.service");

    // Purge: the units stop and go, the state goes, the archives and the user stay.
    machine.ok("dpkg --purge magi");
    assert_eq!(
        stdout(&machine.sh("systemctl is-active magi-health.service")).trim(),
        "inactive"
    );
    machine.ok(&format!("test -f /var/backups/magi/{name}.tar.zst"));
    machine.ok("test ! -e /var/lib/magi && test ! -e /usr/bin/magi && id magi");

    // The .rpm on the same systemd: its scriptlets enable and start the same two units on install, and
    // disable and stop them on erase. --nodeps: Debian's rpm database knows none of the Debian packages.
    let installed = machine.ok("rpm -i --nodeps /root/magi.rpm 2>&1");
    println!("rpm -i: {}", installed.trim());
    for (unit, state) in [
        ("magi-health.service", "enabled"),
        ("magi-backup.timer", "enabled"),
        ("magi-alert.socket", "disabled"),
    ] {
        let out = machine.sh(&format!("systemctl is-enabled {unit}"));
        assert_eq!(stdout(&out).trim(), state, "{unit} after rpm -i");
    }
    machine.wait_for(
        "magi-health started by the rpm's %post",
        Duration::from_secs(30),
        |m| {
            m.sh("systemctl is-active magi-health.service")
                .status
                .success()
        },
    );
    machine.ok("systemctl is-active magi-backup.timer && test -d /var/backups/magi");
    machine.ok("rpm -e --nodeps magi");
    for unit in ["magi-health.service", "magi-backup.timer"] {
        let out = machine.sh(&format!("systemctl is-active {unit}"));
        assert_eq!(stdout(&out).trim(), "inactive", "{unit} after rpm -e");
    }
    machine.ok("test ! -e /usr/bin/magi-health && test ! -e /etc/systemd/system/multi-user.target.wants/magi-health.service");
}

#[test]
fn package_installs_in_a_chroot_without_a_running_systemd() {
    if !require(Component::Packaging) || !require(Component::Docker) {
        return;
    }
    if !require(Component::Debootstrap) {
        return;
    }
    let deb = &packages().deb;
    let image = systemd_image();
    // An image build or a chroot: systemd is installed but not running. The user, the directory and the
    // enablement links are made; nothing is started, and dpkg succeeds.
    let out = run(Command::new("docker")
        .args(["run", "--rm", "-v"])
        .arg(format!("{}:/root/magi.deb:ro", deb.display()))
        .arg(&image)
        .args([
            "sh",
            "-c",
            "dpkg -i /root/magi.deb >/dev/null && id -nG magi && stat -c '%a %U' /var/backups/magi && \
             readlink /etc/systemd/system/multi-user.target.wants/magi-health.service \
                       /etc/systemd/system/timers.target.wants/magi-backup.timer && \
             test ! -e /etc/systemd/system/sockets.target.wants/magi-alert.socket",
        ]));
    assert_eq!(
        stdout(&out),
        "magi\n700 root\n/lib/systemd/system/magi-health.service\n/lib/systemd/system/magi-backup.timer\n"
    );
}

/// The units other than health and backup, installed from the .deb and run by a real systemd: the limits
/// socket starts the gateway on its first request; the users service answers /healthz; a failed backup's
/// event reaches magi-alert through its FIFO socket and fires the backup-failed rule; the budget and prune
/// timers are scheduled and their services run to success.
#[test]
fn package_sockets_services_and_timers_work_under_systemd() {
    if !require(Component::Packaging) || !require(Component::Docker) {
        return;
    }
    if !require(Component::Debootstrap) {
        return;
    }
    let image = systemd_image();
    let machine = Machine::boot(&image, packages());
    let gid = std::fs::metadata("/var/run/docker.sock").unwrap().gid();
    machine.ok(&format!("groupadd --system --gid {gid} docker"));
    machine.ok("mkdir -p /opt/magi && printf 'services: {}\\n' > /opt/magi/docker-compose.yml");
    machine.ok("dpkg -i /root/magi.deb >/dev/null 2>&1");
    machine.ok(&format!(
        "cat > /etc/magi/magi.toml <<'EOF'\n{CONTAINER_CONFIG}EOF"
    ));
    // systemd cannot set up a user namespace inside this container ("Failed to set up user namespacing:
    // No such file or directory", exit 217/USER), so PrivateUsers= alone is turned off here; every other
    // setting of the shipped units stays as it is.
    machine.ok(
        "for unit in magi-alert magi-limits magi-users magi-costs-check magi-backup-failed magi-backup-prune; do \
           mkdir -p /etc/systemd/system/$unit.service.d && \
           printf '[Service]\\nPrivateUsers=no\\n' > /etc/systemd/system/$unit.service.d/no-userns.conf; \
         done && systemctl daemon-reload",
    );
    // The first line of an HTTP answer from a loopback port inside the machine (bash's /dev/tcp: the
    // minimal Debian has no HTTP client).
    let get = |port: u16, path: &str| {
        machine.ok(&format!(
            "timeout 20 bash -c 'exec 3<>/dev/tcp/127.0.0.1/{port}; \
             printf \"GET {path} HTTP/1.1\\r\\nhost: x\\r\\nconnection: close\\r\\n\\r\\n\" >&3; \
             head -n 1 <&3'"
        ))
    };

    machine.ok("systemctl start magi-limits.socket");
    assert_eq!(
        stdout(&machine.sh("systemctl is-active magi-limits.service")).trim(),
        "inactive",
        "the gateway waits for its first request"
    );
    assert!(get(4400, "/metrics").starts_with("HTTP/1.1 200"));
    machine.ok("systemctl is-active magi-limits.service");

    machine.ok("systemctl start magi-users.service");
    machine.wait_for("magi-users to answer", Duration::from_secs(30), |m| {
        m.sh("bash -c 'exec 3<>/dev/tcp/127.0.0.1/9091'")
            .status
            .success()
    });
    assert!(get(9091, "/healthz").starts_with("HTTP/1.1 200"));

    machine.ok("systemctl start magi-alert.socket magi-alert.service");
    machine.ok("test -p /run/magi/alert.fifo");
    machine.ok("systemctl start magi-backup-failed.service");
    machine.wait_for(
        "the failed backup's event to fire an alert",
        Duration::from_secs(30),
        |m| stdout(&m.sh("magi-alert history")).contains("backup-failed"),
    );

    machine.ok("systemctl enable --now magi-costs-check.timer magi-backup-prune.timer");
    let timers = machine.ok("systemctl list-timers --all --no-pager");
    for timer in ["magi-costs-check.timer", "magi-backup-prune.timer"] {
        let line = timers
            .lines()
            .find(|l| l.contains(timer))
            .unwrap_or_else(|| panic!("{timer} is not listed:\n{timers}"));
        assert!(
            !line.trim_start().starts_with("n/a"),
            "{timer} has a next run: {line}"
        );
    }
    for service in ["magi-costs-check.service", "magi-backup-prune.service"] {
        machine.ok(&format!("systemctl start {service}"));
        assert!(
            machine.show(service, "Result").contains("Result=success"),
            "{service}"
        );
    }
}
