//! magi-limits: an OpenAI-compatible gateway before LiteLLM that enforces rate limits, quotas and budgets,
//! queues, breaks circuits to failing models and records what every request used.
//!
//! The binary parses [`cli::Cli`] and calls [`run`]. The stores are libraries of their own so magi-costs can
//! read them: [`usage`] (one row per request, batched writes, totals and spend queries) and [`policy`]
//! (limits, quotas, budgets, priorities), both in one SQLite file described by [`db`]; [`clock`] says what
//! "now" is and where days and months begin. The gateway is [`gateway`], deciding with pure pieces:
//! [`identity`], [`ledger`] (quotas and budgets), [`limiter`] (rate limits and the queue), [`breaker`],
//! [`sse`] (event splitting), [`openai`] (reading requests and usage), [`prices`] and [`metrics`]. It serves
//! clients with hyper and talks to LiteLLM through [`upstream`] (a pool of kept-alive connections) in the
//! HTTP/1.1 of [`h1`]. The gateway runs on a small multi-threaded tokio runtime (`serve --threads`, 2 by
//! default); SQLite writes happen on their own thread.

pub mod breaker;
pub mod cli;
pub mod gateway;
pub mod h1;
pub mod identity;
pub mod ledger;
pub mod limiter;
pub mod metrics;
pub mod openai;
pub mod prices;
pub mod sse;
pub mod upstream;

use std::io::Write as _;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use magi_core::cli::Context;
use magi_core::daemon;
use magi_core::format::{self, thousands};
use magi_core::table::Table;
use serde::Serialize;

use crate::breaker::BreakerSettings;
use crate::cli::{
    BudgetCommand, Cli, Command, ErrorsCommand, PriorityCommand, QuotaCommand, ServeArgs, SetArgs,
};
use crate::gateway::{Gateway, Settings};
use crate::limiter::QueueSettings;
use magi_usage::keys::KeyHolders;
use magi_usage::policy::{Policy, Scope};
use magi_usage::usage::{GroupBy, UsageStore};
use magi_usage::{clock, db};

/// Runs the command line; returns the exit code. `keys` opens the API key holders of a `users.db` (the
/// binary passes magi-users' lookup).
pub fn run(cli: Cli, keys: impl FnOnce(PathBuf) -> Arc<dyn KeyHolders>) -> anyhow::Result<u8> {
    let context = cli.common.start("magi-limits")?;
    clock::start();
    let db = cli
        .db
        .clone()
        .unwrap_or_else(|| db::default_path(&context.paths));
    match cli.command {
        Command::Serve(args) => {
            let users_db = args
                .users_db
                .clone()
                .unwrap_or_else(|| context.paths.state_dir.join("users.db"));
            serve(&context, db, &args, keys(users_db))
        }
        Command::Set(args) => set(&db, &args),
        Command::Show(args) => show(&db, args.json),
        Command::Quota(QuotaCommand::Set {
            user,
            tokens_per_day,
        }) => {
            Policy::open(&db)?.set_quota(&user, tokens_per_day)?;
            log::info!(
                "quota of {user}: {} tokens per day",
                thousands(tokens_per_day)
            );
            Ok(0)
        }
        Command::Quota(QuotaCommand::Clear { user }) => {
            Policy::open(&db)?.clear_quota(&user)?;
            log::info!("quota of {user} removed");
            Ok(0)
        }
        Command::Budget(BudgetCommand::Set {
            daily,
            monthly,
            user,
        }) => {
            Policy::open(&db)?.set_budget(user.as_deref(), daily, monthly)?;
            log::info!("budget of {} set", user.as_deref().unwrap_or("everyone"));
            Ok(0)
        }
        Command::Budget(BudgetCommand::Clear { user }) => {
            Policy::open(&db)?.clear_budget(user.as_deref())?;
            log::info!(
                "budget of {} removed",
                user.as_deref().unwrap_or("everyone")
            );
            Ok(0)
        }
        Command::Priority(PriorityCommand::Set { who, priority }) => {
            Policy::open(&db)?.set_priority(&who, priority)?;
            Ok(0)
        }
        Command::Breakers(args) => breakers(&db, args.json),
        Command::Errors(ErrorsCommand::Recent { since, json }) => errors(&db, since, json.json),
    }
}

fn serve(
    context: &Context,
    db: PathBuf,
    args: &ServeArgs,
    keys: Arc<dyn KeyHolders>,
) -> anyhow::Result<u8> {
    let settings = Settings {
        upstream: args.upstream.clone(),
        db,
        litellm_config: args
            .litellm_config
            .clone()
            .unwrap_or_else(|| context.config.stack.home.join("config/litellm/config.yaml")),
        queue: QueueSettings {
            max_waiting: args.queue_max,
            max_wait: args.queue_wait,
        },
        breaker: BreakerSettings {
            failures: args.breaker_failures,
            window: args.breaker_window,
            cooldown: args.breaker_cooldown,
        },
        retries: args.retries,
        backoff: args.backoff,
        connect_timeout: args.connect_timeout,
        first_byte_timeout: args.first_byte_timeout,
        idle_timeout: args.idle_timeout,
        flush_every: args.flush_interval,
        metrics: (!args.no_metrics).then(|| {
            args.metrics_dir
                .clone()
                .unwrap_or_else(|| magi_tsdb::default_dir(&context.paths.state_dir))
        }),
        max_body: args.max_body,
        body_timeout: args.body_timeout,
        serving: magi_serve::Bounds {
            header_timeout: args.header_timeout,
            max_connections: args
                .max_connections
                .map_or_else(magi_serve::connection_limit, |n| n as usize),
            grace: args.grace,
        },
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(usize::from(args.threads))
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async {
        let listener = daemon::listener(args.listen).await?;
        let (gateway, policy) = Gateway::start(settings, keys)?;
        log::info!(
            "gateway on http://{} before LiteLLM at {}",
            listener.local_addr()?,
            args.upstream
        );
        daemon::ready("serving");
        if let Some(interval) = daemon::watchdog_interval() {
            tokio::spawn(async move {
                let mut tick = tokio::time::interval(interval / 2);
                loop {
                    tick.tick().await;
                    daemon::watchdog_ping();
                }
            });
        }
        gateway::serve(listener, gateway, policy, daemon::stop_signal()).await?;
        daemon::stopping();
        Ok::<_, anyhow::Error>(())
    })?;
    Ok(0)
}

fn set(db: &std::path::Path, args: &SetArgs) -> anyhow::Result<u8> {
    let (scope, name) = match (&args.model, &args.user) {
        (_, Some(user)) => (Scope::User, user.as_str()),
        (Some(model), None) => (Scope::Model, model.as_str()),
        (None, None) => unreachable!("clap requires a model or --user"),
    };
    let mut policy = Policy::open(db)?;
    if args.clear {
        policy.clear_rate_limit(scope, name)?;
        log::info!("limits of {name} removed");
    } else {
        policy.set_rate_limit(scope, name, args.rpm.or(args.rpm_given), args.tpm)?;
        log::info!("limits of {name} set");
    }
    Ok(0)
}

fn print_json<T: Serialize>(records: impl IntoIterator<Item = T>) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    for record in records {
        serde_json::to_writer(&mut out, &record)?;
        writeln!(out)?;
    }
    Ok(())
}

fn or_dash<T: ToString>(v: Option<T>) -> String {
    v.map_or("-".into(), |v| v.to_string())
}

#[derive(Debug, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum ShowRecord {
    RateLimit {
        scope: Scope,
        name: String,
        rpm: Option<u64>,
        tpm: Option<u64>,
        requests_last_minute: u64,
        tokens_last_minute: u64,
    },
    Quota {
        user: String,
        tokens_per_day: u64,
        tokens_today: u64,
    },
    Budget {
        user: Option<String>,
        daily_usd: Option<f64>,
        spent_today_usd: f64,
        monthly_usd: Option<f64>,
        spent_this_month_usd: f64,
    },
}

fn show(db: &std::path::Path, json: bool) -> anyhow::Result<u8> {
    let snapshot = Policy::open(db)?.snapshot()?;
    let store = UsageStore::open(db)?;
    let now = clock::now();
    let minute_ago = now - jiff::SignedDuration::from_secs(60);
    let by_model = store.activity(GroupBy::Model, minute_ago)?;
    let by_user = store.activity(GroupBy::User, minute_ago)?;
    let mut records = Vec::new();
    for limit in &snapshot.rate_limits {
        let activity = match limit.scope {
            Scope::Model => &by_model,
            Scope::User => &by_user,
        }
        .iter()
        .find(|a| a.name == limit.name);
        records.push(ShowRecord::RateLimit {
            scope: limit.scope,
            name: limit.name.clone(),
            rpm: limit.rpm,
            tpm: limit.tpm,
            requests_last_minute: activity.map_or(0, |a| a.requests),
            tokens_last_minute: activity.map_or(0, |a| a.tokens),
        });
    }
    let (day, next_day) = (clock::day_start(now), clock::next_day(now));
    let (month, next_month) = (clock::month_start(now), clock::next_month(now));
    for quota in &snapshot.quotas {
        records.push(ShowRecord::Quota {
            user: quota.user.clone(),
            tokens_per_day: quota.tokens_per_day,
            tokens_today: store.spent(Some(&quota.user), day, next_day)?.tokens,
        });
    }
    for budget in &snapshot.budgets {
        let user = budget.user.as_deref();
        records.push(ShowRecord::Budget {
            user: budget.user.clone(),
            daily_usd: budget.daily_usd,
            spent_today_usd: store.spent(user, day, next_day)?.cost_usd,
            monthly_usd: budget.monthly_usd,
            spent_this_month_usd: store.spent(user, month, next_month)?.cost_usd,
        });
    }
    if json {
        print_json(&records)?;
        return Ok(0);
    }
    if records.is_empty() {
        println!("no limits, quotas or budgets set (see magi-limits set --help)");
        return Ok(0);
    }
    let mut table = Table::new(["LIMIT", "NAME", "SET", "USED"]);
    for record in &records {
        table.row(match record {
            ShowRecord::RateLimit {
                scope,
                name,
                rpm,
                tpm,
                requests_last_minute,
                tokens_last_minute,
            } => vec![
                format!("{scope:?} rate").to_lowercase(),
                name.clone(),
                format!("{} rpm, {} tpm", or_dash(*rpm), or_dash(*tpm)),
                format!("{requests_last_minute} requests, {tokens_last_minute} tokens in the last minute"),
            ],
            ShowRecord::Quota {
                user,
                tokens_per_day,
                tokens_today,
            } => vec![
                "quota".into(),
                user.clone(),
                format!("{} tokens/day", thousands(*tokens_per_day)),
                format!("{} tokens today", thousands(*tokens_today)),
            ],
            ShowRecord::Budget {
                user,
                daily_usd,
                spent_today_usd,
                monthly_usd,
                spent_this_month_usd,
            } => vec![
                "budget".into(),
                user.clone().unwrap_or_else(|| "(everyone)".into()),
                format!(
                    "{}/day, {}/month",
                    or_dash(daily_usd.map(|v| format!("${v:.2}"))),
                    or_dash(monthly_usd.map(|v| format!("${v:.2}")))
                ),
                format!("${spent_today_usd:.2} today, ${spent_this_month_usd:.2} this month"),
            ],
        });
    }
    table.write(&mut std::io::stdout().lock())?;
    Ok(0)
}

fn breakers(db: &std::path::Path, json: bool) -> anyhow::Result<u8> {
    let rows = UsageStore::open(db)?.breakers()?;
    if json {
        print_json(&rows)?;
        return Ok(0);
    }
    if rows.is_empty() {
        println!("no breaker has changed state yet: every model is closed (healthy)");
        return Ok(0);
    }
    let mut table = Table::new(["MODEL", "STATE", "FAILURES", "SINCE", "LAST ERROR"]).right([2]);
    for b in rows {
        table.row([
            b.model,
            b.state,
            b.failures.to_string(),
            format::time(b.since),
            b.last_error.unwrap_or_default(),
        ]);
    }
    table.write(&mut std::io::stdout().lock())?;
    Ok(0)
}

fn errors(db: &std::path::Path, since: Duration, json: bool) -> anyhow::Result<u8> {
    let from = clock::now() - jiff::SignedDuration::try_from(since)?;
    let groups = UsageStore::open(db)?.recent_errors(from)?;
    if json {
        print_json(&groups)?;
        return Ok(0);
    }
    if groups.is_empty() {
        println!("no upstream failures since {}", format::minute(from));
        return Ok(0);
    }
    let mut table = Table::new(["MODEL", "STATUS", "COUNT", "LAST", "ERROR"]).right([2]);
    for g in groups {
        table.row([
            g.model,
            g.status.to_string(),
            g.count.to_string(),
            format::time(g.last),
            g.error,
        ]);
    }
    table.write(&mut std::io::stdout().lock())?;
    Ok(0)
}
