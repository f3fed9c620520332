//! What names a series: a metric name and its labels, checked and bounded, with one canonical text form
//! (`name{label="value",...}`, labels sorted, as Prometheus writes them) that the store keys on and the
//! command line accepts back.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

pub const MAX_NAME: usize = 128;
pub const MAX_LABELS: usize = 16;
pub const MAX_VALUE: usize = 256;

/// How a series' values combine over time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// A reading at an instant (CPU, memory, queue length): charted as its mean, min and max.
    #[default]
    Gauge,
    /// An amount during the interval since the previous point (requests, tokens, cost, a histogram
    /// bucket's observations): charted as a total or a rate, summed over any range.
    Delta,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Gauge => "gauge",
            Kind::Delta => "delta",
        }
    }

    pub fn parse(s: &str) -> Option<Kind> {
        match s {
            "gauge" => Some(Kind::Gauge),
            "delta" => Some(Kind::Delta),
            _ => None,
        }
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum KeyError {
    #[error("metric name {0:?} is not [a-zA-Z_:][a-zA-Z0-9_:]* of at most 128 bytes")]
    Name(String),
    #[error("label name {0:?} is not [a-zA-Z_][a-zA-Z0-9_]* of at most 128 bytes")]
    LabelName(String),
    #[error("label {0:?}: the value is longer than 256 bytes or holds a control character")]
    LabelValue(String),
    #[error("more than 16 labels")]
    TooManyLabels,
    #[error("cannot read the series {0:?}: {1}")]
    Syntax(String, &'static str),
}

/// A series' name and labels.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct SeriesKey {
    pub name: String,
    pub labels: BTreeMap<String, String>,
}

impl SeriesKey {
    /// A checked key.
    pub fn new(
        name: impl Into<String>,
        labels: impl IntoIterator<Item = (String, String)>,
    ) -> Result<SeriesKey, KeyError> {
        let name = name.into();
        if !valid_name(&name, true) {
            return Err(KeyError::Name(name));
        }
        let mut map = BTreeMap::new();
        for (k, v) in labels {
            if !valid_name(&k, false) {
                return Err(KeyError::LabelName(k));
            }
            if v.len() > MAX_VALUE || v.chars().any(char::is_control) {
                return Err(KeyError::LabelValue(k));
            }
            map.insert(k, v);
            if map.len() > MAX_LABELS {
                return Err(KeyError::TooManyLabels);
            }
        }
        Ok(SeriesKey { name, labels: map })
    }

    /// A key with labels given as pairs of string slices (for the tools that feed the store).
    pub fn of(name: &str, labels: &[(&str, &str)]) -> Result<SeriesKey, KeyError> {
        SeriesKey::new(
            name,
            labels
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
        )
    }

    pub fn label(&self, name: &str) -> Option<&str> {
        self.labels.get(name).map(String::as_str)
    }

    /// Reads the canonical form back: `name` or `name{a="x",b="y"}`.
    pub fn parse(text: &str) -> Result<SeriesKey, KeyError> {
        let syntax = |why| KeyError::Syntax(text.to_owned(), why);
        let Some((name, rest)) = text.split_once('{') else {
            return SeriesKey::new(text.trim(), []);
        };
        let body = rest
            .strip_suffix('}')
            .ok_or_else(|| syntax("no closing }"))?;
        let mut labels = Vec::new();
        let mut chars = body.chars().peekable();
        loop {
            while chars.peek().is_some_and(|c| *c == ',' || c.is_whitespace()) {
                chars.next();
            }
            if chars.peek().is_none() {
                break;
            }
            let label: String = chars
                .by_ref()
                .take_while(|c| *c != '=')
                .collect::<String>()
                .trim()
                .to_owned();
            if chars.next() != Some('"') {
                return Err(syntax("a label value must be in double quotes"));
            }
            let mut value = String::new();
            loop {
                match chars.next() {
                    None => return Err(syntax("a label value has no closing quote")),
                    Some('"') => break,
                    Some('\\') => match chars.next() {
                        Some('n') => value.push('\n'),
                        Some(c @ ('\\' | '"')) => value.push(c),
                        _ => return Err(syntax("unknown escape in a label value")),
                    },
                    Some(c) => value.push(c),
                }
                if value.len() > MAX_VALUE {
                    return Err(KeyError::LabelValue(label));
                }
            }
            labels.push((label, value));
            if labels.len() > MAX_LABELS {
                return Err(KeyError::TooManyLabels);
            }
        }
        SeriesKey::new(name.trim(), labels)
    }
}

impl fmt::Display for SeriesKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)?;
        if self.labels.is_empty() {
            return Ok(());
        }
        f.write_str("{")?;
        for (i, (k, v)) in self.labels.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{k}=\"{}\"", magi_core::format::label_value(v))?;
        }
        f.write_str("}")
    }
}

fn valid_name(s: &str, colon: bool) -> bool {
    let ok = |c: char, first: bool| {
        c.is_ascii_alphabetic() || c == '_' || (colon && c == ':') || (!first && c.is_ascii_digit())
    };
    !s.is_empty() && s.len() <= MAX_NAME && s.chars().enumerate().all(|(i, c)| ok(c, i == 0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn the_canonical_form_sorts_labels_and_reads_back() {
        let key = SeriesKey::of(
            "container_cpu_percent",
            &[("service", "qdrant"), ("host", "a\"b")],
        )
        .unwrap();
        assert_eq!(
            key.to_string(),
            r#"container_cpu_percent{host="a\"b",service="qdrant"}"#
        );
        assert_eq!(SeriesKey::parse(&key.to_string()).unwrap(), key);
        assert_eq!(SeriesKey::parse("up").unwrap().to_string(), "up");
    }

    #[test]
    fn bad_names_and_labels_are_refused() {
        assert!(matches!(SeriesKey::parse("1abc"), Err(KeyError::Name(_))));
        assert!(matches!(
            SeriesKey::parse("a{b=\"c\""),
            Err(KeyError::Syntax(..))
        ));
        assert!(matches!(
            SeriesKey::parse("a{b=c}"),
            Err(KeyError::Syntax(..))
        ));
        assert!(matches!(
            SeriesKey::parse("a{le:x=\"1\"}"),
            Err(KeyError::LabelName(_))
        ));
        let many: Vec<(String, String)> = (0..17).map(|i| (format!("l{i}"), "v".into())).collect();
        assert_eq!(SeriesKey::new("a", many), Err(KeyError::TooManyLabels));
        let long = "x".repeat(MAX_VALUE + 1);
        assert!(matches!(
            SeriesKey::parse(&format!("a{{b=\"{long}\"}}")),
            Err(KeyError::LabelValue(_))
        ));
    }

    proptest! {
        #[test]
        fn any_text_parses_or_errs_without_panic(text in "\\PC{0,80}") {
            if let Ok(key) = SeriesKey::parse(&text) {
                prop_assert_eq!(SeriesKey::parse(&key.to_string()).unwrap(), key);
            }
        }
    }
}
