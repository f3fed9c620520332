//! Sandboxes against the real engine: a copy of a live container comes up on an internal network of its
//! own with its replaced mount writable and every other mount read-only, cannot reach the live container,
//! says why when its health check fails, and leaves nothing behind once removed, even after a killed run.

use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

use magi_docker::Engine;
use magi_docker::sandbox::{SANDBOX_LABEL, Sandbox, Up};
use magi_testkit::{Component, docker, image, require};

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// A live busybox container with a data mount and a config mount and a health check that needs the data
/// directory's `ok` file; removed when dropped.
struct Live {
    name: String,
    _dirs: tempfile::TempDir,
}

impl Live {
    fn run(tag: &str, data: &Path, config: &Path, dirs: tempfile::TempDir) -> Live {
        let name = format!("magi-sandbox-test-{tag}-{}", std::process::id());
        let busybox = image::busybox();
        docker::docker(&[
            "run",
            "--detach",
            "--init",
            "--label",
            "magi.docker-test=1",
            "--name",
            &name,
            "--volume",
            &format!("{}:/data", data.display()),
            "--volume",
            &format!("{}:/config", config.display()),
            "--health-cmd",
            "test -e /data/ok",
            "--health-interval",
            "1s",
            "--health-retries",
            "2",
            &busybox,
            "sleep",
            "600",
        ])
        .unwrap();
        Live { name, _dirs: dirs }
    }
}

impl Drop for Live {
    fn drop(&mut self) {
        let _ = docker::docker(&["rm", "--force", &self.name]);
    }
}

fn labelled(purpose: &str, what: &str) -> String {
    let filter = format!("label={SANDBOX_LABEL}={purpose}");
    let args: Vec<&str> = match what {
        "containers" => vec!["ps", "--all", "--quiet", "--filter", &filter],
        _ => vec!["network", "ls", "--quiet", "--filter", &filter],
    };
    docker::docker(&args).unwrap().trim().to_owned()
}

#[test]
fn a_sandboxed_copy_comes_up_on_its_own_network_with_only_its_copy_writable() {
    if !require(Component::Docker) || !require(Component::Busybox) {
        return;
    }
    let dirs = tempfile::tempdir().unwrap();
    let (data, config, copy) = (
        dirs.path().join("data"),
        dirs.path().join("config"),
        dirs.path().join("copy"),
    );
    for dir in [&data, &config, &copy] {
        std::fs::create_dir(dir).unwrap();
    }
    std::fs::write(copy.join("ok"), "the copy's").unwrap();
    std::fs::write(config.join("settings"), "live").unwrap();
    // The live data has no `ok`: the live container is unhealthy, the copy healthy from its own data.
    let live = Live::run("up", &data, &config, dirs);
    let purpose = format!("test-up-{}", std::process::id());
    runtime().block_on(async {
        let engine = Engine::connect().await.unwrap();
        let mut sandbox = Sandbox::create(&engine, &purpose).await.unwrap();
        let network = sandbox.network().to_owned();
        let replace = HashMap::from([(data.clone(), copy.clone())]);
        let name = sandbox.copy(&live.name, &replace).await.unwrap();
        let up = sandbox
            .start_and_wait(&name, Duration::from_secs(60))
            .await
            .unwrap();
        assert!(matches!(up, Up::Healthy(_)), "{up:?}");

        let internal = docker::docker(&["network", "inspect", "-f", "{{.Internal}}", &network]);
        assert_eq!(internal.unwrap().trim(), "true");
        let networks = docker::docker(&[
            "inspect",
            "-f",
            "{{range $k, $v := .NetworkSettings.Networks}}{{$k}} {{end}}",
            &name,
        ])
        .unwrap();
        assert_eq!(networks.trim(), network, "on the sandbox's network alone");
        let ports = docker::docker(&["port", &name]).unwrap();
        assert!(ports.trim().is_empty(), "no published port: {ports}");

        // The copy writes its own data, not the live data, and cannot write the live config.
        docker::docker(&["exec", &name, "touch", "/data/written-in-sandbox"]).unwrap();
        assert!(copy.join("written-in-sandbox").exists());
        assert!(!data.join("written-in-sandbox").exists());
        let refused = docker::docker(&["exec", &name, "sh", "-c", "echo x > /config/settings"]);
        assert!(
            refused.is_err(),
            "the config mount is read-only in the sandbox"
        );
        assert_eq!(
            std::fs::read_to_string(config.join("settings")).unwrap(),
            "live"
        );

        // Nothing of the live container is reachable: no route off the internal network.
        let live_ip = docker::docker(&[
            "inspect",
            "-f",
            "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}",
            &live.name,
        ])
        .unwrap();
        let ping = docker::docker(&["exec", &name, "ping", "-c", "1", "-W", "1", live_ip.trim()]);
        assert!(ping.is_err(), "the sandbox reached the live container");

        sandbox.remove().await.unwrap();
    });
    assert_eq!(labelled(&purpose, "containers"), "");
    assert_eq!(labelled(&purpose, "networks"), "");
}

#[test]
fn a_copy_that_fails_its_health_check_is_named_with_why_and_leftovers_are_removed() {
    if !require(Component::Docker) || !require(Component::Busybox) {
        return;
    }
    let dirs = tempfile::tempdir().unwrap();
    let (data, config) = (dirs.path().join("data"), dirs.path().join("config"));
    for dir in [&data, &config] {
        std::fs::create_dir(dir).unwrap();
    }
    let live = Live::run("fail", &data, &config, dirs);
    let purpose = format!("test-fail-{}", std::process::id());
    runtime().block_on(async {
        let engine = Engine::connect().await.unwrap();
        let mut sandbox = Sandbox::create(&engine, &purpose).await.unwrap();
        // No replacement: the copy sees the live data read-only, with no `ok` in it.
        let name = sandbox.copy(&live.name, &HashMap::new()).await.unwrap();
        let error = sandbox
            .start_and_wait(&name, Duration::from_secs(60))
            .await
            .unwrap_err()
            .to_string();
        assert!(error.contains("its health check failed"), "{error}");
        assert!(error.contains(&name), "{error}");

        docker::docker(&["rm", "--force", &name]).unwrap();
        std::mem::forget(sandbox);
        // A run killed before it removed its sandbox: the next one finds it by its label.
        assert!(!labelled(&purpose, "networks").is_empty());
        let removed = Sandbox::remove_leftovers(&engine, &purpose).await.unwrap();
        assert_eq!(removed, 1, "the network");
    });
    assert_eq!(labelled(&purpose, "networks"), "");
}
