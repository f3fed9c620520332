//! magi-alert's command line: read events (the default), or look after the alerts with `list`, `ack`,
//! `silence`, `test` and `history`. The binary parses it; `cargo xtask gen` builds completions and the man
//! page from it.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, Subcommand};
use magi_core::cli::CommonArgs;
use magi_core::config::parse_duration;

const EXAMPLES: &str = "\
Examples:
  magi-health --json | magi-alert --to ntfy://ntfy.sh/my-magi
  magi-health --json | magi-alert --to 'smtp://alerts@mail.example.org:587?to=ops@example.org'
      (the SMTP password comes from the credential smtp-password, or password_file=FILE; never the URL)
  journalctl -o json -f -u 'magi-*' | magi-alert        channels from [alert.channels] in magi.toml
  magi-alert /run/magi/alert.fifo                        read a FIFO forever
  magi-alert list --active
  magi-alert ack 12 --note 'disk replaced, restoring'   no more reminders until it resolves
  magi-alert silence add qdrant --for 2h                 planned maintenance
  magi-alert test 'slack://T000/B000/XXXX'               send a test notice now and show the answer
  magi-alert history --since 7d --json

Channel URLs: https://host/path (generic JSON), ntfy://host/topic (ntfys:// for HTTPS), slack://A/B/C,
discord://ID/TOKEN (slack+https://URL and discord+https://URL for other hosts), smtp://[user@]host[:587]?to=ADDR
(STARTTLS), smtps://...:465 (implicit TLS), exec:///path/to/command (the event on its stdin).
Email TLS trusts the public roots; add ca=/PATH/ca.pem for a private CA or a self-signed server.

Alerts fire on a core service down, a failed backup, a budget threshold and a breached threshold rule
(magi alerts configure) unless [alert.rules] says otherwise.
Deliveries are kept in the state directory and retried with backoff; a restart sends what was queued, once.";

/// Turn MAGI events into alerts by email, ntfy, Slack, Discord or webhook, once each
#[derive(Debug, Parser)]
#[command(
    name = "magi-alert",
    version,
    about = magi_core::tools::about("alert"),
    after_help = EXAMPLES
)]
pub struct Cli {
    #[command(flatten)]
    pub common: CommonArgs,

    /// Also send to this channel (repeatable): a URL such as ntfy://host/topic, or the name of a channel
    /// of the config. A URL that is a credential (Slack, Discord, a password or a token in its query) is
    /// refused here, where every user can read it: name it in [alert.channels] and give the name
    #[arg(long = "to", value_name = "URL|NAME")]
    pub to: Vec<String>,

    /// The alert database (default: alert.db in the state directory, /var/lib/magi as root)
    #[arg(long, global = true, value_name = "FILE", env = "MAGI_ALERT_DB")]
    pub db: Option<PathBuf>,

    /// At the end of the input, wait this long for queued deliveries; what is left is sent by the next run
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = parse_duration)]
    pub drain: Duration,

    /// Events to read: a file, a FIFO (read forever), or - for stdin (the default)
    #[arg(value_name = "FILE")]
    pub input: Option<PathBuf>,

    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// List alerts, newest first
    List {
        /// Only alerts that have not resolved
        #[arg(long)]
        active: bool,
        /// At most this many, the newest
        #[arg(long, value_name = "N")]
        limit: Option<u32>,
        /// One JSON object a line
        #[arg(long)]
        json: bool,
    },
    /// Acknowledge an alert: no more reminders until it resolves (the resolve is still sent)
    Ack {
        /// The alert's number, from `list`
        id: i64,
        /// Who is on it, or why
        #[arg(long, value_name = "TEXT")]
        note: Option<String>,
    },
    /// Hold notices about a subject for a while
    #[command(subcommand)]
    Silence(SilenceCommand),
    /// Send a test notice to a configured channel or a URL now, and show the server's answer
    Test {
        /// A channel's name from [alert.channels], or a channel URL as --to takes
        #[arg(value_name = "CHANNEL_OR_URL")]
        target: String,
    },
    /// What happened: alerts fired, notices sent, failures, acks and silences
    History {
        /// How far back
        #[arg(long, value_name = "DURATION", default_value = "7d", value_parser = parse_duration)]
        since: Duration,
        /// One JSON object a line
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum SilenceCommand {
    /// Silence SUBJECT (a glob: `qdrant`, `magi-*`) for a duration
    Add {
        /// The subject, or a glob over subjects: a service (`qdrant`), a unit (`magi-backup.service`)
        subject: String,
        /// How long, e.g. 30m, 2h, 1d
        #[arg(long = "for", value_name = "DURATION", value_parser = parse_duration)]
        duration: Duration,
        /// Why, shown by `silence list` and in the history
        #[arg(long, value_name = "TEXT")]
        note: Option<String>,
    },
    /// The silences in force
    List {
        /// One JSON object a line
        #[arg(long)]
        json: bool,
    },
    /// End a silence early, by its number or subject
    Remove {
        /// The silence's number from `silence list`, or the subject it was added for
        #[arg(value_name = "ID_OR_SUBJECT")]
        target: String,
    },
}
