#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# README.md's C code is code: every ```c block is compiled as a complete
# program against the built library (-Werror), and the first one, the
# "send one message" example, is run against a shm: file whose consumer is
# the ivshm CLI, which must print what it sent.  TAP output.
set -u

top=$(cd "$(dirname "$0")/../.." && pwd)
build=${B:-$top/build}
cli=$build/tools/ivshm
tmp=$(mktemp -d /tmp/ivshm-snippets.XXXXXX)
shm=/dev/shm/ivshm-test-snippets-$$
recv_pid=
cleanup() {
	[ -n "$recv_pid" ] && kill "$recv_pid" 2>/dev/null
	rm -rf "$tmp" "$shm"
}
trap cleanup EXIT

# One file per block: $tmp/block-N.c
awk -v dir="$tmp" '
	/^```c[ \t]*$/ { n++; out = dir "/block-" n ".c"; inblk = 1; next }
	/^```/ && inblk { inblk = 0; close(out); next }
	inblk { print > out }
' "$top/README.md"
blocks=$(ls "$tmp"/block-*.c 2>/dev/null | wc -l)

echo "1..$((blocks + 2))"
n=0
failed=0
ok() { n=$((n + 1)); echo "ok $n $1"; }
not_ok() { n=$((n + 1)); failed=1; echo "not ok $n $1"; }

if [ "$blocks" -ge 1 ]; then ok "readme_has_c_code"; else not_ok "readme_has_c_code"; fi
for i in $(seq 1 "$blocks"); do
	if cc -std=gnu11 -Wall -Wextra -Werror -I"$top/include" \
		-o "$tmp/block-$i" "$tmp/block-$i.c" "$build/lib/libivshm.a" \
		-ludev -pthread >"$tmp/cc-$i.log" 2>&1; then
		ok "readme_c_block_${i}_compiles"
	else
		sed 's/^/# /' "$tmp/cc-$i.log"
		not_ok "readme_c_block_${i}_compiles"
	fi
done

# Run the first block: host-only over a plain file, no server.
truncate -s 1M "$shm"
timeout 20 "$cli" recv "shm:$shm" to-host --create --format --count 1 \
	>"$tmp/recv.out" 2>"$tmp/recv.err" &
recv_pid=$!
if [ -x "$tmp/block-1" ] &&
   timeout 20 "$tmp/block-1" "shm:$shm" 0 >"$tmp/run.log" 2>&1 &&
   wait "$recv_pid" && [ "$(cat "$tmp/recv.out")" = hello ]; then
	ok "readme_c_example_runs_over_shm"
else
	sed 's/^/# /' "$tmp/run.log" "$tmp/recv.err" 2>/dev/null
	echo "# consumer printed: '$(cat "$tmp/recv.out" 2>/dev/null)'"
	not_ok "readme_c_example_runs_over_shm"
fi
recv_pid=
exit $failed
