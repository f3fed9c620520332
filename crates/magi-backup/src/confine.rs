//! What an archive may name: the one check of entry paths, link targets, service and collection names that
//! every reader of a manifest goes through ([`crate::archive::Archive::open`] runs it, so `verify`, `list`,
//! `--dry-run` and a restore all refuse the same archives).
//!
//! An archive is input from outside: anyone holding the age recipient (a public key) can write one, and
//! magi-restore runs as root. So a manifest is refused, naming the entry, when any name would resolve
//! outside where it belongs:
//! - a path that is empty, absolute, has `.`, `..` or empty components, a NUL, or is too long;
//! - a path that appears twice (a directory entry after a symlink of the same name would chmod the link's
//!   target), or lies under a symlink or a file of the same archive (it would be written through it);
//! - a symlink whose target is absolute or, resolved from the link's directory, leaves the service's data
//!   directory (the captured target the link lies in; the link's own directory when none holds it);
//! - a service or Qdrant collection name that is not a plain name (it becomes a directory or file name and
//!   a URL path segment).
//!
//! With these refused, staging creates every entry under directories the restore itself made, and never
//! passes through a link the archive made.

use std::collections::HashMap;

use crate::manifest::{EntryType, Manifest, Method};

/// The longest entry path accepted (Linux's `PATH_MAX`).
const MAX_PATH: usize = 4096;
/// The longest service or collection name accepted (a file name's limit, less `.snapshot`).
const MAX_NAME: usize = 240;

/// Why a manifest was refused: the entry (or name) and what is wrong with it, in a person's words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub entry: String,
    pub message: String,
}

impl Refusal {
    fn new(entry: &str, message: impl Into<String>) -> Refusal {
        Refusal {
            entry: entry.to_owned(),
            message: message.into(),
        }
    }
}

/// Whether `name` is a plain service or collection name: letters, digits, `.`, `_` and `-`, not `.` or
/// `..`, at most [`MAX_NAME`] bytes.
pub fn is_plain_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_NAME
        && name != "."
        && name != ".."
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// The components of a relative path under the MAGI home, or why it is not one. A directory's path may end
/// in one `/`.
fn components(path: &str) -> Result<Vec<&str>, &'static str> {
    if path.is_empty() {
        return Err("its path is empty");
    }
    if path.len() > MAX_PATH {
        return Err("its path is longer than 4096 bytes");
    }
    if path.contains('\0') {
        return Err("its path holds a NUL byte");
    }
    if path.starts_with('/') {
        return Err("its path is absolute; archive paths are relative to the MAGI home");
    }
    let trimmed = path.strip_suffix('/').unwrap_or(path);
    let parts: Vec<&str> = trimmed.split('/').collect();
    for part in &parts {
        match *part {
            "" => return Err("its path has an empty component"),
            "." | ".." => {
                return Err("its path has a '.' or '..' component and would leave its place");
            }
            _ => {}
        }
    }
    Ok(parts)
}

/// Where a symlink at `link` (components) pointing to `target` resolves, lexically, as components from the
/// home; `None` when it climbs above the home or is absolute.
fn resolve<'a>(link: &[&'a str], target: &'a str) -> Option<Vec<&'a str>> {
    if target.is_empty() || target.starts_with('/') || target.contains('\0') {
        return None;
    }
    let mut at: Vec<&str> = link[..link.len() - 1].to_vec();
    for part in target.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                at.pop()?;
            }
            part => at.push(part),
        }
    }
    Some(at)
}

/// Checks every name a manifest holds; the first that would reach outside its place is refused.
pub fn check(manifest: &Manifest) -> Result<(), Refusal> {
    for service in manifest
        .services
        .iter()
        .chain(manifest.targets.iter().map(|t| &t.service))
    {
        if !is_plain_name(service) {
            return Err(Refusal::new(
                service,
                "a service name must be letters, digits, '.', '_' or '-'",
            ));
        }
    }
    let mut roots: Vec<(&str, Vec<&str>)> = Vec::new();
    for target in &manifest.targets {
        for collection in &target.collections {
            if !is_plain_name(collection) {
                return Err(Refusal::new(
                    collection,
                    "a Qdrant collection name must be letters, digits, '.', '_' or '-'",
                ));
            }
        }
        if let Some(path) = &target.path {
            let parts = components(path).map_err(|m| Refusal::new(path, m))?;
            roots.push((target.service.as_str(), parts));
        }
    }

    let mut kinds: HashMap<Vec<&str>, EntryType> = HashMap::with_capacity(manifest.entries.len());
    for entry in &manifest.entries {
        let refuse = |message: &str| Refusal::new(&entry.path, message);
        if !is_plain_name(&entry.service) {
            return Err(refuse(
                "its service name must be letters, digits, '.', '_' or '-'",
            ));
        }
        let parts = components(&entry.path).map_err(refuse)?;
        if entry.method == Method::QdrantSnapshot {
            match entry.collection.as_deref() {
                Some(name) if is_plain_name(name) => {}
                Some(_) => {
                    return Err(refuse(
                        "its Qdrant collection name must be letters, digits, '.', '_' or '-'",
                    ));
                }
                None => return Err(refuse("a Qdrant snapshot that names no collection")),
            }
        }
        if entry.entry_type == EntryType::Symlink {
            let target = entry
                .link
                .as_deref()
                .ok_or_else(|| refuse("a symlink with no target"))?;
            let resolved = resolve(&parts, target).ok_or_else(|| {
                refuse("its symlink target is absolute or climbs above the MAGI home")
            })?;
            let root: &[&str] = roots
                .iter()
                .filter(|(service, root)| {
                    *service == entry.service && parts.len() > root.len() && parts.starts_with(root)
                })
                .map(|(_, root)| root.as_slice())
                .max_by_key(|root| root.len())
                .unwrap_or(&parts[..parts.len() - 1]);
            if !resolved.starts_with(root) {
                return Err(refuse(
                    "its symlink target leaves the service's data directory",
                ));
            }
        }
        if kinds.insert(parts, entry.entry_type).is_some() {
            return Err(refuse("its path appears twice in the archive"));
        }
    }
    for entry in &manifest.entries {
        let parts = components(&entry.path).expect("checked above");
        for depth in 1..parts.len() {
            match kinds.get(&parts[..depth]) {
                Some(EntryType::Symlink) => {
                    return Err(Refusal::new(
                        &entry.path,
                        format!(
                            "it lies under the symlink {} of the same archive and would be written through it",
                            parts[..depth].join("/")
                        ),
                    ));
                }
                Some(EntryType::File) => {
                    return Err(Refusal::new(
                        &entry.path,
                        format!("it lies under the file {}", parts[..depth].join("/")),
                    ));
                }
                _ => {}
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::{Entry, FORMAT, Frame, TargetRecord};
    use crate::name::Kind;
    use proptest::prelude::*;

    fn entry(path: &str, entry_type: EntryType, link: Option<&str>) -> Entry {
        Entry {
            path: path.into(),
            service: "n8n".into(),
            entry_type,
            size: 0,
            mode: 0o644,
            uid: 1000,
            gid: 1000,
            mtime: 0,
            sha256: None,
            link: link.map(Into::into),
            method: Method::Copy,
            engine: None,
            collection: None,
            frame: Frame {
                offset: 0,
                len: 0,
                sha256: String::new(),
            },
        }
    }

    fn manifest(entries: Vec<Entry>) -> Manifest {
        Manifest {
            format: FORMAT,
            tool: "test".into(),
            host: "test".into(),
            kind: Kind::Regular,
            started: jiff::Timestamp::UNIX_EPOCH,
            finished: jiff::Timestamp::UNIX_EPOCH,
            note: None,
            home: "/opt/magi".into(),
            services: vec!["n8n".into()],
            targets: vec![TargetRecord::new(
                "n8n",
                "copy",
                Some(std::path::Path::new("data/n8n")),
            )],
            failed: vec![],
            entries,
            end: Frame {
                offset: 0,
                len: 0,
                sha256: String::new(),
            },
        }
    }

    fn refused(entries: Vec<Entry>) -> Refusal {
        check(&manifest(entries)).expect_err("refused")
    }

    #[test]
    fn an_ordinary_tree_with_links_inside_it_passes() {
        check(&manifest(vec![
            entry("data/n8n/", EntryType::Dir, None),
            entry("data/n8n/a/", EntryType::Dir, None),
            entry("data/n8n/a/x", EntryType::File, None),
            entry("data/n8n/link", EntryType::Symlink, Some("a/x")),
            entry("data/n8n/a/up", EntryType::Symlink, Some("../link")),
        ]))
        .unwrap();
    }

    #[test]
    fn paths_that_leave_the_home_are_refused() {
        for path in [
            "../etc/x",
            "/etc/passwd",
            "data/../../x",
            "data//x",
            "./x",
            "",
        ] {
            let refusal = refused(vec![entry(path, EntryType::File, None)]);
            assert_eq!(refusal.entry, path);
        }
    }

    #[test]
    fn a_link_out_of_its_data_directory_is_refused() {
        for target in ["/etc", "../../../tmp", "../../config", "a/../../.."] {
            let refusal = refused(vec![entry(
                "data/n8n/out",
                EntryType::Symlink,
                Some(target),
            )]);
            assert_eq!(refusal.entry, "data/n8n/out", "{target}");
        }
    }

    #[test]
    fn writing_through_a_link_of_the_archive_is_refused() {
        let refusal = refused(vec![
            entry("data/n8n/out", EntryType::Symlink, Some("a")),
            entry("data/n8n/out/x", EntryType::File, None),
        ]);
        assert_eq!(refusal.entry, "data/n8n/out/x");
        assert!(refusal.message.contains("under the symlink data/n8n/out"));
    }

    #[test]
    fn a_directory_entry_over_a_link_is_refused() {
        let refusal = refused(vec![
            entry("data/n8n/d2", EntryType::Symlink, Some("a")),
            entry("data/n8n/d2/", EntryType::Dir, None),
        ]);
        assert_eq!(refusal.entry, "data/n8n/d2/");
        assert!(refusal.message.contains("twice"), "{}", refusal.message);
    }

    #[test]
    fn collection_and_service_names_with_paths_in_them_are_refused() {
        let mut snapshot = entry("snapshots/qdrant/x.snapshot", EntryType::File, None);
        snapshot.method = Method::QdrantSnapshot;
        snapshot.collection = Some("../../../../tmp/x".into());
        assert!(
            refused(vec![snapshot.clone()])
                .message
                .contains("collection")
        );
        snapshot.collection = Some("docs".into());
        snapshot.service = "../qdrant".into();
        assert!(refused(vec![snapshot]).message.contains("service"));
    }

    proptest! {
        /// Whatever names an archive holds, a manifest that passes never resolves an entry or a link
        /// outside the home.
        #[test]
        fn nothing_that_passes_leaves_the_home(
            paths in proptest::collection::vec("[a./]{1,12}", 1..5),
            links in proptest::collection::vec(proptest::option::of("[a./]{1,12}"), 1..5),
        ) {
            let entries: Vec<Entry> = paths
                .iter()
                .zip(links.iter().chain(std::iter::repeat(&None)))
                .map(|(path, link)| match link {
                    Some(target) => entry(&format!("data/n8n/{path}"), EntryType::Symlink, Some(target)),
                    None => entry(&format!("data/n8n/{path}"), EntryType::File, None),
                })
                .collect();
            if check(&manifest(entries.clone())).is_ok() {
                for e in &entries {
                    let parts = components(&e.path).unwrap();
                    prop_assert!(parts.iter().all(|p| *p != ".." && *p != "."));
                    if let Some(target) = &e.link {
                        let resolved = resolve(&parts, target).unwrap();
                        prop_assert!(resolved.starts_with(&["data", "n8n"]));
                    }
                }
            }
        }
    }
}
