#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Cross packaging for arm64 (TAP): dpkg-buildpackage -aarm64 of a copy of
# the tracked files builds arm64 libivshm1, libivshm-dev and ivshm-tools,
# whose programs and library are aarch64 ELF, and an architecture-
# independent ivshm-dkms.  The cross gcc and the arm64 libudev to link
# against are those of the arm64 lane (scripts/arm64-kernels.sh: the gcc
# is extracted, since its package conflicts with gcc-multilib, so the
# build-dependency check is left out: -d).  Everything happens in a
# temporary directory.
set -u

top=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d /tmp/ivshm-packaging-arm64.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

n=0
failed=0
check() {
	local name=$1; shift
	n=$((n + 1))
	if "$@" >"$tmp/log" 2>&1; then
		echo "ok $n $name"
	else
		sed -e 's/^/# /' "$tmp/log" | tail -n 30
		echo "not ok $n $name"
		failed=1
	fi
}

echo "TAP version 13"
echo "1..5"
cc=$("$top/scripts/arm64-kernels.sh" --cc-path)
udev=$("$top/scripts/arm64-kernels.sh" --root)/userland/usr/lib/aarch64-linux-gnu
mkdir -p "$tmp/pkg/ivshm"
(cd "$top" && git ls-files -z | while IFS= read -r -d '' f; do
	[ -e "$f" ] && printf '%s\0' "$f"; done | tar --null -T - -cf -) |
	tar -xf - -C "$tmp/pkg/ivshm"
check "deb-arm64:dpkg-buildpackage" bash -c '
	test -x "$2" || { echo "no cross gcc at $2 (make arm64)"; exit 1; }
	cd "$1/ivshm" && env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL \
		PATH="$(dirname "$2"):$PATH" DEB_LDFLAGS_APPEND="-L$3" \
		dpkg-buildpackage -aarm64 -d -us -uc -b > ../build.log 2>&1 ||
		{ tail -n 40 ../build.log; exit 1; }' _ "$tmp/pkg" "$cc" "$udev"

# deb_arch PKG ARCH ELF-PATHS...: PKG's .deb is for ARCH and each path in
# it is an aarch64 ELF file (for an archive: each of its members).
deb_arch() {
	local p=$1 arch=$2 f x; shift 2
	f=$(ls "$tmp/pkg/${p}"_*.deb 2>/dev/null | head -n1)
	[ -n "$f" ] || { echo "no $p .deb"; ls "$tmp/pkg"; return 1; }
	[ "$(dpkg-deb -f "$f" Architecture)" = "$arch" ] ||
		{ echo "$p: Architecture $(dpkg-deb -f "$f" Architecture), not $arch"; return 1; }
	x=$tmp/x.$p
	dpkg-deb -x "$f" "$x"
	for e in "$@"; do
		if [ "${e%.a}" != "$e" ]; then
			mkdir "$x.ar" && (cd "$x.ar" && ar x "$x$e") || return 1
			set -- "$x.ar"/*.o
			[ -e "$1" ] || { echo "$e: no members"; return 1; }
		else
			set -- "$x$e"
		fi
		for o in "$@"; do
			file -L "$o" | grep -q 'ELF 64-bit LSB .*ARM aarch64' ||
				{ file -L "$o"; return 1; }
		done
	done
}
check "deb-arm64:libivshm1" deb_arch libivshm1 arm64 \
	/usr/lib/aarch64-linux-gnu/libivshm.so.1
check "deb-arm64:libivshm-dev" deb_arch libivshm-dev arm64 \
	/usr/lib/aarch64-linux-gnu/libivshm.a
check "deb-arm64:ivshm-tools" deb_arch ivshm-tools arm64 \
	/usr/bin/ivshm /usr/bin/ivshm-server /usr/bin/ivshm-demo
check "deb-arm64:ivshm-dkms-arch-all" deb_arch ivshm-dkms all
exit $failed
