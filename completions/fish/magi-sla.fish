# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_magi_sla_global_optspecs
    string join \n config= v/verbose q/quiet metrics-dir= usage-db= h/help V/version
end

function __fish_magi_sla_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_magi_sla_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_magi_sla_using_subcommand
    set -l cmd (__fish_magi_sla_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c magi-sla -n "__fish_magi_sla_needs_command" -l config -d 'Read the configuration from FILE instead of $MAGI_CONFIG or /etc/magi/magi.toml (~/.config/magi/magi.toml when not root); without any, the built-in description of the MAGI stack is used' -r -F
complete -c magi-sla -n "__fish_magi_sla_needs_command" -l metrics-dir -d 'The metrics store directory [default: metrics/ in the state directory]' -r -F
complete -c magi-sla -n "__fish_magi_sla_needs_command" -l usage-db -d 'The gateway\'s usage database [default: usage.db in the state directory]' -r -F
complete -c magi-sla -n "__fish_magi_sla_needs_command" -s v -l verbose -d 'Say more: -v for debug, -vv for trace (overrides $MAGI_LOG)'
complete -c magi-sla -n "__fish_magi_sla_needs_command" -s q -l quiet -d 'Say only errors (overrides $MAGI_LOG)'
complete -c magi-sla -n "__fish_magi_sla_needs_command" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c magi-sla -n "__fish_magi_sla_needs_command" -s V -l version -d 'Print version'
complete -c magi-sla -n "__fish_magi_sla_needs_command" -f -a "report" -d 'Availability, error budget, incidents and request availability over a window'
complete -c magi-sla -n "__fish_magi_sla_needs_command" -f -a "burn" -d 'Error-budget burn rates now, on the multiwindow thresholds: `sla.burn` events for magi-alert'
complete -c magi-sla -n "__fish_magi_sla_needs_command" -f -a "trends" -d 'Each model\'s and service\'s trailing week against the week before: error rate, p95 latency, p95 TTFT'
complete -c magi-sla -n "__fish_magi_sla_needs_command" -f -a "anomalies" -d 'Unusual hours of requests, tokens and cost against the same hour of the four weeks before'
complete -c magi-sla -n "__fish_magi_sla_needs_command" -f -a "capacity" -d 'When each disk, data directory and container\'s memory reaches its limit at the trend; the month\'s tokens and cost against the budget (`magi capacity`)'
complete -c magi-sla -n "__fish_magi_sla_needs_command" -f -a "maintenance" -d 'Mark planned maintenance: its time is listed and left out of availability'
complete -c magi-sla -n "__fish_magi_sla_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c magi-sla -n "__fish_magi_sla_using_subcommand report" -l since -d 'The window: this long before now (e.g. 24h, 7d, 30d, 90d)' -r
complete -c magi-sla -n "__fish_magi_sla_using_subcommand report" -l service -d 'Only this service (repeatable) [default: every service of the catalog with figures]' -r
complete -c magi-sla -n "__fish_magi_sla_using_subcommand report" -l target -d 'The availability target, in percent [default: [sla] target in the config, else 99.9]' -r
complete -c magi-sla -n "__fish_magi_sla_using_subcommand report" -l target-of -d 'Another target for one service, as SERVICE=PERCENT (repeatable) [default: [sla.targets]]' -r
complete -c magi-sla -n "__fish_magi_sla_using_subcommand report" -l interval -d 'The interval magi-health watch samples at: an observation vouches for three of them at most' -r
complete -c magi-sla -n "__fish_magi_sla_using_subcommand report" -l config -d 'Read the configuration from FILE instead of $MAGI_CONFIG or /etc/magi/magi.toml (~/.config/magi/magi.toml when not root); without any, the built-in description of the MAGI stack is used' -r -F
complete -c magi-sla -n "__fish_magi_sla_using_subcommand report" -l metrics-dir -d 'The metrics store directory [default: metrics/ in the state directory]' -r -F
complete -c magi-sla -n "__fish_magi_sla_using_subcommand report" -l usage-db -d 'The gateway\'s usage database [default: usage.db in the state directory]' -r -F
complete -c magi-sla -n "__fish_magi_sla_using_subcommand report" -l json -d 'One JSON document'
complete -c magi-sla -n "__fish_magi_sla_using_subcommand report" -l html -d 'A self-contained HTML page'
complete -c magi-sla -n "__fish_magi_sla_using_subcommand report" -s v -l verbose -d 'Say more: -v for debug, -vv for trace (overrides $MAGI_LOG)'
complete -c magi-sla -n "__fish_magi_sla_using_subcommand report" -s q -l quiet -d 'Say only errors (overrides $MAGI_LOG)'
complete -c magi-sla -n "__fish_magi_sla_using_subcommand report" -s h -l help -d 'Print help'
complete -c magi-sla -n "__fish_magi_sla_using_subcommand burn" -l service -d 'Only this service (repeatable) [default: every service of the catalog with figures]' -r
complete -c magi-sla -n "__fish_magi_sla_using_subcommand burn" -l target -d 'The availability target, in percent [default: [sla] target in the config, else 99.9]' -r
complete -c magi-sla -n "__fish_magi_sla_using_subcommand burn" -l target-of -d 'Another target for one service, as SERVICE=PERCENT (repeatable) [default: [sla.targets]]' -r
complete -c magi-sla -n "__fish_magi_sla_using_subcommand burn" -l interval -d 'The interval magi-health watch samples at: an observation vouches for three of them at most' -r
complete -c magi-sla -n "__fish_magi_sla_using_subcommand burn" -l config -d 'Read the configuration from FILE instead of $MAGI_CONFIG or /etc/magi/magi.toml (~/.config/magi/magi.toml when not root); without any, the built-in description of the MAGI stack is used' -r -F
complete -c magi-sla -n "__fish_magi_sla_using_subcommand burn" -l metrics-dir -d 'The metrics store directory [default: metrics/ in the state directory]' -r -F
complete -c magi-sla -n "__fish_magi_sla_using_subcommand burn" -l usage-db -d 'The gateway\'s usage database [default: usage.db in the state directory]' -r -F
complete -c magi-sla -n "__fish_magi_sla_using_subcommand burn" -l json -d 'One sla.burn event a line, for magi-alert'
complete -c magi-sla -n "__fish_magi_sla_using_subcommand burn" -s v -l verbose -d 'Say more: -v for debug, -vv for trace (overrides $MAGI_LOG)'
complete -c magi-sla -n "__fish_magi_sla_using_subcommand burn" -s q -l quiet -d 'Say only errors (overrides $MAGI_LOG)'
complete -c magi-sla -n "__fish_magi_sla_using_subcommand burn" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c magi-sla -n "__fish_magi_sla_using_subcommand trends" -l config -d 'Read the configuration from FILE instead of $MAGI_CONFIG or /etc/magi/magi.toml (~/.config/magi/magi.toml when not root); without any, the built-in description of the MAGI stack is used' -r -F
complete -c magi-sla -n "__fish_magi_sla_using_subcommand trends" -l metrics-dir -d 'The metrics store directory [default: metrics/ in the state directory]' -r -F
complete -c magi-sla -n "__fish_magi_sla_using_subcommand trends" -l usage-db -d 'The gateway\'s usage database [default: usage.db in the state directory]' -r -F
complete -c magi-sla -n "__fish_magi_sla_using_subcommand trends" -l json -d 'One sla.trend event a line, for magi-alert'
complete -c magi-sla -n "__fish_magi_sla_using_subcommand trends" -s v -l verbose -d 'Say more: -v for debug, -vv for trace (overrides $MAGI_LOG)'
complete -c magi-sla -n "__fish_magi_sla_using_subcommand trends" -s q -l quiet -d 'Say only errors (overrides $MAGI_LOG)'
complete -c magi-sla -n "__fish_magi_sla_using_subcommand trends" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c magi-sla -n "__fish_magi_sla_using_subcommand anomalies" -l hours -d 'How many complete hours back to look' -r
complete -c magi-sla -n "__fish_magi_sla_using_subcommand anomalies" -l config -d 'Read the configuration from FILE instead of $MAGI_CONFIG or /etc/magi/magi.toml (~/.config/magi/magi.toml when not root); without any, the built-in description of the MAGI stack is used' -r -F
complete -c magi-sla -n "__fish_magi_sla_using_subcommand anomalies" -l metrics-dir -d 'The metrics store directory [default: metrics/ in the state directory]' -r -F
complete -c magi-sla -n "__fish_magi_sla_using_subcommand anomalies" -l usage-db -d 'The gateway\'s usage database [default: usage.db in the state directory]' -r -F
complete -c magi-sla -n "__fish_magi_sla_using_subcommand anomalies" -l json -d 'One usage.anomaly event a line (the latest hour), for magi-alert'
complete -c magi-sla -n "__fish_magi_sla_using_subcommand anomalies" -s v -l verbose -d 'Say more: -v for debug, -vv for trace (overrides $MAGI_LOG)'
complete -c magi-sla -n "__fish_magi_sla_using_subcommand anomalies" -s q -l quiet -d 'Say only errors (overrides $MAGI_LOG)'
complete -c magi-sla -n "__fish_magi_sla_using_subcommand anomalies" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c magi-sla -n "__fish_magi_sla_using_subcommand capacity" -l trend -d 'The history the trends are fitted over' -r
complete -c magi-sla -n "__fish_magi_sla_using_subcommand capacity" -l config -d 'Read the configuration from FILE instead of $MAGI_CONFIG or /etc/magi/magi.toml (~/.config/magi/magi.toml when not root); without any, the built-in description of the MAGI stack is used' -r -F
complete -c magi-sla -n "__fish_magi_sla_using_subcommand capacity" -l metrics-dir -d 'The metrics store directory [default: metrics/ in the state directory]' -r -F
complete -c magi-sla -n "__fish_magi_sla_using_subcommand capacity" -l usage-db -d 'The gateway\'s usage database [default: usage.db in the state directory]' -r -F
complete -c magi-sla -n "__fish_magi_sla_using_subcommand capacity" -l json -d 'One JSON document'
complete -c magi-sla -n "__fish_magi_sla_using_subcommand capacity" -s v -l verbose -d 'Say more: -v for debug, -vv for trace (overrides $MAGI_LOG)'
complete -c magi-sla -n "__fish_magi_sla_using_subcommand capacity" -s q -l quiet -d 'Say only errors (overrides $MAGI_LOG)'
complete -c magi-sla -n "__fish_magi_sla_using_subcommand capacity" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c magi-sla -n "__fish_magi_sla_using_subcommand maintenance; and not __fish_seen_subcommand_from start end list help" -l config -d 'Read the configuration from FILE instead of $MAGI_CONFIG or /etc/magi/magi.toml (~/.config/magi/magi.toml when not root); without any, the built-in description of the MAGI stack is used' -r -F
complete -c magi-sla -n "__fish_magi_sla_using_subcommand maintenance; and not __fish_seen_subcommand_from start end list help" -l metrics-dir -d 'The metrics store directory [default: metrics/ in the state directory]' -r -F
complete -c magi-sla -n "__fish_magi_sla_using_subcommand maintenance; and not __fish_seen_subcommand_from start end list help" -l usage-db -d 'The gateway\'s usage database [default: usage.db in the state directory]' -r -F
complete -c magi-sla -n "__fish_magi_sla_using_subcommand maintenance; and not __fish_seen_subcommand_from start end list help" -s v -l verbose -d 'Say more: -v for debug, -vv for trace (overrides $MAGI_LOG)'
complete -c magi-sla -n "__fish_magi_sla_using_subcommand maintenance; and not __fish_seen_subcommand_from start end list help" -s q -l quiet -d 'Say only errors (overrides $MAGI_LOG)'
complete -c magi-sla -n "__fish_magi_sla_using_subcommand maintenance; and not __fish_seen_subcommand_from start end list help" -s h -l help -d 'Print help'
complete -c magi-sla -n "__fish_magi_sla_using_subcommand maintenance; and not __fish_seen_subcommand_from start end list help" -f -a "start" -d 'Planned maintenance begins now'
complete -c magi-sla -n "__fish_magi_sla_using_subcommand maintenance; and not __fish_seen_subcommand_from start end list help" -f -a "end" -d 'The planned maintenance ends now'
complete -c magi-sla -n "__fish_magi_sla_using_subcommand maintenance; and not __fish_seen_subcommand_from start end list help" -f -a "list" -d 'The maintenance windows over a time, newest last'
complete -c magi-sla -n "__fish_magi_sla_using_subcommand maintenance; and not __fish_seen_subcommand_from start end list help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c magi-sla -n "__fish_magi_sla_using_subcommand maintenance; and __fish_seen_subcommand_from start" -l service -d 'The service under maintenance [default: the whole stack]' -r
complete -c magi-sla -n "__fish_magi_sla_using_subcommand maintenance; and __fish_seen_subcommand_from start" -l note -d 'Why, shown in the report' -r
complete -c magi-sla -n "__fish_magi_sla_using_subcommand maintenance; and __fish_seen_subcommand_from start" -l config -d 'Read the configuration from FILE instead of $MAGI_CONFIG or /etc/magi/magi.toml (~/.config/magi/magi.toml when not root); without any, the built-in description of the MAGI stack is used' -r -F
complete -c magi-sla -n "__fish_magi_sla_using_subcommand maintenance; and __fish_seen_subcommand_from start" -l metrics-dir -d 'The metrics store directory [default: metrics/ in the state directory]' -r -F
complete -c magi-sla -n "__fish_magi_sla_using_subcommand maintenance; and __fish_seen_subcommand_from start" -l usage-db -d 'The gateway\'s usage database [default: usage.db in the state directory]' -r -F
complete -c magi-sla -n "__fish_magi_sla_using_subcommand maintenance; and __fish_seen_subcommand_from start" -s v -l verbose -d 'Say more: -v for debug, -vv for trace (overrides $MAGI_LOG)'
complete -c magi-sla -n "__fish_magi_sla_using_subcommand maintenance; and __fish_seen_subcommand_from start" -s q -l quiet -d 'Say only errors (overrides $MAGI_LOG)'
complete -c magi-sla -n "__fish_magi_sla_using_subcommand maintenance; and __fish_seen_subcommand_from start" -s h -l help -d 'Print help'
complete -c magi-sla -n "__fish_magi_sla_using_subcommand maintenance; and __fish_seen_subcommand_from end" -l service -d 'The service under maintenance [default: the whole stack]' -r
complete -c magi-sla -n "__fish_magi_sla_using_subcommand maintenance; and __fish_seen_subcommand_from end" -l note -d 'Why, shown in the report' -r
complete -c magi-sla -n "__fish_magi_sla_using_subcommand maintenance; and __fish_seen_subcommand_from end" -l config -d 'Read the configuration from FILE instead of $MAGI_CONFIG or /etc/magi/magi.toml (~/.config/magi/magi.toml when not root); without any, the built-in description of the MAGI stack is used' -r -F
complete -c magi-sla -n "__fish_magi_sla_using_subcommand maintenance; and __fish_seen_subcommand_from end" -l metrics-dir -d 'The metrics store directory [default: metrics/ in the state directory]' -r -F
complete -c magi-sla -n "__fish_magi_sla_using_subcommand maintenance; and __fish_seen_subcommand_from end" -l usage-db -d 'The gateway\'s usage database [default: usage.db in the state directory]' -r -F
complete -c magi-sla -n "__fish_magi_sla_using_subcommand maintenance; and __fish_seen_subcommand_from end" -s v -l verbose -d 'Say more: -v for debug, -vv for trace (overrides $MAGI_LOG)'
complete -c magi-sla -n "__fish_magi_sla_using_subcommand maintenance; and __fish_seen_subcommand_from end" -s q -l quiet -d 'Say only errors (overrides $MAGI_LOG)'
complete -c magi-sla -n "__fish_magi_sla_using_subcommand maintenance; and __fish_seen_subcommand_from end" -s h -l help -d 'Print help'
complete -c magi-sla -n "__fish_magi_sla_using_subcommand maintenance; and __fish_seen_subcommand_from list" -l since -d 'This long before now' -r
complete -c magi-sla -n "__fish_magi_sla_using_subcommand maintenance; and __fish_seen_subcommand_from list" -l config -d 'Read the configuration from FILE instead of $MAGI_CONFIG or /etc/magi/magi.toml (~/.config/magi/magi.toml when not root); without any, the built-in description of the MAGI stack is used' -r -F
complete -c magi-sla -n "__fish_magi_sla_using_subcommand maintenance; and __fish_seen_subcommand_from list" -l metrics-dir -d 'The metrics store directory [default: metrics/ in the state directory]' -r -F
complete -c magi-sla -n "__fish_magi_sla_using_subcommand maintenance; and __fish_seen_subcommand_from list" -l usage-db -d 'The gateway\'s usage database [default: usage.db in the state directory]' -r -F
complete -c magi-sla -n "__fish_magi_sla_using_subcommand maintenance; and __fish_seen_subcommand_from list" -l json -d 'One JSON object a line'
complete -c magi-sla -n "__fish_magi_sla_using_subcommand maintenance; and __fish_seen_subcommand_from list" -s v -l verbose -d 'Say more: -v for debug, -vv for trace (overrides $MAGI_LOG)'
complete -c magi-sla -n "__fish_magi_sla_using_subcommand maintenance; and __fish_seen_subcommand_from list" -s q -l quiet -d 'Say only errors (overrides $MAGI_LOG)'
complete -c magi-sla -n "__fish_magi_sla_using_subcommand maintenance; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help'
complete -c magi-sla -n "__fish_magi_sla_using_subcommand maintenance; and __fish_seen_subcommand_from help" -f -a "start" -d 'Planned maintenance begins now'
complete -c magi-sla -n "__fish_magi_sla_using_subcommand maintenance; and __fish_seen_subcommand_from help" -f -a "end" -d 'The planned maintenance ends now'
complete -c magi-sla -n "__fish_magi_sla_using_subcommand maintenance; and __fish_seen_subcommand_from help" -f -a "list" -d 'The maintenance windows over a time, newest last'
complete -c magi-sla -n "__fish_magi_sla_using_subcommand maintenance; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c magi-sla -n "__fish_magi_sla_using_subcommand help; and not __fish_seen_subcommand_from report burn trends anomalies capacity maintenance help" -f -a "report" -d 'Availability, error budget, incidents and request availability over a window'
complete -c magi-sla -n "__fish_magi_sla_using_subcommand help; and not __fish_seen_subcommand_from report burn trends anomalies capacity maintenance help" -f -a "burn" -d 'Error-budget burn rates now, on the multiwindow thresholds: `sla.burn` events for magi-alert'
complete -c magi-sla -n "__fish_magi_sla_using_subcommand help; and not __fish_seen_subcommand_from report burn trends anomalies capacity maintenance help" -f -a "trends" -d 'Each model\'s and service\'s trailing week against the week before: error rate, p95 latency, p95 TTFT'
complete -c magi-sla -n "__fish_magi_sla_using_subcommand help; and not __fish_seen_subcommand_from report burn trends anomalies capacity maintenance help" -f -a "anomalies" -d 'Unusual hours of requests, tokens and cost against the same hour of the four weeks before'
complete -c magi-sla -n "__fish_magi_sla_using_subcommand help; and not __fish_seen_subcommand_from report burn trends anomalies capacity maintenance help" -f -a "capacity" -d 'When each disk, data directory and container\'s memory reaches its limit at the trend; the month\'s tokens and cost against the budget (`magi capacity`)'
complete -c magi-sla -n "__fish_magi_sla_using_subcommand help; and not __fish_seen_subcommand_from report burn trends anomalies capacity maintenance help" -f -a "maintenance" -d 'Mark planned maintenance: its time is listed and left out of availability'
complete -c magi-sla -n "__fish_magi_sla_using_subcommand help; and not __fish_seen_subcommand_from report burn trends anomalies capacity maintenance help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c magi-sla -n "__fish_magi_sla_using_subcommand help; and __fish_seen_subcommand_from maintenance" -f -a "start" -d 'Planned maintenance begins now'
complete -c magi-sla -n "__fish_magi_sla_using_subcommand help; and __fish_seen_subcommand_from maintenance" -f -a "end" -d 'The planned maintenance ends now'
complete -c magi-sla -n "__fish_magi_sla_using_subcommand help; and __fish_seen_subcommand_from maintenance" -f -a "list" -d 'The maintenance windows over a time, newest last'
