# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_magi_pitr_global_optspecs
    string join \n config= v/verbose q/quiet h/help V/version
end

function __fish_magi_pitr_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_magi_pitr_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_magi_pitr_using_subcommand
    set -l cmd (__fish_magi_pitr_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c magi-pitr -n "__fish_magi_pitr_needs_command" -l config -d 'Read the configuration from FILE instead of $MAGI_CONFIG or /etc/magi/magi.toml (~/.config/magi/magi.toml when not root); without any, the built-in description of the MAGI stack is used' -r -F
complete -c magi-pitr -n "__fish_magi_pitr_needs_command" -s v -l verbose -d 'Say more: -v for debug, -vv for trace (overrides $MAGI_LOG)'
complete -c magi-pitr -n "__fish_magi_pitr_needs_command" -s q -l quiet -d 'Say only errors (overrides $MAGI_LOG)'
complete -c magi-pitr -n "__fish_magi_pitr_needs_command" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c magi-pitr -n "__fish_magi_pitr_needs_command" -s V -l version -d 'Print version'
complete -c magi-pitr -n "__fish_magi_pitr_needs_command" -f -a "check" -d 'Each SQLite database of the stack: its journal mode, size and log, and how to switch it to WAL'
complete -c magi-pitr -n "__fish_magi_pitr_needs_command" -f -a "capture" -d 'Follow every database in WAL mode and keep its transactions (the daemon of magi-pitr.service)'
complete -c magi-pitr -n "__fish_magi_pitr_needs_command" -f -a "list" -d 'What can be restored, per database: the earliest and latest points, generations and size'
complete -c magi-pitr -n "__fish_magi_pitr_needs_command" -f -a "restore" -d 'Rebuild each database as it was at a time into a directory, checked, touching nothing of the stack'
complete -c magi-pitr -n "__fish_magi_pitr_needs_command" -f -a "ship" -d 'Upload the store into the cloud repository ([cloud]): encrypted, only what changed (magi-pitr-ship.timer, every minute)'
complete -c magi-pitr -n "__fish_magi_pitr_needs_command" -f -a "drill" -d 'The failover drill (magi-pitr-drill.timer, monthly): each service\'s databases restored to their newest point and checked, then the service started from them in a scratch stack (an internal Docker network, no ports, the live data untouched) and timed until healthy; a pitr.drill event each'
complete -c magi-pitr -n "__fish_magi_pitr_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c magi-pitr -n "__fish_magi_pitr_using_subcommand check" -l service -d 'Only this service\'s databases (repeatable; by service or container name; `magi` names MAGI ops\' own stores)' -r
complete -c magi-pitr -n "__fish_magi_pitr_using_subcommand check" -l config -d 'Read the configuration from FILE instead of $MAGI_CONFIG or /etc/magi/magi.toml (~/.config/magi/magi.toml when not root); without any, the built-in description of the MAGI stack is used' -r -F
complete -c magi-pitr -n "__fish_magi_pitr_using_subcommand check" -l json -d 'One JSON object per database, one per line'
complete -c magi-pitr -n "__fish_magi_pitr_using_subcommand check" -s v -l verbose -d 'Say more: -v for debug, -vv for trace (overrides $MAGI_LOG)'
complete -c magi-pitr -n "__fish_magi_pitr_using_subcommand check" -s q -l quiet -d 'Say only errors (overrides $MAGI_LOG)'
complete -c magi-pitr -n "__fish_magi_pitr_using_subcommand check" -s h -l help -d 'Print help'
complete -c magi-pitr -n "__fish_magi_pitr_using_subcommand capture" -l service -d 'Only this service\'s databases (repeatable; `magi` names MAGI ops\' own stores)' -r
complete -c magi-pitr -n "__fish_magi_pitr_using_subcommand capture" -l interval -d 'Time between reads of each log: a transaction is shipped at most this long after it commits' -r
complete -c magi-pitr -n "__fish_magi_pitr_using_subcommand capture" -l snapshot-every -d 'Begin a new generation (a fresh copy of each database) this often, so a restore replays at most this much log' -r
complete -c magi-pitr -n "__fish_magi_pitr_using_subcommand capture" -l keep -d 'Keep what is needed to restore to any time this far back' -r
complete -c magi-pitr -n "__fish_magi_pitr_using_subcommand capture" -l checkpoint-frames -d 'Checkpoint a log once it holds this many frames (pages)' -r
complete -c magi-pitr -n "__fish_magi_pitr_using_subcommand capture" -l config -d 'Read the configuration from FILE instead of $MAGI_CONFIG or /etc/magi/magi.toml (~/.config/magi/magi.toml when not root); without any, the built-in description of the MAGI stack is used' -r -F
complete -c magi-pitr -n "__fish_magi_pitr_using_subcommand capture" -s v -l verbose -d 'Say more: -v for debug, -vv for trace (overrides $MAGI_LOG)'
complete -c magi-pitr -n "__fish_magi_pitr_using_subcommand capture" -s q -l quiet -d 'Say only errors (overrides $MAGI_LOG)'
complete -c magi-pitr -n "__fish_magi_pitr_using_subcommand capture" -s h -l help -d 'Print help'
complete -c magi-pitr -n "__fish_magi_pitr_using_subcommand list" -l service -d 'Only this service\'s databases (repeatable; `magi` names MAGI ops\' own stores)' -r
complete -c magi-pitr -n "__fish_magi_pitr_using_subcommand list" -l config -d 'Read the configuration from FILE instead of $MAGI_CONFIG or /etc/magi/magi.toml (~/.config/magi/magi.toml when not root); without any, the built-in description of the MAGI stack is used' -r -F
complete -c magi-pitr -n "__fish_magi_pitr_using_subcommand list" -l json -d 'One JSON object per database, one per line'
complete -c magi-pitr -n "__fish_magi_pitr_using_subcommand list" -s v -l verbose -d 'Say more: -v for debug, -vv for trace (overrides $MAGI_LOG)'
complete -c magi-pitr -n "__fish_magi_pitr_using_subcommand list" -s q -l quiet -d 'Say only errors (overrides $MAGI_LOG)'
complete -c magi-pitr -n "__fish_magi_pitr_using_subcommand list" -s h -l help -d 'Print help'
complete -c magi-pitr -n "__fish_magi_pitr_using_subcommand restore" -l timestamp -d 'The time to restore to: each database as of its last transaction committed at or before it (\'2026-11-20 14:29:30\' in local time, or RFC 3339)' -r
complete -c magi-pitr -n "__fish_magi_pitr_using_subcommand restore" -l to -d 'Write the databases here, as DIR/SERVICE/FILE (DIR absent or empty)' -r -F
complete -c magi-pitr -n "__fish_magi_pitr_using_subcommand restore" -l service -d 'Only this service\'s databases (repeatable; `magi` names MAGI ops\' own stores)' -r
complete -c magi-pitr -n "__fish_magi_pitr_using_subcommand restore" -l config -d 'Read the configuration from FILE instead of $MAGI_CONFIG or /etc/magi/magi.toml (~/.config/magi/magi.toml when not root); without any, the built-in description of the MAGI stack is used' -r -F
complete -c magi-pitr -n "__fish_magi_pitr_using_subcommand restore" -l from-cloud -d 'Restore from the copy shipped to the cloud repository ([cloud]), not the local store'
complete -c magi-pitr -n "__fish_magi_pitr_using_subcommand restore" -l json -d 'One JSON object per database, one per line'
complete -c magi-pitr -n "__fish_magi_pitr_using_subcommand restore" -s v -l verbose -d 'Say more: -v for debug, -vv for trace (overrides $MAGI_LOG)'
complete -c magi-pitr -n "__fish_magi_pitr_using_subcommand restore" -s q -l quiet -d 'Say only errors (overrides $MAGI_LOG)'
complete -c magi-pitr -n "__fish_magi_pitr_using_subcommand restore" -s h -l help -d 'Print help'
complete -c magi-pitr -n "__fish_magi_pitr_using_subcommand ship" -l config -d 'Read the configuration from FILE instead of $MAGI_CONFIG or /etc/magi/magi.toml (~/.config/magi/magi.toml when not root); without any, the built-in description of the MAGI stack is used' -r -F
complete -c magi-pitr -n "__fish_magi_pitr_using_subcommand ship" -l if-configured -d 'Do nothing, successfully, when the config has no [cloud] section (what the timer runs)'
complete -c magi-pitr -n "__fish_magi_pitr_using_subcommand ship" -l json -d 'One JSON object: the snapshot stored and its figures'
complete -c magi-pitr -n "__fish_magi_pitr_using_subcommand ship" -s v -l verbose -d 'Say more: -v for debug, -vv for trace (overrides $MAGI_LOG)'
complete -c magi-pitr -n "__fish_magi_pitr_using_subcommand ship" -s q -l quiet -d 'Say only errors (overrides $MAGI_LOG)'
complete -c magi-pitr -n "__fish_magi_pitr_using_subcommand ship" -s h -l help -d 'Print help'
complete -c magi-pitr -n "__fish_magi_pitr_using_subcommand drill" -l service -d 'Only this service\'s databases (repeatable; `magi` names MAGI ops\' own stores)' -r
complete -c magi-pitr -n "__fish_magi_pitr_using_subcommand drill" -l timeout -d 'How long a service may take to come up healthy in the scratch stack' -r
complete -c magi-pitr -n "__fish_magi_pitr_using_subcommand drill" -l config -d 'Read the configuration from FILE instead of $MAGI_CONFIG or /etc/magi/magi.toml (~/.config/magi/magi.toml when not root); without any, the built-in description of the MAGI stack is used' -r -F
complete -c magi-pitr -n "__fish_magi_pitr_using_subcommand drill" -l json -d 'The events as NDJSON on stdout (for magi-alert)'
complete -c magi-pitr -n "__fish_magi_pitr_using_subcommand drill" -l keep -d 'Leave the scratch stack running and its data in place, to look at (`drill --clean` removes them)'
complete -c magi-pitr -n "__fish_magi_pitr_using_subcommand drill" -l clean -d 'Remove what earlier drills left (kept, or killed midway) and do nothing else'
complete -c magi-pitr -n "__fish_magi_pitr_using_subcommand drill" -s v -l verbose -d 'Say more: -v for debug, -vv for trace (overrides $MAGI_LOG)'
complete -c magi-pitr -n "__fish_magi_pitr_using_subcommand drill" -s q -l quiet -d 'Say only errors (overrides $MAGI_LOG)'
complete -c magi-pitr -n "__fish_magi_pitr_using_subcommand drill" -s h -l help -d 'Print help'
complete -c magi-pitr -n "__fish_magi_pitr_using_subcommand help; and not __fish_seen_subcommand_from check capture list restore ship drill help" -f -a "check" -d 'Each SQLite database of the stack: its journal mode, size and log, and how to switch it to WAL'
complete -c magi-pitr -n "__fish_magi_pitr_using_subcommand help; and not __fish_seen_subcommand_from check capture list restore ship drill help" -f -a "capture" -d 'Follow every database in WAL mode and keep its transactions (the daemon of magi-pitr.service)'
complete -c magi-pitr -n "__fish_magi_pitr_using_subcommand help; and not __fish_seen_subcommand_from check capture list restore ship drill help" -f -a "list" -d 'What can be restored, per database: the earliest and latest points, generations and size'
complete -c magi-pitr -n "__fish_magi_pitr_using_subcommand help; and not __fish_seen_subcommand_from check capture list restore ship drill help" -f -a "restore" -d 'Rebuild each database as it was at a time into a directory, checked, touching nothing of the stack'
complete -c magi-pitr -n "__fish_magi_pitr_using_subcommand help; and not __fish_seen_subcommand_from check capture list restore ship drill help" -f -a "ship" -d 'Upload the store into the cloud repository ([cloud]): encrypted, only what changed (magi-pitr-ship.timer, every minute)'
complete -c magi-pitr -n "__fish_magi_pitr_using_subcommand help; and not __fish_seen_subcommand_from check capture list restore ship drill help" -f -a "drill" -d 'The failover drill (magi-pitr-drill.timer, monthly): each service\'s databases restored to their newest point and checked, then the service started from them in a scratch stack (an internal Docker network, no ports, the live data untouched) and timed until healthy; a pitr.drill event each'
complete -c magi-pitr -n "__fish_magi_pitr_using_subcommand help; and not __fish_seen_subcommand_from check capture list restore ship drill help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
