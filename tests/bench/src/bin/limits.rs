//! The magi-limits benchmark: added latency (p50, p99 of the first byte and of the whole stream) and
//! throughput of streaming chat completions through `magi-limits serve`, against calling the upstream
//! directly and against nginx `proxy_pass` (`proxy_buffering off`) to the same upstream, side by side in one
//! run, at 50 and 200 concurrent streams; and the gateway's RSS while 200 streams are open. nginx keeps its
//! upstream connections alive (`keepalive 256`), as a production proxy would.
//!
//! The upstream is the OpenAI stand-in (`openai-standin`, a tokio/axum server) on loopback, the load
//! generator is in this process (tokio + hyper, one keep-alive connection per concurrent stream). Every
//! request asks for the usage chunk (`stream_options.include_usage`), so the gateway adds nothing to the
//! upstream request and each route carries the same stream. Two kinds of stream:
//! - paced: 10 tokens 20 ms apart (about 260 ms per answer), what a chat looks like; latency is measured
//!   here, and throughput is bounded by the pacing (≈ concurrency / 0.26 s) unless a proxy falls behind;
//! - unpaced: the same answer as fast as it can go, which measures how many streams per second each path
//!   can carry on this machine (the load generator and the stand-in share its cores).
//!
//! Each figure comes from three turns per route, taken in rotation, so that a change in this shared
//! machine's load falls on all routes alike rather than on whichever ran last. An answer counts if it began
//! in a turn's measured window, however late it ends. 15 s per figure by default: at 5 s the paced p99 at
//! 200 streams is set by the slowest 30 answers of 3,000.
//!
//! With two CPUs or more, the proxies run on the upper half of them and the load generator and the stand-in
//! on the rest (CPU affinity), as a load test keeps the system under test apart from the load: on a 2-core
//! machine where all shared both cores, nginx's own paced p99 added moved by ±3 ms between runs, more than
//! the 2 ms it is judged against, and missed it in 6 of 8 figures.
//!
//! Beside each proxy's figures: the CPU time it used per answer in the measured windows (all its threads,
//! from `/proc/PID/task/*/schedstat`; nginx's master and worker), which moves far less with the machine's
//! load than throughput does, and says what the throughput ratio is made of.
//!
//! Targets printed beside the figures: p99 added ≤ 2 ms, throughput ≥ 0.9× nginx's, RSS ≤ 40 MB.
//! When `magi-limits` is not built next to this binary, its column says so and the others are measured.
//!
//! Usage: `cargo build --release -p magi-bench -p magi-limits -p openai-standin && target/release/limits
//! [--duration 15s]` (nginx from Debian's nginx-light; without it that column is skipped too).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use http_body_util::{BodyExt as _, Full};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use magi_core::config::parse_duration;
use magi_testkit::{Component, Nginx, OpenAiStandin, free_port};
use nix::sched::{CpuSet, sched_getaffinity, sched_setaffinity};
use nix::unistd::Pid;

/// Warm-up before the measured window of each run.
const WARMUP: Duration = Duration::from_secs(1);
/// How many turns each route gets per figure.
const ROUNDS: usize = 3;
/// The pace of the paced stream: upstream delay before each chunk.
const PACE_MS: u64 = 20;
/// Tokens (content chunks) per answer.
const TOKENS: u64 = 10;
const CONCURRENCY: [usize; 2] = [50, 200];

const TARGET_P99_ADDED_MS: f64 = 2.0;
const TARGET_THROUGHPUT_RATIO: f64 = 0.9;
const TARGET_RSS_MB: f64 = 40.0;

/// A path to the upstream that requests are sent along.
struct Route {
    name: &'static str,
    port: Option<u16>,
    /// The processes of the proxy on this route, whose CPU time is counted (none for the direct route).
    proxy: Vec<u32>,
    /// The process whose RSS is sampled while the route carries the load (the gateway).
    rss_pid: Option<u32>,
    /// Why there is no port.
    missing: String,
}

/// What one run measured.
#[derive(Debug, Default)]
struct Run {
    /// Answers begun in the measured window (and completed, if after it).
    completed: usize,
    errors: usize,
    first_byte: Vec<Duration>,
    whole: Vec<Duration>,
    window: Duration,
    /// CPU time the route's proxy used in the measured window.
    cpu: Duration,
    /// The gateway's RSS (KiB) sampled during the run: the most seen.
    rss_kib: Option<u64>,
}

impl Run {
    /// Adds the figures of another run of the same route.
    fn add(&mut self, other: Run) {
        self.completed += other.completed;
        self.errors += other.errors;
        self.first_byte.extend(other.first_byte);
        self.whole.extend(other.whole);
        self.window += other.window;
        self.cpu += other.cpu;
        self.rss_kib = self.rss_kib.max(other.rss_kib);
    }

    fn rate(&self) -> f64 {
        self.completed as f64 / self.window.as_secs_f64()
    }

    /// The proxy's CPU time per answer, in microseconds.
    fn cpu_per_answer_us(&self) -> f64 {
        self.cpu.as_secs_f64() * 1e6 / self.completed.max(1) as f64
    }
}

/// What a route's runs come to: answers per second, latencies in milliseconds, the proxy's CPU per answer in
/// microseconds.
#[derive(Debug, Clone, Copy)]
struct Figures {
    rate: f64,
    first50: f64,
    first99: f64,
    whole50: f64,
    whole99: f64,
    cpu_us: f64,
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index].as_secs_f64() * 1000.0
}

/// p50 and p99 in milliseconds.
fn p50_p99(samples: &mut [Duration]) -> (f64, f64) {
    samples.sort_unstable();
    (percentile(samples, 0.50), percentile(samples, 0.99))
}

fn body(model: &str) -> Bytes {
    Bytes::from(
        serde_json::json!({
            "model": model,
            "stream": true,
            "stream_options": {"include_usage": true},
            "max_tokens": TOKENS,
            "messages": [{"role": "user", "content": "How far is the moon from the earth?"}],
        })
        .to_string(),
    )
}

/// One concurrent client: a keep-alive connection, one streaming request after another until `until`.
async fn client(
    port: u16,
    request_body: Bytes,
    measure_from: Instant,
    until: Instant,
) -> (Vec<(Duration, Duration)>, usize) {
    let mut samples = Vec::new();
    let mut errors = 0;
    let mut sender: Option<hyper::client::conn::http1::SendRequest<Full<Bytes>>> = None;
    while Instant::now() < until {
        if sender.is_none() {
            match connect(port).await {
                Ok(s) => sender = Some(s),
                Err(_) => {
                    errors += 1;
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                }
            }
        }
        let Some(send) = sender.as_mut() else {
            continue;
        };
        let request = hyper::Request::post("/v1/chat/completions")
            .header(hyper::header::HOST, format!("127.0.0.1:{port}"))
            .header(hyper::header::CONTENT_TYPE, "application/json")
            .header("x-openwebui-user-email", "bench@example.org")
            .body(Full::new(request_body.clone()))
            .expect("a valid request");
        let started = Instant::now();
        if send.ready().await.is_err() {
            // The server closed the kept-alive connection between answers (nginx does after
            // keepalive_requests): not a failure, a new connection.
            sender = None;
            continue;
        }
        let response = match send.send_request(request).await {
            Ok(response) => response,
            Err(_) => {
                sender = None;
                errors += 1;
                continue;
            }
        };
        let ok_status = response.status() == hyper::StatusCode::OK;
        let mut body = response.into_body();
        let mut first = None;
        let mut tail: Vec<u8> = Vec::new();
        let mut broken = false;
        while let Some(frame) = body.frame().await {
            match frame {
                Ok(frame) => {
                    if let Some(data) = frame.data_ref() {
                        first.get_or_insert_with(|| started.elapsed());
                        tail.extend_from_slice(data);
                        let keep = tail.len().saturating_sub(32);
                        tail.drain(..keep);
                    }
                }
                Err(_) => {
                    broken = true;
                    break;
                }
            }
        }
        let whole = started.elapsed();
        let done = String::from_utf8_lossy(&tail).contains("[DONE]");
        if !ok_status || broken || !done {
            errors += 1;
            if broken {
                sender = None;
            }
            continue;
        }
        // Every answer begun in the window counts, however late it ends: cutting the slow ones that end
        // after it would flatter the p99 and the rate alike.
        if started >= measure_from {
            samples.push((first.unwrap_or(whole), whole));
        }
    }
    (samples, errors)
}

async fn connect(
    port: u16,
) -> anyhow::Result<hyper::client::conn::http1::SendRequest<Full<Bytes>>> {
    let stream = tokio::net::TcpStream::connect(("127.0.0.1", port)).await?;
    stream.set_nodelay(true)?;
    let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(async move {
        // The connection ends with an error when the server closes it; the client notices on its next send.
        let _ = connection.await;
    });
    Ok(sender)
}

/// CPU time used so far by all threads of the processes `pids` (from `/proc/PID/task/*/schedstat`, in ns).
fn cpu_time(pids: &[u32]) -> Duration {
    let mut total = 0u64;
    for pid in pids {
        let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
            continue;
        };
        for task in tasks.flatten() {
            total += std::fs::read_to_string(task.path().join("schedstat"))
                .ok()
                .and_then(|s| s.split_whitespace().next()?.parse::<u64>().ok())
                .unwrap_or(0);
        }
    }
    Duration::from_nanos(total)
}

/// A process and its children (nginx's master and its workers).
fn with_children(pid: u32) -> Vec<u32> {
    let children =
        std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children")).unwrap_or_default();
    std::iter::once(pid)
        .chain(children.split_whitespace().filter_map(|c| c.parse().ok()))
        .collect()
}

/// `concurrency` clients for `warmup + duration`; the CPU time of the `proxy` processes is measured over
/// the window, and the gateway's RSS is sampled when `rss_pid` is given.
fn load(
    runtime: &tokio::runtime::Runtime,
    port: u16,
    concurrency: usize,
    model: &str,
    duration: Duration,
    proxy: &[u32],
    rss_pid: Option<u32>,
) -> Run {
    let request_body = body(model);
    runtime.block_on(async {
        let start = Instant::now();
        let measure_from = start + WARMUP;
        let until = measure_from + duration;
        let tasks: Vec<_> = (0..concurrency)
            .map(|_| tokio::spawn(client(port, request_body.clone(), measure_from, until)))
            .collect();
        let proxy = proxy.to_vec();
        let cpu = tokio::spawn(async move {
            tokio::time::sleep_until(measure_from.into()).await;
            let before = cpu_time(&proxy);
            tokio::time::sleep_until(until.into()).await;
            cpu_time(&proxy).saturating_sub(before)
        });
        let sampler = rss_pid.map(|pid| {
            tokio::spawn(async move {
                let mut most = 0;
                while Instant::now() < until {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    most = most.max(rss_kib(pid, "VmRSS").unwrap_or(0));
                }
                most
            })
        });
        let mut run = Run {
            window: duration,
            ..Run::default()
        };
        for task in tasks {
            let (samples, errors) = task.await.unwrap_or_default();
            run.errors += errors;
            run.completed += samples.len();
            for (first, whole) in samples {
                run.first_byte.push(first);
                run.whole.push(whole);
            }
        }
        if let Some(sampler) = sampler {
            run.rss_kib = sampler.await.ok();
        }
        run.cpu = cpu.await.unwrap_or_default();
        run
    })
}

/// A field of `/proc/PID/status` in KiB (`VmRSS`, `VmHWM`).
fn rss_kib(pid: u32, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
}

/// `magi-limits serve` in front of the stand-in, with an empty config, its own usage.db and a LiteLLM
/// config that prices the benchmark's models.
struct Gateway {
    child: Child,
    port: u16,
}

impl Gateway {
    fn start(binary: &Path, dir: &Path, upstream: u16) -> anyhow::Result<Gateway> {
        std::fs::write(dir.join("magi.toml"), "")?;
        let mut yaml = String::from("model_list:\n");
        for model in models() {
            yaml.push_str(&format!(
                "  - model_name: {model}\n    litellm_params:\n      model: openai/{model}\n    \
                 model_info:\n      input_cost_per_token: 0.000001\n      output_cost_per_token: 0.000002\n"
            ));
        }
        std::fs::write(dir.join("config.yaml"), yaml)?;
        let port = free_port();
        let child = Command::new(binary)
            .arg("--db")
            .arg(dir.join("usage.db"))
            .arg("serve")
            .arg("--listen")
            .arg(format!("127.0.0.1:{port}"))
            .arg("--upstream")
            .arg(format!("http://127.0.0.1:{upstream}"))
            .arg("--litellm-config")
            .arg(dir.join("config.yaml"))
            .env("MAGI_CONFIG", dir.join("magi.toml"))
            .env("MAGI_METRICS_DIR", dir.join("metrics"))
            .env("MAGI_LOG", "error")
            .env_remove("JOURNAL_STREAM")
            .env_remove("NOTIFY_SOCKET")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .with_context(|| format!("cannot start {}", binary.display()))?;
        let mut gateway = Gateway { child, port };
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(SocketAddr::from(([127, 0, 0, 1], port))).is_err() {
            if let Some(status) = gateway.child.try_wait()? {
                bail!("magi-limits serve exited ({status}) before it listened");
            }
            if Instant::now() > deadline {
                bail!("magi-limits serve did not listen on 127.0.0.1:{port} within 10 s");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(gateway)
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(self.child.id() as i32),
            nix::sys::signal::Signal::SIGTERM,
        );
        let _ = self.child.wait();
    }
}

fn paced_model() -> String {
    format!("standin-slow-stream-{PACE_MS}")
}

fn models() -> [String; 2] {
    [paced_model(), "standin-ok".to_owned()]
}

fn parse_args() -> anyhow::Result<Duration> {
    let mut duration = Duration::from_secs(15);
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--duration" => {
                let value = it.next().context("--duration needs a value")?;
                duration = parse_duration(&value).map_err(anyhow::Error::msg)?;
            }
            other => bail!("unknown argument '{other}' (usage: limits [--duration 15s])"),
        }
    }
    Ok(duration)
}

/// The CPUs the proxies run on, and those the load generator and the stand-in run on, when there are two
/// or more: a proxy's tail latency is then its own, not the wait for a core the load generator holds.
struct Cores {
    load: Vec<usize>,
    proxies: Vec<usize>,
}

impl Cores {
    /// The upper half of the CPUs this process may use for the proxies, the rest for the load.
    fn split() -> Option<Cores> {
        let allowed = sched_getaffinity(Pid::from_raw(0)).ok()?;
        let mut load: Vec<usize> = (0..CpuSet::count())
            .filter(|&cpu| allowed.is_set(cpu).unwrap_or(false))
            .collect();
        if load.len() < 2 {
            return None;
        }
        let proxies = load.split_off(load.len() - load.len() / 2);
        Some(Cores { load, proxies })
    }

    /// Pins this thread, and so the processes and threads it starts from now on, to `cpus`.
    fn pin(cpus: &[usize]) -> anyhow::Result<()> {
        let mut set = CpuSet::new();
        for &cpu in cpus {
            set.set(cpu)?;
        }
        sched_setaffinity(Pid::from_raw(0), &set).context("cannot set this thread's CPU affinity")
    }
}

impl std::fmt::Display for Cores {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "proxies on CPU {:?}, the load generator and the stand-in on CPU {:?}",
            self.proxies, self.load
        )
    }
}

fn bench(duration: Duration) -> anyhow::Result<()> {
    let exe = std::env::current_exe()?;
    let gateway_binary: PathBuf = exe.with_file_name("magi-limits");
    let cores = Cores::split();
    if let Some(cores) = &cores {
        Cores::pin(&cores.load)?;
    }
    let standin = OpenAiStandin::start();
    if let Some(cores) = &cores {
        Cores::pin(&cores.proxies)?;
    }
    let nginx = match Component::Nginx.check() {
        Ok(()) => Ok(Nginx::start_with(
            &format!(
                "    upstream standin {{ server 127.0.0.1:{}; keepalive 256; }}",
                standin.port()
            ),
            "location / { proxy_pass http://standin; proxy_http_version 1.1; \
             proxy_set_header Connection \"\"; proxy_buffering off; }",
        )),
        Err(why) => Err(why),
    };
    let dir = tempfile::Builder::new()
        .prefix("magi-limits-bench-")
        .tempdir()?;
    let gateway = if gateway_binary.is_file() {
        Gateway::start(&gateway_binary, dir.path(), standin.port()).map_err(|e| format!("{e:#}"))
    } else {
        Err(format!(
            "NOT MEASURED: {} is not built (cargo build --release -p magi-limits)",
            gateway_binary.display()
        ))
    };
    let routes = [
        Route {
            name: "direct",
            port: Some(standin.port()),
            proxy: Vec::new(),
            rss_pid: None,
            missing: String::new(),
        },
        match &nginx {
            Ok(n) => Route {
                name: "nginx",
                port: Some(n.port()),
                proxy: std::fs::read_to_string(n.prefix().join("nginx.pid"))
                    .ok()
                    .and_then(|pid| pid.trim().parse().ok())
                    .map(with_children)
                    .unwrap_or_default(),
                rss_pid: None,
                missing: String::new(),
            },
            Err(why) => Route {
                name: "nginx",
                port: None,
                proxy: Vec::new(),
                rss_pid: None,
                missing: format!("NOT MEASURED: nginx unavailable ({why})"),
            },
        },
        match &gateway {
            Ok(g) => Route {
                name: "magi-limits",
                port: Some(g.port),
                proxy: vec![g.child.id()],
                rss_pid: Some(g.child.id()),
                missing: String::new(),
            },
            Err(why) => Route {
                name: "magi-limits",
                port: None,
                proxy: Vec::new(),
                rss_pid: None,
                missing: why.clone(),
            },
        },
    ];
    let gateway_pid = gateway.as_ref().ok().map(|g| g.child.id());
    if let Some(cores) = &cores {
        Cores::pin(&cores.load)?;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    println!(
        "magi-limits benchmark: streaming chat completions from openai-standin on loopback, {TOKENS} tokens \
         per answer; {} measured per route and load in {ROUNDS} turns taken in rotation, each turn after \
         {} ms warm-up; one keep-alive connection per stream; nginx proxy_pass with proxy_buffering off and \
         upstream keepalive; magi-limits with no limits set, recording usage",
        magi_core::config::format_duration(duration),
        WARMUP.as_millis()
    );
    println!(
        "load average before the runs: {} (this machine's cores are shared; p99 figures move with it)",
        std::fs::read_to_string("/proc/loadavg")
            .unwrap_or_default()
            .split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" ")
    );
    println!(
        "{}",
        cores.as_ref().map_or_else(
            || "one CPU: the proxies share it with the load generator and the stand-in".to_owned(),
            Cores::to_string
        )
    );
    let mut rss_at_200 = None;
    for (kind, model) in [
        (
            format!("paced ({PACE_MS} ms between chunks)"),
            paced_model(),
        ),
        (
            "unpaced (as fast as it goes)".to_owned(),
            "standin-ok".to_owned(),
        ),
    ] {
        for concurrency in CONCURRENCY {
            println!("\n{concurrency} concurrent streams, {kind}:");
            println!(
                "  {:<12} {:>9} {:>11} {:>11} {:>11} {:>11} {:>7} {:>15}",
                "route",
                "answers/s",
                "1st byte p50",
                "p99",
                "whole p50",
                "p99",
                "errors",
                "proxy CPU/answer"
            );
            // The routes take turns, a slice of the duration each per round, in a rotating order, so a
            // change in the machine's load over the run falls on every route alike.
            let paced = model == paced_model();
            let mut runs: Vec<Run> = routes.iter().map(|_| Run::default()).collect();
            for round in 0..ROUNDS {
                for turn in 0..routes.len() {
                    let index = (turn + round) % routes.len();
                    let Some(port) = routes[index].port else {
                        continue;
                    };
                    let slice = duration / ROUNDS as u32;
                    runs[index].add(load(
                        &runtime,
                        port,
                        concurrency,
                        &model,
                        slice,
                        &routes[index].proxy,
                        routes[index].rss_pid,
                    ));
                }
            }
            let mut figures = Vec::new();
            for (route, mut run) in routes.iter().zip(runs) {
                if route.port.is_none() {
                    println!("  {:<12} {}", route.name, route.missing);
                    figures.push(None);
                    continue;
                }
                let (first50, first99) = p50_p99(&mut run.first_byte);
                let (whole50, whole99) = p50_p99(&mut run.whole);
                let figure = Figures {
                    rate: run.rate(),
                    first50,
                    first99,
                    whole50,
                    whole99,
                    cpu_us: run.cpu_per_answer_us(),
                };
                let cpu = if route.proxy.is_empty() {
                    "-".to_owned()
                } else {
                    format!("{:.1}us", figure.cpu_us)
                };
                println!(
                    "  {:<12} {:>9.0} {:>9.2}ms {:>9.2}ms {:>9.2}ms {:>9.2}ms {:>7} {cpu:>15}",
                    route.name,
                    figure.rate,
                    figure.first50,
                    figure.first99,
                    figure.whole50,
                    figure.whole99,
                    run.errors
                );
                if concurrency == 200 && model == paced_model() && run.rss_kib.is_some() {
                    rss_at_200 = run.rss_kib;
                }
                figures.push(Some(figure));
            }
            let direct = figures[0];
            for (route, figure) in routes.iter().zip(&figures).skip(1) {
                let (Some(d), Some(f)) = (direct, figure) else {
                    continue;
                };
                let p99_added = (f.first99 - d.first99).max(f.whole99 - d.whole99);
                // Unpaced runs saturate the cores, so their latencies are queueing, not overhead.
                let verdict = match (paced, p99_added <= TARGET_P99_ADDED_MS) {
                    (false, _) => "saturated: not judged against",
                    (true, true) => "meets",
                    (true, false) => "misses",
                };
                println!(
                    "  added by {}: 1st byte p50 {:+.2} ms, p99 {:+.2} ms; whole p50 {:+.2} ms, p99 {:+.2} ms \
                     ({verdict} the target p99 added <= {TARGET_P99_ADDED_MS} ms)",
                    route.name,
                    f.first50 - d.first50,
                    f.first99 - d.first99,
                    f.whole50 - d.whole50,
                    f.whole99 - d.whole99
                );
            }
            if let (Some(n), Some(g)) = (figures[1], figures[2]) {
                let ratio = g.rate / n.rate;
                println!(
                    "  throughput magi-limits / nginx: {ratio:.2}x ({} the target >= {TARGET_THROUGHPUT_RATIO}x); \
                     CPU per answer magi-limits / nginx: {:.2}x",
                    if ratio >= TARGET_THROUGHPUT_RATIO {
                        "meets"
                    } else {
                        "misses"
                    },
                    g.cpu_us / n.cpu_us
                );
            }
        }
    }
    println!();
    if let Ok(nginx) = &nginx {
        let log = nginx.error_log();
        let errors: Vec<&str> = log.lines().filter(|l| l.contains("[error]")).collect();
        if let Some(first) = errors.first() {
            println!("nginx logged {} errors; the first: {first}", errors.len());
        }
    }
    match (gateway_pid, rss_at_200) {
        (Some(pid), Some(rss)) => {
            let peak = rss_kib(pid, "VmHWM").unwrap_or(rss);
            let mb = |kib: u64| kib as f64 / 1024.0;
            println!(
                "magi-limits RSS with 200 concurrent paced streams open: {:.1} MB (peak over the whole run {:.1} MB; \
                 {} the target <= {TARGET_RSS_MB} MB)",
                mb(rss),
                mb(peak),
                if mb(peak) <= TARGET_RSS_MB {
                    "meets"
                } else {
                    "misses"
                }
            );
        }
        _ => println!("magi-limits RSS: NOT MEASURED ({})", routes[2].missing),
    }
    drop(gateway);
    Ok(())
}

fn main() -> ExitCode {
    magi_bench::main("limits", || parse_args().and_then(bench))
}
