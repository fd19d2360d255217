#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Who gets -Werror (TAP).  A user's build of ivshm.ko (DKMS, as
# dkms.conf runs it, or kmod/Makefile) must survive the first new warning
# from a newer kernel or gcc; the project's own build (the top Makefile,
# which make check uses) must stop on it.  A copy of the tracked files gets
# one injected warning (an unused local variable in kmod/main.c), then is
# built the three ways against one Debian kernel's headers.  A private DKMS
# tree in a temporary directory: /var/lib/dkms is never written.
set -u

top=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d /tmp/ivshm-kmod-warnings.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
version=$(sed -n 's/.*IVSHM_VERSION_STRING *"\(.*\)".*/\1/p' "$top/include/ivshm.h")
kdir=$(ls -dv /usr/src/linux-headers-6.12.*-amd64 2>/dev/null | grep -v -- -rt- | tail -n1)
kver=${kdir#/usr/src/linux-headers-}
# The injected warning, as a warning and as an error (the quotes around
# the name depend on the locale).
warned="warning: unused variable .ivshm_injected_warning. \[-Wunused-variable\]"
erred="error: unused variable .ivshm_injected_warning. \[-Werror=unused-variable\]"

echo "1..4"
n=0
failed=0
log=$tmp/log
check() {
	local name=$1; shift
	n=$((n + 1))
	if "$@" >"$log" 2>&1; then
		echo "ok $n $name"
	else
		sed -e 's/^/# /' "$log" | tail -n 30
		echo "not ok $n $name"
		failed=1
	fi
}
skip() {
	n=$((n + 1))
	echo "ok $n $1 # SKIP $2"
}

# The tracked files as they are in the work tree, plus the warning.
src=$tmp/ivshm
mkdir -p "$src"
(cd "$top" && git ls-files -z | while IFS= read -r -d '' f; do
	[ -e "$f" ] && printf '%s\0' "$f"; done | tar --null -T - -cf -) |
	tar -xf - -C "$src"
cat >> "$src/kmod/main.c" <<'EOF'

int ivshm_injected(void);
int ivshm_injected(void)
{
	int ivshm_injected_warning;

	return 0;
}
EOF
check "warning-injected" grep -q ivshm_injected_warning "$src/kmod/main.c"

if [ -z "$kdir" ]; then
	skip "dkms-build-survives-warning" "no Debian 6.12 headers"
	skip "kmod-makefile-build-survives-warning" "no Debian 6.12 headers"
	skip "make-check-build-fails-on-warning" "no Debian 6.12 headers"
	exit $failed
fi

# DKMS: the source tree "make dkms-install" makes, built by dkms.conf.
if ! command -v dkms >/dev/null 2>&1 || [ "$(id -u)" != 0 ]; then
	skip "dkms-build-survives-warning" "dkms needs root and the dkms package"
else
	dk=$tmp/dkms
	export sign_file=/nonexistent mok_signing_key=$tmp/mok.key mok_certificate=$tmp/mok.pub
	dkms_opts=(--dkmstree "$dk/tree" --sourcetree "$dk/src" --installtree "$dk/install")
	mkdir -p "$dk/tree" "$dk/install"
	check "dkms-build-survives-warning" bash -c '
		src=$1 dk=$2 version=$3 kver=$4 kdir=$5 warned=$6; shift 6
		make -s --no-print-directory -C "$src" B="$dk/b" dkms-install \
			DESTDIR="$dk" DKMS_SRCDIR=/src || exit 1
		dkms add -m ivshm -v "$version" "$@" &&
		dkms build -m ivshm -v "$version" -k "$kver" \
			--kernelsourcedir "$kdir" "$@" || exit 1
		ls "$dk"/tree/ivshm/"$version"/"$kver"/*/module/ivshm.ko* &&
		grep -E "$warned" "$dk"/tree/ivshm/"$version"/"$kver"/*/log/make.log' \
		_ "$src" "$dk" "$version" "$kver" "$kdir" "$warned" "${dkms_opts[@]}"
fi

check "kmod-makefile-build-survives-warning" bash -c '
	make -C "$1/kmod" KDIR="$2" > "$1/kmod.log" 2>&1 || { cat "$1/kmod.log"; exit 1; }
	ls "$1/kmod/ivshm.ko" && grep -E "$3" "$1/kmod.log"' _ "$src" "$kdir" "$warned"

check "make-check-build-fails-on-warning" bash -c '
	if make -C "$1" B="$1/build" KVERS="$2" modules > "$1/top.log" 2>&1; then
		cat "$1/top.log"; echo "the top Makefile built despite the warning"
		exit 1
	fi
	grep -E "$3" "$1/top.log"' _ "$src" "$kver" "$erred"

exit $failed
