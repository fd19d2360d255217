#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# Guest halves of examples/ (scenario "twoguests", roles A and B, after
# ring_g2g): guest A asks the host's reqresp responder (started by the
# harness on request) 50 questions, then streams 16 MiB zero-copy to
# guest B (examples/stream), which checks every chunk.  The programs find
# each other by name, in the region's peer directory.
echo "TAP version 13"
role=$(sed -n 's/.*ivshmtest.role=\([AB]\).*/\1/p' /proc/cmdline)
other=A
[ "$role" = A ] && other=B
dev=/dev/ivshm0
rid=0

# Ask the host harness (selftests/vm/vm.py, class Requests); print its answer.
req() {
	rid=$((rid + 1))
	echo "#REQ ex$$-$rid $*" >&2	# stdout may be captured
	while read -r tag id rest; do
		rest=$(echo "$rest" | tr -d '\r')
		if [ "$tag" = "#REP" ] && [ "$id" = "ex$$-$rid" ]; then
			echo "$rest"
			case $rest in error*) return 1 ;; esac
			return 0
		fi
	done
	return 1
}
t() {	# STATUS NUMBER NAME
	if [ "$1" = 0 ]; then echo "ok $2 $3"; else echo "not ok $2 $3"; fi
}

# Both guests are done with the tests before this one.
req set "examples-ready-$role" 1 >/dev/null
req get "examples-ready-$other" >/dev/null

if [ "$role" = A ]; then
	echo "1..2"
	req example-host >/dev/null
	out=$(/bin/reqresp ask $dev 50 2>&1); rc=$?
	echo "$out" | sed 's/^/# /'
	t $rc 1 reqresp_50_requests_guest_to_host
	req set examples-stream-go 1 >/dev/null
	out=$(/bin/stream send $dev 16 2>&1); rc=$?
	echo "$out" | sed 's/^/# /'
	t $rc 2 stream_16MiB_to_guest_B
else
	echo "1..1"
	req get examples-stream-go >/dev/null
	out=$(/bin/stream recv $dev 16 2>&1); rc=$?
	echo "$out" | sed 's/^/# /'
	echo "$out" | grep -q '16 MiB checked' || rc=1
	t $rc 1 stream_16MiB_from_guest_A
fi
