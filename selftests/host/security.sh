#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Security of what we install (TAP).  ivshm-server@.service:
# systemd-analyze security rates the unit at most 2.0 (offline: no running
# systemd needed); it runs the server in the foreground (-F) as its own
# user with a 0660 socket; and the server works with what the unit leaves
# it: an unprivileged user and group, no capabilities, no new privileges,
# no network, umask 0077.  udev: /dev/ivshmN goes to group ivshm only, no
# "uaccess" for the console user.
set -u

top=$(cd "$(dirname "$0")/../.." && pwd)
unit=$top/systemd/ivshm-server@.service
srv=${IVSHM_SERVER:-$top/build/tools/ivshm-server}
cli=$top/build/tools/ivshm
max=2.0
tmp=$(mktemp -d /tmp/ivshm-unit.XXXXXX)
pid=
cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT

n=0
failed=0
ok() { n=$((n + 1)); echo "ok $n $1"; }
not_ok() { n=$((n + 1)); echo "not ok $n $1"; failed=1; }
skip() { n=$((n + 1)); echo "ok $n $1 # SKIP $2"; }
diag() { sed -e 's/^/# /' "$@"; }

echo "1..6"

# 1. the exposure level, offline (systemd 252 and later)
if ! command -v systemd-analyze >/dev/null; then
	skip "systemd-analyze security <= $max" "systemd-analyze not installed"
else
	# The file name is the unit name systemd-analyze reports.
	cp "$unit" "$tmp/ivshm-server@test.service"
	systemd-analyze security --offline=yes --no-pager \
		"$tmp/ivshm-server@test.service" >"$tmp/sec" 2>&1
	level=$(sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p' "$tmp/sec")
	if [ -n "$level" ] && awk -v l="$level" -v m="$max" 'BEGIN { exit !(l <= m) }'; then
		ok "systemd-analyze security: exposure $level <= $max"
	else
		not_ok "systemd-analyze security: exposure '${level:-?}' <= $max"
		grep -v '^✓' "$tmp/sec" | tail -n 40 | diag
	fi
fi

# 2. what the unit runs: the foreground server, as its own user
execstart=$(sed -n 's/^ExecStart=//p' "$unit")
if [[ " $execstart " == *" -F "* ]] && grep -q '^User=ivshm$' "$unit" &&
   grep -qE '^u[[:space:]]+ivshm[[:space:]]' "$top/systemd/ivshm.sysusers.conf"; then
	ok "unit runs ivshm-server -F as user ivshm (created by sysusers.d)"
else
	not_ok "unit runs ivshm-server -F as user ivshm (created by sysusers.d)"
	echo "ExecStart=$execstart" | diag
fi

# 3. the default socket: 0660 and the group libvirt's QEMU is in (kvm)
if [[ " $execstart " == *" --socket-mode 0660 "* ]] &&
   grep -q '^Group=kvm$' "$unit" && grep -q '^UMask=0077$' "$unit"; then
	ok "unit: socket mode 0660, group kvm"
else
	not_ok "unit: socket mode 0660, group kvm"
fi

# 4-5. the server under the unit's restrictions, approximated: user
# nobody, group kvm, no capabilities, no_new_privs, a network namespace
# of its own, umask 0077; a host peer (root here) joins.
if [ "$(id -u)" != 0 ] || ! command -v setpriv >/dev/null ||
   ! command -v unshare >/dev/null || ! getent group kvm >/dev/null; then
	skip "server works unprivileged without network" "needs root, setpriv, unshare and group kvm"
	skip "socket 0660 group kvm" "needs root, setpriv, unshare and group kvm"
else
	# the unit's RuntimeDirectory: owned by the service's user and group
	chmod 0755 "$tmp"
	mkdir -m 0755 "$tmp/run" && chown nobody:kvm "$tmp/run"
	sock=$tmp/run/s.sock
	(umask 0077; exec unshare -n setpriv --reuid=nobody --regid=kvm \
		--clear-groups --inh-caps=-all --bounding-set=-all \
		--no-new-privs "$srv" -F -S "$sock" --socket-mode 0660 \
		-l 64K -n 2) >"$tmp/log" 2>&1 &
	pid=$!
	for _ in $(seq 50); do
		[ -S "$sock" ] && break
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if [ -S "$sock" ] && "$cli" info "unix:$sock" >"$tmp/info" 2>&1; then
		ok "server works unprivileged without network"
	else
		not_ok "server works unprivileged without network"
		diag "$tmp/log" "$tmp/info" 2>/dev/null
	fi
	st=$(stat -c '%a %G' "$sock" 2>/dev/null)
	if [ "$st" = "660 kvm" ]; then
		ok "socket 0660 group kvm"
	else
		not_ok "socket 0660 group kvm (got '$st')"
	fi
fi
# 6. udev: the ivshm group only
rules=$top/udev/60-ivshm.rules
if grep -v '^#' "$rules" | grep -q 'uaccess'; then
	not_ok "udev rules: no uaccess tag"
	grep -n uaccess "$rules" | diag
elif grep -q 'GROUP="ivshm", MODE="0660"' "$rules" &&
     grep -qE '^g[[:space:]]+ivshm[[:space:]]' "$top/systemd/ivshm.sysusers.conf"; then
	ok "udev rules: no uaccess tag; group ivshm, mode 0660"
else
	not_ok "udev rules: no uaccess tag; group ivshm, mode 0660"
fi
exit $failed
