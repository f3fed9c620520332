# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_magi_costs_global_optspecs
    string join \n config= v/verbose q/quiet db= daily weekly monthly by= since= json csv h/help V/version
end

function __fish_magi_costs_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_magi_costs_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_magi_costs_using_subcommand
    set -l cmd (__fish_magi_costs_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c magi-costs -n "__fish_magi_costs_needs_command" -l config -d 'Read the configuration from FILE instead of $MAGI_CONFIG or /etc/magi/magi.toml (~/.config/magi/magi.toml when not root); without any, the built-in description of the MAGI stack is used' -r -F
complete -c magi-costs -n "__fish_magi_costs_needs_command" -l db -d 'The magi-limits usage database [default: usage.db in the state directory]' -r -F
complete -c magi-costs -n "__fish_magi_costs_needs_command" -l by -d 'Split each period by model (the default), by user, or not at all (`none`: one row a period)' -r -f -a "model\t''
user\t''
none\t'One row a period, all models and users together'"
complete -c magi-costs -n "__fish_magi_costs_needs_command" -l since -d 'From this UTC date (YYYY-MM-DD), or this long ago (30d, 12w); default: all history' -r
complete -c magi-costs -n "__fish_magi_costs_needs_command" -s v -l verbose -d 'Say more: -v for debug, -vv for trace (overrides $MAGI_LOG)'
complete -c magi-costs -n "__fish_magi_costs_needs_command" -s q -l quiet -d 'Say only errors (overrides $MAGI_LOG)'
complete -c magi-costs -n "__fish_magi_costs_needs_command" -l daily -d 'One row per UTC day (the default)'
complete -c magi-costs -n "__fish_magi_costs_needs_command" -l weekly -d 'One row per ISO week, Monday to Sunday'
complete -c magi-costs -n "__fish_magi_costs_needs_command" -l monthly -d 'One row per calendar month'
complete -c magi-costs -n "__fish_magi_costs_needs_command" -l json -d 'One JSON object a line'
complete -c magi-costs -n "__fish_magi_costs_needs_command" -l csv -d 'Comma-separated values with a header line'
complete -c magi-costs -n "__fish_magi_costs_needs_command" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c magi-costs -n "__fish_magi_costs_needs_command" -s V -l version -d 'Print version'
complete -c magi-costs -n "__fish_magi_costs_needs_command" -f -a "check" -d 'Emit budget.threshold events for budgets at 80 % or 100 % of this day\'s or month\'s spend, once each'
complete -c magi-costs -n "__fish_magi_costs_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c magi-costs -n "__fish_magi_costs_using_subcommand check" -l state -d 'Where to remember the events sent [default: costs.db beside the usage database]' -r -F
complete -c magi-costs -n "__fish_magi_costs_using_subcommand check" -l config -d 'Read the configuration from FILE instead of $MAGI_CONFIG or /etc/magi/magi.toml (~/.config/magi/magi.toml when not root); without any, the built-in description of the MAGI stack is used' -r -F
complete -c magi-costs -n "__fish_magi_costs_using_subcommand check" -l db -d 'The magi-limits usage database [default: usage.db in the state directory]' -r -F
complete -c magi-costs -n "__fish_magi_costs_using_subcommand check" -l json -d 'Print the events as NDJSON on stdout (they are logged either way)'
complete -c magi-costs -n "__fish_magi_costs_using_subcommand check" -s v -l verbose -d 'Say more: -v for debug, -vv for trace (overrides $MAGI_LOG)'
complete -c magi-costs -n "__fish_magi_costs_using_subcommand check" -s q -l quiet -d 'Say only errors (overrides $MAGI_LOG)'
complete -c magi-costs -n "__fish_magi_costs_using_subcommand check" -s h -l help -d 'Print help'
complete -c magi-costs -n "__fish_magi_costs_using_subcommand help; and not __fish_seen_subcommand_from check help" -f -a "check" -d 'Emit budget.threshold events for budgets at 80 % or 100 % of this day\'s or month\'s spend, once each'
complete -c magi-costs -n "__fish_magi_costs_using_subcommand help; and not __fish_seen_subcommand_from check help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
