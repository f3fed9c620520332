//! Property tests that feed the parsers arbitrary input: the event reader, the config loader and probe URLs
//! must never panic, and the event reader must recover every good line whatever surrounds it.

use std::path::Path;

use magi_core::Probe;
use magi_core::config::Config;
use magi_core::event::{Event, EventReader, Severity};
use magi_core::paths::Paths;
use proptest::prelude::*;

fn event(subject: &str, message: &str) -> Event {
    Event::new(
        "magi-health",
        "service.status",
        subject,
        Severity::Warning,
        message,
    )
    .with("n", 1)
}

/// A line that is never an event: arbitrary bytes without a newline that fail to parse as one.
fn garbage() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        proptest::collection::vec(
            any::<u8>().prop_filter("no newline", |b| *b != b'\n'),
            0..200
        ),
        "[^\n]{0,80}".prop_map(String::into_bytes),
        Just(b"{\"v\":1,\"ts\":\"2026-01-01T00:00:00Z\"".to_vec()),
        Just(b"{\"v\":99}".to_vec()),
        Just(vec![b'{'; 300_000]),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn the_reader_never_panics_and_counts_every_line(input in proptest::collection::vec(any::<u8>(), 0..4096)) {
        let mut reader = EventReader::new(&input[..]);
        while reader.next_line().unwrap().is_some() {}
        let stats = reader.stats();
        let lines = input.split(|b| *b == b'\n').count() as u64 - u64::from(input.last().is_none_or(|b| *b == b'\n'));
        prop_assert_eq!(stats.lines, lines);
        prop_assert_eq!(stats.lines, stats.events + stats.skipped + stats.passed_over);
    }

    #[test]
    fn every_good_line_survives_any_garbage_around_it(
        lines in proptest::collection::vec(prop_oneof![
            ("[a-z-]{1,12}", "\\PC{0,40}").prop_map(|(s, m)| Ok(event(&s, &m))),
            garbage().prop_map(Err),
        ], 0..40)
    ) {
        let mut input = Vec::new();
        let mut expected = Vec::new();
        for line in &lines {
            match line {
                Ok(e) => { input.extend_from_slice(e.to_line().as_bytes()); expected.push(e.clone()); }
                Err(bytes) => input.extend_from_slice(bytes),
            }
            input.push(b'\n');
        }
        let got: Vec<Event> = EventReader::new(&input[..]).map(Result::unwrap).collect();
        prop_assert_eq!(got, expected);
    }

    #[test]
    fn the_config_loader_never_panics(text in "\\PC{0,400}") {
        let _ = Config::from_toml(&text, Path::new("fuzz.toml"), &Paths::for_test(Path::new("/tmp")));
    }

    #[test]
    fn config_like_text_never_panics(
        section in prop_oneof![Just("stack".to_owned()), Just("services.qdrant".to_owned()), Just("services.new".to_owned()), "[a-z.]{1,20}"],
        key in prop_oneof![Just("probe".to_owned()), Just("home".to_owned()), Just("container".to_owned()), Just("depends_on".to_owned()), Just("backup".to_owned()), "[a-z_]{1,10}"],
        value in prop_oneof![Just("\"http://127.0.0.1:1/x\"".to_owned()), Just("[{ kind = \"copy\" }]".to_owned()),
            Just("{ redis = \"x\" }".to_owned()), "-?[0-9]{1,12}", "\"[^\"\\\\]{0,30}\"", Just("true".to_owned())],
    ) {
        let text = format!("[{section}]\n{key} = {value}\n");
        let _ = Config::from_toml(&text, Path::new("fuzz.toml"), &Paths::for_test(Path::new("/tmp")));
    }

    #[test]
    fn probe_urls_never_panic(text in "(http|https|redis|tcp|ftp)?(://)?[\\[\\]a-z0-9.:@/-]{0,40}") {
        if let Ok(probe) = text.parse::<Probe>() {
            let _ = (probe.host(), probe.port(), probe.origin());
            prop_assert_eq!(probe.to_string().parse::<Probe>().unwrap(), probe);
        }
    }
}
