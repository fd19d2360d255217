#!/bin/bash
# Install what ivshm's build, tests and demo need (with Debian's 6.1 and
# 6.12 kernels, standard and PREEMPT_RT, and linux-source-6.12 plus its
# build tools for scripts/debug-kernel.sh), then extract the few
# kernel-tree files we use (kselftest harness, checkpatch) from Debian's
# linux-source-6.1 into build/ksrc.  Idempotent and quiet when all is there.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
out="${B:-$top/build}/ksrc"

pkgs=(gcc make clang llvm libclang-rt-14-dev pkg-config python3
      linux-headers-amd64 linux-image-amd64
      linux-headers-6.12-amd64 linux-image-6.12-amd64
      linux-headers-rt-amd64 linux-image-rt-amd64
      linux-headers-6.12-rt-amd64 linux-image-6.12-rt-amd64
      linux-source-6.12 bc bison flex libelf-dev libssl-dev
      qemu-system-x86 busybox-static cpio kmod libudev-dev udev
      linux-source-6.1 sparse xz-utils dkms debhelper dh-dkms dpkg-dev build-essential
      lintian libvirt-clients gcc-multilib liburing-dev)
# --bench: also the references of make bench (tools/ivshm-bench): ck_ring
# and DPDK's rte_ring.  About 150 MB installed, so not for make check,
# whose smoke run reports those two references as skipped without them.
if [ "${1:-}" = --bench ]; then
	pkgs+=(libck-dev libdpdk-dev)
fi

missing=()
for p in "${pkgs[@]}"; do
	s=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
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

if [ ! -f "$out/.done" ]; then
	tarball=$(ls /usr/src/linux-source-6.1.tar.* | head -n1)
	rm -rf "$out"
	mkdir -p "$out"
	echo "deps: extracting kselftest harness and checkpatch from $tarball"
	tar -xf "$tarball" -C "$out" --strip-components=1 \
		linux-source-6.1/tools/testing/selftests/kselftest.h \
		linux-source-6.1/tools/testing/selftests/kselftest_harness.h \
		linux-source-6.1/scripts/checkpatch.pl \
		linux-source-6.1/scripts/spelling.txt \
		linux-source-6.1/scripts/const_structs.checkpatch
	touch "$out/.done"
fi
