//! The HTTP/1.1 the gateway speaks to LiteLLM, as functions over bytes: a request's head, an answer's head
//! (parsed by httparse) and how the answer's body is framed (RFC 9112 §6.3), with chunked bodies decoded in
//! bulk over the read buffer. The connection that carries them is [`crate::upstream`]'s.
//!
//! hyper's client decodes chunk framing one byte per read and one `Bytes` per chunk; here a read's chunks
//! come out as one piece, the framing between them taken out in place.

use std::fmt::Write as _;

use bytes::{Buf, BufMut, Bytes, BytesMut};
use hyper::header::{self, HeaderMap, HeaderName, HeaderValue};
use hyper::{Method, StatusCode};

/// The largest answer head read.
const MAX_HEAD: usize = 64 << 10;
/// The most headers an answer may have.
const MAX_HEADERS: usize = 100;
/// The longest chunk-size line (the size and its extensions).
const MAX_CHUNK_LINE: usize = 4 << 10;
/// The most trailer bytes read (and dropped) after the last chunk.
const MAX_TRAILERS: usize = 16 << 10;

/// Why an answer could not be read as HTTP/1.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Malformed {
    #[error("the answer's head is not HTTP/1: {0}")]
    Head(httparse::Error),
    #[error("the answer's head is larger than {} KiB", MAX_HEAD >> 10)]
    HeadTooLarge,
    #[error("the answer's header {0:?} is not valid")]
    Header(String),
    #[error("the answer's content-length {0:?} is not one length")]
    ContentLength(String),
    #[error("the answer switched protocols (101), which the gateway does not pass on")]
    Upgrade,
    #[error("a chunk-size line of the answer is not valid: {0:?}")]
    ChunkSize(String),
    #[error("a chunk of the answer does not end in CRLF")]
    ChunkEnd,
    #[error("the answer's trailers are larger than {} KiB", MAX_TRAILERS >> 10)]
    Trailers,
}

/// The bytes of a request: its line, `host`, the headers given, `content-length`, then the body.
pub fn encode_request<'a>(
    method: &Method,
    target: &str,
    host: &str,
    headers: impl Iterator<Item = (&'a HeaderName, &'a HeaderValue)>,
    body: &[u8],
) -> Bytes {
    let mut out = BytesMut::with_capacity(256 + body.len());
    out.put_slice(method.as_str().as_bytes());
    out.put_u8(b' ');
    out.put_slice(target.as_bytes());
    out.put_slice(b" HTTP/1.1\r\nhost: ");
    out.put_slice(host.as_bytes());
    out.put_slice(b"\r\n");
    for (name, value) in headers {
        out.put_slice(name.as_str().as_bytes());
        out.put_slice(b": ");
        out.put_slice(value.as_bytes());
        out.put_slice(b"\r\n");
    }
    let bodiless = matches!(
        *method,
        Method::GET | Method::HEAD | Method::DELETE | Method::OPTIONS
    );
    if !body.is_empty() || !bodiless {
        let _ = write!(out, "content-length: {}\r\n", body.len());
    }
    out.put_slice(b"\r\n");
    out.put_slice(body);
    out.freeze()
}

/// How an answer's body is delimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// No body (an answer to HEAD, 1xx, 204, 304).
    Empty,
    Length(u64),
    Chunked,
    /// The body ends when upstream closes the connection.
    UntilClose,
}

/// An answer's head.
#[derive(Debug)]
pub struct Head {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub framing: Framing,
    /// The connection may carry another request once this answer's body has been read.
    pub keep_alive: bool,
}

/// Takes an answer's head off the front of `buf` (interim 1xx answers before it are dropped); `None` while
/// the head has not all arrived.
pub fn parse_head(buf: &mut BytesMut, method: &Method) -> Result<Option<Head>, Malformed> {
    loop {
        let mut slots = [httparse::EMPTY_HEADER; MAX_HEADERS];
        let mut answer = httparse::Response::new(&mut slots);
        let length = match answer.parse(buf) {
            Ok(httparse::Status::Complete(length)) => length,
            Ok(httparse::Status::Partial) if buf.len() > MAX_HEAD => {
                return Err(Malformed::HeadTooLarge);
            }
            Ok(httparse::Status::Partial) => return Ok(None),
            Err(e) => return Err(Malformed::Head(e)),
        };
        let code = answer.code.unwrap_or_default();
        let status =
            StatusCode::from_u16(code).map_err(|_| Malformed::Head(httparse::Error::Status))?;
        if status == StatusCode::SWITCHING_PROTOCOLS {
            return Err(Malformed::Upgrade);
        }
        if status.is_informational() {
            buf.advance(length);
            continue;
        }
        let mut headers = HeaderMap::with_capacity(answer.headers.len());
        for h in answer.headers.iter() {
            let name = HeaderName::from_bytes(h.name.as_bytes())
                .map_err(|_| Malformed::Header(h.name.to_owned()))?;
            let value = HeaderValue::from_bytes(h.value)
                .map_err(|_| Malformed::Header(h.name.to_owned()))?;
            headers.append(name, value);
        }
        let http10 = answer.version == Some(0);
        buf.advance(length);
        let (framing, both_lengths) = framing(status, &headers, method)?;
        let connection = |token: &str| has_token(&headers, &header::CONNECTION, token);
        let keep_alive = !both_lengths
            && framing != Framing::UntilClose
            && if http10 {
                connection("keep-alive")
            } else {
                !connection("close")
            };
        return Ok(Some(Head {
            status,
            headers,
            framing,
            keep_alive,
        }));
    }
}

/// The body's framing, and whether the answer had both a `transfer-encoding` and a `content-length` (the
/// connection is not reused after such an answer).
fn framing(
    status: StatusCode,
    headers: &HeaderMap,
    method: &Method,
) -> Result<(Framing, bool), Malformed> {
    if *method == Method::HEAD
        || status.is_informational()
        || status == StatusCode::NO_CONTENT
        || status == StatusCode::NOT_MODIFIED
    {
        return Ok((Framing::Empty, false));
    }
    let has_length = headers.contains_key(header::CONTENT_LENGTH);
    if headers.contains_key(header::TRANSFER_ENCODING) {
        let last = headers
            .get_all(header::TRANSFER_ENCODING)
            .iter()
            .flat_map(|v| v.as_bytes().split(|&b| b == b','))
            .map(<[u8]>::trim_ascii)
            .rfind(|coding| !coding.is_empty());
        let chunked = last.is_some_and(|c| c.eq_ignore_ascii_case(b"chunked"));
        let framing = if chunked {
            Framing::Chunked
        } else {
            Framing::UntilClose
        };
        return Ok((framing, has_length));
    }
    if !has_length {
        return Ok((Framing::UntilClose, false));
    }
    let mut length = None;
    for value in headers.get_all(header::CONTENT_LENGTH) {
        for part in value
            .as_bytes()
            .split(|&b| b == b',')
            .map(<[u8]>::trim_ascii)
        {
            let bad =
                || Malformed::ContentLength(String::from_utf8_lossy(value.as_bytes()).into_owned());
            let parsed = std::str::from_utf8(part)
                .ok()
                .filter(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
                .and_then(|s| s.parse::<u64>().ok())
                .ok_or_else(bad)?;
            if length.is_some_and(|l| l != parsed) {
                return Err(bad());
            }
            length = Some(parsed);
        }
    }
    Ok((Framing::Length(length.unwrap_or(0)), false))
}

/// Whether a comma-separated header holds `token` (ASCII case ignored).
fn has_token(headers: &HeaderMap, name: &HeaderName, token: &str) -> bool {
    headers.get_all(name).iter().any(|v| {
        v.as_bytes()
            .split(|&b| b == b',')
            .any(|t| t.trim_ascii().eq_ignore_ascii_case(token.as_bytes()))
    })
}

/// Where a chunked body's decoding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Chunk {
    /// Before a chunk-size line.
    Size,
    /// Within a chunk's data, with this many bytes of it to come.
    Data(u64),
    /// After a chunk's data, before its CRLF.
    DataEnd,
    /// After the last chunk, in the trailers, with this many trailer bytes seen.
    Trailers(usize),
    Done,
}

/// A chunked body's decoder.
#[derive(Debug, Clone)]
pub struct Chunked {
    state: Chunk,
}

impl Default for Chunked {
    fn default() -> Self {
        Chunked { state: Chunk::Size }
    }
}

impl Chunked {
    /// The body's last chunk and its trailers have been read.
    pub fn is_done(&self) -> bool {
        self.state == Chunk::Done
    }

    /// Decodes what `buf` holds: the data of its chunks comes out as one piece (possibly empty), and what
    /// cannot be decoded yet (a line not ended) stays in `buf`. Trailers are read and dropped.
    pub fn decode(&mut self, buf: &mut BytesMut) -> Result<Bytes, Malformed> {
        // The data decoded so far is moved down to the front of `buf`, over the framing already read.
        let mut read = 0;
        let mut written = 0;
        loop {
            let rest = &buf[read..];
            match self.state {
                Chunk::Size => {
                    let Some(end) = memchr::memchr(b'\n', rest) else {
                        if rest.len() > MAX_CHUNK_LINE {
                            return Err(Malformed::ChunkSize(lossy(&rest[..64])));
                        }
                        break;
                    };
                    let size = chunk_size(&rest[..end])?;
                    read += end + 1;
                    self.state = if size == 0 {
                        Chunk::Trailers(0)
                    } else {
                        Chunk::Data(size)
                    };
                }
                Chunk::Data(left) => {
                    if rest.is_empty() {
                        break;
                    }
                    let take = usize::try_from(left).map_or(rest.len(), |l| l.min(rest.len()));
                    buf.copy_within(read..read + take, written);
                    read += take;
                    written += take;
                    let left = left - take as u64;
                    self.state = if left == 0 {
                        Chunk::DataEnd
                    } else {
                        Chunk::Data(left)
                    };
                }
                Chunk::DataEnd => {
                    if rest.len() < 2 {
                        if rest.first().is_some_and(|&b| b != b'\r') {
                            return Err(Malformed::ChunkEnd);
                        }
                        break;
                    }
                    if &rest[..2] != b"\r\n" {
                        return Err(Malformed::ChunkEnd);
                    }
                    read += 2;
                    self.state = Chunk::Size;
                }
                Chunk::Trailers(seen) => {
                    let Some(end) = memchr::memchr(b'\n', rest) else {
                        if seen + rest.len() > MAX_TRAILERS {
                            return Err(Malformed::Trailers);
                        }
                        break;
                    };
                    let blank = end == 0 || (end == 1 && rest[0] == b'\r');
                    read += end + 1;
                    self.state = if blank {
                        Chunk::Done
                    } else if seen + end + 1 > MAX_TRAILERS {
                        return Err(Malformed::Trailers);
                    } else {
                        Chunk::Trailers(seen + end + 1)
                    };
                }
                Chunk::Done => break,
            }
        }
        let data = buf.split_to(written).freeze();
        buf.advance(read - written);
        Ok(data)
    }
}

/// The size a chunk-size line (without its `\n`) gives: hex digits, then optional blanks and `;`
/// extensions, then CR.
fn chunk_size(line: &[u8]) -> Result<u64, Malformed> {
    let bad = || Malformed::ChunkSize(lossy(line));
    let line = line.strip_suffix(b"\r").ok_or_else(bad)?;
    let digits = line.iter().take_while(|b| b.is_ascii_hexdigit()).count();
    if digits == 0 || digits > 16 {
        return Err(bad());
    }
    let rest = line[digits..].trim_ascii_start();
    if !(rest.is_empty() || rest[0] == b';') || rest.contains(&b'\r') {
        return Err(bad());
    }
    let hex = std::str::from_utf8(&line[..digits]).map_err(|_| bad())?;
    u64::from_str_radix(hex, 16).map_err(|_| bad())
}

/// Up to 64 bytes of `bytes`, as text, for an error message.
fn lossy(bytes: &[u8]) -> String {
    String::from_utf8_lossy(&bytes[..bytes.len().min(64)]).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn head(text: &str, method: &Method) -> Result<Option<Head>, Malformed> {
        parse_head(&mut BytesMut::from(text), method)
    }

    #[test]
    fn request_carries_host_headers_length_and_body() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        let bytes = encode_request(
            &Method::POST,
            "/v1/chat/completions?x=1",
            "127.0.0.1:4000",
            headers.iter(),
            b"{}",
        );
        assert_eq!(
            &bytes[..],
            b"POST /v1/chat/completions?x=1 HTTP/1.1\r\nhost: 127.0.0.1:4000\r\n\
              content-type: application/json\r\ncontent-length: 2\r\n\r\n{}"
        );
        let get = encode_request(
            &Method::GET,
            "/v1/models",
            "h",
            HeaderMap::new().iter(),
            b"",
        );
        assert_eq!(&get[..], b"GET /v1/models HTTP/1.1\r\nhost: h\r\n\r\n");
        let post = encode_request(&Method::POST, "/", "h", HeaderMap::new().iter(), b"");
        assert_eq!(
            &post[..],
            b"POST / HTTP/1.1\r\nhost: h\r\ncontent-length: 0\r\n\r\n"
        );
    }

    #[test]
    fn head_framing_follows_rfc_9112() {
        let get = Method::GET;
        let framing = |text: &str, method: &Method| head(text, method).unwrap().unwrap().framing;
        assert_eq!(
            framing("HTTP/1.1 200 OK\r\ncontent-length: 12\r\n\r\n", &get),
            Framing::Length(12)
        );
        assert_eq!(
            framing(
                "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, Chunked\r\n\r\n",
                &get
            ),
            Framing::Chunked
        );
        assert_eq!(
            framing("HTTP/1.1 200 OK\r\ntransfer-encoding: gzip\r\n\r\n", &get),
            Framing::UntilClose
        );
        assert_eq!(
            framing("HTTP/1.1 200 OK\r\n\r\n", &get),
            Framing::UntilClose
        );
        assert_eq!(
            framing("HTTP/1.1 204 No Content\r\n\r\n", &get),
            Framing::Empty
        );
        assert_eq!(
            framing(
                "HTTP/1.1 304 Not Modified\r\ncontent-length: 5\r\n\r\n",
                &get
            ),
            Framing::Empty
        );
        assert_eq!(
            framing(
                "HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\n",
                &Method::HEAD
            ),
            Framing::Empty
        );
        assert_eq!(
            framing(
                "HTTP/1.1 200 OK\r\ncontent-length: 7, 7\r\ncontent-length: 7\r\n\r\n",
                &get
            ),
            Framing::Length(7)
        );
        for bad in ["5, 6", "-1", "", "0x10", "99999999999999999999999"] {
            let text = format!("HTTP/1.1 200 OK\r\ncontent-length: {bad}\r\n\r\n");
            assert!(
                matches!(head(&text, &get), Err(Malformed::ContentLength(_))),
                "content-length {bad:?}"
            );
        }
    }

    #[test]
    fn keep_alive_by_version_and_connection() {
        let alive = |text: &str| head(text, &Method::GET).unwrap().unwrap().keep_alive;
        assert!(alive("HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n"));
        assert!(!alive(
            "HTTP/1.1 200 OK\r\nconnection: Close\r\ncontent-length: 0\r\n\r\n"
        ));
        assert!(!alive("HTTP/1.0 200 OK\r\ncontent-length: 0\r\n\r\n"));
        assert!(alive(
            "HTTP/1.0 200 OK\r\nconnection: keep-alive\r\ncontent-length: 0\r\n\r\n"
        ));
        assert!(
            !alive("HTTP/1.1 200 OK\r\n\r\n"),
            "a body until close ends the connection"
        );
        assert!(
            !alive("HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\ncontent-length: 3\r\n\r\n"),
            "both lengths: not reused"
        );
    }

    #[test]
    fn head_waits_for_all_of_it_skips_interim_answers_and_leaves_the_body() {
        let text = "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 429 Too Many Requests\r\nretry-after: 3\r\n\
                    content-length: 4\r\n\r\nbody";
        for cut in 0..text.len() - 4 {
            assert!(
                head(&text[..cut], &Method::POST).unwrap().is_none(),
                "cut at {cut}"
            );
        }
        let mut buf = BytesMut::from(text);
        let parsed = parse_head(&mut buf, &Method::POST).unwrap().unwrap();
        assert_eq!(parsed.status, StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(parsed.headers["retry-after"], "3");
        assert_eq!(&buf[..], b"body");
    }

    #[test]
    fn broken_heads_are_errors() {
        assert!(matches!(
            head("HTTP/1.1 200 OK\r\nbad header\r\n\r\n", &Method::GET),
            Err(Malformed::Head(_))
        ));
        assert!(matches!(
            head("SSH-2.0-OpenSSH\r\n\r\n", &Method::GET),
            Err(Malformed::Head(_))
        ));
        assert_eq!(
            head("HTTP/1.1 101 Switching Protocols\r\n\r\n", &Method::GET).unwrap_err(),
            Malformed::Upgrade
        );
        let huge = format!("HTTP/1.1 200 OK\r\nx: {}", "a".repeat(MAX_HEAD));
        assert_eq!(
            head(&huge, &Method::GET).unwrap_err(),
            Malformed::HeadTooLarge
        );
    }

    /// Decodes `input` fed in pieces cut at `cuts`; the data, whether it ended, and what was left over.
    fn decode_in_pieces(
        input: &[u8],
        cuts: &[usize],
    ) -> Result<(Vec<u8>, bool, Vec<u8>), Malformed> {
        let mut decoder = Chunked::default();
        let mut buf = BytesMut::new();
        let mut out = Vec::new();
        let mut from = 0;
        let mut ends: Vec<usize> = cuts.iter().map(|c| c % (input.len() + 1)).collect();
        ends.sort_unstable();
        ends.push(input.len());
        for end in ends {
            buf.extend_from_slice(&input[from..end.max(from)]);
            from = end.max(from);
            out.extend_from_slice(&decoder.decode(&mut buf)?);
        }
        Ok((out, decoder.is_done(), buf.to_vec()))
    }

    #[test]
    fn chunks_decode_in_one_piece_per_read() {
        let mut buf = BytesMut::from(
            "3\r\nabc\r\n4;ext=1\r\ndefg\r\nA \r\n0123456789\r\n0\r\nx-t: 1\r\n\r\nnext",
        );
        let mut decoder = Chunked::default();
        assert_eq!(&decoder.decode(&mut buf).unwrap()[..], b"abcdefg0123456789");
        assert!(decoder.is_done());
        assert_eq!(&buf[..], b"next");
    }

    #[test]
    fn broken_chunks_are_errors() {
        for bad in [
            "g\r\n",
            "\r\n",
            "3\r\nabcX\r\n",
            "3 x\r\nabc\r\n",
            "3\nabc\r\n",
            "11111111111111111\r\n",
        ] {
            assert!(decode_in_pieces(bad.as_bytes(), &[]).is_err(), "{bad:?}");
        }
        let long_line = format!("1;{}", "e".repeat(MAX_CHUNK_LINE));
        assert!(decode_in_pieces(long_line.as_bytes(), &[]).is_err());
    }

    fn encode_chunks(chunks: &[(Vec<u8>, bool, bool)]) -> Vec<u8> {
        let mut out = Vec::new();
        for (data, upper, extension) in chunks {
            let size = if *upper {
                format!("{:X}", data.len())
            } else {
                format!("{:x}", data.len())
            };
            out.extend_from_slice(size.as_bytes());
            if *extension {
                out.extend_from_slice(b" ;name=\"v\"");
            }
            out.extend_from_slice(b"\r\n");
            out.extend_from_slice(data);
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(b"0\r\ntrailer: x\r\n\r\n");
        out
    }

    proptest! {
        #[test]
        fn chunked_decoding_gives_back_the_data_however_it_is_cut(
            chunks in prop::collection::vec(
                (prop::collection::vec(any::<u8>(), 1..300), any::<bool>(), any::<bool>()),
                0..12,
            ),
            cuts in prop::collection::vec(any::<usize>(), 0..8),
        ) {
            let input = encode_chunks(&chunks);
            let (data, done, left) = decode_in_pieces(&input, &cuts).unwrap();
            let expected: Vec<u8> = chunks.iter().flat_map(|(d, _, _)| d.clone()).collect();
            prop_assert_eq!(data, expected);
            prop_assert!(done);
            prop_assert!(left.is_empty());
        }

        #[test]
        fn chunked_decoding_of_any_bytes_never_panics_nor_makes_data(
            input in prop::collection::vec(any::<u8>(), 0..600),
            cuts in prop::collection::vec(any::<usize>(), 0..4),
        ) {
            if let Ok((data, _, left)) = decode_in_pieces(&input, &cuts) {
                prop_assert!(data.len() + left.len() <= input.len());
            }
        }

        #[test]
        fn any_head_bytes_give_an_answer_or_an_error(input in prop::collection::vec(any::<u8>(), 0..400)) {
            let mut buf = BytesMut::from(&input[..]);
            let _ = parse_head(&mut buf, &Method::GET);
        }
    }
}
