//! What the metrics store reads from outside: a metric line pushed by anyone (`magi metrics push`), a series
//! written on the command line, a block read back from a shard file, a threshold rule (`magi alerts
//! configure add`) and a scraped endpoint's answer. Each is a value or an error, never a panic; the first
//! byte picks which.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((which, rest)) = data.split_first() else {
        return;
    };
    match which % 5 {
        0 => {
            let _ = magi_metrics::line::parse(rest, 1, 0);
        }
        1 => {
            if let Ok(text) = std::str::from_utf8(rest) {
                let _ = magi_tsdb::SeriesKey::parse(text);
            }
        }
        2 => {
            let _ = magi_tsdb::codec::decode(rest);
        }
        3 => {
            if let Ok(text) = std::str::from_utf8(rest) {
                let _ = magi_metrics::rules::Rule::parse(text);
            }
        }
        _ => {
            if let Ok(text) = std::str::from_utf8(rest) {
                let _ = magi_metrics::scrape::samples("fuzz", "http://fuzz/metrics", text, 0);
            }
        }
    }
});
