//! What every MAGI ops tool shares and clap cannot say: the event contract, logging, files and environment
//! (from DESIGN.md and magi-core). The man pages put these beside what the clap definitions give.

pub const SUMMARY: &str = "systemd-native operations tools for a self-hosted AI stack";

pub const DESCRIPTION: &str = "\
MAGI ops is a family of small tools for the person who runs MAGI, the self-hosted AI stack of Open WebUI, \
LiteLLM, Qdrant, Redis, n8n, SearXNG, FireCrawl and Caddy on one Linux box with Docker Compose. Each tool \
does one job: check the stack, back it up and restore it, turn events into alerts. The built-in defaults \
describe the real stack (its container names, probe URLs, data paths), so a MAGI host needs no config file.

magi TOOL ARGS runs magi-TOOL ARGS, found next to magi or on PATH, as git runs its subcommands; \
magi help TOOL shows a tool's help. The tools speak newline-delimited JSON events to each other over pipes, \
log to journald with structured fields, and are wired together by the shipped systemd units:

  magi health --json | magi alert --to ntfy://ntfy.sh/my-magi
  journalctl -o json -f -u 'magi-*' | magi alert
  systemctl enable --now magi-health.service magi-backup.timer
  magi logs --service qdrant --since 1h --level warning";

/// Sections of magi(7) after the list of tools: title and paragraphs.
pub const SECTIONS: &[(&str, &str)] = &[
    (
        "EVENTS",
        "\
Every producer prints events with --json: one JSON object a line, schema version 1, with the fields v \
(1), ts (RFC 3339, UTC), host, source (the binary), kind (dotted: service.status, backup.completed, \
backup.failed, budget.threshold, metric.threshold), subject (a service, a unit), severity (ok, info, warning or critical), \
message (one human line) and data (an object).

Consumers (magi-alert, magi event validate) also read journalctl -o json records that carry MAGI_EVENT. A \
line that does not parse is reported on stderr with its number and skipped; the stream goes on. magi event \
emit lets scripts and unit hooks (OnFailure=) speak the same events.",
    ),
    (
        "LOGGING",
        "\
When stderr is connected to the journal (JOURNAL_STREAM matches it), the tools log natively with the \
fields MAGI_KIND, MAGI_SUBJECT, MAGI_SEVERITY and MAGI_EVENT (the event as JSON), and PRIORITY mapped from \
the severity; otherwise they print plain lines on stderr. -v and -vv say more, -q only errors.

magi logs reads our units and the stack's containers together. For containers to be there, Docker must \
use its journald log driver (\"log-driver\": \"journald\" in /etc/docker/daemon.json, or logging: driver: \
journald in the compose file), which records each line with CONTAINER_NAME=. The shipped journald \
drop-in sets how long the journal keeps records (see FILES).",
    ),
    (
        "CONFIGURATION",
        "\
One TOML file overrides the built-in description of the stack field by field: /etc/magi/magi.toml, or \
the file in MAGI_CONFIG, or --config FILE. magi config show prints the configuration in effect, defaults \
included; magi config check FILE validates a file. A mistake is one line naming the file, the line and the \
key, with exit status 2. Secrets (SMTP password, S3 keys, the backup identity) are read from files or \
systemd credentials (LoadCredential=), never from the command line.",
    ),
];

/// Files every tool uses (root locations; other users get the XDG equivalents).
pub const FILES: &[(&str, &str)] = &[
    (
        "/etc/magi/magi.toml",
        "The configuration, if any (~/.config/magi/magi.toml when not root).",
    ),
    (
        "/var/lib/magi",
        "State: history, the alert database (~/.local/state/magi when not root; STATE_DIRECTORY under \
systemd).",
    ),
    (
        "/run/magi",
        "Runtime files, the alert FIFO /run/magi/alert.fifo ($XDG_RUNTIME_DIR/magi when not root).",
    ),
    (
        "/var/backups/magi",
        "Backups, unless [stack] backup_dir says otherwise (~/.local/share/magi/backups when not root).",
    ),
];

/// Where the journald drop-in in units/journald/ is installed.
pub const JOURNALD_DROPIN: &str = "/usr/lib/systemd/journald.conf.d/magi.conf";

pub const ENVIRONMENT: &[(&str, &str)] = &[
    (
        "MAGI_CONFIG",
        "The config file to read when --config is not given.",
    ),
    (
        "MAGI_HOME",
        "The MAGI checkout whose data are under data/ and config/ (default /opt/magi, or [stack] home).",
    ),
    (
        "MAGI_LOG",
        "The log level: off, error, warn, info (the default), debug or trace; -v and -q win.",
    ),
    (
        "DOCKER_HOST",
        "How to reach Docker (default unix:///var/run/docker.sock).",
    ),
    (
        "CREDENTIALS_DIRECTORY",
        "Where systemd put the unit's credentials (LoadCredential=); secrets are looked up there first.",
    ),
    (
        "STATE_DIRECTORY, RUNTIME_DIRECTORY, CONFIGURATION_DIRECTORY",
        "Set by systemd for a unit's StateDirectory= and friends; they win over the default locations.",
    ),
    (
        "JOURNAL_STREAM",
        "Set by systemd when stderr is the journal: logs then go to journald with structured fields.",
    ),
];

pub const SEE_ALSO: &[&str] = &[
    "journalctl(1)",
    "systemctl(1)",
    "systemd.exec(5)",
    "journald.conf(5)",
];
