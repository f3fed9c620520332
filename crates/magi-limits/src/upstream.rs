//! The gateway's connections to LiteLLM: HTTP/1.1 ([`crate::h1`]) over TCP, kept alive in a pool of idle
//! connections. A request takes an idle connection (or opens one), writes itself whole, and reads the
//! answer's head; the connection then stays in a [`Lease`], from which the answer's body is read, until the
//! body has been read to the end; only then does the connection go back to the pool.
//!
//! The body is read by the task of the request that holds the lease, straight from the socket into the
//! lease's buffer: each read is decoded and handed on in the same poll, with no task or channel between
//! the socket and the client. An idle connection in the pool is read by nobody; one that upstream closed
//! meanwhile is found out when it is taken, and passed over.

use std::io;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, ready};
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use hyper::Method;
use hyper::Uri;
use hyper::body::SizeHint;
use tokio::io::AsyncWriteExt as _;
use tokio::net::TcpStream;

use crate::h1::{self, Chunked, Framing, Head, Malformed};

/// How long a connection may stay idle in the pool before it is closed.
const IDLE_LIFETIME: Duration = Duration::from_secs(60);
/// The room made in a connection's buffer before each read.
const READ_SIZE: usize = 16 << 10;

/// Why a request did not get an answer from upstream, or its answer was cut short.
#[derive(Debug, thiserror::Error)]
pub enum UpstreamError {
    #[error("cannot connect: {0}")]
    Connect(io::Error),
    #[error("no connection within {0:?} (--connect-timeout)")]
    ConnectTimeout(Duration),
    #[error("the connection failed: {0}")]
    Io(#[from] io::Error),
    #[error("the connection closed before an answer came")]
    ClosedBeforeAnswer,
    #[error("the connection closed mid-answer")]
    ClosedMidAnswer,
    #[error(transparent)]
    Malformed(#[from] Malformed),
}

impl UpstreamError {
    /// The request found the connection closed before any of the answer came: on a kept-alive connection,
    /// upstream closed it while it sat idle (the race every keep-alive client has), and the request is
    /// sent again on another.
    fn found_closed(&self) -> bool {
        match self {
            UpstreamError::ClosedBeforeAnswer => true,
            UpstreamError::Io(e) => matches!(
                e.kind(),
                io::ErrorKind::BrokenPipe
                    | io::ErrorKind::ConnectionReset
                    | io::ErrorKind::ConnectionAborted
            ),
            _ => false,
        }
    }
}

/// One connection and what has been read from it and not yet taken.
struct Conn {
    stream: TcpStream,
    buf: BytesMut,
}

impl Conn {
    /// Reads what has arrived into the buffer: the number of bytes, 0 when upstream closed the connection.
    fn poll_fill(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        if self.buf.capacity() - self.buf.len() < READ_SIZE / 4 {
            self.buf.reserve(READ_SIZE);
        }
        loop {
            ready!(self.stream.poll_read_ready(cx))?;
            match self.stream.try_read_buf(&mut self.buf) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                result => return Poll::Ready(result),
            }
        }
    }

    /// Whether upstream closed the connection (or sent something unasked) while it sat idle.
    fn went_stale(&self) -> bool {
        let mut probe = [0u8; 1];
        !matches!(self.stream.try_read(&mut probe), Err(e) if e.kind() == io::ErrorKind::WouldBlock)
    }

    /// Writes `request` and reads the answer's head.
    async fn exchange(&mut self, request: &[u8], method: &Method) -> Result<Head, UpstreamError> {
        self.stream.write_all(request).await?;
        loop {
            if let Some(head) = h1::parse_head(&mut self.buf, method)? {
                return Ok(head);
            }
            if std::future::poll_fn(|cx| self.poll_fill(cx)).await? == 0 {
                return Err(if self.buf.is_empty() {
                    UpstreamError::ClosedBeforeAnswer
                } else {
                    UpstreamError::ClosedMidAnswer
                });
            }
        }
    }
}

/// One upstream (LiteLLM) and its idle connections.
pub struct Upstream {
    /// `host:port`.
    authority: String,
    connect_timeout: Duration,
    idle: Mutex<Vec<(Box<Conn>, Instant)>>,
}

impl std::fmt::Debug for Upstream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Upstream")
            .field("authority", &self.authority)
            .finish_non_exhaustive()
    }
}

/// Where the reading of an answer's body is.
#[derive(Debug)]
enum Body {
    Length(u64),
    Chunked(Chunked),
    UntilClose,
    Done,
}

/// A connection in use by one request, from which its answer's body is read ([`Lease::poll_data`]);
/// [`Lease::give_back`] returns it to the pool.
pub struct Lease {
    /// Boxed: the lease moves from the pool through the request's futures into the answer's body.
    conn: Box<Conn>,
    body: Body,
    keep_alive: bool,
    upstream: Arc<Upstream>,
}

impl Lease {
    /// The body's data that has arrived, in one piece; `None` at its end.
    pub fn poll_data(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<Result<Option<Bytes>, UpstreamError>> {
        loop {
            let buf = &mut self.conn.buf;
            let data = match &mut self.body {
                Body::Done => return Poll::Ready(Ok(None)),
                Body::Length(left) => {
                    let take = usize::try_from(*left).map_or(buf.len(), |l| l.min(buf.len()));
                    *left -= take as u64;
                    if *left == 0 {
                        self.body = Body::Done;
                    }
                    buf.split_to(take).freeze()
                }
                Body::Chunked(chunked) => {
                    let data = chunked.decode(buf)?;
                    if chunked.is_done() {
                        self.body = Body::Done;
                    }
                    data
                }
                Body::UntilClose => buf.split().freeze(),
            };
            if !data.is_empty() {
                return Poll::Ready(Ok(Some(data)));
            }
            if matches!(self.body, Body::Done) {
                return Poll::Ready(Ok(None));
            }
            if ready!(self.conn.poll_fill(cx))? == 0 {
                if matches!(self.body, Body::UntilClose) {
                    self.body = Body::Done;
                    self.keep_alive = false;
                    return Poll::Ready(Ok(None));
                }
                return Poll::Ready(Err(UpstreamError::ClosedMidAnswer));
            }
        }
    }

    /// The body has been read to its end.
    pub fn is_end(&self) -> bool {
        matches!(self.body, Body::Done)
    }

    /// What is known of the length of the body still to be read.
    pub fn size_hint(&self) -> SizeHint {
        match self.body {
            Body::Length(left) => SizeHint::with_exact(left),
            Body::Done => SizeHint::with_exact(0),
            Body::Chunked(_) | Body::UntilClose => SizeHint::default(),
        }
    }

    /// Returns the connection to the pool if its answer was read to the end and it may carry another.
    pub fn give_back(self) {
        if self.is_end() && self.keep_alive && self.conn.buf.is_empty() {
            self.upstream.lock().push((self.conn, Instant::now()));
        }
    }
}

impl Upstream {
    /// LiteLLM at `base` (`http://host:port`; port 80 when it names none).
    pub fn new(base: &Uri, connect_timeout: Duration) -> Arc<Upstream> {
        let authority = base.authority().map_or_else(
            || "127.0.0.1:4000".to_owned(),
            |a| format!("{}:{}", a.host(), a.port_u16().unwrap_or(80)),
        );
        Arc::new(Upstream {
            authority,
            connect_timeout,
            idle: Mutex::default(),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<(Box<Conn>, Instant)>> {
        self.idle.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The most recently used idle connection that is young enough.
    fn checkout(&self) -> Option<Box<Conn>> {
        let mut idle = self.lock();
        while let Some((conn, since)) = idle.pop() {
            if since.elapsed() < IDLE_LIFETIME {
                return Some(conn);
            }
        }
        None
    }

    async fn connect(&self) -> Result<Box<Conn>, UpstreamError> {
        let stream =
            tokio::time::timeout(self.connect_timeout, TcpStream::connect(&self.authority))
                .await
                .map_err(|_| UpstreamError::ConnectTimeout(self.connect_timeout))?
                .map_err(UpstreamError::Connect)?;
        let _ = stream.set_nodelay(true);
        Ok(Box::new(Conn {
            stream,
            buf: BytesMut::with_capacity(READ_SIZE),
        }))
    }

    /// Sends `request` (a whole request, [`h1::encode_request`]) on an idle connection, or on a new one, and
    /// reads the answer's head. A kept-alive connection that upstream closed before the answer began is
    /// passed over for the next, never counted as a failure.
    pub async fn send(
        self: &Arc<Self>,
        request: &[u8],
        method: &Method,
    ) -> Result<(Head, Lease), UpstreamError> {
        while let Some(mut conn) = self.checkout() {
            if conn.went_stale() {
                continue;
            }
            match conn.exchange(request, method).await {
                Ok(head) => return Ok(self.lease(conn, head)),
                Err(e) if e.found_closed() => continue,
                Err(e) => return Err(e),
            }
        }
        let mut conn = self.connect().await?;
        let head = conn.exchange(request, method).await?;
        Ok(self.lease(conn, head))
    }

    fn lease(self: &Arc<Self>, conn: Box<Conn>, head: Head) -> (Head, Lease) {
        let body = match head.framing {
            Framing::Empty | Framing::Length(0) => Body::Done,
            Framing::Length(n) => Body::Length(n),
            Framing::Chunked => Body::Chunked(Chunked::default()),
            Framing::UntilClose => Body::UntilClose,
        };
        let lease = Lease {
            conn,
            body,
            keep_alive: head.keep_alive,
            upstream: Arc::clone(self),
        };
        (head, lease)
    }
}

#[cfg(test)]
mod tests {
    //! Against a TCP server on loopback that answers with the exact bytes each test gives, so that every
    //! framing, split and close can be put on the wire.

    use std::net::SocketAddr;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use tokio::io::AsyncReadExt as _;
    use tokio::net::TcpListener;

    use super::*;

    /// What the server does for one request: writes these pieces, a few milliseconds apart, then closes
    /// the connection or waits for the next request on it.
    struct Reply {
        pieces: Vec<&'static str>,
        close: bool,
    }

    fn reply(pieces: &[&'static str], close: bool) -> Reply {
        Reply {
            pieces: pieces.to_vec(),
            close,
        }
    }

    struct Server {
        addr: SocketAddr,
        connections: Arc<AtomicUsize>,
        requests: Arc<Mutex<Vec<Vec<u8>>>>,
    }

    /// Serves the `n`th request (from 0, across connections) with `script(n)`.
    async fn server(script: fn(usize) -> Reply) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let server = Server {
            addr: listener.local_addr().unwrap(),
            connections: Arc::default(),
            requests: Arc::default(),
        };
        let (connections, requests) = (
            Arc::clone(&server.connections),
            Arc::clone(&server.requests),
        );
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                connections.fetch_add(1, Ordering::SeqCst);
                let requests = Arc::clone(&requests);
                tokio::spawn(async move {
                    let mut seen = Vec::new();
                    loop {
                        let mut byte = [0u8; 1];
                        while !seen.ends_with(b"\r\n\r\n") {
                            if stream.read(&mut byte).await.unwrap_or(0) == 0 {
                                return;
                            }
                            seen.push(byte[0]);
                        }
                        let text = String::from_utf8_lossy(&seen).to_lowercase();
                        let length: usize = text
                            .lines()
                            .find_map(|l| l.strip_prefix("content-length: "))
                            .map_or(0, |l| l.trim().parse().unwrap());
                        let mut body = vec![0u8; length];
                        stream.read_exact(&mut body).await.unwrap();
                        seen.extend_from_slice(&body);
                        let n = {
                            let mut requests = requests.lock().unwrap();
                            requests.push(std::mem::take(&mut seen));
                            requests.len() - 1
                        };
                        let reply = script(n);
                        for piece in reply.pieces {
                            tokio::time::sleep(Duration::from_millis(5)).await;
                            let _ = stream.write_all(piece.as_bytes()).await;
                        }
                        if reply.close {
                            return;
                        }
                    }
                });
            }
        });
        server
    }

    fn upstream(server: &Server) -> Arc<Upstream> {
        let base: Uri = format!("http://{}", server.addr).parse().unwrap();
        Upstream::new(&base, Duration::from_secs(5))
    }

    const GET: &[u8] = b"GET /v1/models HTTP/1.1\r\nhost: upstream\r\n\r\n";

    /// Sends `request` and reads the whole answer: its status and body, or the error that ended it.
    async fn call(
        upstream: &Arc<Upstream>,
        request: &[u8],
        method: &Method,
    ) -> Result<(u16, String), UpstreamError> {
        let (head, mut lease) = upstream.send(request, method).await?;
        let mut body = Vec::new();
        while let Some(data) = std::future::poll_fn(|cx| lease.poll_data(cx)).await? {
            body.extend_from_slice(&data);
        }
        lease.give_back();
        Ok((head.status.as_u16(), String::from_utf8(body).unwrap()))
    }

    /// `GET /v1/models`: the answer's status and body.
    async fn get(upstream: &Arc<Upstream>) -> (u16, String) {
        call(upstream, GET, &Method::GET).await.unwrap()
    }

    #[tokio::test]
    async fn chunks_split_across_writes_come_whole_and_the_connection_is_reused() {
        let server = server(|_| {
            reply(
                &[
                    "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhel",
                    "lo\r\n6\r\n world\r\n",
                    "0\r\n\r\n",
                ],
                false,
            )
        })
        .await;
        let upstream = upstream(&server);
        for _ in 0..3 {
            assert_eq!(get(&upstream).await, (200, "hello world".to_owned()));
        }
        assert_eq!(server.connections.load(Ordering::SeqCst), 1);
        assert_eq!(server.requests.lock().unwrap()[2], GET);
    }

    #[tokio::test]
    async fn a_sized_answer_and_an_interim_one_before_it_and_an_answer_to_head() {
        let server = server(|n| match n {
            0 => reply(
                &["HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\ncontent-length: 8\r\n\r\n{\"a\"", ":1}\n"],
                false,
            ),
            _ => reply(&["HTTP/1.1 200 OK\r\ncontent-length: 1234\r\n\r\n"], false),
        })
        .await;
        let upstream = upstream(&server);
        let post = b"POST /x HTTP/1.1\r\nhost: u\r\ncontent-length: 2\r\n\r\n{}";
        let answer = call(&upstream, post, &Method::POST).await.unwrap();
        assert_eq!(answer, (201, "{\"a\":1}\n".to_owned()));
        let head = b"HEAD /x HTTP/1.1\r\nhost: u\r\n\r\n";
        assert_eq!(
            call(&upstream, head, &Method::HEAD).await.unwrap(),
            (200, String::new())
        );
        assert_eq!(server.connections.load(Ordering::SeqCst), 1);
        assert_eq!(server.requests.lock().unwrap()[0], post);
    }

    #[tokio::test]
    async fn an_answer_until_close_or_with_connection_close_ends_the_connection() {
        let server = server(|n| match n {
            0 => reply(&["HTTP/1.1 200 OK\r\n\r\nsome", " text"], true),
            _ => reply(
                &["HTTP/1.1 200 OK\r\nconnection: close\r\ncontent-length: 2\r\n\r\nok"],
                false,
            ),
        })
        .await;
        let upstream = upstream(&server);
        assert_eq!(get(&upstream).await, (200, "some text".to_owned()));
        assert_eq!(get(&upstream).await, (200, "ok".to_owned()));
        assert_eq!(get(&upstream).await, (200, "ok".to_owned()));
        assert_eq!(server.connections.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn a_kept_alive_connection_closed_by_upstream_is_passed_over() {
        // Answer 0 keeps the connection; request 1 finds it closed without an answer (upstream's keep-alive
        // timeout racing the request) and goes again on a new connection, where it is answered.
        let server = server(|n| match n {
            1 => reply(&[], true),
            _ => reply(&["HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok"], false),
        })
        .await;
        let upstream = upstream(&server);
        assert_eq!(get(&upstream).await, (200, "ok".to_owned()));
        assert_eq!(get(&upstream).await, (200, "ok".to_owned()));
        assert_eq!(server.connections.load(Ordering::SeqCst), 2);
        assert_eq!(server.requests.lock().unwrap().len(), 3);
    }

    #[tokio::test]
    async fn a_connection_upstream_closed_while_idle_is_not_used() {
        let server =
            server(|_| reply(&["HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok"], true)).await;
        let upstream = upstream(&server);
        assert_eq!(get(&upstream).await, (200, "ok".to_owned()));
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert_eq!(get(&upstream).await, (200, "ok".to_owned()));
        assert_eq!(server.connections.load(Ordering::SeqCst), 2);
        assert_eq!(
            server.requests.lock().unwrap().len(),
            2,
            "the closed one carried no request"
        );
    }

    #[tokio::test]
    async fn answers_cut_short_or_broken_are_errors() {
        let server = server(|n| match n {
            0 => reply(&[], true),
            1 => reply(&["HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nabcd"], true),
            2 => reply(
                &["HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5\r\nab"],
                true,
            ),
            3 => reply(&["HTTP/1.1 200 OK\r\ncontent-le"], true),
            _ => reply(
                &["HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\nzz\r\n"],
                true,
            ),
        })
        .await;
        let upstream = upstream(&server);
        let errors = errors_of_five_calls(&upstream).await;
        assert_eq!(
            errors,
            [
                "the connection closed before an answer came",
                "the connection closed mid-answer",
                "the connection closed mid-answer",
                "the connection closed mid-answer",
                "a chunk-size line of the answer is not valid: \"zz\\r\"",
            ]
        );
    }

    /// Five calls one after the other, each on a fresh connection: their errors.
    async fn errors_of_five_calls(upstream: &Arc<Upstream>) -> Vec<String> {
        let mut errors = Vec::new();
        for _ in 0..5 {
            let error = call(upstream, GET, &Method::GET).await.unwrap_err();
            errors.push(error.to_string());
        }
        errors
    }
}
