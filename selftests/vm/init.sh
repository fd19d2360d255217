#!/bin/busybox sh
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

echo "#DMESG-BEGIN"
dmesg
echo "#DMESG-END"
echo "#GUEST done"
sync
poweroff -f
