//! magi-costs end to end: the built binary over a usage database filled through magi-limits' own writer
//! (`magi_usage::usage::Recorder`) and budgets set through its policy store; exact sums per day, week and
//! month, by model and user, as JSON, CSV and a table; `check` at 80 % and 100 % once per period, across a
//! day and a month boundary (`MAGI_LIMITS_NOW`), and its events through the real magi-alert.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use magi_testkit::{WebhookReceiver, bin};
use magi_usage::policy::Policy;
use magi_usage::usage::{Record, Recorder};
use serde_json::Value;

/// A usage record with binary-exact costs, so sums compare exactly.
fn record(ts: &str, user: &str, model: &str, tokens: (u64, u64), cost_usd: f64) -> Record {
    Record {
        ts: ts.parse().unwrap(),
        user: user.into(),
        model: model.into(),
        prompt_tokens: tokens.0,
        completion_tokens: tokens.1,
        cost_usd,
        latency_ms: 40,
        first_byte_ms: None,
        status: 200,
        disconnected: false,
        key_prefix: None,
        path: "/v1/chat/completions".into(),
        error: None,
    }
}

struct Costs {
    dir: tempfile::TempDir,
}

impl Costs {
    /// A temp dir with an empty config (the built-in MAGI defaults).
    fn new() -> Costs {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("magi.toml"), "").unwrap();
        Costs { dir }
    }

    fn db(&self) -> PathBuf {
        self.dir.path().join("state/usage.db")
    }

    /// Writes `records` through the gateway's batched writer and waits until they are committed.
    fn record(&self, records: &[Record]) {
        let recorder = Recorder::start(&self.db(), Duration::from_millis(20)).unwrap();
        for r in records {
            assert!(recorder.record(r.clone()));
        }
        recorder.finish();
    }

    fn command(&self, now: Option<&str>, args: &[&str]) -> Command {
        let mut command = bin("magi-costs");
        command
            .arg("--db")
            .arg(self.db())
            .args(args)
            .env("MAGI_CONFIG", self.dir.path().join("magi.toml"))
            .env_remove("JOURNAL_STREAM")
            .env_remove("MAGI_LOG")
            .env_remove("MAGI_LIMITS_DB");
        match now {
            Some(now) => command.env("MAGI_LIMITS_NOW", now),
            None => command.env_remove("MAGI_LIMITS_NOW"),
        };
        command
    }

    fn run(&self, now: Option<&str>, args: &[&str]) -> String {
        let out = self.command(now, args).output().unwrap();
        assert!(
            out.status.success(),
            "magi-costs {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    fn json(&self, now: Option<&str>, args: &[&str]) -> Vec<Value> {
        self.run(now, args)
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
            .collect()
    }
}

fn fill(costs: &Costs) {
    costs.record(&[
        record("2026-11-22T23:59:59.999Z", "ann", "gpt-4o", (100, 50), 0.25), // a Sunday
        record("2026-11-23T00:00:00.000Z", "ann", "gpt-4o", (10, 5), 0.125), // Monday: a new ISO week
        record(
            "2026-11-23T09:30:00.000Z",
            "bob",
            "claude",
            (1_000, 2_000),
            1.5,
        ),
        record("2026-11-23T18:00:00.000Z", "bob", "gpt-4o", (7, 3), 0.0625),
        record("2026-12-01T00:00:00.000Z", "ann", "claude", (1, 1), 2.0), // a new month
    ]);
}

#[test]
fn costs_daily_sums_are_exact() {
    let costs = Costs::new();
    fill(&costs);
    let rows = costs.json(None, &["--daily", "--by", "none", "--json"]);
    let days: Vec<(&str, u64, u64, u64, f64)> = rows
        .iter()
        .map(|r| {
            (
                r["start"].as_str().unwrap(),
                r["requests"].as_u64().unwrap(),
                r["prompt_tokens"].as_u64().unwrap(),
                r["completion_tokens"].as_u64().unwrap(),
                r["cost_usd"].as_f64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        days,
        [
            ("2026-11-22", 1, 100, 50, 0.25),
            ("2026-11-23", 3, 1_017, 2_008, 1.6875),
            ("2026-12-01", 1, 1, 1, 2.0),
        ]
    );
    assert_eq!(rows[1]["total_tokens"], 3_025);
    assert_eq!(rows[1]["period"], "day");
    assert_eq!(rows[1]["end"], "2026-11-23");
    // The default is daily, split by model: token use per model in the CLI, the roadmap's first cost
    // feature.
    let by_model = costs.json(None, &["--daily", "--by", "model", "--json"]);
    assert_eq!(costs.json(None, &["--json"]), by_model);
    assert_eq!(by_model.len(), 4, "{by_model:?}");
    assert_eq!(
        (
            by_model[1]["model"].as_str(),
            by_model[1]["requests"].as_u64()
        ),
        (Some("claude"), Some(1)),
        "{by_model:?}"
    );
}

#[test]
fn costs_weeks_by_model_as_csv_and_months_by_user_as_a_table() {
    let costs = Costs::new();
    fill(&costs);
    let csv = costs.run(None, &["--weekly", "--by", "model", "--csv"]);
    assert_eq!(
        csv.lines().collect::<Vec<_>>(),
        [
            "period,start,end,model,requests,prompt_tokens,completion_tokens,total_tokens,cost_usd",
            "week,2026-11-16,2026-11-22,gpt-4o,1,100,50,150,0.25",
            "week,2026-11-23,2026-11-29,claude,1,1000,2000,3000,1.5",
            "week,2026-11-23,2026-11-29,gpt-4o,2,17,8,25,0.1875",
            "week,2026-11-30,2026-12-06,claude,1,1,1,2,2",
        ]
    );

    let table = costs.run(None, &["--monthly", "--by", "user"]);
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), 5, "{table}");
    let cells = |line: &str| {
        line.split_whitespace()
            .map(str::to_owned)
            .collect::<Vec<_>>()
    };
    assert_eq!(
        cells(lines[0]),
        [
            "PERIOD",
            "USER",
            "REQUESTS",
            "PROMPT",
            "COMPLETION",
            "TOKENS",
            "COST"
        ]
    );
    assert_eq!(
        cells(lines[1]),
        ["2026-11", "ann", "2", "110", "55", "165", "$0.3750"]
    );
    assert_eq!(
        cells(lines[2]),
        ["2026-11", "bob", "2", "1,007", "2,003", "3,010", "$1.5625"]
    );
    assert_eq!(
        cells(lines[4]),
        ["total", "5", "1,118", "2,059", "3,177", "$3.9375"]
    );

    // --since cuts at 00:00 UTC of the date.
    let since = costs.json(None, &["--since", "2026-11-23", "--by", "user", "--json"]);
    let users: Vec<(&str, &str, f64)> = since
        .iter()
        .map(|r| {
            (
                r["start"].as_str().unwrap(),
                r["user"].as_str().unwrap(),
                r["cost_usd"].as_f64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        users,
        [
            ("2026-11-23", "ann", 0.125),
            ("2026-11-23", "bob", 1.5625),
            ("2026-12-01", "ann", 2.0)
        ]
    );
    // A relative --since counts back from today on the same clock.
    let recent = costs.json(Some("2026-12-01T12:00:00Z"), &["--since", "1d", "--json"]);
    assert_eq!(recent.len(), 1, "{recent:?}");
    assert_eq!(recent[0]["start"], "2026-12-01");
}

#[test]
fn costs_bad_input_is_one_line_and_exit_2() {
    let costs = Costs::new();
    let out = costs
        .command(None, &["--since", "last tuesday"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("neither a date"), "{stderr}");
    let out = costs
        .command(None, &["--daily", "--monthly"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    // No database yet: said plainly, exit 0, and nothing created.
    let text = costs.run(None, &[]);
    assert!(text.starts_with("no usage recorded yet"), "{text}");
    assert!(!costs.db().exists());
    assert_eq!(costs.run(None, &["--json"]), "");
}

/// The check's events, one run at `now`.
fn check(costs: &Costs, now: &str) -> Vec<Value> {
    costs.json(Some(now), &["check", "--json"])
}

fn summary(events: &[Value]) -> Vec<(String, String, i64)> {
    events
        .iter()
        .map(|e| {
            assert_eq!(e["kind"], "budget.threshold");
            assert_eq!(e["source"], "magi-costs");
            assert_eq!(e["v"], 1);
            (
                e["subject"].as_str().unwrap().to_owned(),
                e["severity"].as_str().unwrap().to_owned(),
                e["data"]["threshold"].as_i64().unwrap(),
            )
        })
        .collect()
}

fn s(subject: &str, severity: &str, threshold: i64) -> (String, String, i64) {
    (subject.to_owned(), severity.to_owned(), threshold)
}

#[test]
fn costs_check_sends_80_and_100_percent_once_per_period_and_magi_alert_follows() {
    let costs = Costs::new();
    costs.record(&[]);
    let mut policy = Policy::open(&costs.db()).unwrap();
    policy.set_budget(Some("ann"), Some(1.0), None).unwrap();
    policy.set_budget(None, None, Some(2.0)).unwrap();
    drop(policy);
    let noon = "2026-11-24T12:00:00Z";
    let mut all = Vec::new();

    costs.record(&[record(
        "2026-11-24T08:00:00Z",
        "ann",
        "gpt-4o",
        (10, 10),
        0.875,
    )]);
    let events = check(&costs, noon);
    assert_eq!(summary(&events), [s("daily:ann", "warning", 80)]);
    assert_eq!(
        events[0]["message"],
        "ann used 87 % of the daily budget: $0.88 of $1.00 (resets 2026-11-25 00:00 UTC)"
    );
    assert_eq!(events[0]["data"]["spent_usd"], 0.875);
    // The clock starts at MAGI_LIMITS_NOW and runs on.
    assert!(
        events[0]["ts"]
            .as_str()
            .is_some_and(|ts| ts.starts_with("2026-11-24T12:00:0")),
        "{}",
        events[0]["ts"]
    );
    all.extend(events);
    assert_eq!(
        check(&costs, noon),
        Vec::<Value>::new(),
        "the 80 % event goes once a day"
    );

    costs.record(&[record(
        "2026-11-24T09:00:00Z",
        "ann",
        "gpt-4o",
        (10, 10),
        0.25,
    )]);
    let events = check(&costs, noon);
    assert_eq!(summary(&events), [s("daily:ann", "critical", 100)]);
    all.extend(events);

    // Bob's spend takes everyone to 81.25 % of the monthly budget; ann's day is already reported.
    costs.record(&[record(
        "2026-11-24T10:00:00Z",
        "bob",
        "claude",
        (10, 10),
        0.5,
    )]);
    let events = check(&costs, noon);
    assert_eq!(summary(&events), [s("monthly:everyone", "warning", 80)]);
    all.extend(events);
    assert_eq!(check(&costs, noon), Vec::<Value>::new());

    // The overall budget comes first, then each user's.
    // The next day: ann's budget is fresh (all clear, once); the month is still at 81.25 %.
    let tomorrow = "2026-11-25T00:30:00Z";
    let events = check(&costs, tomorrow);
    assert_eq!(summary(&events), [s("daily:ann", "ok", 0)]);
    all.extend(events);
    assert_eq!(check(&costs, tomorrow), Vec::<Value>::new());

    // Ann crosses 80 % again on the new day: a new period, a new event.
    costs.record(&[record(
        "2026-11-25T01:00:00Z",
        "ann",
        "gpt-4o",
        (10, 10),
        0.875,
    )]);
    let events = check(&costs, "2026-11-25T02:00:00Z");
    assert_eq!(
        summary(&events),
        [
            s("monthly:everyone", "critical", 100),
            s("daily:ann", "warning", 80)
        ]
    );
    all.extend(events);

    // A new month: both clear once.
    let events = check(&costs, "2026-12-01T00:10:00Z");
    assert_eq!(
        summary(&events),
        [s("monthly:everyone", "ok", 0), s("daily:ann", "ok", 0)]
    );
    all.extend(events);

    // Without --json: one status line per budget, and nothing sent twice.
    let text = costs.run(Some("2026-12-01T00:20:00Z"), &["check"]);
    assert_eq!(
        text.lines().collect::<Vec<_>>(),
        [
            "monthly:everyone: $0.0000 of $2.0000 (0.0 %), no news",
            "daily:ann: $0.0000 of $1.0000 (0.0 %), no news",
        ]
    );

    // The state is a 0600 file beside the usage database.
    let state = costs.db().with_file_name("costs.db");
    let mode =
        std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&state).unwrap().permissions());
    assert_eq!(mode & 0o777, 0o600);

    // magi-alert turns them into alerts by its default `budget` rule: fired, escalated (80 % on one day, 100 %
    // on a later one), resolved.
    let hook = WebhookReceiver::start();
    let input: String = all.iter().map(|e| format!("{e}\n")).collect();
    let alert_dir = tempfile::tempdir().unwrap();
    let alert = |args: &[&str]| {
        let mut command = bin("magi-alert");
        command
            .env("MAGI_CONFIG", costs.dir.path().join("magi.toml"))
            .env("MAGI_ALERT_DB", alert_dir.path().join("alert.db"))
            .env("MAGI_METRICS_DIR", alert_dir.path().join("metrics"))
            .env_remove("JOURNAL_STREAM")
            .env_remove("MAGI_LOG")
            .args(args);
        command
    };
    let mut child = alert(&["--drain", "10s", "--to", &hook.url("/generic")])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let out: Output = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let listed = alert(&["list", "--json"]).output().unwrap();
    let alerts: Vec<Value> = String::from_utf8(listed.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let budget: Vec<(&str, bool)> = alerts
        .iter()
        .filter(|a| a["rule"] == "budget")
        .map(|a| (a["subject"].as_str().unwrap(), a["resolved_at"].is_null()))
        .collect();
    assert!(
        budget.contains(&("daily:ann", false)) && budget.contains(&("monthly:everyone", false)),
        "every budget alert fired and resolved: {alerts:?}"
    );
    let notices: Vec<(String, String)> = hook
        .requests()
        .iter()
        .map(|r| {
            let body = r.json();
            (
                body["event"]["subject"].as_str().unwrap_or("").to_owned(),
                body["status"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect();
    for expected in [
        ("daily:ann", "firing"),
        ("daily:ann", "resolved"),
        ("monthly:everyone", "firing"),
        ("monthly:everyone", "escalated"),
        ("monthly:everyone", "resolved"),
    ] {
        assert!(
            notices
                .iter()
                .any(|(s, k)| (s.as_str(), k.as_str()) == expected),
            "{expected:?} in {notices:?}"
        );
    }
}
