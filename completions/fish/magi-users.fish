# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_magi_users_global_optspecs
    string join \n config= v/verbose q/quiet db= h/help V/version
end

function __fish_magi_users_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_magi_users_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_magi_users_using_subcommand
    set -l cmd (__fish_magi_users_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c magi-users -n "__fish_magi_users_needs_command" -l config -d 'Read the configuration from FILE instead of $MAGI_CONFIG or /etc/magi/magi.toml (~/.config/magi/magi.toml when not root); without any, the built-in description of the MAGI stack is used' -r -F
complete -c magi-users -n "__fish_magi_users_needs_command" -l db -d 'The user database (default: users.db in the state directory)' -r -F
complete -c magi-users -n "__fish_magi_users_needs_command" -s v -l verbose -d 'Say more: -v for debug, -vv for trace (overrides $MAGI_LOG)'
complete -c magi-users -n "__fish_magi_users_needs_command" -s q -l quiet -d 'Say only errors (overrides $MAGI_LOG)'
complete -c magi-users -n "__fish_magi_users_needs_command" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c magi-users -n "__fish_magi_users_needs_command" -s V -l version -d 'Print version'
complete -c magi-users -n "__fish_magi_users_needs_command" -f -a "add" -d 'Create an account; the password is asked for, or read from --password-file or stdin'
complete -c magi-users -n "__fish_magi_users_needs_command" -f -a "remove" -d 'Delete an account with its sessions and API keys'
complete -c magi-users -n "__fish_magi_users_needs_command" -f -a "list" -d 'List accounts'
complete -c magi-users -n "__fish_magi_users_needs_command" -f -a "set" -d 'Change an account\'s email, display name, role or teams'
complete -c magi-users -n "__fish_magi_users_needs_command" -f -a "disable" -d 'Stop an account from logging in and end its sessions; its keys stop working too'
complete -c magi-users -n "__fish_magi_users_needs_command" -f -a "enable" -d 'Let a disabled account log in again'
complete -c magi-users -n "__fish_magi_users_needs_command" -f -a "reset-password" -d 'Set a new password and end every session of the account'
complete -c magi-users -n "__fish_magi_users_needs_command" -f -a "roles" -d 'Roles and their permissions (built in: admin has every permission, user has `chat`)'
complete -c magi-users -n "__fish_magi_users_needs_command" -f -a "teams" -d 'Teams, which become groups in Remote-Groups'
complete -c magi-users -n "__fish_magi_users_needs_command" -f -a "keys" -d 'API keys: `Authorization: Bearer magi_...` instead of a login'
complete -c magi-users -n "__fish_magi_users_needs_command" -f -a "quota" -d 'The daily token quota the magi-limits gateway enforces for an account'
complete -c magi-users -n "__fish_magi_users_needs_command" -f -a "activity" -d 'The audit log: logins, failures, lockouts, account, role, team and key changes'
complete -c magi-users -n "__fish_magi_users_needs_command" -f -a "serve" -d 'Serve forward-auth (/auth, /auth-request), /login and /logout for the reverse proxy'
complete -c magi-users -n "__fish_magi_users_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c magi-users -n "__fish_magi_users_using_subcommand add" -l email -d 'The email address (Remote-Email, which Open WebUI\'s trusted-header login reads)' -r
complete -c magi-users -n "__fish_magi_users_using_subcommand add" -l name -d 'The display name (Remote-Name); the login name if not given' -r
complete -c magi-users -n "__fish_magi_users_using_subcommand add" -l role -d 'admin, user, or a role made with `roles create`' -r
complete -c magi-users -n "__fish_magi_users_using_subcommand add" -l team -d 'A team the account belongs to (repeatable; create it first with `teams add`)' -r
complete -c magi-users -n "__fish_magi_users_using_subcommand add" -l password-file -d 'Read the password from the first line of FILE (- for stdin) instead of asking' -r -F
complete -c magi-users -n "__fish_magi_users_using_subcommand add" -l config -d 'Read the configuration from FILE instead of $MAGI_CONFIG or /etc/magi/magi.toml (~/.config/magi/magi.toml when not root); without any, the built-in description of the MAGI stack is used' -r -F
complete -c magi-users -n "__fish_magi_users_using_subcommand add" -l db -d 'The user database (default: users.db in the state directory)' -r -F
complete -c magi-users -n "__fish_magi_users_using_subcommand add" -s v -l verbose -d 'Say more: -v for debug, -vv for trace (overrides $MAGI_LOG)'
complete -c magi-users -n "__fish_magi_users_using_subcommand add" -s q -l quiet -d 'Say only errors (overrides $MAGI_LOG)'
complete -c magi-users -n "__fish_magi_users_using_subcommand add" -s h -l help -d 'Print help'
complete -c magi-users -n "__fish_magi_users_using_subcommand remove" -l config -d 'Read the configuration from FILE instead of $MAGI_CONFIG or /etc/magi/magi.toml (~/.config/magi/magi.toml when not root); without any, the built-in description of the MAGI stack is used' -r -F
complete -c magi-users -n "__fish_magi_users_using_subcommand remove" -l db -d 'The user database (default: users.db in the state directory)' -r -F
complete -c magi-users -n "__fish_magi_users_using_subcommand remove" -s v -l verbose -d 'Say more: -v for debug, -vv for trace (overrides $MAGI_LOG)'
complete -c magi-users -n "__fish_magi_users_using_subcommand remove" -s q -l quiet -d 'Say only errors (overrides $MAGI_LOG)'
complete -c magi-users -n "__fish_magi_users_using_subcommand remove" -s h -l help -d 'Print help'
complete -c magi-users -n "__fish_magi_users_using_subcommand list" -l config -d 'Read the configuration from FILE instead of $MAGI_CONFIG or /etc/magi/magi.toml (~/.config/magi/magi.toml when not root); without any, the built-in description of the MAGI stack is used' -r -F
complete -c magi-users -n "__fish_magi_users_using_subcommand list" -l db -d 'The user database (default: users.db in the state directory)' -r -F
complete -c magi-users -n "__fish_magi_users_using_subcommand list" -l json -d 'One JSON object a line'
complete -c magi-users -n "__fish_magi_users_using_subcommand list" -s v -l verbose -d 'Say more: -v for debug, -vv for trace (overrides $MAGI_LOG)'
complete -c magi-users -n "__fish_magi_users_using_subcommand list" -s q -l quiet -d 'Say only errors (overrides $MAGI_LOG)'
complete -c magi-users -n "__fish_magi_users_using_subcommand list" -s h -l help -d 'Print help'
complete -c magi-users -n "__fish_magi_users_using_subcommand set" -l email -d 'A new email address' -r
complete -c magi-users -n "__fish_magi_users_using_subcommand set" -l name -d 'A new display name (Remote-Name)' -r
complete -c magi-users -n "__fish_magi_users_using_subcommand set" -l role -d 'A new role: admin, user, or a role made with `roles create`' -r
complete -c magi-users -n "__fish_magi_users_using_subcommand set" -l team -d 'The account\'s teams, replacing the ones it has (repeatable; --team \'\' for none)' -r
complete -c magi-users -n "__fish_magi_users_using_subcommand set" -l config -d 'Read the configuration from FILE instead of $MAGI_CONFIG or /etc/magi/magi.toml (~/.config/magi/magi.toml when not root); without any, the built-in description of the MAGI stack is used' -r -F
complete -c magi-users -n "__fish_magi_users_using_subcommand set" -l db -d 'The user database (default: users.db in the state directory)' -r -F
complete -c magi-users -n "__fish_magi_users_using_subcommand set" -s v -l verbose -d 'Say more: -v for debug, -vv for trace (overrides $MAGI_LOG)'
complete -c magi-users -n "__fish_magi_users_using_subcommand set" -s q -l quiet -d 'Say only errors (overrides $MAGI_LOG)'
complete -c magi-users -n "__fish_magi_users_using_subcommand set" -s h -l help -d 'Print help'
complete -c magi-users -n "__fish_magi_users_using_subcommand disable" -l config -d 'Read the configuration from FILE instead of $MAGI_CONFIG or /etc/magi/magi.toml (~/.config/magi/magi.toml when not root); without any, the built-in description of the MAGI stack is used' -r -F
complete -c magi-users -n "__fish_magi_users_using_subcommand disable" -l db -d 'The user database (default: users.db in the state directory)' -r -F
complete -c magi-users -n "__fish_magi_users_using_subcommand disable" -s v -l verbose -d 'Say more: -v for debug, -vv for trace (overrides $MAGI_LOG)'
complete -c magi-users -n "__fish_magi_users_using_subcommand disable" -s q -l quiet -d 'Say only errors (overrides $MAGI_LOG)'
complete -c magi-users -n "__fish_magi_users_using_subcommand disable" -s h -l help -d 'Print help'
complete -c magi-users -n "__fish_magi_users_using_subcommand enable" -l config -d 'Read the configuration from FILE instead of $MAGI_CONFIG or /etc/magi/magi.toml (~/.config/magi/magi.toml when not root); without any, the built-in description of the MAGI stack is used' -r -F
complete -c magi-users -n "__fish_magi_users_using_subcommand enable" -l db -d 'The user database (default: users.db in the state directory)' -r -F
complete -c magi-users -n "__fish_magi_users_using_subcommand enable" -s v -l verbose -d 'Say more: -v for debug, -vv for trace (overrides $MAGI_LOG)'
complete -c magi-users -n "__fish_magi_users_using_subcommand enable" -s q -l quiet -d 'Say only errors (overrides $MAGI_LOG)'
complete -c magi-users -n "__fish_magi_users_using_subcommand enable" -s h -l help -d 'Print help'
complete -c magi-users -n "__fish_magi_users_using_subcommand reset-password" -l password-file -d 'Read the password from the first line of FILE (- for stdin) instead of asking' -r -F
complete -c magi-users -n "__fish_magi_users_using_subcommand reset-password" -l config -d 'Read the configuration from FILE instead of $MAGI_CONFIG or /etc/magi/magi.toml (~/.config/magi/magi.toml when not root); without any, the built-in description of the MAGI stack is used' -r -F
complete -c magi-users -n "__fish_magi_users_using_subcommand reset-password" -l db -d 'The user database (default: users.db in the state directory)' -r -F
complete -c magi-users -n "__fish_magi_users_using_subcommand reset-password" -s v -l verbose -d 'Say more: -v for debug, -vv for trace (overrides $MAGI_LOG)'
complete -c magi-users -n "__fish_magi_users_using_subcommand reset-password" -s q -l quiet -d 'Say only errors (overrides $MAGI_LOG)'
complete -c magi-users -n "__fish_magi_users_using_subcommand reset-password" -s h -l help -d 'Print help'
complete -c magi-users -n "__fish_magi_users_using_subcommand roles; and not __fish_seen_subcommand_from create list remove help" -l config -d 'Read the configuration from FILE instead of $MAGI_CONFIG or /etc/magi/magi.toml (~/.config/magi/magi.toml when not root); without any, the built-in description of the MAGI stack is used' -r -F
complete -c magi-users -n "__fish_magi_users_using_subcommand roles; and not __fish_seen_subcommand_from create list remove help" -l db -d 'The user database (default: users.db in the state directory)' -r -F
complete -c magi-users -n "__fish_magi_users_using_subcommand roles; and not __fish_seen_subcommand_from create list remove help" -s v -l verbose -d 'Say more: -v for debug, -vv for trace (overrides $MAGI_LOG)'
complete -c magi-users -n "__fish_magi_users_using_subcommand roles; and not __fish_seen_subcommand_from create list remove help" -s q -l quiet -d 'Say only errors (overrides $MAGI_LOG)'
complete -c magi-users -n "__fish_magi_users_using_subcommand roles; and not __fish_seen_subcommand_from create list remove help" -s h -l help -d 'Print help'
complete -c magi-users -n "__fish_magi_users_using_subcommand roles; and not __fish_seen_subcommand_from create list remove help" -f -a "create" -d 'Create a custom role'
complete -c magi-users -n "__fish_magi_users_using_subcommand roles; and not __fish_seen_subcommand_from create list remove help" -f -a "list" -d 'List roles with their permissions'
complete -c magi-users -n "__fish_magi_users_using_subcommand roles; and not __fish_seen_subcommand_from create list remove help" -f -a "remove" -d 'Remove a custom role that no account holds'
complete -c magi-users -n "__fish_magi_users_using_subcommand roles; and not __fish_seen_subcommand_from create list remove help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c magi-users -n "__fish_magi_users_using_subcommand roles; and __fish_seen_subcommand_from create" -l permissions -d 'Comma-separated permissions, e.g. chat,audit.read (`*` for all)' -r
complete -c magi-users -n "__fish_magi_users_using_subcommand roles; and __fish_seen_subcommand_from create" -l config -d 'Read the configuration from FILE instead of $MAGI_CONFIG or /etc/magi/magi.toml (~/.config/magi/magi.toml when not root); without any, the built-in description of the MAGI stack is used' -r -F
complete -c magi-users -n "__fish_magi_users_using_subcommand roles; and __fish_seen_subcommand_from create" -l db -d 'The user database (default: users.db in the state directory)' -r -F
complete -c magi-users -n "__fish_magi_users_using_subcommand roles; and __fish_seen_subcommand_from create" -s v -l verbose -d 'Say more: -v for debug, -vv for trace (overrides $MAGI_LOG)'
complete -c magi-users -n "__fish_magi_users_using_subcommand roles; and __fish_seen_subcommand_from create" -s q -l quiet -d 'Say only errors (overrides $MAGI_LOG)'
complete -c magi-users -n "__fish_magi_users_using_subcommand roles; and __fish_seen_subcommand_from create" -s h -l help -d 'Print help'
complete -c magi-users -n "__fish_magi_users_using_subcommand roles; and __fish_seen_subcommand_from list" -l config -d 'Read the configuration from FILE instead of $MAGI_CONFIG or /etc/magi/magi.toml (~/.config/magi/magi.toml when not root); without any, the built-in description of the MAGI stack is used' -r -F
complete -c magi-users -n "__fish_magi_users_using_subcommand roles; and __fish_seen_subcommand_from list" -l db -d 'The user database (default: users.db in the state directory)' -r -F
complete -c magi-users -n "__fish_magi_users_using_subcommand roles; and __fish_seen_subcommand_from list" -l json -d 'One JSON object a line'
complete -c magi-users -n "__fish_magi_users_using_subcommand roles; and __fish_seen_subcommand_from list" -s v -l verbose -d 'Say more: -v for debug, -vv for trace (overrides $MAGI_LOG)'
complete -c magi-users -n "__fish_magi_users_using_subcommand roles; and __fish_seen_subcommand_from list" -s q -l quiet -d 'Say only errors (overrides $MAGI_LOG)'
complete -c magi-users -n "__fish_magi_users_using_subcommand roles; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help'
complete -c magi-users -n "__fish_magi_users_using_subcommand roles; and __fish_seen_subcommand_from remove" -l config -d 'Read the configuration from FILE instead of $MAGI_CONFIG or /etc/magi/magi.toml (~/.config/magi/magi.toml when not root); without any, the built-in description of the MAGI stack is used' -r -F
complete -c magi-users -n "__fish_magi_users_using_subcommand roles; and __fish_seen_subcommand_from remove" -l db -d 'The user database (default: users.db in the state directory)' -r -F
complete -c magi-users -n "__fish_magi_users_using_subcommand roles; and __fish_seen_subcommand_from remove" -s v -l verbose -d 'Say more: -v for debug, -vv for trace (overrides $MAGI_LOG)'
complete -c magi-users -n "__fish_magi_users_using_subcommand roles; and __fish_seen_subcommand_from remove" -s q -l quiet -d 'Say only errors (overrides $MAGI_LOG)'
complete -c magi-users -n "__fish_magi_users_using_subcommand roles; and __fish_seen_subcommand_from remove" -s h -l help -d 'Print help'
complete -c magi-users -n "__fish_magi_users_using_subcommand roles; and __fish_seen_subcommand_from help" -f -a "create" -d 'Create a custom role'
complete -c magi-users -n "__fish_magi_users_using_subcommand roles; and __fish_seen_subcommand_from help" -f -a "list" -d 'List roles with their permissions'
complete -c magi-users -n "__fish_magi_users_using_subcommand roles; and __fish_seen_subcommand_from help" -f -a "remove" -d 'Remove a custom role that no account holds'
complete -c magi-users -n "__fish_magi_users_using_subcommand roles; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c magi-users -n "__fish_magi_users_using_subcommand teams; and not __fish_seen_subcommand_from add list remove help" -l config -d 'Read the configuration from FILE instead of $MAGI_CONFIG or /etc/magi/magi.toml (~/.config/magi/magi.toml when not root); without any, the built-in description of the MAGI stack is used' -r -F
complete -c magi-users -n "__fish_magi_users_using_subcommand teams; and not __fish_seen_subcommand_from add list remove help" -l db -d 'The user database (default: users.db in the state directory)' -r -F
complete -c magi-users -n "__fish_magi_users_using_subcommand teams; and not __fish_seen_subcommand_from add list remove help" -s v -l verbose -d 'Say more: -v for debug, -vv for trace (overrides $MAGI_LOG)'
complete -c magi-users -n "__fish_magi_users_using_subcommand teams; and not __fish_seen_subcommand_from add list remove help" -s q -l quiet -d 'Say only errors (overrides $MAGI_LOG)'
complete -c magi-users -n "__fish_magi_users_using_subcommand teams; and not __fish_seen_subcommand_from add list remove help" -s h -l help -d 'Print help'
complete -c magi-users -n "__fish_magi_users_using_subcommand teams; and not __fish_seen_subcommand_from add list remove help" -f -a "add" -d 'Create a team'
complete -c magi-users -n "__fish_magi_users_using_subcommand teams; and not __fish_seen_subcommand_from add list remove help" -f -a "list" -d 'List teams with their members'
complete -c magi-users -n "__fish_magi_users_using_subcommand teams; and not __fish_seen_subcommand_from add list remove help" -f -a "remove" -d 'Remove a team (its members stay, without it)'
complete -c magi-users -n "__fish_magi_users_using_subcommand teams; and not __fish_seen_subcommand_from add list remove help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c magi-users -n "__fish_magi_users_using_subcommand teams; and __fish_seen_subcommand_from add" -l config -d 'Read the configuration from FILE instead of $MAGI_CONFIG or /etc/magi/magi.toml (~/.config/magi/magi.toml when not root); without any, the built-in description of the MAGI stack is used' -r -F
complete -c magi-users -n "__fish_magi_users_using_subcommand teams; and __fish_seen_subcommand_from add" -l db -d 'The user database (default: users.db in the state directory)' -r -F
complete -c magi-users -n "__fish_magi_users_using_subcommand teams; and __fish_seen_subcommand_from add" -s v -l verbose -d 'Say more: -v for debug, -vv for trace (overrides $MAGI_LOG)'
complete -c magi-users -n "__fish_magi_users_using_subcommand teams; and __fish_seen_subcommand_from add" -s q -l quiet -d 'Say only errors (overrides $MAGI_LOG)'
complete -c magi-users -n "__fish_magi_users_using_subcommand teams; and __fish_seen_subcommand_from add" -s h -l help -d 'Print help'
complete -c magi-users -n "__fish_magi_users_using_subcommand teams; and __fish_seen_subcommand_from list" -l config -d 'Read the configuration from FILE instead of $MAGI_CONFIG or /etc/magi/magi.toml (~/.config/magi/magi.toml when not root); without any, the built-in description of the MAGI stack is used' -r -F
complete -c magi-users -n "__fish_magi_users_using_subcommand teams; and __fish_seen_subcommand_from list" -l db -d 'The user database (default: users.db in the state directory)' -r -F
complete -c magi-users -n "__fish_magi_users_using_subcommand teams; and __fish_seen_subcommand_from list" -l json -d 'One JSON object a line'
complete -c magi-users -n "__fish_magi_users_using_subcommand teams; and __fish_seen_subcommand_from list" -s v -l verbose -d 'Say more: -v for debug, -vv for trace (overrides $MAGI_LOG)'
complete -c magi-users -n "__fish_magi_users_using_subcommand teams; and __fish_seen_subcommand_from list" -s q -l quiet -d 'Say only errors (overrides $MAGI_LOG)'
complete -c magi-users -n "__fish_magi_users_using_subcommand teams; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help'
complete -c magi-users -n "__fish_magi_users_using_subcommand teams; and __fish_seen_subcommand_from remove" -l config -d 'Read the configuration from FILE instead of $MAGI_CONFIG or /etc/magi/magi.toml (~/.config/magi/magi.toml when not root); without any, the built-in description of the MAGI stack is used' -r -F
complete -c magi-users -n "__fish_magi_users_using_subcommand teams; and __fish_seen_subcommand_from remove" -l db -d 'The user database (default: users.db in the state directory)' -r -F
complete -c magi-users -n "__fish_magi_users_using_subcommand teams; and __fish_seen_subcommand_from remove" -s v -l verbose -d 'Say more: -v for debug, -vv for trace (overrides $MAGI_LOG)'
complete -c magi-users -n "__fish_magi_users_using_subcommand teams; and __fish_seen_subcommand_from remove" -s q -l quiet -d 'Say only errors (overrides $MAGI_LOG)'
complete -c magi-users -n "__fish_magi_users_using_subcommand teams; and __fish_seen_subcommand_from remove" -s h -l help -d 'Print help'
complete -c magi-users -n "__fish_magi_users_using_subcommand teams; and __fish_seen_subcommand_from help" -f -a "add" -d 'Create a team'
complete -c magi-users -n "__fish_magi_users_using_subcommand teams; and __fish_seen_subcommand_from help" -f -a "list" -d 'List teams with their members'
complete -c magi-users -n "__fish_magi_users_using_subcommand teams; and __fish_seen_subcommand_from help" -f -a "remove" -d 'Remove a team (its members stay, without it)'
complete -c magi-users -n "__fish_magi_users_using_subcommand teams; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c magi-users -n "__fish_magi_users_using_subcommand keys; and not __fish_seen_subcommand_from create list revoke help" -l config -d 'Read the configuration from FILE instead of $MAGI_CONFIG or /etc/magi/magi.toml (~/.config/magi/magi.toml when not root); without any, the built-in description of the MAGI stack is used' -r -F
complete -c magi-users -n "__fish_magi_users_using_subcommand keys; and not __fish_seen_subcommand_from create list revoke help" -l db -d 'The user database (default: users.db in the state directory)' -r -F
complete -c magi-users -n "__fish_magi_users_using_subcommand keys; and not __fish_seen_subcommand_from create list revoke help" -s v -l verbose -d 'Say more: -v for debug, -vv for trace (overrides $MAGI_LOG)'
complete -c magi-users -n "__fish_magi_users_using_subcommand keys; and not __fish_seen_subcommand_from create list revoke help" -s q -l quiet -d 'Say only errors (overrides $MAGI_LOG)'
complete -c magi-users -n "__fish_magi_users_using_subcommand keys; and not __fish_seen_subcommand_from create list revoke help" -s h -l help -d 'Print help'
complete -c magi-users -n "__fish_magi_users_using_subcommand keys; and not __fish_seen_subcommand_from create list revoke help" -f -a "create" -d 'Create an API key for USER and print it once; only its hash is kept'
complete -c magi-users -n "__fish_magi_users_using_subcommand keys; and not __fish_seen_subcommand_from create list revoke help" -f -a "list" -d 'List keys by their visible prefix (the keys themselves are not kept)'
complete -c magi-users -n "__fish_magi_users_using_subcommand keys; and not __fish_seen_subcommand_from create list revoke help" -f -a "revoke" -d 'Revoke a key by its prefix (magi_ab12cd34) or the whole key'
complete -c magi-users -n "__fish_magi_users_using_subcommand keys; and not __fish_seen_subcommand_from create list revoke help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c magi-users -n "__fish_magi_users_using_subcommand keys; and __fish_seen_subcommand_from create" -l label -d 'What the key is for, shown in listings' -r
complete -c magi-users -n "__fish_magi_users_using_subcommand keys; and __fish_seen_subcommand_from create" -l scope -d 'A permission the key may use (repeatable; default `*`, everything the user\'s role allows)' -r
complete -c magi-users -n "__fish_magi_users_using_subcommand keys; and __fish_seen_subcommand_from create" -l expires -d 'The key stops working after this long (e.g. 90d); default never' -r
complete -c magi-users -n "__fish_magi_users_using_subcommand keys; and __fish_seen_subcommand_from create" -l config -d 'Read the configuration from FILE instead of $MAGI_CONFIG or /etc/magi/magi.toml (~/.config/magi/magi.toml when not root); without any, the built-in description of the MAGI stack is used' -r -F
complete -c magi-users -n "__fish_magi_users_using_subcommand keys; and __fish_seen_subcommand_from create" -l db -d 'The user database (default: users.db in the state directory)' -r -F
complete -c magi-users -n "__fish_magi_users_using_subcommand keys; and __fish_seen_subcommand_from create" -s v -l verbose -d 'Say more: -v for debug, -vv for trace (overrides $MAGI_LOG)'
complete -c magi-users -n "__fish_magi_users_using_subcommand keys; and __fish_seen_subcommand_from create" -s q -l quiet -d 'Say only errors (overrides $MAGI_LOG)'
complete -c magi-users -n "__fish_magi_users_using_subcommand keys; and __fish_seen_subcommand_from create" -s h -l help -d 'Print help'
complete -c magi-users -n "__fish_magi_users_using_subcommand keys; and __fish_seen_subcommand_from list" -l user -d 'Only USER\'s keys' -r
complete -c magi-users -n "__fish_magi_users_using_subcommand keys; and __fish_seen_subcommand_from list" -l config -d 'Read the configuration from FILE instead of $MAGI_CONFIG or /etc/magi/magi.toml (~/.config/magi/magi.toml when not root); without any, the built-in description of the MAGI stack is used' -r -F
complete -c magi-users -n "__fish_magi_users_using_subcommand keys; and __fish_seen_subcommand_from list" -l db -d 'The user database (default: users.db in the state directory)' -r -F
complete -c magi-users -n "__fish_magi_users_using_subcommand keys; and __fish_seen_subcommand_from list" -l json -d 'One JSON object a line'
complete -c magi-users -n "__fish_magi_users_using_subcommand keys; and __fish_seen_subcommand_from list" -s v -l verbose -d 'Say more: -v for debug, -vv for trace (overrides $MAGI_LOG)'
complete -c magi-users -n "__fish_magi_users_using_subcommand keys; and __fish_seen_subcommand_from list" -s q -l quiet -d 'Say only errors (overrides $MAGI_LOG)'
complete -c magi-users -n "__fish_magi_users_using_subcommand keys; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help'
complete -c magi-users -n "__fish_magi_users_using_subcommand keys; and __fish_seen_subcommand_from revoke" -l config -d 'Read the configuration from FILE instead of $MAGI_CONFIG or /etc/magi/magi.toml (~/.config/magi/magi.toml when not root); without any, the built-in description of the MAGI stack is used' -r -F
complete -c magi-users -n "__fish_magi_users_using_subcommand keys; and __fish_seen_subcommand_from revoke" -l db -d 'The user database (default: users.db in the state directory)' -r -F
complete -c magi-users -n "__fish_magi_users_using_subcommand keys; and __fish_seen_subcommand_from revoke" -s v -l verbose -d 'Say more: -v for debug, -vv for trace (overrides $MAGI_LOG)'
complete -c magi-users -n "__fish_magi_users_using_subcommand keys; and __fish_seen_subcommand_from revoke" -s q -l quiet -d 'Say only errors (overrides $MAGI_LOG)'
complete -c magi-users -n "__fish_magi_users_using_subcommand keys; and __fish_seen_subcommand_from revoke" -s h -l help -d 'Print help'
complete -c magi-users -n "__fish_magi_users_using_subcommand keys; and __fish_seen_subcommand_from help" -f -a "create" -d 'Create an API key for USER and print it once; only its hash is kept'
complete -c magi-users -n "__fish_magi_users_using_subcommand keys; and __fish_seen_subcommand_from help" -f -a "list" -d 'List keys by their visible prefix (the keys themselves are not kept)'
complete -c magi-users -n "__fish_magi_users_using_subcommand keys; and __fish_seen_subcommand_from help" -f -a "revoke" -d 'Revoke a key by its prefix (magi_ab12cd34) or the whole key'
complete -c magi-users -n "__fish_magi_users_using_subcommand keys; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c magi-users -n "__fish_magi_users_using_subcommand quota; and not __fish_seen_subcommand_from set help" -l config -d 'Read the configuration from FILE instead of $MAGI_CONFIG or /etc/magi/magi.toml (~/.config/magi/magi.toml when not root); without any, the built-in description of the MAGI stack is used' -r -F
complete -c magi-users -n "__fish_magi_users_using_subcommand quota; and not __fish_seen_subcommand_from set help" -l db -d 'The user database (default: users.db in the state directory)' -r -F
complete -c magi-users -n "__fish_magi_users_using_subcommand quota; and not __fish_seen_subcommand_from set help" -s v -l verbose -d 'Say more: -v for debug, -vv for trace (overrides $MAGI_LOG)'
complete -c magi-users -n "__fish_magi_users_using_subcommand quota; and not __fish_seen_subcommand_from set help" -s q -l quiet -d 'Say only errors (overrides $MAGI_LOG)'
complete -c magi-users -n "__fish_magi_users_using_subcommand quota; and not __fish_seen_subcommand_from set help" -s h -l help -d 'Print help'
complete -c magi-users -n "__fish_magi_users_using_subcommand quota; and not __fish_seen_subcommand_from set help" -f -a "set" -d 'Set how many tokens (prompt and completion) the account may use per UTC day; kept in magi-limits\' policy, where `magi-limits quota set` writes too, and a running gateway applies it within a second'
complete -c magi-users -n "__fish_magi_users_using_subcommand quota; and not __fish_seen_subcommand_from set help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c magi-users -n "__fish_magi_users_using_subcommand quota; and __fish_seen_subcommand_from set" -l limits-db -d 'magi-limits\' database [default: usage.db in the state directory]' -r -F
complete -c magi-users -n "__fish_magi_users_using_subcommand quota; and __fish_seen_subcommand_from set" -l config -d 'Read the configuration from FILE instead of $MAGI_CONFIG or /etc/magi/magi.toml (~/.config/magi/magi.toml when not root); without any, the built-in description of the MAGI stack is used' -r -F
complete -c magi-users -n "__fish_magi_users_using_subcommand quota; and __fish_seen_subcommand_from set" -l db -d 'The user database (default: users.db in the state directory)' -r -F
complete -c magi-users -n "__fish_magi_users_using_subcommand quota; and __fish_seen_subcommand_from set" -s v -l verbose -d 'Say more: -v for debug, -vv for trace (overrides $MAGI_LOG)'
complete -c magi-users -n "__fish_magi_users_using_subcommand quota; and __fish_seen_subcommand_from set" -s q -l quiet -d 'Say only errors (overrides $MAGI_LOG)'
complete -c magi-users -n "__fish_magi_users_using_subcommand quota; and __fish_seen_subcommand_from set" -s h -l help -d 'Print help'
complete -c magi-users -n "__fish_magi_users_using_subcommand quota; and __fish_seen_subcommand_from help" -f -a "set" -d 'Set how many tokens (prompt and completion) the account may use per UTC day; kept in magi-limits\' policy, where `magi-limits quota set` writes too, and a running gateway applies it within a second'
complete -c magi-users -n "__fish_magi_users_using_subcommand quota; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c magi-users -n "__fish_magi_users_using_subcommand activity" -l user -d 'Only entries where NAME acted or was acted on' -r
complete -c magi-users -n "__fish_magi_users_using_subcommand activity" -l since -d 'How far back' -r
complete -c magi-users -n "__fish_magi_users_using_subcommand activity" -l config -d 'Read the configuration from FILE instead of $MAGI_CONFIG or /etc/magi/magi.toml (~/.config/magi/magi.toml when not root); without any, the built-in description of the MAGI stack is used' -r -F
complete -c magi-users -n "__fish_magi_users_using_subcommand activity" -l db -d 'The user database (default: users.db in the state directory)' -r -F
complete -c magi-users -n "__fish_magi_users_using_subcommand activity" -l json -d 'One JSON object a line'
complete -c magi-users -n "__fish_magi_users_using_subcommand activity" -s v -l verbose -d 'Say more: -v for debug, -vv for trace (overrides $MAGI_LOG)'
complete -c magi-users -n "__fish_magi_users_using_subcommand activity" -s q -l quiet -d 'Say only errors (overrides $MAGI_LOG)'
complete -c magi-users -n "__fish_magi_users_using_subcommand activity" -s h -l help -d 'Print help'
complete -c magi-users -n "__fish_magi_users_using_subcommand serve" -l listen -d 'Listen here instead of [users] listen (default 127.0.0.1:9091)' -r
complete -c magi-users -n "__fish_magi_users_using_subcommand serve" -l config -d 'Read the configuration from FILE instead of $MAGI_CONFIG or /etc/magi/magi.toml (~/.config/magi/magi.toml when not root); without any, the built-in description of the MAGI stack is used' -r -F
complete -c magi-users -n "__fish_magi_users_using_subcommand serve" -l db -d 'The user database (default: users.db in the state directory)' -r -F
complete -c magi-users -n "__fish_magi_users_using_subcommand serve" -s v -l verbose -d 'Say more: -v for debug, -vv for trace (overrides $MAGI_LOG)'
complete -c magi-users -n "__fish_magi_users_using_subcommand serve" -s q -l quiet -d 'Say only errors (overrides $MAGI_LOG)'
complete -c magi-users -n "__fish_magi_users_using_subcommand serve" -s h -l help -d 'Print help'
complete -c magi-users -n "__fish_magi_users_using_subcommand help; and not __fish_seen_subcommand_from add remove list set disable enable reset-password roles teams keys quota activity serve help" -f -a "add" -d 'Create an account; the password is asked for, or read from --password-file or stdin'
complete -c magi-users -n "__fish_magi_users_using_subcommand help; and not __fish_seen_subcommand_from add remove list set disable enable reset-password roles teams keys quota activity serve help" -f -a "remove" -d 'Delete an account with its sessions and API keys'
complete -c magi-users -n "__fish_magi_users_using_subcommand help; and not __fish_seen_subcommand_from add remove list set disable enable reset-password roles teams keys quota activity serve help" -f -a "list" -d 'List accounts'
complete -c magi-users -n "__fish_magi_users_using_subcommand help; and not __fish_seen_subcommand_from add remove list set disable enable reset-password roles teams keys quota activity serve help" -f -a "set" -d 'Change an account\'s email, display name, role or teams'
complete -c magi-users -n "__fish_magi_users_using_subcommand help; and not __fish_seen_subcommand_from add remove list set disable enable reset-password roles teams keys quota activity serve help" -f -a "disable" -d 'Stop an account from logging in and end its sessions; its keys stop working too'
complete -c magi-users -n "__fish_magi_users_using_subcommand help; and not __fish_seen_subcommand_from add remove list set disable enable reset-password roles teams keys quota activity serve help" -f -a "enable" -d 'Let a disabled account log in again'
complete -c magi-users -n "__fish_magi_users_using_subcommand help; and not __fish_seen_subcommand_from add remove list set disable enable reset-password roles teams keys quota activity serve help" -f -a "reset-password" -d 'Set a new password and end every session of the account'
complete -c magi-users -n "__fish_magi_users_using_subcommand help; and not __fish_seen_subcommand_from add remove list set disable enable reset-password roles teams keys quota activity serve help" -f -a "roles" -d 'Roles and their permissions (built in: admin has every permission, user has `chat`)'
complete -c magi-users -n "__fish_magi_users_using_subcommand help; and not __fish_seen_subcommand_from add remove list set disable enable reset-password roles teams keys quota activity serve help" -f -a "teams" -d 'Teams, which become groups in Remote-Groups'
complete -c magi-users -n "__fish_magi_users_using_subcommand help; and not __fish_seen_subcommand_from add remove list set disable enable reset-password roles teams keys quota activity serve help" -f -a "keys" -d 'API keys: `Authorization: Bearer magi_...` instead of a login'
complete -c magi-users -n "__fish_magi_users_using_subcommand help; and not __fish_seen_subcommand_from add remove list set disable enable reset-password roles teams keys quota activity serve help" -f -a "quota" -d 'The daily token quota the magi-limits gateway enforces for an account'
complete -c magi-users -n "__fish_magi_users_using_subcommand help; and not __fish_seen_subcommand_from add remove list set disable enable reset-password roles teams keys quota activity serve help" -f -a "activity" -d 'The audit log: logins, failures, lockouts, account, role, team and key changes'
complete -c magi-users -n "__fish_magi_users_using_subcommand help; and not __fish_seen_subcommand_from add remove list set disable enable reset-password roles teams keys quota activity serve help" -f -a "serve" -d 'Serve forward-auth (/auth, /auth-request), /login and /logout for the reverse proxy'
complete -c magi-users -n "__fish_magi_users_using_subcommand help; and not __fish_seen_subcommand_from add remove list set disable enable reset-password roles teams keys quota activity serve help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c magi-users -n "__fish_magi_users_using_subcommand help; and __fish_seen_subcommand_from roles" -f -a "create" -d 'Create a custom role'
complete -c magi-users -n "__fish_magi_users_using_subcommand help; and __fish_seen_subcommand_from roles" -f -a "list" -d 'List roles with their permissions'
complete -c magi-users -n "__fish_magi_users_using_subcommand help; and __fish_seen_subcommand_from roles" -f -a "remove" -d 'Remove a custom role that no account holds'
complete -c magi-users -n "__fish_magi_users_using_subcommand help; and __fish_seen_subcommand_from teams" -f -a "add" -d 'Create a team'
complete -c magi-users -n "__fish_magi_users_using_subcommand help; and __fish_seen_subcommand_from teams" -f -a "list" -d 'List teams with their members'
complete -c magi-users -n "__fish_magi_users_using_subcommand help; and __fish_seen_subcommand_from teams" -f -a "remove" -d 'Remove a team (its members stay, without it)'
complete -c magi-users -n "__fish_magi_users_using_subcommand help; and __fish_seen_subcommand_from keys" -f -a "create" -d 'Create an API key for USER and print it once; only its hash is kept'
complete -c magi-users -n "__fish_magi_users_using_subcommand help; and __fish_seen_subcommand_from keys" -f -a "list" -d 'List keys by their visible prefix (the keys themselves are not kept)'
complete -c magi-users -n "__fish_magi_users_using_subcommand help; and __fish_seen_subcommand_from keys" -f -a "revoke" -d 'Revoke a key by its prefix (magi_ab12cd34) or the whole key'
complete -c magi-users -n "__fish_magi_users_using_subcommand help; and __fish_seen_subcommand_from quota" -f -a "set" -d 'Set how many tokens (prompt and completion) the account may use per UTC day; kept in magi-limits\' policy, where `magi-limits quota set` writes too, and a running gateway applies it within a second'
