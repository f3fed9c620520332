//! Fixture images, built locally because the test machines have no registry.
//!
//! Every image is `FROM scratch` plus host files: Debian's static busybox for a shell and tools, and host
//! programs copied with the shared libraries `ldd` names (the dynamic loader included). An image is tagged
//! with a hash of everything that goes into it, so it is built once and rebuilt only when an input changes;
//! builds take a machine-wide lock, so test processes that race build it once.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

use sha2::{Digest, Sha256};

use crate::docker::{DockerError, docker};
use crate::lock::Turn;

/// Where Debian's `busybox-static` installs the binary.
pub const BUSYBOX: &str = "/bin/busybox";

/// A `FROM scratch` image made of host files.
#[derive(Debug, Clone)]
pub struct ScratchImage {
    name: String,
    /// (file on the host, path in the image)
    files: Vec<(PathBuf, PathBuf)>,
    busybox: bool,
}

impl ScratchImage {
    /// An empty image to be called `name` (e.g. `magi-test/redis`).
    pub fn new(name: &str) -> ScratchImage {
        ScratchImage {
            name: name.to_owned(),
            files: Vec::new(),
            busybox: false,
        }
    }

    /// Adds busybox at `/bin/busybox` with its applets linked in `/bin` (`sh`, `wget`, `httpd`, ...).
    pub fn with_busybox(mut self) -> ScratchImage {
        self.busybox = true;
        self.program_as(BUSYBOX, BUSYBOX)
    }

    /// Adds a host program at the same path in the image, with its shared libraries.
    pub fn program(self, path: impl AsRef<Path>) -> ScratchImage {
        let path = path.as_ref().to_owned();
        self.program_as(&path, &path)
    }

    /// Adds a host program at `in_image`, with its shared libraries at the paths `ldd` reports.
    pub fn program_as(
        mut self,
        host: impl AsRef<Path>,
        in_image: impl AsRef<Path>,
    ) -> ScratchImage {
        let host = host.as_ref();
        for library in shared_libraries(host) {
            if !self.files.iter().any(|(_, p)| p == &library) {
                self.files.push((library.clone(), library));
            }
        }
        self.files
            .push((host.to_owned(), in_image.as_ref().to_owned()));
        self
    }

    /// Builds the image unless an image with the same inputs exists; returns its reference (`NAME:HASH`).
    /// Panics with the failing step and its output.
    pub fn build(&self) -> String {
        self.try_build().unwrap_or_else(|e| panic!("{e}"))
    }

    fn try_build(&self) -> Result<String, DockerError> {
        let dockerfile = self.dockerfile();
        let reference = format!("{}:{}", self.name, self.digest(&dockerfile)?);
        let _turn = Turn::take("images");
        if docker(&["image", "inspect", "--format", "{{.Id}}", &reference]).is_ok() {
            return Ok(reference);
        }
        let context = tempfile::tempdir().map_err(|e| host_error(Path::new("a temp dir"), &e))?;
        let rootfs = context.path().join("rootfs");
        for (host, in_image) in &self.files {
            let target = rootfs.join(in_image.strip_prefix("/").unwrap_or(in_image));
            if let Some(parent) = target.parent() {
                fs::create_dir_all(parent).map_err(|e| host_error(parent, &e))?;
            }
            fs::copy(host, &target).map_err(|e| host_error(host, &e))?;
        }
        fs::write(context.path().join("Dockerfile"), &dockerfile)
            .map_err(|e| host_error(context.path(), &e))?;
        let context_dir = context.path().to_string_lossy().into_owned();
        docker(&[
            "build",
            "--quiet",
            "--label",
            "magi.test.image=1",
            "--tag",
            &reference,
            &context_dir,
        ])?;
        remove_stale_builds(&self.name, &reference);
        Ok(reference)
    }

    /// The hash of the image's inputs: the Dockerfile, and every file's path in the image and content.
    /// Hashing a large debug binary takes a while, so a process remembers the digest of files whose size
    /// and modification time it has seen.
    fn digest(&self, dockerfile: &str) -> Result<String, DockerError> {
        static SEEN: Mutex<Vec<(String, String)>> = Mutex::new(Vec::new());
        let mut stamp = format!("{}\n{dockerfile}", self.name);
        for (host, in_image) in &self.files {
            let meta = fs::metadata(host).map_err(|e| host_error(host, &e))?;
            let modified = meta.modified().map_err(|e| host_error(host, &e))?;
            stamp.push_str(&format!(
                "\n{} {} {} {modified:?}",
                host.display(),
                in_image.display(),
                meta.len()
            ));
        }
        let known = SEEN
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .find(|(s, _)| *s == stamp)
            .map(|(_, digest)| digest.clone());
        if let Some(digest) = known {
            return Ok(digest);
        }
        let mut hash = Sha256::new();
        hash.update(dockerfile.as_bytes());
        for (host, in_image) in &self.files {
            let bytes = fs::read(host).map_err(|e| host_error(host, &e))?;
            hash.update(in_image.as_os_str().as_encoded_bytes());
            hash.update((bytes.len() as u64).to_le_bytes());
            hash.update(&bytes);
        }
        let digest: String = hash
            .finalize()
            .iter()
            .take(8)
            .map(|b| format!("{b:02x}"))
            .collect();
        SEEN.lock()
            .unwrap_or_else(|e| e.into_inner())
            .push((stamp, digest.clone()));
        Ok(digest)
    }

    fn dockerfile(&self) -> String {
        let mut text = String::from("FROM scratch\nCOPY rootfs/ /\n");
        if self.busybox {
            text.push_str("RUN [\"/bin/busybox\", \"--install\", \"-s\", \"/bin\"]\n");
        }
        text
    }
}

fn host_error(path: &Path, e: &std::io::Error) -> DockerError {
    DockerError {
        command: "docker build (preparing the context)".into(),
        code: None,
        stderr: format!("{}: {e}", path.display()),
    }
}

/// The shared libraries a program loads, as absolute paths (`ldd`); none for a static program.
pub fn shared_libraries(program: &Path) -> Vec<PathBuf> {
    let output = Command::new("ldd")
        .arg(program)
        .output()
        .unwrap_or_else(|e| panic!("cannot run `ldd {}`: {e}", program.display()));
    let stdout = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        if stdout.contains("not a dynamic executable")
            || stderr.contains("not a dynamic executable")
        {
            return Vec::new();
        }
        panic!(
            "`ldd {}` failed: {}{}",
            program.display(),
            stdout.trim(),
            stderr.trim()
        );
    }
    parse_ldd(&stdout)
}

/// Reads `ldd` output: `libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x...)` and
/// `/lib64/ld-linux-x86-64.so.2 (0x...)`; the vDSO has no file and is skipped.
fn parse_ldd(text: &str) -> Vec<PathBuf> {
    text.lines()
        .filter_map(|line| {
            let line = line.trim();
            let path = match line.split_once("=>") {
                Some((_, right)) => right.trim(),
                None => line,
            };
            let path = path.split_whitespace().next()?;
            path.starts_with('/').then(|| PathBuf::from(path))
        })
        .collect()
}

/// `magi-test/busybox`: busybox alone, the base of the HTTP stand-ins of the mini stack.
pub fn busybox() -> String {
    ScratchImage::new("magi-test/busybox")
        .with_busybox()
        .build()
}

/// `magi-test/redis`: Debian's real `redis-server` and `redis-cli`, with busybox for a shell.
pub fn redis() -> String {
    ScratchImage::new("magi-test/redis")
        .with_busybox()
        .program("/usr/bin/redis-server")
        .program("/usr/bin/redis-cli")
        .build()
}

/// `magi-test/qdrant-standin`: the Qdrant stand-in of this workspace at `/usr/local/bin/qdrant-standin`,
/// with busybox for the healthcheck.
pub fn qdrant_standin() -> String {
    ScratchImage::new("magi-test/qdrant-standin")
        .with_busybox()
        .program_as(
            crate::bin_path("qdrant-standin"),
            "/usr/local/bin/qdrant-standin",
        )
        .build()
}

/// Removes the builds of image `name` more than a day old, other than `current`: every rebuilt test
/// binary makes a new tag, and without this they pile up. Only old ones, because a build from a few
/// minutes ago may belong to another checkout's test run about to start it; a failure (an image still in
/// use) is left for a later run.
fn remove_stale_builds(name: &str, current: &str) {
    let Ok(listing) = docker(&[
        "image",
        "ls",
        "--filter",
        "label=magi.test.image=1",
        "--format",
        "{{.Repository}}:{{.Tag}}\t{{.CreatedAt}}",
        name,
    ]) else {
        return;
    };
    let now = jiff::Timestamp::now();
    for (reference, created) in listing.lines().filter_map(|l| l.split_once('\t')) {
        if reference != current && older_than_a_day(created, now) {
            let _ = docker(&["image", "rm", reference]);
        }
    }
}

/// Whether Docker's `CreatedAt` (e.g. "2026-11-24 05:21:59 +0000 UTC") is more than a day before `now`;
/// false when it cannot be read.
fn older_than_a_day(created: &str, now: jiff::Timestamp) -> bool {
    // The zone name after the numeric offset is noise.
    created
        .get(..25)
        .and_then(|c| {
            jiff::fmt::strtime::parse("%Y-%m-%d %H:%M:%S %z", c)
                .and_then(|t| t.to_timestamp())
                .ok()
        })
        .is_some_and(|c| now.duration_since(c) > jiff::SignedDuration::from_hours(24))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ldd_output_names_libraries_and_the_loader() {
        let text = "\tlinux-vdso.so.1 (0x00007ffd)\n\
\tlibssl.so.3 => /lib/x86_64-linux-gnu/libssl.so.3 (0x00007f)\n\
\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f)\n\
\t/lib64/ld-linux-x86-64.so.2 (0x00007f)\n";
        assert_eq!(
            parse_ldd(text),
            [
                "/lib/x86_64-linux-gnu/libssl.so.3",
                "/lib/x86_64-linux-gnu/libc.so.6",
                "/lib64/ld-linux-x86-64.so.2"
            ]
            .map(PathBuf::from)
        );
    }

    #[test]
    fn only_builds_from_more_than_a_day_ago_are_stale() {
        let now: jiff::Timestamp = "2026-11-24T05:00:00Z".parse().unwrap();
        assert!(older_than_a_day("2026-11-23 04:59:59 +0000 UTC", now));
        assert!(!older_than_a_day("2026-11-23 05:00:01 +0000 UTC", now));
        // The offset counts: 06:00 at +02:00 is 04:00 UTC, 25 hours before.
        assert!(older_than_a_day("2026-11-23 06:00:00 +0200 CEST", now));
        assert!(!older_than_a_day("yesterday", now));
    }
}
