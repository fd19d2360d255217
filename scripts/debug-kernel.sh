#!/bin/bash
# The debug-kernel lane's kernel: Debian's linux-source-6.12, "make
# tinyconfig" plus scripts/debug-kernel/{debug,guest}.config (lockdep,
# KASAN, kmemleak, UBSAN, ... and what our QEMU guests need), built once
# and cached outside the clone, keyed by a hash of the source package's
# version, both fragments and this script.
#
#   debug-kernel.sh          build unless cached; print the cache directory
#   debug-kernel.sh --dir    print the cache directory (built or not)
#   debug-kernel.sh --kver   print the kernel release (6.12.N-ivshm-debug)
#
# The cache directory holds bzImage, config (the final .config), the
# modules.* files depmod wants, and build/: the tree an out-of-tree module
# builds against (make -C DIR/build M=...), made by the kernel's own
# scripts/package/install-extmod-build.  Cache root: $IVSHM_KERNEL_CACHE,
# else /var/cache/ivshm/debug-kernel (root) or ~/.cache/ivshm/debug-kernel.
# One build at a time (a lock in the cache root); a failed build leaves
# nothing in the cache.  Fails if any option of the fragments is not in the
# final .config: olddefconfig silently drops options whose dependencies
# are not met.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
frags=("$top/scripts/debug-kernel/debug.config" "$top/scripts/debug-kernel/guest.config")
pkg=linux-source-6.12
tarball=/usr/src/$pkg.tar.xz
# The issue's options: checked on their own too, whatever the fragments say.
required=(PROVE_LOCKING DEBUG_ATOMIC_SLEEP PROVE_RCU KASAN DEBUG_KMEMLEAK
	  DEBUG_OBJECTS UBSAN DEBUG_LIST DETECT_HUNG_TASK SOFTLOCKUP_DETECTOR)

if [ -n "${IVSHM_KERNEL_CACHE:-}" ]; then
	root=$IVSHM_KERNEL_CACHE
elif [ "$(id -u)" = 0 ]; then
	root=/var/cache/ivshm/debug-kernel
else
	root=${XDG_CACHE_HOME:-$HOME/.cache}/ivshm/debug-kernel
fi

pkgver=$(dpkg-query -W -f='${Version}' "$pkg" 2>/dev/null) || {
	echo "debug-kernel: $pkg is not installed (scripts/deps.sh installs it)" >&2
	exit 1
}
# 6.12.117-1~deb12u1 -> 6.12.117-ivshm-debug
kver=${pkgver%%-*}$(sed -n 's/^CONFIG_LOCALVERSION="\(.*\)"$/\1/p' "${frags[1]}")
key=$( { echo "$pkgver"; cat "${frags[@]}" "$top/scripts/debug-kernel.sh"; } | sha256sum | cut -c1-16)
dir=$root/$key

case "${1:-}" in
--kver) echo "$kver"; exit 0 ;;
--dir) echo "$dir"; exit 0 ;;
"") ;;
*) echo "usage: $0 [--dir|--kver]" >&2; exit 2 ;;
esac

mkdir -p "$root"
exec 9>"$root/.lock"
flock 9
if [ -f "$dir/.done" ]; then
	echo "$dir"
	exit 0
fi

work=$root/.build-$key
rm -rf "$work" "$dir"
trap 'rm -rf "$work"' EXIT
mkdir -p "$work"
log=$work/build.log
src=$work/${pkg}
jobs=$(nproc)
step() {
	echo "debug-kernel: $1" >&2
	shift
	if ! "$@" >>"$log" 2>&1; then
		tail -n 40 "$log" >&2
		echo "debug-kernel: failed: $*" >&2
		exit 1
	fi
}

start=$(date +%s)
step "extracting $tarball ($pkgver)" tar -xf "$tarball" -C "$work"
cd "$src"
step "configuring: tinyconfig + ${frags[*]##*/}" make -s tinyconfig
step "merging fragments" scripts/kconfig/merge_config.sh -m .config "${frags[@]}"
step "olddefconfig" make -s olddefconfig

# Every option the fragments set must have that value now; "=n" and "is
# not set" lines must not be enabled.
missing=()
while IFS= read -r line; do
	case "$line" in
	CONFIG_*=n) sym=${line%%=*}
		grep -Eq "^$sym=[ym]" .config && missing+=("$line") ;;
	CONFIG_*=*) grep -Fxq -- "$line" .config || missing+=("$line") ;;
	"# CONFIG_"*" is not set") sym=${line#\# }; sym=${sym%% *}
		grep -Eq "^$sym=[ym]" .config && missing+=("$line") ;;
	esac
done < <(cat "${frags[@]}")
for sym in "${required[@]}"; do
	grep -Fxq "CONFIG_$sym=y" .config || missing+=("CONFIG_$sym=y (required)")
done
if [ ${#missing[@]} -gt 0 ]; then
	echo "debug-kernel: not in the final .config (unmet dependencies?):" >&2
	printf '  %s\n' "${missing[@]}" >&2
	exit 1
fi
step "syncconfig" make -s syncconfig
release=$(make -s kernelrelease)
if [ "$release" != "$kver" ]; then
	echo "debug-kernel: kernel release is $release, expected $kver" >&2
	exit 1
fi

step "building bzImage and modules with -j$jobs" make -j"$jobs" bzImage modules

out=$work/out
mkdir -p "$out/build"
step "installing the tree for out-of-tree modules" make -s run-command \
	KBUILD_RUN_COMMAND="\${srctree}/scripts/package/install-extmod-build $out/build"
cp .config "$out/build/.config"
cp .config "$out/config"
cp arch/x86/boot/bzImage "$out/bzImage"
for f in modules.builtin modules.builtin.modinfo modules.order; do
	[ -f "$f" ] && cp "$f" "$out/"
done
echo "$release" > "$out/kernelrelease"
touch "$out/.done"
mv "$out" "$dir"
echo "debug-kernel: $release built in $(( $(date +%s) - start )) s, $(du -sh "$dir" | cut -f1) in $dir" >&2
echo "$dir"
