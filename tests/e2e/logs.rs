//! `magi logs` against the real journald and a real container logging through Docker's journald driver:
//! a container's own lines are shown under its service's name.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use magi_testkit::{Component, require};

/// The README and units/README.md promise that with Docker's journald log driver `magi logs --service S`
/// shows S's container's own lines, beside our records.
#[test]
fn logs_show_a_container_s_own_records() {
    if !require(Component::Docker) || !require(Component::Busybox) || !require(Component::Journald)
    {
        return;
    }
    let image = magi_testkit::image::busybox();
    let dir = tempfile::tempdir().unwrap();
    let container = format!("magi-logs-test-{}", std::process::id());
    let config = dir.path().join("magi.toml");
    std::fs::write(
        &config,
        format!("[services.qdrant]\ncontainer = \"{container}\"\n"),
    )
    .unwrap();
    let nonce = format!("collection docs loaded {}", nonce());
    let ran = Command::new("docker")
        .args([
            "run",
            "--rm",
            "--log-driver=journald",
            "--name",
            &container,
            &image,
        ])
        .args([
            "sh",
            "-c",
            &format!("echo '{nonce}'; echo 'ERROR: {nonce} failed' >&2"),
        ])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(
        ran.status.success(),
        "{}",
        String::from_utf8_lossy(&ran.stderr)
    );
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let shown = magi_testkit::bin("magi")
            .args(["--config", config.to_str().unwrap()])
            .args(["logs", "--service", "qdrant", "--since", "10m"])
            .env_remove("JOURNAL_STREAM")
            .stdin(Stdio::null())
            .output()
            .unwrap();
        let out = String::from_utf8_lossy(&shown.stdout);
        if out.contains(&nonce) && out.contains(&format!("ERROR: {nonce} failed")) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "magi logs did not show the container's lines: {out}{}",
            String::from_utf8_lossy(&shown.stderr)
        );
        std::thread::sleep(Duration::from_millis(300));
    }
}

/// Something no other run of this test printed.
fn nonce() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap();
    format!("{}-{}", std::process::id(), now.as_nanos())
}
