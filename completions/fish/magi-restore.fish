complete -c magi-restore -l config -d 'Read the configuration from FILE instead of $MAGI_CONFIG or /etc/magi/magi.toml (~/.config/magi/magi.toml when not root); without any, the built-in description of the MAGI stack is used' -r -F
complete -c magi-restore -l at -d 'Restore the newest backup taken at or before this local time (\'2026-11-20 14:30\')' -r
complete -c magi-restore -l timestamp -d 'Point-in-time: each SQLite database as of its last transaction committed at or before this time (\'2026-11-20 14:29:59\', from magi-pitr\'s capture), everything else from the newest backup taken by then' -r
complete -c magi-restore -l to -d 'With --from-cloud: write the files into this directory (absent or empty) by their paths; with --timestamp: write the databases rebuilt to that time there (DIR/SERVICE/FILE). Nothing of the stack is touched: to look before restoring' -r -F
complete -c magi-restore -l service -d 'Restore only this service (catalog or container name, or `config`); repeat for more' -r
complete -c magi-restore -l timeout -d 'How long to wait for the stack to be ready before rolling back (default: [backup] restore_timeout, 2m)' -r
complete -c magi-restore -s v -l verbose -d 'Say more: -v for debug, -vv for trace (overrides $MAGI_LOG)'
complete -c magi-restore -s q -l quiet -d 'Say only errors (overrides $MAGI_LOG)'
complete -c magi-restore -l from-cloud -d 'Take the backup from the cloud repository ([cloud]), fetching only the services restored'
complete -c magi-restore -l dry-run -d 'Verify and show what would be replaced; change nothing'
complete -c magi-restore -s y -l yes -d 'Do not ask before replacing data'
complete -c magi-restore -l json -d 'Print events as NDJSON on stdout'
complete -c magi-restore -s h -l help -d 'Print help'
complete -c magi-restore -s V -l version -d 'Print version'
