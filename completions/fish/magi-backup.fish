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
complete -c magi-backup -n "__fish_magi_backup_using_subcommand prune" -s v -l verbose -d 'Say more: -v for debug, -vv for trace (overrides $MAGI_LOG)'
complete -c magi-backup -n "__fish_magi_backup_using_subcommand prune" -s q -l quiet -d 'Say only errors (overrides $MAGI_LOG)'
complete -c magi-backup -n "__fish_magi_backup_using_subcommand prune" -s h -l help -d 'Print help'
complete -c magi-backup -n "__fish_magi_backup_using_subcommand auto" -l schedule -d 'daily, weekly, or a systemd OnCalendar= expression' -r
complete -c magi-backup -n "__fish_magi_backup_using_subcommand auto" -l unit-dir -d 'Where the timer\'s drop-in directory is made' -r -F
complete -c magi-backup -n "__fish_magi_backup_using_subcommand auto" -l config -d 'Read the configuration from FILE instead of $MAGI_CONFIG or /etc/magi/magi.toml (~/.config/magi/magi.toml when not root); without any, the built-in description of the MAGI stack is used' -r -F
complete -c magi-backup -n "__fish_magi_backup_using_subcommand auto" -s v -l verbose -d 'Say more: -v for debug, -vv for trace (overrides $MAGI_LOG)'
complete -c magi-backup -n "__fish_magi_backup_using_subcommand auto" -s q -l quiet -d 'Say only errors (overrides $MAGI_LOG)'
complete -c magi-backup -n "__fish_magi_backup_using_subcommand auto" -s h -l help -d 'Print help'
complete -c magi-backup -n "__fish_magi_backup_using_subcommand help; and not __fish_seen_subcommand_from create list verify prune auto help" -f -a "create" -d 'Take a backup of the stack, or of some services'
complete -c magi-backup -n "__fish_magi_backup_using_subcommand help; and not __fish_seen_subcommand_from create list verify prune auto help" -f -a "list" -d 'List the backups: name, time, size, services, note, last verification'
complete -c magi-backup -n "__fish_magi_backup_using_subcommand help; and not __fish_seen_subcommand_from create list verify prune auto help" -f -a "verify" -d 'Check every entry of a backup against its checksums; --deep also opens what it holds'
complete -c magi-backup -n "__fish_magi_backup_using_subcommand help; and not __fish_seen_subcommand_from create list verify prune auto help" -f -a "prune" -d 'Delete the backups a retention policy does not keep (restic\'s keep-last/daily/weekly/monthly)'
complete -c magi-backup -n "__fish_magi_backup_using_subcommand help; and not __fish_seen_subcommand_from create list verify prune auto help" -f -a "auto" -d 'Set when magi-backup.timer runs: writes a drop-in, checked with systemd-analyze calendar'
complete -c magi-backup -n "__fish_magi_backup_using_subcommand help; and not __fish_seen_subcommand_from create list verify prune auto help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
