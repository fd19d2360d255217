#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Debian's arm64 kernels for the arm64 guest lane, downloaded (apt-get
# download, arch arm64) and extracted rather than installed, cached outside
# the clone, one directory per kernel release keyed by the package version:
#
#   DIR/Image          the kernel (linux-image-KVER's vmlinuz: a plain Image)
#   DIR/config         its .config
#   DIR/modules.*      modules.builtin, .builtin.modinfo, .order (for depmod)
#   DIR/build/         the headers tree that M= module builds use
#
# The layout is that of the debug-kernel lane's cache, so the Makefile
# links DIR to build/kernels/KVER and selftests/vm/vm.py finds it the same.
#
# The arm64 headers package carries the arm64 .config, generated headers
# and Module.symvers; its scripts/ and tools/ are links into
# linux-kbuild-SERIES, whose programs (fixdep, modpost) must run on the
# build machine: those links are pointed at the host's own (amd64)
# linux-kbuild of the same version, and the -common part at the host's
# installed linux-headers-*-common (architecture-independent, same
# version).  So  make -C DIR/build ARCH=arm64 CROSS_COMPILE=aarch64-linux-gnu-
# builds a module for the arm64 kernel.
#
# Also extracted once per package version (shared by both kernels): the
# arm64 busybox-static and udev with the shared libraries its programs
# load, under ROOT/userland (see selftests/vm/initramfs.py).
#
# And the cross compiler: Debian's gcc-12-aarch64-linux-gnu conflicts with
# gcc-multilib (which the i386 compat test needs), so its package is
# extracted here too, not installed; the driver finds cc1, as, ld, libgcc
# and the arm64 libc through links to the installed, non-conflicting
# cpp-12-aarch64-linux-gnu, binutils-aarch64-linux-gnu,
# libgcc-12-dev-arm64-cross and libc6-dev-arm64-cross (scripts/deps.sh).
#
#   arm64-kernels.sh           fetch unless cached; print "KVER DIR" lines
#   arm64-kernels.sh --kvers   print the kernel releases (from host headers)
#   arm64-kernels.sh --userland  fetch unless cached; print its directory
#   arm64-kernels.sh --root    print the cache root
#   arm64-kernels.sh --cc      fetch unless cached; print the gcc's path
#   arm64-kernels.sh --cc-path print the gcc's path (fetched or not)
#
# Cache root: $IVSHM_KERNEL_CACHE/arm64, else /var/cache/ivshm/arm64 (root)
# or ~/.cache/ivshm/arm64.
set -euo pipefail

if [ -n "${IVSHM_KERNEL_CACHE:-}" ]; then
	root=$IVSHM_KERNEL_CACHE/arm64
elif [ "$(id -u)" = 0 ]; then
	root=/var/cache/ivshm/arm64
else
	root=${XDG_CACHE_HOME:-$HOME/.cache}/ivshm/arm64
fi

# The arm64 kernels of the same releases as the host's amd64 standard
# headers: 6.1.0-57-amd64 -> 6.1.0-57-arm64.
kvers() {
	local s h
	for s in 6.1. 6.12.; do
		h=$(ls -dv /usr/src/linux-headers-"$s"*-amd64 2>/dev/null |
			grep -v -- '-rt-amd64$' | tail -n1)
		[ -n "$h" ] && basename "${h%-amd64}-arm64" | sed 's/^linux-headers-//'
	done
}

pkgver() {
	apt-cache show "$1:arm64" 2>/dev/null | sed -n 's/^Version: //p' | head -n1
}

# download PKG... into $tmp/debs (one apt at a time on this machine)
download() {
	mkdir -p "$tmp/debs"
	(cd "$tmp/debs" && flock /tmp/ivshm-apt.lock apt-get download -q -o APT::Sandbox::User=root "$@" >/dev/null)
}

fetch_kernel() {
	local kver=$1 ver key dir base common kbuild series
	ver=$(pkgver "linux-image-$kver")
	[ -n "$ver" ] || { echo "arm64-kernels: no linux-image-$kver:arm64 (dpkg --add-architecture arm64; apt-get update)" >&2; exit 1; }
	key=$kver-$ver
	dir=$root/$key
	if [ ! -f "$dir/.done" ]; then
		tmp=$(mktemp -d "$root/.tmp.XXXXXX")
		download "linux-image-$kver:arm64=$ver" "linux-headers-$kver:arm64=$ver"
		mkdir -p "$tmp/x"
		for d in "$tmp"/debs/*.deb; do dpkg-deb -x "$d" "$tmp/x"; done
		mkdir -p "$tmp/out"
		cp "$tmp/x/boot/vmlinuz-$kver" "$tmp/out/Image"
		cp "$tmp/x/boot/config-$kver" "$tmp/out/config"
		cp "$tmp/x/lib/modules/$kver"/modules.{builtin,builtin.modinfo,order} "$tmp/out/"
		mv "$tmp/x/usr/src/linux-headers-$kver" "$tmp/out/build"
		base=${kver%-arm64}
		common=/usr/src/linux-headers-$base-common
		[ -d "$common" ] || { echo "arm64-kernels: $common missing (the amd64 headers bring it)" >&2; exit 1; }
		# Every link into the packages' own paths now points at the host's.
		find "$tmp/out/build" -type l | while read -r l; do
			t=$(readlink "$l")
			case "$t" in
			*linux-headers-$base-common*) ln -sfn "$common${t##*linux-headers-$base-common}" "$l" ;;
			*/lib/linux-kbuild-*) series=${t##*/lib/linux-kbuild-}; ln -sfn "/usr/lib/linux-kbuild-$series" "$l" ;;
			esac
		done
		rm -rf "$dir"
		mv "$tmp/out" "$dir"
		rm -rf "$tmp"
		touch "$dir/.done"
	fi
	echo "$kver $dir"
}

# One userland, replaced when a package version changes (its .done holds
# them): its path stays the same for the Makefile, which links against its
# libudev.
fetch_userland() {
	local pkgs=(busybox-static udev libudev1 libudev-dev libc6 libkmod2
		    libacl1 libblkid1 libcap2 libselinux1 libzstd1 liblzma5
		    libssl3 libpcre2-8-0)
	local key p dir=$root/userland
	key=$(for p in "${pkgs[@]}"; do echo "$p=$(pkgver "$p")"; done)
	if [ "$(cat "$dir/.done" 2>/dev/null)" != "$key" ]; then
		tmp=$(mktemp -d "$root/.tmp.XXXXXX")
		download "${pkgs[@]/%/:arm64}"
		mkdir -p "$tmp/x"
		for d in "$tmp"/debs/*.deb; do dpkg-deb -x "$d" "$tmp/x"; done
		rm -rf "$dir"
		mv "$tmp/x" "$dir"
		rm -rf "$tmp"
		echo "$key" > "$dir/.done"
	fi
	echo "$dir"
}

ccver() {
	dpkg-query -W -f='${Version}' cpp-12-aarch64-linux-gnu 2>/dev/null || echo none
}

ccpath() {
	echo "$root/gcc-$(ccver)/usr/bin/aarch64-linux-gnu-gcc"
}

# The gcc driver package, extracted, beside links to what it runs and
# links against: found relative to the driver, as gcc looks for them.
fetch_cc() {
	local dir f gccdir=usr/lib/gcc-cross/aarch64-linux-gnu/12
	dir=$root/gcc-$(ccver)
	if [ ! -f "$dir/.done" ]; then
		tmp=$(mktemp -d "$root/.tmp.XXXXXX")
		download "gcc-12-aarch64-linux-gnu=$(ccver)"
		dpkg-deb -x "$tmp"/debs/gcc-12-*.deb "$tmp/x"
		for f in /$gccdir/*; do
			[ -e "$tmp/x/$gccdir/${f##*/}" ] || ln -s "$f" "$tmp/x/$gccdir/"
		done
		for f in /usr/bin/aarch64-linux-gnu-*; do
			[ -e "$tmp/x/usr/bin/${f##*/}" ] || ln -s "$f" "$tmp/x/usr/bin/"
		done
		ln -s /usr/aarch64-linux-gnu "$tmp/x/usr/aarch64-linux-gnu"
		ln -s aarch64-linux-gnu-gcc-12 "$tmp/x/usr/bin/aarch64-linux-gnu-gcc"
		rm -rf "$dir"
		mv "$tmp/x" "$dir"
		rm -rf "$tmp"
		touch "$dir/.done"
	fi
	ccpath
}

case "${1:-}" in
--kvers) kvers; exit 0 ;;
--cc-path) ccpath; exit 0 ;;
--root) echo "$root"; exit 0 ;;
--cc) mkdir -p "$root"; exec 9>"$root/.lock"; flock 9; fetch_cc; exit 0 ;;
--userland) mkdir -p "$root"; exec 9>"$root/.lock"; flock 9; fetch_userland; exit 0 ;;
"") ;;
*) echo "usage: $0 [--kvers|--userland|--cc|--cc-path|--root]" >&2; exit 2 ;;
esac

mkdir -p "$root"
exec 9>"$root/.lock"
flock 9
for k in $(kvers); do
	fetch_kernel "$k"
done
