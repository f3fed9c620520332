//! Archive names: `magi-2026-11-24T03-35-00.123Z.tar.zst` for a backup, `...Z-safety.tar.zst` for the safety
//! backup a restore takes first. The time is UTC with milliseconds and fixed width, so names sort by time.

use std::fmt;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

/// What every archive file name ends with...
pub const EXTENSION: &str = ".tar.zst";
/// ...followed by this when it is encrypted with age.
pub const ENCRYPTED: &str = ".age";
const PREFIX: &str = "magi-";
const SAFETY: &str = "-safety";

/// Why a backup was taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// `magi-backup create`, by hand or by the timer.
    Regular,
    /// What a restore is about to overwrite, kept so the restore can be undone.
    Safety,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Regular => "regular",
            Kind::Safety => "safety",
        }
    }
}

/// The name of one archive: its time and kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ArchiveName {
    pub time: Timestamp,
    pub kind: Kind,
}

impl ArchiveName {
    /// The name for a backup taken at `time`, rounded down to the millisecond the name can carry.
    pub fn new(time: Timestamp, kind: Kind) -> ArchiveName {
        let millis = time.as_millisecond();
        ArchiveName {
            time: Timestamp::from_millisecond(millis).expect("a rounded-down timestamp is valid"),
            kind,
        }
    }

    /// The name without the extension, as `list` shows it and commands take it.
    pub fn stem(&self) -> String {
        let utc = self.time.to_zoned_datetime(jiff::tz::TimeZone::UTC);
        format!(
            "{PREFIX}{:04}-{:02}-{:02}T{:02}-{:02}-{:02}.{:03}Z{}",
            utc.year(),
            utc.month(),
            utc.day(),
            utc.hour(),
            utc.minute(),
            utc.second(),
            utc.millisecond(),
            if self.kind == Kind::Safety {
                SAFETY
            } else {
                ""
            }
        )
    }

    pub fn file_name(&self) -> String {
        format!("{}{EXTENSION}", self.stem())
    }

    /// The file name of the archive when it is encrypted.
    pub fn encrypted_file_name(&self) -> String {
        format!("{}{EXTENSION}{ENCRYPTED}", self.stem())
    }

    /// Reads a name with or without the extension; `None` for anything else.
    pub fn parse(text: &str) -> Option<ArchiveName> {
        let text = text.strip_suffix(ENCRYPTED).unwrap_or(text);
        let stem = text.strip_suffix(EXTENSION).unwrap_or(text);
        let rest = stem.strip_prefix(PREFIX)?;
        let (rest, kind) = match rest.strip_suffix(SAFETY) {
            Some(r) => (r, Kind::Safety),
            None => (rest, Kind::Regular),
        };
        let b = rest.as_bytes();
        if b.len() != 24 || b[23] != b'Z' {
            return None;
        }
        let shape = "dddd-dd-ddTdd-dd-dd.dddZ";
        if !shape.bytes().zip(b).all(|(s, c)| {
            if s == b'd' {
                c.is_ascii_digit()
            } else {
                s == *c
            }
        }) {
            return None;
        }
        let num = |range: std::ops::Range<usize>| rest[range].parse::<i32>().ok();
        let datetime = jiff::civil::DateTime::new(
            num(0..4)? as i16,
            num(5..7)? as i8,
            num(8..10)? as i8,
            num(11..13)? as i8,
            num(14..16)? as i8,
            num(17..19)? as i8,
            num(20..23)? * 1_000_000,
        )
        .ok()?;
        let time = datetime
            .to_zoned_datetime(jiff::tz::TimeZone::UTC)
            .ok()?
            .timestamp();
        Some(ArchiveName { time, kind })
    }
}

impl fmt::Display for ArchiveName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.stem())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_carry_the_kind() {
        let time: Timestamp = "2026-11-24T03:35:00.123456Z".parse().unwrap();
        let name = ArchiveName::new(time, Kind::Regular);
        assert_eq!(name.file_name(), "magi-2026-11-24T03-35-00.123Z.tar.zst");
        assert_eq!(ArchiveName::parse(&name.file_name()), Some(name));
        assert_eq!(ArchiveName::parse(&name.stem()), Some(name));
        assert_eq!(ArchiveName::parse(&name.encrypted_file_name()), Some(name));
        let safety = ArchiveName::new(time, Kind::Safety);
        assert_eq!(safety.stem(), "magi-2026-11-24T03-35-00.123Z-safety");
        assert_eq!(ArchiveName::parse(&safety.file_name()), Some(safety));
    }

    #[test]
    fn names_sort_by_time() {
        let times = [
            "2026-01-02T00:00:00Z",
            "2026-01-01T23:59:59.999Z",
            "2025-12-31T10:00:00Z",
            "2026-01-01T23:59:59.998Z",
        ];
        let mut names: Vec<ArchiveName> = times
            .iter()
            .map(|t| ArchiveName::new(t.parse().unwrap(), Kind::Regular))
            .collect();
        let mut by_text: Vec<String> = names.iter().map(ArchiveName::file_name).collect();
        by_text.sort();
        names.sort_by_key(|n| n.time);
        assert_eq!(
            by_text,
            names.iter().map(ArchiveName::file_name).collect::<Vec<_>>()
        );
    }

    #[test]
    fn other_names_are_not_archives() {
        for text in [
            "",
            "magi-.tar.zst",
            ".magi-2026-11-24T03-35-00.123Z.tar.zst.partial",
            "magi-2026-11-24T03-35-00Z.tar.zst",
            "magi-2026-13-24T03-35-00.123Z",
            "magi-2026-11-24T03:35:00.123Z",
            "backup.tar.zst",
        ] {
            assert_eq!(ArchiveName::parse(text), None, "{text}");
        }
    }
}
