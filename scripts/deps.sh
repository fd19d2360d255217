#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Install what ivshm needs, then extract the few kernel-tree files we use
# (kselftest harness, checkpatch, DRM's uapi for driver_dmabuf) from Debian's linux-source-6.1 into
# build/ksrc.  Idempotent and quiet when all is there.
#
#   deps.sh           build dependencies only (plain "make"): compilers,
#                     kernel headers (Debian 6.1 and 6.12, standard and
#                     PREEMPT_RT), linux-source-6.12 and its build tools
#                     for scripts/debug-kernel.sh, libudev
#   deps.sh --demo    also what "make demo" boots: QEMU, the 6.1 and 6.12
#                     kernel images, busybox, cpio, udev
#   deps.sh --check   also what "make check" runs: every kernel image,
#                     sparse, lintian, the packaging and libvirt tools,
#                     clang's fuzzer, systemd-analyze, OVMF
#   deps.sh --bench   also the references of "make bench" (ck, DPDK)
#   deps.sh --list [--demo|--check|--bench]
#                     print that list, one package a line; install nothing
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
out="${B:-$top/build}/ksrc"

build=(gcc make pkg-config python3 libudev-dev xz-utils gcc-multilib
       linux-headers-amd64 linux-headers-6.12-amd64
       linux-headers-rt-amd64 linux-headers-6.12-rt-amd64
       linux-source-6.1 linux-source-6.12
       bc bison flex libelf-dev libssl-dev
       binutils-aarch64-linux-gnu cpp-12-aarch64-linux-gnu
       libc6-dev-arm64-cross libgcc-12-dev-arm64-cross
       liburing-dev)
# What booting a guest takes (selftests/vm): QEMU, a kernel image, the
# initramfs's busybox, cpio, kmod and systemd-udevd.
demo=(qemu-system-x86 busybox-static cpio kmod udev
      linux-image-amd64 linux-image-6.12-amd64)
check=("${demo[@]}" linux-image-rt-amd64 linux-image-6.12-rt-amd64
       clang llvm libclang-rt-14-dev sparse
       dkms debhelper dh-dkms dpkg-dev build-essential lintian
       libvirt-clients systemd qemu-system-arm libudev1:arm64
       man-db manpages-dev ovmf)
# About 150 MB installed, so not for make check, whose smoke run reports
# those two references as skipped without them.
bench=(libck-dev libdpdk-dev)

list=false
if [ "${1:-}" = --list ]; then
	list=true
	shift
fi
pkgs=("${build[@]}")
case "${1:-}" in
"") ;;
--demo) pkgs+=("${demo[@]}") ;;
--check) pkgs+=("${check[@]}") ;;
--bench) pkgs+=("${bench[@]}") ;;
*) echo "usage: $0 [--list] [--demo|--check|--bench]" >&2; exit 2 ;;
esac
if $list; then
	printf '%s\n' "${pkgs[@]}"
	exit 0
fi

# The arm64 lane (mk/arm64.mk, docs/arm64.md) downloads arm64 packages:
# apt must know the architecture.  Its gcc is extracted, not installed:
# the package gcc-12-aarch64-linux-gnu conflicts with gcc-multilib.
# libudev1:arm64, installed, gives dpkg-shlibdeps the dependency of the
# cross-built packages (selftests/host/packaging_arm64.sh).
if ! dpkg --print-foreign-architectures | grep -qx arm64; then
	if [ "$(id -u)" = 0 ]; then
		dpkg --add-architecture arm64
		apt-get update -q >/dev/null
	else
		echo "deps: run as root once to add the arm64 architecture" >&2
	fi
fi

missing=()
for p in "${pkgs[@]}"; do
	# One line per installed architecture of p: any will do.
	s=$(dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | head -n1 || true)
	[ "$s" = "install ok installed" ] || missing+=("$p")
done

if [ ${#missing[@]} -gt 0 ]; then
	if [ "$(id -u)" != 0 ]; then
		echo "deps: missing packages: ${missing[*]} (run as root to install)" >&2
		exit 1
	fi
	echo "deps: installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q >/dev/null
	apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
fi

# The stamp lists the files, so that a new one is extracted into an old tree.
ksrc_files=(tools/testing/selftests/kselftest.h
	    tools/testing/selftests/kselftest_harness.h
	    scripts/checkpatch.pl scripts/spelling.txt
	    scripts/const_structs.checkpatch
	    include/uapi/drm/drm.h include/uapi/drm/drm_mode.h)
if [ "$(cat "$out/.done" 2>/dev/null)" != "${ksrc_files[*]}" ]; then
	tarball=$(ls /usr/src/linux-source-6.1.tar.* | head -n1)
	rm -rf "$out"
	mkdir -p "$out"
	echo "deps: extracting kselftest harness, checkpatch and DRM's uapi from $tarball"
	tar -xf "$tarball" -C "$out" --strip-components=1 \
		"${ksrc_files[@]/#/linux-source-6.1/}"
	echo "${ksrc_files[*]}" > "$out/.done"
fi
