//! A backup archive file as an attacker may write it: opened (manifest, its checksum, the names check)
//! and, when it opens, every entry read and checked as `magi-backup verify` does. Never a panic.
#![no_main]

use std::io;
use std::path::PathBuf;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use magi_backup::archive::Archive;

fn scratch() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("magi-fuzz-archive-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("a scratch directory");
        dir
    })
}

fuzz_target!(|data: &[u8]| {
    let path = scratch().join("magi-2026-01-01T00-00-00.000Z.tar.zst");
    std::fs::write(&path, data).expect("the scratch file is written");
    let Ok(archive) = Archive::open(&path, None) else {
        return;
    };
    let Ok(mut reader) = archive.reader() else {
        return;
    };
    if archive.check_layout(reader.as_mut()).is_err() {
        return;
    }
    for entry in &archive.manifest.entries {
        let _ = archive.extract(reader.as_mut(), entry, &mut io::sink());
    }
});
