# %preun of magi, hand-written: on erase ($1 = 0) every MAGI unit is disabled and stopped while its
# binaries are still there; an upgrade ($1 = 1) leaves them alone.
if [ "$1" -eq 0 ] && command -v systemctl >/dev/null; then
    systemctl --no-reload disable magi-health.service magi-backup.timer magi-backup-prune.timer \
        magi-alert.socket magi-alert.service magi-users.service magi-dashboard.service magi-metrics-alerts.service magi-metrics-scrape.service magi-limits.socket magi-limits.service \
        magi-costs-check.timer magi-sla-burn.timer magi-backup-cloud-check.timer magi-pitr.service magi-pitr-drill.timer magi-pitr-ship.timer >/dev/null 2>&1 || :
    if [ -d /run/systemd/system ]; then
        systemctl stop magi-backup.timer magi-backup-prune.timer magi-health.service magi-alert.service \
            magi-alert.socket magi-users.service magi-dashboard.service magi-metrics-alerts.service magi-metrics-scrape.service magi-limits.socket magi-limits.service magi-costs-check.timer magi-sla-burn.timer magi-backup-cloud-check.timer magi-pitr.service magi-pitr-drill.timer magi-pitr-ship.timer \
            >/dev/null 2>&1 || :
    fi
fi
