//! A manifest's JSON as an attacker may write it: parsed, then the check of what an archive may name.
//! Whatever passes the check names nothing outside the MAGI home.
#![no_main]

use libfuzzer_sys::fuzz_target;
use magi_backup::confine;
use magi_backup::manifest::Manifest;

fuzz_target!(|data: &[u8]| {
    let Ok(manifest) = serde_json::from_slice::<Manifest>(data) else {
        return;
    };
    if confine::check(&manifest).is_ok() {
        for entry in &manifest.entries {
            assert!(!entry.path.starts_with('/'), "{}", entry.path);
            assert!(
                entry.path.split('/').all(|c| c != ".." && c != "."),
                "{}",
                entry.path
            );
            assert!(confine::is_plain_name(&entry.service));
            if let Some(link) = &entry.link {
                assert!(!link.starts_with('/'), "{link}");
            }
        }
    }
});
