//! magi-health: see the whole MAGI stack at a glance, and heal it.
//!
//! The binary parses [`cli::Cli`] and calls [`run`]; everything else is here. Checking is
//! [`magi_check`]'s; this crate emits what it finds ([`render`]), keeps watch ([`watch`], healing by
//! [`heal`]), records it ([`history`], and each round's figures in the metrics store by [`feed`]) and serves it ([`server`], [`page`], [`metrics`]). Everything runs on one
//! current-thread tokio runtime: the work is waiting on sockets, and one thread keeps memory small.

pub mod cli;
pub mod feed;
pub mod heal;
pub mod history;
pub mod metrics;
pub mod page;
pub mod render;
pub mod server;
pub mod watch;

use std::io::{IsTerminal, Write};
use std::sync::Arc;

use anyhow::Context as _;
use magi_check::validate::{Outcome, validate};
use magi_check::{Checker, Options, Thresholds};
use magi_core::cli::Context;
use magi_core::event::EventWriter;
use magi_core::exit::{PluginStatus, UsageError};
use magi_core::format;
use magi_core::table::Table;
use magi_docker::Engine;

use crate::cli::{
    CheckArgs, Cli, Command, HistoryArgs, Limits, ServeArgs, ValidateArgs, WatchArgs,
};
use crate::history::{Entry, History};

/// Runs the command line; the exit code follows the monitoring-plugin convention.
pub fn run(cli: Cli) -> anyhow::Result<u8> {
    let context = cli.common.start("magi-health")?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    match cli.command {
        None => runtime.block_on(check(&context, &cli.check)),
        Some(Command::Watch(args)) => runtime.block_on(watch(&context, &args)),
        Some(Command::History(args)) => history(&context, &args),
        Some(Command::Serve(args)) => runtime.block_on(serve(&context, &args)),
        Some(Command::Validate(args)) => runtime.block_on(validate_stack(&context, &args)),
    }
}

fn options(limits: &Limits) -> Options {
    Options {
        timeout: limits.timeout,
        thresholds: Thresholds {
            slow: limits.slow,
            ..Thresholds::default()
        },
        ..Options::default()
    }
}

async fn checker(context: &Context, options: Options) -> anyhow::Result<Checker> {
    let engine = Engine::connect().await?;
    Ok(Checker::new(engine, context.config.clone(), options))
}

async fn check(context: &Context, args: &CheckArgs) -> anyhow::Result<u8> {
    let selected: Vec<String> = context
        .config
        .select(&args.service)?
        .into_iter()
        .map(|s| s.name.clone())
        .collect();
    let narrowed = !args.service.is_empty();
    let checker = checker(context, options(&args.limits)).await?;
    let report = checker.check(narrowed.then_some(selected.as_slice())).await;
    let status = render::plugin_status(&report, narrowed);
    let none_found = report.services.iter().all(
        |s| matches!(&s.observation.container, Ok(c) if c.state == magi_docker::State::Missing),
    );
    if none_found {
        log::warn!(
            "no MAGI containers found on {} (looked for {}): is the stack up? If it runs under other names, \
             set MAGI_HOME to its checkout or describe it in /etc/magi/magi.toml (see `magi config show`)",
            magi_docker::engine::docker_host(),
            report
                .services
                .iter()
                .map(|s| s.service.container.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    if args.json {
        let mut writer = EventWriter::new(&mut out);
        for event in render::events(&report) {
            writer.write(&event).context("writing events")?;
        }
    } else if args.nagios {
        writeln!(out, "{}", render::nagios(&report, status, narrowed))
            .context("writing the result")?;
    } else {
        let palette = render::Palette::new(std::io::stdout().is_terminal());
        out.write_all(render::table(&report, palette).as_bytes())
            .context("writing the table")?;
    }
    Ok(status.code())
}

/// The socket systemd passed, else `addr` bound; an address that cannot be had is a usage error.
async fn bind(addr: std::net::SocketAddr) -> anyhow::Result<tokio::net::TcpListener> {
    magi_core::daemon::listener(addr)
        .await
        .map_err(|e| UsageError(e.to_string()).into())
}

async fn watch(context: &Context, args: &WatchArgs) -> anyhow::Result<u8> {
    let checker = checker(context, options(&args.limits)).await?;
    let history_path = History::default_path(&context.paths.state_dir);
    let history = History::open(&history_path)?;
    let events: Option<Box<dyn Write>> = args
        .json
        .then(|| Box::new(std::io::stdout()) as Box<dyn Write>);
    let policy = args.restart_unhealthy.then_some(heal::Policy {
        after: args.after,
        backoff: args.backoff,
        max_per_hour: args.max_restarts_per_hour,
    });
    let watchdog = magi_core::daemon::watchdog_interval();
    if let Some(w) = watchdog
        && w <= args.limits.timeout
    {
        // A round may wait that long on a slow Docker; only the pings while it waits keep us alive.
        log::warn!(
            "WatchdogSec={}s is not longer than a check may take (--timeout {}s): a slow Docker will get this service killed",
            w.as_secs_f64(),
            args.limits.timeout.as_secs_f64()
        );
    }
    let mut watcher = watch::Watcher::new(
        checker,
        watch::SystemClock,
        magi_core::daemon::Systemd::from_env(),
        watch::WatchOptions {
            interval: args.interval,
            heal: policy,
            watchdog,
        },
        Some(history),
        events,
    );
    if !args.no_metrics {
        let dir = args
            .metrics_dir
            .clone()
            .unwrap_or_else(|| magi_tsdb::default_dir(&context.paths.state_dir));
        match magi_tsdb::Writer::open(
            &dir,
            feed::SHARD,
            magi_tsdb::Tiers::default(),
            magi_tsdb::store::Limits::default(),
        ) {
            Ok(writer) => {
                log::info!(
                    "keeping each round's figures in {}",
                    writer.path().display()
                );
                watcher = watcher.with_metrics(writer);
            }
            // The checks and healing matter more than the charts: watch on, and say why not.
            Err(e) => log::warn!("{e}; the figures are not kept"),
        }
    }
    let (stop_server, server_stopped) = tokio::sync::oneshot::channel::<()>();
    let server = match args.listen {
        Some(addr) => {
            let listener = bind(addr).await?;
            log::info!("serving /healthz, /status and /metrics on http://{addr}");
            let source = Arc::new(server::Source::Watch(watcher.subscribe()));
            Some(tokio::spawn(server::serve(
                listener,
                source,
                args.interval,
                async {
                    server_stopped.await.ok();
                },
            )))
        }
        None => None,
    };
    let result = watcher.run(magi_core::daemon::stop_signal()).await;
    stop_server.send(()).ok();
    if let Some(server) = server {
        server.await.ok();
    }
    result.context("writing events")?;
    Ok(PluginStatus::Ok.code())
}

fn history(context: &Context, args: &HistoryArgs) -> anyhow::Result<u8> {
    if let Some(name) = &args.service
        && name != "stack"
    {
        context.config.select(std::slice::from_ref(name))?;
    }
    let subject = args.service.as_deref().map(|name| {
        context
            .config
            .service(name)
            .map_or(name, |s| s.name.as_str())
    });
    let path = History::default_path(&context.paths.state_dir);
    let since = jiff::Timestamp::now()
        .checked_sub(jiff::SignedDuration::try_from(args.since).context("--since is too long")?)
        .context("--since reaches before the epoch")?;
    let entries = if path.exists() {
        History::open(&path)?.entries(since, subject)?
    } else {
        log::info!(
            "no history yet at {}: magi-health watch records it",
            path.display()
        );
        Vec::new()
    };
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    if args.json {
        for entry in &entries {
            let line = serde_json::to_string(entry).context("encoding a history record")?;
            writeln!(out, "{line}").context("writing the history")?;
        }
    } else if !entries.is_empty() {
        let mut table = Table::new(["AT", "SERVICE", "CHANGE", "DETAIL"]);
        for entry in &entries {
            let at = format::time(entry.ts());
            match entry {
                Entry::Change {
                    subject,
                    from,
                    to,
                    message,
                    ..
                } => {
                    let from = from.as_deref().unwrap_or("-");
                    table.row([
                        at,
                        subject.clone(),
                        format!("{from} -> {to}"),
                        message.clone(),
                    ]);
                }
                Entry::Restart {
                    subject,
                    reason,
                    outcome,
                    ..
                } => table.row([
                    at,
                    subject.clone(),
                    "restart".to_owned(),
                    format!("{outcome}: {reason}"),
                ]),
            }
        }
        table.write(&mut out).context("writing the history")?;
    }
    Ok(PluginStatus::Ok.code())
}

async fn serve(context: &Context, args: &ServeArgs) -> anyhow::Result<u8> {
    let checker = checker(context, options(&args.limits)).await?;
    let listener = bind(args.listen).await?;
    log::info!(
        "serving /healthz, /status and /metrics on http://{}",
        args.listen
    );
    let source = server::Source::on_demand(
        checker,
        args.max_age,
        Some(History::default_path(&context.paths.state_dir)),
    );
    server::serve(
        listener,
        Arc::new(source),
        args.max_age.max(std::time::Duration::from_secs(5)),
        magi_core::daemon::stop_signal(),
    )
    .await;
    Ok(PluginStatus::Ok.code())
}

async fn validate_stack(context: &Context, args: &ValidateArgs) -> anyhow::Result<u8> {
    let checker = checker(
        context,
        Options {
            timeout: args.check_timeout,
            ..Options::default()
        },
    )
    .await?;
    let stdout = std::io::stdout();
    let outcome = validate(&checker, args.timeout, |waiting| {
        let mut out = stdout.lock();
        let names: Vec<String> = waiting
            .iter()
            .map(|w| format!("{} ({})", w.service, w.reason))
            .collect();
        let _ = writeln!(out, "waiting for {}", names.join(", "));
    })
    .await;
    let mut out = stdout.lock();
    match outcome {
        Outcome::Ready { waited, .. } => {
            writeln!(
                out,
                "ready: every core service is up (after {:.1}s)",
                waited.as_secs_f64()
            )
            .context("writing the result")?;
            Ok(PluginStatus::Ok.code())
        }
        Outcome::TimedOut { waiting, .. } => {
            let names: Vec<&str> = waiting.iter().map(|w| w.service.as_str()).collect();
            writeln!(
                out,
                "not ready after {}s: still waiting for {}",
                args.timeout.as_secs(),
                names.join(", ")
            )
            .context("writing the result")?;
            Ok(PluginStatus::Critical.code())
        }
    }
}
