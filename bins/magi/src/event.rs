//! `magi event`: the event schema from the shell. `emit` lets scripts and unit hooks (`OnFailure=`) speak
//! the same events as the tools; `validate` reads a stream the way every consumer does and says what it
//! would skip.

use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;

use anyhow::Context as _;
use magi_core::event::{Event, EventReader, EventWriter, Severity};
use magi_core::exit::{self, UsageError};
use magi_core::logging;

#[derive(Debug, clap::Subcommand)]
pub enum EventCommand {
    /// Record one event: in the journal (or on stderr), and as a JSON line on stdout with --json
    Emit {
        /// Dotted kind, e.g. `backup.failed` or `unit.failed`
        #[arg(long)]
        kind: String,
        /// What it is about, e.g. a service name
        #[arg(long)]
        subject: String,
        /// ok, info, warning or critical
        #[arg(long, default_value = "info")]
        severity: Severity,
        /// Extra data as KEY=VALUE; repeatable. Values that parse as JSON (numbers, true) are kept as such
        #[arg(long = "data", value_name = "KEY=VALUE")]
        data: Vec<String>,
        /// Print the event as one JSON line on stdout
        #[arg(long)]
        json: bool,
        /// The human line
        message: String,
    },
    /// Read an NDJSON or `journalctl -o json` stream and report every line a consumer would skip; exit 1 if
    /// any. With --json, the valid events are written to stdout, one per line
    Validate {
        /// The stream to read (default: standard input)
        file: Option<PathBuf>,
        /// Pass valid events through to stdout
        #[arg(long)]
        json: bool,
    },
}

pub fn run(command: EventCommand) -> anyhow::Result<u8> {
    match command {
        EventCommand::Emit {
            kind,
            subject,
            severity,
            data,
            json,
            message,
        } => {
            let mut event = Event::new("magi", kind, subject, severity, message);
            for pair in data {
                let (key, value) = pair
                    .split_once('=')
                    .ok_or_else(|| UsageError(format!("--data '{pair}' is not KEY=VALUE")))?;
                let value = serde_json::from_str(value)
                    .unwrap_or_else(|_| serde_json::Value::String(value.into()));
                event.data.insert(key.to_owned(), value);
            }
            logging::log_event(&event);
            if json {
                EventWriter::new(std::io::stdout().lock())
                    .write(&event)
                    .context("writing the event")?;
            }
            Ok(exit::SUCCESS)
        }
        EventCommand::Validate { file, json } => {
            let input: Box<dyn BufRead> = match &file {
                Some(path) => Box::new(BufReader::new(
                    std::fs::File::open(path)
                        .with_context(|| format!("cannot open {}", path.display()))?,
                )),
                None => Box::new(std::io::stdin().lock()),
            };
            let mut reader = EventReader::new(input);
            let mut out = json.then(|| EventWriter::new(std::io::stdout().lock()));
            while let Some(item) = reader.next_line().context("reading the stream")? {
                match item {
                    Ok(event) => {
                        if let Some(out) = out.as_mut() {
                            out.write(&event).context("writing events")?;
                        }
                    }
                    Err(skip) => log::warn!("{skip}"),
                }
            }
            let stats = reader.stats();
            let summary = format!(
                "{} lines: {} events, {} skipped, {} without an event",
                stats.lines, stats.events, stats.skipped, stats.passed_over
            );
            if stats.skipped > 0 {
                log::warn!("{summary}");
            } else {
                log::info!("{summary}");
            }
            std::io::stdout().flush().context("writing events")?;
            Ok(if stats.skipped > 0 {
                exit::FAILURE
            } else {
                exit::SUCCESS
            })
        }
    }
}
