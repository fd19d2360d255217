#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# The bash completion (completion/ivshm.bash) offers every command of
# `ivshm --help` and the options of the live-view commands.
# TAP output; exit status 1 if anything failed.
set -u

top=$(cd "$(dirname "$0")/../.." && pwd)
build=${B:-$top/build}
# shellcheck source=/dev/null
. "$top/completion/ivshm.bash"

n=0
failed=0
echo "1..4"
# complete LINE: the candidates, one per line
complete_line() {
	COMP_LINE=$1
	COMP_POINT=${#1}
	COMPREPLY=()
	_ivshm
	printf '%s\n' "${COMPREPLY[@]}"
}
check() {
	local what=$1; shift
	n=$((n + 1))
	if "$@"; then echo "ok $n $what"; else failed=1; echo "not ok $n $what"; fi
}
# every command the tool lists, offered after "ivshm "
all_commands() {
	local cmds c got
	cmds=$("$build/tools/ivshm" --help | awk '/^Commands:/ { on = 1; next }
		on && /^$/ { exit } on { print $1 }')
	[ -n "$cmds" ] || return 1
	got=$(complete_line "ivshm ")
	for c in $cmds; do
		grep -qx "$c" <<<"$got" || { echo "# missing: $c"; return 1; }
	done
}
check "completion:every-command" all_commands
check "completion:monitor-options" bash -c '[ "$(printf "%s\n" "$@" | sort | tr "\n" " ")" = "--count --help --interval --json " ]' _ $(complete_line "ivshm monitor shm:/x --")
check "completion:top-options" bash -c '[ "$(printf "%s\n" "$@" | sort | tr "\n" " ")" = "--interval --iterations " ]' _ $(complete_line "ivshm top shm:/x --i")
check "completion:top-target" bash -c '[ "$1" = "shm:" ]' _ $(complete_line "ivshm top sh")
exit $failed
