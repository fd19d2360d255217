#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# libivshm's ABI surface agrees with itself:
#  - the functions declared IVSHM_EXPORT in include/ivshm.h, the names
#    lib/libivshm.map lists, and the dynamic symbols build/lib/libivshm.so.1
#    defines (nm -D --defined-only) are the same set, so a new function
#    cannot be forgotten in the map, nor a helper leak out;
#  - the map lists names only (no wildcard in a global: list) in IVSHM_x.y
#    nodes, each exported symbol carries one of them, and the last node is
#    the library's current MAJOR.MINOR (a release adds a node);
#  - the version: IVSHM_VERSION_MAJOR/MINOR/PATCH (scripts/version.sh)
#    agree with the pkg-config file, debian/changelog, ivshm_version() of
#    the built library and ivshm-server --version.
# TAP output; exit status 1 if anything failed.
set -u

top=$(cd "$(dirname "$0")/../.." && pwd)
build=${B:-$top/build}
so=$build/lib/libivshm.so.1
map=$top/lib/libivshm.map
hdr=$top/include/ivshm.h

echo "1..6"
n=0
failed=0
ok() { n=$((n + 1)); echo "ok $n $1"; }
not_ok() { n=$((n + 1)); failed=1; echo "not ok $n $1"; }
check() { local what=$1; shift; if "$@"; then ok "$what"; else not_ok "$what"; fi; }

tmp=$(mktemp -d /tmp/ivshm-abi.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

# The three lists, sorted, one name a line.
grep -o 'IVSHM_EXPORT[^(]*(' "$hdr" | grep -o 'ivshm_[a-z0-9_]*(' |
	tr -d '(' | sort -u > "$tmp/header"
# map: comments removed, then every "name;" inside a global: section
sed -e 's|/\*.*\*/||g' -e '/\/\*/,/\*\//d' "$map" |
	awk '/global:/ { g = 1; next } /local:/ { g = 0 } /}/ { g = 0 }
	     g { gsub(/[ \t;]/, ""); if ($0 != "") print }' | sort > "$tmp/map"
nm -D --defined-only "$so" | awk '$2 ~ /^[TtDdBbRrWwVvi]$/ { print $3 }' |
	grep -v '^IVSHM_' | sed 's/@.*//' | sort > "$tmp/lib"
nm -D --defined-only "$so" | awk '{ print $3 }' | grep -v '^IVSHM_' \
	> "$tmp/lib-versioned"

same() {
	if ! diff -u "$1" "$2" > "$tmp/diff"; then
		sed 's/^/# /' "$tmp/diff"
		return 1
	fi
}

check "the header's IVSHM_EXPORT functions are the map's symbols" \
	same "$tmp/header" "$tmp/map"
check "the library exports exactly the map's symbols" \
	same "$tmp/map" "$tmp/lib"
check "the map lists names only (no wildcard in a global: list)" \
	bash -c '! grep -v "^[a-z0-9_]*\$" "$1" | sed "s/^/# bad: /" | grep .' \
	_ "$tmp/map"

# Nodes: IVSHM_<major>.<minor>, the last one the current version; every
# exported symbol bound to one of them.
nodes=$(sed -e 's|/\*.*\*/||g' -e '/\/\*/,/\*\//d' "$map" |
	grep -o '^IVSHM_[0-9]*\.[0-9]*' )
version=$("$top/scripts/version.sh")
cur=IVSHM_${version%.*}
check "map nodes are IVSHM_x.y, the last $cur (nodes: $(echo $nodes))" \
	test -n "$nodes" -a "$(echo "$nodes" | tail -n1)" = "$cur"
check "every exported symbol has a version node of the map" \
	bash -c 'nodes=$(echo "$2" | tr "\n" "|"); nodes=${nodes%|}
		! grep -Ev "@@?($nodes)\$" "$1" | sed "s/^/# unversioned: /" |
		grep .' _ "$tmp/lib-versioned" "$nodes"

# One version everywhere.
cat > "$tmp/v.c" <<'EOF'
#include <stdio.h>
#include <ivshm.h>
int main(void)
{
	printf("%s %d.%d %d %d\n", ivshm_version(), ivshm_version_major(),
	       ivshm_version_minor(), IVSHM_CHECK_VERSION(0, 0),
	       ivshm_version_check(IVSHM_VERSION_MAJOR, IVSHM_VERSION_MINOR));
	return 0;
}
EOF
got_lib=
if cc -I"$top/include" -o "$tmp/v" "$tmp/v.c" "$so" 2> "$tmp/cc"; then
	got_lib=$(LD_LIBRARY_PATH=$build/lib "$tmp/v")
else
	sed 's/^/# /' "$tmp/cc"
fi
pc=$(sed -n 's/^Version: *//p' "$build/lib/libivshm.pc")
deb=$(sed -n '1s/^[^(]*(\([^)]*\)).*/\1/p' "$top/debian/changelog")
srv=$("$build/tools/ivshm-server" --version 2>&1 | awk '{ print $2 }')
echo "# version.sh $version, pkg-config $pc, debian $deb, server $srv, library: $got_lib"
check "one version: header, pkg-config, debian/changelog, library, server" \
	test "$pc" = "$version" -a "$deb" = "$version" -a "$srv" = "$version" \
	-a "$got_lib" = "$version ${version%.*} 1 0"

exit $failed
