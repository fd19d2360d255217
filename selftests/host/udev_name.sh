#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# ivshm-udev-name (TAP): --format makes an all-zero file or an existing
# ring region a labelled region, and refuses any other non-empty file
# (like `ivshm send --format`), leaving it untouched; the label is read
# back by the plain DEVICE form.
set -u

top=$(cd "$(dirname "$0")/../.." && pwd)
bin=${IVSHM_UDEV_NAME:-$top/build/tools/ivshm-udev-name}
tmp=$(mktemp -d /tmp/ivshm-udev-name.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

n=0
failed=0
ok() { n=$((n + 1)); echo "ok $n $1"; }
not_ok() { n=$((n + 1)); echo "not ok $n $1"; failed=1; }
check() {
	local name=$1; shift
	if "$@"; then ok "$name"; else not_ok "$name"; fi
}

echo "1..7"

# An all-zero file (never formatted): formatted and named.
truncate -s 64K "$tmp/zero"
check "zero file formatted" "$bin" --format "$tmp/zero" demo
check "label read back" test "$("$bin" "$tmp/zero")" = "IVSHM_NAME=demo"

# An existing region: formatted again, with the new label.
check "region re-formatted" "$bin" --format "$tmp/zero" other
check "new label read back" test "$("$bin" "$tmp/zero")" = "IVSHM_NAME=other"

# A text file of the right size: refused, untouched.
{ echo "precious text"; head -c 65522 /dev/zero | tr '\0' x; } >"$tmp/text"
cp "$tmp/text" "$tmp/text.orig"
"$bin" --format "$tmp/text" demo 2>"$tmp/err"
st=$?
check "text file refused (status $st)" test "$st" = 1
check "refusal says why: $(cat "$tmp/err")" \
	grep -q "not a ring region.*refusing" "$tmp/err"
check "text file untouched" cmp -s "$tmp/text" "$tmp/text.orig"

exit $failed
