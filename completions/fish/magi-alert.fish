# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_magi_alert_global_optspecs
    string join \n config= v/verbose q/quiet to= db= drain= h/help V/version
end

function __fish_magi_alert_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_magi_alert_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_magi_alert_using_subcommand
    set -l cmd (__fish_magi_alert_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c magi-alert -n "__fish_magi_alert_needs_command" -l config -d 'Read the configuration from FILE instead of $MAGI_CONFIG or /etc/magi/magi.toml (~/.config/magi/magi.toml when not root); without any, the built-in description of the MAGI stack is used' -r -F
complete -c magi-alert -n "__fish_magi_alert_needs_command" -l to -d 'Also send to this channel (repeatable): a URL such as ntfy://host/topic, or the name of a channel of the config. A URL that is a credential (Slack, Discord, a password or a token in its query) is refused here, where every user can read it: name it in [alert.channels] and give the name' -r
complete -c magi-alert -n "__fish_magi_alert_needs_command" -l db -d 'The alert database (default: alert.db in the state directory, /var/lib/magi as root)' -r -F
complete -c magi-alert -n "__fish_magi_alert_needs_command" -l drain -d 'At the end of the input, wait this long for queued deliveries; what is left is sent by the next run' -r
complete -c magi-alert -n "__fish_magi_alert_needs_command" -s v -l verbose -d 'Say more: -v for debug, -vv for trace (overrides $MAGI_LOG)'
complete -c magi-alert -n "__fish_magi_alert_needs_command" -s q -l quiet -d 'Say only errors (overrides $MAGI_LOG)'
complete -c magi-alert -n "__fish_magi_alert_needs_command" -s h -l help -d 'Print help'
complete -c magi-alert -n "__fish_magi_alert_needs_command" -s V -l version -d 'Print version'
complete -c magi-alert -n "__fish_magi_alert_needs_command" -a "list" -d 'List alerts, newest first'
complete -c magi-alert -n "__fish_magi_alert_needs_command" -a "ack" -d 'Acknowledge an alert: no more reminders until it resolves (the resolve is still sent)'
complete -c magi-alert -n "__fish_magi_alert_needs_command" -a "silence" -d 'Hold notices about a subject for a while'
complete -c magi-alert -n "__fish_magi_alert_needs_command" -a "test" -d 'Send a test notice to a configured channel or a URL now, and show the server\'s answer'
complete -c magi-alert -n "__fish_magi_alert_needs_command" -a "history" -d 'What happened: alerts fired, notices sent, failures, acks and silences'
complete -c magi-alert -n "__fish_magi_alert_needs_command" -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c magi-alert -n "__fish_magi_alert_using_subcommand list" -l limit -d 'At most this many, the newest' -r
complete -c magi-alert -n "__fish_magi_alert_using_subcommand list" -l config -d 'Read the configuration from FILE instead of $MAGI_CONFIG or /etc/magi/magi.toml (~/.config/magi/magi.toml when not root); without any, the built-in description of the MAGI stack is used' -r -F
complete -c magi-alert -n "__fish_magi_alert_using_subcommand list" -l db -d 'The alert database (default: alert.db in the state directory, /var/lib/magi as root)' -r -F
complete -c magi-alert -n "__fish_magi_alert_using_subcommand list" -l active -d 'Only alerts that have not resolved'
complete -c magi-alert -n "__fish_magi_alert_using_subcommand list" -l json -d 'One JSON object a line'
complete -c magi-alert -n "__fish_magi_alert_using_subcommand list" -s v -l verbose -d 'Say more: -v for debug, -vv for trace (overrides $MAGI_LOG)'
complete -c magi-alert -n "__fish_magi_alert_using_subcommand list" -s q -l quiet -d 'Say only errors (overrides $MAGI_LOG)'
complete -c magi-alert -n "__fish_magi_alert_using_subcommand list" -s h -l help -d 'Print help'
complete -c magi-alert -n "__fish_magi_alert_using_subcommand ack" -l note -d 'Who is on it, or why' -r
complete -c magi-alert -n "__fish_magi_alert_using_subcommand ack" -l config -d 'Read the configuration from FILE instead of $MAGI_CONFIG or /etc/magi/magi.toml (~/.config/magi/magi.toml when not root); without any, the built-in description of the MAGI stack is used' -r -F
complete -c magi-alert -n "__fish_magi_alert_using_subcommand ack" -l db -d 'The alert database (default: alert.db in the state directory, /var/lib/magi as root)' -r -F
complete -c magi-alert -n "__fish_magi_alert_using_subcommand ack" -s v -l verbose -d 'Say more: -v for debug, -vv for trace (overrides $MAGI_LOG)'
complete -c magi-alert -n "__fish_magi_alert_using_subcommand ack" -s q -l quiet -d 'Say only errors (overrides $MAGI_LOG)'
complete -c magi-alert -n "__fish_magi_alert_using_subcommand ack" -s h -l help -d 'Print help'
complete -c magi-alert -n "__fish_magi_alert_using_subcommand silence; and not __fish_seen_subcommand_from add list remove help" -l config -d 'Read the configuration from FILE instead of $MAGI_CONFIG or /etc/magi/magi.toml (~/.config/magi/magi.toml when not root); without any, the built-in description of the MAGI stack is used' -r -F
complete -c magi-alert -n "__fish_magi_alert_using_subcommand silence; and not __fish_seen_subcommand_from add list remove help" -l db -d 'The alert database (default: alert.db in the state directory, /var/lib/magi as root)' -r -F
complete -c magi-alert -n "__fish_magi_alert_using_subcommand silence; and not __fish_seen_subcommand_from add list remove help" -s v -l verbose -d 'Say more: -v for debug, -vv for trace (overrides $MAGI_LOG)'
complete -c magi-alert -n "__fish_magi_alert_using_subcommand silence; and not __fish_seen_subcommand_from add list remove help" -s q -l quiet -d 'Say only errors (overrides $MAGI_LOG)'
complete -c magi-alert -n "__fish_magi_alert_using_subcommand silence; and not __fish_seen_subcommand_from add list remove help" -s h -l help -d 'Print help'
complete -c magi-alert -n "__fish_magi_alert_using_subcommand silence; and not __fish_seen_subcommand_from add list remove help" -f -a "add" -d 'Silence SUBJECT (a glob: `qdrant`, `magi-*`) for a duration'
complete -c magi-alert -n "__fish_magi_alert_using_subcommand silence; and not __fish_seen_subcommand_from add list remove help" -f -a "list" -d 'The silences in force'
complete -c magi-alert -n "__fish_magi_alert_using_subcommand silence; and not __fish_seen_subcommand_from add list remove help" -f -a "remove" -d 'End a silence early, by its number or subject'
complete -c magi-alert -n "__fish_magi_alert_using_subcommand silence; and not __fish_seen_subcommand_from add list remove help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c magi-alert -n "__fish_magi_alert_using_subcommand silence; and __fish_seen_subcommand_from add" -l for -d 'How long, e.g. 30m, 2h, 1d' -r
complete -c magi-alert -n "__fish_magi_alert_using_subcommand silence; and __fish_seen_subcommand_from add" -l note -d 'Why, shown by `silence list` and in the history' -r
complete -c magi-alert -n "__fish_magi_alert_using_subcommand silence; and __fish_seen_subcommand_from add" -l config -d 'Read the configuration from FILE instead of $MAGI_CONFIG or /etc/magi/magi.toml (~/.config/magi/magi.toml when not root); without any, the built-in description of the MAGI stack is used' -r -F
complete -c magi-alert -n "__fish_magi_alert_using_subcommand silence; and __fish_seen_subcommand_from add" -l db -d 'The alert database (default: alert.db in the state directory, /var/lib/magi as root)' -r -F
complete -c magi-alert -n "__fish_magi_alert_using_subcommand silence; and __fish_seen_subcommand_from add" -s v -l verbose -d 'Say more: -v for debug, -vv for trace (overrides $MAGI_LOG)'
complete -c magi-alert -n "__fish_magi_alert_using_subcommand silence; and __fish_seen_subcommand_from add" -s q -l quiet -d 'Say only errors (overrides $MAGI_LOG)'
complete -c magi-alert -n "__fish_magi_alert_using_subcommand silence; and __fish_seen_subcommand_from add" -s h -l help -d 'Print help'
complete -c magi-alert -n "__fish_magi_alert_using_subcommand silence; and __fish_seen_subcommand_from list" -l config -d 'Read the configuration from FILE instead of $MAGI_CONFIG or /etc/magi/magi.toml (~/.config/magi/magi.toml when not root); without any, the built-in description of the MAGI stack is used' -r -F
complete -c magi-alert -n "__fish_magi_alert_using_subcommand silence; and __fish_seen_subcommand_from list" -l db -d 'The alert database (default: alert.db in the state directory, /var/lib/magi as root)' -r -F
complete -c magi-alert -n "__fish_magi_alert_using_subcommand silence; and __fish_seen_subcommand_from list" -l json -d 'One JSON object a line'
complete -c magi-alert -n "__fish_magi_alert_using_subcommand silence; and __fish_seen_subcommand_from list" -s v -l verbose -d 'Say more: -v for debug, -vv for trace (overrides $MAGI_LOG)'
complete -c magi-alert -n "__fish_magi_alert_using_subcommand silence; and __fish_seen_subcommand_from list" -s q -l quiet -d 'Say only errors (overrides $MAGI_LOG)'
complete -c magi-alert -n "__fish_magi_alert_using_subcommand silence; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help'
complete -c magi-alert -n "__fish_magi_alert_using_subcommand silence; and __fish_seen_subcommand_from remove" -l config -d 'Read the configuration from FILE instead of $MAGI_CONFIG or /etc/magi/magi.toml (~/.config/magi/magi.toml when not root); without any, the built-in description of the MAGI stack is used' -r -F
complete -c magi-alert -n "__fish_magi_alert_using_subcommand silence; and __fish_seen_subcommand_from remove" -l db -d 'The alert database (default: alert.db in the state directory, /var/lib/magi as root)' -r -F
complete -c magi-alert -n "__fish_magi_alert_using_subcommand silence; and __fish_seen_subcommand_from remove" -s v -l verbose -d 'Say more: -v for debug, -vv for trace (overrides $MAGI_LOG)'
complete -c magi-alert -n "__fish_magi_alert_using_subcommand silence; and __fish_seen_subcommand_from remove" -s q -l quiet -d 'Say only errors (overrides $MAGI_LOG)'
complete -c magi-alert -n "__fish_magi_alert_using_subcommand silence; and __fish_seen_subcommand_from remove" -s h -l help -d 'Print help'
complete -c magi-alert -n "__fish_magi_alert_using_subcommand silence; and __fish_seen_subcommand_from help" -f -a "add" -d 'Silence SUBJECT (a glob: `qdrant`, `magi-*`) for a duration'
complete -c magi-alert -n "__fish_magi_alert_using_subcommand silence; and __fish_seen_subcommand_from help" -f -a "list" -d 'The silences in force'
complete -c magi-alert -n "__fish_magi_alert_using_subcommand silence; and __fish_seen_subcommand_from help" -f -a "remove" -d 'End a silence early, by its number or subject'
complete -c magi-alert -n "__fish_magi_alert_using_subcommand silence; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c magi-alert -n "__fish_magi_alert_using_subcommand test" -l config -d 'Read the configuration from FILE instead of $MAGI_CONFIG or /etc/magi/magi.toml (~/.config/magi/magi.toml when not root); without any, the built-in description of the MAGI stack is used' -r -F
complete -c magi-alert -n "__fish_magi_alert_using_subcommand test" -l db -d 'The alert database (default: alert.db in the state directory, /var/lib/magi as root)' -r -F
complete -c magi-alert -n "__fish_magi_alert_using_subcommand test" -s v -l verbose -d 'Say more: -v for debug, -vv for trace (overrides $MAGI_LOG)'
complete -c magi-alert -n "__fish_magi_alert_using_subcommand test" -s q -l quiet -d 'Say only errors (overrides $MAGI_LOG)'
complete -c magi-alert -n "__fish_magi_alert_using_subcommand test" -s h -l help -d 'Print help'
complete -c magi-alert -n "__fish_magi_alert_using_subcommand history" -l since -d 'How far back' -r
complete -c magi-alert -n "__fish_magi_alert_using_subcommand history" -l config -d 'Read the configuration from FILE instead of $MAGI_CONFIG or /etc/magi/magi.toml (~/.config/magi/magi.toml when not root); without any, the built-in description of the MAGI stack is used' -r -F
complete -c magi-alert -n "__fish_magi_alert_using_subcommand history" -l db -d 'The alert database (default: alert.db in the state directory, /var/lib/magi as root)' -r -F
complete -c magi-alert -n "__fish_magi_alert_using_subcommand history" -l json -d 'One JSON object a line'
complete -c magi-alert -n "__fish_magi_alert_using_subcommand history" -s v -l verbose -d 'Say more: -v for debug, -vv for trace (overrides $MAGI_LOG)'
complete -c magi-alert -n "__fish_magi_alert_using_subcommand history" -s q -l quiet -d 'Say only errors (overrides $MAGI_LOG)'
complete -c magi-alert -n "__fish_magi_alert_using_subcommand history" -s h -l help -d 'Print help'
complete -c magi-alert -n "__fish_magi_alert_using_subcommand help; and not __fish_seen_subcommand_from list ack silence test history help" -f -a "list" -d 'List alerts, newest first'
complete -c magi-alert -n "__fish_magi_alert_using_subcommand help; and not __fish_seen_subcommand_from list ack silence test history help" -f -a "ack" -d 'Acknowledge an alert: no more reminders until it resolves (the resolve is still sent)'
complete -c magi-alert -n "__fish_magi_alert_using_subcommand help; and not __fish_seen_subcommand_from list ack silence test history help" -f -a "silence" -d 'Hold notices about a subject for a while'
complete -c magi-alert -n "__fish_magi_alert_using_subcommand help; and not __fish_seen_subcommand_from list ack silence test history help" -f -a "test" -d 'Send a test notice to a configured channel or a URL now, and show the server\'s answer'
complete -c magi-alert -n "__fish_magi_alert_using_subcommand help; and not __fish_seen_subcommand_from list ack silence test history help" -f -a "history" -d 'What happened: alerts fired, notices sent, failures, acks and silences'
complete -c magi-alert -n "__fish_magi_alert_using_subcommand help; and not __fish_seen_subcommand_from list ack silence test history help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c magi-alert -n "__fish_magi_alert_using_subcommand help; and __fish_seen_subcommand_from silence" -f -a "add" -d 'Silence SUBJECT (a glob: `qdrant`, `magi-*`) for a duration'
complete -c magi-alert -n "__fish_magi_alert_using_subcommand help; and __fish_seen_subcommand_from silence" -f -a "list" -d 'The silences in force'
complete -c magi-alert -n "__fish_magi_alert_using_subcommand help; and __fish_seen_subcommand_from silence" -f -a "remove" -d 'End a silence early, by its number or subject'
