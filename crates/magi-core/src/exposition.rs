//! The Prometheus text exposition format (version 0.0.4, which OpenMetrics parsers also read): each
//! family's `# HELP` and `# TYPE` lines, then its samples with label values escaped. Health's `/metrics`
//! and the gateway's are both written here, so neither can emit a line the other's scraper would refuse.

use std::fmt::{Display, Write as _};

use crate::format::label_value;

/// What kind of figure a family holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Counter,
    Gauge,
    Histogram,
}

impl Kind {
    fn as_str(self) -> &'static str {
        match self {
            Kind::Counter => "counter",
            Kind::Gauge => "gauge",
            Kind::Histogram => "histogram",
        }
    }
}

/// A page of metrics being written, one family at a time.
#[derive(Debug, Default)]
pub struct Exposition {
    out: String,
    family: String,
}

impl Exposition {
    pub fn new() -> Exposition {
        Exposition::default()
    }

    /// Starts the family `name`; the samples that follow belong to it.
    pub fn family(&mut self, name: &str, kind: Kind, help: &str) {
        let _ = writeln!(self.out, "# HELP {name} {help}");
        let _ = writeln!(self.out, "# TYPE {name} {}", kind.as_str());
        name.clone_into(&mut self.family);
    }

    /// One sample of the current family.
    pub fn sample(&mut self, labels: &[(&str, &str)], value: impl Display) {
        self.line("", labels, None, value);
    }

    /// One histogram of the current family: `bounds` are the buckets' upper bounds and `counts` how many
    /// observations fell at or under each (cumulative, as the format wants); `count` is every observation.
    pub fn histogram(
        &mut self,
        labels: &[(&str, &str)],
        bounds: &[f64],
        counts: &[u64],
        sum: f64,
        count: u64,
    ) {
        for (bound, n) in bounds.iter().zip(counts) {
            self.line("_bucket", labels, Some(&bound.to_string()), n);
        }
        self.line("_bucket", labels, Some("+Inf"), count);
        self.line("_sum", labels, None, sum);
        self.line("_count", labels, None, count);
    }

    fn line(
        &mut self,
        suffix: &str,
        labels: &[(&str, &str)],
        le: Option<&str>,
        value: impl Display,
    ) {
        let out = &mut self.out;
        out.push_str(&self.family);
        out.push_str(suffix);
        let mut pairs = labels
            .iter()
            .map(|(k, v)| (*k, label_value(v)))
            .chain(le.map(|le| ("le", le.to_owned())))
            .peekable();
        if pairs.peek().is_some() {
            out.push('{');
            for (i, (k, v)) in pairs.enumerate() {
                if i > 0 {
                    out.push(',');
                }
                let _ = write!(out, "{k}=\"{v}\"");
            }
            out.push('}');
        }
        let _ = writeln!(out, " {value}");
    }

    /// The page.
    pub fn finish(self) -> String {
        self.out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn families_samples_and_histograms_in_the_text_format() {
        let mut page = Exposition::new();
        page.family("up", Kind::Gauge, "Whether it runs.");
        page.sample(&[], 1);
        page.sample(&[("name", "a\"b")], 0.5);
        page.family("latency_seconds", Kind::Histogram, "Latency.");
        page.histogram(&[("model", "m")], &[0.1, 1.0], &[1, 2], 1.25, 3);
        assert_eq!(
            page.finish(),
            "# HELP up Whether it runs.\n\
             # TYPE up gauge\n\
             up 1\n\
             up{name=\"a\\\"b\"} 0.5\n\
             # HELP latency_seconds Latency.\n\
             # TYPE latency_seconds histogram\n\
             latency_seconds_bucket{model=\"m\",le=\"0.1\"} 1\n\
             latency_seconds_bucket{model=\"m\",le=\"1\"} 2\n\
             latency_seconds_bucket{model=\"m\",le=\"+Inf\"} 3\n\
             latency_seconds_sum{model=\"m\"} 1.25\n\
             latency_seconds_count{model=\"m\"} 3\n"
        );
    }
}
