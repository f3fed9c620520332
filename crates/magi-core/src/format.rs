//! Figures and text as a reader takes them: bytes in binary units, counts with thousands separators and
//! times in UTC for a person, digests in lowercase hex, text escaped for an HTML page and for a Prometheus
//! label value. Every tool
//! formats through here so the same figure reads the same everywhere and no page or scrape is broken by a
//! name.

use jiff::Timestamp;

/// Lowercase hex of `bytes`: digests, keys and tokens. By table, not `format!`: a cloud backup writes
/// one for every chunk it stores.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(DIGITS[usize::from(b >> 4)] as char);
        out.push(DIGITS[usize::from(b & 15)] as char);
    }
    out
}

/// Bytes as a person reads them: `512 B`, `1.5 MiB`.
pub fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

/// A count with a comma every three digits: `1,234,567`.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A time to the second, in UTC and saying so: `2026-12-03 09:17:25 UTC`.
pub fn time(at: Timestamp) -> String {
    at.strftime("%Y-%m-%d %H:%M:%S UTC").to_string()
}

/// A time to the minute, for times a person plans around (a quota's reset): `2026-12-03 09:17 UTC`.
pub fn minute(at: Timestamp) -> String {
    at.strftime("%Y-%m-%d %H:%M UTC").to_string()
}

/// A time as a person writes it on a command line: `2026-11-20 14:30`, with seconds and fractions if
/// wanted, in the local time zone, or RFC 3339 with its offset. The error says what was written and how to
/// write it.
pub fn parse_local_time(text: &str) -> Result<Timestamp, String> {
    if let Ok(t) = text.parse::<Timestamp>() {
        return Ok(t);
    }
    let civil = text
        .trim()
        .replace(' ', "T")
        .parse::<jiff::civil::DateTime>()
        .map_err(|_| format!("'{text}' is not a time (write e.g. '2026-11-20 14:30')"))?;
    Ok(civil
        .to_zoned_datetime(jiff::tz::TimeZone::system())
        .map_err(|e| format!("'{text}': {e}"))?
        .timestamp())
}

/// Text made safe inside HTML elements and quoted attributes: `&`, `<`, `>`, `"` and `'` as entities.
pub fn html_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A Prometheus label value as the text exposition format quotes it: backslash, double quote and newline
/// escaped.
pub fn label_value(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// A CSV field, quoted when it holds a comma, a quote or a line break.
pub fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_is_two_lowercase_digits_a_byte() {
        assert_eq!(hex(&[]), "");
        assert_eq!(hex(&[0x00, 0x0f, 0xa0, 0xff]), "000fa0ff");
    }

    #[test]
    fn bytes_take_the_largest_binary_unit_under_1024() {
        assert_eq!(human_bytes(0), "0 B");
        assert_eq!(human_bytes(1023), "1023 B");
        assert_eq!(human_bytes(1536), "1.5 KiB");
        assert_eq!(human_bytes(5 << 30), "5.0 GiB");
        assert_eq!(human_bytes(u64::MAX), "16777216.0 TiB");
    }

    #[test]
    fn times_are_utc_and_say_so() {
        let at: Timestamp = "2026-12-03T09:17:25.9+01:00".parse().unwrap();
        assert_eq!(time(at), "2026-12-03 08:17:25 UTC");
        assert_eq!(minute(at), "2026-12-03 08:17 UTC");
    }

    #[test]
    fn markup_and_label_quotes_are_escaped() {
        assert_eq!(
            html_escape(r#"<a href="x">Tom & 'Jerry'</a>"#),
            "&lt;a href=&quot;x&quot;&gt;Tom &amp; &#39;Jerry&#39;&lt;/a&gt;"
        );
        assert_eq!(label_value("a\\b\"c\nd"), r#"a\\b\"c\nd"#);
    }

    #[test]
    fn counts_get_a_comma_every_three_digits() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1_000), "1,000");
        assert_eq!(thousands(1_234_567), "1,234,567");
    }
}
