//! The accept loop on a real listener on port 0, driven by raw TCP clients: the cap holds the next client
//! in the listen queue until a slot frees, a client that sends no head is cut off at the header timeout,
//! and a stop lets the answer in flight finish before the listener is gone.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response};
use magi_serve::{Bounds, serve};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// Answers `/slow` after 300 ms and anything else at once, naming the peer it was made for.
fn service(
    peer: SocketAddr,
) -> impl hyper::service::Service<
    Request<Incoming>,
    Response = Response<Full<Bytes>>,
    Error = Infallible,
    Future = impl Future<Output = Result<Response<Full<Bytes>>, Infallible>> + Send,
> + Send {
    hyper::service::service_fn(move |request: Request<Incoming>| async move {
        if request.uri().path() == "/slow" {
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
        Ok(Response::new(Full::new(Bytes::from(format!(
            "hello {}",
            peer.ip()
        )))))
    })
}

async fn start(
    bounds: Bounds,
) -> (
    SocketAddr,
    tokio::sync::oneshot::Sender<()>,
    tokio::task::JoinHandle<()>,
) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(serve(listener, bounds, service, async move {
        let _ = stopped.await;
    }));
    (address, stop, server)
}

async fn get(stream: &mut TcpStream, path: &str) {
    let head = format!("GET {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n");
    stream.write_all(head.as_bytes()).await.unwrap();
}

/// Everything the server sends until it closes, or `None` if it is still silent after `wait`.
async fn answer(stream: &mut TcpStream, wait: Duration) -> Option<String> {
    let mut buf = Vec::new();
    match tokio::time::timeout(wait, stream.read_to_end(&mut buf)).await {
        Ok(_) => Some(String::from_utf8_lossy(&buf).into_owned()),
        Err(_) => None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_the_cap_the_next_client_waits_until_a_connection_closes() {
    let bounds = Bounds {
        header_timeout: Duration::from_secs(30),
        max_connections: 2,
        grace: Duration::from_secs(1),
    };
    let (address, _stop, _server) = start(bounds).await;
    let mut idle_a = TcpStream::connect(address).await.unwrap();
    let _idle_b = TcpStream::connect(address).await.unwrap();
    // Both slots are held by idle connections; the third is accepted by the kernel only.
    let mut third = TcpStream::connect(address).await.unwrap();
    get(&mut third, "/").await;
    assert_eq!(
        answer(&mut third, Duration::from_millis(500)).await,
        None,
        "served past the cap of 2"
    );
    get(&mut idle_a, "/").await;
    let first = answer(&mut idle_a, Duration::from_secs(5)).await.unwrap();
    assert!(first.starts_with("HTTP/1.1 200"), "{first}");
    let served = answer(&mut third, Duration::from_secs(5))
        .await
        .expect("served once a slot was free");
    assert!(served.ends_with("hello 127.0.0.1"), "{served}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_sends_no_head_is_cut_off_at_the_header_timeout() {
    let bounds = Bounds {
        header_timeout: Duration::from_millis(300),
        max_connections: 8,
        grace: Duration::from_secs(1),
    };
    let (address, _stop, _server) = start(bounds).await;
    for partial in ["", "GET / HTTP/1.1\r\nHost: te"] {
        let mut client = TcpStream::connect(address).await.unwrap();
        client.write_all(partial.as_bytes()).await.unwrap();
        let started = Instant::now();
        let closed = answer(&mut client, Duration::from_secs(5)).await;
        assert!(closed.is_some(), "still open after 5 s with {partial:?}");
        assert!(
            started.elapsed() >= Duration::from_millis(250),
            "closed before the timeout: {:?}",
            started.elapsed()
        );
        assert!(
            !closed.unwrap().contains("hello"),
            "answered a request it never got"
        );
    }
    let mut prompt = TcpStream::connect(address).await.unwrap();
    get(&mut prompt, "/").await;
    let served = answer(&mut prompt, Duration::from_secs(5)).await.unwrap();
    assert!(served.starts_with("HTTP/1.1 200"), "{served}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stop_lets_the_answer_in_flight_finish_and_closes_the_listener() {
    let bounds = Bounds {
        header_timeout: Duration::from_secs(5),
        max_connections: 8,
        grace: Duration::from_secs(5),
    };
    let (address, stop, server) = start(bounds).await;
    let mut slow = TcpStream::connect(address).await.unwrap();
    get(&mut slow, "/slow").await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    stop.send(()).unwrap();
    let served = answer(&mut slow, Duration::from_secs(5)).await.unwrap();
    assert!(served.starts_with("HTTP/1.1 200"), "{served}");
    assert!(served.ends_with("hello 127.0.0.1"), "{served}");
    tokio::time::timeout(Duration::from_secs(5), server)
        .await
        .expect("serve returned after the stop")
        .unwrap();
    assert!(
        TcpStream::connect(address).await.is_err(),
        "the listener is closed after a stop"
    );
}
