#!/bin/busybox sh
# SPDX-License-Identifier: GPL-2.0-only
# /init of the test initramfs: mount, start udevd, run the tests named on
# the kernel command line (ivshmtest.run=a,b,...) with their TAP output on
# ttyS0 (the harness's pipe), dump the kernel log, power off.
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t debugfs debugfs /sys/kernel/debug
mount -t tmpfs tmpfs /tmp
mkdir -p /dev/shm /run/udev
mount -t tmpfs tmpfs /dev/shm

out=/dev/ttyS0
stty -F $out raw -echo 2>/dev/null
exec >$out 2>&1 <$out

tests=
for arg in $(cat /proc/cmdline); do
	case "$arg" in
	ivshmtest.run=*) tests=$(echo "${arg#ivshmtest.run=}" | tr , ' ') ;;
	esac
done

echo "#GUEST up $(uname -r)"
# On a kernel with lockdep: is it on now, and still on after the tests
# (a report turns it off)?  The harness requires both lines when the
# kernel's .config has PROVE_LOCKING.
lockdep() {
	[ -e /proc/lockdep ] &&
		echo "#GUEST lockdep-$1 debug_locks=$(awk '/debug_locks:/ {print $2}' /proc/lockdep_stats)"
}
lockdep start
/lib/systemd/systemd-udevd --daemon
udevadm trigger --action=add --type=subsystems
udevadm trigger --action=add --type=devices
udevadm settle --timeout=30
echo "#GUEST udev settled"

cd /tests
for t in $tests; do
	echo "#BEGIN $t"
	./$t
	echo "#END $t $?"
done

lockdep end
echo "#DMESG-BEGIN"
dmesg
# kmemleak reports an object only once it has looked unreferenced in two
# scans; its findings ("unreferenced object ...") go into the dump.
kmemleak=
if [ -e /sys/kernel/debug/kmemleak ]; then
	echo scan > /sys/kernel/debug/kmemleak
	sleep 2
	echo scan > /sys/kernel/debug/kmemleak &&
		cat /sys/kernel/debug/kmemleak && kmemleak=scanned
fi
echo "#DMESG-END"
[ -n "$kmemleak" ] && echo "#GUEST kmemleak scanned"
echo "#GUEST done"
sync
poweroff -f
