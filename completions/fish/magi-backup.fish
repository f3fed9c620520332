# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_magi_backup_global_optspecs
    string join \n config= v/verbose q/quiet h/help V/version
end

function __fish_magi_backup_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_magi_backup_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_magi_backup_using_subcommand
    set -l cmd (__fish_magi_backup_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c magi-backup -n "__fish_magi_backup_needs_command" -l config -d 'Read the configuration from FILE instead of $MAGI_CONFIG or /etc/magi/magi.toml (~/.config/magi/magi.toml when not root); without any, the built-in description of the MAGI stack is used' -r -F
complete -c magi-backup -n "__fish_magi_backup_needs_command" -s v -l verbose -d 'Say more: -v for debug, -vv for trace (overrides $MAGI_LOG)'
complete -c magi-backup -n "__fish_magi_backup_needs_command" -s q -l quiet -d 'Say only errors (overrides $MAGI_LOG)'
complete -c magi-backup -n "__fish_magi_backup_needs_command" -s h -l help -d 'Print help'
complete -c magi-backup -n "__fish_magi_backup_needs_command" -s V -l version -d 'Print version'
complete -c magi-backup -n "__fish_magi_backup_needs_command" -f -a "create" -d 'Take a backup of the stack, or of some services'
complete -c magi-backup -n "__fish_magi_backup_needs_command" -f -a "list" -d 'List the backups: name, time, size, services, note, last verification'
complete -c magi-backup -n "__fish_magi_backup_needs_command" -f -a "verify" -d 'Check every entry of a backup against its checksums; --deep also opens what it holds'
complete -c magi-backup -n "__fish_magi_backup_needs_command" -f -a "prune" -d 'Delete the backups a retention policy does not keep (restic\'s keep-last/daily/weekly/monthly)'
complete -c magi-backup -n "__fish_magi_backup_needs_command" -f -a "cloud" -d 'The off-site copy: encrypted, incremental, in an S3-compatible bucket or on another disk'
complete -c magi-backup -n "__fish_magi_backup_needs_command" -f -a "auto" -d 'Set when magi-backup.timer runs: writes a drop-in, checked with systemd-analyze calendar'
complete -c magi-backup -n "__fish_magi_backup_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c magi-backup -n "__fish_magi_backup_using_subcommand create" -l service -d 'Back up only this service (catalog or container name; `config` for .env, config/ and workflows/); repeat for more. Default: every service that has data, and the configuration' -r
complete -c magi-backup -n "__fish_magi_backup_using_subcommand create" -l note -d 'A note kept in the manifest and shown by `list`' -r
complete -c magi-backup -n "__fish_magi_backup_using_subcommand create" -l config -d 'Read the configuration from FILE instead of $MAGI_CONFIG or /etc/magi/magi.toml (~/.config/magi/magi.toml when not root); without any, the built-in description of the MAGI stack is used' -r -F
complete -c magi-backup -n "__fish_magi_backup_using_subcommand create" -l json -d 'Print events as NDJSON on stdout'
complete -c magi-backup -n "__fish_magi_backup_using_subcommand create" -l now -d 'Take it now, whatever the timer\'s schedule (what `create` always does; the roadmap spells it `magi backup create --now`)'
complete -c magi-backup -n "__fish_magi_backup_using_subcommand create" -s v -l verbose -d 'Say more: -v for debug, -vv for trace (overrides $MAGI_LOG)'
complete -c magi-backup -n "__fish_magi_backup_using_subcommand create" -s q -l quiet -d 'Say only errors (overrides $MAGI_LOG)'
complete -c magi-backup -n "__fish_magi_backup_using_subcommand create" -s h -l help -d 'Print help'
complete -c magi-backup -n "__fish_magi_backup_using_subcommand list" -l config -d 'Read the configuration from FILE instead of $MAGI_CONFIG or /etc/magi/magi.toml (~/.config/magi/magi.toml when not root); without any, the built-in description of the MAGI stack is used' -r -F
complete -c magi-backup -n "__fish_magi_backup_using_subcommand list" -l json -d 'One JSON object per backup and line'
complete -c magi-backup -n "__fish_magi_backup_using_subcommand list" -s v -l verbose -d 'Say more: -v for debug, -vv for trace (overrides $MAGI_LOG)'
complete -c magi-backup -n "__fish_magi_backup_using_subcommand list" -s q -l quiet -d 'Say only errors (overrides $MAGI_LOG)'
complete -c magi-backup -n "__fish_magi_backup_using_subcommand list" -s h -l help -d 'Print help'
complete -c magi-backup -n "__fish_magi_backup_using_subcommand verify" -l config -d 'Read the configuration from FILE instead of $MAGI_CONFIG or /etc/magi/magi.toml (~/.config/magi/magi.toml when not root); without any, the built-in description of the MAGI stack is used' -r -F
complete -c magi-backup -n "__fish_magi_backup_using_subcommand verify" -l deep -d 'Also open every SQLite file, Redis dump and Qdrant snapshot as its engine would'
complete -c magi-backup -n "__fish_magi_backup_using_subcommand verify" -s v -l verbose -d 'Say more: -v for debug, -vv for trace (overrides $MAGI_LOG)'
complete -c magi-backup -n "__fish_magi_backup_using_subcommand verify" -s q -l quiet -d 'Say only errors (overrides $MAGI_LOG)'
complete -c magi-backup -n "__fish_magi_backup_using_subcommand verify" -s h -l help -d 'Print help'
complete -c magi-backup -n "__fish_magi_backup_using_subcommand prune" -l keep-last -d 'Keep the N newest backups (default: [backup] keep_last, 3)' -r
complete -c magi-backup -n "__fish_magi_backup_using_subcommand prune" -l keep-daily -d 'Keep the newest backup of each of the last N days that have one (default: [backup] keep_daily, 7)' -r
complete -c magi-backup -n "__fish_magi_backup_using_subcommand prune" -l keep-weekly -d 'Keep the newest backup of each of the last N ISO weeks that have one (default: [backup] keep_weekly, 4)' -r
complete -c magi-backup -n "__fish_magi_backup_using_subcommand prune" -l keep-monthly -d 'Keep the newest backup of each of the last N months that have one (default: [backup] keep_monthly, 12)' -r
complete -c magi-backup -n "__fish_magi_backup_using_subcommand prune" -l config -d 'Read the configuration from FILE instead of $MAGI_CONFIG or /etc/magi/magi.toml (~/.config/magi/magi.toml when not root); without any, the built-in description of the MAGI stack is used' -r -F
complete -c magi-backup -n "__fish_magi_backup_using_subcommand prune" -l dry-run -d 'Show what would be deleted, delete nothing'
complete -c magi-backup -n "__fish_magi_backup_using_subcommand prune" -l json -d 'Print the outcome as JSON'
complete -c magi-backup -n "__fish_magi_backup_using_subcommand prune" -s v -l verbose -d 'Say more: -v for debug, -vv for trace (overrides $MAGI_LOG)'
complete -c magi-backup -n "__fish_magi_backup_using_subcommand prune" -s q -l quiet -d 'Say only errors (overrides $MAGI_LOG)'
complete -c magi-backup -n "__fish_magi_backup_using_subcommand prune" -s h -l help -d 'Print help'
complete -c magi-backup -n "__fish_magi_backup_using_subcommand cloud; and not __fish_seen_subcommand_from configure upload list verify prune help" -l config -d 'Read the configuration from FILE instead of $MAGI_CONFIG or /etc/magi/magi.toml (~/.config/magi/magi.toml when not root); without any, the built-in description of the MAGI stack is used' -r -F
complete -c magi-backup -n "__fish_magi_backup_using_subcommand cloud; and not __fish_seen_subcommand_from configure upload list verify prune help" -s v -l verbose -d 'Say more: -v for debug, -vv for trace (overrides $MAGI_LOG)'
complete -c magi-backup -n "__fish_magi_backup_using_subcommand cloud; and not __fish_seen_subcommand_from configure upload list verify prune help" -s q -l quiet -d 'Say only errors (overrides $MAGI_LOG)'
complete -c magi-backup -n "__fish_magi_backup_using_subcommand cloud; and not __fish_seen_subcommand_from configure upload list verify prune help" -s h -l help -d 'Print help'
complete -c magi-backup -n "__fish_magi_backup_using_subcommand cloud; and not __fish_seen_subcommand_from configure upload list verify prune help" -f -a "configure" -d 'Set up the repository: where, with which credentials, and the key (created if none)'
complete -c magi-backup -n "__fish_magi_backup_using_subcommand cloud; and not __fish_seen_subcommand_from configure upload list verify prune help" -f -a "upload" -d 'Upload a local backup (default: the newest) into the repository, only what changed'
complete -c magi-backup -n "__fish_magi_backup_using_subcommand cloud; and not __fish_seen_subcommand_from configure upload list verify prune help" -f -a "list" -d 'List the backups in the repository, and which are also on this disk'
complete -c magi-backup -n "__fish_magi_backup_using_subcommand cloud; and not __fish_seen_subcommand_from configure upload list verify prune help" -f -a "verify" -d 'Check the repository: the bucket against the index, and a sample of packs read (--deep: all)'
complete -c magi-backup -n "__fish_magi_backup_using_subcommand cloud; and not __fish_seen_subcommand_from configure upload list verify prune help" -f -a "prune" -d 'Delete the repository\'s backups its own retention does not keep, then the data only they used'
complete -c magi-backup -n "__fish_magi_backup_using_subcommand cloud; and not __fish_seen_subcommand_from configure upload list verify prune help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c magi-backup -n "__fish_magi_backup_using_subcommand cloud; and __fish_seen_subcommand_from configure" -l endpoint -d 'The S3 endpoint, e.g. https://s3.eu-west-1.amazonaws.com' -r
complete -c magi-backup -n "__fish_magi_backup_using_subcommand cloud; and __fish_seen_subcommand_from configure" -l bucket -d 'The bucket (created beforehand, with the provider\'s console or CLI)' -r
complete -c magi-backup -n "__fish_magi_backup_using_subcommand cloud; and __fish_seen_subcommand_from configure" -l access-key-file -d 'A file holding the access key ID' -r -F
complete -c magi-backup -n "__fish_magi_backup_using_subcommand cloud; and __fish_seen_subcommand_from configure" -l secret-key-file -d 'A file holding the secret access key' -r -F
complete -c magi-backup -n "__fish_magi_backup_using_subcommand cloud; and __fish_seen_subcommand_from configure" -l region -d 'The region to sign for (default us-east-1, which most S3-compatible servers accept)' -r
complete -c magi-backup -n "__fish_magi_backup_using_subcommand cloud; and __fish_seen_subcommand_from configure" -l provider -d 'aws, b2, wasabi, r2, minio or generic (default: detected from the endpoint)' -r
complete -c magi-backup -n "__fish_magi_backup_using_subcommand cloud; and __fish_seen_subcommand_from configure" -l prefix -d 'Keys in the bucket start with this (default magi)' -r
complete -c magi-backup -n "__fish_magi_backup_using_subcommand cloud; and __fish_seen_subcommand_from configure" -l directory -d 'A directory repository (another disk, an NFS mount) instead of a bucket' -r -F
complete -c magi-backup -n "__fish_magi_backup_using_subcommand cloud; and __fish_seen_subcommand_from configure" -l recipient -d 'Encrypt to this age public key and keep no identity here (a write-only backup host)' -r
complete -c magi-backup -n "__fish_magi_backup_using_subcommand cloud; and __fish_seen_subcommand_from configure" -l lock-days -d 'Object Lock: keep every object this many days, undeletable even with these credentials (the bucket must have been created with Object Lock on); `verify --drill` checks it' -r
complete -c magi-backup -n "__fish_magi_backup_using_subcommand cloud; and __fish_seen_subcommand_from configure" -l config -d 'Read the configuration from FILE instead of $MAGI_CONFIG or /etc/magi/magi.toml (~/.config/magi/magi.toml when not root); without any, the built-in description of the MAGI stack is used' -r -F
complete -c magi-backup -n "__fish_magi_backup_using_subcommand cloud; and __fish_seen_subcommand_from configure" -s v -l verbose -d 'Say more: -v for debug, -vv for trace (overrides $MAGI_LOG)'
complete -c magi-backup -n "__fish_magi_backup_using_subcommand cloud; and __fish_seen_subcommand_from configure" -s q -l quiet -d 'Say only errors (overrides $MAGI_LOG)'
complete -c magi-backup -n "__fish_magi_backup_using_subcommand cloud; and __fish_seen_subcommand_from configure" -s h -l help -d 'Print help'
complete -c magi-backup -n "__fish_magi_backup_using_subcommand cloud; and __fish_seen_subcommand_from upload" -l config -d 'Read the configuration from FILE instead of $MAGI_CONFIG or /etc/magi/magi.toml (~/.config/magi/magi.toml when not root); without any, the built-in description of the MAGI stack is used' -r -F
complete -c magi-backup -n "__fish_magi_backup_using_subcommand cloud; and __fish_seen_subcommand_from upload" -l if-configured -d 'Without a [cloud] section, do nothing and succeed (what magi-backup-cloud.service runs)'
complete -c magi-backup -n "__fish_magi_backup_using_subcommand cloud; and __fish_seen_subcommand_from upload" -l json -d 'Print events as NDJSON on stdout'
complete -c magi-backup -n "__fish_magi_backup_using_subcommand cloud; and __fish_seen_subcommand_from upload" -s v -l verbose -d 'Say more: -v for debug, -vv for trace (overrides $MAGI_LOG)'
complete -c magi-backup -n "__fish_magi_backup_using_subcommand cloud; and __fish_seen_subcommand_from upload" -s q -l quiet -d 'Say only errors (overrides $MAGI_LOG)'
complete -c magi-backup -n "__fish_magi_backup_using_subcommand cloud; and __fish_seen_subcommand_from upload" -s h -l help -d 'Print help'
complete -c magi-backup -n "__fish_magi_backup_using_subcommand cloud; and __fish_seen_subcommand_from list" -l config -d 'Read the configuration from FILE instead of $MAGI_CONFIG or /etc/magi/magi.toml (~/.config/magi/magi.toml when not root); without any, the built-in description of the MAGI stack is used' -r -F
complete -c magi-backup -n "__fish_magi_backup_using_subcommand cloud; and __fish_seen_subcommand_from list" -l json -d 'One JSON object per backup and line'
complete -c magi-backup -n "__fish_magi_backup_using_subcommand cloud; and __fish_seen_subcommand_from list" -s v -l verbose -d 'Say more: -v for debug, -vv for trace (overrides $MAGI_LOG)'
complete -c magi-backup -n "__fish_magi_backup_using_subcommand cloud; and __fish_seen_subcommand_from list" -s q -l quiet -d 'Say only errors (overrides $MAGI_LOG)'
complete -c magi-backup -n "__fish_magi_backup_using_subcommand cloud; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help'
complete -c magi-backup -n "__fish_magi_backup_using_subcommand cloud; and __fish_seen_subcommand_from verify" -l config -d 'Read the configuration from FILE instead of $MAGI_CONFIG or /etc/magi/magi.toml (~/.config/magi/magi.toml when not root); without any, the built-in description of the MAGI stack is used' -r -F
complete -c magi-backup -n "__fish_magi_backup_using_subcommand cloud; and __fish_seen_subcommand_from verify" -l deep -d 'Read every pack and every chunk tree'
complete -c magi-backup -n "__fish_magi_backup_using_subcommand cloud; and __fish_seen_subcommand_from verify" -l restore -d 'Also restore the newest backup into a scratch directory and open what it holds (SQLite integrity_check, Redis and Qdrant headers); the weekly magi-backup-cloud-check.timer runs this'
complete -c magi-backup -n "__fish_magi_backup_using_subcommand cloud; and __fish_seen_subcommand_from verify" -l drill -d 'The ransomware drill: with [cloud] lock_days, write a locked probe and try to delete it with these credentials; the bucket must refuse'
complete -c magi-backup -n "__fish_magi_backup_using_subcommand cloud; and __fish_seen_subcommand_from verify" -l if-configured -d 'Without a [cloud] section, do nothing and succeed'
complete -c magi-backup -n "__fish_magi_backup_using_subcommand cloud; and __fish_seen_subcommand_from verify" -l json -d 'Print the report as one JSON object'
complete -c magi-backup -n "__fish_magi_backup_using_subcommand cloud; and __fish_seen_subcommand_from verify" -s v -l verbose -d 'Say more: -v for debug, -vv for trace (overrides $MAGI_LOG)'
complete -c magi-backup -n "__fish_magi_backup_using_subcommand cloud; and __fish_seen_subcommand_from verify" -s q -l quiet -d 'Say only errors (overrides $MAGI_LOG)'
complete -c magi-backup -n "__fish_magi_backup_using_subcommand cloud; and __fish_seen_subcommand_from verify" -s h -l help -d 'Print help'
complete -c magi-backup -n "__fish_magi_backup_using_subcommand cloud; and __fish_seen_subcommand_from prune" -l keep-last -d 'Keep the N newest backups (default: [backup] keep_last, 3)' -r
complete -c magi-backup -n "__fish_magi_backup_using_subcommand cloud; and __fish_seen_subcommand_from prune" -l keep-daily -d 'Keep the newest backup of each of the last N days that have one (default: [backup] keep_daily, 7)' -r
complete -c magi-backup -n "__fish_magi_backup_using_subcommand cloud; and __fish_seen_subcommand_from prune" -l keep-weekly -d 'Keep the newest backup of each of the last N ISO weeks that have one (default: [backup] keep_weekly, 4)' -r
complete -c magi-backup -n "__fish_magi_backup_using_subcommand cloud; and __fish_seen_subcommand_from prune" -l keep-monthly -d 'Keep the newest backup of each of the last N months that have one (default: [backup] keep_monthly, 12)' -r
complete -c magi-backup -n "__fish_magi_backup_using_subcommand cloud; and __fish_seen_subcommand_from prune" -l max-unused -d 'Repack a pack when more than PERCENT of its content is unused (100: never repack)' -r
complete -c magi-backup -n "__fish_magi_backup_using_subcommand cloud; and __fish_seen_subcommand_from prune" -l config -d 'Read the configuration from FILE instead of $MAGI_CONFIG or /etc/magi/magi.toml (~/.config/magi/magi.toml when not root); without any, the built-in description of the MAGI stack is used' -r -F
complete -c magi-backup -n "__fish_magi_backup_using_subcommand cloud; and __fish_seen_subcommand_from prune" -l dry-run -d 'Show what would be deleted, delete nothing'
complete -c magi-backup -n "__fish_magi_backup_using_subcommand cloud; and __fish_seen_subcommand_from prune" -l json -d 'Print the outcome as JSON'
complete -c magi-backup -n "__fish_magi_backup_using_subcommand cloud; and __fish_seen_subcommand_from prune" -s v -l verbose -d 'Say more: -v for debug, -vv for trace (overrides $MAGI_LOG)'
complete -c magi-backup -n "__fish_magi_backup_using_subcommand cloud; and __fish_seen_subcommand_from prune" -s q -l quiet -d 'Say only errors (overrides $MAGI_LOG)'
complete -c magi-backup -n "__fish_magi_backup_using_subcommand cloud; and __fish_seen_subcommand_from prune" -s h -l help -d 'Print help'
complete -c magi-backup -n "__fish_magi_backup_using_subcommand cloud; and __fish_seen_subcommand_from help" -f -a "configure" -d 'Set up the repository: where, with which credentials, and the key (created if none)'
complete -c magi-backup -n "__fish_magi_backup_using_subcommand cloud; and __fish_seen_subcommand_from help" -f -a "upload" -d 'Upload a local backup (default: the newest) into the repository, only what changed'
complete -c magi-backup -n "__fish_magi_backup_using_subcommand cloud; and __fish_seen_subcommand_from help" -f -a "list" -d 'List the backups in the repository, and which are also on this disk'
complete -c magi-backup -n "__fish_magi_backup_using_subcommand cloud; and __fish_seen_subcommand_from help" -f -a "verify" -d 'Check the repository: the bucket against the index, and a sample of packs read (--deep: all)'
complete -c magi-backup -n "__fish_magi_backup_using_subcommand cloud; and __fish_seen_subcommand_from help" -f -a "prune" -d 'Delete the repository\'s backups its own retention does not keep, then the data only they used'
complete -c magi-backup -n "__fish_magi_backup_using_subcommand cloud; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c magi-backup -n "__fish_magi_backup_using_subcommand auto" -l schedule -d 'daily, weekly, or a systemd OnCalendar= expression' -r
complete -c magi-backup -n "__fish_magi_backup_using_subcommand auto" -l unit-dir -d 'Where the timer\'s drop-in directory is made' -r -F
complete -c magi-backup -n "__fish_magi_backup_using_subcommand auto" -l config -d 'Read the configuration from FILE instead of $MAGI_CONFIG or /etc/magi/magi.toml (~/.config/magi/magi.toml when not root); without any, the built-in description of the MAGI stack is used' -r -F
complete -c magi-backup -n "__fish_magi_backup_using_subcommand auto" -s v -l verbose -d 'Say more: -v for debug, -vv for trace (overrides $MAGI_LOG)'
complete -c magi-backup -n "__fish_magi_backup_using_subcommand auto" -s q -l quiet -d 'Say only errors (overrides $MAGI_LOG)'
complete -c magi-backup -n "__fish_magi_backup_using_subcommand auto" -s h -l help -d 'Print help'
complete -c magi-backup -n "__fish_magi_backup_using_subcommand help; and not __fish_seen_subcommand_from create list verify prune cloud auto help" -f -a "create" -d 'Take a backup of the stack, or of some services'
complete -c magi-backup -n "__fish_magi_backup_using_subcommand help; and not __fish_seen_subcommand_from create list verify prune cloud auto help" -f -a "list" -d 'List the backups: name, time, size, services, note, last verification'
complete -c magi-backup -n "__fish_magi_backup_using_subcommand help; and not __fish_seen_subcommand_from create list verify prune cloud auto help" -f -a "verify" -d 'Check every entry of a backup against its checksums; --deep also opens what it holds'
complete -c magi-backup -n "__fish_magi_backup_using_subcommand help; and not __fish_seen_subcommand_from create list verify prune cloud auto help" -f -a "prune" -d 'Delete the backups a retention policy does not keep (restic\'s keep-last/daily/weekly/monthly)'
complete -c magi-backup -n "__fish_magi_backup_using_subcommand help; and not __fish_seen_subcommand_from create list verify prune cloud auto help" -f -a "cloud" -d 'The off-site copy: encrypted, incremental, in an S3-compatible bucket or on another disk'
complete -c magi-backup -n "__fish_magi_backup_using_subcommand help; and not __fish_seen_subcommand_from create list verify prune cloud auto help" -f -a "auto" -d 'Set when magi-backup.timer runs: writes a drop-in, checked with systemd-analyze calendar'
complete -c magi-backup -n "__fish_magi_backup_using_subcommand help; and not __fish_seen_subcommand_from create list verify prune cloud auto help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c magi-backup -n "__fish_magi_backup_using_subcommand help; and __fish_seen_subcommand_from cloud" -f -a "configure" -d 'Set up the repository: where, with which credentials, and the key (created if none)'
complete -c magi-backup -n "__fish_magi_backup_using_subcommand help; and __fish_seen_subcommand_from cloud" -f -a "upload" -d 'Upload a local backup (default: the newest) into the repository, only what changed'
complete -c magi-backup -n "__fish_magi_backup_using_subcommand help; and __fish_seen_subcommand_from cloud" -f -a "list" -d 'List the backups in the repository, and which are also on this disk'
complete -c magi-backup -n "__fish_magi_backup_using_subcommand help; and __fish_seen_subcommand_from cloud" -f -a "verify" -d 'Check the repository: the bucket against the index, and a sample of packs read (--deep: all)'
complete -c magi-backup -n "__fish_magi_backup_using_subcommand help; and __fish_seen_subcommand_from cloud" -f -a "prune" -d 'Delete the repository\'s backups its own retention does not keep, then the data only they used'
