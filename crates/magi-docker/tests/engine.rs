//! The Docker client against the real engine: typed states through the lifecycle actions, a stop told apart
//! from a kill, samples from the cgroup files agreeing with the engine's own, and a missing container.

use std::time::Duration;

use magi_docker::{Engine, State};
use magi_testkit::{Component, docker, image, require};

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// A busybox container with a unique name, removed when dropped.
struct Scratch(String);

impl Scratch {
    fn run(tag: &str, command: &[&str]) -> Scratch {
        let name = format!("magi-docker-test-{tag}-{}", std::process::id());
        let busybox = image::busybox();
        let mut args = vec![
            "run",
            "--detach",
            "--init",
            // Not the rig's label: a mini stack starting meanwhile removes every container that has it.
            "--label",
            "magi.docker-test=1",
            "--name",
            &name,
            &busybox,
        ];
        args.extend_from_slice(command);
        docker::docker(&args).unwrap();
        Scratch(name)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = docker::docker(&["rm", "--force", &self.0]);
    }
}

#[test]
fn lifecycle_actions_move_through_the_typed_states_and_a_stop_is_told_from_a_kill() {
    if !require(Component::Docker) || !require(Component::Busybox) {
        return;
    }
    let stopped = Scratch::run("stop", &["sleep", "600"]);
    let killed = Scratch::run("kill", &["sleep", "600"]);
    runtime().block_on(async {
        let engine = Engine::connect().await.unwrap();
        let c = engine.inspect(&stopped.0).await.unwrap();
        assert_eq!(c.state, State::Running);
        assert!(c.pid > 0 && c.ip().is_some() && c.started_at.is_some());

        engine.pause(&stopped.0).await.unwrap();
        assert_eq!(
            engine.inspect(&stopped.0).await.unwrap().state,
            State::Paused
        );
        engine.unpause(&stopped.0).await.unwrap();
        engine
            .restart(&stopped.0, Duration::from_secs(1))
            .await
            .unwrap();
        assert_eq!(
            engine.inspect(&stopped.0).await.unwrap().state,
            State::Running
        );

        engine
            .stop(&stopped.0, Duration::from_secs(1))
            .await
            .unwrap();
        let c = engine.inspect(&stopped.0).await.unwrap();
        assert!(
            matches!(c.state, State::Exited { code } if code != 0),
            "{:?}",
            c.state
        );
        let asked = engine
            .stop_requested(&c.name, c.started_at.unwrap())
            .await
            .unwrap();
        assert!(asked, "docker stop is recorded");
        assert!(c.stopped_on_purpose(asked));

        docker::docker(&["kill", &killed.0]).unwrap();
        let c = engine.inspect(&killed.0).await.unwrap();
        assert_eq!(c.state, State::Exited { code: 137 });
        let asked = engine
            .stop_requested(&c.name, c.started_at.unwrap())
            .await
            .unwrap();
        assert!(!asked, "a kill is not a stop");
        assert!(!c.stopped_on_purpose(asked));

        engine.start(&killed.0).await.unwrap();
        assert_eq!(
            engine.inspect(&killed.0).await.unwrap().state,
            State::Running
        );
        let err = engine.unpause(&killed.0).await.unwrap_err().to_string();
        assert!(
            err.starts_with(&format!("container {}: cannot unpause: ", killed.0)),
            "{err}"
        );
    });
}

#[test]
fn cgroup_samples_agree_with_the_engine() {
    if !require(Component::Docker) || !require(Component::Busybox) {
        return;
    }
    let busy = Scratch::run("busy", &["sh", "-c", "while :; do :; done"]);
    let idle = Scratch::run("idle", &["sleep", "600"]);
    let pinged = Scratch::run(
        "ping",
        &[
            "sh",
            "-c",
            "ping -c 3 -i 0.2 $(ip route | awk '/default/ {print $3}'); sleep 600",
        ],
    );
    runtime().block_on(async {
        let engine = Engine::connect().await.unwrap();
        let c = engine.inspect(&busy.0).await.unwrap();
        // A missing sample is how this code fails: it is asserted, never a reason to skip.
        let first = magi_docker::cgroup::sample(c.pid)
            .expect("the container's cgroup sample is read from /sys/fs/cgroup");
        tokio::time::sleep(Duration::from_millis(500)).await;
        let second = engine.sample(&c).await.unwrap();
        let cpu =
            magi_docker::stats::cpu_percent(&first.cpu.unwrap(), &second.cpu.unwrap()).unwrap();
        // One busy thread is at most one CPU (100 %); on a loaded machine it gets less, but clearly some.
        assert!((20.0..=102.0).contains(&cpu), "one busy loop: {cpu}");

        let i = engine.inspect(&idle.0).await.unwrap();
        let before = engine.sample(&i).await.unwrap().cpu.unwrap();
        tokio::time::sleep(Duration::from_millis(500)).await;
        let after = engine.sample(&i).await.unwrap().cpu.unwrap();
        let idle_cpu = magi_docker::stats::cpu_percent(&before, &after).unwrap();
        assert!(idle_cpu < 5.0, "a sleeping container: {idle_cpu}");

        // Network bytes are the same counters read two ways: a container that pinged its gateway and went
        // quiet reads the same from its /proc/PID/net/dev as from the engine; block I/O likewise.
        let pinger = engine.inspect(&pinged.0).await.unwrap();
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        let (ours, theirs) = loop {
            let ours = magi_docker::cgroup::sample(pinger.pid).expect("the pinger's sample");
            let theirs = engine.engine_sample(&pinger.name).await.unwrap();
            if ours.network.is_some_and(|n| n.outbound >= 3 * 98)
                || std::time::Instant::now() > deadline
            {
                break (ours, theirs);
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        };
        let network = ours
            .network
            .expect("network counters from /proc/PID/net/dev");
        assert!(
            network.inbound > 0 && network.outbound >= 3 * 98,
            "three pings: {network:?}"
        );
        assert_eq!(
            ours.network, theirs.network,
            "the engine counts the same interfaces"
        );
        assert_eq!(
            ours.block, theirs.block,
            "block I/O from the cgroup and the engine"
        );

        let ours = second.memory.unwrap();
        let theirs = engine.engine_sample(&c.name).await.unwrap().memory.unwrap();
        assert_eq!(ours.limit, theirs.limit);
        let ratio = ours.used as f64 / theirs.used as f64;
        assert!(
            (0.5..2.0).contains(&ratio),
            "cgroup {ours:?} against engine {theirs:?}"
        );
    });
}

#[test]
fn a_missing_container_is_missing() {
    if !require(Component::Docker) {
        return;
    }
    runtime().block_on(async {
        let engine = Engine::connect().await.unwrap();
        let c = engine
            .inspect("magi-docker-test-no-such-container")
            .await
            .unwrap();
        assert_eq!(c.state, State::Missing);
        assert_eq!(c.uptime(jiff::Timestamp::now()), None);
    });
}
