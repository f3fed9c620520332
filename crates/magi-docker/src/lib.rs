//! The one Docker client the MAGI ops tools share.
//!
//! [`Engine::connect`] reaches the local engine through `DOCKER_HOST` (default `unix:///var/run/docker.sock`),
//! negotiates the API version down to what the engine speaks, and turns a missing socket or a refused permission
//! into one sentence that says how to fix it. Containers are read into typed values ([`container`]), resource
//! samples (from the cgroup files for a local engine, [`cgroup`], else from the engine) are turned into the
//! figures `docker stats` shows ([`stats`]), and the lifecycle actions (pause, unpause, stop, start, restart)
//! are plain methods. A [`sandbox`] starts copies of the stack's containers where they can touch nothing of it.

pub mod cgroup;
pub mod container;
pub mod sandbox;
pub mod stats;

pub mod engine;

pub use container::{Address, Container, Health, HealthStatus, State};
pub use engine::{DockerError, Engine};
pub use stats::{CpuSample, Memory, Sample, Transfer, TransferRate};
