//! Attacker-controlled text made safe for a person's terminal.
//!
//! A user name from a failed login, a container's log line, an entry name from an archive or a channel's
//! error message can carry escape sequences that move the cursor, rewrite earlier lines or change the
//! terminal's title. Every human output of text that came from outside goes through [`printable`], which
//! spells each control character out (`\x1b`, `\n`, `\u{202e}`) so the reader sees what was sent and the
//! terminal runs none of it. JSON output needs no such step: serde_json escapes controls itself.

use std::borrow::Cow;
use std::fmt::Write as _;

/// Whether `c` must be spelled out: C0 and C1 controls, DEL, and the Unicode format characters that reorder
/// or hide text (bidi overrides and isolates, zero-width joiners), which can make a line read as another.
fn is_hazard(c: char) -> bool {
    c.is_control()
        || matches!(c,
            '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{feff}')
}

/// `text` with every control or reordering character spelled out as an escape; borrowed when there is none,
/// so the common case costs a scan and no allocation. A backslash is doubled only when the text needed
/// escaping, so a clean Windows path prints as it is and an escaped one cannot be forged.
pub fn printable(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_hazard) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x100 && is_hazard(c) => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c if is_hazard(c) => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn clean_text_is_borrowed_as_it_is() {
        assert!(matches!(
            printable("ada@example.org C:\\x"),
            Cow::Borrowed(_)
        ));
    }

    #[test]
    fn escapes_are_spelled_out() {
        assert_eq!(
            printable("ada\x1b[2J\nroot logged in\r\u{9b}\u{202e}"),
            "ada\\x1b[2J\\nroot logged in\\r\\x9b\\u{202e}"
        );
        assert_eq!(printable("a\\b\x07"), "a\\\\b\\x07");
    }

    proptest! {
        #[test]
        fn output_never_holds_a_hazard(text in any::<String>()) {
            let shown = printable(&text);
            prop_assert!(!shown.chars().any(is_hazard));
            if !text.chars().any(is_hazard) {
                prop_assert_eq!(shown.as_ref(), text.as_str());
            }
        }
    }
}
