#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# The Python binding (python/ivshm) over the built library, against our
# ivshm-server: selftests/host/python_binding.py, TAP output.
set -u

top=$(cd "$(dirname "$0")/../.." && pwd)
build=${B:-$top/build}
tmp=$(mktemp -d /tmp/ivshm-python.XXXXXX)
srv=
cleanup() {
	[ -n "$srv" ] && kill "$srv" 2>/dev/null && wait "$srv" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT

"$build/tools/ivshm-server" -F -S "$tmp/sock" -l 4M -n 4 >"$tmp/server.log" 2>&1 &
srv=$!
for _ in $(seq 50); do [ -S "$tmp/sock" ] && break; sleep 0.1; done
PYTHONPATH=$top/python IVSHM_LIBRARY=$build/lib/libivshm.so.1 \
	timeout 120 python3 "$top/selftests/host/python_binding.py" "$tmp/sock"
