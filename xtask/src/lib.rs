//! Repository tasks. `cargo xtask gen` writes the shell completions (`completions/`) and man pages (`man/`)
//! of every binary in the [`registry`] from their clap definitions; a test regenerates them and fails when
//! the committed files differ.

pub mod completions;
pub mod family;
pub mod man;
pub mod registry;
pub mod units;

use std::path::{Path, PathBuf};

use anyhow::Context as _;

/// The repository's root directory.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives in the repository")
        .to_owned()
}

/// Whether a path under the root is one the generator owns: anything in completions/bash, zsh or fish, and
/// the man pages in man/ (each directory's README.md is written by hand).
fn generated(path: &Path) -> bool {
    let in_dir = |dir: &str| path.parent() == Some(Path::new(dir));
    ["completions/bash", "completions/zsh", "completions/fish"]
        .iter()
        .any(|d| in_dir(d))
        || (in_dir("man") && path.extension().is_some_and(|e| e == "1" || e == "7"))
}

/// The generated files present under `root`, relative to it, sorted.
pub fn existing(root: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut found = Vec::new();
    for dir in [
        "completions/bash",
        "completions/zsh",
        "completions/fish",
        "man",
    ] {
        let Ok(entries) = std::fs::read_dir(root.join(dir)) else {
            continue;
        };
        for entry in entries {
            let path = Path::new(dir).join(entry?.file_name());
            if generated(&path) {
                found.push(path);
            }
        }
    }
    found.sort();
    Ok(found)
}

/// Every generated file: its path under the root and its contents.
pub fn generate(root: &Path) -> anyhow::Result<Vec<(PathBuf, String)>> {
    let units = units::read(&root.join("units"))?;
    let mut files = Vec::new();
    for binary in registry::BINARIES {
        for (shell, pattern) in completions::SHELLS {
            files.push((
                Path::new("completions").join(pattern.replace("{}", binary.name)),
                completions::script(binary, *shell),
            ));
        }
        files.push((
            Path::new("man").join(format!("{}.1", binary.name)),
            man::page(binary, &units),
        ));
    }
    let journald = units::journald(&root.join("units"))?;
    files.push((
        PathBuf::from("man/magi.7"),
        man::overview(&units, &journald),
    ));
    debug_assert!(files.iter().all(|(path, _)| generated(path)));
    files.sort();
    Ok(files)
}

/// Replaces the generated files under `out` with fresh ones (removing those of a binary no longer
/// registered); returns their paths.
pub fn write(root: &Path, out: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let files = generate(root)?;
    for old in existing(out)? {
        let old = out.join(old);
        std::fs::remove_file(&old).with_context(|| format!("cannot remove {}", old.display()))?;
    }
    let mut written = Vec::new();
    for (path, text) in files {
        let path = out.join(path);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("cannot create {}", parent.display()))?;
        }
        std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))?;
        written.push(path);
    }
    Ok(written)
}
