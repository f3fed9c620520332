# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_magi_metrics_global_optspecs
    string join \n config= v/verbose q/quiet dir= h/help V/version
end

function __fish_magi_metrics_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_magi_metrics_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_magi_metrics_using_subcommand
    set -l cmd (__fish_magi_metrics_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c magi-metrics -n "__fish_magi_metrics_needs_command" -l config -d 'Read the configuration from FILE instead of $MAGI_CONFIG or /etc/magi/magi.toml (~/.config/magi/magi.toml when not root); without any, the built-in description of the MAGI stack is used' -r -F
complete -c magi-metrics -n "__fish_magi_metrics_needs_command" -l dir -d 'The store directory [default: metrics/ in the state directory]' -r -F
complete -c magi-metrics -n "__fish_magi_metrics_needs_command" -s v -l verbose -d 'Say more: -v for debug, -vv for trace (overrides $MAGI_LOG)'
complete -c magi-metrics -n "__fish_magi_metrics_needs_command" -s q -l quiet -d 'Say only errors (overrides $MAGI_LOG)'
complete -c magi-metrics -n "__fish_magi_metrics_needs_command" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c magi-metrics -n "__fish_magi_metrics_needs_command" -s V -l version -d 'Print version'
complete -c magi-metrics -n "__fish_magi_metrics_needs_command" -f -a "push" -d 'Store NDJSON metric lines from FILE or stdin'
complete -c magi-metrics -n "__fish_magi_metrics_needs_command" -f -a "list" -d 'List every series in the store'
complete -c magi-metrics -n "__fish_magi_metrics_needs_command" -f -a "query" -d 'Show one metric\'s series over a range'
complete -c magi-metrics -n "__fish_magi_metrics_needs_command" -f -a "export" -d 'Write a range of series as JSON, CSV or OpenMetrics'
complete -c magi-metrics -n "__fish_magi_metrics_needs_command" -f -a "alerts" -d 'Threshold rules on the stored series: configure them, and watch them into alerts'
complete -c magi-metrics -n "__fish_magi_metrics_needs_command" -f -a "scrape" -d 'Read the Prometheus text endpoints of the config\'s [metrics.scrape.NAME] into the store'
complete -c magi-metrics -n "__fish_magi_metrics_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c magi-metrics -n "__fish_magi_metrics_using_subcommand push" -l shard -d 'The shard to write (a store has one writer per shard)' -r
complete -c magi-metrics -n "__fish_magi_metrics_using_subcommand push" -l config -d 'Read the configuration from FILE instead of $MAGI_CONFIG or /etc/magi/magi.toml (~/.config/magi/magi.toml when not root); without any, the built-in description of the MAGI stack is used' -r -F
complete -c magi-metrics -n "__fish_magi_metrics_using_subcommand push" -l dir -d 'The store directory [default: metrics/ in the state directory]' -r -F
complete -c magi-metrics -n "__fish_magi_metrics_using_subcommand push" -s v -l verbose -d 'Say more: -v for debug, -vv for trace (overrides $MAGI_LOG)'
complete -c magi-metrics -n "__fish_magi_metrics_using_subcommand push" -s q -l quiet -d 'Say only errors (overrides $MAGI_LOG)'
complete -c magi-metrics -n "__fish_magi_metrics_using_subcommand push" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c magi-metrics -n "__fish_magi_metrics_using_subcommand list" -l config -d 'Read the configuration from FILE instead of $MAGI_CONFIG or /etc/magi/magi.toml (~/.config/magi/magi.toml when not root); without any, the built-in description of the MAGI stack is used' -r -F
complete -c magi-metrics -n "__fish_magi_metrics_using_subcommand list" -l dir -d 'The store directory [default: metrics/ in the state directory]' -r -F
complete -c magi-metrics -n "__fish_magi_metrics_using_subcommand list" -l json -d 'One JSON object a line'
complete -c magi-metrics -n "__fish_magi_metrics_using_subcommand list" -s v -l verbose -d 'Say more: -v for debug, -vv for trace (overrides $MAGI_LOG)'
complete -c magi-metrics -n "__fish_magi_metrics_using_subcommand list" -s q -l quiet -d 'Say only errors (overrides $MAGI_LOG)'
complete -c magi-metrics -n "__fish_magi_metrics_using_subcommand list" -s h -l help -d 'Print help'
complete -c magi-metrics -n "__fish_magi_metrics_using_subcommand query" -l range -d 'How far back from now' -r
complete -c magi-metrics -n "__fish_magi_metrics_using_subcommand query" -l points -d 'At most this many points per series' -r
complete -c magi-metrics -n "__fish_magi_metrics_using_subcommand query" -l quantile -d 'For a histogram (SERIES names its base, without _bucket): this quantile, 0 to 1, from summed buckets' -r
complete -c magi-metrics -n "__fish_magi_metrics_using_subcommand query" -l config -d 'Read the configuration from FILE instead of $MAGI_CONFIG or /etc/magi/magi.toml (~/.config/magi/magi.toml when not root); without any, the built-in description of the MAGI stack is used' -r -F
complete -c magi-metrics -n "__fish_magi_metrics_using_subcommand query" -l dir -d 'The store directory [default: metrics/ in the state directory]' -r -F
complete -c magi-metrics -n "__fish_magi_metrics_using_subcommand query" -l json -d 'One JSON object a line'
complete -c magi-metrics -n "__fish_magi_metrics_using_subcommand query" -s v -l verbose -d 'Say more: -v for debug, -vv for trace (overrides $MAGI_LOG)'
complete -c magi-metrics -n "__fish_magi_metrics_using_subcommand query" -s q -l quiet -d 'Say only errors (overrides $MAGI_LOG)'
complete -c magi-metrics -n "__fish_magi_metrics_using_subcommand query" -s h -l help -d 'Print help'
complete -c magi-metrics -n "__fish_magi_metrics_using_subcommand export" -l range -d 'How far back from now' -r
complete -c magi-metrics -n "__fish_magi_metrics_using_subcommand export" -l service -d 'Only the series of this service (their `service` label)' -r
complete -c magi-metrics -n "__fish_magi_metrics_using_subcommand export" -l metric -d 'Only series of this metric name' -r
complete -c magi-metrics -n "__fish_magi_metrics_using_subcommand export" -l format -d 'The output format' -r -f -a "json\t'One JSON object a bucket'
csv\t'Comma-separated values with a header line'
openmetrics\t'OpenMetrics text, for `promtool tsdb create-blocks-from openmetrics`'"
complete -c magi-metrics -n "__fish_magi_metrics_using_subcommand export" -l config -d 'Read the configuration from FILE instead of $MAGI_CONFIG or /etc/magi/magi.toml (~/.config/magi/magi.toml when not root); without any, the built-in description of the MAGI stack is used' -r -F
complete -c magi-metrics -n "__fish_magi_metrics_using_subcommand export" -l dir -d 'The store directory [default: metrics/ in the state directory]' -r -F
complete -c magi-metrics -n "__fish_magi_metrics_using_subcommand export" -s v -l verbose -d 'Say more: -v for debug, -vv for trace (overrides $MAGI_LOG)'
complete -c magi-metrics -n "__fish_magi_metrics_using_subcommand export" -s q -l quiet -d 'Say only errors (overrides $MAGI_LOG)'
complete -c magi-metrics -n "__fish_magi_metrics_using_subcommand export" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c magi-metrics -n "__fish_magi_metrics_using_subcommand alerts; and not __fish_seen_subcommand_from configure watch help" -l rules -d 'The rules file [default: alert-rules.toml in the config directory]' -r -F
complete -c magi-metrics -n "__fish_magi_metrics_using_subcommand alerts; and not __fish_seen_subcommand_from configure watch help" -l config -d 'Read the configuration from FILE instead of $MAGI_CONFIG or /etc/magi/magi.toml (~/.config/magi/magi.toml when not root); without any, the built-in description of the MAGI stack is used' -r -F
complete -c magi-metrics -n "__fish_magi_metrics_using_subcommand alerts; and not __fish_seen_subcommand_from configure watch help" -l dir -d 'The store directory [default: metrics/ in the state directory]' -r -F
complete -c magi-metrics -n "__fish_magi_metrics_using_subcommand alerts; and not __fish_seen_subcommand_from configure watch help" -s v -l verbose -d 'Say more: -v for debug, -vv for trace (overrides $MAGI_LOG)'
complete -c magi-metrics -n "__fish_magi_metrics_using_subcommand alerts; and not __fish_seen_subcommand_from configure watch help" -s q -l quiet -d 'Say only errors (overrides $MAGI_LOG)'
complete -c magi-metrics -n "__fish_magi_metrics_using_subcommand alerts; and not __fish_seen_subcommand_from configure watch help" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c magi-metrics -n "__fish_magi_metrics_using_subcommand alerts; and not __fish_seen_subcommand_from configure watch help" -f -a "configure" -d 'Add, list and remove threshold rules'
complete -c magi-metrics -n "__fish_magi_metrics_using_subcommand alerts; and not __fish_seen_subcommand_from configure watch help" -f -a "watch" -d 'Check every rule each interval; print a metric.threshold event when a breach begins or ends'
complete -c magi-metrics -n "__fish_magi_metrics_using_subcommand alerts; and not __fish_seen_subcommand_from configure watch help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c magi-metrics -n "__fish_magi_metrics_using_subcommand alerts; and __fish_seen_subcommand_from configure" -l rules -d 'The rules file [default: alert-rules.toml in the config directory]' -r -F
complete -c magi-metrics -n "__fish_magi_metrics_using_subcommand alerts; and __fish_seen_subcommand_from configure" -l config -d 'Read the configuration from FILE instead of $MAGI_CONFIG or /etc/magi/magi.toml (~/.config/magi/magi.toml when not root); without any, the built-in description of the MAGI stack is used' -r -F
complete -c magi-metrics -n "__fish_magi_metrics_using_subcommand alerts; and __fish_seen_subcommand_from configure" -l dir -d 'The store directory [default: metrics/ in the state directory]' -r -F
complete -c magi-metrics -n "__fish_magi_metrics_using_subcommand alerts; and __fish_seen_subcommand_from configure" -s v -l verbose -d 'Say more: -v for debug, -vv for trace (overrides $MAGI_LOG)'
complete -c magi-metrics -n "__fish_magi_metrics_using_subcommand alerts; and __fish_seen_subcommand_from configure" -s q -l quiet -d 'Say only errors (overrides $MAGI_LOG)'
complete -c magi-metrics -n "__fish_magi_metrics_using_subcommand alerts; and __fish_seen_subcommand_from configure" -s h -l help -d 'Print help'
complete -c magi-metrics -n "__fish_magi_metrics_using_subcommand alerts; and __fish_seen_subcommand_from configure" -f -a "add" -d 'Add a rule (checked before it is kept)'
complete -c magi-metrics -n "__fish_magi_metrics_using_subcommand alerts; and __fish_seen_subcommand_from configure" -f -a "list" -d 'List the rules'
complete -c magi-metrics -n "__fish_magi_metrics_using_subcommand alerts; and __fish_seen_subcommand_from configure" -f -a "remove" -d 'Remove a rule by its name'
complete -c magi-metrics -n "__fish_magi_metrics_using_subcommand alerts; and __fish_seen_subcommand_from configure" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c magi-metrics -n "__fish_magi_metrics_using_subcommand alerts; and __fish_seen_subcommand_from watch" -l interval -d 'Time between rounds' -r
complete -c magi-metrics -n "__fish_magi_metrics_using_subcommand alerts; and __fish_seen_subcommand_from watch" -l rules -d 'The rules file [default: alert-rules.toml in the config directory]' -r -F
complete -c magi-metrics -n "__fish_magi_metrics_using_subcommand alerts; and __fish_seen_subcommand_from watch" -l config -d 'Read the configuration from FILE instead of $MAGI_CONFIG or /etc/magi/magi.toml (~/.config/magi/magi.toml when not root); without any, the built-in description of the MAGI stack is used' -r -F
complete -c magi-metrics -n "__fish_magi_metrics_using_subcommand alerts; and __fish_seen_subcommand_from watch" -l dir -d 'The store directory [default: metrics/ in the state directory]' -r -F
complete -c magi-metrics -n "__fish_magi_metrics_using_subcommand alerts; and __fish_seen_subcommand_from watch" -l once -d 'One round, then exit'
complete -c magi-metrics -n "__fish_magi_metrics_using_subcommand alerts; and __fish_seen_subcommand_from watch" -s v -l verbose -d 'Say more: -v for debug, -vv for trace (overrides $MAGI_LOG)'
complete -c magi-metrics -n "__fish_magi_metrics_using_subcommand alerts; and __fish_seen_subcommand_from watch" -s q -l quiet -d 'Say only errors (overrides $MAGI_LOG)'
complete -c magi-metrics -n "__fish_magi_metrics_using_subcommand alerts; and __fish_seen_subcommand_from watch" -s h -l help -d 'Print help'
complete -c magi-metrics -n "__fish_magi_metrics_using_subcommand alerts; and __fish_seen_subcommand_from help" -f -a "configure" -d 'Add, list and remove threshold rules'
complete -c magi-metrics -n "__fish_magi_metrics_using_subcommand alerts; and __fish_seen_subcommand_from help" -f -a "watch" -d 'Check every rule each interval; print a metric.threshold event when a breach begins or ends'
complete -c magi-metrics -n "__fish_magi_metrics_using_subcommand alerts; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c magi-metrics -n "__fish_magi_metrics_using_subcommand scrape" -l config -d 'Read the configuration from FILE instead of $MAGI_CONFIG or /etc/magi/magi.toml (~/.config/magi/magi.toml when not root); without any, the built-in description of the MAGI stack is used' -r -F
complete -c magi-metrics -n "__fish_magi_metrics_using_subcommand scrape" -l dir -d 'The store directory [default: metrics/ in the state directory]' -r -F
complete -c magi-metrics -n "__fish_magi_metrics_using_subcommand scrape" -l once -d 'Read each target once, then exit'
complete -c magi-metrics -n "__fish_magi_metrics_using_subcommand scrape" -s v -l verbose -d 'Say more: -v for debug, -vv for trace (overrides $MAGI_LOG)'
complete -c magi-metrics -n "__fish_magi_metrics_using_subcommand scrape" -s q -l quiet -d 'Say only errors (overrides $MAGI_LOG)'
complete -c magi-metrics -n "__fish_magi_metrics_using_subcommand scrape" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c magi-metrics -n "__fish_magi_metrics_using_subcommand help; and not __fish_seen_subcommand_from push list query export alerts scrape help" -f -a "push" -d 'Store NDJSON metric lines from FILE or stdin'
complete -c magi-metrics -n "__fish_magi_metrics_using_subcommand help; and not __fish_seen_subcommand_from push list query export alerts scrape help" -f -a "list" -d 'List every series in the store'
complete -c magi-metrics -n "__fish_magi_metrics_using_subcommand help; and not __fish_seen_subcommand_from push list query export alerts scrape help" -f -a "query" -d 'Show one metric\'s series over a range'
complete -c magi-metrics -n "__fish_magi_metrics_using_subcommand help; and not __fish_seen_subcommand_from push list query export alerts scrape help" -f -a "export" -d 'Write a range of series as JSON, CSV or OpenMetrics'
complete -c magi-metrics -n "__fish_magi_metrics_using_subcommand help; and not __fish_seen_subcommand_from push list query export alerts scrape help" -f -a "alerts" -d 'Threshold rules on the stored series: configure them, and watch them into alerts'
complete -c magi-metrics -n "__fish_magi_metrics_using_subcommand help; and not __fish_seen_subcommand_from push list query export alerts scrape help" -f -a "scrape" -d 'Read the Prometheus text endpoints of the config\'s [metrics.scrape.NAME] into the store'
complete -c magi-metrics -n "__fish_magi_metrics_using_subcommand help; and not __fish_seen_subcommand_from push list query export alerts scrape help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c magi-metrics -n "__fish_magi_metrics_using_subcommand help; and __fish_seen_subcommand_from alerts" -f -a "configure" -d 'Add, list and remove threshold rules'
complete -c magi-metrics -n "__fish_magi_metrics_using_subcommand help; and __fish_seen_subcommand_from alerts" -f -a "watch" -d 'Check every rule each interval; print a metric.threshold event when a breach begins or ends'
