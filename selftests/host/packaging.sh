#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Packaging tests (TAP): make install/uninstall into a temporary DESTDIR and
# an external program built against the installed pkg-config file; DKMS
# builds of ivshm.ko for the Debian 6.1 and 6.12 headers in a private DKMS
# tree; dpkg-buildpackage of a copy of the tracked files.  Everything
# happens in a temporary directory: the real system (/usr, /var/lib/dkms,
# /lib/modules) is never written.  Installs nothing; scripts/deps.sh
# brings debhelper, dh-dkms, dpkg-dev, pkg-config and dkms.
set -u

top=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d /tmp/ivshm-packaging.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
version=$("$top/scripts/version.sh")
mk() { make -s --no-print-directory -C "$top" B="$tmp/b" "$@"; }

n=0
failed=0
log="$tmp/log"
# check NAME COMMAND...: one TAP result; the command's output is shown
# (as comments) only on failure.
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
missing_cmds() {
	local c m=""
	for c in "$@"; do command -v "$c" >/dev/null 2>&1 || m="$m $c"; done
	echo "${m# }"
}

# The newest 6.1 and 6.12, standard and PREEMPT_RT (-rt-amd64), as the
# top Makefile picks them.
kernels=()
for series in 6.1. 6.12.; do
	for rt in -v ""; do
		d=$(ls -dv /usr/src/linux-headers-"$series"*-amd64 2>/dev/null |
			grep $rt -- '-rt-amd64$' | tail -n1)
		[ -n "$d" ] && kernels+=("${d#/usr/src/linux-headers-}")
	done
done

echo "1..$((24 + 2 * ${#kernels[@]}))"

# ---- (a) make install / uninstall ------------------------------------

dest=$tmp/dest
check "install:make-install-prefix-usr" \
	mk install DESTDIR="$dest" PREFIX=/usr

expected_files() {	# $1 = prefix, $2 = libdir
	local p=$1 l=$2 t f
	echo "$l/libivshm.so.1" "$l/libivshm.so" "$l/libivshm.a" \
		"$l/pkgconfig/libivshm.pc" "$p/include/ivshm.h" \
		/usr/lib/udev/rules.d/60-ivshm.rules \
		/usr/lib/tmpfiles.d/ivshm.conf /usr/lib/sysusers.d/ivshm.conf \
		"$p/share/bash-completion/completions/ivshm"
	for t in "$top"/tools/*/; do
		t=$(basename "$t")
		compgen -G "$top/tools/$t/*.c" >/dev/null || continue
		if [ "$t" = ivshm-udev-name ]; then echo "/usr/lib/udev/$t"; else echo "$p/bin/$t"; fi
	done
	for f in "$top"/docs/*.[1-8] "$top"/docs/man/*.[1-8]; do
		[ -e "$f" ] && echo "$p/share/man/man${f##*.}/$(basename "$f")"
	done
	for f in "$top"/systemd/*.service; do
		[ -e "$f" ] && echo "/usr/lib/systemd/system/$(basename "$f")"
	done
	for f in "$top"/udev/*.rules; do
		[ -e "$f" ] && echo "/usr/lib/udev/rules.d/$(basename "$f")"
	done
}
same_file_list() {	# $1 = destdir, $2 = prefix, $3 = libdir
	diff -u <(expected_files "$2" "$3" | tr ' ' '\n' | sort -u) \
		<(cd "$1" && find . ! -type d | sed 's|^\.||' | sort)
}
check "install:file-list" same_file_list "$dest" /usr /usr/lib

check "install:so-symlink-and-soname" bash -c '
	[ "$(readlink "$1/usr/lib/libivshm.so")" = libivshm.so.1 ] &&
	readelf -d "$1/usr/lib/libivshm.so.1" | grep -q "SONAME.*\[libivshm.so.1\]"' _ "$dest"

check "install:public-header-has-no-uapi-include" bash -c '
	! grep -nE "^[[:space:]]*#[[:space:]]*include.*(uapi|linux/ivshm\.h)" "$1" &&
	printf "#include <ivshm.h>\nint main(void){return 0;}\n" |
		cc -std=c99 -Wall -Werror -I"$(dirname "$1")" -x c -o /dev/null -' \
	_ "$dest/usr/include/ivshm.h"

export PKG_CONFIG_SYSROOT_DIR=$dest PKG_CONFIG_LIBDIR=$dest/usr/lib/pkgconfig
unset PKG_CONFIG_PATH
check "install:pkg-config-prefix-libdir-version" bash -c '
	pc=$2/usr/lib/pkgconfig/libivshm.pc; cat "$pc"; pkg-config --cflags --libs libivshm &&
	grep -qx "prefix=/usr" "$pc" && grep -qx "libdir=/usr/lib" "$pc" &&
	grep -qx "includedir=/usr/include" "$pc" &&
	[ "$(pkg-config --modversion libivshm)" = "$1" ] &&
	[ "$(pkg-config --variable=libdir libivshm)" = "$2/usr/lib" ] &&
	pkg-config --cflags libivshm | grep -q -- "-I$2/usr/include"' _ "$version" "$dest"

cat > "$tmp/prog.c" <<'EOF'
#include <stdio.h>
#include <string.h>
#include <ivshm.h>

int main(int argc, char **argv)
{
	struct ivshm_dev *dev;
	char target[4096];

	if (argc != 3 || strcmp(ivshm_version(), argv[2])) {
		fprintf(stderr, "version %s\n", ivshm_version());
		return 1;
	}
	snprintf(target, sizeof(target), "shm:%s", argv[1]);
	dev = ivshm_open(target, 0);
	if (!dev) {
		perror("ivshm_open");
		return 1;
	}
	if (ivshm_size(dev) != 1 << 20) {
		fprintf(stderr, "size %zu\n", ivshm_size(dev));
		return 1;
	}
	memcpy(ivshm_base(dev), "hello", 6);
	ivshm_close(dev);
	printf("%s ok\n", ivshm_version());
	return 0;
}
EOF
truncate -s 1M "$tmp/region"
check "install:external-program-shared" bash -c '
	cc -Wall -Werror -o "$1/prog" "$1/prog.c" $(pkg-config --cflags --libs libivshm) &&
	LD_LIBRARY_PATH="$2/usr/lib" ldd "$1/prog" | grep -q "$2/usr/lib/libivshm.so.1" &&
	LD_LIBRARY_PATH="$2/usr/lib" "$1/prog" "$1/region" "$3" &&
	[ "$(head -c 5 "$1/region")" = hello ]' _ "$tmp" "$dest" "$version"

check "install:external-program-static" bash -c '
	cc -Wall -Werror -o "$1/prog-static" "$1/prog.c" $(pkg-config --cflags libivshm) \
		-L"$2/usr/lib" -Wl,-Bstatic -livshm -Wl,-Bdynamic \
		$(pkg-config --static --libs-only-l libivshm | sed "s/-livshm//") &&
	! ldd "$1/prog-static" | grep -q libivshm &&
	"$1/prog-static" "$1/region" "$3"' _ "$tmp" "$dest" "$version"
unset PKG_CONFIG_SYSROOT_DIR PKG_CONFIG_LIBDIR

check "install:unit-execstart-in-bindir" \
	grep -q '^ExecStart=/usr/bin/ivshm-server ' \
	"$dest/usr/lib/systemd/system/ivshm-server@.service"

check "install:sysusers-creates-group-of-udev-rules" bash -c '
	grep -q "GROUP=\"ivshm\"" "$1/usr/lib/udev/rules.d/60-ivshm.rules" &&
	grep -qE "^g[[:space:]]+ivshm[[:space:]]" "$1/usr/lib/sysusers.d/ivshm.conf"' _ "$dest"

check "install:uninstall-leaves-no-files" bash -c '
	make -s --no-print-directory -C "$1" B="$2/b" uninstall DESTDIR="$3" PREFIX=/usr &&
	[ -z "$(find "$3" ! -type d)" ]' _ "$top" "$tmp" "$dest"

dest2=$tmp/dest2
check "install:default-prefix-and-libdir-override" bash -c '
	make -s --no-print-directory -C "$1" B="$2/b" install DESTDIR="$3" \
		LIBDIR=/usr/local/lib/x86_64-linux-gnu &&
	diff -u <(cd "$3" && find . ! -type d | sed "s|^\.||" | sort) "$4" &&
	grep -qx "prefix=/usr/local" "$3/usr/local/lib/x86_64-linux-gnu/pkgconfig/libivshm.pc" &&
	grep -qx "libdir=/usr/local/lib/x86_64-linux-gnu" "$3/usr/local/lib/x86_64-linux-gnu/pkgconfig/libivshm.pc" &&
	make -s --no-print-directory -C "$1" B="$2/b" uninstall DESTDIR="$3" \
		LIBDIR=/usr/local/lib/x86_64-linux-gnu &&
	[ -z "$(find "$3" ! -type d)" ]' _ "$top" "$tmp" "$dest2" \
	<(expected_files /usr/local /usr/local/lib/x86_64-linux-gnu | tr ' ' '\n' | sort -u)

if [ ${#kernels[@]} -gt 0 ]; then
	check "install:modules_install-destdir" bash -c '
		t=$1 top=$2; shift 2
		make -s --no-print-directory -C "$top" B="$t/b" DEBUG_LANE=0 modules_install DESTDIR="$t/mods" || exit 1
		for k in "$@"; do
			ls "$t/mods/lib/modules/$k/updates/"ivshm.ko* || exit 1
		done
		make -s --no-print-directory -C "$top" B="$t/b" DEBUG_LANE=0 modules_uninstall DESTDIR="$t/mods" &&
		[ -z "$(find "$t/mods" ! -type d)" ]' _ "$tmp" "$top" "${kernels[@]}"
else
	skip "install:modules_install-destdir" "no Debian 6.1/6.12 kernel headers"
fi

# ---- (b) DKMS ---------------------------------------------------------

dk=$tmp/dkms-root
check "dkms:dkms-install-source-tree" bash -c '
	make -s --no-print-directory -C "$1" B="$2/b" dkms-install DESTDIR="$3" DKMS_SRCDIR=/src &&
	s="$3/src/ivshm-$4" &&
	[ -f "$s/kmod/Kbuild" ] && [ -f "$s/kmod/main.c" ] &&
	[ -f "$s/include/uapi/linux/ivshm.h" ] &&
	grep -qx "PACKAGE_NAME=\"ivshm\"" "$s/dkms.conf" &&
	grep -qx "PACKAGE_VERSION=\"$4\"" "$s/dkms.conf" &&
	grep -qx "AUTOINSTALL=\"yes\"" "$s/dkms.conf"' _ "$top" "$tmp" "$dk" "$version"

dkms_missing=$(missing_cmds dkms modinfo)
real_dkms_before=$(ls -A /var/lib/dkms 2>/dev/null)
if [ -n "$dkms_missing" ]; then
	skip "dkms:add" "not installed: $dkms_missing"
elif [ "$(id -u)" != 0 ]; then
	skip "dkms:add" "dkms needs root"
else
	# A private DKMS tree; no signing (it would create a key in
	# /var/lib/dkms), keys pointed into $tmp in case it tries anyway.
	export sign_file=/nonexistent mok_signing_key=$tmp/mok.key mok_certificate=$tmp/mok.pub
	dkms_opts=(--dkmstree "$dk/tree" --sourcetree "$dk/src" --installtree "$dk/install")
	mkdir -p "$dk/tree" "$dk/install"
	check "dkms:add" dkms add -m ivshm -v "$version" "${dkms_opts[@]}"
fi
for k in "${kernels[@]}"; do
	series=${k%%-*}; series=${series%.*}
	case "$k" in *-rt-amd64) series=$series-rt ;; esac
	if [ -n "$dkms_missing" ] || [ "$(id -u)" != 0 ]; then
		skip "dkms:build-$series" "dkms unavailable"
		skip "dkms:modinfo-$series" "dkms unavailable"
		continue
	fi
	check "dkms:build-$series" dkms build -m ivshm -v "$version" -k "$k" \
		--kernelsourcedir "/usr/src/linux-headers-$k" "${dkms_opts[@]}"
	check "dkms:modinfo-$series" bash -c '
		ko=$(ls "$1"/tree/ivshm/"$2"/"$3"/*/module/ivshm.ko* 2>/dev/null | head -n1) &&
		[ -n "$ko" ] && echo "$ko" &&
		modinfo -F alias "$ko" | grep -q "^pci:v00001AF4d00001110" &&
		[ "$(modinfo -F vermagic "$ko" | cut -d" " -f1)" = "$3" ]' _ "$dk" "$version" "$k"
done
check "dkms:real-dkms-tree-untouched" bash -c '
	[ "$(ls -A /var/lib/dkms 2>/dev/null)" = "$1" ]' _ "$real_dkms_before"

# ---- (c) Debian packages ----------------------------------------------

check "deb:changelog-version-is-library-version" bash -c '
	[ "$(cd "$1" && dpkg-parsechangelog -S Version)" = "$2" ]' _ "$top" "$version"

pkgdir=$tmp/pkg
deb_missing=$(missing_cmds dpkg-buildpackage dh dh_dkms pkg-config)
if [ -n "$deb_missing" ]; then
	for t in dpkg-buildpackage ivshm-dkms libivshm1 libivshm-dev ivshm-tools sysusers-in-postinst packaged-dkms-conf lintian; do
		skip "deb:$t" "not installed: $deb_missing (make check installs them)"
	done
else
	# The tracked files as they are in the work tree (a clean clone of it).
	mkdir -p "$pkgdir/ivshm"
	(cd "$top" && git ls-files -z | while IFS= read -r -d '' f; do
		[ -e "$f" ] && printf '%s\0' "$f"; done | tar --null -T - -cf -) |
		tar -xf - -C "$pkgdir/ivshm"
	check "deb:dpkg-buildpackage" bash -c '
		cd "$1/ivshm" && env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL \
			dpkg-buildpackage -us -uc -b > ../build.log 2>&1 || { tail -n 40 ../build.log; exit 1; }
		! grep -q "^deps:" ../build.log' _ "$pkgdir"
	ma=$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null)
	deb_has() {	# $1 = package, $2... = paths that must be in it
		local p=$1 f; shift
		f=$(ls "$pkgdir/${p}"_*.deb 2>/dev/null | head -n1)
		[ -n "$f" ] || { echo "no $p .deb"; return 1; }
		dpkg-deb -c "$f" | awk '{print $6}' | sed 's|^\.||' > "$tmp/list.$p"
		for want in "$@"; do
			grep -qx -- "$want" "$tmp/list.$p" || { echo "$p lacks $want"; cat "$tmp/list.$p"; return 1; }
		done
	}
	check "deb:ivshm-dkms" deb_has ivshm-dkms \
		"/usr/src/ivshm-$version/dkms.conf" "/usr/src/ivshm-$version/kmod/Kbuild" \
		"/usr/src/ivshm-$version/kmod/main.c" \
		"/usr/src/ivshm-$version/include/uapi/linux/ivshm.h"
	check "deb:libivshm1" deb_has libivshm1 "/usr/lib/$ma/libivshm.so.1"
	check "deb:libivshm-dev" deb_has libivshm-dev /usr/include/ivshm.h \
		"/usr/lib/$ma/libivshm.so" "/usr/lib/$ma/libivshm.a" \
		"/usr/lib/$ma/pkgconfig/libivshm.pc" /usr/share/man/man3/ivshm_open.3.gz
	check "deb:ivshm-tools" deb_has ivshm-tools /usr/bin/ivshm-server \
		/usr/share/man/man8/ivshm-server.8.gz /lib/udev/rules.d/60-ivshm.rules \
		/lib/systemd/system/ivshm-server@.service \
		/usr/lib/tmpfiles.d/ivshm.conf /usr/lib/sysusers.d/ivshm.conf
	# The group of the udev rules and the user of ivshm-server@.service
	# exist once the package is installed.
	check "deb:sysusers-in-postinst" bash -c '
		f=$(ls "$1"/ivshm-tools_*.deb) &&
		dpkg-deb -I "$f" postinst | grep -q "systemd-sysusers.*ivshm.conf"' _ "$pkgdir"
	check "deb:packaged-dkms-conf" bash -c '
		f=$(ls "$1"/ivshm-dkms_*.deb) &&
		dpkg-deb --fsys-tarfile "$f" | tar -xOf - "./usr/src/ivshm-$2/dkms.conf" |
			grep -qx "PACKAGE_VERSION=\"$2\"" &&
		dpkg-deb -f "$f" Depends | grep -q dkms &&
		dpkg-deb -I "$f" postinst | grep -q "DKMS_VERSION=$2"' _ "$pkgdir" "$version"
	if command -v lintian >/dev/null 2>&1; then
		check "deb:lintian-no-errors" bash -c '
			lintian "$1"/ivshm_*.changes > "$1/lintian.log" 2>&1
			cat "$1/lintian.log"; ! grep -q "^E:" "$1/lintian.log"' _ "$pkgdir"
	else
		skip "deb:lintian-no-errors" "lintian not installed"
	fi
fi

exit $failed
