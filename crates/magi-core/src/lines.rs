//! Reading lines from a pipe or file that anyone may have written: a line longer than the bound is
//! measured and passed over without ever being held in memory, so a reader's memory stays bounded whatever
//! arrives. The event reader and the metric-line reader both read through it.

use std::io::{self, BufRead};

/// One line as read.
#[derive(Debug, PartialEq, Eq)]
pub enum Line<'a> {
    /// The line's bytes, without its `\n` or `\r\n`.
    Text(&'a [u8]),
    /// A line over the bound, and how many bytes it had (with its terminator).
    TooLong(usize),
}

/// Lines of at most `max` bytes from `input`.
pub struct BoundedLines<R> {
    input: R,
    max: usize,
    line: Vec<u8>,
}

impl<R: BufRead> BoundedLines<R> {
    pub fn new(input: R, max: usize) -> Self {
        BoundedLines {
            input,
            max,
            line: Vec::with_capacity(1024.min(max)),
        }
    }

    /// The memory the line buffer holds: never much more than the bound, whatever was read.
    pub fn buffered(&self) -> usize {
        self.line.capacity()
    }

    /// The next line; `Ok(None)` at the end of the input.
    pub fn next_line(&mut self) -> io::Result<Option<Line<'_>>> {
        self.line.clear();
        let mut seen = 0usize;
        let mut too_long = false;
        loop {
            let available = match self.input.fill_buf() {
                Ok(bytes) => bytes,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if available.is_empty() {
                if seen == 0 {
                    return Ok(None);
                }
                break;
            }
            let (chunk, consumed, done) = match available.iter().position(|b| *b == b'\n') {
                Some(i) => (&available[..i], i + 1, true),
                None => (available, available.len(), false),
            };
            seen += consumed;
            if !too_long && self.line.len() + chunk.len() > self.max {
                too_long = true;
                self.line.clear();
            }
            if !too_long {
                self.line.extend_from_slice(chunk);
            }
            self.input.consume(consumed);
            if done {
                break;
            }
        }
        if too_long {
            return Ok(Some(Line::TooLong(seen)));
        }
        if self.line.last() == Some(&b'\r') {
            self.line.pop();
        }
        Ok(Some(Line::Text(&self.line)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_lines_are_measured_and_passed_over() {
        let input = format!("short\r\n{}\nlast", "x".repeat(100));
        let mut lines = BoundedLines::new(io::BufReader::with_capacity(7, input.as_bytes()), 10);
        assert_eq!(lines.next_line().unwrap(), Some(Line::Text(b"short")));
        assert_eq!(lines.next_line().unwrap(), Some(Line::TooLong(101)));
        assert_eq!(lines.next_line().unwrap(), Some(Line::Text(b"last")));
        assert_eq!(lines.next_line().unwrap(), None);
    }
}
