//! A flood of idle connections, held as an attacker holds them to starve a server of descriptors, and a
//! probe that keeps asking until the server answers again: the same attack for every daemon's test.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

/// Opens up to `count` connections to `port` on loopback and keeps them open; every other one sends
/// `half_sent` (a request head or body that never ends). Connections the kernel refuses are left out.
pub fn idle_connections(port: u16, count: usize, half_sent: &[u8]) -> Vec<TcpStream> {
    (0..count)
        .filter_map(|i| {
            let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
            if i % 2 == 1 {
                let _ = stream.write_all(half_sent);
            }
            Some(stream)
        })
        .collect()
}

/// Sends `request` on a new connection every 200 ms until a status line comes back, and returns its
/// first 12 bytes (`HTTP/1.1 200`); panics if none does `within`.
pub fn status_line_despite_flood(port: u16, request: &[u8], within: Duration) -> [u8; 12] {
    let started = Instant::now();
    loop {
        if let Ok(mut probe) = TcpStream::connect(("127.0.0.1", port)) {
            probe
                .set_read_timeout(Some(Duration::from_secs(2)))
                .expect("a read timeout");
            let _ = probe.write_all(request);
            let mut head = [0u8; 12];
            if probe.read_exact(&mut head).is_ok() {
                return head;
            }
        }
        assert!(
            started.elapsed() < within,
            "no answer in {within:?} while idle connections held the server"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}
