# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_magi_health_global_optspecs
    string join \n config= v/verbose q/quiet json nagios service= timeout= slow= h/help V/version
end

function __fish_magi_health_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_magi_health_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_magi_health_using_subcommand
    set -l cmd (__fish_magi_health_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c magi-health -n "__fish_magi_health_needs_command" -l config -d 'Read the configuration from FILE instead of $MAGI_CONFIG or /etc/magi/magi.toml (~/.config/magi/magi.toml when not root); without any, the built-in description of the MAGI stack is used' -r -F
complete -c magi-health -n "__fish_magi_health_needs_command" -l service -d 'Check only this service (by service or container name); repeat for more' -r
complete -c magi-health -n "__fish_magi_health_needs_command" -l timeout -d 'The most one service\'s check may take, probe included' -r
complete -c magi-health -n "__fish_magi_health_needs_command" -l slow -d 'A probe slower than this makes the service slow (a warning)' -r
complete -c magi-health -n "__fish_magi_health_needs_command" -s v -l verbose -d 'Say more: -v for debug, -vv for trace (overrides $MAGI_LOG)'
complete -c magi-health -n "__fish_magi_health_needs_command" -s q -l quiet -d 'Say only errors (overrides $MAGI_LOG)'
complete -c magi-health -n "__fish_magi_health_needs_command" -l json -d 'Print NDJSON events: one service.status per service, then one stack.status'
complete -c magi-health -n "__fish_magi_health_needs_command" -l nagios -d 'Print one monitoring-plugin line with perfdata'
complete -c magi-health -n "__fish_magi_health_needs_command" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c magi-health -n "__fish_magi_health_needs_command" -s V -l version -d 'Print version'
complete -c magi-health -n "__fish_magi_health_needs_command" -f -a "watch" -d 'Check every interval, report each change, keep the history, and optionally heal and serve'
complete -c magi-health -n "__fish_magi_health_needs_command" -f -a "history" -d 'Show the state changes and restarts that watch recorded'
complete -c magi-health -n "__fish_magi_health_needs_command" -f -a "serve" -d 'Serve /healthz, /status and /metrics, checking on demand'
complete -c magi-health -n "__fish_magi_health_needs_command" -f -a "validate" -d 'Wait until every core service is healthy (after `docker compose up`)'
complete -c magi-health -n "__fish_magi_health_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c magi-health -n "__fish_magi_health_using_subcommand watch" -l interval -d 'Time between checks' -r
complete -c magi-health -n "__fish_magi_health_using_subcommand watch" -l metrics-dir -d 'The metrics store directory [default: metrics/ in the state directory]' -r -F
complete -c magi-health -n "__fish_magi_health_using_subcommand watch" -l after -d 'Checks in a row a container must be ill before it is restarted' -r
complete -c magi-health -n "__fish_magi_health_using_subcommand watch" -l backoff -d 'Wait after the first restart before another; doubles with each further restart' -r
complete -c magi-health -n "__fish_magi_health_using_subcommand watch" -l max-restarts-per-hour -d 'The most restarts of one container in any hour' -r
complete -c magi-health -n "__fish_magi_health_using_subcommand watch" -l listen -d 'Also serve /healthz, /status and /metrics at this address' -r
complete -c magi-health -n "__fish_magi_health_using_subcommand watch" -l timeout -d 'The most one service\'s check may take, probe included' -r
complete -c magi-health -n "__fish_magi_health_using_subcommand watch" -l slow -d 'A probe slower than this makes the service slow (a warning)' -r
complete -c magi-health -n "__fish_magi_health_using_subcommand watch" -l config -d 'Read the configuration from FILE instead of $MAGI_CONFIG or /etc/magi/magi.toml (~/.config/magi/magi.toml when not root); without any, the built-in description of the MAGI stack is used' -r -F
complete -c magi-health -n "__fish_magi_health_using_subcommand watch" -l no-metrics -d 'Do not keep each round\'s figures in the metrics store (metrics/health.db in the state directory)'
complete -c magi-health -n "__fish_magi_health_using_subcommand watch" -l json -d 'Print each change as an NDJSON event on stdout'
complete -c magi-health -n "__fish_magi_health_using_subcommand watch" -l restart-unhealthy -d 'Restart a container that stayed unhealthy or exited with a failure for --after checks'
complete -c magi-health -n "__fish_magi_health_using_subcommand watch" -s v -l verbose -d 'Say more: -v for debug, -vv for trace (overrides $MAGI_LOG)'
complete -c magi-health -n "__fish_magi_health_using_subcommand watch" -s q -l quiet -d 'Say only errors (overrides $MAGI_LOG)'
complete -c magi-health -n "__fish_magi_health_using_subcommand watch" -s h -l help -d 'Print help'
complete -c magi-health -n "__fish_magi_health_using_subcommand history" -l service -d 'Only this service (or `stack`)' -r
complete -c magi-health -n "__fish_magi_health_using_subcommand history" -l since -d 'How far back' -r
complete -c magi-health -n "__fish_magi_health_using_subcommand history" -l config -d 'Read the configuration from FILE instead of $MAGI_CONFIG or /etc/magi/magi.toml (~/.config/magi/magi.toml when not root); without any, the built-in description of the MAGI stack is used' -r -F
complete -c magi-health -n "__fish_magi_health_using_subcommand history" -l json -d 'One JSON record a line'
complete -c magi-health -n "__fish_magi_health_using_subcommand history" -s v -l verbose -d 'Say more: -v for debug, -vv for trace (overrides $MAGI_LOG)'
complete -c magi-health -n "__fish_magi_health_using_subcommand history" -s q -l quiet -d 'Say only errors (overrides $MAGI_LOG)'
complete -c magi-health -n "__fish_magi_health_using_subcommand history" -s h -l help -d 'Print help'
complete -c magi-health -n "__fish_magi_health_using_subcommand serve" -l listen -d 'Address to listen on; only loopback unless you say otherwise' -r
complete -c magi-health -n "__fish_magi_health_using_subcommand serve" -l max-age -d 'Reuse a check for this long before checking again' -r
complete -c magi-health -n "__fish_magi_health_using_subcommand serve" -l timeout -d 'The most one service\'s check may take, probe included' -r
complete -c magi-health -n "__fish_magi_health_using_subcommand serve" -l slow -d 'A probe slower than this makes the service slow (a warning)' -r
complete -c magi-health -n "__fish_magi_health_using_subcommand serve" -l config -d 'Read the configuration from FILE instead of $MAGI_CONFIG or /etc/magi/magi.toml (~/.config/magi/magi.toml when not root); without any, the built-in description of the MAGI stack is used' -r -F
complete -c magi-health -n "__fish_magi_health_using_subcommand serve" -s v -l verbose -d 'Say more: -v for debug, -vv for trace (overrides $MAGI_LOG)'
complete -c magi-health -n "__fish_magi_health_using_subcommand serve" -s q -l quiet -d 'Say only errors (overrides $MAGI_LOG)'
complete -c magi-health -n "__fish_magi_health_using_subcommand serve" -s h -l help -d 'Print help'
complete -c magi-health -n "__fish_magi_health_using_subcommand validate" -l timeout -d 'Give up after this long' -r
complete -c magi-health -n "__fish_magi_health_using_subcommand validate" -l check-timeout -d 'The most one service\'s check may take, probe included' -r
complete -c magi-health -n "__fish_magi_health_using_subcommand validate" -l config -d 'Read the configuration from FILE instead of $MAGI_CONFIG or /etc/magi/magi.toml (~/.config/magi/magi.toml when not root); without any, the built-in description of the MAGI stack is used' -r -F
complete -c magi-health -n "__fish_magi_health_using_subcommand validate" -s v -l verbose -d 'Say more: -v for debug, -vv for trace (overrides $MAGI_LOG)'
complete -c magi-health -n "__fish_magi_health_using_subcommand validate" -s q -l quiet -d 'Say only errors (overrides $MAGI_LOG)'
complete -c magi-health -n "__fish_magi_health_using_subcommand validate" -s h -l help -d 'Print help'
complete -c magi-health -n "__fish_magi_health_using_subcommand help; and not __fish_seen_subcommand_from watch history serve validate help" -f -a "watch" -d 'Check every interval, report each change, keep the history, and optionally heal and serve'
complete -c magi-health -n "__fish_magi_health_using_subcommand help; and not __fish_seen_subcommand_from watch history serve validate help" -f -a "history" -d 'Show the state changes and restarts that watch recorded'
complete -c magi-health -n "__fish_magi_health_using_subcommand help; and not __fish_seen_subcommand_from watch history serve validate help" -f -a "serve" -d 'Serve /healthz, /status and /metrics, checking on demand'
complete -c magi-health -n "__fish_magi_health_using_subcommand help; and not __fish_seen_subcommand_from watch history serve validate help" -f -a "validate" -d 'Wait until every core service is healthy (after `docker compose up`)'
complete -c magi-health -n "__fish_magi_health_using_subcommand help; and not __fish_seen_subcommand_from watch history serve validate help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
