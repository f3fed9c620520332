//! The command lines of magi-backup (`create`, `list`, `verify`, `prune`, `auto`) and magi-restore.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use magi_core::cli::CommonArgs;

const BACKUP_AFTER: &str = "\
What is captured, per service of the catalog (magi-health and magi-backup share it):
  SQLite databases   online backup API, then PRAGMA integrity_check on the copy
  Redis              BGSAVE, wait until LASTSAVE changes, take dump.rdb
  Qdrant             one snapshot per collection through its HTTP API
  other directories  copied with the owning container paused only while they are read
  configuration      .env, config/, workflows/, docker-compose.yml (the `config` service)

One archive per backup in the backup directory ([stack] backup_dir, default /var/backups/magi):
tar + zstd, one file, mode 0600, with a manifest of every entry's size, mode, owner, SHA-256 and
capture method. `zstd -d < ARCHIVE | tar -x` extracts it without magi-backup. With
[backup] recipient = \"age1...\" archives are encrypted with age (NAME.tar.zst.age);
[backup] identity names the secret file or credential that decrypts them.

Examples:
  magi-backup create --note 'before upgrading Open WebUI'
  magi-backup create --service open-webui --service n8n
  magi-backup list
  magi-backup verify magi-2026-11-24T03-00-00.000Z --deep
  magi-backup prune --keep-daily 7 --keep-weekly 4 --dry-run
  magi-backup auto --schedule daily && systemctl enable --now magi-backup.timer

Exit status: 0 success, 1 failure (also a backup in which a target failed), 2 usage error.";

/// magi-backup's command line.
#[derive(Debug, Parser)]
#[command(
    name = "magi-backup",
    version,
    about = magi_core::tools::about("backup").unwrap_or_default(),
    after_help = BACKUP_AFTER
)]
pub struct BackupCli {
    #[command(flatten)]
    pub common: CommonArgs,
    #[command(subcommand)]
    pub command: BackupCommand,
}

#[derive(Debug, Subcommand)]
pub enum BackupCommand {
    /// Take a backup of the stack, or of some services
    #[command(after_help = "\
Targets of different services are captured in parallel. A target that fails (a service that is
down) is recorded in the manifest and the others are still backed up; the archive is then listed
as partial and the exit status is 1. Events backup.started, backup.completed and backup.failed go
to the journal, and with --json to stdout as NDJSON.

Examples:
  magi-backup create
  magi-backup create --service qdrant --note 'before re-indexing'
  magi-backup create --json | magi-alert")]
    Create(CreateArgs),
    /// List the backups: name, time, size, services, note, last verification
    #[command(
        after_help = "Examples:\n  magi-backup list\n  magi-backup list --json | jq -r .name"
    )]
    List(ListArgs),
    /// Check every entry of a backup against its checksums; --deep also opens what it holds
    #[command(after_help = "\
Every entry's stored bytes, zstd checksum, tar header and content SHA-256 are checked; the first
bad entry is named. --deep also restores into a scratch directory: every SQLite file must pass
PRAGMA integrity_check, every Redis dump start with an RDB header, every Qdrant snapshot read as
a whole. The result is recorded and shown by `list`.

Examples:
  magi-backup verify magi-2026-11-24T03-00-00.000Z
  magi-backup verify magi-2026-11-24T03-00-00.000Z --deep")]
    Verify(VerifyArgs),
    /// Delete the backups a retention policy does not keep (restic's keep-last/daily/weekly/monthly)
    #[command(after_help = "\
Backups are taken newest first. --keep-last N keeps the N newest; --keep-daily N the newest of each
of the last N days that have a backup (days without one do not count); likewise --keep-weekly (ISO
weeks) and --keep-monthly. A backup any rule keeps is kept. Safety archives (which earlier
versions of magi-restore took) are pruned by the same policy, counted on their own. Options not given come from the [backup]
section of the config (defaults: keep-last 3, daily 7, weekly 4, monthly 12).

Examples:
  magi-backup prune --dry-run
  magi-backup prune --keep-last 2 --keep-daily 7 --keep-weekly 4 --keep-monthly 6")]
    Prune(PruneArgs),
    /// The off-site copy: encrypted, incremental, in an S3-compatible bucket or on another disk
    #[command(subcommand)]
    Cloud(CloudCommand),
    /// Set when magi-backup.timer runs: writes a drop-in, checked with systemd-analyze calendar
    #[command(after_help = "\
daily runs at 03:00, weekly on Sunday at 03:00; anything else is an OnCalendar= expression
(systemd.time(7)). The drop-in is magi-backup.timer.d/schedule.conf under --unit-dir.

Examples:
  magi-backup auto --schedule daily
  magi-backup auto --schedule 'Mon..Fri 02:30'")]
    Auto(AutoArgs),
}

#[derive(Debug, Subcommand)]
pub enum CloudCommand {
    /// Set up the repository: where, with which credentials, and the key (created if none)
    #[command(after_help = "\
Credentials are read from files (or systemd credentials), never from the command line; they are
copied to CONFIG_DIR/credentials/cloud-access-key and cloud-secret-key, mode 0600. An age key
pair is created as CONFIG_DIR/credentials/cloud-identity unless --recipient is given (a
write-only host: it can upload, and cannot read or restore). Access is checked with a
write-read-delete of a probe object before anything is written; then the [cloud] section of the
config file is written (replacing one that is there).

Keep an offline copy of the identity: without it nothing in the bucket can be restored.

Providers (detected from the endpoint, or --provider): aws, b2, wasabi, r2, minio, generic.

Examples:
  magi-backup cloud configure --endpoint https://s3.eu-central-1.wasabisys.com \\
      --bucket magi-backups --access-key-file ~/wasabi.key --secret-key-file ~/wasabi.secret
  magi-backup cloud configure --directory /mnt/usb/magi-repo
  magi-backup cloud configure   (asks on a terminal)")]
    Configure(ConfigureArgs),
    /// Upload a local backup (default: the newest) into the repository, only what changed
    #[command(after_help = "\
SQLite databases are cut in their own pages, so a day's writes upload the pages they touched;
Redis dumps, Qdrant snapshots and other large files in content-defined chunks; small files whole.
A backup already in the repository is not uploaded again. magi-backup-cloud.service runs this
after every successful magi-backup.service.

Examples:
  magi-backup cloud upload
  magi-backup cloud upload magi-2026-11-24T03-00-00.000Z --json")]
    Upload(UploadArgs),
    /// List the backups in the repository, and which are also on this disk
    #[command(
        after_help = "Examples:\n  magi-backup cloud list\n  magi-backup cloud list --json | jq -r .name"
    )]
    List(ListArgs),
    /// Check the repository: the bucket against the index, and a sample of packs read (--deep: all)
    #[command(after_help = "\
Every pack the index names must be in the bucket with the same size and MD5 (ETag); every
snapshot must decrypt and name only stored chunks; a sample of 8 packs (all with --deep) is
downloaded, decrypted and every chunk in it checked against its SHA-256. --deep also reads
every snapshot's chunk trees. --restore rebuilds the newest backup from the bucket in a scratch
directory and checks it as `magi-backup verify --deep` checks a local one, and says how long
that took. --drill checks that the bucket keeps backups from the very credentials that write
them: with [cloud] lock_days (Object Lock, COMPLIANCE mode) a locked probe is written and its
deletion tried, which the bucket must refuse; without lock_days it says that anyone holding
these credentials can delete every backup. Events backup.cloud.verified or
backup.cloud.damaged go to the journal either way.
Exit status 1 when anything is wrong; each problem is named.

Examples:
  magi-backup cloud verify
  magi-backup cloud verify --deep --json
  magi-backup cloud verify --restore
  magi-backup cloud verify --drill")]
    Verify(CloudVerifyArgs),
    /// Delete the repository's backups its own retention does not keep, then the data only they used
    #[command(after_help = "\
The policy is restic's keep-last/daily/weekly/monthly, from [cloud] keep_* (defaults: last 3,
daily 14, weekly 8, monthly 24) unless given here. Packs no kept backup needs are deleted; packs
that no index names (left by a killed upload) are deleted once older than 6 hours, so a running
upload never loses one. A pack most of whose content no kept backup needs (a database's pages
superseded since) is repacked: its used chunks are written into new packs and it is deleted.
On Wasabi, objects deleted before they are 90 days old are billed until then; prune says so.

Examples:
  magi-backup cloud prune --dry-run
  magi-backup cloud prune --keep-daily 30
  magi-backup cloud prune --max-unused 20")]
    Prune(CloudPruneArgs),
}

#[derive(Debug, Args)]
pub struct CloudPruneArgs {
    #[command(flatten)]
    pub retention: PruneArgs,
    /// Repack a pack when more than PERCENT of its content is unused (100: never repack)
    #[arg(long, value_name = "PERCENT", default_value_t = 50,
          value_parser = clap::value_parser!(u8).range(0..=100))]
    pub max_unused: u8,
}

#[derive(Debug, Args)]
pub struct ConfigureArgs {
    /// The S3 endpoint, e.g. https://s3.eu-west-1.amazonaws.com
    #[arg(long, value_name = "URL", conflicts_with = "directory")]
    pub endpoint: Option<String>,
    /// The bucket (created beforehand, with the provider's console or CLI)
    #[arg(long, value_name = "NAME", requires = "endpoint")]
    pub bucket: Option<String>,
    /// A file holding the access key ID
    #[arg(long, value_name = "FILE", requires = "endpoint")]
    pub access_key_file: Option<PathBuf>,
    /// A file holding the secret access key
    #[arg(long, value_name = "FILE", requires = "endpoint")]
    pub secret_key_file: Option<PathBuf>,
    /// The region to sign for (default us-east-1, which most S3-compatible servers accept)
    #[arg(long, value_name = "REGION")]
    pub region: Option<String>,
    /// aws, b2, wasabi, r2, minio or generic (default: detected from the endpoint)
    #[arg(long, value_name = "NAME")]
    pub provider: Option<String>,
    /// Keys in the bucket start with this (default magi)
    #[arg(long, value_name = "PREFIX")]
    pub prefix: Option<String>,
    /// A directory repository (another disk, an NFS mount) instead of a bucket
    #[arg(long, value_name = "DIR")]
    pub directory: Option<PathBuf>,
    /// Encrypt to this age public key and keep no identity here (a write-only backup host)
    #[arg(long, value_name = "AGE1...")]
    pub recipient: Option<String>,
    /// Object Lock: keep every object this many days, undeletable even with these credentials (the
    /// bucket must have been created with Object Lock on); `verify --drill` checks it
    #[arg(long, value_name = "DAYS", requires = "endpoint")]
    pub lock_days: Option<u32>,
}

#[derive(Debug, Args)]
pub struct UploadArgs {
    /// The backup to upload, as `magi-backup list` shows it (default: the newest)
    pub name: Option<String>,
    /// Without a [cloud] section, do nothing and succeed (what magi-backup-cloud.service runs)
    #[arg(long)]
    pub if_configured: bool,
    /// Print events as NDJSON on stdout
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct CloudVerifyArgs {
    /// Read every pack and every chunk tree
    #[arg(long)]
    pub deep: bool,
    /// Also restore the newest backup into a scratch directory and open what it holds (SQLite
    /// integrity_check, Redis and Qdrant headers); the weekly magi-backup-cloud-check.timer runs this
    #[arg(long)]
    pub restore: bool,
    /// The ransomware drill: with [cloud] lock_days, write a locked probe and try to delete it with
    /// these credentials; the bucket must refuse
    #[arg(long)]
    pub drill: bool,
    /// Without a [cloud] section, do nothing and succeed
    #[arg(long)]
    pub if_configured: bool,
    /// Print the report as one JSON object
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct CreateArgs {
    /// Back up only this service (catalog or container name; `config` for .env, config/ and
    /// workflows/); repeat for more. Default: every service that has data, and the configuration
    #[arg(long = "service", value_name = "NAME")]
    pub services: Vec<String>,
    /// A note kept in the manifest and shown by `list`
    #[arg(long, value_name = "TEXT")]
    pub note: Option<String>,
    /// Print events as NDJSON on stdout
    #[arg(long)]
    pub json: bool,
    /// Take it now, whatever the timer's schedule (what `create` always does; the roadmap spells it
    /// `magi backup create --now`)
    #[arg(long)]
    pub now: bool,
}

#[derive(Debug, Args)]
pub struct ListArgs {
    /// One JSON object per backup and line
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The backup's name, as `list` shows it
    pub name: String,
    /// Also open every SQLite file, Redis dump and Qdrant snapshot as its engine would
    #[arg(long)]
    pub deep: bool,
}

#[derive(Debug, Args)]
pub struct PruneArgs {
    /// Keep the N newest backups (default: [backup] keep_last, 3)
    #[arg(long, value_name = "N")]
    pub keep_last: Option<u32>,
    /// Keep the newest backup of each of the last N days that have one (default: [backup] keep_daily, 7)
    #[arg(long, value_name = "N")]
    pub keep_daily: Option<u32>,
    /// Keep the newest backup of each of the last N ISO weeks that have one (default: [backup]
    /// keep_weekly, 4)
    #[arg(long, value_name = "N")]
    pub keep_weekly: Option<u32>,
    /// Keep the newest backup of each of the last N months that have one (default: [backup]
    /// keep_monthly, 12)
    #[arg(long, value_name = "N")]
    pub keep_monthly: Option<u32>,
    /// Show what would be deleted, delete nothing
    #[arg(long)]
    pub dry_run: bool,
    /// Print the outcome as JSON
    #[arg(long)]
    pub json: bool,
}

impl PruneArgs {
    /// The policy: each option given, else its default; refused when it would keep nothing.
    pub fn policy(
        &self,
        defaults: crate::retention::Policy,
    ) -> Result<crate::retention::Policy, magi_core::exit::UsageError> {
        let policy = crate::retention::Policy {
            last: self.keep_last.unwrap_or(defaults.last),
            daily: self.keep_daily.unwrap_or(defaults.daily),
            weekly: self.keep_weekly.unwrap_or(defaults.weekly),
            monthly: self.keep_monthly.unwrap_or(defaults.monthly),
        };
        if policy.is_empty() {
            return Err(magi_core::exit::UsageError(
                "every --keep-* is 0: that would delete every backup; keep at least one".into(),
            ));
        }
        Ok(policy)
    }
}

#[derive(Debug, Args)]
pub struct AutoArgs {
    /// daily, weekly, or a systemd OnCalendar= expression
    #[arg(long, value_name = "WHEN")]
    pub schedule: String,
    /// Where the timer's drop-in directory is made
    #[arg(long, value_name = "DIR", default_value = "/etc/systemd/system")]
    pub unit_dir: PathBuf,
}

const RESTORE_AFTER: &str = "\
The order is fixed: extract what will be restored into a staging directory under the MAGI home,
checking every entry's checksums as it is read (a bad byte stops it there, nothing replaced); save
Qdrant's collections as snapshots; stop the affected containers; swap the staged files in by
rename, the replaced ones moving into a safety copy on the same disk (listed by `magi-backup list`
while it exists); start the containers and load Qdrant's collections through its snapshot API; wait
until every core service and every restored optional one is ready (the validation `magi-health
validate` does). If the stack does not come back in time, the safety copy is put back the same way
and the exit status is 1; once it is ready, the safety copy is deleted. A restore that was killed
before that is rolled back by the next magi-restore. --dry-run verifies the whole archive.

A restore of some services (--service) touches nothing of the others. The `config` service is
the stack's .env, config/ and workflows/; containers that read them are not restarted for it.

Examples:
  magi-restore magi-2026-11-24T03-00-00.000Z --dry-run
  magi-restore magi-2026-11-24T03-00-00.000Z --service n8n --yes
  magi-restore --at '2026-11-20 14:30'
  magi-restore --from-cloud magi-2026-11-24T03-00-00.000Z --service n8n --yes
  magi-restore --from-cloud --at '2026-11-20 14:30' --to /tmp/look
  magi-restore --timestamp '2026-11-20 14:29:59' --service n8n --yes
  magi-restore --timestamp '2026-11-20 14:29:59' --to /tmp/look

With --timestamp the SQLite databases come from magi-pitr's continuous capture (magi-pitr.service),
each rebuilt to its last transaction committed at or before the time and checked, and everything else
from the newest backup taken by then; the report names each database's point and the skew between
them. A database that cannot be rebuilt to the time stops the restore before anything is changed.

With --from-cloud the backup is fetched from the [cloud] repository: only the files of the
services restored, databases first, rebuilt into an archive beside the local ones (removed
afterwards) that then takes the same path as a local one.

Exit status: 0 restored and healthy, 1 failed or rolled back, 2 usage error.";

/// magi-restore's command line.
#[derive(Debug, Parser)]
#[command(
    name = "magi-restore",
    version,
    about = magi_core::tools::about("restore").unwrap_or_default(),
    after_help = RESTORE_AFTER
)]
pub struct RestoreCli {
    #[command(flatten)]
    pub common: CommonArgs,
    /// The backup to restore, as `magi-backup list` shows it
    #[arg(required_unless_present_any = ["at", "timestamp"], conflicts_with_all = ["at", "timestamp"])]
    pub name: Option<String>,
    /// Restore the newest backup taken at or before this local time ('2026-11-20 14:30')
    #[arg(long, value_name = "TIME", conflicts_with = "timestamp")]
    pub at: Option<String>,
    /// Point-in-time: each SQLite database as of its last transaction committed at or before this time
    /// ('2026-11-20 14:29:59', from magi-pitr's capture), everything else from the newest backup taken by
    /// then
    #[arg(long, value_name = "TIME", conflicts_with = "from_cloud")]
    pub timestamp: Option<String>,
    /// Take the backup from the cloud repository ([cloud]), fetching only the services restored
    #[arg(long)]
    pub from_cloud: bool,
    /// With --from-cloud: write the files into this directory (absent or empty) by their paths; with
    /// --timestamp: write the databases rebuilt to that time there (DIR/SERVICE/FILE). Nothing of the
    /// stack is touched: to look before restoring
    #[arg(long, value_name = "DIR")]
    pub to: Option<PathBuf>,
    /// Restore only this service (catalog or container name, or `config`); repeat for more
    #[arg(long = "service", value_name = "NAME")]
    pub services: Vec<String>,
    /// Verify and show what would be replaced; change nothing
    #[arg(long)]
    pub dry_run: bool,
    /// Do not ask before replacing data
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// How long to wait for the stack to be ready before rolling back (default: [backup]
    /// restore_timeout, 2m)
    #[arg(long, value_name = "DURATION", value_parser = magi_core::config::parse_duration)]
    pub timeout: Option<Duration>,
    /// Print events as NDJSON on stdout
    #[arg(long)]
    pub json: bool,
}
