# %postun of magi, hand-written: systemd forgets the removed units; after an upgrade ($1 >= 1) the
# running magi-health is restarted on the new binary. The state in /var/lib/magi, the archives in
# /var/backups/magi and the magi user are kept.
if [ -d /run/systemd/system ]; then
    systemctl daemon-reload >/dev/null 2>&1 || :
    if [ "$1" -ge 1 ]; then
        systemctl try-restart magi-health.service >/dev/null 2>&1 || :
    fi
fi
