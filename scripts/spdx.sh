#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# SPDX-License-Identifier lines of the tracked source files.
#
#   spdx.sh files   the source files: C, headers, scripts, Python, build
#                   files, man pages, udev and systemd files, configs
#   spdx.sh check   print "FILE: why" for each one without a valid line in
#                   its first 3 lines, or with a licence that has no text
#                   in LICENSES/, or the wrong one for its directory; exit
#                   1 if any
#   spdx.sh add     give each file without a line the licence of its
#                   directory, in its comment syntax (idempotent)
#
# Run from anywhere; works on the git checkout the script is in.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

# Not sources: documentation prose, data, the Debian packaging (covered by
# debian/copyright) but for its rules makefile, and the CI entry point.
# Exempt for now: the debug-lane kernel's inputs, whose bytes are its
# cache key (scripts/debug-kernel.sh): a new line would rebuild that
# kernel (10-20 min) on every machine.  Give them their line with their
# next real change, and drop them from this list.
files() {
	git ls-files -- '*.c' '*.h' '*.sh' '*.py' '*.mk' '*.map' '*.in' \
		'*.rules' '*.service' '*.conf' '*.config' '*.bash' \
		'*.[1-8]' '*Makefile' '*Kbuild' 'debian/rules' \
		'scripts/*' 'tools/*' 'selftests/*' |
	grep -v -e '^selftests/fuzz/corpus/' -e '^\.ci/' -e '\.md$' \
		-e '^debian/' -e '/__pycache__/' \
		-e '^scripts/debug-kernel\.sh$' -e '^scripts/debug-kernel/' |
	{ cat; echo debian/rules; } | sort -u |
	while read -r f; do
		[ -f "$f" ] || continue
		# a man page that only points to another (.so) has no text
		[ "$(grep -cv '^\.so ' "$f")" = 0 ] && continue
		case "$f" in
		*.c|*.h|*.sh|*.py|*.mk|*.map|*.in|*.rules|*.service|*.conf|\
		*.config|*.bash|*.[1-8]|*Makefile|*Kbuild|debian/rules) ;;
		*) head -c 2 "$f" | grep -q '#!' || continue ;;	# scripts
		esac
		echo "$f"
	done
}

# The licence a file of this path must carry.
license_of() {
	case "$1" in
	kmod/*) echo GPL-2.0-only ;;
	include/uapi/*) echo "GPL-2.0-only WITH Linux-syscall-note" ;;
	lib/*|include/ivshm.h|docs/man/*.3|docs/man/libivshm.7) echo LGPL-2.1-or-later ;;
	tools/ivshm-bench/*|selftests/fuzz/*|selftests/host/ring_*) echo GPL-2.0-or-later ;;
	*) echo GPL-2.0-only ;;
	esac
}

spdx_of() {
	head -n 3 "$1" | sed -n 's/.*SPDX-License-Identifier: *\([^*]*[^* ]\).*/\1/p' | head -n 1
}

check() {
	local f id want bad=0 t
	while read -r f; do
		id=$(spdx_of "$f")
		if [ -z "$id" ]; then
			echo "$f: no SPDX-License-Identifier in its first 3 lines"
			bad=1
			continue
		fi
		for t in $(echo "$id" | tr '()' '  ' | sed 's/ WITH / /g; s/ OR / /g; s/ AND / /g'); do
			[ -f "LICENSES/$t.txt" ] && continue
			echo "$f: $t has no text in LICENSES/"
			bad=1
		done
		want=$(license_of "$f")
		case "$f" in
		kmod/*|lib/*|include/*)	# the licences users depend on
			if [ "$id" != "$want" ]; then
				echo "$f: $id, not $want"
				bad=1
			fi ;;
		esac
	done < <(files)
	return $bad
}

add() {
	local f lic line
	while read -r f; do
		[ -n "$(spdx_of "$f")" ] && continue
		lic=$(license_of "$f")
		case "$f" in
		*.c) line="// SPDX-License-Identifier: $lic" ;;
		*.h|*.map) line="/* SPDX-License-Identifier: $lic */" ;;
		*.[1-8]) line=".\\\" SPDX-License-Identifier: $lic" ;;
		*) line="# SPDX-License-Identifier: $lic" ;;
		esac
		if head -c 2 "$f" | grep -q '#!'; then
			sed -i "1a $(printf '%s' "$line" | sed 's/\\/\\\\/g')" "$f"
		else
			sed -i "1i $(printf '%s' "$line" | sed 's/\\/\\\\/g')" "$f"
		fi
		echo "$f: $lic"
	done < <(files)
}

case "${1:-}" in
files) files ;;
check) check ;;
add) add ;;
*) echo "usage: $0 files|check|add" >&2; exit 2 ;;
esac
