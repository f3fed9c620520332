//! `magi-testkit`: the real-component test rig of MAGI ops.
//!
//! The end-to-end tests run our built binaries against real things: a mini MAGI stack in Docker with the
//! real container names ([`MiniStack`]), loopback servers for mail, S3, webhooks, reverse proxying and
//! LLM routing ([`SmtpServer`], [`S3Server`], [`WebhookReceiver`], [`Nginx`], [`Caddy`], [`LiteLlm`]),
//! fixture images built locally ([`image`]), a flood of idle connections ([`flood`]) and a plain GET
//! ([`http`]). [`bin`] finds our
//! binaries; [`require`] decides whether a test can run here. The only imitations are the stand-ins for
//! what cannot be had here: Qdrant (`tests/standins/qdrant`) and the upstream LLM provider
//! ([`OpenAiStandin`], `tests/standins/openai`).

pub mod caddy;
pub mod component;
pub mod docker;
pub mod faulty;
pub mod flood;
pub mod http;
pub mod image;
pub mod litellm;
pub mod nginx;
pub mod openai;
pub mod s3;
pub mod smtp;
pub mod stack;
pub mod webhook;

mod daemon;
mod lock;
mod port;
mod seed;

use std::path::PathBuf;
use std::process::Command;

pub use caddy::Caddy;
pub use component::{Component, require};
pub use docker::{ContainerState, DockerError};
pub use litellm::LiteLlm;
pub use nginx::Nginx;
pub use openai::OpenAiStandin;
pub use port::free_port;
pub use s3::S3Server;
pub use smtp::{ReceivedMail, SmtpServer};
pub use stack::{MiniStack, ProbeOutcome};
pub use webhook::{ReceivedRequest, WebhookReceiver};

/// The directory of the binaries built with the running test: `target/debug` for
/// `target/debug/deps/e2e-HASH`.
fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary knows its own path");
    let mut dir = exe
        .parent()
        .expect("the test binary lives in a directory")
        .to_owned();
    if dir.ends_with("deps") {
        dir.pop();
    }
    dir
}

/// The path of one of our built binaries (e.g. `magi`, `magi-health`, `qdrant-standin`).
///
/// Panics when it has not been built: the tests do not build it themselves.
pub fn bin_path(name: &str) -> PathBuf {
    let path = target_dir().join(name);
    if !path.is_file() {
        panic!(
            "{} not found: run `cargo build --workspace` first (tests/run does)",
            path.display()
        );
    }
    path
}

/// A child process that is killed (and reaped) when the test ends, passed or not: a panicking test
/// leaves no daemon behind holding a port or the test harness' output.
pub struct Killed(pub std::process::Child);

impl Drop for Killed {
    fn drop(&mut self) {
        self.0.kill().ok();
        self.0.wait().ok();
    }
}

/// A [`Command`] for one of our built binaries, from the same target directory as the running test.
pub fn bin(name: &str) -> Command {
    Command::new(bin_path(name))
}

/// Runs `command` with `input` on its stdin (written from a thread, so a command that prints while it
/// reads cannot stall it) and returns what it printed and how it exited.
pub fn feed(command: &mut Command, input: &[u8]) -> std::process::Output {
    use std::io::Write as _;
    use std::process::Stdio;
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {command:?}: {e}"));
    let mut stdin = child.stdin.take().expect("stdin is piped");
    let input = input.to_vec();
    let writer = std::thread::spawn(move || stdin.write_all(&input));
    let output = child.wait_with_output().unwrap();
    writer
        .join()
        .expect("the stdin writer")
        .unwrap_or_else(|e| panic!("{command:?} did not read its input: {e}"));
    output
}
