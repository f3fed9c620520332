# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_magi_limits_global_optspecs
    string join \n config= v/verbose q/quiet db= h/help V/version
end

function __fish_magi_limits_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_magi_limits_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_magi_limits_using_subcommand
    set -l cmd (__fish_magi_limits_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c magi-limits -n "__fish_magi_limits_needs_command" -l config -d 'Read the configuration from FILE instead of $MAGI_CONFIG or /etc/magi/magi.toml (~/.config/magi/magi.toml when not root); without any, the built-in description of the MAGI stack is used' -r -F
complete -c magi-limits -n "__fish_magi_limits_needs_command" -l db -d 'The usage and policy database [default: usage.db in the state directory]' -r -F
complete -c magi-limits -n "__fish_magi_limits_needs_command" -s v -l verbose -d 'Say more: -v for debug, -vv for trace (overrides $MAGI_LOG)'
complete -c magi-limits -n "__fish_magi_limits_needs_command" -s q -l quiet -d 'Say only errors (overrides $MAGI_LOG)'
complete -c magi-limits -n "__fish_magi_limits_needs_command" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c magi-limits -n "__fish_magi_limits_needs_command" -s V -l version -d 'Print version'
complete -c magi-limits -n "__fish_magi_limits_needs_command" -f -a "serve" -d 'Run the gateway'
complete -c magi-limits -n "__fish_magi_limits_needs_command" -f -a "set" -d 'Set requests and tokens per minute for a model (or a user with --user)'
complete -c magi-limits -n "__fish_magi_limits_needs_command" -f -a "show" -d 'Show the limits, quotas and budgets beside current use'
complete -c magi-limits -n "__fish_magi_limits_needs_command" -f -a "quota" -d 'Daily token quotas per user'
complete -c magi-limits -n "__fish_magi_limits_needs_command" -f -a "budget" -d 'Daily and monthly cost budgets, overall or per user'
complete -c magi-limits -n "__fish_magi_limits_needs_command" -f -a "priority" -d 'Queue priority of a user or API key prefix'
complete -c magi-limits -n "__fish_magi_limits_needs_command" -f -a "breakers" -d 'The circuit breakers as the gateway last recorded them'
complete -c magi-limits -n "__fish_magi_limits_needs_command" -f -a "errors" -d 'Upstream failures'
complete -c magi-limits -n "__fish_magi_limits_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c magi-limits -n "__fish_magi_limits_using_subcommand serve" -l listen -d 'Where to listen' -r
complete -c magi-limits -n "__fish_magi_limits_using_subcommand serve" -l upstream -d 'LiteLLM\'s base URL' -r
complete -c magi-limits -n "__fish_magi_limits_using_subcommand serve" -l users-db -d 'magi-users\' database, for the holders of `Authorization: Bearer magi_...` API keys [default: users.db in the state directory]' -r -F
complete -c magi-limits -n "__fish_magi_limits_using_subcommand serve" -l litellm-config -d 'LiteLLM\'s config.yaml, for prices when LiteLLM sends no x-litellm-response-cost [default: $MAGI_HOME/config/litellm/config.yaml]' -r -F
complete -c magi-limits -n "__fish_magi_limits_using_subcommand serve" -l queue-max -d 'Requests waiting across all models at most; more get 429' -r
complete -c magi-limits -n "__fish_magi_limits_using_subcommand serve" -l queue-wait -d 'The longest a request waits for its model before 429 (0 = no queue)' -r
complete -c magi-limits -n "__fish_magi_limits_using_subcommand serve" -l breaker-failures -d 'Failures within --breaker-window that open a model\'s breaker' -r
complete -c magi-limits -n "__fish_magi_limits_using_subcommand serve" -l breaker-window -d 'The span in which --breaker-failures failures open a breaker' -r
complete -c magi-limits -n "__fish_magi_limits_using_subcommand serve" -l breaker-cooldown -d 'How long an open breaker refuses before it lets one probe through' -r
complete -c magi-limits -n "__fish_magi_limits_using_subcommand serve" -l retries -d 'Retries of a failure that happened before anything reached the client' -r
complete -c magi-limits -n "__fish_magi_limits_using_subcommand serve" -l backoff -d 'The first retry\'s delay; doubles each time, with jitter' -r
complete -c magi-limits -n "__fish_magi_limits_using_subcommand serve" -l connect-timeout -d 'The longest wait for a connection to LiteLLM' -r
complete -c magi-limits -n "__fish_magi_limits_using_subcommand serve" -l first-byte-timeout -d 'The longest wait for LiteLLM\'s answer to begin' -r
complete -c magi-limits -n "__fish_magi_limits_using_subcommand serve" -l idle-timeout -d 'The longest silence in the middle of an answer' -r
complete -c magi-limits -n "__fish_magi_limits_using_subcommand serve" -l flush-interval -d 'How often queued usage records are written (and their figures added to the metrics store)' -r
complete -c magi-limits -n "__fish_magi_limits_using_subcommand serve" -l metrics-dir -d 'The metrics store directory [default: metrics/ in the state directory]' -r -F
complete -c magi-limits -n "__fish_magi_limits_using_subcommand serve" -l max-body -d 'The largest request body, in bytes' -r
complete -c magi-limits -n "__fish_magi_limits_using_subcommand serve" -l header-timeout -d 'The longest a client may take to send a request\'s head, and to start the next one on a kept-alive connection; then the connection is closed' -r
complete -c magi-limits -n "__fish_magi_limits_using_subcommand serve" -l body-timeout -d 'The longest a client may take to send a request\'s body (408 after it)' -r
complete -c magi-limits -n "__fish_magi_limits_using_subcommand serve" -l max-connections -d 'Connections served at once; more wait in the listen queue until one ends [default: the open-file limit less 64, at most 16384]' -r
complete -c magi-limits -n "__fish_magi_limits_using_subcommand serve" -l threads -d 'Threads serving requests (the work is waiting on sockets; 2 keep up with a busy LiteLLM)' -r
complete -c magi-limits -n "__fish_magi_limits_using_subcommand serve" -l grace -d 'How long a stop waits for answers in flight' -r
complete -c magi-limits -n "__fish_magi_limits_using_subcommand serve" -l config -d 'Read the configuration from FILE instead of $MAGI_CONFIG or /etc/magi/magi.toml (~/.config/magi/magi.toml when not root); without any, the built-in description of the MAGI stack is used' -r -F
complete -c magi-limits -n "__fish_magi_limits_using_subcommand serve" -l db -d 'The usage and policy database [default: usage.db in the state directory]' -r -F
complete -c magi-limits -n "__fish_magi_limits_using_subcommand serve" -l no-metrics -d 'Do not add request, error, token, cost and latency figures to the metrics store (metrics/limits.db in the state directory)'
complete -c magi-limits -n "__fish_magi_limits_using_subcommand serve" -s v -l verbose -d 'Say more: -v for debug, -vv for trace (overrides $MAGI_LOG)'
complete -c magi-limits -n "__fish_magi_limits_using_subcommand serve" -s q -l quiet -d 'Say only errors (overrides $MAGI_LOG)'
complete -c magi-limits -n "__fish_magi_limits_using_subcommand serve" -s h -l help -d 'Print help'
complete -c magi-limits -n "__fish_magi_limits_using_subcommand set" -l user -d 'Set a user\'s limits instead of a model\'s' -r
complete -c magi-limits -n "__fish_magi_limits_using_subcommand set" -l rpm -d 'Requests per minute' -r
complete -c magi-limits -n "__fish_magi_limits_using_subcommand set" -l tpm -d 'Tokens per minute (prompt + completion)' -r
complete -c magi-limits -n "__fish_magi_limits_using_subcommand set" -l config -d 'Read the configuration from FILE instead of $MAGI_CONFIG or /etc/magi/magi.toml (~/.config/magi/magi.toml when not root); without any, the built-in description of the MAGI stack is used' -r -F
complete -c magi-limits -n "__fish_magi_limits_using_subcommand set" -l db -d 'The usage and policy database [default: usage.db in the state directory]' -r -F
complete -c magi-limits -n "__fish_magi_limits_using_subcommand set" -l clear -d 'Remove the limits'
complete -c magi-limits -n "__fish_magi_limits_using_subcommand set" -s v -l verbose -d 'Say more: -v for debug, -vv for trace (overrides $MAGI_LOG)'
complete -c magi-limits -n "__fish_magi_limits_using_subcommand set" -s q -l quiet -d 'Say only errors (overrides $MAGI_LOG)'
complete -c magi-limits -n "__fish_magi_limits_using_subcommand set" -s h -l help -d 'Print help'
complete -c magi-limits -n "__fish_magi_limits_using_subcommand show" -l config -d 'Read the configuration from FILE instead of $MAGI_CONFIG or /etc/magi/magi.toml (~/.config/magi/magi.toml when not root); without any, the built-in description of the MAGI stack is used' -r -F
complete -c magi-limits -n "__fish_magi_limits_using_subcommand show" -l db -d 'The usage and policy database [default: usage.db in the state directory]' -r -F
complete -c magi-limits -n "__fish_magi_limits_using_subcommand show" -l json -d 'One JSON record a line instead of a table'
complete -c magi-limits -n "__fish_magi_limits_using_subcommand show" -s v -l verbose -d 'Say more: -v for debug, -vv for trace (overrides $MAGI_LOG)'
complete -c magi-limits -n "__fish_magi_limits_using_subcommand show" -s q -l quiet -d 'Say only errors (overrides $MAGI_LOG)'
complete -c magi-limits -n "__fish_magi_limits_using_subcommand show" -s h -l help -d 'Print help'
complete -c magi-limits -n "__fish_magi_limits_using_subcommand quota; and not __fish_seen_subcommand_from set clear help" -l config -d 'Read the configuration from FILE instead of $MAGI_CONFIG or /etc/magi/magi.toml (~/.config/magi/magi.toml when not root); without any, the built-in description of the MAGI stack is used' -r -F
complete -c magi-limits -n "__fish_magi_limits_using_subcommand quota; and not __fish_seen_subcommand_from set clear help" -l db -d 'The usage and policy database [default: usage.db in the state directory]' -r -F
complete -c magi-limits -n "__fish_magi_limits_using_subcommand quota; and not __fish_seen_subcommand_from set clear help" -s v -l verbose -d 'Say more: -v for debug, -vv for trace (overrides $MAGI_LOG)'
complete -c magi-limits -n "__fish_magi_limits_using_subcommand quota; and not __fish_seen_subcommand_from set clear help" -s q -l quiet -d 'Say only errors (overrides $MAGI_LOG)'
complete -c magi-limits -n "__fish_magi_limits_using_subcommand quota; and not __fish_seen_subcommand_from set clear help" -s h -l help -d 'Print help'
complete -c magi-limits -n "__fish_magi_limits_using_subcommand quota; and not __fish_seen_subcommand_from set clear help" -f -a "set" -d 'Set a user\'s tokens per UTC day'
complete -c magi-limits -n "__fish_magi_limits_using_subcommand quota; and not __fish_seen_subcommand_from set clear help" -f -a "clear" -d 'Remove a user\'s quota'
complete -c magi-limits -n "__fish_magi_limits_using_subcommand quota; and not __fish_seen_subcommand_from set clear help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c magi-limits -n "__fish_magi_limits_using_subcommand quota; and __fish_seen_subcommand_from set" -l config -d 'Read the configuration from FILE instead of $MAGI_CONFIG or /etc/magi/magi.toml (~/.config/magi/magi.toml when not root); without any, the built-in description of the MAGI stack is used' -r -F
complete -c magi-limits -n "__fish_magi_limits_using_subcommand quota; and __fish_seen_subcommand_from set" -l db -d 'The usage and policy database [default: usage.db in the state directory]' -r -F
complete -c magi-limits -n "__fish_magi_limits_using_subcommand quota; and __fish_seen_subcommand_from set" -s v -l verbose -d 'Say more: -v for debug, -vv for trace (overrides $MAGI_LOG)'
complete -c magi-limits -n "__fish_magi_limits_using_subcommand quota; and __fish_seen_subcommand_from set" -s q -l quiet -d 'Say only errors (overrides $MAGI_LOG)'
complete -c magi-limits -n "__fish_magi_limits_using_subcommand quota; and __fish_seen_subcommand_from set" -s h -l help -d 'Print help'
complete -c magi-limits -n "__fish_magi_limits_using_subcommand quota; and __fish_seen_subcommand_from clear" -l config -d 'Read the configuration from FILE instead of $MAGI_CONFIG or /etc/magi/magi.toml (~/.config/magi/magi.toml when not root); without any, the built-in description of the MAGI stack is used' -r -F
complete -c magi-limits -n "__fish_magi_limits_using_subcommand quota; and __fish_seen_subcommand_from clear" -l db -d 'The usage and policy database [default: usage.db in the state directory]' -r -F
complete -c magi-limits -n "__fish_magi_limits_using_subcommand quota; and __fish_seen_subcommand_from clear" -s v -l verbose -d 'Say more: -v for debug, -vv for trace (overrides $MAGI_LOG)'
complete -c magi-limits -n "__fish_magi_limits_using_subcommand quota; and __fish_seen_subcommand_from clear" -s q -l quiet -d 'Say only errors (overrides $MAGI_LOG)'
complete -c magi-limits -n "__fish_magi_limits_using_subcommand quota; and __fish_seen_subcommand_from clear" -s h -l help -d 'Print help'
complete -c magi-limits -n "__fish_magi_limits_using_subcommand quota; and __fish_seen_subcommand_from help" -f -a "set" -d 'Set a user\'s tokens per UTC day'
complete -c magi-limits -n "__fish_magi_limits_using_subcommand quota; and __fish_seen_subcommand_from help" -f -a "clear" -d 'Remove a user\'s quota'
complete -c magi-limits -n "__fish_magi_limits_using_subcommand quota; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c magi-limits -n "__fish_magi_limits_using_subcommand budget; and not __fish_seen_subcommand_from set clear help" -l config -d 'Read the configuration from FILE instead of $MAGI_CONFIG or /etc/magi/magi.toml (~/.config/magi/magi.toml when not root); without any, the built-in description of the MAGI stack is used' -r -F
complete -c magi-limits -n "__fish_magi_limits_using_subcommand budget; and not __fish_seen_subcommand_from set clear help" -l db -d 'The usage and policy database [default: usage.db in the state directory]' -r -F
complete -c magi-limits -n "__fish_magi_limits_using_subcommand budget; and not __fish_seen_subcommand_from set clear help" -s v -l verbose -d 'Say more: -v for debug, -vv for trace (overrides $MAGI_LOG)'
complete -c magi-limits -n "__fish_magi_limits_using_subcommand budget; and not __fish_seen_subcommand_from set clear help" -s q -l quiet -d 'Say only errors (overrides $MAGI_LOG)'
complete -c magi-limits -n "__fish_magi_limits_using_subcommand budget; and not __fish_seen_subcommand_from set clear help" -s h -l help -d 'Print help'
complete -c magi-limits -n "__fish_magi_limits_using_subcommand budget; and not __fish_seen_subcommand_from set clear help" -f -a "set" -d 'Set the daily and/or monthly budget in USD'
complete -c magi-limits -n "__fish_magi_limits_using_subcommand budget; and not __fish_seen_subcommand_from set clear help" -f -a "clear" -d 'Remove the overall budgets, or one user\'s'
complete -c magi-limits -n "__fish_magi_limits_using_subcommand budget; and not __fish_seen_subcommand_from set clear help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c magi-limits -n "__fish_magi_limits_using_subcommand budget; and __fish_seen_subcommand_from set" -l daily -d 'Dollars per UTC day' -r
complete -c magi-limits -n "__fish_magi_limits_using_subcommand budget; and __fish_seen_subcommand_from set" -l monthly -d 'Dollars per calendar month (UTC)' -r
complete -c magi-limits -n "__fish_magi_limits_using_subcommand budget; and __fish_seen_subcommand_from set" -l user -d 'One user\'s budget instead of the overall one' -r
complete -c magi-limits -n "__fish_magi_limits_using_subcommand budget; and __fish_seen_subcommand_from set" -l config -d 'Read the configuration from FILE instead of $MAGI_CONFIG or /etc/magi/magi.toml (~/.config/magi/magi.toml when not root); without any, the built-in description of the MAGI stack is used' -r -F
complete -c magi-limits -n "__fish_magi_limits_using_subcommand budget; and __fish_seen_subcommand_from set" -l db -d 'The usage and policy database [default: usage.db in the state directory]' -r -F
complete -c magi-limits -n "__fish_magi_limits_using_subcommand budget; and __fish_seen_subcommand_from set" -s v -l verbose -d 'Say more: -v for debug, -vv for trace (overrides $MAGI_LOG)'
complete -c magi-limits -n "__fish_magi_limits_using_subcommand budget; and __fish_seen_subcommand_from set" -s q -l quiet -d 'Say only errors (overrides $MAGI_LOG)'
complete -c magi-limits -n "__fish_magi_limits_using_subcommand budget; and __fish_seen_subcommand_from set" -s h -l help -d 'Print help'
complete -c magi-limits -n "__fish_magi_limits_using_subcommand budget; and __fish_seen_subcommand_from clear" -l user -d 'One user\'s budget instead of the overall one' -r
complete -c magi-limits -n "__fish_magi_limits_using_subcommand budget; and __fish_seen_subcommand_from clear" -l config -d 'Read the configuration from FILE instead of $MAGI_CONFIG or /etc/magi/magi.toml (~/.config/magi/magi.toml when not root); without any, the built-in description of the MAGI stack is used' -r -F
complete -c magi-limits -n "__fish_magi_limits_using_subcommand budget; and __fish_seen_subcommand_from clear" -l db -d 'The usage and policy database [default: usage.db in the state directory]' -r -F
complete -c magi-limits -n "__fish_magi_limits_using_subcommand budget; and __fish_seen_subcommand_from clear" -s v -l verbose -d 'Say more: -v for debug, -vv for trace (overrides $MAGI_LOG)'
complete -c magi-limits -n "__fish_magi_limits_using_subcommand budget; and __fish_seen_subcommand_from clear" -s q -l quiet -d 'Say only errors (overrides $MAGI_LOG)'
complete -c magi-limits -n "__fish_magi_limits_using_subcommand budget; and __fish_seen_subcommand_from clear" -s h -l help -d 'Print help'
complete -c magi-limits -n "__fish_magi_limits_using_subcommand budget; and __fish_seen_subcommand_from help" -f -a "set" -d 'Set the daily and/or monthly budget in USD'
complete -c magi-limits -n "__fish_magi_limits_using_subcommand budget; and __fish_seen_subcommand_from help" -f -a "clear" -d 'Remove the overall budgets, or one user\'s'
complete -c magi-limits -n "__fish_magi_limits_using_subcommand budget; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c magi-limits -n "__fish_magi_limits_using_subcommand priority; and not __fish_seen_subcommand_from set help" -l config -d 'Read the configuration from FILE instead of $MAGI_CONFIG or /etc/magi/magi.toml (~/.config/magi/magi.toml when not root); without any, the built-in description of the MAGI stack is used' -r -F
complete -c magi-limits -n "__fish_magi_limits_using_subcommand priority; and not __fish_seen_subcommand_from set help" -l db -d 'The usage and policy database [default: usage.db in the state directory]' -r -F
complete -c magi-limits -n "__fish_magi_limits_using_subcommand priority; and not __fish_seen_subcommand_from set help" -s v -l verbose -d 'Say more: -v for debug, -vv for trace (overrides $MAGI_LOG)'
complete -c magi-limits -n "__fish_magi_limits_using_subcommand priority; and not __fish_seen_subcommand_from set help" -s q -l quiet -d 'Say only errors (overrides $MAGI_LOG)'
complete -c magi-limits -n "__fish_magi_limits_using_subcommand priority; and not __fish_seen_subcommand_from set help" -s h -l help -d 'Print help'
complete -c magi-limits -n "__fish_magi_limits_using_subcommand priority; and not __fish_seen_subcommand_from set help" -f -a "set" -d 'Queue a user\'s or key prefix\'s requests as interactive or workflow'
complete -c magi-limits -n "__fish_magi_limits_using_subcommand priority; and not __fish_seen_subcommand_from set help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c magi-limits -n "__fish_magi_limits_using_subcommand priority; and __fish_seen_subcommand_from set" -l config -d 'Read the configuration from FILE instead of $MAGI_CONFIG or /etc/magi/magi.toml (~/.config/magi/magi.toml when not root); without any, the built-in description of the MAGI stack is used' -r -F
complete -c magi-limits -n "__fish_magi_limits_using_subcommand priority; and __fish_seen_subcommand_from set" -l db -d 'The usage and policy database [default: usage.db in the state directory]' -r -F
complete -c magi-limits -n "__fish_magi_limits_using_subcommand priority; and __fish_seen_subcommand_from set" -s v -l verbose -d 'Say more: -v for debug, -vv for trace (overrides $MAGI_LOG)'
complete -c magi-limits -n "__fish_magi_limits_using_subcommand priority; and __fish_seen_subcommand_from set" -s q -l quiet -d 'Say only errors (overrides $MAGI_LOG)'
complete -c magi-limits -n "__fish_magi_limits_using_subcommand priority; and __fish_seen_subcommand_from set" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c magi-limits -n "__fish_magi_limits_using_subcommand priority; and __fish_seen_subcommand_from help" -f -a "set" -d 'Queue a user\'s or key prefix\'s requests as interactive or workflow'
complete -c magi-limits -n "__fish_magi_limits_using_subcommand priority; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c magi-limits -n "__fish_magi_limits_using_subcommand breakers" -l config -d 'Read the configuration from FILE instead of $MAGI_CONFIG or /etc/magi/magi.toml (~/.config/magi/magi.toml when not root); without any, the built-in description of the MAGI stack is used' -r -F
complete -c magi-limits -n "__fish_magi_limits_using_subcommand breakers" -l db -d 'The usage and policy database [default: usage.db in the state directory]' -r -F
complete -c magi-limits -n "__fish_magi_limits_using_subcommand breakers" -l json -d 'One JSON record a line instead of a table'
complete -c magi-limits -n "__fish_magi_limits_using_subcommand breakers" -s v -l verbose -d 'Say more: -v for debug, -vv for trace (overrides $MAGI_LOG)'
complete -c magi-limits -n "__fish_magi_limits_using_subcommand breakers" -s q -l quiet -d 'Say only errors (overrides $MAGI_LOG)'
complete -c magi-limits -n "__fish_magi_limits_using_subcommand breakers" -s h -l help -d 'Print help'
complete -c magi-limits -n "__fish_magi_limits_using_subcommand errors; and not __fish_seen_subcommand_from recent help" -l config -d 'Read the configuration from FILE instead of $MAGI_CONFIG or /etc/magi/magi.toml (~/.config/magi/magi.toml when not root); without any, the built-in description of the MAGI stack is used' -r -F
complete -c magi-limits -n "__fish_magi_limits_using_subcommand errors; and not __fish_seen_subcommand_from recent help" -l db -d 'The usage and policy database [default: usage.db in the state directory]' -r -F
complete -c magi-limits -n "__fish_magi_limits_using_subcommand errors; and not __fish_seen_subcommand_from recent help" -s v -l verbose -d 'Say more: -v for debug, -vv for trace (overrides $MAGI_LOG)'
complete -c magi-limits -n "__fish_magi_limits_using_subcommand errors; and not __fish_seen_subcommand_from recent help" -s q -l quiet -d 'Say only errors (overrides $MAGI_LOG)'
complete -c magi-limits -n "__fish_magi_limits_using_subcommand errors; and not __fish_seen_subcommand_from recent help" -s h -l help -d 'Print help'
complete -c magi-limits -n "__fish_magi_limits_using_subcommand errors; and not __fish_seen_subcommand_from recent help" -f -a "recent" -d 'The last upstream failures, grouped by model, status and error'
complete -c magi-limits -n "__fish_magi_limits_using_subcommand errors; and not __fish_seen_subcommand_from recent help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c magi-limits -n "__fish_magi_limits_using_subcommand errors; and __fish_seen_subcommand_from recent" -l since -d 'How far back' -r
complete -c magi-limits -n "__fish_magi_limits_using_subcommand errors; and __fish_seen_subcommand_from recent" -l config -d 'Read the configuration from FILE instead of $MAGI_CONFIG or /etc/magi/magi.toml (~/.config/magi/magi.toml when not root); without any, the built-in description of the MAGI stack is used' -r -F
complete -c magi-limits -n "__fish_magi_limits_using_subcommand errors; and __fish_seen_subcommand_from recent" -l db -d 'The usage and policy database [default: usage.db in the state directory]' -r -F
complete -c magi-limits -n "__fish_magi_limits_using_subcommand errors; and __fish_seen_subcommand_from recent" -l json -d 'One JSON record a line instead of a table'
complete -c magi-limits -n "__fish_magi_limits_using_subcommand errors; and __fish_seen_subcommand_from recent" -s v -l verbose -d 'Say more: -v for debug, -vv for trace (overrides $MAGI_LOG)'
complete -c magi-limits -n "__fish_magi_limits_using_subcommand errors; and __fish_seen_subcommand_from recent" -s q -l quiet -d 'Say only errors (overrides $MAGI_LOG)'
complete -c magi-limits -n "__fish_magi_limits_using_subcommand errors; and __fish_seen_subcommand_from recent" -s h -l help -d 'Print help'
complete -c magi-limits -n "__fish_magi_limits_using_subcommand errors; and __fish_seen_subcommand_from help" -f -a "recent" -d 'The last upstream failures, grouped by model, status and error'
complete -c magi-limits -n "__fish_magi_limits_using_subcommand errors; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c magi-limits -n "__fish_magi_limits_using_subcommand help; and not __fish_seen_subcommand_from serve set show quota budget priority breakers errors help" -f -a "serve" -d 'Run the gateway'
complete -c magi-limits -n "__fish_magi_limits_using_subcommand help; and not __fish_seen_subcommand_from serve set show quota budget priority breakers errors help" -f -a "set" -d 'Set requests and tokens per minute for a model (or a user with --user)'
complete -c magi-limits -n "__fish_magi_limits_using_subcommand help; and not __fish_seen_subcommand_from serve set show quota budget priority breakers errors help" -f -a "show" -d 'Show the limits, quotas and budgets beside current use'
complete -c magi-limits -n "__fish_magi_limits_using_subcommand help; and not __fish_seen_subcommand_from serve set show quota budget priority breakers errors help" -f -a "quota" -d 'Daily token quotas per user'
complete -c magi-limits -n "__fish_magi_limits_using_subcommand help; and not __fish_seen_subcommand_from serve set show quota budget priority breakers errors help" -f -a "budget" -d 'Daily and monthly cost budgets, overall or per user'
complete -c magi-limits -n "__fish_magi_limits_using_subcommand help; and not __fish_seen_subcommand_from serve set show quota budget priority breakers errors help" -f -a "priority" -d 'Queue priority of a user or API key prefix'
complete -c magi-limits -n "__fish_magi_limits_using_subcommand help; and not __fish_seen_subcommand_from serve set show quota budget priority breakers errors help" -f -a "breakers" -d 'The circuit breakers as the gateway last recorded them'
complete -c magi-limits -n "__fish_magi_limits_using_subcommand help; and not __fish_seen_subcommand_from serve set show quota budget priority breakers errors help" -f -a "errors" -d 'Upstream failures'
complete -c magi-limits -n "__fish_magi_limits_using_subcommand help; and not __fish_seen_subcommand_from serve set show quota budget priority breakers errors help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c magi-limits -n "__fish_magi_limits_using_subcommand help; and __fish_seen_subcommand_from quota" -f -a "set" -d 'Set a user\'s tokens per UTC day'
complete -c magi-limits -n "__fish_magi_limits_using_subcommand help; and __fish_seen_subcommand_from quota" -f -a "clear" -d 'Remove a user\'s quota'
complete -c magi-limits -n "__fish_magi_limits_using_subcommand help; and __fish_seen_subcommand_from budget" -f -a "set" -d 'Set the daily and/or monthly budget in USD'
complete -c magi-limits -n "__fish_magi_limits_using_subcommand help; and __fish_seen_subcommand_from budget" -f -a "clear" -d 'Remove the overall budgets, or one user\'s'
complete -c magi-limits -n "__fish_magi_limits_using_subcommand help; and __fish_seen_subcommand_from priority" -f -a "set" -d 'Queue a user\'s or key prefix\'s requests as interactive or workflow'
complete -c magi-limits -n "__fish_magi_limits_using_subcommand help; and __fish_seen_subcommand_from errors" -f -a "recent" -d 'The last upstream failures, grouped by model, status and error'
