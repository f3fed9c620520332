//! A config file's text: a config or one error naming the file, never a panic.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use magi_core::Config;
use magi_core::paths::Paths;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let paths = Paths::for_test(Path::new("/nonexistent/magi-fuzz"));
    if let Err(e) = Config::from_toml(text, Path::new("fuzz.toml"), &paths) {
        assert!(e.to_string().starts_with("fuzz.toml"), "{e}");
    }
});
