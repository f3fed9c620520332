//! MAGI's metrics store, shared by the tools that write figures (magi-health's sampler, the gateway, `magi
//! metrics push` and the scraper) and the ones that read them (the dashboard, export, the SLA report):
//!
//! - [`key`]: what names a series (a metric name and labels, bounded) and its kind (gauge or delta);
//! - [`bucket`]: the bucket every tier stores (min, max, sum, count, last) and the rollup arithmetic;
//! - [`tier`]: the tiers (raw 5 s for 48 h, 1 min for 14 d, 5 min for 90 d, 1 h for 2 years by default)
//!   and which one a chart reads;
//! - [`codec`]: the compressed block format, decoded without trusting it;
//! - [`store`]: the shards on disk, their one [`store::Writer`] each, and the [`store::Reader`];
//! - [`histogram`]: latency histograms as delta series per bucket, and percentiles from summed buckets.

pub mod bucket;
pub mod codec;
pub mod histogram;
pub mod key;
pub mod store;
pub mod tier;

pub use bucket::Bucket;
pub use key::{Kind, SeriesKey};
pub use store::{Answer, Reader, Sample, Selector, TsdbError, Writer};
pub use tier::Tiers;

/// The mark that opens a window of planned maintenance of a service (or, with no service, the whole stack),
/// and the one that closes it: `magi-sla maintenance` and magi-alert's silences write them, and the SLA
/// report leaves the time between out of availability.
pub const MAINTENANCE_START: &str = "maintenance.start";
pub const MAINTENANCE_END: &str = "maintenance.end";

/// The directory of the store under a state directory (`/var/lib/magi/metrics` for the daemons).
pub fn default_dir(state_dir: &std::path::Path) -> std::path::PathBuf {
    state_dir.join("metrics")
}

/// The store a tool writes marks to without a flag of its own: `$MAGI_METRICS_DIR`, else [`default_dir`].
pub fn dir_from_env(state_dir: &std::path::Path) -> std::path::PathBuf {
    std::env::var_os("MAGI_METRICS_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| default_dir(state_dir))
}

/// Writes one annotation (a backup, an alert) to `shard` of the store in `dir`, now: best effort, for tools
/// whose own job must not fail for a chart's sake, so a failure is logged, never returned.
pub fn mark(dir: &std::path::Path, shard: &str, kind: &str, service: Option<&str>, text: &str) {
    mark_at(
        dir,
        shard,
        jiff::Timestamp::now().as_millisecond(),
        kind,
        service,
        text,
    );
}

/// [`mark`] at `ts_ms` (the end of a silence, known when it is added).
pub fn mark_at(
    dir: &std::path::Path,
    shard: &str,
    ts_ms: i64,
    kind: &str,
    service: Option<&str>,
    text: &str,
) {
    let marked = Writer::open(dir, shard, Tiers::default(), store::Limits::default())
        .and_then(|mut w| w.annotate(ts_ms, kind, service, text));
    if let Err(e) = marked {
        log::warn!("not marked on the dashboard's charts: {e}");
    }
}
