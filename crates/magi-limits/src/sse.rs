//! Server-sent events as the gateway sees them: a byte stream cut anywhere, split back into whole events
//! without changing a byte, so each event can be passed on, read for `usage`, or dropped.
//!
//! An event ends at a blank line; lines end with LF, CRLF or CR (the SSE specification allows all three).
//! [`Splitter::push`] returns the events a chunk completed, each with its exact bytes (terminator included);
//! what is left when the stream ends comes back from [`Splitter::finish`], so the concatenation of
//! everything returned is always the input (proptest checks that for any input and any cut).
//!
//! Events are slices of the chunk they arrived in, not copies: only an event cut across two chunks is
//! copied, to join its halves.

use std::borrow::Cow;

use hyper::body::Bytes;
use memchr::memchr2;

/// One whole event: its bytes as received, terminator included.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub raw: Bytes,
}

impl Event {
    /// Which of `keys` (`"usage"`, quotes included) the event holds followed by an object (`"usage": {`),
    /// without decoding it: most chunks carry no usage or `"usage": null`, and need no JSON parsing. One pass
    /// looks back from each `{`, which an event has few of, for all the keys at once.
    pub fn objects<const N: usize>(&self, keys: [&[u8]; N]) -> [bool; N] {
        let raw = &self.raw[..];
        let before = |end: usize| raw[..end].iter().rposition(|b| !b.is_ascii_whitespace());
        let mut found = [false; N];
        for brace in memchr::memchr_iter(b'{', raw) {
            let Some(end) = before(brace)
                .filter(|&colon| raw[colon] == b':')
                .and_then(before)
            else {
                continue;
            };
            for (found, key) in found.iter_mut().zip(keys) {
                *found |= raw[..=end].ends_with(key);
            }
        }
        found
    }

    /// The event's data: its `data:` lines without the field name (and one leading space), joined by LF;
    /// borrowed from the event when it has one data line, as nearly every event has. `None` when it has no
    /// data line (a comment or a bare `event:`).
    pub fn data(&self) -> Option<Cow<'_, [u8]>> {
        let mut data: Option<Cow<'_, [u8]>> = None;
        for line in lines(&self.raw) {
            let value = if line == b"data" {
                &b""[..]
            } else if let Some(rest) = line.strip_prefix(b"data:") {
                rest.strip_prefix(b" ").unwrap_or(rest)
            } else {
                continue;
            };
            match &mut data {
                Some(d) => {
                    let d = d.to_mut();
                    d.push(b'\n');
                    d.extend_from_slice(value);
                }
                None => data = Some(Cow::Borrowed(value)),
            }
        }
        data
    }
}

/// The lines of an event, without their terminators.
fn lines(raw: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut rest = raw;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let end = rest
            .iter()
            .position(|&b| b == b'\n' || b == b'\r')
            .unwrap_or(rest.len());
        let line = &rest[..end];
        let skip = match (rest.get(end), rest.get(end + 1)) {
            (Some(b'\r'), Some(b'\n')) => 2,
            (Some(_), _) => 1,
            (None, _) => 0,
        };
        rest = &rest[end + skip..];
        Some(line)
    })
}

/// Splits a byte stream into whole events.
#[derive(Debug, Default)]
pub struct Splitter {
    /// The start of an event that the chunks so far did not finish.
    buf: Vec<u8>,
    /// Where the line being read starts.
    line_start: usize,
    /// How far the buffer has been scanned.
    scanned: usize,
}

impl Splitter {
    /// Adds a chunk; appends the events it completed to `events`, in order (the caller's vector is reused
    /// from chunk to chunk).
    pub fn push(&mut self, chunk: &Bytes, events: &mut Vec<Event>) {
        let data = if self.buf.is_empty() {
            chunk.clone()
        } else {
            self.buf.extend_from_slice(chunk);
            Bytes::from(std::mem::take(&mut self.buf))
        };
        let mut event_start = 0;
        let mut i = self.scanned;
        loop {
            let Some(at) = memchr2(b'\n', b'\r', &data[i..]) else {
                i = data.len();
                break;
            };
            i += at;
            let end = if data[i] == b'\r' {
                match data.get(i + 1) {
                    Some(b'\n') => i + 2,
                    Some(_) => i + 1,
                    // A CR at the end of what we have: it may be half of a CRLF.
                    None => break,
                }
            } else {
                i + 1
            };
            if i == self.line_start {
                events.push(Event {
                    raw: data.slice(event_start..end),
                });
                event_start = end;
            }
            self.line_start = end;
            i = end;
        }
        self.buf = data[event_start..].to_vec();
        self.line_start -= event_start;
        self.scanned = i - event_start;
    }

    /// Whether no part of an event is held back.
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// The bytes of an unfinished event when the stream ended.
    pub fn finish(self) -> Vec<u8> {
        self.buf
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn split_all(input: &[u8], cuts: &[usize]) -> (Vec<Event>, Vec<u8>) {
        let mut splitter = Splitter::default();
        let mut events = Vec::new();
        let mut at = 0;
        let mut cuts: Vec<usize> = cuts.iter().map(|c| c % (input.len() + 1)).collect();
        cuts.sort_unstable();
        for cut in cuts.into_iter().chain([input.len()]) {
            splitter.push(&Bytes::copy_from_slice(&input[at..cut]), &mut events);
            at = cut;
        }
        (events, splitter.finish())
    }

    #[test]
    fn openai_stream_splits_into_its_chunks() {
        let input = b"data: {\"a\":1}\n\ndata: {\"b\":2}\r\n\r\n: keep-alive\n\ndata: [DONE]\n\n";
        let (events, rest) = split_all(input, &[3, 17, 18, 30]);
        let data: Vec<_> = events.iter().map(Event::data).collect();
        assert_eq!(
            data,
            vec![
                Some(b"{\"a\":1}".into()),
                Some(b"{\"b\":2}".into()),
                None,
                Some(b"[DONE]".into())
            ]
        );
        assert!(rest.is_empty());
    }

    #[test]
    fn multi_line_data_joins_with_lf_and_cr_alone_ends_lines() {
        let (events, _) = split_all(b"event: x\rdata: one\rdata:two\rdata\r\rdata: next", &[]);
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].data(), Some(b"one\ntwo\n".into()));
    }

    #[test]
    fn objects_are_told_from_nulls_without_parsing() {
        let has_usage = |text: &str| {
            Event {
                raw: Bytes::copy_from_slice(text.as_bytes()),
            }
            .objects([b"\"usage\""])[0]
        };
        assert!(has_usage("data: {\"usage\": {\"prompt_tokens\": 1}}\n\n"));
        assert!(has_usage("data: {\"usage\":{}}\n\n"));
        assert!(!has_usage("data: {\"usage\":null}\n\n"));
        assert!(!has_usage("data: {\"text\":\"usage\"}\n\n"));
        assert!(!has_usage("data: [DONE]\n\n"));
        assert!(has_usage(
            "data: {\"a\":{},\"usage\" :\n {\"prompt_tokens\": 1}}\n\n"
        ));
        assert!(!has_usage("data: {\"xusage\":{}}\n\n"));
        assert!(!has_usage("data: {\"usage\":[{}]}\n\n"));
        assert!(!has_usage("data: {{\"usage\""));
    }

    #[test]
    fn an_unfinished_event_is_returned_at_the_end() {
        let (events, rest) = split_all(b"data: 1\n\ndata: 2\n", &[]);
        assert_eq!(events.len(), 1);
        assert_eq!(rest, b"data: 2\n");
    }

    fn stream() -> impl Strategy<Value = Vec<u8>> {
        let line = prop_oneof![
            "data: \\{\"[a-z]{0,8}\":[0-9]{1,3}\\}".prop_map(String::into_bytes),
            Just(b"data: [DONE]".to_vec()),
            Just(b": ping".to_vec()),
            Just(b"event: message".to_vec()),
            Just(b"data".to_vec()),
        ];
        let end = prop_oneof![Just(&b"\n"[..]), Just(&b"\r\n"[..]), Just(&b"\r"[..])];
        proptest::collection::vec((line, end.clone(), end), 0..12).prop_map(|events| {
            let mut out = Vec::new();
            for (line, e1, e2) in events {
                out.extend_from_slice(&line);
                out.extend_from_slice(e1);
                // A CR line end followed by LF would read as one CRLF: keep the blank line distinct.
                out.extend_from_slice(if e1 == b"\r" && e2 != b"\r" {
                    b"\r"
                } else {
                    e2
                });
            }
            out
        })
    }

    /// The definition `objects` keeps: the key, then blanks, a colon, blanks and a brace.
    fn has_object_by_definition(raw: &[u8], key: &[u8]) -> bool {
        (0..raw.len())
            .filter(|&at| raw[at..].starts_with(key))
            .any(|at| {
                let mut rest = raw[at + key.len()..]
                    .iter()
                    .skip_while(|b| b.is_ascii_whitespace());
                rest.next() == Some(&b':') && rest.find(|b| !b.is_ascii_whitespace()) == Some(&b'{')
            })
    }

    proptest! {
        #[test]
        fn an_object_is_found_as_its_definition_says(
            parts in proptest::collection::vec(
                prop_oneof![
                    Just("\"usage\""), Just("\"error\""), Just("usage"), Just(":"), Just("{"),
                    Just("}"), Just(" "), Just("\n"), Just("\""), Just("x"), Just("null"),
                ],
                0..24,
            ),
        ) {
            let raw = parts.concat();
            let event = Event { raw: Bytes::from(raw.clone()) };
            let keys = [&b"\"usage\""[..], b"\"error\""];
            let found = event.objects(keys);
            for (found, key) in found.into_iter().zip(keys) {
                prop_assert_eq!(found, has_object_by_definition(raw.as_bytes(), key), "{}", raw);
            }
        }

        #[test]
        fn any_bytes_any_cuts_lose_nothing(
            input in proptest::collection::vec(any::<u8>(), 0..400),
            cuts in proptest::collection::vec(any::<usize>(), 0..20),
        ) {
            let (events, rest) = split_all(&input, &cuts);
            let mut joined: Vec<u8> = events.iter().flat_map(|e| e.raw.to_vec()).collect();
            joined.extend(rest);
            prop_assert_eq!(joined, input);
        }

        #[test]
        fn events_do_not_depend_on_where_the_stream_was_cut(
            input in stream(),
            cuts in proptest::collection::vec(any::<usize>(), 0..20),
        ) {
            let whole = split_all(&input, &[]);
            let cut = split_all(&input, &cuts);
            prop_assert_eq!(&whole, &cut);
            // A final CR may be half of a CRLF, so it waits for more; anything else leaves nothing behind.
            prop_assert!(whole.1.is_empty() || input.ends_with(b"\r"));
        }
    }
}
