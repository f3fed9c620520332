# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_magi_global_optspecs
    string join \n config= v/verbose q/quiet h/help V/version
end

function __fish_magi_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_magi_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_magi_using_subcommand
    set -l cmd (__fish_magi_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c magi -n "__fish_magi_needs_command" -l config -d 'Read the configuration from FILE instead of $MAGI_CONFIG or /etc/magi/magi.toml (~/.config/magi/magi.toml when not root); without any, the built-in description of the MAGI stack is used' -r -F
complete -c magi -n "__fish_magi_needs_command" -s v -l verbose -d 'Say more: -v for debug, -vv for trace (overrides $MAGI_LOG)'
complete -c magi -n "__fish_magi_needs_command" -s q -l quiet -d 'Say only errors (overrides $MAGI_LOG)'
complete -c magi -n "__fish_magi_needs_command" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c magi -n "__fish_magi_needs_command" -s V -l version -d 'Print version'
complete -c magi -n "__fish_magi_needs_command" -f -a "config" -d 'Show or check the configuration'
complete -c magi -n "__fish_magi_needs_command" -f -a "event" -d 'Emit an event from a script, or validate an event stream'
complete -c magi -n "__fish_magi_needs_command" -f -a "logs" -d 'Show the logs of our units and the stack\'s containers (journalctl underneath)'
complete -c magi -n "__fish_magi_needs_command" -f -a "help" -d 'Show the help of magi or of one tool'
complete -c magi -n "__fish_magi_needs_command" -f -a "health" -d 'Check the stack\'s containers and endpoints at a glance; watch them and heal them'
complete -c magi -n "__fish_magi_needs_command" -f -a "backup" -d 'Take consistent, checksummed backups of the stack; list, verify and prune them'
complete -c magi -n "__fish_magi_needs_command" -f -a "restore" -d 'Restore a backup, keeping a safety copy and rolling back if the stack does not come back'
complete -c magi -n "__fish_magi_needs_command" -f -a "alert" -d 'Turn events into alerts by email, ntfy, Slack, Discord or webhook, once each'
complete -c magi -n "__fish_magi_needs_command" -f -a "users" -d 'Accounts, roles, sessions and API keys; forward-auth for the reverse proxy'
complete -c magi -n "__fish_magi_needs_command" -f -a "limits" -d 'Gateway before LiteLLM: rate limits, quotas, budgets, circuit breakers, usage records'
complete -c magi -n "__fish_magi_needs_command" -f -a "costs" -d 'Report token use and cost by day, model or user; warn at budget thresholds'
complete -c magi -n "__fish_magi_needs_command" -f -a "metrics" -d 'Push figures into the metrics store; list, query and export its series'
complete -c magi -n "__fish_magi_needs_command" -f -a "dashboard" -d 'The web dashboard: service tiles, 30 days of charts, model usage and cost, live'
complete -c magi -n "__fish_magi_needs_command" -f -a "sla" -d 'SLA report: availability against targets, error budgets, incidents, request availability'
complete -c magi -n "__fish_magi_needs_command" -f -a "pitr" -d 'Point-in-time recovery of the stack\'s SQLite databases: which of them it can follow'
complete -c magi -n "__fish_magi_using_subcommand config; and not __fish_seen_subcommand_from show check" -l config -d 'Read the configuration from FILE instead of $MAGI_CONFIG or /etc/magi/magi.toml (~/.config/magi/magi.toml when not root); without any, the built-in description of the MAGI stack is used' -r -F
complete -c magi -n "__fish_magi_using_subcommand config; and not __fish_seen_subcommand_from show check" -s v -l verbose -d 'Say more: -v for debug, -vv for trace (overrides $MAGI_LOG)'
complete -c magi -n "__fish_magi_using_subcommand config; and not __fish_seen_subcommand_from show check" -s q -l quiet -d 'Say only errors (overrides $MAGI_LOG)'
complete -c magi -n "__fish_magi_using_subcommand config; and not __fish_seen_subcommand_from show check" -s h -l help -d 'Print help'
complete -c magi -n "__fish_magi_using_subcommand config; and not __fish_seen_subcommand_from show check" -f -a "show" -d 'Print the configuration in effect: built-in defaults, the config file and the environment combined'
complete -c magi -n "__fish_magi_using_subcommand config; and not __fish_seen_subcommand_from show check" -f -a "check" -d 'Validate a config file (default: the one the tools would read); exit 2 if it is invalid'
complete -c magi -n "__fish_magi_using_subcommand config; and __fish_seen_subcommand_from show" -l config -d 'Read the configuration from FILE instead of $MAGI_CONFIG or /etc/magi/magi.toml (~/.config/magi/magi.toml when not root); without any, the built-in description of the MAGI stack is used' -r -F
complete -c magi -n "__fish_magi_using_subcommand config; and __fish_seen_subcommand_from show" -l json -d 'One JSON object instead of TOML'
complete -c magi -n "__fish_magi_using_subcommand config; and __fish_seen_subcommand_from show" -s v -l verbose -d 'Say more: -v for debug, -vv for trace (overrides $MAGI_LOG)'
complete -c magi -n "__fish_magi_using_subcommand config; and __fish_seen_subcommand_from show" -s q -l quiet -d 'Say only errors (overrides $MAGI_LOG)'
complete -c magi -n "__fish_magi_using_subcommand config; and __fish_seen_subcommand_from show" -s h -l help -d 'Print help'
complete -c magi -n "__fish_magi_using_subcommand config; and __fish_seen_subcommand_from check" -l config -d 'Read the configuration from FILE instead of $MAGI_CONFIG or /etc/magi/magi.toml (~/.config/magi/magi.toml when not root); without any, the built-in description of the MAGI stack is used' -r -F
complete -c magi -n "__fish_magi_using_subcommand config; and __fish_seen_subcommand_from check" -s v -l verbose -d 'Say more: -v for debug, -vv for trace (overrides $MAGI_LOG)'
complete -c magi -n "__fish_magi_using_subcommand config; and __fish_seen_subcommand_from check" -s q -l quiet -d 'Say only errors (overrides $MAGI_LOG)'
complete -c magi -n "__fish_magi_using_subcommand config; and __fish_seen_subcommand_from check" -s h -l help -d 'Print help'
complete -c magi -n "__fish_magi_using_subcommand event; and not __fish_seen_subcommand_from emit validate" -l config -d 'Read the configuration from FILE instead of $MAGI_CONFIG or /etc/magi/magi.toml (~/.config/magi/magi.toml when not root); without any, the built-in description of the MAGI stack is used' -r -F
complete -c magi -n "__fish_magi_using_subcommand event; and not __fish_seen_subcommand_from emit validate" -s v -l verbose -d 'Say more: -v for debug, -vv for trace (overrides $MAGI_LOG)'
complete -c magi -n "__fish_magi_using_subcommand event; and not __fish_seen_subcommand_from emit validate" -s q -l quiet -d 'Say only errors (overrides $MAGI_LOG)'
complete -c magi -n "__fish_magi_using_subcommand event; and not __fish_seen_subcommand_from emit validate" -s h -l help -d 'Print help'
complete -c magi -n "__fish_magi_using_subcommand event; and not __fish_seen_subcommand_from emit validate" -f -a "emit" -d 'Record one event: in the journal (or on stderr), and as a JSON line on stdout with --json'
complete -c magi -n "__fish_magi_using_subcommand event; and not __fish_seen_subcommand_from emit validate" -f -a "validate" -d 'Read an NDJSON or `journalctl -o json` stream and report every line a consumer would skip; exit 1 if any. With --json, the valid events are written to stdout, one per line'
complete -c magi -n "__fish_magi_using_subcommand event; and __fish_seen_subcommand_from emit" -l kind -d 'Dotted kind, e.g. `backup.failed` or `unit.failed`' -r
complete -c magi -n "__fish_magi_using_subcommand event; and __fish_seen_subcommand_from emit" -l subject -d 'What it is about, e.g. a service name' -r
complete -c magi -n "__fish_magi_using_subcommand event; and __fish_seen_subcommand_from emit" -l severity -d 'ok, info, warning or critical' -r
complete -c magi -n "__fish_magi_using_subcommand event; and __fish_seen_subcommand_from emit" -l data -d 'Extra data as KEY=VALUE; repeatable. Values that parse as JSON (numbers, true) are kept as such' -r
complete -c magi -n "__fish_magi_using_subcommand event; and __fish_seen_subcommand_from emit" -l config -d 'Read the configuration from FILE instead of $MAGI_CONFIG or /etc/magi/magi.toml (~/.config/magi/magi.toml when not root); without any, the built-in description of the MAGI stack is used' -r -F
complete -c magi -n "__fish_magi_using_subcommand event; and __fish_seen_subcommand_from emit" -l json -d 'Print the event as one JSON line on stdout'
complete -c magi -n "__fish_magi_using_subcommand event; and __fish_seen_subcommand_from emit" -s v -l verbose -d 'Say more: -v for debug, -vv for trace (overrides $MAGI_LOG)'
complete -c magi -n "__fish_magi_using_subcommand event; and __fish_seen_subcommand_from emit" -s q -l quiet -d 'Say only errors (overrides $MAGI_LOG)'
complete -c magi -n "__fish_magi_using_subcommand event; and __fish_seen_subcommand_from emit" -s h -l help -d 'Print help'
complete -c magi -n "__fish_magi_using_subcommand event; and __fish_seen_subcommand_from validate" -l config -d 'Read the configuration from FILE instead of $MAGI_CONFIG or /etc/magi/magi.toml (~/.config/magi/magi.toml when not root); without any, the built-in description of the MAGI stack is used' -r -F
complete -c magi -n "__fish_magi_using_subcommand event; and __fish_seen_subcommand_from validate" -l json -d 'Pass valid events through to stdout'
complete -c magi -n "__fish_magi_using_subcommand event; and __fish_seen_subcommand_from validate" -s v -l verbose -d 'Say more: -v for debug, -vv for trace (overrides $MAGI_LOG)'
complete -c magi -n "__fish_magi_using_subcommand event; and __fish_seen_subcommand_from validate" -s q -l quiet -d 'Say only errors (overrides $MAGI_LOG)'
complete -c magi -n "__fish_magi_using_subcommand event; and __fish_seen_subcommand_from validate" -s h -l help -d 'Print help'
complete -c magi -n "__fish_magi_using_subcommand logs" -l service -d 'Only this service: its container\'s output and our tools\' records about it (repeatable; service or container name). Default: every MAGI unit and container' -r
complete -c magi -n "__fish_magi_using_subcommand logs" -l level -d 'Only records at least this severe: critical, error, warning, notice, info, debug' -r
complete -c magi -n "__fish_magi_using_subcommand logs" -l since -d 'Start this far back (24h, 30m, 7d) or at a time ("2026-11-20 14:30")' -r
complete -c magi -n "__fish_magi_using_subcommand logs" -l grep -d 'Only messages matching this pattern (a case-insensitive regular expression unless it has capitals)' -r
complete -c magi -n "__fish_magi_using_subcommand logs" -s n -l lines -d 'Print the newest N records (default: all in range; with --follow, 10)' -r
complete -c magi -n "__fish_magi_using_subcommand logs" -l config -d 'Read the configuration from FILE instead of $MAGI_CONFIG or /etc/magi/magi.toml (~/.config/magi/magi.toml when not root); without any, the built-in description of the MAGI stack is used' -r -F
complete -c magi -n "__fish_magi_using_subcommand logs" -s f -l follow -d 'Keep printing new records as they arrive'
complete -c magi -n "__fish_magi_using_subcommand logs" -l json -d 'journalctl\'s JSON records, one per line (they carry MAGI_EVENT for `magi event validate` or magi-alert)'
complete -c magi -n "__fish_magi_using_subcommand logs" -s v -l verbose -d 'Say more: -v for debug, -vv for trace (overrides $MAGI_LOG)'
complete -c magi -n "__fish_magi_using_subcommand logs" -s q -l quiet -d 'Say only errors (overrides $MAGI_LOG)'
complete -c magi -n "__fish_magi_using_subcommand logs" -s h -l help -d 'Print help'
complete -c magi -n "__fish_magi_using_subcommand help" -l config -d 'Read the configuration from FILE instead of $MAGI_CONFIG or /etc/magi/magi.toml (~/.config/magi/magi.toml when not root); without any, the built-in description of the MAGI stack is used' -r -F
complete -c magi -n "__fish_magi_using_subcommand help" -s v -l verbose -d 'Say more: -v for debug, -vv for trace (overrides $MAGI_LOG)'
complete -c magi -n "__fish_magi_using_subcommand help" -s q -l quiet -d 'Say only errors (overrides $MAGI_LOG)'
complete -c magi -n "__fish_magi_using_subcommand help" -s h -l help -d 'Print help'
complete -c magi -n "__fish_magi_using_subcommand health; and not __fish_seen_subcommand_from watch history serve validate" -l config -d 'Read the configuration from FILE instead of $MAGI_CONFIG or /etc/magi/magi.toml (~/.config/magi/magi.toml when not root); without any, the built-in description of the MAGI stack is used' -r -F
complete -c magi -n "__fish_magi_using_subcommand health; and not __fish_seen_subcommand_from watch history serve validate" -l service -d 'Check only this service (by service or container name); repeat for more' -r
complete -c magi -n "__fish_magi_using_subcommand health; and not __fish_seen_subcommand_from watch history serve validate" -l timeout -d 'The most one service\'s check may take, probe included' -r
complete -c magi -n "__fish_magi_using_subcommand health; and not __fish_seen_subcommand_from watch history serve validate" -l slow -d 'A probe slower than this makes the service slow (a warning)' -r
complete -c magi -n "__fish_magi_using_subcommand health; and not __fish_seen_subcommand_from watch history serve validate" -s v -l verbose -d 'Say more: -v for debug, -vv for trace (overrides $MAGI_LOG)'
complete -c magi -n "__fish_magi_using_subcommand health; and not __fish_seen_subcommand_from watch history serve validate" -s q -l quiet -d 'Say only errors (overrides $MAGI_LOG)'
complete -c magi -n "__fish_magi_using_subcommand health; and not __fish_seen_subcommand_from watch history serve validate" -l json -d 'Print NDJSON events: one service.status per service, then one stack.status'
complete -c magi -n "__fish_magi_using_subcommand health; and not __fish_seen_subcommand_from watch history serve validate" -l nagios -d 'Print one monitoring-plugin line with perfdata'
complete -c magi -n "__fish_magi_using_subcommand health; and not __fish_seen_subcommand_from watch history serve validate" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c magi -n "__fish_magi_using_subcommand health; and not __fish_seen_subcommand_from watch history serve validate" -s V -l version -d 'Print version'
complete -c magi -n "__fish_magi_using_subcommand health; and not __fish_seen_subcommand_from watch history serve validate" -f -a "watch" -d 'Check every interval, report each change, keep the history, and optionally heal and serve'
complete -c magi -n "__fish_magi_using_subcommand health; and not __fish_seen_subcommand_from watch history serve validate" -f -a "history" -d 'Show the state changes and restarts that watch recorded'
complete -c magi -n "__fish_magi_using_subcommand health; and not __fish_seen_subcommand_from watch history serve validate" -f -a "serve" -d 'Serve /healthz, /status and /metrics, checking on demand'
complete -c magi -n "__fish_magi_using_subcommand health; and not __fish_seen_subcommand_from watch history serve validate" -f -a "validate" -d 'Wait until every core service is healthy (after `docker compose up`)'
complete -c magi -n "__fish_magi_using_subcommand health; and __fish_seen_subcommand_from watch" -l interval -d 'Time between checks' -r
complete -c magi -n "__fish_magi_using_subcommand health; and __fish_seen_subcommand_from watch" -l metrics-dir -d 'The metrics store directory [default: metrics/ in the state directory]' -r -F
complete -c magi -n "__fish_magi_using_subcommand health; and __fish_seen_subcommand_from watch" -l after -d 'Checks in a row a container must be ill before it is restarted' -r
complete -c magi -n "__fish_magi_using_subcommand health; and __fish_seen_subcommand_from watch" -l backoff -d 'Wait after the first restart before another; doubles with each further restart' -r
complete -c magi -n "__fish_magi_using_subcommand health; and __fish_seen_subcommand_from watch" -l max-restarts-per-hour -d 'The most restarts of one container in any hour' -r
complete -c magi -n "__fish_magi_using_subcommand health; and __fish_seen_subcommand_from watch" -l listen -d 'Also serve /healthz, /status and /metrics at this address' -r
complete -c magi -n "__fish_magi_using_subcommand health; and __fish_seen_subcommand_from watch" -l timeout -d 'The most one service\'s check may take, probe included' -r
complete -c magi -n "__fish_magi_using_subcommand health; and __fish_seen_subcommand_from watch" -l slow -d 'A probe slower than this makes the service slow (a warning)' -r
complete -c magi -n "__fish_magi_using_subcommand health; and __fish_seen_subcommand_from watch" -l config -d 'Read the configuration from FILE instead of $MAGI_CONFIG or /etc/magi/magi.toml (~/.config/magi/magi.toml when not root); without any, the built-in description of the MAGI stack is used' -r -F
complete -c magi -n "__fish_magi_using_subcommand health; and __fish_seen_subcommand_from watch" -l no-metrics -d 'Do not keep each round\'s figures in the metrics store (metrics/health.db in the state directory)'
complete -c magi -n "__fish_magi_using_subcommand health; and __fish_seen_subcommand_from watch" -l json -d 'Print each change as an NDJSON event on stdout'
complete -c magi -n "__fish_magi_using_subcommand health; and __fish_seen_subcommand_from watch" -l restart-unhealthy -d 'Restart a container that stayed unhealthy or exited with a failure for --after checks'
complete -c magi -n "__fish_magi_using_subcommand health; and __fish_seen_subcommand_from watch" -s v -l verbose -d 'Say more: -v for debug, -vv for trace (overrides $MAGI_LOG)'
complete -c magi -n "__fish_magi_using_subcommand health; and __fish_seen_subcommand_from watch" -s q -l quiet -d 'Say only errors (overrides $MAGI_LOG)'
complete -c magi -n "__fish_magi_using_subcommand health; and __fish_seen_subcommand_from watch" -s h -l help -d 'Print help'
complete -c magi -n "__fish_magi_using_subcommand health; and __fish_seen_subcommand_from history" -l service -d 'Only this service (or `stack`)' -r
complete -c magi -n "__fish_magi_using_subcommand health; and __fish_seen_subcommand_from history" -l since -d 'How far back' -r
complete -c magi -n "__fish_magi_using_subcommand health; and __fish_seen_subcommand_from history" -l config -d 'Read the configuration from FILE instead of $MAGI_CONFIG or /etc/magi/magi.toml (~/.config/magi/magi.toml when not root); without any, the built-in description of the MAGI stack is used' -r -F
complete -c magi -n "__fish_magi_using_subcommand health; and __fish_seen_subcommand_from history" -l json -d 'One JSON record a line'
complete -c magi -n "__fish_magi_using_subcommand health; and __fish_seen_subcommand_from history" -s v -l verbose -d 'Say more: -v for debug, -vv for trace (overrides $MAGI_LOG)'
complete -c magi -n "__fish_magi_using_subcommand health; and __fish_seen_subcommand_from history" -s q -l quiet -d 'Say only errors (overrides $MAGI_LOG)'
complete -c magi -n "__fish_magi_using_subcommand health; and __fish_seen_subcommand_from history" -s h -l help -d 'Print help'
complete -c magi -n "__fish_magi_using_subcommand health; and __fish_seen_subcommand_from serve" -l listen -d 'Address to listen on; only loopback unless you say otherwise' -r
complete -c magi -n "__fish_magi_using_subcommand health; and __fish_seen_subcommand_from serve" -l max-age -d 'Reuse a check for this long before checking again' -r
complete -c magi -n "__fish_magi_using_subcommand health; and __fish_seen_subcommand_from serve" -l timeout -d 'The most one service\'s check may take, probe included' -r
complete -c magi -n "__fish_magi_using_subcommand health; and __fish_seen_subcommand_from serve" -l slow -d 'A probe slower than this makes the service slow (a warning)' -r
complete -c magi -n "__fish_magi_using_subcommand health; and __fish_seen_subcommand_from serve" -l config -d 'Read the configuration from FILE instead of $MAGI_CONFIG or /etc/magi/magi.toml (~/.config/magi/magi.toml when not root); without any, the built-in description of the MAGI stack is used' -r -F
complete -c magi -n "__fish_magi_using_subcommand health; and __fish_seen_subcommand_from serve" -s v -l verbose -d 'Say more: -v for debug, -vv for trace (overrides $MAGI_LOG)'
complete -c magi -n "__fish_magi_using_subcommand health; and __fish_seen_subcommand_from serve" -s q -l quiet -d 'Say only errors (overrides $MAGI_LOG)'
complete -c magi -n "__fish_magi_using_subcommand health; and __fish_seen_subcommand_from serve" -s h -l help -d 'Print help'
complete -c magi -n "__fish_magi_using_subcommand health; and __fish_seen_subcommand_from validate" -l timeout -d 'Give up after this long' -r
complete -c magi -n "__fish_magi_using_subcommand health; and __fish_seen_subcommand_from validate" -l check-timeout -d 'The most one service\'s check may take, probe included' -r
complete -c magi -n "__fish_magi_using_subcommand health; and __fish_seen_subcommand_from validate" -l config -d 'Read the configuration from FILE instead of $MAGI_CONFIG or /etc/magi/magi.toml (~/.config/magi/magi.toml when not root); without any, the built-in description of the MAGI stack is used' -r -F
complete -c magi -n "__fish_magi_using_subcommand health; and __fish_seen_subcommand_from validate" -s v -l verbose -d 'Say more: -v for debug, -vv for trace (overrides $MAGI_LOG)'
complete -c magi -n "__fish_magi_using_subcommand health; and __fish_seen_subcommand_from validate" -s q -l quiet -d 'Say only errors (overrides $MAGI_LOG)'
complete -c magi -n "__fish_magi_using_subcommand health; and __fish_seen_subcommand_from validate" -s h -l help -d 'Print help'
complete -c magi -n "__fish_magi_using_subcommand backup; and not __fish_seen_subcommand_from create list verify prune cloud auto" -l config -d 'Read the configuration from FILE instead of $MAGI_CONFIG or /etc/magi/magi.toml (~/.config/magi/magi.toml when not root); without any, the built-in description of the MAGI stack is used' -r -F
complete -c magi -n "__fish_magi_using_subcommand backup; and not __fish_seen_subcommand_from create list verify prune cloud auto" -s v -l verbose -d 'Say more: -v for debug, -vv for trace (overrides $MAGI_LOG)'
complete -c magi -n "__fish_magi_using_subcommand backup; and not __fish_seen_subcommand_from create list verify prune cloud auto" -s q -l quiet -d 'Say only errors (overrides $MAGI_LOG)'
complete -c magi -n "__fish_magi_using_subcommand backup; and not __fish_seen_subcommand_from create list verify prune cloud auto" -s h -l help -d 'Print help'
complete -c magi -n "__fish_magi_using_subcommand backup; and not __fish_seen_subcommand_from create list verify prune cloud auto" -s V -l version -d 'Print version'
complete -c magi -n "__fish_magi_using_subcommand backup; and not __fish_seen_subcommand_from create list verify prune cloud auto" -f -a "create" -d 'Take a backup of the stack, or of some services'
complete -c magi -n "__fish_magi_using_subcommand backup; and not __fish_seen_subcommand_from create list verify prune cloud auto" -f -a "list" -d 'List the backups: name, time, size, services, note, last verification'
complete -c magi -n "__fish_magi_using_subcommand backup; and not __fish_seen_subcommand_from create list verify prune cloud auto" -f -a "verify" -d 'Check every entry of a backup against its checksums; --deep also opens what it holds'
complete -c magi -n "__fish_magi_using_subcommand backup; and not __fish_seen_subcommand_from create list verify prune cloud auto" -f -a "prune" -d 'Delete the backups a retention policy does not keep (restic\'s keep-last/daily/weekly/monthly)'
complete -c magi -n "__fish_magi_using_subcommand backup; and not __fish_seen_subcommand_from create list verify prune cloud auto" -f -a "cloud" -d 'The off-site copy: encrypted, incremental, in an S3-compatible bucket or on another disk'
complete -c magi -n "__fish_magi_using_subcommand backup; and not __fish_seen_subcommand_from create list verify prune cloud auto" -f -a "auto" -d 'Set when magi-backup.timer runs: writes a drop-in, checked with systemd-analyze calendar'
complete -c magi -n "__fish_magi_using_subcommand backup; and __fish_seen_subcommand_from create" -l service -d 'Back up only this service (catalog or container name; `config` for .env, config/ and workflows/); repeat for more. Default: every service that has data, and the configuration' -r
complete -c magi -n "__fish_magi_using_subcommand backup; and __fish_seen_subcommand_from create" -l note -d 'A note kept in the manifest and shown by `list`' -r
complete -c magi -n "__fish_magi_using_subcommand backup; and __fish_seen_subcommand_from create" -l config -d 'Read the configuration from FILE instead of $MAGI_CONFIG or /etc/magi/magi.toml (~/.config/magi/magi.toml when not root); without any, the built-in description of the MAGI stack is used' -r -F
complete -c magi -n "__fish_magi_using_subcommand backup; and __fish_seen_subcommand_from create" -l json -d 'Print events as NDJSON on stdout'
complete -c magi -n "__fish_magi_using_subcommand backup; and __fish_seen_subcommand_from create" -l now -d 'Take it now, whatever the timer\'s schedule (what `create` always does; the roadmap spells it `magi backup create --now`)'
complete -c magi -n "__fish_magi_using_subcommand backup; and __fish_seen_subcommand_from create" -s v -l verbose -d 'Say more: -v for debug, -vv for trace (overrides $MAGI_LOG)'
complete -c magi -n "__fish_magi_using_subcommand backup; and __fish_seen_subcommand_from create" -s q -l quiet -d 'Say only errors (overrides $MAGI_LOG)'
complete -c magi -n "__fish_magi_using_subcommand backup; and __fish_seen_subcommand_from create" -s h -l help -d 'Print help'
complete -c magi -n "__fish_magi_using_subcommand backup; and __fish_seen_subcommand_from list" -l config -d 'Read the configuration from FILE instead of $MAGI_CONFIG or /etc/magi/magi.toml (~/.config/magi/magi.toml when not root); without any, the built-in description of the MAGI stack is used' -r -F
complete -c magi -n "__fish_magi_using_subcommand backup; and __fish_seen_subcommand_from list" -l json -d 'One JSON object per backup and line'
complete -c magi -n "__fish_magi_using_subcommand backup; and __fish_seen_subcommand_from list" -s v -l verbose -d 'Say more: -v for debug, -vv for trace (overrides $MAGI_LOG)'
complete -c magi -n "__fish_magi_using_subcommand backup; and __fish_seen_subcommand_from list" -s q -l quiet -d 'Say only errors (overrides $MAGI_LOG)'
complete -c magi -n "__fish_magi_using_subcommand backup; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help'
complete -c magi -n "__fish_magi_using_subcommand backup; and __fish_seen_subcommand_from verify" -l config -d 'Read the configuration from FILE instead of $MAGI_CONFIG or /etc/magi/magi.toml (~/.config/magi/magi.toml when not root); without any, the built-in description of the MAGI stack is used' -r -F
complete -c magi -n "__fish_magi_using_subcommand backup; and __fish_seen_subcommand_from verify" -l deep -d 'Also open every SQLite file, Redis dump and Qdrant snapshot as its engine would'
complete -c magi -n "__fish_magi_using_subcommand backup; and __fish_seen_subcommand_from verify" -s v -l verbose -d 'Say more: -v for debug, -vv for trace (overrides $MAGI_LOG)'
complete -c magi -n "__fish_magi_using_subcommand backup; and __fish_seen_subcommand_from verify" -s q -l quiet -d 'Say only errors (overrides $MAGI_LOG)'
complete -c magi -n "__fish_magi_using_subcommand backup; and __fish_seen_subcommand_from verify" -s h -l help -d 'Print help'
complete -c magi -n "__fish_magi_using_subcommand backup; and __fish_seen_subcommand_from prune" -l keep-last -d 'Keep the N newest backups (default: [backup] keep_last, 3)' -r
complete -c magi -n "__fish_magi_using_subcommand backup; and __fish_seen_subcommand_from prune" -l keep-daily -d 'Keep the newest backup of each of the last N days that have one (default: [backup] keep_daily, 7)' -r
complete -c magi -n "__fish_magi_using_subcommand backup; and __fish_seen_subcommand_from prune" -l keep-weekly -d 'Keep the newest backup of each of the last N ISO weeks that have one (default: [backup] keep_weekly, 4)' -r
complete -c magi -n "__fish_magi_using_subcommand backup; and __fish_seen_subcommand_from prune" -l keep-monthly -d 'Keep the newest backup of each of the last N months that have one (default: [backup] keep_monthly, 12)' -r
complete -c magi -n "__fish_magi_using_subcommand backup; and __fish_seen_subcommand_from prune" -l config -d 'Read the configuration from FILE instead of $MAGI_CONFIG or /etc/magi/magi.toml (~/.config/magi/magi.toml when not root); without any, the built-in description of the MAGI stack is used' -r -F
complete -c magi -n "__fish_magi_using_subcommand backup; and __fish_seen_subcommand_from prune" -l dry-run -d 'Show what would be deleted, delete nothing'
complete -c magi -n "__fish_magi_using_subcommand backup; and __fish_seen_subcommand_from prune" -l json -d 'Print the outcome as JSON'
complete -c magi -n "__fish_magi_using_subcommand backup; and __fish_seen_subcommand_from prune" -s v -l verbose -d 'Say more: -v for debug, -vv for trace (overrides $MAGI_LOG)'
complete -c magi -n "__fish_magi_using_subcommand backup; and __fish_seen_subcommand_from prune" -s q -l quiet -d 'Say only errors (overrides $MAGI_LOG)'
complete -c magi -n "__fish_magi_using_subcommand backup; and __fish_seen_subcommand_from prune" -s h -l help -d 'Print help'
complete -c magi -n "__fish_magi_using_subcommand backup; and __fish_seen_subcommand_from cloud" -l config -d 'Read the configuration from FILE instead of $MAGI_CONFIG or /etc/magi/magi.toml (~/.config/magi/magi.toml when not root); without any, the built-in description of the MAGI stack is used' -r -F
complete -c magi -n "__fish_magi_using_subcommand backup; and __fish_seen_subcommand_from cloud" -s v -l verbose -d 'Say more: -v for debug, -vv for trace (overrides $MAGI_LOG)'
complete -c magi -n "__fish_magi_using_subcommand backup; and __fish_seen_subcommand_from cloud" -s q -l quiet -d 'Say only errors (overrides $MAGI_LOG)'
complete -c magi -n "__fish_magi_using_subcommand backup; and __fish_seen_subcommand_from cloud" -s h -l help -d 'Print help'
complete -c magi -n "__fish_magi_using_subcommand backup; and __fish_seen_subcommand_from cloud" -f -a "configure" -d 'Set up the repository: where, with which credentials, and the key (created if none)'
complete -c magi -n "__fish_magi_using_subcommand backup; and __fish_seen_subcommand_from cloud" -f -a "upload" -d 'Upload a local backup (default: the newest) into the repository, only what changed'
complete -c magi -n "__fish_magi_using_subcommand backup; and __fish_seen_subcommand_from cloud" -f -a "list" -d 'List the backups in the repository, and which are also on this disk'
complete -c magi -n "__fish_magi_using_subcommand backup; and __fish_seen_subcommand_from cloud" -f -a "verify" -d 'Check the repository: the bucket against the index, and a sample of packs read (--deep: all)'
complete -c magi -n "__fish_magi_using_subcommand backup; and __fish_seen_subcommand_from cloud" -f -a "prune" -d 'Delete the repository\'s backups its own retention does not keep, then the data only they used'
complete -c magi -n "__fish_magi_using_subcommand backup; and __fish_seen_subcommand_from auto" -l schedule -d 'daily, weekly, or a systemd OnCalendar= expression' -r
complete -c magi -n "__fish_magi_using_subcommand backup; and __fish_seen_subcommand_from auto" -l unit-dir -d 'Where the timer\'s drop-in directory is made' -r -F
complete -c magi -n "__fish_magi_using_subcommand backup; and __fish_seen_subcommand_from auto" -l config -d 'Read the configuration from FILE instead of $MAGI_CONFIG or /etc/magi/magi.toml (~/.config/magi/magi.toml when not root); without any, the built-in description of the MAGI stack is used' -r -F
complete -c magi -n "__fish_magi_using_subcommand backup; and __fish_seen_subcommand_from auto" -s v -l verbose -d 'Say more: -v for debug, -vv for trace (overrides $MAGI_LOG)'
complete -c magi -n "__fish_magi_using_subcommand backup; and __fish_seen_subcommand_from auto" -s q -l quiet -d 'Say only errors (overrides $MAGI_LOG)'
complete -c magi -n "__fish_magi_using_subcommand backup; and __fish_seen_subcommand_from auto" -s h -l help -d 'Print help'
complete -c magi -n "__fish_magi_using_subcommand restore" -l config -d 'Read the configuration from FILE instead of $MAGI_CONFIG or /etc/magi/magi.toml (~/.config/magi/magi.toml when not root); without any, the built-in description of the MAGI stack is used' -r -F
complete -c magi -n "__fish_magi_using_subcommand restore" -l at -d 'Restore the newest backup taken at or before this local time (\'2026-11-20 14:30\')' -r
complete -c magi -n "__fish_magi_using_subcommand restore" -l timestamp -d 'Point-in-time: each SQLite database as of its last transaction committed at or before this time (\'2026-11-20 14:29:59\', from magi-pitr\'s capture), everything else from the newest backup taken by then' -r
complete -c magi -n "__fish_magi_using_subcommand restore" -l to -d 'With --from-cloud: write the files into this directory (absent or empty) by their paths; with --timestamp: write the databases rebuilt to that time there (DIR/SERVICE/FILE). Nothing of the stack is touched: to look before restoring' -r -F
complete -c magi -n "__fish_magi_using_subcommand restore" -l service -d 'Restore only this service (catalog or container name, or `config`); repeat for more' -r
complete -c magi -n "__fish_magi_using_subcommand restore" -l timeout -d 'How long to wait for the stack to be ready before rolling back (default: [backup] restore_timeout, 2m)' -r
complete -c magi -n "__fish_magi_using_subcommand restore" -s v -l verbose -d 'Say more: -v for debug, -vv for trace (overrides $MAGI_LOG)'
complete -c magi -n "__fish_magi_using_subcommand restore" -s q -l quiet -d 'Say only errors (overrides $MAGI_LOG)'
complete -c magi -n "__fish_magi_using_subcommand restore" -l from-cloud -d 'Take the backup from the cloud repository ([cloud]), fetching only the services restored'
complete -c magi -n "__fish_magi_using_subcommand restore" -l dry-run -d 'Verify and show what would be replaced; change nothing'
complete -c magi -n "__fish_magi_using_subcommand restore" -s y -l yes -d 'Do not ask before replacing data'
complete -c magi -n "__fish_magi_using_subcommand restore" -l json -d 'Print events as NDJSON on stdout'
complete -c magi -n "__fish_magi_using_subcommand restore" -s h -l help -d 'Print help'
complete -c magi -n "__fish_magi_using_subcommand restore" -s V -l version -d 'Print version'
complete -c magi -n "__fish_magi_using_subcommand alert; and not __fish_seen_subcommand_from list ack silence test history" -l config -d 'Read the configuration from FILE instead of $MAGI_CONFIG or /etc/magi/magi.toml (~/.config/magi/magi.toml when not root); without any, the built-in description of the MAGI stack is used' -r -F
complete -c magi -n "__fish_magi_using_subcommand alert; and not __fish_seen_subcommand_from list ack silence test history" -l to -d 'Also send to this channel (repeatable): a URL such as ntfy://host/topic, or the name of a channel of the config. A URL that is a credential (Slack, Discord, a password or a token in its query) is refused here, where every user can read it: name it in [alert.channels] and give the name' -r
complete -c magi -n "__fish_magi_using_subcommand alert; and not __fish_seen_subcommand_from list ack silence test history" -l db -d 'The alert database (default: alert.db in the state directory, /var/lib/magi as root)' -r -F
complete -c magi -n "__fish_magi_using_subcommand alert; and not __fish_seen_subcommand_from list ack silence test history" -l drain -d 'At the end of the input, wait this long for queued deliveries; what is left is sent by the next run' -r
complete -c magi -n "__fish_magi_using_subcommand alert; and not __fish_seen_subcommand_from list ack silence test history" -s v -l verbose -d 'Say more: -v for debug, -vv for trace (overrides $MAGI_LOG)'
complete -c magi -n "__fish_magi_using_subcommand alert; and not __fish_seen_subcommand_from list ack silence test history" -s q -l quiet -d 'Say only errors (overrides $MAGI_LOG)'
complete -c magi -n "__fish_magi_using_subcommand alert; and not __fish_seen_subcommand_from list ack silence test history" -s h -l help -d 'Print help'
complete -c magi -n "__fish_magi_using_subcommand alert; and not __fish_seen_subcommand_from list ack silence test history" -s V -l version -d 'Print version'
complete -c magi -n "__fish_magi_using_subcommand alert; and not __fish_seen_subcommand_from list ack silence test history" -a "list" -d 'List alerts, newest first'
complete -c magi -n "__fish_magi_using_subcommand alert; and not __fish_seen_subcommand_from list ack silence test history" -a "ack" -d 'Acknowledge an alert: no more reminders until it resolves (the resolve is still sent)'
complete -c magi -n "__fish_magi_using_subcommand alert; and not __fish_seen_subcommand_from list ack silence test history" -a "silence" -d 'Hold notices about a subject for a while'
complete -c magi -n "__fish_magi_using_subcommand alert; and not __fish_seen_subcommand_from list ack silence test history" -a "test" -d 'Send a test notice to a configured channel or a URL now, and show the server\'s answer'
complete -c magi -n "__fish_magi_using_subcommand alert; and not __fish_seen_subcommand_from list ack silence test history" -a "history" -d 'What happened: alerts fired, notices sent, failures, acks and silences'
complete -c magi -n "__fish_magi_using_subcommand alert; and __fish_seen_subcommand_from list" -l limit -d 'At most this many, the newest' -r
complete -c magi -n "__fish_magi_using_subcommand alert; and __fish_seen_subcommand_from list" -l config -d 'Read the configuration from FILE instead of $MAGI_CONFIG or /etc/magi/magi.toml (~/.config/magi/magi.toml when not root); without any, the built-in description of the MAGI stack is used' -r -F
complete -c magi -n "__fish_magi_using_subcommand alert; and __fish_seen_subcommand_from list" -l db -d 'The alert database (default: alert.db in the state directory, /var/lib/magi as root)' -r -F
complete -c magi -n "__fish_magi_using_subcommand alert; and __fish_seen_subcommand_from list" -l active -d 'Only alerts that have not resolved'
complete -c magi -n "__fish_magi_using_subcommand alert; and __fish_seen_subcommand_from list" -l json -d 'One JSON object a line'
complete -c magi -n "__fish_magi_using_subcommand alert; and __fish_seen_subcommand_from list" -s v -l verbose -d 'Say more: -v for debug, -vv for trace (overrides $MAGI_LOG)'
complete -c magi -n "__fish_magi_using_subcommand alert; and __fish_seen_subcommand_from list" -s q -l quiet -d 'Say only errors (overrides $MAGI_LOG)'
complete -c magi -n "__fish_magi_using_subcommand alert; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help'
complete -c magi -n "__fish_magi_using_subcommand alert; and __fish_seen_subcommand_from ack" -l note -d 'Who is on it, or why' -r
complete -c magi -n "__fish_magi_using_subcommand alert; and __fish_seen_subcommand_from ack" -l config -d 'Read the configuration from FILE instead of $MAGI_CONFIG or /etc/magi/magi.toml (~/.config/magi/magi.toml when not root); without any, the built-in description of the MAGI stack is used' -r -F
complete -c magi -n "__fish_magi_using_subcommand alert; and __fish_seen_subcommand_from ack" -l db -d 'The alert database (default: alert.db in the state directory, /var/lib/magi as root)' -r -F
complete -c magi -n "__fish_magi_using_subcommand alert; and __fish_seen_subcommand_from ack" -s v -l verbose -d 'Say more: -v for debug, -vv for trace (overrides $MAGI_LOG)'
complete -c magi -n "__fish_magi_using_subcommand alert; and __fish_seen_subcommand_from ack" -s q -l quiet -d 'Say only errors (overrides $MAGI_LOG)'
complete -c magi -n "__fish_magi_using_subcommand alert; and __fish_seen_subcommand_from ack" -s h -l help -d 'Print help'
complete -c magi -n "__fish_magi_using_subcommand alert; and __fish_seen_subcommand_from silence" -l config -d 'Read the configuration from FILE instead of $MAGI_CONFIG or /etc/magi/magi.toml (~/.config/magi/magi.toml when not root); without any, the built-in description of the MAGI stack is used' -r -F
complete -c magi -n "__fish_magi_using_subcommand alert; and __fish_seen_subcommand_from silence" -l db -d 'The alert database (default: alert.db in the state directory, /var/lib/magi as root)' -r -F
complete -c magi -n "__fish_magi_using_subcommand alert; and __fish_seen_subcommand_from silence" -s v -l verbose -d 'Say more: -v for debug, -vv for trace (overrides $MAGI_LOG)'
complete -c magi -n "__fish_magi_using_subcommand alert; and __fish_seen_subcommand_from silence" -s q -l quiet -d 'Say only errors (overrides $MAGI_LOG)'
complete -c magi -n "__fish_magi_using_subcommand alert; and __fish_seen_subcommand_from silence" -s h -l help -d 'Print help'
complete -c magi -n "__fish_magi_using_subcommand alert; and __fish_seen_subcommand_from silence" -f -a "add" -d 'Silence SUBJECT (a glob: `qdrant`, `magi-*`) for a duration'
complete -c magi -n "__fish_magi_using_subcommand alert; and __fish_seen_subcommand_from silence" -f -a "list" -d 'The silences in force'
complete -c magi -n "__fish_magi_using_subcommand alert; and __fish_seen_subcommand_from silence" -f -a "remove" -d 'End a silence early, by its number or subject'
complete -c magi -n "__fish_magi_using_subcommand alert; and __fish_seen_subcommand_from test" -l config -d 'Read the configuration from FILE instead of $MAGI_CONFIG or /etc/magi/magi.toml (~/.config/magi/magi.toml when not root); without any, the built-in description of the MAGI stack is used' -r -F
complete -c magi -n "__fish_magi_using_subcommand alert; and __fish_seen_subcommand_from test" -l db -d 'The alert database (default: alert.db in the state directory, /var/lib/magi as root)' -r -F
complete -c magi -n "__fish_magi_using_subcommand alert; and __fish_seen_subcommand_from test" -s v -l verbose -d 'Say more: -v for debug, -vv for trace (overrides $MAGI_LOG)'
complete -c magi -n "__fish_magi_using_subcommand alert; and __fish_seen_subcommand_from test" -s q -l quiet -d 'Say only errors (overrides $MAGI_LOG)'
complete -c magi -n "__fish_magi_using_subcommand alert; and __fish_seen_subcommand_from test" -s h -l help -d 'Print help'
complete -c magi -n "__fish_magi_using_subcommand alert; and __fish_seen_subcommand_from history" -l since -d 'How far back' -r
complete -c magi -n "__fish_magi_using_subcommand alert; and __fish_seen_subcommand_from history" -l config -d 'Read the configuration from FILE instead of $MAGI_CONFIG or /etc/magi/magi.toml (~/.config/magi/magi.toml when not root); without any, the built-in description of the MAGI stack is used' -r -F
complete -c magi -n "__fish_magi_using_subcommand alert; and __fish_seen_subcommand_from history" -l db -d 'The alert database (default: alert.db in the state directory, /var/lib/magi as root)' -r -F
complete -c magi -n "__fish_magi_using_subcommand alert; and __fish_seen_subcommand_from history" -l json -d 'One JSON object a line'
complete -c magi -n "__fish_magi_using_subcommand alert; and __fish_seen_subcommand_from history" -s v -l verbose -d 'Say more: -v for debug, -vv for trace (overrides $MAGI_LOG)'
complete -c magi -n "__fish_magi_using_subcommand alert; and __fish_seen_subcommand_from history" -s q -l quiet -d 'Say only errors (overrides $MAGI_LOG)'
complete -c magi -n "__fish_magi_using_subcommand alert; and __fish_seen_subcommand_from history" -s h -l help -d 'Print help'
complete -c magi -n "__fish_magi_using_subcommand users; and not __fish_seen_subcommand_from add remove list set disable enable reset-password roles teams keys quota activity serve" -l config -d 'Read the configuration from FILE instead of $MAGI_CONFIG or /etc/magi/magi.toml (~/.config/magi/magi.toml when not root); without any, the built-in description of the MAGI stack is used' -r -F
complete -c magi -n "__fish_magi_using_subcommand users; and not __fish_seen_subcommand_from add remove list set disable enable reset-password roles teams keys quota activity serve" -l db -d 'The user database (default: users.db in the state directory)' -r -F
complete -c magi -n "__fish_magi_using_subcommand users; and not __fish_seen_subcommand_from add remove list set disable enable reset-password roles teams keys quota activity serve" -s v -l verbose -d 'Say more: -v for debug, -vv for trace (overrides $MAGI_LOG)'
complete -c magi -n "__fish_magi_using_subcommand users; and not __fish_seen_subcommand_from add remove list set disable enable reset-password roles teams keys quota activity serve" -s q -l quiet -d 'Say only errors (overrides $MAGI_LOG)'
complete -c magi -n "__fish_magi_using_subcommand users; and not __fish_seen_subcommand_from add remove list set disable enable reset-password roles teams keys quota activity serve" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c magi -n "__fish_magi_using_subcommand users; and not __fish_seen_subcommand_from add remove list set disable enable reset-password roles teams keys quota activity serve" -s V -l version -d 'Print version'
complete -c magi -n "__fish_magi_using_subcommand users; and not __fish_seen_subcommand_from add remove list set disable enable reset-password roles teams keys quota activity serve" -f -a "add" -d 'Create an account; the password is asked for, or read from --password-file or stdin'
complete -c magi -n "__fish_magi_using_subcommand users; and not __fish_seen_subcommand_from add remove list set disable enable reset-password roles teams keys quota activity serve" -f -a "remove" -d 'Delete an account with its sessions and API keys'
complete -c magi -n "__fish_magi_using_subcommand users; and not __fish_seen_subcommand_from add remove list set disable enable reset-password roles teams keys quota activity serve" -f -a "list" -d 'List accounts'
complete -c magi -n "__fish_magi_using_subcommand users; and not __fish_seen_subcommand_from add remove list set disable enable reset-password roles teams keys quota activity serve" -f -a "set" -d 'Change an account\'s email, display name, role or teams'
complete -c magi -n "__fish_magi_using_subcommand users; and not __fish_seen_subcommand_from add remove list set disable enable reset-password roles teams keys quota activity serve" -f -a "disable" -d 'Stop an account from logging in and end its sessions; its keys stop working too'
complete -c magi -n "__fish_magi_using_subcommand users; and not __fish_seen_subcommand_from add remove list set disable enable reset-password roles teams keys quota activity serve" -f -a "enable" -d 'Let a disabled account log in again'
complete -c magi -n "__fish_magi_using_subcommand users; and not __fish_seen_subcommand_from add remove list set disable enable reset-password roles teams keys quota activity serve" -f -a "reset-password" -d 'Set a new password and end every session of the account'
complete -c magi -n "__fish_magi_using_subcommand users; and not __fish_seen_subcommand_from add remove list set disable enable reset-password roles teams keys quota activity serve" -f -a "roles" -d 'Roles and their permissions (built in: admin has every permission, user has `chat`)'
complete -c magi -n "__fish_magi_using_subcommand users; and not __fish_seen_subcommand_from add remove list set disable enable reset-password roles teams keys quota activity serve" -f -a "teams" -d 'Teams, which become groups in Remote-Groups'
complete -c magi -n "__fish_magi_using_subcommand users; and not __fish_seen_subcommand_from add remove list set disable enable reset-password roles teams keys quota activity serve" -f -a "keys" -d 'API keys: `Authorization: Bearer magi_...` instead of a login'
complete -c magi -n "__fish_magi_using_subcommand users; and not __fish_seen_subcommand_from add remove list set disable enable reset-password roles teams keys quota activity serve" -f -a "quota" -d 'The daily token quota the magi-limits gateway enforces for an account'
complete -c magi -n "__fish_magi_using_subcommand users; and not __fish_seen_subcommand_from add remove list set disable enable reset-password roles teams keys quota activity serve" -f -a "activity" -d 'The audit log: logins, failures, lockouts, account, role, team and key changes'
complete -c magi -n "__fish_magi_using_subcommand users; and not __fish_seen_subcommand_from add remove list set disable enable reset-password roles teams keys quota activity serve" -f -a "serve" -d 'Serve forward-auth (/auth, /auth-request), /login and /logout for the reverse proxy'
complete -c magi -n "__fish_magi_using_subcommand users; and __fish_seen_subcommand_from add" -l email -d 'The email address (Remote-Email, which Open WebUI\'s trusted-header login reads)' -r
complete -c magi -n "__fish_magi_using_subcommand users; and __fish_seen_subcommand_from add" -l name -d 'The display name (Remote-Name); the login name if not given' -r
complete -c magi -n "__fish_magi_using_subcommand users; and __fish_seen_subcommand_from add" -l role -d 'admin, user, or a role made with `roles create`' -r
complete -c magi -n "__fish_magi_using_subcommand users; and __fish_seen_subcommand_from add" -l team -d 'A team the account belongs to (repeatable; create it first with `teams add`)' -r
complete -c magi -n "__fish_magi_using_subcommand users; and __fish_seen_subcommand_from add" -l password-file -d 'Read the password from the first line of FILE (- for stdin) instead of asking' -r -F
complete -c magi -n "__fish_magi_using_subcommand users; and __fish_seen_subcommand_from add" -l config -d 'Read the configuration from FILE instead of $MAGI_CONFIG or /etc/magi/magi.toml (~/.config/magi/magi.toml when not root); without any, the built-in description of the MAGI stack is used' -r -F
complete -c magi -n "__fish_magi_using_subcommand users; and __fish_seen_subcommand_from add" -l db -d 'The user database (default: users.db in the state directory)' -r -F
complete -c magi -n "__fish_magi_using_subcommand users; and __fish_seen_subcommand_from add" -s v -l verbose -d 'Say more: -v for debug, -vv for trace (overrides $MAGI_LOG)'
complete -c magi -n "__fish_magi_using_subcommand users; and __fish_seen_subcommand_from add" -s q -l quiet -d 'Say only errors (overrides $MAGI_LOG)'
complete -c magi -n "__fish_magi_using_subcommand users; and __fish_seen_subcommand_from add" -s h -l help -d 'Print help'
complete -c magi -n "__fish_magi_using_subcommand users; and __fish_seen_subcommand_from remove" -l config -d 'Read the configuration from FILE instead of $MAGI_CONFIG or /etc/magi/magi.toml (~/.config/magi/magi.toml when not root); without any, the built-in description of the MAGI stack is used' -r -F
complete -c magi -n "__fish_magi_using_subcommand users; and __fish_seen_subcommand_from remove" -l db -d 'The user database (default: users.db in the state directory)' -r -F
complete -c magi -n "__fish_magi_using_subcommand users; and __fish_seen_subcommand_from remove" -s v -l verbose -d 'Say more: -v for debug, -vv for trace (overrides $MAGI_LOG)'
complete -c magi -n "__fish_magi_using_subcommand users; and __fish_seen_subcommand_from remove" -s q -l quiet -d 'Say only errors (overrides $MAGI_LOG)'
complete -c magi -n "__fish_magi_using_subcommand users; and __fish_seen_subcommand_from remove" -s h -l help -d 'Print help'
complete -c magi -n "__fish_magi_using_subcommand users; and __fish_seen_subcommand_from list" -l config -d 'Read the configuration from FILE instead of $MAGI_CONFIG or /etc/magi/magi.toml (~/.config/magi/magi.toml when not root); without any, the built-in description of the MAGI stack is used' -r -F
complete -c magi -n "__fish_magi_using_subcommand users; and __fish_seen_subcommand_from list" -l db -d 'The user database (default: users.db in the state directory)' -r -F
complete -c magi -n "__fish_magi_using_subcommand users; and __fish_seen_subcommand_from list" -l json -d 'One JSON object a line'
complete -c magi -n "__fish_magi_using_subcommand users; and __fish_seen_subcommand_from list" -s v -l verbose -d 'Say more: -v for debug, -vv for trace (overrides $MAGI_LOG)'
complete -c magi -n "__fish_magi_using_subcommand users; and __fish_seen_subcommand_from list" -s q -l quiet -d 'Say only errors (overrides $MAGI_LOG)'
complete -c magi -n "__fish_magi_using_subcommand users; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help'
complete -c magi -n "__fish_magi_using_subcommand users; and __fish_seen_subcommand_from set" -l email -d 'A new email address' -r
complete -c magi -n "__fish_magi_using_subcommand users; and __fish_seen_subcommand_from set" -l name -d 'A new display name (Remote-Name)' -r
complete -c magi -n "__fish_magi_using_subcommand users; and __fish_seen_subcommand_from set" -l role -d 'A new role: admin, user, or a role made with `roles create`' -r
complete -c magi -n "__fish_magi_using_subcommand users; and __fish_seen_subcommand_from set" -l team -d 'The account\'s teams, replacing the ones it has (repeatable; --team \'\' for none)' -r
complete -c magi -n "__fish_magi_using_subcommand users; and __fish_seen_subcommand_from set" -l config -d 'Read the configuration from FILE instead of $MAGI_CONFIG or /etc/magi/magi.toml (~/.config/magi/magi.toml when not root); without any, the built-in description of the MAGI stack is used' -r -F
complete -c magi -n "__fish_magi_using_subcommand users; and __fish_seen_subcommand_from set" -l db -d 'The user database (default: users.db in the state directory)' -r -F
complete -c magi -n "__fish_magi_using_subcommand users; and __fish_seen_subcommand_from set" -s v -l verbose -d 'Say more: -v for debug, -vv for trace (overrides $MAGI_LOG)'
complete -c magi -n "__fish_magi_using_subcommand users; and __fish_seen_subcommand_from set" -s q -l quiet -d 'Say only errors (overrides $MAGI_LOG)'
complete -c magi -n "__fish_magi_using_subcommand users; and __fish_seen_subcommand_from set" -s h -l help -d 'Print help'
complete -c magi -n "__fish_magi_using_subcommand users; and __fish_seen_subcommand_from disable" -l config -d 'Read the configuration from FILE instead of $MAGI_CONFIG or /etc/magi/magi.toml (~/.config/magi/magi.toml when not root); without any, the built-in description of the MAGI stack is used' -r -F
complete -c magi -n "__fish_magi_using_subcommand users; and __fish_seen_subcommand_from disable" -l db -d 'The user database (default: users.db in the state directory)' -r -F
complete -c magi -n "__fish_magi_using_subcommand users; and __fish_seen_subcommand_from disable" -s v -l verbose -d 'Say more: -v for debug, -vv for trace (overrides $MAGI_LOG)'
complete -c magi -n "__fish_magi_using_subcommand users; and __fish_seen_subcommand_from disable" -s q -l quiet -d 'Say only errors (overrides $MAGI_LOG)'
complete -c magi -n "__fish_magi_using_subcommand users; and __fish_seen_subcommand_from disable" -s h -l help -d 'Print help'
complete -c magi -n "__fish_magi_using_subcommand users; and __fish_seen_subcommand_from enable" -l config -d 'Read the configuration from FILE instead of $MAGI_CONFIG or /etc/magi/magi.toml (~/.config/magi/magi.toml when not root); without any, the built-in description of the MAGI stack is used' -r -F
complete -c magi -n "__fish_magi_using_subcommand users; and __fish_seen_subcommand_from enable" -l db -d 'The user database (default: users.db in the state directory)' -r -F
complete -c magi -n "__fish_magi_using_subcommand users; and __fish_seen_subcommand_from enable" -s v -l verbose -d 'Say more: -v for debug, -vv for trace (overrides $MAGI_LOG)'
complete -c magi -n "__fish_magi_using_subcommand users; and __fish_seen_subcommand_from enable" -s q -l quiet -d 'Say only errors (overrides $MAGI_LOG)'
complete -c magi -n "__fish_magi_using_subcommand users; and __fish_seen_subcommand_from enable" -s h -l help -d 'Print help'
complete -c magi -n "__fish_magi_using_subcommand users; and __fish_seen_subcommand_from reset-password" -l password-file -d 'Read the password from the first line of FILE (- for stdin) instead of asking' -r -F
complete -c magi -n "__fish_magi_using_subcommand users; and __fish_seen_subcommand_from reset-password" -l config -d 'Read the configuration from FILE instead of $MAGI_CONFIG or /etc/magi/magi.toml (~/.config/magi/magi.toml when not root); without any, the built-in description of the MAGI stack is used' -r -F
complete -c magi -n "__fish_magi_using_subcommand users; and __fish_seen_subcommand_from reset-password" -l db -d 'The user database (default: users.db in the state directory)' -r -F
complete -c magi -n "__fish_magi_using_subcommand users; and __fish_seen_subcommand_from reset-password" -s v -l verbose -d 'Say more: -v for debug, -vv for trace (overrides $MAGI_LOG)'
complete -c magi -n "__fish_magi_using_subcommand users; and __fish_seen_subcommand_from reset-password" -s q -l quiet -d 'Say only errors (overrides $MAGI_LOG)'
complete -c magi -n "__fish_magi_using_subcommand users; and __fish_seen_subcommand_from reset-password" -s h -l help -d 'Print help'
complete -c magi -n "__fish_magi_using_subcommand users; and __fish_seen_subcommand_from roles" -l config -d 'Read the configuration from FILE instead of $MAGI_CONFIG or /etc/magi/magi.toml (~/.config/magi/magi.toml when not root); without any, the built-in description of the MAGI stack is used' -r -F
complete -c magi -n "__fish_magi_using_subcommand users; and __fish_seen_subcommand_from roles" -l db -d 'The user database (default: users.db in the state directory)' -r -F
complete -c magi -n "__fish_magi_using_subcommand users; and __fish_seen_subcommand_from roles" -s v -l verbose -d 'Say more: -v for debug, -vv for trace (overrides $MAGI_LOG)'
complete -c magi -n "__fish_magi_using_subcommand users; and __fish_seen_subcommand_from roles" -s q -l quiet -d 'Say only errors (overrides $MAGI_LOG)'
complete -c magi -n "__fish_magi_using_subcommand users; and __fish_seen_subcommand_from roles" -s h -l help -d 'Print help'
complete -c magi -n "__fish_magi_using_subcommand users; and __fish_seen_subcommand_from roles" -f -a "create" -d 'Create a custom role'
complete -c magi -n "__fish_magi_using_subcommand users; and __fish_seen_subcommand_from roles" -f -a "list" -d 'List roles with their permissions'
complete -c magi -n "__fish_magi_using_subcommand users; and __fish_seen_subcommand_from roles" -f -a "remove" -d 'Remove a custom role that no account holds'
complete -c magi -n "__fish_magi_using_subcommand users; and __fish_seen_subcommand_from teams" -l config -d 'Read the configuration from FILE instead of $MAGI_CONFIG or /etc/magi/magi.toml (~/.config/magi/magi.toml when not root); without any, the built-in description of the MAGI stack is used' -r -F
complete -c magi -n "__fish_magi_using_subcommand users; and __fish_seen_subcommand_from teams" -l db -d 'The user database (default: users.db in the state directory)' -r -F
complete -c magi -n "__fish_magi_using_subcommand users; and __fish_seen_subcommand_from teams" -s v -l verbose -d 'Say more: -v for debug, -vv for trace (overrides $MAGI_LOG)'
complete -c magi -n "__fish_magi_using_subcommand users; and __fish_seen_subcommand_from teams" -s q -l quiet -d 'Say only errors (overrides $MAGI_LOG)'
complete -c magi -n "__fish_magi_using_subcommand users; and __fish_seen_subcommand_from teams" -s h -l help -d 'Print help'
complete -c magi -n "__fish_magi_using_subcommand users; and __fish_seen_subcommand_from teams" -f -a "add" -d 'Create a team'
complete -c magi -n "__fish_magi_using_subcommand users; and __fish_seen_subcommand_from teams" -f -a "list" -d 'List teams with their members'
complete -c magi -n "__fish_magi_using_subcommand users; and __fish_seen_subcommand_from teams" -f -a "remove" -d 'Remove a team (its members stay, without it)'
complete -c magi -n "__fish_magi_using_subcommand users; and __fish_seen_subcommand_from keys" -l config -d 'Read the configuration from FILE instead of $MAGI_CONFIG or /etc/magi/magi.toml (~/.config/magi/magi.toml when not root); without any, the built-in description of the MAGI stack is used' -r -F
complete -c magi -n "__fish_magi_using_subcommand users; and __fish_seen_subcommand_from keys" -l db -d 'The user database (default: users.db in the state directory)' -r -F
complete -c magi -n "__fish_magi_using_subcommand users; and __fish_seen_subcommand_from keys" -s v -l verbose -d 'Say more: -v for debug, -vv for trace (overrides $MAGI_LOG)'
complete -c magi -n "__fish_magi_using_subcommand users; and __fish_seen_subcommand_from keys" -s q -l quiet -d 'Say only errors (overrides $MAGI_LOG)'
complete -c magi -n "__fish_magi_using_subcommand users; and __fish_seen_subcommand_from keys" -s h -l help -d 'Print help'
complete -c magi -n "__fish_magi_using_subcommand users; and __fish_seen_subcommand_from keys" -f -a "create" -d 'Create an API key for USER and print it once; only its hash is kept'
complete -c magi -n "__fish_magi_using_subcommand users; and __fish_seen_subcommand_from keys" -f -a "list" -d 'List keys by their visible prefix (the keys themselves are not kept)'
complete -c magi -n "__fish_magi_using_subcommand users; and __fish_seen_subcommand_from keys" -f -a "revoke" -d 'Revoke a key by its prefix (magi_ab12cd34) or the whole key'
complete -c magi -n "__fish_magi_using_subcommand users; and __fish_seen_subcommand_from quota" -l config -d 'Read the configuration from FILE instead of $MAGI_CONFIG or /etc/magi/magi.toml (~/.config/magi/magi.toml when not root); without any, the built-in description of the MAGI stack is used' -r -F
complete -c magi -n "__fish_magi_using_subcommand users; and __fish_seen_subcommand_from quota" -l db -d 'The user database (default: users.db in the state directory)' -r -F
complete -c magi -n "__fish_magi_using_subcommand users; and __fish_seen_subcommand_from quota" -s v -l verbose -d 'Say more: -v for debug, -vv for trace (overrides $MAGI_LOG)'
complete -c magi -n "__fish_magi_using_subcommand users; and __fish_seen_subcommand_from quota" -s q -l quiet -d 'Say only errors (overrides $MAGI_LOG)'
complete -c magi -n "__fish_magi_using_subcommand users; and __fish_seen_subcommand_from quota" -s h -l help -d 'Print help'
complete -c magi -n "__fish_magi_using_subcommand users; and __fish_seen_subcommand_from quota" -f -a "set" -d 'Set how many tokens (prompt and completion) the account may use per UTC day; kept in magi-limits\' policy, where `magi-limits quota set` writes too, and a running gateway applies it within a second'
complete -c magi -n "__fish_magi_using_subcommand users; and __fish_seen_subcommand_from activity" -l user -d 'Only entries where NAME acted or was acted on' -r
complete -c magi -n "__fish_magi_using_subcommand users; and __fish_seen_subcommand_from activity" -l since -d 'How far back' -r
complete -c magi -n "__fish_magi_using_subcommand users; and __fish_seen_subcommand_from activity" -l config -d 'Read the configuration from FILE instead of $MAGI_CONFIG or /etc/magi/magi.toml (~/.config/magi/magi.toml when not root); without any, the built-in description of the MAGI stack is used' -r -F
complete -c magi -n "__fish_magi_using_subcommand users; and __fish_seen_subcommand_from activity" -l db -d 'The user database (default: users.db in the state directory)' -r -F
complete -c magi -n "__fish_magi_using_subcommand users; and __fish_seen_subcommand_from activity" -l json -d 'One JSON object a line'
complete -c magi -n "__fish_magi_using_subcommand users; and __fish_seen_subcommand_from activity" -s v -l verbose -d 'Say more: -v for debug, -vv for trace (overrides $MAGI_LOG)'
complete -c magi -n "__fish_magi_using_subcommand users; and __fish_seen_subcommand_from activity" -s q -l quiet -d 'Say only errors (overrides $MAGI_LOG)'
complete -c magi -n "__fish_magi_using_subcommand users; and __fish_seen_subcommand_from activity" -s h -l help -d 'Print help'
complete -c magi -n "__fish_magi_using_subcommand users; and __fish_seen_subcommand_from serve" -l listen -d 'Listen here instead of [users] listen (default 127.0.0.1:9091)' -r
complete -c magi -n "__fish_magi_using_subcommand users; and __fish_seen_subcommand_from serve" -l config -d 'Read the configuration from FILE instead of $MAGI_CONFIG or /etc/magi/magi.toml (~/.config/magi/magi.toml when not root); without any, the built-in description of the MAGI stack is used' -r -F
complete -c magi -n "__fish_magi_using_subcommand users; and __fish_seen_subcommand_from serve" -l db -d 'The user database (default: users.db in the state directory)' -r -F
complete -c magi -n "__fish_magi_using_subcommand users; and __fish_seen_subcommand_from serve" -s v -l verbose -d 'Say more: -v for debug, -vv for trace (overrides $MAGI_LOG)'
complete -c magi -n "__fish_magi_using_subcommand users; and __fish_seen_subcommand_from serve" -s q -l quiet -d 'Say only errors (overrides $MAGI_LOG)'
complete -c magi -n "__fish_magi_using_subcommand users; and __fish_seen_subcommand_from serve" -s h -l help -d 'Print help'
complete -c magi -n "__fish_magi_using_subcommand limits; and not __fish_seen_subcommand_from serve set show quota budget priority breakers errors" -l config -d 'Read the configuration from FILE instead of $MAGI_CONFIG or /etc/magi/magi.toml (~/.config/magi/magi.toml when not root); without any, the built-in description of the MAGI stack is used' -r -F
complete -c magi -n "__fish_magi_using_subcommand limits; and not __fish_seen_subcommand_from serve set show quota budget priority breakers errors" -l db -d 'The usage and policy database [default: usage.db in the state directory]' -r -F
complete -c magi -n "__fish_magi_using_subcommand limits; and not __fish_seen_subcommand_from serve set show quota budget priority breakers errors" -s v -l verbose -d 'Say more: -v for debug, -vv for trace (overrides $MAGI_LOG)'
complete -c magi -n "__fish_magi_using_subcommand limits; and not __fish_seen_subcommand_from serve set show quota budget priority breakers errors" -s q -l quiet -d 'Say only errors (overrides $MAGI_LOG)'
complete -c magi -n "__fish_magi_using_subcommand limits; and not __fish_seen_subcommand_from serve set show quota budget priority breakers errors" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c magi -n "__fish_magi_using_subcommand limits; and not __fish_seen_subcommand_from serve set show quota budget priority breakers errors" -s V -l version -d 'Print version'
complete -c magi -n "__fish_magi_using_subcommand limits; and not __fish_seen_subcommand_from serve set show quota budget priority breakers errors" -f -a "serve" -d 'Run the gateway'
complete -c magi -n "__fish_magi_using_subcommand limits; and not __fish_seen_subcommand_from serve set show quota budget priority breakers errors" -f -a "set" -d 'Set requests and tokens per minute for a model (or a user with --user)'
complete -c magi -n "__fish_magi_using_subcommand limits; and not __fish_seen_subcommand_from serve set show quota budget priority breakers errors" -f -a "show" -d 'Show the limits, quotas and budgets beside current use'
complete -c magi -n "__fish_magi_using_subcommand limits; and not __fish_seen_subcommand_from serve set show quota budget priority breakers errors" -f -a "quota" -d 'Daily token quotas per user'
complete -c magi -n "__fish_magi_using_subcommand limits; and not __fish_seen_subcommand_from serve set show quota budget priority breakers errors" -f -a "budget" -d 'Daily and monthly cost budgets, overall or per user'
complete -c magi -n "__fish_magi_using_subcommand limits; and not __fish_seen_subcommand_from serve set show quota budget priority breakers errors" -f -a "priority" -d 'Queue priority of a user or API key prefix'
complete -c magi -n "__fish_magi_using_subcommand limits; and not __fish_seen_subcommand_from serve set show quota budget priority breakers errors" -f -a "breakers" -d 'The circuit breakers as the gateway last recorded them'
complete -c magi -n "__fish_magi_using_subcommand limits; and not __fish_seen_subcommand_from serve set show quota budget priority breakers errors" -f -a "errors" -d 'Upstream failures'
complete -c magi -n "__fish_magi_using_subcommand limits; and __fish_seen_subcommand_from serve" -l listen -d 'Where to listen' -r
complete -c magi -n "__fish_magi_using_subcommand limits; and __fish_seen_subcommand_from serve" -l upstream -d 'LiteLLM\'s base URL' -r
complete -c magi -n "__fish_magi_using_subcommand limits; and __fish_seen_subcommand_from serve" -l users-db -d 'magi-users\' database, for the holders of `Authorization: Bearer magi_...` API keys [default: users.db in the state directory]' -r -F
complete -c magi -n "__fish_magi_using_subcommand limits; and __fish_seen_subcommand_from serve" -l litellm-config -d 'LiteLLM\'s config.yaml, for prices when LiteLLM sends no x-litellm-response-cost [default: $MAGI_HOME/config/litellm/config.yaml]' -r -F
complete -c magi -n "__fish_magi_using_subcommand limits; and __fish_seen_subcommand_from serve" -l queue-max -d 'Requests waiting across all models at most; more get 429' -r
complete -c magi -n "__fish_magi_using_subcommand limits; and __fish_seen_subcommand_from serve" -l queue-wait -d 'The longest a request waits for its model before 429 (0 = no queue)' -r
complete -c magi -n "__fish_magi_using_subcommand limits; and __fish_seen_subcommand_from serve" -l breaker-failures -d 'Failures within --breaker-window that open a model\'s breaker' -r
complete -c magi -n "__fish_magi_using_subcommand limits; and __fish_seen_subcommand_from serve" -l breaker-window -d 'The span in which --breaker-failures failures open a breaker' -r
complete -c magi -n "__fish_magi_using_subcommand limits; and __fish_seen_subcommand_from serve" -l breaker-cooldown -d 'How long an open breaker refuses before it lets one probe through' -r
complete -c magi -n "__fish_magi_using_subcommand limits; and __fish_seen_subcommand_from serve" -l retries -d 'Retries of a failure that happened before anything reached the client' -r
complete -c magi -n "__fish_magi_using_subcommand limits; and __fish_seen_subcommand_from serve" -l backoff -d 'The first retry\'s delay; doubles each time, with jitter' -r
complete -c magi -n "__fish_magi_using_subcommand limits; and __fish_seen_subcommand_from serve" -l connect-timeout -d 'The longest wait for a connection to LiteLLM' -r
complete -c magi -n "__fish_magi_using_subcommand limits; and __fish_seen_subcommand_from serve" -l first-byte-timeout -d 'The longest wait for LiteLLM\'s answer to begin' -r
complete -c magi -n "__fish_magi_using_subcommand limits; and __fish_seen_subcommand_from serve" -l idle-timeout -d 'The longest silence in the middle of an answer' -r
complete -c magi -n "__fish_magi_using_subcommand limits; and __fish_seen_subcommand_from serve" -l flush-interval -d 'How often queued usage records are written (and their figures added to the metrics store)' -r
complete -c magi -n "__fish_magi_using_subcommand limits; and __fish_seen_subcommand_from serve" -l metrics-dir -d 'The metrics store directory [default: metrics/ in the state directory]' -r -F
complete -c magi -n "__fish_magi_using_subcommand limits; and __fish_seen_subcommand_from serve" -l max-body -d 'The largest request body, in bytes' -r
complete -c magi -n "__fish_magi_using_subcommand limits; and __fish_seen_subcommand_from serve" -l header-timeout -d 'The longest a client may take to send a request\'s head, and to start the next one on a kept-alive connection; then the connection is closed' -r
complete -c magi -n "__fish_magi_using_subcommand limits; and __fish_seen_subcommand_from serve" -l body-timeout -d 'The longest a client may take to send a request\'s body (408 after it)' -r
complete -c magi -n "__fish_magi_using_subcommand limits; and __fish_seen_subcommand_from serve" -l max-connections -d 'Connections served at once; more wait in the listen queue until one ends [default: the open-file limit less 64, at most 16384]' -r
complete -c magi -n "__fish_magi_using_subcommand limits; and __fish_seen_subcommand_from serve" -l threads -d 'Threads serving requests (the work is waiting on sockets; 2 keep up with a busy LiteLLM)' -r
complete -c magi -n "__fish_magi_using_subcommand limits; and __fish_seen_subcommand_from serve" -l grace -d 'How long a stop waits for answers in flight' -r
complete -c magi -n "__fish_magi_using_subcommand limits; and __fish_seen_subcommand_from serve" -l config -d 'Read the configuration from FILE instead of $MAGI_CONFIG or /etc/magi/magi.toml (~/.config/magi/magi.toml when not root); without any, the built-in description of the MAGI stack is used' -r -F
complete -c magi -n "__fish_magi_using_subcommand limits; and __fish_seen_subcommand_from serve" -l db -d 'The usage and policy database [default: usage.db in the state directory]' -r -F
complete -c magi -n "__fish_magi_using_subcommand limits; and __fish_seen_subcommand_from serve" -l no-metrics -d 'Do not add request, error, token, cost and latency figures to the metrics store (metrics/limits.db in the state directory)'
complete -c magi -n "__fish_magi_using_subcommand limits; and __fish_seen_subcommand_from serve" -s v -l verbose -d 'Say more: -v for debug, -vv for trace (overrides $MAGI_LOG)'
complete -c magi -n "__fish_magi_using_subcommand limits; and __fish_seen_subcommand_from serve" -s q -l quiet -d 'Say only errors (overrides $MAGI_LOG)'
complete -c magi -n "__fish_magi_using_subcommand limits; and __fish_seen_subcommand_from serve" -s h -l help -d 'Print help'
complete -c magi -n "__fish_magi_using_subcommand limits; and __fish_seen_subcommand_from set" -l user -d 'Set a user\'s limits instead of a model\'s' -r
complete -c magi -n "__fish_magi_using_subcommand limits; and __fish_seen_subcommand_from set" -l rpm -d 'Requests per minute' -r
complete -c magi -n "__fish_magi_using_subcommand limits; and __fish_seen_subcommand_from set" -l tpm -d 'Tokens per minute (prompt + completion)' -r
complete -c magi -n "__fish_magi_using_subcommand limits; and __fish_seen_subcommand_from set" -l config -d 'Read the configuration from FILE instead of $MAGI_CONFIG or /etc/magi/magi.toml (~/.config/magi/magi.toml when not root); without any, the built-in description of the MAGI stack is used' -r -F
complete -c magi -n "__fish_magi_using_subcommand limits; and __fish_seen_subcommand_from set" -l db -d 'The usage and policy database [default: usage.db in the state directory]' -r -F
complete -c magi -n "__fish_magi_using_subcommand limits; and __fish_seen_subcommand_from set" -l clear -d 'Remove the limits'
complete -c magi -n "__fish_magi_using_subcommand limits; and __fish_seen_subcommand_from set" -s v -l verbose -d 'Say more: -v for debug, -vv for trace (overrides $MAGI_LOG)'
complete -c magi -n "__fish_magi_using_subcommand limits; and __fish_seen_subcommand_from set" -s q -l quiet -d 'Say only errors (overrides $MAGI_LOG)'
complete -c magi -n "__fish_magi_using_subcommand limits; and __fish_seen_subcommand_from set" -s h -l help -d 'Print help'
complete -c magi -n "__fish_magi_using_subcommand limits; and __fish_seen_subcommand_from show" -l config -d 'Read the configuration from FILE instead of $MAGI_CONFIG or /etc/magi/magi.toml (~/.config/magi/magi.toml when not root); without any, the built-in description of the MAGI stack is used' -r -F
complete -c magi -n "__fish_magi_using_subcommand limits; and __fish_seen_subcommand_from show" -l db -d 'The usage and policy database [default: usage.db in the state directory]' -r -F
complete -c magi -n "__fish_magi_using_subcommand limits; and __fish_seen_subcommand_from show" -l json -d 'One JSON record a line instead of a table'
complete -c magi -n "__fish_magi_using_subcommand limits; and __fish_seen_subcommand_from show" -s v -l verbose -d 'Say more: -v for debug, -vv for trace (overrides $MAGI_LOG)'
complete -c magi -n "__fish_magi_using_subcommand limits; and __fish_seen_subcommand_from show" -s q -l quiet -d 'Say only errors (overrides $MAGI_LOG)'
complete -c magi -n "__fish_magi_using_subcommand limits; and __fish_seen_subcommand_from show" -s h -l help -d 'Print help'
complete -c magi -n "__fish_magi_using_subcommand limits; and __fish_seen_subcommand_from quota" -l config -d 'Read the configuration from FILE instead of $MAGI_CONFIG or /etc/magi/magi.toml (~/.config/magi/magi.toml when not root); without any, the built-in description of the MAGI stack is used' -r -F
complete -c magi -n "__fish_magi_using_subcommand limits; and __fish_seen_subcommand_from quota" -l db -d 'The usage and policy database [default: usage.db in the state directory]' -r -F
complete -c magi -n "__fish_magi_using_subcommand limits; and __fish_seen_subcommand_from quota" -s v -l verbose -d 'Say more: -v for debug, -vv for trace (overrides $MAGI_LOG)'
complete -c magi -n "__fish_magi_using_subcommand limits; and __fish_seen_subcommand_from quota" -s q -l quiet -d 'Say only errors (overrides $MAGI_LOG)'
complete -c magi -n "__fish_magi_using_subcommand limits; and __fish_seen_subcommand_from quota" -s h -l help -d 'Print help'
complete -c magi -n "__fish_magi_using_subcommand limits; and __fish_seen_subcommand_from quota" -f -a "set" -d 'Set a user\'s tokens per UTC day'
complete -c magi -n "__fish_magi_using_subcommand limits; and __fish_seen_subcommand_from quota" -f -a "clear" -d 'Remove a user\'s quota'
complete -c magi -n "__fish_magi_using_subcommand limits; and __fish_seen_subcommand_from budget" -l config -d 'Read the configuration from FILE instead of $MAGI_CONFIG or /etc/magi/magi.toml (~/.config/magi/magi.toml when not root); without any, the built-in description of the MAGI stack is used' -r -F
complete -c magi -n "__fish_magi_using_subcommand limits; and __fish_seen_subcommand_from budget" -l db -d 'The usage and policy database [default: usage.db in the state directory]' -r -F
complete -c magi -n "__fish_magi_using_subcommand limits; and __fish_seen_subcommand_from budget" -s v -l verbose -d 'Say more: -v for debug, -vv for trace (overrides $MAGI_LOG)'
complete -c magi -n "__fish_magi_using_subcommand limits; and __fish_seen_subcommand_from budget" -s q -l quiet -d 'Say only errors (overrides $MAGI_LOG)'
complete -c magi -n "__fish_magi_using_subcommand limits; and __fish_seen_subcommand_from budget" -s h -l help -d 'Print help'
complete -c magi -n "__fish_magi_using_subcommand limits; and __fish_seen_subcommand_from budget" -f -a "set" -d 'Set the daily and/or monthly budget in USD'
complete -c magi -n "__fish_magi_using_subcommand limits; and __fish_seen_subcommand_from budget" -f -a "clear" -d 'Remove the overall budgets, or one user\'s'
complete -c magi -n "__fish_magi_using_subcommand limits; and __fish_seen_subcommand_from priority" -l config -d 'Read the configuration from FILE instead of $MAGI_CONFIG or /etc/magi/magi.toml (~/.config/magi/magi.toml when not root); without any, the built-in description of the MAGI stack is used' -r -F
complete -c magi -n "__fish_magi_using_subcommand limits; and __fish_seen_subcommand_from priority" -l db -d 'The usage and policy database [default: usage.db in the state directory]' -r -F
complete -c magi -n "__fish_magi_using_subcommand limits; and __fish_seen_subcommand_from priority" -s v -l verbose -d 'Say more: -v for debug, -vv for trace (overrides $MAGI_LOG)'
complete -c magi -n "__fish_magi_using_subcommand limits; and __fish_seen_subcommand_from priority" -s q -l quiet -d 'Say only errors (overrides $MAGI_LOG)'
complete -c magi -n "__fish_magi_using_subcommand limits; and __fish_seen_subcommand_from priority" -s h -l help -d 'Print help'
complete -c magi -n "__fish_magi_using_subcommand limits; and __fish_seen_subcommand_from priority" -f -a "set" -d 'Queue a user\'s or key prefix\'s requests as interactive or workflow'
complete -c magi -n "__fish_magi_using_subcommand limits; and __fish_seen_subcommand_from breakers" -l config -d 'Read the configuration from FILE instead of $MAGI_CONFIG or /etc/magi/magi.toml (~/.config/magi/magi.toml when not root); without any, the built-in description of the MAGI stack is used' -r -F
complete -c magi -n "__fish_magi_using_subcommand limits; and __fish_seen_subcommand_from breakers" -l db -d 'The usage and policy database [default: usage.db in the state directory]' -r -F
complete -c magi -n "__fish_magi_using_subcommand limits; and __fish_seen_subcommand_from breakers" -l json -d 'One JSON record a line instead of a table'
complete -c magi -n "__fish_magi_using_subcommand limits; and __fish_seen_subcommand_from breakers" -s v -l verbose -d 'Say more: -v for debug, -vv for trace (overrides $MAGI_LOG)'
complete -c magi -n "__fish_magi_using_subcommand limits; and __fish_seen_subcommand_from breakers" -s q -l quiet -d 'Say only errors (overrides $MAGI_LOG)'
complete -c magi -n "__fish_magi_using_subcommand limits; and __fish_seen_subcommand_from breakers" -s h -l help -d 'Print help'
complete -c magi -n "__fish_magi_using_subcommand limits; and __fish_seen_subcommand_from errors" -l config -d 'Read the configuration from FILE instead of $MAGI_CONFIG or /etc/magi/magi.toml (~/.config/magi/magi.toml when not root); without any, the built-in description of the MAGI stack is used' -r -F
complete -c magi -n "__fish_magi_using_subcommand limits; and __fish_seen_subcommand_from errors" -l db -d 'The usage and policy database [default: usage.db in the state directory]' -r -F
complete -c magi -n "__fish_magi_using_subcommand limits; and __fish_seen_subcommand_from errors" -s v -l verbose -d 'Say more: -v for debug, -vv for trace (overrides $MAGI_LOG)'
complete -c magi -n "__fish_magi_using_subcommand limits; and __fish_seen_subcommand_from errors" -s q -l quiet -d 'Say only errors (overrides $MAGI_LOG)'
complete -c magi -n "__fish_magi_using_subcommand limits; and __fish_seen_subcommand_from errors" -s h -l help -d 'Print help'
complete -c magi -n "__fish_magi_using_subcommand limits; and __fish_seen_subcommand_from errors" -f -a "recent" -d 'The last upstream failures, grouped by model, status and error'
complete -c magi -n "__fish_magi_using_subcommand costs; and not __fish_seen_subcommand_from check" -l config -d 'Read the configuration from FILE instead of $MAGI_CONFIG or /etc/magi/magi.toml (~/.config/magi/magi.toml when not root); without any, the built-in description of the MAGI stack is used' -r -F
complete -c magi -n "__fish_magi_using_subcommand costs; and not __fish_seen_subcommand_from check" -l db -d 'The magi-limits usage database [default: usage.db in the state directory]' -r -F
complete -c magi -n "__fish_magi_using_subcommand costs; and not __fish_seen_subcommand_from check" -l by -d 'Split each period by model (the default), by user, or not at all (`none`: one row a period)' -r -f -a "model\t''
user\t''
none\t'One row a period, all models and users together'"
complete -c magi -n "__fish_magi_using_subcommand costs; and not __fish_seen_subcommand_from check" -l since -d 'From this UTC date (YYYY-MM-DD), or this long ago (30d, 12w); default: all history' -r
complete -c magi -n "__fish_magi_using_subcommand costs; and not __fish_seen_subcommand_from check" -s v -l verbose -d 'Say more: -v for debug, -vv for trace (overrides $MAGI_LOG)'
complete -c magi -n "__fish_magi_using_subcommand costs; and not __fish_seen_subcommand_from check" -s q -l quiet -d 'Say only errors (overrides $MAGI_LOG)'
complete -c magi -n "__fish_magi_using_subcommand costs; and not __fish_seen_subcommand_from check" -l daily -d 'One row per UTC day (the default)'
complete -c magi -n "__fish_magi_using_subcommand costs; and not __fish_seen_subcommand_from check" -l weekly -d 'One row per ISO week, Monday to Sunday'
complete -c magi -n "__fish_magi_using_subcommand costs; and not __fish_seen_subcommand_from check" -l monthly -d 'One row per calendar month'
complete -c magi -n "__fish_magi_using_subcommand costs; and not __fish_seen_subcommand_from check" -l json -d 'One JSON object a line'
complete -c magi -n "__fish_magi_using_subcommand costs; and not __fish_seen_subcommand_from check" -l csv -d 'Comma-separated values with a header line'
complete -c magi -n "__fish_magi_using_subcommand costs; and not __fish_seen_subcommand_from check" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c magi -n "__fish_magi_using_subcommand costs; and not __fish_seen_subcommand_from check" -s V -l version -d 'Print version'
complete -c magi -n "__fish_magi_using_subcommand costs; and not __fish_seen_subcommand_from check" -f -a "check" -d 'Emit budget.threshold events for budgets at 80 % or 100 % of this day\'s or month\'s spend, once each'
complete -c magi -n "__fish_magi_using_subcommand costs; and __fish_seen_subcommand_from check" -l state -d 'Where to remember the events sent [default: costs.db beside the usage database]' -r -F
complete -c magi -n "__fish_magi_using_subcommand costs; and __fish_seen_subcommand_from check" -l config -d 'Read the configuration from FILE instead of $MAGI_CONFIG or /etc/magi/magi.toml (~/.config/magi/magi.toml when not root); without any, the built-in description of the MAGI stack is used' -r -F
complete -c magi -n "__fish_magi_using_subcommand costs; and __fish_seen_subcommand_from check" -l db -d 'The magi-limits usage database [default: usage.db in the state directory]' -r -F
complete -c magi -n "__fish_magi_using_subcommand costs; and __fish_seen_subcommand_from check" -l json -d 'Print the events as NDJSON on stdout (they are logged either way)'
complete -c magi -n "__fish_magi_using_subcommand costs; and __fish_seen_subcommand_from check" -s v -l verbose -d 'Say more: -v for debug, -vv for trace (overrides $MAGI_LOG)'
complete -c magi -n "__fish_magi_using_subcommand costs; and __fish_seen_subcommand_from check" -s q -l quiet -d 'Say only errors (overrides $MAGI_LOG)'
complete -c magi -n "__fish_magi_using_subcommand costs; and __fish_seen_subcommand_from check" -s h -l help -d 'Print help'
complete -c magi -n "__fish_magi_using_subcommand metrics; and not __fish_seen_subcommand_from push list query export alerts scrape" -l config -d 'Read the configuration from FILE instead of $MAGI_CONFIG or /etc/magi/magi.toml (~/.config/magi/magi.toml when not root); without any, the built-in description of the MAGI stack is used' -r -F
complete -c magi -n "__fish_magi_using_subcommand metrics; and not __fish_seen_subcommand_from push list query export alerts scrape" -l dir -d 'The store directory [default: metrics/ in the state directory]' -r -F
complete -c magi -n "__fish_magi_using_subcommand metrics; and not __fish_seen_subcommand_from push list query export alerts scrape" -s v -l verbose -d 'Say more: -v for debug, -vv for trace (overrides $MAGI_LOG)'
complete -c magi -n "__fish_magi_using_subcommand metrics; and not __fish_seen_subcommand_from push list query export alerts scrape" -s q -l quiet -d 'Say only errors (overrides $MAGI_LOG)'
complete -c magi -n "__fish_magi_using_subcommand metrics; and not __fish_seen_subcommand_from push list query export alerts scrape" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c magi -n "__fish_magi_using_subcommand metrics; and not __fish_seen_subcommand_from push list query export alerts scrape" -s V -l version -d 'Print version'
complete -c magi -n "__fish_magi_using_subcommand metrics; and not __fish_seen_subcommand_from push list query export alerts scrape" -f -a "push" -d 'Store NDJSON metric lines from FILE or stdin'
complete -c magi -n "__fish_magi_using_subcommand metrics; and not __fish_seen_subcommand_from push list query export alerts scrape" -f -a "list" -d 'List every series in the store'
complete -c magi -n "__fish_magi_using_subcommand metrics; and not __fish_seen_subcommand_from push list query export alerts scrape" -f -a "query" -d 'Show one metric\'s series over a range'
complete -c magi -n "__fish_magi_using_subcommand metrics; and not __fish_seen_subcommand_from push list query export alerts scrape" -f -a "export" -d 'Write a range of series as JSON, CSV or OpenMetrics'
complete -c magi -n "__fish_magi_using_subcommand metrics; and not __fish_seen_subcommand_from push list query export alerts scrape" -f -a "alerts" -d 'Threshold rules on the stored series: configure them, and watch them into alerts'
complete -c magi -n "__fish_magi_using_subcommand metrics; and not __fish_seen_subcommand_from push list query export alerts scrape" -f -a "scrape" -d 'Read the Prometheus text endpoints of the config\'s [metrics.scrape.NAME] into the store'
complete -c magi -n "__fish_magi_using_subcommand metrics; and __fish_seen_subcommand_from push" -l shard -d 'The shard to write (a store has one writer per shard)' -r
complete -c magi -n "__fish_magi_using_subcommand metrics; and __fish_seen_subcommand_from push" -l config -d 'Read the configuration from FILE instead of $MAGI_CONFIG or /etc/magi/magi.toml (~/.config/magi/magi.toml when not root); without any, the built-in description of the MAGI stack is used' -r -F
complete -c magi -n "__fish_magi_using_subcommand metrics; and __fish_seen_subcommand_from push" -l dir -d 'The store directory [default: metrics/ in the state directory]' -r -F
complete -c magi -n "__fish_magi_using_subcommand metrics; and __fish_seen_subcommand_from push" -s v -l verbose -d 'Say more: -v for debug, -vv for trace (overrides $MAGI_LOG)'
complete -c magi -n "__fish_magi_using_subcommand metrics; and __fish_seen_subcommand_from push" -s q -l quiet -d 'Say only errors (overrides $MAGI_LOG)'
complete -c magi -n "__fish_magi_using_subcommand metrics; and __fish_seen_subcommand_from push" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c magi -n "__fish_magi_using_subcommand metrics; and __fish_seen_subcommand_from list" -l config -d 'Read the configuration from FILE instead of $MAGI_CONFIG or /etc/magi/magi.toml (~/.config/magi/magi.toml when not root); without any, the built-in description of the MAGI stack is used' -r -F
complete -c magi -n "__fish_magi_using_subcommand metrics; and __fish_seen_subcommand_from list" -l dir -d 'The store directory [default: metrics/ in the state directory]' -r -F
complete -c magi -n "__fish_magi_using_subcommand metrics; and __fish_seen_subcommand_from list" -l json -d 'One JSON object a line'
complete -c magi -n "__fish_magi_using_subcommand metrics; and __fish_seen_subcommand_from list" -s v -l verbose -d 'Say more: -v for debug, -vv for trace (overrides $MAGI_LOG)'
complete -c magi -n "__fish_magi_using_subcommand metrics; and __fish_seen_subcommand_from list" -s q -l quiet -d 'Say only errors (overrides $MAGI_LOG)'
complete -c magi -n "__fish_magi_using_subcommand metrics; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help'
complete -c magi -n "__fish_magi_using_subcommand metrics; and __fish_seen_subcommand_from query" -l range -d 'How far back from now' -r
complete -c magi -n "__fish_magi_using_subcommand metrics; and __fish_seen_subcommand_from query" -l points -d 'At most this many points per series' -r
complete -c magi -n "__fish_magi_using_subcommand metrics; and __fish_seen_subcommand_from query" -l quantile -d 'For a histogram (SERIES names its base, without _bucket): this quantile, 0 to 1, from summed buckets' -r
complete -c magi -n "__fish_magi_using_subcommand metrics; and __fish_seen_subcommand_from query" -l config -d 'Read the configuration from FILE instead of $MAGI_CONFIG or /etc/magi/magi.toml (~/.config/magi/magi.toml when not root); without any, the built-in description of the MAGI stack is used' -r -F
complete -c magi -n "__fish_magi_using_subcommand metrics; and __fish_seen_subcommand_from query" -l dir -d 'The store directory [default: metrics/ in the state directory]' -r -F
complete -c magi -n "__fish_magi_using_subcommand metrics; and __fish_seen_subcommand_from query" -l json -d 'One JSON object a line'
complete -c magi -n "__fish_magi_using_subcommand metrics; and __fish_seen_subcommand_from query" -s v -l verbose -d 'Say more: -v for debug, -vv for trace (overrides $MAGI_LOG)'
complete -c magi -n "__fish_magi_using_subcommand metrics; and __fish_seen_subcommand_from query" -s q -l quiet -d 'Say only errors (overrides $MAGI_LOG)'
complete -c magi -n "__fish_magi_using_subcommand metrics; and __fish_seen_subcommand_from query" -s h -l help -d 'Print help'
complete -c magi -n "__fish_magi_using_subcommand metrics; and __fish_seen_subcommand_from export" -l range -d 'How far back from now' -r
complete -c magi -n "__fish_magi_using_subcommand metrics; and __fish_seen_subcommand_from export" -l service -d 'Only the series of this service (their `service` label)' -r
complete -c magi -n "__fish_magi_using_subcommand metrics; and __fish_seen_subcommand_from export" -l metric -d 'Only series of this metric name' -r
complete -c magi -n "__fish_magi_using_subcommand metrics; and __fish_seen_subcommand_from export" -l format -d 'The output format' -r -f -a "json\t'One JSON object a bucket'
csv\t'Comma-separated values with a header line'
openmetrics\t'OpenMetrics text, for `promtool tsdb create-blocks-from openmetrics`'"
complete -c magi -n "__fish_magi_using_subcommand metrics; and __fish_seen_subcommand_from export" -l config -d 'Read the configuration from FILE instead of $MAGI_CONFIG or /etc/magi/magi.toml (~/.config/magi/magi.toml when not root); without any, the built-in description of the MAGI stack is used' -r -F
complete -c magi -n "__fish_magi_using_subcommand metrics; and __fish_seen_subcommand_from export" -l dir -d 'The store directory [default: metrics/ in the state directory]' -r -F
complete -c magi -n "__fish_magi_using_subcommand metrics; and __fish_seen_subcommand_from export" -s v -l verbose -d 'Say more: -v for debug, -vv for trace (overrides $MAGI_LOG)'
complete -c magi -n "__fish_magi_using_subcommand metrics; and __fish_seen_subcommand_from export" -s q -l quiet -d 'Say only errors (overrides $MAGI_LOG)'
complete -c magi -n "__fish_magi_using_subcommand metrics; and __fish_seen_subcommand_from export" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c magi -n "__fish_magi_using_subcommand metrics; and __fish_seen_subcommand_from alerts" -l rules -d 'The rules file [default: alert-rules.toml in the config directory]' -r -F
complete -c magi -n "__fish_magi_using_subcommand metrics; and __fish_seen_subcommand_from alerts" -l config -d 'Read the configuration from FILE instead of $MAGI_CONFIG or /etc/magi/magi.toml (~/.config/magi/magi.toml when not root); without any, the built-in description of the MAGI stack is used' -r -F
complete -c magi -n "__fish_magi_using_subcommand metrics; and __fish_seen_subcommand_from alerts" -l dir -d 'The store directory [default: metrics/ in the state directory]' -r -F
complete -c magi -n "__fish_magi_using_subcommand metrics; and __fish_seen_subcommand_from alerts" -s v -l verbose -d 'Say more: -v for debug, -vv for trace (overrides $MAGI_LOG)'
complete -c magi -n "__fish_magi_using_subcommand metrics; and __fish_seen_subcommand_from alerts" -s q -l quiet -d 'Say only errors (overrides $MAGI_LOG)'
complete -c magi -n "__fish_magi_using_subcommand metrics; and __fish_seen_subcommand_from alerts" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c magi -n "__fish_magi_using_subcommand metrics; and __fish_seen_subcommand_from alerts" -f -a "configure" -d 'Add, list and remove threshold rules'
complete -c magi -n "__fish_magi_using_subcommand metrics; and __fish_seen_subcommand_from alerts" -f -a "watch" -d 'Check every rule each interval; print a metric.threshold event when a breach begins or ends'
complete -c magi -n "__fish_magi_using_subcommand metrics; and __fish_seen_subcommand_from scrape" -l config -d 'Read the configuration from FILE instead of $MAGI_CONFIG or /etc/magi/magi.toml (~/.config/magi/magi.toml when not root); without any, the built-in description of the MAGI stack is used' -r -F
complete -c magi -n "__fish_magi_using_subcommand metrics; and __fish_seen_subcommand_from scrape" -l dir -d 'The store directory [default: metrics/ in the state directory]' -r -F
complete -c magi -n "__fish_magi_using_subcommand metrics; and __fish_seen_subcommand_from scrape" -l once -d 'Read each target once, then exit'
complete -c magi -n "__fish_magi_using_subcommand metrics; and __fish_seen_subcommand_from scrape" -s v -l verbose -d 'Say more: -v for debug, -vv for trace (overrides $MAGI_LOG)'
complete -c magi -n "__fish_magi_using_subcommand metrics; and __fish_seen_subcommand_from scrape" -s q -l quiet -d 'Say only errors (overrides $MAGI_LOG)'
complete -c magi -n "__fish_magi_using_subcommand metrics; and __fish_seen_subcommand_from scrape" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c magi -n "__fish_magi_using_subcommand dashboard; and not __fish_seen_subcommand_from start" -l config -d 'Read the configuration from FILE instead of $MAGI_CONFIG or /etc/magi/magi.toml (~/.config/magi/magi.toml when not root); without any, the built-in description of the MAGI stack is used' -r -F
complete -c magi -n "__fish_magi_using_subcommand dashboard; and not __fish_seen_subcommand_from start" -l metrics-dir -d 'The metrics store directory [default: metrics/ in the state directory]' -r -F
complete -c magi -n "__fish_magi_using_subcommand dashboard; and not __fish_seen_subcommand_from start" -l usage-db -d 'The gateway\'s usage database, for the budget lines [default: usage.db in the state directory]' -r -F
complete -c magi -n "__fish_magi_using_subcommand dashboard; and not __fish_seen_subcommand_from start" -s v -l verbose -d 'Say more: -v for debug, -vv for trace (overrides $MAGI_LOG)'
complete -c magi -n "__fish_magi_using_subcommand dashboard; and not __fish_seen_subcommand_from start" -s q -l quiet -d 'Say only errors (overrides $MAGI_LOG)'
complete -c magi -n "__fish_magi_using_subcommand dashboard; and not __fish_seen_subcommand_from start" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c magi -n "__fish_magi_using_subcommand dashboard; and not __fish_seen_subcommand_from start" -s V -l version -d 'Print version'
complete -c magi -n "__fish_magi_using_subcommand dashboard; and not __fish_seen_subcommand_from start" -f -a "start" -d 'Serve the dashboard in the foreground until SIGTERM or Ctrl-C'
complete -c magi -n "__fish_magi_using_subcommand dashboard; and __fish_seen_subcommand_from start" -l listen -d 'The address to serve on (loopback unless you say otherwise)' -r
complete -c magi -n "__fish_magi_using_subcommand dashboard; and __fish_seen_subcommand_from start" -l max-live -d 'Open live streams (tabs) served at once; more are asked to retry' -r
complete -c magi -n "__fish_magi_using_subcommand dashboard; and __fish_seen_subcommand_from start" -l config -d 'Read the configuration from FILE instead of $MAGI_CONFIG or /etc/magi/magi.toml (~/.config/magi/magi.toml when not root); without any, the built-in description of the MAGI stack is used' -r -F
complete -c magi -n "__fish_magi_using_subcommand dashboard; and __fish_seen_subcommand_from start" -l metrics-dir -d 'The metrics store directory [default: metrics/ in the state directory]' -r -F
complete -c magi -n "__fish_magi_using_subcommand dashboard; and __fish_seen_subcommand_from start" -l usage-db -d 'The gateway\'s usage database, for the budget lines [default: usage.db in the state directory]' -r -F
complete -c magi -n "__fish_magi_using_subcommand dashboard; and __fish_seen_subcommand_from start" -s v -l verbose -d 'Say more: -v for debug, -vv for trace (overrides $MAGI_LOG)'
complete -c magi -n "__fish_magi_using_subcommand dashboard; and __fish_seen_subcommand_from start" -s q -l quiet -d 'Say only errors (overrides $MAGI_LOG)'
complete -c magi -n "__fish_magi_using_subcommand dashboard; and __fish_seen_subcommand_from start" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c magi -n "__fish_magi_using_subcommand sla; and not __fish_seen_subcommand_from report burn trends anomalies capacity maintenance" -l config -d 'Read the configuration from FILE instead of $MAGI_CONFIG or /etc/magi/magi.toml (~/.config/magi/magi.toml when not root); without any, the built-in description of the MAGI stack is used' -r -F
complete -c magi -n "__fish_magi_using_subcommand sla; and not __fish_seen_subcommand_from report burn trends anomalies capacity maintenance" -l metrics-dir -d 'The metrics store directory [default: metrics/ in the state directory]' -r -F
complete -c magi -n "__fish_magi_using_subcommand sla; and not __fish_seen_subcommand_from report burn trends anomalies capacity maintenance" -l usage-db -d 'The gateway\'s usage database [default: usage.db in the state directory]' -r -F
complete -c magi -n "__fish_magi_using_subcommand sla; and not __fish_seen_subcommand_from report burn trends anomalies capacity maintenance" -s v -l verbose -d 'Say more: -v for debug, -vv for trace (overrides $MAGI_LOG)'
complete -c magi -n "__fish_magi_using_subcommand sla; and not __fish_seen_subcommand_from report burn trends anomalies capacity maintenance" -s q -l quiet -d 'Say only errors (overrides $MAGI_LOG)'
complete -c magi -n "__fish_magi_using_subcommand sla; and not __fish_seen_subcommand_from report burn trends anomalies capacity maintenance" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c magi -n "__fish_magi_using_subcommand sla; and not __fish_seen_subcommand_from report burn trends anomalies capacity maintenance" -s V -l version -d 'Print version'
complete -c magi -n "__fish_magi_using_subcommand sla; and not __fish_seen_subcommand_from report burn trends anomalies capacity maintenance" -f -a "report" -d 'Availability, error budget, incidents and request availability over a window'
complete -c magi -n "__fish_magi_using_subcommand sla; and not __fish_seen_subcommand_from report burn trends anomalies capacity maintenance" -f -a "burn" -d 'Error-budget burn rates now, on the multiwindow thresholds: `sla.burn` events for magi-alert'
complete -c magi -n "__fish_magi_using_subcommand sla; and not __fish_seen_subcommand_from report burn trends anomalies capacity maintenance" -f -a "trends" -d 'Each model\'s and service\'s trailing week against the week before: error rate, p95 latency, p95 TTFT'
complete -c magi -n "__fish_magi_using_subcommand sla; and not __fish_seen_subcommand_from report burn trends anomalies capacity maintenance" -f -a "anomalies" -d 'Unusual hours of requests, tokens and cost against the same hour of the four weeks before'
complete -c magi -n "__fish_magi_using_subcommand sla; and not __fish_seen_subcommand_from report burn trends anomalies capacity maintenance" -f -a "capacity" -d 'When each disk, data directory and container\'s memory reaches its limit at the trend; the month\'s tokens and cost against the budget (`magi capacity`)'
complete -c magi -n "__fish_magi_using_subcommand sla; and not __fish_seen_subcommand_from report burn trends anomalies capacity maintenance" -f -a "maintenance" -d 'Mark planned maintenance: its time is listed and left out of availability'
complete -c magi -n "__fish_magi_using_subcommand sla; and __fish_seen_subcommand_from report" -l since -d 'The window: this long before now (e.g. 24h, 7d, 30d, 90d)' -r
complete -c magi -n "__fish_magi_using_subcommand sla; and __fish_seen_subcommand_from report" -l service -d 'Only this service (repeatable) [default: every service of the catalog with figures]' -r
complete -c magi -n "__fish_magi_using_subcommand sla; and __fish_seen_subcommand_from report" -l target -d 'The availability target, in percent [default: [sla] target in the config, else 99.9]' -r
complete -c magi -n "__fish_magi_using_subcommand sla; and __fish_seen_subcommand_from report" -l target-of -d 'Another target for one service, as SERVICE=PERCENT (repeatable) [default: [sla.targets]]' -r
complete -c magi -n "__fish_magi_using_subcommand sla; and __fish_seen_subcommand_from report" -l interval -d 'The interval magi-health watch samples at: an observation vouches for three of them at most' -r
complete -c magi -n "__fish_magi_using_subcommand sla; and __fish_seen_subcommand_from report" -l config -d 'Read the configuration from FILE instead of $MAGI_CONFIG or /etc/magi/magi.toml (~/.config/magi/magi.toml when not root); without any, the built-in description of the MAGI stack is used' -r -F
complete -c magi -n "__fish_magi_using_subcommand sla; and __fish_seen_subcommand_from report" -l metrics-dir -d 'The metrics store directory [default: metrics/ in the state directory]' -r -F
complete -c magi -n "__fish_magi_using_subcommand sla; and __fish_seen_subcommand_from report" -l usage-db -d 'The gateway\'s usage database [default: usage.db in the state directory]' -r -F
complete -c magi -n "__fish_magi_using_subcommand sla; and __fish_seen_subcommand_from report" -l json -d 'One JSON document'
complete -c magi -n "__fish_magi_using_subcommand sla; and __fish_seen_subcommand_from report" -l html -d 'A self-contained HTML page'
complete -c magi -n "__fish_magi_using_subcommand sla; and __fish_seen_subcommand_from report" -s v -l verbose -d 'Say more: -v for debug, -vv for trace (overrides $MAGI_LOG)'
complete -c magi -n "__fish_magi_using_subcommand sla; and __fish_seen_subcommand_from report" -s q -l quiet -d 'Say only errors (overrides $MAGI_LOG)'
complete -c magi -n "__fish_magi_using_subcommand sla; and __fish_seen_subcommand_from report" -s h -l help -d 'Print help'
complete -c magi -n "__fish_magi_using_subcommand sla; and __fish_seen_subcommand_from burn" -l service -d 'Only this service (repeatable) [default: every service of the catalog with figures]' -r
complete -c magi -n "__fish_magi_using_subcommand sla; and __fish_seen_subcommand_from burn" -l target -d 'The availability target, in percent [default: [sla] target in the config, else 99.9]' -r
complete -c magi -n "__fish_magi_using_subcommand sla; and __fish_seen_subcommand_from burn" -l target-of -d 'Another target for one service, as SERVICE=PERCENT (repeatable) [default: [sla.targets]]' -r
complete -c magi -n "__fish_magi_using_subcommand sla; and __fish_seen_subcommand_from burn" -l interval -d 'The interval magi-health watch samples at: an observation vouches for three of them at most' -r
complete -c magi -n "__fish_magi_using_subcommand sla; and __fish_seen_subcommand_from burn" -l config -d 'Read the configuration from FILE instead of $MAGI_CONFIG or /etc/magi/magi.toml (~/.config/magi/magi.toml when not root); without any, the built-in description of the MAGI stack is used' -r -F
complete -c magi -n "__fish_magi_using_subcommand sla; and __fish_seen_subcommand_from burn" -l metrics-dir -d 'The metrics store directory [default: metrics/ in the state directory]' -r -F
complete -c magi -n "__fish_magi_using_subcommand sla; and __fish_seen_subcommand_from burn" -l usage-db -d 'The gateway\'s usage database [default: usage.db in the state directory]' -r -F
complete -c magi -n "__fish_magi_using_subcommand sla; and __fish_seen_subcommand_from burn" -l json -d 'One sla.burn event a line, for magi-alert'
complete -c magi -n "__fish_magi_using_subcommand sla; and __fish_seen_subcommand_from burn" -s v -l verbose -d 'Say more: -v for debug, -vv for trace (overrides $MAGI_LOG)'
complete -c magi -n "__fish_magi_using_subcommand sla; and __fish_seen_subcommand_from burn" -s q -l quiet -d 'Say only errors (overrides $MAGI_LOG)'
complete -c magi -n "__fish_magi_using_subcommand sla; and __fish_seen_subcommand_from burn" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c magi -n "__fish_magi_using_subcommand sla; and __fish_seen_subcommand_from trends" -l config -d 'Read the configuration from FILE instead of $MAGI_CONFIG or /etc/magi/magi.toml (~/.config/magi/magi.toml when not root); without any, the built-in description of the MAGI stack is used' -r -F
complete -c magi -n "__fish_magi_using_subcommand sla; and __fish_seen_subcommand_from trends" -l metrics-dir -d 'The metrics store directory [default: metrics/ in the state directory]' -r -F
complete -c magi -n "__fish_magi_using_subcommand sla; and __fish_seen_subcommand_from trends" -l usage-db -d 'The gateway\'s usage database [default: usage.db in the state directory]' -r -F
complete -c magi -n "__fish_magi_using_subcommand sla; and __fish_seen_subcommand_from trends" -l json -d 'One sla.trend event a line, for magi-alert'
complete -c magi -n "__fish_magi_using_subcommand sla; and __fish_seen_subcommand_from trends" -s v -l verbose -d 'Say more: -v for debug, -vv for trace (overrides $MAGI_LOG)'
complete -c magi -n "__fish_magi_using_subcommand sla; and __fish_seen_subcommand_from trends" -s q -l quiet -d 'Say only errors (overrides $MAGI_LOG)'
complete -c magi -n "__fish_magi_using_subcommand sla; and __fish_seen_subcommand_from trends" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c magi -n "__fish_magi_using_subcommand sla; and __fish_seen_subcommand_from anomalies" -l hours -d 'How many complete hours back to look' -r
complete -c magi -n "__fish_magi_using_subcommand sla; and __fish_seen_subcommand_from anomalies" -l config -d 'Read the configuration from FILE instead of $MAGI_CONFIG or /etc/magi/magi.toml (~/.config/magi/magi.toml when not root); without any, the built-in description of the MAGI stack is used' -r -F
complete -c magi -n "__fish_magi_using_subcommand sla; and __fish_seen_subcommand_from anomalies" -l metrics-dir -d 'The metrics store directory [default: metrics/ in the state directory]' -r -F
complete -c magi -n "__fish_magi_using_subcommand sla; and __fish_seen_subcommand_from anomalies" -l usage-db -d 'The gateway\'s usage database [default: usage.db in the state directory]' -r -F
complete -c magi -n "__fish_magi_using_subcommand sla; and __fish_seen_subcommand_from anomalies" -l json -d 'One usage.anomaly event a line (the latest hour), for magi-alert'
complete -c magi -n "__fish_magi_using_subcommand sla; and __fish_seen_subcommand_from anomalies" -s v -l verbose -d 'Say more: -v for debug, -vv for trace (overrides $MAGI_LOG)'
complete -c magi -n "__fish_magi_using_subcommand sla; and __fish_seen_subcommand_from anomalies" -s q -l quiet -d 'Say only errors (overrides $MAGI_LOG)'
complete -c magi -n "__fish_magi_using_subcommand sla; and __fish_seen_subcommand_from anomalies" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c magi -n "__fish_magi_using_subcommand sla; and __fish_seen_subcommand_from capacity" -l trend -d 'The history the trends are fitted over' -r
complete -c magi -n "__fish_magi_using_subcommand sla; and __fish_seen_subcommand_from capacity" -l config -d 'Read the configuration from FILE instead of $MAGI_CONFIG or /etc/magi/magi.toml (~/.config/magi/magi.toml when not root); without any, the built-in description of the MAGI stack is used' -r -F
complete -c magi -n "__fish_magi_using_subcommand sla; and __fish_seen_subcommand_from capacity" -l metrics-dir -d 'The metrics store directory [default: metrics/ in the state directory]' -r -F
complete -c magi -n "__fish_magi_using_subcommand sla; and __fish_seen_subcommand_from capacity" -l usage-db -d 'The gateway\'s usage database [default: usage.db in the state directory]' -r -F
complete -c magi -n "__fish_magi_using_subcommand sla; and __fish_seen_subcommand_from capacity" -l json -d 'One JSON document'
complete -c magi -n "__fish_magi_using_subcommand sla; and __fish_seen_subcommand_from capacity" -s v -l verbose -d 'Say more: -v for debug, -vv for trace (overrides $MAGI_LOG)'
complete -c magi -n "__fish_magi_using_subcommand sla; and __fish_seen_subcommand_from capacity" -s q -l quiet -d 'Say only errors (overrides $MAGI_LOG)'
complete -c magi -n "__fish_magi_using_subcommand sla; and __fish_seen_subcommand_from capacity" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c magi -n "__fish_magi_using_subcommand sla; and __fish_seen_subcommand_from maintenance" -l config -d 'Read the configuration from FILE instead of $MAGI_CONFIG or /etc/magi/magi.toml (~/.config/magi/magi.toml when not root); without any, the built-in description of the MAGI stack is used' -r -F
complete -c magi -n "__fish_magi_using_subcommand sla; and __fish_seen_subcommand_from maintenance" -l metrics-dir -d 'The metrics store directory [default: metrics/ in the state directory]' -r -F
complete -c magi -n "__fish_magi_using_subcommand sla; and __fish_seen_subcommand_from maintenance" -l usage-db -d 'The gateway\'s usage database [default: usage.db in the state directory]' -r -F
complete -c magi -n "__fish_magi_using_subcommand sla; and __fish_seen_subcommand_from maintenance" -s v -l verbose -d 'Say more: -v for debug, -vv for trace (overrides $MAGI_LOG)'
complete -c magi -n "__fish_magi_using_subcommand sla; and __fish_seen_subcommand_from maintenance" -s q -l quiet -d 'Say only errors (overrides $MAGI_LOG)'
complete -c magi -n "__fish_magi_using_subcommand sla; and __fish_seen_subcommand_from maintenance" -s h -l help -d 'Print help'
complete -c magi -n "__fish_magi_using_subcommand sla; and __fish_seen_subcommand_from maintenance" -f -a "start" -d 'Planned maintenance begins now'
complete -c magi -n "__fish_magi_using_subcommand sla; and __fish_seen_subcommand_from maintenance" -f -a "end" -d 'The planned maintenance ends now'
complete -c magi -n "__fish_magi_using_subcommand sla; and __fish_seen_subcommand_from maintenance" -f -a "list" -d 'The maintenance windows over a time, newest last'
complete -c magi -n "__fish_magi_using_subcommand pitr; and not __fish_seen_subcommand_from check capture list restore ship drill" -l config -d 'Read the configuration from FILE instead of $MAGI_CONFIG or /etc/magi/magi.toml (~/.config/magi/magi.toml when not root); without any, the built-in description of the MAGI stack is used' -r -F
complete -c magi -n "__fish_magi_using_subcommand pitr; and not __fish_seen_subcommand_from check capture list restore ship drill" -s v -l verbose -d 'Say more: -v for debug, -vv for trace (overrides $MAGI_LOG)'
complete -c magi -n "__fish_magi_using_subcommand pitr; and not __fish_seen_subcommand_from check capture list restore ship drill" -s q -l quiet -d 'Say only errors (overrides $MAGI_LOG)'
complete -c magi -n "__fish_magi_using_subcommand pitr; and not __fish_seen_subcommand_from check capture list restore ship drill" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c magi -n "__fish_magi_using_subcommand pitr; and not __fish_seen_subcommand_from check capture list restore ship drill" -s V -l version -d 'Print version'
complete -c magi -n "__fish_magi_using_subcommand pitr; and not __fish_seen_subcommand_from check capture list restore ship drill" -f -a "check" -d 'Each SQLite database of the stack: its journal mode, size and log, and how to switch it to WAL'
complete -c magi -n "__fish_magi_using_subcommand pitr; and not __fish_seen_subcommand_from check capture list restore ship drill" -f -a "capture" -d 'Follow every database in WAL mode and keep its transactions (the daemon of magi-pitr.service)'
complete -c magi -n "__fish_magi_using_subcommand pitr; and not __fish_seen_subcommand_from check capture list restore ship drill" -f -a "list" -d 'What can be restored, per database: the earliest and latest points, generations and size'
complete -c magi -n "__fish_magi_using_subcommand pitr; and not __fish_seen_subcommand_from check capture list restore ship drill" -f -a "restore" -d 'Rebuild each database as it was at a time into a directory, checked, touching nothing of the stack'
complete -c magi -n "__fish_magi_using_subcommand pitr; and not __fish_seen_subcommand_from check capture list restore ship drill" -f -a "ship" -d 'Upload the store into the cloud repository ([cloud]): encrypted, only what changed (magi-pitr-ship.timer, every minute)'
complete -c magi -n "__fish_magi_using_subcommand pitr; and not __fish_seen_subcommand_from check capture list restore ship drill" -f -a "drill" -d 'The failover drill (magi-pitr-drill.timer, monthly): each service\'s databases restored to their newest point and checked, then the service started from them in a scratch stack (an internal Docker network, no ports, the live data untouched) and timed until healthy; a pitr.drill event each'
complete -c magi -n "__fish_magi_using_subcommand pitr; and __fish_seen_subcommand_from check" -l service -d 'Only this service\'s databases (repeatable; by service or container name; `magi` names MAGI ops\' own stores)' -r
complete -c magi -n "__fish_magi_using_subcommand pitr; and __fish_seen_subcommand_from check" -l config -d 'Read the configuration from FILE instead of $MAGI_CONFIG or /etc/magi/magi.toml (~/.config/magi/magi.toml when not root); without any, the built-in description of the MAGI stack is used' -r -F
complete -c magi -n "__fish_magi_using_subcommand pitr; and __fish_seen_subcommand_from check" -l json -d 'One JSON object per database, one per line'
complete -c magi -n "__fish_magi_using_subcommand pitr; and __fish_seen_subcommand_from check" -s v -l verbose -d 'Say more: -v for debug, -vv for trace (overrides $MAGI_LOG)'
complete -c magi -n "__fish_magi_using_subcommand pitr; and __fish_seen_subcommand_from check" -s q -l quiet -d 'Say only errors (overrides $MAGI_LOG)'
complete -c magi -n "__fish_magi_using_subcommand pitr; and __fish_seen_subcommand_from check" -s h -l help -d 'Print help'
complete -c magi -n "__fish_magi_using_subcommand pitr; and __fish_seen_subcommand_from capture" -l service -d 'Only this service\'s databases (repeatable; `magi` names MAGI ops\' own stores)' -r
complete -c magi -n "__fish_magi_using_subcommand pitr; and __fish_seen_subcommand_from capture" -l interval -d 'Time between reads of each log: a transaction is shipped at most this long after it commits' -r
complete -c magi -n "__fish_magi_using_subcommand pitr; and __fish_seen_subcommand_from capture" -l snapshot-every -d 'Begin a new generation (a fresh copy of each database) this often, so a restore replays at most this much log' -r
complete -c magi -n "__fish_magi_using_subcommand pitr; and __fish_seen_subcommand_from capture" -l keep -d 'Keep what is needed to restore to any time this far back' -r
complete -c magi -n "__fish_magi_using_subcommand pitr; and __fish_seen_subcommand_from capture" -l checkpoint-frames -d 'Checkpoint a log once it holds this many frames (pages)' -r
complete -c magi -n "__fish_magi_using_subcommand pitr; and __fish_seen_subcommand_from capture" -l config -d 'Read the configuration from FILE instead of $MAGI_CONFIG or /etc/magi/magi.toml (~/.config/magi/magi.toml when not root); without any, the built-in description of the MAGI stack is used' -r -F
complete -c magi -n "__fish_magi_using_subcommand pitr; and __fish_seen_subcommand_from capture" -s v -l verbose -d 'Say more: -v for debug, -vv for trace (overrides $MAGI_LOG)'
complete -c magi -n "__fish_magi_using_subcommand pitr; and __fish_seen_subcommand_from capture" -s q -l quiet -d 'Say only errors (overrides $MAGI_LOG)'
complete -c magi -n "__fish_magi_using_subcommand pitr; and __fish_seen_subcommand_from capture" -s h -l help -d 'Print help'
complete -c magi -n "__fish_magi_using_subcommand pitr; and __fish_seen_subcommand_from list" -l service -d 'Only this service\'s databases (repeatable; `magi` names MAGI ops\' own stores)' -r
complete -c magi -n "__fish_magi_using_subcommand pitr; and __fish_seen_subcommand_from list" -l config -d 'Read the configuration from FILE instead of $MAGI_CONFIG or /etc/magi/magi.toml (~/.config/magi/magi.toml when not root); without any, the built-in description of the MAGI stack is used' -r -F
complete -c magi -n "__fish_magi_using_subcommand pitr; and __fish_seen_subcommand_from list" -l json -d 'One JSON object per database, one per line'
complete -c magi -n "__fish_magi_using_subcommand pitr; and __fish_seen_subcommand_from list" -s v -l verbose -d 'Say more: -v for debug, -vv for trace (overrides $MAGI_LOG)'
complete -c magi -n "__fish_magi_using_subcommand pitr; and __fish_seen_subcommand_from list" -s q -l quiet -d 'Say only errors (overrides $MAGI_LOG)'
complete -c magi -n "__fish_magi_using_subcommand pitr; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help'
complete -c magi -n "__fish_magi_using_subcommand pitr; and __fish_seen_subcommand_from restore" -l timestamp -d 'The time to restore to: each database as of its last transaction committed at or before it (\'2026-11-20 14:29:30\' in local time, or RFC 3339)' -r
complete -c magi -n "__fish_magi_using_subcommand pitr; and __fish_seen_subcommand_from restore" -l to -d 'Write the databases here, as DIR/SERVICE/FILE (DIR absent or empty)' -r -F
complete -c magi -n "__fish_magi_using_subcommand pitr; and __fish_seen_subcommand_from restore" -l service -d 'Only this service\'s databases (repeatable; `magi` names MAGI ops\' own stores)' -r
complete -c magi -n "__fish_magi_using_subcommand pitr; and __fish_seen_subcommand_from restore" -l config -d 'Read the configuration from FILE instead of $MAGI_CONFIG or /etc/magi/magi.toml (~/.config/magi/magi.toml when not root); without any, the built-in description of the MAGI stack is used' -r -F
complete -c magi -n "__fish_magi_using_subcommand pitr; and __fish_seen_subcommand_from restore" -l from-cloud -d 'Restore from the copy shipped to the cloud repository ([cloud]), not the local store'
complete -c magi -n "__fish_magi_using_subcommand pitr; and __fish_seen_subcommand_from restore" -l json -d 'One JSON object per database, one per line'
complete -c magi -n "__fish_magi_using_subcommand pitr; and __fish_seen_subcommand_from restore" -s v -l verbose -d 'Say more: -v for debug, -vv for trace (overrides $MAGI_LOG)'
complete -c magi -n "__fish_magi_using_subcommand pitr; and __fish_seen_subcommand_from restore" -s q -l quiet -d 'Say only errors (overrides $MAGI_LOG)'
complete -c magi -n "__fish_magi_using_subcommand pitr; and __fish_seen_subcommand_from restore" -s h -l help -d 'Print help'
complete -c magi -n "__fish_magi_using_subcommand pitr; and __fish_seen_subcommand_from ship" -l config -d 'Read the configuration from FILE instead of $MAGI_CONFIG or /etc/magi/magi.toml (~/.config/magi/magi.toml when not root); without any, the built-in description of the MAGI stack is used' -r -F
complete -c magi -n "__fish_magi_using_subcommand pitr; and __fish_seen_subcommand_from ship" -l if-configured -d 'Do nothing, successfully, when the config has no [cloud] section (what the timer runs)'
complete -c magi -n "__fish_magi_using_subcommand pitr; and __fish_seen_subcommand_from ship" -l json -d 'One JSON object: the snapshot stored and its figures'
complete -c magi -n "__fish_magi_using_subcommand pitr; and __fish_seen_subcommand_from ship" -s v -l verbose -d 'Say more: -v for debug, -vv for trace (overrides $MAGI_LOG)'
complete -c magi -n "__fish_magi_using_subcommand pitr; and __fish_seen_subcommand_from ship" -s q -l quiet -d 'Say only errors (overrides $MAGI_LOG)'
complete -c magi -n "__fish_magi_using_subcommand pitr; and __fish_seen_subcommand_from ship" -s h -l help -d 'Print help'
complete -c magi -n "__fish_magi_using_subcommand pitr; and __fish_seen_subcommand_from drill" -l service -d 'Only this service\'s databases (repeatable; `magi` names MAGI ops\' own stores)' -r
complete -c magi -n "__fish_magi_using_subcommand pitr; and __fish_seen_subcommand_from drill" -l timeout -d 'How long a service may take to come up healthy in the scratch stack' -r
complete -c magi -n "__fish_magi_using_subcommand pitr; and __fish_seen_subcommand_from drill" -l config -d 'Read the configuration from FILE instead of $MAGI_CONFIG or /etc/magi/magi.toml (~/.config/magi/magi.toml when not root); without any, the built-in description of the MAGI stack is used' -r -F
complete -c magi -n "__fish_magi_using_subcommand pitr; and __fish_seen_subcommand_from drill" -l json -d 'The events as NDJSON on stdout (for magi-alert)'
complete -c magi -n "__fish_magi_using_subcommand pitr; and __fish_seen_subcommand_from drill" -l keep -d 'Leave the scratch stack running and its data in place, to look at (`drill --clean` removes them)'
complete -c magi -n "__fish_magi_using_subcommand pitr; and __fish_seen_subcommand_from drill" -l clean -d 'Remove what earlier drills left (kept, or killed midway) and do nothing else'
complete -c magi -n "__fish_magi_using_subcommand pitr; and __fish_seen_subcommand_from drill" -s v -l verbose -d 'Say more: -v for debug, -vv for trace (overrides $MAGI_LOG)'
complete -c magi -n "__fish_magi_using_subcommand pitr; and __fish_seen_subcommand_from drill" -s q -l quiet -d 'Say only errors (overrides $MAGI_LOG)'
complete -c magi -n "__fish_magi_using_subcommand pitr; and __fish_seen_subcommand_from drill" -s h -l help -d 'Print help'
