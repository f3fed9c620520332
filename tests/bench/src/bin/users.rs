//! Benchmark of magi-users: forward-auth checks per second and their p50/p99 latency with a valid session
//! at 50 concurrent keep-alive connections, the time of one login (one argon2id verification), and the
//! server's RSS.
//!
//! Run it on release builds, next to the binary it measures:
//! `cargo build --release -p magi-users -p magi-bench && target/release/users [--seconds 10]`.
//! The load comes from one thread of this process (50 connections multiplexed by a current-thread tokio
//! runtime), so the server keeps most of the machine.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const CONNECTIONS: usize = 50;
const LOGINS: usize = 10;
/// What units/magi-users.service sets, so the RSS measured is the shipped one.
const TUNABLES: &str = "glibc.malloc.mmap_threshold=1048576";

fn main() -> std::process::ExitCode {
    magi_bench::main("users", bench)
}

fn bench() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let seconds = match args.iter().position(|a| a == "--seconds") {
        Some(i) => args.get(i + 1).context("--seconds N")?.parse()?,
        None => 10u64,
    };
    let binary = std::env::current_exe()?.with_file_name("magi-users");
    if !binary.is_file() {
        bail!(
            "{} not found: build it first (cargo build --release -p magi-users)",
            binary.display()
        );
    }
    let dir = tempfile::tempdir()?;
    println!("magi-users benchmark ({})", binary.display());
    let mut server = Server::start(&binary, dir.path())?;
    let result = run(&server, Duration::from_secs(seconds));
    let rss = server.rss();
    server.stop();
    let (rate, p50, p99, login, cpu_per_check) = result?;
    println!(
        "forward-auth with a valid session, {CONNECTIONS} connections, {seconds}s: {rate:.0} checks/s, \
         p50 {:.2} ms, p99 {:.2} ms (targets >= 20,000/s, p99 <= 2 ms)",
        ms(p50),
        ms(p99)
    );
    println!(
        "server CPU per check: {:.1} us (what one core sustains whatever else runs: {:.0} checks/s)",
        cpu_per_check * 1e6,
        1.0 / cpu_per_check
    );
    println!(
        "one login (POST /login: one argon2id m=19456 t=2 p=1 verification), median of {LOGINS}: {:.1} ms",
        ms(login)
    );
    println!(
        "server RSS ({TUNABLES}, as the unit sets): peak {:.1} MB (one login's 19 MiB argon2id memory \
         included), after the run {:.1} MB (target <= 20 MB)",
        rss.0 as f64 / 1024.0,
        rss.1 as f64 / 1024.0
    );
    Ok(())
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

struct Server {
    child: Child,
    port: u16,
}

impl Server {
    fn start(binary: &Path, dir: &Path) -> anyhow::Result<Server> {
        std::fs::write(dir.join("magi.toml"), "[users]\nsecure_cookies = false\n")?;
        let command = |args: &[&str]| {
            let mut c = Command::new(binary);
            c.env("MAGI_CONFIG", dir.join("magi.toml"))
                .env("MAGI_USERS_DB", dir.join("users.db"))
                .env("MAGI_LOG", "error")
                .env_remove("JOURNAL_STREAM")
                .args(args);
            c
        };
        let mut add = command(&[
            "add",
            "bench",
            "--email",
            "bench@example.org",
            "--password-file",
            "-",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()?;
        add.stdin
            .take()
            .context("stdin")?
            .write_all(b"bench-password\n")?;
        if !add.wait()?.success() {
            bail!("magi-users add failed");
        }
        let port = magi_testkit::free_port();
        let child = command(&["serve", "--listen", &format!("127.0.0.1:{port}")])
            .env("GLIBC_TUNABLES", TUNABLES)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .spawn()
            .context("starting magi-users serve")?;
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if Instant::now() > deadline {
                bail!("magi-users serve did not listen on {port}");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(Server { child, port })
    }

    /// User plus system CPU time the server has used, in seconds (0 once it is gone).
    fn cpu(&self) -> f64 {
        magi_bench::cpu_seconds(self.child.id()).unwrap_or(0.0)
    }

    /// Peak and current RSS in KiB.
    fn rss(&self) -> (u64, u64) {
        magi_bench::memory_kib(self.child.id()).map_or((0, 0), |m| (m.peak_kib, m.rss_kib))
    }

    fn stop(&mut self) {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(self.child.id() as i32),
            nix::sys::signal::Signal::SIGTERM,
        );
        let _ = self.child.wait();
    }
}

/// One blocking HTTP/1.1 request on a fresh connection: the status line and headers, and the body.
fn request(port: u16, raw: &str) -> anyhow::Result<(String, String)> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    stream.write_all(raw.as_bytes())?;
    let mut text = String::new();
    stream.read_to_string(&mut text)?;
    let (head, body) = text.split_once("\r\n\r\n").context("no HTTP answer")?;
    Ok((head.to_owned(), body.to_owned()))
}

fn set_cookie<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.lines()
        .filter_map(|l| l.strip_prefix("set-cookie: "))
        .find_map(|c| c.strip_prefix(&format!("{name}=")))
        .map(|c| &c[..c.find(';').unwrap_or(c.len())])
}

/// Logs in `LOGINS` times; the median time of the POST and the last session id.
fn login(port: u16) -> anyhow::Result<(Duration, String)> {
    let (head, body) = request(
        port,
        "GET /login HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n",
    )?;
    let csrf = set_cookie(&head, "magi_csrf").context("no CSRF cookie")?;
    if !body.contains(csrf) {
        bail!("the login form does not carry its CSRF token");
    }
    let form = format!("csrf={csrf}&username=bench&password=bench-password&rd=%2F");
    let mut times = Vec::new();
    let mut session = String::new();
    for _ in 0..LOGINS {
        let started = Instant::now();
        let (head, _) = request(
            port,
            &format!(
                "POST /login HTTP/1.1\r\nHost: bench\r\nConnection: close\r\nCookie: magi_csrf={csrf}\r\n\
                 Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{form}",
                form.len()
            ),
        )?;
        times.push(started.elapsed());
        session = set_cookie(&head, "magi_session")
            .with_context(|| format!("the login failed: {head}"))?
            .to_owned();
    }
    times.sort();
    Ok((times[LOGINS / 2], session))
}

/// Checks per second, p50, p99, the login time, and the server's CPU seconds per check.
fn run(
    server: &Server,
    duration: Duration,
) -> anyhow::Result<(f64, Duration, Duration, Duration, f64)> {
    let (login_time, session) = login(server.port)?;
    let raw = format!(
        "GET /auth HTTP/1.1\r\nHost: bench\r\nAccept: text/html\r\nX-Forwarded-Uri: /c/1\r\n\
         Cookie: magi_session={session}\r\n\r\n"
    );
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let port = server.port;
    let cpu_before = server.cpu();
    let started = Instant::now();
    let mut latencies = runtime.block_on(async move {
        let mut tasks = Vec::new();
        for _ in 0..CONNECTIONS {
            let raw = raw.clone();
            tasks.push(tokio::spawn(async move {
                connection(port, raw, duration).await
            }));
        }
        let mut all = Vec::new();
        for t in tasks {
            all.extend(t.await??);
        }
        Ok::<_, anyhow::Error>(all)
    })?;
    let elapsed = started.elapsed();
    let cpu = server.cpu() - cpu_before;
    if latencies.is_empty() {
        bail!("no check completed");
    }
    latencies.sort();
    let at = |q: f64| latencies[((latencies.len() as f64 * q) as usize).min(latencies.len() - 1)];
    Ok((
        latencies.len() as f64 / elapsed.as_secs_f64(),
        at(0.50),
        at(0.99),
        login_time,
        cpu / latencies.len() as f64,
    ))
}

/// One keep-alive connection sending checks back to back for `duration`; each one's latency.
async fn connection(port: u16, raw: String, duration: Duration) -> anyhow::Result<Vec<Duration>> {
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port)).await?;
    stream.set_nodelay(true)?;
    let mut buf = vec![0u8; 4096];
    let mut latencies = Vec::new();
    let end = Instant::now() + duration;
    while Instant::now() < end {
        let sent = Instant::now();
        stream.write_all(raw.as_bytes()).await?;
        let mut filled = 0;
        loop {
            let n = stream.read(&mut buf[filled..]).await?;
            if n == 0 {
                bail!("the server closed the connection");
            }
            filled += n;
            if let Some(len) = complete(&buf[..filled]) {
                if !buf.starts_with(b"HTTP/1.1 200") {
                    bail!(
                        "the check failed: {}",
                        String::from_utf8_lossy(&buf[..filled])
                    );
                }
                if len != filled {
                    bail!("pipelined bytes where none were asked for");
                }
                break;
            }
        }
        latencies.push(sent.elapsed());
    }
    Ok(latencies)
}

/// The length of a complete response at the start of `buf` (headers and a Content-Length body), if any.
fn complete(buf: &[u8]) -> Option<usize> {
    let end = buf.windows(4).position(|w| w == b"\r\n\r\n")? + 4;
    let head = std::str::from_utf8(&buf[..end]).ok()?;
    let length: usize = head
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("content-length")
                .then(|| v.trim().parse().ok())?
        })
        .unwrap_or(0);
    (buf.len() >= end + length).then_some(end + length)
}
