# %post of magi, hand-written, without the systemd rpm macros: the magi user, the backup directory, and on first
# install ($1 = 1) magi-health.service and magi-backup.timer enabled; on an upgrade the admin's choice stays.
if command -v systemd-sysusers >/dev/null; then
    systemd-sysusers /usr/lib/sysusers.d/magi.conf || :
elif ! getent passwd magi >/dev/null; then
    useradd --system --user-group --home-dir /var/lib/magi --no-create-home \
        --shell /sbin/nologin --comment "MAGI ops" magi || :
fi
if command -v systemd-tmpfiles >/dev/null; then
    systemd-tmpfiles --create /usr/lib/tmpfiles.d/magi.conf || :
else
    mkdir -p /var/backups/magi && chmod 0700 /var/backups/magi || :
fi
if [ "$1" -eq 1 ] && command -v systemctl >/dev/null; then
    # enable works offline (a chroot, an image build): it only makes the [Install] symlinks.
    systemctl --no-reload enable magi-health.service magi-backup.timer >/dev/null 2>&1 || :
fi
if [ -d /run/systemd/system ]; then
    systemctl daemon-reload >/dev/null 2>&1 || :
    # The timer only waits for 03:00. magi-health needs the Docker socket through the docker group,
    # so it starts only where Docker is. (An upgrade restarts it in %postun, on the new binary.)
    if [ "$1" -eq 1 ]; then
        systemctl start magi-backup.timer >/dev/null 2>&1 || :
        if getent group docker >/dev/null; then
            systemctl start magi-health.service >/dev/null 2>&1 || :
        fi
    fi
fi
