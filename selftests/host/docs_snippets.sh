#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# The documentation's C code is code:
#  - every ```c block of README.md is compiled as a complete program
#    against the built library (-Werror); the first one, the "send one
#    message" example, is run against a shm: file whose consumer is the
#    ivshm CLI, which must print what it sent;
#  - the main entry points' man pages (section 3) and libivshm(7) have an
#    EXAMPLES section; every .EX/.EE block of every EXAMPLES section in
#    docs/man is compiled, and each is run against our ivshm-server
#    (unix:, doorbells) and must exit 0;
#  - libivshm(7)'s program (the consumer, registered as "host") and
#    README's (the producer, which looks "host" up) run together over
#    unix:, and the consumer prints the message.
# TAP output.
set -u

top=$(cd "$(dirname "$0")/../.." && pwd)
build=${B:-$top/build}
cli=$build/tools/ivshm
tmp=$(mktemp -d /tmp/ivshm-snippets.XXXXXX)
shm=/dev/shm/ivshm-test-snippets-$$
sock=$tmp/sock
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	rm -rf "$tmp" "$shm"
}
trap cleanup EXIT

# The pages whose EXAMPLES must exist (the main entry points).
want_examples="ivshm_open.3 ivshm_chan_create.3 ivshm_chan_attach.3
ivshm_chan_send.3 ivshm_chan_recv.3 ivshm_chan_reserve.3 ivshm_chan_commit.3
ivshm_chan_peek.3 ivshm_chan_release.3 ivshm_wait.3 ivshm_ring.3
ivshm_region_format.3 ivshm_region_open.3 libivshm.7"

# README: one file per block, $tmp/readme-N.c
awk -v dir="$tmp" '
	/^```c[ \t]*$/ { n++; out = dir "/readme-" n ".c"; inblk = 1; next }
	/^```/ && inblk { inblk = 0; close(out); next }
	inblk { print > out }
' "$top/README.md"
# Man pages: the C blocks of EXAMPLES (.EX/.EE or .nf/.fi blocks with an
# #include; the others are shell), unescaped, $tmp/man-PAGE-N.c
for page in "$top"/docs/man/*.[1-8]; do
	awk -v out="$tmp/man-$(basename "$page")" '
		/^\.SH/ { ex = ($0 ~ /^\.SH +"?EXAMPLES?"?$/); next }
		ex && /^\.(EX|nf)/ { inblk = 1; buf = ""; isc = 0; next }
		inblk && /^\.(EE|fi)/ {
			inblk = 0
			if (isc) { n++; f = out "-" n ".c"; printf "%s", buf > f; close(f) }
			next
		}
		inblk {
			line = $0
			gsub(/\\e/, "\\", line); gsub(/\\-/, "-", line)
			gsub(/\\\(aq/, "\047", line); gsub(/\\&/, "", line)
			if (line ~ /^#include/) isc = 1
			buf = buf line "\n"
		}' "$page"
done
readme_blocks=$(ls "$tmp"/readme-*.c 2>/dev/null | wc -l)
man_blocks=$(ls "$tmp"/man-*.c 2>/dev/null | wc -l)
nwant=$(echo $want_examples | wc -w)

echo "1..$((2 + nwant + readme_blocks + 2 * man_blocks))"
n=0
failed=0
ok() { n=$((n + 1)); echo "ok $n $1"; }
not_ok() { n=$((n + 1)); failed=1; echo "not ok $n $1"; }
compile() {	# SRC OUT
	cc -std=gnu11 -Wall -Wextra -Werror -I"$top/include" -o "$2" "$1" \
		"$build/lib/libivshm.a" -ludev -pthread >"$2.log" 2>&1 ||
		{ sed 's/^/# /' "$2.log"; return 1; }
}

for p in $want_examples; do
	if ls "$tmp/man-$p"-*.c >/dev/null 2>&1; then
		ok "man_${p}_has_examples"
	else
		not_ok "man_${p}_has_examples"
	fi
done

if [ "$readme_blocks" -ge 1 ]; then ok "readme_has_c_code"; else not_ok "readme_has_c_code"; fi
for i in $(seq 1 "$readme_blocks"); do
	if compile "$tmp/readme-$i.c" "$tmp/readme-$i"; then
		ok "readme_c_block_${i}_compiles"
	else
		not_ok "readme_c_block_${i}_compiles"
	fi
done

# Run README's first block: host-only over a plain file, no server.
truncate -s 1M "$shm"
timeout 20 "$cli" recv "shm:$shm" to-host --create --format --count 1 \
	>"$tmp/recv.out" 2>"$tmp/recv.err" &
recv_pid=$!
if [ -x "$tmp/readme-1" ] &&
   timeout 20 "$tmp/readme-1" "shm:$shm" >"$tmp/run.log" 2>&1 &&
   wait "$recv_pid" && [ "$(cat "$tmp/recv.out")" = hello ]; then
	ok "readme_c_example_runs_over_shm"
else
	sed 's/^/# /' "$tmp/run.log" "$tmp/recv.err" 2>/dev/null
	echo "# consumer printed: '$(cat "$tmp/recv.out" 2>/dev/null)'"
	not_ok "readme_c_example_runs_over_shm"
fi

# Every man page example compiles, then runs against our server.
"$build/tools/ivshm-server" -F -S "$sock" -l 4M -n 4 >"$tmp/server.log" 2>&1 &
pids+=($!)
for _ in $(seq 50); do [ -S "$sock" ] && break; sleep 0.1; done
for src in "$tmp"/man-*.c; do
	[ -e "$src" ] || continue
	name=$(basename "$src" .c)
	name=${name#man-}
	if compile "$src" "${src%.c}"; then
		ok "man_${name}_example_compiles"
	else
		not_ok "man_${name}_example_compiles"
	fi
	case $name in
	libivshm.7-*)	# a consumer: its producer is README's program
		: >"$tmp/cons.out"
		timeout 30 "${src%.c}" "unix:$sock" >"$tmp/cons.out" 2>&1 &
		cons=$!
		pids+=($cons)
		id=
		for _ in $(seq 100); do
			id=$(sed -n 's/^peer \([0-9]*\): "host", waiting.*/\1/p' "$tmp/cons.out")
			[ -n "$id" ] && break
			sleep 0.1
		done
		if [ -n "$id" ] && [ -x "$tmp/readme-1" ] &&
		   timeout 20 "$tmp/readme-1" "unix:$sock" >"$tmp/run.log" 2>&1 &&
		   wait $cons && grep -qx 'received: hello' "$tmp/cons.out"; then
			ok "man_${name}_example_runs_with_readme_producer"
		else
			sed 's/^/# /' "$tmp/cons.out" "$tmp/run.log"
			not_ok "man_${name}_example_runs_with_readme_producer"
		fi ;;
	*)
		if [ -x "${src%.c}" ] &&
		   timeout 20 "${src%.c}" "unix:$sock" >"$tmp/run.log" 2>&1; then
			ok "man_${name}_example_runs"
		else
			sed 's/^/# /' "$tmp/run.log"
			not_ok "man_${name}_example_runs"
		fi ;;
	esac
done
[ "$n" = "$((2 + nwant + readme_blocks + 2 * man_blocks))" ] || {
	echo "# ran $n tests, planned more"; failed=1; }
exit $failed
