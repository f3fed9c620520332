//! The committed completions and man pages are what `cargo xtask gen` makes of the clap definitions today,
//! and every binary in bins/ is in the generator's registry.

use std::collections::BTreeSet;

use xtask::registry::BINARIES;

const HOW: &str = "run `cargo xtask gen` and commit completions/ and man/";

#[test]
fn committed_completions_and_man_pages_are_up_to_date() {
    let root = xtask::root();
    let fresh = xtask::generate(&root).unwrap();
    let committed = xtask::existing(&root).unwrap();
    let fresh_paths: Vec<_> = fresh.iter().map(|(p, _)| p.clone()).collect();
    let missing: Vec<_> = fresh_paths
        .iter()
        .filter(|p| !committed.contains(p))
        .collect();
    let extra: Vec<_> = committed
        .iter()
        .filter(|p| !fresh_paths.contains(p))
        .collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "generated files are missing {missing:?} or left over {extra:?}: {HOW}"
    );
    let stale: Vec<_> = fresh
        .iter()
        .filter(|(path, text)| std::fs::read_to_string(root.join(path)).unwrap() != *text)
        .map(|(path, _)| path.display().to_string())
        .collect();
    assert!(stale.is_empty(), "out of date: {}; {HOW}", stale.join(", "));
}

#[test]
fn the_generator_writes_exactly_what_it_compares() {
    let out = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(out.path().join("man")).unwrap();
    std::fs::write(out.path().join("man/README.md"), "by hand").unwrap();
    std::fs::write(out.path().join("man/magi-gone.1"), "a removed tool").unwrap();
    let written = xtask::write(&xtask::root(), out.path()).unwrap();
    let listed = xtask::existing(out.path()).unwrap();
    assert_eq!(written.len(), listed.len());
    assert!(listed.iter().all(|p| out.path().join(p).is_file()));
    assert!(
        !out.path().join("man/magi-gone.1").exists(),
        "pages of unregistered binaries are removed"
    );
    assert_eq!(
        std::fs::read_to_string(out.path().join("man/README.md")).unwrap(),
        "by hand"
    );
}

#[test]
fn every_binary_in_bins_has_a_registry_entry() {
    let bins: BTreeSet<String> = std::fs::read_dir(xtask::root().join("bins"))
        .unwrap()
        .map(|e| e.unwrap())
        .filter(|e| e.path().join("Cargo.toml").is_file())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    let registered: BTreeSet<String> = BINARIES.iter().map(|b| b.name.to_owned()).collect();
    let unregistered: Vec<_> = bins.difference(&registered).collect();
    assert!(
        unregistered.is_empty(),
        "bins/ has {unregistered:?} without completions or a man page: add one line for each to \
BINARIES in xtask/src/registry.rs, then {HOW}"
    );
    let gone: Vec<_> = registered.difference(&bins).collect();
    assert!(gone.is_empty(), "registered but not in bins/: {gone:?}");
}

#[test]
fn every_page_has_the_sections_a_reader_looks_for() {
    for (path, text) in xtask::generate(&xtask::root()).unwrap() {
        if path.starts_with("completions") {
            continue;
        }
        for heading in [
            "NAME",
            "SYNOPSIS",
            "DESCRIPTION",
            "EXIT STATUS",
            "ENVIRONMENT",
            "FILES",
            "SEE ALSO",
        ] {
            if heading == "SYNOPSIS" && path.ends_with("magi.7") {
                continue;
            }
            assert!(
                text.lines()
                    .any(|l| l == format!(".SH {heading}") || l == format!(".SH \"{heading}\"")),
                "{} has no {heading} section",
                path.display()
            );
        }
    }
    let backup = std::fs::read_to_string(xtask::root().join("man/magi-backup.1")).unwrap();
    assert!(
        backup.contains("magi\\-backup prune"),
        "subcommands are inside the page"
    );
    assert!(
        backup.contains("magi\\-backup.timer"),
        "the units that run it are listed"
    );
}

/// Options and arguments without a help text, as `magi-backup prune --keep-last`, in `cmd` and below.
fn undocumented(cmd: &clap::Command, path: &str, out: &mut Vec<String>) {
    for arg in cmd.get_arguments() {
        if arg.get_help().is_none() && arg.get_long_help().is_none() {
            out.push(format!("{path} {}", arg.get_id()));
        }
    }
    for sub in cmd.get_subcommands() {
        if sub.get_about().is_none() && sub.get_long_about().is_none() {
            out.push(format!("{path} {} (the command)", sub.get_name()));
        }
        undocumented(sub, &format!("{path} {}", sub.get_name()), out);
    }
}

#[test]
fn every_option_argument_and_command_says_what_it_is_for() {
    let mut missing = Vec::new();
    for binary in BINARIES {
        undocumented(&(binary.command)(), binary.name, &mut missing);
    }
    assert!(
        missing.is_empty(),
        "no help text (a /// doc comment) for: {}",
        missing.join(", ")
    );
}

#[test]
fn every_man_page_renders_without_a_warning() {
    for (path, _) in xtask::generate(&xtask::root()).unwrap() {
        if !path.starts_with("man") {
            continue;
        }
        // The way lintian checks a page: man-db and groff with every warning on.
        let out = std::process::Command::new("man")
            .args(["--warnings", "-E", "UTF-8", "-l", "-Tutf8", "-Z"])
            .arg(xtask::root().join(&path))
            .env("LC_ALL", "C.UTF-8")
            .env("MANROFFSEQ", "")
            .env("MANWIDTH", "80")
            .output()
            .expect("man (man-db, installed by tests/run)");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success() && stderr.trim().is_empty(),
            "{}: {stderr}",
            path.display()
        );
    }
}

#[test]
fn every_tool_is_one_of_the_family_with_the_family_s_summary() {
    for binary in BINARIES {
        let Some(name) = binary.tool_name() else {
            continue;
        };
        let about = (binary.command)().get_about().map(|a| a.to_string());
        assert_eq!(
            about.as_deref(),
            magi_core::tools::about(name),
            "{}: its about line is not magi_core::tools::about(\"{name}\")",
            binary.name
        );
    }
}
