#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# The programs of examples/ run on the host: shm-pair as is, reqresp and
# stream over unix: (our ivshm-server, doorbells) and stream over shm: (no
# server, polling), with their output checked.  reqresp's responder must
# survive a requester killed mid-session and serve the next one.  The
# programs find each other by name (the region's peer directory).  The
# guest halves run in the "twoguests" guest scenario.  TAP output.
set -u

top=$(cd "$(dirname "$0")/../.." && pwd)
build=${B:-$top/build}
ex=$build/examples
tmp=$(mktemp -d /tmp/ivshm-examples.XXXXXX)
sock=$tmp/sock
shm=/dev/shm/ivshm-test-examples-$$
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	rm -rf "$tmp" "$shm"
}
trap cleanup EXIT

echo "1..6"
n=0
failed=0
ok() { n=$((n + 1)); echo "ok $n $1"; }
not_ok() { n=$((n + 1)); failed=1; echo "not ok $n $1"; shift; for f; do sed 's/^/# /' "$f" 2>/dev/null; done; }

# 1. host-only pair over shm:, no server
if timeout 60 "$ex/shm-pair" "$shm" 20000 >"$tmp/pair.out" 2>&1 &&
   grep -q '^child: 20000 numbers, sum 200010000$' "$tmp/pair.out" &&
   [ ! -e "$shm" ]; then
	ok "shm_pair_runs"
else
	not_ok "shm_pair_runs" "$tmp/pair.out"
fi

"$build/tools/ivshm-server" -F -S "$sock" -l 16M -n 4 >"$tmp/server.log" 2>&1 &
pids+=($!)
for _ in $(seq 50); do [ -S "$sock" ] && break; sleep 0.1; done

# The id a program printed as '... as "NAME", peer N', waiting up to 10 s.
peer_of() {
	local id=
	for _ in $(seq 100); do
		id=$(sed -n 's/.* as "[a-z-]*", peer \([0-9]*\)$/\1/p' "$1" | head -n1)
		[ -n "$id" ] && break
		sleep 0.1
	done
	echo "$id"
}

# 2-3. reqresp: one requester finishes, one is killed mid-session
timeout 60 "$ex/reqresp" serve "unix:$sock" 2 >"$tmp/serve.out" 2>&1 &
serve=$!
pids+=($serve)
id=$(peer_of "$tmp/serve.out")
if [ -n "$id" ] &&
   timeout 30 "$ex/reqresp" ask "unix:$sock" 500 >"$tmp/ask.out" 2>&1 &&
   grep -q "^reqresp: 500 answers from \"reqresp\", peer $id$" "$tmp/ask.out"; then
	ok "reqresp_500_requests_over_unix"
else
	not_ok "reqresp_500_requests_over_unix" "$tmp/ask.out" "$tmp/serve.out"
fi
"$ex/reqresp" ask "unix:$sock" 100000000 >"$tmp/ask2.out" 2>&1 &
ask=$!
sleep 1
{ kill -KILL $ask; wait $ask; } 2>/dev/null
if wait $serve &&
   grep -Eq 'requester [0-9]+ (detached|left) after 500 requests' "$tmp/serve.out" &&
   grep -Eq 'requester [0-9]+ left after [1-9][0-9]* requests' "$tmp/serve.out"; then
	ok "reqresp_responder_survives_killed_requester"
else
	not_ok "reqresp_responder_survives_killed_requester" "$tmp/serve.out" "$tmp/ask2.out"
fi

# stream TARGET MBYTES: the receiver, then the sender, which looks it up.
stream_pair() {
	local rpid
	: >"$tmp/recv.out"
	timeout 120 "$ex/stream" recv "$1" "$2" >"$tmp/recv.out" 2>&1 &
	rpid=$!
	pids+=($rpid)
	[ -n "$(peer_of "$tmp/recv.out")" ] &&
	timeout 120 "$ex/stream" send "$1" "$2" >"$tmp/send.out" 2>&1 &&
	wait $rpid &&
	grep -q "^stream: received [0-9]* chunks, $2 MiB checked" "$tmp/recv.out"
}

# 4. zero-copy stream over unix:, woken by doorbells
if stream_pair "unix:$sock" 128; then
	ok "stream_128MiB_over_unix"
	sed 's/^/# /' "$tmp/recv.out"
else
	not_ok "stream_128MiB_over_unix" "$tmp/recv.out" "$tmp/send.out"
fi

# 5. the same over a plain shm: file, polling
truncate -s 4M "$shm"
if stream_pair "shm:$shm" 64; then
	ok "stream_64MiB_over_shm"
else
	not_ok "stream_64MiB_over_shm" "$tmp/recv.out" "$tmp/send.out"
fi

# 6. the Python example, a requester of the C responder
py=$top/examples/reqresp.py
if ! python3 -c 'import ctypes' 2>/dev/null; then
	not_ok "python_reqresp_against_c_responder (no python3)"
else
	timeout 60 "$ex/reqresp" serve "unix:$sock" 1 >"$tmp/serve.out" 2>&1 &
	serve=$!
	pids+=($serve)
	id=$(peer_of "$tmp/serve.out")
	if [ -n "$id" ] &&
	   PYTHONPATH=$top/python IVSHM_LIBRARY=$build/lib/libivshm.so.1 \
	   timeout 30 python3 "$py" "unix:$sock" 200 >"$tmp/py.out" 2>&1 &&
	   grep -q "^reqresp.py: 200 answers from \"reqresp\", peer $id$" "$tmp/py.out" &&
	   wait $serve; then
		ok "python_reqresp_against_c_responder"
	else
		not_ok "python_reqresp_against_c_responder" "$tmp/py.out" "$tmp/serve.out"
	fi
fi

[ "$n" = 6 ] || { echo "# ran $n of 6 tests"; failed=1; }
exit $failed
