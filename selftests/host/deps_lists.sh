#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# scripts/deps.sh and the top Makefile (TAP): a plain "make" installs build
# dependencies only; QEMU, kernel images and lint tools come with "make
# check" (and QEMU and the images with "make demo").  Reads the lists
# (deps.sh --list) and what make would run (make -n): installs nothing.
set -u

top=$(cd "$(dirname "$0")/../.." && pwd)
deps=$top/scripts/deps.sh
tmp=$(mktemp -d /tmp/ivshm-deps.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

n=0
failed=0
ok() { n=$((n + 1)); echo "ok $n $1"; }
not_ok() { n=$((n + 1)); echo "not ok $n $1"; failed=1; }
diag() { sed -e 's/^/# /' "$@"; }

echo "1..7"

# Run-time and lint packages: never a build dependency.
runtime='^(qemu-.*|linux-image-.*|lintian|sparse|busybox.*|libvirt-.*|dkms|systemd)$'

list() { timeout 20 "$deps" --list "$@" 2>&1 </dev/null; }
list >"$tmp/build"
list --demo >"$tmp/demo"
list --check >"$tmp/check"

if grep -qx 'gcc' "$tmp/build" && grep -qx 'libudev-dev' "$tmp/build" &&
   grep -q '^linux-headers-' "$tmp/build"; then
	ok "deps.sh --list: build dependencies (gcc, libudev-dev, headers)"
else
	not_ok "deps.sh --list: build dependencies (gcc, libudev-dev, headers)"
	diag "$tmp/build"
fi
if grep -Eq "$runtime" "$tmp/build"; then
	not_ok "build list has no QEMU, kernel image or lint tool"
	grep -E "$runtime" "$tmp/build" | diag
else
	ok "build list has no QEMU, kernel image or lint tool"
fi
if grep -qx 'qemu-system-x86' "$tmp/demo" &&
   grep -q '^linux-image-' "$tmp/demo" && ! grep -qx lintian "$tmp/demo"; then
	ok "demo list: QEMU and kernel images, no lint tools"
else
	not_ok "demo list: QEMU and kernel images, no lint tools"
	diag "$tmp/demo"
fi
missing=$(for p in qemu-system-x86 lintian sparse systemd libvirt-clients \
		linux-image-amd64 linux-image-6.12-rt-amd64 clang; do
		grep -qx "$p" "$tmp/check" || echo "$p"; done)
if [ -z "$missing" ] && [ -z "$(comm -23 <(sort -u "$tmp/build") <(sort -u "$tmp/check"))" ]; then
	ok "check list: build list plus QEMU, every image, lint tools, systemd"
else
	not_ok "check list: build list plus QEMU, every image, lint tools, systemd"
	echo "missing: $missing" | diag
fi

# What each make target installs with.
mkn() { make -n --no-print-directory -C "$top" "$1" 2>/dev/null | grep 'scripts/deps.sh'; }
check_target() {
	local target=$1 want=$2 got
	got=$(mkn "$target" | sed 's/.*scripts\/deps\.sh//; s/^ *//')
	if [ "$got" = "$want" ]; then
		ok "make $target runs deps.sh ${want:-(build only)}"
	else
		not_ok "make $target runs deps.sh ${want:-(build only)}"
		echo "got: '$got'" | diag
	fi
}
check_target all ""
check_target check "--check"
check_target demo "--demo"
exit $failed
