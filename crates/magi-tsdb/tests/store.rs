//! The store on real SQLite files: compaction into blocks and rollups, queries against a brute-force
//! computation, duplicates, the one-writer rule, a failing disk, damaged blocks and the series bound.

use magi_core::store::rusqlite::Connection;
use magi_tsdb::bucket::Bucket;
use magi_tsdb::store::{Limits, Refusal, shard_path};
use magi_tsdb::tier::{DAY_MS, HOUR_MS};
use magi_tsdb::{Kind, Reader, Sample, Selector, SeriesKey, Tiers, TsdbError, Writer};
use proptest::prelude::*;

const T0: i64 = 1_800_000_000_000 - 1_800_000_000_000 % HOUR_MS;

fn cpu(service: &str, ts_ms: i64, value: f64) -> Sample {
    Sample {
        key: SeriesKey::of("container_cpu_percent", &[("service", service)]).unwrap(),
        kind: Kind::Gauge,
        ts_ms,
        value,
    }
}

fn writer(dir: &std::path::Path) -> Writer {
    Writer::open(dir, "test", Tiers::default(), Limits::default()).unwrap()
}

fn all(reader: &Reader, from: i64, to: i64, max: usize, now: i64) -> Vec<Bucket> {
    let answers = reader
        .query(&Selector::name("container_cpu_percent"), from, to, max, now)
        .unwrap();
    assert!(answers.len() <= 1);
    answers.into_iter().flat_map(|a| a.buckets).collect()
}

/// Appends points (time, value) in batches the way a sampler does, the clock following the points.
fn feed(w: &mut Writer, points: &[(i64, f64)]) {
    for chunk in points.chunks(12) {
        let samples: Vec<Sample> = chunk.iter().map(|&(t, v)| cpu("qdrant", t, v)).collect();
        let now = chunk.last().unwrap().0;
        let appended = w.append(&samples, now).unwrap();
        assert_eq!(appended.stored, chunk.len());
    }
}

#[test]
fn closed_hours_become_blocks_and_every_tier_reads_what_was_written() {
    let dir = tempfile::tempdir().unwrap();
    let mut w = writer(dir.path());
    // Three and a half hours at 5 s, with one short spike.
    let points: Vec<(i64, f64)> = (0..2520)
        .map(|i| {
            let v = if i == 1000 {
                99.5
            } else {
                ((i * 7) % 300) as f64 / 10.0
            };
            (T0 + i * 5000, v)
        })
        .collect();
    feed(&mut w, &points);
    let now = points.last().unwrap().0 + 1;
    let conn = Connection::open(shard_path(dir.path(), "test")).unwrap();
    let head: i64 = conn
        .query_row("SELECT count(*) FROM head", [], |r| r.get(0))
        .unwrap();
    let blocks: i64 = conn
        .query_row("SELECT count(*) FROM blocks WHERE tier = 0", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(blocks, 3, "three closed hours");
    assert_eq!(head, 360, "the open half hour stays in the head");

    let reader = Reader::new(dir.path(), Tiers::default());
    // Raw, across blocks and head.
    let raw = all(&reader, T0, now, 5000, now);
    assert_eq!(raw.len(), points.len());
    assert!(
        raw.iter()
            .zip(&points)
            .all(|(b, &(t, v))| b.start_ms == t && b.last == v)
    );
    // 1-minute rollups (a day-long chart at 1,000 points reads tier 1) against brute force.
    let minute = reader
        .query(
            &Selector::name("container_cpu_percent"),
            now - DAY_MS,
            now,
            1000,
            now,
        )
        .unwrap();
    assert_eq!(minute[0].tier, 1);
    let expected = magi_tsdb::bucket::rollup(&points, 60_000);
    assert_eq!(minute[0].buckets, expected);
    // The spike survives a coarse chart as a maximum.
    let coarse = all(&reader, T0, now, 10, now);
    assert!(coarse.len() <= 10, "{} points", coarse.len());
    assert_eq!(coarse.iter().map(|b| b.max).fold(0.0, f64::max), 99.5);
    assert_eq!(coarse.iter().map(|b| b.count).sum::<u64>(), 2520);
}

#[test]
fn a_point_sent_twice_is_stored_once_even_after_its_hour_closed() {
    let dir = tempfile::tempdir().unwrap();
    let mut w = writer(dir.path());
    let points: Vec<(i64, f64)> = (0..1440).map(|i| (T0 + i * 5000, 1.0)).collect();
    feed(&mut w, &points);
    // The first hour is compacted; send part of it again, with new values for two points.
    let now = T0 + 2 * HOUR_MS;
    let again = vec![cpu("qdrant", T0, 7.0), cpu("qdrant", T0 + 5000, 1.0)];
    w.append(&again, now).unwrap();
    let reader = Reader::new(dir.path(), Tiers::default());
    let raw = all(&reader, T0, T0 + HOUR_MS, 5000, now);
    assert_eq!(raw.len(), 720);
    assert_eq!(raw[0].last, 7.0);
    let minute = reader
        .query(
            &Selector::name("container_cpu_percent"),
            now - DAY_MS,
            now,
            1000,
            now,
        )
        .unwrap();
    let first = minute[0].buckets[0];
    assert_eq!((first.count, first.max, first.sum), (12, 7.0, 18.0));
}

#[test]
fn a_shard_has_one_writer() {
    let dir = tempfile::tempdir().unwrap();
    let _w = writer(dir.path());
    let second = Writer::open(dir.path(), "test", Tiers::default(), Limits::default());
    let message = second
        .err()
        .expect("a second writer is refused")
        .to_string();
    assert!(
        message.contains("another process writes this shard")
            && message.contains(&format!("pid {}", std::process::id())),
        "{message}"
    );
    // Another shard of the same store is free.
    Writer::open(dir.path(), "other", Tiers::default(), Limits::default()).unwrap();
}

#[test]
fn a_full_disk_fails_the_write_and_leaves_the_store_readable() {
    let dir = tempfile::tempdir().unwrap();
    let mut w = writer(dir.path());
    let points: Vec<(i64, f64)> = (0..600).map(|i| (T0 + i * 5000, i as f64)).collect();
    feed(&mut w, &points);
    // SQLite's own "database or disk is full", as a full file system gives it.
    let conn = Connection::open(shard_path(dir.path(), "test")).unwrap();
    let size = std::fs::metadata(shard_path(dir.path(), "test"))
        .unwrap()
        .len();
    let pages: i64 = conn
        .query_row("PRAGMA page_count", [], |r| r.get(0))
        .unwrap();
    drop(conn);
    assert!(pages > 0);
    w.set_max_bytes(Some(size.max(4096 * pages as u64)))
        .unwrap();
    let many: Vec<Sample> = (0..20_000)
        .map(|i| cpu(&format!("s{}", i % 500), T0 + 3_000_000 + i, 1.0))
        .collect();
    let err = w.append(&many, T0 + 3_100_000).unwrap_err();
    assert!(err.to_string().contains("full"), "{err}");
    let reader = Reader::new(dir.path(), Tiers::default());
    let now = T0 + 3_100_000;
    let raw = all(&reader, T0, now, 5000, now);
    assert_eq!(raw.len(), 600, "what was stored before is all there");
    let series = reader.series().unwrap();
    assert_eq!(series.len(), 1, "no series of the failed write: {series:?}");
    // Room again: the writer carries on, including the compaction it could not do.
    w.set_max_bytes(None).unwrap();
    w.append(&[cpu("qdrant", T0 + 2 * HOUR_MS, 5.0)], T0 + 2 * HOUR_MS)
        .unwrap();
    assert_eq!(
        all(&reader, T0, T0 + 3 * HOUR_MS, 5000, T0 + 3 * HOUR_MS).len(),
        601
    );
}

#[test]
fn bad_points_are_refused_one_by_one_and_the_series_count_is_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let mut w = Writer::open(
        dir.path(),
        "test",
        Tiers::default(),
        Limits {
            max_series: 3,
            max_bytes: None,
        },
    )
    .unwrap();
    let mut samples: Vec<Sample> = (0..5).map(|i| cpu(&format!("s{i}"), T0, 1.0)).collect();
    samples.push(cpu("s0", T0 + 5000, f64::NAN));
    samples.push(cpu("s0", T0 + 3_600_000, 1.0));
    let mut delta = cpu("s0", T0 + 10_000, 1.0);
    delta.kind = Kind::Delta;
    samples.push(delta);
    let appended = w.append(&samples, T0).unwrap();
    assert_eq!(appended.stored, 3);
    assert_eq!(
        appended.refused,
        vec![
            (3, Refusal::TooManySeries(3)),
            (4, Refusal::TooManySeries(3)),
            (5, Refusal::NotFinite),
            (6, Refusal::Future),
            (
                7,
                Refusal::KindChanged {
                    stored: "gauge",
                    given: "delta"
                }
            ),
        ]
    );
}

#[test]
fn a_damaged_block_is_an_error_that_names_the_series() {
    let dir = tempfile::tempdir().unwrap();
    let mut w = writer(dir.path());
    let points: Vec<(i64, f64)> = (0..800).map(|i| (T0 + i * 5000, 2.0)).collect();
    feed(&mut w, &points);
    let conn = Connection::open(shard_path(dir.path(), "test")).unwrap();
    conn.execute(
        "UPDATE blocks SET data = x'28b52ffd0000' WHERE tier = 0",
        [],
    )
    .unwrap();
    let reader = Reader::new(dir.path(), Tiers::default());
    let now = T0 + 2 * HOUR_MS;
    let err = reader
        .query(&Selector::name("container_cpu_percent"), T0, now, 5000, now)
        .unwrap_err();
    assert!(matches!(err, TsdbError::Block { .. }), "{err}");
    assert!(
        err.to_string()
            .contains(r#"container_cpu_percent{service="qdrant"}"#),
        "{err}"
    );
}

#[test]
fn expired_tiers_drop_whole_blocks() {
    let dir = tempfile::tempdir().unwrap();
    let mut w = writer(dir.path());
    let points: Vec<(i64, f64)> = (0..1440).map(|i| (T0 + i * 5000, 3.0)).collect();
    feed(&mut w, &points);
    // Three days on: the raw tier (48 h) is gone, the rollups stay.
    let later = T0 + 3 * DAY_MS;
    w.compact(later).unwrap();
    let conn = Connection::open(shard_path(dir.path(), "test")).unwrap();
    let tiers: Vec<i64> = conn
        .prepare("SELECT DISTINCT tier FROM blocks ORDER BY tier")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(tiers, vec![1, 2, 3]);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// Whatever order and batching points arrive in (late ones included), every tier reads back the
    /// rollup of the distinct points, computed by brute force.
    #[test]
    fn every_tier_matches_brute_force(
        raw in proptest::collection::btree_map(0i64..(5 * HOUR_MS), -5000i64..5000, 1..400),
        order in any::<proptest::sample::Index>(),
        batch in 1usize..50,
    ) {
        let dir = tempfile::tempdir().unwrap();
        let mut w = writer(dir.path());
        let points: Vec<(i64, f64)> = raw.iter().map(|(&t, &v)| (T0 + t, v as f64 / 100.0)).collect();
        let mut shuffled = points.clone();
        let rotate = order.index(shuffled.len());
        shuffled.rotate_left(rotate);
        let mut now = T0;
        for chunk in shuffled.chunks(batch) {
            now = now.max(chunk.iter().map(|p| p.0).max().unwrap());
            let samples: Vec<Sample> = chunk.iter().map(|&(t, v)| cpu("qdrant", t, v)).collect();
            w.append(&samples, now).unwrap();
        }
        let end = T0 + 6 * HOUR_MS;
        w.compact(end).unwrap();
        let reader = Reader::new(dir.path(), Tiers::default());
        let selector = Selector::name("container_cpu_percent");
        for (tier, step) in [(1usize, 60_000i64), (2, 300_000), (3, HOUR_MS)] {
            let got = reader.read_tier(&selector, tier, T0, end).unwrap().remove(0).buckets;
            prop_assert_eq!(got, magi_tsdb::bucket::rollup(&points, step), "tier {}", tier);
        }
        let raw_back = all(&reader, T0, end, 1_000_000, end);
        prop_assert_eq!(raw_back.len(), points.len());
    }
}

#[test]
fn a_shard_that_cannot_be_read_does_not_hide_the_others() {
    let dir = tempfile::tempdir().unwrap();
    let mut w = writer(dir.path());
    w.append(&[cpu("qdrant", T0, 1.0)], T0).unwrap();
    std::fs::write(dir.path().join("foreign.db"), b"not a database at all").unwrap();
    let reader = Reader::new(dir.path(), Tiers::default());
    assert_eq!(reader.series().unwrap().len(), 1);
    assert_eq!(all(&reader, T0, T0 + 1, 10, T0 + 1).len(), 1);
}
