#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Licences (TAP): every tracked source file carries an
# SPDX-License-Identifier (scripts/spdx.sh check: the kernel module
# GPL-2.0-only, the library and its header LGPL-2.1-or-later), every
# licence named has its text in LICENSES/, there is a top-level LICENSE,
# and debian/copyright names the same licences for the same files.
set -u

top=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d /tmp/ivshm-spdx.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

n=0
failed=0
ok() { n=$((n + 1)); echo "ok $n $1"; }
not_ok() { n=$((n + 1)); echo "not ok $n $1"; failed=1; }
skip() { n=$((n + 1)); echo "ok $n $1 # SKIP $2"; }
diag() { sed -e 's/^/# /' "$@"; }

echo "1..4"

if ! git -C "$top" rev-parse --git-dir >/dev/null 2>&1; then
	skip "every tracked source file has an SPDX line" "not a git checkout"
elif [ ! -x "$top/scripts/spdx.sh" ]; then
	not_ok "every tracked source file has an SPDX line (no scripts/spdx.sh)"
elif "$top/scripts/spdx.sh" check >"$tmp/out" 2>&1; then
	ok "every tracked source file has an SPDX line ($("$top/scripts/spdx.sh" files | wc -l) files)"
else
	not_ok "every tracked source file has an SPDX line"
	diag "$tmp/out"
fi

if [ -s "$top/LICENSE" ] && grep -q 'GPL-2.0-only' "$top/LICENSE" &&
   grep -q 'LGPL-2.1-or-later' "$top/LICENSE"; then
	ok "LICENSE says which part is under which licence"
else
	not_ok "LICENSE says which part is under which licence"
fi

missing=
for l in GPL-2.0-only GPL-2.0-or-later LGPL-2.1-or-later Linux-syscall-note; do
	[ -s "$top/LICENSES/$l.txt" ] || missing="$missing $l"
done
if [ -z "$missing" ] &&
   grep -q 'GNU LESSER GENERAL PUBLIC LICENSE' "$top/LICENSES/LGPL-2.1-or-later.txt" &&
   grep -q 'Version 2, June 1991' "$top/LICENSES/GPL-2.0-only.txt"; then
	ok "LICENSES/ has the full texts"
else
	not_ok "LICENSES/ has the full texts (missing:${missing:- none})"
fi

# debian/copyright: a stanza per licence, the kernel module GPL-2.0-only
# and the library LGPL-2.1-or-later.
cr=$top/debian/copyright
stanza() {	# the License: of the Files: stanza naming $1
	awk -v pat="$1" '/^Files:/ { hit = index($0, pat) > 0 }
		hit && /^License:/ { print $2; exit }' "$cr"
}
if [ "$(stanza 'kmod/')" = GPL-2.0-only ] &&
   [ "$(stanza 'lib/')" = LGPL-2.1-or-later ] &&
   [ "$(stanza 'include/ivshm.h')" = LGPL-2.1-or-later ] &&
   [ "$(stanza 'include/uapi/')" = "GPL-2.0-only" ] &&
   grep -q '^License: LGPL-2.1-or-later$' "$cr" &&
   grep -q '^License: GPL-2.0-or-later$' "$cr" &&
   grep -q 'Linux-syscall-note' "$cr"; then
	ok "debian/copyright matches: kmod/ GPL-2.0-only, lib/ LGPL-2.1-or-later"
else
	not_ok "debian/copyright matches: kmod/ GPL-2.0-only, lib/ LGPL-2.1-or-later"
	grep -E '^(Files|License):' "$cr" | diag
fi
exit $failed
